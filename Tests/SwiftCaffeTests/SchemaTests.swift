import XCTest
@testable import SwiftCaffe

/// The schema must carry Caffe's field numbers and defaults: every file Caffe
/// wrote depends on them. Expected values are Caffe's documented ones.
final class SchemaTests: XCTestCase {
    func testFieldNumbersOfTheWireFormat() {
        let net = CaffeSchema.netParameter
        XCTAssertEqual(net.field(named: "layer")?.number, 100)
        XCTAssertEqual(net.field(named: "layers")?.number, 2)
        XCTAssertEqual(net.field(named: "input_dim")?.number, 4)
        XCTAssertEqual(net.field(named: "input_shape")?.number, 8)
        let layer = CaffeSchema.layerParameter
        XCTAssertEqual(layer.field(named: "convolution_param")?.number, 106)
        XCTAssertEqual(layer.field(named: "batch_norm_param")?.number, 139)
        XCTAssertEqual(layer.field(named: "input_param")?.number, 143)
        XCTAssertEqual(layer.field(named: "clip_param")?.number, 148)
        let blob = CaffeSchema.blobProto
        XCTAssertEqual(blob.field(named: "shape")?.number, 7)
        XCTAssertEqual(blob.field(named: "data")?.number, 5)
        XCTAssertEqual(blob.field(named: "double_data")?.number, 8)
        XCTAssertEqual(blob.field(named: "num")?.number, 1)
        let v1 = CaffeSchema.v1LayerParameter
        XCTAssertEqual(v1.field(named: "blobs_lr")?.number, 7)
        XCTAssertEqual(v1.field(named: "layer")?.number, 1)
        guard case .enumeration(let types)? = v1.field(named: "type")?.kind else { return XCTFail() }
        XCTAssertEqual(types.number(named: "CONVOLUTION"), 4)
        XCTAssertEqual(types.number(named: "ABSVAL"), 35)
        XCTAssertEqual(types.number(named: "SOFTMAX_LOSS"), 21)
        let solver = CaffeSchema.solverParameter
        XCTAssertEqual(solver.field(named: "base_lr")?.number, 5)
        XCTAssertEqual(solver.field(named: "type")?.number, 40)
        XCTAssertEqual(solver.field(named: "solver_type")?.number, 30)
        XCTAssertEqual(CaffeSchema.solverState.field(named: "history")?.number, 3)
        XCTAssertEqual(CaffeSchema.datum.field(named: "encoded")?.number, 7)
    }

    func testDefaultsAreCaffes() {
        let pool = ProtoMessage(CaffeSchema.message("PoolingParameter"))
        XCTAssertEqual(pool.int("stride"), 1)
        XCTAssertEqual(pool.enumName("pool"), "MAX")
        XCTAssertEqual(pool.enumName("round_mode"), "CEIL")
        let lrn = ProtoMessage(CaffeSchema.message("LRNParameter"))
        XCTAssertEqual(lrn.int("local_size"), 5)
        XCTAssertEqual(lrn.float("alpha"), 1)
        XCTAssertEqual(lrn.float("beta"), 0.75)
        XCTAssertEqual(lrn.float("k"), 1)
        XCTAssertEqual(lrn.enumName("norm_region"), "ACROSS_CHANNELS")
        let conv = ProtoMessage(CaffeSchema.message("ConvolutionParameter"))
        XCTAssertTrue(conv.bool("bias_term"))
        XCTAssertEqual(conv.int("group"), 1)
        XCTAssertEqual(conv.int("axis"), 1)
        XCTAssertEqual(ProtoMessage(CaffeSchema.message("DropoutParameter")).float("dropout_ratio"), 0.5)
        let filler = ProtoMessage(CaffeSchema.message("FillerParameter"))
        XCTAssertEqual(filler.string("type"), "constant")
        XCTAssertEqual(filler.float("std"), 1)
        XCTAssertEqual(filler.int("sparse"), -1)
        let bn = ProtoMessage(CaffeSchema.message("BatchNormParameter"))
        XCTAssertEqual(bn.float("moving_average_fraction"), Double(Float(0.999)))
        XCTAssertEqual(bn.float("eps"), Double(Float(1e-5)))
        let solver = ProtoMessage(CaffeSchema.solverParameter)
        XCTAssertEqual(solver.string("type"), "SGD")
        XCTAssertEqual(solver.string("regularization_type"), "L2")
        XCTAssertEqual(solver.float("clip_gradients"), -1)
        XCTAssertEqual(solver.enumName("solver_mode"), "GPU")
        XCTAssertEqual(solver.int("random_seed"), -1)
        XCTAssertEqual(solver.float("momentum2"), Double(Float(0.999)))
        XCTAssertEqual(ProtoMessage(CaffeSchema.netParameter).message("state"), nil)
        XCTAssertEqual(ProtoMessage(CaffeSchema.message("NetState")).enumName("phase"), "TEST")
        XCTAssertEqual(ProtoMessage(CaffeSchema.message("ExpParameter")).float("base"), -1)
        XCTAssertEqual(ProtoMessage(CaffeSchema.message("MVNParameter")).float("eps"), Double(Float(1e-9)))
    }

    func testEveryMessageTheIssueNamesIsInTheSchema() {
        let names = Set(CaffeSchema.allMessages.map(\.name))
        for n in ["NetParameter", "LayerParameter", "V1LayerParameter", "V0LayerParameter", "SolverParameter",
                  "SolverState", "BlobProto", "BlobShape", "BlobProtoVector", "Datum", "FillerParameter", "ParamSpec",
                  "NetState", "NetStateRule", "TransformationParameter", "LossParameter", "ConvolutionParameter",
                  "PoolingParameter", "LRNParameter", "BatchNormParameter", "ScaleParameter", "BiasParameter",
                  "EltwiseParameter", "CropParameter", "ReshapeParameter", "FlattenParameter", "SliceParameter",
                  "ConcatParameter", "MVNParameter", "ArgMaxParameter", "AccuracyParameter", "PReLUParameter",
                  "ELUParameter", "PowerParameter", "ExpParameter", "LogParameter", "ThresholdParameter",
                  "DummyDataParameter", "InputParameter", "DataParameter", "ImageDataParameter", "MemoryDataParameter"] {
            XCTAssertTrue(names.contains(n), n)
        }
    }

    func testEveryLayerTypeNameIsUniqueAndKnowsItsParameterFields() throws {
        XCTAssertEqual(Set(LayerCatalog.entries.map(\.type)).count, LayerCatalog.entries.count)
        // A default-constructed layer of each type must decode without touching a
        // field the schema lacks (that would be a SwiftCaffe bug, not a user error).
        for t in LayerCatalog.entries.map(\.plan) {
            var m = ProtoMessage(CaffeSchema.layerParameter)
            m.append("name", .string("x"))
            m.append("type", .string(t.type))
            _ = try? t.init(LayerParameter(m))
        }
    }
}
