import Foundation
import XCTest
@testable import SwiftCaffe

/// Random mutations of real prototxt files must never crash the reader: every
/// rejection is a CaffeError whose diagnostics carry a location.
/// FUZZ_CASES sets the number of cases (default 3000; `make test` passes it).
final class FuzzTests: XCTestCase {
    /// SplitMix64: a fixed seed gives the same cases on every machine.
    struct Random {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        mutating func below(_ n: Int) -> Int { Int(next() % UInt64(max(n, 1))) }
    }

    static let tokens: [String] = ["{", "}", "<", ">", ":", "[", "]", ",", ";", "\"", "'", "#", "-", "\n", "\r\n", "0x",
                                   "1e-4", "-inf", "nan", ".5", "5.", "layer", "layers", "bottom", "top", "name",
                                   "type", "\"Convolution\"", "kernel_size: 0", "num_output: 4294967296", "group: 3",
                                   "pad: 9", "stride: 0", "include { phase: TRAIN }", "input_dim: 1", "\u{0}", "\u{FEFF}",
                                   "layer { }", "true", "MAX", "axis: -9", "dim: -1", "bottom: \"nowhere\""]

    func mutate(_ bytes: [UInt8], _ r: inout Random) -> [UInt8] {
        var b = bytes
        for _ in 0..<(1 + r.below(4)) {
            let at = r.below(b.count + 1)
            switch r.below(5) {
            case 0: if !b.isEmpty { b.remove(at: min(at, b.count - 1)) }
            case 1: b.insert(UInt8(truncatingIfNeeded: r.next()), at: at)
            case 2: b.insert(contentsOf: Array(Self.tokens[r.below(Self.tokens.count)].utf8), at: at)
            case 3:  // delete a span
                let n = r.below(40)
                b.removeSubrange(min(at, b.count)..<min(at + n, b.count))
            default:  // duplicate a span
                let n = r.below(80)
                let span = Array(b[min(at, b.count)..<min(at + n, b.count)])
                b.insert(contentsOf: span, at: r.below(b.count + 1))
            }
        }
        return b
    }

    func testMutatedFilesNeverCrash() throws {
        let cases = Int(ProcessInfo.processInfo.environment["FUZZ_CASES"] ?? "") ?? 3000
        let seeds = try Paths.allPrototxt.map { try readFile($0) }
        var r = Random(state: 0x5EED_CAFE)
        var accepted = 0, rejected = 0
        for i in 0..<cases {
            let input = mutate(seeds[i % seeds.count], &r)
            do {
                let kind = PrototxtKind.detect(bytes: input, file: "fuzz")
                if kind == .solver {
                    let p = try PrototxtParser.parse(bytes: input, file: "fuzz", as: CaffeSchema.solverParameter)
                    _ = try SolverParameter(try Upgrader.upgradeSolver(p.message).0)
                } else {
                    let n = try ModelFile.loadNet(bytes: input, file: "fuzz")
                    let g = try NetGraph.build(n.net, options: .init(state: NetState(phase: i % 2 == 0 ? .train : .test)))
                    _ = NetSummary.json(g)
                    _ = DotWriter.dot(g)
                    _ = PrototxtPrinter.print(n.message)
                }
                accepted += 1
            } catch let e as CaffeError {
                rejected += 1
                let ds = e.diagnostics
                XCTAssertFalse(ds.isEmpty, "case \(i): \(e)")
                for d in ds where d.severity == .error && d.message.hasPrefix("--input-shape") == false {
                    XCTAssertNotNil(d.location, "case \(i): \(d)")
                }
                _ = e.description
            }
        }
        XCTAssertEqual(accepted + rejected, cases)
        XCTAssertGreaterThan(rejected, cases / 10)
    }
}
