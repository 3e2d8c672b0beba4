import CEGraph

/// One example as the model sees it: unpadded token ids and type ids.
public struct TrainSequence: Sendable, Equatable {
    public var ids: [Int32]
    public var typeIDs: [Int32]
    public init(ids: [Int32], typeIDs: [Int32]) {
        self.ids = ids
        self.typeIDs = typeIDs
    }
}

/// A trainable cross-encoder: the graph's ops and hyperparameters (no weights) and its parameters in T.
public final class TrainModel<T: TrainScalar>: @unchecked Sendable {
    /// The graph without its weights: architecture, hyperparameters, labels, ops.
    public let graph: Graph
    public let ops: [Op]
    public var parameters: Parameters<T>
    public var dropout: DropoutRates

    public init(graph: Graph, dropout: DropoutRates = .none) throws {
        try graph.validate()
        if let m = graph.hyperparameters.decoder { throw TrainError.unsupportedArchitecture(name: m.sequenceClassificationName) }
        parameters = try Parameters(graph: graph)
        var bare = graph
        bare.weights = [:]
        self.graph = bare
        ops = graph.ops
        self.dropout = dropout
    }

    /// A forward pass over `sequences` that keeps what the backward needs; `rng` nil turns dropout off.
    public func forward(_ sequences: [TrainSequence], rng: inout SeededGenerator?) throws -> TrainPass<T> {
        let pass = try TrainPass(model: self, sequences: sequences)
        for op in ops { pass.forward(op, rng: &rng) }
        return pass
    }

    /// Logits (B, L) without dropout.
    public func logits(_ sequences: [TrainSequence]) throws -> [T] {
        var rng: SeededGenerator? = nil
        return try forward(sequences, rng: &rng).logits
    }

    /// The parameters' gradients of Σ dlogits·logits: ops walked backwards, each op's backward beside its forward.
    public func backward(_ pass: TrainPass<T>, dlogits: [T]) -> Parameters<T> {
        var grads = parameters.zeros()
        pass.dlogits = dlogits
        for op in ops.reversed() { pass.backward(op, grads: &grads) }
        return grads
    }
}

/// The activations of one pass (the tape): what each op's backward reads. Sequences are packed without padding as
/// in the runtime (sequence b at rows offsets[b] ..< offsets[b] + len_b): attention over a sequence's own tokens is
/// the padded model's attention with its padding mask, and padded rows get no gradient there either.
public final class TrainPass<T: TrainScalar> {
    let model: TrainModel<T>
    let h: Hyperparameters
    let sequences: [TrainSequence]
    let offsets: [Int]
    /// N: tokens of the pass.
    let total: Int
    var p: Parameters<T> { model.parameters }

    /// The residual stream x (N, C) (the embeddings (N, E) before projectEmbeddings), the pooled rows (B, C), the logits (B, L).
    var x: [T] = []
    var pooled: [T] = []
    public internal(set) var logits: [T] = []
    /// Their gradients in the backward.
    var dx: [T] = []
    var dpooled: [T] = []
    var dlogits: [T] = []

    var embedCache: EmbedCache<T>?
    var projectInput: [T] = []
    var blocks: [Int: BlockCache<T>] = [:]
    var outputNormCache: LayerNormCache<T>?
    var poolCache: PoolCache<T>?
    var rotaryTables: [AttentionSpan: (cos: [T], sin: [T])] = [:]

    init(model: TrainModel<T>, sequences: [TrainSequence]) throws {
        self.model = model
        h = model.graph.hyperparameters
        var offsets: [Int] = [], total = 0
        let limit = model.graph.maxSequenceLength
        for (i, s) in sequences.enumerated() {
            guard !s.ids.isEmpty, s.ids.count == s.typeIDs.count, s.ids.count <= limit else { throw TrainError.emptySequence(index: i) }
            for id in s.ids where id < 0 || Int(id) >= h.vocabSize {
                throw TrainError.invalidOption(name: "token id", reason: "\(id) is outside the vocabulary of \(h.vocabSize)")
            }
            if model.graph.architecture.usesTokenTypeIDs {
                for t in s.typeIDs where t < 0 || Int(t) >= h.typeVocabSize {
                    throw TrainError.invalidOption(name: "token type id", reason: "\(t) is outside 0..<\(h.typeVocabSize)")
                }
            }
            offsets.append(total)
            total += s.ids.count
        }
        self.sequences = sequences
        self.offsets = offsets
        self.total = total
    }

    /// The op's forward.
    func forward(_ op: Op, rng: inout SeededGenerator?) {
        switch op {
        case .embed: embedForward(rng: &rng)
        case .projectEmbeddings: projectEmbeddingsForward()
        case .encoderBlock(let i): postNormBlockForward(i, rng: &rng)
        case .poolFirstToken(let act): poolForward(.cls, Activation(act), norm: nil, rng: &rng)
        case .classify: classifyForward()
        case .embedTokens: embedForward(rng: &rng)
        case .preNormBlock(let i, let span): preNormBlockForward(i, span, rng: &rng)
        case .outputNorm: outputNormForward()
        case .poolHead(let pooling, let act): poolForward(pooling, Activation(act), norm: TensorName.classifierPoolNorm, rng: &rng)
        case .embedDebertaV2, .disentangledBlock: preconditionFailure("Parameters(graph:) refuses DeBERTa-v2")
        case .embedLookup, .decoderBlock, .scoreLastToken: preconditionFailure("TrainModel refuses decoders at init")
        }
    }

    /// The op's backward, beside its forward: reads the gradient of the op's output, leaves its input's, adds into `grads`.
    func backward(_ op: Op, grads: inout Parameters<T>) {
        switch op {
        case .embed, .embedTokens: embedBackward(&grads)
        case .projectEmbeddings: projectEmbeddingsBackward(&grads)
        case .encoderBlock(let i): postNormBlockBackward(i, &grads)
        case .poolFirstToken(let act): poolBackward(.cls, Activation(act), norm: nil, &grads)
        case .classify: classifyBackward(&grads)
        case .preNormBlock(let i, let span): preNormBlockBackward(i, span, &grads)
        case .outputNorm: outputNormBackward(&grads)
        case .poolHead(let pooling, let act): poolBackward(pooling, Activation(act), norm: TensorName.classifierPoolNorm, &grads)
        case .embedDebertaV2, .disentangledBlock: preconditionFailure("Parameters(graph:) refuses DeBERTa-v2")
        case .embedLookup, .decoderBlock, .scoreLastToken: preconditionFailure("TrainModel refuses decoders at init")
        }
    }

    /// linear backward on parameters `name`.weight / `name`.bias (absent bias: none).
    func linearBack(_ dy: [T], _ input: [T], _ name: Layer, m: Int, n: Int, k: Int, _ grads: inout Parameters<T>) -> [T] {
        var dw = grads.take(name.weight), db = grads.take(name.bias)
        let dx = linearBackward(dy, input, p[name.weight], m: m, n: n, k: k, dw: &dw, db: &db)
        grads.put(name.weight, dw); grads.put(name.bias, db)
        return dx
    }

    func linear(_ input: [T], _ name: Layer, m: Int, n: Int, k: Int) -> [T] {
        linearForward(input, p[name.weight], p[name.bias], m: m, n: n, k: k)
    }

    func layerNorm(_ input: [T], _ name: Layer, rows: Int, width: Int) -> ([T], LayerNormCache<T>) {
        layerNormForward(input, p[name.weight], p[name.bias], rows: rows, width: width, eps: T(h.layerNormEps))
    }

    func layerNormBack(_ dy: [T], _ cache: LayerNormCache<T>, _ name: Layer, rows: Int, width: Int, _ grads: inout Parameters<T>) -> [T] {
        var dg = grads.take(name.weight), db = grads.take(name.bias)
        let dx = layerNormBackward(dy, cache, p[name.weight], rows: rows, width: width, dgamma: &dg, dbeta: &db)
        grads.put(name.weight, dg); grads.put(name.bias, db)
        return dx
    }
}
