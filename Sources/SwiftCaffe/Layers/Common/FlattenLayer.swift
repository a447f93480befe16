/// Merges axes axis…end_axis into one.
struct FlattenPlan: LayerPlan {
    static let type = "Flatten"
    static let bottoms = 1...1
    static let tops = 1...1
    let axis: Int
    let endAxis: Int
    let param: Caffe.FlattenParameter

    init(_ l: LayerParameter) throws {
        param = l.proto.flattenParam
        axis = param.axis
        endAxis = param.endAxis
    }

    func plan(_ b: [Shape]) throws -> PlannedShapes {
        let s = b[0]
        let a = try canonicalAxis(axis, s.count, at: param.location(of: .axis))
        let e = try canonicalAxis(endAxis, s.count, at: param.location(of: .endAxis))
        guard a <= e else { throw PlanError("axis (\(a)) must not come after end_axis (\(e))", at: param.location) }
        return PlannedShapes(tops: [Array(s[..<a]) + [count(s, from: a, to: e + 1)] + Array(s[(e + 1)...])])
    }
}

/// Same values, fewer axes (axis…end_axis merged); gradients pass through.
final class FlattenLayer: Layer {
    override func forward(_ bottoms: [Blob], _ tops: [Blob]) throws {
        if tops[0] !== bottoms[0] { tops[0].data.update(from: bottoms[0].data, count: bottoms[0].count) }
    }

    override func backward(_ tops: [Blob], _ propagateDown: [Bool], _ bottoms: [Blob]) throws {
        if propagateDown[0], tops[0] !== bottoms[0] { bottoms[0].diff.update(from: tops[0].diff, count: bottoms[0].count) }
    }
}
