import CZlib
import Foundation
import XCTest
@testable import SwiftCaffe

/// Seeded mutations of real files through every reader SwiftCaffe has:
/// protobuf (caffemodel, binaryproto, solverstate), .npy, IDX plain and
/// gzip, LMDB records, JPEG and PNG, image lists. Besides random bytes the
/// mutations insert the values that break size arithmetic (varints near
/// 2^64, 32-bit sizes of 2^31 − 1, shapes past 2^63). Each case must give a
/// value or a CaffeError naming its file; a trap ends the test run.
/// FUZZ_CASES sets the number of cases per reader (default 3000 / 10).
final class ReaderFuzzTests: XCTestCase {
    typealias Random = FuzzTests.Random

    var tmp: URL!

    override func setUpWithError() throws {
        tmp = FileManager.default.temporaryDirectory.appendingPathComponent("swiftcaffe-readerfuzz-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: tmp) }

    var cases: Int { max(40, (Int(ProcessInfo.processInfo.environment["FUZZ_CASES"] ?? "") ?? 3000) / 10) }

    static let interesting: [[UInt8]] = [
        HostileInputTests.varint(UInt64.max), HostileInputTests.varint(UInt64.max - 4), HostileInputTests.varint(1 << 63),
        HostileInputTests.varint(1 << 40), HostileInputTests.varint(0x7FFF_FFFF), HostileInputTests.varint(0),
        [0x7F, 0xFF, 0xFF, 0xFF], [0xFF, 0xFF, 0xFF, 0xFF], [0x80, 0, 0, 0], [0, 0, 0, 0],
        Array("(4611686018427387904, 4)".utf8), Array("(-1,)".utf8), Array("'<f8'".utf8), [0x0A], [0x12], [0x3A, 0x00],
    ]

    static func mutate(_ bytes: [UInt8], _ r: inout Random, keepPrefix: Int = 0) -> [UInt8] {
        var b = bytes
        for _ in 0..<(1 + r.below(3)) {
            let lo = min(keepPrefix, b.count)
            let at = lo + r.below(b.count - lo + 1)
            switch r.below(6) {
            case 0: if at < b.count { b[at] = UInt8(truncatingIfNeeded: r.next()) }
            case 1: b.removeSubrange(at..<min(b.count, at + 1 + r.below(32)))
            case 2: b.insert(UInt8(truncatingIfNeeded: r.next()), at: at)
            case 3: b.insert(contentsOf: interesting[r.below(interesting.count)], at: at)
            case 4:  // overwrite with an interesting value
                let v = interesting[r.below(interesting.count)]
                for (k, x) in v.enumerated() where at + k < b.count { b[at + k] = x }
            default: b = Array(b.prefix(at))  // truncate
            }
        }
        return b
    }

    /// Runs `read` on mutated copies of `seeds`, written to files; errors must name their file.
    func fuzz(_ name: String, seeds: [[UInt8]], seed: UInt64, keepPrefix: Int = 0, alsoNaming other: String? = nil,
              _ read: (String) throws -> Void) throws {
        var r = Random(state: seed)
        var ok = 0, refused = 0
        for i in 0..<cases {
            let bytes = Self.mutate(seeds[i % seeds.count], &r, keepPrefix: keepPrefix)
            let file = tmp.appendingPathComponent("\(name)-\(i)").path
            try Data(bytes).write(to: URL(fileURLWithPath: file))
            do {
                try read(file)
                ok += 1
            } catch let e as CaffeError {
                refused += 1
                let named = e.description.contains(tmp.path) || other.map { e.description.contains($0) } == true
                XCTAssertTrue(named || !e.diagnostics.isEmpty, "\(name) case \(i): \(e)")
            }
            unlink(file)
        }
        XCTAssertGreaterThan(refused, 0, "\(name): no mutation was refused")
        XCTAssertEqual(ok + refused, cases)
    }

    func testProtobufFiles() throws {
        let weights = try ["small_v2", "small_v1", "small_unpacked"].map { try readFile(Paths.fixture("weights/\($0).caffemodel")) }
        try fuzz("caffemodel", seeds: weights, seed: 0xCA_FE) { p in
            let m = try CaffeModel(path: p)
            for l in m.layers { for b in l.blobs { _ = b.values.count } }
        }
        try fuzz("binaryproto", seeds: [try readFile(Paths.fixture("weights/mean.binaryproto"))], seed: 0xB1_0B) { p in
            _ = try MeanImage.read(path: p).perChannel
        }
        let state = tmp.appendingPathComponent("seed.solverstate").path
        let blob = Blob([2, 3])
        blob.set([1, 2, 3, 4, 5, 6])
        try SolverState.write(iteration: 7, learnedNet: "x.caffemodel", historyBlobs: [blob], currentStep: 1, solverType: "SGD",
                              dataBatches: [3], dataRecords: [24], testDataRecords: [16], to: state)
        try fuzz("solverstate", seeds: [try readFile(state)], seed: 0x57_A7E) { p in _ = try SolverState.read(path: p) }
    }

    func testNumpyFiles() throws {
        let seeds = try ["f4", "f8", "v2", "v3", "scalar"].map { try readFile(Paths.fixture("npy/\($0).npy")) }
        try fuzz("npy", seeds: seeds, seed: 0x4E_5059) { p in _ = try NPY.read(path: p) }
    }

    func testIDXPlainAndGzip() throws {
        let images = try IDXFile.gunzipIfNeeded(path: Paths.fixture("idx/tiny-images-idx3-ubyte.gz"))
        // The mutations keep the gzip magic often enough to reach inflate.
        let gz = Self.gzip(images)
        try fuzz("idx", seeds: [images], seed: 0x1D_C0) { p in _ = try IDXFile.read(path: p) }
        try fuzz("idxgz", seeds: [gz], seed: 0x1D_C1, keepPrefix: 2) { p in _ = try IDXFile.read(path: p) }
        // The header inside a good gzip stream.
        var r = Random(state: 0x1D_C2)
        for i in 0..<cases / 4 {
            let bytes = Self.gzip(Self.mutate(images, &r))
            let p = tmp.appendingPathComponent("inner-\(i)").path
            try Data(bytes).write(to: URL(fileURLWithPath: p))
            do { _ = try IDXFile.read(path: p) } catch let e as CaffeError { XCTAssertTrue(e.description.contains(p), "\(e)") }
        }
    }

    func testImagesAndLists() throws {
        let images = Paths.fixture("images")
        let seeds = try ["photo.jpg", "grey.jpg", "cmyk.jpg", "rgb.png", "rgba.png", "rgb16.png", "grey.png"].map { try readFile("\(images)/\($0)") }
        try fuzz("image", seeds: seeds, seed: 0x1A_6E) { p in _ = try RGBImage.read(path: p) }
        let list = Array("photo.jpg 1\ngrey.jpg 2\r\nrgb.png 0\r\n\n".utf8)
        // A damaged line may name an image that is not there: that image is what the error names.
        try fuzz("list", seeds: [list], seed: 0x11_57, alsoNaming: images) { p in
            let l = try ImageListRecords(listPath: p, rootFolder: images + "/", color: true, size: (8, 8), shuffleSeed: nil)
            for i in 0..<l.count { _ = try l.record(i) }
        }
    }

    func testLMDBRecords() throws {
        // Records as Caffe writes them, then their Datum bytes mutated inside a good database.
        let source = try IDXRecords(IDXDataset(source: Paths.fixture("idx/tiny-images-idx3-ubyte.gz")))
        var r = Random(state: 0x1_3DB)
        let db = tmp.appendingPathComponent("db").path
        let writer = try LMDBWriter(path: db)
        var count = 0
        for i in 0..<cases {
            let d = try source.record(i % source.count)
            try writer.put(key: String(format: "%08d", i), value: Self.mutate(d.serialized(), &r))
            count += 1
        }
        try writer.close()
        let reader = try LMDBRecords(path: db, color: nil)
        var refused = 0
        for i in 0..<count {
            do { _ = try reader.record(i) } catch let e as CaffeError {
                refused += 1
                XCTAssertTrue(e.description.contains("record #\(i)"), "\(e)")
            }
        }
        XCTAssertGreaterThan(refused, 0)
    }

    /// gzip of `bytes` (zlib's deflate with a gzip header).
    static func gzip(_ bytes: [UInt8]) -> [UInt8] {
        var stream = z_stream()
        precondition(deflateInit2_(&stream, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY, ZLIB_VERSION,
                                   Int32(MemoryLayout<z_stream>.size)) == Z_OK)
        defer { deflateEnd(&stream) }
        var out = [UInt8](repeating: 0, count: Int(deflateBound(&stream, UInt(bytes.count))) + 64)
        var input = bytes
        let written = input.withUnsafeMutableBufferPointer { i in
            out.withUnsafeMutableBufferPointer { o in
                stream.next_in = i.baseAddress
                stream.avail_in = UInt32(i.count)
                stream.next_out = o.baseAddress
                stream.avail_out = UInt32(o.count)
                precondition(deflate(&stream, Z_FINISH) == Z_STREAM_END)
                return o.count - Int(stream.avail_out)
            }
        }
        return Array(out.prefix(written))
    }
}
