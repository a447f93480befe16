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
        let r = try classifier.classify(records: TwoRecords(), indices: [0, 1], meanValues: [3], scale: 0.5, top: 2,
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
        let short = try classifier.classify(records: TwoRecords(), indices: [1], meanValues: [], scale: 1, top: 1, labels: ["a", "b"])
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
}
