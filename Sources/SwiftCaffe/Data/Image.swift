import CImageCodecs
import Foundation

/// An 8-bit RGB image decoded from JPEG or PNG (libjpeg, libpng): grey is
/// expanded, alpha dropped, 16-bit samples scaled to 8 bits, CMYK converted.
public struct RGBImage: Sendable {
    public var width: Int
    public var height: Int
    /// height × width × 3, row-major, R G B.
    public var pixels: [UInt8]
    /// Channels in the file (1 grey, 2 grey+alpha, 3 RGB, 4 RGBA or CMYK).
    public var sourceChannels: Int

    public static func read(path: String) throws -> RGBImage {
        try decode(try readFile(path), name: path)
    }

    /// Decodes JPEG or PNG bytes; `name` (a file, or a database record) is what errors cite.
    public static func decode(_ bytes: [UInt8], name: String) throws -> RGBImage {
        guard !bytes.isEmpty else { throw CaffeError.io(path: name, reason: "image data is empty") }
        var rgb: UnsafeMutablePointer<UInt8>?
        var w: Int32 = 0, h: Int32 = 0, channels: Int32 = 0
        var message = [CChar](repeating: 0, count: 512)
        let status = bytes.withUnsafeBufferPointer { b in
            sc_decode_image(b.baseAddress, b.count, &rgb, &w, &h, &channels, &message, message.count)
        }
        guard status == 0, let p = rgb else {
            throw CaffeError.io(path: name, reason: String(decoding: message.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        defer { free(p) }
        return RGBImage(width: Int(w), height: Int(h), pixels: Array(UnsafeBufferPointer(start: p, count: Int(w) * Int(h) * 3)),
                        sourceChannels: Int(channels))
    }

    /// Channels-first 8-bit planes as Caffe's Datum holds them: BGR for
    /// colour, or one grey plane (0.299 R + 0.587 G + 0.114 B, OpenCV's
    /// weights), resized first when a size is given (bilinear, rounded).
    public func datumPlanes(color: Bool, height outH: Int? = nil, width outW: Int? = nil) -> (channels: Int, height: Int, width: Int, pixels: [UInt8]) {
        let h = outH ?? height, w = outW ?? width
        let bgr: [Float] = (h == height && w == width) ? directBGR() : bgrPlanes(height: h, width: w)
        let plane = h * w
        if color {
            return (3, h, w, bgr.map { UInt8(max(0, min(255, $0.rounded()))) })
        }
        var grey = [UInt8](repeating: 0, count: plane)
        for i in 0..<plane {
            let v = 0.114 * bgr[i] + 0.587 * bgr[plane + i] + 0.299 * bgr[2 * plane + i]
            grey[i] = UInt8(max(0, min(255, v.rounded())))
        }
        return (1, h, w, grey)
    }

    private func directBGR() -> [Float] {
        let plane = height * width
        var out = [Float](repeating: 0, count: 3 * plane)
        for i in 0..<plane {
            for c in 0..<3 { out[(2 - c) * plane + i] = Float(pixels[i * 3 + c]) }
        }
        return out
    }

    /// Channels first, BGR (as Caffe's models expect), 0–255, resized to
    /// height × width by bilinear interpolation with pixel centres at +0.5
    /// (OpenCV's INTER_LINEAR geometry), computed in floating point.
    public func bgrPlanes(height outH: Int, width outW: Int) -> [Float] {
        var out = [Float](repeating: 0, count: 3 * outH * outW)
        let sy = Double(height) / Double(outH), sx = Double(width) / Double(outW)
        for y in 0..<outH {
            let fy = max(0, min(Double(height - 1), (Double(y) + 0.5) * sy - 0.5))
            let y0 = Int(fy), y1 = min(y0 + 1, height - 1), wy = Float(fy - Double(y0))
            for x in 0..<outW {
                let fx = max(0, min(Double(width - 1), (Double(x) + 0.5) * sx - 0.5))
                let x0 = Int(fx), x1 = min(x0 + 1, width - 1), wx = Float(fx - Double(x0))
                for c in 0..<3 {
                    func p(_ yy: Int, _ xx: Int) -> Float { Float(pixels[(yy * width + xx) * 3 + c]) }
                    let top = p(y0, x0) * (1 - wx) + p(y0, x1) * wx
                    let bottom = p(y1, x0) * (1 - wx) + p(y1, x1) * wx
                    // RGB → BGR: channel c goes to plane 2 − c.
                    out[((2 - c) * outH + y) * outW + x] = top * (1 - wy) + bottom * wy
                }
            }
        }
        return out
    }
}

/// Caffe's test-time preprocessing for classification nets: resize, subtract
/// the mean (an image, at the crop's own offsets as Caffe's data transformer
/// does, or per-channel values), then the centre crop, or with `oversample`
/// the AlexNet paper's 10 crops: the 4 corners and the centre, and their
/// mirror images.
public struct ClassifierPreprocessing: Sendable {
    public enum Mean: Sendable {
        case none
        case image(MeanImage, name: String)
        case values([Float])
    }

    public var resize: (height: Int, width: Int)
    public var crop: (height: Int, width: Int)
    public var mean: Mean
    public var oversample: Bool

    public init(resize: (height: Int, width: Int), crop: (height: Int, width: Int), mean: Mean, oversample: Bool) {
        self.resize = resize
        self.crop = crop
        self.mean = mean
        self.oversample = oversample
    }

    public var description: String {
        var parts = ["resize to \(resize.height)×\(resize.width) (bilinear)", "RGB → BGR", "channels first", "values 0–255"]
        switch mean {
        case .none: parts.append("no mean subtracted")
        case .image(let m, let name): parts.append("minus the mean image \(name) (\(m.height)×\(m.width), at each crop's position)")
        case .values(let v): parts.append("minus mean values " + v.map { String(format: "%g", $0) }.joined(separator: ","))
        }
        parts.append(oversample ? "10 crops of \(crop.height)×\(crop.width) (4 corners + centre, and their mirrors), predictions averaged"
                                : "centre crop \(crop.height)×\(crop.width)")
        return parts.joined(separator: ", ")
    }

    /// The crops of one image, each channels × crop height × crop width.
    public func crops(_ image: RGBImage) throws -> [[Float]] {
        let (H, W) = resize, (h, w) = crop
        guard h <= H, w <= W else { throw CaffeError.usage("the net's input \(h)×\(w) is larger than the resize \(H)×\(W)") }
        let bytes = MemoryBudget.floats(product(3, H, W))
        if let short = MemoryBudget.shortfall(bytes) {
            throw CaffeError.usage("resizing to \(H)×\(W) needs \(MemoryBudget.describe(bytes)) per image, \(short)")
        }
        var planes = image.bgrPlanes(height: H, width: W)
        var subtractAfterCrop: [Float]?
        switch mean {
        case .none: break
        case .values(let v):
            guard v.count == 1 || v.count == 3 else { throw CaffeError.usage("give 1 or 3 mean values, found \(v.count)") }
            for c in 0..<3 { for i in 0..<(H * W) { planes[c * H * W + i] -= v[v.count == 1 ? 0 : c] } }
        case .image(let m, let name):
            guard m.channels == 3 else { throw CaffeError.usage("the mean image \(name) has \(m.channels) channels, the images 3") }
            if m.height == H, m.width == W {
                for i in planes.indices { planes[i] -= m.values[i] }
            } else if m.height >= h, m.width >= w {
                subtractAfterCrop = try m.centreCrop(height: h, width: w)
            } else {
                throw CaffeError.usage("the mean image \(name) is \(m.height)×\(m.width); it must match the resize \(H)×\(W) or cover the \(h)×\(w) crop")
            }
        }
        func cut(_ top: Int, _ left: Int, mirror: Bool) -> [Float] {
            var out = [Float](repeating: 0, count: 3 * h * w)
            for c in 0..<3 {
                for y in 0..<h {
                    for x in 0..<w {
                        let sx = mirror ? left + w - 1 - x : left + x
                        out[(c * h + y) * w + x] = planes[(c * H + top + y) * W + sx] - (subtractAfterCrop?[(c * h + y) * w + x] ?? 0)
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
