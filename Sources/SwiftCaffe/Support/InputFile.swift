import Foundation

/// Reading the files users give: the reason a path cannot be read is said in
/// words (a symlink loop is not "no such file"), only regular files and pipes
/// are read (a device such as /dev/zero never ends), and a file is not read
/// whole into memory the machine does not have.
public enum InputFile {
    /// Why `path` could not be opened, from errno.
    static func openFailure(_ path: String, errno e: Int32) -> String {
        switch e {
        case ENOENT:
            var st = stat()
            if lstat(path, &st) == 0, st.st_mode & S_IFMT == S_IFLNK {
                let target = (try? FileManager.default.destinationOfSymbolicLink(atPath: path)) ?? "?"
                return "is a symbolic link to \(target), which does not exist"
            }
            return "no such file"
        case ELOOP: return "symbolic links loop back on themselves (too many levels of symbolic links)"
        case EACCES, EPERM: return "permission denied"
        case ENOTDIR: return "a part of the path is not a folder"
        case ENAMETOOLONG: return "the path is too long"
        default: return String(cString: strerror(e))
        }
    }

    /// What a file that is not a regular file is, for refusals.
    static func kindName(_ mode: mode_t) -> String {
        switch mode & S_IFMT {
        case S_IFDIR: return "a directory"
        case S_IFCHR: return "a character device"
        case S_IFBLK: return "a block device"
        case S_IFSOCK: return "a socket"
        case S_IFIFO: return "a pipe"
        default: return "not a regular file"
        }
    }

    /// Opens `path` for reading; the descriptor and its stat, or an error
    /// naming the file. Pipes are accepted only when `allowPipe`.
    static func open(_ path: String, allowPipe: Bool = true) throws -> (fd: Int32, stat: stat) {
        func refuse(_ st: stat) -> CaffeError {
            CaffeError.io(path: path, reason: "is \(kindName(st.st_mode)), not a file" + (st.st_mode & S_IFMT == S_IFDIR ? "" : "; give a regular file"))
        }
        func accepted(_ st: stat) -> Bool { st.st_mode & S_IFMT == S_IFREG || (allowPipe && st.st_mode & S_IFMT == S_IFIFO) }
        // Looked at before opening: opening a device can have effects of its own.
        var st = stat()
        guard stat(path, &st) == 0 else { throw CaffeError.io(path: path, reason: openFailure(path, errno: errno)) }
        guard accepted(st) else { throw refuse(st) }
        let fd = Foundation.open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw CaffeError.io(path: path, reason: openFailure(path, errno: errno)) }
        guard fstat(fd, &st) == 0, accepted(st) else {
            close(fd)
            throw refuse(st)
        }
        return (fd, st)
    }
}

/// Reads a whole file (or a pipe), with an error naming it when it cannot
/// be read, or when it is larger than the memory SwiftCaffe may take.
public func readFile(_ path: String) throws -> [UInt8] {
    let (fd, st) = try InputFile.open(path)
    defer { close(fd) }
    let known = st.st_mode & S_IFMT == S_IFREG ? Int(st.st_size) : nil
    if let n = known, let short = MemoryBudget.shortfall(n) {
        throw CaffeError.io(path: path, reason: "is \(MemoryBudget.describe(n)), \(short)")
    }
    var out = [UInt8]()
    out.reserveCapacity(known ?? 1 << 16)
    var chunk = [UInt8](repeating: 0, count: 1 << 20)
    while true {
        let got = chunk.withUnsafeMutableBytes { Foundation.read(fd, $0.baseAddress, $0.count) }
        if got < 0 {
            if errno == EINTR { continue }
            throw CaffeError.io(path: path, reason: "cannot be read (\(String(cString: strerror(errno))))")
        }
        if got == 0 { break }
        out.append(contentsOf: chunk[0..<got])
        // A pipe has no size to check first: count as it comes.
        if known == nil, let short = MemoryBudget.shortfall(out.count) {
            throw CaffeError.io(path: path, reason: "holds at least \(MemoryBudget.describe(out.count)), \(short)")
        }
    }
    return out
}

/// A file's identity (device and inode, symbolic links followed): two paths
/// name one file when these agree, whatever their spelling or hard links.
struct FileIdentity: Equatable {
    let device: UInt64
    let inode: UInt64

    init?(_ path: String) {
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        device = UInt64(st.st_dev)
        inode = UInt64(st.st_ino)
    }
}

/// Refuses to write an output over one of the command's inputs, before
/// anything is written: `inputs` are (what the file is, its path).
public func refuseOverwritingInputs(output: String, what: String = "output", inputs: [(role: String, path: String)]) throws {
    guard let out = FileIdentity(output) else { return }
    for (role, path) in inputs where FileIdentity(path) == out {
        let same = path == output ? "" : " (\(path), under another name)"
        throw CaffeError.usage("the \(what) \(output) is the \(role)\(same); writing it would destroy the input. "
                               + "Choose another path for the \(what)")
    }
}

/// The lines of a text file, ended by LF, CRLF or CR (files written on
/// Windows or old Macs read as Caffe reads them); the last may be empty.
public func textLines(_ bytes: [UInt8]) -> [Substring] {
    String(decoding: bytes, as: UTF8.self).split(omittingEmptySubsequences: false, whereSeparator: \.isNewline)
}
