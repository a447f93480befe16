/// TRAIN or TEST, as in Caffe's `Phase` enum.
public enum Phase: String, Sendable, CaseIterable {
    case train = "TRAIN"
    case test = "TEST"

    init(number: Int) { self = number == 0 ? .train : .test }
}

/// The state a net is built in: its phase, level and stages.
public struct NetState: Sendable, Equatable {
    public var phase: Phase
    public var level: Int
    public var stages: [String]

    public init(phase: Phase = .test, level: Int = 0, stages: [String] = []) {
        self.phase = phase
        self.level = level
        self.stages = stages
    }

    init(_ m: ProtoMessage) {
        phase = Phase(number: m.int("phase"))
        level = m.int("level")
        stages = m.strings("stage")
    }
}

/// An include or exclude rule on a layer.
public struct NetStateRule: Sendable, Equatable {
    public var phase: Phase?
    public var minLevel: Int?
    public var maxLevel: Int?
    public var stages: [String]
    public var notStages: [String]

    init(_ m: ProtoMessage) {
        phase = m.has("phase") ? Phase(number: m.int("phase")) : nil
        minLevel = m.has("min_level") ? m.int("min_level") : nil
        maxLevel = m.has("max_level") ? m.int("max_level") : nil
        stages = m.strings("stage")
        notStages = m.strings("not_stage")
    }

    /// Caffe's StateMeetsRule: every condition the rule sets must hold.
    public func isMet(by s: NetState) -> Bool {
        if let p = phase, p != s.phase { return false }
        if let lo = minLevel, s.level < lo { return false }
        if let hi = maxLevel, s.level > hi { return false }
        if stages.contains(where: { !s.stages.contains($0) }) { return false }
        if notStages.contains(where: { s.stages.contains($0) }) { return false }
        return true
    }
}

/// Learning-rate and decay multipliers and the sharing name of one parameter blob.
public struct ParamSpec: Sendable, Equatable {
    public var name: String?
    public var lrMult: Double
    public var decayMult: Double
    public var permissiveSharing: Bool

    init(_ m: ProtoMessage) {
        name = m.has("name") ? m.string("name") : nil
        lrMult = m.float("lr_mult")
        decayMult = m.float("decay_mult")
        permissiveSharing = m.enumName("share_mode") == "PERMISSIVE"
    }
}

/// One layer of a current-syntax net. The common fields are typed here; the
/// layer's own parameter message (`convolution_param`, ...) is decoded into a
/// typed value by the layer's plan.
public struct LayerParameter: Sendable {
    public var name: String
    public var type: String
    public var bottoms: [String]
    public var tops: [String]
    public var lossWeights: [Double]
    public var params: [ParamSpec]
    public var propagateDown: [Bool]
    public var include: [NetStateRule]
    public var exclude: [NetStateRule]
    /// The whole message, for the layer's own parameters and for printing.
    public var message: ProtoMessage
    public var location: SourceLocation? { message.location }

    public init(_ m: ProtoMessage) {
        message = m
        name = m.string("name")
        type = m.string("type")
        bottoms = m.strings("bottom")
        tops = m.strings("top")
        lossWeights = m.floats("loss_weight")
        params = m.messages("param").map(ParamSpec.init)
        propagateDown = m.values("propagate_down").map { $0 == .bool(true) }
        include = m.messages("include").map(NetStateRule.init)
        exclude = m.messages("exclude").map(NetStateRule.init)
    }

    /// "layer 'conv1' (Convolution)", for messages.
    public var label: String { "layer '\(name)' (\(type))" }
}

/// A net in current syntax (after upgrades).
public struct NetParameter: Sendable {
    public var name: String
    public var layers: [LayerParameter]
    public var forceBackward: Bool
    public var state: NetState?
    public var message: ProtoMessage

    /// Decodes an upgraded NetParameter message.
    public init(_ m: ProtoMessage) {
        message = m
        name = m.string("name")
        layers = m.messages("layer").map(LayerParameter.init)
        forceBackward = m.bool("force_backward")
        state = m.message("state").map(NetState.init)
    }
}
