/// One-vs-all hinge loss on scores, L1 or L2.
struct HingeLossPlan: ItemLabelLossPlan {
    static let type = "HingeLoss"
    let norm: Caffe.HingeLossParameter.Norm
    init(_ l: LayerParameter) throws { norm = l.proto.hingeLossParam.norm }
}

/// Caffe's HingeLoss: with t = +1 for an item's label and −1 for its other
/// classes, m = max(0, 1 − t·x); loss = Σ m / N (L1, the default) or Σ m² / N
/// (L2). dx = −t·sign(m)·dloss/N (L1) or −2t·m·dloss/N (L2); sign(0) = 0.
final class HingeLossLayer: Layer {
    private let margins = Blob()
    private let squared: Bool

    required init(_ ctx: LayerContext) throws {
        squared = ctx.plan(HingeLossPlan.self).norm == .l2
        try super.init(ctx)
    }

    override var classLabelBottom: Int? { 1 }
    override func allowsForceBackward(_ bottom: Int) -> Bool { bottom == 0 }

    override func reshape(_ bottoms: [Blob], _ tops: [Blob]) throws {
        try super.reshape(bottoms, tops)
        try reshape(margins, to: bottoms[0].shape, what: "its margins")
    }

    override func forward(_ bottoms: [Blob], _ tops: [Blob]) throws {
        let n = bottoms[0].dim(0), d = bottoms[0].count / max(1, n), x = bottoms[0].data, m = margins.data
        var loss: Float = 0
        for i in 0..<n {
            let label = try labelClass(bottoms[1].data, i, classes: d)
            for c in 0..<d {
                let t: Float = c == label ? 1 : -1
                let v = max(0, 1 - t * x[i * d + c])
                m[i * d + c] = v
                loss += squared ? v * v : v
            }
        }
        tops[0].data[0] = loss / Float(max(1, n))
    }

    override func backward(_ tops: [Blob], _ propagateDown: [Bool], _ bottoms: [Blob]) throws {
        if propagateDown[1] { throw fail("cannot backpropagate to the label input") }
        guard propagateDown[0] else { return }
        let n = bottoms[0].dim(0), d = bottoms[0].count / max(1, n), m = margins.data, dx = bottoms[0].diff
        let scale = tops[0].diff[0] / Float(max(1, n))
        for i in 0..<n {
            let label = try labelClass(bottoms[1].data, i, classes: d)
            for c in 0..<d {
                let t: Float = c == label ? 1 : -1
                let v = m[i * d + c]
                dx[i * d + c] = -t * scale * (squared ? 2 * v : (v > 0 ? 1 : 0))
            }
        }
    }
}
