import Foundation

/// Options for reading prototxt.
public struct PrototxtOptions: Sendable {
    /// Fields the schema lacks (often from a fork of Caffe) become warnings and
    /// are skipped, instead of errors.
    public var skipUnknownFields = false
    /// Deepest message nesting accepted.
    public var maxDepth = 64

    public init(skipUnknownFields: Bool = false) {
        self.skipUnknownFields = skipUnknownFields
    }
}

/// The result of reading a prototxt file.
public struct ParsedPrototxt: Sendable {
    public var message: ProtoMessage
    /// Warnings (skipped unknown fields).
    public var warnings: [Diagnostic]
    public var source: SourceText
}

/// Reads protobuf's text format into a `ProtoMessage`, driven by the schema's
/// descriptors. Accepts everything real Caffe files contain: `#` comments,
/// `name: value`, `name { }`, `name: { }` and `< >`, optional `,`/`;`,
/// single or double quotes with escapes and adjacent strings joined, enums by
/// name or number, hex/octal/negative integers, `1e-4`/`.5`/`5.`/`inf`/`nan`
/// floats, `true/True/t/1` bools, repeated fields written several times or as
/// `[a, b]`, a UTF-8 BOM and CRLF line ends.
///
/// Unknown fields are all reported in one pass; any other error stops the read.
public struct PrototxtParser {
    private var scanner: Scanner
    private var lookahead: Token?
    private let options: PrototxtOptions
    private var problems: [Diagnostic] = []
    private let source: SourceText

    public static func parse(
        bytes: [UInt8], file: String, as schema: MessageSchema, options: PrototxtOptions = .init()
    ) throws -> ParsedPrototxt {
        let src = SourceText(name: file, bytes: bytes)
        do {
            try checkIsText(bytes, file: file)
            var p = PrototxtParser(scanner: Scanner(bytes: bytes, file: file), options: options, source: src)
            var root = ProtoMessage(schema, location: SourceLocation(file: file, line: 1, column: 1))
            try p.parseFields(into: &root, closer: nil, opener: nil, depth: 0)
            let errors = p.problems.filter { $0.severity == .error }
            if !errors.isEmpty { throw CaffeError.diagnostics(errors, source: src) }
            if root.entries.isEmpty {
                throw CaffeError.at(SourceLocation(file: file, line: 1, column: 1),
                                    "file has no fields: expected a \(schema.name) in protobuf text format")
            }
            return ParsedPrototxt(message: root, warnings: p.problems.filter { $0.severity != .error }, source: src)
        } catch let e as CaffeError {
            throw e.with(source: src)
        }
    }

    public static func parse(file path: String, as schema: MessageSchema, options: PrototxtOptions = .init()) throws
        -> ParsedPrototxt
    {
        try parse(bytes: try readFile(path), file: path, as: schema, options: options)
    }

    private init(scanner: Scanner, options: PrototxtOptions, source: SourceText) {
        self.scanner = scanner
        self.options = options
        self.source = source
    }

    /// A NUL byte or invalid UTF-8 early in the file means a binary file
    /// (a .caffemodel or .binaryproto given where a prototxt was expected).
    private static func checkIsText(_ bytes: [UInt8], file: String) throws {
        let head = Array(bytes.prefix(4096))
        if head.contains(0)
            || String(bytes: head.count == bytes.count ? head : trimPartialUTF8(head), encoding: .utf8) == nil
        {
            throw CaffeError.at(SourceLocation(file: file, line: 1, column: 1),
                                "this is a binary file, not prototxt text (a .caffemodel or .binaryproto?)")
        }
        let meaningful = bytes.drop { b in
            b == 0x20 || b == 0x09 || b == 0x0A || b == 0x0D || b == 0xEF || b == 0xBB || b == 0xBF
        }
        if meaningful.isEmpty {
            throw CaffeError.at(SourceLocation(file: file, line: 1, column: 1),
                                "file is empty: expected Caffe prototxt text")
        }
    }

    private static func trimPartialUTF8(_ b: [UInt8]) -> [UInt8] {
        var end = b.count
        var k = 0
        while k < 3, end > 0, b[end - 1] & 0xC0 == 0x80 {
            end -= 1
            k += 1
        }
        if end > 0, b[end - 1] & 0xC0 == 0xC0 { end -= 1 }
        return Array(b[..<end])
    }

    // MARK: tokens

    private mutating func peek() throws -> Token {
        if let t = lookahead { return t }
        let t = try scanner.next()
        lookahead = t
        return t
    }

    @discardableResult
    private mutating func take() throws -> Token {
        let t = try peek()
        lookahead = nil
        return t
    }

    private func loc(_ t: Token) -> SourceLocation { SourceLocation(file: scanner.file, line: t.line, column: t.column) }

    private func isSymbol(_ t: Token, _ c: Character) -> Bool {
        if case .symbol(let b) = t.kind { return b == c.asciiValue! }
        return false
    }

    private func error(_ t: Token, _ message: String, notes: [Diagnostic] = []) -> CaffeError {
        .diagnostics(problems.filter { $0.severity == .error } + [Diagnostic(.error, message, at: loc(t), notes: notes)],
                     source: nil)
    }

    // MARK: messages

    private struct Opener {
        var name: String
        var token: Token
        var closer: UInt8
    }

    private mutating func parseFields(into m: inout ProtoMessage, closer: UInt8?, opener: Opener?, depth: Int) throws {
        if depth > options.maxDepth {
            throw error(opener!.token, "messages nested deeper than \(options.maxDepth) levels")
        }
        while true {
            let t = try peek()
            switch t.kind {
            case .eof:
                if let o = opener {
                    let close = Character(Unicode.Scalar(o.closer))
                    throw error(t, "expected '\(close)' to close '\(o.name)' before the end of the file",
                                notes: [Diagnostic(.note, "'\(o.name)' opened here", at: loc(o.token))])
                }
                return
            case .symbol(let b) where b == closer:
                try take()
                return
            case .symbol(let b) where b == UInt8(ascii: "}") || b == UInt8(ascii: ">"):
                if let o = opener {
                    let close = Character(Unicode.Scalar(o.closer))
                    throw error(t, "expected '\(close)' to close '\(o.name)', found \(t.describe)",
                                notes: [Diagnostic(.note, "'\(o.name)' opened here", at: loc(o.token))])
                }
                throw error(t, "unexpected \(t.describe): no message is open here (an extra closing brace?)")
            case .symbol(let b) where b == UInt8(ascii: ",") || b == UInt8(ascii: ";"):
                try take()
            case .symbol(let b) where b == UInt8(ascii: "["):
                // An extension or Any field ([type.googleapis.com/...]): Caffe has none.
                try take()
                var name = ""
                while case let n = try take(), !isSymbol(n, "]") {
                    if case .eof = n.kind { throw error(n, "unterminated '[' in a field name") }
                    if case .identifier(let s) = n.kind { name += s } else if isSymbol(n, "/") { name += "/" } else { name += "." }
                }
                try unknownField(name: "[\(name)]", at: t, in: m.schema)
            case .identifier(let name):
                try take()
                guard let field = m.schema.field(named: name) else {
                    try unknownField(name: name, at: t, in: m.schema)
                    continue
                }
                try parseField(field, nameToken: t, into: &m, depth: depth)
            default:
                throw error(t, "expected a field name of \(m.schema.name), found \(t.describe)")
            }
        }
    }

    private mutating func unknownField(name: String, at t: Token, in schema: MessageSchema) throws {
        var message = "unknown field '\(name)' in \(schema.name)"
        if let fork = ForkFields.explanation(of: name, in: schema.name) {
            message += ": " + fork
        } else if let s = closestName(to: name, among: schema.fields.map(\.name)) {
            message += " (did you mean '\(s)'?)"
        }
        if options.skipUnknownFields {
            problems.append(Diagnostic(.warning, message + "; skipped", at: loc(t)))
        } else {
            problems.append(Diagnostic(.error, message, at: loc(t)))
        }
        try skipValue()
    }

    private mutating func parseField(_ field: FieldSchema, nameToken: Token, into m: inout ProtoMessage, depth: Int)
        throws
    {
        var sawColon = false
        if isSymbol(try peek(), ":") {
            try take()
            sawColon = true
        }
        if !field.isRepeated, m.has(field) {
            let first = m.location(of: field)
            throw error(nameToken, "field '\(field.name)' of \(m.schema.name) is given twice but is not repeated",
                        notes: first.map { [Diagnostic(.note, "first given here", at: $0)] } ?? [])
        }
        let next = try peek()
        if isSymbol(next, "[") {
            try take()
            guard field.isRepeated else {
                throw error(next, "field '\(field.name)' of \(m.schema.name) is not repeated; a list [ ... ] needs a repeated field")
            }
            if isSymbol(try peek(), "]") {
                try take()
                return
            }
            while true {
                let v = try parseValue(field, nameToken: nameToken, sawColon: sawColon || field.isMessage, depth: depth)
                m.append(field: field, v, at: loc(nameToken))
                let sep = try take()
                if isSymbol(sep, "]") { break }
                guard isSymbol(sep, ",") else {
                    throw error(sep, "expected ',' or ']' in the list of '\(field.name)', found \(sep.describe)")
                }
            }
            return
        }
        let v = try parseValue(field, nameToken: nameToken, sawColon: sawColon, depth: depth)
        m.append(field: field, v, at: loc(nameToken))
    }

    private mutating func parseValue(_ field: FieldSchema, nameToken: Token, sawColon: Bool, depth: Int) throws
        -> ProtoValue
    {
        if case .message(let schema) = field.kind {
            return try parseMessage(field, schema, nameToken: nameToken, depth: depth)
        }
        guard sawColon else {
            let t = try peek()
            throw error(t, "expected ':' after field name '\(field.name)', found \(t.describe)")
        }
        var t = try take()
        var negative = false
        if isSymbol(t, "-") {
            negative = true
            t = try take()
        }
        let v = Scalar(token: t, negative: negative, what: "'\(field.name)' (\(field.kind.displayName))")
        switch field.kind {
        case .int32, .int64, .uint32, .uint64: return try integer(v, field.kind)
        case .float, .double: return try real(v, isFloat: field.kind == .float)
        case .bool:
            if !negative {
                switch t.kind {
                case .identifier(let s) where ["true", "True", "t"].contains(s): return .bool(true)
                case .identifier(let s) where ["false", "False", "f"].contains(s): return .bool(false)
                case .number("1"): return .bool(true)
                case .number("0"): return .bool(false)
                default: break
                }
            }
            throw mismatch(v, "true or false")
        case .string, .bytes:
            guard !negative, case .string(var b) = t.kind else { throw mismatch(v, "a quoted string") }
            // Adjacent literals join, as in C.
            while case .string(let more) = try peek().kind {
                b += more
                try take()
            }
            if case .bytes = field.kind { return .bytes(b) }
            return .string(String(decoding: b, as: UTF8.self))
        case .enumeration(let e): return try enumValue(v, e)
        case .message: fatalError("unreachable")
        }
    }

    /// `name { ... }` or `name < ... >`.
    private mutating func parseMessage(_ field: FieldSchema, _ schema: MessageSchema, nameToken: Token, depth: Int) throws -> ProtoValue {
        let open = try take()
        let closer: UInt8
        if isSymbol(open, "{") {
            closer = UInt8(ascii: "}")
        } else if isSymbol(open, "<") {
            closer = UInt8(ascii: ">")
        } else {
            throw error(open, "expected '{' after '\(field.name)' (message \(schema.name)), found \(open.describe)")
        }
        var sub = ProtoMessage(schema, location: loc(nameToken))
        try parseFields(into: &sub, closer: closer, opener: Opener(name: field.name, token: open, closer: closer), depth: depth + 1)
        try checkRequired(sub, at: open)
        return .message(sub)
    }

    /// A scalar value's token, whether a '-' came before it, and the field it is for.
    private struct Scalar {
        let token: Token
        let negative: Bool
        let what: String
    }

    private func mismatch(_ v: Scalar, _ expected: String) -> CaffeError {
        error(v.token, "expected \(expected) for \(v.what), found \(v.negative ? "'-' " : "")\(v.token.describe)")
    }

    /// Decimal, hex or octal, checked against the field's range.
    private func integer(_ v: Scalar, _ kind: FieldKind) throws -> ProtoValue {
        guard case .number(let text) = v.token.kind, let magnitude = parseUnsigned(text) else { throw mismatch(v, "an integer") }
        let (lo, hi): (Int64, UInt64) = switch kind {
        case .int32: (Int64(Int32.min), UInt64(Int32.max))
        case .int64: (Int64.min, UInt64(Int64.max))
        case .uint32: (0, UInt64(UInt32.max))
        default: (0, UInt64.max)
        }
        if v.negative {
            guard lo < 0, magnitude <= lo.magnitude else {
                throw error(v.token, "value -\(text) is out of range for \(v.what)\(lo == 0 ? ": it cannot be negative" : "")")
            }
            return .int(Int64(truncatingIfNeeded: 0 &- magnitude))
        }
        guard magnitude <= hi else { throw error(v.token, "value \(text) is out of range for \(v.what) (largest: \(hi))") }
        switch kind {
        case .int32, .int64: return .int(Int64(magnitude))
        default: return .uint(magnitude)
        }
    }

    /// A number, inf or nan; a float field keeps the value rounded to Float.
    private func real(_ v: Scalar, isFloat: Bool) throws -> ProtoValue {
        var x: Double
        switch v.token.kind {
        case .number(let text):
            guard let d = parseFloat(text) else { throw mismatch(v, "a number") }
            x = d
        case .identifier(let s):
            switch s.lowercased() {
            case "inf", "infinity": x = .infinity
            case "nan": x = .nan
            default: throw mismatch(v, "a number")
            }
        default: throw mismatch(v, "a number")
        }
        if v.negative { x = -x }
        return .float(isFloat ? Double(Float(x)) : x)
    }

    /// A value's name, or a number the enum declares.
    private func enumValue(_ v: Scalar, _ e: EnumSchema) throws -> ProtoValue {
        let valid = e.values.map(\.name).joined(separator: ", ")
        switch v.token.kind {
        case .identifier(let s) where !v.negative:
            if let n = e.number(named: s) { return .enumValue(n) }
            var message = "unknown value '\(s)' for \(v.what)"
            if let c = closestName(to: s, among: e.values.map(\.name)) { message += " (did you mean '\(c)'?)" }
            throw error(v.token, message + "; valid values: \(valid)")
        case .number(let text):
            if let u = parseUnsigned(text), u <= UInt64(Int32.max) {
                let n = v.negative ? -Int32(u) : Int32(u)
                if e.name(of: n) != nil { return .enumValue(n) }
            }
            throw error(v.token, "unknown value \(v.negative ? "-" : "")\(text) for \(v.what); valid values: \(valid)")
        default:
            throw mismatch(v, "one of \(valid)")
        }
    }

    private func checkRequired(_ m: ProtoMessage, at t: Token) throws {
        for f in m.schema.fields where f.label == .required && !m.has(f) {
            throw error(t, "required field '\(f.name)' of \(m.schema.name) is missing")
        }
    }

    /// Skips the value of an unknown field: `: scalar`, `: [list]`, or `{ ... }`.
    private mutating func skipValue() throws {
        if isSymbol(try peek(), ":") { try take() }
        let t = try take()
        if isSymbol(t, "{") || isSymbol(t, "<") || isSymbol(t, "[") {
            var stack: [Token] = [t]
            while let top = stack.last {
                let n = try take()
                switch n.kind {
                case .eof:
                    let close = isSymbol(top, "{") ? "}" : isSymbol(top, "<") ? ">" : "]"
                    throw error(n, "expected '\(close)' before the end of the file",
                                notes: [Diagnostic(.note, "opened here", at: loc(top))])
                case .symbol(let b) where b == UInt8(ascii: "{") || b == UInt8(ascii: "<") || b == UInt8(ascii: "["):
                    stack.append(n)
                case .symbol(let b) where b == UInt8(ascii: "}") || b == UInt8(ascii: ">") || b == UInt8(ascii: "]"):
                    stack.removeLast()
                default: break
                }
            }
            return
        }
        switch t.kind {
        case .symbol(let b) where b == UInt8(ascii: "-"):
            try take()
        case .string:
            while case .string = try peek().kind { try take() }
        case .identifier, .number:
            break
        default:
            throw error(t, "expected a value, found \(t.describe)")
        }
    }

    // MARK: literals

    private func parseUnsigned(_ text: String) -> UInt64? {
        let s = Substring(text)
        if s.hasPrefix("0x") || s.hasPrefix("0X") { return UInt64(s.dropFirst(2), radix: 16) }
        if s.count > 1, s.hasPrefix("0"), s.allSatisfy({ $0 >= "0" && $0 <= "7" }) { return UInt64(s.dropFirst(), radix: 8) }
        return UInt64(s, radix: 10)
    }

    private func parseFloat(_ text: String) -> Double? {
        var s = Substring(text)
        if s.hasPrefix("0x") || s.hasPrefix("0X") { return parseUnsigned(text).map(Double.init) }
        if s.hasSuffix("f") || s.hasSuffix("F") { s = s.dropLast() }
        guard let first = s.first, first.isNumber || first == "." else { return nil }
        return Double(String(s))
    }
}

/// The candidate closest to `name` for "did you mean", when it is close:
/// at most one edit per four characters (a swap of neighbours is one edit).
func closestName(to name: String, among candidates: [String]) -> String? {
    let a = Array(name.lowercased())
    var best: (String, Int)?
    for c in candidates {
        let d = editDistance(a, Array(c.lowercased()))
        if d <= Swift.max(1, a.count / 4), d < (best?.1 ?? Int.max) { best = (c, d) }
    }
    return best?.0
}

/// Optimal-string-alignment distance: insertions, deletions, substitutions
/// and transpositions of adjacent characters each cost one.
func editDistance(_ a: [Character], _ b: [Character]) -> Int {
    if a.isEmpty { return b.count }
    if b.isEmpty { return a.count }
    var d = Array(repeating: Array(repeating: 0, count: b.count + 1), count: a.count + 1)
    for i in 0...a.count { d[i][0] = i }
    for j in 0...b.count { d[0][j] = j }
    for i in 1...a.count {
        for j in 1...b.count {
            let cost = a[i - 1] == b[j - 1] ? 0 : 1
            d[i][j] = Swift.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
            if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] {
                d[i][j] = Swift.min(d[i][j], d[i - 2][j - 2] + 1)
            }
        }
    }
    return d[a.count][b.count]
}
