import Foundation

/// Files written whole or not at all: the bytes go to a temporary name in the
/// same folder, are flushed, and the temporary file is renamed over the
/// target. An interrupted or failed write never leaves half a file, and a
/// previous file of the same name survives until the new one is complete.
enum AtomicFile {
    static func write(_ bytes: UnsafeRawBufferPointer, to path: String) throws {
        let tmp = path + ".tmp-\(getpid())"
        guard let f = fopen(tmp, "wb") else {
            throw CaffeError.io(path: path, reason: "cannot write (\(String(cString: strerror(errno))))")
        }
        let ok = bytes.isEmpty || fwrite(bytes.baseAddress!, 1, bytes.count, f) == bytes.count
        let flushed = fflush(f) == 0 && fsync(fileno(f)) == 0
        let closed = fclose(f) == 0
        guard ok, flushed, closed, rename(tmp, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(tmp)
            throw CaffeError.io(path: path, reason: "cannot write (\(reason))")
        }
    }

    /// Packs a protobuf-c message of `size` bytes with `pack` and writes it.
    static func writePacked(size: Int, to path: String, _ pack: (UnsafeMutablePointer<UInt8>) -> Int) throws {
        let buffer = UnsafeMutablePointer<UInt8>.allocate(capacity: max(size, 1))
        defer { buffer.deallocate() }
        let written = pack(buffer)
        guard written == size else { throw CaffeError.io(path: path, reason: "protobuf-c packed \(written) of \(size) bytes") }
        try write(UnsafeRawBufferPointer(start: buffer, count: size), to: path)
    }
}
