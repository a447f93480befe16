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
    }

    public struct LayerSource {
        public var name: String
        public var type: String
        public var bottoms: [String] = []
        public var tops: [String] = []
        public var blobs: [BlobSource]
    }

    public static func write(netName: String, layers: [LayerSource], to path: String) throws {
        var allocations: [UnsafeMutableRawPointer] = []
        defer { for p in allocations { free(p) } }
        func cString(_ s: String) -> UnsafeMutablePointer<CChar> {
            let p = strdup(s)!
            allocations.append(UnsafeMutableRawPointer(p))
            return p
        }
        func array<T>(_ n: Int, of: T.Type) -> UnsafeMutablePointer<T> {
            let p = malloc(max(1, n) * MemoryLayout<T>.stride)!.bindMemory(to: T.self, capacity: max(1, n))
            allocations.append(UnsafeMutableRawPointer(p))
            return p
        }
        func strings(_ xs: [String]) -> UnsafeMutablePointer<UnsafeMutablePointer<CChar>?> {
            let p = array(xs.count, of: UnsafeMutablePointer<CChar>?.self)
            for (i, s) in xs.enumerated() { p[i] = cString(s) }
            return p
        }

        var net = Caffe__NetParameter()
        caffe__net_parameter__init(&net)
        net.name = cString(netName)
        let layerPointers = array(layers.count, of: UnsafeMutablePointer<Caffe__LayerParameter>?.self)
        for (i, l) in layers.enumerated() {
            let lp = array(1, of: Caffe__LayerParameter.self)
            caffe__layer_parameter__init(lp)
            lp.pointee.name = cString(l.name)
            lp.pointee.type = cString(l.type)
            lp.pointee.n_bottom = l.bottoms.count
            lp.pointee.bottom = strings(l.bottoms)
            lp.pointee.n_top = l.tops.count
            lp.pointee.top = strings(l.tops)
            let blobPointers = array(l.blobs.count, of: UnsafeMutablePointer<Caffe__BlobProto>?.self)
            for (j, b) in l.blobs.enumerated() {
                let bp = array(1, of: Caffe__BlobProto.self)
                caffe__blob_proto__init(bp)
                if let legacy = b.legacy, legacy.count == 4 {
                    bp.pointee.has_num = 1
                    bp.pointee.num = Int32(legacy[0])
                    bp.pointee.has_channels = 1
                    bp.pointee.channels = Int32(legacy[1])
                    bp.pointee.has_height = 1
                    bp.pointee.height = Int32(legacy[2])
                    bp.pointee.has_width = 1
                    bp.pointee.width = Int32(legacy[3])
                } else {
                    let sp = array(1, of: Caffe__BlobShape.self)
                    caffe__blob_shape__init(sp)
                    let dims = array(b.shape.count, of: Int64.self)
                    for (k, d) in b.shape.enumerated() { dims[k] = Int64(d) }
                    sp.pointee.n_dim = b.shape.count
                    sp.pointee.dim = dims
                    bp.pointee.shape = sp
                }
                bp.pointee.n_data = b.count
                bp.pointee.data = UnsafeMutablePointer(mutating: b.data)
                blobPointers[j] = bp
            }
            lp.pointee.n_blobs = l.blobs.count
            lp.pointee.blobs = blobPointers
            layerPointers[i] = lp
        }
        net.n_layer = layers.count
        net.layer = layerPointers

        let size = withUnsafePointer(to: &net) { caffe__net_parameter__get_packed_size($0) }
        try AtomicFile.writePacked(size: size, to: path) { buffer in withUnsafePointer(to: &net) { caffe__net_parameter__pack($0, buffer) } }
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

    /// A weights file in any format, rewritten in the current one (blobs as
    /// they were; double_data becomes float data).
    public static func upgrade(_ model: CaffeModel, to path: String) throws {
        var converted: [UnsafeMutablePointer<Float>] = []
        defer { for p in converted { p.deallocate() } }
        let layers = model.layers.map { l in
            LayerSource(name: l.name, type: l.type, blobs: l.blobs.map { b in
                if let f = b.floats { return BlobSource(shape: b.shape, legacy: b.legacy, data: f, count: b.count) }
                let p = UnsafeMutablePointer<Float>.allocate(capacity: max(b.count, 1))
                b.copy(into: p)
                converted.append(p)
                return BlobSource(shape: b.shape, legacy: b.legacy, data: p, count: b.count)
            })
        }
        try write(netName: model.netName, layers: layers, to: path)
    }
}
