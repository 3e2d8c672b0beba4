import CProtobufC
import COnnxProto
import Foundation

/// Serialises `Onnx.Model` through the protobuf-c code generated from onnx.proto (scripts/gen_protobuf.sh).
/// Every C allocation of one encoding lives in an `Arena` freed when the encoding ends. protobuf-c writes the
/// fields of a message in the order of their field numbers and repeated fields in array order, so equal models give
/// equal bytes.
public enum OnnxProto {
    /// The serialised ModelProto.
    public static func encode(_ model: Onnx.Model) -> [UInt8] {
        let arena = Arena()
        defer { arena.freeAll() }
        let m = arena.message(Onnx__ModelProto.self, onnx__model_proto__init)
        m.pointee.has_ir_version = 1
        m.pointee.ir_version = model.irVersion
        let opsets = model.opsets.map { domain, version -> UnsafeMutablePointer<Onnx__OperatorSetIdProto> in
            let o = arena.message(Onnx__OperatorSetIdProto.self, onnx__operator_set_id_proto__init)
            o.pointee.domain = arena.string(domain)
            o.pointee.has_version = 1
            o.pointee.version = version
            return o
        }
        (m.pointee.n_opset_import, m.pointee.opset_import) = arena.refs(opsets)
        m.pointee.producer_name = arena.string(model.producerName)
        m.pointee.producer_version = arena.string(model.producerVersion)
        let props = model.metadata.map { k, v -> UnsafeMutablePointer<Onnx__StringStringEntryProto> in
            let e = arena.message(Onnx__StringStringEntryProto.self, onnx__string_string_entry_proto__init)
            e.pointee.key = arena.string(k)
            e.pointee.value = arena.string(v)
            return e
        }
        (m.pointee.n_metadata_props, m.pointee.metadata_props) = arena.refs(props)

        let g = arena.message(Onnx__GraphProto.self, onnx__graph_proto__init)
        g.pointee.name = arena.string(model.graphName)
        (g.pointee.n_node, g.pointee.node) = arena.refs(model.nodes.map { node($0, arena) })
        (g.pointee.n_initializer, g.pointee.initializer) = arena.refs(model.initializers.map { tensor($0, arena) })
        (g.pointee.n_input, g.pointee.input) = arena.refs(model.inputs.map { valueInfo($0, arena) })
        (g.pointee.n_output, g.pointee.output) = arena.refs(model.outputs.map { valueInfo($0, arena) })
        m.pointee.graph = g

        let size = onnx__model_proto__get_packed_size(m)
        var out = [UInt8](repeating: 0, count: size)
        let written = out.withUnsafeMutableBufferPointer { onnx__model_proto__pack(m, $0.baseAddress) }
        precondition(written == size, "protobuf-c packed \(written) of \(size) bytes")
        return out
    }

    static func node(_ n: Onnx.Node, _ arena: Arena) -> UnsafeMutablePointer<Onnx__NodeProto> {
        let p = arena.message(Onnx__NodeProto.self, onnx__node_proto__init)
        (p.pointee.n_input, p.pointee.input) = arena.refs(n.inputs.map { arena.string($0) })
        (p.pointee.n_output, p.pointee.output) = arena.refs(n.outputs.map { arena.string($0) })
        p.pointee.name = arena.string(n.name)
        p.pointee.op_type = arena.string(n.opType)
        if !n.domain.isEmpty { p.pointee.domain = arena.string(n.domain) }
        (p.pointee.n_attribute, p.pointee.attribute) = arena.refs(n.attributes.map { attribute($0, arena) })
        return p
    }

    static func attribute(_ a: Onnx.Attribute, _ arena: Arena) -> UnsafeMutablePointer<Onnx__AttributeProto> {
        let p = arena.message(Onnx__AttributeProto.self, onnx__attribute_proto__init)
        p.pointee.name = arena.string(a.name)
        p.pointee.has_type = 1
        switch a.value {
        case .int(let v):
            p.pointee.type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT
            p.pointee.has_i = 1
            p.pointee.i = v
        case .float(let v):
            p.pointee.type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT
            p.pointee.has_f = 1
            p.pointee.f = v
        case .ints(let v):
            p.pointee.type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS
            (p.pointee.n_ints, p.pointee.ints) = arena.array(v)
        case .string(let s):
            p.pointee.type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING
            p.pointee.has_s = 1
            p.pointee.s = arena.binary(Array(s.utf8))
        case .tensor(let t):
            p.pointee.type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR
            p.pointee.t = tensor(t, arena)
        }
        return p
    }

    static func tensor(_ t: Onnx.Tensor, _ arena: Arena) -> UnsafeMutablePointer<Onnx__TensorProto> {
        let p = arena.message(Onnx__TensorProto.self, onnx__tensor_proto__init)
        (p.pointee.n_dims, p.pointee.dims) = arena.array(t.dims)
        p.pointee.has_data_type = 1
        p.pointee.data_type = t.dataType.rawValue
        p.pointee.name = arena.string(t.name)
        p.pointee.has_raw_data = 1
        p.pointee.raw_data = arena.binary(t.raw)
        return p
    }

    static func valueInfo(_ v: Onnx.ValueInfo, _ arena: Arena) -> UnsafeMutablePointer<Onnx__ValueInfoProto> {
        let dims = v.dims.map { d -> UnsafeMutablePointer<Onnx__TensorShapeProto__Dimension> in
            let p = arena.message(Onnx__TensorShapeProto__Dimension.self, onnx__tensor_shape_proto__dimension__init)
            switch d {
            case .value(let n):
                p.pointee.value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE
                p.pointee.dim_value = n
            case .param(let s):
                p.pointee.value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM
                p.pointee.dim_param = arena.string(s)
            }
            return p
        }
        let shape = arena.message(Onnx__TensorShapeProto.self, onnx__tensor_shape_proto__init)
        (shape.pointee.n_dim, shape.pointee.dim) = arena.refs(dims)
        let tt = arena.message(Onnx__TypeProto__Tensor.self, onnx__type_proto__tensor__init)
        tt.pointee.has_elem_type = 1
        tt.pointee.elem_type = v.elementType.rawValue
        tt.pointee.shape = shape
        let type = arena.message(Onnx__TypeProto.self, onnx__type_proto__init)
        type.pointee.value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE
        type.pointee.tensor_type = tt
        let p = arena.message(Onnx__ValueInfoProto.self, onnx__value_info_proto__init)
        p.pointee.name = arena.string(v.name)
        p.pointee.type = type
        return p
    }

    /// Owns the C memory of one encoding.
    final class Arena {
        private var blocks: [UnsafeMutableRawPointer] = []

        func raw(_ bytes: Int) -> UnsafeMutableRawPointer {
            let p = malloc(max(1, bytes))!
            blocks.append(p)
            return p
        }

        func message<T>(_: T.Type, _ initialize: (UnsafeMutablePointer<T>?) -> Void) -> UnsafeMutablePointer<T> {
            let p = raw(MemoryLayout<T>.stride).bindMemory(to: T.self, capacity: 1)
            initialize(p)
            return p
        }

        func string(_ s: String) -> UnsafeMutablePointer<CChar> {
            let utf8 = Array(s.utf8)
            let p = raw(utf8.count + 1).bindMemory(to: CChar.self, capacity: utf8.count + 1)
            for (i, b) in utf8.enumerated() { p[i] = CChar(bitPattern: b) }
            p[utf8.count] = 0
            return p
        }

        func binary(_ bytes: [UInt8]) -> ProtobufCBinaryData {
            let p = raw(bytes.count)
            bytes.withUnsafeBytes { if let b = $0.baseAddress { p.copyMemory(from: b, byteCount: bytes.count) } }
            return ProtobufCBinaryData(len: bytes.count, data: p.assumingMemoryBound(to: UInt8.self))
        }

        func array<T>(_ xs: [T]) -> (Int, UnsafeMutablePointer<T>?) {
            guard !xs.isEmpty else { return (0, nil) }
            let p = raw(MemoryLayout<T>.stride * xs.count).bindMemory(to: T.self, capacity: xs.count)
            p.initialize(from: xs, count: xs.count)
            return (xs.count, p)
        }

        func refs<T>(_ xs: [UnsafeMutablePointer<T>]) -> (Int, UnsafeMutablePointer<UnsafeMutablePointer<T>?>?) {
            array(xs.map { Optional($0) })
        }

        func freeAll() {
            for b in blocks { free(b) }
            blocks.removeAll()
        }
    }
}
