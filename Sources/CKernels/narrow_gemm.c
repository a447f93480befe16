/* C = A·B for a block of C, neither matrix packed, with a convolution's
 * epilogue applied as each tile is stored: the products of convolutions at
 * batch 1, where C is an output (K channels × one image's positions) and A
 * is the weights.
 *
 * A general sgemm copies blocks of A and B into packed buffers on every
 * call. Here A (M × K, the weights) is much larger than B (the image's
 * columns) and each of its elements is used for only N = 49…3136 outputs,
 * so that copy costs about as much memory traffic as reading A for the
 * product itself. This kernel reads A in place instead: a tile of 8 rows of
 * C holds one row pointer per row of A and broadcasts A's elements from
 * them; B is read in place too, a row of up to 48 columns per step of K
 * (its block of K × 512 columns stays in the core's L2). The last vector of
 * a tile is masked, so any N works without padding.
 *
 * Sums run over K in blocks of KC, each block's tile added to C's; the
 * order depends on KC and NC only, not on how the caller splits C among
 * threads. A may be fp32, fp16 or bfloat16: a half-width block of 8 rows ×
 * KC is widened into `scratch` once and then used for every tile of the
 * block. AVX-512 only; the caller uses OpenBLAS where it is missing. */
#include "kernels.h"

#include <immintrin.h>

enum { MR = 8, KC = 256, NC = 512, NR_VECTORS = 3, NR_MAX = 4 };

int sc_narrow_gemm_available(void) {
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl");
}

size_t sc_narrow_gemm_scratch_floats(void) { return (size_t)MR * KC; }

struct epilogue {
    const float *scale, *shift;
    int relu;
    float slope, ceiling;
};

/* One pass of a tile: rows [0, rows) of C (rows ≤ pass_rows, 8 or 4) × nv
 * vectors of columns, the last vector masked by `last`, over kc steps of K.
 * a[r] is row r's first element of this block of K (a row past `rows`
 * repeats the last one, so the loop has no branches; its sums are not
 * stored). pass_rows × nv accumulators: 24 or 16 of the 32 registers. */
__attribute__((target("avx512f,avx512bw,avx512vl"), always_inline)) static inline void
tile_pass(const float *const a[], int pass_rows, const float *b, size_t ldb, float *c, size_t ldc, int rows, int nv,
          __mmask16 last, int kc, int add_to_c, int final, const struct epilogue *e, int row0, const float *prefetch,
          size_t prefetch_ld) {
    __m512 acc[MR][NR_MAX];
    for (int r = 0; r < pass_rows; r++)
        for (int v = 0; v < nv; v++) acc[r][v] = _mm512_setzero_ps();
    for (int p = 0; p < kc; p++) {
        /* One line of the next A block per step: row p % 8, line p / 8. */
        if (prefetch && p < 8 * ((kc + 15) / 16))
            _mm_prefetch((const char *)(prefetch + (size_t)(p % MR) * prefetch_ld + 16 * (p / MR)), _MM_HINT_T0);
        const float *bp = b + (size_t)p * ldb;
        __m512 bv[NR_MAX];
        for (int v = 0; v < nv; v++) bv[v] = v == nv - 1 ? _mm512_maskz_loadu_ps(last, bp + 16 * v) : _mm512_loadu_ps(bp + 16 * v);
        for (int r = 0; r < pass_rows; r++) {
            __m512 av = _mm512_set1_ps(a[r][p]);
            for (int v = 0; v < nv; v++) acc[r][v] = _mm512_fmadd_ps(av, bv[v], acc[r][v]);
        }
    }
    for (int r = 0; r < rows; r++) {
        float *cr = c + (size_t)r * ldc;
        __m512 scale = _mm512_set1_ps(final && e->scale ? e->scale[row0 + r] : 1);
        __m512 shift = _mm512_set1_ps(final && e->shift ? e->shift[row0 + r] : 0);
        for (int v = 0; v < nv; v++) {
            __mmask16 m = v == nv - 1 ? last : 0xFFFF;
            __m512 x = acc[r][v];
            if (add_to_c) x = _mm512_add_ps(_mm512_maskz_loadu_ps(m, cr + 16 * v), x);
            if (final) {
                x = _mm512_fmadd_ps(x, scale, shift);
                if (e->relu) {
                    /* v > 0 ? v : v·slope, then v > ceiling ? ceiling : v, as the other kernels. */
                    __mmask16 positive = _mm512_cmp_ps_mask(x, _mm512_setzero_ps(), _CMP_GT_OQ);
                    x = _mm512_mask_blend_ps(positive, _mm512_mul_ps(x, _mm512_set1_ps(e->slope)), x);
                    __mmask16 above = _mm512_cmp_ps_mask(x, _mm512_set1_ps(e->ceiling), _CMP_GT_OQ);
                    x = _mm512_mask_blend_ps(above, x, _mm512_set1_ps(e->ceiling));
                }
            }
            _mm512_mask_storeu_ps(cr + 16 * v, m, x);
        }
    }
}

/* A tile of up to MR rows × nv ≤ 4 vectors: three in one pass of eight
 * rows; four (a strip of 49–64 columns, such as a 7×7 map's 49 positions)
 * in two passes of four rows, rather than a strip of three vectors and then
 * one of a single, nearly empty vector that broadcasts all of A's elements
 * again for it. */
__attribute__((target("avx512f,avx512bw,avx512vl"), always_inline)) static inline void
tile(const float *const a[MR], const float *b, size_t ldb, float *c, size_t ldc, int rows, int nv, __mmask16 last, int kc,
     int add_to_c, int final, const struct epilogue *e, int row0, const float *prefetch, size_t prefetch_ld) {
    if (nv < 4) {
        tile_pass(a, MR, b, ldb, c, ldc, rows, nv, last, kc, add_to_c, final, e, row0, prefetch, prefetch_ld);
        return;
    }
    tile_pass(a, 4, b, ldb, c, ldc, rows < 4 ? rows : 4, 4, last, kc, add_to_c, final, e, row0, prefetch, prefetch_ld);
    if (rows > 4) tile_pass(a + 4, 4, b, ldb, c + 4 * ldc, ldc, rows - 4, 4, last, kc, add_to_c, final, e, row0 + 4, NULL, 0);
}

/* The columns of the strip that starts `left` columns before the end: all
 * of them when at most 64 are left (up to four vectors), else 48 (three). */
static inline int strip_width(int left) { return left <= 16 * NR_MAX ? left : 16 * NR_VECTORS; }

/* The tile for a strip `width` columns wide: `tile` with its vector count
 * as a constant, so each count gets its own unrolled loop. */
__attribute__((target("avx512f,avx512bw,avx512vl"), always_inline)) static inline void
strip_tile(const float *const a[MR], const float *b, size_t ldb, float *c, size_t ldc, int rows, int width, int kc,
           int add_to_c, int final, const struct epilogue *e, int row0, const float *prefetch, size_t prefetch_ld) {
    int nv = (width + 15) / 16, tail = width - 16 * (nv - 1);
    __mmask16 last = tail == 16 ? 0xFFFF : (__mmask16)((1u << tail) - 1);
    if (nv == 4) tile(a, b, ldb, c, ldc, rows, 4, last, kc, add_to_c, final, e, row0, prefetch, prefetch_ld);
    else if (nv == 3) tile(a, b, ldb, c, ldc, rows, 3, last, kc, add_to_c, final, e, row0, prefetch, prefetch_ld);
    else if (nv == 2) tile(a, b, ldb, c, ldc, rows, 2, last, kc, add_to_c, final, e, row0, prefetch, prefetch_ld);
    else tile(a, b, ldb, c, ldc, rows, 1, last, kc, add_to_c, final, e, row0, prefetch, prefetch_ld);
}

/* Rows [0, rows) of a half-width A block widened into `dst` (MR × kc
 * floats). The block to be widened next (`next`, its rows lda apart, or
 * NULL) is prefetched meanwhile: widening asks for all 8 rows at once,
 * where reading fp32 rows in place during the tiles' loop lets the
 * hardware prefetcher run ahead. */
__attribute__((target("avx512f,avx512bw,avx512vl"))) static void
widen_block(const unsigned short *a, size_t lda, int bf16, int rows, int kc, const unsigned short *next, float *dst) {
    for (int r = 0; r < rows; r++) {
        const unsigned short *src = a + (size_t)r * lda;
        float *out = dst + (size_t)r * kc;
        for (int p = 0; p < kc; p += 16) {
            __mmask16 m = kc - p >= 16 ? 0xFFFF : (__mmask16)((1u << (kc - p)) - 1);
            if (next && p % 32 == 0) _mm_prefetch((const char *)(next + (size_t)r * lda + p), _MM_HINT_T0);
            __m256i h = _mm256_maskz_loadu_epi16(m, src + p);
            __m512 x = bf16 ? _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16)) : _mm512_cvtph_ps(h);
            _mm512_mask_storeu_ps(out + p, m, x);
        }
    }
}

__attribute__((target("avx512f,avx512bw,avx512vl"))) void
sc_narrow_gemm(const void *a, int a_kind, size_t lda, const float *b, size_t ldb, float *c, size_t ldc, int m_lo, int m_hi,
               int n_lo, int n_hi, int k, const float *scale, const float *shift, int relu, float slope, float ceiling,
               float *scratch) {
    const struct epilogue e = {scale, shift, relu, slope, ceiling};
    for (int jc = n_lo; jc < n_hi; jc += NC) {
        int jc_end = n_hi - jc < NC ? n_hi : jc + NC;
        for (int k0 = 0; k0 < k; k0 += KC) {
            int kc = k - k0 < KC ? k - k0 : KC;
            int add_to_c = k0 > 0, final = k0 + kc == k;
            for (int i = m_lo; i < m_hi; i += MR) {
                int rows = m_hi - i < MR ? m_hi - i : MR;
                const float *rowp[MR];
                if (a_kind == 0) {
                    for (int r = 0; r < MR; r++) rowp[r] = (const float *)a + (size_t)(i + (r < rows ? r : rows - 1)) * lda + k0;
                } else {
                    const unsigned short *half = a, *next = NULL;
                    if (k0 + KC < k) next = half + (size_t)i * lda + k0 + KC;
                    else if (i + MR < m_hi) next = half + (size_t)(i + MR) * lda;
                    widen_block(half + (size_t)i * lda + k0, lda, a_kind == 2, rows, kc, next, scratch);
                    for (int r = 0; r < MR; r++) rowp[r] = scratch + (size_t)(r < rows ? r : rows - 1) * kc;
                }
                /* fp32 rows are read in place: the first tile prefetches the
                 * block of A the next tiles' row block will read (rows
                 * i + 8.., or the first rows for the next block of K). */
                const float *prefetch = NULL;
                if (a_kind == 0) {
                    if (i + 2 * MR <= m_hi) prefetch = (const float *)a + (size_t)(i + MR) * lda + k0;
                    else if (i + MR >= m_hi && k0 + KC < k && m_hi - m_lo >= MR) prefetch = (const float *)a + (size_t)m_lo * lda + k0 + KC;
                }
                for (int j = jc, width; j < jc_end; j += width) {
                    width = strip_width(jc_end - j);
                    strip_tile(rowp, b + (size_t)k0 * ldb + j, ldb, c + (size_t)i * ldc + j, ldc, rows, width, kc, add_to_c,
                               final, &e, i, prefetch, lda);
                    prefetch = NULL;
                }
            }
        }
    }
}

/* The loops of sc_narrow_gemm turned around: each 48-column strip of a
 * block of B (KC_B × 48 floats, 24 KiB) stays in L1 while every row block
 * of A passes over it, and A (a few dozen rows) is re-read from L2 per
 * strip. sc_narrow_gemm's order suits a large A read once; with B the
 * large matrix (Winograd at batch 1: 512 × 512 per ξ against 49 tiles) it
 * streamed every block of B from L2 once per eight rows of A. */
enum { KC_B = 128 };

__attribute__((target("avx512f,avx512bw,avx512vl"))) void
sc_narrow_gemm_b_major(const float *a, size_t lda, const float *b, size_t ldb, float *c, size_t ldc, int m, int n, int k) {
    const struct epilogue none = {NULL, NULL, 0, 0, 0};
    for (int k0 = 0; k0 < k; k0 += KC_B) {
        int kc = k - k0 < KC_B ? k - k0 : KC_B;
        for (int j = 0, width; j < n; j += width) {
            width = strip_width(n - j);
            for (int i = 0; i < m; i += MR) {
                int rows = m - i < MR ? m - i : MR;
                const float *rowp[MR];
                for (int r = 0; r < MR; r++) rowp[r] = a + (size_t)(i + (r < rows ? r : rows - 1)) * lda + k0;
                strip_tile(rowp, b + (size_t)k0 * ldb + j, ldb, c + (size_t)i * ldc + j, ldc, rows, width, kc, k0 > 0, 0, &none,
                           i, NULL, 0);
            }
        }
    }
}
