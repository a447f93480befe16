import XCTest
@testable import SwiftCaffe

/// DeepLab's Interp and SegNet's (and the YOLO ports') Upsample: Interp
/// against OpenCV DNN where OpenCV follows DeepLab (zoom_factor,
/// height/width), by hand from DeepLab's definition where it does not
/// (shrink_factor, pad_beg/pad_end); Upsample by hand (OpenCV 4.14 has no
/// Upsample); gradients against finite differences.
final class ResizeLayerTests: XCTestCase {
    private func run(_ values: [(String, Shape, [Float])], _ layers: String, top: String = "y") throws -> Blob {
        let n = try Net(graph: try buildNet(inputs(values.map { ($0.0, $0.1) }, layers)))
        for (name, _, v) in values { n.blob(name)!.set(v) }
        try n.forward()
        return n.blob(top)!
    }

    private func interp(_ x: [Float], _ shape: Shape, _ param: String) throws -> Blob {
        try run([("x", shape, x)], "layer { name: \"i\" type: \"Interp\" bottom: \"x\" top: \"y\" interp_param { \(param) } }")
    }

    func testInterpAgainstOpenCV() throws {
        try checkAgainstOpenCV("resize_layers", model: opencvFixture("resize_layers"), inputs: [("data", [2, 3, 6, 7])], outputs: ["zoom", "sized"])
    }

    func testInterpByHand() throws {
        // Corners aligned: a 2×2 zoomed by 2 puts the old values at the corners and midpoints between.
        let zoomed = try interp([0, 1, 2, 3], [1, 1, 2, 2], "zoom_factor: 2")
        XCTAssertEqual(zoomed.shape, [1, 1, 3, 3])
        XCTAssertEqual(zoomed.values, [0, 0.5, 1, 1, 1.5, 2, 2, 2.5, 3])
        // shrink_factor 2 of 5: (5 − 1)/2 + 1 = 3 samples at 0, 2, 4 (OpenCV refuses shrink_factor).
        let x = (0..<25).map(Float.init)
        let shrunk = try interp(x, [1, 1, 5, 5], "shrink_factor: 2")
        XCTAssertEqual(shrunk.shape, [1, 1, 3, 3])
        XCTAssertEqual(shrunk.values, [0, 2, 4, 10, 12, 14, 20, 22, 24])
        // Both: shrink to 3, then zoom by 2 to 5: the input again.
        XCTAssertEqual(try interp(x, [1, 1, 5, 5], "shrink_factor: 2 zoom_factor: 2").values, x)
        // pad_beg/pad_end −1 crop a 5×5 to its 3×3 centre (OpenCV ignores them).
        let cropped = try interp(x, [1, 1, 5, 5], "pad_beg: -1 pad_end: -1 height: 3 width: 3")
        XCTAssertEqual(cropped.values, [6, 7, 8, 11, 12, 13, 16, 17, 18])
        // One output row or column samples the first input row or column.
        XCTAssertEqual(try interp(x, [1, 1, 5, 5], "height: 1 width: 2").values, [0, 4])

        for param in ["zoom_factor: 2", "height: 4 width: 7", "shrink_factor: 2 zoom_factor: 3", "pad_beg: -1 pad_end: 0 height: 5 width: 3"] {
            let mismatches = try GradientChecker().check(inputs([("x", [2, 2, 4, 5])], """
                layer { name: "i" type: "Interp" bottom: "x" top: "y" interp_param { \(param) } }
                """), layer: "i", quiet: true)
            XCTAssertEqual(mismatches, 0, param)
        }
    }

    func testInterpErrors() throws {
        let text = { (param: String) in net(input: [1, 1, 4, 4], "layer { name: \"i\" type: \"Interp\" bottom: \"data\" top: \"y\" \(param) }") }
        assertError({ try buildNet(text("interp_param { pad_beg: 1 }")) },
                    "layer 'i' (Interp): interp_param pad_beg 1: DeepLab's Interp only crops, so it must be ≤ 0", line: 2, column: 73)
        assertError({ try buildNet(text("")) }, "layer 'i' (Interp): Interp needs interp_param height and width, zoom_factor, or shrink_factor",
                    line: 2, column: 1)
        assertError({ try buildNet(text("interp_param { pad_beg: -2 pad_end: -2 zoom_factor: 2 }")) },
                    "layer 'i' (Interp): interp_param pad_beg -2 and pad_end -2 crop all of the 4×4 input", line: 2, column: 73)
    }

    func testUpsampleWithPoolingMask() throws {
        // MAX pooling 2/2 of a 4×4 remembers where each maximum was; Upsample puts it back there.
        let x: [Float] = [1, 5, 2, 0, 3, 4, 8, 1, 0, 0, 1, 1, 9, 2, 3, 7]
        let y = try run([("x", [1, 1, 4, 4], x)], """
            layer { name: "pool" type: "Pooling" bottom: "x" top: "pooled" top: "mask" pooling_param { pool: MAX kernel_size: 2 stride: 2 } }
            layer { name: "up" type: "Upsample" bottom: "pooled" bottom: "mask" top: "y" upsample_param { scale: 2 } }
            """)
        XCTAssertEqual(y.values, [0, 5, 0, 0, 0, 0, 8, 0, 0, 0, 0, 0, 9, 0, 0, 7])
        // A 5×5 pools (rounding up) to 3×3; pad_out gives 5×5 back, as SegNet writes its odd sizes.
        let odd = try run([("x", [1, 1, 5, 5], (0..<25).map(Float.init))], """
            layer { name: "pool" type: "Pooling" bottom: "x" top: "pooled" top: "mask" pooling_param { pool: MAX kernel_size: 2 stride: 2 } }
            layer { name: "up" type: "Upsample" bottom: "pooled" bottom: "mask" top: "y" upsample_param { scale: 2 pad_out_h: true pad_out_w: true } }
            """)
        XCTAssertEqual(odd.shape, [1, 1, 5, 5])
        XCTAssertEqual(odd.values.enumerated().filter { $0.element != 0 }.map(\.offset), [6, 8, 9, 16, 18, 19, 21, 23, 24])
        XCTAssertEqual(odd.values[24], 24)

        // Gradient: each input's gradient is the output gradient where its mask points.
        let mask: GradientChecker.Generator = { k, _, _ in
            let plane = k / 4, i = k % 4, (by, bx) = (i / 2, i % 2)
            return Float((2 * by + plane % 2) * 4 + 2 * bx + (plane / 2) % 2)
        }
        let mismatches = try GradientChecker().check(inputs([("x", [2, 2, 2, 2]), ("mask", [2, 2, 2, 2])], """
            layer { name: "up" type: "Upsample" bottom: "x" bottom: "mask" top: "y" upsample_param { upsample_h: 4 upsample_w: 4 } }
            """), layer: "up", generators: ["mask": mask], checkBottoms: [0], quiet: false)
        XCTAssertEqual(mismatches, 0)
    }

    func testUpsampleNearestWithoutMask() throws {
        let y = try run([("x", [1, 1, 2, 2], [1, 2, 3, 4])], "layer { name: \"up\" type: \"Upsample\" bottom: \"x\" top: \"y\" upsample_param { scale: 2 } }")
        XCTAssertEqual(y.values, [1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4])
        let wide = try run([("x", [1, 1, 1, 2], [1, 2])], "layer { name: \"up\" type: \"Upsample\" bottom: \"x\" top: \"y\" upsample_param { scale_h: 2 scale_w: 3 } }")
        XCTAssertEqual(wide.shape, [1, 1, 2, 6])
        XCTAssertEqual(wide.values, [1, 1, 1, 2, 2, 2, 1, 1, 1, 2, 2, 2])
        let mismatches = try GradientChecker().check(inputs([("x", [2, 3, 2, 3])], """
            layer { name: "up" type: "Upsample" bottom: "x" top: "y" upsample_param { scale: 2 } }
            """), layer: "up", quiet: false)
        XCTAssertEqual(mismatches, 0)
    }

    func testUpsampleErrors() throws {
        // A mask value beyond the output plane: the Pooling and the Upsample disagree on the size.
        let n = try Net(graph: try buildNet(inputs([("x", [1, 1, 2, 2]), ("mask", [1, 1, 2, 2])], """
            layer { name: "up" type: "Upsample" bottom: "x" bottom: "mask" top: "y" upsample_param { scale: 2 } }
            """)))
        n.blob("mask")!.set([0, 3, 8, 16])
        XCTAssertThrowsError(try n.forward()) { e in
            XCTAssertTrue("\(e)".contains("mask value 16.0 at position 3 of plane 0 is not a position of the 16-value output plane"), "\(e)")
        }
        XCTAssertEqual(diagnostics({ try buildNet(inputs([("x", [1, 1, 2, 2]), ("mask", [1, 1, 2, 3])], """
            layer { name: "up" type: "Upsample" bottom: "x" bottom: "mask" top: "y" }
            """)) }).map(\.message), ["layer 'up' (Upsample): Upsample's mask (bottom 1, 1×1×2×3) must have the shape of its input (1×1×2×2)"])
        assertError({ try buildNet(net(input: [1, 1, 2, 2], """
            layer { name: "up" type: "Upsample" bottom: "data" top: "y" upsample_param { scale: 3 pad_out_h: true } }
            """)) }, "layer 'up' (Upsample): upsample_param pad_out_h makes the output 2·in − 1, so it needs scale 2, found 3", line: 2, column: 87)
    }
}
