/// SUM, ASUM, SUMSQ or MEAN over every axis from `axis` on.
struct ReductionPlan: LayerPlan {
    static let type = "Reduction"
    static let bottoms = 1...1
    static let tops = 1...1
    let axis: Int
    init(_ l: LayerParameter) throws { axis = l.param("reduction_param").int("axis") }

    func plan(_ b: [Shape]) throws -> PlannedShapes {
        let a = try canonicalAxis(axis, b[0].count, field: "reduction_param", "axis")
        return PlannedShapes(tops: [Array(b[0][..<a])])
    }
}
