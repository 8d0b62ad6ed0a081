/* gpu_elem.cu - fill, axpy, add, cast, the sum of squares and the byte-to-float table lookup on
 * the GPU: grid-stride elementwise kernels (axpy and add on fp32 or bf16 storage, T,
 * gpu_store.cuh; cast through gpu_bf16.cu's conversion), and for the sum of squares a fixed-shape two-pass
 * reduction in double (partials of SUMSQ_BLOCKS blocks, then one block), so its order of
 * additions depends on n only. The arithmetic is
 * written with round-to-nearest intrinsics (no fused multiply-add) so that every value is the
 * one the CPU backend computes (the CPU build does not contract either). */
#include "gpu_ctx.h"
#include "gpu_store.cuh"

__global__ void k_fill(float *x, size_t n, float v) { // x (n)
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n;
         i += (size_t)gridDim.x * blockDim.x)
        x[i] = v;
}

template <typename T>
__global__ void k_axpy(size_t n, float a, const T *x, T *y) { // x, y (n)
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n;
         i += (size_t)gridDim.x * blockDim.x)
        wn_st(y, i, __fadd_rn(wn_ld(y, i), __fmul_rn(a, wn_ld(x, i))));
}

/* a, b, y (n); y may alias a or b */
template <typename T>
__global__ void k_add(size_t n, const T *a, const T *b, T *y) {
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n;
         i += (size_t)gridDim.x * blockDim.x)
        wn_st(y, i, __fadd_rn(wn_ld(a, i), wn_ld(b, i)));
}

template <typename T>
static void axpy(wn_gpu_ctx *c, size_t n, float a, const void *x, void *y) {
    k_axpy<T><<<wn_gpu_grid(c, n), WN_GPU_BLOCK, 0, c->stream>>>(n, a, (const T *)x, (T *)y);
    WN_LAUNCH_CHECK("axpy kernel");
}

template <typename T>
static void add(wn_gpu_ctx *c, size_t n, const void *a, const void *b, void *y) {
    k_add<T><<<wn_gpu_grid(c, n), WN_GPU_BLOCK, 0, c->stream>>>(n, (const T *)a, (const T *)b,
                                                                (T *)y);
    WN_LAUNCH_CHECK("add kernel");
}

enum { SUMSQ_BLOCKS = 256 };

/* Sums a block's values v (one per thread) in a fixed tree order; thread 0 gets the total. */
__device__ static double block_total(double v) {
    __shared__ double part[WN_GPU_BLOCK];
    part[threadIdx.x] = v;
    __syncthreads();
    for (int w = WN_GPU_BLOCK / 2; w > 0; w >>= 1) {
        if ((int)threadIdx.x < w) part[threadIdx.x] += part[threadIdx.x + w];
        __syncthreads();
    }
    return part[0];
}

/* part[block] = sum of x[i]^2 over the block's grid-stride share of x (n) */
__global__ void k_sumsq_part(size_t n, const float *x, double *part) {
    double s = 0;
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n;
         i += (size_t)gridDim.x * blockDim.x)
        s += (double)x[i] * (double)x[i];
    s = block_total(s);
    if (threadIdx.x == 0) part[blockIdx.x] = s;
}

/* *out = sum of part (m), one block */
__global__ void k_sumsq_total(int m, const double *part, double *out) {
    double s = 0;
    for (int i = threadIdx.x; i < m; i += blockDim.x) s += part[i];
    s = block_total(s);
    if (threadIdx.x == 0) *out = s;
}

/* y[i] = table[(i / hw % C) * 256 + x[i]]; x, y (n) = (N, C, hw), table (C, 256) */
__global__ void k_lookup_u8(size_t n, size_t hw, int C, const uint8_t *x, const float *table,
                            float *y) {
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n;
         i += (size_t)gridDim.x * blockDim.x)
        y[i] = table[(i / hw % (size_t)C) * 256 + x[i]];
}

extern "C" void wn_gpu_fill(void *ctx, float *x, size_t n, float v) {
    wn_gpu_ctx *c = (wn_gpu_ctx *)ctx;
    if (!n) return;
    k_fill<<<wn_gpu_grid(c, n), WN_GPU_BLOCK, 0, c->stream>>>(x, n, v);
    WN_LAUNCH_CHECK("fill kernel");
}

extern "C" void wn_gpu_axpy(void *ctx, size_t n, float a, const float *x, float *y) {
    wn_gpu_ctx *c = (wn_gpu_ctx *)ctx;
    if (!n) return;
    if (wn_gpu_lp_of(c, "axpy", x, y, NULL, NULL))
        axpy<uint16_t>(c, n, a, x, y);
    else
        axpy<float>(c, n, a, x, y);
}

extern "C" void wn_gpu_add(void *ctx, size_t n, const float *a, const float *b, float *y) {
    wn_gpu_ctx *c = (wn_gpu_ctx *)ctx;
    if (!n) return;
    if (wn_gpu_lp_of(c, "add", a, b, y, NULL))
        add<uint16_t>(c, n, a, b, y);
    else
        add<float>(c, n, a, b, y);
}

extern "C" void wn_gpu_cast(void *ctx, size_t n, const float *x, float *y) {
    wn_gpu_ctx *c = (wn_gpu_ctx *)ctx;
    const int xl = wn_gpu_is_lp(c, x), yl = wn_gpu_is_lp(c, y);
    if (!n) return;
    if (xl == yl) /* the same type: a copy */
        wn_gpu_copy(c, y, x, n * (xl ? sizeof(uint16_t) : sizeof(float)));
    else
        wn_gpu_convert(c, n, 1, 1, x, xl, NULL, y, yl);
}

extern "C" double wn_gpu_sumsq(void *ctx, size_t n, const float *x) {
    wn_gpu_ctx *c = (wn_gpu_ctx *)ctx;
    if (!n) return 0;
    size_t want = (n + WN_GPU_BLOCK - 1) / WN_GPU_BLOCK;
    int blocks = want < SUMSQ_BLOCKS ? (int)want : SUMSQ_BLOCKS;
    double *part = (double *)wn_gpu_buf_reserve(c, &c->scratch, (size_t)blocks * sizeof(double),
                                                "sum of squares scratch"); // (blocks)
    k_sumsq_part<<<blocks, WN_GPU_BLOCK, 0, c->stream>>>(n, x, part);
    WN_LAUNCH_CHECK("sum of squares kernel");
    k_sumsq_total<<<1, WN_GPU_BLOCK, 0, c->stream>>>(blocks, part, c->dev_loss);
    WN_LAUNCH_CHECK("sum of squares total kernel");
    WN_CUDA_CHECK(cudaMemcpyAsync(c->host_loss, c->dev_loss, sizeof(double),
                                  cudaMemcpyDeviceToHost, c->stream));
    wn_gpu_sync_checked(c, "sumsq");
    return *c->host_loss;
}

extern "C" void wn_gpu_lookup_u8(void *ctx, int n, int c, size_t hw, const uint8_t *x,
                                 const float *table, float *y) {
    wn_gpu_ctx *g = (wn_gpu_ctx *)ctx;
    size_t count = (size_t)n * (size_t)c * hw;
    if (!count) return;
    k_lookup_u8<<<wn_gpu_grid(g, count), WN_GPU_BLOCK, 0, g->stream>>>(count, hw, c, x, table, y);
    WN_LAUNCH_CHECK("lookup_u8 kernel");
}

extern "C" cudaError_t wn_gpu_kernels_check(void) {
    struct cudaFuncAttributes attr;
    return cudaFuncGetAttributes(&attr, k_fill);
}
