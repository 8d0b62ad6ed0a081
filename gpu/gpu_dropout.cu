/* gpu_dropout.cu - inverted dropout on the GPU. The mask is drawn from the counter-based hash of
 * src/wn_rng.h (the same function the CPU backend calls, compiled here as a device function) and
 * compared in float, so the GPU's masks are bit-identical to the CPU's for the same seed. */
#include "gpu_ctx.h"
#include "wn_rng.h"

/* x, y, mask (n); mask may be NULL; y may alias x */
__global__ void k_dropout_fwd(size_t n, float rate, float keep, uint64_t seed, const float *x,
                              float *y, float *mask) {
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n;
         i += (size_t)gridDim.x * blockDim.x) {
        float m = wn_hash_uniform(seed, i) >= rate ? keep : 0.0f;
        if (mask) mask[i] = m;
        y[i] = __fmul_rn(x[i], m);
    }
}

/* mask, dy, dx (n) */
__global__ void k_dropout_bwd(size_t n, const float *mask, const float *dy, float *dx) {
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n;
         i += (size_t)gridDim.x * blockDim.x)
        dx[i] = __fmul_rn(dy[i], mask[i]);
}

extern "C" void wn_gpu_dropout_forward(void *ctx, size_t count, float rate, uint64_t seed,
                                       const float *x, float *y, float *mask) {
    wn_gpu_ctx *c = (wn_gpu_ctx *)ctx;
    if (!count) return;
    /* the CPU's keep factor, computed the same way (cpu_k_elem.h) */
    const float keep = rate < 1 ? (float)(1.0 / (1.0 - (double)rate)) : 0.0f;
    k_dropout_fwd<<<wn_gpu_grid(c, count), WN_GPU_BLOCK, 0, c->stream>>>(count, rate, keep, seed,
                                                                         x, y, mask);
    WN_LAUNCH_CHECK("dropout forward kernel");
}

extern "C" void wn_gpu_dropout_backward(void *ctx, size_t count, const float *mask,
                                        const float *dy, float *dx) {
    wn_gpu_ctx *c = (wn_gpu_ctx *)ctx;
    if (!count) return;
    k_dropout_bwd<<<wn_gpu_grid(c, count), WN_GPU_BLOCK, 0, c->stream>>>(count, mask, dy, dx);
    WN_LAUNCH_CHECK("dropout backward kernel");
}
