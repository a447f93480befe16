/* Element-wise kernels that Swift, built for baseline x86-64, cannot
 * vectorise: each is compiled for AVX-512, AVX2 and baseline (target_clones)
 * and the loader picks the one this CPU runs. Callers (the Swift layers)
 * split the work across threads; the arithmetic is Caffe's, see there. */
#ifndef SWIFTCAFFE_KERNELS_H
#define SWIFTCAFFE_KERNELS_H
#include <stdint.h>

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

/* MAX pooling of one plane without the argmax (forward-only nets), done as
 * row maxima then column maxima so both passes vectorise.
 * tmp: height · out_w floats of scratch. */
void sc_max_pool_plane_separable(const float *src, float *dst, int height, int width, int out_h, int out_w, int kh, int kw,
                                 int sh, int sw, int ph, int pw, float *tmp);

/* y[i][j] = Σ_k x[i][k]·w[j][k] (+ bias[j]) for rows j in [j_lo, j_hi): an
 * inner product with few inputs (the layer uses it for m ≤ 4). Each weight row is read once and
 * dotted with every input held in cache, so the layer runs at memory
 * bandwidth, where a general sgemm with m = 1…16 does not. The summation
 * order is fixed: results do not depend on the thread count. */
void sc_skinny_inner_product(const float *x, int m, int k, const float *w, const float *bias, int j_lo, int j_hi, float *y,
                             int n);

#endif
