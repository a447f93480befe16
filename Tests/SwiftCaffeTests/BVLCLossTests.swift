import Foundation
import XCTest
@testable import SwiftCaffe

/// BVLC's HingeLoss, MultinomialLogisticLoss, InfogainLoss and
/// ContrastiveLoss: small cases worked by hand from Caffe's formulas, and
/// finite-difference gradients.
final class BVLCLossTests: XCTestCase {
    private func loss(_ blobs: [(String, Shape, [Float])], _ layer: String, top: String = "loss") throws -> Float {
        let n = try Net(graph: try buildNet(inputs(blobs.map { ($0.0, $0.1) }, layer)))
        for (name, _, values) in blobs { n.blob(name)!.set(values) }
        try n.forward()
        return n.blob(top)!.data[0]
    }

    private func assertGradients(_ prototxt: String, layer: String, generators: [String: GradientChecker.Generator],
                                 checkBottoms: [Int], file: StaticString = #filePath, line: UInt = #line) throws {
        let mismatches = try GradientChecker().check(prototxt, layer: layer, generators: generators, checkBottoms: checkBottoms,
                                                     quiet: false, file: file, line: line)
        XCTAssertEqual(mismatches, 0, file: file, line: line)
    }

    func testMultinomialLogisticLoss() throws {
        // −(ln 0.5 + ln 0.8) / 2
        let l = try loss([("p", [2, 3], [0.2, 0.5, 0.3, 0.1, 0.1, 0.8]), ("label", [2], [1, 2])], """
            layer { name: "loss" type: "MultinomialLogisticLoss" bottom: "p" bottom: "label" top: "loss" }
            """)
        XCTAssertEqual(l, 0.4581454, accuracy: 1e-6)
        // A probability of 0 costs −ln 1e-20, Caffe's floor, not infinity.
        let zero = try loss([("p", [1, 2], [1, 0]), ("label", [1], [1])], """
            layer { name: "loss" type: "MultinomialLogisticLoss" bottom: "p" bottom: "label" top: "loss" }
            """)
        XCTAssertEqual(zero, 46.0517, accuracy: 1e-3)
        try assertGradients(inputs([("p", [3, 2, 2]), ("label", [3])], """
            layer { name: "loss" type: "MultinomialLogisticLoss" bottom: "p" bottom: "label" top: "loss" loss_weight: 2 }
            """), layer: "loss", generators: ["p": { _, _, r in r.uniform(0.3, 1) }, "label": GradientChecker.labels(4)], checkBottoms: [0])
    }

    func testHingeLossL1AndL2() throws {
        // Item 0 (label 2): max(0, 1 − t·x) = 1.5, 0, 0; item 1 (label 0): 0.8, 1.9, 0.7.
        let x: [Float] = [0.5, -2, 1.5, 0.2, 0.9, -0.3]
        func hinge(_ norm: String) throws -> Float {
            try loss([("x", [2, 3], x), ("label", [2], [2, 0])], """
                layer { name: "loss" type: "HingeLoss" bottom: "x" bottom: "label" top: "loss" \(norm) }
                """)
        }
        XCTAssertEqual(try hinge(""), 2.45, accuracy: 1e-6, "L1 is the default")
        XCTAssertEqual(try hinge("hinge_loss_param { norm: L2 }"), 3.495, accuracy: 1e-6)
        // Scores inside and outside the margin, never within a step of the kink at ±1.
        let scores: GradientChecker.Generator = { _, _, r in
            r.uniform() < 0.5 ? r.uniform(-0.8, 0.8) : (r.uniform() < 0.5 ? -1 : 1) * r.uniform(1.2, 2)
        }
        for norm in ["", "hinge_loss_param { norm: L2 }"] {
            try assertGradients(inputs([("x", [4, 3]), ("label", [4])], """
                layer { name: "loss" type: "HingeLoss" bottom: "x" bottom: "label" top: "loss" \(norm) }
                """), layer: "loss", generators: ["x": scores, "label": GradientChecker.labels(3)], checkBottoms: [0])
        }
    }

    func testContrastiveLoss() throws {
        // A similar pair at distance 1, a dissimilar one at 0.5, margin 1.
        let blobs: [(String, Shape, [Float])] = [("a", [2, 2], [1, 0, 0, 0]), ("b", [2, 2], [0, 0, 0.3, 0.4]), ("y", [2], [1, 0])]
        let current = try loss(blobs, """
            layer { name: "loss" type: "ContrastiveLoss" bottom: "a" bottom: "b" bottom: "y" top: "loss" }
            """)
        XCTAssertEqual(current, (1 + 0.25) / 4, accuracy: 1e-6, "(1 + max(1 − 0.5, 0)²) / 2N")
        let legacy = try loss(blobs, """
            layer { name: "loss" type: "ContrastiveLoss" bottom: "a" bottom: "b" bottom: "y" top: "loss"
                    contrastive_loss_param { legacy_version: true margin: 1 } }
            """)
        XCTAssertEqual(legacy, (1 + 0.75) / 4, accuracy: 1e-6, "(1 + max(1 − 0.25, 0)) / 2N")
        for extra in ["", "contrastive_loss_param { legacy_version: true }"] {
            try assertGradients(inputs([("a", [4, 3]), ("b", [4, 3]), ("y", [4])], """
                layer { name: "loss" type: "ContrastiveLoss" bottom: "a" bottom: "b" bottom: "y" top: "loss" \(extra) }
                """), layer: "loss", generators: ["a": { _, _, r in r.uniform(-0.25, 0.25) }, "b": { _, _, r in r.uniform(-0.25, 0.25) },
                                                   "y": GradientChecker.labels(2)], checkBottoms: [0, 1])
        }
    }

    func testInfogainLoss() throws {
        // p = softmax(0, ln 3) = (1/4, 3/4); label 1: −(0.2·ln ¼ + 2·ln ¾).
        let h: [Float] = [1, 0.5, 0.2, 2]
        let third = try loss([("x", [1, 2], [0, log(3)]), ("label", [1], [1]), ("H", [2, 2], h)], """
            layer { name: "loss" type: "InfogainLoss" bottom: "x" bottom: "label" bottom: "H" top: "loss" }
            """)
        XCTAssertEqual(third, 0.852623, accuracy: 1e-5)
        // The same matrix from a binaryproto file.
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("swiftcaffe-infogain-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("H.binaryproto").path
        try MeanImage(channels: 1, height: 2, width: 2, values: h).write(binaryproto: file)
        let fromFile = try loss([("x", [1, 2], [0, log(3)]), ("label", [1], [1])], """
            layer { name: "loss" type: "InfogainLoss" bottom: "x" bottom: "label" top: "loss" infogain_loss_param { source: "\(file)" } }
            """)
        XCTAssertEqual(fromFile, third)
        // A second top holds the probabilities (Caffe's backward, like SoftmaxWithLoss's, takes no gradient from it).
        let prob = try loss([("x", [1, 2], [0, log(3)]), ("label", [1], [1]), ("H", [2, 2], h)], """
            layer { name: "loss" type: "InfogainLoss" bottom: "x" bottom: "label" bottom: "H" top: "loss" top: "prob" }
            """, top: "prob")
        XCTAssertEqual(prob, 0.25, accuracy: 1e-6)
        // With H = I it is SoftmaxWithLoss, ignore_label and normalization included.
        let x: [Float] = [0.3, -1, 2, 0.5, 0, 1, -0.2, 0.7, 1.1, -0.4, 0.9, 0.1]
        for lp in ["", "loss_param { ignore_label: 1 }", "loss_param { normalization: BATCH_SIZE }"] {
            let info = try loss([("x", [2, 3, 2], x), ("label", [2, 2], [0, 1, 2, 1]), ("H", [3, 3], [1, 0, 0, 0, 1, 0, 0, 0, 1])], """
                layer { name: "loss" type: "InfogainLoss" bottom: "x" bottom: "label" bottom: "H" top: "loss" \(lp) }
                """)
            let softmax = try loss([("x", [2, 3, 2], x), ("label", [2, 2], [0, 1, 2, 1])], """
                layer { name: "loss" type: "SoftmaxWithLoss" bottom: "x" bottom: "label" top: "loss" \(lp) }
                """)
            XCTAssertEqual(info, softmax, accuracy: 1e-6, lp)
            try assertGradients(inputs([("x", [2, 3, 2]), ("label", [2, 2]), ("H", [3, 3])], """
                layer { name: "loss" type: "InfogainLoss" bottom: "x" bottom: "label" bottom: "H" top: "loss" \(lp) }
                """), layer: "loss", generators: ["label": GradientChecker.labels(3), "H": { _, _, r in r.uniform(0, 2) }], checkBottoms: [0])
        }
    }

    func testBadInputsAreNamed() throws {
        let noMatrix = diagnostics({ try buildNet(inputs([("x", [2, 3]), ("label", [2])], """
            layer { name: "loss" type: "InfogainLoss" bottom: "x" bottom: "label" top: "loss" }
            """)) })
        XCTAssertTrue(noMatrix.first?.message.contains("InfogainLoss needs its matrix: infogain_loss_param { source: \"H.binaryproto\" } or a third bottom") == true,
                      "\(noMatrix)")
        let wrongSize = diagnostics({ try buildNet(inputs([("x", [2, 3]), ("label", [2]), ("H", [2, 2])], """
            layer { name: "loss" type: "InfogainLoss" bottom: "x" bottom: "label" bottom: "H" top: "loss" }
            """)) })
        XCTAssertTrue(wrongSize.first?.message.contains("the infogain bottom has 4 values; 3 classes need 3×3") == true, "\(wrongSize)")
        let missingFile = diagnostics({ try Net(graph: try buildNet(inputs([("x", [2, 3]), ("label", [2])], """
            layer { name: "loss" type: "InfogainLoss" bottom: "x" bottom: "label" top: "loss" infogain_loss_param { source: "/nonexistent/H.binaryproto" } }
            """))) })
        XCTAssertTrue(missingFile.first?.message.contains("layer 'loss' (InfogainLoss): cannot read its infogain matrix: /nonexistent/H.binaryproto") == true,
                      "\(missingFile)")
        let labels = diagnostics({ try buildNet(inputs([("x", [2, 3, 2, 2]), ("label", [8])], """
            layer { name: "loss" type: "HingeLoss" bottom: "x" bottom: "label" top: "loss" }
            """)) })
        XCTAssertTrue(labels.first?.message.contains("the label blob has 8 values but the predictions 2×3×2×2 need 2 (one per item)") == true, "\(labels)")
        XCTAssertThrowsError(try loss([("p", [1, 2], [0.5, 0.5]), ("label", [1], [2])], """
            layer { name: "loss" type: "MultinomialLogisticLoss" bottom: "p" bottom: "label" top: "loss" }
            """)) { XCTAssertTrue("\($0)".contains("layer 'loss' (MultinomialLogisticLoss): label 2 at position 0 is outside 0..<2"), "\($0)") }
        let pairs = diagnostics({ try buildNet(inputs([("a", [2, 3]), ("b", [2, 3]), ("y", [3])], """
            layer { name: "loss" type: "ContrastiveLoss" bottom: "a" bottom: "b" bottom: "y" top: "loss" }
            """)) })
        XCTAssertTrue(pairs.first?.message.contains("the label bottom needs one value per pair (2), found 3") == true, "\(pairs)")
    }
}
