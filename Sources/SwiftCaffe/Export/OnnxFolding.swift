extension OnnxExport.Builder {
    /// `--fold-batchnorm`: a Conv whose output feeds only a
    /// BatchNormalization, or a Mul or Add by a per-channel constant (a
    /// Scale or Bias layer), takes that node's work into its own weights
    /// and bias — W·a per output channel, b·a + c — and that node's output
    /// name. Repeated, conv → BatchNorm → Scale becomes one Conv. Depthwise
    /// and grouped convolutions fold the same way; ConvTranspose, whose
    /// weights hold output channels on axis 1, is left as it is.
    mutating func foldIntoConvolutions() {
        var readers: [String: Int] = [:]
        for n in model.nodes { for i in n.inputs { readers[i, default: 0] += 1 } }
        for o in model.outputs { readers[o.name, default: 0] += 1 }
        var initializer: [String: Int] = [:]
        for (i, t) in model.initializers.enumerated() { initializer[t.name] = i }
        func floats(_ name: String) -> [Float]? {
            guard let i = initializer[name], case .float(let v) = model.initializers[i].values else { return nil }
            return v
        }
        var removed = Set<Int>()
        for c in model.nodes.indices where model.nodes[c].op == "Conv" {
            let conv = model.nodes[c]
            // The weights and bias must be this node's alone (a Convolution with
            // several bottoms writes one Conv per bottom on shared weights).
            guard conv.inputs.count >= 2, var w = floats(conv.inputs[1]), readers[conv.inputs[1]] == 1,
                  conv.inputs.count < 3 || readers[conv.inputs[2]] == 1 else { continue }
            let outputs = model.initializers[initializer[conv.inputs[1]]!].dims[0], perOutput = w.count / outputs
            var bias = conv.inputs.count > 2 ? floats(conv.inputs[2]) ?? [] : [Float](repeating: 0, count: outputs)
            guard bias.count == outputs else { continue }
            var out = conv.outputs[0], folded = false
            while readers[out] == 1, let next = model.nodes.indices.first(where: { !removed.contains($0) && model.nodes[$0].inputs.contains(out) }),
                  let (a, shift) = channelMap(model.nodes[next], of: out, outputs: outputs, floats) {
                for o in 0..<outputs {
                    for j in 0..<perOutput { w[o * perOutput + j] *= a[o] }
                    bias[o] = bias[o] * a[o] + shift[o]
                }
                removed.insert(next)
                out = model.nodes[next].outputs[0]
                folded = true
            }
            guard folded else { continue }
            model.initializers[initializer[conv.inputs[1]]!].values = .float(w)
            if conv.inputs.count > 2 {
                model.initializers[initializer[conv.inputs[2]]!].values = .float(bias)
            } else {
                let b = constant(conv.name, "folded_bias", dims: [outputs], floats: bias)
                model.nodes[c].inputs.append(b)
            }
            model.nodes[c].outputs[0] = out
        }
        model.nodes = model.nodes.enumerated().filter { !removed.contains($0.offset) }.map(\.element)
        // Constants only the folded nodes read.
        let read = Set(model.nodes.flatMap(\.inputs))
        model.initializers.removeAll { !read.contains($0.name) }
    }

    /// The per-channel y = x·a + c a node computes on value `x`, if it is
    /// BatchNormalization, or Mul/Add by a constant of one value or one per
    /// channel (C×1×1).
    private func channelMap(_ n: OnnxModel.Node, of x: String, outputs: Int, _ floats: (String) -> [Float]?) -> ([Float], [Float])? {
        func perChannel(_ name: String) -> [Float]? {
            guard let v = floats(name), let t = model.initializers.first(where: { $0.name == name }) else { return nil }
            let dims = Array(t.dims.drop { $0 == 1 })
            if v.count == 1 { return Array(repeating: v[0], count: outputs) }
            return v.count == outputs && (dims == [outputs, 1, 1] || t.dims == [outputs, 1, 1]) ? v : nil
        }
        switch n.op {
        case "BatchNormalization":
            guard n.inputs.count == 5, n.inputs[0] == x, let g = floats(n.inputs[1]), let b = floats(n.inputs[2]),
                  let mean = floats(n.inputs[3]), let variance = floats(n.inputs[4]), [g, b, mean, variance].allSatisfy({ $0.count == outputs }) else { return nil }
            var eps: Float = 1e-5
            for case .float("epsilon", let e) in n.attributes { eps = e }
            let a = (0..<outputs).map { g[$0] / (variance[$0] + eps).squareRoot() }
            return (a, (0..<outputs).map { b[$0] - mean[$0] * a[$0] })
        case "Mul", "Add":
            guard n.inputs.count == 2, n.inputs[0] == x, let v = perChannel(n.inputs[1]) else { return nil }
            return n.op == "Mul" ? (v, Array(repeating: 0, count: outputs)) : (Array(repeating: 1, count: outputs), v)
        default:
            return nil
        }
    }
}
