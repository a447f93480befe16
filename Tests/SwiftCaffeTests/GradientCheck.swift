import XCTest
@testable import SwiftCaffe

/// Our finite-difference gradient checker. The objective is L = Σ_t Σ_i w_ti·top_ti
/// with fixed random w (so every top element matters); the analytic gradient
/// of the layer under test (its backward with dtop = w) must match
/// (L(x + h) − L(x − h)) / 2h for every element of every checked bottom and
/// every parameter blob, within tolerance·max(|analytic|, |numeric|, 1).
struct GradientChecker {
    var step: Float = 1e-2
    var tolerance: Float = 1e-3
    var seed: UInt64 = 42

    /// How to fill an input blob: random in ±1 unless given.
    typealias Generator = (_ index: Int, _ count: Int, _ rng: inout RandomSource) -> Float

    static var uniform: Generator { { _, _, r in r.uniform(-1, 1) } }
    /// Away from 0 by at least 0.1, for kinks at zero (ReLU, AbsVal).
    static var awayFromZero: Generator {
        { _, _, r in
            let v = r.uniform(0.1, 1)
            return r.uniform() < 0.5 ? -v : v
        }
    }
    /// Distinct values 0.05 apart in random order, so maxima never tie within 2h.
    static func distinct(_ count: Int, seed: UInt64 = 7, offset: Float = 0) -> Generator {
        var r = RandomSource(seed: seed)
        var perm = Array(0..<count)
        for i in stride(from: count - 1, to: 0, by: -1) { perm.swapAt(i, Int(r.next() % UInt64(i + 1))) }
        return { i, n, _ in Float(perm[i % count] - n / 2) * 0.05 + offset }
    }
    static func labels(_ classes: Int) -> Generator { { _, _, r in Float(r.next() % UInt64(classes)) } }

    /// Checks `layer` of the net in `prototxt` (Input layers give its bottoms).
    /// `checkBottoms` says which bottoms to differentiate (default: all).
    /// Returns the number of mismatches; reports them unless `quiet`.
    @discardableResult
    func check(_ prototxt: String, layer name: String, generators: [String: Generator] = [:], checkBottoms: [Int]? = nil,
               phase: Phase = .train, quiet: Bool = false, file: StaticString = #filePath, line: UInt = #line) throws -> Int {
        let graph = try buildNet(prototxt, phase: phase)
        let net = try Net(graph: graph, seed: seed)
        var rng = RandomSource(seed: seed)
        for (i, l) in net.layers.enumerated() where l.type == "Input" {
            for (j, t) in net.tops[i].enumerated() {
                let gen = generators[l.parameter.tops[j]] ?? Self.uniform
                for k in 0..<t.count { t.data[k] = gen(k, t.count, &rng) }
            }
        }
        guard let li = net.layers.firstIndex(where: { $0.name == name }) else {
            XCTFail("no layer \(name)", file: file, line: line)
            return -1
        }
        let layer = net.layers[li], tops = net.tops[li], bottoms = net.bottoms[li]
        try net.forward()
        let weights = tops.map { t in (0..<t.count).map { _ in rng.uniform(-1, 1) } }

        func objective() throws -> Double {
            try net.forward()
            var l: Double = 0
            for (t, w) in zip(tops, weights) { for k in 0..<t.count { l += Double(w[k]) * Double(t.data[k]) } }
            return l
        }

        // Analytic gradients.
        _ = try objective()
        for p in layer.params { p.zeroDiff() }
        for b in bottoms { b.zeroDiff() }
        for (t, w) in zip(tops, weights) { for k in 0..<t.count { t.diff[k] = w[k] } }
        let down = bottoms.indices.map { checkBottoms?.contains($0) ?? true }
        try layer.backward(tops, down, bottoms)
        var targets: [(label: String, blob: Blob, analytic: [Float])] = []
        for (j, b) in bottoms.enumerated() where down[j] { targets.append(("bottom \(j) '\(layer.parameter.bottoms[j])'", b, b.gradients)) }
        for (j, p) in layer.params.enumerated() { targets.append(("param \(j)", p, p.gradients)) }
        XCTAssertFalse(targets.isEmpty, "nothing to check", file: file, line: line)

        var failures = 0
        for (label, blob, analytic) in targets {
            for k in 0..<blob.count {
                let saved = blob.data[k]
                blob.data[k] = saved + step
                let plus = try objective()
                blob.data[k] = saved - step
                let minus = try objective()
                blob.data[k] = saved
                let numeric = Float((plus - minus) / Double(2 * step))
                let scale = max(abs(analytic[k]), abs(numeric), 1)
                if abs(analytic[k] - numeric) > tolerance * scale {
                    failures += 1
                    if failures <= 5, !quiet {
                        XCTFail("\(name) \(label)[\(k)]: analytic \(analytic[k]), numeric \(numeric)", file: file, line: line)
                    }
                }
            }
        }
        if !quiet { XCTAssertEqual(failures, 0, "\(name): \(failures) gradient mismatches", file: file, line: line) }
        return failures
    }
}

/// A net of Input layers for the given blobs, then `layers`, with force_backward.
func inputs(_ blobs: [(String, Shape)], _ layers: String) -> String {
    var s = "force_backward: true\n"
    for (name, shape) in blobs {
        s += "layer { name: \"in_\(name)\" type: \"Input\" top: \"\(name)\" input_param { shape { \(shape.map { "dim: \($0)" }.joined(separator: " ")) } } }\n"
    }
    return s + layers
}
