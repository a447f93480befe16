import Foundation

/// Caffe's test-time preprocessing for classification nets, in the data
/// transformer's order: resize (images only), subtract the mean (an image,
/// at the crop's own offsets, or per-channel values), multiply by the scale,
/// out = (x − mean) · scale, then the centre crop, or with `oversample` the
/// AlexNet paper's 10 crops: the 4 corners and the centre, and their mirror
/// images. Images are read as BGR planes, or as one grey plane for nets
/// trained on grey data (`gray`).
public struct ClassifierPreprocessing: Sendable {
    public enum Mean: Sendable {
        case none
        case image(MeanImage, name: String)
        case values([Float])
    }

    public var resize: (height: Int, width: Int)
    public var crop: (height: Int, width: Int)
    public var mean: Mean
    public var scale: Float
    public var gray: Bool
    public var oversample: Bool
    /// Where settings came from ("scale and mean from transform_param of ..."), shown in `description`.
    public var origin: String?
    /// Set when nobody said how training scaled or centred the values, so the
    /// net sees raw 0–255 values and the classifier warns.
    public var valuesUnspecified = false

    public init(resize: (height: Int, width: Int), crop: (height: Int, width: Int), mean: Mean, scale: Float = 1,
                gray: Bool = false, oversample: Bool = false, origin: String? = nil) {
        self.resize = resize
        self.crop = crop
        self.mean = mean
        self.scale = scale
        self.gray = gray
        self.oversample = oversample
        self.origin = origin
    }

    public var channels: Int { gray ? 1 : 3 }

    /// The steps for images, as the classify command prints them.
    public var description: String {
        var parts = ["resize to \(resize.height)×\(resize.width) (bilinear)",
                     gray ? "grey (0.299 R + 0.587 G + 0.114 B)" : "RGB → BGR", "channels first", "values 0–255"]
        parts += valueSteps
        parts.append(oversample ? "10 crops of \(crop.height)×\(crop.width) (4 corners + centre, and their mirrors), predictions averaged"
                                : "centre crop \(crop.height)×\(crop.width)")
        return parts.joined(separator: ", ") + (origin.map { " (\($0))" } ?? "")
    }

    /// The steps for a data source's records, which are used at their stored size.
    public var recordDescription: String {
        (["records as stored"] + valueSteps + (oversample ? ["10 crops of \(crop.height)×\(crop.width)"] : [])).joined(separator: ", ")
            + (origin.map { " (\($0))" } ?? "")
    }

    private var valueSteps: [String] {
        var parts: [String] = []
        switch mean {
        case .none: parts.append("no mean subtracted")
        case .image(let m, let name): parts.append("minus the mean image \(name) (\(m.height)×\(m.width), at each crop's position)")
        case .values(let v): parts.append("minus mean values " + v.map { String(format: "%g", $0) }.joined(separator: ","))
        }
        if scale != 1 { parts.append("times \(PrototxtPrinter.number(Double(scale)))") }
        return parts
    }

    /// The crops of one image, each channels × crop height × crop width.
    public func crops(_ image: RGBImage) throws -> [[Float]] {
        let (H, W) = resize
        let bytes = MemoryBudget.floats(product(3, H, W))
        if let short = MemoryBudget.shortfall(bytes) {
            throw CaffeError.usage("resizing to \(H)×\(W) needs \(MemoryBudget.describe(bytes)) per image, \(short)")
        }
        let planes = gray ? image.greyPlane(height: H, width: W) : image.bgrPlanes(height: H, width: W)
        return try crops(of: planes, channels: channels, height: H, width: W, what: "the resize \(H)×\(W)")
    }

    /// The crops of C × H × W values at their final size (a record of a data
    /// source); `what` names them in errors.
    public func crops(of values: [Float], channels: Int, height H: Int, width W: Int, what: String) throws -> [[Float]] {
        let (h, w) = crop
        guard h <= H, w <= W else { throw CaffeError.usage("the net's input \(h)×\(w) is larger than \(what)") }
        var planes = values
        var subtractAfterCrop: [Float]?
        switch mean {
        case .none: break
        case .values(let v):
            guard v.count == 1 || v.count == channels else {
                throw CaffeError.usage("give 1 or \(channels) mean values for \(channels)-channel input, found \(v.count)")
            }
            for c in 0..<channels { for i in 0..<(H * W) { planes[c * H * W + i] -= v[v.count == 1 ? 0 : c] } }
        case .image(let m, let name):
            guard m.channels == channels else { throw CaffeError.usage("the mean image \(name) has \(m.channels) channels, the input \(channels)") }
            if m.height == H, m.width == W {
                for i in planes.indices { planes[i] -= m.values[i] }
            } else if m.height >= h, m.width >= w {
                subtractAfterCrop = try m.centreCrop(height: h, width: w)
            } else {
                throw CaffeError.usage("the mean image \(name) is \(m.height)×\(m.width); it must match \(what) or cover the \(h)×\(w) crop")
            }
        }
        func cut(_ top: Int, _ left: Int, mirror: Bool) -> [Float] {
            var out = [Float](repeating: 0, count: channels * h * w)
            for c in 0..<channels {
                for y in 0..<h {
                    for x in 0..<w {
                        let sx = mirror ? left + w - 1 - x : left + x
                        let v = planes[(c * H + top + y) * W + sx] - (subtractAfterCrop?[(c * h + y) * w + x] ?? 0)
                        out[(c * h + y) * w + x] = v * scale
                    }
                }
            }
            return out
        }
        if !oversample { return [cut((H - h) / 2, (W - w) / 2, mirror: false)] }
        let corners = [(0, 0), (0, W - w), (H - h, 0), (H - h, W - w), ((H - h) / 2, (W - w) / 2)]
        return corners.map { cut($0.0, $0.1, mirror: false) } + corners.map { cut($0.0, $0.1, mirror: true) }
    }
}

/// What a user asked of the preprocessing; nil means "not given", so the
/// net's recorded transform_param (or the default) decides.
public struct PreprocessingRequest: Sendable {
    public var resize: (height: Int, width: Int)?
    public var meanFile: String?
    public var meanValues: [Float]?
    public var scale: Float?
    public var gray: Bool
    public var oversample: Bool
    /// The transform_param to follow: from a train_val given by the user, else
    /// the one the deploy file records.
    public var transform: InputTransform?

    public init(resize: (height: Int, width: Int)? = nil, meanFile: String? = nil, meanValues: [Float]? = nil, scale: Float? = nil,
                gray: Bool = false, oversample: Bool = false, transform: InputTransform? = nil) {
        self.resize = resize
        self.meanFile = meanFile
        self.meanValues = meanValues
        self.scale = scale
        self.gray = gray
        self.oversample = oversample
        self.transform = transform
    }

    /// Whether neither the user nor a transform_param says how the values were
    /// scaled or centred in training: then the net sees raw 0–255 values.
    public var saysNothingOfValues: Bool {
        let t = transform?.parameters
        return scale == nil && meanFile == nil && meanValues == nil
            && t.map { !$0.has(.scale) && !$0.has(.meanFile) && $0.meanValue.isEmpty } ?? true
    }

    /// The preprocessing for a net whose input is `input` (N × C × H × W):
    /// the user's settings first, then the transform_param's. Images are
    /// resized to 256×256 before the crop for inputs of 224 and more
    /// (Caffe's classify.py and the ImageNet nets' training data), else to
    /// the input size; grey nets (C = 1) read images as grey.
    public func resolve(for input: Shape) throws -> ClassifierPreprocessing {
        let t = transform?.parameters
        let (h, w) = (input[2], input[3])
        if gray && input[1] != 1 { throw CaffeError.usage("--gray gives 1-channel input, but the net takes \(input[1]) channels") }
        if t?.forceGray == true && input[1] != 1 { throw CaffeError.usage("\(transform!.origin) has force_gray, but the net takes \(input[1]) channels") }
        guard input[1] == 1 || input[1] == 3 else {
            throw CaffeError.usage("the net takes \(input[1])-channel input; images give 1 (grey) or 3 (BGR)")
        }
        if let crop = t?.cropSize, crop > 0, crop != h || crop != w {
            throw CaffeError.usage("\(transform!.origin) crops \(crop)×\(crop), but the net's input is \(h)×\(w)")
        }
        var mean = ClassifierPreprocessing.Mean.none
        var fromTransform: [String] = []
        if let v = meanValues {
            mean = .values(v)
        } else if let file = meanFile {
            mean = .image(try MeanImage.read(path: file), name: file)
        } else if let t, !t.meanValue.isEmpty {
            mean = .values(t.meanValue.map(Float.init))
            fromTransform.append("mean")
        } else if let t, t.has(.meanFile) {
            mean = .image(try MeanImage.read(path: t.meanFile), name: t.meanFile)
            fromTransform.append("mean")
        }
        var factor: Float = 1
        if let scale {
            factor = scale
        } else if let t, t.has(.scale) {
            factor = Float(t.scale)
            fromTransform.append("scale")
        }
        let size = resize ?? (h >= 224 || w >= 224 ? (max(256, h), max(256, w)) : (h, w))
        let origin = fromTransform.isEmpty ? nil : "\(fromTransform.joined(separator: " and ")) from \(transform!.origin)"
        var p = ClassifierPreprocessing(resize: size, crop: (h, w), mean: mean, scale: factor, gray: input[1] == 1,
                                        oversample: oversample, origin: origin)
        p.valuesUnspecified = saysNothingOfValues
        return p
    }
}
