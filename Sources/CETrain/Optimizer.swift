import Foundation

/// torch.optim.AdamW (decoupled weight decay): per parameter p ← p·(1 − lr·λ); m ← β1·m + (1 − β1)·g;
/// v ← β2·v + (1 − β2)·g²; p ← p − lr·(m / (1 − β1ᵗ)) / (√(v / (1 − β2ᵗ)) + ε). Weight decay λ applies to every
/// parameter but biases and LayerNorm weights (`decays(_:)`). Moments in Float, the bias corrections in Double.
public struct AdamW: Sendable {
    public var beta1 = 0.9, beta2 = 0.999, eps = 1e-8
    public var weightDecay: Double
    var m: Parameters<Float>
    var v: Parameters<Float>
    public private(set) var step = 0

    public init(parameters: Parameters<Float>, weightDecay: Double) {
        self.weightDecay = weightDecay
        m = parameters.zeros()
        v = parameters.zeros()
    }

    /// Whether weight decay applies: not to biases, not to LayerNorm weights (every canonical `…norm` tensor).
    /// sentence-transformers' fit excludes names containing "bias", "LayerNorm.bias", "LayerNorm.weight".
    public static func decays(_ name: String) -> Bool {
        !(name.hasSuffix(".bias") || name.hasSuffix("norm.weight"))
    }

    /// One update at learning rate `lr` with gradients `grads`.
    public mutating func update(_ p: inout Parameters<Float>, grads: Parameters<Float>, lr: Double) {
        step += 1
        let b1 = Float(beta1), b2 = Float(beta2)
        let c1 = 1 - pow(beta1, Double(step)), c2 = 1 - pow(beta2, Double(step))
        let stepSize = Float(lr / c1), c2s = Float(c2.squareRoot()), e = Float(eps)
        for t in 0..<p.values.count {
            let decay = AdamW.decays(p.names[t]) ? Float(1 - lr * weightDecay) : 1
            p.values[t].withUnsafeMutableBufferPointer { w in
                m.values[t].withUnsafeMutableBufferPointer { mm in
                    v.values[t].withUnsafeMutableBufferPointer { vv in
                        grads.values[t].withUnsafeBufferPointer { g in
                            for i in 0..<w.count {
                                w[i] *= decay
                                mm[i] = b1 * mm[i] + (1 - b1) * g[i]
                                vv[i] = b2 * vv[i] + (1 - b2) * g[i] * g[i]
                                w[i] -= stepSize * mm[i] / (vv[i].squareRoot() / c2s + e)
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Learning-rate schedules of sentence-transformers' fit (`SentenceTransformer._get_scheduler`, transformers'
/// get_*_schedule_with_warmup): a factor of the base rate per step.
public enum Scheduler: String, Sendable, CaseIterable {
    /// get_constant_schedule.
    case constant = "constantlr"
    /// get_constant_schedule_with_warmup: step/warmup during warm-up, then 1.
    case warmupConstant = "warmupconstant"
    /// get_linear_schedule_with_warmup: up to 1 over warm-up, then down to 0 at the last step.
    case warmupLinear = "warmuplinear"
    /// get_cosine_schedule_with_warmup (half a cycle): up over warm-up, then 0.5·(1 + cos(π·progress)).
    case warmupCosine = "warmupcosine"

    /// Names as sentence-transformers takes them, case-insensitive ("WarmupLinear", "constantlr", "constant").
    public init?(name: String) {
        let n = name.lowercased().replacingOccurrences(of: "-", with: "").replacingOccurrences(of: "_", with: "")
        if n == "constant" { self = .constant; return }
        guard let s = Scheduler(rawValue: n) else { return nil }
        self = s
    }

    /// The factor at `step` (0-based: the rate of the step's update), `warmup` steps, `total` steps.
    public func factor(step: Int, warmup: Int, total: Int) -> Double {
        let s = Double(step), w = Double(warmup), t = Double(total)
        switch self {
        case .constant: return 1
        case .warmupConstant: return step < warmup ? s / max(1, w) : 1
        case .warmupLinear:
            if step < warmup { return s / max(1, w) }
            return max(0, (t - s) / max(1, t - w))
        case .warmupCosine:
            if step < warmup { return s / max(1, w) }
            let progress = (s - w) / max(1, t - w)
            return max(0, 0.5 * (1 + cos(Double.pi * 2 * 0.5 * progress)))
        }
    }
}

/// torch.nn.utils.clip_grad_norm_: the L2 norm over every gradient; when above `maxNorm`, every gradient is scaled
/// by maxNorm / (norm + 1e-6). Returns the norm before clipping.
@discardableResult
public func clipGradientNorm(_ grads: inout Parameters<Float>, maxNorm: Double) -> Double {
    var sq = 0.0
    for g in grads.values { for x in g { sq += Double(x) * Double(x) } }
    let norm = sq.squareRoot()
    let coef = maxNorm / (norm + 1e-6)
    if coef < 1 {
        let c = Float(coef)
        for t in 0..<grads.values.count { grads.values[t].withUnsafeMutableBufferPointer { g in for i in 0..<g.count { g[i] *= c } } }
    }
    return norm
}
