import CKernels
import Foundation

/// Pooling (MAX, AVE, STOCHASTIC) on N×C×H×W. Output ⌈(in + 2·pad − k) / stride⌉ + 1
/// (⌊⌋ with round_mode FLOOR), less one when the last window would start in
/// the padding. A second top holds MAX pooling's argmax mask.
struct PoolingPlan: LayerPlan {
    static let type = "Pooling"
    static let bottoms = 1...1
    static let tops = 1...2
    typealias Method = Caffe.PoolingParameter.PoolMethod

    let method: Method
    let global: Bool
    let kernel: (h: Int, w: Int)
    let stride: (h: Int, w: Int)
    let pad: (h: Int, w: Int)
    let ceilMode: Bool
    let param: Caffe.PoolingParameter

    init(_ l: LayerParameter) throws {
        param = l.proto.poolingParam
        method = param.pool
        global = param.globalPooling
        ceilMode = param.roundMode != .floor
        let hasK = param.has(.kernelSize), hasHW = param.has(.kernelH) || param.has(.kernelW)
        if global {
            guard !hasK, !hasHW else { throw PlanError("with global_pooling the kernel size cannot be given", at: param.location(of: hasK ? .kernelSize : .kernelH)) }
            kernel = (0, 0)
        } else {
            guard hasK != hasHW else {
                throw PlanError(hasK ? "give kernel_size or kernel_h/kernel_w, not both" : "kernel size is required: set kernel_size (or kernel_h and kernel_w)",
                                at: param.location)
            }
            if hasHW {
                guard param.has(.kernelH), param.has(.kernelW) else { throw PlanError("give both kernel_h and kernel_w", at: param.location) }
                kernel = (param.kernelH, param.kernelW)
            } else {
                kernel = (param.kernelSize, param.kernelSize)
            }
            guard kernel.h > 0, kernel.w > 0 else { throw PlanError("kernel size must be > 0", at: param.location(of: hasK ? .kernelSize : .kernelH)) }
        }
        if param.has(.padH) || param.has(.padW) {
            guard !param.has(.pad) else { throw PlanError("give pad or pad_h/pad_w, not both", at: param.location(of: .pad)) }
            pad = (param.padH, param.padW)
        } else {
            pad = (param.pad, param.pad)
        }
        if param.has(.strideH) || param.has(.strideW) {
            guard !param.has(.stride) else { throw PlanError("give stride or stride_h/stride_w, not both", at: param.location(of: .stride)) }
            stride = (param.has(.strideH) ? param.strideH : 1, param.has(.strideW) ? param.strideW : 1)
        } else {
            stride = (param.stride, param.stride)
        }
        guard stride.h > 0, stride.w > 0 else { throw PlanError("stride must be > 0", at: param.location(of: .stride)) }
        if global {
            guard pad == (0, 0), stride == (1, 1) else { throw PlanError("with global_pooling only pad 0 and stride 1 are allowed", at: param.location) }
        }
        if pad != (0, 0) {
            guard method != .stochastic else { throw PlanError("padding works only with MAX and AVE pooling", at: param.location(of: .pad)) }
            guard pad.h < kernel.h, pad.w < kernel.w else { throw PlanError("pad must be smaller than the kernel", at: param.location(of: .pad)) }
        }
        for v in [kernel.h, kernel.w, stride.h, stride.w, pad.h, pad.w] { try SizeLimit.check(v, "kernel, stride or pad", at: param.location) }
        if l.tops.count == 2, method != .max {
            throw PlanError("a second top (the argmax mask) exists only for MAX pooling")
        }
    }

    func plan(_ bottoms: [Shape]) throws -> PlannedShapes {
        let b = bottoms[0]
        guard b.count == 4 else { throw PlanError("input must have 4 axes (N×C×H×W), found \(describe(b))") }
        let k = global ? (b[2], b[3]) : kernel
        func size(_ input: Int, _ k: Int, _ p: Int, _ s: Int) throws -> Int {
            let span = Double(input + 2 * p - k) / Double(s)
            var o = Int(ceilMode ? span.rounded(.up) : span.rounded(.down)) + 1
            if p > 0, (o - 1) * s >= input + p { o -= 1 }
            guard o > 0, input + 2 * p >= k else {
                throw PlanError("kernel \(k) is larger than the padded input \(input + 2 * p)", at: param.location)
            }
            return o
        }
        let oh = try size(b[2], k.0, pad.h, stride.h)
        let ow = try size(b[3], k.1, pad.w, stride.w)
        let top = [b[0], b[1], oh, ow]
        return PlannedShapes(tops: [top, top])
    }
}

/// MAX and AVE pooling over each channel plane, with Caffe's windows: a
/// window starts at p·stride − pad; MAX looks at the part inside the image
/// (remembering where the maximum was, in a second top if asked); AVE divides
/// by the window's size clipped to the padded image, so padding counts as
/// zeros. Backward routes dy to the argmax (MAX) or spreads dy/size (AVE).
final class PoolingLayer: Layer {
    private let pooling: PoolingPlan
    private var argmax: [Int32] = [0]

    required init(_ ctx: LayerContext) throws {
        pooling = ctx.plan(PoolingPlan.self)
        guard pooling.method != .stochastic else {
            throw CaffeError.at(ctx.parameter.location, "\(ctx.parameter.label): STOCHASTIC pooling is not supported by the CPU runtime (Caffe runs it on GPUs only)")
        }
        try super.init(ctx)
    }

    private struct Window {
        let kh, kw, sh, sw, ph, pw, height, width, outH, outW: Int
    }

    private func window(_ b: Blob, _ t: Blob) -> Window {
        let global = pooling.global
        return Window(kh: global ? b.dim(2) : pooling.kernel.h, kw: global ? b.dim(3) : pooling.kernel.w,
                      sh: pooling.stride.h, sw: pooling.stride.w, ph: pooling.pad.h, pw: pooling.pad.w,
                      height: b.dim(2), width: b.dim(3), outH: t.dim(2), outW: t.dim(3))
    }

    override func forward(_ bottoms: [Blob], _ tops: [Blob]) throws {
        let (b, t) = (bottoms[0], tops[0])
        let w = window(b, t)
        let planes = b.dim(0) * b.dim(1)
        let x = SharedPointer(b.data), y = SharedPointer(t.data)
        let isMax = pooling.method == .max
        if isMax, !runsBackward, tops.count == 1 {
            // Forward only: no argmax to keep, vectorised maxima.
            if w.kh == 3, w.kw == 3, w.sh == 1, w.sw == 1, w.ph == 1, w.pw == 1, w.outH == w.height, w.outW == w.width {
                // GoogLeNet's pool branch: the planes as one flat run.
                let tasks = b.count < Parallel.serialWork ? 1 : min(planes, Parallel.threads)
                let maskFloats = Int(sc_max_pool_3x3s1_masks_floats(Int32(w.height), Int32(w.width)))
                let masks = SharedPointer(workspace.buffer(0, count: tasks * maskFloats))
                Parallel.forEach(tasks) { i in
                    sc_max_pool_3x3s1(x.base, y.base, planes, Int32(w.height), Int32(w.width), planes * i / tasks,
                                      planes * (i + 1) / tasks, masks.advanced(by: i * maskFloats))
                }
                return
            }
            let rowFloats = Int(sc_max_pool_row_floats(Int32(w.width), Int32(w.outW), Int32(w.kw), Int32(w.sw)))
            let rows = SharedPointer(workspace.buffer(0, count: planes * rowFloats))
            Parallel.forEach(planes, work: b.count) { p in
                sc_max_pool_plane(x.advanced(by: p * w.height * w.width), y.advanced(by: p * w.outH * w.outW),
                                  Int32(w.height), Int32(w.width), Int32(w.outH), Int32(w.outW), Int32(w.kh), Int32(w.kw),
                                  Int32(w.sh), Int32(w.sw), Int32(w.ph), Int32(w.pw), rows.advanced(by: p * rowFloats))
            }
            return
        }
        if isMax, argmax.count != t.count { argmax = Array(repeating: 0, count: t.count) }
        argmax.withUnsafeMutableBufferPointer { am in
            let mask = SharedPointer(am.baseAddress!)
            Parallel.forEach(planes, work: b.count) { p in
                // One plane's windows in CKernels (vectorised where the CPU allows).
                sc_pool_forward_plane(x.advanced(by: p * w.height * w.width), y.advanced(by: p * w.outH * w.outW),
                                      isMax ? mask.advanced(by: p * w.outH * w.outW) : nil,
                                      Int32(w.height), Int32(w.width), Int32(w.outH), Int32(w.outW), Int32(w.kh), Int32(w.kw),
                                      Int32(w.sh), Int32(w.sw), Int32(w.ph), Int32(w.pw), isMax ? 1 : 0)
            }
        }
        if tops.count > 1 {
            for i in 0..<t.count { tops[1].data[i] = Float(argmax[i]) }
        }
    }

    override func backward(_ tops: [Blob], _ propagateDown: [Bool], _ bottoms: [Blob]) throws {
        guard propagateDown[0] else { return }
        let (b, t) = (bottoms[0], tops[0])
        let w = window(b, t)
        let planes = b.dim(0) * b.dim(1)
        let dx = SharedPointer(b.diff), dy = SharedPointer(t.diff)
        let isMax = pooling.method == .max
        argmax.withUnsafeMutableBufferPointer { am in
            let mask = SharedPointer(am.baseAddress!)
            Parallel.forEach(planes, work: b.count) { p in
                let dst = dx.advanced(by: p * w.height * w.width), src = dy.advanced(by: p * w.outH * w.outW)
                dst.update(repeating: 0, count: w.height * w.width)
                for oh in 0..<w.outH {
                    for ow in 0..<w.outW {
                        let o = oh * w.outW + ow
                        if isMax {
                            let at = Int(mask[p * w.outH * w.outW + o])
                            if at >= 0 { dst[at] += src[o] }
                            continue
                        }
                        var h0 = oh * w.sh - w.ph, w0 = ow * w.sw - w.pw
                        var h1 = min(h0 + w.kh, w.height + w.ph), w1 = min(w0 + w.kw, w.width + w.pw)
                        let g = src[o] / Float((h1 - h0) * (w1 - w0))
                        h0 = max(h0, 0)
                        w0 = max(w0, 0)
                        h1 = min(h1, w.height)
                        w1 = min(w1, w.width)
                        for h in h0..<max(h0, h1) { for ww in w0..<max(w0, w1) { dst[h * w.width + ww] += g } }
                    }
                }
            }
        }
    }
}
