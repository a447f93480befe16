/// Layer parameters in a binary file that do not decode against Caffe's
/// schema: a fork's parameter under a field number BVLC gives another
/// message (DeepLab's interp_param at 143, BVLC's input_param; SegNet's
/// upsample_param at 137, BVLC's embed_param). libprotobuf-c would refuse
/// the whole file, yet copying weights needs only each layer's name, type
/// and blobs. Each such field is renumbered in place (in a private copy of
/// the mapped page) to a number the schema does not use, with a tag of the
/// same length, so libprotobuf-c keeps it as an unknown field.
struct UndecodableParameter {
    /// The layer's name, or "#k" (its index) if it has none.
    var layer: String
    /// The field's name in Caffe's schema and its number.
    var field: String
    var number: Int32
    var wireType: UInt64
    /// The tag's bytes in the file.
    var tag: Range<Int>
    /// The layer message's schema, whose numbers the new one avoids.
    var schema: MessageSchema

    var description: String {
        "layer \(layer): field \(number) at byte \(tag.lowerBound) does not decode as Caffe's \(field) "
            + "(a fork's parameter under that number?); skipped, as weights need only names, types and blobs"
    }
}

enum UndecodableParameters {
    /// NetParameter's `layer` (V2) and `layers` (V1) fields.
    private static let layerFields: Set<Int32> = [100, 2]

    /// The undecodable fields of every layer of the NetParameter in `b`,
    /// which WireCheck has found well-formed.
    static func find(in b: UnsafeRawBufferPointer) -> [UndecodableParameter] {
        var found: [UndecodableParameter] = []
        var reader = WireReader(b, 0..<b.count)
        var index = 0
        while let f = reader.next() {
            guard f.wireType == 2, layerFields.contains(f.number),
                  let schema = CaffeSchema.netParameter.field(number: f.number), case .message(let layerSchema) = schema.kind else { continue }
            var name = "#\(index)"
            var bad: [UndecodableParameter] = []
            var fields = WireReader(b, f.payload)
            while let g = fields.next() {
                guard let field = layerSchema.field(number: g.number) else { continue }
                if field.name == "name", g.wireType == 2 { name = "'" + String(decoding: UnsafeRawBufferPointer(rebasing: b[g.payload]), as: UTF8.self) + "'" }
                if !decodes(g, as: field, in: b) {
                    bad.append(UndecodableParameter(layer: "", field: field.name, number: g.number, wireType: g.wireType,
                                                    tag: g.tagRange, schema: layerSchema))
                }
            }
            found += bad.map { var p = $0; p.layer = name; return p }
            index += 1
        }
        return found
    }

    /// Renumbers each field `find` returned.
    static func skip(_ fields: [UndecodableParameter], in b: UnsafeMutableRawBufferPointer) {
        for f in fields { renumber(b, tagAt: f.tag, wireType: f.wireType, avoiding: f.schema) }
    }

    /// Whether one field's wire type, and a message's contents, fit the schema.
    private static func decodes(_ f: WireField, as field: FieldSchema, in b: UnsafeRawBufferPointer) -> Bool {
        let packed = field.isRepeated && f.wireType == 2
        switch field.kind {
        case .int32, .int64, .uint32, .uint64, .bool, .enumeration: return f.wireType == 0 || packed
        case .float: return f.wireType == 5 || packed
        case .double: return f.wireType == 1 || packed
        case .string, .bytes: return f.wireType == 2
        case .message(let sub):
            guard f.wireType == 2 else { return false }
            var reader = WireReader(b, f.payload)
            while let g = reader.next() {
                guard let known = sub.field(number: g.number) else { continue }
                if !decodes(g, as: known, in: b) { return false }
            }
            return true
        }
    }

    /// Rewrites the tag at `range` with the largest field number that has a
    /// tag of the same length and that `schema` does not use.
    private static func renumber(_ b: UnsafeMutableRawBufferPointer, tagAt range: Range<Int>, wireType: UInt64, avoiding schema: MessageSchema) {
        let length = range.count
        // Numbers whose tag (number << 3) takes `length` bytes of 7 bits.
        let top = (1 << (7 * length - 3)) - 1
        guard let number = stride(from: top, to: max(top >> 7, 0), by: -1).first(where: { schema.field(number: Int32($0)) == nil }) else { return }
        var v = UInt64(number) << 3 | wireType
        for i in range {
            b[i] = UInt8(v & 0x7F) | (i < range.upperBound - 1 ? 0x80 : 0)
            v >>= 7
        }
    }
}

/// One field of a binary message, as WireReader finds it.
struct WireField {
    var number: Int32
    var wireType: UInt64
    var tagRange: Range<Int>
    /// The bytes of a length-delimited field's value (empty for others).
    var payload: Range<Int>
}

/// Walks the fields of a well-formed message (WireCheck has checked it).
struct WireReader {
    private let b: UnsafeRawBufferPointer
    private var pos: Int
    private let end: Int

    init(_ b: UnsafeRawBufferPointer, _ range: Range<Int>) {
        self.b = b
        (pos, end) = (range.lowerBound, range.upperBound)
    }

    init(_ b: UnsafeMutableRawBufferPointer, _ range: Range<Int>) { self.init(UnsafeRawBufferPointer(b), range) }

    private mutating func varint() -> UInt64? {
        var v: UInt64 = 0, shift: UInt64 = 0
        while pos < end, shift < 64 {
            let byte = b[pos]
            pos += 1
            v |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 { return v }
            shift += 7
        }
        return nil
    }

    mutating func next() -> WireField? {
        guard pos < end else { return nil }
        let start = pos
        guard let tag = varint() else { return nil }
        let tagEnd = pos, wireType = tag & 7
        var payload = pos..<pos
        switch wireType {
        case 0: guard varint() != nil else { return nil }
        case 1: pos += 8
        case 5: pos += 4
        case 2:
            guard let n = varint(), n <= UInt64(end - pos) else { return nil }
            payload = pos..<(pos + Int(n))
            pos += Int(n)
        default: return nil
        }
        guard pos <= end else { return nil }
        return WireField(number: Int32(truncatingIfNeeded: tag >> 3), wireType: wireType, tagRange: start..<tagEnd, payload: payload)
    }
}
