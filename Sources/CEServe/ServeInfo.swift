import CEBiEncoder
import CECore
import CEImport
import CERetrieve
import CERuntime
#if canImport(FoundationEssentials)
import FoundationEssentials
import Glibc
#else
import Foundation
#endif

/// `GET /info`: what is loaded and the limits it is served with.
public enum ServeInfo {
    /// Label names in label-id order (config.json id2label), LABEL_i where the model names none.
    static func labelNames(_ ce: CrossEncoder) -> [String] {
        ce.labels.count == ce.numLabels ? ce.labels : (0..<ce.numLabels).map { "LABEL_\($0)" }
    }

    /// {"model", "model_path", "architecture", "precision", "max_length", "num_labels", "labels", "activation",
    /// "verify": summary | null, "limits": {...}, + extra}.
    static func json(_ ce: CrossEncoder, name: String, limits: RequestLimits, queue: BatchQueue.Limits,
                     extra: [(String, JSONValue)]) -> JSONValue {
        let m = ce.model
        var o: [(String, JSONValue)] = [
            ("model", .string(name)), ("model_path", .string(m.directory.path)),
            ("architecture", .string(m.graph.architecture.rawValue)),
            ("precision", .string(precision(m))),
            ("artifact", .bool(m.artifact != nil)),
            ("max_length", .int(Int64(ce.maxLength))), ("num_labels", .int(Int64(ce.numLabels))),
            ("labels", .array(labelNames(ce).map { .string($0) })), ("activation", .string(ce.activation.rawValue)),
            ("verify", verifySummary(m.directory)),
            ("limits", .object([
                ("max_body_bytes", .int(Int64(limits.maxBodyBytes))), ("max_texts", .int(Int64(limits.maxTexts))),
                ("max_json_depth", .int(Int64(limits.maxJSONDepth))), ("timeout_seconds", .double(limits.timeout)),
                ("max_batch_tokens", .int(Int64(queue.maxBatchTokens))), ("max_wait_ms", .double(queue.maxWait * 1000)),
                ("queue_pairs", .int(Int64(queue.capacity))),
            ])),
        ]
        o += extra
        return .object(o)
    }

    /// The artifact's precision; for a HuggingFace folder the narrowest weight dtype (an fp16 save-pretrained folder
    /// is "fp16").
    static func precision(_ m: ImportedModel) -> String {
        if let p = m.artifact?.precision { return p }
        let dtypes = Set(m.graph.weights.values.map(\.dtype))
        if dtypes.contains(.i8) { return "int8" }
        if dtypes.contains(.f16) { return "fp16" }
        if dtypes.contains(.bf16) { return "bf16" }
        return "fp32"
    }

    /// Files a verify report (`cetool verify --report`) is looked for in the model folder, in this order.
    static let reportFiles = ["verify-report.json", "report.json"]

    /// The `summary` of the first report file that is a cetool verify report; null when there is none.
    static func verifySummary(_ dir: URL) -> JSONValue {
        for f in reportFiles {
            let url = dir.appendingPathComponent(f)
            guard let d = try? Data(contentsOf: url), d.count <= 64 << 20,
                  let v = try? JSONParser.parse(Array(d)), v["format"]?.stringValue == "cetool-verify-report",
                  let s = v["summary"] else { continue }
            return .object([("file", .string(f))] + (s.objectValue ?? []))
        }
        return .null
    }

    /// `/info`'s "bi_encoder" {"model", "model_path", "identity", "pooling", "modules", "dimension", "precision",
    /// "max_seq_length", "similarity_fn_name", "normalized"} and "index" {"path", "rows", "dimension", "precision",
    /// "score_function", "corpus_ids", "corpus_texts"} or null.
    public static func retrieval(_ m: SentenceTransformer, name: String, identity: String, index: EmbeddingIndex?, indexPath: String?,
                                 hasTexts: Bool) -> [(String, JSONValue)] {
        var pooling: [JSONValue] = [], modules: [JSONValue] = []
        for module in m.folder.modules {
            switch module {
            case .transformer: modules.append(.string("Transformer"))
            case .pooling(let p):
                modules.append(.string("Pooling"))
                pooling = p.modes.map { .string($0.rawValue) }
            case .dense: modules.append(.string("Dense"))
            case .normalize: modules.append(.string("Normalize"))
            }
        }
        let bi: JSONValue = .object([
            ("model", .string(name)), ("model_path", .string(m.directory.path)), ("identity", .string(identity)),
            ("pooling", .array(pooling)), ("modules", .array(modules)), ("dimension", .int(Int64(m.dimension))),
            ("precision", .string(precision(m.model))), ("max_seq_length", .int(Int64(m.maxSeqLength))),
            ("similarity_fn_name", .string(m.similarityFunction)), ("normalized", .bool(m.normalizes)),
        ])
        var idx = JSONValue.null
        if let index {
            let h = index.header
            idx = .object([
                ("path", .string(indexPath ?? "")), ("rows", .int(Int64(h.count))), ("dimension", .int(Int64(h.dimension))),
                ("precision", .string(h.precision.rawValue)), ("score_function", .string(h.scoreFunction.rawValue)),
                ("corpus_ids", .bool(h.corpusIDs != nil)), ("corpus_texts", .bool(hasTexts)),
            ])
        }
        return [("bi_encoder", bi), ("index", idx)]
    }
}
