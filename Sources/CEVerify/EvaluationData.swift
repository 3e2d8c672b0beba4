import CECore

public enum EvaluationDataError: Error, Equatable, CustomStringConvertible {
    case badLine(line: Int, reason: String)
    case empty

    public var description: String {
        switch self {
        case .badLine(let l, let r): return "data line \(l): \(r)"
        case .empty: return "the data file holds no examples"
        }
    }
}

/// The JSON-lines files `cetool eval --data` reads (formats/golden.md, "Eval data"). Blank lines are skipped;
/// members other than those named here (e.g. "source") are ignored.
public enum EvaluationData {
    /// A text pair with its gold label: a class id (classification) or a similarity score (correlation).
    public struct LabelledPair: Sendable {
        public var pair: (String, String)
        public var label: Double
        /// 1-based line in the data file.
        public var line: Int
    }

    /// `{"texts": [a, b], "label": y}` (sentence-transformers' InputExample) or
    /// `{"query": a, "document": b, "label": y}`; correlation data may name the label "score".
    public static func labelledPairs(_ bytes: [UInt8]) throws -> [LabelledPair] {
        try lines(bytes).map { lineNo, v in
            func fail(_ r: String) -> EvaluationDataError { .badLine(line: lineNo, reason: r) }
            let pair: (String, String)
            if let texts = v["texts"] {
                guard let a = texts.arrayValue, a.count == 2, let x = a[0].stringValue, let y = a[1].stringValue else {
                    throw fail("\"texts\" must be two strings")
                }
                pair = (x, y)
            } else if let q = v["query"]?.stringValue, let d = v["document"]?.stringValue {
                pair = (q, d)
            } else {
                throw fail("an example needs \"texts\": [a, b] or string members \"query\" and \"document\"")
            }
            guard let raw = v["label"] ?? v["score"] else { throw fail("an example needs a numeric \"label\" (or \"score\")") }
            guard let label = raw.doubleValue, label.isFinite else { throw fail("\"label\" must be a finite number") }
            return LabelledPair(pair: pair, label: label, line: lineNo)
        }
    }

    /// Class ids of labelled pairs: integers (1.0 counts as 1, as numpy compares it).
    public static func classLabels(_ examples: [LabelledPair]) throws -> [Int] {
        try examples.map { e in
            guard e.label == e.label.rounded(), abs(e.label) < 1e15 else {
                throw EvaluationDataError.badLine(line: e.line, reason: "class label \(e.label) is not an integer")
            }
            return Int(e.label)
        }
    }

    /// `{"query": q, "positive": [..] or "..", "negative": [..]}` or the same with `"documents": [..]` (a
    /// first-stage ranking, best first) instead of "negative"; exactly one of the two.
    public static func rerankingSamples(_ bytes: [UInt8]) throws -> [Evaluators.RerankingSample] {
        try lines(bytes).map { lineNo, v in
            func fail(_ r: String) -> EvaluationDataError { .badLine(line: lineNo, reason: r) }
            func strings(_ key: String) throws -> [String]? {
                guard let x = v[key] else { return nil }
                guard let a = x.arrayValue else { throw fail("\"\(key)\" must be a list of strings") }
                return try a.map { guard let s = $0.stringValue else { throw fail("\"\(key)\" must be a list of strings") }; return s }
            }
            guard let query = v["query"]?.stringValue else { throw fail("a sample needs a string \"query\"") }
            let positive: [String]
            if let one = v["positive"]?.stringValue {
                positive = [one]
            } else if let many = try strings("positive") {
                positive = many
            } else {
                throw fail("a sample needs \"positive\": a string or a list of strings")
            }
            let negative = try strings("negative"), documents = try strings("documents")
            guard (negative == nil) != (documents == nil) else { throw fail("a sample needs exactly one of \"negative\" and \"documents\"") }
            return Evaluators.RerankingSample(query: query, positive: positive, negative: negative, documents: documents)
        }
    }

    /// (1-based line number, object) per non-blank line (TextLines: LF or CRLF, blank lines skipped).
    static func lines(_ bytes: [UInt8]) throws -> [(Int, JSONValue)] {
        var out: [(Int, JSONValue)] = []
        for line in TextLines.nonBlank(bytes) {
            let v: JSONValue
            do {
                v = try JSONParser.parse(Array(line.bytes))
            } catch {
                throw EvaluationDataError.badLine(line: line.number, reason: "not JSON (\(error))")
            }
            guard v.objectValue != nil else { throw EvaluationDataError.badLine(line: line.number, reason: "each line must be a JSON object") }
            out.append((line.number, v))
        }
        guard !out.isEmpty else { throw EvaluationDataError.empty }
        return out
    }
}
