import Foundation

/// A .caffemodel's blobs as named arrays for NumPy (`export-weights`).
public enum WeightExport {
    /// How arrays are named.
    public enum Names: String, Sendable, CaseIterable {
        /// "conv1/0", "conv1/1": the layer and the blob's index, as pycaffe's `net.params[name][i]`.
        case caffe
        /// "conv1.weight", "conv1.bias" as in a PyTorch state_dict; a BatchNorm
        /// layer's blobs become running_mean and running_var divided by its
        /// stored scale factor (PyTorch keeps no such factor), a Scale layer's
        /// weight and bias. '/', '.' and '-' in layer names become '_'.
        case pytorch
    }

    /// The arrays of `model`. With `net`, each blob of a layer the net has
    /// takes the net's shape (legacy 4-D 1×1×N×K InnerProduct weights become
    /// N×K); a blob whose size differs from the net's is an error naming both.
    public static func arrays(_ model: CaffeModel, net: NetGraph? = nil, names: Names = .caffe) throws -> [(name: String, array: NPY.Array)] {
        let shapes = Dictionary(net?.layers.compactMap { l in l.paramShapes.map { (l.name, $0) } } ?? [], uniquingKeysWith: { a, _ in a })
        var out: [(name: String, array: NPY.Array)] = []
        for l in model.layers where !l.blobs.isEmpty {
            var arrays: [NPY.Array] = []
            for (i, b) in l.blobs.enumerated() {
                var shape = b.legacy ?? b.shape
                if let wanted = shapes[l.name] {
                    guard i < wanted.count else {
                        throw CaffeError.io(path: model.path, reason: "layer '\(l.name)' has \(l.blobs.count) blobs, the net's \(wanted.count)")
                    }
                    guard count(wanted[i]) == b.count else {
                        throw CaffeError.io(path: model.path, reason: "layer '\(l.name)' blob \(i) holds \(b.count) values (\(describe(shape))), "
                                            + "the net's is \(describe(wanted[i])) (\(count(wanted[i])) values)")
                    }
                    shape = wanted[i]
                }
                arrays.append(NPY.Array(shape: shape, values: b.values))
            }
            switch names {
            case .caffe: out += arrays.enumerated().map { ("\(l.name)/\($0.offset)", $0.element) }
            case .pytorch: out += pytorch(layer: l.name, type: l.type, arrays)
            }
        }
        var seen: Set<String> = []
        for (name, _) in out where !seen.insert(name).inserted {
            throw CaffeError.io(path: model.path, reason: "two layers both give the array '\(name)' (names differing only in '/', '.' or '-'); "
                                + "export with --names caffe")
        }
        return out
    }

    private static func pytorch(layer: String, type: String, _ blobs: [NPY.Array]) -> [(name: String, array: NPY.Array)] {
        let module = String(layer.map { "/.-".contains($0) ? "_" : $0 })
        // BatchNorm: mean, variance and the factor both were accumulated with.
        if type == BatchNormPlan.type, blobs.count == 3 {
            let factor = blobs[2].values.first ?? 1
            let scale: Float = factor == 0 ? 0 : 1 / factor
            return [("\(module).running_mean", NPY.Array(shape: blobs[0].shape, values: blobs[0].values.map { $0 * scale })),
                    ("\(module).running_var", NPY.Array(shape: blobs[1].shape, values: blobs[1].values.map { $0 * scale }))]
        }
        let roles = ["weight", "bias"]
        return blobs.enumerated().map { i, a in ("\(module).\(i < roles.count ? roles[i] : "param\(i)")", a) }
    }
}
