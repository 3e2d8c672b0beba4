import CECore
import CERuntime
import CETestSupport
import CEVerify
import Foundation
import XCTest

/// The evaluators against sentence-transformers' own (golden/eval/, made by golden/make_eval_goldens.py):
/// first fed the reference's scores (the metric code alone), then on our runtime's scores (the whole eval).
final class EvaluatorGoldenTests: XCTestCase {
    static let root = repositoryRoot()
    nonisolated(unsafe) static var encoders: [String: CrossEncoder] = [:]

    static func goldens() throws -> [EvaluationGolden] {
        let dir = root.appendingPathComponent("golden/eval")
        let names = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".json") }.sorted()
        let files = names.filter { !["metric_cases.json", "number_text.json", "SOURCES.json"].contains($0) }
        return try files.map { try EvaluationGolden.load(path: dir.appendingPathComponent($0).path) }
    }

    /// Our evaluator on `scores` (rows, one per pair) for the evaluation's task and data file.
    static func evaluate(_ e: EvaluationGolden.Evaluation, numLabels: Int, scores: (([(String, String)]) throws -> [[Float]])) throws -> EvaluationResult {
        let bytes = [UInt8](try Data(contentsOf: root.appendingPathComponent(e.data)))
        switch e.task {
        case "correlation":
            let examples = try EvaluationData.labelledPairs(bytes)
            guard numLabels == 1 else { throw EvaluationError.needsOneLabel(task: e.task, numLabels: numLabels) }
            return try Evaluators.correlation(scores: try scores(examples.map(\.pair)).map { $0[0] }, gold: examples.map(\.label), name: e.name)
        case "reranking":
            let plan = try Evaluators.rerankingPlan(samples: try EvaluationData.rerankingSamples(bytes), atK: e.atK,
                                                    alwaysRerankPositives: e.alwaysRerankPositives)
            guard numLabels == 1 else { throw EvaluationError.needsOneLabel(task: e.task, numLabels: numLabels) }
            return try Evaluators.reranking(plan: plan, scores: try scores(plan.pairs).map { $0[0] }, name: e.name)
        default:
            let examples = try EvaluationData.labelledPairs(bytes)
            let labels = try EvaluationData.classLabels(examples)
            try Evaluators.checkClassLabels(labels, numLabels: numLabels)
            return try Evaluators.classification(scores: try scores(examples.map(\.pair)), labels: labels, numLabels: numLabels, name: e.name)
        }
    }

    func testGoldenDataFilesAreTheOnesRecorded() throws {
        let goldens = try Self.goldens()
        XCTAssertEqual(Set(goldens.map(\.model)), ["tiny-bert-l1", "tiny-bert-l3", "minilm-l6-ce"])
        for g in goldens {
            for e in g.evaluations {
                var h = SHA256()
                h.update(try Data(contentsOf: Self.root.appendingPathComponent(e.data)))
                XCTAssertEqual(h.finalize().map { String(format: "%02x", $0) }.joined(), e.dataSHA256, "\(g.model)/\(e.id): \(e.data)")
            }
        }
    }

    /// The smallest distance between two reference scores whose order matters: different labels (a class, a
    /// gold score, a relevance within one query), or the gap between the two best labels of a row.
    static func nearestDiscordantGap(_ e: EvaluationGolden.Evaluation, numLabels: Int) throws -> Double {
        let bytes = [UInt8](try Data(contentsOf: root.appendingPathComponent(e.data)))
        var gap = Double.infinity
        func scan(_ s: [Float], _ labels: [Double]) {
            let order = s.indices.sorted { s[$0] < s[$1] }
            for a in order.indices {
                for b in (a + 1)..<order.count {
                    let d = Double(s[order[b]]) - Double(s[order[a]])
                    if d >= gap { break }
                    if labels[order[a]] != labels[order[b]] { gap = d }
                }
            }
        }
        if numLabels > 1 {
            for row in e.scores {
                let r = row.sorted(by: >)
                gap = min(gap, Double(r[0]) - Double(r[1]))
            }
        } else if e.task == "reranking" {
            let plan = try Evaluators.rerankingPlan(samples: try EvaluationData.rerankingSamples(bytes), atK: e.atK,
                                                    alwaysRerankPositives: e.alwaysRerankPositives)
            var offset = 0
            for rel in plan.relevance.compactMap({ $0 }) {
                scan(e.scores[offset..<(offset + rel.count)].map { $0[0] }, rel.map(Double.init))
                offset += rel.count
            }
        } else {
            scan(e.scores.map { $0[0] }, try EvaluationData.labelledPairs(bytes).map(\.label))
        }
        return gap
    }

    /// (1) The metric code alone: the reference's own scores in, the reference's figures out, to 1e-6.
    func testReferenceScoresGiveReferenceFigures() throws {
        let profile = EvaluationProfile.sameScores
        var compared = 0, refused = 0, csvFieldsIdentical = 0, csvFields = 0
        var differing: [String] = []
        for g in try Self.goldens() {
            for e in g.evaluations {
                let label = "\(g.model)/\(e.id)"
                var offset = 0
                let result: EvaluationResult
                do {
                    result = try Self.evaluate(e, numLabels: g.numLabels) { pairs in
                        // A refused input has no recorded scores; what is refused is the labels, so any scores do.
                        if e.error != nil { return [[Float]](repeating: [Float](repeating: 0, count: g.numLabels), count: pairs.count) }
                        defer { offset += pairs.count }
                        XCTAssertLessThanOrEqual(offset + pairs.count, e.scores.count, label)
                        return Array(e.scores[offset..<min(offset + pairs.count, e.scores.count)])
                    }
                } catch let err as EvaluationError {
                    XCTAssertNotNil(e.error, "\(label): we refused (\(err)) what the reference evaluated")
                    refused += 1
                    continue
                }
                XCTAssertNil(e.error, "\(label): the reference refused (\(e.error ?? "")), we evaluated")
                XCTAssertEqual(offset, e.scores.count, "\(label): pairs scored")
                XCTAssertEqual(profile.violations(result, reference: e.metrics, nearTies: false), [], label)
                XCTAssertEqual(result.primaryMetric, e.primaryMetric, label)
                XCTAssertEqual(result.csvFile, e.csvFile, label)
                XCTAssertEqual(result.csvHeaders, e.csvHeaders, label)
                // CSV: same lines and fields; int and float32 fields print identically, float64 ones within the profile.
                let ours = result.csvText(includeHeader: true), theirs = e.csv
                XCTAssertTrue(ours.hasSuffix("\r\n") && theirs.hasSuffix("\r\n"), label)
                let ourLines = ours.components(separatedBy: "\r\n"), theirLines = theirs.components(separatedBy: "\r\n")
                XCTAssertEqual(ourLines.count, 3, label)
                XCTAssertEqual(ourLines.count, theirLines.count, label)
                XCTAssertEqual(ourLines.first, theirLines.first, label)
                let ourRow = ourLines[1].split(separator: ","), theirRow = theirLines[1].split(separator: ",")
                XCTAssertEqual(ourRow.count, theirRow.count, label)
                XCTAssertEqual(ourRow.prefix(2), ["-1", "-1"], label)
                for (i, (a, b)) in zip(ourRow.dropFirst(2), theirRow.dropFirst(2)).enumerated() {
                    csvFields += 1
                    if a == b { csvFieldsIdentical += 1; continue }
                    differing.append("\(label) \(result.csvHeaders[i + 2])")
                    switch result.csvRow[i] {
                    case .int, .float: XCTFail("\(label): CSV field \(i) \(a) vs reference \(b)")
                    case .double:
                        guard let x = Double(a), let y = Double(b) else { XCTFail("\(label): CSV field \(i) \(a) / \(b)"); continue }
                        XCTAssertLessThanOrEqual(abs(x - y), profile.ordinal, "\(label): CSV field \(i)")
                    }
                }
                compared += 1
            }
        }
        XCTAssertGreaterThanOrEqual(compared, 14)
        XCTAssertEqual(refused, 2, "softmax labels on the two one-label models")
        print("eval goldens, reference scores: \(compared) evaluations within \(profile.name), \(refused) refused as the reference did; CSV fields identical: \(csvFieldsIdentical)/\(csvFields) (the others within the profile: \(differing.joined(separator: ", ")))")
    }

    /// (2) The whole eval: our runtime's scores, figures within the fp32 evaluation profile.
    func testOurScoresGiveReferenceFiguresWithinProfile() throws {
        let profile = EvaluationProfile.fp32
        var compared = 0
        var worst: [String: (Double, String)] = [:]
        for g in try Self.goldens() {
            let dir = Self.root.appendingPathComponent(g.modelDirectory)
            guard FileManager.default.fileExists(atPath: dir.appendingPathComponent("config.json").path) else {
                if ProcessInfo.processInfo.environment["CETOOL_REQUIRE_MODELS"] == "1" {
                    XCTFail("model \(g.model) missing at \(dir.path): run `make models`")
                } else {
                    print("skipping \(g.path): model not present (make models)")
                }
                continue
            }
            let ce = try Self.encoders[g.modelDirectory] ?? CrossEncoder(modelDirectory: dir)
            Self.encoders[g.modelDirectory] = ce
            XCTAssertEqual(ce.maxLength, g.maxLength, g.model)
            var cache: [String: [[Float]]] = [:]
            for e in g.evaluations {
                let label = "\(g.model)/\(e.id)"
                var ourScores: [Float] = []
                let result: EvaluationResult
                do {
                    result = try Self.evaluate(e, numLabels: ce.numLabels) { pairs in
                        // Several evaluations share a data file: score each list of pairs once.
                        let key = pairs.map { $0.0 + "\u{0}" + $0.1 }.joined(separator: "\u{1}")
                        let s = try cache[key] ?? ce.predictLabels(pairs)
                        cache[key] = s
                        ourScores += s.flatMap { $0 }
                        return s
                    }
                } catch let err as EvaluationError {
                    XCTAssertNotNil(e.error, "\(label): we refused (\(err)) what the reference evaluated")
                    continue
                }
                let theirScores = e.scores.flatMap { $0 }
                XCTAssertEqual(ourScores.count, theirScores.count, label)
                let maxScoreDelta = zip(ourScores, theirScores).map { abs(Double($0) - Double($1)) }.max() ?? 0
                // Ordinal figures can only move when two differently labelled scores are closer than our error.
                let gap = try Self.nearestDiscordantGap(e, numLabels: ce.numLabels)
                let nearTies = gap <= 2 * maxScoreDelta
                XCTAssertEqual(profile.violations(result, reference: e.metrics, nearTies: nearTies), [],
                               "\(label) (max |Δscore| \(maxScoreDelta), nearest discordant gap \(gap))")
                for (k, v) in result.returnedMetrics {
                    guard let r = e.value(k) else { continue }
                    let key = profile.isContinuous(k) ? "continuous" : nearTies ? "ordinal (near ties)" : "ordinal"
                    if abs(v - r) >= (worst[key]?.0 ?? -1) { worst[key] = (abs(v - r), "\(label) \(k)") }
                }
                compared += 1
                print(String(format: "eval %@: max |Δscore| %.2e, nearest discordant gap %.2e, %@", label, maxScoreDelta, gap,
                             result.returnedMetrics.map { "\($0.key) \(String(format: "%.6f", $0.value)) (ref \(String(format: "%.6f", e.value($0.key) ?? .nan)))" }.joined(separator: ", ")))
            }
        }
        XCTAssertGreaterThan(compared, 0)
        for (k, w) in worst.sorted(by: { $0.key < $1.key }) { print("eval, our scores: worst |Δ| of \(k) figures \(w.0) at \(w.1)") }
    }
}
