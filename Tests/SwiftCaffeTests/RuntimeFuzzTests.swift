import Foundation
import XCTest
@testable import SwiftCaffe

/// Random but valid-looking nets with odd shapes — an empty batch, 0-wide
/// maps, 1×1 maps, kernels larger than the input, huge counts, labels of NaN,
/// 1e20 or -1 — through every stage a user reaches: parse, graph, Net,
/// forward, backward, and one solver step. Each must succeed or end in a
/// CaffeError that names a layer or file; a trap ends the whole test run.
/// FUZZ_CASES scales it (a tenth of the reader fuzzers' count, at least 60);
/// FUZZ_PRINT=1 prints each net before it runs, to find the one that traps.
final class RuntimeFuzzTests: XCTestCase {
    typealias Random = FuzzTests.Random

    static let neurons = ["ReLU", "Sigmoid", "TanH", "AbsVal", "BNLL", "ELU", "Exp", "Log", "Dropout", "Threshold"]

    /// A chain of layers on `data` (and `label`), as prototxt.
    struct Case {
        var text = ""
        var labels: [Float] = []
        var hasLabel = false

        mutating func add(_ s: String) { text += s + "\n" }
    }

    static func pick<T>(_ xs: [T], _ r: inout Random) -> T { xs[r.below(xs.count)] }

    static func makeCase(_ r: inout Random, solver: Bool) -> Case {
        var c = Case()
        // Mostly small; now and then a batch whose blobs the machine cannot hold.
        let dims = [pick([0, 1, 2, 3, 1 << 16], &r), pick([0, 1, 2, 3, 4], &r), pick([0, 1, 2, 3, 5, 8, 1 << 15], &r), pick([0, 1, 2, 3, 5, 8], &r)]
        let shape = dims.map { "dim: \($0)" }.joined(separator: " ")
        let labelValue = pick(["0", "1", "2", "-1", "2.5", "1e20", "nan", "-inf", "3"], &r)
        if solver {
            c.add("layer { name: \"data\" type: \"DummyData\" top: \"data\" dummy_data_param { shape { \(shape) } "
                  + "data_filler { type: \"gaussian\" std: \(pick(["1", "1e30", "0"], &r)) } } }")
            c.add("layer { name: \"label\" type: \"DummyData\" top: \"label\" dummy_data_param { shape { dim: \(dims[0]) } "
                  + "data_filler { type: \"constant\" value: \(labelValue) } } }")
        } else {
            c.add("layer { name: \"data\" type: \"Input\" top: \"data\" input_param { shape { \(shape) } } }")
            c.add("layer { name: \"label\" type: \"Input\" top: \"label\" input_param { shape { dim: \(dims[0]) } } }")
        }
        c.hasLabel = true
        c.labels = (0..<dims[0]).map { _ in Float(pick([0, 1, 2, -1, 2.5, 1e20, .nan, -.infinity, 3], &r)) }
        var bottom = "data"
        for i in 0..<(1 + r.below(4)) {
            let name = "l\(i)"
            let k = 1 + r.below(3), s = 1 + r.below(2), p = r.below(3), n = 1 + r.below(4)
            switch r.below(14) {
            case 0:
                let group = r.below(3) == 0 ? max(1, dims[1]) : 1
                c.add("layer { name: \"\(name)\" type: \"Convolution\" bottom: \"\(bottom)\" top: \"\(name)\" convolution_param { "
                      + "num_output: \(group > 1 ? group * n : n) kernel_size: \(k) stride: \(s) pad: \(p) group: \(group) "
                      + "dilation: \(1 + r.below(2)) bias_term: \(r.below(2) == 0) weight_filler { type: \"xavier\" } } }")
            case 1:
                c.add("layer { name: \"\(name)\" type: \"Deconvolution\" bottom: \"\(bottom)\" top: \"\(name)\" convolution_param { "
                      + "num_output: \(n) kernel_size: \(k) stride: \(s) pad: \(min(p, k - 1)) weight_filler { type: \"gaussian\" } } }")
            case 2:
                let global = r.below(4) == 0
                c.add("layer { name: \"\(name)\" type: \"Pooling\" bottom: \"\(bottom)\" top: \"\(name)\" pooling_param { "
                      + "pool: \(pick(["MAX", "AVE"], &r)) " + (global ? "global_pooling: true" : "kernel_size: \(k) stride: \(s) pad: \(min(p, k - 1))")
                      + " } }")
            case 3:
                c.add("layer { name: \"\(name)\" type: \"LRN\" bottom: \"\(bottom)\" top: \"\(name)\" lrn_param { local_size: \(pick([1, 3, 5], &r)) "
                      + "norm_region: \(pick(["ACROSS_CHANNELS", "WITHIN_CHANNEL"], &r)) } }")
            case 4:
                let t = pick(neurons, &r)
                let inPlace = r.below(2) == 0 && bottom != "data"
                c.add("layer { name: \"\(name)\" type: \"\(t)\" bottom: \"\(bottom)\" top: \"\(inPlace ? bottom : name)\" }")
                if inPlace { continue }
            case 5:
                c.add("layer { name: \"\(name)\" type: \"PReLU\" bottom: \"\(bottom)\" top: \"\(name)\" prelu_param { channel_shared: \(r.below(2) == 0) } }")
            case 6:
                c.add("layer { name: \"\(name)\" type: \"InnerProduct\" bottom: \"\(bottom)\" top: \"\(name)\" inner_product_param { "
                      + "num_output: \(pick([1, 3, 10, 10, 1 << 22, 1 << 30], &r)) weight_filler { type: \"xavier\" } } }")
            case 7:
                c.add("layer { name: \"\(name)\" type: \"Softmax\" bottom: \"\(bottom)\" top: \"\(name)\" }")
            case 8:
                c.add("layer { name: \"\(name)\" type: \"BatchNorm\" bottom: \"\(bottom)\" top: \"\(name)\" }")
                c.add("layer { name: \"\(name)s\" type: \"Scale\" bottom: \"\(name)\" top: \"\(name)\" scale_param { bias_term: true } }")
            case 9:
                c.add("layer { name: \"\(name)a\" type: \"ReLU\" bottom: \"\(bottom)\" top: \"\(name)a\" }")
                c.add("layer { name: \"\(name)\" type: \"\(pick(["Eltwise", "Concat"], &r))\" bottom: \"\(bottom)\" bottom: \"\(name)a\" top: \"\(name)\" }")
            case 10:
                c.add("layer { name: \"\(name)\" type: \"\(pick(["Flatten", "MVN"], &r))\" bottom: \"\(bottom)\" top: \"\(name)\" }")
            case 11:
                c.add("layer { name: \"\(name)\" type: \"Reshape\" bottom: \"\(bottom)\" top: \"\(name)\" reshape_param { shape { dim: 0 dim: -1 } } }")
            case 12:
                c.add("layer { name: \"\(name)\" type: \"Power\" bottom: \"\(bottom)\" top: \"\(name)\" power_param { power: \(pick([0.5, 2, -1], &r)) } }")
            default:
                c.add("layer { name: \"\(name)\" type: \"Slice\" bottom: \"\(bottom)\" top: \"\(name)\" top: \"\(name)b\" slice_param { axis: 1 } }")
                c.add("layer { name: \"\(name)x\" type: \"Silence\" bottom: \"\(name)b\" }")
            }
            bottom = name
        }
        switch r.below(5) {
        case 0:
            c.add("layer { name: \"loss\" type: \"SoftmaxWithLoss\" bottom: \"\(bottom)\" bottom: \"label\" top: \"loss\" "
                  + (r.below(2) == 0 ? "loss_param { ignore_label: -1 normalization: \(pick(["VALID", "BATCH_SIZE", "FULL", "NONE"], &r)) } " : "") + "}")
        case 1:
            c.add("layer { name: \"acc\" type: \"Accuracy\" bottom: \"\(bottom)\" bottom: \"label\" top: \"acc\" accuracy_param { top_k: \(1 + r.below(3)) } }")
            c.add("layer { name: \"loss\" type: \"SoftmaxWithLoss\" bottom: \"\(bottom)\" bottom: \"label\" top: \"loss\" }")
        case 2:
            c.add("layer { name: \"t\" type: \"DummyData\" top: \"t\" dummy_data_param { shape { dim: 1 } } }")
            c.add("layer { name: \"ls\" type: \"Silence\" bottom: \"label\" }")
            c.add("layer { name: \"f\" type: \"ArgMax\" bottom: \"\(bottom)\" top: \"f\" }")
        case 3:
            c.add("layer { name: \"ls\" type: \"Silence\" bottom: \"label\" }")
            c.add("layer { name: \"target\" type: \"Sigmoid\" bottom: \"\(bottom)\" top: \"target\" propagate_down: false }")
            c.add("layer { name: \"loss\" type: \"SigmoidCrossEntropyLoss\" bottom: \"\(bottom)\" bottom: \"target\" top: \"loss\" "
                  + "propagate_down: true propagate_down: false }")
        default:
            c.add("layer { name: \"ls\" type: \"Silence\" bottom: \"label\" }")
            c.add("layer { name: \"cp\" type: \"Power\" bottom: \"\(bottom)\" top: \"cp\" }")
            c.add("layer { name: \"loss\" type: \"EuclideanLoss\" bottom: \"\(bottom)\" bottom: \"cp\" top: \"loss\" }")
        }
        return c
    }

    /// The error must say where: a diagnostic with a location, or a file's name.
    func checkLocated(_ e: CaffeError, _ i: Int, _ text: String) {
        switch e {
        case .diagnostics(let ds, _):
            XCTAssertFalse(ds.isEmpty, "case \(i)")
            for d in ds where d.severity == .error { XCTAssertNotNil(d.location, "case \(i): \(d)\n\(text)") }
        case .io(let path, _): XCTAssertFalse(path.isEmpty, "case \(i)")
        case .usage, .diverged: break
        }
    }

    func testRandomNetsRunOrFailWithLocatedErrors() throws {
        let cases = max(60, (Int(ProcessInfo.processInfo.environment["FUZZ_CASES"] ?? "") ?? 3000) / 10)
        let printing = ProcessInfo.processInfo.environment["FUZZ_PRINT"] == "1"
        var r = Random(state: 0xF00D_5EED)
        // Large cases meet a budget of 256 MiB beyond what is held, so they are refused, not run for seconds.
        MemoryBudget.override = (MemoryBudget.held + (256 << 20), "the fuzz test's budget")
        defer { MemoryBudget.override = nil }
        var ran = 0, refused = 0
        let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("swiftcaffe-runtimefuzz-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: tmp) }
        for i in 0..<cases {
            let viaSolver = i % 3 == 2
            let c = Self.makeCase(&r, solver: viaSolver)
            if printing { FileHandle.standardError.write(Data("--- case \(i) (\(viaSolver ? "solver" : "net"))\n\(c.text)".utf8)) }
            do {
                if viaSolver {
                    let path = tmp.appendingPathComponent("s\(i).prototxt").path
                    let rule = Self.pick(["SGD", "Adam", "AdaGrad", "RMSProp", "AdaDelta", "Nesterov"], &r)
                    let momentum = ["AdaGrad", "RMSProp"].contains(rule) ? "" : "momentum: 0.9"
                    try ("net_param {\n\(c.text)}\nbase_lr: 0.01 \(momentum) max_iter: 2 lr_policy: \"fixed\" snapshot_after_train: false\n"
                         + "type: \"\(rule)\"")
                        .write(toFile: path, atomically: true, encoding: .utf8)
                    let s = try Solver(ModelFile.loadSolver(path: path))
                    try s.step(1)
                } else {
                    let g = try buildNet(c.text, phase: i % 2 == 0 ? .train : .test)
                    let net = try Net(graph: g, seed: UInt64(i))
                    if let data = net.blob("data") {
                        for k in 0..<data.count { data.data[k] = Float(r.below(2001)) / 1000 - 1 }
                    }
                    if let label = net.blob("label"), label.count == c.labels.count { label.set(c.labels) }
                    try net.forward()
                    try net.backward()
                }
                ran += 1
            } catch let e as CaffeError {
                refused += 1
                if printing { FileHandle.standardError.write(Data("refused: \(e.diagnostics.first?.message ?? e.description)\n".utf8)) }
                checkLocated(e, i, c.text)
                _ = e.description
            }
        }
        XCTAssertEqual(ran + refused, cases)
        // Both outcomes must be common, or the generator has drifted.
        XCTAssertGreaterThan(ran, cases / 10, "ran \(ran), refused \(refused)")
        XCTAssertGreaterThan(refused, cases / 10, "ran \(ran), refused \(refused)")
    }
}
