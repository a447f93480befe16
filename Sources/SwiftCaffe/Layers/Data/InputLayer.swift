/// Input: tops whose shapes the net declares (`input_param { shape {...} }`):
/// one shape for every top, or one per top.
struct InputPlan: SourcePlan {
    static let type = "Input"
    static let tops = 1...Int.max
    let shapes: [Shape]
    let param: Caffe.InputParameter

    init(_ l: LayerParameter) throws {
        param = l.proto.inputParam
        shapes = l.proto.inputParam.shape.map { $0.dim }
        if shapes.count > 1, shapes.count != l.tops.count {
            throw PlanError("\(l.tops.count) top(s) need 1 or \(l.tops.count) shapes, found \(shapes.count)", at: param.location)
        }
        for s in shapes where s.contains(where: { $0 < 0 }) {
            throw PlanError("input shape \(s) has a negative dimension", at: param.location)
        }
    }

    func plan(topCount: Int) throws -> PlannedShapes {
        PlannedShapes(tops: (0..<topCount).map { shapes.isEmpty ? nil : shapes[shapes.count == 1 ? 0 : $0] })
    }
}

/// Input: tops the caller fills (`swiftcaffe forward --input`); their shapes
/// come from input_param or from the caller, and Reshape leaves them alone.
final class InputLayer: Layer {
    override func reshape(_ bottoms: [Blob], _ tops: [Blob]) throws {}
}
