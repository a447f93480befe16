#include "kernels.h"
#include "vectors.h"

#include <float.h>
#include <math.h>
#include <string.h>

CLONES static void add_scaled_squares(float *restrict a, const float *restrict p, int n, float sign) {
    for (int i = 0; i < n; i++) a[i] += sign * p[i] * p[i];
}

CLONES static void add_scaled(float *restrict a, const float *restrict r, int n, float sign) {
    for (int i = 0; i < n; i++) a[i] += sign * r[i];
}

CLONES static void normalise(const float *restrict x, float *restrict s, float *restrict y, const float *restrict acc, int n,
                             float k, float coeff, float beta) {
    if (beta == 0.75f) {
        for (int i = 0; i < n; i++) {
            float sv = k + coeff * acc[i];
            s[i] = sv;
            float r = sqrtf(sv);
            y[i] = x[i] / (r * sqrtf(r));
        }
    } else {
        for (int i = 0; i < n; i++) {
            float sv = k + coeff * acc[i];
            s[i] = sv;
            y[i] = x[i] * powf(sv, -beta);
        }
    }
}

void sc_lrn_across_forward(const float *x, float *s, float *y, int channels, int plane, int lo, int hi, int size,
                           float coeff, float k, float beta, float *acc) {
    int n = hi - lo, half = (size - 1) / 2;
    memset(acc, 0, sizeof(float) * (size_t)n);
    for (int c = 0; c < half && c < channels; c++) add_scaled_squares(acc, x + (size_t)c * plane + lo, n, 1);
    for (int c = 0; c < channels; c++) {
        if (c + half < channels) add_scaled_squares(acc, x + (size_t)(c + half) * plane + lo, n, 1);
        if (c - half - 1 >= 0) add_scaled_squares(acc, x + (size_t)(c - half - 1) * plane + lo, n, -1);
        size_t o = (size_t)c * plane + lo;
        normalise(x + o, s + o, y + o, acc, n, k, coeff, beta);
    }
}

CLONES static void ratios(const float *restrict dy, const float *restrict y, const float *restrict s, float *restrict r, int n) {
    for (int i = 0; i < n; i++) r[i] = dy[i] * y[i] / s[i];
}

CLONES static void lrn_gradient(const float *restrict x, const float *restrict s, const float *restrict dy, float *restrict dx,
                                const float *restrict acc, int n, float coeff2, float beta) {
    if (beta == 0.75f) {
        for (int i = 0; i < n; i++) {
            float r = sqrtf(s[i]);
            dx[i] = dy[i] / (r * sqrtf(r)) - coeff2 * x[i] * acc[i];
        }
    } else {
        for (int i = 0; i < n; i++) dx[i] = dy[i] * powf(s[i], -beta) - coeff2 * x[i] * acc[i];
    }
}

void sc_lrn_across_backward(const float *x, const float *y, const float *s, const float *dy, float *dx, int channels,
                            int plane, int lo, int hi, int size, float coeff2, float beta, float *ratio, float *acc) {
    int n = hi - lo, half = (size - 1) / 2;
    for (int c = 0; c < channels; c++) {
        size_t o = (size_t)c * plane + lo;
        ratios(dy + o, y + o, s + o, ratio + (size_t)c * n, n);
    }
    memset(acc, 0, sizeof(float) * (size_t)n);
    for (int c = 0; c < half && c < channels; c++) add_scaled(acc, ratio + (size_t)c * n, n, 1);
    for (int c = 0; c < channels; c++) {
        if (c + half < channels) add_scaled(acc, ratio + (size_t)(c + half) * n, n, 1);
        if (c - half - 1 >= 0) add_scaled(acc, ratio + (size_t)(c - half - 1) * n, n, -1);
        size_t o = (size_t)c * plane + lo;
        lrn_gradient(x + o, s + o, dy + o, dx + o, acc, n, coeff2, beta);
    }
}

CLONES void sc_pool_forward_plane(const float *src, float *dst, int32_t *mask, int height, int width, int out_h, int out_w,
                                  int kh, int kw, int sh, int sw, int ph, int pw, int is_max) {
    for (int oh = 0; oh < out_h; oh++) {
        for (int ow = 0; ow < out_w; ow++) {
            int h0 = oh * sh - ph, w0 = ow * sw - pw;
            int o = oh * out_w + ow;
            if (is_max) {
                int h1 = h0 + kh < height ? h0 + kh : height, w1 = w0 + kw < width ? w0 + kw : width;
                if (h0 < 0) h0 = 0;
                if (w0 < 0) w0 = 0;
                float best = -FLT_MAX;
                int at = -1;
                for (int h = h0; h < h1; h++) {
                    const float *row = src + (size_t)h * width;
                    for (int w = w0; w < w1; w++) {
                        if (row[w] > best) {
                            best = row[w];
                            at = h * width + w;
                        }
                    }
                }
                dst[o] = best;
                if (mask) mask[o] = at;
            } else {
                int h1 = h0 + kh < height + ph ? h0 + kh : height + ph, w1 = w0 + kw < width + pw ? w0 + kw : width + pw;
                float size = (float)((h1 - h0) * (w1 - w0));
                if (h0 < 0) h0 = 0;
                if (w0 < 0) w0 = 0;
                if (h1 > height) h1 = height;
                if (w1 > width) w1 = width;
                float sum = 0;
                for (int h = h0; h < h1; h++) {
                    const float *row = src + (size_t)h * width;
                    for (int w = w0; w < w1; w++) sum += row[w];
                }
                dst[o] = sum / size;
            }
        }
    }
}

/* Caffe's comparison: a value replaces the maximum only if greater, so a NaN
 * never does (x86's max returns its second operand when either is NaN). */
#define VMAX(x, best) ((v16f)(((v16i)(x) & ((x) > (best))) | ((v16i)(best) & ~((x) > (best)))))

int sc_max_pool_row_floats(int width, int out_w, int kw, int sw) {
    return ((out_w + 15) / 16 * 16) * sw + kw + 32 + width;
}

CLONES void sc_max_pool_plane(const float *src, float *dst, int height, int width, int out_h, int out_w, int kh, int kw, int sh,
                              int sw, int ph, int pw, float *row) {
    /* row[pw + w] holds the vertical maximum of column w; the rest stays
     * −FLT_MAX, so every window, clipped or not, is a plain run of kw. */
    int len = sc_max_pool_row_floats(width, out_w, kw, sw);
    for (int i = 0; i < len; i++) row[i] = -FLT_MAX;
    float *restrict v = row + pw;
    for (int oh = 0; oh < out_h; oh++) {
        int h0 = oh * sh - ph, h1 = h0 + kh < height ? h0 + kh : height;
        if (h0 < 0) h0 = 0;
        for (int w = 0; w < width; w++) v[w] = -FLT_MAX;
        for (int h = h0; h < h1; h++) {
            const float *restrict s = src + (size_t)h * width;
            for (int w = 0; w < width; w++) v[w] = s[w] > v[w] ? s[w] : v[w];
        }
        float *d = dst + (size_t)oh * out_w;
        int ow = 0;
        if (sw == 1 || sw == 2) {
            for (; ow < out_w; ow += 16) {
                const float *base = row + (size_t)ow * sw;
                v16f best = {0};
                best -= FLT_MAX;
                for (int j = 0; j < kw; j++) {
                    v16f x = sw == 1 ? *(const v16u *)(base + j) : EVENS(base + j);
                    best = VMAX(x, best);
                }
                if (out_w - ow >= 16) *(v16u *)(d + ow) = best;
                else
                    for (int l = 0; l < out_w - ow; l++) d[ow + l] = best[l];
            }
            continue;
        }
        for (; ow < out_w; ow++) {
            const float *r = row + (size_t)ow * sw;
            float best = -FLT_MAX;
            for (int j = 0; j < kw; j++) best = r[j] > best ? r[j] : best;
            d[ow] = best;
        }
    }
}


int sc_max_pool_3x3s1_masks_floats(int height, int width) { return 4 * (height * width + 16); }

/* One output of the 3×3 window at flat index i (plane position k), taps in
 * Caffe's order: rows top to bottom, columns left to right. */
static float max_pool_3x3s1_one(const float *src, long i, int k, int height, int width) {
    int row = k / width, col = k % width;
    float best = -FLT_MAX;
    for (int dy = -1; dy <= 1; dy++)
        for (int dx = -1; dx <= 1; dx++) {
            if (row + dy < 0 || row + dy >= height || col + dx < 0 || col + dx >= width) continue;
            float x = src[i + dy * width + dx];
            if (x > best) best = x;
        }
    return best;
}

CLONES void sc_max_pool_3x3s1(const float *src, float *dst, long planes, int height, int width, long p_lo, long p_hi,
                              float *masks) {
    /* Additive masks with period n, one per neighbour direction: −0 where
     * the neighbour is in the plane (x + −0 is x, −0 included), −∞ where it
     * is not (then the tap gives −∞, or NaN from +∞; neither is ever taken). */
    const int n = height * width;
    float *left = masks, *right = left + n + 16, *up = right + n + 16, *down = up + n + 16;
    for (int j = 0; j < n + 16; j++) {
        int k = j % n, row = k / width, col = k % width;
        left[j] = col > 0 ? -0.0f : -INFINITY;
        right[j] = col < width - 1 ? -0.0f : -INFINITY;
        up[j] = row > 0 ? -0.0f : -INFINITY;
        down[j] = row < height - 1 ? -0.0f : -INFINITY;
    }
    const long end = planes * n, hi = p_hi * n;
    long i = p_lo * n;
    /* The vectors read from i − width − 1 to i + width + 16: before and after
     * the blob, the outputs are done one at a time. */
    for (; i < hi && i < width + 1; i++) dst[i] = max_pool_3x3s1_one(src, i, (int)(i % n), height, width);
    int k = (int)(i % n);
    for (; i + 16 <= hi && i + 16 + width + 1 <= end; i += 16) {
        v16f best = {0};
        best -= FLT_MAX;
        for (int dy = -1; dy <= 1; dy++) {
            const float *p = src + i + dy * width;
            v16f l = *(const v16u *)(p - 1) + *(const v16u *)(left + k);
            v16f c = *(const v16u *)p;
            v16f r = *(const v16u *)(p + 1) + *(const v16u *)(right + k);
            v16f m = {0};
            m -= FLT_MAX;
            m = VMAX(l, m);
            m = VMAX(c, m);
            m = VMAX(r, m);
            if (dy < 0) m += *(const v16u *)(up + k);
            if (dy > 0) m += *(const v16u *)(down + k);
            best = VMAX(m, best);
        }
        *(v16u *)(dst + i) = best;
        for (k += 16; k >= n; k -= n) {}
    }
    for (; i < hi; i++) dst[i] = max_pool_3x3s1_one(src, i, (int)(i % n), height, width);
}

/* Σ_k w_j·x_i for four weight rows and rows ≤ 4 input rows at once (a
 * constant where it is inlined). With four input rows each loaded vector
 * feeds four FMAs, so a weight row costs a quarter of the input's cache
 * traffic it would alone; one input row (batch 1) needs no more. */
/* Copies n floats (no library call: rows here are 8–55 floats, where a
 * call per row costs more than the copy). */
__attribute__((always_inline)) static inline void copy_run(float *restrict d, const float *restrict s, int n) {
    int i = 0;
    for (; i + 16 <= n; i += 16) *(v16u *)(d + i) = *(const v16u *)(s + i);
    if (i + 8 <= n) {
        *(v8u *)(d + i) = *(const v8u *)(s + i);
        i += 8;
    }
    if (i + 4 <= n) {
        *(v4u *)(d + i) = *(const v4u *)(s + i);
        i += 4;
    }
    for (; i < n; i++) d[i] = s[i];
}

CLONES __attribute__((no_builtin("memset"))) void sc_im2col_piece(const float *plane, float *col, size_t ld, int height, int width, int kh, int kernel_w, int pad_h,
                            int pad_w, int stride_h, int stride_w, int dilation_h, int dilation_w, int out_h, int out_w) {
    for (int kw = 0; kw < kernel_w; kw++) {
        float *dst = col + (size_t)kw * ld;
        /* Output columns [lo, hi) read inside the image: ow·stride + offset in [0, width). */
        int offset = kw * dilation_w - pad_w;
        int lo = offset >= 0 ? 0 : (-offset + stride_w - 1) / stride_w;
        int hi = width - offset <= 0 ? 0 : (width - offset + stride_w - 1) / stride_w;
        if (lo > out_w) lo = out_w;
        if (hi > out_w) hi = out_w;
        if (hi < lo) hi = lo;
        for (int oh = 0; oh < out_h; oh++) {
            float *d = dst + (size_t)oh * out_w;
            int ih = oh * stride_h - pad_h + kh * dilation_h;
            if (ih < 0 || ih >= height) {
                for (int ow = 0; ow < out_w; ow++) d[ow] = 0;
                continue;
            }
            for (int ow = 0; ow < lo; ow++) d[ow] = 0;
            for (int ow = hi; ow < out_w; ow++) d[ow] = 0;
            const float *src = plane + (size_t)ih * width + offset;
            int ow = lo;
            if (stride_w == 1) {
                copy_run(d + lo, src + lo, hi - lo);
                continue;
            }
            if (stride_w == 2) {
                /* 16 outputs from 32 inputs; the last block may read past the
                 * row, so vectors stop while 32 inputs remain in it. */
                for (; ow + 16 <= hi && 2 * ow + 32 <= width - offset; ow += 16) {
                    v16f x = EVENS(src + 2 * ow);
                    *(v16u *)(d + ow) = x;
                }
            }
            for (; ow < hi; ow++) d[ow] = src[(size_t)ow * stride_w];
        }
    }
}

/* Weights stored as fp16 or bfloat16, widened to float as they are loaded:
 * at batch 1 an fc layer only streams its weights, so half the bytes is
 * (nearly) half the time. F16C's vcvtph2ps (in the v3 and v4 clones)
 * widens fp16; a bfloat16 is the top half of a float, widened by a shift.
 * The default clone widens fp16 one value at a time, correct but slow. */
typedef unsigned short v16w __attribute__((vector_size(32), aligned(2)));
typedef _Float16 v16hf __attribute__((vector_size(32), aligned(2)));
typedef unsigned int v16ui __attribute__((vector_size(64)));

__attribute__((always_inline)) static inline void widen16(const unsigned short *p, int bf16, v16f *out) {
    if (bf16) {
        v16w h;
        memcpy(&h, p, sizeof h);
        *out = (v16f)(__builtin_convertvector(h, v16ui) << 16);
        return;
    }
    v16hf h;
    memcpy(&h, p, sizeof h);
    *out = __builtin_convertvector(h, v16f);
}

__attribute__((always_inline)) static inline float widen1(unsigned short h, int bf16) {
    if (bf16) {
        unsigned int u = (unsigned int)h << 16;
        float f;
        memcpy(&f, &u, sizeof f);
        return f;
    }
    _Float16 x;
    memcpy(&x, &h, sizeof x);
    return (float)x;
}

/* Four weight rows against up to four input rows. kind is a constant at
 * each call (0: float weights, 1: fp16, 2: bfloat16), so each kernel below
 * gets its own specialised copy of this body. */
__attribute__((always_inline)) static inline void weights16(const void *w, size_t at, int kind, v16f *out) {
    if (kind == 0) memcpy(out, (const float *)w + at, sizeof *out);
    else widen16((const unsigned short *)w + at, kind == 2, out);
}

__attribute__((always_inline)) static inline float weight1(const void *w, size_t at, int kind) {
    return kind == 0 ? ((const float *)w)[at] : widen1(((const unsigned short *)w)[at], kind == 2);
}

__attribute__((always_inline)) static inline void dot4xT(const void *w, const size_t wr[4], int kind, const float *const xr[4], int k,
                                                         int rows, float out[4][4]) {
    v16f a[4][4];
    memset(a, 0, sizeof a);
    int r = 0;
    for (; r + 16 <= k; r += 16) {
        v16f wv[4], xv[4];
        for (int u = 0; u < 4; u++) weights16(w, wr[u] + r, kind, &wv[u]);
        for (int t = 0; t < rows; t++) memcpy(&xv[t], xr[t] + r, sizeof xv[t]);
        for (int u = 0; u < 4; u++)
            for (int t = 0; t < rows; t++) a[u][t] += wv[u] * xv[t];
    }
    for (int u = 0; u < 4; u++)
        for (int t = 0; t < rows; t++) {
            float sum = 0;
            for (int l = 0; l < 16; l++) sum += a[u][t][l];
            for (int q = r; q < k; q++) sum += weight1(w, wr[u] + q, kind) * xr[t][q];
            out[u][t] = sum;
        }
}

__attribute__((always_inline)) static inline void skinny(const float *x, int m, int k, const void *w, int kind, const float *bias, int j_lo,
                                                         int j_hi, float *y, int n) {
    for (int j0 = j_lo; j0 < j_hi; j0 += 4) {
        /* Four weight rows (a short last block repeats its last row, not stored). */
        size_t wr[4];
        for (int u = 0; u < 4; u++) wr[u] = (size_t)(j0 + u < j_hi ? j0 + u : j_hi - 1) * k;
        for (int i0 = 0; i0 < m; i0 += 4) {
            /* Input rows past m repeat the last one and are not stored. */
            const float *xr[4];
            for (int t = 0; t < 4; t++) xr[t] = x + (size_t)(i0 + t < m ? i0 + t : m - 1) * k;
            float out[4][4];
            if (m == 1) dot4xT(w, wr, kind, xr, k, 1, out);
            else dot4xT(w, wr, kind, xr, k, 4, out);
            for (int u = 0; u < 4 && j0 + u < j_hi; u++)
                for (int t = 0; t < 4 && i0 + t < m; t++)
                    y[(size_t)(i0 + t) * n + j0 + u] = out[u][t] + (bias ? bias[j0 + u] : 0.0f);
        }
    }
}

CLONES void sc_skinny_inner_product(const float *x, int m, int k, const float *w, const float *bias, int j_lo, int j_hi, float *y,
                                    int n) {
    skinny(x, m, k, w, 0, bias, j_lo, j_hi, y, n);
}

CLONES void sc_skinny_inner_product_half(const float *x, int m, int k, const unsigned short *w, int bf16, const float *bias, int j_lo,
                                         int j_hi, float *y, int n) {
    if (bf16) skinny(x, m, k, w, 2, bias, j_lo, j_hi, y, n);
    else skinny(x, m, k, w, 1, bias, j_lo, j_hi, y, n);
}
