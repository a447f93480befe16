/// Repeats the blob `tiles` times along `axis`.
struct TilePlan: LayerPlan {
    static let type = "Tile"
    static let bottoms = 1...1
    static let tops = 1...1
    let axis: Int
    let tiles: Int

    init(_ l: LayerParameter) throws {
        let p = l.param("tile_param")
        axis = p.int("axis")
        tiles = p.int("tiles")
        guard tiles > 0 else { throw PlanError("tiles must be > 0", at: "tile_param", "tiles") }
    }

    func plan(_ b: [Shape]) throws -> PlannedShapes {
        let a = try canonicalAxis(axis, b[0].count, field: "tile_param", "axis")
        var top = b[0]
        top[a] *= tiles
        return PlannedShapes(tops: [top])
    }
}
