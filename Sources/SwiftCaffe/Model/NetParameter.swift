/// TRAIN or TEST, as in Caffe's `Phase` enum.
public typealias Phase = Caffe.Phase

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

    init(_ m: Caffe.NetState) {
        phase = m.phase
        level = m.level
        stages = m.stage
    }
}

/// An include or exclude rule on a layer.
public struct NetStateRule: Sendable, Equatable {
    public var phase: Phase?
    public var minLevel: Int?
    public var maxLevel: Int?
    public var stages: [String]
    public var notStages: [String]

    init(_ m: Caffe.NetStateRule) {
        phase = m.has(.phase) ? m.phase : nil
        minLevel = m.has(.minLevel) ? m.minLevel : nil
        maxLevel = m.has(.maxLevel) ? m.maxLevel : nil
        stages = m.stage
        notStages = m.notStage
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

    init(_ m: Caffe.ParamSpec) {
        name = m.has(.name) ? m.name : nil
        lrMult = m.lrMult
        decayMult = m.decayMult
        permissiveSharing = m.shareMode == .permissive
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
        let l = Caffe.LayerParameter(m)
        name = l.name
        type = l.type
        bottoms = l.bottom
        tops = l.top
        lossWeights = l.lossWeight
        params = l.param.map(ParamSpec.init)
        propagateDown = l.propagateDown
        include = l.include.map(NetStateRule.init)
        exclude = l.exclude.map(NetStateRule.init)
    }

    /// The whole message as a typed view: every field of Caffe's LayerParameter,
    /// the layer's own parameters (`proto.convolutionParam`) among them.
    public var proto: Caffe.LayerParameter { Caffe.LayerParameter(message) }

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
        let n = Caffe.NetParameter(m)
        name = n.name
        layers = n.layer.map { LayerParameter($0.message) }
        forceBackward = n.forceBackward
        state = n.has(.state) ? NetState(n.state) : nil
    }
}
