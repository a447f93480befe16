import CZlib
import Foundation

/// An IDX file (the MNIST / Fashion-MNIST format), plain or gzip-compressed:
/// a magic number whose third byte is the element type (0x08 = unsigned
/// byte, the only one these data sets use) and fourth the number of
/// dimensions, the big-endian 32-bit sizes, then the elements row-major.
public struct IDXFile: Sendable {
    public let path: String
    public let dims: [Int]
    public let bytes: [UInt8]

    public static func read(path: String) throws -> IDXFile {
        let raw = try gunzipIfNeeded(path: path)
        func fail(_ why: String) -> CaffeError { CaffeError.io(path: path, reason: why) }
        guard raw.count >= 4, raw[0] == 0, raw[1] == 0 else {
            throw fail("not an IDX file: it does not start with the IDX magic number 00 00 <type> <dims>")
        }
        guard raw[2] == 0x08 else {
            throw fail(String(format: "IDX element type 0x%02x is not supported; only 0x08 (unsigned byte) is", raw[2]))
        }
        let n = Int(raw[3])
        guard n >= 1, raw.count >= 4 + 4 * n else { throw fail("IDX header is truncated (\(raw.count) bytes)") }
        var dims: [Int] = []
        for i in 0..<n {
            let o = 4 + 4 * i
            dims.append(Int(raw[o]) << 24 | Int(raw[o + 1]) << 16 | Int(raw[o + 2]) << 8 | Int(raw[o + 3]))
        }
        let expected = dims.reduce(1, *)
        let have = raw.count - 4 - 4 * n
        guard have == expected else {
            throw fail("IDX dimensions \(dims.map(String.init).joined(separator: "×")) need \(expected) bytes of data, "
                       + "the file has \(have)" + (have < expected ? " (truncated)" : ""))
        }
        return IDXFile(path: path, dims: dims, bytes: Array(raw[(4 + 4 * n)...]))
    }

    /// Whether the file starts like an IDX file (after gunzip when gzipped).
    static func looksLikeIDX(path: String) -> Bool {
        guard let f = fopen(path, "rb") else { return false }
        defer { fclose(f) }
        var head = [UInt8](repeating: 0, count: 4)
        guard fread(&head, 1, 4, f) == 4 else { return false }
        if head[0] == 0x1F, head[1] == 0x8B { return path.contains("idx") }
        return head[0] == 0 && head[1] == 0 && head[2] == 0x08 && (1...4).contains(head[3])
    }

    /// The file's bytes, decompressed when it is gzip (magic 1f 8b).
    static func gunzipIfNeeded(path: String) throws -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw CaffeError.io(path: path, reason: FileManager.default.fileExists(atPath: path) ? "cannot be read" : "no such file")
        }
        let bytes = [UInt8](data)
        guard bytes.count >= 2, bytes[0] == 0x1F, bytes[1] == 0x8B else { return bytes }
        var out = [UInt8]()
        out.reserveCapacity(bytes.count * 4)
        var stream = z_stream()
        // 16 + MAX_WBITS: expect a gzip header.
        guard inflateInit2_(&stream, 16 + MAX_WBITS, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw CaffeError.io(path: path, reason: "zlib could not start decompressing")
        }
        defer { inflateEnd(&stream) }
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        var status: Int32 = Z_OK
        try bytes.withUnsafeBufferPointer { input in
            stream.next_in = UnsafeMutablePointer(mutating: input.baseAddress!)
            stream.avail_in = UInt32(input.count)
            repeat {
                try chunk.withUnsafeMutableBufferPointer { c in
                    stream.next_out = c.baseAddress
                    stream.avail_out = UInt32(c.count)
                    status = inflate(&stream, Z_NO_FLUSH)
                    guard status == Z_OK || status == Z_STREAM_END else {
                        throw CaffeError.io(path: path, reason: "gzip data is corrupt or truncated (zlib status \(status))")
                    }
                    out.append(contentsOf: c[0..<(c.count - Int(stream.avail_out))])
                }
                if status == Z_OK, stream.avail_in == 0, stream.avail_out != 0 {
                    throw CaffeError.io(path: path, reason: "gzip data is truncated")
                }
            } while status != Z_STREAM_END
        }
        return out
    }
}

/// Images and labels of an IDX pair. `source` is the images file; the labels
/// file is found by the data sets' naming (`…-images-idx3-ubyte[.gz]` →
/// `…-labels-idx1-ubyte[.gz]`), or both are given as "IMAGES;LABELS".
public struct IDXDataset: Sendable {
    public let imagesPath: String
    public let labelsPath: String
    public let count: Int
    public let height: Int
    public let width: Int
    public let pixels: [UInt8]
    public let labels: [UInt8]

    public static func labelsPath(forImages images: String) -> String? {
        let name = (images as NSString).lastPathComponent
        guard name.contains("images-idx3") else { return nil }
        return ((images as NSString).deletingLastPathComponent as NSString)
            .appendingPathComponent(name.replacingOccurrences(of: "images-idx3", with: "labels-idx1"))
    }

    private static let cache = NSLockLite()
    nonisolated(unsafe) private static var loaded: [String: IDXDataset] = [:]

    /// Loaded once per process: the graph's shape probe, the train and the
    /// test nets all open the same files.
    static func cached(source: String) throws -> IDXDataset {
        if let d = cache.locked({ loaded[source] }) { return d }
        let d = try IDXDataset(source: source)
        cache.locked { loaded[source] = d }
        return d
    }

    public init(source: String) throws {
        let parts = source.split(separator: ";", maxSplits: 1).map(String.init)
        imagesPath = parts[0]
        if parts.count == 2 {
            labelsPath = parts[1]
        } else if let l = Self.labelsPath(forImages: imagesPath) {
            labelsPath = l
        } else {
            throw CaffeError.io(path: imagesPath, reason: "cannot tell where the labels are: name the images file "
                                + "…-images-idx3-ubyte[.gz] (labels …-labels-idx1-ubyte[.gz]), or give source: \"IMAGES;LABELS\"")
        }
        let images = try IDXFile.read(path: imagesPath)
        let labels = try IDXFile.read(path: labelsPath)
        guard images.dims.count == 3 else {
            throw CaffeError.io(path: imagesPath, reason: "an images file needs 3 dimensions (count, rows, columns), found \(images.dims.count)")
        }
        guard labels.dims.count == 1 else {
            throw CaffeError.io(path: labelsPath, reason: "a labels file needs 1 dimension, found \(labels.dims.count)")
        }
        guard labels.dims[0] == images.dims[0] else {
            throw CaffeError.io(path: labelsPath, reason: "holds \(labels.dims[0]) labels but \(imagesPath) holds \(images.dims[0]) images")
        }
        count = images.dims[0]
        height = images.dims[1]
        width = images.dims[2]
        pixels = images.bytes
        self.labels = labels.bytes
    }
}
