/* Winograd convolution F(4×4, 3×3) (Lavin & Gray, "Fast Algorithms for
 * Convolutional Neural Networks", 2016), interpolation points 0, ±1, ±2, ∞.
 * A 3×3 stride-1 convolution becomes, per 4×4 output tile:
 *   Y = Aᵀ [ (G g Gᵀ) ⊙ (Bᵀ d B) ] A
 * with d the 6×6 input patch. The elementwise product summed over input
 * channels is 36 independent GEMMs, one per position ξ of the 6×6 tile:
 *   M[ξ] (T × K) = V[ξ] (T × C) · U[ξ]ᵀ (C × K)
 * which the Swift layer runs through NarrowGEMM (or OpenBLAS): 36
 * multiplies per 16 outputs instead of 144.
 *
 * Layouts (T tiles in a chunk; tile t = row of tiles · tiles_w + tx, the
 * row of tiles counting across the images of the batch):
 *   U: [36][K][C]    V: [T][36][C]    M: [T][36][K]
 * (or U: [36][group][C/group][K/group] for NarrowGEMM, which takes the
 * product's right-hand matrix row-major; the filter transform writes either,
 * and the input and output transforms take both strides of V and M).
 * Channels are innermost so that every transform works on 16 channels at
 * once with contiguous loads and stores, whatever the size of the image
 * (AlexNet's 13×13 maps have four tiles per row). The input is therefore
 * read channels-last, from a transposed copy (sc_to_channels_last). */
#include "kernels.h"
#include "vectors.h"

#include <string.h>

/* Vector loads and stores of len ≤ 16 floats. A full vector goes through an
 * unaligned vector type: written as memcpy(v, p, 64) beside the partial
 * memcpy(v, p, 4·len), the compiler merges the two into one library call
 * of variable length, which made the transforms several times slower. */
__attribute__((always_inline)) static inline void load(v16f *v, const float *p, int len) {
    if (len == 16) *v = *(const v16u *)p;
    else memcpy(v, p, sizeof(float) * (size_t)len);
}

__attribute__((always_inline)) static inline void store(float *p, const v16f *v, int len) {
    if (len == 16) *(v16u *)p = *v;
    else memcpy(p, v, sizeof(float) * (size_t)len);
}

/* Transposes the 16×16 matrix whose rows are r[0..15]: for b = 8, 4, 2, 1,
 * rows r and r + b (r without bit b) swap their off-diagonal b × b blocks,
 * each step one two-source shuffle per row. */
#define SWAP_BLOCKS(b, ia, ib)                                                                                             \
    for (int q = 0; q < 16; q++)                                                                                           \
        if (!(q & (b))) {                                                                                                  \
            v16f x = r[q], y = r[q + (b)];                                                                                 \
            r[q] = __builtin_shufflevector(x, y, ia);                                                                      \
            r[q + (b)] = __builtin_shufflevector(x, y, ib);                                                                \
        }
#define I8A 0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23
#define I8B 8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31
#define I4A 0, 1, 2, 3, 16, 17, 18, 19, 8, 9, 10, 11, 24, 25, 26, 27
#define I4B 4, 5, 6, 7, 20, 21, 22, 23, 12, 13, 14, 15, 28, 29, 30, 31
#define I2A 0, 1, 16, 17, 4, 5, 20, 21, 8, 9, 24, 25, 12, 13, 28, 29
#define I2B 2, 3, 18, 19, 6, 7, 22, 23, 10, 11, 26, 27, 14, 15, 30, 31
#define I1A 0, 16, 2, 18, 4, 20, 6, 22, 8, 24, 10, 26, 12, 28, 14, 30
#define I1B 1, 17, 3, 19, 5, 21, 7, 23, 9, 25, 11, 27, 13, 29, 15, 31

__attribute__((always_inline)) static inline void transpose16(v16f *r) {
    SWAP_BLOCKS(8, I8A, I8B)
    SWAP_BLOCKS(4, I4A, I4B)
    SWAP_BLOCKS(2, I2A, I2B)
    SWAP_BLOCKS(1, I1A, I1B)
}

CLONES void sc_to_channels_last(const float *src, int channels, int plane, int p_lo, int p_hi, float *dst) {
    /* 16 channels × 16 positions at a time, transposed in registers: each
     * source line is used whole as soon as it is loaded. (Planes whose size
     * is a multiple of 4 KiB put the 16 rows in one L1 set, so a loop that
     * revisits them, as an element-wise copy through a local square did,
     * runs from L2 at a tenth of this speed.) */
    for (int p0 = p_lo; p0 < p_hi; p0 += 16) {
        int np = p_hi - p0 < 16 ? p_hi - p0 : 16;
        for (int c0 = 0; c0 < channels; c0 += 16) {
            int nc = channels - c0 < 16 ? channels - c0 : 16;
            v16f r[16];
            for (int c = 0; c < 16; c++) {
                r[c] = (v16f){0};
                if (c < nc) load(&r[c], src + (size_t)(c0 + c) * plane + p0, np);
            }
            transpose16(r);
            for (int p = 0; p < np; p++) store(dst + (size_t)(p0 + p) * channels + c0, &r[p], nc);
        }
    }
}

CLONES void sc_wino43_filter(const float *w, int k_lo, int k_hi, int channels, float *u, size_t k_stride, size_t c_stride,
                             size_t xi_stride) {
    for (int k = k_lo; k < k_hi; k++) {
        for (int c = 0; c < channels; c++) {
            const float *g = w + ((size_t)k * channels + c) * 9;
            /* t = G g (6×3), G's rows: [1/4 0 0], [-1/6 -1/6 -1/6], [-1/6 1/6 -1/6],
             * [1/24 1/12 1/6], [1/24 -1/12 1/6], [0 0 1]. */
            float t[6][3];
            for (int j = 0; j < 3; j++) {
                float g0 = g[j], g1 = g[3 + j], g2 = g[6 + j];
                t[0][j] = g0 / 4;
                t[1][j] = -(g0 + g1 + g2) / 6;
                t[2][j] = -(g0 - g1 + g2) / 6;
                t[3][j] = g0 / 24 + g1 / 12 + g2 / 6;
                t[4][j] = g0 / 24 - g1 / 12 + g2 / 6;
                t[5][j] = g2;
            }
            float *o = u + (size_t)k * k_stride + (size_t)c * c_stride;
            for (int i = 0; i < 6; i++) {
                float g0 = t[i][0], g1 = t[i][1], g2 = t[i][2];
                float r[6] = {g0 / 4, -(g0 + g1 + g2) / 6, -(g0 - g1 + g2) / 6, g0 / 24 + g1 / 12 + g2 / 6,
                              g0 / 24 - g1 / 12 + g2 / 6, g2};
                for (int j = 0; j < 6; j++) o[(size_t)(i * 6 + j) * xi_stride] = r[j];
            }
        }
    }
}

/* Bᵀ applied to six vectors: the rows of the input transform. */
#define BT6(o, r)                                              \
    do {                                                       \
        o[0] = 4 * r[0] - 5 * r[2] + r[4];                     \
        o[1] = -4 * (r[1] + r[2]) + r[3] + r[4];               \
        o[2] = 4 * (r[1] - r[2]) - r[3] + r[4];                \
        o[3] = -2 * (r[1] - r[3]) - r[2] + r[4];               \
        o[4] = 2 * (r[1] - r[3]) - r[2] + r[4];                \
        o[5] = 4 * r[1] - 5 * r[3] + r[5];                     \
    } while (0)

CLONES void sc_wino43_input(const float *x, int height, int width, int channels, int pad_h, int pad_w, int tiles_h,
                            int tiles_w, int tile_first, int t_lo, int t_hi, float *v, size_t tile_stride, size_t xi_stride) {
    const v16f zero = {0};
    for (int t = t_lo; t < t_hi; t++) {
        int global = tile_first + t, tx = global % tiles_w, row = global / tiles_w;
        int n = row / tiles_h, ty = row % tiles_h;
        int y0 = 4 * ty - pad_h, x0 = 4 * tx - pad_w;
        const float *image = x + (size_t)n * height * width * channels;
        for (int c0 = 0; c0 < channels; c0 += 16) {
            int len = channels - c0 < 16 ? channels - c0 : 16;
            v16f d[6][6];
            for (int i = 0; i < 6; i++) {
                int yy = y0 + i;
                for (int j = 0; j < 6; j++) {
                    int xx = x0 + j;
                    d[i][j] = zero;
                    if (yy >= 0 && yy < height && xx >= 0 && xx < width)
                        load(&d[i][j], image + ((size_t)yy * width + xx) * channels + c0, len);
                }
            }
            v16f s[6][6];
            for (int j = 0; j < 6; j++) {
                v16f col[6] = {d[0][j], d[1][j], d[2][j], d[3][j], d[4][j], d[5][j]}, o[6];
                BT6(o, col);
                for (int i = 0; i < 6; i++) s[i][j] = o[i];
            }
            float *out = v + (size_t)t * tile_stride + c0;
            for (int i = 0; i < 6; i++) {
                v16f o[6];
                BT6(o, s[i]);
                for (int j = 0; j < 6; j++) store(out + (size_t)(i * 6 + j) * xi_stride, &o[j], len);
            }
        }
    }
}

/* Aᵀ applied to six vectors: four outputs. */
#define AT4(o, m)                                                              \
    do {                                                                       \
        v16f a_ = m[1] + m[2], b_ = m[1] - m[2], c_ = m[3] + m[4], d_ = m[3] - m[4]; \
        o[0] = m[0] + a_ + c_;                                                 \
        o[1] = b_ + 2 * d_;                                                    \
        o[2] = a_ + 4 * c_;                                                    \
        o[3] = b_ + 8 * d_ + m[5];                                             \
    } while (0)

/* One tile's outputs for 16 channels from k0 on (len of them): r[l] is
 * channel l's 4×4 block, row-major, mapped by scale *a, shift *b and the ReLU.
 * (Pointers: a vector passed by value would change the ABI per target.) */
__attribute__((always_inline)) static inline void output_blocks(const float *src, size_t xi_stride, int len, const v16f *a, const v16f *b,
                                                                int relu, float slope, float ceiling, v16f r[16]) {
    v16f p[6][6];
    for (int i = 0; i < 6; i++)
        for (int j = 0; j < 6; j++) {
            p[i][j] = (v16f){0};
            load(&p[i][j], src + (size_t)(i * 6 + j) * xi_stride, len);
        }
    v16f s[4][6];
    for (int j = 0; j < 6; j++) {
        v16f col[6] = {p[0][j], p[1][j], p[2][j], p[3][j], p[4][j], p[5][j]}, o[4];
        AT4(o, col);
        for (int i = 0; i < 4; i++) s[i][j] = o[i];
    }
    /* r[4i + j]: output (i, j) of the tile for 16 channels (lanes). */
    for (int i = 0; i < 4; i++) {
        v16f o[4];
        AT4(o, s[i]);
        for (int j = 0; j < 4; j++) {
            v16f q = o[j] * *a + *b;
            if (relu) {
                v16i positive = q > 0;
                q = (v16f)(((v16i)q & positive) | ((v16i)(q * slope) & ~positive));
                v16i above = q > ceiling;
                q = (v16f)(((v16i)q & ~above) | ((v16i)((v16f){0} + ceiling) & above));
            }
            r[4 * i + j] = q;
        }
    }
    transpose16(r);
}

CLONES void sc_wino43_output(const float *m, size_t tile_stride, size_t xi_stride, int outputs, int out_h, int out_w,
                             int tiles_h, int tiles_w, int tile_first, int t_lo, int t_hi, const float *scale,
                             const float *shift, int relu, float slope, float ceiling, float *y, size_t image_stride) {
    size_t plane = (size_t)out_h * out_w;
    for (int t = t_lo; t < t_hi;) {
        int global = tile_first + t, tx = global % tiles_w, row = global / tiles_w;
        int n = row / tiles_h, ty = row % tiles_h;
        /* A run of up to four tiles along a row of tiles, from a multiple of
         * four on: together they write whole 64-byte rows. Writing one tile's
         * rows of four at a time left each cache line part-written while the
         * other 15 channels' lines were touched, and where a plane's size is a
         * multiple of 4 KiB (224 × 224) those 16 lines share one L1 set. */
        int run = 4 - tx % 4;
        if (run > tiles_w - tx) run = tiles_w - tx;
        if (run > t_hi - t) run = t_hi - t;
        int rows = out_h - 4 * ty < 4 ? out_h - 4 * ty : 4;
        int whole = run == 4 && out_w - 4 * tx >= 16;
        float *base = y + (size_t)n * image_stride + (size_t)(4 * ty) * out_w + 4 * tx;
        for (int k0 = 0; k0 < outputs; k0 += 16) {
            int len = outputs - k0 < 16 ? outputs - k0 : 16;
            v16f a, b;
            for (int l = 0; l < 16; l++) {
                a[l] = l < len ? (scale ? scale[k0 + l] : 1.0f) : 0.0f;
                b[l] = l < len ? (shift ? shift[k0 + l] : 0.0f) : 0.0f;
            }
            v16f r[4][16];
            for (int q = 0; q < run; q++)
                output_blocks(m + (size_t)(t + q) * tile_stride + k0, xi_stride, len, &a, &b, relu, slope, ceiling, r[q]);
            for (int l = 0; l < len; l++) {
                float *dst = base + (size_t)(k0 + l) * plane;
                if (whole) {
                    /* Row i of the four blocks side by side: a 4 × 4 transpose of their 128-bit quarters. */
                    v16f ab_lo = __builtin_shufflevector(r[0][l], r[1][l], 0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23);
                    v16f ab_hi = __builtin_shufflevector(r[0][l], r[1][l], 8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31);
                    v16f cd_lo = __builtin_shufflevector(r[2][l], r[3][l], 0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23);
                    v16f cd_hi = __builtin_shufflevector(r[2][l], r[3][l], 8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31);
                    v16f o[4] = {
                        __builtin_shufflevector(ab_lo, cd_lo, 0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25, 26, 27),
                        __builtin_shufflevector(ab_lo, cd_lo, 4, 5, 6, 7, 12, 13, 14, 15, 20, 21, 22, 23, 28, 29, 30, 31),
                        __builtin_shufflevector(ab_hi, cd_hi, 0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25, 26, 27),
                        __builtin_shufflevector(ab_hi, cd_hi, 4, 5, 6, 7, 12, 13, 14, 15, 20, 21, 22, 23, 28, 29, 30, 31)};
                    for (int i = 0; i < rows; i++) *(v16u *)(dst + (size_t)i * out_w) = o[i];
                    continue;
                }
                for (int q = 0; q < run; q++) {
                    float block[16];
                    *(v16u *)block = r[q][l];
                    int cols = out_w - 4 * (tx + q) < 4 ? out_w - 4 * (tx + q) : 4;
                    float *d = dst + 4 * q;
                    for (int i = 0; i < rows; i++) {
                        if (cols == 4) *(v4u *)(d + (size_t)i * out_w) = *(const v4u *)(block + 4 * i);
                        else
                            for (int j = 0; j < cols; j++) d[(size_t)i * out_w + j] = block[4 * i + j];
                    }
                }
            }
        }
        t += run;
    }
}
