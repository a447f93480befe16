/// How the learning rate changes with the iteration (Caffe's `lr_policy`).
public enum LearningRatePolicy: String, Sendable, CaseIterable {
    case fixed, step, exp, inv, multistep, poly, sigmoid
}

/// The update rule (Caffe's solver `type`).
public enum SolverType: String, Sendable, CaseIterable {
    case sgd = "SGD", nesterov = "Nesterov", adaGrad = "AdaGrad", rmsProp = "RMSProp", adaDelta = "AdaDelta",
        adam = "Adam"
}

public enum Regularization: String, Sendable { case l2 = "L2", l1 = "L1" }

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
    public enum SnapshotFormat: String, Sendable { case hdf5 = "HDF5", binaryproto = "BINARYPROTO" }
    public enum SolverMode: String, Sendable { case cpu = "CPU", gpu = "GPU" }
    public var snapshotFormat: SnapshotFormat
    public var snapshotAfterTrain: Bool
    public var testComputeLoss: Bool
    public var solverMode: SolverMode
    public var randomSeed: Int
    public var type: SolverType
    public var message: ProtoMessage

    /// Decodes an upgraded SolverParameter message; strings Caffe compares at
    /// run time (lr_policy, type, regularization_type) become enums here, with
    /// a located error for a value Caffe would reject.
    public init(_ m: ProtoMessage) throws {
        message = m
        net = m.has("net") ? m.string("net") : nil
        netParam = m.message("net_param")
        trainNet = m.has("train_net") ? m.string("train_net") : nil
        trainNetParam = m.message("train_net_param")
        // Caffe's InitTrainNet: exactly one source of the training net.
        let sources = ["net", "net_param", "train_net", "train_net_param"].filter { m.has($0) }
        if sources.count > 1 {
            throw CaffeError.at(m.location(of: sources[1]), "the solver gives its training net twice, in \(sources.joined(separator: " and ")); "
                                + "Caffe refuses more than one of net, net_param, train_net, train_net_param: keep one")
        }
        testNets = m.strings("test_net")
        testNetParams = m.messages("test_net_param")
        testIter = m.ints("test_iter")
        testInterval = m.int("test_interval")
        testInitialization = m.bool("test_initialization")
        baseLR = m.float("base_lr")
        display = m.int("display")
        averageLoss = m.int("average_loss")
        maxIter = m.int("max_iter")
        iterSize = m.int("iter_size")
        gamma = m.float("gamma")
        power = m.float("power")
        stepsize = m.int("stepsize")
        stepvalues = m.ints("stepvalue")
        momentum = m.float("momentum")
        momentum2 = m.float("momentum2")
        delta = m.float("delta")
        rmsDecay = m.float("rms_decay")
        weightDecay = m.float("weight_decay")
        clipGradients = m.float("clip_gradients")
        snapshot = m.int("snapshot")
        snapshotPrefix = m.has("snapshot_prefix") ? m.string("snapshot_prefix") : nil
        // The schema's enums have exactly these names.
        snapshotFormat = SnapshotFormat(rawValue: m.enumName("snapshot_format"))!
        snapshotAfterTrain = m.bool("snapshot_after_train")
        testComputeLoss = m.bool("test_compute_loss")
        solverMode = SolverMode(rawValue: m.enumName("solver_mode"))!
        randomSeed = m.int("random_seed")

        if m.has("lr_policy") {
            let s = m.string("lr_policy")
            guard let p = LearningRatePolicy(rawValue: s) else {
                throw CaffeError.at(m.location(of: "lr_policy"),
                                    "unknown lr_policy \"\(s)\"; valid values: "
                                        + LearningRatePolicy.allCases.map(\.rawValue).joined(separator: ", "))
            }
            lrPolicy = p
        } else {
            lrPolicy = nil
        }
        let t = m.string("type")
        guard let st = SolverType(rawValue: t) else {
            throw CaffeError.at(m.location(of: "type"),
                                "unknown solver type \"\(t)\"; valid values: "
                                    + SolverType.allCases.map(\.rawValue).joined(separator: ", "))
        }
        type = st
        let r = m.string("regularization_type")
        guard let reg = Regularization(rawValue: r) else {
            throw CaffeError.at(m.location(of: "regularization_type"),
                                "unknown regularization_type \"\(r)\"; valid values: L2, L1")
        }
        regularization = reg
    }
}
