import ArgumentParser
import Foundation
import SwiftCaffe

struct ClassifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "classify",
        abstract: "Classify JPEG/PNG images with a deploy net and its weights, preprocessing as Caffe does.",
        discussion: """
            The preprocessing follows the TEST data layer's transform_param (scale, mean, crop) of the \
            train_val net given with --train-net, else the one `swiftcaffe deploy` recorded in the deploy \
            file; --scale, --mean and --mean-value override it. Nets with 1-channel input read images as grey.
            """)

    @Option(name: .customLong("model"), help: "The deploy net prototxt (its first input gives the crop size).")
    var model: String

    @Option(help: "The weights (.caffemodel, any format).")
    var weights: String

    @Option(help: "Mean image (.binaryproto or .npy), subtracted at each crop's position.")
    var mean: String?

    @Option(help: "Mean values per channel in BGR order, e.g. 104,117,123.")
    var meanValue: String?

    @Option(help: "Labels, one per line in class order (synset_words.txt).")
    var labels: String?

    @Option(help: "Resize before cropping, H,W (default: 256,256 for inputs of 224 and more, else the input size).")
    var resize: String?

    @Option(help: "The train_val net (or its solver) whose TEST data layer's transform_param to follow.")
    var trainNet: String?

    @Flag(help: "Read images as grey, 0.299 R + 0.587 G + 0.114 B (automatic for 1-channel nets).")
    var gray = false

    @Flag(help: "Average the 10 crops of the AlexNet paper (4 corners + centre, and their mirrors).")
    var oversample = false

    @Option(parsing: .unconditional, help: "How many classes to show per image.")
    var top = 5

    @Flag(help: "Print JSON.")
    var json = false

    @Argument(help: "Images (JPEG or PNG).")
    var images: [String] = []

    @Option(help: "Classify records of a data source instead of images: an LMDB folder or an IDX images file.")
    var source: String?

    @Option(help: "With --source: record numbers, e.g. 0,1,2 (default: the first 8).")
    var records: String?

    @Option(parsing: .unconditional, help: "Multiply the values, after the mean, by this (transform_param's scale, e.g. 0.00390625).")
    var scale: Float?

    @OptionGroup var runtime: RuntimeOptions
    @OptionGroup var weightsPrecision: WeightPrecisionOption

    func validate() throws {
        if images.isEmpty && source == nil { throw ValidationError("give at least one image, or --source") }
        if !images.isEmpty && source != nil { throw ValidationError("give images or --source, not both") }
        if mean != nil, meanValue != nil { throw ValidationError("give --mean or --mean-value, not both") }
        if top < 1 { throw ValidationError("--top must be at least 1") }
    }

    func run() throws {
        try runtime.apply()
        var request = PreprocessingRequest(meanFile: mean, scale: scale, gray: gray, oversample: oversample)
        if let resize {
            let size = resize.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
            guard size.count == 2, size.allSatisfy({ $0 > 0 }) else { throw CaffeError.usage("--resize must be H,W, found '\(resize)'") }
            request.resize = (size[0], size[1])
        }
        if let meanValue { request.meanValues = try numbers(meanValue, "--mean-value").map(Float.init) }
        var classifier = try Classifier(model: try ModelFile.loadNet(path: model), weights: try CaffeModel(path: weights), modelName: model)
        classifier.weightsPrecision = weightsPrecision.precision
        if let trainNet {
            guard let t = try InputTransform.read(trainNet: trainNet) else {
                throw CaffeError.usage("\(trainNet) has no TEST data layer with a transform_param")
            }
            request.transform = t
        } else {
            request.transform = classifier.recordedTransform
        }
        let preprocessing = try request.resolve(for: classifier.inputShape)
        let names = try labels.map(Classification.readLabels)
        let result: Classification
        if let source {
            let records = try RecordSources.open(dataSource: source)
            result = try classifier.classify(records: records, indices: try recordNumbers(in: records), preprocessing: preprocessing,
                                             top: top, labels: names)
        } else {
            result = try classifier.classify(images: images, preprocessing: preprocessing, top: top, labels: names)
        }
        for w in result.warnings { note("warning: " + w) }
        if json { return print(result.json) }
        print("Preprocessing: \(result.preprocessing)")
        if source == nil, let known = classifier.weights.knownModel { print("Weights: \(known)") }
        print(result.text)
    }

    /// --records, or the first 8 records.
    private func recordNumbers(in source: RecordSource) throws -> [Int] {
        guard let r = records else { return Array(0..<min(8, source.count)) }
        let parsed = r.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !parsed.isEmpty, parsed.allSatisfy({ ($0 ?? -1) >= 0 && $0! < source.count }) else {
            throw CaffeError.usage("--records must be record numbers in 0..<\(source.count), found '\(r)'")
        }
        return parsed.map { $0! }
    }
}
