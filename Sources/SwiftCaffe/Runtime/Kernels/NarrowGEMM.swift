import CKernels
import Foundation

/// The products of convolutions, y = map(W · columns), by our own kernel
/// (narrow_gemm.c) that reads the weights in place: OpenBLAS copies the
/// weights into a packed buffer on every call, which for one image's
/// product (N = 49…3136 positions) costs about as much memory traffic as
/// the product itself, and leaves the epilogue to a second pass over the
/// output. AVX-512 CPUs only, where the kernel was measured faster than
/// OpenBLAS for every convolution shape of the zoo; elsewhere, and with
/// SWIFTCAFFE_NARROW_GEMM=0, the convolutions call OpenBLAS as before.
enum NarrowGEMM {
    static let available: Bool = sc_narrow_gemm_available() != 0
        && ProcessInfo.processInfo.environment["SWIFTCAFFE_NARROW_GEMM"] != "0"

    /// A (the weights of a convolution, the transformed inputs of a Winograd
    /// one): fp32, or fp16 / bfloat16 bit patterns widened as they are read.
    struct LeftMatrix: @unchecked Sendable {
        let base: UnsafeRawPointer
        let precision: WeightPrecision

        init(_ fp32: UnsafePointer<Float>) { (base, precision) = (UnsafeRawPointer(fp32), .fp32) }
        init(base: UnsafeRawPointer, precision: WeightPrecision) { (self.base, self.precision) = (base, precision) }

        /// The matrix from row `row` on, for rows `rowLength` elements long.
        func rows(from row: Int, rowLength: Int) -> LeftMatrix {
            LeftMatrix(base: base + row * rowLength * (precision == .fp32 ? 4 : 2), precision: precision)
        }

        /// The fp32 weights (OpenBLAS's paths, which only ever get those).
        var floats: UnsafePointer<Float> {
            precondition(precision == .fp32, "half-width weights go only to NarrowGEMM")
            return base.assumingMemoryBound(to: Float.self)
        }

        var kind: Int32 {
            switch precision {
            case .fp32: 0
            case .fp16: 1
            case .bf16: 2
            }
        }
    }

    /// A row length for B from n columns on that starts every row on a
    /// 64-byte line, so that no vector load splits two lines (7×7 maps'
    /// 49-column rows: 256 × 49 × 4608 took 1.19 ms with rows 49 apart and
    /// 1.04 with rows 64 apart).
    static func alignedRowLength(_ n: Int) -> Int { (n + 15) / 16 * 16 }

    /// C (m × n, rows ldc apart) = map(A · B) for A m × k (rows lda apart, default k)
    /// and B k × n (rows ldb apart); channel o of the map is row o of C (nil: no map).
    /// Split across Parallel's threads by rows of C (by columns when C has
    /// few rows), or run whole on the calling thread when `onThisThread`.
    static func product(m: Int, n: Int, k: Int, a: LeftMatrix, lda: Int? = nil, b: UnsafePointer<Float>, ldb: Int,
                        c: UnsafeMutablePointer<Float>, ldc: Int, map: ConvEpilogue.Resolved.KernelArguments?,
                        onThisThread: Bool = false) {
        precondition(k > 0, "a product over no terms would leave C unwritten")
        let lda = lda ?? k
        let (bp, cp) = (SharedPointer(UnsafeMutablePointer(mutating: b)), SharedPointer(c))
        @Sendable func run(rows: Range<Int>, columns: Range<Int>) {
            withUnsafeTemporaryAllocation(of: Float.self, capacity: a.precision == .fp32 ? 1 : sc_narrow_gemm_scratch_floats()) { scratch in
                sc_narrow_gemm(a.base, a.kind, lda, bp.base, ldb, cp.base, ldc, Int32(rows.lowerBound), Int32(rows.upperBound),
                               Int32(columns.lowerBound), Int32(columns.upperBound), Int32(k), map?.scale, map?.shift,
                               map?.relu ?? 0, map?.slope ?? 0, map?.ceiling ?? .infinity, scratch.baseAddress!)
            }
        }
        let threads = onThisThread || Double(m) * Double(n) * Double(k) < BLAS.splitThreshold ? 1 : Parallel.threads
        if threads == 1 { return run(rows: 0..<m, columns: 0..<n) }
        if m >= 16 * threads {
            // Whole 8-row tiles per part.
            let tiles = (m + 7) / 8
            Parallel.forEach(threads) { part in
                run(rows: min(m, tiles * part / threads * 8)..<min(m, tiles * (part + 1) / threads * 8), columns: 0..<n)
            }
        } else {
            let width = ((n + threads - 1) / threads + 15) / 16 * 16
            Parallel.forEach((n + width - 1) / width) { part in
                run(rows: 0..<m, columns: part * width..<min(n, part * width + width))
            }
        }
    }
}

extension NarrowGEMM {
    /// C (m × n, rows ldc apart) = A · B on the calling thread, all fp32 and
    /// no map, with the loops ordered for a B much larger than A: Winograd's
    /// products with few tiles (A: the tiles' transformed inputs, B: the
    /// transformed weights). `product` streams B from L2 once per eight rows of
    /// A; this keeps a strip of B in L1 while all of A passes it (36 products
    /// of 49 × 512 × 512: about a quarter faster).
    static func productWithLargeB(m: Int, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                                  c: UnsafeMutablePointer<Float>, ldc: Int) {
        precondition(k > 0, "a product over no terms would leave C unwritten")
        sc_narrow_gemm_b_major(a, lda, b, ldb, c, ldc, Int32(m), Int32(n), Int32(k))
    }
}

extension ConvEpilogue.Resolved.KernelArguments {
    /// The map of channels from `first` on (a group's rows of the product).
    func channels(from first: Int) -> Self {
        Self(scale: scale + first, shift: shift + first, relu: relu, slope: slope, ceiling: ceiling)
    }
}
