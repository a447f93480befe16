import CaffeSchema
import CProtobufC
import Foundation

/// A mean image: Caffe's .binaryproto (one BlobProto, as the ImageNet mean
/// is published: 1×3×256×256 in the legacy num/channels/height/width
/// fields, BGR) or a .npy array (C×H×W or 1×C×H×W).
public struct MeanImage: Sendable, Equatable {
    public var channels: Int
    public var height: Int
    public var width: Int
    /// C×H×W values.
    public var values: [Float]

    public init(channels: Int, height: Int, width: Int, values: [Float]) {
        self.channels = channels
        self.height = height
        self.width = width
        self.values = values
    }

    public static func read(path: String) throws -> MeanImage {
        let bytes = try readFile(path)
        if bytes.starts(with: NPY.magic) {
            let a = try NPY.read(bytes: bytes, name: path)
            let s = a.shape.count == 4 && a.shape[0] == 1 ? Array(a.shape.dropFirst()) : a.shape
            guard s.count == 3 else {
                throw CaffeError.io(path: path, reason: "a mean image must be C×H×W or 1×C×H×W, this array is \(describe(a.shape))")
            }
            return MeanImage(channels: s[0], height: s[1], width: s[2], values: a.values)
        }
        var (shape, values) = try BlobProtoFile.decode(bytes, file: path)
        if shape.count == 4, shape[0] == 1 { shape.removeFirst() }
        guard shape.count == 3, shape.allSatisfy({ $0 > 0 }) else {
            throw CaffeError.io(path: path, reason: "a mean image must be 1×C×H×W, this blob is \(describe(shape))")
        }
        return MeanImage(channels: shape[0], height: shape[1], width: shape[2], values: values)
    }

    /// The average of each channel (what `mean_value` would give).
    public var perChannel: [Float] {
        let plane = height * width
        return (0..<channels).map { c in
            var s: Double = 0
            for i in 0..<plane { s += Double(values[c * plane + i]) }
            return Float(s / Double(max(plane, 1)))
        }
    }

    /// The centre crop of size h×w, as Caffe's transformer takes it for a test crop.
    public func centreCrop(height h: Int, width w: Int) throws -> [Float] {
        guard h <= height, w <= width else {
            throw CaffeError.usage("the mean image is \(height)×\(width), smaller than the \(h)×\(w) input")
        }
        let top = (height - h) / 2, left = (width - w) / 2
        var out = [Float](repeating: 0, count: channels * h * w)
        for c in 0..<channels {
            for y in 0..<h {
                for x in 0..<w { out[(c * h + y) * w + x] = values[(c * height + top + y) * width + left + x] }
            }
        }
        return out
    }
}

extension MeanImage {
    /// Caffe's compute_image_mean: the average of every record, value by
    /// value (all records must share one shape).
    public static func compute(_ source: RecordSource, limit: Int? = nil) throws -> MeanImage {
        let n = min(limit ?? source.count, source.count)
        guard n > 0 else { throw CaffeError.io(path: source.name, reason: "holds no records to average") }
        let first = try source.record(0)
        var sum = [Double](repeating: 0, count: first.channels * first.height * first.width)
        for i in 0..<n {
            let d = i == 0 ? first : try source.record(i)
            guard d.shape == first.shape else {
                throw CaffeError.io(path: "\(source.name), record #\(i)", reason: "is \(describe(d.shape)), the first record \(describe(first.shape)); "
                                    + "a mean needs one size (resize when converting)")
            }
            if d.pixels.isEmpty { for k in sum.indices { sum[k] += Double(d.floats[k]) } }
            else { for k in sum.indices { sum[k] += Double(d.pixels[k]) } }
        }
        return MeanImage(channels: first.channels, height: first.height, width: first.width, values: sum.map { Float($0 / Double(n)) })
    }

    /// Writes a binaryproto BlobProto as Caffe's tool does (num 1, channels, height, width), atomically.
    public func write(binaryproto path: String) throws {
        var b = Caffe__BlobProto()
        caffe__blob_proto__init(&b)
        b.has_num = 1; b.num = 1
        b.has_channels = 1; b.channels = Int32(channels)
        b.has_height = 1; b.height = Int32(height)
        b.has_width = 1; b.width = Int32(width)
        var copy = values
        try copy.withUnsafeMutableBufferPointer { v in
            b.n_data = v.count
            b.data = v.baseAddress
            let size = withUnsafePointer(to: &b) { caffe__blob_proto__get_packed_size($0) }
            try AtomicFile.writePacked(size: size, to: path) { buffer in withUnsafePointer(to: &b) { caffe__blob_proto__pack($0, buffer) } }
        }
    }
}
