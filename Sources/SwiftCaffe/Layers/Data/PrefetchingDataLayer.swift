import Foundation

/// Data: records from LMDB/LevelDB. Without a crop, channels and size come
/// from the records themselves; the graph leaves them unknown until
/// `--input-shape` names them.
struct DataPlan: SourcePlan {
    static let type = "Data"
    static let tops = 1...2
    let batch: Int
    let crop: Int?

    init(_ l: LayerParameter) throws {
        batch = l.proto.dataParam.batchSize
        guard batch > 0 else { throw PlanError("batch_size must be > 0", at: l.proto.dataParam.location(of: .batchSize)) }
        crop = croppedSize(l)
    }

    func plan(topCount: Int) throws -> PlannedShapes {
        // The records decide channels and size. With a crop the size is known;
        // colour images (3 channels) are then assumed, and said so.
        guard let c = crop else {
            return PlannedShapes(tops: Array([nil, [batch]].prefix(topCount)),
                                 warnings: ["image size comes from the database; give it with --input-shape TOP=N,C,H,W"])
        }
        return PlannedShapes(tops: Array([[batch, 3, c, c], [batch]].prefix(topCount)),
                             warnings: ["3 channels assumed (the database decides); override with --input-shape TOP=N,C,H,W"])
    }
}

struct ImageDataPlan: SourcePlan {
    static let type = "ImageData"
    static let tops = 2...2
    let batch: Int
    let channels: Int
    let size: (Int, Int)?

    init(_ l: LayerParameter) throws {
        let p = l.proto.imageDataParam
        batch = p.batchSize
        guard batch > 0 else { throw PlanError("batch_size must be > 0", at: l.proto.imageDataParam.location(of: .batchSize)) }
        channels = p.isColor ? 3 : 1
        let nh = p.newHeight, nw = p.newWidth
        if (nh > 0) != (nw > 0) {
            throw PlanError("new_height and new_width must be set together", at: l.proto.imageDataParam.location)
        }
        if let c = croppedSize(l) { size = (c, c) } else if nh > 0 { size = (nh, nw) } else { size = nil }
    }

    func plan(topCount: Int) throws -> PlannedShapes {
        PlannedShapes(tops: [size.map { [batch, channels, $0.0, $0.1] }, [batch]])
    }
}

/// A data layer whose place in its data the solver saves with a snapshot,
/// restores on resuming, and splits across the ranks of data-parallel
/// training: batch k of rank r of n holds records (k·B + j)·n + r.
protocol DataStream: Layer {
    var batchSize: Int { get }
    /// Batches delivered so far by this process (the next batch's number).
    var batchesRead: Int { get }
    /// Reads only every count-th record from rank (data-parallel training).
    func shard(rank: Int, of count: Int)
    /// Continues from batch `first` (a resumed run).
    func restart(atBatch first: Int)
}

/// The shared part of Data and ImageData: a record source, Caffe's
/// transformer, and a prefetch thread; forward copies the next prepared
/// batch into the tops (data, and labels when the layer has a second top).
class PrefetchingDataLayer: Layer, DataStream {
    private var prefetcher: BatchPrefetcher!

    /// Opens the source and starts nothing yet (the first forward does).
    required init(_ ctx: LayerContext) throws {
        try super.init(ctx)
        var rng = ctx.rng
        var shuffleStream = ctx.rng
        let source: RecordSource
        do { source = try RecordSources.open(for: parameter, shuffleSeed: shuffleStream.next()) } catch {
            throw fail("cannot open \(RecordSources.batching(of: parameter).paramName).source: \(error)")
        }
        let (_, batchSize, randSkip) = RecordSources.batching(of: parameter)
        let transformer = try DataTransformer(parameter, phase: phase)
        let first = try source.record(0)
        try transformer.validate(first, name: "\(source.name), record #0")
        let skip = randSkip > 0 ? Int(rng.next() % UInt64(randSkip)) : 0
        prefetcher = BatchPrefetcher(source: source, transformer: transformer, batchSize: batchSize, recordShape: first.shape,
                                     skip: skip, seed: rng.next())
    }

    /// The top shape this layer delivers (batch × transformed record).
    var dataShape: Shape { [prefetcher.batchSize] + prefetcher.transformer.outputShape(prefetcher.recordShape) }

    override func reshape(_ bottoms: [Blob], _ tops: [Blob]) throws {
        try reshape(tops[0], to: dataShape, what: "its data top")
        if tops.count > 1 { try reshape(tops[1], to: [prefetcher.batchSize], what: "its label top") }
    }

    override func forward(_ bottoms: [Blob], _ tops: [Blob]) throws {
        let b = try prefetcher.next()
        b.data.withUnsafeBufferPointer { tops[0].data.update(from: $0.baseAddress!, count: $0.count) }
        if tops.count > 1 { b.labels.withUnsafeBufferPointer { tops[1].data.update(from: $0.baseAddress!, count: $0.count) } }
    }

    override func allowsForceBackward(_ bottom: Int) -> Bool { false }

    // What the solver needs to know and set about the data stream.

    var batchSize: Int { prefetcher.batchSize }
    /// Batches delivered so far by this process (the next batch's number).
    var batchesRead: Int { prefetcher.nextIndex }
    /// Batches and data-wait seconds, for the training report.
    var delivered: (batches: Int, waitSeconds: Double) { (prefetcher.delivered, prefetcher.waitSeconds) }

    /// Reads only batches rank, rank + count, ... (data-parallel training).
    func shard(rank: Int, of count: Int) { prefetcher.shard = (rank, count) }

    /// Continues from batch `first` (a resumed run).
    func restart(atBatch first: Int) { prefetcher.restart(at: first) }

    /// Adds the AlexNet paper's PCA colour noise to this layer's TRAIN
    /// records, its components estimated from the data; returns their deviations.
    func addColorNoise(sigma: Float) throws -> [Float] {
        let noise = try ColorNoise.estimate(sigma: sigma, source: prefetcher.source)
        prefetcher.transformer.colorNoise = noise
        return noise.deviations
    }

    /// Labels past the class count are reported at their record.
    override func limitLabels(top: Int, classes: Int) {
        if top == 1 { prefetcher.labelLimit = classes }
    }
}

/// Caffe's Data layer: records from an LMDB (Datum, raw or encoded) or,
/// SwiftCaffe's addition, an IDX images file (MNIST / Fashion-MNIST) with
/// its labels file; records are read in order and wrap around.
final class DataLayer: PrefetchingDataLayer {}

/// Caffe's ImageData layer: "path label" lines, images read from disk,
/// optionally resized and shuffled per pass.
final class ImageDataLayer: PrefetchingDataLayer {}
