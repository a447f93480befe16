import CProtobufC
import Foundation
import OnnxSchema

/// An ONNX model as export-onnx builds it: nodes in order, weights as
/// initializers, typed inputs and outputs; `serialized()` packs it as a
/// ModelProto (Proto/onnx.proto) with protobuf-c, which writes fields in
/// number order, so the same model gives the same bytes.
struct OnnxModel {
    struct Node {
        var op: String
        var name: String
        var inputs: [String]
        var outputs: [String]
        var attributes: [Attribute] = []
    }

    enum Attribute {
        case int(String, Int)
        case ints(String, [Int])
        case float(String, Float)
        case floats(String, [Float])
        case string(String, String)
    }

    /// A constant: float32 or int64 values, little-endian raw bytes.
    struct Tensor {
        enum Values { case float([Float]), int64([Int]) }
        var name: String
        var dims: [Int]
        var values: Values
    }

    /// A graph input or output; a nil dimension is free, named "N" (the
    /// batch) unless `freeNames` names it.
    struct Value {
        var name: String
        var dims: [Int?]
        var freeNames: [Int: String] = [:]
    }

    var graphName: String
    var opset: Int
    var nodes: [Node] = []
    var initializers: [Tensor] = []
    var inputs: [Value] = []
    var outputs: [Value] = []
    var metadata: [(String, String)] = []

    /// The IR version that goes with the operator set (ONNX's release table).
    var irVersion: Int {
        switch opset {
        case ...14: return 7
        case 15...18: return 8
        case 19...20: return 9
        default: return 10
        }
    }

    func serialized() -> [UInt8] {
        let arena = CMessageArena()
        func messages<T>(_ xs: [T], _ make: (T) -> UnsafeMutableRawPointer) -> UnsafeMutablePointer<UnsafeMutableRawPointer?> {
            let p = arena.array(xs.count, of: UnsafeMutableRawPointer?.self)
            for (i, x) in xs.enumerated() { p[i] = make(x) }
            return p
        }
        func tensor(_ t: Tensor) -> UnsafeMutablePointer<Onnx__TensorProto> {
            let m = arena.array(1, of: Onnx__TensorProto.self)
            onnx__tensor_proto__init(m)
            m.pointee.name = arena.cString(t.name)
            (m.pointee.n_dims, m.pointee.dims) = arena.int64s(t.dims)
            m.pointee.has_data_type = 1
            let bytes: UnsafeMutableRawPointer, count: Int
            switch t.values {
            case .float(let v):
                m.pointee.data_type = Int32(ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT.rawValue)
                let p = arena.array(v.count, of: Float.self)
                for (i, x) in v.enumerated() { p[i] = x }
                (bytes, count) = (UnsafeMutableRawPointer(p), v.count * 4)
            case .int64(let v):
                m.pointee.data_type = Int32(ONNX__TENSOR_PROTO__DATA_TYPE__INT64.rawValue)
                let (_, p) = arena.int64s(v)
                (bytes, count) = (UnsafeMutableRawPointer(p), v.count * 8)
            }
            m.pointee.has_raw_data = 1
            m.pointee.raw_data = ProtobufCBinaryData(len: count, data: bytes.assumingMemoryBound(to: UInt8.self))
            return m
        }
        func attribute(_ a: Attribute) -> UnsafeMutableRawPointer {
            let m = arena.array(1, of: Onnx__AttributeProto.self)
            onnx__attribute_proto__init(m)
            m.pointee.has_type = 1
            switch a {
            case .int(let n, let v):
                m.pointee.name = arena.cString(n)
                m.pointee.type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT
                (m.pointee.has_i, m.pointee.i) = (1, Int64(v))
            case .ints(let n, let v):
                m.pointee.name = arena.cString(n)
                m.pointee.type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS
                (m.pointee.n_ints, m.pointee.ints) = arena.int64s(v)
            case .float(let n, let v):
                m.pointee.name = arena.cString(n)
                m.pointee.type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT
                (m.pointee.has_f, m.pointee.f) = (1, v)
            case .floats(let n, let v):
                m.pointee.name = arena.cString(n)
                m.pointee.type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS
                let p = arena.array(v.count, of: Float.self)
                for (i, x) in v.enumerated() { p[i] = x }
                (m.pointee.n_floats, m.pointee.floats) = (v.count, p)
            case .string(let n, let v):
                m.pointee.name = arena.cString(n)
                m.pointee.type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING
                let c = arena.cString(v)
                (m.pointee.has_s, m.pointee.s) = (1, ProtobufCBinaryData(len: strlen(c), data: UnsafeMutableRawPointer(c).assumingMemoryBound(to: UInt8.self)))
            }
            return UnsafeMutableRawPointer(m)
        }
        func node(_ n: Node) -> UnsafeMutableRawPointer {
            let m = arena.array(1, of: Onnx__NodeProto.self)
            onnx__node_proto__init(m)
            m.pointee.name = arena.cString(n.name)
            m.pointee.op_type = arena.cString(n.op)
            (m.pointee.n_input, m.pointee.input) = (n.inputs.count, arena.strings(n.inputs))
            (m.pointee.n_output, m.pointee.output) = (n.outputs.count, arena.strings(n.outputs))
            m.pointee.n_attribute = n.attributes.count
            m.pointee.attribute = messages(n.attributes, attribute).withMemoryRebound(to: UnsafeMutablePointer<Onnx__AttributeProto>?.self, capacity: max(1, n.attributes.count)) { $0 }
            return UnsafeMutableRawPointer(m)
        }
        func value(_ v: Value) -> UnsafeMutableRawPointer {
            let dims = messages(Array(v.dims.enumerated())) { i, d -> UnsafeMutableRawPointer in
                let m = arena.array(1, of: Onnx__TensorShapeProto__Dimension.self)
                onnx__tensor_shape_proto__dimension__init(m)
                if let d {
                    m.pointee.value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE
                    m.pointee.dim_value = Int64(d)
                } else {
                    m.pointee.value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM
                    m.pointee.dim_param = arena.cString(v.freeNames[i] ?? "N")
                }
                return UnsafeMutableRawPointer(m)
            }
            let shape = arena.array(1, of: Onnx__TensorShapeProto.self)
            onnx__tensor_shape_proto__init(shape)
            shape.pointee.n_dim = v.dims.count
            shape.pointee.dim = dims.withMemoryRebound(to: UnsafeMutablePointer<Onnx__TensorShapeProto__Dimension>?.self, capacity: max(1, v.dims.count)) { $0 }
            let tensorType = arena.array(1, of: Onnx__TypeProto__Tensor.self)
            onnx__type_proto__tensor__init(tensorType)
            (tensorType.pointee.has_elem_type, tensorType.pointee.elem_type) = (1, Int32(ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT.rawValue))
            tensorType.pointee.shape = shape
            let type = arena.array(1, of: Onnx__TypeProto.self)
            onnx__type_proto__init(type)
            type.pointee.value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE
            type.pointee.tensor_type = tensorType
            let m = arena.array(1, of: Onnx__ValueInfoProto.self)
            onnx__value_info_proto__init(m)
            m.pointee.name = arena.cString(v.name)
            m.pointee.type = type
            return UnsafeMutableRawPointer(m)
        }
        func rebound<T>(_ p: UnsafeMutablePointer<UnsafeMutableRawPointer?>, _: T.Type, _ n: Int) -> UnsafeMutablePointer<UnsafeMutablePointer<T>?> {
            p.withMemoryRebound(to: UnsafeMutablePointer<T>?.self, capacity: max(1, n)) { $0 }
        }

        let graph = arena.array(1, of: Onnx__GraphProto.self)
        onnx__graph_proto__init(graph)
        graph.pointee.name = arena.cString(graphName)
        (graph.pointee.n_node, graph.pointee.node) = (nodes.count, rebound(messages(nodes, node), Onnx__NodeProto.self, nodes.count))
        graph.pointee.n_initializer = initializers.count
        graph.pointee.initializer = rebound(messages(initializers) { UnsafeMutableRawPointer(tensor($0)) }, Onnx__TensorProto.self, initializers.count)
        (graph.pointee.n_input, graph.pointee.input) = (inputs.count, rebound(messages(inputs, value), Onnx__ValueInfoProto.self, inputs.count))
        (graph.pointee.n_output, graph.pointee.output) = (outputs.count, rebound(messages(outputs, value), Onnx__ValueInfoProto.self, outputs.count))

        let opsetID = arena.array(1, of: Onnx__OperatorSetIdProto.self)
        onnx__operator_set_id_proto__init(opsetID)
        opsetID.pointee.domain = arena.cString("")
        (opsetID.pointee.has_version, opsetID.pointee.version) = (1, Int64(opset))
        let opsets = arena.array(1, of: UnsafeMutablePointer<Onnx__OperatorSetIdProto>?.self)
        opsets[0] = opsetID

        let model = arena.array(1, of: Onnx__ModelProto.self)
        onnx__model_proto__init(model)
        (model.pointee.has_ir_version, model.pointee.ir_version) = (1, Int64(irVersion))
        (model.pointee.n_opset_import, model.pointee.opset_import) = (1, opsets)
        model.pointee.producer_name = arena.cString("SwiftCaffe")
        model.pointee.producer_version = arena.cString(SwiftCaffeVersion.string)
        model.pointee.graph = graph
        model.pointee.n_metadata_props = metadata.count
        model.pointee.metadata_props = rebound(messages(metadata) { kv -> UnsafeMutableRawPointer in
            let m = arena.array(1, of: Onnx__StringStringEntryProto.self)
            onnx__string_string_entry_proto__init(m)
            (m.pointee.key, m.pointee.value) = (arena.cString(kv.0), arena.cString(kv.1))
            return UnsafeMutableRawPointer(m)
        }, Onnx__StringStringEntryProto.self, metadata.count)

        let size = onnx__model_proto__get_packed_size(model)
        var out = [UInt8](repeating: 0, count: size)
        _ = out.withUnsafeMutableBufferPointer { onnx__model_proto__pack(model, $0.baseAddress) }
        return out
    }
}
