import CKernels
import Dispatch
import Foundation
import Synchronization

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

/// The one parallel-for of the runtime: contiguous chunks, one per thread,
/// with the thread count set by `--threads` or SWIFTCAFFE_THREADS (default:
/// all cores, shared among the mpirun ranks on this machine). The chunks run
/// on SpinningWorkers when the threads fit the cores, else on
/// `DispatchQueue.concurrentPerform`. Each iteration must write only its own
/// outputs, so results do not depend on scheduling.
public enum Parallel {
    private static let state = ThreadCount()

    /// Threads used by `forEach`, and so by BLAS.gemm, which splits across them.
    public static var threads: Int {
        get { state.value }
        set { state.value = max(1, newValue) }
    }

    /// Below this many elements of work a loop runs on the calling thread,
    /// where sharing it costs more than it saves. LeNet's whole pass at
    /// batch 10 (pools of 115 K and 32 K inputs), two builds run in turn:
    /// 0.44–0.45 ms with 4 K or 16 K, 0.47 with 64 K, 0.50 with 256 K. With
    /// Dispatch's 20–45 µs per loop it had been 256 K.
    public static let serialWork = 1 << 14

    /// Runs body(i) for i in 0..<n, in parallel when worthwhile: `work`, when
    /// given, is the loop's elements in all, and a small loop runs serially.
    public static func forEach(_ n: Int, work: Int? = nil, _ body: @Sendable (Int) -> Void) {
        let t = (work ?? Int.max) < serialWork ? 1 : min(threads, n)
        if t <= 1 {
            for i in 0..<n { body(i) }
            return
        }
        let chunk = (n + t - 1) / t
        @Sendable func run(_ c: Int) {
            let start = c * chunk
            let end = min(n, start + chunk)
            var i = start
            while i < end {
                body(i)
                i += 1
            }
        }
        if t > spinningThreads {
            DispatchQueue.concurrentPerform(iterations: t) { c in run(c) }
        } else if !SpinningWorkers.shared.run(threads: t, run) {
            // Inside another loop, or beside one: its threads already hold
            // the cores, so this one runs here.
            for c in 0..<t { run(c) }
        }
    }

    /// Loops of up to this many threads run on SpinningWorkers: as many as
    /// the cores this process may take (shared among the mpirun ranks on
    /// this machine), none when SWIFTCAFFE_SPIN_WAIT=0. More threads than
    /// that would spin while others wait for a core.
    static let spinningThreads: Int = {
        let env = ProcessInfo.processInfo.environment
        if env["SWIFTCAFFE_SPIN_WAIT"] == "0" { return 0 }
        return min(SpinningWorkers.maxThreads, coresForThisProcess)
    }()

    /// The cores this process may run on (fewer under taskset or a
    /// container's cpuset), divided among the ranks of an mpirun job on this
    /// machine.
    static var coresForThisProcess: Int {
        let ranksHere = Int(ProcessInfo.processInfo.environment["OMPI_COMM_WORLD_LOCAL_SIZE"] ?? "") ?? 1
        let allowed = Int(sc_allowed_cpu_count())
        let cores = allowed > 0 ? min(allowed, ProcessInfo.processInfo.activeProcessorCount) : ProcessInfo.processInfo.activeProcessorCount
        return max(1, cores / max(1, ranksHere))
    }

    private final class ThreadCount: @unchecked Sendable {
        private let lock = NSLock()
        private var current: Int = {
            let env = ProcessInfo.processInfo.environment
            if let s = env["SWIFTCAFFE_THREADS"], let n = Int(s), n > 0 { return n }
            // Ranks of an mpirun job on one machine share its cores.
            return coresForThisProcess
        }()
        var value: Int {
            get { lock.lock(); defer { lock.unlock() }; return current }
            set { lock.lock(); current = newValue; lock.unlock() }
        }
    }
}

/// The threads behind `Parallel.forEach`: the calling thread takes chunk 0
/// and long-lived workers the others. Between loops a worker polls for
/// `spinNanoseconds` before it sleeps, so a net's next layer finds it
/// awake; it yields every 64 polls, so a thread that wants its core gets it.
/// Dispatch's concurrentPerform wakes its workers for every call: measured
/// on these 2-core VMs, 20–45 µs per call beyond the work (a loop of
/// 2 × 150 µs took 195 µs, of 2 × 15 µs 52), against under 1 µs here; a
/// forward pass has 50–300 such loops. Used when the loop's threads fit the
/// cores this process may take; a loop that starts while another runs
/// (nested, or from a second thread) finds `run` refused and runs on its
/// caller.
final class SpinningWorkers: @unchecked Sendable {
    static let shared = SpinningWorkers()

    /// How long an idle worker keeps polling before it sleeps: longer than
    /// the serial gaps between a net's layers, short enough not to hold a
    /// core from other work for long.
    static let spinNanoseconds: UInt64 = 200_000

    /// Bumped by one per loop, in the bits above 8; the loop's thread count
    /// in the low 8 bits, so that a worker outside the loop need not read
    /// anything else.
    private let posted = Atomic<Int>(0)
    /// Workers of the current loop not yet done.
    private let pending = Atomic<Int>(0)
    private let sleepers = Atomic<Int>(0)
    /// The CPU the current loop's poster ran on when it posted; the workers
    /// keep off it.
    private let posterCPU = Atomic<Int>(-1)
    private let busy = Atomic<Bool>(false)
    private let condition = NSCondition()
    /// The current loop's chunk body: written before `posted` is bumped,
    /// read by its workers after they see the bump, cleared after they finish.
    private var body: ((Int) -> Void)?
    /// Workers started (index 1...started); changed only while `busy` is held.
    private var started = 0

    static let maxThreads = 255

    /// Runs chunk(c) for c in 0..<threads, 0 on the calling thread; false
    /// (nothing run) if another loop holds the workers.
    func run(threads: Int, _ chunk: (Int) -> Void) -> Bool {
        precondition(threads >= 2 && threads <= Self.maxThreads)
        guard busy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged else { return false }
        defer { busy.store(false, ordering: .releasing) }
        let current = posted.load(ordering: .relaxed)
        while started < threads - 1 {
            started += 1
            let (index, seen) = (started, current)
            let thread = Thread { [unowned self] in self.work(index: index, seen: seen) }
            thread.stackSize = 8 << 20
            thread.start()
        }
        withoutActuallyEscaping(chunk) { chunk in
            body = chunk
            pending.store(threads - 1, ordering: .relaxed)
            posterCPU.store(Int(sc_current_cpu()), ordering: .relaxed)
            posted.store(((current >> 8) + 1) << 8 | threads, ordering: .sequentiallyConsistent)
            if sleepers.load(ordering: .sequentiallyConsistent) > 0 {
                condition.lock()
                condition.broadcast()
                condition.unlock()
            }
            chunk(0)
            var spins = 0
            while pending.load(ordering: .acquiring) > 0 {
                sc_spin_pause()
                spins += 1
                if spins & 63 == 0 { sched_yield() }
            }
            body = nil
        }
        return true
    }

    private func work(index: Int, seen start: Int) -> Never {
        var seen = start
        var awayFrom = -2
        while true {
            var word = posted.load(ordering: .acquiring)
            if word == seen {
                let deadline = DispatchTime.now().uptimeNanoseconds + Self.spinNanoseconds
                var spins = 0
                while word == seen {
                    sc_spin_pause()
                    spins += 1
                    word = posted.load(ordering: .acquiring)
                    if spins & 63 != 0 { continue }
                    sched_yield()
                    if DispatchTime.now().uptimeNanoseconds > deadline && word == seen {
                        // Asleep until the next loop: the poster checks
                        // `sleepers` after bumping `posted`, this thread
                        // `posted` after counting itself in.
                        condition.lock()
                        sleepers.add(1, ordering: .sequentiallyConsistent)
                        while posted.load(ordering: .sequentiallyConsistent) == seen { condition.wait() }
                        sleepers.subtract(1, ordering: .sequentiallyConsistent)
                        condition.unlock()
                        word = posted.load(ordering: .acquiring)
                    }
                }
            }
            seen = word
            guard index < word & 0xFF else { continue }
            // Off the poster's CPU: where both shared one, each waited for
            // the other's time slice (LeNet's pass took 0.9 ms, not 0.5).
            let cpu = posterCPU.load(ordering: .relaxed)
            if cpu != awayFrom {
                awayFrom = cpu
                _ = sc_pin_to_allowed_cpu(Int32(cpu), Int32(index - 1))
            }
            do {
                let chunk = body!
                chunk(index)
            }
            pending.subtract(1, ordering: .releasing)
        }
    }
}
