import CHDF5Files
import Foundation

/// An HDF5 file as Caffe's HDF5 layers use one: named datasets of numbers,
/// read whole as float (double and integer datasets are converted), or
/// written as float a batch of rows at a time. Errors name the file and the
/// dataset; libhdf5's own reason follows in brackets.
public final class HDF5File {
    public let path: String
    private var handle: Int64
    private var isOpen = true

    private init(path: String, handle: Int64) {
        self.path = path
        self.handle = handle
    }

    private static func call(_ path: String, _ body: (UnsafeMutablePointer<CChar>, Int) -> Int32) throws {
        var reason = [CChar](repeating: 0, count: 640)
        let rc = reason.withUnsafeMutableBufferPointer { body($0.baseAddress!, $0.count) }
        guard rc == 0 else {
            throw CaffeError.io(path: path, reason: String(decoding: reason.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
    }

    /// Opens a file to read.
    public static func open(_ path: String) throws -> HDF5File {
        // Looked at first, so a missing file or a folder is said in words.
        let (fd, _) = try InputFile.open(path, allowPipe: false)
        Foundation.close(fd)
        var h: Int64 = -1
        try call(path) { sc_h5_open(path, &h, $0, $1) }
        return HDF5File(path: path, handle: h)
    }

    /// Creates a file to write, replacing one of that name.
    public static func create(_ path: String) throws -> HDF5File {
        var h: Int64 = -1
        try call(path) { sc_h5_create(path, &h, $0, $1) }
        return HDF5File(path: path, handle: h)
    }

    /// Writes what libhdf5 holds buffered to the file.
    public func flush() throws {
        precondition(isOpen, "SwiftCaffe bug: \(path) flushed after closing")
        try Self.call(path) { sc_h5_flush(handle, $0, $1) }
    }

    /// Flushes and closes; reading or writing after this is a SwiftCaffe bug.
    public func close() throws {
        guard isOpen else { return }
        isOpen = false
        try Self.call(path) { sc_h5_close(handle, $0, $1) }
    }

    deinit { if isOpen { try? close() } }

    /// The dimensions of a dataset of numbers.
    public func shape(of dataset: String) throws -> [Int] {
        precondition(isOpen, "SwiftCaffe bug: \(path) read after closing")
        var dims = [Int64](repeating: 0, count: Int(SC_H5_MAX_RANK))
        var rank: Int32 = 0
        try Self.call(path) { sc_h5_dataset_shape(handle, dataset, &dims, &rank, $0, $1) }
        return dims.prefix(Int(rank)).map { Int($0) }
    }

    /// A whole dataset as float, with its dimensions; refused before any
    /// allocation when it would not fit in memory.
    public func read(_ dataset: String) throws -> (shape: [Int], values: [Float]) {
        let s = try shape(of: dataset)
        var count = 1
        for d in s {
            let (p, overflow) = count.multipliedReportingOverflow(by: d)
            guard !overflow else { throw CaffeError.io(path: path, reason: "dataset '\(dataset)' (\(describe(s))) has too many values") }
            count = p
        }
        if let short = MemoryBudget.shortfall(MemoryBudget.floats(count)) {
            throw CaffeError.io(path: path, reason: "dataset '\(dataset)' (\(describe(s))) needs \(MemoryBudget.describe(MemoryBudget.floats(count))) as float, \(short)")
        }
        var values = [Float](repeating: 0, count: count)
        try values.withUnsafeMutableBufferPointer { buf in
            try Self.call(path) { sc_h5_read_floats(handle, dataset, buf.baseAddress, Int64(count), $0, $1) }
        }
        return (s, values)
    }

    /// Appends `shape[0]` rows to a float dataset (created by the first call;
    /// later rows must have the same shape).
    public func append(_ dataset: String, shape: [Int], values: UnsafePointer<Float>) throws {
        precondition(isOpen, "SwiftCaffe bug: \(path) written after closing")
        let dims = shape.map { Int64($0) }
        try Self.call(path) { sc_h5_append_floats(handle, dataset, values, dims, Int32(dims.count), $0, $1) }
    }
}
