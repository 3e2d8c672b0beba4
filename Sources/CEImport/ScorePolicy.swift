import CECore
import CEGraph

/// How a model's logits become scores, as sentence-transformers' CrossEncoder decides it.
public struct ScorePolicy: Sendable, Equatable {
    public var activation: ScoreActivation
    /// Where the activation came from, for reports.
    public var source: String

    public init(activation: ScoreActivation, source: String) {
        self.activation = activation
        self.source = source
    }

    /// sentence-transformers activation paths -> ScoreActivation.
    static func activation(forPath path: String) -> ScoreActivation? {
        switch path {
        case "torch.nn.modules.linear.Identity", "torch.nn.Identity": return .identity
        case "torch.nn.modules.activation.Sigmoid", "torch.nn.Sigmoid": return .sigmoid
        case "torch.nn.modules.activation.Tanh", "torch.nn.Tanh": return .tanh
        case "torch.nn.modules.activation.Softmax", "torch.nn.Softmax": return .softmax
        default: return nil
        }
    }

    /// Precedence as sentence-transformers 6.2 (CrossEncoder._parse_model_config, then
    /// get_default_activation_fn): config_sentence_transformers.json `activation_fn`; else config.json
    /// `sentence_transformers.activation_fn` when that key exists, otherwise the legacy
    /// `sbert_ce_default_activation_function`; else sigmoid for one label, identity for more.
    /// A path outside `torch.` is not trusted by the reference (without trust_remote_code) and is
    /// skipped as if absent; an unknown `torch.` path is refused by name.
    public static func resolve(config: JSONValue, sentenceTransformersConfig: JSONValue?, numLabels: Int) throws -> ScorePolicy {
        func resolved(_ value: JSONValue?, _ source: String) throws -> ScorePolicy? {
            guard let path = value?.stringValue, path.hasPrefix("torch.") else { return nil }
            guard let a = activation(forPath: path) else { throw ImportError.unsupportedActivation(path: path, source: source) }
            return ScorePolicy(activation: a, source: source)
        }
        if let p = try resolved(sentenceTransformersConfig?["activation_fn"], "config_sentence_transformers.json activation_fn") {
            return p
        }
        if let block = config["sentence_transformers"], block["activation_fn"] != nil {
            if let p = try resolved(block["activation_fn"], "config.json sentence_transformers.activation_fn") { return p }
        } else if let p = try resolved(config["sbert_ce_default_activation_function"], "config.json sbert_ce_default_activation_function") {
            return p
        }
        return numLabels == 1
            ? ScorePolicy(activation: .sigmoid, source: "default for 1 label")
            : ScorePolicy(activation: .identity, source: "default for \(numLabels) labels")
    }
}
