import CLMDB
import CLMDBGuard
import Foundation

/// liblmdb's result codes, and the faults CLMDBGuard catches, as errors
/// naming the database.
struct LMDBCall {
    let path: String

    /// An environment that faulted is never called again: its state is unknown.
    final class Broken: @unchecked Sendable {
        var fault: String?
    }

    func check(_ rc: Int32, fault: Int32, _ what: String, broken: Broken? = nil) throws {
        if rc == SC_MDB_FAULT {
            let how = fault == 0 ? "liblmdb's consistency check failed" : (fault == SIGBUS ? "a page could not be read or written (SIGBUS)"
                                                                            : "a page points outside the file (SIGSEGV)")
            broken?.fault = how
            throw CaffeError.io(path: path, reason: "\(what): the database is damaged or its disk is full: \(how)")
        }
        guard rc == 0 else {
            // A short write on a full disk reaches liblmdb as EIO.
            var fs = statvfs()
            let full = rc == ENOSPC || (rc == EIO && statvfs(path, &fs) == 0 && UInt64(fs.f_bavail) * UInt64(fs.f_frsize) < 1 << 20)
            let reason = full ? "the disk is full (no space left on device)" : String(cString: mdb_strerror(rc))
            throw CaffeError.io(path: path, reason: "\(what): \(reason)")
        }
    }
}

/// A Caffe LMDB database (a folder with data.mdb and lock.mdb) read through
/// liblmdb: records in key order, as Caffe's Data layer reads them. Opened
/// read-only; before any record is read, data.mdb must hold every page its
/// header says the database has (a truncated copy is refused, not read into
/// a fault), and liblmdb's faults on a damaged page become errors.
public final class LMDBReader: @unchecked Sendable {
    public let path: String
    public let count: Int
    private var env: OpaquePointer?
    private var txn: OpaquePointer?
    private var cursor: OpaquePointer?
    private var dbi: MDB_dbi = 0
    /// Index of the record the cursor is on (-1: none yet).
    private var position = -1
    private let call: LMDBCall
    private let broken = LMDBCall.Broken()
    /// The pages of the map, where every key and value read must lie.
    private var mapped: (start: UInt, bytes: Int) = (0, 0)

    public init(path: String) throws {
        self.path = path
        call = LMDBCall(path: path)
        var fault: Int32 = -1
        var st = stat()
        guard stat(path, &st) == 0 else {
            throw CaffeError.io(path: path, reason: errno == ENOENT ? "no such LMDB database (a folder holding data.mdb)"
                                : InputFile.openFailure(path, errno: errno))
        }
        var data = stat()
        guard st.st_mode & S_IFMT == S_IFDIR, stat(path + "/data.mdb", &data) == 0, data.st_mode & S_IFMT == S_IFREG else {
            throw CaffeError.io(path: path, reason: "is not an LMDB database: expected a folder holding data.mdb")
        }
        try call.check(mdb_env_create(&env), fault: -1, "cannot create an LMDB environment")
        sc_mdb_guard_env(env)
        // Read-only, no lock file writes, usable from the prefetch thread.
        try call.check(sc_mdb_env_open(env, path, UInt32(MDB_RDONLY | MDB_NOTLS | MDB_NOLOCK), 0o664, &fault), fault: fault,
                       "cannot open the database", broken: broken)
        var info = MDB_envinfo()
        var envStat = MDB_stat()
        mdb_env_info(env, &info)
        mdb_env_stat(env, &envStat)
        let needed = (Int(info.me_last_pgno) + 1).multipliedReportingOverflow(by: Int(envStat.ms_psize))
        guard !needed.overflow, Int(data.st_size) >= needed.partialValue else {
            throw CaffeError.io(path: path + "/data.mdb", reason: "is truncated: the database's header says it has \(Int(info.me_last_pgno) + 1) pages "
                                + "of \(envStat.ms_psize) bytes (\(needed.overflow ? "more than a file holds" : "\(needed.partialValue) bytes")), "
                                + "the file has \(data.st_size) bytes. Copy it again from the source")
        }
        guard let start = Self.mapStart(inode: UInt64(data.st_ino)) else {
            throw CaffeError.io(path: path, reason: "cannot open the database: liblmdb's map of data.mdb was not found in /proc/self/maps")
        }
        mapped = (start, needed.partialValue)
        try call.check(sc_mdb_txn_begin(env, UInt32(MDB_RDONLY), &txn, &fault), fault: fault, "cannot begin a read transaction", broken: broken)
        try call.check(sc_mdb_dbi_open(txn, &dbi, &fault), fault: fault, "cannot open the database's main table", broken: broken)
        var stat = MDB_stat()
        try call.check(sc_mdb_stat(txn, dbi, &stat, &fault), fault: fault, "cannot read the database's size", broken: broken)
        count = Int(stat.ms_entries)
        try call.check(mdb_cursor_open(txn, dbi, &cursor), fault: -1, "cannot open a cursor")
    }

    /// Where the process maps the file with this inode from its start
    /// (liblmdb does not say: me_mapaddr is only set for MDB_FIXEDMAP).
    private static func mapStart(inode: UInt64) -> UInt? {
        guard let maps = try? String(contentsOfFile: "/proc/self/maps", encoding: .utf8) else { return nil }
        for line in maps.split(separator: "\n") {
            let f = line.split(separator: " ", omittingEmptySubsequences: true)
            guard f.count >= 5, UInt64(f[4]) == inode, UInt64(f[2], radix: 16) == 0,
                  let dash = f[0].firstIndex(of: "-"), let start = UInt(f[0][..<dash], radix: 16) else { continue }
            return start
        }
        return nil
    }

    deinit {
        // After a fault liblmdb's structures may be inconsistent: they are left, not freed.
        guard broken.fault == nil else { return }
        if cursor != nil { mdb_cursor_close(cursor) }
        if txn != nil { mdb_txn_abort(txn) }
        if env != nil { mdb_env_close(env) }
    }

    /// The key and value of record `index` (0..<count). Sequential reads
    /// step the cursor; any other index walks from the first record.
    public func record(_ index: Int) throws -> (key: String, value: UnsafeRawBufferPointer) {
        if let how = broken.fault { throw CaffeError.io(path: path, reason: "the database is damaged: \(how)") }
        var key = MDB_val(), value = MDB_val()
        var rc: Int32
        var fault: Int32 = -1
        if index == position + 1, position >= 0 {
            rc = sc_mdb_cursor_get(cursor, &key, &value, MDB_NEXT, &fault)
        } else {
            rc = sc_mdb_cursor_get(cursor, &key, &value, MDB_FIRST, &fault)
            var i = 0
            while rc == 0, i < index {
                rc = sc_mdb_cursor_get(cursor, &key, &value, MDB_NEXT, &fault)
                i += 1
            }
        }
        try call.check(rc, fault: fault, "cannot read record #\(index) of \(count)", broken: broken)
        // A damaged page can hold sizes that point anywhere: both must lie in the map.
        func inMap(_ v: MDB_val) -> Bool {
            let start = UInt(bitPattern: v.mv_data)
            return start >= mapped.start && v.mv_size <= mapped.bytes && start - mapped.start <= UInt(mapped.bytes - v.mv_size)
        }
        guard key.mv_size <= Int(mdb_env_get_maxkeysize(env)), inMap(key), inMap(value) else {
            broken.fault = "record #\(index)'s key or value lies outside the file"
            throw CaffeError.io(path: path, reason: "cannot read record #\(index) of \(count): the database is damaged (its key or value lies outside the file)")
        }
        position = index
        let k = String(decoding: UnsafeRawBufferPointer(start: key.mv_data, count: key.mv_size), as: UTF8.self)
        return (k, UnsafeRawBufferPointer(start: value.mv_data, count: value.mv_size))
    }
}

/// Writes a new LMDB database, as Caffe's convert tools do: records under
/// keys that sort in insertion order, committed in batches. The database is
/// complete after `close()`; a failure before it (a full disk, a bad input
/// record) or `discard()` removes the folder, so no half database is left
/// that a later training would read as whole.
public final class LMDBWriter {
    public let path: String
    private var env: OpaquePointer?
    private var txn: OpaquePointer?
    private var dbi: MDB_dbi = 0
    private var pending = 0
    public private(set) var written = 0
    private let call: LMDBCall
    private let broken = LMDBCall.Broken()
    private var finished = false

    public init(path: String, mapSize: Int = 1 << 40) throws {
        self.path = path
        call = LMDBCall(path: path)
        var st = stat()
        if lstat(path, &st) == 0 {
            throw CaffeError.io(path: path, reason: "already exists; remove it or choose another name (an LMDB is never overwritten)")
        }
        try createFolder(path)
        PartialOutputs.register(folder: path)
        do {
            var fault: Int32 = -1
            try call.check(mdb_env_create(&env), fault: -1, "cannot create an LMDB environment")
            sc_mdb_guard_env(env)
            try call.check(mdb_env_set_mapsize(env, mapSize), fault: -1, "cannot set the map size")
            try call.check(sc_mdb_env_open(env, path, 0, 0o664, &fault), fault: fault, "cannot open the database", broken: broken)
            try begin()
        } catch {
            discard()
            throw error
        }
    }

    deinit {
        if !finished { discard() }
    }

    private func begin() throws {
        var fault: Int32 = -1
        try call.check(sc_mdb_txn_begin(env, 0, &txn, &fault), fault: fault, "cannot begin a write transaction", broken: broken)
        try call.check(sc_mdb_dbi_open(txn, &dbi, &fault), fault: fault, "cannot open the main table", broken: broken)
    }

    public func put(key: String, value: [UInt8]) throws {
        do {
            var k = Array(key.utf8)
            var v = value
            var fault: Int32 = -1
            let rc = k.withUnsafeMutableBytes { kb in
                v.withUnsafeMutableBytes { vb in
                    var mk = MDB_val(mv_size: kb.count, mv_data: kb.baseAddress)
                    var mv = MDB_val(mv_size: vb.count, mv_data: vb.baseAddress)
                    return sc_mdb_put(txn, dbi, &mk, &mv, 0, &fault)
                }
            }
            try call.check(rc, fault: fault, "cannot write record \(key)", broken: broken)
            written += 1
            pending += 1
            if pending == 1000 {
                try commit()
                try begin()
            }
        } catch {
            discard()
            throw error
        }
    }

    private func commit() throws {
        var fault: Int32 = -1
        let rc = sc_mdb_txn_commit(txn, &fault)
        txn = nil
        pending = 0
        try call.check(rc, fault: fault, "cannot commit \(written) records", broken: broken)
    }

    /// Commits what is left; the database is complete after this.
    public func close() throws {
        do {
            if txn != nil { try commit() }
        } catch {
            discard()
            throw error
        }
        mdb_env_close(env)
        env = nil
        finished = true
        PartialOutputs.unregister(path)
    }

    /// Drops the database: the folder and what was written to it are removed.
    public func discard() {
        guard !finished else { return }
        finished = true
        if broken.fault == nil {
            if txn != nil { mdb_txn_abort(txn) }
            if env != nil { mdb_env_close(env) }
        }
        txn = nil
        env = nil
        PartialOutputs.remove(path)
    }
}
