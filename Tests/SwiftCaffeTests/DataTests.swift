import Foundation
import XCTest
@testable import SwiftCaffe

/// Data layers, sources and the transformer on real files: the tiny IDX
/// fixture (make_idx_fixtures.py: pixel (i, y, x) = (7i + 3y + x) mod 256,
/// label i mod 4), LMDBs written here, and the image fixtures.
final class DataTests: XCTestCase {
    var tmp: URL!

    override func setUpWithError() throws {
        tmp = FileManager.default.temporaryDirectory.appendingPathComponent("swiftcaffe-data-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: tmp) }

    static func pixel(_ i: Int, _ y: Int, _ x: Int) -> Float { Float((7 * i + 3 * y + x) % 256) }

    var tinyIDX: String { Paths.fixture("idx/tiny-images-idx3-ubyte.gz") }

    func dataNet(source: String, batch: Int, transform: String = "", phase: Phase = .train, classes: Int = 4) throws -> Net {
        let text = """
        name: "d"
        layer { name: "data" type: "Data" top: "data" top: "label"
                transform_param { \(transform) } data_param { source: "\(source)" batch_size: \(batch) } }
        layer { name: "flat" type: "Flatten" bottom: "data" top: "flat" }
        layer { name: "ip" type: "InnerProduct" bottom: "flat" top: "ip" inner_product_param { num_output: \(classes) } }
        layer { name: "loss" type: "SoftmaxWithLoss" bottom: "ip" bottom: "label" top: "loss" }
        """
        let loaded = try ModelFile.loadNet(bytes: Array(text.utf8), file: "d.prototxt")
        let state = NetState(phase: phase)
        let shapes = try DataShapes.probe(loaded.net, state: state)
        return try Net(graph: NetGraph.build(loaded.net, options: .init(state: state, inputShapes: shapes)))
    }

    func testIDXGzipPairIsReadWithItsLabels() throws {
        let d = try IDXDataset(source: tinyIDX)
        XCTAssertEqual([d.count, d.height, d.width], [40, 6, 6])
        XCTAssertEqual(d.labelsPath, Paths.fixture("idx/tiny-labels-idx1-ubyte.gz"))
        XCTAssertEqual(Float(d.pixels[(13 * 6 + 2) * 6 + 5]), Self.pixel(13, 2, 5))
        XCTAssertEqual(d.labels[13], 1)
    }

    func testDataLayerReadsBatchesInOrderAndWraps() throws {
        let net = try dataNet(source: tinyIDX, batch: 16, transform: "scale: 0.5")
        XCTAssertEqual(net.blob("data")!.shape, [16, 1, 6, 6])
        for batch in 0..<3 {
            try net.forward()
            let data = net.blob("data")!, labels = net.blob("label")!
            for j in [0, 7, 15] {
                let record = (batch * 16 + j) % 40
                XCTAssertEqual(labels.data[j], Float(record % 4))
                XCTAssertEqual(data.data[j * 36 + 2 * 6 + 3], Self.pixel(record, 2, 3) * 0.5, "batch \(batch) item \(j)")
            }
        }
    }

    func testTransformCropsMirrorsAndSubtractsTheMean() throws {
        // TEST: centre crop 4 of 6 starts at (1, 1); mean_value 10 then scale 2.
        let test = try dataNet(source: tinyIDX, batch: 2, transform: "crop_size: 4 mean_value: 10 scale: 2", phase: .test)
        try test.forward()
        let d = test.blob("data")!
        XCTAssertEqual(d.shape, [2, 1, 4, 4])
        XCTAssertEqual(d.data[1 * 16 + 2 * 4 + 3], (Self.pixel(1, 3, 4) - 10) * 2)
        // TRAIN: random crops within the image, and mirrors: every output row
        // is a run of four consecutive source pixels, forwards or backwards.
        let train = try dataNet(source: tinyIDX, batch: 8, transform: "crop_size: 4 mirror: true", phase: .train)
        var mirrored = 0, offsets = Set<Int>()
        for _ in 0..<4 {
            try train.forward()
            let t = train.blob("data")!
            for j in 0..<8 {
                let row = (0..<4).map { t.data[j * 16 + $0] }
                let forward = zip(row, row.dropFirst()).allSatisfy { Int($1 - $0 + 256) % 256 == 1 }
                let backward = zip(row, row.dropFirst()).allSatisfy { Int($0 - $1 + 256) % 256 == 1 }
                XCTAssertTrue(forward || backward, "\(row)")
                if backward { mirrored += 1 }
                offsets.insert(Int(forward ? row[0] : row[3]))
            }
        }
        XCTAssertTrue((4...28).contains(mirrored), "about half of 32 crops should be mirrored, found \(mirrored)")
        XCTAssertGreaterThan(offsets.count, 4)
    }

    func testLMDBRawAndEncodedRecords() throws {
        let db = tmp.appendingPathComponent("db").path
        let w = try LMDBWriter(path: db)
        for i in 0..<5 {
            let pixels = (0..<(3 * 2 * 2)).map { UInt8((i * 20 + $0) % 256) }
            try w.put(key: String(format: "%08d", i), value: Datum(channels: 3, height: 2, width: 2, label: i, pixels: pixels).serialized())
        }
        try w.close()
        let records = try RecordSources.open(dataSource: db)
        XCTAssertEqual(records.count, 5)
        let r3 = try records.record(3)
        XCTAssertEqual(r3.label, 3)
        XCTAssertEqual(r3.pixels, (0..<12).map { UInt8(60 + $0) })
        XCTAssertEqual(try records.record(7).label, 2, "record 7 wraps to record 2")

        // An encoded PNG decodes to the planes OpenCV's imread gives (BGR, channels first).
        let encoded = tmp.appendingPathComponent("enc").path
        let e = try LMDBWriter(path: encoded)
        let png = try Array(Data(contentsOf: URL(fileURLWithPath: Paths.fixture("images/rgb.png"))))
        try e.put(key: "0", value: Datum(channels: 3, height: 20, width: 24, label: 1, pixels: png, encoded: true).serialized())
        try e.close()
        let d = try RecordSources.open(dataSource: encoded).record(0)
        let opencv = try NPY.read(path: Paths.fixture("images/rgb.png.bgr.npy"))
        XCTAssertEqual(d.shape, [3, 20, 24])
        XCTAssertEqual(opencv.shape, [20, 24, 3])
        for (y, x, c) in [(0, 0, 0), (7, 11, 1), (19, 23, 2)] {
            XCTAssertEqual(Float(d.pixels[(c * 20 + y) * 24 + x]), opencv.values[(y * 24 + x) * 3 + c])
        }
    }

    func testBadDataSaysWhichFileAndRecord() throws {
        func message(_ body: () throws -> Any) -> String {
            do { _ = try body(); XCTFail("expected an error"); return "" } catch { return "\(error)" }
        }
        let missing = tmp.appendingPathComponent("nope").path
        XCTAssertEqual(message { try RecordSources.open(dataSource: missing) },
                       "\(missing): error: no such file or folder (the Data layer's source: an LMDB folder or an IDX file)")
        let bad = Paths.fixture("idx/bad-images-idx3-ubyte")
        XCTAssertEqual(message { try IDXDataset(source: bad) },
                       "\(bad): error: IDX dimensions 40×6×6 need 1440 bytes of data, the file has 720 (truncated)")

        // Records of two sizes, a corrupt record, a label outside the classes.
        let db = tmp.appendingPathComponent("mixed").path
        let w = try LMDBWriter(path: db)
        try w.put(key: "a", value: Datum(channels: 1, height: 6, width: 6, label: 0, pixels: Array(repeating: 1, count: 36)).serialized())
        try w.put(key: "b", value: Datum(channels: 1, height: 6, width: 6, label: 9, pixels: Array(repeating: 1, count: 36)).serialized())
        try w.put(key: "c", value: Datum(channels: 1, height: 5, width: 6, label: 0, pixels: Array(repeating: 1, count: 30)).serialized())
        try w.put(key: "d", value: [0xFF, 0xFF, 0xFF])
        try w.close()
        let net = try dataNet(source: db, batch: 1, classes: 4)
        try net.forward()
        XCTAssertEqual(message { try net.forward() }, "\(db), record #1: error: label 9 is outside the net's class range 0..<4")
        let wide = try dataNet(source: db, batch: 1, classes: 10)
        try wide.forward()
        try wide.forward()
        XCTAssertEqual(message { try wide.forward() },
                       "\(db), record #2: error: the image is 1×5×6, but the first record is 1×6×6; all records must have one size")
        let records = try RecordSources.open(dataSource: db)
        XCTAssertTrue(message { try records.record(3) }.hasPrefix("\(db), record #3 (key \"d\"): error: "), message { try records.record(3) })
        // A crop larger than the images, before the first batch.
        XCTAssertTrue(message { try self.dataNet(source: self.tinyIDX, batch: 1, transform: "crop_size: 8") }
            .contains("crop_size 8 is larger than the 6×6 image"))
    }

    func testImageDataResizesAndShufflesReproducibly() throws {
        let list = tmp.appendingPathComponent("list.txt").path
        try "photo.jpg 3\ngrey.png 1\nrgb.png 2\n".write(toFile: list, atomically: true, encoding: .utf8)
        let root = Paths.fixture("images") + "/"
        let a = try ImageListRecords(listPath: list, rootFolder: root, color: true, size: (10, 12), shuffleSeed: 7)
        let b = try ImageListRecords(listPath: list, rootFolder: root, color: true, size: (10, 12), shuffleSeed: 7)
        let first = try (0..<6).map { try a.record($0).label }
        XCTAssertEqual(first, try (0..<6).map { try b.record($0).label })
        XCTAssertEqual(Set(first.prefix(3)), [1, 2, 3], "each pass holds every image once")
        XCTAssertEqual(try a.record(0).shape, [3, 10, 12])
        let unshuffled = try ImageListRecords(listPath: list, rootFolder: root, color: false, size: nil, shuffleSeed: nil)
        XCTAssertEqual(try unshuffled.record(1).shape, [1, 20, 24])
        XCTAssertEqual(try unshuffled.record(1).label, 1)
        try "photo.jpg three\n".write(toFile: list, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try ImageListRecords(listPath: list, rootFolder: root, color: true, size: nil, shuffleSeed: nil)) {
            XCTAssertEqual("\($0)", "\(list):1: error: expected \"IMAGE_PATH LABEL\" (an integer label), found \"photo.jpg three\"")
        }
    }

    func testMemoryDataServesWhatItWasGiven() throws {
        let text = """
        name: "m"
        layer { name: "m" type: "MemoryData" top: "data" top: "label"
                memory_data_param { batch_size: 2 channels: 1 height: 1 width: 3 } transform_param { scale: 10 } }
        """
        let net = try Net(graph: buildNet(text))
        let layer = net.layers[0] as! MemoryDataLayer
        XCTAssertThrowsError(try net.forward()) {
            XCTAssertTrue("\($0)".contains("MemoryData has no data"), "\($0)")
        }
        try layer.reset(data: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12], labels: [0, 1, 2, 3])
        try net.forward()
        try net.forward()
        XCTAssertEqual(net.blob("data")!.values, [70, 80, 90, 100, 110, 120])
        XCTAssertEqual(net.blob("label")!.values, [2, 3])
    }

    func testPrincipalComponentsOfASymmetricMatrix() {
        // [[2, 1], [1, 2]] has eigenvalues 1 and 3 with vectors (1, −1)/√2 and (1, 1)/√2.
        let (values, vectors) = ColorNoise.symmetricEigen([[2, 1], [1, 2]])
        XCTAssertEqual(values.sorted()[0], 1, accuracy: 1e-9)
        XCTAssertEqual(values.sorted()[1], 3, accuracy: 1e-9)
        let i3 = values[0] > values[1] ? 0 : 1
        XCTAssertEqual(abs(vectors[0][i3]), 0.5.squareRoot(), accuracy: 1e-9)
        XCTAssertEqual(vectors[0][i3], vectors[1][i3], accuracy: 1e-9)
    }

    func testConvertImagesetWritesRawOrEncodedRecords() throws {
        let list = tmp.appendingPathComponent("list.txt").path
        try "photo.jpg 3\nrgb.png 2\n".write(toFile: list, atomically: true, encoding: .utf8)
        let root = Paths.fixture("images") + "/"
        let raw = tmp.appendingPathComponent("raw").path
        XCTAssertEqual(try DatasetConversion.convertImageSet(list: list, rootFolder: root, to: raw, size: (10, 12)), 2)
        let r = try RecordSources.open(dataSource: raw)
        XCTAssertEqual(try r.record(1).shape, [3, 10, 12])
        XCTAssertEqual(try r.record(1).label, 2)
        // Encoded: the file's own bytes, decoded on reading to what OpenCV decodes.
        let enc = tmp.appendingPathComponent("enc").path
        try DatasetConversion.convertImageSet(list: list, rootFolder: root, to: enc, encoded: true)
        let e = try RecordSources.open(dataSource: enc).record(1)
        let opencv = try NPY.read(path: Paths.fixture("images/rgb.png.bgr.npy"))
        XCTAssertEqual(e.shape, [3, 20, 24])
        XCTAssertEqual(Float(e.pixels[(2 * 20 + 5) * 24 + 7]), opencv.values[(5 * 24 + 7) * 3 + 2])
        XCTAssertThrowsError(try DatasetConversion.convertImageSet(list: list, rootFolder: root, to: enc)) {
            XCTAssertTrue("\($0)".contains("already exists"), "\($0)")
        }
    }

    func testColourNoiseOfGreyDataIsBrightnessWithThePixelsDeviation() throws {
        let source = IDXRecords(try IDXDataset(source: tinyIDX))
        let noise = try ColorNoise.estimate(sigma: 0.1, source: source, sampleCount: 40)
        // One channel: the component is 1 and its deviation the pixels' standard deviation.
        var values: [Double] = []
        for i in 0..<40 { for y in 0..<6 { for x in 0..<6 { values.append(Double(Self.pixel(i, y, x))) } } }
        let mean = values.reduce(0, +) / Double(values.count)
        let sd = (values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(values.count)).squareRoot()
        XCTAssertEqual(noise.deviations.count, 1)
        XCTAssertEqual(Double(noise.deviations[0]), sd, accuracy: sd * 1e-4)
        XCTAssertEqual(abs(noise.components[0][0]), 1, accuracy: 1e-6)
    }
}
