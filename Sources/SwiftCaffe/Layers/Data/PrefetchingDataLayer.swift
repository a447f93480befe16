import Foundation

/// The shared part of Data and ImageData: a record source, Caffe's
/// transformer, and a prefetch thread; forward copies the next prepared
/// batch into the tops (data, and labels when the layer has a second top).
class PrefetchingDataLayer: Layer {
    var prefetcher: BatchPrefetcher!

    /// Opens the source and starts nothing yet (the first forward does).
    func setUpPrefetch(source: RecordSource, batchSize: Int, randSkip: Int, ctx: LayerContext) throws {
        var rng = ctx.rng
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
        tops[0].reshape(dataShape)
        if tops.count > 1 { tops[1].reshape([prefetcher.batchSize]) }
    }

    override func forward(_ bottoms: [Blob], _ tops: [Blob]) throws {
        let b = try prefetcher.next()
        b.data.withUnsafeBufferPointer { tops[0].data.update(from: $0.baseAddress!, count: $0.count) }
        if tops.count > 1 { b.labels.withUnsafeBufferPointer { tops[1].data.update(from: $0.baseAddress!, count: $0.count) } }
    }

    override func allowsForceBackward(_ bottom: Int) -> Bool { false }
}

/// Caffe's Data layer: records from an LMDB (Datum, raw or encoded) or,
/// SwiftCaffe's addition, an IDX images file (MNIST / Fashion-MNIST) with
/// its labels file; records are read in order and wrap around.
final class DataLayer: PrefetchingDataLayer {
    required init(_ ctx: LayerContext) throws {
        try super.init(ctx)
        let p = parameter.param("data_param")
        let transform = parameter.param("transform_param")
        let color: Bool? = transform.bool("force_color") ? true : (transform.bool("force_gray") ? false : nil)
        let source: RecordSource
        do { source = try RecordSources.open(dataSource: p.string("source"), color: color) } catch {
            throw fail("cannot open data_param.source: \(error)")
        }
        try setUpPrefetch(source: source, batchSize: p.int("batch_size"), randSkip: p.int("rand_skip"), ctx: ctx)
    }
}

/// Caffe's ImageData layer: "path label" lines, images read from disk,
/// optionally resized and shuffled per pass.
final class ImageDataLayer: PrefetchingDataLayer {
    required init(_ ctx: LayerContext) throws {
        try super.init(ctx)
        let p = parameter.param("image_data_param")
        var rng = ctx.rng
        let nh = p.int("new_height"), nw = p.int("new_width")
        let source: RecordSource
        do {
            source = try ImageListRecords(listPath: p.string("source"), rootFolder: p.string("root_folder"), color: p.bool("is_color"),
                                          size: nh > 0 ? (nh, nw) : nil, shuffleSeed: p.bool("shuffle") ? rng.next() : nil)
        } catch {
            throw fail("cannot open image_data_param.source: \(error)")
        }
        try setUpPrefetch(source: source, batchSize: p.int("batch_size"), randSkip: p.int("rand_skip"), ctx: ctx)
    }
}
