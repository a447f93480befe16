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
        let raw = try gunzipIfNeeded(path: path, expectedSize: expectedSize)
        func fail(_ why: String) -> CaffeError { CaffeError.io(path: path, reason: why) }
        guard raw.count >= 4, raw[0] == 0, raw[1] == 0 else {
            throw fail("not an IDX file: it does not start with the IDX magic number 00 00 <type> <dims>")
        }
        guard raw[2] == 0x08 else {
            throw fail(String(format: "IDX element type 0x%02x is not supported; only 0x08 (unsigned byte) is", raw[2]))
        }
        let n = Int(raw[3])
        guard n >= 1, raw.count >= 4 + 4 * n else { throw fail("IDX header is truncated (\(raw.count) bytes)") }
        let dims = header(raw)!.dims
        let expected = product(dims)
        let have = raw.count - 4 - 4 * n
        guard have == expected else {
            let need = expected > SizeLimit.blob ? "more data than a file can hold" : "\(expected) bytes of data"
            throw fail("IDX dimensions \(dims.map(String.init).joined(separator: "×")) need \(need), the file has \(have)"
                       + (have < expected && expected <= SizeLimit.blob ? " (truncated)" : ""))
        }
        return IDXFile(path: path, dims: dims, bytes: Array(raw[(4 + 4 * n)...]))
    }

    /// The dimensions in a header's first bytes, once they are all there.
    private static func header(_ raw: [UInt8]) -> (dims: [Int], bytes: Int)? {
        guard raw.count >= 4 else { return nil }
        let n = Int(raw[3])
        guard raw.count >= 4 + 4 * n else { return nil }
        let dims = (0..<n).map { i -> Int in
            let o = 4 + 4 * i
            return Int(raw[o]) << 24 | Int(raw[o + 1]) << 16 | Int(raw[o + 2]) << 8 | Int(raw[o + 3])
        }
        return (dims, 4 + 4 * n)
    }

    /// The whole file's size as its header declares it (saturating), once the header is in.
    private static func expectedSize(_ raw: [UInt8]) -> Int? {
        guard raw.count >= 4, raw[0] == 0, raw[1] == 0, let h = header(raw) else { return nil }
        return product(h.dims).addingSaturating(h.bytes)
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

    /// The file's bytes, decompressed when it is gzip (magic 1f 8b). The
    /// output is counted as it comes: once `expectedSize` knows from the first
    /// bytes how long the whole should be, more is refused (a decompression
    /// bomb stops there), and it must fit in the MemoryBudget.
    static func gunzipIfNeeded(path: String, expectedSize: ([UInt8]) -> Int? = { _ in nil }) throws -> [UInt8] {
        let bytes = try readFile(path)
        guard bytes.count >= 2, bytes[0] == 0x1F, bytes[1] == 0x8B else { return bytes }
        func fail(_ why: String) -> CaffeError { CaffeError.io(path: path, reason: why) }
        var out = [UInt8]()
        var stream = z_stream()
        // 16 + MAX_WBITS: expect a gzip header.
        guard inflateInit2_(&stream, 16 + MAX_WBITS, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw fail("zlib could not start decompressing")
        }
        defer { inflateEnd(&stream) }
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        var status: Int32 = Z_OK
        var limit: Int?
        try bytes.withUnsafeBufferPointer { input in
            stream.next_in = UnsafeMutablePointer(mutating: input.baseAddress!)
            stream.avail_in = UInt32(input.count)
            repeat {
                try chunk.withUnsafeMutableBufferPointer { c in
                    stream.next_out = c.baseAddress
                    stream.avail_out = UInt32(c.count)
                    status = inflate(&stream, Z_NO_FLUSH)
                    guard status == Z_OK || status == Z_STREAM_END else {
                        throw fail("gzip data is corrupt or truncated (zlib status \(status))")
                    }
                    out.append(contentsOf: c[0..<(c.count - Int(stream.avail_out))])
                }
                if limit == nil, let e = expectedSize(out) {
                    if let short = MemoryBudget.shortfall(e) {
                        throw fail("its header declares \(MemoryBudget.describe(e)) of data, \(short)")
                    }
                    limit = e
                    out.reserveCapacity(e)
                }
                if let l = limit, out.count > l {
                    throw fail("decompresses to more than the \(l) bytes its header declares")
                }
                if let short = MemoryBudget.shortfall(out.count) {
                    throw fail("decompresses to more than \(MemoryBudget.describe(out.count)), \(short)")
                }
                if status != Z_STREAM_END, stream.avail_in == 0, stream.avail_out != 0 {
                    throw fail("gzip data is truncated")
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
        guard images.dims[0] > 0 else { throw CaffeError.io(path: imagesPath, reason: "holds no images (its first dimension is 0)") }
        count = images.dims[0]
        height = images.dims[1]
        width = images.dims[2]
        pixels = images.bytes
        self.labels = labels.bytes
    }
}
