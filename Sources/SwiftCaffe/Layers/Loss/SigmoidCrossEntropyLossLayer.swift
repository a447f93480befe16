import Foundation

struct SigmoidCrossEntropyLossPlan: PairLossPlan {
    static let type = "SigmoidCrossEntropyLoss"
    init(_ l: LayerParameter) throws {}
}

/// loss = −Σ [t·log σ(x) + (1 − t)·log(1 − σ(x))] / normaliser, computed
/// stably as Σ [max(x, 0) − x·t + log(1 + e^−|x|)]; positions with target
/// ignore_label count nothing. Normalisation defaults to BATCH_SIZE (Caffe
/// keeps that for history). dx = (σ(x) − t)·dloss / normaliser.
final class SigmoidCrossEntropyLossLayer: Layer {
    private let ignoreLabel: Int?
    private let normalization: LossNormalization

    required init(_ ctx: LayerContext) throws {
        let lp = ctx.parameter.proto.lossParam
        ignoreLabel = lp.has(.ignoreLabel) ? lp.ignoreLabel : nil
        normalization = LossNormalization(lp, default: .batchSize)
        try super.init(ctx)
    }

    override func allowsForceBackward(_ bottom: Int) -> Bool { bottom == 0 }

    private func normaliser(_ b: Blob, valid: Int) -> Float {
        switch normalization {
        case .full: return Float(max(1, b.count))
        case .valid: return Float(max(1, ignoreLabel == nil ? b.count : valid))
        case .batchSize: return Float(max(1, b.dim(0)))
        case .none: return 1
        }
    }

    private func ignored(_ t: Float) -> Bool { ignoreLabel.map { Int(t) == $0 } ?? false }

    override func forward(_ bottoms: [Blob], _ tops: [Blob]) throws {
        let x = bottoms[0].data, t = bottoms[1].data
        var loss: Double = 0
        var valid = 0
        for i in 0..<bottoms[0].count where !ignored(t[i]) {
            loss += Double(max(x[i], 0) - x[i] * t[i] + log(1 + exp(-abs(x[i]))))
            valid += 1
        }
        tops[0].data[0] = Float(loss) / normaliser(bottoms[0], valid: valid)
    }

    override func backward(_ tops: [Blob], _ propagateDown: [Bool], _ bottoms: [Blob]) throws {
        if propagateDown.count > 1, propagateDown[1] { throw fail("cannot backpropagate to the target input") }
        guard propagateDown[0] else { return }
        let x = bottoms[0].data, t = bottoms[1].data, dx = bottoms[0].diff
        var valid = 0
        for i in 0..<bottoms[0].count {
            if ignored(t[i]) {
                dx[i] = 0
            } else {
                dx[i] = 1 / (1 + exp(-x[i])) - t[i]
                valid += 1
            }
        }
        BLAS.scal(bottoms[0].count, tops[0].diff[0] / normaliser(bottoms[0], valid: valid), dx)
    }
}
