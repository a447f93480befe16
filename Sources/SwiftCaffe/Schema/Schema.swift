import CProtobufC
import CaffeSchema

/// The scalar kind of a field, as the text format and the typed model see it.
public enum FieldKind: Sendable, Equatable {
    case int32, int64, uint32, uint64, float, double, bool, string, bytes
    case enumeration(EnumSchema)
    case message(MessageSchema)

    /// The name used in error messages ("int32", "enum Phase", "message BlobShape").
    public var displayName: String {
        switch self {
        case .int32: return "int32"
        case .int64: return "int64"
        case .uint32: return "uint32"
        case .uint64: return "uint64"
        case .float: return "float"
        case .double: return "double"
        case .bool: return "bool"
        case .string: return "string"
        case .bytes: return "bytes"
        case .enumeration(let e): return "enum \(e.name)"
        case .message(let m): return "message \(m.name)"
        }
    }

    public static func == (a: FieldKind, b: FieldKind) -> Bool {
        switch (a, b) {
        case (.enumeration(let x), .enumeration(let y)): return x === y
        case (.message(let x), .message(let y)): return x === y
        default: return a.displayName == b.displayName
        }
    }
}

public enum FieldLabel: Sendable { case required, optional, repeated }

/// One enum of Caffe's schema, read from protobuf-c's generated descriptor.
public final class EnumSchema: @unchecked Sendable {
    public let name: String
    /// Values in declaration order.
    public let values: [(name: String, number: Int32)]

    init(_ d: UnsafePointer<ProtobufCEnumDescriptor>) {
        name = String(cString: d.pointee.short_name)
        values = (0..<Int(d.pointee.n_values)).map { i in
            let v = d.pointee.values[i]
            return (String(cString: v.name), Int32(v.value))
        }
    }

    public func number(named n: String) -> Int32? { values.first { $0.name == n }?.number }
    public func name(of number: Int32) -> String? { values.first { $0.number == number }?.name }
}

/// One field of a message: name, number, label, kind and Caffe's default.
public final class FieldSchema: @unchecked Sendable {
    public let name: String
    public let number: Int32
    public let label: FieldLabel
    public fileprivate(set) var kind: FieldKind = .bool
    /// Caffe's declared default, or nil when the field declares none.
    public fileprivate(set) var defaultValue: ProtoValue?
    /// Where protobuf-c keeps this field inside the generated C struct.
    let cDescriptor: UnsafePointer<ProtobufCFieldDescriptor>

    init(_ d: UnsafePointer<ProtobufCFieldDescriptor>) {
        cDescriptor = d
        name = String(cString: d.pointee.name)
        number = Int32(bitPattern: d.pointee.id)
        switch d.pointee.label {
        case PROTOBUF_C_LABEL_REQUIRED: label = .required
        case PROTOBUF_C_LABEL_REPEATED: label = .repeated
        default: label = .optional
        }
    }

    public var isRepeated: Bool { label == .repeated }
    public var isMessage: Bool { if case .message = kind { return true } else { return false } }

    /// The nested message's schema; only for a message field.
    var messageSchema: MessageSchema {
        guard case .message(let m) = kind else { fatalError("SwiftCaffe bug: \(name) is not a message field") }
        return m
    }

    /// The value a reader sees when the field is absent: the declared default,
    /// else protobuf's zero value for the kind.
    public var effectiveDefault: ProtoValue {
        if let d = defaultValue { return d }
        switch kind {
        case .int32, .int64: return .int(0)
        case .uint32, .uint64: return .uint(0)
        case .float, .double: return .float(0)
        case .bool: return .bool(false)
        case .string: return .string("")
        case .bytes: return .bytes([])
        case .enumeration(let e): return .enumValue(e.values.first?.number ?? 0)
        case .message(let m): return .message(ProtoMessage(m))
        }
    }
}

/// One message of Caffe's schema. Built once from protobuf-c's descriptors, so
/// every field name, number, type, enum value and default comes from the
/// generated code and is never written a second time by hand.
public final class MessageSchema: @unchecked Sendable {
    public let name: String
    public let fullName: String
    public fileprivate(set) var fields: [FieldSchema] = []
    private var byName: [String: FieldSchema] = [:]
    private var byNumber: [Int32: FieldSchema] = [:]
    let cDescriptor: UnsafePointer<ProtobufCMessageDescriptor>

    init(_ d: UnsafePointer<ProtobufCMessageDescriptor>) {
        cDescriptor = d
        name = String(cString: d.pointee.short_name)
        fullName = String(cString: d.pointee.name)
    }

    public func field(named n: String) -> FieldSchema? { byName[n] }
    public func field(number: Int32) -> FieldSchema? { byNumber[number] }

    fileprivate func finish(fields fs: [FieldSchema]) {
        fields = fs
        for f in fs {
            byName[f.name] = f
            byNumber[f.number] = f
        }
    }
}

/// The registry of Caffe's messages, built from the generated descriptors.
public enum CaffeSchema {
    public static let netParameter = registry.schema(for: caffe_root_net_parameter())
    public static let solverParameter = registry.schema(for: caffe_root_solver_parameter())
    public static let solverState = registry.schema(for: caffe_root_solver_state())
    public static let blobProto = registry.schema(for: caffe_root_blob_proto())
    public static let blobProtoVector = registry.schema(for: caffe_root_blob_proto_vector())
    public static let datum = registry.schema(for: caffe_root_datum())

    public static var layerParameter: MessageSchema { message("LayerParameter") }
    public static var v1LayerParameter: MessageSchema { message("V1LayerParameter") }

    /// A message by its short name ("ConvolutionParameter").
    public static func message(_ shortName: String) -> MessageSchema {
        _ = (netParameter, solverParameter, solverState, blobProtoVector, datum)
        guard let m = registry.byShortName(shortName) else {
            fatalError("SwiftCaffe bug: no message \(shortName) in the schema")
        }
        return m
    }

    /// Every message reachable from the roots.
    public static var allMessages: [MessageSchema] {
        _ = (netParameter, solverParameter, solverState, blobProtoVector, datum)
        return registry.all()
    }

    private static let registry = Registry()

    private final class Registry: @unchecked Sendable {
        private var cache: [UnsafeRawPointer: MessageSchema] = [:]
        private var enums: [UnsafeRawPointer: EnumSchema] = [:]
        private let lock = NSLockLite()

        func schema(for d: UnsafePointer<ProtobufCMessageDescriptor>) -> MessageSchema {
            lock.locked { build(d) }
        }

        func byShortName(_ n: String) -> MessageSchema? {
            lock.locked { cache.values.first { $0.name == n } }
        }

        func all() -> [MessageSchema] {
            lock.locked { cache.values.sorted { $0.name < $1.name } }
        }

        private func build(_ d: UnsafePointer<ProtobufCMessageDescriptor>) -> MessageSchema {
            if let m = cache[UnsafeRawPointer(d)] { return m }
            let m = MessageSchema(d)
            cache[UnsafeRawPointer(d)] = m
            var fs: [FieldSchema] = []
            for i in 0..<Int(d.pointee.n_fields) {
                let fd = d.pointee.fields.advanced(by: i)
                let f = FieldSchema(fd)
                f.kind = kind(of: fd)
                f.defaultValue = defaultValue(of: fd, kind: f.kind)
                fs.append(f)
            }
            m.finish(fields: fs)
            return m
        }

        private func kind(of fd: UnsafePointer<ProtobufCFieldDescriptor>) -> FieldKind {
            switch fd.pointee.type {
            case PROTOBUF_C_TYPE_INT32, PROTOBUF_C_TYPE_SINT32, PROTOBUF_C_TYPE_SFIXED32: return .int32
            case PROTOBUF_C_TYPE_INT64, PROTOBUF_C_TYPE_SINT64, PROTOBUF_C_TYPE_SFIXED64: return .int64
            case PROTOBUF_C_TYPE_UINT32, PROTOBUF_C_TYPE_FIXED32: return .uint32
            case PROTOBUF_C_TYPE_UINT64, PROTOBUF_C_TYPE_FIXED64: return .uint64
            case PROTOBUF_C_TYPE_FLOAT: return .float
            case PROTOBUF_C_TYPE_DOUBLE: return .double
            case PROTOBUF_C_TYPE_BOOL: return .bool
            case PROTOBUF_C_TYPE_STRING: return .string
            case PROTOBUF_C_TYPE_BYTES: return .bytes
            case PROTOBUF_C_TYPE_ENUM:
                let ed = fd.pointee.descriptor.assumingMemoryBound(to: ProtobufCEnumDescriptor.self)
                if let e = enums[UnsafeRawPointer(ed)] { return .enumeration(e) }
                let e = EnumSchema(ed)
                enums[UnsafeRawPointer(ed)] = e
                return .enumeration(e)
            default:
                let md = fd.pointee.descriptor.assumingMemoryBound(to: ProtobufCMessageDescriptor.self)
                return .message(build(md))
            }
        }

        private func defaultValue(of fd: UnsafePointer<ProtobufCFieldDescriptor>, kind: FieldKind) -> ProtoValue? {
            guard let p = fd.pointee.default_value else { return nil }
            switch kind {
            case .int32: return .int(Int64(p.load(as: Int32.self)))
            case .int64: return .int(p.load(as: Int64.self))
            case .uint32: return .uint(UInt64(p.load(as: UInt32.self)))
            case .uint64: return .uint(p.load(as: UInt64.self))
            case .float: return .float(Double(p.load(as: Float.self)))
            case .double: return .float(p.load(as: Double.self))
            case .bool: return .bool(p.load(as: Int32.self) != 0)
            case .string: return .string(String(cString: p.assumingMemoryBound(to: CChar.self)))
            case .enumeration: return .enumValue(p.load(as: Int32.self))
            case .bytes, .message: return nil
            }
        }
    }
}
