extension OnnxExport {
    /// What an export with `allowApproximate` changes, by layer type.
    public static let approximations: [String: String] = [
        DetectionOutputPlan.type: "DetectionOutput: boxes are decoded in float (the fork rounds box centres in double), so a box whose "
            + "score or overlap sits exactly at a threshold may be kept by one and dropped by the other; boxes with equal scores "
            + "may come out in another order; the row count is a free dimension of the output",
    ]

    /// The types of `net`'s layers that an approximate export changes, in net order.
    public static func approximatedTypes(in net: Net) -> [String] {
        var seen: Set<String> = []
        return net.graph.layers.map(\.layer.type).filter { approximations[$0] != nil && seen.insert($0).inserted }
    }
}

extension OnnxExport.Builder {
    /// SSD's DetectionOutput as ONNX operators, when approximation is allowed.
    /// The steps are the fork's: decode each prior's offsets, take each
    /// foreground class's best top_k scores, NMS per image and class
    /// (NonMaxSuppression with the (image, class) pairs as its batch, so
    /// each pair has its own top_k boxes), keep the best keep_top_k of an
    /// image in label order, and rows of −1 when nothing is found at all.
    mutating func detectionOutput(_ l: LayerParameter, _ plan: DetectionOutputPlan, _ shapes: [Shape]) throws {
        let name = l.name
        guard options.allowApproximate else {
            throw OnnxExport.Refusal("DetectionOutput's NMS is exported only with --allow-approximate (\(OnnxExport.approximations[l.type]!)); "
                          + "or export the net up to its loc, conf and prior outputs and decode them outside")
        }
        guard plan.eta == 1 else { throw OnnxExport.Refusal("nms_param eta \(plan.eta) (adaptive NMS) has no ONNX operator; only eta 1 is exported") }
        guard !options.dynamicBatch else { throw OnnxExport.Refusal("DetectionOutput is exported with a fixed batch only (keep_top_k and the −1 rows are per image)") }
        let priors = try plan.priors(shapes), images = shapes[0][0], locationClasses = plan.locationClasses
        let foreground = (0..<plan.classes).filter { $0 != plan.backgroundLabel }, classes = foreground.count
        let k = plan.topK > -1 && plan.topK < priors ? plan.topK : priors
        let (loc, conf, prior) = (try input(l.bottoms[0]), try input(l.bottoms[1]), try input(l.bottoms[2]))
        func value(_ what: String) -> String { temporary(name, what) }
        func step(_ op: String, _ what: String, _ inputs: [String], _ attributes: [OnnxModel.Attribute] = []) -> String {
            let out = value(what)
            node(op, "\(name)/\(what)", inputs, [out], attributes)
            return out
        }
        func ints(_ what: String, _ v: [Int]) -> String { constant(name, what, int64s: v) }
        func slice(_ x: String, _ what: String, axis: Int, _ range: Range<Int>) -> String {
            step("Slice", what, [x, ints("\(what)_start", [range.lowerBound]), ints("\(what)_end", [range.upperBound]), ints("\(what)_axis", [axis])])
        }

        // Priors and variances, 1 × P × 4 each; offsets N × L × P × 4.
        let pairs = step("Reshape", "prior_pairs", [prior, ints("prior_pairs_shape", [2, priors, 4])])
        let boxes = value("prior_boxes"), variances = value("variances")
        node("Split", "\(name)/priors", [pairs, ints("prior_split", [1, 1])], [boxes, variances], [.int("axis", 0)])
        let grouped = step("Reshape", "offsets_grouped", [loc, ints("offsets_shape", [images, priors, locationClasses, 4])])
        let offsets = step("Transpose", "offsets", [grouped], [.ints("perm", [0, 2, 1, 3])])
        let scaled = plan.varianceEncodedInTarget ? offsets : step("Mul", "scaled_offsets", [offsets, variances])
        let decoded: String
        switch plan.codeType {
        case .corner:
            decoded = step("Add", "decoded", [boxes, scaled])
        case .cornerSize:
            let size = step("Sub", "prior_size", [slice(boxes, "prior_max", axis: 2, 2..<4), slice(boxes, "prior_min", axis: 2, 0..<2)])
            let sizes = step("Concat", "prior_sizes", [size, size], [.int("axis", 2)])
            decoded = step("Add", "decoded", [boxes, step("Mul", "sized_offsets", [scaled, sizes])])
        case .centerSize:
            let lo = slice(boxes, "prior_min", axis: 2, 0..<2), hi = slice(boxes, "prior_max", axis: 2, 2..<4)
            let size = step("Sub", "prior_size", [hi, lo])
            let half = constant(name, "half", dims: [], floats: [0.5])
            let centre = step("Mul", "prior_centre", [step("Add", "prior_sum", [lo, hi]), half])
            let shift = slice(scaled, "centre_offsets", axis: 3, 0..<2), stretch = slice(scaled, "size_offsets", axis: 3, 2..<4)
            let c = step("Add", "centre", [step("Mul", "centre_shift", [shift, size]), centre])
            let halfSize = step("Mul", "half_size", [step("Mul", "size", [step("Exp", "stretch", [stretch]), size]), half])
            decoded = step("Concat", "decoded", [step("Sub", "corner_min", [c, halfSize]), step("Add", "corner_max", [c, halfSize])], [.int("axis", 3)])
        }
        // Scores N × F × P for the foreground classes, and their boxes N × F × P × 4.
        let byPrior = step("Reshape", "scores_by_prior", [conf, ints("scores_shape", [images, priors, plan.classes])])
        let allScores = step("Transpose", "scores_by_class", [byPrior], [.ints("perm", [0, 2, 1])])
        let foregroundIDs = ints("foreground", foreground)
        let scores = step("Gather", "foreground_scores", [allScores, foregroundIDs], [.int("axis", 1)])
        let classBoxes = locationClasses == 1
            ? step("Expand", "class_boxes", [decoded, ints("class_boxes_shape", [images, classes, priors, 4])])
            : step("Gather", "class_boxes", [decoded, foregroundIDs], [.int("axis", 1)])
        var candidates = scores, candidateBoxes = classBoxes
        if k < priors {
            let best = value("top_scores"), order = value("top_order")
            node("TopK", "\(name)/top_k", [scores, ints("top_k", [k])], [best, order], [.int("axis", 2)])
            let order4 = step("Unsqueeze", "top_order_4d", [order, ints("unsqueeze_axis", [3])])
            let gatherIndex = step("Expand", "top_order_boxes", [order4, ints("top_boxes_shape", [images, classes, k, 4])])
            candidates = best
            candidateBoxes = step("GatherElements", "top_boxes", [classBoxes, gatherIndex], [.int("axis", 2)])
        }
        let pairBoxes = step("Reshape", "nms_boxes", [candidateBoxes, ints("nms_boxes_shape", [images * classes, k, 4])])
        let pairScores = step("Reshape", "nms_scores", [candidates, ints("nms_scores_shape", [images * classes, 1, k])])
        // An inverted box (min > max) overlaps nothing in the fork; onnxruntime would
        // swap its corners, so NMS sees it collapsed to no area.
        let nmsLo = slice(pairBoxes, "nms_min", axis: 2, 0..<2)
        let nmsBoxes = step("Concat", "nms_corners", [nmsLo, step("Max", "nms_max", [nmsLo, slice(pairBoxes, "nms_max_given", axis: 2, 2..<4)])], [.int("axis", 2)])
        var nmsInputs = [nmsBoxes, pairScores, ints("max_boxes", [k]), constant(name, "iou_threshold", dims: [1], floats: [plan.nmsThreshold])]
        if plan.confidenceThreshold > -.greatestFiniteMagnitude {
            nmsInputs.append(constant(name, "score_threshold", dims: [1], floats: [plan.confidenceThreshold]))
        }
        // Rows come out by pair (image, then class) and by decreasing score.
        let selected = step("NonMaxSuppression", "nms", nmsInputs)
        let pair = step("Gather", "selected_pair", [selected, ints("pair_column", [0])], [.int("axis", 1)])
        let box = step("Gather", "selected_box", [selected, ints("box_column", [2])], [.int("axis", 1)])
        let at = step("Concat", "selected_at", [pair, box], [.int("axis", 1)])
        let score = step("GatherND", "score", [step("Reshape", "pair_scores", [candidates, ints("pair_scores_shape", [images * classes, k])]), at])
        let corners = step("GatherND", "corners", [pairBoxes, at])
        let classCount = ints("class_count", [classes])
        let image = step("Div", "image", [pair, classCount])
        let label = step("Gather", "label", [foregroundIDs, step("Squeeze", "class_position", [step("Mod", "class_slot", [pair, classCount]), ints("squeeze_axis", [1])])])
        let labelColumn = step("Unsqueeze", "label_column", [label, ints("label_axis", [1])])
        var rows = step("Concat", "rows", [step("Cast", "image_column", [image], [.int("to", 1)]), step("Cast", "label_float", [labelColumn], [.int("to", 1)]),
                                            step("Unsqueeze", "score_column", [score, ints("score_axis", [1])]), corners], [.int("axis", 1)])
        if plan.keepTopK > -1 {
            // The best keep_top_k of each image, put back in row order, which is label order.
            var kept: [String] = []
            let imageList = step("Squeeze", "image_list", [image, ints("image_list_axis", [1])])
            for i in 0..<images {
                var (imageRows, imageScores) = (rows, score)
                if images > 1 {
                    let mine = step("Equal", "image\(i)_rows", [imageList, ints("image\(i)", [i])])
                    let where_ = step("Squeeze", "image\(i)_where", [step("NonZero", "image\(i)_nonzero", [mine]), ints("image\(i)_axis", [0])])
                    imageRows = step("Gather", "image\(i)_rows_kept", [rows, where_], [.int("axis", 0)])
                    imageScores = step("Gather", "image\(i)_scores", [score, where_], [.int("axis", 0)])
                }
                let available = step("Shape", "image\(i)_count", [imageScores])
                let keep = step("Min", "image\(i)_keep", [available, ints("keep_top_k", [plan.keepTopK])])
                let best = value("image\(i)_best"), order = value("image\(i)_order")
                node("TopK", "\(name)/image\(i)_keep_top_k", [imageScores, keep], [best, order], [.int("axis", 0)])
                let ascending = value("image\(i)_ascending"), unused = value("image\(i)_ascending_order")
                node("TopK", "\(name)/image\(i)_row_order", [step("Cast", "image\(i)_order_float", [order], [.int("to", 1)]), keep],
                     [ascending, unused], [.int("axis", 0), .int("largest", 0)])
                let rowIndex = step("Cast", "image\(i)_row_index", [ascending], [.int("to", 7)])
                kept.append(step("Gather", "image\(i)_kept", [imageRows, rowIndex], [.int("axis", 0)]))
            }
            rows = kept.count == 1 ? kept[0] : step("Concat", "kept_rows", kept, [.int("axis", 0)])
        }
        // No detection in any image: a row per image of −1 but for its index.
        let found = step("Shape", "found", [rows])
        let none = step("Cast", "none_found", [step("Equal", "nothing", [slice(found, "found_rows", axis: 0, 0..<1), ints("zero", [0])])], [.int("to", 7)])
        let end = step("Add", "row_count", [slice(found, "found_count", axis: 0, 0..<1), step("Mul", "placeholder_count", [none, ints("images", [images])])])
        let placeholders = constant(name, "placeholders", dims: [images, 7], floats: (0..<images).flatMap { [Float($0)] + Array(repeating: -1, count: 6) })
        let padded = step("Concat", "rows_or_placeholders", [rows, placeholders], [.int("axis", 0)])
        let final = step("Slice", "final_rows", [padded, ints("final_start", [0]), end, ints("final_axis", [0])])
        let top = output(l.tops[0], of: name)
        node("Reshape", name, [final, ints("shape", [1, 1, -1, 7])], [top])
        freeOutputDims[top] = .init(name: top, dims: [1, 1, nil, 7], freeNames: [2: "detections"])
    }
}
