import XCTest
@testable import SwiftCaffe

/// BVLC's Tile, Reduction and Embed, by hand from Caffe's definitions and
/// with finite-difference gradients; a Python layer refused by name.
final class TileReductionEmbedTests: XCTestCase {
    private func run(_ x: [Float], _ shape: Shape, _ layer: String) throws -> Blob {
        let n = try Net(graph: try buildNet(inputs([("x", shape)], layer)))
        n.blob("x")!.set(x)
        try n.forward()
        return n.blob("y")!
    }

    func testTile() throws {
        let y = try run([1, 2, 3, 4, 5, 6], [2, 3], "layer { name: \"t\" type: \"Tile\" bottom: \"x\" top: \"y\" tile_param { axis: 1 tiles: 2 } }")
        XCTAssertEqual(y.shape, [2, 6])
        XCTAssertEqual(y.values, [1, 2, 3, 1, 2, 3, 4, 5, 6, 4, 5, 6])
        let first = try run([1, 2, 3, 4, 5, 6], [2, 3], "layer { name: \"t\" type: \"Tile\" bottom: \"x\" top: \"y\" tile_param { axis: 0 tiles: 3 } }")
        XCTAssertEqual(first.values, [1, 2, 3, 4, 5, 6, 1, 2, 3, 4, 5, 6, 1, 2, 3, 4, 5, 6])
        let mismatches = try GradientChecker().check(inputs([("x", [2, 3, 2])], """
            layer { name: "t" type: "Tile" bottom: "x" top: "y" tile_param { axis: 1 tiles: 3 } }
            """), layer: "t", quiet: false)
        XCTAssertEqual(mismatches, 0)
    }

    func testReductionOperations() throws {
        let x: [Float] = [1, -2, 3, -4, 5, 6]
        func reduce(_ param: String) throws -> [Float] {
            try run(x, [2, 3], "layer { name: \"r\" type: \"Reduction\" bottom: \"x\" top: \"y\" reduction_param { \(param) } }").values
        }
        XCTAssertEqual(try reduce("operation: SUM"), [9], "axis 0: everything")
        XCTAssertEqual(try reduce("operation: SUM axis: 1"), [2, 7])
        XCTAssertEqual(try reduce("operation: ASUM axis: 1"), [6, 15])
        XCTAssertEqual(try reduce("operation: SUMSQ axis: 1 coeff: 0.5"), [7, 38.5])
        XCTAssertEqual(try reduce("operation: MEAN axis: -1"), [2.0 / 3, 7.0 / 3])
        for op in ["SUM", "ASUM", "SUMSQ", "MEAN"] {
            let mismatches = try GradientChecker().check(inputs([("x", [2, 3, 4])], """
                layer { name: "r" type: "Reduction" bottom: "x" top: "y" reduction_param { operation: \(op) axis: 1 coeff: 1.5 } }
                """), layer: "r", generators: ["x": GradientChecker.awayFromZero], quiet: true)
            XCTAssertEqual(mismatches, 0, op)
        }
    }

    func testEmbedLooksUpRows() throws {
        let text = inputs([("x", [3])], """
            layer { name: "e" type: "Embed" bottom: "x" top: "y"
                    embed_param { num_output: 2 input_dim: 4 weight_filler { type: "constant" value: 0 } } }
            """)
        let n = try Net(graph: try buildNet(text))
        n.layers[1].params[0].set([0, 1, 10, 11, 20, 21, 30, 31])
        n.layers[1].params[1].set([0.5, -0.5])
        n.blob("x")!.set([2, 0, 3])
        try n.forward()
        XCTAssertEqual(n.blob("y")!.shape, [3, 2])
        XCTAssertEqual(n.blob("y")!.values, [20.5, 20.5, 0.5, 0.5, 30.5, 30.5])
        // The weight gradient is dy added to each looked-up row.
        n.blob("y")!.diff.update(from: [1, 2, 3, 4, 5, 6], count: 6)
        try n.layers[1].backward([n.blob("y")!], [false], [n.blob("x")!])
        XCTAssertEqual(n.layers[1].params[0].gradients, [3, 4, 0, 0, 1, 2, 5, 6])
        XCTAssertEqual(n.layers[1].params[1].gradients, [9, 12])
        // An index outside [0, input_dim), or not an integer, is refused naming it.
        n.blob("x")!.set([1, 4, 0])
        XCTAssertThrowsError(try n.forward()) { e in
            XCTAssertTrue("\(e)".contains("layer 'e' (Embed): index 4.0 at position 1 is not an integer in [0, 4) (embed_param input_dim)"), "\(e)")
        }
        n.blob("x")!.set([1, 0.5, 0])
        XCTAssertThrowsError(try n.forward())
    }

    func testPythonLayerIsRefusedByModuleAndClass() throws {
        let graph = try buildNet(net(input: [1, 2], """
            layer { name: "py" type: "Python" bottom: "data" top: "y" python_param { module: "rpn.proposal_layer" layer: "ProposalLayer" } }
            """))
        XCTAssertNil(graph.layers[1].topShapes[0] ?? nil, "planned with unknown shapes, so summary still shows the net")
        let ds = diagnostics({ try Net(graph: graph) })
        XCTAssertTrue(ds.first?.message.hasPrefix("layer 'py' (Python): a Python layer runs Python code (module 'rpn.proposal_layer', "
                                                  + "class 'ProposalLayer'), which SwiftCaffe does not run") == true, "\(ds)")
    }
}
