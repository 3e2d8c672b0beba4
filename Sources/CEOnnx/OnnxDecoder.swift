import CECore
import CEGraph
import Foundation

// The decoder ops (formats/onnx.md, "Decoders"): transformers' Qwen3ForSequenceClassification and its Qwen2 / Llama
// siblings (modeling_qwen3.py, modeling_qwen2.py, modeling_llama.py, modeling_layers.GenericForSequenceClassification)
// as one pass over the padded batch, no KV cache. Shapes: B batch, S sequence, C hidden, H query heads over KV key/value
// heads of D values, G = H / KV query heads per kv head.
extension OnnxGraphExport.Emitter {
    /// The tensors every decoder block reads, made once by `embedLookup` under fixed names.
    enum DecoderTensor {
        /// Additive attention mask [B, 1, 1, S, S].
        static let mask = "decoder.attention_mask"
        /// cos and sin of the rotary angles [S, D].
        static let cos = "decoder.rotary.cos"
        static let sin = "decoder.rotary.sin"
    }

    /// The decoder's options; a decoder without a score head has no exported form (its hidden states end un-normed).
    func decoderParameters() throws -> DecoderParameters {
        guard let m = h.decoder, !graph.isEncoderOnly else {
            throw OnnxExportError.unsupportedArchitecture(name: "\(h.decoder?.family.rawValue ?? "a") decoder without a score head")
        }
        return m
    }

    /// `embedLookup`: x [B, S, C] = embed_tokens[input_ids]; then the mask and the rotary tables the blocks share.
    mutating func embedLookup() throws {
        let m = try decoderParameters()
        x = try tokenRows(scope: "embed_tokens")
        decoderMask()
        decoderRotary(m)
    }

    /// 0 where key j ≤ query t and attention_mask[b, j] ≠ 0, else finfo(float32).min: transformers' create_causal_mask
    /// (causal and padding) as one additive mask [B, 1, 1, S, S]; a query with no key left (a left pad) stays finite.
    func decoderMask() {
        let s = "mask"
        let r = positionRange(scope: s)
        let keys = b.op("Unsqueeze", [r, b.i64([0])], scope: s), queries = b.op("Unsqueeze", [r, b.i64([1])], scope: s)
        let causal = b.op("LessOrEqual", [keys, queries], scope: s)
        let present = b.op("Cast", ["attention_mask"], [.init("to", .int(Int64(Onnx.DataType.bool.rawValue)))], scope: s)
        let allowed = b.op("And", [causal, b.op("Unsqueeze", [present, b.i64([1, 2, 3])], scope: s)], scope: s)
        b.add("Where", [allowed, b.f32(0), b.f32(OnnxGraphExport.maskValue)], scope: s, named: [DecoderTensor.mask])
    }

    /// cos and sin of position · inv_j, inv_j = 1 / rope_theta^(2j / D), duplicated over the two halves: [S, D]
    /// (the default rotary embedding; positions 0…S−1 whatever the padding, as transformers takes them from
    /// cache_position when no position_ids are given; the frequencies as cetool's RotaryTable computes them).
    func decoderRotary(_ m: DecoderParameters) {
        let s = "rotary", dh = m.headDim
        let inv: [Float] = (0..<(dh / 2)).map { j in 1 / Float(Foundation.pow(m.ropeTheta, Double(Float(2 * j) / Float(dh)))) }
        let pos = b.op("Unsqueeze", [b.op("Cast", [positionRange(scope: s)], [.init("to", .int(Int64(Onnx.DataType.float.rawValue)))], scope: s),
                                      b.i64([1])], scope: s)
        let freqs = b.op("Mul", [pos, b.f32("decoder.rotary.inv_freq", inv)], scope: s)
        let emb = b.op("Concat", [freqs, freqs], [.init("axis", .int(-1))], scope: s)
        b.add("Cos", [emb], scope: s, named: [DecoderTensor.cos])
        b.add("Sin", [emb], scope: s, named: [DecoderTensor.sin])
    }

    /// RMSNorm over the last axis (transformers Qwen3RMSNorm / LlamaRMSNorm in fp32): gain · x / √(mean(x²) + eps),
    /// written as the Pow/ReduceMean/Add/Sqrt/Div/Mul chain ONNX Runtime fuses into SimplifiedLayerNormalization.
    func rmsNorm(_ input: String, _ name: Layer, scope s: String) throws -> String {
        let mean = b.op("ReduceMean", [b.op("Pow", [input, b.f32(2)], scope: s)], [.init("axes", .ints([-1])), .init("keepdims", .int(1))], scope: s)
        let rms = b.op("Sqrt", [b.op("Add", [mean, b.f32(h.layerNormEps)], scope: s)], scope: s)
        return b.op("Mul", [b.op("Div", [input, rms], scope: s), try weight(name.weight)], scope: s)
    }

    /// `decoderBlock(i)`: x += o_proj(attention(RMSNorm(x))); x += down_proj(silu(gate_proj(n)) ⊙ up_proj(n)),
    /// n = RMSNorm(x; post_attention_layernorm).
    mutating func decoderBlock(_ i: Int) throws {
        let m = try decoderParameters(), s = "layers.\(i)"
        let ctx = try decoderAttention(i, try rmsNorm(x, TensorName.attnNorm(i), scope: s), m, scope: s)
        x = b.op("Add", [x, try linear(ctx, TensorName.attnOut(i), scope: s)], scope: s)
        let n = try rmsNorm(x, TensorName.ffnNorm(i), scope: s)
        let gated = b.op("Mul", [hiddenActivation(try linear(n, TensorName.ffnGate(i), scope: s), scope: s),
                                 try linear(n, TensorName.ffnUp(i), scope: s)], scope: s)
        x = b.op("Add", [x, try linear(gated, TensorName.ffnDown(i), scope: s)], scope: s)
    }

    /// Grouped-query causal attention, [B, S, C] -> [B, S, H·D]. Heads are laid out [B, KV, G, S, D] (query head
    /// kv·G + g reads kv head kv, transformers repeat_kv) and k, v [B, KV, 1, S, D] broadcast over G in MatMul;
    /// Qwen3's q_norm / k_norm run per head before the rotation.
    func decoderAttention(_ i: Int, _ input: String, _ m: DecoderParameters, scope s: String) throws -> String {
        let kv = Int64(m.numKeyValueHeads), g = Int64(h.numAttentionHeads / m.numKeyValueHeads), d = Int64(m.headDim)
        func heads(_ t: String, _ n: Int64) -> String { b.op("Reshape", [t, b.i64([0, 0, kv, n, d])], scope: s) }
        func toHeads(_ t: String) -> String { b.op("Transpose", [t], [.init("perm", .ints([0, 2, 3, 1, 4]))], scope: s) }
        var q = heads(try linear(input, TensorName.attnQ(i), scope: s), g)
        var k = heads(try linear(input, TensorName.attnK(i), scope: s), 1)
        let v = toHeads(heads(try linear(input, TensorName.attnV(i), scope: s), 1))
        if m.qkNorm {
            q = try rmsNorm(q, TensorName.attnQNorm(i), scope: s)
            k = try rmsNorm(k, TensorName.attnKNorm(i), scope: s)
        }
        let table = (cos: DecoderTensor.cos, sin: DecoderTensor.sin)
        q = rotate(toHeads(q), table, scope: s)
        k = b.op("Transpose", [rotate(toHeads(k), table, scope: s)], [.init("perm", .ints([0, 1, 2, 4, 3]))], scope: s)
        let scores = b.op("Mul", [b.op("MatMul", [q, k], scope: s), b.f32(Float(1 / Double(m.headDim).squareRoot()))], scope: s)
        let p = b.op("Softmax", [b.op("Add", [scores, DecoderTensor.mask], scope: s)], [.init("axis", .int(-1))], scope: s)
        let ctx = b.op("Transpose", [b.op("MatMul", [p, v], scope: s)], [.init("perm", .ints([0, 3, 1, 2, 4]))], scope: s)
        return b.op("Reshape", [ctx, b.i64([0, 0, Int64(h.numAttentionHeads) * d])], scope: s)
    }

    /// `scoreLastToken`: logits [B, L] = score(RMSNorm(x[b, r_b]; norm)), r_b as GenericForSequenceClassification finds
    /// it from the ids: argmax of arange(S) · (input_ids ≠ pad_token_id), i.e. the rightmost token that is not the pad
    /// id (0 when every token is); without a pad id the last token (transformers refuses batches over 1 there; the
    /// graph takes each row's last token).
    mutating func scoreLastToken() throws {
        let m = try decoderParameters(), s = "score"
        let last: String
        if let pad = m.poolPadTokenID {
            let notPad = b.op("Cast", [b.op("Not", [b.op("Equal", ["input_ids", b.i64([Int64(pad)], scalar: true)], scope: s)], scope: s)],
                              [.init("to", .int(Int64(Onnx.DataType.int64.rawValue)))], scope: s)
            let index = b.op("ReduceMax", [b.op("Mul", [notPad, positionRange(scope: s)], scope: s)],
                             [.init("axes", .ints([1])), .init("keepdims", .int(1))], scope: s)
            last = b.op("GatherND", [x, index], [.init("batch_dims", .int(1))], scope: s)
        } else {
            let final = b.op("Sub", [sequenceLength(scope: s), b.i64([1], scalar: true)], scope: s)
            last = b.op("Gather", [x, final], [.init("axis", .int(1))], scope: s)
        }
        x = try linear(try rmsNorm(last, TensorName.outputNorm, scope: s), TensorName.classifierOut, scope: s)
    }
}
