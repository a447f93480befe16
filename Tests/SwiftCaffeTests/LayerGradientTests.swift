import XCTest
@testable import SwiftCaffe

/// Every runtime layer's backward against finite differences, over the
/// parameters that change its arithmetic.
final class LayerGradientTests: XCTestCase {
    let checker = GradientChecker()

    /// Every gradient of the layer matches its finite difference.
    private func assertGradients(_ prototxt: String, layer: String, generators: [String: GradientChecker.Generator] = [:],
                                 checkBottoms: [Int]? = nil, phase: Phase = .train,
                                 file: StaticString = #filePath, line: UInt = #line) throws {
        let mismatches = try checker.check(prototxt, layer: layer, generators: generators, checkBottoms: checkBottoms, phase: phase,
                                           quiet: false, file: file, line: line)
        XCTAssertEqual(mismatches, 0, "\(layer): gradient mismatches", file: file, line: line)
    }

    func testConvolution() throws {
        for conv in [
            "num_output: 4 group: 2 kernel_h: 3 kernel_w: 2 pad_h: 1 pad_w: 2 stride_h: 2 stride_w: 1",
            "num_output: 3 kernel_size: 3 dilation: 2 pad: 2",
            "num_output: 5 kernel_size: 1",  // pointwise: no im2col
            "num_output: 2 kernel_size: 2 stride: 2 bias_term: false",
        ] {
            try assertGradients(inputs([("x", [2, 4, 6, 5])], """
                layer { name: "conv" type: "Convolution" bottom: "x" top: "y"
                  convolution_param { \(conv) weight_filler { type: "gaussian" std: 0.5 } bias_filler { type: "uniform" } } }
                """), layer: "conv")
        }
    }

    func testPooling() throws {
        let x: Shape = [2, 3, 7, 6]
        for pool in ["pool: MAX kernel_size: 3 stride: 2", "pool: MAX kernel_size: 2 stride: 2 pad: 1",
                     "pool: AVE kernel_size: 3 stride: 2 pad: 1", "pool: AVE global_pooling: true",
                     "pool: MAX kernel_h: 3 kernel_w: 2 stride_h: 2 stride_w: 3 round_mode: FLOOR"] {
            try assertGradients(inputs([("x", x)], """
                layer { name: "pool" type: "Pooling" bottom: "x" top: "y" pooling_param { \(pool) } }
                """), layer: "pool", generators: ["x": GradientChecker.distinct(count(x))])
        }
    }

    func testLRN() throws {
        for lrn in ["local_size: 3 alpha: 0.5 beta: 0.75 k: 2", "local_size: 5 alpha: 1e-2 beta: 0.75",
                    "local_size: 3 alpha: 0.8 beta: 0.6 norm_region: WITHIN_CHANNEL"] {
            try assertGradients(inputs([("x", [2, 6, 4, 3])], """
                layer { name: "lrn" type: "LRN" bottom: "x" top: "y" lrn_param { \(lrn) } }
                """), layer: "lrn")
        }
    }

    func testNeurons() throws {
        let cases: [(String, String, GradientChecker.Generator)] = [
            ("ReLU", "relu_param { negative_slope: 0.1 }", GradientChecker.awayFromZero),
            ("ReLU", "", GradientChecker.awayFromZero),
            ("Sigmoid", "", GradientChecker.uniform),
            ("TanH", "", GradientChecker.uniform),
            ("AbsVal", "", GradientChecker.awayFromZero),
            ("Power", "power_param { power: 2 scale: 0.5 shift: 1.5 }", GradientChecker.uniform),
            ("Power", "power_param { power: -0.75 scale: 0.5 shift: 1.5 }", GradientChecker.uniform),
            ("Exp", "exp_param { base: 2 scale: 0.5 shift: 0.1 }", GradientChecker.uniform),
            ("Exp", "", GradientChecker.uniform),
            ("Log", "log_param { base: 10 scale: 0.5 shift: 3 }", GradientChecker.uniform),
            ("BNLL", "", GradientChecker.uniform),
            ("ELU", "elu_param { alpha: 0.7 }", GradientChecker.awayFromZero),
            ("Dropout", "", GradientChecker.uniform),  // TEST phase below: identity
            ("PReLU", "", GradientChecker.awayFromZero),
            ("PReLU", "prelu_param { channel_shared: true filler { type: \"uniform\" } }", GradientChecker.awayFromZero),
        ]
        for (type, param, gen) in cases {
            try assertGradients(inputs([("x", [2, 3, 4, 5])], """
                layer { name: "n" type: "\(type)" bottom: "x" top: "y" \(param) }
                """), layer: "n", generators: ["x": gen], phase: type == "Dropout" ? .test : .train)
        }
    }

    func testInnerProduct() throws {
        for (shape, param) in [([2, 3, 4, 2], "num_output: 5"), ([2, 3, 4, 2], "num_output: 3 axis: 2"),
                               ([3, 2, 2, 4], "num_output: 4 axis: 3 transpose: true"), ([4, 6], "num_output: 2 bias_term: false")] {
            try assertGradients(inputs([("x", shape)], """
                layer { name: "ip" type: "InnerProduct" bottom: "x" top: "y"
                  inner_product_param { \(param) weight_filler { type: "gaussian" std: 0.5 } bias_filler { type: "uniform" } } }
                """), layer: "ip")
        }
    }

    func testSoftmax() throws {
        for axis in [1, -1, 2] {
            try assertGradients(inputs([("x", [2, 4, 3, 2])], """
                layer { name: "sm" type: "Softmax" bottom: "x" top: "y" softmax_param { axis: \(axis) } }
                """), layer: "sm")
        }
    }

    func testShapeLayers() throws {
        try assertGradients(inputs([("a", [2, 3, 2, 2]), ("b", [2, 1, 2, 2])], """
            layer { name: "cat" type: "Concat" bottom: "a" bottom: "b" top: "y" }
            """), layer: "cat")
        try assertGradients(inputs([("a", [2, 3, 4]), ("b", [2, 3, 1])], """
            layer { name: "cat" type: "Concat" bottom: "a" bottom: "b" top: "y" concat_param { axis: -1 } }
            """), layer: "cat")
        try assertGradients(inputs([("x", [2, 6, 2])], """
            layer { name: "sl" type: "Slice" bottom: "x" top: "a" top: "b" top: "c" slice_param { slice_point: [1, 4] } }
            """), layer: "sl")
        try assertGradients(inputs([("x", [3, 2, 2])], """
            layer { name: "sp" type: "Split" bottom: "x" top: "a" top: "b" }
            """), layer: "sp")
        try assertGradients(inputs([("x", [2, 3, 2, 2])], """
            layer { name: "fl" type: "Flatten" bottom: "x" top: "y" }
            """), layer: "fl")
        try assertGradients(inputs([("x", [2, 3, 4])], """
            layer { name: "rs" type: "Reshape" bottom: "x" top: "y" reshape_param { shape { dim: 0 dim: -1 dim: 2 } } }
            """), layer: "rs")
    }

    func testEltwise() throws {
        let shape: Shape = [2, 3, 2, 2]
        for op in ["operation: SUM coeff: [0.5, -2, 1]", "operation: PROD", "operation: MAX"] {
            try assertGradients(inputs([("a", shape), ("b", shape), ("c", shape)], """
                layer { name: "e" type: "Eltwise" bottom: "a" bottom: "b" bottom: "c" top: "y" eltwise_param { \(op) } }
                """), layer: "e", generators: ["a": GradientChecker.distinct(24, seed: 1), "b": GradientChecker.distinct(24, seed: 2, offset: 0.013),
                                               "c": GradientChecker.distinct(24, seed: 3, offset: 0.026)])
        }
    }

    func testLosses() throws {
        for lp in ["", "loss_param { ignore_label: 2 }", "loss_param { ignore_label: 0 normalization: FULL }",
                   "loss_param { normalization: BATCH_SIZE }", "loss_param { normalization: NONE }", "loss_param { normalize: false }"] {
            try assertGradients(inputs([("x", [3, 4, 2]), ("label", [3, 2])], """
                layer { name: "loss" type: "SoftmaxWithLoss" bottom: "x" bottom: "label" top: "loss" loss_weight: 2 \(lp) }
                """), layer: "loss", generators: ["label": GradientChecker.labels(4)], checkBottoms: [0])
        }
        try assertGradients(inputs([("a", [3, 2, 2]), ("b", [3, 2, 2])], """
            layer { name: "loss" type: "EuclideanLoss" bottom: "a" bottom: "b" top: "loss" }
            """), layer: "loss")
        for lp in ["", "loss_param { normalization: VALID ignore_label: 1 }"] {
            try assertGradients(inputs([("x", [3, 5]), ("t", [3, 5])], """
                layer { name: "loss" type: "SigmoidCrossEntropyLoss" bottom: "x" bottom: "t" top: "loss" \(lp) }
                """), layer: "loss", generators: ["x": { _, _, r in r.uniform(-3, 3) }, "t": GradientChecker.labels(2)], checkBottoms: [0])
        }
    }

    func testDeconvolution() throws {
        for conv in ["num_output: 4 group: 2 kernel_size: 3 stride: 2 pad: 1", "num_output: 3 kernel_h: 2 kernel_w: 3 stride_h: 1 stride_w: 2"] {
            try assertGradients(inputs([("x", [2, 4, 3, 4])], """
                layer { name: "deconv" type: "Deconvolution" bottom: "x" top: "y"
                  convolution_param { \(conv) weight_filler { type: "gaussian" std: 0.5 } bias_filler { type: "uniform" } } }
                """), layer: "deconv")
        }
    }

    func testNormalisationLayers() throws {
        try assertGradients(inputs([("x", [3, 4, 2, 3])], """
            layer { name: "bn" type: "BatchNorm" bottom: "x" top: "y" }
            """), layer: "bn")
        try assertGradients(inputs([("x", [5, 3])], """
            layer { name: "bn" type: "BatchNorm" bottom: "x" top: "y" batch_norm_param { eps: 1e-3 } }
            """), layer: "bn")
        for p in ["", "mvn_param { across_channels: true }", "mvn_param { normalize_variance: false }"] {
            try assertGradients(inputs([("x", [2, 3, 3, 2])], """
                layer { name: "mvn" type: "MVN" bottom: "x" top: "y" \(p) }
                """), layer: "mvn")
        }
    }

    func testScaleAndBias() throws {
        try assertGradients(inputs([("x", [2, 3, 4, 2])], """
            layer { name: "s" type: "Scale" bottom: "x" top: "y" scale_param { bias_term: true filler { type: "uniform" } bias_filler { type: "uniform" } } }
            """), layer: "s")
        try assertGradients(inputs([("x", [2, 3, 4, 2])], """
            layer { name: "s" type: "Scale" bottom: "x" top: "y" scale_param { axis: 1 num_axes: 2 filler { type: "uniform" } } }
            """), layer: "s")
        try assertGradients(inputs([("x", [2, 3, 4, 2]), ("g", [3, 4])], """
            layer { name: "s" type: "Scale" bottom: "x" bottom: "g" top: "y" }
            """), layer: "s")
        try assertGradients(inputs([("x", [2, 3, 4]), ("g", [])], """
            layer { name: "s" type: "Scale" bottom: "x" bottom: "g" top: "y" }
            """), layer: "s")
        try assertGradients(inputs([("x", [2, 3, 4, 2])], """
            layer { name: "b" type: "Bias" bottom: "x" top: "y" bias_param { filler { type: "uniform" } } }
            """), layer: "b")
        try assertGradients(inputs([("x", [2, 3, 4, 2]), ("b", [4, 2])], """
            layer { name: "b" type: "Bias" bottom: "x" bottom: "b" top: "y" bias_param { axis: 2 } }
            """), layer: "b")
    }

    func testCrop() throws {
        try assertGradients(inputs([("x", [2, 3, 5, 6]), ("ref", [2, 3, 3, 2])], """
            layer { name: "crop" type: "Crop" bottom: "x" bottom: "ref" top: "y" crop_param { axis: 2 offset: [1, 3] } }
            """), layer: "crop", checkBottoms: [0])
    }
}
