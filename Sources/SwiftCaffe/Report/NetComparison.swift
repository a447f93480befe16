import Foundation

/// What `swiftcaffe compare` measures of a trained solver.
public enum NetComparison {
    /// The class each test item gets (argmax of the scores an Accuracy or
    /// SoftmaxWithLoss layer reads) over one pass of test net #0 from its
    /// first record, so two nets are compared on the same items.
    public static func predictions(_ s: Solver) throws -> [Int] {
        guard let net = s.testNets.first, let iterations = s.parameter.testIter.first else { return [] }
        guard let i = net.layers.firstIndex(where: { $0.type == AccuracyPlan.type || $0.type == SoftmaxWithLossPlan.type }) else { return [] }
        let scores = net.bottoms(of: i)[0]
        for l in net.prefetchingLayers { l.prefetcher.restart(at: 0) }
        var out: [Int] = []
        for _ in 0..<iterations {
            try net.forward()
            let n = scores.dim(0), classes = scores.count / max(1, n)
            for j in 0..<n {
                var best = 0
                for c in 1..<max(1, classes) where scores.data[j * classes + c] > scores.data[j * classes + best] { best = c }
                out.append(best)
            }
        }
        return out
    }

    /// Layers whose position differs between two nets (AlexNet's and
    /// CaffeNet's swapped pool and norm).
    public static func swappedLayers(_ a: Net, _ b: Net) -> [String] {
        let an = a.layers.map(\.name), bn = b.layers.map(\.name)
        return an.enumerated().compactMap { i, name in
            guard let j = bn.firstIndex(of: name) else { return nil }
            return i != j ? name : nil
        }
    }
}
