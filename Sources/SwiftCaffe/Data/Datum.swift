import CaffeSchema
import CProtobufC
import Foundation

/// One training record, as Caffe's Datum: channels-first 8-bit pixels (or
/// float values) and a label. Encoded records (JPEG/PNG bytes, as
/// convert_imageset --encoded writes) are decoded when read.
public struct Datum: Sendable {
    public var channels: Int
    public var height: Int
    public var width: Int
    public var label: Int
    /// channels × height × width bytes; empty when `floats` holds the values.
    public var pixels: [UInt8]
    public var floats: [Float]
    /// Raw JPEG/PNG bytes in `pixels` (before decoding).
    public var encoded: Bool

    public init(channels: Int, height: Int, width: Int, label: Int, pixels: [UInt8], floats: [Float] = [], encoded: Bool = false) {
        self.channels = channels
        self.height = height
        self.width = width
        self.label = label
        self.pixels = pixels
        self.floats = floats
        self.encoded = encoded
    }

    public var shape: Shape { [channels, height, width] }

    /// Parses a serialised Datum; `name` (database and key) is what errors cite.
    public static func parse(_ bytes: UnsafeRawBufferPointer, name: String) throws -> Datum {
        guard bytes.count > 0 else { throw CaffeError.io(path: name, reason: "the record is empty, not a Datum") }
        try WireCheck.check(bytes, as: CaffeSchema.datum, file: name)
        guard let m = caffe__datum__unpack(nil, bytes.count, bytes.baseAddress!.assumingMemoryBound(to: UInt8.self)) else {
            throw CaffeError.io(path: name, reason: "libprotobuf-c could not decode the record as a Datum")
        }
        defer { caffe__datum__free_unpacked(m, nil) }
        let d = m.pointee
        return Datum(channels: Int(d.channels), height: Int(d.height), width: Int(d.width), label: Int(d.label),
                     pixels: d.has_data != 0 ? Array(UnsafeBufferPointer(start: d.data.data, count: d.data.len)) : [],
                     floats: Array(UnsafeBufferPointer(start: d.float_data, count: Int(d.n_float_data))),
                     encoded: d.encoded != 0)
    }

    /// The record ready for the transformer: decoded if encoded, and checked
    /// to hold as many values as its shape says.
    public func decoded(name: String, color: Bool?) throws -> Datum {
        if encoded {
            let image = try RGBImage.decode(pixels, name: name)
            let wantColor = color ?? (channels != 1)
            let p = image.datumPlanes(color: wantColor)
            return Datum(channels: p.channels, height: p.height, width: p.width, label: label, pixels: p.pixels)
        }
        guard channels > 0, height > 0, width > 0 else {
            throw CaffeError.io(path: name, reason: "the Datum's shape \(channels)×\(height)×\(width) is empty")
        }
        // Three int32 fields: their product can pass 2^63.
        let n = product(channels, height, width)
        let have = pixels.isEmpty ? floats.count : pixels.count
        guard have == n else {
            throw CaffeError.io(path: name, reason: "the Datum says \(channels)×\(height)×\(width) = \(n) values but holds \(have)")
        }
        return self
    }

    /// The serialised Datum (raw bytes, or encoded image bytes).
    public func serialized() -> [UInt8] {
        var d = Caffe__Datum()
        caffe__datum__init(&d)
        d.has_channels = 1; d.channels = Int32(channels)
        d.has_height = 1; d.height = Int32(height)
        d.has_width = 1; d.width = Int32(width)
        d.has_label = 1; d.label = Int32(label)
        if encoded { d.has_encoded = 1; d.encoded = 1 }
        return pixels.withUnsafeBufferPointer { p -> [UInt8] in
            floats.withUnsafeBufferPointer { f -> [UInt8] in
                if !pixels.isEmpty {
                    d.has_data = 1
                    d.data = ProtobufCBinaryData(len: p.count, data: UnsafeMutablePointer(mutating: p.baseAddress))
                }
                if !floats.isEmpty {
                    d.n_float_data = f.count
                    d.float_data = UnsafeMutablePointer(mutating: f.baseAddress)
                }
                let size = withUnsafePointer(to: &d) { caffe__datum__get_packed_size($0) }
                var out = [UInt8](repeating: 0, count: size)
                _ = out.withUnsafeMutableBufferPointer { o in withUnsafePointer(to: &d) { caffe__datum__pack($0, o.baseAddress!) } }
                return out
            }
        }
    }
}
