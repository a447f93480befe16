/// Upsample, as two forks define it (upsample_param). With two bottoms,
/// SegNet's unpooling (alexgkendall/caffe-segnet): bottom 1 is a MAX
/// Pooling's mask top, and each value goes to the output position its mask
/// names, the rest 0. With one bottom, the YOLO v3 ports' nearest-neighbour
/// enlargement: each value repeated over a scale_h × scale_w block. The
/// output is upsample_h × upsample_w if given, else in·scale (minus 1 with
/// pad_out_h/pad_out_w, SegNet's odd sizes at scale 2).
struct UpsamplePlan: LayerPlan {
    static let type = "Upsample"
    static let bottoms = 1...2
    static let tops = 1...1
    let param: Caffe.UpsampleParameter
    let scaleH: Int, scaleW: Int
    /// 0: from the scale.
    let outH: Int, outW: Int

    init(_ l: LayerParameter) throws {
        let p = l.proto.upsampleParam
        param = p
        try refuseInPlace(l, because: "the sizes differ")
        if p.has(.upsampleH) || p.has(.upsampleW) {
            guard p.has(.upsampleH), p.has(.upsampleW) else {
                throw PlanError("give both upsample_h and upsample_w, or neither", at: p.location(of: p.has(.upsampleH) ? .upsampleH : .upsampleW))
            }
            guard p.upsampleH > 1, p.upsampleW > 1 else {
                throw PlanError("upsample_param upsample_h and upsample_w must be > 1, found \(p.upsampleH)×\(p.upsampleW)", at: p.location(of: .upsampleH))
            }
            (outH, outW, scaleH, scaleW) = (p.upsampleH, p.upsampleW, 0, 0)
            return
        }
        if p.has(.scaleH) || p.has(.scaleW) {
            guard p.has(.scaleH), p.has(.scaleW), !p.has(.scale) else {
                throw PlanError("give scale, or both scale_h and scale_w", at: p.location(of: p.has(.scaleH) ? .scaleH : .scaleW))
            }
            (scaleH, scaleW) = (p.scaleH, p.scaleW)
        } else {
            (scaleH, scaleW) = (p.scale, p.scale)
        }
        // SegNet wants a scale > 1; a scale of 1 is a copy, which YOLO ports accept.
        guard scaleH >= 1, scaleW >= 1 else { throw PlanError("upsample_param scale must be ≥ 1, found \(scaleH)×\(scaleW)", at: p.location(of: .scale)) }
        for (field, pad, scale) in [(Caffe.UpsampleParameter.Field.padOutH, p.padOutH, scaleH), (.padOutW, p.padOutW, scaleW)] where pad && scale != 2 {
            throw PlanError("upsample_param \(field.name) makes the output 2·in − 1, so it needs scale 2, found \(scale)", at: p.location(of: field))
        }
        (outH, outW) = (0, 0)
    }

    func outputSize(_ inH: Int, _ inW: Int) -> (Int, Int) {
        outH > 0 ? (outH, outW) : (inH * scaleH - (param.padOutH ? 1 : 0), inW * scaleW - (param.padOutW ? 1 : 0))
    }

    func plan(_ b: [Shape]) throws -> PlannedShapes {
        guard b[0].count == 4 else { throw PlanError("Upsample needs an N×C×H×W input, found \(describe(b[0]))") }
        if b.count == 2, b[1] != b[0] {
            throw PlanError("Upsample's mask (bottom 1, \(describe(b[1]))) must have the shape of its input (\(describe(b[0])))")
        }
        let (h, w) = outputSize(b[0][2], b[0][3])
        if b.count == 1, h % b[0][2] != 0 || w % b[0][3] != 0 {
            throw PlanError("without a mask, Upsample repeats each value, but the \(h)×\(w) output is not a multiple of the \(b[0][2])×\(b[0][3]) input",
                            at: param.location(of: outH > 0 ? .upsampleH : param.padOutH ? .padOutH : .padOutW))
        }
        let top = [b[0][0], b[0][1], h, w]
        try SizeLimit.check(shape: top, what: "the upsampled output")
        return PlannedShapes(tops: [top])
    }
}

final class UpsampleLayer: Layer {
    override func allowsForceBackward(_ bottom: Int) -> Bool { bottom == 0 }

    /// The output position (within its plane) of each input value of a plane,
    /// for nearest-neighbour blocks.
    private func blocks(_ b: Blob, _ t: Blob, _ body: (_ input: Int, _ output: Int) -> Void) {
        let (inH, inW, outH, outW) = (b.dim(2), b.dim(3), t.dim(2), t.dim(3))
        let (sh, sw) = (outH / inH, outW / inW)
        for oy in 0..<outH {
            for ox in 0..<outW { body((oy / sh) * inW + ox / sw, oy * outW + ox) }
        }
    }

    /// The mask's output position for input value i of `plane`, checked.
    private func target(_ mask: UnsafeMutablePointer<Float>, _ i: Int, plane: Int, outPlane: Int) throws -> Int {
        let v = mask[i]
        guard v >= 0, v < Float(outPlane), v == v.rounded(.down) else {
            throw fail("mask value \(v) at position \(i) of plane \(plane) is not a position of the \(outPlane)-value output plane: "
                       + "the scale or upsample_h/upsample_w must match the Pooling that made the mask")
        }
        return Int(v)
    }

    override func forward(_ bottoms: [Blob], _ tops: [Blob]) throws {
        let (b, t) = (bottoms[0], tops[0])
        let x = b.data, y = t.data, planes = b.dim(0) * b.dim(1), inPlane = b.count(from: 2), outPlane = t.count(from: 2)
        if bottoms.count == 2 {
            t.zeroData()
            let mask = bottoms[1].data
            for p in 0..<planes {
                for i in 0..<inPlane { y[p * outPlane + (try target(mask + p * inPlane, i, plane: p, outPlane: outPlane))] = x[p * inPlane + i] }
            }
        } else {
            for p in 0..<planes {
                let (src, dst) = (x + p * inPlane, y + p * outPlane)
                blocks(b, t) { i, o in dst[o] = src[i] }
            }
        }
    }

    override func backward(_ tops: [Blob], _ propagateDown: [Bool], _ bottoms: [Blob]) throws {
        let (b, t) = (bottoms[0], tops[0])
        if bottoms.count == 2, propagateDown[1] { bottoms[1].zeroDiff() }
        guard propagateDown[0] else { return }
        let dx = b.diff, dy = t.diff, planes = b.dim(0) * b.dim(1), inPlane = b.count(from: 2), outPlane = t.count(from: 2)
        if bottoms.count == 2 {
            let mask = bottoms[1].data
            for p in 0..<planes {
                for i in 0..<inPlane { dx[p * inPlane + i] = dy[p * outPlane + (try target(mask + p * inPlane, i, plane: p, outPlane: outPlane))] }
            }
        } else {
            b.zeroDiff()
            for p in 0..<planes {
                let (src, dst) = (dy + p * outPlane, dx + p * inPlane)
                blocks(b, t) { i, o in dst[i] += src[o] }
            }
        }
    }
}
