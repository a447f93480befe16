struct WindowDataPlan: SourcePlan {
    static let type = "WindowData"
    static let tops = 2...2
    let batch: Int
    let crop: Int

    init(_ l: LayerParameter) throws {
        let p = l.param("window_data_param")
        batch = p.int("batch_size")
        crop = croppedSize(l) ?? p.int("crop_size")
        guard batch > 0, crop > 0 else {
            throw PlanError("WindowData needs batch_size > 0 and crop_size > 0", at: "window_data_param")
        }
    }

    func plan(topCount: Int) throws -> PlannedShapes { PlannedShapes(tops: [[batch, 3, crop, crop], [batch]]) }
}
