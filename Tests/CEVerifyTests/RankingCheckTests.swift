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
}
