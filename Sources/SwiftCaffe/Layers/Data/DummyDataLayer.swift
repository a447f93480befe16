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
        let ms = parameter.param("dummy_data_param").messages("data_filler")
        guard ms.count <= 1 || ms.count == parameter.tops.count else {
            throw fail("give 0, 1 or \(parameter.tops.count) data_filler entries, found \(ms.count)")
        }
        let given: [ProtoMessage?] = ms.isEmpty ? [nil] : ms
        topFillers = try given.map { try Filler($0, location: parameter.location) }
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
