import Foundation

/// Prepares a data layer's batches on a background thread, a few ahead, so
/// that reading, decoding and transforming records overlaps the net's
/// compute (Caffe's BasePrefetchingDataLayer). Batch k holds records
/// skip + k·B ... skip + k·B + B − 1 (wrapping; see `shard` for several
/// processes), transformed with a random
/// stream derived from the layer's seed and k alone, so a run resumed at
/// batch k sees exactly the batches an uninterrupted run would.
final class BatchPrefetcher: @unchecked Sendable {
    struct Batch {
        var index: Int
        var data: [Float]
        var labels: [Float]
    }

    let source: RecordSource
    /// Settable until the first batch is made.
    var transformer: DataTransformer
    let batchSize: Int
    /// C × H × W of every record (from the first).
    let recordShape: Shape
    let skip: Int
    let seed: UInt64
    /// Labels must be below this (the classes of the loss fed by this layer).
    var labelLimit: Int?
    /// Data-parallel training: rank r of n reads every n-th record from r,
    /// so batch k of all ranks together is batch k of one process with n
    /// times the batch size, and no two ranks see the same record in an
    /// epoch. Settable until the first batch is made.
    var shard = (rank: 0, count: 1)

    private let condition = NSCondition()
    private var ready: [Batch] = []
    private var failure: Error?
    private var nextToMake: Int
    private var running = false
    private var generation = 0
    private let depth = 3
    /// Seconds the net spent waiting for a batch, and batches delivered.
    private(set) var waitSeconds = 0.0
    private(set) var delivered = 0
    /// The index of the batch the net gets next (a solver state records it).
    private(set) var nextIndex = 0

    init(source: RecordSource, transformer: DataTransformer, batchSize: Int, recordShape: Shape, skip: Int, seed: UInt64) {
        self.source = source
        self.transformer = transformer
        self.batchSize = batchSize
        self.recordShape = recordShape
        self.skip = skip
        self.seed = seed
        nextToMake = 0
    }

    deinit { stop() }

    /// Values per transformed record.
    var itemCount: Int { count(transformer.outputShape(recordShape)) }

    /// Starts (or restarts) production at batch `first`.
    func start(at first: Int) {
        condition.lock()
        generation += 1
        ready.removeAll()
        failure = nil
        nextToMake = first
        nextIndex = first
        running = true
        let gen = generation
        condition.unlock()
        let thread = Thread { [self] in produce(generation: gen) }
        thread.name = "swiftcaffe-prefetch"
        thread.start()
    }

    func stop() {
        condition.lock()
        running = false
        generation += 1
        condition.broadcast()
        condition.unlock()
    }

    /// Continues at batch `first` (resuming a run), dropping prepared batches.
    func restart(at first: Int) {
        stop()
        start(at: first)
    }

    /// The next batch, in order; waits for it if the thread is behind.
    func next() throws -> Batch {
        if !running { start(at: nextIndex) }
        let t0 = DispatchTime.now().uptimeNanoseconds
        condition.lock()
        defer { condition.unlock() }
        while ready.isEmpty && failure == nil { condition.wait() }
        waitSeconds += Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
        if ready.isEmpty, let f = failure { throw f }
        let b = ready.removeFirst()
        delivered += 1
        nextIndex = b.index + 1
        condition.broadcast()
        return b
    }

    private func produce(generation gen: Int) {
        while true {
            condition.lock()
            while running && generation == gen && ready.count >= depth { condition.wait() }
            guard running, generation == gen else { condition.unlock(); return }
            let k = nextToMake
            nextToMake += 1
            condition.unlock()
            do {
                let b = try make(batch: k)
                condition.lock()
                if generation == gen { ready.append(b) }
                condition.broadcast()
                condition.unlock()
            } catch {
                condition.lock()
                if generation == gen { failure = error }
                running = false
                condition.broadcast()
                condition.unlock()
                return
            }
        }
    }

    /// Batch k, made on the calling thread.
    func make(batch k: Int) throws -> Batch {
        let per = itemCount
        var data = [Float](repeating: 0, count: batchSize * per)
        var labels = [Float](repeating: 0, count: batchSize)
        var rng = RandomSource(seed: seed ^ (UInt64(k) &* 0xD1B5_4A32_D192_ED03))
        try data.withUnsafeMutableBufferPointer { out in
            for j in 0..<batchSize {
                let n = skip + (k * batchSize + j) * shard.count + shard.rank
                let d = try source.record(n)
                let name = "\(source.name), record #\(n % source.count)"
                guard d.shape == recordShape else {
                    throw CaffeError.io(path: name, reason: "the image is \(d.channels)×\(d.height)×\(d.width), but the first record is "
                                        + recordShape.map(String.init).joined(separator: "×") + "; all records must have one size")
                }
                if let limit = labelLimit, d.label < 0 || d.label >= limit {
                    throw CaffeError.io(path: name, reason: "label \(d.label) is outside the net's class range 0..<\(limit)")
                }
                try transformer.validate(d, name: name)
                transformer.transform(d, into: out.baseAddress! + j * per, rng: &rng)
                labels[j] = Float(d.label)
            }
        }
        return Batch(index: k, data: data, labels: labels)
    }
}
