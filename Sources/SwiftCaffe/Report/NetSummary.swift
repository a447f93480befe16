/// The table `swiftcaffe summary` prints and its JSON form. Shapes in the
/// table are per item (the batch axis dropped); MACs are per item.
public enum NetSummary {
    public static func table(_ g: NetGraph, title: String) -> String {
        let batch = g.batchSize
        var rows: [[String]] = [["layer", "type", "bottoms → tops", "top shape", "params", "MACs", "memory"]]
        for l in g.layers {
            let inPlace = !l.inPlaceTops.isEmpty && l.layer.tops.count == 1
            let wiring = inPlace ? "\(l.layer.tops[0]) (in place)"
                : l.layer.bottoms.joined(separator: ", ") + (l.layer.bottoms.isEmpty ? "" : " ") + "→ " + l.layer.tops.joined(separator: ", ")
            let shapes = l.topShapes.isEmpty ? "—" : l.topShapes.map { itemShape($0, batch: batch) }.joined(separator: ", ")
            rows.append([l.name, l.type, wiring, shapes, l.paramCount.map(grouped) ?? "?", l.macs.map { short($0 / max(batch, 1)) } ?? "?",
                         l.activationBytes.map { bytes($0) } ?? "?"])
        }
        var out = "\(title)\n"
        out += render(rows, rightAligned: [4, 5, 6])
        out += "memory: bytes of the blobs each layer writes for the whole batch (in-place writes count 0)\n"
        out += "\n" + totals(g)
        return out
    }

    public static func totals(_ g: NetGraph) -> String {
        let batch = max(g.batchSize, 1)
        var parts: [String] = []
        if let p = g.totalParams {
            parts.append("\(grouped(p)) parameters (\(mib(p * 4)) as float32)")
        } else {
            parts.append("parameters: unknown (some input shapes are unknown)")
        }
        if let m = g.totalMACs { parts.append("\(short(m / batch)) MACs per item (\(grouped(m / batch)))") }
        if let a = g.activationBytes { parts.append("activations \(mib(a)) for a batch of \(batch)") }
        return "Total: " + parts.joined(separator: ", ")
    }

    public static func json(_ g: NetGraph) -> String {
        let batch = max(g.batchSize, 1)
        var layers: [String] = []
        for l in g.layers {
            let shapes = l.topShapes.map { s in s.map { "[" + $0.map(String.init).joined(separator: ",") + "]" } ?? "null" }
            layers.append("{\"name\":\(JSON.string(l.name)),\"type\":\(JSON.string(l.type)),"
                + "\"bottoms\":[\(l.layer.bottoms.map(JSON.string).joined(separator: ","))],"
                + "\"tops\":[\(l.layer.tops.map(JSON.string).joined(separator: ","))],"
                + "\"top_shapes\":[\(shapes.joined(separator: ","))],"
                + "\"params\":\(l.paramCount.map(String.init) ?? "null"),"
                + "\"macs\":\(l.macs.map { String($0 / batch) } ?? "null")}")
        }
        return "{\"name\":\(JSON.string(g.name)),\"phase\":\(JSON.string(g.state.phase.name)),\"batch\":\(batch),"
            + "\"layers\":[\(layers.joined(separator: ","))],"
            + "\"total_params\":\(g.totalParams.map(String.init) ?? "null"),"
            + "\"total_macs\":\(g.totalMACs.map { String($0 / batch) } ?? "null"),"
            + "\"activation_bytes\":\(g.activationBytes.map(String.init) ?? "null")}"
    }

    /// "96×55×55" for a 10×96×55×55 blob in a batch of 10.
    static func itemShape(_ s: Shape?, batch: Int) -> String {
        guard let s else { return "?" }
        if s.isEmpty { return "scalar" }
        if s.count == 1 { return s[0] == batch ? "1" : String(s[0]) }
        return s.dropFirst().map(String.init).joined(separator: "×")
    }

    static func grouped(_ n: Int) -> String { NumberText.grouped(n) }

    static func short(_ n: Int) -> String {
        let d = Double(n)
        if d >= 1e9 { return format(d / 1e9) + " G" }
        if d >= 1e6 { return format(d / 1e6) + " M" }
        if d >= 1e3 { return format(d / 1e3) + " K" }
        return String(n)
    }

    static func mib(_ bytes: Int) -> String { format(Double(bytes) / 1_048_576) + " MiB" }

    static func bytes(_ n: Int) -> String {
        if n >= 1 << 20 { return mib(n) }
        if n >= 1 << 10 { return format(Double(n) / 1024) + " KiB" }
        return "\(n) B"
    }

    static func format(_ x: Double) -> String {
        let r = (x * 10).rounded() / 10
        return r == r.rounded() ? String(Int(r)) + ".0" : String(r)
    }

    static func render(_ rows: [[String]], rightAligned: Set<Int>) -> String {
        var widths = Array(repeating: 0, count: rows[0].count)
        for r in rows { for (i, c) in r.enumerated() { widths[i] = max(widths[i], c.count) } }
        var out = ""
        for (k, r) in rows.enumerated() {
            let cells = r.enumerated().map { i, c in
                let pad = String(repeating: " ", count: widths[i] - c.count)
                return rightAligned.contains(i) ? pad + c : c + pad
            }
            out += cells.joined(separator: "  ").replacingTrailingSpaces() + "\n"
            if k == 0 { out += widths.filter { $0 > 0 }.map { String(repeating: "-", count: $0) }.joined(separator: "  ") + "\n" }
        }
        return out
    }
}

import Foundation

extension String {
    fileprivate func replacingTrailingSpaces() -> String {
        var s = self
        while s.hasSuffix(" ") { s.removeLast() }
        return s
    }
}

extension NetSummary {
    /// Two nets side by side, row by row, with `*` where the rows differ in
    /// layer, type or shape (AlexNet vs CaffeNet shows the pool/norm swap).
    public static func sideBySide(_ a: NetGraph, _ b: NetGraph) -> String {
        let (ba, bb) = (a.batchSize, b.batchSize)
        var rows: [[String]] = [[a.name, "type", "top shape", "", b.name, "type", "top shape"]]
        for i in 0..<max(a.layers.count, b.layers.count) {
            let l = i < a.layers.count ? a.layers[i] : nil
            let r = i < b.layers.count ? b.layers[i] : nil
            func cells(_ g: GraphLayer?, _ batch: Int) -> [String] {
                guard let g else { return ["", "", ""] }
                return [g.name, g.type, g.topShapes.map { itemShape($0, batch: batch) }.joined(separator: ", ")]
            }
            let left = cells(l, ba), right = cells(r, bb)
            rows.append(left + [left == right ? "" : "*"] + right)
        }
        var out = render(rows, rightAligned: [])
        out += "\n\(a.name): " + totals(a).dropFirst("Total: ".count) + "\n"
        out += "\(b.name): " + totals(b).dropFirst("Total: ".count) + "\n"
        return out
    }
}
