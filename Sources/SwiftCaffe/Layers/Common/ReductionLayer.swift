/// SUM, ASUM, SUMSQ or MEAN over every axis from `axis` on.
struct ReductionPlan: LayerPlan {
    static let type = "Reduction"
    static let bottoms = 1...1
    static let tops = 1...1
    var axis: Int { param.axis }
    let param: Caffe.ReductionParameter

    init(_ l: LayerParameter) throws {
        param = l.proto.reductionParam
    }

    func plan(_ b: [Shape]) throws -> PlannedShapes {
        let a = try canonicalAxis(axis, b[0].count, at: param.location(of: .axis))
        return PlannedShapes(tops: [Array(b[0][..<a])])
    }
}
