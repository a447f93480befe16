import CaffeSchema
import Foundation

/// The memory behind protobuf-c structs built to be packed (a .caffemodel or a
/// .solverstate): every string and array comes from here and is freed with the
/// arena, after the packing.
final class CMessageArena {
    private var allocations: [UnsafeMutableRawPointer] = []

    deinit { for p in allocations { free(p) } }

    func array<T>(_ n: Int, of _: T.Type) -> UnsafeMutablePointer<T> {
        let p = malloc(max(1, n) * MemoryLayout<T>.stride)!.bindMemory(to: T.self, capacity: max(1, n))
        allocations.append(UnsafeMutableRawPointer(p))
        return p
    }

    func cString(_ s: String) -> UnsafeMutablePointer<CChar> {
        let p = strdup(s)!
        allocations.append(UnsafeMutableRawPointer(p))
        return p
    }

    func strings(_ xs: [String]) -> UnsafeMutablePointer<UnsafeMutablePointer<CChar>?> {
        let p = array(xs.count, of: UnsafeMutablePointer<CChar>?.self)
        for (i, s) in xs.enumerated() { p[i] = cString(s) }
        return p
    }

    /// A repeated int64 field's count and values.
    func int64s(_ values: [Int]) -> (Int, UnsafeMutablePointer<Int64>) {
        let p = array(values.count, of: Int64.self)
        for (i, v) in values.enumerated() { p[i] = Int64(v) }
        return (values.count, p)
    }

    /// A BlobProto over `count` floats at `data` (not copied): an N-D shape,
    /// or `legacy` num/channels/height/width as files before N-D blobs had.
    func blob(shape: Shape, legacy: [Int]? = nil, data: UnsafePointer<Float>, count: Int) -> UnsafeMutablePointer<Caffe__BlobProto> {
        let bp = array(1, of: Caffe__BlobProto.self)
        caffe__blob_proto__init(bp)
        if let legacy, legacy.count == 4 {
            (bp.pointee.has_num, bp.pointee.num) = (1, Int32(legacy[0]))
            (bp.pointee.has_channels, bp.pointee.channels) = (1, Int32(legacy[1]))
            (bp.pointee.has_height, bp.pointee.height) = (1, Int32(legacy[2]))
            (bp.pointee.has_width, bp.pointee.width) = (1, Int32(legacy[3]))
        } else {
            let sp = array(1, of: Caffe__BlobShape.self)
            caffe__blob_shape__init(sp)
            (sp.pointee.n_dim, sp.pointee.dim) = int64s(shape)
            bp.pointee.shape = sp
        }
        bp.pointee.n_data = count
        bp.pointee.data = UnsafeMutablePointer(mutating: data)
        return bp
    }

    /// A blob whose values are stored as float16 `raw_data` (raw_data_type
    /// FLOAT16), as OpenCV's shrinkCaffeModel writes them.
    func halfBlob(shape: Shape, legacy: [Int]? = nil, data: UnsafePointer<Float>, count: Int) -> UnsafeMutablePointer<Caffe__BlobProto> {
        let bp = blob(shape: shape, legacy: legacy, data: data, count: 0)
        bp.pointee.data = nil
        let bytes = array(max(2 * count, 1), of: UInt8.self)
        for i in 0..<count {
            let bits = Float16(data[i]).bitPattern
            (bytes[2 * i], bytes[2 * i + 1]) = (UInt8(bits & 0xFF), UInt8(bits >> 8))
        }
        (bp.pointee.has_raw_data_type, bp.pointee.raw_data_type) = (1, CAFFE__BLOB_PROTO__RAW_DATA_TYPE__FLOAT16)
        (bp.pointee.has_raw_data, bp.pointee.raw_data) = (1, ProtobufCBinaryData(len: 2 * count, data: bytes))
        return bp
    }
}
