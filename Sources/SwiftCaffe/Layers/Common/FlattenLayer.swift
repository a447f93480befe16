/// Same values, fewer axes (axis…end_axis merged); gradients pass through.
final class FlattenLayer: Layer {
    override func forward(_ bottoms: [Blob], _ tops: [Blob]) throws {
        if tops[0] !== bottoms[0] { tops[0].data.update(from: bottoms[0].data, count: bottoms[0].count) }
    }

    override func backward(_ tops: [Blob], _ propagateDown: [Bool], _ bottoms: [Blob]) throws {
        if propagateDown[0], tops[0] !== bottoms[0] { bottoms[0].diff.update(from: tops[0].diff, count: bottoms[0].count) }
    }
}
