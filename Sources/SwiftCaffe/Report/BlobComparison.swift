import Foundation

/// `swiftcaffe forward --compare DIR`: each blob of the net against
/// DIR/<blob>.npy where one exists, in the order layers make them, with the
/// largest absolute error and that error relative to the reference's largest
/// magnitude. The first blob past 1e-4 relative is where a port went wrong.
public struct BlobComparison: Sendable {
    public struct Row: Sendable {
        public var blob: String
        public var shape: Shape
        public var referenceShape: Shape
        public var maxAbsError: Float
        public var maxRelError: Float
        public var diverges: Bool
    }

    public var rows: [Row]
    public static let threshold: Float = 1e-4

    public var firstDivergence: String? { rows.first(where: \.diverges)?.blob }

    /// The file name of a blob: a '/' becomes '_'.
    public static func fileName(_ blob: String) -> String { blob.replacingOccurrences(of: "/", with: "_") }

    public init(net: Net, directory dir: String) throws {
        rows = []
        for name in net.blobNames {
            let path = "\(dir)/\(Self.fileName(name)).npy"
            guard FileManager.default.fileExists(atPath: path), let b = net.blob(name) else { continue }
            let ref = try NPY.read(path: path)
            guard count(ref.shape) == b.count else {
                rows.append(Row(blob: name, shape: b.shape, referenceShape: ref.shape, maxAbsError: .nan, maxRelError: .nan, diverges: true))
                continue
            }
            var maxAbs: Float = 0, scale: Float = 0
            for (x, r) in zip(b.values, ref.values) {
                let e = abs(x - r)
                maxAbs = e.isNaN ? .nan : max(maxAbs, e)
                scale = max(scale, abs(r))
            }
            let rel = maxAbs / max(scale, Float.leastNormalMagnitude)
            rows.append(Row(blob: name, shape: b.shape, referenceShape: ref.shape, maxAbsError: maxAbs, maxRelError: rel,
                            diverges: !(rel <= Self.threshold)))
        }
        guard !rows.isEmpty else { throw CaffeError.io(path: dir, reason: "no <blob>.npy file there matches a blob of the net") }
    }

    /// Whether every reference has its blob's size (then the error columns hold numbers only).
    private var sameShapes: Bool { rows.allSatisfy { count($0.referenceShape) == count($0.shape) } }

    public var table: String {
        var cells = [["blob", "shape", "max abs error", "max rel error", "agrees"]]
        let first = firstDivergence
        for r in rows {
            let sameCount = count(r.referenceShape) == count(r.shape)
            cells.append([r.blob, describe(r.shape),
                          sameCount ? String(format: "%.3g", r.maxAbsError) : "reference is \(describe(r.referenceShape))",
                          sameCount ? String(format: "%.3g", r.maxRelError) : "-",
                          !r.diverges ? "yes" : r.blob == first ? "no ← first divergence" : "no"])
        }
        var out = NetSummary.render(cells, rightAligned: sameShapes ? [2, 3] : [])
        out += first.map { "First divergence (relative error > 1e-4): \($0)\n" }
            ?? "All \(rows.count) compared blobs agree within 1e-4 relative.\n"
        return out
    }
}
