import CKernels
import Foundation

/// A depthwise convolution (group = input channels: MobileNet's 3×3 layers,
/// the forks' ConvolutionDepthwise and DepthwiseConvolution), forward and
/// backward one plane at a time (depthwise_conv.c), without columns. Output
/// o reads input channel o / multiplier (multiplier = num_output / group,
/// 1 in MobileNets). One task per image and input channel.
struct DepthwiseConvolution: ConvolutionEngine {
    let conv: ConvGeometry2D
    let outputs: Int
    var multiplier: Int { outputs / conv.channels }

    /// Off when SWIFTCAFFE_DEPTHWISE_CONV=0 (im2col + GEMM per group instead).
    static let enabled = ProcessInfo.processInfo.environment["SWIFTCAFFE_DEPTHWISE_CONV"] != "0"

    static func suits(_ conv: ConvGeometry2D, group: Int, outputs: Int) -> Bool {
        enabled && group > 1 && group == conv.channels && outputs % group == 0 && conv.outH > 0 && conv.outW > 0
    }

    /// MobileNet's kernel (3×3, no dilation, stride 1 or 2 both ways), which has a faster path.
    private var isThreeByThree: Bool {
        conv.kernelH == 3 && conv.kernelW == 3 && conv.dilationH == 1 && conv.dilationW == 1
            && conv.strideH == conv.strideW && (conv.strideH == 1 || conv.strideH == 2)
    }

    private var planeSizes: (input: Int, output: Int, taps: Int) {
        (conv.height * conv.width, conv.outH * conv.outW, conv.kernelH * conv.kernelW)
    }

    func forward(x: UnsafePointer<Float>, images: Int, weights: UnsafePointer<Float>, map: ConvEpilogue.Resolved,
                 y: UnsafeMutablePointer<Float>, yStride: Int, workspace: Workspace) {
        let g = conv, outputs = self.outputs, multiplier = self.multiplier, (inPlane, outPlane, taps) = planeSizes
        let (src, dst, w) = (SharedPointer(UnsafeMutablePointer(mutating: x)), SharedPointer(y), SharedPointer(UnsafeMutablePointer(mutating: weights)))
        if isThreeByThree {
            // A chunk of planes per thread, each thread with its own scratch.
            let tasks = images * outputs, chunks = min(Parallel.threads, tasks), per = (tasks + chunks - 1) / chunks
            let floats = sc_depthwise3x3_scratch(Int32(g.outH), Int32(g.outW), Int32(g.strideH))
            let scratch = SharedPointer(workspace.buffer(0, count: chunks * floats))
            map.withKernelArguments(outputs: outputs) { e in
                Parallel.forEach(chunks, work: tasks * outPlane * taps) { chunk in
                    for task in (chunk * per)..<min(tasks, (chunk + 1) * per) {
                        let (n, o) = (task / outputs, task % outputs)
                        sc_depthwise3x3_plane(src.advanced(by: (n * g.channels + o / multiplier) * inPlane), Int32(g.height), Int32(g.width),
                                              w.advanced(by: o * taps), Int32(g.strideH), Int32(g.padH), Int32(g.padW), Int32(g.outH), Int32(g.outW),
                                              e.scale[o], e.shift[o], e.relu, e.slope, e.ceiling, scratch.advanced(by: chunk * floats),
                                              dst.advanced(by: n * yStride + o * outPlane))
                    }
                }
            }
            return
        }
        map.withKernelArguments(outputs: outputs) { e in
            Parallel.forEach(images * outputs, work: images * outputs * outPlane * taps) { task in
                let (n, o) = (task / outputs, task % outputs)
                sc_depthwise_conv_plane(src.advanced(by: (n * g.channels + o / multiplier) * inPlane), Int32(g.height), Int32(g.width),
                                        w.advanced(by: o * taps), Int32(g.kernelH), Int32(g.kernelW), Int32(g.strideH), Int32(g.strideW),
                                        Int32(g.padH), Int32(g.padW), Int32(g.dilationH), Int32(g.dilationW), Int32(g.outH), Int32(g.outW),
                                        e.scale[o], e.shift[o], e.relu, e.slope, e.ceiling, dst.advanced(by: n * yStride + o * outPlane))
            }
        }
    }

    /// dW += Σ dy·x per output, db += Σ dy, and dx = Σ W·dy when `dx` is
    /// given. A task per input channel owns its weights' gradients and its
    /// planes of dx, so no two tasks write one value.
    func backward(x: UnsafePointer<Float>, dy: UnsafePointer<Float>, images: Int, weights: UnsafePointer<Float>,
                  weightDiff: UnsafeMutablePointer<Float>, biasDiff: UnsafeMutablePointer<Float>?, dx: UnsafeMutablePointer<Float>?,
                  workspace: Workspace) {
        let g = conv, outputs = self.outputs, multiplier = self.multiplier, (inPlane, outPlane, taps) = planeSizes
        let (src, grad, w, dw) = (SharedPointer(UnsafeMutablePointer(mutating: x)), SharedPointer(UnsafeMutablePointer(mutating: dy)),
                                  SharedPointer(UnsafeMutablePointer(mutating: weights)), SharedPointer(weightDiff))
        let db = biasDiff.map(SharedPointer.init), dIn = dx.map(SharedPointer.init)
        let sumFloats = taps * g.outW, sums = SharedPointer(workspace.buffer(0, count: g.channels * sumFloats))
        Parallel.forEach(g.channels, work: images * outputs * outPlane * taps) { c in
            for n in 0..<images {
                let input = (n * g.channels + c) * inPlane
                dIn?.advanced(by: input).update(repeating: 0, count: inPlane)
                for o in (c * multiplier)..<((c + 1) * multiplier) {
                    let out = grad.advanced(by: (n * outputs + o) * outPlane)
                    if let db {
                        var s: Float = 0
                        for j in 0..<outPlane { s += out[j] }
                        db[o] += s
                    }
                    sc_depthwise_conv_plane_backward(src.advanced(by: input), out, Int32(g.height), Int32(g.width), w.advanced(by: o * taps),
                                                     Int32(g.kernelH), Int32(g.kernelW), Int32(g.strideH), Int32(g.strideW),
                                                     Int32(g.padH), Int32(g.padW), Int32(g.dilationH), Int32(g.dilationW),
                                                     Int32(g.outH), Int32(g.outW), dw.advanced(by: o * taps), dIn?.advanced(by: input),
                                                     sums.advanced(by: c * sumFloats))
                }
            }
        }
    }
}
