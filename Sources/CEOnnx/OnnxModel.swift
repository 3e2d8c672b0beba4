import CECore

/// The subset of ONNX (onnx/onnx.proto, IR version 8+) that cetool writes, as plain values. `OnnxProto.encode`
/// turns it into protobuf-c messages and bytes; nothing here touches C memory.
public enum Onnx {
    /// TensorProto.DataType.
    public enum DataType: Int32, Sendable {
        case float = 1, uint8 = 2, int8 = 3, int32 = 6, int64 = 7, bool = 9, float16 = 10, bfloat16 = 16
    }

    /// An initializer or attribute tensor: little-endian raw data (TensorProto.raw_data), dims row-major.
    public struct Tensor: Sendable {
        public var name: String
        public var dataType: DataType
        public var dims: [Int64]
        public var raw: [UInt8]
    }

    public enum AttributeValue: Sendable {
        case int(Int64)
        case float(Float)
        case ints([Int64])
        case string(String)
        case tensor(Tensor)
    }

    public struct Attribute: Sendable {
        public var name: String
        public var value: AttributeValue
        public init(_ name: String, _ value: AttributeValue) { self.name = name; self.value = value }
    }

    public struct Node: Sendable {
        public var opType: String
        public var inputs: [String]
        public var outputs: [String]
        public var name: String
        public var attributes: [Attribute]
        /// Operator set domain; "" is the default ONNX domain (ai.onnx).
        public var domain: String = ""
    }

    /// A graph input or output dimension: a fixed size or a named symbolic one (`batch_size`, `sequence_length`).
    public enum Dimension: Sendable, Equatable {
        case value(Int64)
        case param(String)
    }

    public struct ValueInfo: Sendable {
        public var name: String
        public var elementType: DataType
        public var dims: [Dimension]
    }

    public struct Model: Sendable {
        public var irVersion: Int64
        /// (domain, version); "" is ai.onnx.
        public var opsets: [(String, Int64)]
        public var producerName: String
        public var producerVersion: String
        public var graphName: String
        public var nodes: [Node]
        public var initializers: [Tensor]
        public var inputs: [ValueInfo]
        public var outputs: [ValueInfo]
        /// ModelProto.metadata_props, in this order.
        public var metadata: [(String, String)]
    }
}
