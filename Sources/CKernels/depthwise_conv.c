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
                                    int out_h, int out_w, float scale, float shift, int relu, float slope, float *y) {
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
                row[ox] = v > 0 ? v : v * slope;
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
