/// One layer of a built net with its planned shapes.
public struct GraphLayer: Sendable {
    public var layer: LayerParameter
    public var bottomShapes: [Shape?]
    public var topShapes: [Shape?]
    /// Parameter blob shapes; nil when an input shape is unknown.
    public var paramShapes: [Shape]?
    /// Multiply-accumulates for the whole batch.
    public var macs: Int?
    /// Inserted by the builder (a Split), not written in the file.
    public var isInserted: Bool
    /// Tops written in place over a bottom.
    public var inPlaceTops: Set<Int>
    /// The layer's parameters as its type decoded and checked them, once:
    /// the runtime layer is built from this.
    var plan: any LayerPlan
    /// A Split whose tops are views of its bottom's data, as Caffe's
    /// ShareData: it writes no data of its own. True for the inserted Splits
    /// (ResNet-50 at batch 10 copied 16 blocks' inputs, 4 % of the pass):
    /// no layer can write one of their blobs in place (SplitInsertion rejects
    /// it). A Split written in the prototxt copies, as a later in-place layer
    /// on one of its tops would change what the others read.
    public var sharesBottomData: Bool { isInserted }

    public var name: String { layer.name }
    public var type: String { layer.type }
    /// Bytes of the blobs this layer writes (not those it writes in place), Float32.
    public var activationBytes: Int? {
        var t = 0
        for (i, s) in topShapes.enumerated() where !inPlaceTops.contains(i) && !sharesBottomData {
            guard let s else { return nil }
            t = t.addingSaturating(product(count(s), 4))
        }
        return t
    }

    public var paramCount: Int? { paramShapes.map { $0.reduce(0) { $0.addingSaturating(count($1)) } } }
}

/// A net built for one state: the layers Caffe would instantiate, in order,
/// with Split layers inserted and every blob's shape planned. Nothing is
/// allocated; the runtime builds on this plan.
public struct NetGraph: Sendable {
    public var name: String
    public var state: NetState
    public var layers: [GraphLayer]
    /// Assumptions made while planning (data shapes the database decides, ...).
    public var warnings: [Diagnostic]
    /// The net's force_backward: every layer computes bottom gradients.
    public var forceBackward = false

    /// The leading dimension of the first input blob, for per-image figures.
    public var batchSize: Int {
        for l in layers { if let s = l.topShapes.first ?? nil, let n = s.first, n > 0 { return n } }
        return 1
    }

    /// Whether some top weighs in a loss: a loss_weight other than 0, or a loss
    /// layer's first top by default (the rule the runtime's Net applies).
    public var hasLoss: Bool {
        layers.contains { g in
            let weights = g.layer.lossWeights
            return weights.isEmpty ? LayerCatalog.plan(g.type)?.isLoss == true && !g.layer.tops.isEmpty : weights.contains { $0 != 0 }
        }
    }

    /// Learnable values, each shared blob (ParamSpec with the same name) once,
    /// as Caffe's learnable_params holds them.
    public var totalParams: Int? {
        var t = 0
        var shared: Set<String> = []
        for l in layers where !l.isInserted {
            guard let blobs = l.paramShapes else { return nil }
            for (i, s) in blobs.enumerated() {
                if i < l.layer.params.count, let name = l.layer.params[i].name, !name.isEmpty {
                    guard shared.insert(name).inserted else { continue }
                }
                t = t.addingSaturating(count(s))
            }
        }
        return t
    }

    public var totalMACs: Int? {
        var t = 0
        for l in layers {
            guard let m = l.macs else { return nil }
            t = t.addingSaturating(m)
        }
        return t
    }

    /// Bytes of all blobs the forward pass writes (in-place tops count once), Float32.
    public var activationBytes: Int? {
        var t = 0
        for l in layers {
            guard let b = l.activationBytes else { return nil }
            t = t.addingSaturating(b)
        }
        return t
    }

    public struct Options: Sendable {
        public var state: NetState
        /// Shapes for input or data tops by blob name, overriding the file's.
        public var inputShapes: [String: Shape]
        /// The top shapes of layers whose code runs outside SwiftCaffe
        /// (Python layers run by the Python module), by layer name, as that
        /// code set them up.
        public var externalTopShapes: [String: [Shape]]

        public init(state: NetState = NetState(), inputShapes: [String: Shape] = [:], externalTopShapes: [String: [Shape]] = [:]) {
            self.state = state
            self.inputShapes = inputShapes
            self.externalTopShapes = externalTopShapes
        }
    }

    /// Builds the net as Caffe's Net::Init does: state filter, then blob
    /// wiring checks, split insertion and per-layer shapes. Every problem
    /// found is reported together.
    public static func build(_ net: NetParameter, options: Options = .init()) throws -> NetGraph {
        var problems: [Diagnostic] = []
        let kept = addAutomaticTops(filter(net.layers, state: options.state, problems: &problems))
        let plans = makePlans(kept, problems: &problems)
        checkWiring(kept, problems: &problems)
        let notes = problems.filter { $0.severity != .error }
        problems.removeAll { $0.severity != .error }
        if !problems.isEmpty { throw CaffeError.diagnostics(problems, source: nil) }

        let (split, inserted) = SplitInsertion.apply(kept, problems: &problems)
        if !problems.isEmpty { throw CaffeError.diagnostics(problems, source: nil) }
        var graph = NetGraph(name: net.name, state: options.state, layers: [], warnings: notes, forceBackward: net.forceBackward)
        var shapes: [String: Shape?] = [:]
        var usedInputs: Set<String> = []
        var written = 0  // index into `plans`, which follows the layers as written
        for (i, layer) in split.enumerated() {
            let plan: any LayerPlan
            if inserted.contains(i) {
                plan = try SplitPlan(layer)
            } else {
                plan = plans[written]!
                written += 1
            }
            let bottomShapes = layer.bottoms.map { shapes[$0] ?? nil }
            var g = GraphLayer(layer: layer, bottomShapes: bottomShapes, topShapes: Array(repeating: nil, count: layer.tops.count),
                               paramShapes: nil, macs: nil, isInserted: inserted.contains(i),
                               inPlaceTops: Set(layer.tops.indices.filter { $0 < layer.bottoms.count && layer.bottoms[$0] == layer.tops[$0] }),
                               plan: plan)
            do {
                if plan is PythonPlan, let external = options.externalTopShapes[layer.name] {
                    g.topShapes = Array((external.map { Optional($0) } + Array(repeating: nil, count: layer.tops.count)).prefix(layer.tops.count))
                } else {
                    try planShapes(&g, by: plan, given: options.inputShapes, used: &usedInputs, warnings: &graph.warnings)
                }
            } catch let e as PlanError {
                problems.append(diagnostic(e, layer))
            }
            for (j, t) in layer.tops.enumerated() { shapes[t] = g.topShapes[j] }
            graph.layers.append(g)
        }
        checkSharedParameters(graph.layers, problems: &problems)
        let unused = Set(options.inputShapes.keys).subtracting(usedInputs)
        if !unused.isEmpty {
            let inputs = split.filter { LayerCatalog.plan($0.type) is any SourcePlan.Type }.flatMap(\.tops)
            problems.append(Diagnostic(.error, "input shapes are given for \(unused.sorted().map { "'\($0)'" }.joined(separator: ", ")), "
                                        + "which no input or data layer produces; inputs: \(inputs.joined(separator: ", "))", at: nil))
        }
        if !problems.isEmpty { throw CaffeError.diagnostics(problems, source: nil) }
        return graph
    }

    /// One layer's top and parameter shapes and MACs, when its bottoms' shapes
    /// are known; a data or input layer takes the shapes `given` names.
    private static func planShapes(_ g: inout GraphLayer, by plan: any LayerPlan, given: [String: Shape], used: inout Set<String>,
                             warnings: inout [Diagnostic]) throws {
        var planned: PlannedShapes?
        if let source = plan as? any SourcePlan {
            planned = try source.plan(topCount: g.layer.tops.count)
        } else if g.bottomShapes.allSatisfy({ $0 != nil }) {
            planned = try plan.plan(g.bottomShapes.map { $0! })
        }
        if var p = planned {
            if plan is any SourcePlan {
                let overridden = applyGivenShapes(&p, tops: g.layer.tops, given: given, used: &used)
                if !overridden || p.tops.contains(where: { $0 == nil }) {
                    for w in p.warnings {
                        warnings.append(Diagnostic(.warning, "\(g.layer.label): \(w)", at: g.layer.location))
                    }
                }
            }
            for (j, t) in p.tops.enumerated() { if let t { try SizeLimit.check(shape: t, what: "top \(j)") } }
            for (j, w) in p.params.enumerated() { try SizeLimit.check(shape: w, what: "parameter blob \(j)") }
            // A plan that cannot count the tops (Python's) leaves the rest unknown.
            g.topShapes = Array((p.tops + Array(repeating: nil, count: max(0, g.layer.tops.count - p.tops.count))).prefix(g.layer.tops.count))
            g.paramShapes = p.params
            g.macs = p.macs
        }
    }

    /// A data or input layer's planned tops with the shapes `given` names
    /// (a new batch size for its data carries to its labels); true when
    /// some top's shape was given.
    private static func applyGivenShapes(_ p: inout PlannedShapes, tops: [String], given: [String: Shape],
                                         used: inout Set<String>) -> Bool {
        var overridden = false
        for (j, t) in tops.enumerated() where j < p.tops.count {
            if let s = given[t] {
                p.tops[j] = s
                used.insert(t)
                overridden = true
            }
        }
        if let first = tops.first, let batch = given[first]?.first {
            for j in p.tops.indices.dropFirst() where j < tops.count && given[tops[j]] == nil {
                if var s = p.tops[j], !s.isEmpty {
                    s[0] = batch
                    p.tops[j] = s
                }
            }
        }
        return overridden
    }

    /// Parameters shared by ParamSpec name must have one shape (Caffe's
    /// STRICT share_mode; PERMISSIVE asks only for one count), checked on
    /// the plan so that `summary` refuses what the runtime would.
    private static func checkSharedParameters(_ layers: [GraphLayer], problems: inout [Diagnostic]) {
        var owners: [String: (layer: String, index: Int, shape: Shape)] = [:]
        for g in layers where !g.isInserted {
            guard let shapes = g.paramShapes else { continue }
            for (i, shape) in shapes.enumerated() where i < g.layer.params.count {
                let spec = g.layer.params[i]
                guard let name = spec.name, !name.isEmpty else { continue }
                guard let owner = owners[name] else {
                    owners[name] = (g.name, i, shape)
                    continue
                }
                let fits = spec.permissiveSharing ? count(shape) == count(owner.shape) : shape == owner.shape
                if !fits {
                    problems.append(Diagnostic(.error, "\(g.layer.label): parameter \(i) shares the name '\(name)' with layer '\(owner.layer)' "
                                               + "(blob \(owner.index)) but has shape \(describe(shape)), not \(describe(owner.shape))"
                                               + (spec.permissiveSharing ? "" : "; use share_mode: PERMISSIVE to match counts only"),
                                               at: g.layer.location))
                }
            }
        }
    }

    private static func diagnostic(_ e: PlanError, _ layer: LayerParameter) -> Diagnostic {
        Diagnostic(.error, "\(layer.label): \(e.message)", at: e.location ?? layer.location)
    }

    /// Name Caffe gives a top it creates itself.
    static let automaticTop = "(automatic)"

    /// Loss layers written without a top (common in 2014 files) get one, as
    /// Caffe's AutoTopBlobs does, so their loss is still computed and shown.
    static func addAutomaticTops(_ layers: [LayerParameter]) -> [LayerParameter] {
        layers.map { l in
            guard l.tops.isEmpty, LayerCatalog.plan(l.type)?.isLoss == true else { return l }
            var l = l
            l.tops = [automaticTop]
            l.message.append(Caffe.LayerParameter.Field.top, .string(automaticTop))
            return l
        }
    }

    /// Caffe's FilterNet: a layer with include rules is kept when any rule is
    /// met; one with exclude rules is dropped when any is met.
    static func filter(_ layers: [LayerParameter], state: NetState, problems: inout [Diagnostic]) -> [LayerParameter] {
        layers.filter { l in
            if !l.include.isEmpty, !l.exclude.isEmpty {
                problems.append(Diagnostic(.error, "\(l.label): give include rules or exclude rules, not both", at: l.location))
                return false
            }
            if !l.include.isEmpty { return l.include.contains { $0.isMet(by: state) } }
            return !l.exclude.contains { $0.isMet(by: state) }
        }
    }

    /// Typed plans for the kept layers, in order (nil where a layer has a
    /// problem, which is reported: unsupported type, bad arity or parameters).
    private static func makePlans(_ layers: [LayerParameter], problems: inout [Diagnostic]) -> [(any LayerPlan)?] {
        var plans: [(any LayerPlan)?] = Array(repeating: nil, count: layers.count)
        for (i, l) in layers.enumerated() {
            if l.type.isEmpty {
                problems.append(Diagnostic(.error, "layer '\(l.name)' has no type", at: l.location))
                continue
            }
            guard let t = LayerCatalog.plan(l.type) else {
                var msg = "\(l.label): SwiftCaffe does not support layer type '\(l.type)'"
                if let c = closestName(to: l.type, among: LayerCatalog.types) { msg += " (did you mean '\(c)'?)" }
                if l.type == "Python" { msg += "; Python layers run user code that only pycaffe can load" }
                problems.append(Diagnostic(.error, msg + "; supported types: " + LayerCatalog.types.joined(separator: ", "),
                                           at: l.proto.location(of: .type)))
                continue
            }
            if !t.bottoms.contains(l.bottoms.count) || !t.tops.contains(l.tops.count) {
                problems.append(Diagnostic(.error, "\(l.label): takes \(arity(t.bottoms)) bottom(s) and \(arity(t.tops)) top(s), "
                                           + "found \(l.bottoms.count) and \(l.tops.count)", at: l.location))
                continue
            }
            if !l.lossWeights.isEmpty, l.lossWeights.count != l.tops.count {
                problems.append(Diagnostic(.error, "\(l.label): give loss_weight once per top (\(l.tops.count)) or not at all, found \(l.lossWeights.count)",
                                           at: l.proto.location(of: .lossWeight)))
                continue
            }
            do {
                plans[i] = try t.init(l)
            } catch let e as PlanError {
                problems.append(diagnostic(e, l))
            } catch {
                problems.append(Diagnostic(.error, "\(l.label): \(error)", at: l.location))
            }
        }
        return plans
    }

    private static func arity(_ r: ClosedRange<Int>) -> String {
        r.lowerBound == r.upperBound ? "\(r.lowerBound)" : r.upperBound == Int.max ? "at least \(r.lowerBound)" : "\(r.lowerBound)–\(r.upperBound)"
    }

    /// Every bottom must name a blob made earlier; a top may be written again
    /// only in place (top i == bottom i), as Caffe's AppendTop requires.
    private static func checkWiring(_ layers: [LayerParameter], problems: inout [Diagnostic]) {
        var producer: [String: String] = [:]
        var order: [String] = []
        var seenNames: [String: SourceLocation?] = [:]
        for l in layers {
            if let first = seenNames[l.name] {
                problems.append(Diagnostic(.warning, "layer name '\(l.name)' is used twice; weights are copied by name, so the second cannot get its own",
                                           at: l.location, notes: first.map { [Diagnostic(.note, "first used here", at: $0)] } ?? []))
            } else {
                seenNames[l.name] = l.location
            }
            for (j, b) in l.bottoms.enumerated() where producer[b] == nil {
                var msg = "\(l.label): unknown bottom blob '\(b)'"
                if let c = closestName(to: b, among: order) { msg += " (did you mean '\(c)'?)" }
                msg += order.isEmpty ? "; no blob exists before this layer" : "; blobs made before this layer: \(order.joined(separator: ", "))"
                problems.append(Diagnostic(.error, msg, at: l.proto.location(of: .bottom, at: j)))
            }
            for (j, t) in l.tops.enumerated() {
                let inPlace = j < l.bottoms.count && l.bottoms[j] == t
                if t == automaticTop { continue }
                if let p = producer[t], !inPlace {
                    problems.append(Diagnostic(.error, "\(l.label): top blob '\(t)' is already produced by layer '\(p)'; "
                                               + "only an in-place layer (top \(j) == bottom \(j)) may write it again",
                                               at: l.proto.location(of: .top, at: j)))
                }
                if producer[t] == nil { order.append(t) }
                producer[t] = l.name
            }
        }
    }
}

extension Int {
    /// Sums of sizes saturate rather than trap.
    func addingSaturating(_ x: Int) -> Int {
        let (r, overflow) = addingReportingOverflow(x)
        return overflow ? (x > 0 ? Int.max : Int.min) : r
    }
}
