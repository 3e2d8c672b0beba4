import CECore
import CEGraph

/// Dropout probabilities of a model in training mode, per place transformers applies them (config.json's names).
public struct DropoutRates: Sendable, Equatable {
    /// After the embeddings' LayerNorm: hidden_dropout_prob (DistilBERT `dropout`, ModernBERT `embedding_dropout`).
    public var embeddings: Double
    /// On the attention probabilities: attention_probs_dropout_prob (`attention_dropout`).
    public var attentionProbs: Double
    /// On the attention output before the residual: hidden_dropout_prob (ModernBERT `attention_dropout`; none in DistilBERT).
    public var attentionOutput: Double
    /// On the feed-forward output before the residual (ModernBERT: on act(u)·g before Wo, `mlp_dropout`).
    public var feedForward: Double
    /// RoBERTa / ELECTRA head: on the first token before classifier.dense.
    public var headInput: Double
    /// Before the last linear (cls.out): classifier_dropout or hidden_dropout_prob (DistilBERT seq_classif_dropout).
    public var headOutput: Double

    public static let none = DropoutRates(embeddings: 0, attentionProbs: 0, attentionOutput: 0, feedForward: 0, headInput: 0, headOutput: 0)

    public init(embeddings: Double, attentionProbs: Double, attentionOutput: Double, feedForward: Double, headInput: Double, headOutput: Double) {
        self.embeddings = embeddings
        self.attentionProbs = attentionProbs
        self.attentionOutput = attentionOutput
        self.feedForward = feedForward
        self.headInput = headInput
        self.headOutput = headOutput
    }

    /// The probabilities transformers' modules read from config.json, with their configs' defaults.
    public init(config: JSONValue, architecture: Architecture) {
        func p(_ key: String, _ fallback: Double) -> Double { config[key]?.doubleValue ?? fallback }
        switch architecture {
        case .bert, .roberta, .electra:
            let hidden = p("hidden_dropout_prob", 0.1)
            let head = p("classifier_dropout", hidden)
            self.init(embeddings: hidden, attentionProbs: p("attention_probs_dropout_prob", 0.1), attentionOutput: hidden,
                      feedForward: hidden, headInput: architecture == .bert ? 0 : head, headOutput: head)
        case .distilbert:
            let hidden = p("dropout", 0.1)
            self.init(embeddings: hidden, attentionProbs: p("attention_dropout", 0.1), attentionOutput: 0, feedForward: hidden,
                      headInput: 0, headOutput: p("seq_classif_dropout", 0.2))
        case .debertaV2:
            // Never trained (Parameters(graph:) refuses it); DebertaV2Config's probabilities for completeness.
            let hidden = p("hidden_dropout_prob", 0.1)
            self.init(embeddings: hidden, attentionProbs: p("attention_probs_dropout_prob", 0.1), attentionOutput: hidden,
                      feedForward: hidden, headInput: p("pooler_dropout", 0), headOutput: p("cls_dropout", hidden))
        case .decoder:
            self.init(embeddings: 0, attentionProbs: p("attention_dropout", 0), attentionOutput: 0, feedForward: 0, headInput: 0, headOutput: 0)
        case .modernbert:
            let attention = p("attention_dropout", 0)
            self.init(embeddings: p("embedding_dropout", 0), attentionProbs: attention, attentionOutput: attention,
                      feedForward: p("mlp_dropout", 0), headInput: 0, headOutput: p("classifier_dropout", 0))
        }
    }
}

/// xoshiro256** seeded through SplitMix64: the seeded generator of dropout masks and shuffling.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    var s: (UInt64, UInt64, UInt64, UInt64)

    public init(seed: UInt64) {
        var z = seed
        func next() -> UInt64 {
            z &+= 0x9E37_79B9_7F4A_7C15
            var r = z
            r = (r ^ (r >> 30)) &* 0xBF58_476D_1CE4_E5B9
            r = (r ^ (r >> 27)) &* 0x94D0_49BB_1331_11EB
            return r ^ (r >> 31)
        }
        s = (next(), next(), next(), next())
    }

    public mutating func next() -> UInt64 {
        let result = ((s.1 &* 5) << 7 | (s.1 &* 5) >> 57) &* 9
        let t = s.1 << 17
        s.2 ^= s.0; s.3 ^= s.1; s.1 ^= s.2; s.0 ^= s.3
        s.2 ^= t
        s.3 = s.3 << 45 | s.3 >> 19
        return result
    }

    /// Uniform in [0, 1) with 53 bits.
    mutating func uniform() -> Double { Double(next() >> 11) * 0x1p-53 }
}

/// A dropout mask of `count` entries: 0 with probability p, else 1/(1 − p) (torch's inverted dropout). Not stored:
/// the generator's state at its first entry is, and the backward draws the same entries again. Empty when p is 0 or
/// there is no generator (evaluation, or a deterministic run).
public struct DropoutMask: Sendable {
    var start: SeededGenerator?
    let count: Int
    let p: Double

    static let none = DropoutMask(start: nil, count: 0, p: 0)

    init(start: SeededGenerator?, count: Int, p: Double) {
        self.start = start
        self.count = count
        self.p = p
    }

    /// The next `count` draws of `rng`, which moves past them.
    init(_ count: Int, _ p: Double, _ rng: inout SeededGenerator?) {
        self.count = count
        self.p = p
        guard p > 0, var g = rng else { start = nil; return }
        start = g
        for _ in 0..<count { _ = g.next() }
        rng = g
    }

    var isEmpty: Bool { start == nil }

    /// x (count) ⊙ mask; the backward is the same product.
    func apply<T: TrainScalar>(_ x: UnsafeMutablePointer<T>) {
        guard var g = start else { return }
        let keep: T = p < 1 ? T(1 / (1 - p)) : 0
        for i in 0..<count { x[i] *= g.uniform() >= p ? keep : 0 }
    }
}

/// x ⊙ mask (an empty mask is the identity).
func applyMask<T: TrainScalar>(_ x: inout [T], _ mask: DropoutMask) {
    if mask.isEmpty { return }
    precondition(x.count == mask.count)
    x.withUnsafeMutableBufferPointer { mask.apply($0.baseAddress!) }
}
