import Foundation

/// SSD's PriorBox (weiliu89/caffe, prior_box_param): the default boxes of one
/// feature map, in input coordinates scaled to [0, 1]. Bottom 0 is the
/// feature map (its H×W cells), bottom 1 the net's input image (its size,
/// unless img_size or img_h/img_w give it). The top is 1×2×(H·W·priors·4):
/// channel 0 holds the boxes (xmin, ymin, xmax, ymax), channel 1 their
/// variances. Values depend on shapes only, so the layer has no backward.
struct PriorBoxPlan: LayerPlan {
    static let type = "PriorBox"
    static let bottoms = 2...2
    static let tops = 1...1
    let minSizes: [Float]
    let maxSizes: [Float]
    /// 1 first, then each given ratio not seen yet, each followed by its
    /// inverse when flip is set.
    let aspectRatios: [Float]
    let clip: Bool
    let variances: [Float]
    /// 0 where the bottom's shape decides.
    let imageHeight: Int, imageWidth: Int
    let stepHeight: Float, stepWidth: Float
    let offset: Float
    let param: Caffe.PriorBoxParameter

    var priorsPerCell: Int { minSizes.count * aspectRatios.count + maxSizes.count }

    init(_ l: LayerParameter) throws {
        let p = l.proto.priorBoxParam
        param = p
        minSizes = p.minSize.map { Float($0) }
        guard !minSizes.isEmpty else {
            throw PlanError("PriorBox needs at least one prior_box_param min_size (the box size in input pixels)", at: p.message.location ?? l.location)
        }
        for m in minSizes where !(m > 0) { throw PlanError("prior_box_param min_size must be > 0, found \(m)", at: p.location(of: .minSize)) }
        maxSizes = p.maxSize.map { Float($0) }
        if !maxSizes.isEmpty {
            guard maxSizes.count == minSizes.count else {
                throw PlanError("prior_box_param gives \(maxSizes.count) max_size for \(minSizes.count) min_size; give one per min_size or none",
                                at: p.location(of: .maxSize))
            }
            for (lo, hi) in zip(minSizes, maxSizes) where !(hi > lo) {
                throw PlanError("prior_box_param max_size \(hi) must be greater than its min_size \(lo)", at: p.location(of: .maxSize))
            }
        }
        var ratios: [Float] = [1]
        for r in p.aspectRatio.map({ Float($0) }) {
            guard r > 0 else { throw PlanError("prior_box_param aspect_ratio must be > 0, found \(r)", at: p.location(of: .aspectRatio)) }
            if ratios.contains(where: { abs(r - $0) < 1e-6 }) { continue }
            ratios.append(r)
            if p.flip { ratios.append(1 / r) }
        }
        aspectRatios = ratios
        clip = p.clip
        switch p.variance.count {
        case 0: variances = [0.1]
        case 1, 4: variances = p.variance.map { Float($0) }
        default:
            throw PlanError("prior_box_param gives \(p.variance.count) variance values; give 1 or 4", at: p.location(of: .variance))
        }
        for v in variances where !(v > 0) { throw PlanError("prior_box_param variance must be > 0, found \(v)", at: p.location(of: .variance)) }
        if p.has(.imgH) || p.has(.imgW) {
            guard !p.has(.imgSize) else { throw PlanError("prior_box_param gives img_size and img_h/img_w; give one or the other", at: p.location(of: .imgSize)) }
            guard p.imgH > 0, p.imgW > 0 else { throw PlanError("prior_box_param img_h and img_w must both be > 0", at: p.location(of: p.has(.imgH) ? .imgH : .imgW)) }
            (imageHeight, imageWidth) = (p.imgH, p.imgW)
        } else {
            (imageHeight, imageWidth) = (p.imgSize, p.imgSize)
        }
        if p.has(.stepH) || p.has(.stepW) {
            guard !p.has(.step) else { throw PlanError("prior_box_param gives step and step_h/step_w; give one or the other", at: p.location(of: .step)) }
            guard p.stepH > 0, p.stepW > 0 else { throw PlanError("prior_box_param step_h and step_w must both be > 0", at: p.location(of: p.has(.stepH) ? .stepH : .stepW)) }
            (stepHeight, stepWidth) = (Float(p.stepH), Float(p.stepW))
        } else {
            guard p.step >= 0 else { throw PlanError("prior_box_param step must be > 0, found \(p.step)", at: p.location(of: .step)) }
            (stepHeight, stepWidth) = (Float(p.step), Float(p.step))
        }
        offset = Float(p.offset)
    }

    func plan(_ b: [Shape]) throws -> PlannedShapes {
        guard b[0].count == 4 else { throw PlanError("PriorBox's bottom 0 must be a feature map N×C×H×W, found \(describe(b[0]))") }
        guard b[1].count == 4 else { throw PlanError("PriorBox's bottom 1 must be the input image N×C×H×W, found \(describe(b[1]))") }
        let values = product(b[0][2], b[0][3], priorsPerCell, 4)
        try SizeLimit.check(shape: [1, 2, values], what: "the prior boxes")
        return PlannedShapes(tops: [[1, 2, values]])
    }

    /// The boxes and variances of an H×W feature map over an image of
    /// `imageShape` (N×C×H×W), in the top's layout.
    func priors(height: Int, width: Int, imageShape: Shape) -> [Float] {
        let imgH = imageHeight > 0 ? imageHeight : imageShape[2], imgW = imageWidth > 0 ? imageWidth : imageShape[3]
        let stepH = stepHeight > 0 ? stepHeight : Float(imgH) / Float(height)
        let stepW = stepWidth > 0 ? stepWidth : Float(imgW) / Float(width)
        var boxes: [Float] = []
        boxes.reserveCapacity(height * width * priorsPerCell * 4)
        // The fork divides in double and stores floats.
        func add(_ cx: Float, _ cy: Float, _ w: Float, _ h: Float) {
            boxes.append(Float((Double(cx) - Double(w) / 2) / Double(imgW)))
            boxes.append(Float((Double(cy) - Double(h) / 2) / Double(imgH)))
            boxes.append(Float((Double(cx) + Double(w) / 2) / Double(imgW)))
            boxes.append(Float((Double(cy) + Double(h) / 2) / Double(imgH)))
        }
        for h in 0..<height {
            for w in 0..<width {
                let cx = (Float(w) + offset) * stepW, cy = (Float(h) + offset) * stepH
                for (s, minSize) in minSizes.enumerated() {
                    add(cx, cy, minSize, minSize)
                    if !maxSizes.isEmpty {
                        let side = (minSize * maxSizes[s]).squareRoot()
                        add(cx, cy, side, side)
                    }
                    for r in aspectRatios where abs(r - 1) >= 1e-6 {
                        add(cx, cy, minSize * r.squareRoot(), minSize / r.squareRoot())
                    }
                }
            }
        }
        if clip { for i in boxes.indices { boxes[i] = min(max(boxes[i], 0), 1) } }
        let perBox = variances.count == 1 ? Array(repeating: variances[0], count: 4) : variances
        return boxes + (0..<(boxes.count / 4)).flatMap { _ in perBox }
    }
}

final class PriorBoxLayer: Layer {
    private let priorBox: PriorBoxPlan
    /// The boxes of the last shapes seen: they depend on nothing else.
    private var cached: (feature: Shape, image: Shape, values: [Float])?

    required init(_ ctx: LayerContext) throws {
        priorBox = ctx.plan(PriorBoxPlan.self)
        try super.init(ctx)
    }

    override func allowsForceBackward(_ bottom: Int) -> Bool { false }

    override func forward(_ bottoms: [Blob], _ tops: [Blob]) throws {
        let (feature, image) = (bottoms[0].shape, bottoms[1].shape)
        if cached?.feature != feature || cached?.image != image {
            cached = (feature, image, priorBox.priors(height: feature[2], width: feature[3], imageShape: image))
        }
        tops[0].set(cached!.values)
    }

    /// The boxes depend on shapes only: no gradient reaches either bottom.
    override func backward(_ tops: [Blob], _ propagateDown: [Bool], _ bottoms: [Blob]) throws {
        for (b, down) in zip(bottoms, propagateDown) where down { b.zeroDiff() }
    }
}
