import Foundation
import XCTest
@testable import SwiftCaffe

/// The convolutions' own GEMM (narrow_gemm.c) against the product summed
/// in double precision: row counts that leave a partial tile of 8, column
/// counts that leave a masked vector (1, 17, 49) or cross the 512-column
/// block, K over several blocks of 256, a row stride wider than K, the
/// epilogue (scale, shift, leaky ReLU, ceiling), fp16 and bfloat16 A, and
/// the same bits whatever the thread count.
final class NarrowGEMMTests: XCTestCase {
    private var savedThreads = 1
    override func setUp() { savedThreads = Parallel.threads }
    override func tearDown() { Parallel.threads = savedThreads }

    private struct Case {
        let m, n, k, lda: Int
    }

    /// map(A·B) in double, with A's values as the kernel reads them.
    private func expected(_ a: [Float], _ b: [Float], _ c: Case, scale: [Float], shift: [Float], slope: Float?, ceiling: Float)
        -> [Float] {
        var y = [Float](repeating: 0, count: c.m * c.n)
        for i in 0..<c.m {
            for j in 0..<c.n {
                var s: Double = 0
                for p in 0..<c.k { s += Double(a[i * c.lda + p]) * Double(b[p * c.n + j]) }
                var v = Float(s) * scale[i] + shift[i]
                if let slope {
                    v = v > 0 ? v : v * slope
                    v = min(v, ceiling)
                }
                y[i * c.n + j] = v
            }
        }
        return y
    }

    private func run(_ c: Case, precision: WeightPrecision, threads: Int, relu: Bool) throws -> (got: [Float], want: [Float]) {
        Parallel.threads = threads
        let raw = FormulaParameters.values(c.m * c.lda, salt: Double(c.m * 7 + c.k), scale: 1)
        let a = raw.map { precision.rounded($0) }
        let b = FormulaParameters.values(c.k * c.n, salt: Double(c.n * 3 + 1), scale: 1)
        let scale = (0..<c.m).map { 0.5 + Float($0 % 5) * 0.25 }, shift = (0..<c.m).map { Float($0 % 3) - 1 }
        let (slope, ceiling): (Float?, Float) = relu ? (0.1, 2.5) : (nil, .infinity)
        var y = [Float](repeating: .nan, count: c.m * c.n)
        let bits = precision == .fp32 ? [] : precision.bits(of: raw, count: raw.count)
        let map = ConvEpilogue.Resolved(scale: scale, shift: shift, slope: slope, ceiling: relu ? ceiling : nil)
        a.withUnsafeBufferPointer { pa in
            bits.withUnsafeBufferPointer { ph in
                b.withUnsafeBufferPointer { pb in
                    y.withUnsafeMutableBufferPointer { py in
                        let left = precision == .fp32 ? NarrowGEMM.LeftMatrix(pa.baseAddress!)
                            : NarrowGEMM.LeftMatrix(base: UnsafeRawPointer(ph.baseAddress!), precision: precision)
                        map.withKernelArguments(outputs: c.m) { e in
                            NarrowGEMM.product(m: c.m, n: c.n, k: c.k, a: left, lda: c.lda, b: pb.baseAddress!, ldb: c.n,
                                               c: py.baseAddress!, ldc: c.n, map: e)
                        }
                    }
                }
            }
        }
        return (y, expected(a, b, c, scale: scale, shift: shift, slope: slope, ceiling: ceiling))
    }

    func testProductsMatchTheSumInDouble() throws {
        try XCTSkipUnless(NarrowGEMM.available, "the kernel needs AVX-512")
        let cases = [Case(m: 13, n: 49, k: 300, lda: 300), Case(m: 64, n: 17, k: 513, lda: 520), Case(m: 40, n: 1, k: 9, lda: 9),
                     Case(m: 8, n: 530, k: 27, lda: 27), Case(m: 5, n: 196, k: 256, lda: 256), Case(m: 48, n: 640, k: 64, lda: 64)]
        for c in cases {
            for precision in WeightPrecision.allCases {
                for relu in [false, true] {
                    let (got, want) = try run(c, precision: precision, threads: 2, relu: relu)
                    let scale = want.map { abs($0) }.max() ?? 1
                    let worst = zip(got, want).map { abs($0 - $1) }.max() ?? 0
                    XCTAssertLessThan(worst, 1e-5 * Float(c.k).squareRoot() * max(1, scale),
                                      "\(c) \(precision) relu \(relu): worst error \(worst)")
                }
            }
        }
    }

    /// The loop order for a large B (Winograd with few tiles): a partial row
    /// tile, a strip of 48 columns then a masked one of 2, K over 128 + 128 + 44,
    /// and A's rows wider apart than K.
    func testTheProductForALargeBMatchesTheSumInDouble() throws {
        try XCTSkipUnless(NarrowGEMM.available, "the kernel needs AVX-512")
        for c in [Case(m: 13, n: 50, k: 300, lda: 310), Case(m: 49, n: 512, k: 512, lda: 512), Case(m: 3, n: 16, k: 5, lda: 5)] {
            let a = FormulaParameters.values(c.m * c.lda, salt: Double(c.m + c.k), scale: 1)
            let b = FormulaParameters.values(c.k * c.n, salt: Double(c.n * 5 + 2), scale: 1)
            var y = [Float](repeating: .nan, count: c.m * c.n)
            NarrowGEMM.productWithLargeB(m: c.m, n: c.n, k: c.k, a: a, lda: c.lda, b: b, ldb: c.n, c: &y, ldc: c.n)
            let ones = [Float](repeating: 1, count: c.m), zeros = [Float](repeating: 0, count: c.m)
            let want = expected(a, b, c, scale: ones, shift: zeros, slope: nil, ceiling: .infinity)
            let scale = want.map { abs($0) }.max() ?? 1
            let worst = zip(y, want).map { abs($0 - $1) }.max() ?? 0
            XCTAssertLessThan(worst, 1e-5 * Float(c.k).squareRoot() * max(1, scale), "\(c): worst error \(worst)")
        }
    }

    func testResultsDoNotDependOnTheThreadCount() throws {
        try XCTSkipUnless(NarrowGEMM.available, "the kernel needs AVX-512")
        // Split by rows (m = 64) and by columns (m = 8).
        for c in [Case(m: 64, n: 196, k: 600, lda: 600), Case(m: 8, n: 1000, k: 300, lda: 300)] {
            let one = try run(c, precision: .fp32, threads: 1, relu: true).got
            let two = try run(c, precision: .fp32, threads: 2, relu: true).got
            XCTAssertEqual(one.map(\.bitPattern), two.map(\.bitPattern), "\(c)")
        }
    }
}
