import ArgumentParser
import Foundation
import SwiftCaffe

struct ConvertImagesetCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "convert-imageset",
        abstract: "Write the images of a list file (\"path label\" lines) to a new LMDB, like Caffe's convert_imageset.")

    @Argument(help: "Folder the list's paths are relative to (Caffe's ROOTFOLDER/).")
    var rootFolder: String

    @Argument(help: "The list file.")
    var list: String

    @Argument(help: "The LMDB to create (a folder; must not exist).")
    var db: String

    @Flag(help: "Store grey images (one channel).")
    var gray = false

    @Flag(help: "Shuffle the list (seeded, so the order is reproducible).")
    var shuffle = false

    @Option(help: "Seed for --shuffle.")
    var seed: UInt64 = 1701

    @Option(parsing: .unconditional, help: "Resize every image to this height (with --resize-width).")
    var resizeHeight = 0

    @Option(parsing: .unconditional, help: "Resize every image to this width (with --resize-height).")
    var resizeWidth = 0

    @Flag(help: "Store each file's own JPEG/PNG bytes (decoded when read).")
    var encoded = false

    func run() throws {
        guard (resizeHeight > 0) == (resizeWidth > 0), resizeHeight >= 0, resizeWidth >= 0 else {
            throw CaffeError.usage("give --resize-height and --resize-width together, both > 0")
        }
        let root = rootFolder.isEmpty || rootFolder.hasSuffix("/") ? rootFolder : rootFolder + "/"
        let n = try DatasetConversion.convertImageSet(list: list, rootFolder: root, to: db, color: !gray,
                                                      size: resizeHeight > 0 ? (resizeHeight, resizeWidth) : nil,
                                                      shuffleSeed: shuffle ? seed : nil, encoded: encoded) { k in
            if k % 1000 == 0 { note("Processed \(k) files.") }
        }
        note("Processed \(n) files; wrote \(db)")
    }
}

struct ConvertIDXCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "convert-idx",
        abstract: "Write an IDX images/labels pair (MNIST, Fashion-MNIST; .gz or plain) to a new LMDB, like Caffe's convert_mnist_data.")

    @Argument(help: "The images file (…-images-idx3-ubyte[.gz]).")
    var images: String

    @Argument(help: "The LMDB to create.")
    var db: String

    @Option(help: "The labels file (default: found by name beside the images).")
    var labels: String?

    func run() throws {
        let dataset = try IDXDataset(source: labels.map { "\(images);\($0)" } ?? images)
        let n = try DatasetConversion.convert(IDXRecords(dataset), to: db)
        note("wrote \(n) records of 1×\(dataset.height)×\(dataset.width) to \(db)")
    }
}

struct ComputeImageMeanCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compute-image-mean",
        abstract: "Average every record of an LMDB or IDX file into a mean image (.binaryproto), like Caffe's compute_image_mean.")

    @Argument(help: "An LMDB folder or an IDX images file.")
    var source: String

    @Argument(help: "The mean file to write (.binaryproto).")
    var output: String

    func run() throws {
        let parts = source.split(separator: ";").map(String.init)
        let inputs = parts.map { ("data source", $0) } + parts.map { ("data source", $0 + "/data.mdb") }
            + (parts.count == 1 ? IDXDataset.labelsPath(forImages: source).map { [("labels file", $0)] } ?? [] : [])
        try refuseOverwritingInputs(output: output, inputs: inputs)
        let records = try RecordSources.open(dataSource: source)
        let mean = try MeanImage.compute(records)
        try mean.write(binaryproto: output)
        note("mean of \(records.count) records, \(mean.channels)×\(mean.height)×\(mean.width); per channel: "
             + mean.perChannel.map { String(format: "%.3f", $0) }.joined(separator: ", ") + "; wrote \(output)")
    }
}
