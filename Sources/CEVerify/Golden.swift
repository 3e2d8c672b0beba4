import CECore
import CEFormats
#if canImport(FoundationEssentials)
import FoundationEssentials
import Glibc
#else
import Foundation
#endif

public enum GoldenError: Error, Equatable, CustomStringConvertible {
    case invalid(path: String, reason: String)

    public var description: String {
        switch self {
        case .invalid(let p, let r): return "golden file \(p): \(r)"
        }
    }
}

/// A golden set produced by the reference (formats/golden.md): pairs with the reference's token ids,
/// raw logits and activated scores, and rankings.
public struct GoldenSet: Sendable {
    public struct Case: Sendable {
        public var id: String
        public var query: String
        public var document: String
        public var inputIDs: [Int32]
        public var tokenTypeIDs: [Int32]
        public var attentionMask: [Int32]
        public var logits: [Float]
        public var scores: [Float]
    }
    public struct Ranking: Sendable {
        public var id: String
        public var query: String
        public var documents: [String]
        /// (corpus id, score), best first.
        public var result: [(Int, Float)]
    }
    public struct Batch: Sendable {
        public var id: String
        public var pairs: [(String, String)]
        public var inputIDs: [[Int32]]
        public var tokenTypeIDs: [[Int32]]
        public var attentionMask: [[Int32]]
    }

    public var path: String
    public var model: String
    public var modelDirectory: String
    public var maxLength: Int
    public var numLabels: Int
    public var activation: String
    public var batchSize: Int
    public var cases: [Case]
    public var rankings: [Ranking]
    public var batches: [Batch]
    /// predict(apply_softmax=True) rows, for several-label models.
    public var softmaxScores: [[Float]]
    public var provenance: JSONValue
    /// config id2label names in id order, for several-label models (empty otherwise).
    public var labels: [String] = []

    public static func load(path: String) throws -> GoldenSet {
        let json = try JSONFile.load(path: path, limit: 256 << 20)
        func fail(_ r: String) -> GoldenError { .invalid(path: path, reason: r) }
        func str(_ v: JSONValue?, _ what: String) throws -> String {
            guard let s = v?.stringValue else { throw fail("\(what) is not a string") }
            return s
        }
        func ints(_ v: JSONValue?, _ what: String) throws -> [Int32] {
            guard let a = v?.arrayValue else { throw fail("\(what) is not an array") }
            return try a.map { guard let i = $0.intValue, let x = Int32(exactly: i) else { throw fail("\(what) holds a non-integer") }; return x }
        }
        func floats(_ v: JSONValue?, _ what: String) throws -> [Float] {
            guard let a = v?.arrayValue else { throw fail("\(what) is not an array") }
            return try a.map { guard let d = $0.doubleValue else { throw fail("\(what) holds a non-number") }; return Float(d) }
        }
        var cases: [Case] = []
        for c in json["cases"]?.arrayValue ?? [] {
            let id = try str(c["id"], "case id")
            let inputIDs = try ints(c["input_ids"], "\(id) input_ids")
            // token_type_ids are absent when the tokenizer does not return them (model_input_names: RoBERTa,
            // XLM-R, DistilBERT); the model then runs with all-zero token types.
            let typeIDs = c["token_type_ids"] == nil ? [Int32](repeating: 0, count: inputIDs.count)
                                                     : try ints(c["token_type_ids"], "\(id) token_type_ids")
            cases.append(Case(id: id, query: try str(c["query"], "\(id) query"), document: try str(c["document"], "\(id) document"),
                              inputIDs: inputIDs,
                              tokenTypeIDs: typeIDs,
                              attentionMask: try ints(c["attention_mask"], "\(id) attention_mask"),
                              logits: try floats(c["logits"], "\(id) logits"), scores: try floats(c["scores"], "\(id) scores")))
        }
        var rankings: [Ranking] = []
        for r in json["rankings"]?.arrayValue ?? [] {
            let id = try str(r["id"], "ranking id")
            let docs = try (r["documents"]?.arrayValue ?? []).map { try str($0, "\(id) document") }
            let result = try (r["result"]?.arrayValue ?? []).map { e -> (Int, Float) in
                guard let i = e["corpus_id"]?.intValue, let s = e["score"]?.doubleValue else { throw fail("\(id) result entry") }
                return (i, Float(s))
            }
            rankings.append(Ranking(id: id, query: try str(r["query"], "\(id) query"), documents: docs, result: result))
        }
        var batches: [Batch] = []
        for b in json["batches"]?.arrayValue ?? [] {
            let id = try str(b["id"], "batch id")
            let pairs = try (b["pairs"]?.arrayValue ?? []).map { p -> (String, String) in
                guard let a = p.arrayValue, a.count == 2 else { throw fail("\(id) pair") }
                return (try str(a[0], "\(id) query"), try str(a[1], "\(id) document"))
            }
            func rows(_ key: String) throws -> [[Int32]] {
                try (b[key]?.arrayValue ?? []).map { try ints($0, "\(id) \(key)") }
            }
            let inputRows = try rows("input_ids")
            let typeRows = b["token_type_ids"] == nil ? inputRows.map { [Int32](repeating: 0, count: $0.count) } : try rows("token_type_ids")
            batches.append(Batch(id: id, pairs: pairs, inputIDs: inputRows, tokenTypeIDs: typeRows,
                                 attentionMask: try rows("attention_mask")))
        }
        let softmax = try (json["softmax_scores"]?.arrayValue ?? []).map { try floats($0, "softmax_scores row") }
        guard let maxLength = json["max_length"]?.intValue, let numLabels = json["num_labels"]?.intValue else {
            throw fail("max_length / num_labels missing")
        }
        var g = GoldenSet(path: path, model: try str(json["model"], "model"), modelDirectory: try str(json["model_dir"], "model_dir"),
                          maxLength: maxLength, numLabels: numLabels, activation: try str(json["activation"], "activation"),
                          batchSize: json["batch_size"]?.intValue ?? 32, cases: cases, rankings: rankings, batches: batches,
                          softmaxScores: softmax, provenance: json["provenance"] ?? .null)
        g.labels = try (json["labels"]?.arrayValue ?? []).map { try str($0, "labels entry") }
        return g
    }
}

/// Named tolerance profiles (formats/golden.md). Never literals in tests.
public struct ToleranceProfile: Sendable {
    public var name: String
    /// A logit passes when |ours − reference| ≤ logitRelative · max(1, |reference|).
    public var logitRelative: Float
    /// Activated scores, the same rule.
    public var scoreRelative: Float

    /// Absolute bound on |Δlogit| for fp16/bf16 weights (infinite where the relative rule alone applies).
    public var logitAbsolute: Float = .infinity
    /// Ranking bounds: Spearman within every ranked list (infinite: no list passes on Spearman alone, only when every
    /// pair it reorders is a near-tie), share of lists whose top document agrees.
    public var minSpearman: Double = 1
    public var minTop1: Double = 1
    /// The near-tie bound, in logits (formats/golden.md, "Near-ties"). Two documents whose reference logits a and b
    /// lie within nearTieBound(a) + nearTieBound(b) of each other are a near-tie: a precision that may move each
    /// logit by that much cannot be held to their order. A list below minSpearman still passes when every pair it
    /// orders differently from the reference is a near-tie, and a changed top document still counts as agreeing
    /// when it is a near-tie of the reference's. The bound is the profile's own logit bound (fp32: relative 1e-4;
    /// fp16: 1e-2; bf16, fp16-compute: 5e-2), or nearTieAbsolute where that is tighter (int8: 0.05 a document, so
    /// documents 0.1 apart keep their order).
    public var nearTieAbsolute: Float = .infinity
    public func nearTieBound(_ reference: Float) -> Float { min(logitBound(reference), logitAbsolute, nearTieAbsolute) }

    /// Set rules beyond the per-value bounds; nil where the profile does not judge them.
    /// mean |Δlogit| ≤ this × the standard deviation of the set's reference logits.
    public var maxMeanLogitDeltaPerStd: Double? = nil
    /// Several-label models: share of pairs whose arg-max label agrees with the reference's.
    public var minLabelAgreement: Double? = nil
    /// Mean Spearman over the set's ranked lists.
    public var minMeanSpearman: Double? = nil

    /// fp32 against the fp32 reference.
    public static let fp32 = ToleranceProfile(name: "fp32", logitRelative: 1e-4, scoreRelative: 1e-4)
    /// fp16 weights computed in fp32 (the convert issue's bound: max |Δlogit| ≤ 1e-2, rankings identical).
    public static let fp16 = ToleranceProfile(name: "fp16", logitRelative: .infinity, scoreRelative: .infinity,
                                              logitAbsolute: 1e-2, minSpearman: 1, minTop1: 1)
    /// A reference that itself computes in fp16 (transformers' default for a config.json with dtype float16)
    /// against cetool's fp32 compute of the same fp16 weights: every activation of the reference is rounded
    /// to 11 bits, so its logits drift from fp32 compute (up to 1.9e-2 on MiniLM-L6, measured in
    /// golden/roundtrip/save_pretrained.json).
    public static let fp16Compute = ToleranceProfile(name: "fp16-compute", logitRelative: .infinity, scoreRelative: .infinity,
                                                     logitAbsolute: 5e-2, minSpearman: 0.99, minTop1: 1)
    /// bf16 weights computed in fp32: 8 mantissa bits, so a looser bound than fp16.
    public static let bf16 = ToleranceProfile(name: "bf16", logitRelative: .infinity, scoreRelative: .infinity,
                                              logitAbsolute: 5e-2, minSpearman: 0.99, minTop1: 1)
    /// int8 weights (formats/golden.md, "The int8 profile"): each logit within 0.25 · max(1, |ref|), which a wrong
    /// model, head or label order misses; mean |Δlogit| within 0.05 standard deviations of the reference logits;
    /// arg-max label agreement ≥ 99 %; no ranked list reorders documents more than 0.1 apart in the reference's
    /// logits; mean Spearman ≥ 0.99 and top-1 agreement ≥ 97 % over the lists.
    public static let int8 = ToleranceProfile(name: "int8", logitRelative: 0.25, scoreRelative: .infinity,
                                              minSpearman: .infinity, minTop1: 0.97, nearTieAbsolute: 0.05,
                                              maxMeanLogitDeltaPerStd: 0.05, minLabelAgreement: 0.99, minMeanSpearman: 0.99)

    public func logitBound(_ reference: Float) -> Float { logitRelative * max(1, abs(reference)) }
    public func scoreBound(_ reference: Float) -> Float { scoreRelative * max(1, abs(reference)) }
}
