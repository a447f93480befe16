/// Graphviz DOT for a built net, drawn as Caffe's draw_net does: layers as
/// filled boxes coloured by kind, blobs as grey octagons, data flowing along
/// edges. A blob written in place gets a new node, so the drawing stays acyclic.
/// The Splits the builder inserts are not drawn (as draw_net.py, which reads
/// the file): their readers are drawn from the blob they split.
public enum DotWriter {
    public static func dot(_ g: NetGraph, rankdir: String = "LR") -> String {
        var out = "digraph \(quote(g.name.isEmpty ? "net" : g.name)) {\n"
        out += "  rankdir=\(rankdir);\n  node [fontname=\"Helvetica\", fontsize=10];\n"
        var version: [String: Int] = [:]
        var declared: Set<String> = []
        func blobNode(_ name: String, shape: Shape?) -> String {
            let id = "blob_\(name)_\(version[name, default: 0])"
            if !declared.contains(id) {
                declared.insert(id)
                var label = name
                if let s = shape { label += "\\n" + (s.isEmpty ? "scalar" : s.map(String.init).joined(separator: "×")) }
                out += "  \(quote(id)) [shape=octagon, style=filled, fillcolor=\"#E0E0E0\", label=\(quote(label))];\n"
            }
            return quote(id)
        }
        var currentShape: [String: Shape?] = [:]
        var splitOf: [String: String] = [:]  // an inserted Split's top → the blob it splits
        for (i, l) in g.layers.enumerated() {
            if l.isInserted, let b = l.layer.bottoms.first {
                for t in l.layer.tops { splitOf[t] = splitOf[b] ?? b }
                continue
            }
            let id = quote("layer_\(i)_\(l.name)")
            var label = "\(l.name)\\n(\(l.type))"
            if let d = detail(l.layer) { label += "\\n" + d }
            out += "  \(id) [shape=record, style=filled, fillcolor=\"\(colour(l.type))\", label=\(quote(label))];\n"
            for b in l.layer.bottoms.map({ splitOf[$0] ?? $0 }) {
                out += "  \(blobNode(b, shape: currentShape[b] ?? nil)) -> \(id);\n"
            }
            for (j, t) in l.layer.tops.enumerated() {
                if declared.contains("blob_\(t)_\(version[t, default: 0])") { version[t, default: 0] += 1 }
                let s = j < l.topShapes.count ? l.topShapes[j] : nil
                currentShape[t] = s
                out += "  \(id) -> \(blobNode(t, shape: s));\n"
            }
        }
        return out + "}\n"
    }

    /// A DOT string: quotes escaped, `\n` kept as DOT's line break.
    static func quote(_ s: String) -> String {
        "\"" + s.replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }

    static func colour(_ type: String) -> String {
        switch type {
        case ConvolutionPlan.type, DeconvolutionPlan.type: return "#FF5050"
        case PoolingPlan.type: return "#FF9900"
        case InnerProductPlan.type: return "#CC33CC"
        default: return "#6495ED"
        }
    }

    /// The parameters that tell layers of one type apart in a drawing.
    static func detail(_ l: LayerParameter) -> String? {
        switch l.type {
        case ConvolutionPlan.type, DeconvolutionPlan.type:
            let p = l.proto.convolutionParam
            let k = p.kernelSize.first ?? p.kernelH
            let s = p.stride.first ?? (p.has(.strideH) ? p.strideH : 1)
            let pad = p.pad.first ?? p.padH
            return "kernel \(k), stride \(s), pad \(pad)" + (p.group > 1 ? ", group \(p.group)" : "")
        case PoolingPlan.type:
            let p = l.proto.poolingParam
            if p.globalPooling { return "\(p.pool.name) global" }
            return "\(p.pool.name) kernel \(p.kernelSize), stride \(p.stride), pad \(p.pad)"
        case InnerProductPlan.type:
            return "outputs \(l.proto.innerProductParam.numOutput)"
        case LRNPlan.type:
            let p = l.proto.lrnParam
            return "size \(p.localSize), alpha \(PrototxtPrinter.number(p.alpha)), beta \(PrototxtPrinter.number(p.beta))"
        default:
            return nil
        }
    }
}
