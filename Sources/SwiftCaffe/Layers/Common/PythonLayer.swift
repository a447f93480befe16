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

/// Code outside SwiftCaffe that runs a Python layer: the Python module's
/// bridge to the layer object, which it set up (its `setup` and first
/// `reshape`) before the net was planned. Calls come as Caffe's
/// PythonLayer makes them.
public protocol ExternalLayer: AnyObject {
    func reshape(bottoms: [Blob], tops: [Blob]) throws
    func forward(bottoms: [Blob], tops: [Blob]) throws
    func backward(tops: [Blob], propagateDown: [Bool], bottoms: [Blob]) throws
}

/// A Python layer run by its ExternalLayer. As Caffe's Layer::Forward,
/// forward first calls the layer's reshape; a top that changes shape there
/// is an error, since the layers after it were set up for the old shape.
final class PythonLayer: Layer {
    private let external: any ExternalLayer
    /// The net's first reshape finds the tops already as the layer's setup
    /// shaped them; Caffe calls reshape there once, not twice.
    private var setUp = true

    required init(_ ctx: LayerContext) throws {
        guard let e = ctx.external else { preconditionFailure("SwiftCaffe bug: Python layer \(ctx.parameter.name) built without its code") }
        external = e
        try super.init(ctx)
    }

    override func reshape(_ bottoms: [Blob], _ tops: [Blob]) throws {
        if setUp {
            setUp = false
            return
        }
        try external.reshape(bottoms: bottoms, tops: tops)
    }

    override func forward(_ bottoms: [Blob], _ tops: [Blob]) throws {
        let before = tops.map(\.shape)
        try external.reshape(bottoms: bottoms, tops: tops)
        for (j, (was, now)) in zip(before, tops.map(\.shape)).enumerated() where was != now {
            throw fail("its reshape changed top '\(parameter.tops[j])' from \(describe(was)) to \(describe(now)) during forward; "
                       + "reshape the net (net.reshape()) after changing what the layer produces")
        }
        try external.forward(bottoms: bottoms, tops: tops)
    }

    override func backward(_ tops: [Blob], _ propagateDown: [Bool], _ bottoms: [Blob]) throws {
        try external.backward(tops: tops, propagateDown: propagateDown, bottoms: bottoms)
    }
}

/// Makes the objects that run a net's Python layers (the Python module
/// does): given the layer and blobs of its bottoms' shapes, it creates the
/// layer object, runs its setup and reshape, and leaves the top shapes in
/// `tops`, as Caffe's Net::Init sets a layer up before planning the next.
public protocol ExternalLayerMaker: AnyObject {
    func make(_ layer: LayerParameter, phase: Phase, bottoms: [Blob], tops: [Blob]) throws -> any ExternalLayer
}

extension LoadedNet {
    /// The net for `options`, its Python layers made by `maker` in order as
    /// their bottoms' shapes become known; without a maker they are refused.
    public func net(_ options: NetGraph.Options, seed: UInt64 = 1701, externalLayers maker: (any ExternalLayerMaker)?) throws -> Net {
        var options = options
        var made: [String: any ExternalLayer] = [:]
        while true {
            let graph = try self.graph(options)
            guard let maker, let g = graph.layers.first(where: { $0.plan is PythonPlan && made[$0.name] == nil
                                                                  && $0.bottomShapes.allSatisfy { $0 != nil } }) else {
                return try Net(graph: graph, seed: seed, externalLayers: made)
            }
            // Stand-ins of the bottoms' shapes (an in-place top is its bottom).
            let bottoms = g.bottomShapes.map { Blob($0!) }
            let tops = g.layer.tops.enumerated().map { j, t in j < g.layer.bottoms.count && g.layer.bottoms[j] == t ? bottoms[j] : Blob() }
            do {
                made[g.name] = try maker.make(g.layer, phase: options.state.phase, bottoms: bottoms, tops: tops)
            } catch let e as CaffeError {
                throw source.map { e.with(source: $0) } ?? e
            }
            options.externalTopShapes[g.name] = tops.map(\.shape)
        }
    }
}
