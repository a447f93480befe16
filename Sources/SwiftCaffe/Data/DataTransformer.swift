import Foundation

/// Caffe's DataTransformer for one record: crop (random offsets in TRAIN,
/// the centre in TEST), mirror (at random, when asked), subtract the mean
/// (a mean image at the record's own coordinates, or per-channel values),
/// then scale: out = (x − mean) · scale. Optionally the AlexNet paper's PCA
/// colour noise (SwiftCaffe's `--pca-noise`, TRAIN only).
public struct DataTransformer: Sendable {
    public let scale: Float
    public let mirror: Bool
    public let crop: Int
    public let meanImage: MeanImage?
    public let meanValues: [Float]
    public let phase: Phase
    public var colorNoise: ColorNoise?
    let layerLabel: String

    public init(_ layer: LayerParameter, phase: Phase) throws {
        let p = layer.proto.transformParam
        scale = Float(p.scale)
        mirror = p.mirror
        crop = p.cropSize
        meanValues = p.meanValue.map { Float($0) }
        self.phase = phase
        layerLabel = layer.label
        if p.has(.meanFile) {
            guard meanValues.isEmpty else {
                throw CaffeError.at(p.location(of: .meanValue), "\(layer.label): give mean_file or mean_value, not both (Caffe refuses both)")
            }
            let file = p.meanFile
            do { meanImage = try MeanImage.read(path: file) } catch {
                throw CaffeError.at(p.location(of: .meanFile), "\(layer.label): cannot read mean_file \"\(file)\": \(error)")
            }
        } else {
            meanImage = nil
        }
    }

    /// The shape one record becomes.
    public func outputShape(_ record: Shape) -> Shape {
        crop > 0 ? [record[0], crop, crop] : record
    }

    /// Checks a record against the settings; `name` cites the record.
    public func validate(_ d: Datum, name: String) throws {
        if crop > 0, crop > d.height || crop > d.width {
            throw CaffeError.io(path: name, reason: "\(layerLabel): crop_size \(crop) is larger than the \(d.height)×\(d.width) image")
        }
        if let m = meanImage, m.channels != d.channels || m.height != d.height || m.width != d.width {
            throw CaffeError.io(path: name, reason: "\(layerLabel): the mean image is \(m.channels)×\(m.height)×\(m.width), "
                                + "the record \(d.channels)×\(d.height)×\(d.width); they must match")
        }
        if meanValues.count > 1, meanValues.count != d.channels {
            throw CaffeError.io(path: name, reason: "\(layerLabel): \(meanValues.count) mean_value entries for \(d.channels) channel(s); give 1 or \(d.channels)")
        }
    }

    /// Writes the transformed record (C × outH × outW) to `out`.
    public func transform(_ d: Datum, into out: UnsafeMutablePointer<Float>, rng: inout RandomSource) {
        let (c, h, w) = (d.channels, d.height, d.width)
        let outH = crop > 0 ? crop : h, outW = crop > 0 ? crop : w
        var top = 0, left = 0
        if crop > 0 {
            if phase == .train {
                top = Int(rng.next() % UInt64(h - crop + 1))
                left = Int(rng.next() % UInt64(w - crop + 1))
            } else {
                top = (h - crop) / 2
                left = (w - crop) / 2
            }
        }
        let flip = mirror && rng.next() % 2 == 1
        var shift = [Float](repeating: 0, count: c)
        if phase == .train, let noise = colorNoise { shift = noise.sample(channels: c, &rng) }
        let meanData = meanImage?.values
        for ch in 0..<c {
            let channelMean: Float = meanValues.isEmpty ? 0 : meanValues[meanValues.count == 1 ? 0 : ch]
            for y in 0..<outH {
                let src = (ch * h + top + y) * w + left
                let dst = (ch * outH + y) * outW
                for x in 0..<outW {
                    let v: Float = d.pixels.isEmpty ? d.floats[src + x] : Float(d.pixels[src + x])
                    let m = meanData.map { $0[src + x] } ?? channelMean
                    out[dst + (flip ? outW - 1 - x : x)] = (v + shift[ch] - m) * scale
                }
            }
        }
    }
}

/// The AlexNet paper's colour augmentation: along each principal component
/// p_i of the training pixels' channel covariance, add α_i·s_i with
/// α_i ~ N(0, σ) drawn once per image, s_i the component's standard
/// deviation (√λ_i, in pixel units). The components are estimated from a
/// sample of the records when training starts.
public struct ColorNoise: Sendable {
    public let sigma: Float
    /// Column i is component i.
    public let components: [[Float]]
    public let deviations: [Float]

    public init(sigma: Float, components: [[Float]], deviations: [Float]) {
        self.sigma = sigma
        self.components = components
        self.deviations = deviations
    }

    /// Estimates the components from up to `sampleCount` records.
    public static func estimate(sigma: Float, source: RecordSource, sampleCount: Int = 500) throws -> ColorNoise {
        let n = min(sampleCount, source.count)
        var sum: [Double] = [], cross: [[Double]] = []
        var pixels = 0.0
        var channels = 0
        for k in 0..<n {
            let d = try source.record(k * max(1, source.count / n))
            if channels == 0 {
                channels = d.channels
                sum = Array(repeating: 0, count: channels)
                cross = Array(repeating: Array(repeating: 0, count: channels), count: channels)
            }
            guard d.channels == channels else { continue }
            let plane = d.height * d.width
            for i in 0..<plane {
                var v = [Double](repeating: 0, count: channels)
                for c in 0..<channels { v[c] = d.pixels.isEmpty ? Double(d.floats[c * plane + i]) : Double(d.pixels[c * plane + i]) }
                for a in 0..<channels {
                    sum[a] += v[a]
                    for b in 0..<channels { cross[a][b] += v[a] * v[b] }
                }
            }
            pixels += Double(plane)
        }
        var cov = cross
        for a in 0..<channels { for b in 0..<channels { cov[a][b] = cross[a][b] / pixels - (sum[a] / pixels) * (sum[b] / pixels) } }
        let (values, vectors) = symmetricEigen(cov)
        return ColorNoise(sigma: sigma, components: vectors.map { $0.map { Float($0) } },
                          deviations: values.map { Float(max(0, $0).squareRoot()) })
    }

    /// Per-channel shift for one image.
    func sample(channels: Int, _ rng: inout RandomSource) -> [Float] {
        guard channels == deviations.count else { return Array(repeating: 0, count: channels) }
        let alphas = (0..<channels).map { _ in rng.gaussian() * sigma }
        return (0..<channels).map { c in (0..<channels).reduce(Float(0)) { $0 + components[c][$1] * alphas[$1] * deviations[$1] } }
    }

    /// Eigenvalues and eigenvectors (columns) of a small symmetric matrix, by Jacobi rotations.
    static func symmetricEigen(_ m: [[Double]]) -> (values: [Double], vectors: [[Double]]) {
        let n = m.count
        var a = m
        var v = (0..<n).map { i in (0..<n).map { $0 == i ? 1.0 : 0.0 } }
        for _ in 0..<100 {
            var off = 0.0
            for i in 0..<n { for j in 0..<n where i != j { off += a[i][j] * a[i][j] } }
            if off < 1e-18 { break }
            for p in 0..<n {
                for q in (p + 1)..<max(p + 1, n) where abs(a[p][q]) > 1e-30 {
                    let theta = (a[q][q] - a[p][p]) / (2 * a[p][q])
                    let t = (theta >= 0 ? 1.0 : -1.0) / (abs(theta) + (theta * theta + 1).squareRoot())
                    let c = 1 / (t * t + 1).squareRoot(), s = t * c
                    for k in 0..<n {
                        let akp = a[k][p], akq = a[k][q]
                        a[k][p] = c * akp - s * akq
                        a[k][q] = s * akp + c * akq
                    }
                    for k in 0..<n {
                        let apk = a[p][k], aqk = a[q][k]
                        a[p][k] = c * apk - s * aqk
                        a[q][k] = s * apk + c * aqk
                    }
                    for k in 0..<n {
                        let vkp = v[k][p], vkq = v[k][q]
                        v[k][p] = c * vkp - s * vkq
                        v[k][q] = s * vkp + c * vkq
                    }
                }
            }
        }
        return ((0..<n).map { a[$0][$0] }, v)
    }
}
