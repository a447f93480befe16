/// DeepLab's Interp (deeplab-public-ver2, interp_param): bilinear resizing
/// with the corners aligned, output pixel (h, w) sampling the input at
/// (h·(in_h − 1)/(out_h − 1), w·(in_w − 1)/(out_w − 1)). The output size is
/// height × width, or from the factors: shrunk to (in − 1)/shrink + 1, then
/// zoomed to in + (in − 1)(zoom − 1). pad_beg and pad_end crop the input
/// first; DeepLab accepts only values ≤ 0 there.
struct InterpPlan: LayerPlan {
    static let type = "Interp"
    static let bottoms = 1...1
    static let tops = 1...1
    let param: Caffe.InterpParameter
    let padBegin: Int, padEnd: Int

    init(_ l: LayerParameter) throws {
        param = l.proto.interpParam
        (padBegin, padEnd) = (param.padBeg, param.padEnd)
        try refuseInPlace(l, because: "the sizes differ")
        for (field, v) in [(Caffe.InterpParameter.Field.padBeg, padBegin), (.padEnd, padEnd)] where v > 0 {
            throw PlanError("interp_param \(field.name) \(v): DeepLab's Interp only crops, so it must be ≤ 0", at: param.location(of: field))
        }
        let p = param
        if p.has(.zoomFactor), p.zoomFactor < 1 { throw PlanError("interp_param zoom_factor must be ≥ 1, found \(p.zoomFactor)", at: p.location(of: .zoomFactor)) }
        if p.has(.shrinkFactor), p.shrinkFactor < 1 {
            throw PlanError("interp_param shrink_factor must be ≥ 1, found \(p.shrinkFactor)", at: p.location(of: .shrinkFactor))
        }
        let factors = p.has(.zoomFactor) || p.has(.shrinkFactor), size = p.has(.height) && p.has(.width)
        guard factors || size else {
            throw PlanError("Interp needs interp_param height and width, zoom_factor, or shrink_factor", at: p.message.location ?? l.location)
        }
        if size, p.height < 1 || p.width < 1 {
            throw PlanError("interp_param height and width must be ≥ 1, found \(p.height)×\(p.width)", at: p.location(of: .height))
        }
    }

    /// (cropped input, output) sizes of one spatial axis.
    func sizes(input: Int, given: Int) -> (Int, Int) {
        let effective = input + padBegin + padEnd
        let p = param
        if p.has(.height) && p.has(.width) && !(p.has(.zoomFactor) || p.has(.shrinkFactor)) { return (effective, given) }
        var out = effective
        if p.has(.shrinkFactor) { out = (out - 1) / p.shrinkFactor + 1 }
        if p.has(.zoomFactor) { out = out + (out - 1) * (p.zoomFactor - 1) }
        return (effective, out)
    }

    func plan(_ b: [Shape]) throws -> PlannedShapes {
        guard b[0].count == 4 else { throw PlanError("Interp needs an N×C×H×W input, found \(describe(b[0]))") }
        let (inH, outH) = sizes(input: b[0][2], given: param.height), (inW, outW) = sizes(input: b[0][3], given: param.width)
        guard inH > 0, inW > 0 else {
            throw PlanError("interp_param pad_beg \(padBegin) and pad_end \(padEnd) crop all of the \(b[0][2])×\(b[0][3]) input",
                            at: param.location(of: .padBeg) ?? param.location(of: .padEnd))
        }
        let top = [b[0][0], b[0][1], outH, outW]
        try SizeLimit.check(shape: top, what: "the resized output")
        return PlannedShapes(tops: [top], macs: 4 * count(top))
    }
}

/// Forward samples the four neighbours with DeepLab's float weights;
/// backward sends each output gradient back to them by the same weights.
final class InterpLayer: Layer {
    private let interp: InterpPlan

    required init(_ ctx: LayerContext) throws {
        interp = ctx.plan(InterpPlan.self)
        try super.init(ctx)
    }

    /// One axis: for each output index, the first input index, the step to
    /// the second (0 at the last) and the second's weight.
    private func axis(_ input: Int, _ output: Int) -> [(Int, Int, Float)] {
        let ratio: Float = output > 1 ? Float(input - 1) / Float(output - 1) : 0
        return (0..<output).map { o in
            let r = ratio * Float(o), i = Int(r)
            return (i, i < input - 1 ? 1 : 0, r - Float(i))
        }
    }

    private func walk(_ b: Blob, _ t: Blob, _ body: (_ plane: Int, _ at: Int, _ down: Int, _ right: Int, _ out: Int, _ hl: Float, _ wl: Float) -> Void) {
        let (inH, _) = interp.sizes(input: b.dim(2), given: 0), (inW, _) = interp.sizes(input: b.dim(3), given: 0)
        let rows = axis(inH, t.dim(2)), cols = axis(inW, t.dim(3)), width = b.dim(3), origin = -interp.padBegin
        for plane in 0..<(b.dim(0) * b.dim(1)) {
            for (h, (y, dy, hl)) in rows.enumerated() {
                for (w, (x, dx, wl)) in cols.enumerated() {
                    body(plane, (origin + y) * width + origin + x, dy * width, dx, h * t.dim(3) + w, hl, wl)
                }
            }
        }
    }

    override func forward(_ bottoms: [Blob], _ tops: [Blob]) throws {
        let (b, t) = (bottoms[0], tops[0])
        let x = b.data, y = t.data, inPlane = b.count(from: 2), outPlane = t.count(from: 2)
        walk(b, t) { plane, at, down, right, out, hl, wl in
            let p = x + plane * inPlane + at
            y[plane * outPlane + out] = (1 - hl) * ((1 - wl) * p[0] + wl * p[right]) + hl * ((1 - wl) * p[down] + wl * p[down + right])
        }
    }

    override func backward(_ tops: [Blob], _ propagateDown: [Bool], _ bottoms: [Blob]) throws {
        guard propagateDown[0] else { return }
        let (b, t) = (bottoms[0], tops[0])
        b.zeroDiff()
        let dx = b.diff, dy = t.diff, inPlane = b.count(from: 2), outPlane = t.count(from: 2)
        walk(b, t) { plane, at, down, right, out, hl, wl in
            let p = dx + plane * inPlane + at, g = dy[plane * outPlane + out]
            p[0] += (1 - hl) * (1 - wl) * g
            p[right] += (1 - hl) * wl * g
            p[down] += hl * (1 - wl) * g
            p[down + right] += hl * wl * g
        }
    }
}
