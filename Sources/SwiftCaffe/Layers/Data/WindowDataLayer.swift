struct WindowDataPlan: SourcePlan {
    static let type = "WindowData"
    static let tops = 2...2
    let batch: Int
    let crop: Int
    let param: Caffe.WindowDataParameter

    init(_ l: LayerParameter) throws {
        param = l.proto.windowDataParam
        batch = param.batchSize
        crop = croppedSize(l) ?? param.cropSize
        guard batch > 0, crop > 0 else {
            throw PlanError("WindowData needs batch_size > 0 and crop_size > 0", at: param.location)
        }
    }

    func plan(topCount: Int) throws -> PlannedShapes { PlannedShapes(tops: [[batch, 3, crop, crop], [batch]]) }
}
