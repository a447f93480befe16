/// HDF5Data: every top's shape is in the HDF5 files.
struct HDF5DataPlan: SourcePlan {
    static let type = "HDF5Data"
    static let tops = 1...Int.max
    init(_ l: LayerParameter) throws {}
    func plan(topCount: Int) throws -> PlannedShapes { PlannedShapes(tops: Array(repeating: nil, count: topCount)) }
}
