import Foundation

/// The processes training one model together (synchronous data-parallel
/// SGD): `MPIGroup` in the MPI build (`make mpi`). Every call is collective:
/// all ranks make it, in the same order.
public protocol ProcessGroup: AnyObject {
    var rank: Int { get }
    var size: Int { get }
    /// `bytes` bytes at `buffer` from rank 0 to every rank.
    func broadcast(_ buffer: UnsafeMutableRawPointer, bytes: Int) throws
    /// Every rank's `bytes` (all of one length), in rank order.
    func allGather(_ bytes: [UInt8]) throws -> [[UInt8]]
    /// Starts summing `count` floats at `buffer` across the ranks, in place.
    func startSum(_ buffer: UnsafeMutablePointer<Float>, count: Int) throws
    /// Lets started sums advance (MPI moves data only inside its calls).
    func poll() throws
    /// Waits until every started sum is done.
    func finishSums() throws
    /// The largest of every rank's `value`.
    func max(_ value: Int32) throws -> Int32
}

/// Sums the gradients of all ranks while backward still runs, as Caffe's
/// multi-GPU training did with NCCL: each parameter joins a bucket as soon
/// as the backward of the first layer that uses it is done (its gradient is
/// then final), a bucket is sent once it holds `bucketBytes`, and the last
/// ones after backward. Each rank's loss already averages its own batch, so
/// the sum is divided by the rank count: the gradient of the combined batch.
final class GradientExchange {
    let group: ProcessGroup
    private let params: [Blob]
    /// Parameter indices whose gradient is final after layer i's backward.
    private let readyAfter: [Int: [Int]]
    /// Buckets of parameter indices, in the order they become final.
    private let buckets: [[Int]]
    private let bucketOf: [Int]
    private let storage: [AlignedStorage]
    private let lossBuffer = AlignedStorage(capacity: 1)
    private var pending: [Int] = []
    private var sent = 0
    /// Seconds spent waiting for sums after backward.
    private(set) var waitSeconds = 0.0

    /// About 4 MiB per bucket: large enough that per-message costs vanish,
    /// small enough that the first sums start early in backward.
    static let bucketBytes = 4 << 20

    init(net: Net, group: ProcessGroup) {
        self.group = group
        params = net.learnableParams
        let index = Dictionary(uniqueKeysWithValues: params.enumerated().map { (ObjectIdentifier($0.element), $0.offset) })
        var firstUser = [Int](repeating: Int.max, count: params.count)
        for (i, l) in net.layers.enumerated() {
            for p in l.params { if let k = index[ObjectIdentifier(p)] { firstUser[k] = min(firstUser[k], i) } }
        }
        var ready: [Int: [Int]] = [:]
        for (k, i) in firstUser.enumerated() { ready[i == Int.max ? 0 : i, default: []].append(k) }
        readyAfter = ready
        // Final order: layers last to first.
        let order = ready.keys.sorted(by: >).flatMap { ready[$0]! }
        var buckets: [[Int]] = [], current: [Int] = [], floats = 0
        for k in order {
            current.append(k)
            floats += params[k].count
            if floats * 4 >= Self.bucketBytes {
                buckets.append(current)
                (current, floats) = ([], 0)
            }
        }
        if !current.isEmpty { buckets.append(current) }
        self.buckets = buckets
        var bucketOf = [Int](repeating: 0, count: params.count)
        for (b, ks) in buckets.enumerated() { for k in ks { bucketOf[k] = b } }
        self.bucketOf = bucketOf
        let params = params
        storage = buckets.map { ks in AlignedStorage(capacity: ks.reduce(0) { $0 + params[$1].count }) }
    }

    /// Before the last backward of an iteration.
    func begin() {
        pending = buckets.map(\.count)
        sent = 0
    }

    /// After layer i's backward (called for every layer, last to first).
    func layerDone(_ i: Int) throws {
        for k in readyAfter[i] ?? [] { pending[bucketOf[k]] -= 1 }
        // Buckets go out in order, each once all its parameters are final.
        while sent < buckets.count, pending[sent] == 0 {
            try send(sent)
            sent += 1
        }
        try group.poll()
    }

    private func send(_ b: Int) throws {
        var at = storage[b].pointer
        for k in buckets[b] {
            at.update(from: params[k].diff, count: params[k].count)
            at += params[k].count
        }
        try group.startSum(storage[b].pointer, count: storage[b].capacity)
    }

    /// After backward: sends what is left, waits, and writes each averaged
    /// gradient back. Returns the loss averaged over the ranks.
    func finish(loss: Float) throws -> Float {
        while sent < buckets.count {
            try send(sent)
            sent += 1
        }
        lossBuffer.pointer[0] = loss
        let t0 = DispatchTime.now().uptimeNanoseconds
        try group.startSum(lossBuffer.pointer, count: 1)
        try group.finishSums()
        waitSeconds += Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
        let scale = 1 / Float(group.size)
        // One pass per gradient: the scaled sum written back.
        for (b, ks) in buckets.enumerated() {
            var at = storage[b].pointer
            for k in ks {
                let (n, g) = (params[k].count, params[k].diff)
                for j in 0..<n { g[j] = at[j] * scale }
                at += n
            }
        }
        return lossBuffer.pointer[0] * scale
    }
}

/// Starting and checking a data-parallel run.
public enum DataParallel {
    /// The group this process trains in when mpirun started it with more
    /// than one rank; nil when it runs alone. A binary built without MPI
    /// refuses a multi-rank launch instead of training N separate models.
    public static func launch() throws -> ProcessGroup? {
        let env = ProcessInfo.processInfo.environment
        let ranks = Int(env["OMPI_COMM_WORLD_SIZE"] ?? env["PMI_SIZE"] ?? "1") ?? 1
        #if SWIFTCAFFE_MPI
        return ranks > 1 ? try MPIGroup() : nil
        #else
        guard ranks <= 1 else {
            throw CaffeError.usage("started by mpirun with \(ranks) ranks, but this swiftcaffe was built without MPI, so each rank "
                                   + "would train a model of its own. Build the MPI binary with `make mpi` and run "
                                   + "`mpirun -np \(ranks) .build/mpi/release/swiftcaffe train ...`")
        }
        return nil
        #endif
    }

    /// Ends the group's MPI session (the last MPI call of the process).
    public static func finish(_ group: ProcessGroup?) {
        #if SWIFTCAFFE_MPI
        (group as? MPIGroup)?.finish()
        #endif
    }

    /// Ends every rank at once, after this rank's error was printed: the
    /// others may be waiting for it inside a sum.
    public static func abort(_ group: ProcessGroup?, code: Int32) {
        #if SWIFTCAFFE_MPI
        (group as? MPIGroup)?.abort(code: code)
        #endif
    }

    /// Refuses to start unless every rank runs the same binary with the same
    /// files: `parts` are (what, bytes) pairs, compared by SHA-1 across ranks.
    public static func checkSameRun(_ group: ProcessGroup, _ parts: [(what: String, bytes: [UInt8])]) throws {
        let mine = parts.map { p in p.bytes.withUnsafeBytes { SHA1.hex($0) } }
        let all = try group.allGather(Array(mine.joined().utf8))
        let width = 40
        var problems: [String] = []
        for (rank, bytes) in all.enumerated() where rank > 0 {
            for (k, part) in parts.enumerated() {
                let theirs = String(decoding: bytes[k * width..<(k + 1) * width], as: UTF8.self)
                let root = String(decoding: all[0][k * width..<(k + 1) * width], as: UTF8.self)
                if theirs != root {
                    problems.append("rank \(rank) has a different \(part.what) than rank 0 (sha1 \(theirs.prefix(12)) against \(root.prefix(12)))")
                }
            }
        }
        guard problems.isEmpty else {
            throw CaffeError.usage("the ranks do not run the same training: " + problems.joined(separator: "; ")
                                   + ". Every rank needs the same swiftcaffe binary, solver file and net file.")
        }
    }
}
