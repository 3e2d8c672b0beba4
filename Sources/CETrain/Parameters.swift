import CECore
import CEGraph

/// A model's trainable tensors by canonical name (formats/graph.md), in TensorName.required's order, as flat
/// row-major arrays of T. Gradients and AdamW's moments have the same layout.
public struct Parameters<T: TrainScalar>: Sendable {
    public let names: [String]
    public let shapes: [Shape]
    public var values: [[T]]
    let index: [String: Int]

    init(names: [String], shapes: [Shape], values: [[T]]) {
        self.names = names
        self.shapes = shapes
        self.values = values
        var index: [String: Int] = [:]
        for (i, n) in names.enumerated() { index[n] = i }
        self.index = index
    }

    /// The graph's weights widened to T; every weight must be floating point (an int8 artifact cannot be trained).
    public init(graph: Graph) throws {
        guard graph.architecture != .debertaV2 else { throw TrainError.unsupportedArchitecture(name: "DebertaV2ForSequenceClassification") }
        var names: [String] = [], shapes: [Shape] = [], values: [[T]] = []
        for (name, shape) in TensorName.required(graph.architecture, graph.hyperparameters) {
            guard let t = graph.weights[name] else { throw GraphError.missingWeight(name: name) }
            guard let f = t.floatValues() else { throw TrainError.untrainableWeight(name: name, dtype: t.dtype.rawValue) }
            names.append(name); shapes.append(shape); values.append(f.map { T($0) })
        }
        self.init(names: names, shapes: shapes, values: values)
    }

    /// Zeros of the same names and shapes.
    public func zeros() -> Parameters<T> {
        Parameters(names: names, shapes: shapes, values: values.map { [T](repeating: 0, count: $0.count) })
    }

    /// The tensor called `name`, or empty when the graph has none (a bias its flags rule out).
    public subscript(_ name: String) -> [T] {
        get { index[name].map { values[$0] } ?? [] }
        set { if let i = index[name] { values[i] = newValue } }
    }

    /// Moves the tensor out (empty when absent) so it can be updated in place without a copy; `put` returns it.
    mutating func take(_ name: String) -> [T] {
        guard let i = index[name] else { return [] }
        var out: [T] = []
        swap(&out, &values[i])
        return out
    }

    mutating func put(_ name: String, _ value: [T]) {
        if let i = index[name] { values[i] = value }
    }

    /// The graph with these values as F32 weights (what save_pretrained writes).
    public func graph(replacing graph: Graph) -> Graph {
        var g = graph
        for (i, n) in names.enumerated() { g.weights[n] = Tensor(floats: values[i].map { Float($0) }, shape: shapes[i]) }
        return g
    }
}

/// Errors of training: bad data, bad options, a loss that is not a number.
public enum TrainError: Error, Equatable, CustomStringConvertible {
    case untrainableWeight(name: String, dtype: String)
    case emptyTrainingData
    case invalidLabel(index: Int, reason: String)
    case invalidOption(name: String, reason: String)
    case nonFiniteLoss(step: Int, epoch: Int)
    case emptySequence(index: Int)
    /// An architecture fit has no backward pass for (DeBERTa-v2's disentangled attention, the decoders).
    case unsupportedArchitecture(name: String)

    public var description: String {
        switch self {
        case .untrainableWeight(let n, let d): return "weight \(n) is \(d); only fp32, fp16 and bf16 models can be trained"
        case .emptyTrainingData: return "the training data holds no example"
        case .invalidLabel(let i, let r): return "example \(i + 1): \(r)"
        case .invalidOption(let n, let r): return "\(n): \(r)"
        case .nonFiniteLoss(let s, let e): return "the loss is not a number at step \(s) (epoch \(e + 1)); training stopped"
        case .emptySequence(let i): return "example \(i + 1) encodes to no token"
        case .unsupportedArchitecture(let n): return "\(n) cannot be trained by cetool fit (no backward pass for its blocks)"
        }
    }
}
