import CERuntime
import CETestSupport
import CEVerify
import Foundation
import XCTest

/// The ranked-list side of `verify`: swapped pairs and their reference gap, and list scores taken from the cases.
final class RankingCheckTests: XCTestCase {
    func testSwapsCountDiscordantPairsAndTheirWidestReferenceGap() {
        let ref = [0.9, 0.5, 0.49, 0.1]
        XCTAssertEqual(RankMetrics.swaps(reference: ref, candidate: ref).count, 0)
        XCTAssertEqual(RankMetrics.swaps(reference: ref, candidate: ref).widestReferenceGap, 0)
        // 0.5 and 0.49 change places: one swap, 0.01 apart in the reference.
        let one = RankMetrics.swaps(reference: ref, candidate: [0.9, 0.48, 0.49, 0.1])
        XCTAssertEqual(one.count, 1)
        XCTAssertEqual(one.widestReferenceGap, 0.01, accuracy: 1e-12)
        // The first document drops to the bottom: three swaps, the widest 0.9 − 0.1.
        let far = RankMetrics.swaps(reference: ref, candidate: [0.0, 0.5, 0.49, 0.1])
        XCTAssertEqual(far.count, 3)
        XCTAssertEqual(far.widestReferenceGap, 0.8, accuracy: 1e-12)
        // A tie on either side is not a swap.
        XCTAssertEqual(RankMetrics.swaps(reference: ref, candidate: [0.9, 0.5, 0.5, 0.1]).count, 0)
        XCTAssertEqual(RankMetrics.swaps(reference: [0.5, 0.5], candidate: [0.1, 0.2]).count, 0)
    }

    /// Lists whose pairs are also cases take the cases' scores; the figures equal those of a reference that has
    /// the lists alone (every list pair scored by predict), and a case-free reference still gets its lists.
    func testListScoresFromCasesEqualPredictedOnes() throws {
        let root = repositoryRoot()
        let ce = try CrossEncoder(modelDirectory: root.appendingPathComponent("golden/models/tiny-bert-l1"))
        let g = try GoldenSet.load(path: root.appendingPathComponent("golden/tiny-bert-l1/golden.json").path)
        let full = Verifier.reference(from: g)
        XCTAssertFalse(full.lists.isEmpty)
        let listPairs = Set(full.lists.flatMap { l in l.documents.map { l.query + "\u{0}" + $0 } })
        XCTAssertTrue(full.cases.contains { listPairs.contains($0.query + "\u{0}" + $0.document) }, "some list pairs are cases")
        var listsOnly = full
        listsOnly.cases = []
        let a = try Verifier.compare(ce, reference: full, profile: .fp32)
        let b = try Verifier.compare(ce, reference: listsOnly, profile: .fp32)
        XCTAssertEqual(a.lists.count, full.lists.count)
        XCTAssertEqual(a.lists.map(\.id), b.lists.map(\.id))
        for (x, y) in zip(a.lists, b.lists) {
            XCTAssertEqual(x.spearman, y.spearman, accuracy: 1e-12, x.id)
            XCTAssertEqual(x.swappedPairs, y.swappedPairs, x.id)
            XCTAssertEqual(x.top1, y.top1, x.id)
        }
        XCTAssertTrue(a.passed, a.failures.joined(separator: "; "))
    }

    func testDisagreementsCountSwapsAndOneSidedTies() {
        let ref = [0.9, 0.5, 0.49, 0.1]
        XCTAssertTrue(RankMetrics.disagreements(reference: ref, candidate: ref).isEmpty)
        XCTAssertEqual(RankMetrics.disagreements(reference: ref, candidate: [0.9, 0.48, 0.49, 0.1]).map { [$0.0, $0.1] }, [[1, 2]])
        // The candidate ties what the reference separates: a disagreement, though not a swap.
        XCTAssertEqual(RankMetrics.disagreements(reference: ref, candidate: [0.9, 0.5, 0.5, 0.1]).map { [$0.0, $0.1] }, [[1, 2]])
        // Tied on both sides agrees.
        XCTAssertTrue(RankMetrics.disagreements(reference: [0.5, 0.5], candidate: [0.2, 0.2]).isEmpty)
        // A NaN or infinite candidate score disagrees with everything, whichever way the reference goes.
        XCTAssertEqual(RankMetrics.disagreements(reference: [0.1, 0.9, 0.5], candidate: [.nan, 0.9, 0.5]).map { [$0.0, $0.1] }, [[0, 1], [0, 2]])
        XCTAssertEqual(RankMetrics.disagreements(reference: [0.9, 0.1], candidate: [.infinity, .infinity]).count, 1)
    }

    func testScoresGoBackToTheirLogits() {
        for x: Float in [-7.5, -0.3, 0, 0.02, 4] {
            XCTAssertEqual(try XCTUnwrap(Scoring.inverse(.sigmoid, of: Scoring.apply(.sigmoid, to: [x])[0])), x, accuracy: 1e-5)
            XCTAssertEqual(try XCTUnwrap(Scoring.inverse(.identity, of: x)), x)
        }
        XCTAssertEqual(try XCTUnwrap(Scoring.inverse(.tanh, of: Scoring.apply(.tanh, to: [0.7])[0])), 0.7, accuracy: 1e-5)
        XCTAssertNil(Scoring.inverse(.sigmoid, of: 1), "a saturated score has lost its logit")
        XCTAssertNil(Scoring.inverse(.tanh, of: -1))
        XCTAssertNil(Scoring.inverse(.softmax, of: 0.5))
    }

    /// A reference built from the model's own logits, with two neighbouring documents of one list put the other
    /// way round `gap` apart: the near-tie rule passes the list when the gap is within the profile's near-tie
    /// bound (1e-2 for each document, so 2e-2) and fails it beyond, with the list's pairs given as
    /// cases (exact reference logits) or as the list alone (logits from the sigmoid scores).
    func testNearTiesPassAndWiderReorderingsFail() throws {
        let root = repositoryRoot()
        let ce = try CrossEncoder(modelDirectory: root.appendingPathComponent("golden/models/tiny-bert-l1"))
        XCTAssertEqual(ce.activation, .sigmoid)
        let g = try GoldenSet.load(path: root.appendingPathComponent("golden/tiny-bert-l1/golden.json").path)
        let list = try XCTUnwrap(g.rankings.max { $0.documents.count < $1.documents.count })
        XCTAssertGreaterThanOrEqual(list.documents.count, 5)
        let ours = try ce.logits(list.documents.map { (list.query, $0) }).map { $0[0] }
        let order = RankMetrics.order(ours.map(Double.init))
        // Only the ranking part is under test: int8's profile with fp16's near-tie bound (1e-2 a document), every list
        // held to Spearman 1 unless its reorderings are near-ties, and no mean-Spearman rule.
        XCTAssertEqual(ToleranceProfile.fp16.nearTieBound(3), 1e-2, "fp16's near-tie bound is its logit bound")
        var profile = ToleranceProfile.int8
        profile.nearTieAbsolute = 1e-2
        profile.minSpearman = 1
        profile.minTop1 = 1
        profile.minMeanSpearman = nil

        func reference(swapping a: Int, _ b: Int, gap: Float, withCases: Bool) -> Verifier.Reference {
            var logits = ours
            let mid = (ours[a] + ours[b]) / 2  // a above b in ours; the reference puts b above a, `gap` apart
            logits[a] = mid - gap / 2
            logits[b] = mid + gap / 2
            let scores = logits.map { Scoring.apply(.sigmoid, to: [$0])[0] }
            let cases = withCases ? list.documents.indices.map {
                Verifier.Reference.Case(id: "d\($0)", query: list.query, document: list.documents[$0], logits: [logits[$0]],
                                        scores: [scores[$0]], tokens: nil)
            } : []
            return Verifier.Reference(name: "near-tie", maxLength: nil, cases: cases,
                                      lists: [.init(id: "l", query: list.query, documents: list.documents, scores: scores)])
        }
        for withCases in [true, false] {
            // Neighbours in the middle of the list, 0.015 apart: a near-tie; 0.03 apart: not.
            let (a, b) = (order[1], order[2])
            let near = try Verifier.compare(ce, reference: reference(swapping: a, b, gap: 0.015, withCases: withCases), profile: profile)
            XCTAssertTrue(near.passed, "cases \(withCases): " + near.failures.joined(separator: "; "))
            let l = try XCTUnwrap(near.lists.first)
            XCTAssertLessThan(l.spearman, 1)
            XCTAssertEqual([l.disagreements, l.beyondNearTie], [1, 0])
            XCTAssertEqual(try XCTUnwrap(l.widestDisagreementLogitGap), 0.015, accuracy: 1e-4)
            XCTAssertEqual(near.listsPassingAsNearTies(profile).count, 1)
            XCTAssertTrue(l.top1)

            let far = try Verifier.compare(ce, reference: reference(swapping: a, b, gap: 0.03, withCases: withCases), profile: profile)
            XCTAssertFalse(far.passed)
            XCTAssertEqual(far.lists.first?.beyondNearTie, 1)
            XCTAssertTrue(far.failures.contains { $0.contains("not near-ties") }, far.failures.joined(separator: "; "))
            XCTAssertTrue(far.listsPassingAsNearTies(profile).isEmpty)

            // The top two, 0.015 apart: the top document changed, but as a near-tie top-1 still agrees.
            let top = try Verifier.compare(ce, reference: reference(swapping: order[0], order[1], gap: 0.015, withCases: withCases), profile: profile)
            let t = try XCTUnwrap(top.lists.first)
            XCTAssertFalse(t.top1)
            XCTAssertTrue(t.top1NearTie)
            XCTAssertTrue(top.passed, top.failures.joined(separator: "; "))
            let topFar = try Verifier.compare(ce, reference: reference(swapping: order[0], order[1], gap: 0.03, withCases: withCases), profile: profile)
            XCTAssertFalse(try XCTUnwrap(topFar.lists.first).top1NearTie)
            XCTAssertTrue(topFar.failures.contains { $0.hasPrefix("top-1:") }, topFar.failures.joined(separator: "; "))
        }
        // int8's own bound is 0.05 a document: both gaps above are near-ties for it. fp32's is relative and far tighter.
        XCTAssertEqual(ToleranceProfile.int8.nearTieBound(3), 5e-2)
        var int8 = ToleranceProfile.int8
        int8.minMeanSpearman = nil
        let int8Far = try Verifier.compare(ce, reference: reference(swapping: order[1], order[2], gap: 0.03, withCases: true), profile: int8)
        XCTAssertTrue(int8Far.passed, int8Far.failures.joined(separator: "; "))
        let int8Beyond = try Verifier.compare(ce, reference: reference(swapping: order[1], order[2], gap: 0.12, withCases: true), profile: int8)
        XCTAssertTrue(int8Beyond.failures.contains { $0.hasPrefix("ranked lists:") }, int8Beyond.failures.joined(separator: "; "))
        XCTAssertEqual(ToleranceProfile.fp32.nearTieBound(3), 3e-4, accuracy: 1e-9)
        let fp32 = try Verifier.compare(ce, reference: reference(swapping: order[1], order[2], gap: 0.015, withCases: true), profile: .fp32)
        XCTAssertTrue(fp32.failures.contains { $0.contains("not near-ties") }, fp32.failures.joined(separator: "; "))
    }
}
