import Foundation

/// Where an output goes, decided before a byte is written. A symbolic link
/// is followed to its target (which is then written, atomically there, and
/// the link kept); a character device or a pipe (`-o /dev/null`, a FIFO) is
/// written directly, never replaced by a file; any other special file, or a
/// directory, is refused.
struct OutputTarget {
    /// The path the user gave.
    let requested: String
    /// The file written: `requested` with symbolic links followed.
    let path: String
    /// A device or pipe: written in place, no temporary file.
    let isStream: Bool
    /// The permission bits of the file being replaced, kept by the new one.
    let mode: mode_t?

    static func resolve(_ requested: String) throws -> OutputTarget {
        func fail(_ why: String) -> CaffeError { CaffeError.io(path: requested, reason: why) }
        var path = requested
        // Followed one link at a time: the last target may not exist yet.
        for _ in 0..<40 {
            var st = stat()
            guard lstat(path, &st) == 0 else {
                guard errno == ENOENT else { throw fail("cannot write: \(InputFile.openFailure(path, errno: errno))") }
                let folder = (path as NSString).deletingLastPathComponent
                var dir = stat()
                guard stat(folder.isEmpty ? "." : folder, &dir) == 0, dir.st_mode & S_IFMT == S_IFDIR else {
                    throw fail("cannot write: the folder \(folder) does not exist")
                }
                return OutputTarget(requested: requested, path: path, isStream: false, mode: nil)
            }
            switch st.st_mode & S_IFMT {
            case S_IFLNK:
                guard let link = try? FileManager.default.destinationOfSymbolicLink(atPath: path) else {
                    throw fail("cannot write: the symbolic link \(path) cannot be read")
                }
                path = link.hasPrefix("/") ? link : ((path as NSString).deletingLastPathComponent as NSString).appendingPathComponent(link)
            case S_IFREG:
                return OutputTarget(requested: requested, path: path, isStream: false, mode: st.st_mode & 0o7777)
            case S_IFCHR, S_IFIFO:
                return OutputTarget(requested: requested, path: path, isStream: true, mode: nil)
            default:
                throw fail("is \(InputFile.kindName(st.st_mode)); an output must be a file, a character device or a pipe")
            }
        }
        throw fail("cannot write: symbolic links loop back on themselves (too many levels of symbolic links)")
    }

    /// A new name next to the file written, for writing it before renaming.
    func temporarySibling() -> String {
        let folder = (path as NSString).deletingLastPathComponent
        let name = (path as NSString).lastPathComponent
        return (folder.isEmpty ? "" : folder + "/") + ".\(name).swiftcaffe-\(getpid())-\(OutputTarget.counter.next()).tmp"
    }

    private static let counter = Counter()

    private final class Counter: @unchecked Sendable {
        private let lock = NSLockLite()
        private var value = 0
        func next() -> Int { lock.locked { value += 1; return value } }
    }
}

/// A file written whole or not at all: the bytes go to a temporary file in
/// the target's folder, are flushed to disk, and the temporary file is
/// renamed over the target in `commit()`. A failure (a full disk, say), an
/// interruption or an error before commit leaves the previous file as it
/// was and no temporary file behind. Devices and pipes are written directly.
public final class OutputFile {
    let target: OutputTarget
    private var fd: Int32
    private let temporary: String?
    private var finished = false

    /// Opens the output; nothing at `path` changes until `commit()`.
    public init(_ path: String) throws {
        target = try OutputTarget.resolve(path)
        if target.isStream {
            temporary = nil
            fd = open(target.path, O_WRONLY | O_CLOEXEC)
            guard fd >= 0 else { throw OutputFile.failure(path, errno: errno, kept: false) }
        } else {
            let tmp = target.temporarySibling()
            temporary = tmp
            fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, target.mode ?? 0o666)
            if fd >= 0, let mode = target.mode { fchmod(fd, mode) }
            if fd >= 0 { PartialOutputs.register(file: tmp) }
        }
        guard fd >= 0 else { throw OutputFile.failure(path, errno: errno) }
    }

    deinit {
        if !finished { abandon() }
    }

    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        if let e = Self.writeAll(fd, bytes) {
            abandon()
            throw OutputFile.failure(target.requested, errno: e, kept: !target.isStream)
        }
    }

    /// Writes every byte (short writes and EINTR retried); the errno of a failure.
    static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) -> Int32? {
        var done = 0
        while done < bytes.count {
            let n = Foundation.write(fd, bytes.baseAddress! + done, bytes.count - done)
            if n < 0 {
                if errno == EINTR { continue }
                return errno
            }
            done += n
        }
        return nil
    }

    public func write(_ bytes: [UInt8]) throws { try bytes.withUnsafeBytes { try write($0) } }
    public func write(_ text: String) throws { try write(Array(text.utf8)) }

    /// Flushes the bytes to disk and puts the file in place.
    public func commit() throws {
        guard !finished else { return }
        if let tmp = temporary {
            guard fsync(fd) == 0 else {
                let e = errno
                abandon()
                throw OutputFile.failure(target.requested, errno: e)
            }
            let closed = close(fd) == 0
            let e = errno
            fd = -1
            guard closed, rename(tmp, target.path) == 0 else {
                let e2 = closed ? errno : e
                abandon()
                throw OutputFile.failure(target.requested, errno: e2)
            }
            PartialOutputs.unregister(tmp)
            // The rename itself reaches the disk with its folder.
            let folder = (target.path as NSString).deletingLastPathComponent
            let dir = open(folder.isEmpty ? "." : folder, O_RDONLY | O_CLOEXEC)
            if dir >= 0 {
                fsync(dir)
                close(dir)
            }
        } else {
            let closed = close(fd) == 0
            let e = errno
            fd = -1
            if !closed { throw OutputFile.failure(target.requested, errno: e, kept: false) }
        }
        finished = true
    }

    /// Drops what was written: the temporary file is removed, the target untouched.
    public func abandon() {
        if fd >= 0 { close(fd) }
        fd = -1
        if let tmp = temporary {
            unlink(tmp)
            PartialOutputs.unregister(tmp)
        }
        finished = true
    }

    /// `kept`: the write went to a temporary file, so the target is as it was.
    static func failure(_ path: String, errno e: Int32, kept: Bool = true) -> CaffeError {
        let why: String
        switch e {
        case ENOSPC: why = "the disk is full (no space left on device)"
        case EDQUOT: why = "the disk quota is used up"
        case EFBIG: why = "the file is larger than the file system or the process's file size limit allows"
        case EROFS: why = "the file system is read-only"
        case EACCES, EPERM: why = "permission denied"
        case EIO: why = "an input/output error on the device"
        default: why = String(cString: strerror(e))
        }
        return CaffeError.io(path: path, reason: "cannot write: \(why)" + (kept ? "; the previous file, if any, is left as it was" : ""))
    }

}

/// Whole files written through OutputFile.
public enum AtomicFile {
    public static func write(_ bytes: UnsafeRawBufferPointer, to path: String) throws {
        let out = try OutputFile(path)
        try out.write(bytes)
        try out.commit()
    }

    public static func write(_ text: String, to path: String) throws {
        try Array(text.utf8).withUnsafeBytes { try write($0, to: path) }
    }

    /// Packs a protobuf-c message of `size` bytes with `pack` and writes it.
    static func writePacked(size: Int, to path: String, _ pack: (UnsafeMutablePointer<UInt8>) -> Int) throws {
        if let short = MemoryBudget.shortfall(size) {
            throw CaffeError.io(path: path, reason: "cannot write: the file would be \(MemoryBudget.describe(size)), packing it \(short)")
        }
        let buffer = UnsafeMutablePointer<UInt8>.allocate(capacity: max(size, 1))
        defer { buffer.deallocate() }
        let written = pack(buffer)
        guard written == size else { throw CaffeError.io(path: path, reason: "protobuf-c packed \(written) of \(size) bytes") }
        try write(UnsafeRawBufferPointer(start: buffer, count: size), to: path)
    }
}

/// A file that grows as a run goes (a training log, a metrics table): written
/// in place, so it can be followed while it grows, through a symbolic link
/// to its target, never replacing a device or pipe. A write that fails (a
/// full disk) is an error naming the file, not a lost line.
public final class LiveFile {
    public let path: String
    private let fd: Int32

    public init(_ path: String) throws {
        self.path = path
        let target = try OutputTarget.resolve(path)
        fd = open(target.path, O_WRONLY | O_CLOEXEC | (target.isStream ? 0 : O_CREAT | O_TRUNC), 0o666)
        guard fd >= 0 else { throw OutputFile.failure(path, errno: errno, kept: false) }
    }

    deinit { close(fd) }

    public func write(_ text: String) throws {
        if let e = Array(text.utf8).withUnsafeBytes({ OutputFile.writeAll(fd, $0) }) { throw OutputFile.failure(path, errno: e, kept: false) }
    }
}

extension CaffeError {
    /// An `.io` error's reason (the whole description otherwise).
    var reason: String {
        if case .io(_, let r) = self { return r }
        return description
    }
}

/// Creates a folder and its parents (mkdir -p), with an error naming the
/// path and the reason in words instead of Foundation's error codes.
public func createFolder(_ path: String) throws {
    var st = stat()
    if stat(path, &st) == 0 {
        guard st.st_mode & S_IFMT == S_IFDIR else { throw CaffeError.io(path: path, reason: "exists and is not a folder") }
        return
    }
    let parent = (path as NSString).deletingLastPathComponent
    if !parent.isEmpty, parent != path { try createFolder(parent) }
    guard mkdir(path, 0o777) == 0 || errno == EEXIST else {
        throw CaffeError.io(path: path, reason: "cannot create the folder: " + OutputFile.failure(path, errno: errno, kept: false).reason
            .replacingOccurrences(of: "cannot write: ", with: ""))
    }
}
