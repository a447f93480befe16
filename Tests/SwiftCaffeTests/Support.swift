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
