import CECore
import CETestSupport
import CEVerify
import Foundation
import XCTest

/// The metric functions against the ones sentence-transformers calls (golden/eval/metric_cases.json: seeded
/// inputs with many tied scores, run through BinaryClassificationEvaluator, sklearn and scipy), and number
/// text against Python's and numpy's str() (golden/eval/number_text.json).
final class EvaluatorTests: XCTestCase {
    static let root = repositoryRoot()
    let profile = EvaluationProfile.sameScores

    func load(_ name: String) throws -> JSONValue {
        try JSONParser.parse([UInt8](try Data(contentsOf: Self.root.appendingPathComponent("golden/eval/\(name)"))))
    }

    func floats(_ v: JSONValue?) -> [Float] { (v?.arrayValue ?? []).map { Float($0.doubleValue!) } }
    func doubles(_ v: JSONValue?) -> [Double] { (v?.arrayValue ?? []).map { $0.doubleValue! } }
    func ints(_ v: JSONValue?) -> [Int] { (v?.arrayValue ?? []).map { $0.intValue! } }

    /// A recorded figure: its kind decides how csv.writer prints it, and ours must print the same.
    func check(_ ours: EvaluationFigure, _ ref: JSONValue?, _ what: String) {
        guard let ref, let value = ref["value"]?.doubleValue, let kind = ref["kind"]?.stringValue, let text = ref["str"]?.stringValue else {
            return XCTFail("\(what): golden entry")
        }
        switch (ours, kind) {
        case (.int, "int"), (.float, "float32"):
            XCTAssertEqual(ours.csvText, text, what)
        case (.double, "float"):
            XCTAssertEqual(ours.value, value, accuracy: profile.ordinal, what)
        default:
            XCTFail("\(what): ours \(ours), reference \(kind) \(text)")
        }
        XCTAssertEqual(ours.value, value, accuracy: profile.ordinal, what)
    }

    func testBinaryThresholdSearchAndAveragePrecision() throws {
        let cases = try XCTUnwrap(try load("metric_cases.json")["binary"]?.arrayValue)
        XCTAssertGreaterThan(cases.count, 50)
        for (n, c) in cases.enumerated() {
            let s = floats(c["scores"]), l = ints(c["labels"])
            let what = "binary case \(n) (n \(s.count))"
            let acc = Evaluators.bestAccuracyAndThreshold(scores: s, labels: l)
            check(acc.accuracy, c["accuracy"], what + " accuracy")
            check(acc.threshold, c["accuracy_threshold"], what + " accuracy threshold")
            let f1 = Evaluators.bestF1AndThreshold(scores: s, labels: l)
            check(f1.f1, c["f1"], what + " f1")
            check(f1.precision, c["precision"], what + " precision")
            check(f1.recall, c["recall"], what + " recall")
            check(f1.threshold, c["f1_threshold"], what + " f1 threshold")
            check(.double(Evaluators.averagePrecision(labels: l, scores: s.map(Double.init))), c["average_precision"], what + " AP")
        }
    }

    func testRankingFiguresWithTies() throws {
        let cases = try XCTUnwrap(try load("metric_cases.json")["ranking"]?.arrayValue)
        var mrrChecked = 0
        for (n, c) in cases.enumerated() {
            let s = doubles(c["scores"]), rel = ints(c["relevance"])
            for k in [1, 3, 10] {
                let ref = try XCTUnwrap(c["ndcg"]?[String(k)]?.doubleValue)
                XCTAssertEqual(Evaluators.ndcg(relevance: rel.map(Double.init), scores: s, k: k), ref, accuracy: profile.ordinal, "ranking case \(n) ndcg@\(k)")
            }
            if let ap = c["average_precision"]?.doubleValue {
                XCTAssertEqual(Evaluators.averagePrecision(labels: rel, scores: s), ap, accuracy: profile.ordinal, "ranking case \(n) AP")
            }
            if let mrr = c["mrr@10"]?.doubleValue {
                XCTAssertEqual(Evaluators.reciprocalRank(relevance: rel, scores: s, k: 10), mrr, accuracy: profile.ordinal, "ranking case \(n) MRR")
                mrrChecked += 1
            }
        }
        XCTAssertGreaterThan(mrrChecked, 3)
    }

    func testMulticlassF1() throws {
        for (n, c) in try XCTUnwrap(try load("metric_cases.json")["multiclass"]?.arrayValue).enumerated() {
            let f = Evaluators.f1Averages(labels: ints(c["labels"]), predicted: ints(c["predicted"]))
            XCTAssertEqual(f.macro, c["f1_macro"]!.doubleValue!, accuracy: profile.ordinal, "multiclass case \(n) macro")
            XCTAssertEqual(f.micro, c["f1_micro"]!.doubleValue!, accuracy: profile.ordinal, "multiclass case \(n) micro")
            XCTAssertEqual(f.weighted, c["f1_weighted"]!.doubleValue!, accuracy: profile.ordinal, "multiclass case \(n) weighted")
        }
    }

    func testCorrelationWithTiesAndConstants() throws {
        var constant = 0
        for (n, c) in try XCTUnwrap(try load("metric_cases.json")["correlation"]?.arrayValue).enumerated() {
            let r = try Evaluators.correlation(scores: floats(c["scores"]), gold: doubles(c["gold"]))
            for key in ["pearson", "spearman"] {
                let ours = try XCTUnwrap(r.value(key))
                if let ref = c[key]?.doubleValue {
                    XCTAssertEqual(ours, ref, accuracy: profile.bound(key, reference: ref), "correlation case \(n) \(key)")
                } else {
                    XCTAssertTrue(ours.isNaN, "correlation case \(n) \(key): scipy gives nan")
                    constant += 1
                }
            }
            XCTAssertEqual(r.csvText(includeHeader: false).hasPrefix("-1,-1,"), true)
        }
        XCTAssertGreaterThan(constant, 0)
    }

    func testNumberTextMatchesPythonAndNumpy() throws {
        let g = try load("number_text.json")
        for e in try XCTUnwrap(g["float64"]?.arrayValue) {
            let v = try XCTUnwrap(e["value"]?.doubleValue)
            XCTAssertEqual(PythonNumber.repr(v), e["repr"]?.stringValue, "repr(\(v))")
        }
        for e in try XCTUnwrap(g["float32"]?.arrayValue) {
            let v = Float(try XCTUnwrap(e["value"]?.doubleValue))
            XCTAssertEqual(PythonNumber.numpyStr(v), e["str"]?.stringValue, "str(np.float32(\(v)))")
        }
        XCTAssertEqual(PythonNumber.repr(.nan), "nan")
        XCTAssertEqual(PythonNumber.numpyStr(-.infinity), "-inf")
    }

    func testBadInputIsATypedError() throws {
        XCTAssertThrowsError(try Evaluators.classification(scores: [[0.5], [0.2]], labels: [1, 2], numLabels: 1)) {
            XCTAssertEqual($0 as? EvaluationError, .notBinaryLabel(index: 1, label: 2))
        }
        XCTAssertThrowsError(try Evaluators.classification(scores: [[0.5], [.nan]], labels: [1, 0], numLabels: 1)) {
            XCTAssertEqual($0 as? EvaluationError, .nonFiniteScore(index: 0))
        }
        XCTAssertThrowsError(try Evaluators.classification(scores: [[0.5, 0.1]], labels: [1], numLabels: 3)) {
            XCTAssertEqual($0 as? EvaluationError, .scoreRowWidth(index: 0, expected: 3, got: 2))
        }
        XCTAssertThrowsError(try Evaluators.classification(scores: [], labels: [], numLabels: 1)) {
            XCTAssertEqual($0 as? EvaluationError, .empty(what: "pairs"))
        }
        XCTAssertThrowsError(try Evaluators.correlation(scores: [0.5], gold: [1])) {
            XCTAssertEqual($0 as? EvaluationError, .tooFewPairs(count: 1))
        }
        XCTAssertThrowsError(try Evaluators.correlation(scores: [0.5, 0.2], gold: [1, 2], name: "a/b")) {
            XCTAssertEqual($0 as? EvaluationError, .badName("a/b"))
        }
        let one = Evaluators.RerankingSample(query: "q", positive: ["p"], negative: [])
        XCTAssertThrowsError(try Evaluators.rerankingPlan(samples: [one])) {
            XCTAssertEqual($0 as? EvaluationError, .tooFewDocuments(sample: 0, count: 1))
        }
        XCTAssertThrowsError(try Evaluators.rerankingPlan(samples: [.init(query: "q", positive: ["p"], documents: [])])) {
            XCTAssertEqual($0 as? EvaluationError, .emptyDocuments(sample: 0))
        }
        XCTAssertThrowsError(try Evaluators.rerankingPlan(samples: [.init(query: "q", positive: ["p"], negative: ["n"])], atK: 0)) {
            XCTAssertEqual($0 as? EvaluationError, .badAtK(0))
        }
        let plan = try Evaluators.rerankingPlan(samples: [.init(query: "q", positive: ["p"], negative: ["n"])])
        XCTAssertThrowsError(try Evaluators.reranking(plan: plan, scores: [0.1])) {
            XCTAssertEqual($0 as? EvaluationError, .countMismatch(what: "reranking scores", expected: 2, got: 1))
        }
        XCTAssertThrowsError(try EvaluationData.labelledPairs(Array("{\"texts\": [\"a\"], \"label\": 1}\n".utf8))) {
            XCTAssertEqual($0 as? EvaluationDataError, .badLine(line: 1, reason: "\"texts\" must be two strings"))
        }
        XCTAssertThrowsError(try EvaluationData.classLabels(try EvaluationData.labelledPairs(Array("\n{\"query\": \"a\", \"document\": \"b\", \"label\": 0.5}".utf8)))) {
            XCTAssertEqual($0 as? EvaluationDataError, .badLine(line: 2, reason: "class label 0.5 is not an integer"))
        }
        XCTAssertThrowsError(try EvaluationData.rerankingSamples(Array("{\"query\": \"q\", \"positive\": \"p\", \"negative\": [], \"documents\": []}".utf8))) {
            XCTAssertEqual($0 as? EvaluationDataError, .badLine(line: 1, reason: "a sample needs exactly one of \"negative\" and \"documents\""))
        }
        XCTAssertThrowsError(try EvaluationData.rerankingSamples(Array("\n  \n".utf8))) { XCTAssertEqual($0 as? EvaluationDataError, .empty) }
    }

    /// Membership in "positive" is Python's string equality (code points), not Swift's canonical equivalence.
    func testPositiveMembershipComparesCodePoints() throws {
        let composed = "caf\u{E9}", decomposed = "cafe\u{301}"
        let plan = try Evaluators.rerankingPlan(samples: [.init(query: "q", positive: [composed], documents: [decomposed, "x"])],
                                                alwaysRerankPositives: false)
        XCTAssertEqual(plan.relevance, [nil], "no document is the positive byte for byte")
        XCTAssertEqual(plan.base.count, 1)
    }
}
