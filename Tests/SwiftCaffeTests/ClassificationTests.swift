import Foundation
import XCTest
@testable import SwiftCaffe

/// The library's classifier (what `swiftcaffe classify` prints), on a net whose
/// scores can be worked out by hand.
final class ClassificationTests: XCTestCase {
    private var tmp: URL!

    override func setUpWithError() throws {
        tmp = FileManager.default.temporaryDirectory.appendingPathComponent("classify-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: tmp) }

    /// Two records in memory, 1×1×2 each.
    private final class TwoRecords: RecordSource {
        let records = [Datum(channels: 1, height: 1, width: 2, label: 1, pixels: [10, 2]),
                       Datum(channels: 1, height: 1, width: 2, label: 0, pixels: [4, 6])]
        var count: Int { records.count }
        var name: String { "two records" }
        func record(_ index: Int) throws -> Datum { records[index % count] }
    }

    func testRanksBestFirstTiesByClassNaNLast() {
        let top = ClassScore.top(4, of: [0.25, .nan, 0.5, 0.25, 0.1] as [Float])
        XCTAssertEqual(top.map(\.index), [2, 0, 3, 4])
        XCTAssertEqual(ClassScore.top(9, of: [.nan, 1] as [Float]).map(\.index), [1, 0])
    }

    func testRecordsAreScaledRankedAndCountedAgainstTheirLabels() throws {
        // scores = W·x with W = [[1, 0], [0, 1], [-1, 1]], x = (v − 3)·0.5:
        // record 0: x = (3.5, −0.5) → (3.5, −0.5, −4): class 0, label 1 (wrong);
        // record 1: x = (0.5, 1.5) → (0.5, 1.5, 1): class 1, then 2, label 0 (wrong too).
        let deploy = try ModelFile.loadNet(bytes: Array(net(input: [1, 1, 1, 2], """
            layer { name: "ip" type: "InnerProduct" bottom: "data" top: "scores" inner_product_param { num_output: 3 bias_term: false } }
            """).utf8), file: "deploy.prototxt")
        let n = try Net(graph: try deploy.graph())
        n.learnableParams[0].set([1, 0, 0, 1, -1, 1])
        let weights = tmp.appendingPathComponent("w.caffemodel").path
        try CaffeModelWriter.write(n, to: weights)

        let classifier = try Classifier(model: deploy, weights: try CaffeModel(path: weights), modelName: "deploy.prototxt")
        XCTAssertEqual(classifier.input, "data")
        XCTAssertEqual(classifier.inputShape, [1, 1, 1, 2])
        let r = try classifier.classify(records: TwoRecords(), indices: [0, 1],
                                        preprocessing: .init(resize: (1, 2), crop: (1, 2), mean: .values([3]), scale: 0.5), top: 2,
                                        labels: ["zero", "one", "two"])
        XCTAssertEqual(r.items.map { $0.top.map(\.index) }, [[0, 1], [1, 2]])
        XCTAssertEqual(r.items[0].top.map(\.score), [3.5, -0.5])
        XCTAssertEqual(r.items.map(\.trueLabel), [1, 0])
        XCTAssertEqual(r.topOneCorrect, 0)
        XCTAssertFalse(r.isProbability)
        XCTAssertEqual(r.warnings, [])
        XCTAssertEqual(r.text, """
            record #0 (true: one):
              3.5000  zero
              -0.5000  one
            record #1 (true: zero):
              1.5000  one
              1.0000  two
            top-1 correct: 0 of 2
            """)
        XCTAssertEqual(r.json, "{\"preprocessing\":\"records as stored, minus mean values 3, times 0.5\",\"results\":["
                       + "{\"record\":\"record #0\",\"true\":{\"class\":1,\"label\":\"one\"},\"top\":[{\"class\":0,\"label\":\"zero\",\"score\":3.5},"
                       + "{\"class\":1,\"label\":\"one\",\"score\":-0.5}]},"
                       + "{\"record\":\"record #1\",\"true\":{\"class\":0,\"label\":\"zero\"},\"top\":[{\"class\":1,\"label\":\"one\",\"score\":1.5},"
                       + "{\"class\":2,\"label\":\"two\",\"score\":1.0}]}]}")
        // Two labels for three classes: said, and the third class is named by number.
        let short = try classifier.classify(records: TwoRecords(), indices: [1], preprocessing: .init(resize: (1, 2), crop: (1, 2), mean: .none),
                                            top: 1, labels: ["a", "b"])
        XCTAssertEqual(short.warnings, ["2 labels but the net gives 3 classes"])
        XCTAssertEqual(short.label(2), "class 2")
    }

    func testANetWithoutAnInputLayerIsRefusedByName() throws {
        let trainVal = try ModelFile.loadNet(bytes: Array("""
            layer { name: "d" type: "DummyData" top: "x" dummy_data_param { shape { dim: 1 dim: 2 } } }
            """.utf8), file: "t.prototxt")
        XCTAssertThrowsError(try Classifier(model: trainVal, weights: try CaffeModel(path: Paths.fixture("images/tiny.caffemodel")),
                                            modelName: "t.prototxt")) { e in
            XCTAssertEqual("\(e)", "error: t.prototxt has no N×C×H×W Input layer to feed images to (use swiftcaffe deploy to make one)")
        }
        // A train_val whose data files are elsewhere gets the same advice, not an error about its data.
        let withData = try ModelFile.loadNet(bytes: Array("""
            layer { name: "d" type: "Data" top: "x" data_param { source: "/nonexistent/lmdb" batch_size: 1 } }
            """.utf8), file: "tv.prototxt")
        XCTAssertThrowsError(try Classifier(model: withData, weights: try CaffeModel(path: Paths.fixture("images/tiny.caffemodel")),
                                            modelName: "tv.prototxt")) { e in
            XCTAssertEqual("\(e)", "error: tv.prototxt has no N×C×H×W Input layer to feed images to (use swiftcaffe deploy to make one)")
        }
    }

    /// A grey 28×28 deploy net (InnerProduct to 3 classes, weights by formula)
    /// that records scale 1/256 in the comment block `deploy` writes.
    private func greyClassifier(block: String = """
        # swiftcaffe transform_param {
        #   scale: 0.00390625
        # }
        """) throws -> (Classifier, weights: [Float]) {
        let text = block + "\n" + net(input: [1, 1, 28, 28], """
            layer { name: "ip" type: "InnerProduct" bottom: "data" top: "scores" inner_product_param { num_output: 3 bias_term: false } }
            """)
        let deploy = try ModelFile.loadNet(bytes: Array(text.utf8), file: "grey_deploy.prototxt")
        let n = try Net(graph: try deploy.graph())
        let w: [Float] = (0..<(3 * 784)).map { (i: Int) -> Float in Float((i * 7919) % 101 - 50) / 1000 }
        n.learnableParams[0].set(w)
        let path = tmp.appendingPathComponent("grey.caffemodel").path
        try CaffeModelWriter.write(n, to: path)
        return (try Classifier(model: deploy, weights: try CaffeModel(path: path), modelName: "grey_deploy.prototxt"), w)
    }

    func testGreyImagesFollowTheRecordedTransformLikeOpenCV() throws {
        let (classifier, w) = try greyClassifier()
        XCTAssertEqual(classifier.recordedTransform?.parameters.scale, 0.00390625)
        let prep = try PreprocessingRequest(transform: classifier.recordedTransform).resolve(for: classifier.inputShape)
        XCTAssertEqual(prep.description, "resize to 28×28 (bilinear), grey (0.299 R + 0.587 G + 0.114 B), channels first, values 0–255, "
                       + "no mean subtracted, times 0.00390625, centre crop 28×28 (scale from transform_param recorded in grey_deploy.prototxt)")
        XCTAssertFalse(prep.valuesUnspecified)
        let images = ["ankle_boot.png", "pullover.jpg"]
        let r = try classifier.classify(images: images.map { Paths.root.appendingPathComponent("Models/fashion-mnist/images/\($0)").path },
                                        preprocessing: prep, top: 3, labels: nil)
        XCTAssertEqual(r.warnings, [])
        for (item, name) in zip(r.items, images) {
            // OpenCV's decode, resize and grey weights, then W·(x / 256) by hand.
            let grey = try NPY.read(path: Paths.fixture("images/\(name).grey28.npy")).values
            var expected = [Float](repeating: 0, count: 3)
            for k in 0..<3 { for i in 0..<784 { expected[k] += w[k * 784 + i] * grey[i] / 256 } }
            for c in item.top {
                // A JPEG decodes within ±2 levels across libjpeg builds; PNG exactly.
                XCTAssertEqual(c.score, expected[c.index], accuracy: name.hasSuffix(".png") ? 1e-4 : 0.05, name)
            }
        }
        // A 3-channel request for a grey net, and a block without its end, are refused by name.
        XCTAssertThrowsError(try PreprocessingRequest(gray: true).resolve(for: [1, 3, 8, 8])) { e in
            XCTAssertEqual("\(e)", "error: --gray gives 1-channel input, but the net takes 3 channels")
        }
        XCTAssertThrowsError(try greyClassifier(block: "# swiftcaffe transform_param {\n#   scale: 0.5")) { e in
            XCTAssertTrue("\(e)".hasPrefix("grey_deploy.prototxt:1:1: error: the swiftcaffe transform_param comment block has no closing '# }' line"), "\(e)")
        }
        XCTAssertThrowsError(try greyClassifier(block: "# swiftcaffe transform_param {\n#   scael: 0.5\n# }")) { e in
            XCTAssertTrue("\(e)".hasPrefix("grey_deploy.prototxt:2:5: error: "), "the deploy file's own line and column: \(e)")
            XCTAssertTrue("\(e)".contains("scael"), "\(e)")
        }
    }

    func testRawValuesAreWarnedAbout() throws {
        let (classifier, _) = try greyClassifier(block: "")
        XCTAssertNil(classifier.recordedTransform)
        let prep = try PreprocessingRequest().resolve(for: classifier.inputShape)
        XCTAssertTrue(prep.valuesUnspecified)
        let r = try classifier.classify(images: [Paths.root.appendingPathComponent("Models/fashion-mnist/images/ankle_boot.png").path],
                                        preprocessing: prep, top: 1, labels: nil)
        XCTAssertEqual(r.warnings, ["no --scale, --mean, --mean-value or transform_param was given, so the net sees raw 0–255 values; "
                                    + "give the training's (e.g. --scale 0.00390625), or --train-net with the train_val net"])
        // Any of them, even scale 1, says the user chose.
        XCTAssertFalse(try PreprocessingRequest(scale: 1).resolve(for: classifier.inputShape).valuesUnspecified)
    }

    func testDeployRecordsTheTestTransformAndTrainNetReadsASolver() throws {
        let models = Paths.root.appendingPathComponent("Models/lenet")
        let tv = try ModelFile.loadNet(path: models.appendingPathComponent("train_val.prototxt").path)
        let made = try DeployMaker.make(tv.net, file: "Models/lenet/train_val.prototxt", inputShapes: ["data": [1, 1, 28, 28]])
        XCTAssertTrue(made.text.hasPrefix("""
            # The preprocessing of this net's input in training: the
            # transform_param of the TEST data layer 'fashion' in train_val.prototxt.
            # Caffe skips comments; swiftcaffe classify applies it to images.
            # swiftcaffe transform_param {
            #   scale: 0.00390625
            # }

            name: "LeNet"
            """), made.text)
        // Caffe's parser skips the block: the file is the same net with or without it.
        let reread = try ModelFile.loadNet(bytes: Array(made.text.utf8), file: "deploy.prototxt")
        XCTAssertEqual(PrototxtPrinter.print(reread.message), PrototxtPrinter.print(made.message))
        XCTAssertEqual(try InputTransform.recorded(in: try XCTUnwrap(reread.source))?.parameters.scale, 0.00390625)
        let fromSolver = try XCTUnwrap(try InputTransform.read(trainNet: models.appendingPathComponent("solver.prototxt").path))
        XCTAssertEqual(fromSolver.origin, "transform_param of the TEST data layer 'fashion' in train_val.prototxt")
        XCTAssertEqual(fromSolver.parameters.scale, 0.00390625)
    }
}
