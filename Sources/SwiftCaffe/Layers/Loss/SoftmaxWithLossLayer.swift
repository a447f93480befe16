import Foundation

/// −log softmax(x)[label], averaged as `loss_param.normalization` says.
struct SoftmaxWithLossPlan: LayerPlan {
    static let type = "SoftmaxWithLoss"
    static let isLoss = true
    static let bottoms = 2...2
    static let tops = 1...2
    var axis: Int { param.axis }
    let param: Caffe.SoftmaxParameter

    init(_ l: LayerParameter) throws {
        param = l.proto.softmaxParam
    }

    func plan(_ b: [Shape]) throws -> PlannedShapes {
        _ = try checkLabels(b[0], b[1], axis: axis, at: param.location(of: .axis))
        return PlannedShapes(tops: [[], b[0]])
    }
}

/// loss = −Σ log p[label] / normaliser, p = softmax(x) along `axis`; positions
/// whose label is ignore_label count nothing. Normaliser by
/// loss_param.normalization: FULL = all positions, VALID = positions not
/// ignored (the default), BATCH_SIZE = outer count, NONE = 1 (deprecated
/// `normalize: false` means BATCH_SIZE). dx = (p − onehot(label))·dloss / normaliser.
final class SoftmaxWithLossLayer: Layer {
    private let axis: Int
    private let ignoreLabel: Int?
    private let normalization: LossNormalization
    private let prob = Blob()

    required init(_ ctx: LayerContext) throws {
        axis = ctx.parameter.proto.softmaxParam.axis
        let lp = ctx.parameter.proto.lossParam
        ignoreLabel = lp.has(.ignoreLabel) ? lp.ignoreLabel : nil
        normalization = LossNormalization(lp, default: .valid)
        try super.init(ctx)
    }

    override func allowsForceBackward(_ bottom: Int) -> Bool { bottom == 0 }

    override var classLabelBottom: Int? { 1 }

    override func reshape(_ bottoms: [Blob], _ tops: [Blob]) throws {
        try super.reshape(bottoms, tops)
        try reshape(prob, to: bottoms[0].shape, what: "its probabilities")
    }


    override func forward(_ bottoms: [Blob], _ tops: [Blob]) throws {
        let (outer, channels, inner) = try SoftmaxLayer.split(bottoms[0], axis: axis)
        SoftmaxLayer.softmax(bottoms[0].data, prob.data, outer: outer, channels: channels, inner: inner)
        let p = prob.data, labels = bottoms[1].data
        var loss: Double = 0
        var valid = 0
        for o in 0..<outer {
            for i in 0..<inner {
                let label = try classLabel(labels[o * inner + i], at: o * inner + i)
                if label == ignoreLabel { continue }
                guard label >= 0, label < channels else {
                    throw fail("label \(label) at position \(o * inner + i) is outside 0..<\(channels)")
                }
                loss -= Double(log(max(p[(o * channels + label) * inner + i], Float.leastNormalMagnitude)))
                valid += 1
            }
        }
        tops[0].data[0] = Float(loss) / normalization.divisor(outer: outer, inner: inner, valid: valid)
        if tops.count == 2 { tops[1].data.update(from: p, count: prob.count) }
    }

    override func backward(_ tops: [Blob], _ propagateDown: [Bool], _ bottoms: [Blob]) throws {
        if propagateDown.count > 1, propagateDown[1] { throw fail("cannot backpropagate to the label input") }
        guard propagateDown[0] else { return }
        let (outer, channels, inner) = try SoftmaxLayer.split(bottoms[0], axis: axis)
        let dx = bottoms[0].diff, labels = bottoms[1].data
        dx.update(from: prob.data, count: prob.count)
        var valid = 0
        for o in 0..<outer {
            for i in 0..<inner {
                let label = try classLabel(labels[o * inner + i], at: o * inner + i)
                if label == ignoreLabel {
                    for c in 0..<channels { dx[(o * channels + c) * inner + i] = 0 }
                } else {
                    guard label >= 0, label < channels else {
                        throw fail("label \(label) at position \(o * inner + i) is outside 0..<\(channels)")
                    }
                    dx[(o * channels + label) * inner + i] -= 1
                    valid += 1
                }
            }
        }
        BLAS.scal(prob.count, tops[0].diff[0] / normalization.divisor(outer: outer, inner: inner, valid: valid), dx)
    }
}
