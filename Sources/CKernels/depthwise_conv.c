/* Depthwise convolution (MobileNet's group = channels): each output plane is
 * one input plane convolved with its own kernel. Summed tap by tap over rows
 * of outputs, so the inner loop runs along a row (contiguous at stride 1),
 * with no column matrix: im2col + a GEMM of inner dimension 9 per plane
 * spends its time writing and reading columns. */
#include "kernels.h"
#include "vectors.h"

/* The output columns [lo, hi) whose input column ox·stride + off lies in
 * [0, width). */
static inline void valid_columns(int off, int stride, int width, int out_w, int *lo, int *hi) {
    int l = off >= 0 ? 0 : (-off + stride - 1) / stride;
    int h = width - 1 - off < 0 ? 0 : (width - 1 - off) / stride + 1;
    *lo = l < out_w ? l : out_w;
    *hi = h < out_w ? h : out_w;
    if (*hi < *lo) *hi = *lo;
}

CLONES void sc_depthwise_conv_plane(const float *x, int height, int width, const float *w, int kernel_h, int kernel_w,
                                    int stride_h, int stride_w, int pad_h, int pad_w, int dilation_h, int dilation_w,
                                    int out_h, int out_w, float scale, float shift, int relu, float slope, float ceiling, float *y) {
    for (int oy = 0; oy < out_h; oy++) {
        float *row = y + (size_t)oy * out_w;
        for (int ox = 0; ox < out_w; ox++) row[ox] = 0;
        for (int ky = 0; ky < kernel_h; ky++) {
            int iy = oy * stride_h - pad_h + ky * dilation_h;
            if (iy < 0 || iy >= height) continue;
            const float *in = x + (size_t)iy * width;
            for (int kx = 0; kx < kernel_w; kx++) {
                float wv = w[ky * kernel_w + kx];
                int off = kx * dilation_w - pad_w, lo, hi;
                valid_columns(off, stride_w, width, out_w, &lo, &hi);
                if (stride_w == 1) {
                    const float *p = in + off;
                    for (int ox = lo; ox < hi; ox++) row[ox] += wv * p[ox];
                } else {
                    for (int ox = lo; ox < hi; ox++) row[ox] += wv * in[ox * stride_w + off];
                }
            }
        }
        if (relu) {
            for (int ox = 0; ox < out_w; ox++) {
                float v = row[ox] * scale + shift;
                v = v > 0 ? v : v * slope;
                row[ox] = v > ceiling ? ceiling : v;
            }
        } else if (scale != 1.0f || shift != 0.0f) {
            for (int ox = 0; ox < out_w; ox++) row[ox] = row[ox] * scale + shift;
        }
    }
}

CLONES void sc_depthwise_conv_plane_backward(const float *x, const float *dy, int height, int width, const float *w,
                                             int kernel_h, int kernel_w, int stride_h, int stride_w, int pad_h, int pad_w,
                                             int dilation_h, int dilation_w, int out_h, int out_w, float *dw, float *dx,
                                             float *sums) {
    int taps = kernel_h * kernel_w;
    /* Per tap, one partial sum per output column: independent adds the
     * compiler vectorises, where a single running sum would wait on itself. */
    for (int i = 0; i < taps * out_w; i++) sums[i] = 0;
    for (int oy = 0; oy < out_h; oy++) {
        const float *g = dy + (size_t)oy * out_w;
        for (int ky = 0; ky < kernel_h; ky++) {
            int iy = oy * stride_h - pad_h + ky * dilation_h;
            if (iy < 0 || iy >= height) continue;
            const float *in = x + (size_t)iy * width;
            float *din = dx ? dx + (size_t)iy * width : 0;
            for (int kx = 0; kx < kernel_w; kx++) {
                int k = ky * kernel_w + kx, off = kx * dilation_w - pad_w, lo, hi;
                valid_columns(off, stride_w, width, out_w, &lo, &hi);
                float wv = w[k], *acc = sums + (size_t)k * out_w;
                if (stride_w == 1) {
                    const float *p = in + off;
                    for (int ox = lo; ox < hi; ox++) acc[ox] += g[ox] * p[ox];
                    if (din) {
                        float *q = din + off;
                        for (int ox = lo; ox < hi; ox++) q[ox] += wv * g[ox];
                    }
                } else {
                    for (int ox = lo; ox < hi; ox++) acc[ox] += g[ox] * in[ox * stride_w + off];
                    if (din)
                        for (int ox = lo; ox < hi; ox++) din[ox * stride_w + off] += wv * g[ox];
                }
            }
        }
    }
    for (int k = 0; k < taps; k++) {
        float s = 0;
        for (int ox = 0; ox < out_w; ox++) s += sums[(size_t)k * out_w + ox];
        dw[k] += s;
    }
}

/* Floats of scratch sc_depthwise3x3_plane needs for a plane. */
size_t sc_depthwise3x3_scratch(int out_h, int out_w, int stride) {
    size_t hp = (size_t)(out_h - 1) * stride + 3, wp = (size_t)(out_w - 1) * stride + 3;
    return hp * wp + (size_t)out_h * wp + 32;
}

/* The MobileNet case, 3×3 without dilation at stride 1 or 2: the plane is
 * first copied into zero-padded scratch, so that the nine taps need no edge
 * tests. At stride 1 the outputs are computed over the padded width as one
 * long row (the two extra columns per row are dropped after), so the loop
 * runs whole vectors even on 7×7 planes; at stride 2 the padded rows are
 * split into even and odd columns, so every tap reads contiguous floats.
 * The per-row, per-tap loops of the general kernel spend more time starting
 * loops than computing on such small rows. */
CLONES void sc_depthwise3x3_plane(const float *x, int height, int width, const float *w, int stride, int pad_h, int pad_w,
                                  int out_h, int out_w, float scale, float shift, int relu, float slope, float ceiling, float *scratch,
                                  float *y) {
    int hp = (out_h - 1) * stride + 3, wp = (out_w - 1) * stride + 3;
    const float w0 = w[0], w1 = w[1], w2 = w[2], w3 = w[3], w4 = w[4], w5 = w[5], w6 = w[6], w7 = w[7], w8 = w[8];
    float *padded = scratch, *acc = scratch + (size_t)hp * wp + 16;
    if (stride == 1) {
        for (int r = 0; r < hp; r++) {
            float *dst = padded + (size_t)r * wp;
            int iy = r - pad_h;
            if (iy < 0 || iy >= height) {
                for (int c = 0; c < wp; c++) dst[c] = 0;
                continue;
            }
            const float *src = x + (size_t)iy * width;
            for (int c = 0; c < wp; c++) {
                int ix = c - pad_w;
                dst[c] = ix >= 0 && ix < width ? src[ix] : 0;
            }
        }
        for (int i = 0; i < 16; i++) padded[(size_t)hp * wp + i] = 0;
        /* Output (oy, ox) sits at oy·wp + ox of the padded grid; its taps at +0..2, +wp.., +2wp... */
        const float *r0 = padded, *r1 = padded + wp, *r2 = padded + 2 * wp;
        int n = out_h * wp;
        for (int p = 0; p < n; p++)
            acc[p] = w0 * r0[p] + w1 * r0[p + 1] + w2 * r0[p + 2] + w3 * r1[p] + w4 * r1[p + 1] + w5 * r1[p + 2]
                   + w6 * r2[p] + w7 * r2[p + 1] + w8 * r2[p + 2];
    } else {
        /* Even padded columns first (we of them), then odd (wo): E[j] = P[2j], O[j] = P[2j + 1]. */
        int we = (wp + 1) / 2, wo = wp / 2, row = we + wo;
        for (int r = 0; r < hp; r++) {
            float *even = padded + (size_t)r * row, *odd = even + we;
            int iy = r - pad_h;
            if (iy < 0 || iy >= height) {
                for (int c = 0; c < row; c++) even[c] = 0;
                continue;
            }
            /* Column j of a half reads input column 2j + parity − pad_w: the
             * valid js are [lo, hi), zeros either side, no test per column. */
            const float *src = x + (size_t)iy * width;
            for (int parity = 0; parity < 2; parity++) {
                float *half = parity ? odd : even;
                int count = parity ? wo : we, first = pad_w - parity;
                int lo = first > 0 ? (first + 1) / 2 : 0, hi = (width + first + 1) / 2;
                if (lo > count) lo = count;
                if (hi > count) hi = count;
                if (hi < lo) hi = lo;
                for (int j = 0; j < lo; j++) half[j] = 0;
                for (int j = lo; j < hi; j++) half[j] = src[2 * j - first];
                for (int j = hi; j < count; j++) half[j] = 0;
            }
        }
        for (int oy = 0; oy < out_h; oy++) {
            const float *e0 = padded + (size_t)(2 * oy) * row, *e1 = e0 + row, *e2 = e1 + row;
            const float *o0 = e0 + we, *o1 = e1 + we, *o2 = e2 + we;
            float *a = acc + (size_t)oy * wp;
            for (int ox = 0; ox < out_w; ox++)
                a[ox] = w0 * e0[ox] + w1 * o0[ox] + w2 * e0[ox + 1] + w3 * e1[ox] + w4 * o1[ox] + w5 * e1[ox + 1]
                      + w6 * e2[ox] + w7 * o2[ox] + w8 * e2[ox + 1];
        }
    }
    for (int oy = 0; oy < out_h; oy++) {
        const float *a = acc + (size_t)oy * wp;
        float *out = y + (size_t)oy * out_w;
        if (relu) {
            for (int ox = 0; ox < out_w; ox++) {
                float v = a[ox] * scale + shift;
                v = v > 0 ? v : v * slope;
                out[ox] = v > ceiling ? ceiling : v;
            }
        } else {
            for (int ox = 0; ox < out_w; ox++) out[ox] = a[ox] * scale + shift;
        }
    }
}
