import COpenBLAS
import Foundation

/// Row-major single-precision BLAS through OpenBLAS's cblas, on the
/// runtime's one set of threads. OpenBLAS itself runs single-threaded: its
/// own threads spin for a while after every call (about 0.1 s, yielding),
/// and on these 2-core machines they took the cores from the parallel-for
/// work between GEMMs (a Winograd convolution spent 15-25 % of its samples
/// in their sched_yield). Large products are split here instead, into one
/// single-threaded GEMM per thread of `Parallel`; each element of C is still
/// one kernel's dot product over all of K, so the split does not change the
/// result.
public enum BLAS {
    /// Set once, before the first call: OpenBLAS's own threading off.
    private static let libraryThreadingOff: Void = { openblas_set_num_threads(1) }()

    /// Below this many multiply-adds a GEMM runs whole on the calling thread
    /// (OpenBLAS's own threshold for threading, 65536 × 4).
    static let splitThreshold = 262_144.0

    /// C = alpha · op(A) · op(B) + beta · C, with op(A) M×K, op(B) K×N, C M×N, all row-major.
    /// Split across Parallel's threads by columns of C (by rows when C is narrow).
    public static func gemm(transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int, alpha: Float = 1,
                            a: UnsafePointer<Float>, b: UnsafePointer<Float>, beta: Float = 0,
                            c: UnsafeMutablePointer<Float>, lda: Int? = nil, ldb: Int? = nil, ldc: Int? = nil) {
        let (lda, ldb, ldc) = (lda ?? (transA ? m : k), ldb ?? (transB ? k : n), ldc ?? n)
        let threads = Parallel.threads
        guard threads > 1, Double(m) * Double(n) * Double(k) >= splitThreshold else {
            gemmOnThisThread(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, b: b, beta: beta, c: c,
                             lda: lda, ldb: ldb, ldc: ldc)
            return
        }
        let (pa, pb, pc) = (SharedPointer(UnsafeMutablePointer(mutating: a)), SharedPointer(UnsafeMutablePointer(mutating: b)),
                            SharedPointer(c))
        if n >= 32 * threads {
            // Column blocks, multiples of 16 wide (the kernel's register block).
            let width = ((n + threads - 1) / threads + 15) / 16 * 16
            Parallel.forEach((n + width - 1) / width) { part in
                let j = part * width
                gemmOnThisThread(transA: transA, transB: transB, m: m, n: min(width, n - j), k: k, alpha: alpha, a: pa.base,
                                 b: pb.base + (transB ? j * ldb : j), beta: beta, c: pc.base + j, lda: lda, ldb: ldb, ldc: ldc)
            }
        } else if m >= 8 * threads {
            let height = ((m + threads - 1) / threads + 7) / 8 * 8
            Parallel.forEach((m + height - 1) / height) { part in
                let i = part * height
                gemmOnThisThread(transA: transA, transB: transB, m: min(height, m - i), n: n, k: k, alpha: alpha,
                                 a: pa.base + (transA ? i : i * lda), b: pb.base, beta: beta, c: pc.base + i * ldc,
                                 lda: lda, ldb: ldb, ldc: ldc)
            }
        } else {
            gemmOnThisThread(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, b: b, beta: beta, c: c,
                             lda: lda, ldb: ldb, ldc: ldc)
        }
    }

    /// One GEMM on the calling thread: for work already spread across
    /// threads (Winograd's 36 products, per-image products).
    public static func gemmOnThisThread(transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int, alpha: Float = 1,
                                        a: UnsafePointer<Float>, b: UnsafePointer<Float>, beta: Float = 0,
                                        c: UnsafeMutablePointer<Float>, lda: Int, ldb: Int, ldc: Int) {
        _ = libraryThreadingOff
        cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    /// Vectors are cut into blocks of this many floats for the threads; a
    /// fixed size, so that `dot` sums in the same order whatever the thread count.
    static let vectorBlock = 1 << 16

    /// y += alpha · x
    public static func axpy(_ n: Int, _ alpha: Float, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>) {
        _ = libraryThreadingOff
        let (px, py) = (SharedPointer(UnsafeMutablePointer(mutating: x)), SharedPointer(y))
        Parallel.forEach((n + vectorBlock - 1) / vectorBlock, work: n) { i in
            let lo = i * vectorBlock
            cblas_saxpy(Int32(min(vectorBlock, n - lo)), alpha, px.base + lo, 1, py.base + lo, 1)
        }
    }

    /// Σ x·y, summed per block of `vectorBlock` and then over the blocks in order.
    public static func dot(_ n: Int, _ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>) -> Float {
        _ = libraryThreadingOff
        let blocks = (n + vectorBlock - 1) / vectorBlock
        if blocks <= 1 { return cblas_sdot(Int32(n), x, 1, y, 1) }
        var partial = [Float](repeating: 0, count: blocks)
        partial.withUnsafeMutableBufferPointer { p in
            let (px, py, out) = (SharedPointer(UnsafeMutablePointer(mutating: x)), SharedPointer(UnsafeMutablePointer(mutating: y)),
                                 SharedPointer(p.baseAddress!))
            Parallel.forEach(blocks, work: n) { i in
                let lo = i * vectorBlock
                out[i] = cblas_sdot(Int32(min(vectorBlock, n - lo)), px.base + lo, 1, py.base + lo, 1)
            }
        }
        return partial.reduce(0, +)
    }

    /// x *= alpha
    public static func scal(_ n: Int, _ alpha: Float, _ x: UnsafeMutablePointer<Float>) {
        _ = libraryThreadingOff
        let px = SharedPointer(x)
        Parallel.forEach((n + vectorBlock - 1) / vectorBlock, work: n) { i in
            let lo = i * vectorBlock
            cblas_sscal(Int32(min(vectorBlock, n - lo)), alpha, px.base + lo, 1)
        }
    }

    // MARK: the library and its kernel

    /// The kernel OpenBLAS chose ("SkylakeX", "Haswell", "Prescott", ...).
    public static var coreName: String { String(cString: openblas_get_corename()) }
    /// Threads a large GEMM is split across (OpenBLAS runs each part single-threaded).
    public static var threads: Int { Parallel.threads }
    public static var config: String { String(cString: openblas_get_config()).trimmingCharacters(in: .whitespaces) }

    /// Kernels that run the generic code path: sgemm 5–7× slower than a tuned one.
    static let genericKernels: Set<String> = ["Prescott", "Core2", "Penryn", "Dunnington", "Nehalem", "Atom", "Banias",
                                              "Katmai", "Coppermine", "Northwood", "Generic", "Unknown"]

    /// The tuned kernel this CPU should use, from /proc/cpuinfo's flags.
    static var bestKernelForCPU: String? {
        guard let info = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
              let flagsLine = info.split(separator: "\n").first(where: { $0.hasPrefix("flags") })
        else { return nil }
        let flags = Set(flagsLine.split(separator: " ").map(String.init))
        if flags.contains("avx512f") && flags.contains("avx512bw") && flags.contains("avx512vl") { return "SkylakeX" }
        if flags.contains("avx2") && flags.contains("fma") { return "Haswell" }
        if flags.contains("avx") { return "Sandybridge" }
        return nil
    }

    /// One line for `--version` and `swiftcaffe time`.
    public static var summary: String {
        let env = ProcessInfo.processInfo.environment
        let chosen = env[KernelSelection.marker] == "switched" ? " (set by SwiftCaffe: OpenBLAS had picked a generic kernel)" : ""
        let set = env["OPENBLAS_CORETYPE"].map { ", OPENBLAS_CORETYPE=\($0)\(chosen)" } ?? ""
        return "OpenBLAS, kernel \(coreName), \(threads) thread(s)\(set)"
    }

    /// A warning when the kernel is generic on a CPU that has a tuned one.
    public static var kernelWarning: String? {
        guard genericKernels.contains(coreName), let best = bestKernelForCPU else { return nil }
        if let set = ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"] {
            return "warning: OPENBLAS_CORETYPE=\(set) selects OpenBLAS's generic '\(coreName)' kernel on a CPU that supports '\(best)'; "
                + "sgemm runs 5-7x slower. Unset it or set OPENBLAS_CORETYPE=\(best) if that kernel is trusted on this machine."
        }
        return "warning: OpenBLAS picked its generic '\(coreName)' kernel on a CPU that supports '\(best)'; "
            + "run with OPENBLAS_CORETYPE=\(best) for full speed."
    }
}
