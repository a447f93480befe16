import XCTest
@testable import SwiftCaffe

/// Swish and Clip, each added as one layer file plus a catalog entry: forward
/// values worked out by hand, gradients against finite differences.
final class SwishAndClipLayerTests: XCTestCase {
    func run(_ layer: String, _ x: [Float]) throws -> [Float] {
        let n = try Net(graph: try buildNet(net(input: [1, x.count], layer)))
        n.blob("data")!.set(x)
        try n.forward()
        return n.blob("y")!.values
    }

    func testSwishForward() throws {
        // x·σ(βx): 0 → 0; with β = 1, 1 → 1/(1+e^-1) = 0.7310586, -2 → -2/(1+e^2) = -0.2384058;
        // with β = 2, 1 → 1/(1+e^-2) = 0.8807971.
        let y = try run("layer { name: \"s\" type: \"Swish\" bottom: \"data\" top: \"y\" }", [0, 1, -2])
        for (a, b) in zip(y, [0, 0.7310586, -0.2384058] as [Float]) { XCTAssertEqual(a, b, accuracy: 1e-6) }
        let y2 = try run("layer { name: \"s\" type: \"Swish\" bottom: \"data\" top: \"y\" swish_param { beta: 2 } }", [1])
        XCTAssertEqual(y2[0], 0.8807971, accuracy: 1e-6)
    }

    func testSwishGradient() throws {
        for beta in [1.0, 1.7] {
            let mismatches = try GradientChecker().check(inputs([("x", [2, 3, 4])], """
                layer { name: "s" type: "Swish" bottom: "x" top: "y" swish_param { beta: \(beta) } }
                """), layer: "s", generators: ["x": GradientChecker.uniform], quiet: false)
            XCTAssertEqual(mismatches, 0, "beta \(beta)")
        }
        // In place (as prototxts write it), backward still sees x: the same gradient as out of place.
        func dx(_ top: String) throws -> [Float] {
            let n = try Net(graph: try buildNet("force_backward: true\n" + net(input: [1, 4], """
                layer { name: "s" type: "Swish" bottom: "data" top: "\(top)" }
                """)))
            n.blob("data")!.set([-2, -0.5, 0.3, 1.5])
            try n.forward()
            n.seedOutputGradients()
            try n.backward()
            return n.blob("data")!.gradients
        }
        XCTAssertEqual(try dx("data"), try dx("y"))
    }

    func testClipForwardGradientAndErrors() throws {
        let layer = "layer { name: \"c\" type: \"Clip\" bottom: \"data\" top: \"y\" clip_param { min: -1 max: 2 } }"
        let y = try run(layer, [-3, -1, 0.5, 2, 7, .nan])
        XCTAssertEqual(Array(y.prefix(5)), [-1, -1, 0.5, 2, 2])
        XCTAssertEqual(y[5], -1, "std::max(min, std::min(NaN, max)) is min in Caffe")
        let mismatches = try GradientChecker().check(inputs([("x", [2, 3, 4])], """
            layer { name: "c" type: "Clip" bottom: "x" top: "y" clip_param { min: -0.5 max: 0.6 } }
            """), layer: "c", generators: ["x": { _, _, r in
                // Away from the kinks at -0.5 and 0.6, where finite differences straddle them.
                let v = r.uniform(-1, 1)
                return abs(v + 0.5) < 0.05 || abs(v - 0.6) < 0.05 ? v + 0.15 : v
            }], quiet: false)
        XCTAssertEqual(mismatches, 0)
        assertError({ try buildNet(net(input: [1, 3], "layer { name: \"c\" type: \"Clip\" bottom: \"data\" top: \"y\" clip_param { min: 2 max: 1 } }")) },
                    "layer 'c' (Clip): clip_param min must be ≤ max", line: 2, column: 69)
    }

    func testCatalogListsEveryTypeOnceAndSaysWhyAPlannedTypeDoesNotRun() throws {
        XCTAssertEqual(Set(LayerCatalog.entries.map(\.type)).count, LayerCatalog.entries.count)
        for e in LayerCatalog.entries {
            if case .shapeOnly(let reason) = e.runtime { XCTAssertFalse(reason.isEmpty, e.type) }
        }
        // Every type Caffe's V1 enum names is planned, but Im2col (a
        // convolution's unrolled input as a top, for debugging), not yet.
        let notPlanned: Set<String> = ["Im2col"]
        for t in Set(V1NetUpgrade.typeNames.values).subtracting(notPlanned) {
            XCTAssertNotNil(LayerCatalog.byType[t], "\(t) is not in the catalog")
        }
        // A planned type summary accepts is refused by the runtime with its reason.
        let text = """
            layer { name: "w" type: "WindowData" top: "data" top: "label" window_data_param { source: "w.txt" batch_size: 2 crop_size: 8 } }
            """
        XCTAssertThrowsError(try Net(graph: try buildNet(text))) { e in
            XCTAssertTrue("\(e)".contains("layer 'w' (WindowData): R-CNN's window files are not read; it runs: AbsVal"), "\(e)")
        }
    }
}
