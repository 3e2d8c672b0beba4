import CECore

public enum ImportError: Error, Equatable, CustomStringConvertible {
    case notADirectory(path: String)
    case missingFile(name: String, directory: String)
    case noWeights(directory: String)
    case unsupportedArchitecture(name: String, supported: [String])
    case invalidConfig(key: String, reason: String)
    /// A config.json value the reference runs and cetool does not reproduce (refused rather than ignored).
    case unsupportedOption(key: String, value: String, supported: [String])
    case unmappedTensor(name: String)
    case duplicateTensor(canonical: String, sources: [String])
    case missingTensor(canonical: String, expectedSource: String)
    case shapeMismatch(name: String, expected: Shape, actual: Shape)
    case unsupportedDType(name: String, dtype: DType)
    case unsupportedActivation(path: String, source: String)
    case invalidMaxLength(Int, limit: Int)
    case shardMismatch(tensor: String, shard: String, indexed: String?)

    public var description: String {
        switch self {
        case .notADirectory(let p): return "not a model directory: \(displayEscaped(p))"
        case .missingFile(let n, let d): return "\(displayEscaped(n)) is missing in \(d)"
        case .noWeights(let d): return "no weights in \(d): expected model.safetensors, model.safetensors.index.json, pytorch_model.bin or pytorch_model.bin.index.json"
        case .unsupportedArchitecture(let n, let s): return "unsupported architecture \(displayEscaped(n)); supported: \(s.joined(separator: ", "))"
        case .invalidConfig(let k, let r): return "config.json \(k): \(r)"
        case .unsupportedOption(let k, let v, let s):
            return "config.json \(k) = \(displayEscaped(v)) is not supported by cetool (supported: \(s.joined(separator: ", ")))"
        case .unmappedTensor(let n): return "checkpoint tensor \(displayEscaped(n)) is not used by the architecture and not known to be ignorable"
        case .duplicateTensor(let c, let s): return "tensors \(s.map(displayEscaped).joined(separator: " and ")) both map to \(displayEscaped(c))"
        case .missingTensor(let c, let src): return "checkpoint lacks \(displayEscaped(src)) (canonical \(displayEscaped(c)))"
        case .shapeMismatch(let n, let e, let a): return "checkpoint tensor \(displayEscaped(n)) has shape \(a), config.json implies \(e)"
        case .unsupportedDType(let n, let d): return "checkpoint tensor \(displayEscaped(n)) has dtype \(d.rawValue); F32, F16, BF16 are supported"
        case .unsupportedActivation(let p, let s): return "activation \(displayEscaped(p)) (from \(displayEscaped(s))) is not one cetool knows (Identity, Sigmoid, Tanh, Softmax)"
        case .invalidMaxLength(let m, let l):
            return "max length \(m) is outside 3...\(l) for this model (its max_position_embeddings, at most \(ModelDirectory.maxSequenceLength)); pass a smaller max length"
        case .shardMismatch(let t, let s, let i):
            return i == nil ? "tensor \(displayEscaped(t)) is listed for shard \(displayEscaped(s)) but that shard does not hold it" : "tensor \(displayEscaped(t)) is in shard \(displayEscaped(s)) but the index puts it in \(displayEscaped(i!))"
        }
    }
}
