import CKernels
import Foundation

/// Forward of a 3×3 stride-1 convolution by Winograd's F(4×4, 3×3): per
/// 4×4 block of outputs, 36 multiplies per input channel instead of 144
/// (winograd.c holds the transforms, the method and the layouts). The input
/// is made channels-last once; its tiles are then processed in chunks
/// whose transformed inputs and products stay in the last-level cache: an
/// input transform, 36 GEMMs per group, and an output transform that
/// applies the bias (or the fused epilogue) as it writes.
///
/// The result differs from im2col + GEMM by float rounding (about 1e-6 of
/// the output's scale: the transforms scale by up to 8 before the sums).
/// SWIFTCAFFE_WINOGRAD=0 turns it off.
final class WinogradF43 {
    let conv: ConvGeometry2D
    let group: Int
    let outputs: Int

    /// Off when SWIFTCAFFE_WINOGRAD=0.
    static let enabled = ProcessInfo.processInfo.environment["SWIFTCAFFE_WINOGRAD"] != "0"

    /// The products by NarrowGEMM (U stored C × K per ξ and group), else by OpenBLAS.
    static let narrow = NarrowGEMM.available

    /// Below this many tiles in a chunk the products' transformed weights are
    /// the large matrix, and they run with the loops ordered for that.
    static let fewTiles = 64

    /// Bytes of transformed input and products per chunk: within the 32 MiB
    /// L3 of these machines, with room for the transformed weights.
    static let chunkBytes = 8 << 20

    /// The transformed weights U[ξ][k][c], and the weights they came from:
    /// recomputed only when the weights change (every step in training,
    /// never in a deployed net), found by comparing with the copy.
    private var transformed = AlignedStorage(capacity: 1)
    private var source = AlignedStorage(capacity: 1)
    private var sourceCount = 0

    init(conv: ConvGeometry2D, group: Int, outputs: Int) {
        (self.conv, self.group, self.outputs) = (conv, group, outputs)
    }

    var tilesH: Int { (conv.outH + 3) / 4 }
    var tilesW: Int { (conv.outW + 3) / 4 }

    /// Whether this convolution can, and should, run this way for `images`
    /// images: 3×3, stride 1, no dilation, and each of the 36 GEMMs big
    /// enough to beat one im2col GEMM. Measured on the 2-core EPYC:
    /// - input channels per group: with 3 (VGG's first layer) the transforms
    ///   cost more than they save; from 16 faster (SqueezeNet's fire2/3 at
    ///   batch 10: 3.3-4.2 ms against 4.5, fire4/5: 2.3-2.5 against 3.6-4.3);
    /// - tiles × channels × outputs per group (one GEMM's multiplies): below
    ///   about 384 K OpenBLAS runs such small products too slowly (SqueezeNet's
    ///   fire4–9 at batch 1: 147–262 K, slower; AlexNet's conv4/5 at batch 1:
    ///   393–590 K, faster), and with fewer than 16 tiles (ResNet's 7×7 maps
    ///   at batch 1: 4) the GEMMs are too thin;
    /// - the transformed weights, 4 × the weights' bytes, are read once per
    ///   chunk of tiles: with few tiles that streaming is the cost, and where
    ///   they outgrow the last-level cache im2col + GEMM is faster (VGG's
    ///   conv5, 512 → 512 on 14×14 maps at batch 1: 16 tiles, 36 MiB).
    static func suits(_ conv: ConvGeometry2D, group: Int, outputs: Int, images: Int) -> Bool {
        let tiles = images * ((conv.outH + 3) / 4) * ((conv.outW + 3) / 4)
        let (cg, kg) = (conv.channels / max(1, group), outputs / max(1, group))
        let transformedBytes = 36 * cg * outputs * 4
        return enabled && conv.kernelH == 3 && conv.kernelW == 3 && conv.strideH == 1 && conv.strideW == 1
            && conv.dilationH == 1 && conv.dilationW == 1 && cg >= 16 && kg >= 16
            && conv.outH > 0 && conv.outW > 0 && tiles >= 16 && tiles * cg * kg >= 384 * 1024
            && (tiles >= 32 || transformedBytes <= 16 << 20)
    }

    /// U for these weights (K × C/group × 3 × 3), transformed again only if they changed.
    private func filters(_ weights: UnsafePointer<Float>) -> UnsafeMutablePointer<Float> {
        let count = outputs * (conv.channels / group) * 9
        if sourceCount == count && memcmp(source.pointer, weights, count * 4) == 0 { return transformed.pointer }
        let cg = conv.channels / group, stride = outputs * cg
        transformed.reserve(36 * stride)
        let (w, u) = (SharedPointer(UnsafeMutablePointer(mutating: weights)), SharedPointer(transformed.pointer))
        if Self.narrow {
            // U[ξ][g] is C/group × K/group, row-major: NarrowGEMM's right-hand matrix.
            let kg = outputs / group
            Parallel.forEach(outputs) { k in
                let (g, kk) = (k / kg, k % kg)
                sc_wino43_filter(w.base + k * cg * 9, 0, 1, Int32(cg), u.base + g * cg * kg + kk, 0, kg, stride)
            }
        } else {
            Parallel.forEach(outputs) { k in sc_wino43_filter(w.base, Int32(k), Int32(k + 1), Int32(cg), u.base, cg, 1, stride) }
        }
        source.reserve(count)
        source.pointer.update(from: weights, count: count)
        sourceCount = count
        return transformed.pointer
    }

    /// y[n] = conv(x[n]) mapped by `map`, for `images` images; image n's
    /// output starts at y + n·yStride (its channels contiguous planes).
    func forward(x: UnsafePointer<Float>, images: Int, weights: UnsafePointer<Float>, map: ConvEpilogue.Resolved,
                 y: UnsafeMutablePointer<Float>, yStride: Int, workspace: Workspace) {
        // Copies the parallel loops' closures can take (self is not Sendable).
        let (group, outputs) = (self.group, self.outputs)
        let channels = conv.channels, cg = channels / group, kg = outputs / group
        let (th, tw) = (tilesH, tilesW)
        let u = SharedPointer(filters(weights)), uStride = outputs * cg
        // The batch channels-last, one block of positions per task.
        let plane = conv.height * conv.width, imageSize = channels * plane
        let last = SharedPointer(workspace.buffer(3, count: images * imageSize))
        let src = SharedPointer(UnsafeMutablePointer(mutating: x))
        let blocks = (plane + 255) / 256
        Parallel.forEach(images * blocks) { i in
            let (n, b) = (i / blocks, i % blocks)
            sc_to_channels_last(src.advanced(by: n * imageSize), Int32(channels), Int32(plane), Int32(b * 256),
                                Int32(min(plane, b * 256 + 256)), last.advanced(by: n * imageSize))
        }

        let totalTiles = images * th * tw
        let tilesPerChunk = max(16, min(totalTiles, Self.chunkBytes / (36 * (channels + outputs) * 4)))
        let dst = SharedPointer(y)
        let geometry = conv
        var first = 0
        while first < totalTiles {
            let tiles = min(tilesPerChunk, totalTiles - first)
            // V(ξ, t, c) and M(ξ, t, k) tile by tile: each transform reads or
            // writes one contiguous run per tile rather than 36 streams.
            let (vTile, mTile) = (36 * channels, 36 * outputs)
            let v = SharedPointer(workspace.buffer(0, count: tiles * vTile))
            let m = SharedPointer(workspace.buffer(1, count: tiles * mTile))
            let tile0 = first
            let tasks = min(tiles, Parallel.threads * 4), per = (tiles + tasks - 1) / tasks
            Parallel.forEach(tasks) { i in
                sc_wino43_input(last.base, Int32(geometry.height), Int32(geometry.width), Int32(channels), Int32(geometry.padH),
                                Int32(geometry.padW), Int32(th), Int32(tw), Int32(tile0), Int32(min(tiles, i * per)),
                                Int32(min(tiles, i * per + per)), v.base, vTile, channels)
            }
            // The 36 · group products are independent: one whole GEMM per task.
            let narrow = Self.narrow, largeB = tiles < Self.fewTiles
            Parallel.forEach(36 * group) { i in
                let (xi, g) = (i / group, i % group)
                if narrow && largeB {
                    NarrowGEMM.productWithLargeB(m: tiles, n: kg, k: cg, a: v.advanced(by: xi * channels + g * cg), lda: vTile,
                                                 b: u.advanced(by: xi * uStride + g * cg * kg), ldb: kg,
                                                 c: m.advanced(by: xi * outputs + g * kg), ldc: mTile)
                } else if narrow {
                    NarrowGEMM.product(m: tiles, n: kg, k: cg, a: NarrowGEMM.LeftMatrix(v.advanced(by: xi * channels + g * cg)),
                                       lda: vTile, b: u.advanced(by: xi * uStride + g * cg * kg), ldb: kg,
                                       c: m.advanced(by: xi * outputs + g * kg), ldc: mTile, map: nil, onThisThread: true)
                } else {
                    BLAS.gemmOnThisThread(transB: true, m: tiles, n: kg, k: cg, a: v.advanced(by: xi * channels + g * cg),
                                          b: u.advanced(by: xi * uStride + g * kg * cg), c: m.advanced(by: xi * outputs + g * kg),
                                          lda: vTile, ldb: cg, ldc: mTile)
                }
            }
            map.withKernelArguments(outputs: outputs) { e in
                Parallel.forEach(tasks) { i in
                    sc_wino43_output(m.base, mTile, outputs, Int32(outputs), Int32(geometry.outH), Int32(geometry.outW), Int32(th),
                                     Int32(tw), Int32(tile0), Int32(min(tiles, i * per)), Int32(min(tiles, i * per + per)),
                                     e.scale, e.shift, e.relu, e.slope, e.ceiling, dst.base, yStride)
                }
            }
            first += tiles
        }
    }
}
