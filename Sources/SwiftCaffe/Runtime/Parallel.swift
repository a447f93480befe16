import Dispatch
import Foundation

/// A pointer handed to the closures of `Parallel.forEach`. Swift 6 rejects
/// unsafe pointers captured by `concurrentPerform`'s @Sendable closure; each
/// use in this project writes disjoint elements per iteration, which is what
/// makes sharing it safe.
public struct SharedPointer<T>: @unchecked Sendable {
    public let base: UnsafeMutablePointer<T>
    public init(_ base: UnsafeMutablePointer<T>) { self.base = base }
    @inline(__always) public subscript(i: Int) -> T {
        get { base[i] }
        nonmutating set { base[i] = newValue }
    }
    @inline(__always) public func advanced(by n: Int) -> UnsafeMutablePointer<T> { base + n }
}

/// The one parallel-for of the runtime: `DispatchQueue.concurrentPerform`
/// over contiguous chunks, with the thread count set by `--threads` or
/// SWIFTCAFFE_THREADS (default: all cores, shared among the mpirun ranks on
/// this machine). Each iteration must write only
/// its own outputs, so results do not depend on scheduling.
public enum Parallel {
    private static let state = ThreadCount()

    /// Threads used by `forEach`, and so by BLAS.gemm, which splits across them.
    public static var threads: Int {
        get { state.value }
        set { state.value = max(1, newValue) }
    }

    /// Below this many elements of work a loop runs on the calling thread:
    /// waking the workers costs more, about 50 µs on these machines (LeNet's
    /// pools at batch 10, 115 K and 32 K inputs: 0.05 and 0.04 ms on one
    /// thread, 0.09 and 0.11 ms on two).
    public static let serialWork = 1 << 18

    /// Runs body(i) for i in 0..<n, in parallel when worthwhile: `work`, when
    /// given, is the loop's elements in all, and a small loop runs serially.
    public static func forEach(_ n: Int, work: Int? = nil, _ body: @Sendable (Int) -> Void) {
        let t = (work ?? Int.max) < serialWork ? 1 : min(threads, n)
        if t <= 1 {
            for i in 0..<n { body(i) }
            return
        }
        let chunk = (n + t - 1) / t
        DispatchQueue.concurrentPerform(iterations: t) { c in
            let start = c * chunk
            let end = min(n, start + chunk)
            var i = start
            while i < end {
                body(i)
                i += 1
            }
        }
    }

    private final class ThreadCount: @unchecked Sendable {
        private let lock = NSLock()
        private var current: Int = {
            let env = ProcessInfo.processInfo.environment
            if let s = env["SWIFTCAFFE_THREADS"], let n = Int(s), n > 0 { return n }
            // Ranks of an mpirun job on one machine share its cores.
            let ranksHere = Int(env["OMPI_COMM_WORLD_LOCAL_SIZE"] ?? "") ?? 1
            return max(1, ProcessInfo.processInfo.activeProcessorCount / max(1, ranksHere))
        }()
        var value: Int {
            get { lock.lock(); defer { lock.unlock() }; return current }
            set { lock.lock(); current = newValue; lock.unlock() }
        }
    }
}
