import CECore
import CEFormats
import CEImport
import CETokenizers
import Foundation

public enum LMHeadFoldError: Error, Equatable, CustomStringConvertible {
    /// The folder's config.json does not name a causal LM cetool folds.
    case notACausalLM(name: String, supported: [String])
    /// A scoring token the tokenizer's vocabulary does not hold as one token.
    case unknownToken(String)
    /// Neither lm_head.weight nor (with tied embeddings) model.embed_tokens.weight is in the checkpoint.
    case missingLMHead
    case invalidTokens(String)

    public var description: String {
        switch self {
        case .notACausalLM(let n, let s): return "--fold-lm-head needs a causal LM (\(s.joined(separator: ", "))); config.json names \(displayEscaped(n))"
        case .unknownToken(let t): return "the tokenizer has no single token \(displayEscaped(t)) to fold the LM head at"
        case .missingLMHead: return "the checkpoint has no lm_head.weight (and no tied model.embed_tokens.weight)"
        case .invalidTokens(let s): return "--fold-lm-head takes TRUE,FALSE (e.g. yes,no); got \(displayEscaped(s))"
        }
    }
}

/// Folds a causal-LM reranker (Qwen3-Reranker's form: relevance = logit["yes"] − logit["no"] at the last token,
/// sentence-transformers' LogitScore) into the equivalent sequence classifier: score.weight = lm_head[yes] − lm_head[no]
/// (one row, no bias), the trunk unchanged. The folder written is an ordinary …ForSequenceClassification folder that
/// `cetool convert` then converts; its config.json records the fold (`cetool_fold`: the source architecture, both
/// tokens and ids, the prompt template if given).
public enum LMHeadFold {
    /// Causal LM -> the sequence classifier with the same trunk.
    public static let architectures = [
        "Qwen3ForCausalLM": "Qwen3ForSequenceClassification", "Qwen2ForCausalLM": "Qwen2ForSequenceClassification",
        "LlamaForCausalLM": "LlamaForSequenceClassification",
    ]
    static let tokenizerFiles = ["tokenizer.json", "tokenizer_config.json", "vocab.json", "merges.txt", "special_tokens_map.json", "added_tokens.json"]

    /// "yes,no" -> ("yes", "no").
    public static func tokens(_ s: String) throws -> (String, String) {
        let parts = s.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty, parts[0] != parts[1] else { throw LMHeadFoldError.invalidTokens(s) }
        return (parts[0], parts[1])
    }

    /// Writes the folded folder at `folder` (which must not exist). `trueToken` scores relevance up, `falseToken` down.
    public static func write(source: URL, trueToken: String, falseToken: String, promptTemplate: String?, to folder: URL) throws {
        let configPath = source.appendingPathComponent("config.json").path
        let config = try JSONFile.load(path: configPath)
        let name = config["architectures"]?.arrayValue?.first?.stringValue ?? "(none)"
        guard let target = architectures[name] else { throw LMHeadFoldError.notACausalLM(name: name, supported: architectures.keys.sorted()) }
        let tokenizer = try Tokenizer.load(directory: source)
        guard let yes = tokenizer.tokenID(trueToken) else { throw LMHeadFoldError.unknownToken(trueToken) }
        guard let no = tokenizer.tokenID(falseToken) else { throw LMHeadFoldError.unknownToken(falseToken) }
        let checkpoint = try Checkpoint.load(directory: source)
        let head = checkpoint.names.contains("lm_head.weight") ? "lm_head.weight" : "model.embed_tokens.weight"
        guard checkpoint.names.contains(head), let table = try checkpoint.tensor(head).floatValues() else { throw LMHeadFoldError.missingLMHead }
        let shape = try checkpoint.tensor(head).shape
        guard shape.rank == 2, Int(yes) < shape.dims[0], Int(no) < shape.dims[0] else { throw LMHeadFoldError.missingLMHead }
        let d = shape.dims[1]
        // [1, hidden]: (w_yes − w_no) · h is LogitScore's logit[yes] − logit[no].
        let score = (0..<d).map { table[Int(yes) * d + $0] - table[Int(no) * d + $0] }
        var tensors: [(String, Tensor)] = try checkpoint.names.filter { $0 != "lm_head.weight" }.sorted().map { ($0, try checkpoint.tensor($0)) }
        tensors.append(("score.weight", Tensor(floats: score, shape: [1, d])))

        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: false)
        let writer = try FileWriter(creating: folder.appendingPathComponent("model.safetensors").path)
        _ = try Safetensors.write(tensors, metadata: [("format", "pt")], alignment: 8, to: writer)
        try writer.finish()
        let fold: JSONValue = .object([
            ("source_architecture", .string(name)), ("true_token", .string(trueToken)), ("true_token_id", .int(Int64(yes))),
            ("false_token", .string(falseToken)), ("false_token_id", .int(Int64(no))),
            ("score", .string("score.weight = lm_head[true] - lm_head[false]: LogitScore's logit[true] - logit[false] at the last token")),
            ("prompt_template", promptTemplate.map { .string($0) } ?? .null),
        ])
        var members = (config.objectValue ?? []).filter { !["architectures", "num_labels", "id2label", "label2id", "cetool_fold"].contains($0.0) }
        members += [("architectures", .array([.string(target)])), ("id2label", .object([("0", .string("LABEL_0"))])),
                    ("label2id", .object([("LABEL_0", .int(0))])), ("cetool_fold", fold)]
        if config["pad_token_id"] == nil || config["pad_token_id"]!.isNull {
            members.removeAll { $0.0 == "pad_token_id" }
            members.append(("pad_token_id", .int(Int64(tokenizer.padTokenID))))
        }
        try Data((JSONWriter.pretty(.object(members), sortKeys: true) + "\n").utf8).write(to: folder.appendingPathComponent("config.json"))
        // sigmoid(logit[yes] − logit[no]) is the reranker's P(yes) over {yes, no}.
        let st: JSONValue = .object([("activation_fn", .string("torch.nn.modules.activation.Sigmoid")), ("model_type", .string("CrossEncoder"))])
        try Data((JSONWriter.pretty(st) + "\n").utf8).write(to: folder.appendingPathComponent("config_sentence_transformers.json"))
        for f in tokenizerFiles where FileManager.default.fileExists(atPath: source.appendingPathComponent(f).path) {
            try FileManager.default.copyItem(at: source.appendingPathComponent(f), to: folder.appendingPathComponent(f))
        }
    }
}
