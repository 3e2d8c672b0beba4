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

    /// Precedence as sentence-transformers 6.x: config_sentence_transformers.json `activation_fn`, then
    /// config.json `sentence_transformers.activation_fn`, then legacy config.json
    /// `sbert_ce_default_activation_function`, else sigmoid for one label and identity for more.
    /// A path outside `torch.` is not trusted by the reference without trust_remote_code and falls
    /// through to the default; so does ours.
    public static func resolve(config: JSONValue, sentenceTransformersConfig: JSONValue?, numLabels: Int) throws -> ScorePolicy {
        let candidates: [(JSONValue?, String)] = [
            (sentenceTransformersConfig?["activation_fn"], "config_sentence_transformers.json activation_fn"),
            (config["sentence_transformers"]?["activation_fn"], "config.json sentence_transformers.activation_fn"),
            (config["sbert_ce_default_activation_function"], "config.json sbert_ce_default_activation_function"),
        ]
        for (value, source) in candidates {
            guard let path = value?.stringValue else { continue }
            guard path.hasPrefix("torch.") else { break }
            guard let a = activation(forPath: path) else { throw ImportError.unsupportedActivation(path: path, source: source) }
            return ScorePolicy(activation: a, source: source)
        }
        return numLabels == 1
            ? ScorePolicy(activation: .sigmoid, source: "default for 1 label")
            : ScorePolicy(activation: .identity, source: "default for \(numLabels) labels")
    }
}
