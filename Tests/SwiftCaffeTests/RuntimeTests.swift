import Foundation
import XCTest
@testable import SwiftCaffe

/// Forward values worked out by hand, fillers, determinism and the Net's own
/// passes (loss weights, splits, sharing, reshaping).
final class RuntimeTests: XCTestCase {
    private func makeNet(_ text: String, phase: Phase = .test, seed: UInt64 = 1) throws -> Net {
        try Net(graph: try buildNet(text, phase: phase), seed: seed)
    }

    func testTheCheckerCatchesAWrongGradient() throws {
        // Dropout in TRAIN draws a new mask on every forward, so finite
        // differences cannot match its backward: the checker must say so.
        let mismatches = try GradientChecker().check(inputs([("x", [2, 3, 4])], """
            layer { name: "d" type: "Dropout" bottom: "x" top: "y" }
            """), layer: "d", quiet: true)
        XCTAssertGreaterThan(mismatches, 0)
    }

    func testConvolutionByHand() throws {
        let n = try makeNet(net(input: [1, 1, 3, 3], """
            layer { name: "c" type: "Convolution" bottom: "data" top: "c" convolution_param { num_output: 1 kernel_size: 2 } }
            """))
        n.blob("data")!.set((1...9).map(Float.init))
        n.layers[1].params[0].set([1, 0, 0, -1])
        n.layers[1].params[1].set([0.5])
        try n.forward()
        XCTAssertEqual(n.blob("c")!.values, [-3.5, -3.5, -3.5, -3.5])  // x[i,j] − x[i+1,j+1] + 0.5
    }

    func testPoolingWindowsHangingOverThePaddedEdge() throws {
        let maxExpected: [Float] = [6, 8, 8, 14, 16, 16, 14, 16, 16]
        // AVE divides by the window clipped to the padded image (9, 6 at the right, 4 at the corner).
        let aveSums: [Float] = [14, 30, 12, 57, 99, 36, 27, 45, 16]
        let aveSizes: [Float] = [9, 9, 6, 9, 9, 6, 6, 6, 4]
        let aveExpected: [Float] = zip(aveSums, aveSizes).map { $0 / $1 }
        for (pool, expected) in [("MAX", maxExpected), ("AVE", aveExpected)] {
            let n = try makeNet(net(input: [1, 1, 4, 4], """
                layer { name: "p" type: "Pooling" bottom: "data" top: "p" pooling_param { pool: \(pool) kernel_size: 3 stride: 2 pad: 1 } }
                """))
            n.blob("data")!.set((1...16).map(Float.init))
            try n.forward()
            XCTAssertEqual(n.blob("p")!.shape, [1, 1, 3, 3])
            for (a, e) in zip(n.blob("p")!.values, expected) { XCTAssertEqual(a, e, accuracy: 1e-5, pool) }
        }
    }

    /// MAX pooling in a forward-only net (vectorised, 16 outputs at a time
    /// for strides 1 and 2, no argmax) and with the mask top (the argmax
    /// path) against Caffe's definition: rows wider than a vector with a
    /// partial last block, strides 1–3, pads, windows clipped at both edges,
    /// and a NaN, which never becomes a maximum. 3×3 windows of stride 1 and
    /// pad 1 take the flat path (vectors straddling planes): maps smaller
    /// than a vector, one pixel wide or high, and enough planes to run on
    /// two threads, with ±∞ and NaN at the first and last pixels of planes.
    func testMaxPoolingPathsAgainstTheDefinition() throws {
        for (h, w, k, s, p, channels) in [(7, 6, 3, 2, 1, 2), (35, 37, 3, 2, 0, 2), (40, 33, 3, 1, 1, 2), (20, 50, 2, 2, 0, 2),
                                          (19, 41, 3, 3, 1, 2), (9, 70, 5, 2, 2, 2), (13, 13, 13, 13, 0, 2), (6, 100, 1, 1, 0, 2),
                                          (14, 14, 3, 1, 1, 37), (7, 7, 3, 1, 1, 400), (5, 3, 3, 1, 1, 41), (1, 1, 3, 1, 1, 50),
                                          (28, 28, 3, 1, 1, 24), (2, 9, 3, 1, 1, 3), (9, 1, 3, 1, 1, 5)] {
            let plane = h * w
            var x = (0..<(channels * plane)).map { i in Float((i * 7919) % 1009) / 100 - 5 }
            x[plane / 2 + 3 < x.count ? plane / 2 + 3 : 0] = .nan
            if channels > 2 {
                x[plane - 1] = .infinity
                x[plane] = .nan
                x[2 * plane - 1] = -.infinity
                x[2 * plane] = .infinity
                x[x.count - 1] = .nan
            }
            var results: [[Float]] = []
            for mask in [false, true] {
                let n = try makeNet(net(input: [1, channels, h, w], """
                    layer { name: "p" type: "Pooling" bottom: "data" top: "p" \(mask ? "top: \"mask\"" : "")
                            pooling_param { pool: MAX kernel_size: \(k) stride: \(s) pad: \(p) } }
                    """))
                n.blob("data")!.set(x)
                try n.forward()
                results.append(n.blob("p")!.values)
                let (oh, ow) = (n.blob("p")!.dim(2), n.blob("p")!.dim(3))
                // Caffe: windows start at o·stride − pad, are clipped to the image; start at −FLT_MAX, replace if greater.
                var expected: [Float] = []
                for c in 0..<channels {
                    for oy in 0..<oh {
                        for ox in 0..<ow {
                            var best = -Float.greatestFiniteMagnitude
                            for yy in max(0, oy * s - p)..<min(h, oy * s - p + k) {
                                for xx in max(0, ox * s - p)..<min(w, ox * s - p + k) where x[(c * h + yy) * w + xx] > best {
                                    best = x[(c * h + yy) * w + xx]
                                }
                            }
                            expected.append(best)
                        }
                    }
                }
                let got = n.blob("p")!.values
                let wrong = zip(got, expected).enumerated().first { $0.element.0 != $0.element.1 }
                XCTAssertEqual(got.count, expected.count)
                XCTAssertNil(wrong, "\(h)×\(w) kernel \(k) stride \(s) pad \(p) mask \(mask): output \(wrong?.offset ?? 0) "
                             + "is \(wrong?.element.0 ?? 0), expected \(wrong?.element.1 ?? 0)")
            }
            XCTAssertEqual(results[0], results[1])
        }
    }

    func testLRNAcrossChannelsByHand() throws {
        let n = try makeNet(net(input: [1, 3, 1, 1], """
            layer { name: "l" type: "LRN" bottom: "data" top: "l" lrn_param { local_size: 3 alpha: 3 beta: 1 k: 1 } }
            """))
        n.blob("data")!.set([1, 2, 3])
        try n.forward()
        // s_c = k + α/n · Σ window x²: 1 + (1+4), 1 + (1+4+9), 1 + (4+9)
        let y = n.blob("l")!.values
        XCTAssertEqual(y[0], 1.0 / 6, accuracy: 1e-6)
        XCTAssertEqual(y[1], 2.0 / 15, accuracy: 1e-6)
        XCTAssertEqual(y[2], 3.0 / 14, accuracy: 1e-6)

        // k ≠ 1 (OpenCV ignores k here; Caffe adds it): s = 2 + (5, 14, 13).
        let k2 = try makeNet(net(input: [1, 3, 1, 1], """
            layer { name: "l" type: "LRN" bottom: "data" top: "l" lrn_param { local_size: 3 alpha: 3 beta: 1 k: 2 } }
            """))
        k2.blob("data")!.set([1, 2, 3])
        try k2.forward()
        for (a, e) in zip(k2.blob("l")!.values, [1.0 / 7, 2.0 / 16, 3.0 / 15]) { XCTAssertEqual(Double(a), e, accuracy: 1e-6) }
    }

    /// Both InnerProduct paths (the streaming kernel up to 16 rows, OpenBLAS
    /// above) against y = x·Wᵀ + b summed in double precision, with row, input
    /// and output counts that leave partial blocks of 4 and of 16.
    func testInnerProductAgainstTheDefinition() throws {
        var random = RandomSource(seed: 3)
        for (rows, k, outputs) in [(1, 37, 5), (3, 64, 8), (5, 100, 13), (10, 515, 30), (16, 33, 7), (17, 48, 9)] {
            let n = try makeNet(net(input: [rows, k], """
                layer { name: "ip" type: "InnerProduct" bottom: "data" top: "y" inner_product_param { num_output: \(outputs) } }
                """))
            let x = (0..<rows * k).map { _ in random.gaussian() }
            let w = (0..<outputs * k).map { _ in random.gaussian() }
            let b = (0..<outputs).map { _ in random.gaussian() }
            n.blob("data")!.set(x)
            n.layers[1].params[0].set(w)
            n.layers[1].params[1].set(b)
            try n.forward()
            let y = n.blob("y")!.values
            for i in 0..<rows {
                for j in 0..<outputs {
                    var s = Double(b[j])
                    for r in 0..<k { s += Double(x[i * k + r]) * Double(w[j * k + r]) }
                    XCTAssertEqual(Double(y[i * outputs + j]), s, accuracy: 1e-4 * max(1, abs(s)), "rows \(rows), y[\(i)][\(j)]")
                }
            }
        }
    }

    func testInnerProductAndSoftmaxLossByHand() throws {
        let n = try makeNet("""
            layer { name: "in" type: "Input" top: "x" top: "label" input_param { shape { dim: 1 dim: 2 } shape { dim: 1 } } }
            layer { name: "ip" type: "InnerProduct" bottom: "x" top: "y" inner_product_param { num_output: 3 } }
            layer { name: "loss" type: "SoftmaxWithLoss" bottom: "y" bottom: "label" top: "loss" }
            """)
        n.blob("x")!.set([1, 2])
        n.blob("label")!.set([2])
        n.layers[1].params[0].set([1, 2, 3, 4, 5, 6])
        n.layers[1].params[1].set([0.1, 0.2, 0.3])
        let loss = try n.forward()
        XCTAssertEqual(n.blob("y")!.values, [5.1, 11.2, 17.3])
        // −log softmax(y)[2] = log(1 + e^(5.1−17.3) + e^(11.2−17.3))
        XCTAssertEqual(Double(loss), log(1 + exp(5.1 - 17.3) + exp(11.2 - 17.3)), accuracy: 1e-6)
    }

    func testFillers() throws {
        let n = try makeNet(net(input: [1, 8, 5, 5], """
            layer { name: "x" type: "Convolution" bottom: "data" top: "x" convolution_param { num_output: 64 kernel_size: 3
              weight_filler { type: "xavier" } bias_filler { type: "constant" value: 0.2 } } }
            layer { name: "g" type: "Convolution" bottom: "data" top: "g" convolution_param { num_output: 64 kernel_size: 3
              weight_filler { type: "gaussian" std: 0.01 } } }
            layer { name: "m" type: "Convolution" bottom: "data" top: "m" convolution_param { num_output: 64 kernel_size: 3
              weight_filler { type: "msra" variance_norm: FAN_OUT } } }
            """))
        func stats(_ b: Blob) -> (mean: Double, std: Double, maxAbs: Float) {
            let v: [Double] = b.values.map { Double($0) }
            let m: Double = v.reduce(0, +) / Double(v.count)
            let variance: Double = v.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Double(v.count)
            let maxAbs: Float = b.values.map { abs($0) }.max()!
            return (m, variance.squareRoot(), maxAbs)
        }
        let xavier = stats(n.layers[2].params[0])
        let bound = (3.0 / 72).squareRoot()  // fan_in = 8·3·3
        XCTAssertLessThanOrEqual(Double(xavier.maxAbs), bound)
        XCTAssertEqual(xavier.std, bound / 3.0.squareRoot(), accuracy: 0.01)
        XCTAssertEqual(n.layers[2].params[1].values, Array(repeating: 0.2, count: 64))
        XCTAssertEqual(stats(n.layers[3].params[0]).std, 0.01, accuracy: 0.0005)
        XCTAssertEqual(stats(n.layers[4].params[0]).std, (2.0 / (64 * 9)).squareRoot(), accuracy: 0.003)  // fan_out = 64·3·3

        // Bilinear 4×4: f = 2, c = 3/4, per axis 1 − |x/2 − 3/4| = [.25, .75, .75, .25].
        var m = Caffe.FillerParameter()
        m.append(.type, .string("bilinear"))
        let b = Blob([1, 1, 4, 4])
        var rng = RandomSource(seed: 1)
        try Filler(m).fill(b, &rng)
        let axis: [Float] = [0.25, 0.75, 0.75, 0.25]
        XCTAssertEqual(b.values, axis.flatMap { y in axis.map { $0 * y } })
        var bad = Caffe.FillerParameter()
        bad.append(.type, .string("gausian"))
        XCTAssertThrowsError(try Filler(bad)) { e in
            XCTAssertTrue("\(e)".contains("unknown filler type \"gausian\"; valid types: constant, uniform, gaussian, xavier, msra, positive_unitball, bilinear"))
        }
    }

    func testSameSeedSameNetDifferentSeedDifferentNet() throws {
        let small = net(input: [2, 3, 8, 8], """
            layer { name: "c" type: "Convolution" bottom: "data" top: "c" convolution_param { num_output: 4 kernel_size: 3 weight_filler { type: "gaussian" } } }
            layer { name: "d" type: "Dropout" bottom: "c" top: "c" }
            """)
        let a = try makeNet(small, phase: .train, seed: 5)
        let b = try makeNet(small, phase: .train, seed: 5)
        let c = try makeNet(small, phase: .train, seed: 6)
        for n in [a, b, c] { n.blob("data")!.set((0..<384).map { Float($0 % 7) }) }
        try a.forward()
        try b.forward()
        try c.forward()
        XCTAssertEqual(a.blob("c")!.values, b.blob("c")!.values)
        XCTAssertNotEqual(a.blob("c")!.values, c.blob("c")!.values)
    }

    /// A Split written in the prototxt copies: a later layer writing one of
    /// its tops in place must not change what the other top holds.
    func testASplitFromThePrototxtCopies() throws {
        let n = try makeNet(net(input: [1, 1, 1, 4], """
            layer { name: "s" type: "Split" bottom: "data" top: "a" top: "b" }
            layer { name: "neg" type: "Power" bottom: "a" top: "a" power_param { scale: -1 } }
            """))
        let split = try XCTUnwrap(n.graph.layers.first { $0.name == "s" })
        XCTAssertFalse(split.sharesBottomData)
        XCTAssertEqual(split.activationBytes, 2 * 4 * 4)
        n.blob("data")!.set([-2, -1, 1, 2])
        try n.forward()
        XCTAssertEqual(n.blob("a")!.values, [2, 1, -1, -2])
        XCTAssertEqual(n.blob("b")!.values, [-2, -1, 1, 2])
    }

    func testNetBackwardThroughSplitsAndLossWeights() throws {
        // Whole-net gradient of the loss: conv → relu → two heads (a Split is
        // inserted) → two weighted losses.
        let text = """
            force_backward: true
            layer { name: "in" type: "Input" top: "x" top: "label" input_param { shape { dim: 2 dim: 2 dim: 4 dim: 4 } shape { dim: 2 } } }
            layer { name: "conv" type: "Convolution" bottom: "x" top: "c" convolution_param { num_output: 3 kernel_size: 3 weight_filler { type: "gaussian" std: 0.5 } } }
            layer { name: "tanh" type: "TanH" bottom: "c" top: "c" }
            layer { name: "fa" type: "InnerProduct" bottom: "c" top: "a" inner_product_param { num_output: 3 weight_filler { type: "gaussian" std: 0.5 } } }
            layer { name: "fb" type: "InnerProduct" bottom: "c" top: "b" inner_product_param { num_output: 3 weight_filler { type: "gaussian" std: 0.5 } } }
            layer { name: "la" type: "SoftmaxWithLoss" bottom: "a" bottom: "label" top: "la" }
            layer { name: "lb" type: "SoftmaxWithLoss" bottom: "b" bottom: "label" top: "lb" loss_weight: 0.5 }
            """
        let n = try makeNet(text, phase: .train)
        XCTAssertTrue(n.layers.contains { $0.type == "Split" })
        // Two Splits are inserted, for "c" and "label". Their tops are views
        // of the bottom, as Caffe's ShareData (no copy, no memory of their
        // own); each keeps its own diff.
        let splits = n.graph.layers.filter(\.isInserted)
        XCTAssertEqual(Set(splits.flatMap { $0.layer.bottoms }), ["c", "label"])
        for split in splits {
            XCTAssertTrue(split.sharesBottomData)
            XCTAssertEqual(split.activationBytes, 0)
            let splitTops = split.layer.tops.map { n.blob($0)! }
            XCTAssertTrue(splitTops.allSatisfy { $0.data == n.blob(split.layer.bottoms[0])!.data }, split.name)
            XCTAssertNotEqual(splitTops[0].diff, splitTops[1].diff)
        }
        var rng = RandomSource(seed: 3)
        for i in 0..<n.blob("x")!.count { n.blob("x")!.data[i] = rng.uniform(-1, 1) }
        n.blob("label")!.set([1, 2])
        n.clearParamDiffs()
        try n.forward()
        try n.backward()
        let w = n.layers.first { $0.name == "conv" }!.params[0]
        let analytic = w.gradients
        for k in 0..<w.count {
            let saved = w.data[k]
            w.data[k] = saved + 1e-2
            let plus = try n.forward()
            w.data[k] = saved - 1e-2
            let minus = try n.forward()
            w.data[k] = saved
            let numeric = (plus - minus) / 2e-2
            XCTAssertEqual(analytic[k], numeric, accuracy: 1e-3 * max(abs(numeric), 1), "conv weight \(k)")
        }
    }

    func testSharedParametersAndReshape() throws {
        // The siamese fixture with a DummyData stand-in for its database.
        let text = try String(contentsOfFile: Paths.fixture("legacy/siamese_train_test.prototxt"), encoding: .utf8)
            .replacingOccurrences(of: "type: \"Data\"", with: "type: \"DummyData\" dummy_data_param { shape { dim: 4 dim: 2 dim: 28 dim: 28 } shape { dim: 4 } }")
            .replacingOccurrences(of: "data_param { source: \"mnist_siamese_train_lmdb\" batch_size: 64 }", with: "")
            .replacingOccurrences(of: "transform_param { scale: 0.00390625 }", with: "")
            .replacingOccurrences(of: "type: \"ContrastiveLoss\"", with: "type: \"EuclideanLoss\"")
            .replacingOccurrences(of: "bottom: \"sim\"", with: "")
            .replacingOccurrences(of: "contrastive_loss_param { margin: 1 }", with: "")
        let n = try makeNet(text, phase: .train)
        let conv = n.layers.first { $0.name == "conv1" }!
        let convP = n.layers.first { $0.name == "conv1_p" }!
        XCTAssertTrue(conv.params[0] === convP.params[0])
        XCTAssertTrue(conv.params[1] === convP.params[1])
        XCTAssertEqual(n.learnableParams.count, 4)

        let deploy = try makeNet(net(input: [1, 3, 8, 8], """
            layer { name: "c" type: "Convolution" bottom: "data" top: "c" convolution_param { num_output: 2 kernel_size: 3 } }
            layer { name: "p" type: "Pooling" bottom: "c" top: "p" pooling_param { kernel_size: 2 stride: 2 } }
            """))
        deploy.blob("data")!.reshape([5, 3, 12, 12])
        try deploy.reshape()
        try deploy.forward()
        XCTAssertEqual(deploy.blob("p")!.shape, [5, 2, 5, 5])
    }

    func testBatchNormGlobalStatisticsAndUpdates() throws {
        let text = net(input: [2, 2, 1, 2], "layer { name: \"bn\" type: \"BatchNorm\" bottom: \"data\" top: \"y\" batch_norm_param { eps: 0 moving_average_fraction: 0.5 } }")
        let train = try makeNet(text, phase: .train)
        train.blob("data")!.set([1, 3, 10, 20, 5, 7, 30, 40])  // channel 0: 1 3 5 7, channel 1: 10 20 30 40
        try train.forward()
        let bn = train.layers[1]
        XCTAssertEqual(bn.params[2].values, [1])  // 0·0.5 + 1
        XCTAssertEqual(bn.params[0].values, [4, 25])  // batch means
        XCTAssertEqual(bn.params[1].values[0], 5 * 4.0 / 3, accuracy: 1e-5)  // variance 5, times m/(m−1)
        XCTAssertEqual(train.blob("y")!.values[0], (1 - 4) / Float(5).squareRoot(), accuracy: 1e-6)
        XCTAssertEqual(train.learnableParams.count, 3)
        XCTAssertEqual(train.learningRateMultipliers, [0, 0, 0])

        let test = try makeNet(text)  // TEST: use_global_stats by default
        let p = test.layers[1].params
        p[0].set([8, 50])
        p[1].set([10, 200])
        p[2].set([2])  // statistics are mean 4, 25 and variance 5, 100
        test.blob("data")!.set([1, 3, 10, 20, 5, 7, 30, 40])
        try test.forward()
        XCTAssertEqual(test.blob("y")!.values[2], (10 - 25) / 10, accuracy: 1e-6)
        XCTAssertEqual(test.blob("y")!.values[5], (7 - 4) / Float(5).squareRoot(), accuracy: 1e-6)
        assertError({ try self.makeNet(net(input: [2, 2], "layer { name: \"bn\" type: \"BatchNorm\" bottom: \"data\" top: \"y\" param { lr_mult: 1 } }")) },
                    "layer 'bn' (BatchNorm): param 0 has lr_mult 1.0; batch normalisation statistics are not learned, give lr_mult 0 or no param",
                    line: 2, column: 1)
    }

    func testArgMaxAndCropByHand() throws {
        let n = try makeNet(net(input: [2, 4], """
            layer { name: "a" type: "ArgMax" bottom: "data" top: "a" argmax_param { top_k: 2 out_max_val: true } }
            layer { name: "b" type: "ArgMax" bottom: "data" top: "b" argmax_param { axis: 1 } }
            """))
        n.blob("data")!.set([0.1, 0.9, 0.5, 0.9, 3, 1, 2, 0])
        try n.forward()
        XCTAssertEqual(n.blob("a")!.shape, [2, 2, 2])
        XCTAssertEqual(n.blob("a")!.values, [3, 1, 0.9, 0.9, 0, 2, 3, 2])  // a tie goes to the larger index
        XCTAssertEqual(n.blob("b")!.values, [3, 0])

        let c = try makeNet("""
            layer { name: "in" type: "Input" top: "x" top: "ref" input_param { shape { dim: 1 dim: 1 dim: 3 dim: 4 } shape { dim: 1 dim: 1 dim: 2 dim: 2 } } }
            layer { name: "crop" type: "Crop" bottom: "x" bottom: "ref" top: "y" crop_param { offset: [1, 2] } }
            """)
        c.blob("x")!.set((0..<12).map(Float.init))
        try c.forward()
        XCTAssertEqual(c.blob("y")!.values, [6, 7, 10, 11])
    }

    func testNetFromFilesForwardsNamedInputs() throws {
        let images = Paths.fixture("images")
        let net = try Net(prototxt: "\(images)/tiny_classifier.prototxt", weights: "\(images)/tiny.caffemodel",
                          inputShapes: ["data": [2, 3, 16, 16]])
        XCTAssertEqual(net.inputNames, ["data"])
        XCTAssertEqual(net.missingWeights, [])
        let x: [Float] = (0..<1536).map { (i: Int) -> Float in Float(i % 17) - 8 }
        let out = try net.forward(["data": x])
        XCTAssertEqual(out.keys.sorted(), ["prob"])
        // The same as setting the blob and running forward by hand.
        net.blob("data")!.set(x)
        try net.forward()
        XCTAssertEqual(out["prob"], net.blob("prob")!.values)
        let prob = try XCTUnwrap(out["prob"])
        XCTAssertEqual(prob.prefix(6).reduce(0, +), 1, accuracy: 1e-5, "a softmax per image")
        XCTAssertThrowsError(try net.forward(["image": x])) { e in
            XCTAssertEqual("\(e)", "error: the net has no input 'image'; its inputs: data")
        }
        XCTAssertThrowsError(try net.forward(["data": [1, 2]])) { e in
            XCTAssertEqual("\(e)", "error: input 'data' is 2×3×16×16 = 1536 values, given 2")
        }
    }
}
