/* cpu_real.h - the scalar type of the CPU kernels (cpu_k_*.h) and the GEMM they call.
 *
 * The kernels are written once against wn_real and compiled twice: as float with cblas_sgemm
 * (the backend, src/cpu/cpu_*.c) and as double with cblas_dgemm (the gradient-check twin,
 * cpu_f64.c, which defines WN_CPU_F64 before including any kernel header). Internal to src/cpu. */
#ifndef WN_CPU_REAL_H
#define WN_CPU_REAL_H

#include <cblas.h>
#include <stddef.h>

#ifdef WN_CPU_F64
typedef double wn_real;
#define WN_CPU_GEMM cblas_dgemm
#else
typedef float wn_real;
#define WN_CPU_GEMM cblas_sgemm
#endif

/* Row-major C (M,N) = alpha * op(A) * op(B) + beta * C, op = transpose when ta/tb is 1. */
static inline void k_gemm(int ta, int tb, int m, int n, int k, wn_real alpha, const wn_real *a,
                          int lda, const wn_real *b, int ldb, wn_real beta, wn_real *c, int ldc) {
    WN_CPU_GEMM(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, m,
                n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

/* Sum of n values with eight independent partial sums (vectorisable, fewer rounding steps). */
static inline wn_real k_sum(const wn_real *x, size_t n) {
    wn_real acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int j = 0; j < 8; j++) acc[j] += x[i + j];
    wn_real s = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
    for (; i < n; i++) s += x[i];
    return s;
}

#endif
