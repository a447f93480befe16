import CImageCodecs
import Foundation

/// One object an SSD-style net found: its class, score and box in the
/// image's pixels (xmin, ymin, xmax, ymax; not clipped, as the net gives it).
public struct DetectedObject: Sendable, Equatable {
    public var label: Int
    public var score: Float
    public var xmin: Float, ymin: Float, xmax: Float, ymax: Float
}

/// What a detector found in each image, with the labels to read it by.
public struct DetectionResult: Sendable {
    public struct Item: Sendable {
        public var image: String
        public var width: Int, height: Int
        public var objects: [DetectedObject]
    }

    public var items: [Item]
    public var labels: [String: String]
    public var preprocessing: String
    public var threshold: Float

    /// The name of class `c`: from the labels, else "class c".
    public func label(_ c: Int) -> String { labels[String(c)] ?? "class \(c)" }

    /// A line per object under each image, best first.
    public var text: String {
        var lines: [String] = []
        for item in items {
            lines.append("\(item.image) (\(item.width)×\(item.height)): \(item.objects.count) object\(item.objects.count == 1 ? "" : "s") scoring ≥ \(threshold)")
            for o in item.objects {
                lines.append(String(format: "  %.4f  %@  (%.0f, %.0f)–(%.0f, %.0f)", o.score, label(o.label), o.xmin, o.ymin, o.xmax, o.ymax))
            }
        }
        return lines.joined(separator: "\n")
    }

    public var json: String {
        let results = items.map { item in
            "{\"image\":\(JSON.string(item.image)),\"width\":\(item.width),\"height\":\(item.height),\"objects\":[" + item.objects.map { o in
                "{\"class\":\(o.label),\"label\":\(JSON.string(label(o.label))),\"score\":\(o.score),"
                    + "\"box\":{\"xmin\":\(o.xmin),\"ymin\":\(o.ymin),\"xmax\":\(o.xmax),\"ymax\":\(o.ymax)}}"
            }.joined(separator: ",") + "]}"
        }
        return "{\"preprocessing\":\(JSON.string(preprocessing)),\"threshold\":\(threshold),\"results\":[\(results.joined(separator: ","))]}"
    }

    /// Class names by number from a file: one per line in class order, or an
    /// SSD label map (`item { label: 15 display_name: "person" }`).
    public static func readLabels(path: String) throws -> [String: String] {
        let text = String(decoding: try readFile(path), as: UTF8.self)
        guard text.contains("item") && text.contains("label") else {
            return Dictionary(uniqueKeysWithValues: try Classification.readLabels(path: path).enumerated().map { (String($0.offset), $0.element) })
        }
        var out: [String: String] = [:]
        for item in text.components(separatedBy: "item").dropFirst() {
            func value(_ key: String) -> String? {
                guard let r = item.range(of: key + ":") else { return nil }
                let rest = item[r.upperBound...].trimmingCharacters(in: .whitespaces)
                if rest.hasPrefix("\"") { return rest.dropFirst().split(separator: "\"", maxSplits: 1).first.map(String.init) }
                return rest.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "}" }).first.map(String.init)
            }
            guard let label = value("label"), Int(label) != nil else {
                throw CaffeError.usage("\(path): a label map item without a numeric label")
            }
            out[label] = value("display_name") ?? value("name") ?? "class \(label)"
        }
        return out
    }
}

/// A deploy net ending in SSD's DetectionOutput, and its weights: images go
/// in resized to the net's input (warped, as SSD's demo does), preprocessed
/// by the recorded or given transform, as one batch.
public struct Detector {
    public let model: LoadedNet
    public let weights: CaffeModel
    public let input: String
    public let inputShape: Shape
    /// The DetectionOutput layer's top.
    public let output: String
    public let recordedTransform: InputTransform?
    private let modelName: String

    public init(model: LoadedNet, weights: CaffeModel, modelName: String) throws {
        (input, inputShape) = try model.imageInput(modelName: modelName)
        guard let detection = model.net.layers.last(where: { $0.type == DetectionOutputPlan.type }), let top = detection.tops.first else {
            throw CaffeError.usage("\(modelName) has no DetectionOutput layer: detect runs SSD-style nets (classify runs classifiers)")
        }
        self.model = model
        self.weights = weights
        self.modelName = modelName
        output = top
        recordedTransform = try model.source.flatMap(InputTransform.recorded(in:))
    }

    /// Objects scoring at least `threshold` in each image, best first.
    public func detect(images: [String], preprocessing: ClassifierPreprocessing, threshold: Float,
                       labels: [String: String] = [:]) throws -> DetectionResult {
        guard preprocessing.channels == inputShape[1] else {
            throw CaffeError.usage("\(modelName) takes \(inputShape[1])-channel input, but the images give \(preprocessing.channels)")
        }
        var batch: [Float] = []
        var sizes: [(Int, Int)] = []
        for path in images {
            let image = try RGBImage.read(path: path)
            sizes.append((image.width, image.height))
            batch += try preprocessing.crops(image)[0]
        }
        let net = try Net(graph: try model.graph(.init(inputShapes: [input: [images.count] + inputShape.dropFirst()])))
        let report = try WeightCopier.copy(weights, into: net)
        guard report.missing.isEmpty else {
            throw CaffeError.io(path: weights.path, reason: "has no weights for layer(s) \(report.missing.joined(separator: ", ")) of \(modelName)")
        }
        net.blob(input)!.set(batch)
        try net.forward()
        let rows = net.blob(output)!.values
        var items = images.enumerated().map { DetectionResult.Item(image: $0.element, width: sizes[$0.offset].0, height: sizes[$0.offset].1, objects: []) }
        for r in stride(from: 0, to: rows.count - 6, by: 7) {
            let image = Int(rows[r]), label = rows[r + 1], score = rows[r + 2]
            guard label >= 0, image >= 0, image < items.count, score >= threshold else { continue }
            let (w, h) = (Float(items[image].width), Float(items[image].height))
            items[image].objects.append(DetectedObject(label: Int(label), score: score, xmin: rows[r + 3] * w, ymin: rows[r + 4] * h,
                                                       xmax: rows[r + 5] * w, ymax: rows[r + 6] * h))
        }
        for i in items.indices { items[i].objects.sort { $0.score > $1.score } }
        return DetectionResult(items: items, labels: labels, preprocessing: preprocessing.description, threshold: threshold)
    }
}

extension RGBImage {
    /// The image with each object's box drawn, `thickness` pixels wide, in a
    /// colour per class (clipped to the image).
    public func drawing(_ objects: [DetectedObject], thickness: Int = 2) -> RGBImage {
        var out = self
        let palette: [(UInt8, UInt8, UInt8)] = [(230, 25, 75), (60, 180, 75), (255, 225, 25), (0, 130, 200), (245, 130, 48), (145, 30, 180),
                                                (70, 240, 240), (240, 50, 230), (210, 245, 60), (250, 190, 212), (0, 128, 128)]
        func clamp(_ v: Float, _ hi: Int) -> Int { min(max(Int(v.rounded()), 0), hi - 1) }
        for o in objects {
            let c = palette[o.label % palette.count]
            let (x0, y0, x1, y1) = (clamp(o.xmin, width), clamp(o.ymin, height), clamp(o.xmax, width), clamp(o.ymax, height))
            guard x0 <= x1, y0 <= y1 else { continue }
            func paint(_ x: Int, _ y: Int) {
                let i = (y * width + x) * 3
                (out.pixels[i], out.pixels[i + 1], out.pixels[i + 2]) = c
            }
            for t in 0..<thickness {
                for x in x0...x1 { paint(x, min(y0 + t, y1)); paint(x, max(y1 - t, y0)) }
                for y in y0...y1 { paint(min(x0 + t, x1), y); paint(max(x1 - t, x0), y) }
            }
        }
        return out
    }

    /// The image as PNG bytes.
    public func png() throws -> [UInt8] {
        var data: UnsafeMutablePointer<UInt8>?
        var size = 0
        var message = [CChar](repeating: 0, count: 256)
        let status = pixels.withUnsafeBufferPointer { sc_encode_png($0.baseAddress, Int32(width), Int32(height), &data, &size, &message, message.count) }
        guard status == 0, let data else {
            throw CaffeError.io(path: "PNG", reason: String(decoding: message.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        defer { free(data) }
        return Array(UnsafeBufferPointer(start: data, count: size))
    }
}
