import CECore
import CEGraph
#if canImport(FoundationEssentials)
import FoundationEssentials
import Glibc
#else
import Foundation
#endif

/// The last hidden states of a batch: what transformers' `AutoModel(...).last_hidden_state` holds and what a
/// SentenceTransformer's Transformer module hands to Pooling as `token_embeddings`, right-padded.
public struct HiddenStates: Sendable {
    /// (B, T, C) row-major; rows past a sequence's length are zero.
    public var values: [Float]
    /// (B, T): 1 for a token, 0 for padding.
    public var attentionMask: [Int32]
    public var batch: Int
    /// T: the longest sequence of the batch.
    public var tokens: Int
    /// C: hidden size.
    public var channels: Int

    /// Sequence b's rows, (len_b, C).
    public func rows(_ b: Int) -> ArraySlice<Float> {
        let len = (0..<tokens).reduce(0) { $0 + Int(attentionMask[b * tokens + $1]) }
        return values[(b * tokens * channels)..<((b * tokens + len) * channels)]
    }
}

extension Executor {
    /// The encoder hook: runs the graph's ops up to, not including, its head (pooler / classifier), and returns the
    /// last hidden states (B, T, C) with the attention mask. Works for every architecture, with or without a head.
    public func hiddenStates(_ sequences: [TokenSequence]) throws -> HiddenStates {
        let c = graph.hyperparameters.hiddenSize
        let longest = sequences.map(\.ids.count).max() ?? 0
        var out = HiddenStates(values: [Float](repeating: 0, count: sequences.count * longest * c),
                               attentionMask: [Int32](repeating: 0, count: sequences.count * longest),
                               batch: sequences.count, tokens: longest, channels: c)
        let trunk = ops.filter { !$0.isHead }
        var start = 0
        while start < sequences.count {
            var end = start + 1, tokens = sequences[start].ids.count
            while end < sequences.count, tokens + sequences[end].ids.count <= tokensPerPass {
                tokens += sequences[end].ids.count
                end += 1
            }
            let batch = try Batch(Array(sequences[start..<end]), graph: graph, firstIndex: start)
            lock.lock()
            defer { lock.unlock() }
            workspace.reserve(tokens: batch.total, longest: batch.longest, batch: batch.sequences.count)
            for table in rotary.values { table.reserve(batch.longest) }
            disentangled?.reserve(longest: batch.longest)
            var unused: Float = 0
            withUnsafeMutablePointer(to: &unused) { logits in
                let p = Pass(batch: batch, graph: graph, weights: weights, workspace: workspace, rotary: rotary,
                             observer: observer, ffnChunkRows: ffnChunkRows, logits: logits, disentangled: disentangled)
                for op in trunk { p.forward(op) }
            }
            // x (N, C) packed -> out (B, T, C) padded
            for b in 0..<batch.sequences.count {
                let row = start + b, len = batch.length(b)
                out.values.withUnsafeMutableBufferPointer { dst in
                    (dst.baseAddress! + row * longest * c).update(from: workspace.x + batch.offsets[b] * c, count: len * c)
                }
                for t in 0..<len { out.attentionMask[row * longest + t] = 1 }
            }
            start = end
        }
        return out
    }
}

extension Op {
    /// The ops of a classification head: they read the hidden states and leave them as they are.
    var isHead: Bool {
        switch self {
        case .poolFirstToken, .poolHead, .classify: return true
        default: return false
        }
    }
}

extension Graph {
    /// The graph with zero-filled head tensors for one label where it has none (a bare encoder), so that weight
    /// planning, which lays out every architecture's head, has them; the ops never read them (`ops` ends before).
    func withPlaceholderHead() -> Graph {
        var h = hyperparameters
        h.numLabels = 1
        var g = self
        for (name, shape) in TensorName.required(architecture, h) where weights[name] == nil {
            g.weights[name] = Tensor(floats: [Float](repeating: 0, count: shape.elementCount), shape: shape)
        }
        return g
    }
}
