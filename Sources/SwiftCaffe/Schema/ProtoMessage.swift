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

    // MARK: reading

    public func has(_ name: String) -> Bool { index(of: name) != nil }

    public func values(_ name: String) -> [ProtoValue] {
        guard let i = index(of: name) else { return [] }
        return entries[i].values
    }

    /// The field's single value, or nil when unset.
    public func value(_ name: String) -> ProtoValue? { values(name).last }

    public func location(of name: String, at i: Int = 0) -> SourceLocation? {
        guard let e = index(of: name) else { return location }
        let locs = entries[e].locations
        return (i < locs.count ? locs[i] : locs.last ?? nil) ?? location
    }

    public func message(_ name: String) -> ProtoMessage? {
        if case .message(let m)? = value(name) { return m }
        return nil
    }

    public func messages(_ name: String) -> [ProtoMessage] {
        values(name).compactMap { if case .message(let m) = $0 { return m } else { return nil } }
    }

    public func strings(_ name: String) -> [String] {
        values(name).compactMap { if case .string(let s) = $0 { return s } else { return nil } }
    }

    public func string(_ name: String) -> String {
        if case .string(let s) = value(name) ?? schema.require(name).effectiveDefault { return s }
        return ""
    }

    public func int(_ name: String) -> Int {
        (value(name) ?? schema.require(name).effectiveDefault).asInt ?? 0
    }

    public func ints(_ name: String) -> [Int] { values(name).compactMap(\.asInt) }

    public func float(_ name: String) -> Double {
        (value(name) ?? schema.require(name).effectiveDefault).asDouble ?? 0
    }

    public func floats(_ name: String) -> [Double] { values(name).compactMap(\.asDouble) }

    public func bool(_ name: String) -> Bool {
        if case .bool(let b) = value(name) ?? schema.require(name).effectiveDefault { return b }
        return false
    }

    /// An enum field's value name ("MAX"), with the declared default when unset.
    public func enumName(_ name: String) -> String {
        let f = schema.require(name)
        guard case .enumeration(let e) = f.kind,
              case .enumValue(let n) = value(name) ?? f.effectiveDefault
        else { return "" }
        return e.name(of: n) ?? String(n)
    }

    // MARK: writing

    public mutating func append(_ name: String, _ v: ProtoValue, at loc: SourceLocation? = nil) {
        append(field: schema.require(name), v, at: loc)
    }

    public mutating func append(field f: FieldSchema, _ v: ProtoValue, at loc: SourceLocation? = nil) {
        if let i = entries.firstIndex(where: { $0.field === f }) {
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

    public mutating func set(_ name: String, _ v: ProtoValue, at loc: SourceLocation? = nil) {
        clear(name)
        append(name, v, at: loc)
    }

    /// Replaces a field's values; each keeps the source location of the value it replaces.
    public mutating func set(_ name: String, values vs: [ProtoValue]) {
        let old = entry(name)?.locations ?? []
        clear(name)
        for (i, v) in vs.enumerated() { append(name, v, at: i < old.count ? old[i] : nil) }
    }

    public mutating func set(_ name: String, entry: FieldEntry) {
        clear(name)
        entries.append(FieldEntry(field: schema.require(name), values: entry.values, locations: entry.locations))
    }

    public mutating func clear(_ name: String) {
        entries.removeAll { $0.field.name == name }
    }

    /// Changes a nested message in place, creating it when unset.
    public mutating func update(_ name: String, _ body: (inout ProtoMessage) -> Void) {
        let f = schema.require(name)
        guard case .message(let ms) = f.kind else { return }
        var m = message(name) ?? ProtoMessage(ms, location: location)
        body(&m)
        set(name, .message(m), at: location(of: name))
    }

    /// Entries in field-number order, as Caffe's printer writes them.
    public var entriesByNumber: [FieldEntry] {
        entries.sorted { $0.field.number < $1.field.number }
    }

    public func entry(_ name: String) -> FieldEntry? { index(of: name).map { entries[$0] } }

    private func index(of name: String) -> Int? { entries.firstIndex { $0.field.name == name } }

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
