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
