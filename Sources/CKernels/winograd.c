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
 *   U: [36][K][C]    V: [36][T][C]    M: [36][T][K]
 * (or U: [36][group][C/group][K/group] for NarrowGEMM, which takes the
 * product's right-hand matrix row-major; the filter transform writes either).
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

CLONES void sc_to_channels_last(const float *src, int channels, int plane, int p_lo, int p_hi, float *dst) {
    /* 16 × 16 blocks through a local square: rows read and written whole. */
    float square[16][16];
    for (int p0 = p_lo; p0 < p_hi; p0 += 16) {
        int np = p_hi - p0 < 16 ? p_hi - p0 : 16;
        for (int c0 = 0; c0 < channels; c0 += 16) {
            int nc = channels - c0 < 16 ? channels - c0 : 16;
            for (int c = 0; c < nc; c++) {
                const float *s = src + (size_t)(c0 + c) * plane + p0;
                for (int p = 0; p < np; p++) square[p][c] = s[p];
            }
            for (int p = 0; p < np; p++) {
                v16f row;
                memcpy(&row, square[p], sizeof row);
                store(dst + (size_t)(p0 + p) * channels + c0, &row, nc);
            }
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
                            int tiles_w, int tile_first, int t_lo, int t_hi, float *v, size_t xi_stride) {
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
            float *out = v + (size_t)t * channels + c0;
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

CLONES void sc_wino43_output(const float *m, size_t xi_stride, int outputs, int out_h, int out_w, int tiles_h, int tiles_w,
                             int tile_first, int t_lo, int t_hi, const float *scale, const float *shift, int relu, float slope,
                             float ceiling, float *y, size_t image_stride) {
    for (int t = t_lo; t < t_hi; t++) {
        int global = tile_first + t, tx = global % tiles_w, row = global / tiles_w;
        int n = row / tiles_h, ty = row % tiles_h;
        int rows = out_h - 4 * ty < 4 ? out_h - 4 * ty : 4, cols = out_w - 4 * tx < 4 ? out_w - 4 * tx : 4;
        float *base = y + (size_t)n * image_stride + (size_t)(4 * ty) * out_w + 4 * tx;
        for (int k0 = 0; k0 < outputs; k0 += 16) {
            int len = outputs - k0 < 16 ? outputs - k0 : 16;
            const float *src = m + (size_t)t * outputs + k0;
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
            v16f a, b;
            for (int l = 0; l < 16; l++) {
                a[l] = l < len ? (scale ? scale[k0 + l] : 1.0f) : 0.0f;
                b[l] = l < len ? (shift ? shift[k0 + l] : 0.0f) : 0.0f;
            }
            /* r[4i + j]: output (i, j) of the tile for 16 channels (lanes). */
            v16f r[16];
            for (int i = 0; i < 4; i++) {
                v16f o[4];
                AT4(o, s[i]);
                for (int j = 0; j < 4; j++) {
                    v16f q = o[j] * a + b;
                    if (relu) {
                        v16i positive = q > 0;
                        q = (v16f)(((v16i)q & positive) | ((v16i)(q * slope) & ~positive));
                        v16i above = q > ceiling;
                        q = (v16f)(((v16i)q & ~above) | ((v16i)((v16f){0} + ceiling) & above));
                    }
                    r[4 * i + j] = q;
                }
            }
            /* r[l]: channel l's 4×4 block, rows of four written whole. */
            transpose16(r);
            for (int l = 0; l < len; l++) {
                float block[16];
                *(v16u *)block = r[l];
                float *dst = base + (size_t)(k0 + l) * out_h * out_w;
                for (int i = 0; i < rows; i++) {
                    if (cols == 4) *(v4u *)(dst + (size_t)i * out_w) = *(const v4u *)(block + 4 * i);
                    else
                        for (int j = 0; j < cols; j++) dst[(size_t)i * out_w + j] = block[4 * i + j];
                }
            }
        }
    }
}
