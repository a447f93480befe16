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
        let pool = Caffe.PoolingParameter()
        XCTAssertEqual(pool.stride, 1)
        XCTAssertEqual(pool.pool.name, "MAX")
        XCTAssertEqual(pool.roundMode.name, "CEIL")
        let lrn = Caffe.LRNParameter()
        XCTAssertEqual(lrn.localSize, 5)
        XCTAssertEqual(lrn.alpha, 1)
        XCTAssertEqual(lrn.beta, 0.75)
        XCTAssertEqual(lrn.k, 1)
        XCTAssertEqual(lrn.normRegion.name, "ACROSS_CHANNELS")
        let conv = Caffe.ConvolutionParameter()
        XCTAssertTrue(conv.biasTerm)
        XCTAssertEqual(conv.group, 1)
        XCTAssertEqual(conv.axis, 1)
        XCTAssertEqual(Caffe.DropoutParameter().dropoutRatio, 0.5)
        let filler = Caffe.FillerParameter()
        XCTAssertEqual(filler.type, "constant")
        XCTAssertEqual(filler.std, 1)
        XCTAssertEqual(filler.sparse, -1)
        let bn = Caffe.BatchNormParameter()
        XCTAssertEqual(bn.movingAverageFraction, Double(Float(0.999)))
        XCTAssertEqual(bn.eps, Double(Float(1e-5)))
        let solver = Caffe.SolverParameter()
        XCTAssertEqual(solver.type, "SGD")
        XCTAssertEqual(solver.regularizationType, "L2")
        XCTAssertEqual(solver.clipGradients, -1)
        XCTAssertEqual(solver.solverMode.name, "GPU")
        XCTAssertEqual(solver.randomSeed, -1)
        XCTAssertEqual(solver.momentum2, Double(Float(0.999)))
        XCTAssertFalse(Caffe.NetParameter().has(.state))
        XCTAssertEqual(Caffe.NetParameter().state.phase, .test, "an unset message reads as its defaults")
        XCTAssertEqual(Caffe.NetState().phase.name, "TEST")
        XCTAssertEqual(Caffe.ExpParameter().base, -1)
        XCTAssertEqual(Caffe.MVNParameter().eps, Double(Float(1e-9)))
    }

    /// The generated views (`make proto`) match the schema the readers use: every
    /// message has a view whose fields have the schema's names and numbers.
    func testGeneratedViewsMatchTheSchema() {
        func fields<F: CaffeField>(_: F.Type) -> [String: Int32] {
            Dictionary(uniqueKeysWithValues: F.allCases.map { ($0.name, $0.rawValue) })
        }
        func schemaFields(_ m: MessageSchema) -> [String: Int32] {
            Dictionary(uniqueKeysWithValues: m.fields.map { ($0.name, $0.number) })
        }
        XCTAssertEqual(fields(Caffe.ConvolutionParameter.Field.self), schemaFields(Caffe.ConvolutionParameter.schema))
        XCTAssertEqual(fields(Caffe.ConvolutionParameter.Field.self)["kernel_size"], 4)
        XCTAssertEqual(Set(Caffe.allViews.map(\.schema.name)), Set(CaffeSchema.allMessages.map(\.name)), "one view per message of the schema")
        for view in Caffe.allViews {
            XCTAssertEqual(view.fieldNumbers, schemaFields(view.schema), view.schema.name)
        }
        XCTAssertEqual(Caffe.PoolingParameter.PoolMethod.allCases.map(\.name), ["MAX", "AVE", "STOCHASTIC"])
        XCTAssertEqual(Caffe.PoolingParameter.PoolMethod(name: "AVE"), .ave)
        XCTAssertNil(Caffe.PoolingParameter.PoolMethod(name: "MEAN"))
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
            var m = Caffe.LayerParameter()
            m.append(.name, .string("x"))
            m.append(.type, .string(t.type))
            _ = try? t.init(LayerParameter(m.message))
        }
    }
}
