import XCTest
@testable import SwiftCaffe

/// SSD's layers (weiliu89/caffe): Normalize, Permute, PriorBox,
/// DetectionOutput. Forward against OpenCV DNN (fixture case ssd_layers),
/// by hand from the fork's definitions where OpenCV departs (img_size,
/// step_h/step_w, eta, row order), gradients against finite differences.
final class SSDLayerTests: XCTestCase {
    /// Runs the layers on inputs named by `values`, returns blob `top`.
    private func run(_ values: [(String, Shape, [Float])], _ layers: String, top: String = "y") throws -> Blob {
        let n = try Net(graph: try buildNet(inputs(values.map { ($0.0, $0.1) }, layers)))
        for (name, _, v) in values { n.blob(name)!.set(v) }
        try n.forward()
        return n.blob(top)!
    }

    private func assertClose(_ a: [Float], _ b: [Float], accuracy: Float = 1e-6, _ what: String = "", line: UInt = #line) {
        XCTAssertEqual(a.count, b.count, "\(what): \(a.count) values, expected \(b.count)", line: line)
        for (i, (x, y)) in zip(a, b).enumerated() where abs(x - y) > accuracy {
            XCTFail("\(what)[\(i)]: \(x), expected \(y)", line: line)
            return
        }
    }

    func testAgainstOpenCV() throws {
        let shapes: [(String, Shape)] = [("data", [2, 3, 24, 24]), ("feat", [2, 4, 6, 6]), ("loc", [2, 864]), ("logits", [2, 648])]
        try checkAgainstOpenCV("ssd_layers", model: opencvFixture("ssd_layers"), inputs: shapes,
                            outputs: ["norm_spatial", "norm_channels", "perm", "prior", "prior_clip"])

        // DetectionOutput: OpenCV orders rows by score across classes, the fork by label; same rows.
        let loaded = try ModelFile.loadNet(bytes: Array(try String(contentsOfFile: opencvFixture("ssd_layers"), encoding: .utf8).utf8), file: "ssd_layers")
        let net = try Net(graph: try NetGraph.build(loaded.net, options: .init(inputShapes: Dictionary(uniqueKeysWithValues: shapes))))
        for (j, (blob, shape)) in shapes.enumerated() { net.blob(blob)!.set(FormulaParameters.values(count(shape), salt: 0.25 * Double(j), scale: 1)) }
        FormulaParameters.fill(net, fileLayers: loaded.net.layers)
        try net.forward()
        let ours = try XCTUnwrap(net.blob("detection")), expected = try NPY.read(path: Paths.fixture("opencv/ssd_layers.detection.npy"))
        XCTAssertEqual(ours.shape, expected.shape)
        func rows(_ v: [Float]) -> [[Float]] { stride(from: 0, to: v.count, by: 7).map { Array(v[$0..<($0 + 7)]) } }
        let forkOrder: ([Float], [Float]) -> Bool = { a, b in a[0] != b[0] ? a[0] < b[0] : a[1] != b[1] ? a[1] < b[1] : a[2] > b[2] }
        let mine = rows(ours.values)
        XCTAssertEqual(mine, mine.sorted(by: forkOrder), "rows by image, then label, then decreasing score")
        XCTAssertEqual(Set(mine.map { Int($0[1]) }), [1, 2], "both classes detected")
        let theirs = rows(expected.values).sorted(by: forkOrder)
        for (a, b) in zip(mine, theirs) { assertClose(a, b, accuracy: 1e-5, "row") }
    }

    func testPriorBoxCorners() throws {
        // A 2×2 feature map over an 8×8 image: step 4, cell (0, 0) centred at (2, 2).
        let layer = { (param: String) in """
            layer { name: "p" type: "PriorBox" bottom: "feat" bottom: "image" top: "y" prior_box_param { \(param) } }
            """ }
        let feat = ("feat", [1, 1, 2, 2] as Shape, [Float](repeating: 0, count: 4)), image = ("image", [1, 3, 8, 8] as Shape, [Float](repeating: 0, count: 192))
        let y = try run([feat, image], layer("min_size: 4 max_size: 9 aspect_ratio: 2 flip: true variance: 0.2"))
        XCTAssertEqual(y.shape, [1, 2, 2 * 2 * 4 * 4], "4 priors a cell: min, sqrt(min·max), ratio 2, ratio 1/2")
        let r2 = Float(2).squareRoot()
        let cell00: [Float] = [0, 0, 0.5, 0.5,                       // 4×4
                               -0.125, -0.125, 0.625, 0.625,         // sqrt(4·9) = 6
                               (2 - 2 * r2) / 8, (2 - r2) / 8, (2 + 2 * r2) / 8, (2 + r2) / 8,   // 4√2 × 4/√2
                               (2 - r2) / 8, (2 - 2 * r2) / 8, (2 + r2) / 8, (2 + 2 * r2) / 8]
        assertClose(Array(y.values[0..<16]), cell00, "cell (0, 0)")
        assertClose(Array(y.values[16..<20]), [0.5, 0, 1, 0.5], "cell (0, 1), min box")
        assertClose(Array(y.values[48..<52]), [0.5, 0.5, 1, 1], "cell (1, 1), min box")
        XCTAssertEqual(Array(y.values[64...]), [Float](repeating: 0.2, count: 64), "one variance for all four")

        let clipped = try run([feat, image], layer("min_size: 4 max_size: 9 clip: true variance: 0.1 variance: 0.1 variance: 0.2 variance: 0.2"))
        assertClose(Array(clipped.values[0..<8]), [0, 0, 0.5, 0.5, 0, 0, 0.625, 0.625], "clip")
        XCTAssertEqual(Array(clipped.values[32..<40]), [0.1, 0.1, 0.2, 0.2, 0.1, 0.1, 0.2, 0.2])

        let noFlip = try run([feat, image], layer("min_size: 4 aspect_ratio: 2 aspect_ratio: 2 aspect_ratio: 1 flip: false"))
        XCTAssertEqual(noFlip.shape, [1, 2, 2 * 2 * 2 * 4], "repeated and unit ratios are dropped; no flip")

        // img_size and steps given (OpenCV ignores img_size): offset 0 puts cell (0, 0) at the origin.
        let given = try run([feat, image], layer("min_size: 4 img_size: 16 step_h: 2 step_w: 4 offset: 0"))
        assertClose(Array(given.values[0..<4]), [-0.125, -0.125, 0.125, 0.125], "cell (0, 0)")
        assertClose(Array(given.values[4..<8]), [0.125, -0.125, 0.375, 0.125], "cell (0, 1): x + step_w")
        assertClose(Array(given.values[8..<12]), [-0.125, 0, 0.125, 0.25], "cell (1, 0): y + step_h")
        let offset = try run([feat, image], layer("min_size: 2 img_h: 8 img_w: 16 offset: 0.25"))
        // step = 16/2 by 8/2; cell (0, 0) centred at (2, 1).
        assertClose(Array(offset.values[0..<4]), [1 / 16, 0, 3 / 16, 0.25], "img_h/img_w and offset")
    }

    func testPriorBoxErrors() throws {
        let text = { (param: String) in net(input: [1, 3, 8, 8], """
            layer { name: "p" type: "PriorBox" bottom: "data" bottom: "data" top: "y" \(param) }
            """) }
        assertError({ try buildNet(text("")) }, "layer 'p' (PriorBox): PriorBox needs at least one prior_box_param min_size (the box size in input pixels)",
                    line: 2, column: 1)
        assertError({ try buildNet(text("prior_box_param { min_size: 4 max_size: 2 }")) },
                    "layer 'p' (PriorBox): prior_box_param max_size 2.0 must be greater than its min_size 4.0", line: 2, column: 105)
        assertError({ try buildNet(text("prior_box_param { min_size: 4 variance: 0.1 variance: 0.2 }")) },
                    "layer 'p' (PriorBox): prior_box_param gives 2 variance values; give 1 or 4", line: 2, column: 105)
        assertError({ try buildNet(text("prior_box_param { min_size: 4 img_size: 8 img_h: 8 img_w: 8 }")) },
                    "layer 'p' (PriorBox): prior_box_param gives img_size and img_h/img_w; give one or the other", line: 2, column: 105)
    }

    /// Three priors: A and B overlap by IoU 0.68, C is apart. Offsets are 0
    /// but C's (+1, +1, 0, 0) × variance 0.1 in CORNER code.
    private func detect(_ param: String, conf: [Float] = [0.1, 0.8, 0.1, 0.2, 0.7, 0.1, 0.3, 0.3, 0.4]) throws -> [[Float]] {
        let priors: [Float] = [0, 0, 0.5, 0.5, 0.05, 0.05, 0.55, 0.55, 0.5, 0.5, 1, 1] + [Float](repeating: 0.1, count: 12)
        let y = try run([("loc", [1, 12], [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0]), ("conf", [1, 9], conf), ("prior", [1, 2, 12], priors)], """
            layer { name: "d" type: "DetectionOutput" bottom: "loc" bottom: "conf" bottom: "prior" top: "y"
                    detection_output_param { num_classes: 3 \(param) } }
            """)
        XCTAssertEqual(y.shape.prefix(2), [1, 1])
        return stride(from: 0, to: y.count, by: 7).map { Array(y.values[$0..<($0 + 7)]) }
    }

    func testDetectionOutputByHand() throws {
        let a: [Float] = [0, 0, 0.5, 0.5], c: [Float] = [0.6, 0.6, 1, 1]
        // Class 1: A kept, B suppressed by A, C kept; class 2: only C over 0.25. Rows by label, not by score.
        let all = try detect("confidence_threshold: 0.25 nms_param { nms_threshold: 0.5 }")
        XCTAssertEqual(all.count, 3)
        assertClose(all.flatMap { $0 }, [0, 1, 0.8] + a + [0, 1, 0.3] + c + [0, 2, 0.4] + c)
        // keep_top_k 2: the best two over all classes (0.8, 0.4), still in label order.
        let best = try detect("confidence_threshold: 0.25 keep_top_k: 2 nms_param { nms_threshold: 0.5 }")
        assertClose(best.flatMap { $0 }, [0, 1, 0.8] + a + [0, 2, 0.4] + c)
        // top_k 1: one candidate per class before NMS.
        let top1 = try detect("confidence_threshold: 0.25 nms_param { nms_threshold: 0.5 top_k: 1 }")
        assertClose(top1.flatMap { $0 }, [0, 1, 0.8] + a + [0, 2, 0.4] + c)
        // A higher NMS threshold keeps B; background -1 makes class 0 a class.
        let loose = try detect("confidence_threshold: 0.25 background_label_id: -1 nms_param { nms_threshold: 0.7 }")
        XCTAssertEqual(loose.map { $0[1] }, [0, 1, 1, 1, 2])
        // Nothing over the threshold: one row of −1 per image, the image in column 0.
        XCTAssertEqual(try detect("confidence_threshold: 0.95"), [[0, -1, -1, -1, -1, -1, -1]])
    }

    func testDetectionOutputEtaAndPerClassLocations() throws {
        // A and D overlap by IoU 0.15 / 0.35 = 0.43: kept at threshold 0.6, but eta 0.5 lowers it to 0.3 after A.
        let priors: [Float] = [0, 0, 0.5, 0.5, 0.2, 0, 0.7, 0.5] + [Float](repeating: 0.1, count: 8)
        func rows(_ nms: String) throws -> Int {
            try run([("loc", [1, 8], [Float](repeating: 0, count: 8)), ("conf", [1, 4], [0.1, 0.9, 0.2, 0.8]), ("prior", [1, 2, 8], priors)], """
                layer { name: "d" type: "DetectionOutput" bottom: "loc" bottom: "conf" bottom: "prior" top: "y"
                        detection_output_param { num_classes: 2 nms_param { \(nms) } } }
                """).dim(2)
        }
        XCTAssertEqual(try rows("nms_threshold: 0.6"), 2)
        XCTAssertEqual(try rows("nms_threshold: 0.6 eta: 0.5"), 1)

        // share_location false, CENTER_SIZE with the variance in the target: class 1's offset
        // (0.5, 0, ln 2, 0) moves the centre by half the prior's width and doubles the width.
        let y = try run([("loc", [1, 8], [0, 0, 0, 0, 0.5, 0, Float(log(2.0)), 0]), ("conf", [1, 2], [0.6, 0.9]),
                         ("prior", [1, 2, 4], [0.2, 0.2, 0.4, 0.4, 1, 1, 1, 1])], """
            layer { name: "d" type: "DetectionOutput" bottom: "loc" bottom: "conf" bottom: "prior" top: "y"
                    detection_output_param { num_classes: 2 share_location: false background_label_id: -1
                                             code_type: CENTER_SIZE variance_encoded_in_target: true } }
            """)
        assertClose(y.values, [0, 0, 0.6, 0.2, 0.2, 0.4, 0.4, 0, 1, 0.9, 0.2, 0.2, 0.6, 0.4])
    }

    func testDetectionOutputCountMismatch() throws {
        let layers = { (conf: Int) in inputs([("loc", [1, 12]), ("conf", [1, conf]), ("prior", [1, 2, 12])], """
            layer { name: "d" type: "DetectionOutput" bottom: "loc" bottom: "conf" bottom: "prior" top: "y"
                    detection_output_param { num_classes: 3 } }
            """) }
        XCTAssertEqual(diagnostics({ try buildNet(layers(8)) }).map(\.message),
                       ["layer 'd' (DetectionOutput): DetectionOutput: 3 priors need 9 confidence values per image (priors × num_classes 3), bottom 1 has 8"])
        let loc = inputs([("loc", [1, 10]), ("conf", [1, 9]), ("prior", [1, 2, 12])], """
            layer { name: "d" type: "DetectionOutput" bottom: "loc" bottom: "conf" bottom: "prior" top: "y" detection_output_param { num_classes: 3 } }
            """)
        XCTAssertEqual(diagnostics({ try buildNet(loc) }).map(\.message),
                       ["layer 'd' (DetectionOutput): DetectionOutput: 3 priors need 12 location values per image (priors × 1 location class × 4), bottom 0 has 10"])
        XCTAssertEqual(diagnostics({ try buildNet(inputs([("loc", [1, 12]), ("conf", [1, 9]), ("prior", [1, 2, 12])], """
            layer { name: "d" type: "DetectionOutput" bottom: "loc" bottom: "conf" bottom: "prior" top: "y" }
            """)) }).map(\.message), ["layer 'd' (DetectionOutput): DetectionOutput needs detection_output_param num_classes (the class count, background included)"])
    }

    func testNormalizeByHandAndGradients() throws {
        // Across the item: (3, 4) / 5 · 2; per position over the channels: (3, 4) and (0, 1).
        let spatial = try run([("x", [1, 2, 1, 1], [3, 4])], """
            layer { name: "n" type: "Normalize" bottom: "x" top: "y" norm_param { scale_filler { type: "constant" value: 2 } } }
            """)
        assertClose(spatial.values, [1.2, 1.6])
        let channels = try run([("x", [1, 2, 1, 2], [3, 0, 4, 1])], """
            layer { name: "n" type: "Normalize" bottom: "x" top: "y" norm_param { across_spatial: false channel_shared: false } }
            """)
        assertClose(channels.values, [0.6, 0, 0.8, 1])
        for (across, shared) in [(true, true), (true, false), (false, true), (false, false)] {
            let mismatches = try GradientChecker().check(inputs([("x", [2, 3, 2, 2])], """
                layer { name: "n" type: "Normalize" bottom: "x" top: "y"
                        norm_param { across_spatial: \(across) channel_shared: \(shared) scale_filler { type: "uniform" min: 0.5 max: 2 } } }
                """), layer: "n", quiet: true)
            XCTAssertEqual(mismatches, 0, "across_spatial \(across), channel_shared \(shared)")
        }
    }

    func testPermuteOrdersAndGradient() throws {
        let x = (0..<24).map(Float.init)
        // 2×3×4 with order 2 0 (1 follows): y[k][i][j] = x[i][j][k].
        let y = try run([("x", [2, 3, 4], x)], "layer { name: \"p\" type: \"Permute\" bottom: \"x\" top: \"y\" permute_param { order: 2 order: 0 } }")
        XCTAssertEqual(y.shape, [4, 2, 3])
        XCTAssertEqual(Array(y.values[0..<6]), [0, 4, 8, 12, 16, 20])
        XCTAssertEqual(Array(y.values[6..<12]), [1, 5, 9, 13, 17, 21])
        let same = try run([("x", [2, 3, 4], x)], "layer { name: \"p\" type: \"Permute\" bottom: \"x\" top: \"y\" }")
        XCTAssertEqual(same.values, x, "no order: unchanged")
        let mismatches = try GradientChecker().check(inputs([("x", [2, 3, 2, 4])], """
            layer { name: "p" type: "Permute" bottom: "x" top: "y" permute_param { order: 0 order: 2 order: 3 order: 1 } }
            """), layer: "p", quiet: false)
        XCTAssertEqual(mismatches, 0)
        XCTAssertEqual(diagnostics({ try buildNet(net(input: [1, 2, 3], """
            layer { name: "p" type: "Permute" bottom: "data" top: "y" permute_param { order: 0 order: 3 } }
            """)) }).map(\.message), ["layer 'p' (Permute): permute_param order 0 3 does not fit a 3-axis bottom (axes are 0 to 2)"])
        XCTAssertEqual(diagnostics({ try buildNet(net(input: [1, 2, 3], """
            layer { name: "p" type: "Permute" bottom: "data" top: "y" permute_param { order: 1 order: 1 } }
            """)) }).map(\.message), ["layer 'p' (Permute): permute_param order names axis 1 twice"])
    }
}
