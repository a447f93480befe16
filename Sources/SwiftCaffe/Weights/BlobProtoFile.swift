import CaffeSchema
import CProtobufC
import Foundation

/// A file holding one BlobProto (Caffe's .binaryproto: mean images,
/// InfogainLoss matrices): its shape, N-D or in the legacy
/// num/channels/height/width fields, and its float or double values.
enum BlobProtoFile {
    static func read(path: String) throws -> (shape: Shape, values: [Float]) {
        try decode(try readFile(path), file: path)
    }

    static func decode(_ bytes: [UInt8], file path: String) throws -> (shape: Shape, values: [Float]) {
        try bytes.withUnsafeBytes { raw in
            try WireCheck.check(raw, as: CaffeSchema.blobProto, file: path)
            guard let b = caffe__blob_proto__unpack(nil, raw.count, raw.baseAddress!.assumingMemoryBound(to: UInt8.self)) else {
                throw CaffeError.io(path: path, reason: "libprotobuf-c could not decode it as a BlobProto (corrupt field contents)")
            }
            defer { caffe__blob_proto__free_unpacked(b, nil) }
            let shape: Shape
            if let s = b.pointee.shape?.pointee {
                shape = (0..<Int(s.n_dim)).map { Int(s.dim[$0]) }
            } else {
                shape = [Int(b.pointee.num), Int(b.pointee.channels), Int(b.pointee.height), Int(b.pointee.width)]
            }
            guard shape.allSatisfy({ $0 >= 0 }) else {
                throw CaffeError.io(path: path, reason: "the blob's shape \(describe(shape)) has a negative dimension")
            }
            let values: [Float]
            if b.pointee.n_data > 0 {
                values = Array(UnsafeBufferPointer(start: b.pointee.data, count: Int(b.pointee.n_data)))
            } else {
                values = (0..<Int(b.pointee.n_double_data)).map { Float(b.pointee.double_data[$0]) }
            }
            let n = count(shape)
            guard values.count == n else {
                throw CaffeError.io(path: path, reason: "the blob's shape \(describe(shape)) needs \(n) values, the file holds \(values.count)")
            }
            return (shape, values)
        }
    }
}
