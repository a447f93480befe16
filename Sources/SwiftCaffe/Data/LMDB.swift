import CLMDB
import Foundation

/// A Caffe LMDB database (a folder with data.mdb and lock.mdb) read through
/// liblmdb: records in key order, as Caffe's Data layer reads them.
public final class LMDBReader: @unchecked Sendable {
    public let path: String
    public let count: Int
    private var env: OpaquePointer?
    private var txn: OpaquePointer?
    private var cursor: OpaquePointer?
    private var dbi: MDB_dbi = 0
    /// Index of the record the cursor is on (-1: none yet).
    private var position = -1

    public init(path: String) throws {
        self.path = path
        func check(_ rc: Int32, _ what: String) throws {
            guard rc == 0 else { throw CaffeError.io(path: path, reason: "\(what): \(String(cString: mdb_strerror(rc)))") }
        }
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
            throw CaffeError.io(path: path, reason: "no such LMDB database (a folder holding data.mdb)")
        }
        guard isDir.boolValue, FileManager.default.fileExists(atPath: path + "/data.mdb") else {
            throw CaffeError.io(path: path, reason: "is not an LMDB database: expected a folder holding data.mdb")
        }
        try check(mdb_env_create(&env), "cannot create an LMDB environment")
        // Read-only, no lock file writes, usable from the prefetch thread.
        try check(mdb_env_open(env, path, UInt32(MDB_RDONLY | MDB_NOTLS | MDB_NOLOCK), 0o664), "cannot open the database")
        try check(mdb_txn_begin(env, nil, UInt32(MDB_RDONLY), &txn), "cannot begin a read transaction")
        try check(mdb_dbi_open(txn, nil, 0, &dbi), "cannot open the database's main table")
        var stat = MDB_stat()
        try check(mdb_stat(txn, dbi, &stat), "cannot read the database's size")
        count = Int(stat.ms_entries)
        try check(mdb_cursor_open(txn, dbi, &cursor), "cannot open a cursor")
    }

    deinit {
        if cursor != nil { mdb_cursor_close(cursor) }
        if txn != nil { mdb_txn_abort(txn) }
        if env != nil { mdb_env_close(env) }
    }

    /// The key and value of record `index` (0..<count). Sequential reads
    /// step the cursor; any other index walks from the first record.
    public func record(_ index: Int) throws -> (key: String, value: UnsafeRawBufferPointer) {
        var key = MDB_val(), value = MDB_val()
        var rc: Int32
        if index == position + 1, position >= 0 {
            rc = mdb_cursor_get(cursor, &key, &value, MDB_NEXT)
        } else {
            rc = mdb_cursor_get(cursor, &key, &value, MDB_FIRST)
            var i = 0
            while rc == 0, i < index {
                rc = mdb_cursor_get(cursor, &key, &value, MDB_NEXT)
                i += 1
            }
        }
        guard rc == 0 else {
            throw CaffeError.io(path: path, reason: "cannot read record #\(index) of \(count): \(String(cString: mdb_strerror(rc)))")
        }
        position = index
        let k = String(decoding: UnsafeRawBufferPointer(start: key.mv_data, count: key.mv_size), as: UTF8.self)
        return (k, UnsafeRawBufferPointer(start: value.mv_data, count: value.mv_size))
    }
}

/// Writes a new LMDB database, as Caffe's convert tools do: records under
/// keys that sort in insertion order, committed in batches.
public final class LMDBWriter {
    public let path: String
    private var env: OpaquePointer?
    private var txn: OpaquePointer?
    private var dbi: MDB_dbi = 0
    private var pending = 0
    public private(set) var written = 0

    public init(path: String, mapSize: Int = 1 << 40) throws {
        self.path = path
        if FileManager.default.fileExists(atPath: path) {
            throw CaffeError.io(path: path, reason: "already exists; remove it or choose another name (an LMDB is never overwritten)")
        }
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        try check(mdb_env_create(&env), "cannot create an LMDB environment")
        try check(mdb_env_set_mapsize(env, mapSize), "cannot set the map size")
        try check(mdb_env_open(env, path, 0, 0o664), "cannot open the database")
        try begin()
    }

    deinit {
        if txn != nil { mdb_txn_abort(txn) }
        if env != nil { mdb_env_close(env) }
    }

    private func check(_ rc: Int32, _ what: String) throws {
        guard rc == 0 else { throw CaffeError.io(path: path, reason: "\(what): \(String(cString: mdb_strerror(rc)))") }
    }

    private func begin() throws {
        try check(mdb_txn_begin(env, nil, 0, &txn), "cannot begin a write transaction")
        try check(mdb_dbi_open(txn, nil, 0, &dbi), "cannot open the main table")
    }

    public func put(key: String, value: [UInt8]) throws {
        var k = Array(key.utf8)
        var v = value
        try k.withUnsafeMutableBytes { kb in
            try v.withUnsafeMutableBytes { vb in
                var mk = MDB_val(mv_size: kb.count, mv_data: kb.baseAddress)
                var mv = MDB_val(mv_size: vb.count, mv_data: vb.baseAddress)
                try check(mdb_put(txn, dbi, &mk, &mv, 0), "cannot write record \(key)")
            }
        }
        written += 1
        pending += 1
        if pending == 1000 { try commit(); try begin() }
    }

    private func commit() throws {
        let rc = mdb_txn_commit(txn)
        txn = nil
        pending = 0
        try check(rc, "cannot commit")
    }

    /// Commits what is left; the database is complete after this.
    public func close() throws {
        if txn != nil { try commit() }
        mdb_env_close(env)
        env = nil
    }
}
