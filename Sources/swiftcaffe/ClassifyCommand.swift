import ArgumentParser
import Foundation
import SwiftCaffe

struct ClassifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "classify",
        abstract: "Classify JPEG/PNG images with a deploy net and its weights, preprocessing as Caffe does.")

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

    @Option(help: "Resize before cropping, H,W.")
    var resize: String = "256,256"

    @Flag(help: "Average the 10 crops of the AlexNet paper (4 corners + centre, and their mirrors).")
    var oversample = false

    @Option(help: "How many classes to show per image.")
    var top = 5

    @Flag(help: "Print JSON.")
    var json = false

    @Argument(help: "Images (JPEG or PNG).")
    var images: [String]

    @OptionGroup var runtime: RuntimeOptions

    func validate() throws {
        if images.isEmpty { throw ValidationError("give at least one image") }
        if mean != nil, meanValue != nil { throw ValidationError("give --mean or --mean-value, not both") }
        if top < 1 { throw ValidationError("--top must be at least 1") }
    }

    func run() throws {
        try runtime.apply()
        let size = resize.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard size.count == 2, size.allSatisfy({ $0 > 0 }) else { throw CaffeError.usage("--resize must be H,W, found '\(resize)'") }
        let loaded = try ModelFile.loadNet(path: model)
        let probe = try buildGraph(loaded, options: .init())
        guard let input = probe.layers.first(where: { $0.type == "Input" }), let name = input.layer.tops.first,
              let shape = input.topShapes.first ?? nil, shape.count == 4
        else { throw CaffeError.usage("\(model) has no N×C×H×W Input layer to feed images to (use swiftcaffe deploy to make one)") }
        guard shape[1] == 3 else { throw CaffeError.usage("\(model) takes \(shape[1])-channel input; classify feeds 3-channel BGR images") }

        var meanSetting = ClassifierPreprocessing.Mean.none
        if let m = mean { meanSetting = .image(try MeanImage.read(path: m), name: m) }
        if let v = meanValue {
            let values = v.split(separator: ",").map { Float($0.trimmingCharacters(in: .whitespaces)) }
            guard !values.isEmpty, values.allSatisfy({ $0 != nil }) else { throw CaffeError.usage("--mean-value must be numbers, found '\(v)'") }
            meanSetting = .values(values.map { $0! })
        }
        let prep = ClassifierPreprocessing(resize: (size[0], size[1]), crop: (shape[2], shape[3]), mean: meanSetting, oversample: oversample)
        let names = try labels.map { path in
            String(decoding: try readFile(path), as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
                .map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }.filter { !$0.isEmpty }
        }

        // All crops of all images go through as one batch.
        var batch: [Float] = []
        var perImage = 0
        for path in images {
            let crops = try prep.crops(try RGBImage.read(path: path))
            perImage = crops.count
            for c in crops { batch += c }
        }
        let total = images.count * perImage
        let model = try CaffeModel(path: weights)
        let graph = try buildGraph(loaded, options: .init(inputShapes: [name: [total, 3, shape[2], shape[3]]]))
        let net = try Net(graph: graph)
        let report = try WeightCopier.copy(model, into: net)
        if !report.missing.isEmpty { note("warning: \(report.missing.joined(separator: ", ")) not in \(weights); they keep their filler values") }
        net.blob(name)!.set(batch)
        try net.forward()
        guard let output = net.outputBlobs.first, output.count % total == 0 else { throw CaffeError.usage("\(self.model) has no output to read") }
        let classes = output.count / total
        let isProbability = graph.layers.last?.type == "Softmax"
        if let n = names, n.count != classes {
            note("warning: \(labels!) has \(n.count) labels but the net gives \(classes) classes")
        }

        var results: [(String, [(Int, Float)])] = []
        for (i, path) in images.enumerated() {
            var scores = [Float](repeating: 0, count: classes)
            for k in 0..<perImage {
                for c in 0..<classes { scores[c] += output.data[(i * perImage + k) * classes + c] / Float(perImage) }
            }
            let best = scores.enumerated().sorted { $0.element != $1.element ? $0.element > $1.element : $0.offset < $1.offset }
                .prefix(top).map { ($0.offset, $0.element) }
            results.append((path, best))
        }
        func label(_ c: Int) -> String { names.flatMap { c < $0.count ? $0[c] : nil } ?? "class \(c)" }
        if json {
            let items = results.map { path, best in
                "{\"image\":\(jsonString(path)),\"top\":[" + best.map { c, p in
                    "{\"class\":\(c),\"label\":\(jsonString(label(c))),\"\(isProbability ? "probability" : "score")\":\(p)}"
                }.joined(separator: ",") + "]}"
            }
            print("{\"preprocessing\":\(jsonString(prep.description)),\"results\":[\(items.joined(separator: ","))]}")
            return
        }
        print("Preprocessing: \(prep.description)")
        if let known = model.knownModel { print("Weights: \(known)") }
        for (path, best) in results {
            print("\(path):")
            for (c, p) in best { print(String(format: "  %.4f  ", p) + label(c)) }
        }
    }

    private func jsonString(_ s: String) -> String {
        var o = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": o += "\\\""
            case "\\": o += "\\\\"
            default: if u.value < 0x20 { o += String(format: "\\u%04x", u.value) } else { o.unicodeScalars.append(u) }
            }
        }
        return o + "\""
    }
}
