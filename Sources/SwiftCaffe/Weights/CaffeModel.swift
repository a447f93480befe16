import CaffeSchema
import CProtobufC
import Foundation

/// A .caffemodel read through libprotobuf-c and the generated schema code:
/// layers by name with their blobs, from current (V2 `layer`) or legacy
/// (V1 `layers`, and V0 `layers { layer }`) files, blob shapes from `shape`
/// or the legacy num/channels/height/width, values from `data` or
/// `double_data`. The decoded C message is kept (and freed with this
/// object) so that values are copied once, straight into the net.
public final class CaffeModel {
    public enum Format: String, Sendable { case v2 = "V2 (layer)", v1 = "V1 (layers)", v0 = "V0 (layers { layer })" }

    public struct StoredBlob {
        public var shape: Shape
        /// num, channels, height, width when the blob uses the legacy fields.
        public var legacy: [Int]?
        let floats: UnsafePointer<Float>?
        let doubles: UnsafePointer<Double>?
        /// OpenCV's raw_data: little-endian float16 or float32, not necessarily aligned.
        let raw: (bytes: UnsafeRawPointer, half: Bool)?
        public let count: Int

        init(shape: Shape, legacy: [Int]?, floats: UnsafePointer<Float>? = nil, doubles: UnsafePointer<Double>? = nil,
             raw: (bytes: UnsafeRawPointer, half: Bool)? = nil, count: Int) {
            (self.shape, self.legacy, self.floats, self.doubles, self.raw, self.count) = (shape, legacy, floats, doubles, raw, count)
        }

        /// Whether the values are stored in half precision (an fp16 file).
        public var isHalf: Bool { raw?.half == true }

        public var values: [Float] {
            [Float](unsafeUninitializedCapacity: count) { buffer, n in
                if let base = buffer.baseAddress { copy(into: base) }
                n = count
            }
        }

        /// Copies the values into `destination` (count elements).
        func copy(into destination: UnsafeMutablePointer<Float>) {
            if let f = floats { destination.update(from: f, count: count) }
            else if let d = doubles { for i in 0..<count { destination[i] = Float(d[i]) } }
            else if let (bytes, half) = raw {
                for i in 0..<count {
                    destination[i] = half ? Float(Float16(bitPattern: UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))))
                                          : Float(bitPattern: UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)))
                }
            }
        }
    }

    public struct StoredLayer {
        public var name: String
        public var type: String
        public var blobs: [StoredBlob]
    }

    public let path: String
    public let format: Format
    public let netName: String
    public let layers: [StoredLayer]
    public let fileSize: Int
    /// The file's SHA-1, hex.
    public let sha1: String
    /// Layer parameters that did not decode against Caffe's schema (a fork's,
    /// under a number BVLC uses otherwise), skipped: only names, types and
    /// blobs are read from a weights file.
    public private(set) var undecodedParameters: [String] = []
    /// The published model this file is, recognised by its SHA-1.
    public var knownModel: String? { Self.published[sha1] }

    /// SHA-1 digests the BVLC model zoo lists for its files.
    static let published = [
        "9116a64c0fbe4459d18f4bb6b56d647b63920377": "BVLC AlexNet (bvlc_alexnet.caffemodel)",
        "4c8d77deb20ea792f84eb5e6d0a11ca0a8660a46": "BVLC Reference CaffeNet (bvlc_reference_caffenet.caffemodel)",
    ]

    private let message: UnsafeMutablePointer<Caffe__NetParameter>

    deinit { caffe__net_parameter__free_unpacked(message, nil) }

    public init(path: String) throws {
        self.path = path
        // Mapped, so a regular file only.
        let (fd, st) = try InputFile.open(path, allowPipe: false)
        defer { close(fd) }
        let size = Int(st.st_size)
        fileSize = size
        guard size > 0 else { throw CaffeError.io(path: path, reason: "file is empty") }
        // Mapped, not read: the file's pages go away when the mapping does,
        // before the values are copied into a net.
        // Writable and private: UndecodableParameters may renumber a few tags
        // in this process's copy of their pages; the file is never written.
        guard let map = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0), map != MAP_FAILED else {
            throw CaffeError.io(path: path, reason: "cannot be mapped into memory")
        }
        defer { munmap(map, size) }
        let bytes = UnsafeRawBufferPointer(start: map, count: size)
        if let state = Self.solverStateIteration(bytes) {
            throw CaffeError.io(path: path, reason: "this is a .solverstate (the solver's state at iteration \(state.iteration)), not a .caffemodel; "
                                + "its weights are in \(state.learnedNet.isEmpty ? "the .caffemodel written beside it" : state.learnedNet). "
                                + "To resume that training, use train --snapshot \(path)")
        }
        try WireCheck.check(bytes, as: CaffeSchema.netParameter, file: path)
        // The digest is computed on another thread while protobuf-c decodes,
        // but of the file as it is: before any tag is renumbered.
        let undecodable = UndecodableParameters.find(in: bytes)
        let digest = DigestTask(bytes)
        let digestBeforeRenumbering = undecodable.isEmpty ? nil : digest.wait()
        UndecodableParameters.skip(undecodable, in: UnsafeMutableRawBufferPointer(start: map, count: size))
        undecodedParameters = undecodable.map(\.description)
        let decoded = caffe__net_parameter__unpack(nil, size, map.assumingMemoryBound(to: UInt8.self))
        sha1 = digestBeforeRenumbering ?? digest.wait()
        guard let m = decoded else {
            throw CaffeError.io(path: path, reason: "libprotobuf-c could not decode it as a NetParameter (corrupt field contents)")
        }
        message = m
        netName = m.pointee.name.map { String(cString: $0) } ?? ""
        var out: [StoredLayer] = []
        if m.pointee.n_layer > 0 {
            format = .v2
            for i in 0..<Int(m.pointee.n_layer) {
                let l = m.pointee.layer[i]!.pointee
                let name = l.name.map { String(cString: $0) } ?? ""
                out.append(StoredLayer(name: name, type: l.type.map { String(cString: $0) } ?? "",
                                       blobs: try (0..<Int(l.n_blobs)).map { try CaffeModel.blob(l.blobs[$0]!, file: path, at: "layer '\(name)' blob \($0)") }))
            }
        } else {
            var v0 = false
            for i in 0..<Int(m.pointee.n_layers) {
                let l = m.pointee.layers[i]!.pointee
                var name = l.name.map { String(cString: $0) } ?? ""
                var type = Self.v1TypeName(l.type)
                var blobs = try (0..<Int(l.n_blobs)).map { try CaffeModel.blob(l.blobs[$0]!, file: path, at: "layer '\(name)' blob \($0)") }
                if let old = l.layer?.pointee {
                    v0 = true
                    if name.isEmpty { name = old.name.map { String(cString: $0) } ?? "" }
                    type = old.type.map { String(cString: $0) } ?? type
                    if blobs.isEmpty { blobs = try (0..<Int(old.n_blobs)).map { try CaffeModel.blob(old.blobs[$0]!, file: path, at: "layer '\(name)' blob \($0)") } }
                }
                out.append(StoredLayer(name: name, type: type, blobs: blobs))
            }
            format = v0 ? .v0 : .v1
        }
        layers = out
    }

    /// A SolverState starts with its iteration (field 1, a varint), which no
    /// NetParameter does (its field 1 is the name, a string): the iteration
    /// and weights file of a state given where weights belong.
    private static func solverStateIteration(_ b: UnsafeRawBufferPointer) -> (iteration: Int, learnedNet: String)? {
        guard b.first == 0x08, (try? WireCheck.check(b, as: CaffeSchema.solverState, file: "")) != nil,
              let m = caffe__solver_state__unpack(nil, b.count, b.baseAddress!.assumingMemoryBound(to: UInt8.self)) else { return nil }
        defer { caffe__solver_state__free_unpacked(m, nil) }
        return (Int(m.pointee.iter), m.pointee.learned_net.map { String(cString: $0) } ?? "")
    }

    /// One stored blob; `place()` names it ("layer 'conv1' blob 0") in errors.
    private static func blob(_ p: UnsafeMutablePointer<Caffe__BlobProto>, file: String, at place: @autoclosure () -> String) throws -> StoredBlob {
        let b = p.pointee
        // Caffe's Blob::FromProto: the legacy fields when any is set, else
        // `shape` — absent or empty, that is a blob of 0 axes (PReLU's shared slope).
        var legacy: [Int]?
        var shape: Shape
        if b.has_num != 0 || b.has_channels != 0 || b.has_height != 0 || b.has_width != 0 {
            let dims = [Int(b.num), Int(b.channels), Int(b.height), Int(b.width)]
            legacy = dims
            shape = b.shape.map { s in (0..<Int(s.pointee.n_dim)).map { Int(s.pointee.dim[$0]) } } ?? dims
        } else {
            shape = b.shape.map { s in (0..<Int(s.pointee.n_dim)).map { Int(s.pointee.dim[$0]) } } ?? []
        }
        if b.n_data > 0 { return StoredBlob(shape: shape, legacy: legacy, floats: UnsafePointer(b.data), count: Int(b.n_data)) }
        if b.has_raw_data != 0 || b.has_raw_data_type != 0 { return try rawBlob(b, shape: shape, legacy: legacy, file: file, at: place()) }
        return StoredBlob(shape: shape, legacy: legacy, doubles: b.n_double_data > 0 ? UnsafePointer(b.double_data) : nil,
                          count: Int(b.n_double_data))
    }

    /// OpenCV's raw_data blob: FLOAT16 (what shrinkCaffeModel writes) or FLOAT.
    private static func rawBlob(_ b: Caffe__BlobProto, shape: Shape, legacy: [Int]?, file: String, at place: String) throws -> StoredBlob {
        let type = Caffe.BlobProto.RawDataType(rawValue: Int32(b.raw_data_type.rawValue))
        guard b.has_raw_data_type != 0, let type, type == .float16 || type == .float else {
            throw CaffeError.io(path: file, reason: "\(place) stores raw_data of type \(type?.name ?? (b.has_raw_data_type != 0 ? "\(b.raw_data_type.rawValue)" : "unset")); "
                                   + "SwiftCaffe reads FLOAT16 and FLOAT raw data")
        }
        let width = type == .float16 ? 2 : 4, length = Int(b.raw_data.len)
        guard length % width == 0 else {
            throw CaffeError.io(path: file, reason: "\(place) has \(length) bytes of \(type.name) raw_data, not a whole number of \(width)-byte values")
        }
        guard let bytes = b.raw_data.data, length > 0 else { return StoredBlob(shape: shape, legacy: legacy, count: 0) }
        return StoredBlob(shape: shape, legacy: legacy, raw: (UnsafeRawPointer(bytes), type == .float16), count: length / width)
    }

    private static func v1TypeName(_ t: Caffe__V1LayerParameter__LayerType) -> String {
        guard let type = Caffe.V1LayerParameter.LayerType(rawValue: Int32(t.rawValue)) else { return "" }
        return V1NetUpgrade.typeNames[type] ?? type.name
    }
}

/// SHA-1 of a mapped file on a background thread.
private final class DigestTask: @unchecked Sendable {
    private var result = ""
    private let done = DispatchSemaphore(value: 0)

    init(_ bytes: UnsafeRawBufferPointer) {
        let b = UncheckedBytes(bytes: bytes)
        DispatchQueue.global().async {
            self.result = SHA1.hex(b.bytes)
            self.done.signal()
        }
    }

    func wait() -> String {
        done.wait()
        return result
    }

    private struct UncheckedBytes: @unchecked Sendable { let bytes: UnsafeRawBufferPointer }
}
