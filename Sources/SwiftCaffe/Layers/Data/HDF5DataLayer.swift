import Foundation

/// HDF5Data: every top is the dataset of its name in the listed HDF5 files,
/// batch_size rows at a time; the shapes come from the files (DataShapes
/// reads them before the graph is planned).
struct HDF5DataPlan: SourcePlan {
    static let type = "HDF5Data"
    static let tops = 1...Int.max
    let param: Caffe.HDF5DataParameter

    init(_ l: LayerParameter) throws {
        param = l.proto.hdf5DataParam
        guard param.batchSize > 0 else {
            throw PlanError("batch_size must be > 0", at: param.location(of: .batchSize) ?? param.location)
        }
        guard !param.source.isEmpty else {
            throw PlanError("hdf5_data_param needs a source: a text file listing the HDF5 files", at: param.location ?? l.location)
        }
    }

    func plan(topCount: Int) throws -> PlannedShapes {
        PlannedShapes(tops: Array(repeating: nil, count: topCount),
                      warnings: ["shapes come from the HDF5 files; give them with --input-shape TOP=N,..."])
    }
}

/// The files an HDF5Data layer reads, as Caffe takes them from its source:
/// whitespace-separated paths, relative ones from the current folder. Every
/// file is looked at when the layer is set up: each must hold a dataset for
/// every top, all with the same number of rows, and each top's rows must
/// have the same shape in every file (Caffe finds out only when it gets there).
struct HDF5FileList {
    let listPath: String
    let files: [(path: String, rows: Int)]
    /// Per top: the shape of one row.
    let rowShapes: [Shape]

    init(source: String, datasets: [String]) throws {
        let bytes: [UInt8]
        do { bytes = try readFile(source) } catch let e as CaffeError {
            throw CaffeError.io(path: source, reason: "cannot read the HDF5 file list (HDF5Data's source): \(e.reason)")
        }
        listPath = source
        var found: [(String, Int)] = []
        var shapes: [Shape]? = nil
        for (n, line) in textLines(bytes).enumerated() {
            for word in line.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" }) {
                let path = String(word)
                let at = "\(source):\(n + 1)"
                let file: HDF5File
                do { file = try HDF5File.open(path) } catch let e as CaffeError {
                    throw CaffeError.io(path: at, reason: "\(path): \(e.reason)"
                                        + (path.hasPrefix("/") ? "" : " (relative paths are from the current folder, as in Caffe)"))
                }
                var rows: Int? = nil
                var these: [Shape] = []
                for d in datasets {
                    let s: [Int]
                    do { s = try file.shape(of: d) } catch let e as CaffeError {
                        throw CaffeError.io(path: path, reason: "\(e.reason) (listed in \(at); HDF5Data reads one dataset per top, by the top's name)")
                    }
                    guard let first = s.first else {
                        throw CaffeError.io(path: path, reason: "dataset '\(d)' is a scalar; HDF5Data needs rows (at least 1 dimension)")
                    }
                    if let r = rows, r != first {
                        throw CaffeError.io(path: path, reason: "dataset '\(d)' has \(first) rows, '\(datasets[0])' has \(r); every top's dataset needs the same count")
                    }
                    rows = first
                    these.append(Array(s.dropFirst()))
                }
                guard let count = rows, count > 0 else {
                    throw CaffeError.io(path: path, reason: "dataset '\(datasets[0])' has no rows")
                }
                if let expected = shapes {
                    for (i, (want, got)) in zip(expected, these).enumerated() where want != got {
                        throw CaffeError.io(path: path, reason: "dataset '\(datasets[i])' has rows of \(describe(got)), "
                                            + "the first file \(found[0].0) has \(describe(want)); a top's rows must have one shape in every file")
                    }
                } else {
                    shapes = these
                }
                try file.close()
                found.append((path, count))
            }
        }
        guard let rowShapes = shapes else {
            throw CaffeError.io(path: source, reason: "lists no HDF5 files (HDF5Data's source holds one path per line)")
        }
        files = found
        self.rowShapes = rowShapes
    }
}

/// Caffe's HDF5Data layer. Rows come file by file, in the list's order, each
/// file read whole when reached; with `shuffle`, the file order is shuffled
/// on every pass over the list and the rows of a file every time it is read,
/// as Caffe does. Which row comes n-th is a function of n and the layer's
/// seed, so sharded (data-parallel) and resumed runs read the same stream.
final class HDF5DataLayer: Layer, DataStream {
    private let list: HDF5FileList
    let batchSize: Int
    private let shuffle: Bool
    private let seed: UInt64
    private let rowsPerPass: Int
    private(set) var batchesRead = 0
    private var shardPosition = (rank: 0, count: 1)

    /// The pass whose file order is in `passOrder`, and that order's running row totals.
    private var pass = -1
    private var passOrder: [Int] = []
    private var passStarts: [Int] = []
    /// The file read now (pass, position in the pass), its rows' order and values per top.
    private var visit = (pass: -1, position: -1)
    private var rowOrder: [Int] = []
    private var loaded: [[Float]] = []

    required init(_ ctx: LayerContext) throws {
        let p = ctx.parameter.proto.hdf5DataParam
        batchSize = p.batchSize
        shuffle = p.shuffle
        var rng = ctx.rng
        seed = rng.next()
        do { list = try HDF5FileList(source: p.source, datasets: ctx.parameter.tops) } catch let e as CaffeError {
            throw CaffeError.at(ctx.parameter.location, "\(ctx.parameter.label): \(e)")
        }
        rowsPerPass = list.files.reduce(0) { $0 + $1.rows }
        try super.init(ctx)
    }

    override func reshape(_ bottoms: [Blob], _ tops: [Blob]) throws {
        for (i, t) in tops.enumerated() {
            try reshape(t, to: [batchSize] + list.rowShapes[i], what: "its top '\(parameter.tops[i])'")
        }
    }

    override func forward(_ bottoms: [Blob], _ tops: [Blob]) throws {
        let perRow = list.rowShapes.map { product($0) }
        for j in 0..<batchSize {
            let n = (batchesRead * batchSize + j) * shardPosition.count + shardPosition.rank
            let row = try locate(n)
            for (t, top) in tops.enumerated() {
                loaded[t].withUnsafeBufferPointer {
                    (top.data + j * perRow[t]).update(from: $0.baseAddress! + row * perRow[t], count: perRow[t])
                }
            }
        }
        batchesRead += 1
    }

    /// Loads the file row n of the stream is in; its row number there.
    private func locate(_ n: Int) throws -> Int {
        let p = n / rowsPerPass, offset = n % rowsPerPass
        if p != pass {
            pass = p
            passOrder = shuffle ? order(list.files.count, pass: p, position: -1) : Array(list.files.indices)
            passStarts = passOrder.reduce(into: [0]) { $0.append($0.last! + list.files[$1].rows) }
        }
        // The last file whose first row is at or before offset.
        var lo = 0, hi = passOrder.count - 1
        while lo < hi {
            let mid = (lo + hi + 1) / 2
            if passStarts[mid] <= offset { lo = mid } else { hi = mid - 1 }
        }
        if visit != (p, lo) {
            let file = list.files[passOrder[lo]]
            let h = try HDF5File.open(file.path)
            loaded = try parameter.tops.enumerated().map { i, name in
                let (shape, values) = try h.read(name)
                // The file may have changed since set up.
                guard shape == [file.rows] + list.rowShapes[i] else {
                    throw fail("\(file.path): dataset '\(name)' is now \(describe(shape)), \(describe([file.rows] + list.rowShapes[i])) when the net was set up")
                }
                return values
            }
            try h.close()
            rowOrder = shuffle ? order(file.rows, pass: p, position: lo) : Array(0..<file.rows)
            visit = (p, lo)
        }
        return rowOrder[offset - passStarts[lo]]
    }

    /// A shuffled 0..<n for one pass's file order (position −1) or one file's rows.
    private func order(_ n: Int, pass: Int, position: Int) -> [Int] {
        var rng = RandomSource(seed: seed &+ UInt64(pass) &* 0x9E37_79B9_7F4A_7C15
                                   &+ UInt64(bitPattern: Int64(position + 1)) &* 0xD1B5_4A32_D192_ED03)
        return rng.permutation(n)
    }

    override func allowsForceBackward(_ bottom: Int) -> Bool { false }

    func shard(rank: Int, of count: Int) { shardPosition = (rank, count) }
    func restart(atBatch first: Int) { batchesRead = first }
}
