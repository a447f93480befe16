/// Cuts one bottom along `axis` at `slice_point`s, or into equal parts.
struct SlicePlan: LayerPlan {
    static let type = "Slice"
    static let bottoms = 1...1
    static let tops = 1...Int.max
    let axis: Int
    let points: [Int]
    let topCount: Int
    let param: Caffe.SliceParameter

    init(_ l: LayerParameter) throws {
        param = l.proto.sliceParam
        if param.has(.sliceDim) {
            guard !param.has(.axis) else { throw PlanError("give axis or slice_dim, not both", at: param.location(of: .sliceDim)) }
            axis = param.sliceDim
        } else {
            axis = param.axis
        }
        points = param.slicePoint
        topCount = l.tops.count
        guard points.isEmpty || points.count == topCount - 1 else {
            throw PlanError("\(topCount) tops need \(topCount - 1) slice points, found \(points.count)", at: param.location(of: .slicePoint))
        }
    }

    func plan(_ b: [Shape]) throws -> PlannedShapes {
        let a = try canonicalAxis(axis, b[0].count, at: param.location(of: .axis))
        let dim = b[0][a]
        var sizes: [Int]
        if points.isEmpty {
            guard dim % topCount == 0 else {
                throw PlanError("\(topCount) tops must divide axis \(a) of size \(dim) evenly; give slice_point values")
            }
            sizes = Array(repeating: dim / topCount, count: topCount)
        } else {
            let edges = [0] + points + [dim]
            sizes = zip(edges.dropFirst(), edges).map { $0 - $1 }
            guard sizes.allSatisfy({ $0 > 0 }) else {
                throw PlanError("slice points must increase strictly within 1…\(dim - 1), found \(points)", at: param.location(of: .slicePoint))
            }
        }
        return PlannedShapes(tops: sizes.map { var s = b[0]; s[a] = $0; return s })
    }
}

/// Cuts its bottom along `axis` into the tops; backward puts each dy back in place.
final class SliceLayer: Layer {
    private let slice: SlicePlan

    required init(_ ctx: LayerContext) throws {
        slice = ctx.plan(SlicePlan.self)
        try super.init(ctx)
    }

    private func blocks(_ bottom: Blob, _ tops: [Blob], _ body: (Int, Int, Int, Int) -> Void) throws {
        try forEachBlock(of: tops, in: bottom, axis: slice.axis, body)
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
