/// DummyData: constant or random tops of the declared shapes (N-D `shape`, or legacy num/channels/height/width).
struct DummyDataPlan: SourcePlan {
    static let type = "DummyData"
    static let tops = 1...Int.max
    let shapes: [Shape]
    let param: Caffe.DummyDataParameter

    init(_ l: LayerParameter) throws {
        param = l.proto.dummyDataParam
        let nd = param.shape.map { $0.dim }
        if !nd.isEmpty {
            shapes = nd
        } else {
            let n = param.num, c = param.channels, h = param.height, w = param.width
            let k = max(n.count, c.count, h.count, w.count)
            guard [n, c, h, w].allSatisfy({ $0.count == k || $0.count == 1 }), k > 0 else {
                throw PlanError("give 'shape', or num, channels, height and width each once or once per top",
                                at: param.location)
            }
            func v(_ a: [Int], _ i: Int) -> Int { a.count == 1 ? a[0] : a[i] }
            shapes = (0..<k).map { [v(n, $0), v(c, $0), v(h, $0), v(w, $0)] }
        }
        guard shapes.count == 1 || shapes.count == l.tops.count else {
            throw PlanError("\(l.tops.count) top(s) need 1 or \(l.tops.count) shapes, found \(shapes.count)",
                            at: param.location)
        }
    }

    func plan(topCount: Int) throws -> PlannedShapes {
        PlannedShapes(tops: (0..<topCount).map { shapes[shapes.count == 1 ? 0 : $0] })
    }
}

/// DummyData: tops filled by their data_filler (one for all tops, or one per
/// top; constant 0 when none). Constant tops are filled once; random ones
/// again on every forward, as Caffe does.
final class DummyDataLayer: Layer {
    private var topFillers: [Filler] = []
    private var rng: RandomSource
    private var filledOnce = false

    required init(_ ctx: LayerContext) throws {
        rng = ctx.rng
        try super.init(ctx)
        let ms = parameter.proto.dummyDataParam.dataFiller
        guard ms.count <= 1 || ms.count == parameter.tops.count else {
            throw fail("give 0, 1 or \(parameter.tops.count) data_filler entries, found \(ms.count)")
        }
        topFillers = try (ms.isEmpty ? [Caffe.FillerParameter()] : ms).map { try Filler($0) }
    }

    override func reshape(_ bottoms: [Blob], _ tops: [Blob]) throws {
        try super.reshape(bottoms, tops)
        filledOnce = false
    }

    override func reseed(_ rng: RandomSource) { self.rng = rng }

    override func forward(_ bottoms: [Blob], _ tops: [Blob]) throws {
        for (i, t) in tops.enumerated() {
            let f = topFillers[topFillers.count == 1 ? 0 : i]
            if f.kind == .constant, filledOnce { continue }
            f.fill(t, &rng)
        }
        filledOnce = true
    }
}
