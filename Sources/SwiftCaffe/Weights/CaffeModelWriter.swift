import CaffeSchema
import CProtobufC
import Foundation

/// Writes current-format (V2) .caffemodel files through libprotobuf-c: one
/// `layer` per entry with its name, type, bottoms, tops and blobs. A blob
/// keeps the form it came in — N-D `shape`, or the legacy
/// num/channels/height/width of old files — so that a converted file loads
/// exactly as the original did. The values are packed straight from where
/// they live; the file is written to a temporary name and renamed, so a
/// failure never leaves half a file.
public enum CaffeModelWriter {
    public struct BlobSource {
        public var shape: Shape
        public var legacy: [Int]?
        public var data: UnsafePointer<Float>
        public var count: Int
        /// Stored as float16 raw_data instead of float data.
        public var half = false
    }

    /// How `upgrade` stores the values.
    public enum Precision: Sendable {
        /// float `data` (a float16 file becomes float32; nothing is lost).
        case float32
        /// float16 `raw_data` with raw_data_type FLOAT16, as OpenCV's
        /// shrinkCaffeModel writes: half the size, each value rounded to the
        /// nearest float16.
        case float16
    }

    public struct LayerSource {
        public var name: String
        public var type: String
        public var bottoms: [String] = []
        public var tops: [String] = []
        public var blobs: [BlobSource]
    }

    public static func write(netName: String, layers: [LayerSource], to path: String) throws {
        let arena = CMessageArena()
        var net = Caffe__NetParameter()
        caffe__net_parameter__init(&net)
        net.name = arena.cString(netName)
        let layerPointers = arena.array(layers.count, of: UnsafeMutablePointer<Caffe__LayerParameter>?.self)
        for (i, l) in layers.enumerated() {
            let lp = arena.array(1, of: Caffe__LayerParameter.self)
            caffe__layer_parameter__init(lp)
            lp.pointee.name = arena.cString(l.name)
            lp.pointee.type = arena.cString(l.type)
            (lp.pointee.n_bottom, lp.pointee.bottom) = (l.bottoms.count, arena.strings(l.bottoms))
            (lp.pointee.n_top, lp.pointee.top) = (l.tops.count, arena.strings(l.tops))
            let blobPointers = arena.array(l.blobs.count, of: UnsafeMutablePointer<Caffe__BlobProto>?.self)
            for (j, b) in l.blobs.enumerated() {
                blobPointers[j] = b.half ? arena.halfBlob(shape: b.shape, legacy: b.legacy, data: b.data, count: b.count)
                    : arena.blob(shape: b.shape, legacy: b.legacy, data: b.data, count: b.count)
            }
            (lp.pointee.n_blobs, lp.pointee.blobs) = (l.blobs.count, blobPointers)
            layerPointers[i] = lp
        }
        (net.n_layer, net.layer) = (layers.count, layerPointers)
        let size = withUnsafePointer(to: &net) { caffe__net_parameter__get_packed_size($0) }
        try AtomicFile.writePacked(size: size, to: path) { buffer in withUnsafePointer(to: &net) { caffe__net_parameter__pack($0, buffer) } }
        withExtendedLifetime(arena) {}
    }

    /// A net's parameters as a V2 .caffemodel (every layer that has blobs).
    public static func write(_ net: Net, to path: String) throws {
        let layers = zip(net.layers, net.graph.layers).compactMap { layer, g -> LayerSource? in
            guard !layer.params.isEmpty, !g.isInserted else { return nil }
            return LayerSource(name: layer.name, type: layer.type, bottoms: g.layer.bottoms, tops: g.layer.tops,
                               blobs: layer.params.map { BlobSource(shape: $0.shape, legacy: nil, data: $0.data, count: $0.count) })
        }
        try write(netName: net.graph.name, layers: layers, to: path)
    }

    /// A weights file in any format, rewritten in the current one (blobs in
    /// their shape form; double_data becomes float data), in `precision`.
    /// float16 refuses a value beyond its range (±65504), naming the layer,
    /// the blob and the value, rather than write infinity.
    public static func upgrade(_ model: CaffeModel, to path: String, precision: Precision = .float32) throws {
        var converted: [UnsafeMutablePointer<Float>] = []
        defer { for p in converted { p.deallocate() } }
        let layers = try model.layers.map { l in
            LayerSource(name: l.name, type: l.type, blobs: try l.blobs.enumerated().map { j, b in
                var source: BlobSource
                if let f = b.floats {
                    source = BlobSource(shape: b.shape, legacy: b.legacy, data: f, count: b.count)
                } else {
                    let p = UnsafeMutablePointer<Float>.allocate(capacity: max(b.count, 1))
                    b.copy(into: p)
                    converted.append(p)
                    source = BlobSource(shape: b.shape, legacy: b.legacy, data: p, count: b.count)
                }
                if precision == .float16 {
                    for i in 0..<source.count where source.data[i].isFinite && abs(source.data[i]) > Float(Float16.greatestFiniteMagnitude) {
                        throw CaffeError.io(path: model.path, reason: "layer '\(l.name)' blob \(j) holds \(source.data[i]) at index \(i), "
                                            + "beyond float16's range (±65504): it cannot be stored as FLOAT16")
                    }
                    source.half = true
                }
                return source
            })
        }
        try write(netName: model.netName, layers: layers, to: path)
    }
}
