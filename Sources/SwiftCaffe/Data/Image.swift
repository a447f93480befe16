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
        if color {
            return (3, h, w, bgr.map { UInt8(max(0, min(255, $0.rounded()))) })
        }
        return (1, h, w, Self.grey(bgr).map { UInt8(max(0, min(255, $0.rounded()))) })
    }

    /// One grey plane, 0–255, resized as `bgrPlanes` does: 0.299 R + 0.587 G
    /// + 0.114 B, OpenCV's weights (what Caffe's `--gray` reading gives).
    public func greyPlane(height outH: Int, width outW: Int) -> [Float] {
        Self.grey(bgrPlanes(height: outH, width: outW))
    }

    private static func grey(_ bgr: [Float]) -> [Float] {
        let plane = bgr.count / 3
        return (0..<plane).map { i in 0.114 * bgr[i] + 0.587 * bgr[plane + i] + 0.299 * bgr[2 * plane + i] }
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
