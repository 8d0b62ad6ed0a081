/* gpu_dropout.cu - inverted dropout on the GPU. The mask is drawn from the counter-based hash of
 * src/wn_rng.h (the same function the CPU backend calls, compiled here as a device function) and
 * compared in float, so the GPU's masks are bit-identical to the CPU's for the same seed. The
 * mask is fp32; the activations fp32 or bf16 storage (T, gpu_store.cuh). */
#include "gpu_ctx.h"
#include "gpu_store.cuh"
#include "wn_rng.h"

/* x, y, mask (n); mask may be NULL; y may alias x */
template <typename T>
__global__ void k_dropout_fwd(size_t n, float rate, float keep, uint64_t seed, const T *x, T *y,
                              float *mask) {
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n;
         i += (size_t)gridDim.x * blockDim.x) {
        float m = wn_hash_uniform(seed, i) >= rate ? keep : 0.0f;
        if (mask) mask[i] = m;
        wn_st(y, i, __fmul_rn(wn_ld(x, i), m));
    }
}

/* mask, dy, dx (n) */
template <typename T>
__global__ void k_dropout_bwd(size_t n, const float *mask, const T *dy, T *dx) {
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n;
         i += (size_t)gridDim.x * blockDim.x)
        wn_st(dx, i, __fmul_rn(wn_ld(dy, i), mask[i]));
}

template <typename T>
static void dropout_fwd(wn_gpu_ctx *c, size_t n, float rate, float keep, uint64_t seed,
                        const void *x, void *y, float *mask) {
    k_dropout_fwd<T><<<wn_gpu_grid(c, n), WN_GPU_BLOCK, 0, c->stream>>>(n, rate, keep, seed,
                                                                        (const T *)x, (T *)y, mask);
    WN_LAUNCH_CHECK("dropout forward kernel");
}

template <typename T>
static void dropout_bwd(wn_gpu_ctx *c, size_t n, const float *mask, const void *dy, void *dx) {
    k_dropout_bwd<T><<<wn_gpu_grid(c, n), WN_GPU_BLOCK, 0, c->stream>>>(n, mask, (const T *)dy,
                                                                        (T *)dx);
    WN_LAUNCH_CHECK("dropout backward kernel");
}

extern "C" void wn_gpu_dropout_forward(void *ctx, size_t count, float rate, uint64_t seed,
                                       const float *x, float *y, float *mask) {
    wn_gpu_ctx *c = (wn_gpu_ctx *)ctx;
    if (!count) return;
    /* the CPU's keep factor, computed the same way (cpu_k_elem.h) */
    const float keep = rate < 1 ? (float)(1.0 / (1.0 - (double)rate)) : 0.0f;
    if (wn_gpu_lp_of(c, "dropout forward", x, y, NULL, NULL))
        dropout_fwd<uint16_t>(c, count, rate, keep, seed, x, y, mask);
    else
        dropout_fwd<float>(c, count, rate, keep, seed, x, y, mask);
}

extern "C" void wn_gpu_dropout_backward(void *ctx, size_t count, const float *mask,
                                        const float *dy, float *dx) {
    wn_gpu_ctx *c = (wn_gpu_ctx *)ctx;
    if (!count) return;
    if (wn_gpu_lp_of(c, "dropout backward", dy, dx, NULL, NULL))
        dropout_bwd<uint16_t>(c, count, mask, dy, dx);
    else
        dropout_bwd<float>(c, count, mask, dy, dx);
}
