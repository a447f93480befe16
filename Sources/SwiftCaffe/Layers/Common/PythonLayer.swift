/// A Python layer (python_param module and layer): Caffe imports the module
/// and runs the class. The graph plans it with unknown top shapes so that
/// `summary` and `draw` still show the net; the runtime refuses it, naming
/// the module and class to port.
struct PythonPlan: LayerPlan {
    static let type = "Python"
    static let bottoms = 0...Int.max
    static let tops = 0...Int.max
    let module: String
    let className: String

    init(_ l: LayerParameter) throws {
        let p = l.proto.pythonParam
        (module, className) = (p.module, p.layer)
    }

    /// Why the runtime does not run it.
    var refusal: String {
        "a Python layer runs Python code (module '\(module)', class '\(className)'), which SwiftCaffe does not run; "
            + "write the layer's computation as a SwiftCaffe layer, or compute it outside the net"
    }

    func plan(_ b: [Shape]) throws -> PlannedShapes { PlannedShapes(tops: [nil]) }
}
