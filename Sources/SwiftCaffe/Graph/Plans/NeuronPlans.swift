/// Element-wise layers: the top has the bottom's shape and there are no
/// parameters. Each checks its own parameters as Caffe does at set-up.
protocol NeuronPlan: LayerPlan {}

extension NeuronPlan {
    static var bottoms: ClosedRange<Int> { 1...1 }
    static var tops: ClosedRange<Int> { 1...1 }
    func plan(_ bottoms: [Shape]) throws -> PlannedShapes { PlannedShapes(tops: [bottoms[0]]) }
}

/// max(0, x) + negative_slope · min(0, x)
struct ReLUPlan: NeuronPlan {
    static let type = "ReLU"
    init(_ l: LayerParameter) throws {}
}

/// 1 / (1 + e^−x)
struct SigmoidPlan: NeuronPlan {
    static let type = "Sigmoid"
    init(_ l: LayerParameter) throws {}
}

struct TanHPlan: NeuronPlan {
    static let type = "TanH"
    init(_ l: LayerParameter) throws {}
}

struct AbsValPlan: NeuronPlan {
    static let type = "AbsVal"
    init(_ l: LayerParameter) throws {}
}

/// log(1 + e^x)
struct BNLLPlan: NeuronPlan {
    static let type = "BNLL"
    init(_ l: LayerParameter) throws {}
}

/// x > threshold ? 1 : 0
struct ThresholdPlan: NeuronPlan {
    static let type = "Threshold"
    init(_ l: LayerParameter) throws {}
}

/// x for x > 0, α(e^x − 1) otherwise
struct ELUPlan: NeuronPlan {
    static let type = "ELU"
    init(_ l: LayerParameter) throws {}
}

/// x · sigmoid(β x)
struct SwishPlan: NeuronPlan {
    static let type = "Swish"
    init(_ l: LayerParameter) throws {}
}

/// min(max(x, min), max)
struct ClipPlan: NeuronPlan {
    static let type = "Clip"
    init(_ l: LayerParameter) throws {
        let p = l.param("clip_param")
        guard p.has("min"), p.has("max") else { throw PlanError("clip_param needs both min and max", at: "clip_param") }
        guard p.float("min") <= p.float("max") else { throw PlanError("clip_param min must be ≤ max", at: "clip_param", "min") }
    }
}

/// (shift + scale · x)^power
struct PowerPlan: NeuronPlan {
    static let type = "Power"
    init(_ l: LayerParameter) throws {}
}

/// base^(shift + scale · x), base e when base is −1.
struct ExpPlan: NeuronPlan {
    static let type = "Exp"
    init(_ l: LayerParameter) throws {
        let b = l.param("exp_param").float("base")
        guard b == -1 || b > 0 else { throw PlanError("base must be > 0, or −1 for e; found \(b)", at: "exp_param", "base") }
    }
}

/// log_base(shift + scale · x), base e when base is −1.
struct LogPlan: NeuronPlan {
    static let type = "Log"
    init(_ l: LayerParameter) throws {
        let b = l.param("log_param").float("base")
        guard b == -1 || b > 0 else { throw PlanError("base must be > 0, or −1 for e; found \(b)", at: "log_param", "base") }
    }
}

/// Training: x · mask / (1 − ratio) with mask ~ Bernoulli(1 − ratio); testing: x.
struct DropoutPlan: NeuronPlan {
    static let type = "Dropout"
    init(_ l: LayerParameter) throws {
        let r = l.param("dropout_param").float("dropout_ratio")
        guard r >= 0, r < 1 else { throw PlanError("dropout_ratio must be in [0, 1), found \(r)", at: "dropout_param", "dropout_ratio") }
    }
}

/// max(0, x) + a_c · min(0, x) with a learned slope per channel (or one shared).
struct PReLUPlan: LayerPlan {
    static let type = "PReLU"
    static let bottoms = 1...1
    static let tops = 1...1
    let shared: Bool

    init(_ l: LayerParameter) throws { shared = l.param("prelu_param").bool("channel_shared") }

    func plan(_ bottoms: [Shape]) throws -> PlannedShapes {
        let b = bottoms[0]
        guard b.count >= 2 else { throw PlanError("input must have at least 2 axes, found \(describe(b))") }
        // Caffe's shared slope is a blob of 0 axes (one value), not of shape [1].
        return PlannedShapes(tops: [b], params: [shared ? [] : [b[1]]])
    }
}
