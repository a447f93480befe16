/* Vector types and helpers shared by the kernels (GCC/clang vector
 * extensions). Each kernel is compiled for x86-64's levels v4 (AVX-512 F,
 * BW, DQ, VL), v3 (AVX2 with FMA and F16C) and baseline (CLONES), and the
 * loader picks the one this CPU runs. A level rather than "avx2" alone: a
 * plain AVX2 clone has neither fused multiply-adds nor F16C, so its sums
 * take a multiply and an add, and it widens fp16 weights one value at a
 * time in software. */
#ifndef SWIFTCAFFE_VECTORS_H
#define SWIFTCAFFE_VECTORS_H

#define CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))

typedef float v16f __attribute__((vector_size(64)));
typedef int v16i __attribute__((vector_size(64)));

/* Unaligned loads and stores go through these types: memcpy of a full
 * vector beside one of variable length is merged by the compiler into one
 * library call. */
typedef float v16u __attribute__((vector_size(64), aligned(4)));
typedef float v8u __attribute__((vector_size(32), aligned(4)));
typedef float v4u __attribute__((vector_size(16), aligned(4)));

/* Lanes 0, 2, …, 30 of the 32 floats at p: every other input, for stride 2.
 * (Macros: a function passing v16f by value would change the ABI per target.) */
#define EVENS(p)                                                                                                           \
    __builtin_shufflevector(*(const v16u *)(p), *(const v16u *)((p) + 16), 0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24,   \
                            26, 28, 30)

#endif
