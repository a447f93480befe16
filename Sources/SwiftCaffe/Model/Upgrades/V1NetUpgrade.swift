/// V1 nets (2014–2015) list `layers { type: CONVOLUTION blobs_lr: 1 weight_decay: 1 ... }`.
/// Each becomes `layer { type: "Convolution" param { lr_mult: 1 decay_mult: 1 } ... }`;
/// data layers' transform fields move into `transform_param` first.
enum V1NetUpgrade: NetUpgrade {
    typealias V1 = Caffe.V1LayerParameter

    /// V1 LayerType → current type string.
    static let typeNames: [V1.LayerType: String] = [
        .absval: "AbsVal", .accuracy: "Accuracy", .argmax: "ArgMax", .bnll: "BNLL", .concat: "Concat",
        .contrastiveLoss: "ContrastiveLoss", .convolution: "Convolution", .deconvolution: "Deconvolution",
        .data: "Data", .dropout: "Dropout", .dummyData: "DummyData", .euclideanLoss: "EuclideanLoss",
        .eltwise: "Eltwise", .exp: "Exp", .flatten: "Flatten", .hdf5Data: "HDF5Data",
        .hdf5Output: "HDF5Output", .hingeLoss: "HingeLoss", .im2col: "Im2col", .imageData: "ImageData",
        .infogainLoss: "InfogainLoss", .innerProduct: "InnerProduct", .lrn: "LRN",
        .memoryData: "MemoryData", .multinomialLogisticLoss: "MultinomialLogisticLoss", .mvn: "MVN",
        .pooling: "Pooling", .power: "Power", .relu: "ReLU", .sigmoid: "Sigmoid",
        .sigmoidCrossEntropyLoss: "SigmoidCrossEntropyLoss", .silence: "Silence", .softmax: "Softmax",
        .softmaxLoss: "SoftmaxWithLoss", .split: "Split", .slice: "Slice", .tanh: "TanH",
        .windowData: "WindowData", .threshold: "Threshold",
    ]

    /// Fields copied as they are: the same name and message type in both
    /// formats, as are all the `*_param` messages.
    private static let copied: Set<V1.Field> = [.name, .bottom, .top, .include, .exclude, .blobs, .lossWeight]

    static func isNeeded(_ net: ProtoMessage) -> Bool { Caffe.NetParameter(net).has(.layers) }

    static func apply(_ net: inout ProtoMessage, notes: inout [UpgradeNote]) throws {
        var n = Caffe.NetParameter(net)
        var out: [ProtoValue] = []
        var moved: [String] = []
        for var v1 in n.layers {
            if moveTransformFields(&v1) { moved.append(v1.name) }
            out.append(.message(try upgrade(v1).message))
        }
        n.clear(.layers)
        n.set(.layer, values: out)
        net = n.message
        if !moved.isEmpty {
            notes.append(UpgradeNote(message: "data layer transform fields → transform_param in: \(moved.joined(separator: ", "))"))
        }
        notes.append(UpgradeNote(message: "V1 'layers' (enum types, blobs_lr, weight_decay) → 'layer' (\(out.count) layers)"))
    }

    static func upgrade(_ v1: V1) throws -> Caffe.LayerParameter {
        var l = Caffe.LayerParameter(at: v1.location)
        for entry in v1.message.entries {
            guard let f = V1.Field(rawValue: entry.field.number), copied.contains(f) || f.name.hasSuffix("_param"),
                  let target = CaffeSchema.layerParameter.field(named: f.name)
            else { continue }
            l.message.set(field: target, entry: entry)
        }
        guard v1.has(.type), let t = typeNames[v1.type] else {
            let what = v1.has(.type) ? "type \(v1.type.name) has no current equivalent" : "has no type"
            throw CaffeError.at(v1.location, "layer '\(v1.name)' \(what)")
        }
        l.set(.type, .string(t), at: v1.location(of: .type))

        // Per-blob settings: names, share modes, learning-rate and decay multipliers.
        let names = v1.param
        let modes = v1.values(.blobShareMode)
        let lrs = v1.blobsLr
        let decays = v1.weightDecay
        let n = max(names.count, modes.count, lrs.count, decays.count)
        for i in 0..<n {
            var p = Caffe.ParamSpec(at: v1.location)
            if i < names.count { p.append(.name, .string(names[i])) }
            if i < modes.count { p.append(.shareMode, modes[i]) }
            if i < lrs.count { p.append(.lrMult, .float(lrs[i]), at: v1.location(of: .blobsLr, at: i)) }
            if i < decays.count { p.append(.decayMult, .float(decays[i]), at: v1.location(of: .weightDecay, at: i)) }
            l.append(.param, .message(p.message), at: v1.location)
        }
        return l
    }

    /// Caffe's data-transformation upgrade: scale, mean_file, crop_size and
    /// mirror move from a data layer's own parameters into transform_param.
    static func moveTransformFields(_ v1: inout V1) -> Bool {
        let params: [V1.LayerType: V1.Field] = [.data: .dataParam, .imageData: .imageDataParam, .windowData: .windowDataParam]
        guard let field = params[v1.type], v1.has(field) else { return false }
        var p = v1.message.message(field)
        var t = v1.transformParam
        var any = false
        let moving: [Caffe.TransformationParameter.Field] = [.scale, .meanFile, .cropSize, .mirror]
        for f in moving {
            // The same field by name in the data layer's own message.
            guard let own = p.schema.field(named: f.name), let e = p.entry(own) else { continue }
            t.message.set(field: f.fieldSchema, entry: e)
            p.clear(field: own)
            any = true
        }
        guard any else { return false }
        v1.set(field, .message(p), at: v1.location(of: field))
        v1.set(.transformParam, .message(t.message), at: v1.location)
        return true
    }
}
