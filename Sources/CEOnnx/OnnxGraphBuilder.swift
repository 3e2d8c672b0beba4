import CECore
import CEGraph

/// Accumulates nodes and initializers with deterministic names: node `/<scope>/<Op>_<n>`, its outputs
/// `<node>_output_<k>`, constants by value (`const.f32.<bits>`, `const.i64.<values>`), weights by canonical name.
final class OnnxGraphBuilder {
    private(set) var nodes: [Onnx.Node] = []
    private(set) var initializers: [Onnx.Tensor] = []
    private var names: Set<String> = []
    private var produced: Set<String> = []
    private var counter = 0

    /// Adds a node; returns its `outputs` output names.
    @discardableResult
    func add(_ op: String, _ inputs: [String], _ attributes: [Onnx.Attribute] = [], scope: String, outputs: Int = 1,
             named fixed: [String]? = nil, domain: String = "") -> [String] {
        counter += 1
        let name = "/\(scope)/\(op)_\(counter)"
        let outs = fixed ?? (0..<outputs).map { "\(name)_output_\($0)" }
        nodes.append(Onnx.Node(opType: op, inputs: inputs, outputs: outs, name: name, attributes: attributes, domain: domain))
        produced.formUnion(outs)
        return outs
    }

    /// Whether a node already outputs `name` (a weight's widening Cast, read twice: DeBERTa's shared key_proj).
    func produces(_ name: String) -> Bool { produced.contains(name) }

    /// One-output node.
    func op(_ op: String, _ inputs: [String], _ attributes: [Onnx.Attribute] = [], scope: String) -> String {
        add(op, inputs, attributes, scope: scope)[0]
    }

    /// Adds an initializer once; returns its name.
    @discardableResult
    func initializer(_ t: Onnx.Tensor) -> String {
        if names.insert(t.name).inserted { initializers.append(t) }
        return t.name
    }

    /// A float32 scalar constant (shape []).
    func f32(_ v: Float) -> String {
        initializer(Onnx.Tensor(name: "const.f32.\(String(v.bitPattern, radix: 16))", dataType: .float, dims: [], raw: Self.bytes([v])))
    }

    /// A float32 vector constant.
    func f32(_ name: String, _ v: [Float]) -> String {
        initializer(Onnx.Tensor(name: name, dataType: .float, dims: [Int64(v.count)], raw: Self.bytes(v)))
    }

    /// An int64 constant: a scalar (shape []) or a vector.
    func i64(_ v: [Int64], scalar: Bool = false) -> String {
        let tag = v.map { String($0) }.joined(separator: "_")
        return initializer(Onnx.Tensor(name: "const.i64.\(scalar ? "s" : "v").\(tag)", dataType: .int64, dims: scalar ? [] : [Int64(v.count)],
                                       raw: Self.bytes(v)))
    }

    static func bytes<T>(_ v: [T]) -> [UInt8] { v.withUnsafeBytes { Array($0) } }
}
