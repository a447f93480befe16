/// V0 nets (2013) wrap each layer as `layers { layer { name type ... } bottom top }`
/// with a string type ("conv", "pool", ...) and flat parameters, and pad with
/// separate "padding" layers. Padding is folded into the convolution it feeds;
/// every other layer becomes a V1 layer, which `V1NetUpgrade` then finishes.
enum V0NetUpgrade: NetUpgrade {
    /// V0 type string → V1 LayerType enum name.
    static let typeNames: [String: String] = [
        "accuracy": "ACCURACY", "bnll": "BNLL", "concat": "CONCAT", "conv": "CONVOLUTION", "data": "DATA",
        "dropout": "DROPOUT", "euclidean_loss": "EUCLIDEAN_LOSS", "flatten": "FLATTEN", "hdf5_data": "HDF5_DATA",
        "hdf5_output": "HDF5_OUTPUT", "im2col": "IM2COL", "images": "IMAGE_DATA", "infogain_loss": "INFOGAIN_LOSS",
        "innerproduct": "INNER_PRODUCT", "lrn": "LRN", "multinomial_logistic_loss": "MULTINOMIAL_LOGISTIC_LOSS",
        "pool": "POOLING", "relu": "RELU", "sigmoid": "SIGMOID", "softmax": "SOFTMAX",
        "softmax_loss": "SOFTMAX_LOSS", "split": "SPLIT", "tanh": "TANH", "window_data": "WINDOW_DATA",
    ]

    /// Where each flat V0 field goes: by V0 type, the V1 parameter message and its field.
    private static let fieldMoves: [String: [String: (param: String, field: String)]] = {
        let conv = "convolution_param", ip = "inner_product_param", pool = "pooling_param"
        let data = "data_param", images = "image_data_param", window = "window_data_param"
        return [
            "num_output": ["conv": (conv, "num_output"), "innerproduct": (ip, "num_output")],
            "biasterm": ["conv": (conv, "bias_term"), "innerproduct": (ip, "bias_term")],
            "weight_filler": ["conv": (conv, "weight_filler"), "innerproduct": (ip, "weight_filler")],
            "bias_filler": ["conv": (conv, "bias_filler"), "innerproduct": (ip, "bias_filler")],
            "pad": ["conv": (conv, "pad"), "pool": (pool, "pad")],
            "kernelsize": ["conv": (conv, "kernel_size"), "pool": (pool, "kernel_size")],
            "group": ["conv": (conv, "group")],
            "stride": ["conv": (conv, "stride"), "pool": (pool, "stride")],
            "pool": ["pool": (pool, "pool")],
            "dropout_ratio": ["dropout": ("dropout_param", "dropout_ratio")],
            "local_size": ["lrn": ("lrn_param", "local_size")],
            "alpha": ["lrn": ("lrn_param", "alpha")],
            "beta": ["lrn": ("lrn_param", "beta")],
            "k": ["lrn": ("lrn_param", "k")],
            "source": ["data": (data, "source"), "hdf5_data": ("hdf5_data_param", "source"),
                       "images": (images, "source"), "window_data": (window, "source"),
                       "infogain_loss": ("infogain_loss_param", "source")],
            "scale": ["data": (data, "scale"), "images": (images, "scale"), "window_data": (window, "scale")],
            "meanfile": ["data": (data, "mean_file"), "images": (images, "mean_file"), "window_data": (window, "mean_file")],
            "batchsize": ["data": (data, "batch_size"), "hdf5_data": ("hdf5_data_param", "batch_size"),
                          "images": (images, "batch_size"), "window_data": (window, "batch_size")],
            "cropsize": ["data": (data, "crop_size"), "images": (images, "crop_size"), "window_data": (window, "crop_size")],
            "mirror": ["data": (data, "mirror"), "images": (images, "mirror"), "window_data": (window, "mirror")],
            "rand_skip": ["data": (data, "rand_skip"), "images": (images, "rand_skip")],
            "shuffle_images": ["images": (images, "shuffle")],
            "new_height": ["images": (images, "new_height")],
            "new_width": ["images": (images, "new_width")],
            "concat_dim": ["concat": ("concat_param", "concat_dim")],
            "det_fg_threshold": ["window_data": (window, "fg_threshold")],
            "det_bg_threshold": ["window_data": (window, "bg_threshold")],
            "det_fg_fraction": ["window_data": (window, "fg_fraction")],
            "det_context_pad": ["window_data": (window, "context_pad")],
            "det_crop_mode": ["window_data": (window, "crop_mode")],
        ]
    }()

    static func isNeeded(_ net: ProtoMessage) -> Bool {
        net.messages("layers").contains { $0.has("layer") }
    }

    static func apply(_ net: inout ProtoMessage, notes: inout [UpgradeNote]) throws {
        let layers = net.messages("layers")
        // Which padding layer produced each blob.
        var paddingByTop: [String: ProtoMessage] = [:]
        var out: [ProtoValue] = []
        for wrapper in layers {
            guard let v0 = wrapper.message("layer") else {
                out.append(.message(wrapper))
                continue
            }
            let type = v0.string("type")
            let name = v0.string("name")
            if type == "padding" {
                guard wrapper.strings("bottom").count == 1, wrapper.strings("top").count == 1 else {
                    throw CaffeError.at(wrapper.location, "padding layer '\(name)' needs exactly one bottom and one top")
                }
                paddingByTop[wrapper.strings("top")[0]] = wrapper
                continue
            }
            var v1 = try upgrade(wrapper, v0)
            // A bottom produced by a padding layer: read its input instead and pad here.
            var bottoms = wrapper.strings("bottom")
            for (j, b) in bottoms.enumerated() {
                guard let pad = paddingByTop[b], let padV0 = pad.message("layer") else { continue }
                guard type == "conv" else {
                    throw CaffeError.at(wrapper.location,
                                        "padding layer '\(padV0.string("name"))' feeds layer '\(name)' of type \"\(type)\"; "
                                            + "Caffe folds padding only into a convolution")
                }
                bottoms[j] = pad.strings("bottom")[0]
                v1.update("convolution_param") { $0.set("pad", values: [.uint(UInt64(padV0.int("pad")))]) }
                notes.append(UpgradeNote(message: "padding layer '\(padV0.string("name"))' folded into '\(name)' (pad \(padV0.int("pad")))"))
            }
            v1.set("bottom", values: bottoms.map { .string($0) })
            out.append(.message(v1))
        }
        net.set("layers", values: out)
        notes.append(UpgradeNote(message: "V0 'layers { layer { ... } }' (string types, flat parameters) → V1 layers (\(out.count))"))
    }

    private static func upgrade(_ wrapper: ProtoMessage, _ v0: ProtoMessage) throws -> ProtoMessage {
        var v1 = wrapper
        v1.clear("layer")
        let type = v0.string("type")
        let name = v0.string("name")
        guard let t = typeNames[type] else {
            throw CaffeError.at(v0.location(of: "type"),
                                "V0 layer '\(name)' has unknown type \"\(type)\"; known: "
                                    + typeNames.keys.sorted().joined(separator: ", "))
        }
        guard case .enumeration(let e) = CaffeSchema.v1LayerParameter.require("type").kind,
              let number = e.number(named: t)
        else { fatalError("V1 LayerType lacks \(t)") }
        if v0.has("name") { v1.set("name", .string(name), at: v0.location(of: "name")) }
        v1.set("type", .enumValue(number), at: v0.location(of: "type"))
        for entry in v0.entries {
            let f = entry.field.name
            switch f {
            case "name", "type": continue
            case "blobs", "blobs_lr", "weight_decay": v1.set(f, entry: entry)
            case "hdf5_output_param" where type == "hdf5_output": v1.set(f, entry: entry)
            default:
                guard let target = fieldMoves[f]?[type] else {
                    throw CaffeError.at(v0.location(of: f),
                                        "V0 layer '\(name)' of type \"\(type)\" has field '\(f)', which that type does not take")
                }
                v1.update(target.param) { p in
                    for (i, v) in entry.values.enumerated() {
                        p.append(target.field, convert(v, to: p.schema.require(target.field)), at: entry.locations[i])
                    }
                }
            }
        }
        return v1
    }

    /// V0 and current fields sometimes differ in integer signedness.
    private static func convert(_ v: ProtoValue, to f: FieldSchema) -> ProtoValue {
        switch (v, f.kind) {
        case (.int(let x), .uint32), (.int(let x), .uint64): return .uint(UInt64(max(0, x)))
        case (.uint(let x), .int32), (.uint(let x), .int64): return .int(Int64(x))
        default: return v
        }
    }
}
