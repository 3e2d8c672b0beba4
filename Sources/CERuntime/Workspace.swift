import CECore
import CEKernels
#if canImport(FoundationEssentials)
import FoundationEssentials
import Glibc
#else
import Foundation
#endif

/// Scratch memory for a given token capacity. Grown only when a call needs more than any before.
final class Workspace {
    private(set) var tokenCapacity = 0
    private(set) var sequenceCapacity = 0
    /// Workers the attention scratch was sized for (one s·s block each).
    private(set) var workerCapacity = 0
    private var box: OwnedBytes?
    var x, qkv, ctx, tmp, ffn, scores, cls, pooled: UnsafeMutablePointer<Float>!
    /// [tokens, embedding]: the embeddings before ELECTRA's projection (unused when embedding == hidden).
    var emb: UnsafeMutablePointer<Float>!
    /// [tokens, intermediate]: the gated feed-forward activations act(u)·g (ModernBERT; unused elsewhere).
    var gatedOut: UnsafeMutablePointer<Float>!
    /// int8 path: quantized activations [tokens, max(hidden, intermediate)], their row scales, int32 sums.
    var int8: Kernels.Int8Scratch!
    let hidden: Int, intermediate: Int, embedding: Int
    /// Whether the feed-forward block is gated: ffn_up then yields 2·intermediate columns (ModernBERT).
    let gated: Bool
    /// A decoder's buffers (DecoderBlock.swift); nil for the encoder families.
    var decoder: DecoderScratch?

    init(hidden: Int, intermediate: Int, embedding: Int, gated: Bool = false) {
        self.hidden = hidden
        self.intermediate = intermediate
        self.embedding = embedding
        self.gated = gated
    }

    /// Columns of ffn_up's output.
    var ffnWidth: Int { gated ? 2 * intermediate : intermediate }

    /// Attention scratch of one worker for sequences up to `s` tokens (head size ≤ hidden).
    func attentionBlock(_ s: Int) -> Int { Kernels.attentionScratch(len: s, headDim: hidden) }

    /// Ensures room for `tokens` packed tokens, sequences up to `longest`, and `batch` sequences.
    func reserve(tokens: Int, longest: Int, batch: Int) {
        guard tokens > tokenCapacity || longest > sequenceCapacity || batch > sequenceCapacity || Kernels.threads > workerCapacity else { return }
        let t = max(tokens, tokenCapacity), s = max(longest, batch, sequenceCapacity)
        let sizes = [t * hidden, t * 3 * hidden, t * hidden, t * hidden, t * ffnWidth, attentionBlock(s) * Kernels.threads, s * hidden, s * hidden,
                     embedding == hidden ? 0 : t * embedding, gated ? t * intermediate : 0]
        let padded = sizes.map { ($0 + 15) / 16 * 16 }
        let b = OwnedBytes(count: padded.reduce(0, +) * 4, alignment: 64)
        var p = b.pointer.bindMemory(to: Float.self, capacity: padded.reduce(0, +))
        var ptrs: [UnsafeMutablePointer<Float>] = []
        for n in padded { ptrs.append(p); p += n }
        (x, qkv, ctx, tmp, ffn, scores, cls, pooled) = (ptrs[0], ptrs[1], ptrs[2], ptrs[3], ptrs[4], ptrs[5], ptrs[6], ptrs[7])
        emb = embedding == hidden ? x : ptrs[8]
        gatedOut = ptrs[9]
        box = b
        int8 = Kernels.Int8Scratch(rows: t, maxK: max(hidden, intermediate), maxN: max(3 * hidden, ffnWidth))
        tokenCapacity = t
        sequenceCapacity = s
        workerCapacity = Kernels.threads
    }
}

/// cos and sin of ModernBERT's rotary angles for positions 0..<count, [count, headDim / 2] each, in fp32 as
/// transformers' ModernBertRotaryEmbedding computes them: inv_j = 1 / θ^(2j / dh) (the exponent 2j / dh and the
/// reciprocal in fp32; the power rounded once from double, which torch's fp32 pow, not correctly rounded, can miss by
/// an ulp or two; bit-identical on every frequency the config goldens record),
/// angle = fp32(position · inv_j), then cos and sin rounded to fp32.
final class RotaryTable: @unchecked Sendable {
    let theta: Double
    let headDim: Int
    /// [headDim / 2]
    let inverseFrequencies: [Float]
    private(set) var count = 0
    private(set) var cos: UnsafeMutablePointer<Float>
    private(set) var sin: UnsafeMutablePointer<Float>

    init(theta: Double, headDim: Int) {
        self.theta = theta
        self.headDim = headDim
        inverseFrequencies = (0..<(headDim / 2)).map { j in
            let exponent = Float(2 * j) / Float(headDim)
            return 1 / Float(CMath.pow(theta, Double(exponent)))
        }
        cos = .allocate(capacity: 1)
        sin = .allocate(capacity: 1)
    }

    deinit { cos.deallocate(); sin.deallocate() }

    /// Grows the tables to at least `positions` rows.
    func reserve(_ positions: Int) {
        guard positions > count else { return }
        let n = max(positions, 2 * count), half = headDim / 2
        let c = UnsafeMutablePointer<Float>.allocate(capacity: max(1, n * half)), s = UnsafeMutablePointer<Float>.allocate(capacity: max(1, n * half))
        for p in 0..<n {
            for j in 0..<half {
                let angle = Float(p) * inverseFrequencies[j]
                c[p * half + j] = Float(CMath.cos(Double(angle)))
                s[p * half + j] = Float(CMath.sin(Double(angle)))
            }
        }
        cos.deallocate(); sin.deallocate()
        cos = c
        sin = s
        count = n
    }
}
