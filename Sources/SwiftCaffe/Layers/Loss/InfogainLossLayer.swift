import Foundation

/// Softmax, then a cross-entropy weighted by an infogain matrix H (L × L for
/// L classes) from `source` or a third bottom; the probabilities may be a
/// second top.
struct InfogainLossPlan: LayerPlan {
    static let type = "InfogainLoss"
    static let isLoss = true
    static let bottoms = 2...3
    static let tops = 1...2
    let param: Caffe.InfogainLossParameter

    init(_ l: LayerParameter) throws {
        param = l.proto.infogainLossParam
        if l.bottoms.count == 2, param.source.isEmpty {
            throw PlanError("InfogainLoss needs its matrix: infogain_loss_param { source: \"H.binaryproto\" } or a third bottom",
                            at: param.location ?? l.location)
        }
    }

    func plan(_ b: [Shape]) throws -> PlannedShapes {
        let axis = try checkLabels(b[0], b[1], axis: param.axis, at: param.location(of: .axis))
        let classes = b[0][axis]
        if b.count == 3, count(b[2]) != classes * classes {
            throw PlanError("the infogain bottom has \(count(b[2])) values; \(classes) classes need \(classes)×\(classes)")
        }
        return PlannedShapes(tops: [[], b[0]])
    }
}

/// Caffe's InfogainLoss (the version with its own softmax): p = softmax(x)
/// along `axis`; loss = −Σ_positions Σ_l H[label, l]·log max(p_l, FLT_MIN) /
/// normaliser (loss_param.normalization, VALID by default; ignore_label
/// positions count nothing). dx_l = (p_l·Σ_k H[label, k] − H[label, l])·dloss
/// / normaliser. With H the identity this is SoftmaxWithLoss.
final class InfogainLossLayer: Layer {
    private let axis: Int
    private let ignoreLabel: Int?
    private let normalization: LossNormalization
    /// H from `source`, or nil when the third bottom gives it.
    private let fileMatrix: (path: String, values: [Float])?
    private let prob = Blob()

    required init(_ ctx: LayerContext) throws {
        let p = ctx.plan(InfogainLossPlan.self).param
        axis = p.axis
        let lp = ctx.parameter.proto.lossParam
        ignoreLabel = lp.has(.ignoreLabel) ? lp.ignoreLabel : nil
        normalization = LossNormalization(lp, default: .valid)
        if ctx.parameter.bottoms.count == 2 {
            do { fileMatrix = (p.source, try BlobProtoFile.read(path: p.source).values) } catch let e as CaffeError {
                throw CaffeError.at(p.location(of: .source) ?? ctx.parameter.location,
                                    "\(ctx.parameter.label): cannot read its infogain matrix: \(e)")
            }
        } else {
            fileMatrix = nil
        }
        try super.init(ctx)
    }

    override var classLabelBottom: Int? { 1 }
    override func allowsForceBackward(_ bottom: Int) -> Bool { bottom == 0 }

    override func reshape(_ bottoms: [Blob], _ tops: [Blob]) throws {
        try super.reshape(bottoms, tops)
        try reshape(prob, to: bottoms[0].shape, what: "its probabilities")
        let (_, classes, _) = try SoftmaxLayer.split(bottoms[0], axis: axis)
        if let m = fileMatrix, m.values.count != classes * classes {
            throw fail("the infogain matrix \(m.path) holds \(m.values.count) values; \(classes) classes need \(classes)×\(classes)")
        }
    }

    private func withMatrix<R>(_ bottoms: [Blob], _ body: (UnsafePointer<Float>) throws -> R) rethrows -> R {
        if let m = fileMatrix { return try m.values.withUnsafeBufferPointer { try body($0.baseAddress!) } }
        return try body(bottoms[2].data)
    }


    override func forward(_ bottoms: [Blob], _ tops: [Blob]) throws {
        let (outer, classes, inner) = try SoftmaxLayer.split(bottoms[0], axis: axis)
        SoftmaxLayer.softmax(bottoms[0].data, prob.data, outer: outer, channels: classes, inner: inner)
        let p = prob.data
        var loss: Double = 0
        var valid = 0
        try withMatrix(bottoms) { h in
            for o in 0..<outer {
                for i in 0..<inner {
                    let label = try classLabel(bottoms[1].data[o * inner + i], at: o * inner + i)
                    if label == ignoreLabel { continue }
                    guard label >= 0, label < classes else { throw fail("label \(label) at position \(o * inner + i) is outside 0..<\(classes)") }
                    for l in 0..<classes {
                        loss -= Double(h[label * classes + l]) * Double(log(max(p[(o * classes + l) * inner + i], Float.leastNormalMagnitude)))
                    }
                    valid += 1
                }
            }
        }
        tops[0].data[0] = Float(loss) / normalization.divisor(outer: outer, inner: inner, valid: valid)
        if tops.count == 2 { tops[1].data.update(from: p, count: prob.count) }
    }

    override func backward(_ tops: [Blob], _ propagateDown: [Bool], _ bottoms: [Blob]) throws {
        if propagateDown[1] { throw fail("cannot backpropagate to the label input") }
        if propagateDown.count > 2, propagateDown[2] { throw fail("cannot backpropagate to the infogain matrix input") }
        guard propagateDown[0] else { return }
        let (outer, classes, inner) = try SoftmaxLayer.split(bottoms[0], axis: axis)
        let p = prob.data, dx = bottoms[0].diff
        var valid = 0
        try withMatrix(bottoms) { h in
            let rowSums = (0..<classes).map { r in (0..<classes).reduce(Float(0)) { $0 + h[r * classes + $1] } }
            for o in 0..<outer {
                for i in 0..<inner {
                    let label = try classLabel(bottoms[1].data[o * inner + i], at: o * inner + i)
                    if label == ignoreLabel {
                        for l in 0..<classes { dx[(o * classes + l) * inner + i] = 0 }
                        continue
                    }
                    guard label >= 0, label < classes else { throw fail("label \(label) at position \(o * inner + i) is outside 0..<\(classes)") }
                    for l in 0..<classes {
                        let k = (o * classes + l) * inner + i
                        dx[k] = p[k] * rowSums[label] - h[label * classes + l]
                    }
                    valid += 1
                }
            }
        }
        BLAS.scal(prob.count, tops[0].diff[0] / normalization.divisor(outer: outer, inner: inner, valid: valid), dx)
    }
}
