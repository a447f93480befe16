import Foundation

/// NumPy's .npy files: format versions 1.0, 2.0 and 3.0, little-endian
/// float32 or float64 (converted), C order. Anything else — Fortran order,
/// pickled objects, other dtypes, a truncated file — is refused with a
/// message naming the file and what was found.
public enum NPY {
    public struct Array: Equatable, Sendable {
        public var shape: Shape
        public var values: [Float]

        public init(shape: Shape, values: [Float]) {
            self.shape = shape
            self.values = values
        }
    }

    static let magic: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]  // \x93NUMPY

    public static func read(path: String) throws -> Array {
        try read(bytes: try readFile(path), name: path)
    }

    public static func read(bytes b: [UInt8], name: String) throws -> Array {
        func bad(_ why: String) -> CaffeError { CaffeError.io(path: name, reason: why) }
        guard b.count >= 10, Swift.Array(b[0..<6]) == magic else { throw bad("not a .npy file (no \\x93NUMPY magic)") }
        let major = b[6]
        let headerLength: Int, start: Int
        switch major {
        case 1:
            headerLength = Int(b[8]) | Int(b[9]) << 8
            start = 10
        case 2, 3:
            guard b.count >= 12 else { throw bad("truncated .npy header") }
            headerLength = Int(b[8]) | Int(b[9]) << 8 | Int(b[10]) << 16 | Int(b[11]) << 24
            start = 12
        default:
            throw bad(".npy format version \(major).\(b[7]) is not supported (1.0, 2.0 and 3.0 are)")
        }
        guard b.count >= start + headerLength else { throw bad("truncated .npy header") }
        let header = String(decoding: b[start..<(start + headerLength)], as: UTF8.self)
        guard let descr = field("descr", in: header), let fortran = field("fortran_order", in: header),
              let shapeText = field("shape", in: header)
        else { throw bad("unreadable .npy header: \(header.trimmingCharacters(in: .whitespacesAndNewlines))") }
        let dtype = descr.trimmingCharacters(in: CharacterSet(charactersIn: "'\" "))
        guard fortran == "False" else { throw bad("the array is in Fortran order; save it in C order (numpy.ascontiguousarray)") }
        let width: Int
        switch dtype {
        case "<f4": width = 4
        case "<f8": width = 8
        case "|O", "O": throw bad("the array holds pickled Python objects; only float32/float64 arrays are read")
        default: throw bad("dtype \(dtype) is not supported; save float32 ('<f4') or float64 ('<f8')")
        }
        let dims = shapeText.trimmingCharacters(in: CharacterSet(charactersIn: "() "))
            .split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        var shape: Shape = []
        for d in dims {
            guard let v = Int(d), v >= 0 else { throw bad("bad shape \(shapeText)") }
            shape.append(v)
        }
        let n = product(shape)
        let dataStart = start + headerLength
        guard n <= SizeLimit.blob else {
            throw bad("shape \(describe(shape)) holds more values than SwiftCaffe's limit of 2^40 for one array")
        }
        guard b.count - dataStart >= n * width else {
            throw bad("truncated data: shape \(describe(shape)) needs \(n * width) bytes, the file has \(b.count - dataStart)")
        }
        var values = [Float](repeating: 0, count: n)
        b.withUnsafeBytes { raw in
            let p = raw.baseAddress! + dataStart
            for i in 0..<n {
                if width == 4 {
                    values[i] = Float(bitPattern: UInt32(littleEndian: p.loadUnaligned(fromByteOffset: i * 4, as: UInt32.self)))
                } else {
                    values[i] = Float(Double(bitPattern: UInt64(littleEndian: p.loadUnaligned(fromByteOffset: i * 8, as: UInt64.self))))
                }
            }
        }
        return Array(shape: shape, values: values)
    }

    /// The text after 'key': in a header dict, up to the next top-level comma.
    private static func field(_ key: String, in header: String) -> String? {
        guard let r = header.range(of: "'\(key)'") ?? header.range(of: "\"\(key)\"") else { return nil }
        var rest = header[r.upperBound...].drop { $0 == " " || $0 == ":" }
        var depth = 0
        var out = ""
        while let c = rest.first {
            if c == "(" { depth += 1 }
            if c == ")" { depth -= 1 }
            if (c == "," && depth == 0) || c == "}" { break }
            out.append(c)
            rest = rest.dropFirst()
        }
        return out.trimmingCharacters(in: .whitespaces)
    }

    /// Writes float32, C order, format 1.0 (2.0 when the header needs it).
    public static func write(_ a: Array, to path: String) throws {
        try encode(a).withUnsafeBytes { try AtomicFile.write($0, to: path) }
    }

    /// The bytes of a .npy file holding `a` as float32.
    public static func encode(_ a: Array) -> [UInt8] {
        let dims = a.shape.map(String.init).joined(separator: ", ") + (a.shape.count == 1 ? "," : "")
        var header = "{'descr': '<f4', 'fortran_order': False, 'shape': (\(dims)), }"
        let v2 = header.utf8.count + 12 > 65_535
        let prefix = v2 ? 12 : 10
        let padded = ((prefix + header.utf8.count + 1 + 63) / 64) * 64
        header += String(repeating: " ", count: padded - prefix - header.utf8.count - 1) + "\n"
        var out = magic + [v2 ? 2 : 1, 0]
        let hl = header.utf8.count
        out += v2 ? [UInt8(hl & 0xFF), UInt8(hl >> 8 & 0xFF), UInt8(hl >> 16 & 0xFF), UInt8(hl >> 24)] : [UInt8(hl & 0xFF), UInt8(hl >> 8)]
        out += Swift.Array(header.utf8)
        out.reserveCapacity(out.count + a.values.count * 4)
        for v in a.values {
            let u = v.bitPattern.littleEndian
            out += [UInt8(u & 0xFF), UInt8(u >> 8 & 0xFF), UInt8(u >> 16 & 0xFF), UInt8(u >> 24)]
        }
        return out
    }
}
