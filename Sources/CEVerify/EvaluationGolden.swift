import CECore
import CEFormats

/// The evaluator goldens of one model (formats/golden.md, "Eval goldens"): golden/eval/<model>.json, made by
/// golden/make_eval_goldens.py with sentence-transformers' evaluators on the golden/eval/data sets.
public struct EvaluationGolden: Sendable {
    public struct Evaluation: Sendable {
        public var id: String
        /// The `cetool eval --task` word.
        public var task: String
        /// The sentence-transformers classes run (old name first); all gave the same figures.
        public var evaluators: [String]
        /// Repo-relative data file and the sha256 (hex) of the bytes the reference read.
        public var data: String
        public var dataSHA256: String
        public var name: String
        public var atK: Int
        public var alwaysRerankPositives: Bool
        /// What the reference raised, when it refused the input.
        public var error: String?
        /// The evaluator's returned figures: prefixed keys, reference order.
        public var metrics: [(key: String, value: Double)]
        public var primaryMetric: String
        public var csvFile: String
        public var csvHeaders: [String]
        /// The bytes write_csv produced (header and one row, `\r\n` line ends).
        public var csv: String
        /// What CrossEncoder.predict handed the evaluator: one row per pair (one value for one-label models).
        public var scores: [[Float]]
        /// How many scores equal another score (float32 equality) over the whole list.
        public var tiedScores: Int

        public func value(_ key: String) -> Double? { metrics.first { $0.key == key }?.value }
    }

    public var path: String
    public var model: String
    public var modelDirectory: String
    public var numLabels: Int
    public var maxLength: Int
    public var evaluations: [Evaluation]
    public var provenance: JSONValue

    public static func load(path: String) throws -> EvaluationGolden {
        let json = try JSONFile.load(path: path, limit: 64 << 20)
        func fail(_ r: String) -> GoldenError { .invalid(path: path, reason: r) }
        func str(_ v: JSONValue?, _ what: String) throws -> String {
            guard let s = v?.stringValue else { throw fail("\(what) is not a string") }
            return s
        }
        func float(_ v: JSONValue, _ what: String) throws -> Float {
            guard let d = v.doubleValue else { throw fail("\(what) holds a non-number") }
            return Float(d)
        }
        var evaluations: [Evaluation] = []
        for e in json["evaluations"]?.arrayValue ?? [] {
            let id = try str(e["id"], "evaluation id")
            let args = e["arguments"]
            var ev = Evaluation(id: id, task: try str(e["task"], "\(id) task"),
                                evaluators: try (e["evaluators"]?.arrayValue ?? []).map { try str($0, "\(id) evaluator") },
                                data: try str(e["data"], "\(id) data"), dataSHA256: try str(e["data_sha256"], "\(id) data_sha256"), name: args?["name"]?.stringValue ?? "",
                                atK: args?["at_k"]?.intValue ?? 10, alwaysRerankPositives: args?["always_rerank_positives"]?.boolValue ?? true,
                                error: e["error"]?.stringValue, metrics: [], primaryMetric: "", csvFile: "", csvHeaders: [], csv: "",
                                scores: [], tiedScores: 0)
            if ev.error == nil {
                guard let m = e["metrics"]?.objectValue else { throw fail("\(id) metrics missing") }
                ev.metrics = try m.map { k, v in
                    guard let d = v.doubleValue else { throw fail("\(id) metric \(k) is not a number") }
                    return (k, d)
                }
                ev.primaryMetric = try str(e["primary_metric"], "\(id) primary_metric")
                ev.csvFile = try str(e["csv_file"], "\(id) csv_file")
                ev.csvHeaders = try (e["csv_headers"]?.arrayValue ?? []).map { try str($0, "\(id) csv header") }
                ev.csv = try str(e["csv"], "\(id) csv")
                ev.tiedScores = e["tied_scores"]?.intValue ?? 0
                guard let scores = e["scores"]?.arrayValue else { throw fail("\(id) scores missing") }
                ev.scores = try scores.map { v in
                    if let row = v.arrayValue { return try row.map { try float($0, "\(id) scores") } }
                    return [try float(v, "\(id) scores")]
                }
            }
            evaluations.append(ev)
        }
        guard let numLabels = json["num_labels"]?.intValue, let maxLength = json["max_length"]?.intValue else {
            throw fail("num_labels / max_length missing")
        }
        return EvaluationGolden(path: path, model: try str(json["model"], "model"), modelDirectory: try str(json["model_dir"], "model_dir"),
                                numLabels: numLabels, maxLength: maxLength, evaluations: evaluations,
                                provenance: json["provenance"] ?? .null)
    }
}
