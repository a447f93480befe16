/// What a layer is built from: its place in the planned graph, the phase,
/// and its own random stream.
public struct LayerContext {
    public var graphLayer: GraphLayer
    public var phase: Phase
    public var rng: RandomSource
    public var workspace = Workspace()
    /// The code that runs a Python layer (the Python module's), if any.
    public var external: (any ExternalLayer)?
    public var parameter: LayerParameter { graphLayer.layer }

    /// The layer's plan as its type, decoded once by the graph.
    func plan<P: LayerPlan>(_: P.Type) -> P {
        guard let p = graphLayer.plan as? P else { preconditionFailure("SwiftCaffe bug: \(parameter.label) was planned as \(type(of: graphLayer.plan))") }
        return p
    }
}

/// The contract of every runtime layer, as Caffe's: set up (typed parameters
/// from the graph's plan, parameter blobs filled), reshape (top shapes from
/// the same plan, so shape rules exist once), forward, and backward with
/// propagate-down per bottom. Parameter gradients accumulate (+=) until the
/// solver clears them; bottom gradients are overwritten.
public class Layer {
    public let parameter: LayerParameter
    public let phase: Phase
    let plan: any LayerPlan
    let workspace: Workspace
    /// Learnable (or statistics) blobs; shared blobs are the owner's objects.
    public internal(set) var params: [Blob] = []
    /// Whether the net will ever run this layer backward (set by the Net):
    /// when not, a layer may skip what only backward needs (MAX's argmax).
    public internal(set) var runsBackward = true

    public var name: String { parameter.name }
    public var type: String { parameter.type }

    required init(_ ctx: LayerContext) throws {
        parameter = ctx.parameter
        phase = ctx.phase
        workspace = ctx.workspace
        plan = ctx.graphLayer.plan
        if let shapes = ctx.graphLayer.paramShapes {
            params = shapes.map { Blob($0) }
        }
        var rng = ctx.rng
        let fillers = try self.fillers()
        for (i, p) in params.enumerated() {
            (i < fillers.count ? fillers[i] : try Filler()).fill(p, &rng)
        }
    }

    /// The filler of each parameter blob (default: constant 0).
    func fillers() throws -> [Filler] { [] }

    /// Sets the tops' shapes for the bottoms' current shapes.
    func reshape(_ bottoms: [Blob], _ tops: [Blob]) throws {
        let planned: PlannedShapes
        if let source = plan as? any SourcePlan {
            planned = try source.plan(topCount: tops.count)
        } else {
            planned = try plan.plan(bottoms.map(\.shape))
        }
        for (j, (t, s)) in zip(tops, planned.tops).enumerated() where !(bottoms.contains { $0 === t }) {
            if let s { try reshape(t, to: s, what: "its top '\(j < parameter.tops.count ? parameter.tops[j] : "#\(j)")'") }
        }
    }

    /// Reshapes a blob of this layer once the memory it needs is known to be there.
    func reshape(_ blob: Blob, to shape: Shape, what: @autoclosure () -> String) throws {
        let bytes = blob.growth(to: shape)
        if let short = MemoryBudget.shortfall(bytes) {
            throw fail("\(what()) of \(describe(shape)) needs \(MemoryBudget.describe(bytes)), \(short)")
        }
        blob.reshape(shape)
    }

    func forward(_ bottoms: [Blob], _ tops: [Blob]) throws {}

    /// Forward doing also the work of layers the inference fusion folded into
    /// this one; only layers InferenceFusion chooses are asked.
    func forward(_ bottoms: [Blob], _ tops: [Blob], absorbing work: AbsorbedWork) throws {
        preconditionFailure("layer '\(name)' (\(type)) absorbs no other layer")
    }

    func backward(_ tops: [Blob], _ propagateDown: [Bool], _ bottoms: [Blob]) throws {}

    /// Blobs that hold statistics, not learned weights (BatchNorm): learning rate 0.
    var statisticsOnly: Bool { false }

    /// Layers that draw random numbers per pass (Dropout, DummyData) take a
    /// new stream here; the solver reseeds from (seed, layer, iteration) so a
    /// resumed run draws what an uninterrupted one would.
    func reseed(_ rng: RandomSource) {}

    /// Whether force_backward may ask for this bottom's gradient (not for labels).
    func allowsForceBackward(_ bottom: Int) -> Bool { true }

    /// The loss weight of top `top` when the prototxt gives none: Caffe's
    /// LossLayer gives its first top 1; other layers add nothing to the loss.
    func defaultLossWeight(top: Int) -> Float { Swift.type(of: plan).isLoss && top == 0 ? 1 : 0 }

    /// The bottom holding class labels for the first bottom's scores
    /// (SoftmaxWithLoss, Accuracy): the data layer that makes it learns the
    /// class count, so a bad label is reported at its record.
    var classLabelBottom: Int? { nil }

    /// Whether every top is its bottom's values unchanged (Split): a label
    /// is followed through such a layer to the data layer that made it.
    var passesBottomThrough: Bool { false }

    /// Told the class count of the labels this layer's top `top` feeds.
    func limitLabels(top: Int, classes: Int) {}

    /// The class a label value names, as Caffe's static_cast<int> reads it
    /// (2.7 is class 2), or an error for a value that names none (NaN, ±inf,
    /// beyond Int32): C++ leaves that undefined, and it is a data bug.
    func classLabel(_ v: Float, at position: Int) throws -> Int {
        guard v.isFinite, abs(v) < 0x1p31 else {
            throw fail("label \(v) at position \(position) is not a class number: the labels come from the data or the program feeding the net")
        }
        return Int(v)
    }

    func fail(_ message: String) -> CaffeError {
        CaffeError.at(parameter.location, "\(parameter.label): \(message)")
    }
}
