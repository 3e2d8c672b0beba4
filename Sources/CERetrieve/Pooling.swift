import CECore
#if canImport(FoundationEssentials)
import FoundationEssentials
import Glibc
#else
import Foundation
#endif

/// sentence-transformers' Pooling modes (pooling_config: `pooling_mode` or the legacy `pooling_mode_*` flags).
public enum PoolingMode: String, Sendable, CaseIterable {
    case cls, max, mean
    case meanSqrtLenTokens = "mean_sqrt_len_tokens"
    case weightedmean, lasttoken
}

/// A Pooling module's settings: modes concatenated in order, each `embeddingDimension` wide.
public struct PoolingConfig: Equatable, Sendable {
    public var embeddingDimension: Int
    public var modes: [PoolingMode]
    public var includePrompt: Bool
    public init(embeddingDimension: Int, modes: [PoolingMode], includePrompt: Bool = true) {
        self.embeddingDimension = embeddingDimension
        self.modes = modes
        self.includePrompt = includePrompt
    }
    public var outputDimension: Int { modes.count * embeddingDimension }
}

/// Pooling, Dense and Normalize as pure functions over the Transformer module's output, reproducing
/// sentence-transformers 6.2's Pooling._forward_padded, Dense.forward and Normalize.forward in float32.
/// hidden: token embeddings [B, T, C] row-major; mask: attention mask [B, T] (1 = token, 0 = padding).
public enum Pool {
    /// Pooling.forward: [B, T, C] + [B, T] -> [B, modes.count * C]. With include_prompt false and a prompt
    /// length, the prompt's tokens leave the mask first (_exclude_prompt_from_mask).
    public static func pool(hidden: [Float], mask: [Int32], batch b: Int, tokens t: Int, channels c: Int,
                            config: PoolingConfig, promptLength: Int? = nil) throws -> [Float] {
        let bt = b.multipliedReportingOverflow(by: t), btc = bt.partialValue.multipliedReportingOverflow(by: c)
        guard b >= 0, t >= 0, c >= 0, !bt.overflow, !btc.overflow, hidden.count == btc.partialValue else {
            throw RetrieveError.shapeMismatch(what: "token embeddings", expected: "\(b) x \(t) x \(c)", got: hidden.count)
        }
        guard mask.count == bt.partialValue else {
            throw RetrieveError.shapeMismatch(what: "attention mask", expected: "\(b) x \(t)", got: mask.count)
        }
        guard c == config.embeddingDimension else {
            throw RetrieveError.shapeMismatch(what: "token embedding width", expected: "\(config.embeddingDimension)", got: c)
        }
        var m = mask
        if !config.includePrompt, let pl = promptLength, pl > 0 { m = excludePrompt(mask, batch: b, tokens: t, promptLength: pl) }
        let width = config.outputDimension
        var out = [Float](repeating: 0, count: b * width)
        for row in 0..<b {
            let h = hidden[(row * t * c)..<((row + 1) * t * c)]
            let rm = m[(row * t)..<((row + 1) * t)]
            let padLength = firstMaxIndex(mask[(row * t)..<((row + 1) * t)])
            for (k, mode) in config.modes.enumerated() {
                let v = poolRow(Array(h), mask: Array(rm), tokens: t, channels: c, mode: mode, padLength: padLength)
                for j in 0..<c { out[row * width + k * c + j] = v[j] }
            }
        }
        return out
    }

    /// argmax over a mask row: the first index holding its largest value (0 for an all-zero row), as torch.argmax.
    static func firstMaxIndex(_ row: ArraySlice<Int32>) -> Int {
        var best = 0, bestValue = Int32.min
        for (i, v) in row.enumerated() where v > bestValue { best = i; bestValue = v }
        return best
    }

    /// _exclude_prompt_from_mask: right-padded batches (every row's first token unmasked) lose their first
    /// `promptLength` positions; otherwise each row loses positions below its left padding + promptLength.
    static func excludePrompt(_ mask: [Int32], batch b: Int, tokens t: Int, promptLength: Int) -> [Int32] {
        var m = mask
        let pads = (0..<b).map { firstMaxIndex(mask[($0 * t)..<(($0 + 1) * t)]) }
        for row in 0..<b {
            let limit = pads.allSatisfy { $0 == 0 } ? promptLength : pads[row] + promptLength
            for i in 0..<min(limit, t) { m[row * t + i] = 0 }
        }
        return m
    }

    /// One row: h [T, C], mask [T] -> [C]. padLength: the row's left padding in the original mask (weightedmean's offset).
    static func poolRow(_ h: [Float], mask: [Int32], tokens t: Int, channels c: Int, mode: PoolingMode, padLength: Int) -> [Float] {
        var v = [Float](repeating: 0, count: c)
        switch mode {
        case .cls:
            // the first position with mask 1 (argmax), position 0 if none
            let i = firstMaxIndex(mask[...])
            guard t > 0 else { return v }
            for j in 0..<c { v[j] = h[i * c + j] }
        case .max:
            v = [Float](repeating: -.infinity, count: c)
            for i in 0..<t where mask[i] != 0 { for j in 0..<c { v[j] = Swift.max(v[j], h[i * c + j]) } }
        case .mean, .meanSqrtLenTokens:
            var n: Float = 0
            for i in 0..<t where mask[i] != 0 {
                n += Float(mask[i])
                for j in 0..<c { v[j] += h[i * c + j] * Float(mask[i]) }
            }
            n = Swift.max(n, 1e-9)
            let d = mode == .mean ? n : n.squareRoot()
            for j in 0..<c { v[j] /= d }
        case .weightedmean:
            // weights 1...T shifted by the row's left padding, times the (prompt-excluded) mask
            var wsum: Float = 0
            for i in 0..<t where mask[i] != 0 {
                let w = Float(mask[i]) * Float(i + 1 - padLength)
                wsum += w
                for j in 0..<c { v[j] += h[i * c + j] * w }
            }
            wsum = Swift.max(wsum, 1e-9)
            for j in 0..<c { v[j] /= wsum }
        case .lasttoken:
            // the last position with mask 1; none: position T-1 of hidden * mask, i.e. zeros
            guard let i = (0..<t).last(where: { mask[$0] != 0 }) else { return v }
            for j in 0..<c { v[j] = h[i * c + j] * Float(mask[i]) }
        }
        return v
    }

    /// Normalize.forward: each row of width d divided by max(‖row‖₂, 1e-12), as torch.nn.functional.normalize.
    public static func normalize(_ x: [Float], dimension d: Int) -> [Float] {
        var y = x
        y.withUnsafeMutableBufferPointer { SemanticSearch.normalizeRows($0, dimension: d) }
        return y
    }
}

/// Activations a Dense module may name (config `activation_function`, a torch.nn class path).
public enum DenseActivation: String, Sendable, CaseIterable {
    case identity = "torch.nn.modules.linear.Identity"
    case tanh = "torch.nn.modules.activation.Tanh"
    case relu = "torch.nn.modules.activation.ReLU"
    case sigmoid = "torch.nn.modules.activation.Sigmoid"
    case gelu = "torch.nn.modules.activation.GELU"
    case silu = "torch.nn.modules.activation.SiLU"

    public func apply(_ x: Float) -> Float {
        switch self {
        case .identity: return x
        case .tanh: return CMath.tanh(x)
        case .relu: return x > 0 ? x : 0
        case .sigmoid: return 1 / (1 + CMath.exp(-x))
        case .gelu: return 0.5 * x * (1 + CMath.erf(x / Float(2).squareRoot()))  // torch.nn.GELU(approximate='none')
        case .silu: return x / (1 + CMath.exp(-x))
        }
    }
}

/// A Dense module: y = activation(W x + b). weight [out, in] (torch.nn.Linear layout), bias [out] or nil.
public struct DenseLayer: Equatable, Sendable {
    public var inFeatures: Int
    public var outFeatures: Int
    public var weight: [Float]
    public var bias: [Float]?
    public var activation: DenseActivation

    public init(inFeatures: Int, outFeatures: Int, weight: [Float], bias: [Float]?, activation: DenseActivation) throws {
        let n = inFeatures.multipliedReportingOverflow(by: outFeatures)
        guard inFeatures > 0, outFeatures > 0, !n.overflow, weight.count == n.partialValue else {
            throw RetrieveError.shapeMismatch(what: "Dense weight", expected: "\(outFeatures) x \(inFeatures)", got: weight.count)
        }
        if let bias, bias.count != outFeatures {
            throw RetrieveError.shapeMismatch(what: "Dense bias", expected: "\(outFeatures)", got: bias.count)
        }
        self.inFeatures = inFeatures
        self.outFeatures = outFeatures
        self.weight = weight
        self.bias = bias
        self.activation = activation
    }

    /// x [B, in] -> [B, out]
    public func forward(_ x: [Float], batch b: Int) throws -> [Float] {
        guard x.count == b * inFeatures else {
            throw RetrieveError.shapeMismatch(what: "Dense input", expected: "\(b) x \(inFeatures)", got: x.count)
        }
        var y = [Float](repeating: 0, count: b * outFeatures)
        for r in 0..<b {
            for o in 0..<outFeatures {
                var s: Float = 0
                for i in 0..<inFeatures { s += weight[o * inFeatures + i] * x[r * inFeatures + i] }
                y[r * outFeatures + o] = activation.apply(s + (bias?[o] ?? 0))
            }
        }
        return y
    }
}
