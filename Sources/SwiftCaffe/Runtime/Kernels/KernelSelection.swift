import Foundation

/// Choosing OpenBLAS's kernel. OpenBLAS picks it when the library loads, or
/// takes OPENBLAS_CORETYPE. Some machines set that variable on purpose (old
/// OpenBLAS builds compute wrong results or crash on their newest CPUs), so a
/// set value is always respected, with a warning if it names a generic
/// kernel. When it is unset and OpenBLAS still fell back to a generic kernel
/// on a CPU with AVX2 or AVX-512, the process runs itself again with the
/// right kernel named; that run checks sgemm against a plain loop and goes
/// back to OpenBLAS's own choice (with a warning) if they disagree.
public enum KernelSelection {
    static let marker = "SWIFTCAFFE_KERNEL_SWITCH"
    /// For tests: treat the loaded kernel as generic.
    static let assumeGeneric = "SWIFTCAFFE_ASSUME_GENERIC_KERNEL"

    /// What happened, for `--version` and `time` to print.
    public nonisolated(unsafe) static var note: String?

    /// Call first thing in main, before any BLAS work. May not return (exec).
    public static func selectAtLaunch() {
        let env = ProcessInfo.processInfo.environment
        if let state = env[marker] {
            switch state {
            case "switched":
                if selfCheckPasses() {
                    note = "note: OpenBLAS fell back to a generic kernel; SwiftCaffe selected \(BLAS.coreName) (sgemm self-check passed)"
                } else {
                    // Back to OpenBLAS's own choice.
                    reexec(setting: [marker: "failed"], removing: ["OPENBLAS_CORETYPE"])
                }
            case "failed":
                note = "warning: the tuned OpenBLAS kernel failed SwiftCaffe's sgemm self-check here; using OpenBLAS's generic kernel (slower)"
            default:
                break
            }
            return
        }
        guard env["OPENBLAS_CORETYPE"] == nil else { return }
        let generic = BLAS.genericKernels.contains(BLAS.coreName) || env[assumeGeneric] == "1"
        guard generic, let best = BLAS.bestKernelForCPU else { return }
        reexec(setting: ["OPENBLAS_CORETYPE": best, marker: "switched"], removing: [assumeGeneric])
    }

    /// A 64×48×80 sgemm against a plain triple loop.
    static func selfCheckPasses() -> Bool {
        let (m, n, k) = (64, 48, 80)
        let a = FormulaParameters.values(m * k, salt: 1, scale: 1), b = FormulaParameters.values(k * n, salt: 2, scale: 1)
        var c = [Float](repeating: 0, count: m * n)
        a.withUnsafeBufferPointer { pa in
            b.withUnsafeBufferPointer { pb in
                c.withUnsafeMutableBufferPointer { pc in
                    BLAS.gemm(m: m, n: n, k: k, a: pa.baseAddress!, b: pb.baseAddress!, c: pc.baseAddress!)
                }
            }
        }
        for i in 0..<m {
            for j in 0..<n {
                var s: Double = 0
                for p in 0..<k { s += Double(a[i * k + p]) * Double(b[p * n + j]) }
                if abs(Double(c[i * n + j]) - s) > 1e-3 * max(1, abs(s)) { return false }
            }
        }
        return true
    }

    private static func reexec(setting: [String: String], removing: [String]) {
        for (k, v) in setting { setenv(k, v, 1) }
        for k in removing { unsetenv(k) }
        let args = CommandLine.arguments
        var cargs: [UnsafeMutablePointer<CChar>?] = args.map { strdup($0) }
        cargs.append(nil)
        execv("/proc/self/exe", &cargs)
        // exec failed: carry on with the kernel we have.
        note = "warning: OpenBLAS runs a generic kernel and SwiftCaffe could not restart with a tuned one"
    }
}
