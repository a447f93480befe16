import XCTest
@testable import SwiftCaffe

final class UpgradeTests: XCTestCase {
    private func graph(_ path: String, phase: Phase = .test, inputs: [String: Shape] = [:]) throws -> (LoadedNet, NetGraph) {
        let n = try ModelFile.loadNet(path: path)
        return (n, try NetGraph.build(n.net, options: .init(state: NetState(phase: phase), inputShapes: inputs)))
    }

    func testV1WithInputDimBuildsLikeTheCurrentCaffeNet() throws {
        let (old, g) = try graph(Paths.fixture("legacy/caffenet_v1_input_dim.prototxt"))
        let (_, current) = try graph(Paths.model("caffenet/deploy.prototxt"))
        XCTAssertFalse(Caffe.NetParameter(old.message).has(.layers))
        XCTAssertFalse(Caffe.NetParameter(old.message).has(.input))
        XCTAssertEqual(old.net.layers.first?.type, "Input")
        XCTAssertEqual(old.net.layers.first?.name, "input")
        XCTAssertEqual(old.upgrades.count, 2, "\(old.upgrades)")
        // Same layers, types, shapes and parameters (only the Input layer's name differs).
        XCTAssertEqual(g.layers.dropFirst().map(\.name), current.layers.dropFirst().map(\.name))
        XCTAssertEqual(g.layers.map(\.type), current.layers.map(\.type))
        XCTAssertEqual(g.layers.map(\.topShapes), current.layers.map(\.topShapes))
        XCTAssertEqual(g.totalParams, 60_965_224)
    }

    func testV1LeNetMovesTransformFieldsAndBlobSettings() throws {
        let n = try ModelFile.loadNet(path: Paths.fixture("legacy/lenet_v1_train_test.prototxt"))
        let layers = n.net.layers
        XCTAssertEqual(layers.map(\.type), ["Data", "Data", "Convolution", "Pooling", "Convolution", "Pooling",
                                            "InnerProduct", "ReLU", "InnerProduct", "Accuracy", "SoftmaxWithLoss"])
        let data = layers[0].proto
        XCTAssertTrue(data.has(.transformParam))
        XCTAssertEqual(data.transformParam.scale, Double(Float(0.00390625)))
        XCTAssertTrue(data.has(.dataParam))
        XCTAssertFalse(data.dataParam.has(.scale))
        XCTAssertEqual(data.dataParam.backend.name, "LMDB")
        XCTAssertEqual(layers[0].include.first?.phase, .train)
        XCTAssertEqual(layers[2].params.map(\.lrMult), [1, 2])
        XCTAssertEqual(layers[2].params.map(\.decayMult), [1, 1])  // unset decay_mult keeps Caffe's default 1
        XCTAssertEqual(layers[4].params.map(\.decayMult), [1, 0])
        let g = try NetGraph.build(n.net, options: .init(state: NetState(phase: .test), inputShapes: ["data": [100, 1, 28, 28]]))
        XCTAssertEqual(g.layers.first { $0.name == "ip2" }?.topShapes, [[100, 10]])
        XCTAssertEqual(g.layers.first { $0.name == "pool2" }?.topShapes, [[100, 50, 4, 4]])
        // conv1 20·25+20, conv2 50·20·25+50, ip1 500·800+500, ip2 10·500+10
        XCTAssertEqual(g.totalParams, 520 + 25_050 + 400_500 + 5_010)
        // In TEST, ip2 and label each feed accuracy and loss: Caffe's split names.
        XCTAssertEqual(g.layers.filter(\.isInserted).map(\.name), ["label_mnist_1_split", "ip2_ip2_0_split"])
        XCTAssertEqual(g.layers.first { $0.name == "accuracy" }?.layer.bottoms, ["ip2_ip2_0_split_0", "label_mnist_1_split_0"])
        XCTAssertEqual(g.layers.first { $0.name == "loss" }?.layer.bottoms, ["ip2_ip2_0_split_1", "label_mnist_1_split_1"])
        // The loss written without a top gets Caffe's automatic one.
        XCTAssertEqual(g.layers.last?.layer.tops, ["(automatic)"])
        XCTAssertEqual(g.layers.last?.topShapes, [[]])
    }

    func testV0FoldsPaddingIntoTheNextConvolution() throws {
        let n = try ModelFile.loadNet(path: Paths.fixture("legacy/imagenet_v0.prototxt"))
        XCTAssertTrue(n.upgrades.contains(UpgradeNote(message: "padding layer 'pad2' folded into 'conv2' (pad 2)")), "\(n.upgrades)")
        let layers = n.net.layers
        XCTAssertEqual(layers.map(\.name), ["input", "conv1", "relu1", "pool1", "norm1", "conv2", "relu2", "pool2", "fc", "prob"])
        XCTAssertEqual(layers.map(\.type), ["Input", "Convolution", "ReLU", "Pooling", "LRN", "Convolution", "ReLU",
                                            "Pooling", "InnerProduct", "Softmax"])
        let conv2 = layers[5]
        XCTAssertEqual(conv2.bottoms, ["norm1"])
        XCTAssertEqual(conv2.proto.convolutionParam.pad, [2])
        XCTAssertEqual(conv2.proto.convolutionParam.group, 2)
        XCTAssertEqual(conv2.params.map(\.lrMult), [1, 2])
        XCTAssertEqual(layers[1].params.map(\.decayMult), [1, 0])
        XCTAssertEqual(layers[3].proto.poolingParam.kernelSize, 3)
        XCTAssertEqual(layers[4].proto.lrnParam.alpha, Double(Float(0.0001)))
        let g = try NetGraph.build(n.net)
        XCTAssertEqual(g.layers[5].topShapes, [[10, 256, 27, 27]])
        XCTAssertEqual(g.layers[7].topShapes, [[10, 256, 13, 13]])
        XCTAssertEqual(g.layers[8].paramShapes, [[1000, 256 * 13 * 13], [1000]])
    }

    func testInputShapeUpgradeAndSplitNames() throws {
        let n = try ModelFile.loadNet(path: Paths.fixture("legacy/googlenet_input_shape.prototxt"))
        let g = try NetGraph.build(n.net)
        let split = try XCTUnwrap(g.layers.first(where: \.isInserted))
        XCTAssertEqual(split.name, "data_input_0_split")
        XCTAssertEqual(split.layer.tops, (0..<4).map { "data_input_0_split_\($0)" })
        XCTAssertEqual(g.layers.first { $0.name == "pool" }?.layer.bottoms, ["data_input_0_split_3"])
        XCTAssertEqual(g.layers.last?.topShapes, [[2, 64 + 128 + 32 + 32, 28, 28]])
    }

    func testUpgradedTextIsCurrentSyntaxAndStable() throws {
        for f in ["caffenet_v1_input_dim", "lenet_v1_train_test", "imagenet_v0", "googlenet_input_shape"] {
            let n = try ModelFile.loadNet(path: Paths.fixture("legacy/\(f).prototxt"))
            let text = PrototxtPrinter.print(n.message)
            XCTAssertFalse(text.contains("layers {"), f)
            XCTAssertFalse(text.contains("input_dim"), f)
            let again = try ModelFile.loadNet(bytes: Array(text.utf8), file: f)
            XCTAssertEqual(again.upgrades, [], f)
            XCTAssertEqual(again.message, n.message, f)
        }
    }

    func testSolverTypeUpgrade() throws {
        let s = try ModelFile.loadSolver(path: Paths.fixture("legacy/solver_v1.prototxt"))
        XCTAssertEqual(s.solver.type, .adam)
        XCTAssertFalse(s.solver.proto.has(.solverType))
        XCTAssertEqual(s.upgrades.map(\.message), ["solver_type: ADAM → type: \"Adam\""])
        let net = try ModelFile.trainNet(of: s)
        XCTAssertEqual(net.net.name, "LeNet")
        assertError({ try Upgrader.upgradeSolver(try PrototxtParser.parse(bytes: Array("type: \"SGD\"\nsolver_type: ADAM\n".utf8),
                                                                          file: "s", as: CaffeSchema.solverParameter).message) },
                    "the solver sets both the old 'solver_type' (enum) and the new 'type' (string); keep only 'type'",
                    line: 2, column: 1)
    }

    func testLegacyInputErrors() {
        assertError({ try loadNet("input: \"data\"\ninput_dim: 1\ninput_dim: 3\n") },
                    "1 input(s) need 4 'input_dim' values (num, channels, height, width each), found 2", line: 2, column: 1)
        assertError({ try loadNet("input: \"data\"\n") },
                    "1 input(s) need 4 'input_dim' values (num, channels, height, width each), found 0", line: 1, column: 1)
        assertError({ try loadNet("layer { name: \"a\" }\nlayers { name: \"b\" }\n") },
                    "the net has both 'layer' (current) and 'layers' (legacy V1) entries; use one syntax (run `swiftcaffe upgrade` on the legacy part)",
                    line: 2, column: 1)
        assertError({ try loadNet("layers { layer { name: \"c\" type: \"conv\" dropout_ratio: 0.3 } }") },
                    "V0 layer 'c' of type \"conv\" has field 'dropout_ratio', which that type does not take", line: 1, column: 41)
    }

    func testBatchNormParamsAreFrozenAsCaffeUpgradesThem() throws {
        // Caffe's UpgradeNetBatchNorm keeps the three specs, lr_mult and decay_mult 0, other fields kept.
        let n = try loadNet(net(input: [1, 4], """
            layer { name: "bn" type: "BatchNorm" bottom: "data" top: "bn"
              param { lr_mult: 1 name: "m" } param { lr_mult: 0 decay_mult: 1 } param { lr_mult: 0 } }
            """))
        XCTAssertEqual(n.layers[1].params.map(\.lrMult), [0, 0, 0])
        XCTAssertEqual(n.layers[1].params.map(\.decayMult), [0, 0, 0])
        XCTAssertEqual(n.layers[1].params.map(\.name), ["m", nil, nil])
        let printed = PrototxtPrinter.print(try ModelFile.loadNet(bytes: Array(net(input: [1, 4], """
            layer { name: "bn" type: "BatchNorm" bottom: "data" top: "bn" param { lr_mult: 0 } param { lr_mult: 0 } param { lr_mult: 0 } }
            """).utf8), file: "t").message)
        XCTAssertEqual(printed.components(separatedBy: "lr_mult: 0").count - 1, 3, printed)
        XCTAssertEqual(printed.components(separatedBy: "decay_mult: 0").count - 1, 3, printed)
    }

    func testSolverUpgradeSaysItUpgradedTheNetsInside() throws {
        let solver = """
            solver_type: NESTEROV
            net_param { name: "n" layers { name: "ip" type: INNER_PRODUCT bottom: "x" top: "y" inner_product_param { num_output: 1 } } }
            """
        let m = try PrototxtParser.parse(bytes: Array(solver.utf8), file: "s", as: CaffeSchema.solverParameter).message
        let (_, notes) = try Upgrader.upgradeSolver(m)
        XCTAssertEqual(notes.first?.message, "solver_type: NESTEROV → type: \"Nesterov\"")
        XCTAssertTrue(notes.contains { $0.message.hasPrefix("net_param: ") }, "\(notes)")
        XCTAssertEqual(notes.last?.message, "the nets inside the solver were upgraded too (Caffe's upgrade_solver_proto_text "
                       + "converts solver_type only and leaves them as they were)")
    }

    func testSiameseSharesWeightsByName() throws {
        let n = try ModelFile.loadNet(path: Paths.fixture("legacy/siamese_train_test.prototxt"))
        let g = try NetGraph.build(n.net, options: .init(state: NetState(phase: .train), inputShapes: ["pair_data": [64, 2, 28, 28]]))
        XCTAssertEqual(g.layers.first { $0.name == "slice_pair" }?.topShapes, [[64, 1, 28, 28], [64, 1, 28, 28]])
        XCTAssertEqual(g.layers.first { $0.name == "ip1_p" }?.topShapes, [[64, 2]])
        XCTAssertEqual(g.layers.last?.topShapes, [[]])
        XCTAssertEqual(g.layers.first { $0.name == "conv1_p" }?.layer.params.map(\.name), ["conv1_w", "conv1_b"])
        // conv1 20·25+20 and ip1 2·(20·12·12)+2, counted once although both towers use them.
        XCTAssertEqual(g.totalParams, 520 + 5762)
    }

    func testResidualBlock() throws {
        let n = try ModelFile.loadNet(path: Paths.fixture("legacy/resnet_block.prototxt"))
        let g = try NetGraph.build(n.net)
        XCTAssertEqual(g.layers.first { $0.name == "res2a" }?.topShapes, [[1, 256, 56, 56]])
        XCTAssertEqual(g.layers.first { $0.name == "pool" }?.topShapes, [[1, 256, 1, 1]])
        XCTAssertEqual(g.layers.first { $0.name == "bn2a_branch1" }?.paramShapes, [[256], [256], [1]])
        XCTAssertEqual(g.layers.first { $0.name == "scale2a_branch2a" }?.paramShapes, [[64], [64]])
        XCTAssertEqual(g.layers.filter(\.isInserted).map(\.name), ["data_data_0_split"])
    }

    func testStagesPickTheTestDataAndSolverTestStates() throws {
        let n = try ModelFile.loadNet(path: Paths.fixture("legacy/autoencoder_stages.prototxt"))
        for stage in ["test-on-train", "test-on-test"] {
            let g = try NetGraph.build(n.net, options: .init(state: NetState(phase: .test, stages: [stage]), inputShapes: ["data": [100, 1, 28, 28]]))
            XCTAssertEqual(g.layers.filter { $0.type == "Data" }.count, 1)
            XCTAssertEqual(g.layers.first { $0.type == "Data" }?.layer.proto.dataParam.source,
                           stage == "test-on-train" ? "train_lmdb" : "test_lmdb")
            XCTAssertEqual(g.layers.first { $0.name == "flatdata" }?.topShapes, [[100, 784]])
            // Two layers named "loss" (as in BVLC's autoencoder) build, with a warning.
            XCTAssertEqual(g.warnings.map(\.message), ["layer name 'loss' is used twice; weights are copied by name, so the second cannot get its own"])
        }
        let s = try ModelFile.loadSolver(path: Paths.fixture("legacy/autoencoder_solver.prototxt"))
        XCTAssertEqual(s.solver.type, .nesterov)
        XCTAssertEqual(s.solver.testIter, [500, 100])
        XCTAssertEqual(s.solver.proto.testState.map(\.stage), [["test-on-train"], ["test-on-test"]])
    }
}
