/// Graphviz DOT for a built net, drawn as Caffe's draw_net does: layers as
/// filled boxes coloured by kind, blobs as grey octagons, data flowing along
/// edges. A blob written in place gets a new node, so the drawing stays acyclic.
/// The Splits the builder inserts are not drawn (as draw_net.py, which reads
/// the file): their readers are drawn from the blob they split.
///
/// Left-to-right drawings of deep nets wrap: after `wrap` layers the net is
/// cut at the next blob every later layer depends on (AlexNet's every blob,
/// GoogLeNet's module outputs), and the rest starts a new row from a copy of
/// that blob. Each row is its own connected piece, which dot stacks one
/// under the other, each starting at the left.
public enum DotWriter {
    public static func dot(_ g: NetGraph, rankdir: String = "LR", wrap: Int = 6) -> String {
        // Each row's statements; dot stacks the pieces of a left-to-right
        // drawing bottom first, so the rows are written last row first.
        var rows = [""]
        let layers = drawnLayers(g)
        let cuts = wrap > 0 && (rankdir == "LR" || rankdir == "RL") ? cutPoints(layers, in: g) : []
        var version: [String: Int] = [:]
        var nodeRow: [String: Int] = [:]  // the row of each blob's current node
        var declared: Set<String> = []
        var row = 0, inRow = 0
        func blobNode(_ name: String, shape: Shape?) -> String {
            let base = "blob_\(name)_\(version[name, default: 0])"
            let continued = (nodeRow[name] ?? row) != row
            let id = continued ? base + "_row\(row)" : base
            if !declared.contains(id) {
                declared.insert(id)
                var label = name
                if let s = shape { label += "\\n" + (s.isEmpty ? "scalar" : s.map(String.init).joined(separator: "×")) }
                if continued { label += "\\n(continued)" }
                rows[row] += "  \(quote(id)) [shape=octagon, style=filled, fillcolor=\"#E0E0E0\", label=\(quote(label))];\n"
            }
            return quote(id)
        }
        var currentShape: [String: Shape?] = [:]
        for d in layers {
            let l = g.layers[d.index]
            // A new row begins at a cut blob, drawn again as the row's first node.
            if inRow >= wrap, d.bottoms.count == 1, cuts.contains("\(d.bottoms[0])@\(d.index)") {
                row += 1
                inRow = 0
                rows.append("")
            }
            inRow += 1
            let id = quote("layer_\(d.index)_\(l.name)")
            var label = "\(l.name)\\n(\(l.type))"
            if let detail = detail(l.layer) { label += "\\n" + detail }
            rows[row] += "  \(id) [shape=record, style=filled, fillcolor=\"\(colour(l.type))\", label=\(quote(label))];\n"
            for b in d.bottoms {
                let node = blobNode(b, shape: currentShape[b] ?? nil)
                rows[row] += "  \(node) -> \(id);\n"
            }
            for (j, t) in l.layer.tops.enumerated() {
                if declared.contains("blob_\(t)_\(version[t, default: 0])") { version[t, default: 0] += 1 }
                nodeRow[t] = row
                let s = j < l.topShapes.count ? l.topShapes[j] : nil
                currentShape[t] = s
                let node = blobNode(t, shape: s)
                rows[row] += "  \(id) -> \(node);\n"
            }
        }
        return "digraph \(quote(g.name.isEmpty ? "net" : g.name)) {\n"
            + "  rankdir=\(rankdir);\n  node [fontname=\"Helvetica\", fontsize=10];\n"
            + rows.reversed().joined() + "}\n"
    }

    /// The layers drawn, with their bottoms: inserted Splits are left out
    /// and their readers read the blob they split.
    static func drawnLayers(_ g: NetGraph) -> [(index: Int, bottoms: [String])] {
        var splitOf: [String: String] = [:]
        var out: [(index: Int, bottoms: [String])] = []
        for (i, l) in g.layers.enumerated() {
            if l.isInserted, let b = l.layer.bottoms.first {
                for t in l.layer.tops { splitOf[t] = splitOf[b] ?? b }
            } else {
                out.append((i, l.layer.bottoms.map { splitOf[$0] ?? $0 }))
            }
        }
        return out
    }

    /// Where the drawing can be cut, as "blob@reader": when the blob is
    /// made, every later layer reads only it or what is made after it (a
    /// data layer's label aside, which only the end reads); the reader is
    /// the next layer that reads it.
    static func cutPoints(_ layers: [(index: Int, bottoms: [String])], in g: NetGraph) -> Set<String> {
        var lastRead: [String: Int] = [:]
        for d in layers { for b in d.bottoms { lastRead[b] = d.index } }
        let labels = Set(layers.filter(\.bottoms.isEmpty).flatMap { g.layers[$0.index].layer.tops.dropFirst() })
        var live: Set<String> = []
        var cuts: Set<String> = []
        for d in layers {
            for b in d.bottoms where (lastRead[b] ?? -1) <= d.index { live.remove(b) }
            let tops = g.layers[d.index].layer.tops
            for t in tops where (lastRead[t] ?? -1) > d.index { live.insert(t) }
            if tops.count == 1, let t = tops.first, live.subtracting(labels) == [t],
               let next = layers.first(where: { $0.index > d.index && $0.bottoms.contains(t) }) {
                cuts.insert("\(t)@\(next.index)")
            }
        }
        return cuts
    }

    /// A DOT string: quotes escaped, `\n` kept as DOT's line break.
    static func quote(_ s: String) -> String {
        "\"" + s.replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }

    static func colour(_ type: String) -> String {
        switch type {
        case ConvolutionPlan.type, DeconvolutionPlan.type, ConvolutionDepthwisePlan.type, DepthwiseConvolutionPlan.type: return "#FF5050"
        case PoolingPlan.type: return "#FF9900"
        case InnerProductPlan.type: return "#CC33CC"
        default: return "#6495ED"
        }
    }

    /// The parameters that tell layers of one type apart in a drawing.
    static func detail(_ l: LayerParameter) -> String? {
        switch l.type {
        case ConvolutionPlan.type, DeconvolutionPlan.type, ConvolutionDepthwisePlan.type, DepthwiseConvolutionPlan.type:
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
