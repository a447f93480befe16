import Foundation

/// The few calls a Swift program needs to run a Caffe model, as pycaffe's
/// `caffe.Net(prototxt, weights, caffe.TEST)` and `net.forward(data=...)`.
extension Net {
    /// Loads a net file in any Caffe syntax, builds it for `phase`, and
    /// copies `weights` into it by layer name (layers the file lacks keep
    /// their fillers; `missingWeights` names them). `inputShapes` replaces
    /// Input layers' shapes, e.g. ["data": [1, 3, 227, 227]] for batch 1.
    public convenience init(prototxt: String, weights: String? = nil, phase: Phase = .test,
                            inputShapes: [String: Shape] = [:]) throws {
        let loaded = try ModelFile.loadNet(path: prototxt)
        try self.init(graph: try loaded.graph(.init(state: NetState(phase: phase), inputShapes: inputShapes)))
        if let weights {
            missingWeights = try WeightCopier.copy(try CaffeModel(path: weights), into: self).missing
        }
    }

    /// The tops of the net's Input layers: the blobs `forward(_:)` fills.
    public var inputNames: [String] {
        graph.layers.filter { $0.type == InputPlan.type }.flatMap(\.layer.tops)
    }

    /// Sets the named inputs (each as many values as its blob holds, in
    /// N×C×H×W order), runs the net forward and returns every output blob
    /// (a top no layer reads) by name. Inputs not given keep their values.
    public func forward(_ inputs: [String: [Float]]) throws -> [String: [Float]] {
        for (name, values) in inputs.sorted(by: { $0.key < $1.key }) {
            guard inputNames.contains(name), let b = blob(name) else {
                throw CaffeError.usage("the net has no input '\(name)'; its inputs: \(inputNames.joined(separator: ", "))")
            }
            guard values.count == b.count else {
                throw CaffeError.usage("input '\(name)' is \(b.shape.map(String.init).joined(separator: "×")) = \(b.count) values, given \(values.count)")
            }
            b.set(values)
        }
        try forward()
        var out: [String: [Float]] = [:]
        for name in outputBlobNames { out[name] = blob(name)?.values }
        return out
    }
}

extension Solver {
    /// The solver in `path` with its nets, as `caffe train -solver` builds them.
    public convenience init(path: String) throws {
        try self.init(try ModelFile.loadSolver(path: path))
    }
}
