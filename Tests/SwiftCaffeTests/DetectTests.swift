import Foundation
import XCTest
@testable import SwiftCaffe

/// `swiftcaffe detect` on a tiny SSD net whose answer is known by hand:
/// a 16×16 input pooled to 2×2 cells, one 8-pixel prior per cell, box
/// offsets 0 (weights and biases 0) and class scores softmax(0, 1), so every
/// cell is class 1 with e/(1 + e) = 0.7311, its box the cell itself.
final class DetectTests: XCTestCase {
    private var tmp: URL!
    override func setUpWithError() throws {
        tmp = FileManager.default.temporaryDirectory.appendingPathComponent("detect-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
    }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: tmp) }
    private func path(_ name: String) -> String { tmp.appendingPathComponent(name).path }

    static let net = """
        # swiftcaffe transform_param {
        #   scale: 0.00390625
        # }
        name: "tiny_ssd"
        layer { name: "data" type: "Input" top: "data" input_param { shape { dim: 1 dim: 3 dim: 16 dim: 16 } } }
        layer { name: "feat" type: "Pooling" bottom: "data" top: "feat" pooling_param { pool: MAX kernel_size: 8 stride: 8 } }
        layer { name: "loc" type: "Convolution" bottom: "feat" top: "loc" convolution_param { num_output: 4 kernel_size: 1 } }
        layer { name: "conf" type: "Convolution" bottom: "feat" top: "conf" convolution_param { num_output: 2 kernel_size: 1 } }
        layer { name: "loc_perm" type: "Permute" bottom: "loc" top: "loc_perm" permute_param { order: 0 order: 2 order: 3 order: 1 } }
        layer { name: "loc_flat" type: "Flatten" bottom: "loc_perm" top: "loc_flat" }
        layer { name: "conf_perm" type: "Permute" bottom: "conf" top: "conf_perm" permute_param { order: 0 order: 2 order: 3 order: 1 } }
        layer { name: "conf_shaped" type: "Reshape" bottom: "conf_perm" top: "conf_shaped" reshape_param { shape { dim: 0 dim: -1 dim: 2 } } }
        layer { name: "conf_softmax" type: "Softmax" bottom: "conf_shaped" top: "conf_softmax" softmax_param { axis: 2 } }
        layer { name: "conf_flat" type: "Flatten" bottom: "conf_softmax" top: "conf_flat" }
        layer { name: "prior" type: "PriorBox" bottom: "feat" bottom: "data" top: "prior"
                prior_box_param { min_size: 8 variance: 0.1 variance: 0.1 variance: 0.2 variance: 0.2 } }
        layer { name: "detection" type: "DetectionOutput" bottom: "loc_flat" bottom: "conf_flat" bottom: "prior" top: "detection"
                detection_output_param { num_classes: 2 nms_param { nms_threshold: 0.45 } code_type: CENTER_SIZE } }
        """

    /// The net and weights: all zero but conf's biases (0, 1).
    private func files() throws -> (String, String) {
        let proto = path("tiny_ssd.prototxt")
        try Self.net.write(toFile: proto, atomically: true, encoding: .utf8)
        let net = try Net(graph: try NetGraph.build(try ModelFile.loadNet(path: proto).net))
        for l in net.layers { for p in l.params { p.zeroData() } }
        net.layers.first { $0.name == "conf" }!.params[1].set([0, 1])
        let weights = path("tiny_ssd.caffemodel")
        try CaffeModelWriter.write(net, to: weights)
        return (proto, weights)
    }

    func testBoxesInPixelsJSONAndDrawing() throws {
        let (proto, weights) = try files()
        let image = Paths.model("fashion-mnist/images/pullover.jpg")  // 112×112 colour
        let labels = path("labels.txt")
        try "background\nthing\n".write(toFile: labels, atomically: true, encoding: .utf8)
        let r = try CLITests.run(["detect", "--model", proto, "--weights", weights, "--labels", labels, image])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("pullover.jpg (112×112): 4 objects scoring ≥ 0.5"), r.stdout)
        XCTAssertTrue(r.stdout.contains("0.7311  thing  (0, 0)–(56, 56)"), r.stdout)
        XCTAssertTrue(r.stdout.contains("0.7311  thing  (56, 56)–(112, 112)"), r.stdout)

        let json = path("boxes.json")
        XCTAssertEqual(try CLITests.run(["detect", "--model", proto, "--weights", weights, "-o", json, image]).status, 0)
        let parsed = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: json))) as! [String: Any]
        let objects = ((parsed["results"] as! [[String: Any]])[0]["objects"] as! [[String: Any]])
        XCTAssertEqual(objects.count, 4)
        let boxes = objects.map { o -> [Double] in
            let b = o["box"] as! [String: Double]
            return [b["xmin"]!, b["ymin"]!, b["xmax"]!, b["ymax"]!]
        }
        XCTAssertEqual(Set(boxes.map { $0.map { Int($0.rounded()) } }), [[0, 0, 56, 56], [56, 0, 112, 56], [0, 56, 56, 112], [56, 56, 112, 112]])
        XCTAssertEqual(objects[0]["score"] as! Double, 1 / (1 + exp(-1)), accuracy: 1e-5)

        let png = path("boxes.png")
        XCTAssertEqual(try CLITests.run(["detect", "--model", proto, "--weights", weights, "-o", png, "--threshold", "0.7", image]).status, 0)
        let drawn = try RGBImage.read(path: png)
        XCTAssertEqual([drawn.width, drawn.height], [112, 112])
        // Class 1's colour on the box edges, the image inside untouched.
        let at = { (x: Int, y: Int) in Array(drawn.pixels[(y * 112 + x) * 3..<(y * 112 + x) * 3 + 3]) }
        XCTAssertEqual(at(30, 0), [60, 180, 75])
        XCTAssertEqual(at(56, 30), [60, 180, 75])
        let original = try RGBImage.read(path: image)
        XCTAssertEqual(at(28, 28), Array(original.pixels[(28 * 112 + 28) * 3..<(28 * 112 + 28) * 3 + 3]))
        // Above every score: none.
        let none = try CLITests.run(["detect", "--model", proto, "--weights", weights, "--threshold", "0.9", image])
        XCTAssertTrue(none.stdout.contains("0 objects scoring ≥ 0.9"), none.stdout)
    }

    func testRefusesNetsWithoutDetectionOutput() throws {
        let (_, weights) = try files()
        let r = try CLITests.run(["detect", "--model", Paths.model("lenet/deploy.prototxt"), "--weights", weights, Paths.model("fashion-mnist/images/pullover.jpg")])
        XCTAssertEqual(r.status, 2, "bad usage")
        XCTAssertTrue(r.stderr.contains("has no DetectionOutput layer: detect runs SSD-style nets (classify runs classifiers)"), r.stderr)
        let bad = try CLITests.run(["detect", "--model", "x", "--weights", weights, "-o", "boxes.gif", "y.jpg"])
        XCTAssertEqual(bad.status, 2)
        XCTAssertTrue(bad.stderr.contains("-o must end in .png (boxes drawn) or .json, found 'boxes.gif'"), bad.stderr)
    }
}
