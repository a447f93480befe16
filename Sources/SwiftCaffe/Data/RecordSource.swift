import Foundation

/// Where a data layer's records come from. A data layer asks for records by
/// a running number (0, 1, 2, ... past the end); record n is the source's
/// n mod count, so reading wraps around as Caffe's does.
/// A source is used by one thread at a time (the layer's prefetch thread).
public protocol RecordSource: AnyObject {
    var count: Int { get }
    /// What errors cite: the database or file.
    var name: String { get }
    /// Record number `index` (wrapped), decoded and checked (shape and values agree).
    func record(_ index: Int) throws -> Datum
}

/// Opens a Data layer's `source`: an LMDB folder, or an IDX images file
/// (MNIST / Fashion-MNIST, plain or .gz). LevelDB databases are named as
/// such, with the conversion that helps.
public enum RecordSources {
    public static func open(dataSource source: String, color: Bool? = nil) throws -> RecordSource {
        guard !source.isEmpty else { throw CaffeError.usage("the Data layer's data_param has no source") }
        let first = String(source.split(separator: ";").first ?? "")
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: first, isDirectory: &isDir) else {
            throw CaffeError.io(path: first, reason: "no such file or folder (the Data layer's source: an LMDB folder or an IDX file)")
        }
        if isDir.boolValue {
            if FileManager.default.fileExists(atPath: first + "/data.mdb") { return try LMDBRecords(path: first, color: color) }
            if FileManager.default.fileExists(atPath: first + "/CURRENT") {
                throw CaffeError.io(path: first, reason: "is a LevelDB database, which SwiftCaffe does not read; "
                                    + "convert the original images with `swiftcaffe convert-imageset` (LMDB)")
            }
            throw CaffeError.io(path: first, reason: "is a folder but not an LMDB database (no data.mdb)")
        }
        if IDXFile.looksLikeIDX(path: first) { return try IDXRecords(IDXDataset.cached(source: source)) }
        throw CaffeError.io(path: first, reason: "is neither an LMDB folder nor an IDX file (MNIST format, .gz or plain)")
    }
}

extension RecordSources {
    /// The records a Data or ImageData layer reads, as its parameters say
    /// (source, force_color/force_gray, is_color, new size, shuffle).
    static func open(for l: LayerParameter, shuffleSeed: UInt64?) throws -> RecordSource {
        if l.type == ImageDataPlan.type {
            let p = l.proto.imageDataParam
            return try ImageListRecords(listPath: p.source, rootFolder: p.rootFolder, color: p.isColor,
                                        size: p.newHeight > 0 ? (p.newHeight, p.newWidth) : nil, shuffleSeed: p.shuffle ? shuffleSeed : nil)
        }
        let t = l.proto.transformParam
        let color: Bool? = t.forceColor ? true : (t.forceGray ? false : nil)
        return try open(dataSource: l.proto.dataParam.source, color: color)
    }

    /// What a Data or ImageData layer's own parameter message says about its
    /// batches, and that message's name for errors.
    static func batching(of l: LayerParameter) -> (paramName: String, batchSize: Int, randSkip: Int) {
        if l.type == ImageDataPlan.type {
            let p = l.proto.imageDataParam
            return (Caffe.LayerParameter.Field.imageDataParam.name, p.batchSize, p.randSkip)
        }
        let p = l.proto.dataParam
        return (Caffe.LayerParameter.Field.dataParam.name, p.batchSize, p.randSkip)
    }
}

/// Records of an IDX pair, held in memory: one grey channel each.
public final class IDXRecords: RecordSource {
    public let dataset: IDXDataset
    public var count: Int { dataset.count }
    public var name: String { dataset.imagesPath }

    public init(_ dataset: IDXDataset) { self.dataset = dataset }

    public func record(_ index: Int) throws -> Datum {
        let n = dataset.height * dataset.width, i = index % count
        return Datum(channels: 1, height: dataset.height, width: dataset.width, label: Int(dataset.labels[i]),
                     pixels: Array(dataset.pixels[i * n..<(i + 1) * n]))
    }
}

/// Records of a Caffe LMDB: serialised Datum values in key order.
public final class LMDBRecords: RecordSource {
    let reader: LMDBReader
    let color: Bool?
    public var count: Int { reader.count }
    public var name: String { reader.path }

    public init(path: String, color: Bool?) throws {
        reader = try LMDBReader(path: path)
        self.color = color
        guard reader.count > 0 else { throw CaffeError.io(path: path, reason: "the database holds no records") }
    }

    public func record(_ index: Int) throws -> Datum {
        let i = index % count
        let (key, value) = try reader.record(i)
        let place = "\(reader.path), record #\(i) (key \(printable(key)))"
        return try Datum.parse(value, name: place).decoded(name: place, color: color)
    }
}

/// ImageData's list file: "path label" per line, images under root_folder,
/// resized to new_height × new_width when given, colour or grey. The order
/// is the file's, or shuffled per pass (`shuffle`) by the layer's seed.
public final class ImageListRecords: RecordSource {
    public let listPath: String
    public let entries: [(path: String, label: Int)]
    let color: Bool
    let size: (height: Int, width: Int)?
    private var order: [Int]
    private let shuffleSeed: UInt64?
    private var pass = -1
    public var count: Int { entries.count }
    public var name: String { listPath }

    public init(listPath: String, rootFolder: String, color: Bool, size: (height: Int, width: Int)?, shuffleSeed: UInt64?) throws {
        self.listPath = listPath
        let bytes: [UInt8]
        do { bytes = try readFile(listPath) } catch let e as CaffeError {
            throw CaffeError.io(path: listPath, reason: "cannot read the image list (ImageData's source): \(e.reason)")
        }
        var entries: [(String, Int)] = []
        for (n, raw) in textLines(bytes).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespacesAndNewlines)
            if line.isEmpty { continue }
            // The label is the last field; the path may hold spaces.
            guard let space = line.lastIndex(where: { $0 == " " || $0 == "\t" }),
                  let label = Int(line[line.index(after: space)...]) else {
                throw CaffeError.io(path: "\(listPath):\(n + 1)", reason: "expected \"IMAGE_PATH LABEL\" (an integer label), found \"\(line)\"")
            }
            let path = line[..<space].trimmingCharacters(in: .whitespaces)
            entries.append((rootFolder + path, label))
        }
        guard !entries.isEmpty else { throw CaffeError.io(path: listPath, reason: "the image list is empty") }
        self.entries = entries
        self.color = color
        self.size = size
        order = Array(entries.indices)
        self.shuffleSeed = shuffleSeed
    }

    public func record(_ index: Int) throws -> Datum {
        // Each pass over the list gets its own permutation, a function of
        // the seed and the pass, so a resumed run sees the same order.
        if let seed = shuffleSeed {
            let p = index / entries.count
            if p != pass {
                pass = p
                var rng = RandomSource(seed: seed &+ UInt64(p) &* 0x9E37_79B9_7F4A_7C15)
                order = rng.permutation(entries.count)
            }
        }
        let e = entries[order[index % entries.count]]
        let image = try RGBImage.read(path: e.path)
        let p = image.datumPlanes(color: color, height: size?.height, width: size?.width)
        return Datum(channels: p.channels, height: p.height, width: p.width, label: e.label, pixels: p.pixels)
    }
}

/// A key from a database as text an error can show: control and invalid
/// bytes escaped, long keys cut (a damaged page yields noise).
func printable(_ key: String, limit: Int = 40) -> String {
    var out = "\""
    for (n, u) in key.unicodeScalars.enumerated() {
        if n == limit { return out + "…\" (\(key.unicodeScalars.count) characters)" }
        if u == "\u{FFFD}" || u.value < 0x20 || u.value == 0x7F { out += String(format: "\\x%02x", min(u.value, 0xFF)) }
        else if u == "\"" { out += "\\\"" } else { out.unicodeScalars.append(u) }
    }
    return out + "\""
}
