/* gpu_dense.c - fully connected layers on the GPU with cuBLAS (fp32, cuBLAS's default math: no
 * TF32, like PyTorch's default for matrix products; with opts.bf16 the three products take bf16
 * copies of their operands (gpu_bf16.cu) through cublasGemmEx with fp32 output and fp32
 * accumulation, CUBLAS_COMPUTE_32F; the bias and its gradient stay fp32).
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

/* C (m,n) = op(A) op(B), column-major, fp32 C, from bf16 A and B (fp32 accumulation). */
static void gemm_bf16(wn_gpu_ctx *c, cublasOperation_t ta, cublasOperation_t tb, int m, int n,
                      int k, const uint16_t *a, int lda, const uint16_t *b, int ldb, float *out,
                      int ldc) {
    const float one = 1, zero = 0;
    WN_CUBLAS_CHECK(cublasGemmEx(c->cublas, ta, tb, m, n, k, &one, a, CUDA_R_16BF, lda, b,
                                 CUDA_R_16BF, ldb, &zero, out, CUDA_R_32F, ldc,
                                 CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
}

/* The same from fp32 A and B: SGEMM, or with opts.bf16 their bf16 copies (A into buffer 0 (ka
 * values), B into buffer 1 (kb values)). */
static void gemm(wn_gpu_ctx *c, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k,
                 const float *a, int lda, size_t ka, const float *b, int ldb, size_t kb, float *out,
                 int ldc) {
    const float one = 1, zero = 0;
    if (!c->opts.bf16) {
        WN_CUBLAS_CHECK(cublasSgemm(c->cublas, ta, tb, m, n, k, &one, a, lda, b, ldb, &zero, out,
                                    ldc));
        return;
    }
    gemm_bf16(c, ta, tb, m, n, k, wn_gpu_bf16_of(c, 0, ka, a), lda, wn_gpu_bf16_of(c, 1, kb, b),
              ldb, out, ldc);
}

/* x (N,IN), w (OUT,IN), b (OUT) or NULL, y (N,OUT) */
void wn_gpu_dense_forward(void *ctx, int n, int in, int out, const float *x, const float *w,
                          const float *b, float *y) {
    wn_gpu_ctx *c = ctx;
    assert(n > 0 && in > 0 && out > 0);
    const float one = 1;
    const size_t nx = (size_t)n * in, nw = (size_t)out * in;
    gemm(c, CUBLAS_OP_T, CUBLAS_OP_N, out, n, in, w, in, nw, x, in, nx, y, out);
    if (b) {
        const float *ones = wn_gpu_ones(c, (size_t)n); // (N)
        WN_CUBLAS_CHECK(cublasSgemm(c->cublas, CUBLAS_OP_N, CUBLAS_OP_N, out, n, 1, &one, b, out,
                                    ones, 1, &one, y, out));
    }
}

/* dy (N,OUT) -> dx (N,IN), dw (OUT,IN), db (OUT); each may be NULL */
void wn_gpu_dense_backward(void *ctx, int n, int in, int out, const float *x, const float *w,
                           const float *dy, float *dx, float *dw, float *db) {
    wn_gpu_ctx *c = ctx;
    assert(n > 0 && in > 0 && out > 0);
    const float one = 1, zero = 0;
    const size_t nx = (size_t)n * in, nw = (size_t)out * in, ny = (size_t)n * out;
    if (c->opts.bf16 && dx && dw) { /* dy rounded once for both products (buffer 2) */
        const uint16_t *dyh = wn_gpu_bf16_of(c, 2, ny, dy);
        gemm_bf16(c, CUBLAS_OP_N, CUBLAS_OP_N, in, n, out, wn_gpu_bf16_of(c, 0, nw, w), in, dyh,
                  out, dx, in);
        gemm_bf16(c, CUBLAS_OP_N, CUBLAS_OP_T, in, out, n, wn_gpu_bf16_of(c, 0, nx, x), in, dyh,
                  out, dw, in);
    } else {
        if (dx) gemm(c, CUBLAS_OP_N, CUBLAS_OP_N, in, n, out, w, in, nw, dy, out, ny, dx, in);
        if (dw) gemm(c, CUBLAS_OP_N, CUBLAS_OP_T, in, out, n, x, in, nx, dy, out, ny, dw, in);
    }
    if (db) {
        const float *ones = wn_gpu_ones(c, (size_t)n); // (N)
        WN_CUBLAS_CHECK(cublasSgemv(c->cublas, CUBLAS_OP_N, out, n, &one, dy, out, ones, 1, &zero,
                                    db, 1));
    }
}
