/// Cuts its bottom along `axis` into the tops; backward puts each dy back in place.
final class SliceLayer: Layer {
    private let slice: SlicePlan

    required init(_ ctx: LayerContext) throws {
        slice = try SlicePlan(ctx.parameter)
        try super.init(ctx)
    }

    private func blocks(_ bottom: Blob, _ tops: [Blob], _ body: (Int, Int, Int, Int) -> Void) throws {
        let a = try canonicalAxis(slice.axis, bottom.numAxes)
        let outer = bottom.count(from: 0, to: a), inner = bottom.count(from: a + 1), axisSize = bottom.dim(a)
        var offset = 0
        for (i, t) in tops.enumerated() {
            let block = t.dim(a) * inner
            for o in 0..<outer { body(i, o, (o * axisSize + offset) * inner, block) }
            offset += t.dim(a)
        }
    }

    override func forward(_ bottoms: [Blob], _ tops: [Blob]) throws {
        let x = bottoms[0].data
        try blocks(bottoms[0], tops) { i, o, at, n in (tops[i].data + o * n).update(from: x + at, count: n) }
    }

    override func backward(_ tops: [Blob], _ propagateDown: [Bool], _ bottoms: [Blob]) throws {
        guard propagateDown[0] else { return }
        let dx = bottoms[0].diff
        try blocks(bottoms[0], tops) { i, o, at, n in (dx + at).update(from: tops[i].diff + o * n, count: n) }
    }
}
