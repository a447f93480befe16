import Foundation

/// SSD's DetectionOutput (weiliu89/caffe, detection_output_param). Bottoms:
/// box offsets (N × priors·L·4, L = 1 with share_location, else the class
/// count), class confidences (N × priors·classes, already softmaxed) and the
/// PriorBox output (1×2×priors·4). Per image and per class but the
/// background, the boxes scoring over confidence_threshold are decoded
/// against their priors, the best top_k kept, and NMS applied; then the best
/// keep_top_k over all classes remain. The top is 1×1×D×7, a row per
/// detection: image, label, score, xmin, ymin, xmax, ymax (fractions of the
/// image, not clipped), rows grouped by image, then by label in increasing
/// order, each label's rows by decreasing score, as the fork writes them.
/// With no detection at all the top is 1×1×N×7 of −1, with column 0 the image.
struct DetectionOutputPlan: LayerPlan {
    static let type = "DetectionOutput"
    static let bottoms = 3...3
    static let tops = 1...1
    typealias CodeType = Caffe.PriorBoxParameter.CodeType
    let classes: Int
    let shareLocation: Bool
    let backgroundLabel: Int
    let nmsThreshold: Float
    /// −1: every candidate goes to NMS.
    let topK: Int
    let eta: Float
    let keepTopK: Int
    let confidenceThreshold: Float
    let codeType: CodeType
    let varianceEncodedInTarget: Bool
    let param: Caffe.DetectionOutputParameter
    private let warnings: [String]

    var locationClasses: Int { shareLocation ? 1 : classes }

    init(_ l: LayerParameter) throws {
        let p = l.proto.detectionOutputParam
        param = p
        guard p.has(.numClasses), p.numClasses > 0 else {
            throw PlanError("DetectionOutput needs detection_output_param num_classes (the class count, background included)",
                            at: p.location(of: .numClasses) ?? p.message.location ?? l.location)
        }
        classes = p.numClasses
        shareLocation = p.shareLocation
        backgroundLabel = p.backgroundLabelId
        let nms = p.nmsParam
        nmsThreshold = Float(nms.nmsThreshold)
        guard nmsThreshold >= 0 else { throw PlanError("nms_param nms_threshold must be ≥ 0, found \(nms.nmsThreshold)", at: nms.location(of: .nmsThreshold)) }
        eta = Float(nms.eta)
        guard eta > 0, eta <= 1 else { throw PlanError("nms_param eta must be in (0, 1], found \(nms.eta)", at: nms.location(of: .eta)) }
        topK = nms.has(.topK) ? nms.topK : -1
        keepTopK = p.keepTopK
        guard keepTopK >= -1 else { throw PlanError("keep_top_k must be ≥ -1, found \(keepTopK)", at: p.location(of: .keepTopK)) }
        confidenceThreshold = p.has(.confidenceThreshold) ? Float(p.confidenceThreshold) : -.greatestFiniteMagnitude
        codeType = p.codeType
        varianceEncodedInTarget = p.varianceEncodedInTarget
        var notes: [String] = []
        if !p.saveOutputParam.outputDirectory.isEmpty {
            notes.append("save_output_param: the detections are the layer's top; SwiftCaffe writes no files to '\(p.saveOutputParam.outputDirectory)'")
        }
        if p.visualize { notes.append("visualize: not shown; `swiftcaffe detect -o boxes.png` draws the boxes") }
        warnings = notes
    }

    /// The prior count, after checking the three bottoms agree.
    func priors(_ b: [Shape]) throws -> Int {
        let (loc, conf, prior) = (b[0], b[1], b[2])
        guard prior.count == 3, prior[1] == 2, prior[2] % 4 == 0 else {
            throw PlanError("DetectionOutput's bottom 2 must be PriorBox output 1×2×(priors·4), found \(describe(prior))")
        }
        let priors = prior[2] / 4
        guard loc.count >= 2, conf.count >= 2, loc[0] == conf[0] else {
            throw PlanError("DetectionOutput's location (\(describe(loc))) and confidence (\(describe(conf))) bottoms must have one item count")
        }
        let locValues = count(loc, from: 1), confValues = count(conf, from: 1)
        guard locValues == priors * locationClasses * 4 else {
            throw PlanError("DetectionOutput: \(priors) priors need \(priors * locationClasses * 4) location values per image "
                            + "(priors × \(locationClasses) location class\(locationClasses == 1 ? "" : "es") × 4), bottom 0 has \(locValues)")
        }
        guard confValues == priors * classes else {
            throw PlanError("DetectionOutput: \(priors) priors need \(priors * classes) confidence values per image "
                            + "(priors × num_classes \(classes)), bottom 1 has \(confValues)")
        }
        return priors
    }

    func plan(_ b: [Shape]) throws -> PlannedShapes {
        _ = try priors(b)
        // How many boxes survive is known only when the net runs.
        return PlannedShapes(tops: [nil], warnings: warnings)
    }
}

/// A box in fractions of the image.
struct DetectionBox: Equatable {
    var xmin: Float, ymin: Float, xmax: Float, ymax: Float

    /// The fork's BBoxSize for normalized boxes: 0 when inverted.
    var area: Float { xmax < xmin || ymax < ymin ? 0 : (xmax - xmin) * (ymax - ymin) }

    /// Intersection over union (the fork's JaccardOverlap, normalized).
    func overlap(_ o: DetectionBox) -> Float {
        if o.xmin > xmax || o.xmax < xmin || o.ymin > ymax || o.ymax < ymin { return 0 }
        let w = min(xmax, o.xmax) - max(xmin, o.xmin), h = min(ymax, o.ymax) - max(ymin, o.ymin)
        guard w > 0, h > 0 else { return 0 }
        let inter = w * h
        return inter / (area + o.area - inter)
    }

    /// The box an offset `d` (4 values) encodes against `prior` with its
    /// 4 variances `v` (ignored when the variance is in the target).
    static func decode(_ d: UnsafePointer<Float>, prior: DetectionBox, variance v: UnsafePointer<Float>,
                       _ code: DetectionOutputPlan.CodeType, varianceInTarget: Bool) -> DetectionBox {
        let s: (Float, Float, Float, Float) = varianceInTarget ? (1, 1, 1, 1) : (v[0], v[1], v[2], v[3])
        let pw = prior.xmax - prior.xmin, ph = prior.ymax - prior.ymin
        switch code {
        case .corner:
            return DetectionBox(xmin: prior.xmin + s.0 * d[0], ymin: prior.ymin + s.1 * d[1],
                                xmax: prior.xmax + s.2 * d[2], ymax: prior.ymax + s.3 * d[3])
        case .cornerSize:
            return DetectionBox(xmin: prior.xmin + s.0 * d[0] * pw, ymin: prior.ymin + s.1 * d[1] * ph,
                                xmax: prior.xmax + s.2 * d[2] * pw, ymax: prior.ymax + s.3 * d[3] * ph)
        case .centerSize:
            // The fork halves in double and stores floats.
            let pcx = Float((Double(prior.xmin) + Double(prior.xmax)) / 2), pcy = Float((Double(prior.ymin) + Double(prior.ymax)) / 2)
            let cx = s.0 * d[0] * pw + pcx, cy = s.1 * d[1] * ph + pcy
            let w = Float(exp(Double(s.2 * d[2]))) * pw, h = Float(exp(Double(s.3 * d[3]))) * ph
            return DetectionBox(xmin: Float(Double(cx) - Double(w) / 2), ymin: Float(Double(cy) - Double(h) / 2),
                                xmax: Float(Double(cx) + Double(w) / 2), ymax: Float(Double(cy) + Double(h) / 2))
        }
    }
}

final class DetectionOutputLayer: Layer {
    private let detection: DetectionOutputPlan

    required init(_ ctx: LayerContext) throws {
        detection = ctx.plan(DetectionOutputPlan.self)
        try super.init(ctx)
    }

    override func allowsForceBackward(_ bottom: Int) -> Bool { false }

    /// Boxes over the threshold, best first (ties keep prior order), at most
    /// top_k, then the fork's ApplyNMSFast: a box stays unless it overlaps a
    /// kept one by more than the threshold, which eta lowers after each kept
    /// box while it is over 0.5.
    private func suppress(_ boxes: [DetectionBox], scores: (Int) -> Float) -> [Int] {
        var candidates: [(Float, Int)] = []
        for p in boxes.indices where scores(p) > detection.confidenceThreshold { candidates.append((scores(p), p)) }
        candidates = candidates.enumerated().sorted { a, b in a.element.0 != b.element.0 ? a.element.0 > b.element.0 : a.offset < b.offset }.map(\.element)
        if detection.topK > -1, detection.topK < candidates.count { candidates.removeLast(candidates.count - detection.topK) }
        var kept: [Int] = [], threshold = detection.nmsThreshold
        for (_, p) in candidates {
            let keep = kept.allSatisfy { boxes[p].overlap(boxes[$0]) <= threshold }
            if keep {
                kept.append(p)
                if detection.eta < 1, threshold > 0.5 { threshold *= detection.eta }
            }
        }
        return kept
    }

    override func forward(_ bottoms: [Blob], _ tops: [Blob]) throws {
        let d = detection
        // Reshape planned the bottoms, so their counts agree.
        let priors = bottoms[2].dim(2) / 4, images = bottoms[0].dim(0)
        let loc = bottoms[0].data, conf = bottoms[1].data, prior = bottoms[2].data, variance = prior + priors * 4
        let priorBoxes = (0..<priors).map { DetectionBox(xmin: prior[$0 * 4], ymin: prior[$0 * 4 + 1], xmax: prior[$0 * 4 + 2], ymax: prior[$0 * 4 + 3]) }
        var rows: [Float] = []
        for image in 0..<images {
            // Decoded boxes per location class.
            let locations = loc + image * priors * d.locationClasses * 4
            var decoded: [[DetectionBox]] = Array(repeating: [], count: d.locationClasses)
            for l in 0..<d.locationClasses where d.shareLocation || l != d.backgroundLabel {
                decoded[l] = (0..<priors).map { p in
                    DetectionBox.decode(locations + (p * d.locationClasses + l) * 4, prior: priorBoxes[p], variance: variance + p * 4,
                                        d.codeType, varianceInTarget: d.varianceEncodedInTarget)
                }
            }
            let scores = conf + image * priors * d.classes
            var kept: [(label: Int, prior: Int, score: Float)] = []
            for c in 0..<d.classes where c != d.backgroundLabel {
                let boxes = decoded[d.shareLocation ? 0 : c]
                for p in suppress(boxes, scores: { scores[$0 * d.classes + c] }) { kept.append((c, p, scores[p * d.classes + c])) }
            }
            if d.keepTopK > -1, kept.count > d.keepTopK {
                // The best keep_top_k over all classes, then back in label order.
                let best = kept.indices.sorted { kept[$0].score != kept[$1].score ? kept[$0].score > kept[$1].score : $0 < $1 }.prefix(d.keepTopK)
                kept = best.map { kept[$0] }.enumerated().sorted { a, b in
                    a.element.label != b.element.label ? a.element.label < b.element.label : a.offset < b.offset
                }.map(\.element)
            }
            for k in kept {
                let b = decoded[d.shareLocation ? 0 : k.label][k.prior]
                rows += [Float(image), Float(k.label), k.score, b.xmin, b.ymin, b.xmax, b.ymax]
            }
        }
        if rows.isEmpty {
            rows = (0..<images).flatMap { [Float($0), -1, -1, -1, -1, -1, -1] }
        }
        try reshape(tops[0], to: [1, 1, rows.count / 7, 7], what: "its top '\(parameter.tops[0])'")
        tops[0].set(rows)
    }

    override func backward(_ tops: [Blob], _ propagateDown: [Bool], _ bottoms: [Blob]) throws {
        for (b, down) in zip(bottoms, propagateDown) where down { b.zeroDiff() }
    }
}
