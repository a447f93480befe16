/// A token of protobuf's text format.
struct Token: Equatable {
    enum Kind: Equatable {
        case identifier(String)
        /// A numeric literal as written, without sign ("1e-4", ".5", "0x1F").
        case number(String)
        /// A quoted string with its escapes resolved.
        case string([UInt8])
        case symbol(UInt8)
        case eof
    }

    var kind: Kind
    var line: Int
    var column: Int

    var describe: String {
        switch kind {
        case .identifier(let s): return "'\(s)'"
        case .number(let s): return "number \(s)"
        case .string(let b): return "string \"\(String(decoding: b, as: UTF8.self))\""
        case .symbol(let c): return "'\(Character(Unicode.Scalar(c)))'"
        case .eof: return "end of file"
        }
    }
}

/// Splits prototxt bytes into tokens with 1-based line and column, skipping
/// whitespace (CR included), `#` comments and a UTF-8 byte-order mark.
struct Scanner {
    private let bytes: [UInt8]
    private var i = 0
    private var line = 1
    private var lineStart = 0
    let file: String

    init(bytes: [UInt8], file: String) {
        self.bytes = bytes
        self.file = file
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) {
            i = 3
            lineStart = 3
        }
    }

    // Column of `columnIndex`, kept so a long line is counted once, not per token.
    private var columnIndex = 0
    private var columnValue = 1

    private var column: Int {
        mutating get {
            if columnIndex < lineStart || columnIndex > i {
                columnIndex = lineStart
                columnValue = 1
            }
            // Count characters, not UTF-8 continuation bytes.
            while columnIndex < i {
                if bytes[columnIndex] & 0xC0 != 0x80 { columnValue += 1 }
                columnIndex += 1
            }
            return columnValue
        }
    }

    func location(line: Int, column: Int) -> SourceLocation { SourceLocation(file: file, line: line, column: column) }

    mutating func next() throws -> Token {
        skipSpaceAndComments()
        let l = line
        let c = column
        guard i < bytes.count else { return Token(kind: .eof, line: l, column: c) }
        let b = bytes[i]
        if isIdentStart(b) {
            let s = i
            while i < bytes.count, isIdentPart(bytes[i]) { i += 1 }
            return Token(kind: .identifier(String(decoding: bytes[s..<i], as: UTF8.self)), line: l, column: c)
        }
        if isDigit(b) || (b == UInt8(ascii: ".") && i + 1 < bytes.count && isDigit(bytes[i + 1])) {
            let s = i
            i += 1
            while i < bytes.count {
                let x = bytes[i]
                if isIdentPart(x) || x == UInt8(ascii: ".") {
                    i += 1
                } else if (x == UInt8(ascii: "+") || x == UInt8(ascii: "-")),
                          bytes[i - 1] | 0x20 == UInt8(ascii: "e"),
                          !(bytes[s..<i].contains { $0 | 0x20 == UInt8(ascii: "x") }) {
                    i += 1
                } else {
                    break
                }
            }
            return Token(kind: .number(String(decoding: bytes[s..<i], as: UTF8.self)), line: l, column: c)
        }
        if b == UInt8(ascii: "\"") || b == UInt8(ascii: "'") {
            return Token(kind: .string(try scanString(quote: b, line: l, column: c)), line: l, column: c)
        }
        i += 1
        switch b {
        case UInt8(ascii: "{"), UInt8(ascii: "}"), UInt8(ascii: "<"), UInt8(ascii: ">"),
             UInt8(ascii: ":"), UInt8(ascii: ","), UInt8(ascii: ";"), UInt8(ascii: "["),
             UInt8(ascii: "]"), UInt8(ascii: "-"), UInt8(ascii: "/"):
            return Token(kind: .symbol(b), line: l, column: c)
        default:
            let shown = b < 0x80 && b >= 0x20 ? "'\(Character(Unicode.Scalar(b)))'" : "byte 0x" + String(b, radix: 16)
            throw CaffeError.at(location(line: l, column: c), "unexpected character \(shown)")
        }
    }

    private mutating func skipSpaceAndComments() {
        while i < bytes.count {
            let b = bytes[i]
            if b == UInt8(ascii: "\n") {
                i += 1
                line += 1
                lineStart = i
            } else if b == UInt8(ascii: " ") || b == UInt8(ascii: "\t") || b == UInt8(ascii: "\r")
                        || b == 0x0B || b == 0x0C {
                i += 1
            } else if b == UInt8(ascii: "#") {
                while i < bytes.count, bytes[i] != UInt8(ascii: "\n") { i += 1 }
            } else {
                return
            }
        }
    }

    private mutating func scanString(quote: UInt8, line l: Int, column c: Int) throws -> [UInt8] {
        i += 1
        var out: [UInt8] = []
        while true {
            guard i < bytes.count, bytes[i] != UInt8(ascii: "\n") else {
                throw CaffeError.at(location(line: l, column: c),
                                    "unterminated string: add the closing \(quote == UInt8(ascii: "\"") ? "\"" : "'") before the end of the line")
            }
            let b = bytes[i]
            i += 1
            if b == quote { return out }
            if b != UInt8(ascii: "\\") {
                out.append(b)
                continue
            }
            guard i < bytes.count else { continue }
            let e = bytes[i]
            i += 1
            switch e {
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "a"): out.append(0x07)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "v"): out.append(0x0B)
            case UInt8(ascii: "x"), UInt8(ascii: "X"):
                var v = 0
                var n = 0
                while n < 2, i < bytes.count, let d = hexValue(bytes[i]) {
                    v = v * 16 + d
                    i += 1
                    n += 1
                }
                guard n > 0 else {
                    throw CaffeError.at(location(line: line, column: column), "'\\x' must be followed by a hex digit")
                }
                out.append(UInt8(v))
            case UInt8(ascii: "0")...UInt8(ascii: "7"):
                var v = Int(e - UInt8(ascii: "0"))
                var n = 1
                while n < 3, i < bytes.count, bytes[i] >= UInt8(ascii: "0"), bytes[i] <= UInt8(ascii: "7") {
                    v = v * 8 + Int(bytes[i] - UInt8(ascii: "0"))
                    i += 1
                    n += 1
                }
                out.append(UInt8(truncatingIfNeeded: v))
            default:
                // \\ \' \" \? and any other character stand for themselves.
                out.append(e)
            }
        }
    }

    private func isIdentStart(_ b: UInt8) -> Bool {
        (b >= UInt8(ascii: "a") && b <= UInt8(ascii: "z")) || (b >= UInt8(ascii: "A") && b <= UInt8(ascii: "Z"))
            || b == UInt8(ascii: "_")
    }

    private func isIdentPart(_ b: UInt8) -> Bool { isIdentStart(b) || isDigit(b) }
    private func isDigit(_ b: UInt8) -> Bool { b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9") }

    private func hexValue(_ b: UInt8) -> Int? {
        switch b {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return Int(b - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return Int(b - UInt8(ascii: "a")) + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return Int(b - UInt8(ascii: "A")) + 10
        default: return nil
        }
    }
}
