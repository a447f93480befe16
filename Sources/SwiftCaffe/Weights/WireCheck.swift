/// Walks a binary protobuf file against the schema before libprotobuf-c
/// decodes it, so that a bad file gets a precise error: where it is truncated
/// and how long it should be, which field holds a length the file cannot
/// hold, or what kind of file it really is. protobuf-c itself only says
/// "failed". Nothing is allocated here.
enum WireCheck {
    static func check(_ b: UnsafeRawBufferPointer, as schema: MessageSchema, file: String) throws {
        guard b.count > 0 else { throw CaffeError.io(path: file, reason: "file is empty") }
        if let kind = recognise(b) {
            throw CaffeError.io(path: file, reason: "this is \(kind), not a binary \(schema.name) (.caffemodel/.binaryproto)")
        }
        try walk(b, 0..<b.count, schema, path: schema.name, depth: 0, file: file)
    }

    /// Files people pass by mistake.
    static func recognise(_ b: UnsafeRawBufferPointer) -> String? {
        func starts(_ m: [UInt8]) -> Bool { b.count >= m.count && zip(b, m).allSatisfy { $0 == $1 } }
        if starts([0xFF, 0xD8, 0xFF]) { return "a JPEG image" }
        if starts([0x89, 0x50, 0x4E, 0x47]) { return "a PNG image" }
        if starts([0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]) { return "a NumPy .npy file" }
        if starts([0x89, 0x48, 0x44, 0x46]) { return "an HDF5 file (Caffe's HDF5 snapshots are not read; save as binaryproto)" }
        if starts([0x50, 0x4B, 0x03, 0x04]) { return "a zip archive (an .npz?)" }
        // Text: a prototxt starts with a letter or '#' and has only printable bytes early on.
        let head = b.prefix(512)
        if let first = head.first(where: { $0 != 0x20 && $0 != 0x0A && $0 != 0x0D && $0 != 0x09 }),
           first == UInt8(ascii: "#") || (first >= 0x41 && first <= 0x7A),
           head.allSatisfy({ $0 == 0x09 || $0 == 0x0A || $0 == 0x0D || ($0 >= 0x20 && $0 < 0x7F) || $0 >= 0x80 }) {
            return "a text file (a prototxt?)"
        }
        return nil
    }

    /// Checks the fields in `range` against `schema`, recursing into messages.
    /// Long: the varint reader and the length checks share the read position
    /// and the error context; apart, each call would carry both.
    private static func walk(_ b: UnsafeRawBufferPointer, _ range: Range<Int>, _ schema: MessageSchema?, path: String,
                             depth: Int, file: String) throws {
        func fail(_ at: Int, _ why: String) -> CaffeError { CaffeError.io(path: file, reason: "byte \(at), in \(path): \(why)") }
        guard depth < 64 else { throw fail(range.lowerBound, "messages nested more than 64 deep") }
        var pos = range.lowerBound
        let end = range.upperBound
        func varint(_ what: String) throws -> UInt64 {
            var v: UInt64 = 0
            var shift: UInt64 = 0
            let start = pos
            while true {
                guard pos < end else {
                    throw fail(start, end == b.count ? "the file ends inside a \(what) (truncated at byte \(b.count))"
                                                     : "a \(what) runs past the end of its message")
                }
                let byte = b[pos]
                pos += 1
                guard shift < 64 else { throw fail(start, "a \(what) longer than 10 bytes: not protobuf data") }
                v |= UInt64(byte & 0x7F) << shift
                if byte & 0x80 == 0 { return v }
                shift += 7
            }
        }
        while pos < end {
            let at = pos
            let tag = try varint("field tag")
            let number = Int32(truncatingIfNeeded: tag >> 3)
            let field = schema?.field(number: number)
            let name = field.map { "'\($0.name)'" } ?? "#\(number)"
            guard tag >> 3 > 0, tag >> 3 < 1 << 29 else { throw fail(at, "field number \(tag >> 3) is invalid: not protobuf data") }
            func need(_ n: Int, _ what: String) throws {
                guard n <= end - pos else {
                    if end == b.count {
                        throw fail(at, "field \(name) needs \(n) bytes of \(what) but the file ends at byte \(b.count); "
                                   + "it should be at least \(pos + n) bytes long (truncated)")
                    }
                    throw fail(at, "field \(name) needs \(n) bytes of \(what) but its message has \(end - pos) left (corrupt length)")
                }
            }
            switch tag & 7 {
            case 0: _ = try varint("value of field \(name)")
            case 1: try need(8, "fixed64")
                pos += 8
            case 5: try need(4, "fixed32")
                pos += 4
            case 2:
                let length = try varint("length of field \(name)")
                guard length <= UInt64(end - pos) else {
                    // A length near 2^64 is noise, not a file cut short.
                    let (needed, overflow) = UInt64(pos).addingReportingOverflow(length)
                    if overflow || needed > 1 << 48 {
                        throw fail(at, "field \(name) says it holds \(length) bytes, more than any file can: the file is corrupt or not protobuf data")
                    }
                    if end == b.count {
                        throw fail(at, "field \(name) says it holds \(length) bytes but the file ends at byte \(b.count); "
                                   + "it should be at least \(needed) bytes long (truncated)")
                    }
                    throw fail(at, "field \(name) says it holds \(length) bytes but its message has only \(end - pos) left (corrupt length)")
                }
                let n = Int(length)
                if let f = field, case .message(let sub) = f.kind {
                    try walk(b, pos..<(pos + n), sub, path: "\(path).\(f.name)", depth: depth + 1, file: file)
                }
                pos += n
            default:
                throw fail(at, "wire type \(tag & 7) is not used by Caffe's files: this is not a \(schema?.name ?? "Caffe") protobuf")
            }
        }
    }
}
