/* gpu_dense.c - fully connected layers on the GPU with cuBLAS (fp32, cuBLAS's default math: no
 * TF32, like PyTorch's default for matrix products).
 *
 * The backend's matrices are row-major; cuBLAS is column-major, so a row-major (R, C) matrix is
 * handed to cuBLAS as the column-major (C, R) matrix, its transpose:
 *   y (N,OUT)  = x (N,IN) w^T + b   ->  y^T (OUT,N) = w^T' x^T    : gemm(T, N, OUT, N, IN)
 *   dx (N,IN)  = dy (N,OUT) w        ->  dx^T (IN,N) = w' dy^T     : gemm(N, N, IN, N, OUT)
 *   dw (OUT,IN) = dy^T x             ->  dw^T (IN,OUT) = x^T dy    : gemm(N, T, IN, OUT, N)
 *   db (OUT)   = dy^T 1              ->  dy^T (OUT,N) times ones(N): gemv(N)
 * (primes: the column-major view of the row-major array). The bias is added as the rank-1
 * product b 1^T with a vector of ones from the context. beta = 0 overwrites the output without
 * reading it (cuBLAS does not read C when beta is 0). */
#include <assert.h>

#include "gpu_ctx.h"

void wn_gpu_dense_forward(void *ctx, int n, int in, int out, const float *x, const float *w,
                          const float *b, float *y) {
    wn_gpu_ctx *c = ctx;
    assert(n > 0 && in > 0 && out > 0);
    const float one = 1, zero = 0;
    WN_CUBLAS_CHECK(cublasSgemm(c->cublas, CUBLAS_OP_T, CUBLAS_OP_N, out, n, in, &one, w, in, x,
                                in, &zero, y, out));
    if (b) {
        const float *ones = wn_gpu_ones(c, (size_t)n); // (N)
        WN_CUBLAS_CHECK(cublasSgemm(c->cublas, CUBLAS_OP_N, CUBLAS_OP_N, out, n, 1, &one, b, out,
                                    ones, 1, &one, y, out));
    }
}

void wn_gpu_dense_backward(void *ctx, int n, int in, int out, const float *x, const float *w,
                           const float *dy, float *dx, float *dw, float *db) {
    wn_gpu_ctx *c = ctx;
    assert(n > 0 && in > 0 && out > 0);
    const float one = 1, zero = 0;
    if (dx)
        WN_CUBLAS_CHECK(cublasSgemm(c->cublas, CUBLAS_OP_N, CUBLAS_OP_N, in, n, out, &one, w, in,
                                    dy, out, &zero, dx, in));
    if (dw)
        WN_CUBLAS_CHECK(cublasSgemm(c->cublas, CUBLAS_OP_N, CUBLAS_OP_T, in, out, n, &one, x, in,
                                    dy, out, &zero, dw, in));
    if (db) {
        const float *ones = wn_gpu_ones(c, (size_t)n); // (N)
        WN_CUBLAS_CHECK(cublasSgemv(c->cublas, CUBLAS_OP_N, out, n, &one, dy, out, ones, 1, &zero,
                                    db, 1));
    }
}
