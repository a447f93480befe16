/* Element-wise kernels that Swift, built for baseline x86-64, cannot
 * vectorise: each is compiled for AVX-512, AVX2 (with FMA and F16C) and
 * baseline (target_clones, vectors.h) and the loader picks the one this CPU
 * runs. Callers (the Swift layers) split the work across threads; the
 * arithmetic is Caffe's, see there. */
#ifndef SWIFTCAFFE_KERNELS_H
#define SWIFTCAFFE_KERNELS_H
#include <stddef.h>
#include <stdint.h>

/* The CPU's spin-wait hint, for a thread polling a flag another core sets
 * (Parallel's waiting workers). */
static inline void sc_spin_pause(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

/* Pins the calling thread to the k-th CPU (from 0) of those the process
 * may run on (as the first caller found them), not counting skip_cpu;
 * returns the CPU, or −1 if there is no such CPU or pinning failed (the
 * thread's placement is then unchanged). */
int sc_pin_to_allowed_cpu(int skip_cpu, int k);

/* The CPU the calling thread runs on now (−1 if unknown). */
int sc_current_cpu(void);

/* How many CPUs the calling thread may run on (taskset, a container's
 * cpuset), or −1 if unknown. */
int sc_allowed_cpu_count(void);
/* Flushes stdout: 0, or the errno of a failed write (now or earlier). */
int sc_flush_stdout(void);

/* LRN across channels for one image and plane positions [lo, hi):
 * s = k + coeff·Σ_window x², y = x·s^−beta. acc: hi − lo floats of scratch. */
void sc_lrn_across_forward(const float *x, float *s, float *y, int channels, int plane, int lo, int hi, int size,
                           float coeff, float k, float beta, float *acc);

/* Its gradient: dx = dy·s^−beta − coeff2·x·Σ_window(dy·y/s).
 * ratio: channels·(hi − lo) floats, acc: hi − lo floats of scratch. */
void sc_lrn_across_backward(const float *x, const float *y, const float *s, const float *dy, float *dx, int channels,
                            int plane, int lo, int hi, int size, float coeff2, float beta, float *ratio, float *acc);

/* MAX (is_max, argmax indices into mask) or AVE pooling of one plane, with
 * Caffe's windows (AVE divides by the window clipped to the padded image). */
void sc_pool_forward_plane(const float *src, float *dst, int32_t *mask, int height, int width, int out_h, int out_w,
                           int kh, int kw, int sh, int sw, int ph, int pw, int is_max);

/* MAX pooling of one plane without the argmax (forward-only nets): per
 * output row, the maximum over the window's rows (contiguous, vectorised),
 * then over each window's columns, 16 outputs at a time for strides 1 and
 * 2. Results equal sc_pool_forward_plane's: a NaN never becomes the maximum.
 * row: sc_max_pool_row_floats(...) floats of scratch. */
int sc_max_pool_row_floats(int width, int out_w, int kw, int sw);
void sc_max_pool_plane(const float *src, float *dst, int height, int width, int out_h, int out_w, int kh, int kw, int sh,
                       int sw, int ph, int pw, float *row);

/* MAX pooling 3×3, stride 1, pad 1 (GoogLeNet's pool branch: the output has
 * the input's size), forward only, of planes [p_lo, p_hi) of `planes`. The
 * planes are one flat run of 16-output vectors, which may straddle planes:
 * on small maps (14×14, 7×7) a plane at a time pays a row's setup per few
 * outputs. Results equal sc_pool_forward_plane's.
 * masks: sc_max_pool_3x3s1_masks_floats(...) floats of scratch. */
int sc_max_pool_3x3s1_masks_floats(int height, int width);
void sc_max_pool_3x3s1(const float *src, float *dst, long planes, int height, int width, long p_lo, long p_hi, float *masks);

/* y[i][j] = Σ_k x[i][k]·w[j][k] (+ bias[j]) for rows j in [j_lo, j_hi): an
 * inner product with few inputs (the layer uses it for m ≤ 16). Four weight
 * rows are dotted with four input rows at a time, so each weight row is
 * read from memory once and the inputs from cache: the layer runs at
 * memory bandwidth, where a general sgemm with m = 1…16 does not. The
 * summation order is fixed: results do not depend on the thread count. */
void sc_skinny_inner_product(const float *x, int m, int k, const float *w, const float *bias, int j_lo, int j_hi, float *y,
                             int n);

/* The same with the weights stored as fp16 (bf16 = 0) or bfloat16 (bf16 = 1)
 * bit patterns, widened to float as they are read. */
void sc_skinny_inner_product_half(const float *x, int m, int k, const unsigned short *w, int bf16, const float *bias, int j_lo,
                                  int j_hi, float *y, int n);

/* One piece of Caffe's im2col: the kernel_w rows of the column matrix (ld
 * floats apart, from col) that one channel's plane gives for kernel row kh.
 * Positions outside the image are zeros. Stride 1 copies runs of vectors,
 * stride 2 takes every other input 16 at a time. */
void sc_im2col_piece(const float *plane, float *col, size_t ld, int height, int width, int kh, int kernel_w, int pad_h,
                     int pad_w, int stride_h, int stride_w, int dilation_h, int dilation_w, int out_h, int out_w);

/* Direct convolution of an input with few channels, see direct_conv.c.
 * Weights K × taps (taps = C·KH·KW) packed into blocks of 16 output
 * channels, taps × 16 each, zeros past K: ((K + 15) / 16)·taps·16 floats. */
void sc_direct_conv_pack(const float *w, int outputs, int taps, float *packed);

/* Whether sc_direct_conv_rows puts two output rows in a vector (rows of at
 * most 8 outputs, stride 1); its scratch then holds two sets of rows. */
int sc_direct_conv_pairs_rows(int out_w, int stride_w);

/* Floats per padded input row in the scratch of sc_direct_conv_rows, which
 * takes channels·kernel_h of them (twice that when it pairs rows). */
int sc_direct_conv_row_floats(int width, int pad_w, int out_w, int kernel_w, int stride_w, int dilation_w);

/* Output rows [oh_lo, oh_hi) of one image x (C × H × W), every output
 * channel: y = conv·scale[k] + shift[k], then the ReLU with slope if relu,
 * into y (K × out_h × out_w). stride_w must be 1 or 2. rows: scratch. */
void sc_direct_conv_rows(const float *x, int channels, int height, int width, const float *packed, int outputs,
                         int kernel_h, int kernel_w, int stride_h, int stride_w, int pad_h, int pad_w, int dilation_h,
                         int dilation_w, int out_h, int out_w, int oh_lo, int oh_hi, const float *scale,
                         const float *shift, int relu, float slope, float ceiling, float *y, float *rows);

/* Winograd F(4×4, 3×3), see winograd.c for the method and the layouts.
 * Filter: w is K × C × 3 × 3; writes U[ξ][k][c], at ξ·xi_stride +
 * k·k_stride + c·c_stride, for k in [k_lo, k_hi). */
void sc_wino43_filter(const float *w, int k_lo, int k_hi, int channels, float *u, size_t k_stride, size_t c_stride,
                      size_t xi_stride);

/* dst[p][c] = src[c][p] for positions p in [p_lo, p_hi): one image made channels-last. */
void sc_to_channels_last(const float *src, int channels, int plane, int p_lo, int p_hi, float *dst);

/* Input: tiles [t_lo, t_hi) of the chunk that starts at tile_first of the
 * batch; x is the batch channels-last (N × H × W × C). Writes V(ξ, t, c) at
 * t·tile_stride + ξ·xi_stride + c. */
void sc_wino43_input(const float *x, int height, int width, int channels, int pad_h, int pad_w, int tiles_h,
                     int tiles_w, int tile_first, int t_lo, int t_hi, float *v, size_t tile_stride, size_t xi_stride);

/* Output: tiles [t_lo, t_hi) of the chunk from M(ξ, t, k), at t·tile_stride +
 * ξ·xi_stride + k; writes
 * y = (Aᵀ M A)·scale[k] + shift[k] (NULL: 1, 0), then if relu the ReLU with
 * slope and the clamp to ceiling (ReLU6's 6; +inf for none), into the N × K × out_h × out_w output (image n at y + n·image_stride). */
void sc_wino43_output(const float *m, size_t tile_stride, size_t xi_stride, int outputs, int out_h, int out_w, int tiles_h, int tiles_w,
                      int tile_first, int t_lo, int t_hi, const float *scale, const float *shift, int relu, float slope, float ceiling,
                      float *y, size_t image_stride);

/* One output plane of a depthwise convolution: input plane x (H × W), its
 * kernel w (kernel_h × kernel_w), y = conv·scale + shift, then the ReLU with
 * slope if relu, into y (out_h × out_w). */
void sc_depthwise_conv_plane(const float *x, int height, int width, const float *w, int kernel_h, int kernel_w,
                             int stride_h, int stride_w, int pad_h, int pad_w, int dilation_h, int dilation_w,
                             int out_h, int out_w, float scale, float shift, int relu, float slope, float ceiling, float *y);

/* The same for a 3×3 kernel without dilation at stride 1 or 2, faster on
 * small planes; `scratch` holds sc_depthwise3x3_scratch(out_h, out_w,
 * stride) floats. The summation order differs from the general kernel's. */
size_t sc_depthwise3x3_scratch(int out_h, int out_w, int stride);
void sc_depthwise3x3_plane(const float *x, int height, int width, const float *w, int stride, int pad_h, int pad_w,
                           int out_h, int out_w, float scale, float shift, int relu, float slope, float ceiling, float *scratch, float *y);

/* The gradients of sc_depthwise_conv_plane for one plane: dw (kernel_h ×
 * kernel_w) += Σ dy·x, and, if dx is not NULL, dx (H × W, zeroed by the
 * caller) += w·dy. sums: kernel_h·kernel_w·out_w floats of scratch. */
void sc_depthwise_conv_plane_backward(const float *x, const float *dy, int height, int width, const float *w,
                                      int kernel_h, int kernel_w, int stride_h, int stride_w, int pad_h, int pad_w,
                                      int dilation_h, int dilation_w, int out_h, int out_w, float *dw, float *dx,
                                      float *sums);

/* C = map(A · B) for C's rows [m_lo, m_hi) and columns [n_lo, n_hi), see
 * narrow_gemm.c: A is M × k with rows lda apart, fp32 (a_kind 0) or the
 * bit patterns of fp16 (1) or bfloat16 (2); B is k × N, rows ldb apart; C's
 * rows are ldc apart. Row o of C is then y·scale[o] + shift[o] (NULL: 1,
 * 0), and with relu the ReLU with slope and the clamp to ceiling. scratch:
 * sc_narrow_gemm_scratch_floats() floats for half-width A (unused for fp32).
 * Only where sc_narrow_gemm_available() (AVX-512F, BW, VL). */
int sc_narrow_gemm_available(void);
size_t sc_narrow_gemm_scratch_floats(void);
void sc_narrow_gemm(const void *a, int a_kind, size_t lda, const float *b, size_t ldb, float *c, size_t ldc, int m_lo, int m_hi,
                    int n_lo, int n_hi, int k, const float *scale, const float *shift, int relu, float slope, float ceiling,
                    float *scratch);

/* C = A · B (m × n, all fp32, no map) for a product whose right-hand
 * matrix is the large one (Winograd's transformed weights with few tiles):
 * each block of B is kept in L1 while every row of A passes it. */
void sc_narrow_gemm_b_major(const float *a, size_t lda, const float *b, size_t ldb, float *c, size_t ldc, int m, int n, int k);

#endif
