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
 * reading it (cuBLAS does not read C when beta is 0).
 *
 * With bf16 activation storage (x, y, dy, dx in alloc_bf16 memory) x and dy are the products'
 * bf16 operands as they are; y and dx are computed in fp32 into the context's f32 buffer and
 * rounded once into bf16 (with the bias added in fp32 first), and the bias gradient of a bf16
 * dy is an own reduction (gpu_bf16.cu). */
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

/* The same from A and B in their storage: SGEMM on fp32, or with opts.bf16 their bf16 copies
 * (A into buffer 0 (ka values), B into buffer 1 (kb values); a_lp / b_lp: already bf16). */
static void gemm(wn_gpu_ctx *c, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k,
                 const float *a, int a_lp, int lda, size_t ka, const float *b, int b_lp, int ldb,
                 size_t kb, float *out, int ldc) {
    const float one = 1, zero = 0;
    if (!c->opts.bf16) {
        WN_CUBLAS_CHECK(cublasSgemm(c->cublas, ta, tb, m, n, k, &one, a, lda, b, ldb, &zero, out,
                                    ldc));
        return;
    }
    gemm_bf16(c, ta, tb, m, n, k, wn_gpu_bf16_of(c, 0, ka, a, a_lp), lda,
              wn_gpu_bf16_of(c, 1, kb, b, b_lp), ldb, out, ldc);
}

/* Where a product of count values for out goes: out itself (fp32), or the f32 buffer when out
 * is bf16 storage (then rounded into it by lp_store). */
static float *f32_out(wn_gpu_ctx *c, float *out, int lp, size_t count) {
    if (!lp) return out;
    return wn_gpu_buf_reserve(c, &c->f32, count * sizeof(float), "dense fp32 product");
}

/* out (rows, cols) bf16 = tmp + b[j] (b (cols) or NULL) */
static void lp_store(wn_gpu_ctx *c, size_t rows, int cols, const float *tmp, const float *b,
                     float *out) {
    wn_gpu_convert(c, rows * (size_t)cols, 1, cols, tmp, 0, b, out, 1);
}

/* x (N,IN), w (OUT,IN), b (OUT) or NULL, y (N,OUT) */
void wn_gpu_dense_forward(void *ctx, int n, int in, int out, const float *x, const float *w,
                          const float *b, float *y) {
    wn_gpu_ctx *c = ctx;
    assert(n > 0 && in > 0 && out > 0);
    const float one = 1;
    const int lp = wn_gpu_lp_of(c, "dense forward", x, y, NULL, NULL);
    const size_t nx = (size_t)n * in, nw = (size_t)out * in, ny = (size_t)n * out;
    float *yo = f32_out(c, y, lp, ny); // (N, OUT) fp32
    gemm(c, CUBLAS_OP_T, CUBLAS_OP_N, out, n, in, w, 0, in, nw, x, lp, in, nx, yo, out);
    if (lp) {
        lp_store(c, (size_t)n, out, yo, b, y);
        return;
    }
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
    const int lp = wn_gpu_lp_of(c, "dense backward", x, dy, dx, NULL);
    const size_t nx = (size_t)n * in, nw = (size_t)out * in, ny = (size_t)n * out;
    float *dxo = dx ? f32_out(c, dx, lp, nx) : NULL; // (N, IN) fp32
    if (c->opts.bf16 && dx && dw) { /* dy rounded once for both products (buffer 2) */
        const uint16_t *dyh = wn_gpu_bf16_of(c, 2, ny, dy, lp);
        gemm_bf16(c, CUBLAS_OP_N, CUBLAS_OP_N, in, n, out, wn_gpu_bf16_of(c, 0, nw, w, 0), in, dyh,
                  out, dxo, in);
        gemm_bf16(c, CUBLAS_OP_N, CUBLAS_OP_T, in, out, n, wn_gpu_bf16_of(c, 0, nx, x, lp), in,
                  dyh, out, dw, in);
    } else {
        if (dx) gemm(c, CUBLAS_OP_N, CUBLAS_OP_N, in, n, out, w, 0, in, nw, dy, lp, out, ny, dxo, in);
        if (dw) gemm(c, CUBLAS_OP_N, CUBLAS_OP_T, in, out, n, x, lp, in, nx, dy, lp, out, ny, dw, in);
    }
    if (dx && lp) lp_store(c, (size_t)n, in, dxo, NULL, dx);
    if (db && lp) {
        wn_gpu_bias_grad_bf16(c, n, out, 1, (const uint16_t *)dy, db);
    } else if (db) {
        const float *ones = wn_gpu_ones(c, (size_t)n); // (N)
        WN_CUBLAS_CHECK(cublasSgemv(c->cublas, CUBLAS_OP_N, out, n, &one, dy, out, ones, 1, &zero,
                                    db, 1));
    }
}
