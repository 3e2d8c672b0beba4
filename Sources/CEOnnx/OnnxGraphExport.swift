import CECore
import CEGraph
import Foundation

/// The canonical graph (CEGraph) as an ONNX graph, op by op (formats/onnx.md): one emitter per `Op`, so every
/// architecture cetool runs exports through the same code. Inputs `input_ids`, `attention_mask` and, where the
/// architecture reads them, `token_type_ids` (int64 [batch_size, sequence_length]); output `logits`
/// (float [batch_size, num_labels]) — the names optimum's exporter gives a sequence-classification model.
/// Weights keep their canonical names (linear weights transposed to [in, out] for MatMul, `…weight.T`).
enum OnnxGraphExport {
    /// ai.onnx opset the graph uses (LayerNormalization needs 17) and the IR version that goes with it.
    static let opset: Int64 = 17
    static let irVersion: Int64 = 8
    /// Additive attention mask for a masked key: torch.finfo(torch.float32).min, as transformers builds it.
    static let maskValue: Float = -Float.greatestFiniteMagnitude

    static func model(_ graph: Graph, producerVersion: String, metadata: [(String, String)]) throws -> Onnx.Model {
        var e = Emitter(graph: graph)
        try e.run()
        var inputs = [Onnx.ValueInfo(name: "input_ids", elementType: .int64, dims: [.param("batch_size"), .param("sequence_length")]),
                      Onnx.ValueInfo(name: "attention_mask", elementType: .int64, dims: [.param("batch_size"), .param("sequence_length")])]
        if readsTokenTypeIDs(graph) {
            inputs.append(Onnx.ValueInfo(name: "token_type_ids", elementType: .int64, dims: [.param("batch_size"), .param("sequence_length")]))
        }
        // A bare encoder (a SentenceTransformer's Transformer module) ends in the hidden states: optimum's
        // feature-extraction output, which sentence-transformers' ONNX backend reads as token_embeddings.
        let outputs = graph.isEncoderOnly
            ? [Onnx.ValueInfo(name: outputName(graph), elementType: .float,
                              dims: [.param("batch_size"), .param("sequence_length"), .value(Int64(graph.hyperparameters.hiddenSize))])]
            : [Onnx.ValueInfo(name: outputName(graph), elementType: .float,
                              dims: [.param("batch_size"), .value(Int64(graph.hyperparameters.numLabels))])]
        // An int8 graph's MatMulNBits nodes (OnnxInt8.swift) need ONNX Runtime's contrib domain.
        let contrib = e.b.nodes.contains { $0.domain == Emitter.contribDomain } ? [(Emitter.contribDomain, Int64(1))] : []
        return Onnx.Model(irVersion: irVersion, opsets: [("", opset)] + contrib, producerName: "cetool", producerVersion: producerVersion,
                          graphName: "main_graph", nodes: e.b.nodes, initializers: e.b.initializers, inputs: inputs, outputs: outputs,
                          metadata: metadata)
    }

    /// `logits` [batch_size, num_labels] of a cross-encoder; `last_hidden_state` [batch_size, sequence_length, hidden]
    /// of a bare encoder.
    static func outputName(_ graph: Graph) -> String { graph.isEncoderOnly ? "last_hidden_state" : "logits" }

    struct Emitter {
        let graph: Graph
        let b: OnnxGraphBuilder
        var h: Hyperparameters { graph.hyperparameters }
        /// The residual stream [B, S, hidden], then the pooled [B, hidden], then the logits.
        var x = ""
        private var padMask: String?
        private var windowMask: String?
        private var rotary: [AttentionSpan: (cos: String, sin: String)] = [:]

        init(graph: Graph) {
            self.graph = graph
            b = OnnxGraphBuilder()
        }

        mutating func run() throws {
            for op in graph.ops {
                switch op {
                case .embed: try embed()
                case .projectEmbeddings: x = try linear(x, TensorName.embeddingProjection, scope: "embeddings")
                case .encoderBlock(let i): try encoderBlock(i)
                case .poolFirstToken(let act): x = activation(try linear(firstToken(), TensorName.classifierPool, scope: "head"), act, scope: "head")
                case .classify: x = try linear(x, TensorName.classifierOut, scope: "head")
                case .embedTokens:
                    let tok = try tokenRows(scope: "embeddings")
                    x = try layerNorm(tok, TensorName.embeddingNorm, scope: "embeddings")
                case .preNormBlock(let i, let span): try preNormBlock(i, span)
                case .outputNorm: x = try layerNorm(x, TensorName.outputNorm, scope: "final_norm")
                case .poolHead(let pooling, let act): try poolHead(pooling, act)
                case .embedDebertaV2: try embedDebertaV2()
                case .disentangledBlock(let i): try disentangledBlock(i)
                case .embedLookup: try embedLookup()
                case .decoderBlock(let i): try decoderBlock(i)
                case .scoreLastToken: try scoreLastToken()
                }
            }
            b.add("Identity", [x], scope: "output", named: [OnnxGraphExport.outputName(graph)])
        }

        // MARK: weights

        /// A graph tensor as an initializer (linear weights transposed to [in, out]); fp16/bf16 stored as such and
        /// widened by a Cast node (ONNX Runtime folds it when the session loads), so the arithmetic is fp32 as cetool's.
        func weight(_ name: String, transposed: Bool = false) throws -> String {
            guard let t = graph.weights[name] else { throw GraphError.missingWeight(name: name) }
            return try initializer(t, name: name, transposed: transposed)
        }

        func initializer(_ t: Tensor, name: String, transposed: Bool = false) throws -> String {
            let type: Onnx.DataType
            switch t.dtype {
            case .f32: type = .float
            case .f16: type = .float16
            case .bf16: type = .bfloat16
            default: throw OnnxExportError.unsupportedTensor(name: name, dtype: t.dtype.rawValue)
            }
            var dims = t.shape.dims.map { Int64($0) }
            var raw = Array(t.storage.bytes.prefix(t.shape.elementCount * t.dtype.byteSize))
            var onnxName = name
            if transposed {
                precondition(dims.count == 2, "only matrices are transposed")
                raw = Self.transpose(raw, rows: Int(dims[0]), cols: Int(dims[1]), elementSize: t.dtype.byteSize)
                dims = [dims[1], dims[0]]
                onnxName += ".T"
            }
            let stored = b.initializer(Onnx.Tensor(name: onnxName, dataType: type, dims: dims, raw: raw))
            guard type != .float else { return stored }
            if b.produces(onnxName + ".f32") { return onnxName + ".f32" }
            return b.add("Cast", [stored], [.init("to", .int(Int64(Onnx.DataType.float.rawValue)))], scope: "weights",
                         named: [onnxName + ".f32"])[0]
        }

        /// [rows, cols] -> [cols, rows], elements of `elementSize` bytes.
        static func transpose(_ src: [UInt8], rows: Int, cols: Int, elementSize e: Int) -> [UInt8] {
            var out = [UInt8](repeating: 0, count: src.count)
            src.withUnsafeBytes { s in
                out.withUnsafeMutableBytes { d in
                    for r in 0..<rows {
                        for c in 0..<cols {
                            let from = (r * cols + c) * e, to = (c * rows + r) * e
                            for k in 0..<e { d[to + k] = s[from + k] }
                        }
                    }
                }
            }
            return out
        }

        func has(_ name: String) -> Bool { graph.weights[name] != nil }

        // MARK: building blocks

        /// y = x · Wᵀ + b (torch.nn.Linear), W [out, in]; the bias when the graph has one.
        func linear(_ input: String, _ name: Layer, scope: String) throws -> String {
            if isInt8(name.weight) { return try int8Linear(input, name, scope: scope) }
            let y = b.op("MatMul", [input, try weight(name.weight, transposed: true)], scope: scope)
            guard has(name.bias) else { return y }
            return b.op("Add", [y, try weight(name.bias)], scope: scope)
        }

        /// LayerNormalization over the last axis; a norm without bias (ModernBERT norm_bias false) adds nothing.
        func layerNorm(_ input: String, _ name: Layer, scope: String) throws -> String {
            var inputs = [input, try weight(name.weight)]
            if has(name.bias) { inputs.append(try weight(name.bias)) }
            return b.op("LayerNormalization", inputs, [.init("axis", .int(-1)), .init("epsilon", .float(h.layerNormEps))], scope: scope)
        }

        /// GELU (erf): x · 0.5 · (1 + erf(x / √2)); GELU (tanh): 0.5 · x · (1 + tanh(√(2/π) · (x + 0.044715 · x³))).
        func gelu(_ v: String, tanh: Bool, scope: String) -> String {
            let half = b.op("Mul", [v, b.f32(0.5)], scope: scope)
            let inner: String
            if tanh {
                let cube = b.op("Mul", [b.op("Mul", [v, v], scope: scope), v], scope: scope)
                let sum = b.op("Add", [v, b.op("Mul", [cube, b.f32(0.044715)], scope: scope)], scope: scope)
                inner = b.op("Tanh", [b.op("Mul", [sum, b.f32(Float((2.0 / Double.pi).squareRoot()))], scope: scope)], scope: scope)
            } else {
                inner = b.op("Erf", [b.op("Mul", [v, b.f32(Float(0.5.squareRoot()))], scope: scope)], scope: scope)
            }
            return b.op("Mul", [half, b.op("Add", [inner, b.f32(1)], scope: scope)], scope: scope)
        }

        func hiddenActivation(_ v: String, scope: String) -> String {
            switch h.hiddenAct {
            case .gelu: return gelu(v, tanh: false, scope: scope)
            case .geluTanh: return gelu(v, tanh: true, scope: scope)
            case .relu: return b.op("Relu", [v], scope: scope)
            case .silu: return b.op("Mul", [v, b.op("Sigmoid", [v], scope: scope)], scope: scope)
            }
        }

        func activation(_ v: String, _ a: PoolActivation, scope: String) -> String {
            switch a {
            case .tanh: return b.op("Tanh", [v], scope: scope)
            case .relu: return b.op("Relu", [v], scope: scope)
            case .gelu: return gelu(v, tanh: false, scope: scope)
            case .geluTanh: return gelu(v, tanh: true, scope: scope)
            }
        }

        /// The sequence length S as an int64 scalar.
        func sequenceLength(scope: String) -> String {
            let shape = b.op("Shape", ["input_ids"], scope: scope)
            return b.op("Gather", [shape, b.i64([1], scalar: true)], [.init("axis", .int(0))], scope: scope)
        }

        /// 0, 1, …, S − 1 (int64 [S]).
        func positionRange(scope: String) -> String {
            b.op("Range", [b.i64([0], scalar: true), sequenceLength(scope: scope), b.i64([1], scalar: true)], scope: scope)
        }

        /// x[:, 0, :] -> [B, hidden].
        func firstToken() -> String {
            b.op("Gather", [x, b.i64([0], scalar: true)], [.init("axis", .int(1))], scope: "head")
        }

        /// (1 − mask) · finfo.min, [B, 1, 1, S]: added to every head's scores.
        mutating func paddingMask() -> String {
            if let m = padMask { return m }
            let m = b.op("Cast", ["attention_mask"], [.init("to", .int(Int64(Onnx.DataType.float.rawValue)))], scope: "mask")
            let u = b.op("Unsqueeze", [m, b.i64([1, 2])], scope: "mask")
            let inverted = b.op("Sub", [b.f32(1), u], scope: "mask")
            padMask = b.op("Mul", [inverted, b.f32(OnnxGraphExport.maskValue)], scope: "mask")
            return padMask!
        }

        /// [B, S, hidden] -> [B, heads, S, dh] (or [B, heads, dh, S] for keys: `keys`).
        func splitHeads(_ t: String, keys: Bool = false, scope: String) -> String {
            let r = b.op("Reshape", [t, b.i64([0, 0, Int64(h.numAttentionHeads), Int64(h.headDim)])], scope: scope)
            return b.op("Transpose", [r], [.init("perm", .ints(keys ? [0, 2, 3, 1] : [0, 2, 1, 3]))], scope: scope)
        }

        /// softmax(q·kᵀ/√dh + mask)·v per head, back to [B, S, hidden]. q, v: [B, H, S, dh]; k: [B, H, dh, S].
        func attention(q: String, k: String, v: String, mask: String, scope: String) -> String {
            let scores = b.op("Mul", [b.op("MatMul", [q, k], scope: scope), b.f32(Float(1 / Double(h.headDim).squareRoot()))], scope: scope)
            let p = b.op("Softmax", [b.op("Add", [scores, mask], scope: scope)], [.init("axis", .int(-1))], scope: scope)
            let ctx = b.op("Transpose", [b.op("MatMul", [p, v], scope: scope)], [.init("perm", .ints([0, 2, 1, 3]))], scope: scope)
            return b.op("Reshape", [ctx, b.i64([0, 0, Int64(h.hiddenSize)])], scope: scope)
        }

        // MARK: ops

        /// token_embd[ids] + type_embd[types] + pos_embd[positions], LayerNorm(embd_norm).
        mutating func embed() throws {
            let s = "embeddings"
            var sum = try tokenRows(scope: s)
            if graph.architecture.usesTokenTypeIDs {
                sum = b.op("Add", [sum, b.op("Gather", [try weight(TensorName.typeEmbedding.weight), "token_type_ids"], scope: s)], scope: s)
            } else if graph.architecture.hasTypeEmbedding {
                // RoBERTa: token type 0 for every token, i.e. row 0 of the table.
                sum = b.op("Add", [sum, try typeRowZero()], scope: s)
            }
            let positions: String
            if graph.architecture == .roberta {
                // transformers create_position_ids_from_input_ids: cumsum(ids != pad) · (ids != pad) + pad.
                let pad = b.i64([Int64(h.padTokenID)], scalar: true)
                let notPad = b.op("Cast", [b.op("Not", [b.op("Equal", ["input_ids", pad], scope: s)], scope: s)],
                                  [.init("to", .int(Int64(Onnx.DataType.int64.rawValue)))], scope: s)
                let count = b.op("CumSum", [notPad, b.i64([1], scalar: true)], scope: s)
                positions = b.op("Add", [b.op("Mul", [count, notPad], scope: s), pad], scope: s)
            } else {
                positions = positionRange(scope: s)
            }
            sum = b.op("Add", [sum, b.op("Gather", [try weight(TensorName.positionEmbedding.weight), positions], scope: s)], scope: s)
            x = try layerNorm(sum, TensorName.embeddingNorm, scope: s)
        }

        /// Row 0 of type_embd as its own initializer [E].
        func typeRowZero() throws -> String {
            let name = TensorName.typeEmbedding.weight
            guard let t = graph.weights[name], t.shape.rank == 2 else { throw GraphError.missingWeight(name: name) }
            let row = Tensor(dtype: t.dtype, shape: [t.shape.dims[1]],
                             storage: TensorStorage(copying: UnsafeRawBufferPointer(rebasing: t.storage.bytes[0..<(t.shape.dims[1] * t.dtype.byteSize)])))
            return try initializer(row, name: name + ".row0")
        }

        /// Post-norm block (BERT, RoBERTa, DistilBERT, ELECTRA).
        mutating func encoderBlock(_ i: Int) throws {
            let s = "encoder/layer.\(i)"
            let mask = paddingMask()
            let q = splitHeads(try linear(x, TensorName.attnQ(i), scope: s), scope: s)
            let k = splitHeads(try linear(x, TensorName.attnK(i), scope: s), keys: true, scope: s)
            let v = splitHeads(try linear(x, TensorName.attnV(i), scope: s), scope: s)
            let ctx = attention(q: q, k: k, v: v, mask: mask, scope: s)
            let attended = try layerNorm(b.op("Add", [try linear(ctx, TensorName.attnOut(i), scope: s), x], scope: s), TensorName.attnNorm(i), scope: s)
            let up = hiddenActivation(try linear(attended, TensorName.ffnUp(i), scope: s), scope: s)
            let down = try linear(up, TensorName.ffnDown(i), scope: s)
            x = try layerNorm(b.op("Add", [down, attended], scope: s), TensorName.ffnNorm(i), scope: s)
        }

        // MARK: ModernBERT

        /// cos and sin of position · inv_j, duplicated over the two halves: [S, dh] each (transformers
        /// ModernBertRotaryEmbedding; the frequencies computed as cetool's RotaryTable computes them).
        mutating func rotaryTables(_ span: AttentionSpan) -> (cos: String, sin: String) {
            if let t = rotary[span] { return t }
            let s = "rotary.\(span == .global ? "global" : "local")"
            let m = h.modernBERT ?? .transformersDefaults(numHiddenLayers: h.numHiddenLayers)
            let theta = m.ropeTheta(span), dh = h.headDim
            let inv: [Float] = (0..<(dh / 2)).map { j in 1 / Float(Foundation.pow(theta, Double(Float(2 * j) / Float(dh)))) }
            let pos = b.op("Unsqueeze", [b.op("Cast", [positionRange(scope: s)], [.init("to", .int(Int64(Onnx.DataType.float.rawValue)))], scope: s),
                                          b.i64([1])], scope: s)
            let freqs = b.op("Mul", [pos, b.f32("\(s).inv_freq", inv)], scope: s)
            let emb = b.op("Concat", [freqs, freqs], [.init("axis", .int(-1))], scope: s)
            let t = (cos: b.op("Cos", [emb], scope: s), sin: b.op("Sin", [emb], scope: s))
            rotary[span] = t
            return t
        }

        /// t · cos + rotate_half(t) · sin, rotate_half(t) = [−t₂, t₁]; t [B, H, S, dh].
        func rotate(_ t: String, _ table: (cos: String, sin: String), scope: String) -> String {
            let half = Int64(h.headDim / 2)
            let parts = b.add("Split", [t, b.i64([half, half])], [.init("axis", .int(-1))], scope: scope, outputs: 2)
            let rotated = b.op("Concat", [b.op("Neg", [parts[1]], scope: scope), parts[0]], [.init("axis", .int(-1))], scope: scope)
            return b.op("Add", [b.op("Mul", [t, table.cos], scope: scope), b.op("Mul", [rotated, table.sin], scope: scope)], scope: scope)
        }

        /// The padding mask with keys farther than localAttention / 2 masked too: [B, 1, S, S].
        mutating func slidingWindowMask() -> String {
            if let m = windowMask { return m }
            let s = "mask.local"
            let pad = paddingMask()
            let r = positionRange(scope: s)
            let diff = b.op("Sub", [b.op("Unsqueeze", [r, b.i64([1])], scope: s), b.op("Unsqueeze", [r, b.i64([0])], scope: s)], scope: s)
            let half = Int64((h.modernBERT ?? .transformersDefaults(numHiddenLayers: h.numHiddenLayers)).halfWindow)
            let far = b.op("Greater", [b.op("Abs", [diff], scope: s), b.i64([half], scalar: true)], scope: s)
            let window = b.op("Where", [far, b.f32(OnnxGraphExport.maskValue), b.f32(0)], scope: s)
            windowMask = b.op("Min", [pad, window], scope: s)
            return windowMask!
        }

        /// ModernBERT pre-norm block.
        mutating func preNormBlock(_ i: Int, _ span: AttentionSpan) throws {
            let s = "layers.\(i)"
            let normed = i == 0 && !has(TensorName.attnNorm(i).weight) ? x : try layerNorm(x, TensorName.attnNorm(i), scope: s)
            let d = Int64(h.hiddenSize)
            let qkv = b.add("Split", [try linear(normed, TensorName.attnQKV(i), scope: s), b.i64([d, d, d])], [.init("axis", .int(-1))],
                            scope: s, outputs: 3)
            let table = rotaryTables(span)
            let mask = span == .global ? paddingMask() : slidingWindowMask()
            let q = rotate(splitHeads(qkv[0], scope: s), table, scope: s)
            let kRotated = rotate(splitHeads(qkv[1], scope: s), table, scope: s)
            let k = b.op("Transpose", [kRotated], [.init("perm", .ints([0, 1, 3, 2]))], scope: s)
            let v = splitHeads(qkv[2], scope: s)
            let ctx = attention(q: q, k: k, v: v, mask: mask, scope: s)
            x = b.op("Add", [x, try linear(ctx, TensorName.attnOut(i), scope: s)], scope: s)
            let f = Int64(h.intermediateSize)
            let ug = b.add("Split", [try linear(try layerNorm(x, TensorName.ffnNorm(i), scope: s), TensorName.ffnUp(i), scope: s), b.i64([f, f])],
                           [.init("axis", .int(-1))], scope: s, outputs: 2)
            let gated = b.op("Mul", [hiddenActivation(ug[0], scope: s), ug[1]], scope: s)
            x = b.op("Add", [x, try linear(gated, TensorName.ffnDown(i), scope: s)], scope: s)
        }

        /// ModernBERT head: [CLS] or the masked mean, dense, activation, LayerNorm (cls.pool_norm).
        mutating func poolHead(_ pooling: Pooling, _ act: PoolActivation) throws {
            let s = "head"
            let pooled: String
            switch pooling {
            case .cls: pooled = firstToken()
            case .mean:
                let m = b.op("Unsqueeze", [b.op("Cast", ["attention_mask"], [.init("to", .int(Int64(Onnx.DataType.float.rawValue)))], scope: s),
                                           b.i64([2])], scope: s)
                let total = b.op("ReduceSum", [b.op("Mul", [x, m], scope: s), b.i64([1])], [.init("keepdims", .int(0))], scope: s)
                let count = b.op("ReduceSum", [m, b.i64([1])], [.init("keepdims", .int(0))], scope: s)
                pooled = b.op("Div", [total, count], scope: s)
            }
            x = try layerNorm(activation(try linear(pooled, TensorName.classifierPool, scope: s), act, scope: s), TensorName.classifierPoolNorm, scope: s)
        }
    }
}
