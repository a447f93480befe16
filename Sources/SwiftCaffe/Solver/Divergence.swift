import Foundation

/// Explains a NaN or Inf in training: the first layer whose output (forward)
/// or gradient (backward) went non-finite, what it read, and the likely
/// cause with what to change.
enum Divergence {
    static func diagnose(net: Net, iteration: Int, loss: Float, rate: Float, baseLR: Double, recentLosses: [(Int, Float)]) -> String {
        var lines: [String] = []
        let what = loss.isNaN ? "NaN" : (loss.isInfinite ? "Inf" : "finite (\(fmt(loss)))")
        lines.append("training diverged at iteration \(iteration): the loss is \(what)"
                     + (loss.isFinite ? " but a gradient is not" : ""))
        let place = firstNonFinite(net)
        if let place { lines.append("  first non-finite value: \(place.text)") }
        if let first = recentLosses.first, let last = recentLosses.last, recentLosses.count > 1 {
            lines.append("  smoothed loss went from \(fmt(first.1)) (iteration \(first.0)) to \(fmt(last.1)) (iteration \(last.0)) before that")
        }
        if place?.fromData == true {
            // No update can be blamed: the values were there before any layer ran.
            lines.append("  hint: the input data itself is not finite. Check the records, the mean file and transform_param "
                         + "(a scale that overflows), or the program that fills the input; the learning rate is not the cause.")
        } else if iteration == 0 {
            lines.append("  hint: this happened before any update, so the learning rate is not the cause: check the weight fillers "
                         + "(a std that overflows), the --weights file, and layers such as Log or Power that are undefined for some inputs.")
        } else {
            lines.append("  learning rate at this iteration: \(fmt(rate)) (base_lr \(fmt(Float(baseLR))))")
            lines.append("  hint: the updates grew until values overflowed. Lower base_lr (try \(fmt(Float(baseLR / 10)))), or add clip_gradients "
                         + "to the solver. AlexNet-style nets trained from scratch on small data sets often diverge at base_lr 0.01; "
                         + "check also the data's scale (transform_param scale 0.00390625 for 0-255 pixels) and the weight fillers.")
        }
        return lines.joined(separator: "\n")
    }

    /// Forward order first (the layer that produced a non-finite output from
    /// finite inputs and weights), then backward order from the loss.
    /// Also whether the value came from a data layer (nothing computed it).
    static func firstNonFinite(_ net: Net) -> (text: String, fromData: Bool)? {
        func bad(_ p: UnsafeMutablePointer<Float>, _ n: Int) -> String? {
            for i in 0..<n where !p[i].isFinite { return p[i].isNaN ? "NaN" : "Inf" }
            return nil
        }
        for (i, l) in net.layers.enumerated() {
            for (k, w) in l.params.enumerated() {
                if let v = bad(w.data, w.count) { return ("the weights of layer '\(l.name)' (\(l.type)), blob \(k), hold \(v)", false) }
            }
            for (j, t) in net.tops(of: i).enumerated() {
                if let v = bad(t.data, t.count) {
                    let name = j < l.parameter.tops.count ? l.parameter.tops[j] : "#\(j)"
                    if net.bottoms(of: i).isEmpty { return ("the data layer '\(l.name)' (\(l.type)) delivered \(v) in its output '\(name)'", true) }
                    return ("layer '\(l.name)' (\(l.type)) computed \(v) in its output '\(name)' in the forward pass, from finite inputs and weights", false)
                }
            }
        }
        for i in net.layers.indices.reversed() where net.layerNeedsBackward(i) {
            let l = net.layers[i]
            for (k, w) in l.params.enumerated() {
                if let v = bad(w.diff, w.count) { return ("layer '\(l.name)' (\(l.type)) computed \(v) in the gradient of its blob \(k) in the backward pass", false) }
            }
            for (j, b) in net.bottoms(of: i).enumerated() where net.propagatesDown(i)[j] {
                if let v = bad(b.diff, b.count) {
                    let name = j < l.parameter.bottoms.count ? l.parameter.bottoms[j] : "#\(j)"
                    return ("layer '\(l.name)' (\(l.type)) computed \(v) in the gradient of its input '\(name)' in the backward pass", false)
                }
            }
        }
        return nil
    }
}
