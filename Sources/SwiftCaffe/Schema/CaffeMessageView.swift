/// A field of one generated message view (`Caffe.ConvolutionParameter.Field`),
/// its raw value the field's number in the schema.
public protocol CaffeField: RawRepresentable, CaseIterable, Sendable where RawValue == Int32 {
    /// The message the field belongs to.
    static var schema: MessageSchema { get }
}

extension CaffeField {
    /// The field's description in the schema.
    public var fieldSchema: FieldSchema {
        guard let f = Self.schema.field(number: rawValue) else {
            fatalError("SwiftCaffe bug: \(Self.schema.name) has no field \(rawValue); run `make proto`")
        }
        return f
    }

    /// The field's name as written in prototxt files ("kernel_size").
    public var name: String { fieldSchema.name }
}

/// An enum of the schema as a Swift enum (`Caffe.PoolingParameter.PoolMethod`),
/// its raw value the enum value's number.
public protocol CaffeEnum: RawRepresentable, CaseIterable, Sendable, Hashable where RawValue == Int32 {
    /// The value's name in the schema and in prototxt files ("MAX").
    var name: String { get }
}

extension CaffeEnum {
    /// The value for a number a reader accepted. Both readers refuse a number
    /// the enum does not declare, so an unknown one here is a SwiftCaffe bug.
    init(number: Int32) {
        guard let v = Self(rawValue: number) else {
            fatalError("SwiftCaffe bug: \(number) is not a value of \(Self.self)")
        }
        self = v
    }

    /// The value named `name` in the schema ("MAX"), or nil.
    public init?(name: String) {
        guard let v = Self.allCases.first(where: { $0.name == name }) else { return nil }
        self = v
    }

    /// As a field value.
    public var protoValue: ProtoValue { .enumValue(rawValue) }
}

/// A typed view of one Caffe message (generated into `Caffe`): a property per
/// field with the schema's default when unset, over the `ProtoMessage` that
/// keeps what was written and where.
public protocol CaffeMessageView: Sendable {
    associatedtype Field: CaffeField
    static var schema: MessageSchema { get }
    var message: ProtoMessage { get set }
    init(_ message: ProtoMessage)
}

extension CaffeMessageView {
    /// An empty message: every field at its default.
    public init() { self.init(ProtoMessage(Self.schema)) }

    /// An empty message that reports `location` as where it starts (one an
    /// upgrade makes in place of what a file wrote there).
    public init(at location: SourceLocation?) { self.init(ProtoMessage(Self.schema, location: location)) }

    /// Whether the file sets the field (a repeated field: at least one value).
    public func has(_ f: Field) -> Bool { message.has(f) }

    /// Where the field's `i`-th value was written, else where the message starts.
    public func location(of f: Field, at i: Int = 0) -> SourceLocation? { message.location(of: f, at: i) }

    /// Where the message starts.
    public var location: SourceLocation? { message.location }

    /// The values a field holds, as written.
    public func values(_ f: Field) -> [ProtoValue] { message.values(f) }

    public mutating func set(_ f: Field, _ v: ProtoValue, at loc: SourceLocation? = nil) { message.set(f, v, at: loc) }
    public mutating func set(_ f: Field, values vs: [ProtoValue]) { message.set(f, values: vs) }
    public mutating func append(_ f: Field, _ v: ProtoValue, at loc: SourceLocation? = nil) { message.append(f, v, at: loc) }
    public mutating func clear(_ f: Field) { message.clear(f) }

    /// Changes a nested message through its view, creating it when unset.
    public mutating func update<V: CaffeMessageView>(_ f: Field, as type: V.Type, _ body: (inout V) -> Void) {
        message.update(f, as: type, body)
    }
}

/// One generated view's fields by name and number, so a test can hold every
/// view against the schema the readers use (`Caffe.allViews`).
public struct CaffeViewInfo: Sendable {
    public let schema: MessageSchema
    public let fieldNumbers: [String: Int32]

    public init<V: CaffeMessageView>(_: V.Type) {
        schema = V.schema
        fieldNumbers = Dictionary(uniqueKeysWithValues: V.Field.allCases.map { ($0.name, $0.rawValue) })
    }
}
