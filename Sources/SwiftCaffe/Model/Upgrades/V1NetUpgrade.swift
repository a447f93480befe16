/// V1 nets (2014–2015) list `layers { type: CONVOLUTION blobs_lr: 1 weight_decay: 1 ... }`.
/// Each becomes `layer { type: "Convolution" param { lr_mult: 1 decay_mult: 1 } ... }`;
/// data layers' transform fields move into `transform_param` first.
enum V1NetUpgrade: NetUpgrade {
    /// V1 LayerType enum name → current type string.
    static let typeNames: [String: String] = [
        "ABSVAL": "AbsVal", "ACCURACY": "Accuracy", "ARGMAX": "ArgMax", "BNLL": "BNLL", "CONCAT": "Concat",
        "CONTRASTIVE_LOSS": "ContrastiveLoss", "CONVOLUTION": "Convolution", "DECONVOLUTION": "Deconvolution",
        "DATA": "Data", "DROPOUT": "Dropout", "DUMMY_DATA": "DummyData", "EUCLIDEAN_LOSS": "EuclideanLoss",
        "ELTWISE": "Eltwise", "EXP": "Exp", "FLATTEN": "Flatten", "HDF5_DATA": "HDF5Data",
        "HDF5_OUTPUT": "HDF5Output", "HINGE_LOSS": "HingeLoss", "IM2COL": "Im2col", "IMAGE_DATA": "ImageData",
        "INFOGAIN_LOSS": "InfogainLoss", "INNER_PRODUCT": "InnerProduct", "LRN": "LRN",
        "MEMORY_DATA": "MemoryData", "MULTINOMIAL_LOGISTIC_LOSS": "MultinomialLogisticLoss", "MVN": "MVN",
        "POOLING": "Pooling", "POWER": "Power", "RELU": "ReLU", "SIGMOID": "Sigmoid",
        "SIGMOID_CROSS_ENTROPY_LOSS": "SigmoidCrossEntropyLoss", "SILENCE": "Silence", "SOFTMAX": "Softmax",
        "SOFTMAX_LOSS": "SoftmaxWithLoss", "SPLIT": "Split", "SLICE": "Slice", "TANH": "TanH",
        "WINDOW_DATA": "WindowData", "THRESHOLD": "Threshold",
    ]

    /// Fields copied as they are: the same name and message type in both formats.
    private static let copied = ["name", "bottom", "top", "include", "exclude", "blobs", "loss_weight"]

    static func isNeeded(_ net: ProtoMessage) -> Bool { net.has("layers") }

    static func apply(_ net: inout ProtoMessage, notes: inout [UpgradeNote]) throws {
        var out: [ProtoValue] = []
        var moved: [String] = []
        for var v1 in net.messages("layers") {
            if moveTransformFields(&v1) { moved.append(v1.string("name")) }
            out.append(.message(try upgrade(v1)))
        }
        net.clear("layers")
        net.set("layer", values: out)
        if !moved.isEmpty {
            notes.append(UpgradeNote(message: "data layer transform fields → transform_param in: \(moved.joined(separator: ", "))"))
        }
        notes.append(UpgradeNote(message: "V1 'layers' (enum types, blobs_lr, weight_decay) → 'layer' (\(out.count) layers)"))
    }

    static func upgrade(_ v1: ProtoMessage) throws -> ProtoMessage {
        var l = ProtoMessage(CaffeSchema.layerParameter, location: v1.location)
        for entry in v1.entries {
            let name = entry.field.name
            if copied.contains(name) || name.hasSuffix("_param") {
                guard CaffeSchema.layerParameter.field(named: name) != nil else { continue }
                l.set(name, entry: entry)
            }
        }
        let typeName = v1.enumName("type")
        guard v1.has("type"), let t = typeNames[typeName] else {
            let what = v1.has("type") ? "type \(typeName) has no current equivalent" : "has no type"
            throw CaffeError.at(v1.location, "layer '\(v1.string("name"))' \(what)")
        }
        l.set("type", .string(t), at: v1.location(of: "type"))

        // Per-blob settings: names, share modes, learning-rate and decay multipliers.
        let names = v1.strings("param")
        let modes = v1.values("blob_share_mode")
        let lrs = v1.floats("blobs_lr")
        let decays = v1.floats("weight_decay")
        let n = max(names.count, modes.count, lrs.count, decays.count)
        for i in 0..<n {
            var p = ProtoMessage(CaffeSchema.message("ParamSpec"), location: v1.location)
            if i < names.count { p.append("name", .string(names[i])) }
            if i < modes.count { p.append("share_mode", modes[i]) }
            if i < lrs.count { p.append("lr_mult", .float(lrs[i]), at: v1.location(of: "blobs_lr", at: i)) }
            if i < decays.count { p.append("decay_mult", .float(decays[i]), at: v1.location(of: "weight_decay", at: i)) }
            l.append("param", .message(p), at: v1.location)
        }
        return l
    }

    /// Caffe's data-transformation upgrade: scale, mean_file, crop_size and
    /// mirror move from a data layer's own parameters into transform_param.
    static func moveTransformFields(_ v1: inout ProtoMessage) -> Bool {
        let params = ["DATA": "data_param", "IMAGE_DATA": "image_data_param", "WINDOW_DATA": "window_data_param"]
        guard let field = params[v1.enumName("type")], var p = v1.message(field) else { return false }
        var t = v1.message("transform_param") ?? ProtoMessage(CaffeSchema.message("TransformationParameter"), location: v1.location)
        var any = false
        for name in ["scale", "mean_file", "crop_size", "mirror"] {
            guard let e = p.entry(name) else { continue }
            t.set(name, entry: e)
            p.clear(name)
            any = true
        }
        guard any else { return false }
        v1.set(field, .message(p), at: v1.location(of: field))
        v1.set("transform_param", .message(t), at: v1.location)
        return true
    }
}
