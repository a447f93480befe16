/// Repeats the blob `tiles` times along `axis`.
struct TilePlan: LayerPlan {
    static let type = "Tile"
    static let bottoms = 1...1
    static let tops = 1...1
    let axis: Int
    let tiles: Int
    let param: Caffe.TileParameter

    init(_ l: LayerParameter) throws {
        param = l.proto.tileParam
        axis = param.axis
        tiles = param.tiles
        guard tiles > 0 else { throw PlanError("tiles must be > 0", at: param.location(of: .tiles)) }
    }

    func plan(_ b: [Shape]) throws -> PlannedShapes {
        let a = try canonicalAxis(axis, b[0].count, at: param.location(of: .axis))
        var top = b[0]
        top[a] *= tiles
        return PlannedShapes(tops: [top])
    }
}

/// Each block of the axes from `axis` on, written `tiles` times in a row;
/// backward sums the copies' gradients.
final class TileLayer: Layer {
    private let tile: TilePlan

    required init(_ ctx: LayerContext) throws {
        tile = ctx.plan(TilePlan.self)
        try super.init(ctx)
    }

    private func blocks(_ b: Blob) -> (outer: Int, inner: Int) {
        let axis = tile.axis < 0 ? tile.axis + b.numAxes : tile.axis
        return (b.count(from: 0, to: axis), b.count(from: axis))
    }

    override func forward(_ bottoms: [Blob], _ tops: [Blob]) throws {
        let (outer, inner) = blocks(bottoms[0]), x = bottoms[0].data, y = tops[0].data
        for o in 0..<outer {
            for t in 0..<tile.tiles { (y + (o * tile.tiles + t) * inner).update(from: x + o * inner, count: inner) }
        }
    }

    override func backward(_ tops: [Blob], _ propagateDown: [Bool], _ bottoms: [Blob]) throws {
        guard propagateDown[0] else { return }
        let (outer, inner) = blocks(bottoms[0]), dx = bottoms[0].diff, dy = tops[0].diff
        for o in 0..<outer {
            let out = dx + o * inner
            out.update(from: dy + o * tile.tiles * inner, count: inner)
            for t in 1..<max(tile.tiles, 1) {
                let g = dy + (o * tile.tiles + t) * inner
                for i in 0..<inner { out[i] += g[i] }
            }
        }
    }
}
