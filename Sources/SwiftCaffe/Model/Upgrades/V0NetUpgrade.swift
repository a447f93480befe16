/// V0 nets (2013) wrap each layer as `layers { layer { name type ... } bottom top }`
/// with a string type ("conv", "pool", ...) and flat parameters, and pad with
/// separate "padding" layers. Padding is folded into the convolution it feeds;
/// every other layer becomes a V1 layer, which `V1NetUpgrade` then finishes.
enum V0NetUpgrade: NetUpgrade {
    /// V0 type string → V1 LayerType.
    static let typeNames: [String: Caffe.V1LayerParameter.LayerType] = [
        "accuracy": .accuracy, "bnll": .bnll, "concat": .concat, "conv": .convolution, "data": .data,
        "dropout": .dropout, "euclidean_loss": .euclideanLoss, "flatten": .flatten, "hdf5_data": .hdf5Data,
        "hdf5_output": .hdf5Output, "im2col": .im2col, "images": .imageData, "infogain_loss": .infogainLoss,
        "innerproduct": .innerProduct, "lrn": .lrn, "multinomial_logistic_loss": .multinomialLogisticLoss,
        "pool": .pooling, "relu": .relu, "sigmoid": .sigmoid, "softmax": .softmax,
        "softmax_loss": .softmaxLoss, "split": .split, "tanh": .tanh, "window_data": .windowData,
    ]

    private typealias V0 = Caffe.V0LayerParameter.Field
    private typealias V1 = Caffe.V1LayerParameter.Field

    /// A field of one of the V1 layer's parameter messages.
    private struct Target {
        let param: V1
        let field: FieldSchema
        init<F: CaffeField>(_ param: V1, _ field: F) {
            self.param = param
            self.field = field.fieldSchema
        }
    }

    /// Where each flat V0 field goes: by V0 type, the V1 parameter message and its field.
    private static let fieldMoves: [V0: [String: Target]] = {
        typealias Conv = Caffe.ConvolutionParameter.Field
        typealias IP = Caffe.InnerProductParameter.Field
        typealias Pool = Caffe.PoolingParameter.Field
        typealias LRN = Caffe.LRNParameter.Field
        typealias Data = Caffe.DataParameter.Field
        typealias Images = Caffe.ImageDataParameter.Field
        typealias Window = Caffe.WindowDataParameter.Field
        typealias HDF5 = Caffe.HDF5DataParameter.Field
        return [
            .numOutput: ["conv": Target(.convolutionParam, Conv.numOutput), "innerproduct": Target(.innerProductParam, IP.numOutput)],
            .biasterm: ["conv": Target(.convolutionParam, Conv.biasTerm), "innerproduct": Target(.innerProductParam, IP.biasTerm)],
            .weightFiller: ["conv": Target(.convolutionParam, Conv.weightFiller), "innerproduct": Target(.innerProductParam, IP.weightFiller)],
            .biasFiller: ["conv": Target(.convolutionParam, Conv.biasFiller), "innerproduct": Target(.innerProductParam, IP.biasFiller)],
            .pad: ["conv": Target(.convolutionParam, Conv.pad), "pool": Target(.poolingParam, Pool.pad)],
            .kernelsize: ["conv": Target(.convolutionParam, Conv.kernelSize), "pool": Target(.poolingParam, Pool.kernelSize)],
            .group: ["conv": Target(.convolutionParam, Conv.group)],
            .stride: ["conv": Target(.convolutionParam, Conv.stride), "pool": Target(.poolingParam, Pool.stride)],
            .pool: ["pool": Target(.poolingParam, Pool.pool)],
            .dropoutRatio: ["dropout": Target(.dropoutParam, Caffe.DropoutParameter.Field.dropoutRatio)],
            .localSize: ["lrn": Target(.lrnParam, LRN.localSize)],
            .alpha: ["lrn": Target(.lrnParam, LRN.alpha)],
            .beta: ["lrn": Target(.lrnParam, LRN.beta)],
            .k: ["lrn": Target(.lrnParam, LRN.k)],
            .source: ["data": Target(.dataParam, Data.source), "hdf5_data": Target(.hdf5DataParam, HDF5.source),
                      "images": Target(.imageDataParam, Images.source), "window_data": Target(.windowDataParam, Window.source),
                      "infogain_loss": Target(.infogainLossParam, Caffe.InfogainLossParameter.Field.source)],
            .scale: ["data": Target(.dataParam, Data.scale), "images": Target(.imageDataParam, Images.scale),
                     "window_data": Target(.windowDataParam, Window.scale)],
            .meanfile: ["data": Target(.dataParam, Data.meanFile), "images": Target(.imageDataParam, Images.meanFile),
                        "window_data": Target(.windowDataParam, Window.meanFile)],
            .batchsize: ["data": Target(.dataParam, Data.batchSize), "hdf5_data": Target(.hdf5DataParam, HDF5.batchSize),
                         "images": Target(.imageDataParam, Images.batchSize), "window_data": Target(.windowDataParam, Window.batchSize)],
            .cropsize: ["data": Target(.dataParam, Data.cropSize), "images": Target(.imageDataParam, Images.cropSize),
                        "window_data": Target(.windowDataParam, Window.cropSize)],
            .mirror: ["data": Target(.dataParam, Data.mirror), "images": Target(.imageDataParam, Images.mirror),
                      "window_data": Target(.windowDataParam, Window.mirror)],
            .randSkip: ["data": Target(.dataParam, Data.randSkip), "images": Target(.imageDataParam, Images.randSkip)],
            .shuffleImages: ["images": Target(.imageDataParam, Images.shuffle)],
            .newHeight: ["images": Target(.imageDataParam, Images.newHeight)],
            .newWidth: ["images": Target(.imageDataParam, Images.newWidth)],
            .concatDim: ["concat": Target(.concatParam, Caffe.ConcatParameter.Field.concatDim)],
            .detFgThreshold: ["window_data": Target(.windowDataParam, Window.fgThreshold)],
            .detBgThreshold: ["window_data": Target(.windowDataParam, Window.bgThreshold)],
            .detFgFraction: ["window_data": Target(.windowDataParam, Window.fgFraction)],
            .detContextPad: ["window_data": Target(.windowDataParam, Window.contextPad)],
            .detCropMode: ["window_data": Target(.windowDataParam, Window.cropMode)],
        ]
    }()

    static func isNeeded(_ net: ProtoMessage) -> Bool {
        Caffe.NetParameter(net).layers.contains { $0.has(.layer) }
    }

    static func apply(_ net: inout ProtoMessage, notes: inout [UpgradeNote]) throws {
        var n = Caffe.NetParameter(net)
        // Which padding layer produced each blob.
        var paddingByTop: [String: Caffe.V1LayerParameter] = [:]
        var out: [ProtoValue] = []
        for wrapper in n.layers {
            guard wrapper.has(.layer) else {
                out.append(.message(wrapper.message))
                continue
            }
            let v0 = wrapper.layer
            if v0.type == "padding" {
                guard wrapper.bottom.count == 1, wrapper.top.count == 1 else {
                    throw CaffeError.at(wrapper.location, "padding layer '\(v0.name)' needs exactly one bottom and one top")
                }
                paddingByTop[wrapper.top[0]] = wrapper
                continue
            }
            var v1 = try upgrade(wrapper, v0)
            // A bottom produced by a padding layer: read its input instead and pad here.
            var bottoms = wrapper.bottom
            for (j, b) in bottoms.enumerated() {
                guard let pad = paddingByTop[b] else { continue }
                let padV0 = pad.layer
                guard v0.type == "conv" else {
                    throw CaffeError.at(wrapper.location,
                                        "padding layer '\(padV0.name)' feeds layer '\(v0.name)' of type \"\(v0.type)\"; "
                                            + "Caffe folds padding only into a convolution")
                }
                bottoms[j] = pad.bottom[0]
                v1.update(.convolutionParam, as: Caffe.ConvolutionParameter.self) {
                    $0.set(.pad, values: [.uint(UInt64(padV0.pad))])
                }
                notes.append(UpgradeNote(message: "padding layer '\(padV0.name)' folded into '\(v0.name)' (pad \(padV0.pad))"))
            }
            v1.set(.bottom, values: bottoms.map { .string($0) })
            out.append(.message(v1.message))
        }
        n.set(.layers, values: out)
        net = n.message
        notes.append(UpgradeNote(message: "V0 'layers { layer { ... } }' (string types, flat parameters) → V1 layers (\(out.count))"))
    }

    private static func upgrade(_ wrapper: Caffe.V1LayerParameter, _ v0: Caffe.V0LayerParameter) throws -> Caffe.V1LayerParameter {
        var v1 = wrapper
        v1.clear(.layer)
        let type = v0.type
        guard let t = typeNames[type] else {
            throw CaffeError.at(v0.location(of: .type),
                                "V0 layer '\(v0.name)' has unknown type \"\(type)\"; known: "
                                    + typeNames.keys.sorted().joined(separator: ", "))
        }
        if v0.has(.name) { v1.set(.name, .string(v0.name), at: v0.location(of: .name)) }
        v1.set(.type, t.protoValue, at: v0.location(of: .type))
        for entry in v0.message.entries {
            guard let f = V0(rawValue: entry.field.number) else { continue }
            switch f {
            case .name, .type: continue
            case .blobs: v1.message.set(field: V1.blobs.fieldSchema, entry: entry)
            case .blobsLr: v1.message.set(field: V1.blobsLr.fieldSchema, entry: entry)
            case .weightDecay: v1.message.set(field: V1.weightDecay.fieldSchema, entry: entry)
            case .hdf5OutputParam where type == "hdf5_output": v1.message.set(field: V1.hdf5OutputParam.fieldSchema, entry: entry)
            default:
                guard let target = fieldMoves[f]?[type] else {
                    throw CaffeError.at(v0.location(of: f),
                                        "V0 layer '\(v0.name)' of type \"\(type)\" has field '\(f.name)', which that type does not take")
                }
                v1.message.update(target.param) { p in
                    for (i, v) in entry.values.enumerated() {
                        p.append(field: target.field, convert(v, to: target.field), at: entry.locations[i])
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
