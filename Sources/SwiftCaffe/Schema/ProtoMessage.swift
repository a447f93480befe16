/// A position in a source file, 1-based.
public struct SourceLocation: Sendable, Equatable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var column: Int

    public init(file: String, line: Int, column: Int) {
        self.file = file
        self.line = line
        self.column = column
    }

    public var description: String { "\(file):\(line):\(column)" }
}

/// One value of a field. Integers keep their sign class; floats are held as
/// Double but rounded to Float when the field is a float, so a value compares
/// equal after a print/parse round trip.
public enum ProtoValue: Sendable, Equatable {
    case int(Int64)
    case uint(UInt64)
    case float(Double)
    case bool(Bool)
    case string(String)
    case bytes([UInt8])
    case enumValue(Int32)
    case message(ProtoMessage)

    public var asInt: Int? {
        switch self {
        case .int(let v): return Int(v)
        case .uint(let v): return Int(clamping: v)
        case .enumValue(let v): return Int(v)
        default: return nil
        }
    }

    public var asDouble: Double? {
        switch self {
        case .float(let v): return v
        case .int(let v): return Double(v)
        case .uint(let v): return Double(v)
        default: return nil
        }
    }
}

/// A field's values and where each was written.
public struct FieldEntry: Sendable {
    public let field: FieldSchema
    public var values: [ProtoValue]
    public var locations: [SourceLocation?]
}

/// A Caffe message as read from a file: its schema, each set field's values in
/// the order written, and source locations for error messages. Typed model
/// values (`NetParameter`, `LayerParameter`, ...) are decoded from it.
public struct ProtoMessage: Sendable, Equatable {
    public let schema: MessageSchema
    /// Set fields, in the order each was first written.
    public private(set) var entries: [FieldEntry] = []
    /// Where the message starts (its field name, or 1:1 for a file).
    public var location: SourceLocation?

    public init(_ schema: MessageSchema, location: SourceLocation? = nil) {
        self.schema = schema
        self.location = location
    }

    // MARK: reading, by a generated view's field

    public func has<F: CaffeField>(_ f: F) -> Bool { index(of: field(f)) != nil }

    public func values<F: CaffeField>(_ f: F) -> [ProtoValue] { values(field(f)) }

    /// Where the field's `i`-th value was written, else where the message starts.
    public func location<F: CaffeField>(of f: F, at i: Int = 0) -> SourceLocation? { location(of: field(f), at: i) }

    public func entry<F: CaffeField>(_ f: F) -> FieldEntry? { index(of: field(f)).map { entries[$0] } }

    // Typed reads for the generated views: the last value written (protobuf's
    // rule for a singular field), else the schema's default.

    func int<F: CaffeField>(_ f: F) -> Int { single(f).asInt ?? 0 }
    func ints<F: CaffeField>(_ f: F) -> [Int] { values(f).compactMap(\.asInt) }
    func double<F: CaffeField>(_ f: F) -> Double { single(f).asDouble ?? 0 }
    func doubles<F: CaffeField>(_ f: F) -> [Double] { values(f).compactMap(\.asDouble) }

    func bool<F: CaffeField>(_ f: F) -> Bool {
        if case .bool(let b) = single(f) { return b }
        return false
    }

    func bools<F: CaffeField>(_ f: F) -> [Bool] {
        values(f).compactMap { if case .bool(let b) = $0 { return b } else { return nil } }
    }

    func string<F: CaffeField>(_ f: F) -> String {
        if case .string(let s) = single(f) { return s }
        return ""
    }

    func strings<F: CaffeField>(_ f: F) -> [String] {
        values(f).compactMap { if case .string(let s) = $0 { return s } else { return nil } }
    }

    func bytes<F: CaffeField>(_ f: F) -> [UInt8] {
        if case .bytes(let b) = single(f) { return b }
        return []
    }

    func bytesValues<F: CaffeField>(_ f: F) -> [[UInt8]] {
        values(f).compactMap { if case .bytes(let b) = $0 { return b } else { return nil } }
    }

    func enumNumber<F: CaffeField>(_ f: F) -> Int32 {
        if case .enumValue(let n) = single(f) { return n }
        return 0
    }

    func enumNumbers<F: CaffeField>(_ f: F) -> [Int32] {
        values(f).compactMap { if case .enumValue(let n) = $0 { return n } else { return nil } }
    }

    /// A nested message, empty (all defaults) when unset, as protobuf reads it.
    func message<F: CaffeField>(_ f: F) -> ProtoMessage {
        if case .message(let m) = single(f) { return m }
        return ProtoMessage(field(f).messageSchema, location: location)
    }

    func messages<F: CaffeField>(_ f: F) -> [ProtoMessage] {
        values(f).compactMap { if case .message(let m) = $0 { return m } else { return nil } }
    }

    private func single<F: CaffeField>(_ f: F) -> ProtoValue {
        let fs = field(f)
        return values(fs).last ?? fs.effectiveDefault
    }

    // MARK: reading, by the schema's field

    public func has(_ f: FieldSchema) -> Bool { index(of: f) != nil }

    public func values(_ f: FieldSchema) -> [ProtoValue] {
        guard let i = index(of: f) else { return [] }
        return entries[i].values
    }

    public func location(of f: FieldSchema, at i: Int = 0) -> SourceLocation? {
        guard let e = index(of: f) else { return location }
        let locs = entries[e].locations
        return (i < locs.count ? locs[i] : locs.last ?? nil) ?? location
    }

    public func entry(_ f: FieldSchema) -> FieldEntry? { index(of: f).map { entries[$0] } }

    // MARK: writing

    public mutating func append<F: CaffeField>(_ f: F, _ v: ProtoValue, at loc: SourceLocation? = nil) {
        append(field: field(f), v, at: loc)
    }

    public mutating func append(field f: FieldSchema, _ v: ProtoValue, at loc: SourceLocation? = nil) {
        if let i = index(of: f) {
            if f.isRepeated {
                entries[i].values.append(v)
                entries[i].locations.append(loc)
            } else {
                entries[i].values = [v]
                entries[i].locations = [loc]
            }
        } else {
            entries.append(FieldEntry(field: f, values: [v], locations: [loc]))
        }
    }

    public mutating func set<F: CaffeField>(_ f: F, _ v: ProtoValue, at loc: SourceLocation? = nil) {
        clear(f)
        append(f, v, at: loc)
    }

    /// Replaces a field's values; each keeps the source location of the value it replaces.
    public mutating func set<F: CaffeField>(_ f: F, values vs: [ProtoValue]) {
        set(field: field(f), values: vs)
    }

    public mutating func set(field f: FieldSchema, values vs: [ProtoValue]) {
        let old = entry(f)?.locations ?? []
        clear(field: f)
        for (i, v) in vs.enumerated() { append(field: f, v, at: i < old.count ? old[i] : nil) }
    }

    /// Sets a field to another message's entry for a field of the same name and kind.
    public mutating func set(field f: FieldSchema, entry: FieldEntry) {
        clear(field: f)
        entries.append(FieldEntry(field: f, values: entry.values, locations: entry.locations))
    }

    public mutating func clear<F: CaffeField>(_ f: F) { clear(field: field(f)) }

    public mutating func clear(field f: FieldSchema) { entries.removeAll { $0.field === f } }

    /// Changes a nested message in place, creating it when unset.
    public mutating func update<F: CaffeField>(_ f: F, _ body: (inout ProtoMessage) -> Void) {
        var m = message(f)
        body(&m)
        set(f, .message(m), at: location(of: f))
    }

    /// Changes a nested message through its view, creating it when unset.
    public mutating func update<V: CaffeMessageView, F: CaffeField>(_ f: F, as _: V.Type, _ body: (inout V) -> Void) {
        var v = V(message(f))
        body(&v)
        set(f, .message(v.message), at: location(of: f))
    }

    /// Entries in field-number order, as Caffe's printer writes them.
    public var entriesByNumber: [FieldEntry] {
        entries.sorted { $0.field.number < $1.field.number }
    }

    private func field<F: CaffeField>(_ f: F) -> FieldSchema {
        precondition(F.schema === schema, "SwiftCaffe bug: a field of \(F.schema.name) read from \(schema.name)")
        return f.fieldSchema
    }

    private func index(of f: FieldSchema) -> Int? { entries.firstIndex { $0.field === f } }

    /// Equal when the same fields hold the same values; order across
    /// different fields and source locations do not matter.
    public static func == (a: ProtoMessage, b: ProtoMessage) -> Bool {
        guard a.schema === b.schema, a.entries.count == b.entries.count else { return false }
        for e in a.entries {
            guard let o = b.entries.first(where: { $0.field === e.field }), o.values == e.values else { return false }
        }
        return true
    }
}
