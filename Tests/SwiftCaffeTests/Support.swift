import Foundation
import XCTest
@testable import SwiftCaffe

/// Paths of the repository's models and the test fixtures.
enum Paths {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static func model(_ p: String) -> String { root.appendingPathComponent("Models/\(p)").path }
    static func fixture(_ p: String) -> String { Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.appendingPathComponent(p).path }

    /// Every prototxt shipped in Models/ and the fixtures.
    static var allPrototxt: [String] {
        var out: [String] = []
        for dir in [root.appendingPathComponent("Models").path, fixture("legacy")] {
            let e = FileManager.default.enumerator(atPath: dir)!
            while let f = e.nextObject() as? String { if f.hasSuffix(".prototxt") { out.append(dir + "/" + f) } }
        }
        return out.sorted()
    }
}

/// Parses text as a NetParameter named "test.prototxt".
func parseNet(_ text: String, options: PrototxtOptions = .init()) throws -> ProtoMessage {
    try PrototxtParser.parse(bytes: Array(text.utf8), file: "test.prototxt", as: CaffeSchema.netParameter, options: options).message
}

func loadNet(_ text: String) throws -> NetParameter {
    try ModelFile.loadNet(bytes: Array(text.utf8), file: "test.prototxt").net
}

func buildNet(_ text: String, phase: Phase = .test, stages: [String] = [], level: Int = 0, inputs: [String: Shape] = [:]) throws -> NetGraph {
    try NetGraph.build(try loadNet(text), options: .init(state: NetState(phase: phase, level: level, stages: stages), inputShapes: inputs))
}

/// The diagnostics a throwing call produced; fails the test if it did not throw a CaffeError.
func diagnostics(_ body: () throws -> Any, file: StaticString = #filePath, line: UInt = #line) -> [Diagnostic] {
    do {
        _ = try body()
        XCTFail("expected an error", file: file, line: line)
    } catch let e as CaffeError {
        return e.diagnostics
    } catch {
        XCTFail("unexpected error type \(error)", file: file, line: line)
    }
    return []
}

/// Asserts exactly one error with this text at this line and column.
func assertError(_ body: () throws -> Any, _ message: String, line l: Int, column c: Int,
                 file: StaticString = #filePath, line: UInt = #line) {
    let ds = diagnostics(body, file: file, line: line)
    XCTAssertEqual(ds.count, 1, "\(ds)", file: file, line: line)
    guard let d = ds.first else { return }
    XCTAssertEqual(d.message, message, file: file, line: line)
    XCTAssertEqual(d.location?.line, l, "line", file: file, line: line)
    XCTAssertEqual(d.location?.column, c, "column", file: file, line: line)
}

/// A one-layer net on an Input of the given shape.
func net(input: Shape, _ layers: String) -> String {
    """
    layer { name: "in" type: "Input" top: "data" input_param { shape { \(input.map { "dim: \($0)" }.joined(separator: " ")) } } }
    \(layers)
    """
}

/// A solver on the tiny IDX fixture, its net inline (TrainCLITests, OutputSafetyTests).
enum TrainCLITestsSupport {
    static func solver(in dir: URL, maxIter: Int, extra: String = "", prefix: String? = nil, snapshot: Int = 10,
                       name: String = "solver.prototxt") throws -> String {
        let source = Paths.fixture("idx/tiny-images-idx3-ubyte.gz")
        let path = dir.appendingPathComponent(name).path
        let tests = extra.contains("test_iter") ? "" : "test_iter: 5 test_interval: 10"
        try """
        net_param {
          name: "tiny"
          layer { name: "data" type: "Data" top: "data" top: "label" transform_param { scale: 0.00390625 }
                  data_param { source: "\(source)" batch_size: 8 } }
          layer { name: "ip" type: "InnerProduct" bottom: "data" top: "ip" inner_product_param { num_output: 4 weight_filler { type: "xavier" } } }
          layer { name: "acc" type: "Accuracy" bottom: "ip" bottom: "label" top: "accuracy" include { phase: TEST } }
          layer { name: "loss" type: "SoftmaxWithLoss" bottom: "ip" bottom: "label" top: "loss" }
        }
        \(tests) \(extra)
        base_lr: 0.1 lr_policy: "step" gamma: 0.5 stepsize: 10 momentum: 0.9 weight_decay: 0.0005
        display: 5 max_iter: \(maxIter) snapshot: \(snapshot) snapshot_prefix: "\(prefix ?? dir.path + "/tiny")"
        """.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }
}
