/// How the learning rate changes with the iteration (Caffe's `lr_policy`).
public enum LearningRatePolicy: String, Sendable, CaseIterable {
    case fixed, step, exp, inv, multistep, poly, sigmoid
}

/// The update rule (Caffe's solver `type`).
public enum SolverType: String, Sendable, CaseIterable {
    case sgd = "SGD", nesterov = "Nesterov", adaGrad = "AdaGrad", rmsProp = "RMSProp", adaDelta = "AdaDelta",
        adam = "Adam"
}

public enum Regularization: String, Sendable, CaseIterable { case l2 = "L2", l1 = "L1" }

/// A solver file's settings, typed, with Caffe's defaults.
public struct SolverParameter: Sendable {
    public var net: String?
    public var netParam: ProtoMessage?
    public var trainNet: String?
    public var trainNetParam: ProtoMessage?
    public var testNets: [String]
    public var testNetParams: [ProtoMessage]
    public var testIter: [Int]
    public var testInterval: Int
    public var testInitialization: Bool
    public var baseLR: Double
    public var display: Int
    public var averageLoss: Int
    public var maxIter: Int
    public var iterSize: Int
    public var lrPolicy: LearningRatePolicy?
    public var gamma: Double
    public var power: Double
    public var stepsize: Int
    public var stepvalues: [Int]
    public var momentum: Double
    public var momentum2: Double
    public var delta: Double
    public var rmsDecay: Double
    public var weightDecay: Double
    public var regularization: Regularization
    public var clipGradients: Double
    public var snapshot: Int
    public var snapshotPrefix: String?
    public typealias SnapshotFormat = Caffe.SolverParameter.SnapshotFormat
    public typealias SolverMode = Caffe.SolverParameter.SolverMode
    public var snapshotFormat: SnapshotFormat
    public var snapshotAfterTrain: Bool
    public var testComputeLoss: Bool
    public var solverMode: SolverMode
    public var randomSeed: Int
    public var type: SolverType
    public var message: ProtoMessage
    /// The whole message as a typed view, for fields not decoded above.
    public var proto: Caffe.SolverParameter { Caffe.SolverParameter(message) }

    /// Decodes an upgraded SolverParameter message; strings Caffe compares at
    /// run time (lr_policy, type, regularization_type) become enums here, with
    /// a located error for a value Caffe would reject.
    public init(_ m: ProtoMessage) throws {
        message = m
        let p = Caffe.SolverParameter(m)
        net = p.has(.net) ? p.net : nil
        netParam = p.has(.netParam) ? p.netParam.message : nil
        trainNet = p.has(.trainNet) ? p.trainNet : nil
        trainNetParam = p.has(.trainNetParam) ? p.trainNetParam.message : nil
        // Caffe's InitTrainNet: exactly one source of the training net.
        let sources: [Caffe.SolverParameter.Field] = [.net, .netParam, .trainNet, .trainNetParam].filter { p.has($0) }
        if sources.count > 1 {
            throw CaffeError.at(p.location(of: sources[1]), "the solver gives its training net twice, in \(sources.map(\.name).joined(separator: " and ")); "
                                + "Caffe refuses more than one of net, net_param, train_net, train_net_param: keep one")
        }
        testNets = p.testNet
        testNetParams = p.testNetParam.map(\.message)
        testIter = p.testIter
        testInterval = p.testInterval
        testInitialization = p.testInitialization
        baseLR = p.baseLr
        display = p.display
        averageLoss = p.averageLoss
        maxIter = p.maxIter
        iterSize = p.iterSize
        gamma = p.gamma
        power = p.power
        stepsize = p.stepsize
        stepvalues = p.stepvalue
        momentum = p.momentum
        momentum2 = p.momentum2
        delta = p.delta
        rmsDecay = p.rmsDecay
        weightDecay = p.weightDecay
        clipGradients = p.clipGradients
        snapshot = p.snapshot
        snapshotPrefix = p.has(.snapshotPrefix) ? p.snapshotPrefix : nil
        snapshotFormat = p.snapshotFormat
        snapshotAfterTrain = p.snapshotAfterTrain
        testComputeLoss = p.testComputeLoss
        solverMode = p.solverMode
        randomSeed = p.randomSeed

        lrPolicy = p.has(.lrPolicy) ? try Self.decode(p.lrPolicy, "lr_policy", at: p.location(of: .lrPolicy)) : nil
        type = try Self.decode(p.type, "solver type", at: p.location(of: .type))
        regularization = try Self.decode(p.regularizationType, "regularization_type", at: p.location(of: .regularizationType))
    }

    /// A string field Caffe compares at run time, as one of its values.
    private static func decode<E: RawRepresentable & CaseIterable>(_ s: String, _ what: String, at location: SourceLocation?) throws -> E
        where E.RawValue == String
    {
        guard let e = E(rawValue: s) else {
            throw CaffeError.at(location, "unknown \(what) \"\(s)\"; valid values: " + E.allCases.map(\.rawValue).joined(separator: ", "))
        }
        return e
    }
}
