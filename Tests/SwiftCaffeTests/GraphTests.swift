import XCTest
@testable import SwiftCaffe

final class GraphTests: XCTestCase {
    private func shapes(_ g: NetGraph) -> [String: [Shape?]] {
        Dictionary(g.layers.map { ($0.name, $0.topShapes) }, uniquingKeysWith: { a, _ in a })
    }

    func testAlexNetDeployShapesAndTotals() throws {
        let n = try ModelFile.loadNet(path: Paths.model("alexnet/deploy.prototxt"))
        let g = try NetGraph.build(n.net)
        let s = shapes(g)
        XCTAssertEqual(s["conv1"], [[10, 96, 55, 55]])
        XCTAssertEqual(s["pool1"], [[10, 96, 27, 27]])
        XCTAssertEqual(s["conv2"], [[10, 256, 27, 27]])
        XCTAssertEqual(s["pool2"], [[10, 256, 13, 13]])
        XCTAssertEqual(s["conv5"], [[10, 256, 13, 13]])
        XCTAssertEqual(s["pool5"], [[10, 256, 6, 6]])
        XCTAssertEqual(s["fc6"], [[10, 4096]])
        XCTAssertEqual(s["fc8"], [[10, 1000]])
        XCTAssertEqual(s["prob"], [[10, 1000]])
        XCTAssertEqual(g.layers.first { $0.name == "conv2" }?.paramShapes, [[256, 48, 5, 5], [256]])
        XCTAssertEqual(g.totalParams, 60_965_224)
        XCTAssertEqual(g.totalMACs.map { $0 / g.batchSize },
                       105_415_200 + 223_948_800 + 149_520_384 + 112_140_288 + 74_760_192 + 37_748_736 + 16_777_216 + 4_096_000)
        XCTAssertEqual(NetSummary.itemShape([10, 96, 55, 55], batch: 10), "96×55×55")
    }

    func testAlexNetTrainValPhases() throws {
        let n = try ModelFile.loadNet(path: Paths.model("alexnet/train_val.prototxt"))
        let train = try NetGraph.build(n.net, options: .init(state: NetState(phase: .train)))
        XCTAssertEqual(train.layers.first?.topShapes, [[256, 3, 227, 227], [256]])
        XCTAssertNil(train.layers.first { $0.type == "Accuracy" })
        XCTAssertEqual(train.layers.last?.topShapes, [[]])
        XCTAssertEqual(train.warnings.count, 1)
        XCTAssertTrue(train.warnings[0].message.contains("3 channels assumed"))
        let test = try NetGraph.build(n.net, options: .init(state: NetState(phase: .test), inputShapes: ["data": [50, 3, 227, 227]]))
        XCTAssertEqual(test.batchSize, 50)
        XCTAssertEqual(test.warnings, [])
        XCTAssertEqual(test.layers.filter(\.isInserted).map(\.name), ["label_data_1_split", "fc8_fc8_0_split"])
        XCTAssertEqual(test.totalParams, 60_965_224)
        // A new data batch applies to the labels too.
        let small = try NetGraph.build(n.net, options: .init(state: NetState(phase: .test), inputShapes: ["data": [8, 3, 227, 227]]))
        XCTAssertEqual(small.layers.first?.topShapes, [[8, 3, 227, 227], [8]])
    }

    func testStateRulesAsCaffeAppliesThem() throws {
        let text = net(input: [1, 2], """
            layer { name: "a" type: "ReLU" bottom: "data" top: "a" include { stage: "x" } }
            layer { name: "b" type: "ReLU" bottom: "data" top: "b" include { phase: TRAIN } include { stage: "y" } }
            layer { name: "c" type: "ReLU" bottom: "data" top: "c" exclude { not_stage: "x" } }
            layer { name: "d" type: "ReLU" bottom: "data" top: "d" include { min_level: 1 max_level: 2 } }
            layer { name: "e" type: "ReLU" bottom: "data" top: "e" include { stage: "x" stage: "y" } }
            """)
        func names(_ phase: Phase, _ stages: [String], _ level: Int = 0) throws -> [String] {
            try buildNet(text, phase: phase, stages: stages, level: level).layers.map(\.name).filter { $0.count == 1 }
        }
        XCTAssertEqual(try names(.test, []), [])
        XCTAssertEqual(try names(.test, ["x"]), ["a", "c"])
        XCTAssertEqual(try names(.train, []), ["b"])
        XCTAssertEqual(try names(.test, ["y"]), ["b"])
        XCTAssertEqual(try names(.test, ["x", "y"]), ["a", "b", "c", "e"])
        XCTAssertEqual(try names(.test, [], 1), ["d"])
        XCTAssertEqual(try names(.test, [], 3), [])
        assertError({ try buildNet(net(input: [1], "layer { name: \"z\" type: \"ReLU\" bottom: \"data\" top: \"z\" include { phase: TEST } exclude { phase: TRAIN } }")) },
                    "layer 'z' (ReLU): give include rules or exclude rules, not both", line: 2, column: 1)
    }

    func testPoolingRoundsUpAndDropsAWindowStartingInThePadding() throws {
        func pool(_ size: Int, _ k: Int, _ s: Int, _ p: Int, floor: Bool = false) throws -> Shape? {
            try buildNet(net(input: [1, 1, size, size], """
                layer { name: "p" type: "Pooling" bottom: "data" top: "p"
                  pooling_param { kernel_size: \(k) stride: \(s) pad: \(p) \(floor ? "round_mode: FLOOR" : "") } }
                """)).layers[1].topShapes[0]
        }
        XCTAssertEqual(try pool(6, 3, 2, 0), [1, 1, 3, 3])  // ⌈(6−3)/2⌉+1 = 3
        XCTAssertEqual(try pool(5, 2, 2, 1), [1, 1, 3, 3])  // ⌈5/2⌉+1 = 4, last window starts at 6 ≥ 5+1: 3
        XCTAssertEqual(try pool(7, 3, 2, 1), [1, 1, 4, 4])  // ⌈6/2⌉+1 = 4, last starts at 6 < 8: kept
        XCTAssertEqual(try pool(6, 3, 2, 0, floor: true), [1, 1, 2, 2])
        XCTAssertEqual(try pool(227, 3, 2, 0), [1, 1, 113, 113])
        let global = try buildNet(net(input: [2, 8, 7, 5], "layer { name: \"p\" type: \"Pooling\" bottom: \"data\" top: \"p\" pooling_param { pool: AVE global_pooling: true } }"))
        XCTAssertEqual(global.layers[1].topShapes, [[2, 8, 1, 1]])
    }

    func testConvolutionRoundsDownAndHandlesNDAndDilation() throws {
        let g = try buildNet(net(input: [1, 4, 6, 9], """
            layer { name: "c" type: "Convolution" bottom: "data" top: "c"
              convolution_param { num_output: 6 kernel_h: 3 kernel_w: 2 stride: 2 group: 2 bias_term: false } }
            layer { name: "d" type: "Convolution" bottom: "data" top: "d"
              convolution_param { num_output: 2 kernel_size: 3 dilation: 2 pad: [1, 2] } }
            layer { name: "t" type: "Deconvolution" bottom: "data" top: "t"
              convolution_param { num_output: 3 kernel_size: 4 stride: 2 pad: 1 } }
            """))
        let c = try XCTUnwrap(g.layers.first { $0.name == "c" })
        let d = try XCTUnwrap(g.layers.first { $0.name == "d" })
        let t = try XCTUnwrap(g.layers.first { $0.name == "t" })
        XCTAssertEqual(c.topShapes, [[1, 6, 2, 4]])  // ⌊(6−3)/2⌋+1, ⌊(9−2)/2⌋+1
        XCTAssertEqual(c.paramShapes, [[6, 2, 3, 2]])
        XCTAssertEqual(c.macs, 6 * 2 * 4 * 2 * 3 * 2)
        XCTAssertEqual(d.topShapes, [[1, 2, 4, 9]])  // extent 5: (6+2−5)+1, (9+4−5)+1
        XCTAssertEqual(t.topShapes, [[1, 3, 12, 18]])  // 2·5+4−2, 2·8+4−2
        XCTAssertEqual(t.paramShapes, [[4, 3, 4, 4], [3]])
        let nd = try buildNet(net(input: [1, 2, 5, 6, 7], "layer { name: \"c\" type: \"Convolution\" bottom: \"data\" top: \"c\" convolution_param { num_output: 4 kernel_size: [1, 2, 3] } }"))
        XCTAssertEqual(nd.layers[1].topShapes, [[1, 4, 5, 5, 5]])
    }

    func testCommonLayerShapes() throws {
        let g = try buildNet(net(input: [2, 6, 4, 5], """
            layer { name: "ip" type: "InnerProduct" bottom: "data" top: "ip" inner_product_param { num_output: 7 axis: 2 } }
            layer { name: "ipt" type: "InnerProduct" bottom: "data" top: "ipt" inner_product_param { num_output: 7 transpose: true } }
            layer { name: "s" type: "Slice" bottom: "data" top: "s0" top: "s1" top: "s2" slice_param { slice_point: [2, 5] } }
            layer { name: "cat" type: "Concat" bottom: "s0" bottom: "s2" top: "cat" }
            layer { name: "fl" type: "Flatten" bottom: "data" top: "fl" flatten_param { axis: 1 end_axis: 2 } }
            layer { name: "rs" type: "Reshape" bottom: "data" top: "rs" reshape_param { shape { dim: 0 dim: -1 dim: 10 } } }
            layer { name: "ref" type: "DummyData" top: "ref" dummy_data_param { shape { dim: 2 dim: 6 dim: 2 dim: 3 } } }
            layer { name: "cr" type: "Crop" bottom: "data" bottom: "ref" top: "cr" crop_param { axis: 2 offset: [1, 2] } }
            layer { name: "am" type: "ArgMax" bottom: "data" top: "am" argmax_param { top_k: 3 out_max_val: true } }
            layer { name: "sc" type: "Scale" bottom: "data" top: "sc" scale_param { axis: 1 num_axes: 2 bias_term: true } }
            layer { name: "bn" type: "BatchNorm" bottom: "data" top: "bn" }
            layer { name: "pr" type: "PReLU" bottom: "data" top: "pr" }
            layer { name: "el" type: "Eltwise" bottom: "bn" bottom: "pr" top: "el" eltwise_param { coeff: [1, -1] } }
            layer { name: "sm" type: "Softmax" bottom: "el" top: "sm" softmax_param { axis: -1 } }
            layer { name: "rd" type: "Reduction" bottom: "sm" top: "rd" reduction_param { axis: 1 } }
            """))
        let s = shapes(g)
        XCTAssertEqual(s["ip"], [[2, 6, 7]])
        XCTAssertEqual(g.layers.first { $0.name == "ip" }?.paramShapes, [[7, 20], [7]])
        XCTAssertEqual(g.layers.first { $0.name == "ipt" }?.paramShapes, [[120, 7], [7]])
        XCTAssertEqual(s["s"], [[2, 2, 4, 5], [2, 3, 4, 5], [2, 1, 4, 5]])
        XCTAssertEqual(s["cat"], [[2, 3, 4, 5]])
        XCTAssertEqual(s["fl"], [[2, 24, 5]])
        XCTAssertEqual(s["rs"], [[2, 12, 10]])
        XCTAssertEqual(s["cr"], [[2, 6, 2, 3]])
        XCTAssertEqual(s["am"], [[2, 2, 3, 1]])
        XCTAssertEqual(g.layers.first { $0.name == "sc" }?.paramShapes, [[6, 4], [6, 4]])
        XCTAssertEqual(g.layers.first { $0.name == "bn" }?.paramShapes, [[6], [6], [1]])
        XCTAssertEqual(g.layers.first { $0.name == "pr" }?.paramShapes, [[6]])
        XCTAssertEqual(s["sm"], [[2, 6, 4, 5]])
        XCTAssertEqual(s["rd"], [[2]])
    }

    func testShapeErrorsNameTheLayerAndField() {
        assertError({ try buildNet(net(input: [1, 3, 4, 4], """
            layer { name: "c" type: "Convolution" bottom: "data" top: "c"
              convolution_param { num_output: 8 kernel_size: 7 } }
            """)) }, "layer 'c' (Convolution): kernel 7 (dilated) is larger than the padded input 4 on spatial axis 0", line: 3, column: 37)
        assertError({ try buildNet(net(input: [1, 3, 4, 4], """
            layer { name: "c" type: "Convolution" bottom: "data" top: "c"
              convolution_param { num_output: 8 kernel_size: 1 group: 2 } }
            """)) }, "layer 'c' (Convolution): input channels (3) must be divisible by group (2)", line: 3, column: 52)
        assertError({ try buildNet(net(input: [1, 3, 4, 4], """
            layer { name: "c" type: "Convolution" bottom: "data" top: "c" convolution_param { num_output: 8 } }
            """)) }, "layer 'c' (Convolution): kernel size is required: set kernel_size (or kernel_h and kernel_w)", line: 2, column: 63)
        assertError({ try buildNet(net(input: [2, 3], """
            layer { name: "r" type: "Reshape" bottom: "data" top: "r" reshape_param { shape { dim: 4 } } }
            """)) }, "layer 'r' (Reshape): shape 4 holds 4 values but the bottom 2×3 holds 6", line: 2, column: 75)
        assertError({ try buildNet(net(input: [2, 3], """
            layer { name: "d" type: "Dropout" bottom: "data" top: "d" dropout_param { dropout_ratio: 1.0 } }
            """)) }, "layer 'd' (Dropout): dropout_ratio must be in [0, 1), found 1.0", line: 2, column: 75)
    }

    func testAllWiringProblemsInOnePass() {
        let ds = diagnostics { try buildNet(net(input: [1, 3], """
            layer { name: "a" type: "ReLU" bottom: "dta" top: "a" }
            layer { name: "b" type: "ReLU" bottom: "a" top: "data" }
            layer { name: "c" type: "Frobnicate" bottom: "a" top: "c" }
            layer { name: "d" type: "Convolution" bottom: "a" top: "d" top: "e" convolution_param { num_output: 1 kernel_size: 1 } }
            """)) }
        XCTAssertEqual(ds.count, 4, "\(ds)")
        XCTAssertEqual(ds.map { $0.location!.line }.sorted(), [2, 3, 4, 5])
        let msgs = ds.map(\.message)
        XCTAssertTrue(msgs.contains("layer 'a' (ReLU): unknown bottom blob 'dta' (did you mean 'data'?); blobs made before this layer: data"))
        XCTAssertTrue(msgs.contains("layer 'b' (ReLU): top blob 'data' is already produced by layer 'in'; only an in-place layer (top 0 == bottom 0) may write it again"))
        XCTAssertTrue(msgs.contains { $0.hasPrefix("layer 'c' (Frobnicate): SwiftCaffe does not support layer type 'Frobnicate'; supported types: AbsVal, Accuracy, ArgMax,") })
        XCTAssertTrue(msgs.contains("layer 'd' (Convolution): needs as many tops as bottoms (1), found 2"))
    }

    /// Caffe renames the bottom of an in-place layer whose input another
    /// layer also reads, so its top becomes a second blob of that name and
    /// Net::Init stops ("produced by multiple sources"): the same error here,
    /// naming the other reader, instead of a net where one overwrites the
    /// other's input.
    func testWritingInPlaceAValueAnotherLayerReadsIsRejected() {
        assertError({ try buildNet(net(input: [1, 4], """
            layer { name: "twice" type: "Power" bottom: "data" top: "twice" power_param { scale: 2 } }
            layer { name: "neg" type: "Power" bottom: "data" top: "data" power_param { scale: -1 } }
            """)) }, "layer 'neg' (Power): writes blob 'data' in place, but the value it overwrites is also read by layer 'twice'; "
            + "Caffe rejects this (top blob 'data' produced by multiple sources); give this layer's top its own name", line: 3, column: 50)
        assertError({ try buildNet(net(input: [1, 3], """
            layer { name: "f" type: "InnerProduct" bottom: "data" top: "f" loss_weight: 1 inner_product_param { num_output: 2 } }
            layer { name: "sq" type: "Power" bottom: "f" top: "f" power_param { power: 2 } }
            """)) }, "layer 'sq' (Power): writes blob 'f' in place, but the value it overwrites is also a weighted loss; "
            + "Caffe rejects this (top blob 'f' produced by multiple sources); give this layer's top its own name", line: 3, column: 46)
    }

    func testSplitCarriesALossWeightedTop() throws {
        let g = try buildNet(net(input: [1, 3], """
            layer { name: "f" type: "InnerProduct" bottom: "data" top: "f" loss_weight: 2 inner_product_param { num_output: 2 } }
            layer { name: "g" type: "ReLU" bottom: "f" top: "g" }
            """))
        let split = try XCTUnwrap(g.layers.first(where: \.isInserted))
        XCTAssertEqual(split.name, "f_f_0_split")
        XCTAssertEqual(split.layer.lossWeights, [2, 0])
        XCTAssertEqual(g.layers[1].layer.lossWeights, [])
        XCTAssertEqual(g.layers.last?.layer.bottoms, ["f_f_0_split_1"])
    }

    func testInputShapeOverrideAndUnknownName() throws {
        let g = try buildNet(net(input: [1, 3, 8, 8], "layer { name: \"c\" type: \"Convolution\" bottom: \"data\" top: \"c\" convolution_param { num_output: 2 kernel_size: 3 } }"),
                             inputs: ["data": [4, 3, 16, 16]])
        XCTAssertEqual(g.layers[1].topShapes, [[4, 2, 14, 14]])
        let ds = diagnostics { try buildNet(net(input: [1], ""), inputs: ["image": [1]]) }
        XCTAssertEqual(ds.map(\.message), ["input shapes are given for 'image', which no input or data layer produces; inputs: data"])
    }

    func testAbsurdSizesAreErrorsNotCrashes() {
        let huge = diagnostics { try buildNet(net(input: [9_223_372_036_854_775_807, 3], "layer { name: \"r\" type: \"ReLU\" bottom: \"data\" top: \"r\" }")) }
        XCTAssertEqual(huge.map(\.message), ["layer 'in' (Input): top 0 would have shape 9223372036854775807×3, beyond SwiftCaffe's limits (each dimension ≤ 2^31, at most 2^40 values)"])
        let product = diagnostics { try buildNet(net(input: [65536, 65536, 65536], "")) }
        XCTAssertEqual(product.count, 1)
        let stride = diagnostics { try buildNet(net(input: [1, 1, 8, 8], """
            layer { name: "c" type: "Convolution" bottom: "data" top: "c" convolution_param { num_output: 1 kernel_size: 1 dilation: 4294967295 } }
            """)) }
        XCTAssertEqual(stride.map(\.message), ["layer 'c' (Convolution): dilation 4294967295 is too large (limit 16777216)"])
        let reshape = diagnostics { try buildNet(net(input: [2, 3], """
            layer { name: "r" type: "Reshape" bottom: "data" top: "r" reshape_param { shape { dim: 4611686018427387904 dim: 4 } } }
            """)) }
        XCTAssertEqual(reshape.count, 1)
        XCTAssertTrue(reshape.first?.message.hasPrefix("layer 'r' (Reshape): shape ") ?? false, "\(reshape)")
    }
}
