import Foundation

/// −log p[label] for probabilities the net computed itself.
struct MultinomialLogisticLossPlan: ItemLabelLossPlan {
    static let type = "MultinomialLogisticLoss"
    init(_ l: LayerParameter) throws {}
}

/// Caffe's MultinomialLogisticLoss: loss = −Σ_i log max(p[i, label_i], 1e-20) / N
/// over N items of D probabilities each; dp[i, label_i] = −dloss / (N · max(p, 1e-20)),
/// 0 elsewhere.
final class MultinomialLogisticLossLayer: Layer {
    /// Caffe's kLOG_THRESHOLD: a probability of 0 costs log(1e-20), not infinity.
    static let floor: Float = 1e-20

    override var classLabelBottom: Int? { 1 }
    override func allowsForceBackward(_ bottom: Int) -> Bool { bottom == 0 }

    override func forward(_ bottoms: [Blob], _ tops: [Blob]) throws {
        let n = bottoms[0].dim(0), d = bottoms[0].count / max(1, n), p = bottoms[0].data
        var loss: Double = 0
        for i in 0..<n {
            let label = try labelClass(bottoms[1].data, i, classes: d)
            loss -= Double(log(max(p[i * d + label], Self.floor)))
        }
        tops[0].data[0] = Float(loss) / Float(max(1, n))
    }

    override func backward(_ tops: [Blob], _ propagateDown: [Bool], _ bottoms: [Blob]) throws {
        if propagateDown[1] { throw fail("cannot backpropagate to the label input") }
        guard propagateDown[0] else { return }
        let n = bottoms[0].dim(0), d = bottoms[0].count / max(1, n), p = bottoms[0].data, dp = bottoms[0].diff
        let scale = -tops[0].diff[0] / Float(max(1, n))
        dp.update(repeating: 0, count: bottoms[0].count)
        for i in 0..<n {
            let label = try labelClass(bottoms[1].data, i, classes: d)
            dp[i * d + label] = scale / max(p[i * d + label], Self.floor)
        }
    }
}
