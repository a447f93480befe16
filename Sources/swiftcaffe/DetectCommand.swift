import ArgumentParser
import Foundation
import SwiftCaffe

struct DetectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "detect",
        abstract: "Find objects in JPEG/PNG images with an SSD-style deploy net (one ending in DetectionOutput).",
        discussion: """
            Each image is resized to the net's input (warped, as SSD's demo does) and preprocessed by the \
            transform the deploy file records (`# swiftcaffe transform_param`), or by --scale and --mean-value. \
            Boxes are printed in the image's pixels, best first; -o draws them on the image (.png, a colour \
            per class) or writes them as JSON (.json).
            """)

    @Option(name: .customLong("model"), help: "The deploy net prototxt.")
    var model: String

    @Option(help: "The weights (.caffemodel, any format).")
    var weights: String

    @Option(help: "Class names: one per line in class order, or an SSD label map (labelmap_voc.prototxt).")
    var labels: String?

    @Option(parsing: .unconditional, help: "The lowest score shown.")
    var threshold: Float = 0.5

    @Option(name: .shortAndLong, help: "Draw the boxes (.png; with several images, one file each: NAME-<image>.png) or write JSON (.json).")
    var output: String?

    @Option(help: "Mean values per channel in BGR order, e.g. 127.5,127.5,127.5.")
    var meanValue: String?

    @Option(parsing: .unconditional, help: "Multiply the values, after the mean, by this (e.g. 0.007843).")
    var scale: Float?

    @Argument(help: "Images (JPEG or PNG).")
    var images: [String] = []

    @OptionGroup var runtime: RuntimeOptions

    func validate() throws {
        if images.isEmpty { throw ValidationError("give at least one image") }
        if !(0...1).contains(threshold) { throw ValidationError("--threshold must be in [0, 1], found \(threshold)") }
        if let output, !output.hasSuffix(".png"), !output.hasSuffix(".json") {
            throw ValidationError("-o must end in .png (boxes drawn) or .json, found '\(output)'")
        }
    }

    func run() throws {
        try runtime.apply()
        let detector = try Detector(model: try ModelFile.loadNet(path: model), weights: try CaffeModel(path: weights), modelName: model)
        var request = PreprocessingRequest(scale: scale)
        request.resize = (detector.inputShape[2], detector.inputShape[3])
        if let meanValue { request.meanValues = try numbers(meanValue, "--mean-value").map(Float.init) }
        request.transform = detector.recordedTransform
        let preprocessing = try request.resolve(for: detector.inputShape)
        if preprocessing.valuesUnspecified {
            note("warning: no --scale, --mean-value or recorded transform_param, so the net sees raw 0–255 values")
        }
        let result = try detector.detect(images: images, preprocessing: preprocessing, threshold: threshold,
                                         labels: try labels.map(DetectionResult.readLabels) ?? [:])
        guard let output else {
            print("Preprocessing: \(result.preprocessing)")
            return print(result.text)
        }
        if output.hasSuffix(".json") {
            let file = try OutputFile(output)
            try file.write(result.json + "\n")
            try file.commit()
        } else {
            for item in result.items {
                let path = images.count == 1 ? output
                    : String(output.dropLast(4)) + "-" + ((item.image as NSString).lastPathComponent as NSString).deletingPathExtension + ".png"
                let file = try OutputFile(path)
                try file.write(try RGBImage.read(path: item.image).drawing(item.objects).png())
                try file.commit()
                note("wrote \(path): \(item.objects.count) box\(item.objects.count == 1 ? "" : "es")")
            }
        }
        print(result.text)
    }
}
