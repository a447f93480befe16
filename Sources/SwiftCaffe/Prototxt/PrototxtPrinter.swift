/// Writes a message as canonical prototxt: two-space indents, fields in
/// field-number order as Caffe's own printer writes them (so `layer` comes
/// last in a net), enums by name, floats in their shortest exact form.
/// `parse(print(m)) == m` for every message.
public enum PrototxtPrinter {
    public static func print(_ m: ProtoMessage) -> String {
        var out = ""
        write(m, indent: 0, into: &out)
        return out
    }

    private static func write(_ m: ProtoMessage, indent: Int, into out: inout String) {
        let pad = String(repeating: "  ", count: indent)
        for entry in m.entriesByNumber {
            let f = entry.field
            for v in entry.values {
                if case .message(let sub) = v {
                    out += "\(pad)\(f.name) {\n"
                    write(sub, indent: indent + 1, into: &out)
                    out += "\(pad)}\n"
                } else {
                    out += "\(pad)\(f.name): \(scalar(v, of: f))\n"
                }
            }
        }
    }

    static func scalar(_ v: ProtoValue, of f: FieldSchema) -> String {
        switch v {
        case .int(let x): return String(x)
        case .uint(let x): return String(x)
        case .bool(let b): return b ? "true" : "false"
        case .string(let s): return quote(Array(s.utf8))
        case .bytes(let b): return quote(b)
        case .enumValue(let n):
            if case .enumeration(let e) = f.kind, let name = e.name(of: n) { return name }
            return String(n)
        case .float(let d):
            if d.isNaN { return "nan" }
            if d.isInfinite { return d < 0 ? "-inf" : "inf" }
            if case .float = f.kind { return trim(Float(d).description) }
            return trim(d.description)
        case .message: return "{}"
        }
    }

    /// A float field's value as written in prototxt ("0.01", not 0.009999999776).
    public static func number(_ d: Double) -> String {
        if d.isNaN { return "nan" }
        if d.isInfinite { return d < 0 ? "-inf" : "inf" }
        return trim(Float(d).description)
    }

    /// "1.0" → "1", but "1e-05" stays.
    private static func trim(_ s: String) -> String {
        s.hasSuffix(".0") ? String(s.dropLast(2)) : s
    }

    static func quote(_ bytes: [UInt8]) -> String {
        var s = "\""
        for b in bytes {
            switch b {
            case UInt8(ascii: "\""): s += "\\\""
            case UInt8(ascii: "\\"): s += "\\\\"
            case 0x0A: s += "\\n"
            case 0x0D: s += "\\r"
            case 0x09: s += "\\t"
            case 0x20..<0x7F: s.unicodeScalars.append(Unicode.Scalar(b))
            default: s += "\\" + String(b, radix: 8).leftPadded(to: 3)
            }
        }
        return s + "\""
    }
}

extension String {
    fileprivate func leftPadded(to n: Int) -> String {
        count >= n ? self : String(repeating: "0", count: n - count) + self
    }
}
