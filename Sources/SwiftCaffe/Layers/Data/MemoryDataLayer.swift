import Foundation

struct MemoryDataPlan: SourcePlan {
    static let type = "MemoryData"
    static let tops = 2...2
    let shape: Shape
    let param: Caffe.MemoryDataParameter

    init(_ l: LayerParameter) throws {
        param = l.proto.memoryDataParam
        shape = [param.batchSize, param.channels, param.height, param.width]
        guard shape.allSatisfy({ $0 > 0 }) else {
            throw PlanError("batch_size, channels, height and width must all be > 0", at: param.location)
        }
    }

    func plan(topCount: Int) throws -> PlannedShapes { PlannedShapes(tops: [shape, [shape[0]]]) }
}

/// Caffe's MemoryData layer: batches from arrays the program hands over
/// (`reset`), batch_size × channels × height × width at a time, in order,
/// wrapping around; the transform_param applies as in Data.
public final class MemoryDataLayer: Layer {
    private var values: [Float] = []
    private var labels: [Float] = []
    private var position = 0
    private let shape: Shape
    private let transformer: DataTransformer
    private var rng: RandomSource

    required init(_ ctx: LayerContext) throws {
        let p = ctx.parameter.proto.memoryDataParam
        shape = [p.batchSize, p.channels, p.height, p.width]
        transformer = try DataTransformer(ctx.parameter, phase: ctx.phase)
        rng = ctx.rng
        try super.init(ctx)
        guard shape.allSatisfy({ $0 > 0 }) else {
            throw fail("memory_data_param needs batch_size, channels, height and width > 0 (Caffe's check), found \(describe(shape))")
        }
    }

    /// Hands over `labels.count` records of channels × height × width values each.
    public func reset(data: [Float], labels: [Float]) throws {
        let per = shape[1] * shape[2] * shape[3]
        guard !labels.isEmpty, data.count == labels.count * per else {
            throw fail("MemoryData needs \(per) values per label (\(shape[1])×\(shape[2])×\(shape[3])), "
                       + "got \(data.count) values for \(labels.count) labels")
        }
        guard labels.count % shape[0] == 0 else {
            throw fail("MemoryData needs a multiple of batch_size (\(shape[0])) records, got \(labels.count)")
        }
        values = data
        self.labels = labels
        position = 0
    }

    override func reshape(_ bottoms: [Blob], _ tops: [Blob]) throws {
        try reshape(tops[0], to: [shape[0]] + transformer.outputShape(Array(shape[1...])), what: "its data top")
        try reshape(tops[1], to: [shape[0]], what: "its label top")
    }

    override func forward(_ bottoms: [Blob], _ tops: [Blob]) throws {
        guard !labels.isEmpty else {
            throw fail("MemoryData has no data: the program running the net must hand it over first (MemoryDataLayer.reset)")
        }
        let per = shape[1] * shape[2] * shape[3]
        let outPer = tops[0].count / shape[0]
        for j in 0..<shape[0] {
            let r = (position + j) % labels.count
            // The label goes to its top as given (Caffe copies the floats); the loss judges it.
            let d = Datum(channels: shape[1], height: shape[2], width: shape[3], label: 0, pixels: [],
                          floats: Array(values[r * per..<(r + 1) * per]))
            transformer.transform(d, into: tops[0].data + j * outPer, rng: &rng)
            tops[1].data[j] = labels[r]
        }
        position = (position + shape[0]) % labels.count
    }

    override func allowsForceBackward(_ bottom: Int) -> Bool { false }
}
