import Foundation

/// One class and the score the net gave it.
public struct ClassScore: Sendable, Equatable {
    public var index: Int
    public var score: Float

    public init(index: Int, score: Float) {
        self.index = index
        self.score = score
    }

    /// The `k` best of `scores`, best first: ties go to the lower class, and a
    /// NaN score ranks last (its JSON is null).
    public static func top<C: Collection>(_ k: Int, of scores: C) -> [ClassScore] where C.Element == Float {
        scores.enumerated().map { ClassScore(index: $0.offset, score: $0.element) }
            .sorted { a, b in
                if a.score.isNaN != b.score.isNaN { return b.score.isNaN }
                return a.score != b.score && !a.score.isNaN ? a.score > b.score : a.index < b.index
            }
            .prefix(k).map { $0 }
    }
}

/// What a classifier said about each input, with what a person needs to read
/// it: the preprocessing, the labels, and warnings about the run.
public struct Classification: Sendable {
    public struct Item: Sendable {
        /// The image's path, or "record #N".
        public var name: String
        public var top: [ClassScore]
        /// A record's label in its data source.
        public var trueLabel: Int?
    }

    public var items: [Item]
    public var preprocessing: String
    /// Whether the net ends in Softmax, so the scores are probabilities.
    public var isProbability: Bool
    public var labels: [String]?
    /// Things the user should know (layers the weights lack, a label count that does not match).
    public var warnings: [String]

    /// The label of class `c`, or "class c".
    public func label(_ c: Int) -> String { labels.flatMap { c < $0.count ? $0[c] : nil } ?? "class \(c)" }

    /// Items whose best class is their true label.
    public var topOneCorrect: Int { items.filter { $0.trueLabel != nil && $0.top.first?.index == $0.trueLabel }.count }

    /// One line per class under each item; records show their true label and the top-1 count.
    public var text: String {
        var lines: [String] = []
        for item in items {
            lines.append(item.trueLabel.map { "\(item.name) (true: \(label($0))):" } ?? "\(item.name):")
            for c in item.top { lines.append(String(format: "  %.4f  ", c.score) + label(c.index)) }
        }
        if items.contains(where: { $0.trueLabel != nil }) { lines.append("top-1 correct: \(topOneCorrect) of \(items.count)") }
        return lines.joined(separator: "\n")
    }

    public var json: String {
        let key = isProbability ? "probability" : "score"
        let results = items.map { item in
            let name = item.trueLabel == nil ? "\"image\":\(JSON.string(item.name))" : "\"record\":\(JSON.string(item.name))"
            let truth = item.trueLabel.map { ",\"true\":{\"class\":\($0),\"label\":\(JSON.string(label($0)))}" } ?? ""
            return "{\(name)\(truth),\"top\":[" + item.top.map { c in
                "{\"class\":\(c.index),\"label\":\(JSON.string(label(c.index))),\"\(key)\":\(c.score.isFinite ? "\(c.score)" : "null")}"
            }.joined(separator: ",") + "]}"
        }
        return "{\"preprocessing\":\(JSON.string(preprocessing)),\"results\":[\(results.joined(separator: ","))]}"
    }

    /// Class names from a file with one per line (synset_words.txt); blank lines are skipped.
    public static func readLabels(path: String) throws -> [String] {
        textLines(try readFile(path)).map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }.filter { !$0.isEmpty }
    }
}

/// A deploy net and its weights, ready to classify images (preprocessed as
/// Caffe's classifier does) or the records of a data source.
public struct Classifier {
    public let model: LoadedNet
    public let weights: CaffeModel
    /// The Input layer's top and its N×C×H×W shape in the deploy file.
    public let input: String
    public let inputShape: Shape
    /// The preprocessing the deploy file records (see `InputTransform`), if any.
    public let recordedTransform: InputTransform?
    /// How the net stores its InnerProduct and Convolution weights for the
    /// forward pass (`Net.storeWeights(as:)`).
    public var weightsPrecision: WeightPrecision = .fp32
    private let modelName: String

    /// Fails when the net has no 4-D Input layer to feed (the file is named `modelName` in that error).
    public init(model: LoadedNet, weights: CaffeModel, modelName: String) throws {
        (input, inputShape) = try model.imageInput(modelName: modelName)
        self.model = model
        self.weights = weights
        self.modelName = modelName
        recordedTransform = try model.source.flatMap(InputTransform.recorded(in:))
    }

    /// Classifies JPEG/PNG images: all their crops go through the net as one
    /// batch, and each image's scores are the mean over its crops.
    public func classify(images: [String], preprocessing: ClassifierPreprocessing, top: Int, labels: [String]?) throws -> Classification {
        try checkChannels(preprocessing.channels, of: "the images (\(preprocessing.gray ? "grey" : "BGR"))")
        var batch: [Float] = []
        var perImage = 1
        for path in images {
            let crops = try preprocessing.crops(try RGBImage.read(path: path))
            perImage = crops.count
            for c in crops { batch += c }
        }
        return try classification(names: images, truth: nil, batch: batch, perItem: perImage, top: top,
                                  preprocessing: preprocessing, description: preprocessing.description, labels: labels)
    }

    /// Classifies records of a data source as the net's TEST data layer would
    /// give them, out = (x − mean) · scale, centre-cropped to the input, with
    /// each record's true label. The preprocessing's resize is not used.
    public func classify(records source: RecordSource, indices: [Int], preprocessing: ClassifierPreprocessing, top: Int,
                         labels: [String]?) throws -> Classification {
        var batch: [Float] = []
        var truth: [Int] = []
        var perRecord = 1
        for i in indices {
            let d = try source.record(i)
            try checkChannels(d.channels, of: "\(source.name), record #\(i)")
            let values = d.pixels.isEmpty ? d.floats : d.pixels.map(Float.init)
            let crops = try preprocessing.crops(of: values, channels: d.channels, height: d.height, width: d.width,
                                                what: "\(source.name), record #\(i) (\(d.height)×\(d.width))")
            perRecord = crops.count
            for c in crops { batch += c }
            truth.append(d.label)
        }
        return try classification(names: indices.map { "record #\($0)" }, truth: truth, batch: batch, perItem: perRecord, top: top,
                                  preprocessing: preprocessing, description: preprocessing.recordDescription, labels: labels)
    }

    private func checkChannels(_ channels: Int, of what: String) throws {
        guard channels == inputShape[1] else {
            throw CaffeError.usage("\(modelName) takes \(inputShape[1])-channel input, but \(what) has \(channels)")
        }
    }

    private struct Run {
        var rows: [[Float]]
        var classes: Int
        var isProbability: Bool
        var missing: [String]
    }

    /// One forward pass of `items` inputs (`batch` holds them one after the other).
    private func scores(_ batch: [Float], items: Int) throws -> Run {
        let graph = try model.graph(.init(inputShapes: [input: [items] + inputShape.dropFirst()]))
        let net = try Net(graph: graph)
        let report = try WeightCopier.copy(weights, into: net)
        if weightsPrecision != .fp32 { net.storeWeights(as: weightsPrecision) }
        net.blob(input)!.set(batch)
        try net.forward()
        guard let output = net.outputBlobs.first, items > 0, output.count % items == 0 else {
            throw CaffeError.usage("\(modelName) has no output to read")
        }
        let classes = output.count / items
        let rows = (0..<items).map { n in Array(UnsafeBufferPointer(start: output.data + n * classes, count: classes)) }
        return Run(rows: rows, classes: classes, isProbability: graph.layers.last?.type == SoftmaxPlan.type, missing: report.missing)
    }

    /// Runs `batch` (`perItem` crops per item, one after the other) and ranks each item's mean scores.
    private func classification(names: [String], truth: [Int]?, batch: [Float], perItem: Int, top: Int,
                                preprocessing: ClassifierPreprocessing, description: String, labels: [String]?) throws -> Classification {
        let run = try scores(batch, items: names.count * perItem)
        let items = names.enumerated().map { i, name in
            var mean = [Float](repeating: 0, count: run.classes)
            for k in 0..<perItem {
                for c in 0..<run.classes { mean[c] += run.rows[i * perItem + k][c] / Float(perItem) }
            }
            return Classification.Item(name: name, top: ClassScore.top(top, of: mean), trueLabel: truth?[i])
        }
        var warnings: [String] = []
        if !run.missing.isEmpty {
            warnings.append("\(run.missing.joined(separator: ", ")) not in \(weights.path); they keep their filler values")
        }
        if let l = labels, l.count != run.classes { warnings.append("\(l.count) labels but the net gives \(run.classes) classes") }
        if preprocessing.valuesUnspecified {
            let certain = run.isProbability ? items.filter { ($0.top.first?.score ?? 0) >= 0.9999 }.count : 0
            warnings.append("no --scale, --mean, --mean-value or transform_param was given, so the net sees raw 0–255 values; "
                            + "give the training's (e.g. --scale 0.00390625), or --train-net with the train_val net"
                            + (certain > 0 ? "; the probabilities of 1.0 below are likely wrong" : ""))
        }
        return Classification(items: items, preprocessing: description, isProbability: run.isProbability, labels: labels,
                              warnings: warnings)
    }
}

extension LoadedNet {
    /// The Input layer's top and its N×C×H×W shape: where images go in.
    /// Only that layer matters, so a train_val's data need not be readable.
    func imageInput(modelName: String) throws -> (name: String, shape: Shape) {
        let probe = try graph(data: .ifReadable { _ in })
        guard let layer = probe.layers.first(where: { $0.type == InputPlan.type }), let name = layer.layer.tops.first,
              let shape = layer.topShapes.first ?? nil, shape.count == 4
        else { throw CaffeError.usage("\(modelName) has no N×C×H×W Input layer to feed images to (use swiftcaffe deploy to make one)") }
        return (name, shape)
    }
}
