import COpenBLAS
import Foundation

/// Row-major single-precision BLAS through OpenBLAS's cblas.
public enum BLAS {
    /// C = alpha · op(A) · op(B) + beta · C, with op(A) M×K, op(B) K×N, C M×N, all row-major.
    @inline(__always)
    public static func gemm(transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int, alpha: Float = 1,
                            a: UnsafePointer<Float>, b: UnsafePointer<Float>, beta: Float = 0,
                            c: UnsafeMutablePointer<Float>, lda: Int? = nil, ldb: Int? = nil, ldc: Int? = nil) {
        cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), alpha,
                    a, Int32(lda ?? (transA ? m : k)), b, Int32(ldb ?? (transB ? k : n)), beta, c, Int32(ldc ?? n))
    }

    /// y = alpha · op(A) · x + beta · y, A M×N row-major.
    @inline(__always)
    public static func gemv(trans: Bool = false, m: Int, n: Int, alpha: Float = 1, a: UnsafePointer<Float>,
                            x: UnsafePointer<Float>, beta: Float = 0, y: UnsafeMutablePointer<Float>) {
        cblas_sgemv(CblasRowMajor, trans ? CblasTrans : CblasNoTrans, Int32(m), Int32(n), alpha, a, Int32(n), x, 1, beta, y, 1)
    }

    /// y += alpha · x
    @inline(__always)
    public static func axpy(_ n: Int, _ alpha: Float, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>) {
        cblas_saxpy(Int32(n), alpha, x, 1, y, 1)
    }

    @inline(__always)
    public static func dot(_ n: Int, _ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>) -> Float {
        cblas_sdot(Int32(n), x, 1, y, 1)
    }

    @inline(__always)
    public static func scal(_ n: Int, _ alpha: Float, _ x: UnsafeMutablePointer<Float>) {
        cblas_sscal(Int32(n), alpha, x, 1)
    }

    // MARK: the library and its kernel

    /// The kernel OpenBLAS chose ("SkylakeX", "Haswell", "Prescott", ...).
    public static var coreName: String { String(cString: openblas_get_corename()) }
    public static var threads: Int { Int(openblas_get_num_threads()) }
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
        let set = ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"].map { ", OPENBLAS_CORETYPE=\($0)" } ?? ""
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

    /// Sets OpenBLAS's threads (used inside one GEMM).
    public static func setThreads(_ n: Int) { openblas_set_num_threads(Int32(max(1, n))) }
}
