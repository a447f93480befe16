/* Direct convolution for layers with few input channels: the first layer of
 * a net, whose input is RGB or grey (GoogLeNet's and ResNet's 7×7/2 conv1,
 * SqueezeNet's 3×3/2, VGG's 3×3/1, LeNet's 5×5/1). There im2col + GEMM
 * does poorly: the product's inner dimension C·KH·KW is only 9–147, so the
 * GEMM runs at half its peak, and the column matrix it reads is KH·KW/S²
 * times the size of the image (12 times for a 7×7/2 kernel).
 *
 * Here each vector holds 16 neighbouring outputs of one row and one output
 * channel. For a block of 16 (or 8) output channels the kernel keeps one
 * accumulator per channel in registers and, for every tap (c, i, j) of the
 * kernel, loads the 16 inputs under that tap once (stride 2: the even
 * lanes of two loads) and adds them times each channel's weight, a
 * broadcast: 16 multiply-adds per input vector, nothing written until the
 * block's sums are done. The input rows an output row needs are first
 * copied, with the padding as zeros, into a small buffer, so the taps read
 * plain runs without bounds checks.
 *
 * Sums run over the taps in the order (c, i, j), in single precision: they
 * differ from the GEMM's by rounding only. */
#include "kernels.h"
#include "vectors.h"

#include <string.h>

int sc_direct_conv_row_floats(int width, int pad_w, int out_w, int kernel_w, int stride_w, int dilation_w) {
    /* The last block of 16 outputs reads up to 32 floats from its last tap
     * (stride 2: two vectors, of which the even lanes are used). */
    int blocks = (out_w + 15) / 16;
    int n = blocks * 16 * stride_w + (kernel_w - 1) * dilation_w + 32;
    if (n < pad_w + width) n = pad_w + width;
    return (n + 15) / 16 * 16;
}

int sc_direct_conv_pairs_rows(int out_w, int stride_w) { return out_w <= 8 && stride_w == 1; }

void sc_direct_conv_pack(const float *w, int outputs, int taps, float *packed) {
    for (int b = 0; b * 16 < outputs; b++)
        for (int t = 0; t < taps; t++)
            for (int r = 0; r < 16; r++) {
                int o = b * 16 + r;
                packed[((size_t)b * taps + t) * 16 + r] = o < outputs ? w[(size_t)o * taps + t] : 0.0f;
            }
}

/* Where a block's sums go: the output rows' places and the epilogue. With
 * paired rows, the second row's inputs lie pair_offset floats after the
 * first's, and its outputs row floats after (if there is one: second). */
struct destination {
    float *y;
    size_t plane;
    const float *scale, *shift;
    int relu;
    float slope, ceiling;
    int second;
    size_t pair_offset;
    int row;
};

typedef float v8f __attribute__((vector_size(32)));

/* One block: for R output channels from o0 (R, stride_w and pair constants
 * where it is inlined, so the sums stay in registers) and 16 outputs from
 * column ow0 (count of them in the row; with pair, up to 8 of two rows), the sum over taps of the 16 inputs under the
 * tap times channel r's weight, mapped and stored. rows: one padded input
 * row per (c, i). */
__attribute__((always_inline)) static inline void block(const float *rows, int row_floats, int row_count, int kernel_w,
                                                        int stride_w, int dilation_w, const float *w, int ow0, int count,
                                                        int o0, int outputs, int R, int pair, struct destination d) {
    v16f acc[16];
    for (int r = 0; r < R; r++) acc[r] = (v16f){0};
    for (int q = 0; q < row_count; q++) {
        const float *in = rows + (size_t)q * row_floats + (size_t)ow0 * stride_w;
        for (int j = 0; j < kernel_w; j++, w += 16) {
            const float *p = in + j * dilation_w;
            v16f x;
            if (pair) {
                /* Two output rows of up to 8: lanes 8–15 read the second
                 * row's buffer, pair_offset floats on. */
                v8f a = *(const v8u *)p, b = *(const v8u *)(p + d.pair_offset);
                x = __builtin_shufflevector(a, b, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
            } else {
                x = stride_w == 1 ? *(const v16u *)p : EVENS(p);
            }
            for (int r = 0; r < R; r++) acc[r] += x * w[r];
        }
    }
    /* Fully unrolled, skipping with continue: with a break the loop stayed
     * rolled, acc was indexed at run time, and the compiler kept it in
     * memory, storing all 16 sums after every tap (half the speed). */
#pragma clang loop unroll(full)
    for (int r = 0; r < R; r++) {
        int o = o0 + r;
        if (o >= outputs) continue;
        v16f v = acc[r] * d.scale[o] + d.shift[o];
        if (d.relu) {
            v16i positive = v > 0;
            v = (v16f)(((v16i)v & positive) | ((v16i)(v * d.slope) & ~positive));
            v16i above = v > d.ceiling;
            v = (v16f)(((v16i)v & ~above) | ((v16i)((v16f){0} + d.ceiling) & above));
        }
        float *out = d.y + o * d.plane + ow0;
        if (pair) {
            for (int l = 0; l < count; l++) out[l] = v[l];
            if (d.second)
                for (int l = 0; l < count; l++) out[d.row + l] = v[8 + l];
        } else if (count == 16) {
            *(v16u *)out = v;
        } else {
            for (int l = 0; l < count; l++) out[l] = v[l];
        }
    }
}

CLONES void sc_direct_conv_rows(const float *x, int channels, int height, int width, const float *packed, int outputs,
                                int kernel_h, int kernel_w, int stride_h, int stride_w, int pad_h, int pad_w, int dilation_h,
                                int dilation_w, int out_h, int out_w, int oh_lo, int oh_hi, const float *scale,
                                const float *shift, int relu, float slope, float ceiling, float *y, float *rows) {
    int row_floats = sc_direct_conv_row_floats(width, pad_w, out_w, kernel_w, stride_w, dilation_w);
    int row_count = channels * kernel_h, taps = row_count * kernel_w;
    size_t plane = (size_t)out_h * out_w, pair_offset = (size_t)row_count * row_floats;
    /* Rows of up to 8 outputs go two to a vector (LeNet's conv2: 8×8). */
    int pair = sc_direct_conv_pairs_rows(out_w, stride_w);
    for (int oh = oh_lo; oh < oh_hi; oh += pair ? 2 : 1) {
        int second = pair && oh + 1 < oh_hi;
        /* The input rows under output row oh (and oh + 1), zeros outside the image. */
        for (int k = 0; k < 1 + pair; k++)
            for (int c = 0; c < channels; c++)
                for (int i = 0; i < kernel_h; i++) {
                    float *r = rows + k * pair_offset + (size_t)(c * kernel_h + i) * row_floats;
                    int ih = (oh + k) * stride_h - pad_h + i * dilation_h;
                    memset(r, 0, sizeof(float) * (size_t)row_floats);
                    if (ih >= 0 && ih < height && (k == 0 || second))
                        memcpy(r + pad_w, x + ((size_t)c * height + ih) * width, sizeof(float) * (size_t)width);
                }
        for (int o0 = 0; o0 < outputs; o0 += 16) {
            const float *w = packed + (size_t)(o0 / 16) * taps * 16;
            /* A last block of 8 or fewer channels runs 8 accumulators. */
            int R = outputs - o0 > 8 ? 16 : 8;
            struct destination d = {y + (size_t)oh * out_w, plane, scale, shift, relu, slope, ceiling, second, pair_offset, out_w};
            if (pair) {
                if (R == 16) block(rows, row_floats, row_count, kernel_w, 1, dilation_w, w, 0, out_w, o0, outputs, 16, 1, d);
                else block(rows, row_floats, row_count, kernel_w, 1, dilation_w, w, 0, out_w, o0, outputs, 8, 1, d);
                continue;
            }
            for (int ow0 = 0; ow0 < out_w; ow0 += 16) {
                int n = out_w - ow0 < 16 ? out_w - ow0 : 16;
                if (R == 16) {
                    if (stride_w == 1) block(rows, row_floats, row_count, kernel_w, 1, dilation_w, w, ow0, n, o0, outputs, 16, 0, d);
                    else block(rows, row_floats, row_count, kernel_w, 2, dilation_w, w, ow0, n, o0, outputs, 16, 0, d);
                } else {
                    if (stride_w == 1) block(rows, row_floats, row_count, kernel_w, 1, dilation_w, w, ow0, n, o0, outputs, 8, 0, d);
                    else block(rows, row_floats, row_count, kernel_w, 2, dilation_w, w, ow0, n, o0, outputs, 8, 0, d);
                }
            }
        }
    }
}
