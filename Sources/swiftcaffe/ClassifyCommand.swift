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

    @Option(parsing: .unconditional, help: "With --source: multiply the values by this (transform_param's scale, e.g. 0.00390625).")
    var scale: Float = 1

    @OptionGroup var runtime: RuntimeOptions

    func validate() throws {
        if images.isEmpty && source == nil { throw ValidationError("give at least one image, or --source") }
        if !images.isEmpty && source != nil { throw ValidationError("give images or --source, not both") }
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
        if let source { return try classifyRecords(source, loaded: loaded, input: name, shape: shape) }
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
            textLines(try readFile(path))
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
            let best = scores.enumerated().sorted(by: ranksHigher)
                .prefix(top).map { ($0.offset, $0.element) }
            results.append((path, best))
        }
        func label(_ c: Int) -> String { names.flatMap { c < $0.count ? $0[c] : nil } ?? "class \(c)" }
        if json {
            let items = results.map { path, best in
                "{\"image\":\(jsonString(path)),\"top\":[" + best.map { c, p in
                    "{\"class\":\(c),\"label\":\(jsonString(label(c))),\"\(isProbability ? "probability" : "score")\":\(p.isFinite ? "\(p)" : "null")}"
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

    /// Records of a database or IDX file, as the net's data layer would give
    /// them (scaled, mean values subtracted), with their true labels.
    private func classifyRecords(_ path: String, loaded: LoadedNet, input: String, shape: Shape) throws {
        let src = try RecordSources.open(dataSource: path)
        let indices: [Int]
        if let r = records {
            let parsed = r.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
            guard !parsed.isEmpty, parsed.allSatisfy({ ($0 ?? -1) >= 0 && $0! < src.count }) else {
                throw CaffeError.usage("--records must be record numbers in 0..<\(src.count), found '\(r)'")
            }
            indices = parsed.map { $0! }
        } else {
            indices = Array(0..<min(8, src.count))
        }
        let means = try meanValue.map { v in
            try v.split(separator: ",").map { s -> Float in
                guard let f = Float(s.trimmingCharacters(in: .whitespaces)) else { throw CaffeError.usage("--mean-value must be numbers, found '\(v)'") }
                return f
            }
        } ?? []
        var batch: [Float] = []
        var truth: [Int] = []
        for i in indices {
            let d = try src.record(i)
            guard d.shape == Array(shape.dropFirst()) else {
                throw CaffeError.usage("\(path), record #\(i) is \(d.shape.map(String.init).joined(separator: "×")) but \(model) takes "
                                       + shape.dropFirst().map(String.init).joined(separator: "×"))
            }
            let plane = d.height * d.width
            for k in 0..<(d.channels * plane) {
                let v = d.pixels.isEmpty ? d.floats[k] : Float(d.pixels[k])
                let m = means.isEmpty ? 0 : means[means.count == 1 ? 0 : min(k / plane, means.count - 1)]
                batch.append((v - m) * scale)
            }
            truth.append(d.label)
        }
        let weightsFile = try CaffeModel(path: weights)
        let net = try Net(graph: try buildGraph(loaded, options: .init(inputShapes: [input: [indices.count] + shape.dropFirst()])))
        let report = try WeightCopier.copy(weightsFile, into: net)
        if !report.missing.isEmpty { note("warning: \(report.missing.joined(separator: ", ")) not in \(weights); they keep their filler values") }
        net.blob(input)!.set(batch)
        try net.forward()
        guard let output = net.outputBlobs.first, output.count % indices.count == 0 else { throw CaffeError.usage("\(model) has no output to read") }
        let classes = output.count / indices.count
        let names = try labels.map { p in
            textLines(try readFile(p)).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        }
        func label(_ c: Int) -> String { names.flatMap { c < $0.count ? $0[c] : nil } ?? "class \(c)" }
        var correct = 0
        for (n, i) in indices.enumerated() {
            let scores = (0..<classes).map { output.data[n * classes + $0] }
            let best = scores.enumerated().sorted(by: ranksHigher).prefix(top)
            if best.first?.offset == truth[n] { correct += 1 }
            print("record #\(i) (true: \(label(truth[n]))):")
            for (c, p) in best { print(String(format: "  %.4f  ", p) + label(c)) }
        }
        print("top-1 correct: \(correct) of \(indices.count)")
    }

    /// Higher score first, ties by class; a NaN score ranks last (JSON gets null for it).
    private func ranksHigher(_ a: (offset: Int, element: Float), _ b: (offset: Int, element: Float)) -> Bool {
        if a.element.isNaN != b.element.isNaN { return b.element.isNaN }
        return a.element != b.element && !a.element.isNaN ? a.element > b.element : a.offset < b.offset
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
