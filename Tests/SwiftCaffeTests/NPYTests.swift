import Foundation
import XCTest
@testable import SwiftCaffe

/// .npy files made by numpy (Fixtures/make_npy_fixtures.py).
final class NPYTests: XCTestCase {
    let expected: [Float] = (0..<24).map { Float($0) * 0.5 - 3 }

    func testReadsEveryVersionAndFloatType() throws {
        for f in ["f4", "f8", "v2", "v3"] {
            let a = try NPY.read(path: Paths.fixture("npy/\(f).npy"))
            XCTAssertEqual(a.shape, [2, 3, 4], f)
            XCTAssertEqual(a.values, expected, f)
        }
        XCTAssertEqual(try NPY.read(path: Paths.fixture("npy/scalar.npy")), NPY.Array(shape: [], values: [3.5]))
    }

    func testRefusesWhatItCannotRead() {
        let cases = [
            ("fortran", "the array is in Fortran order; save it in C order (numpy.ascontiguousarray)"),
            ("i4", "dtype <i4 is not supported; save float32 ('<f4') or float64 ('<f8')"),
            ("obj", "the array holds pickled Python objects; only float32/float64 arrays are read"),
            ("trunc", "truncated data: shape 2×3×4 needs 96 bytes, the file has 91"),
        ]
        for (f, message) in cases {
            let path = Paths.fixture("npy/\(f).npy")
            XCTAssertThrowsError(try NPY.read(path: path)) { e in
                XCTAssertEqual("\(e)", "\(path): error: \(message)")
            }
        }
        XCTAssertThrowsError(try NPY.read(bytes: Array("layer {}".utf8), name: "x.npy")) { e in
            XCTAssertEqual("\(e)", "x.npy: error: not a .npy file (no \\x93NUMPY magic)")
        }
    }

    func testWriteThenReadAndNumpyReadsIt() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("npy-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        for shape in [[2, 3, 4], [5], []] as [Shape] {
            let a = NPY.Array(shape: shape, values: (0..<count(shape)).map { Float($0) / 3 })
            let path = dir.appendingPathComponent("a.npy").path
            try NPY.write(a, to: path)
            XCTAssertEqual(try NPY.read(path: path), a)
            let bytes = try readFile(path)
            XCTAssertEqual((Int(bytes[8]) + 10) % 64, 0, "data starts 64-byte aligned")
        }
        // Byte-identical to numpy's own file for the same float32 array.
        let path = dir.appendingPathComponent("f4.npy").path
        try NPY.write(NPY.Array(shape: [2, 3, 4], values: expected), to: path)
        XCTAssertEqual(try readFile(path), try readFile(Paths.fixture("npy/f4.npy")))
    }
}
