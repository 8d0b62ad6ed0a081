/* gpu_act.cu - ReLU and leaky ReLU, forward and backward, on the GPU: grid-stride elementwise
 * kernels with the CPU backend's exact rules (cpu_k_elem.h): y = x > 0 ? x : alpha*x, and the
 * derivative at 0 taken from the left. Outputs may alias inputs. Activations in fp32 or bf16
 * storage (T, gpu_store.cuh); a relu of bf16 values is exact, a leaky slope rounds. */
#include <assert.h>

#include "gpu_ctx.h"
#include "gpu_store.cuh"

/* x, y (n); leaky selects alpha*x for x <= 0 (else 0) */
template <typename T>
__global__ void k_act_fwd(size_t n, int leaky, float alpha, const T *x, T *y) {
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n;
         i += (size_t)gridDim.x * blockDim.x) {
        float v = wn_ld(x, i);
        wn_st(y, i, v > 0 ? v : (leaky ? __fmul_rn(alpha, v) : 0.0f));
    }
}

/* x, dy, dx (n) */
template <typename T>
__global__ void k_act_bwd(size_t n, int leaky, float alpha, const T *x, const T *dy, T *dx) {
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n;
         i += (size_t)gridDim.x * blockDim.x) {
        float g = wn_ld(dy, i);
        wn_st(dx, i, wn_ld(x, i) > 0 ? g : (leaky ? __fmul_rn(alpha, g) : 0.0f));
    }
}

template <typename T>
static void act_fwd(wn_gpu_ctx *c, size_t n, int leaky, float alpha, const void *x, void *y) {
    k_act_fwd<T><<<wn_gpu_grid(c, n), WN_GPU_BLOCK, 0, c->stream>>>(n, leaky, alpha, (const T *)x,
                                                                    (T *)y);
    WN_LAUNCH_CHECK("activation forward kernel");
}

template <typename T>
static void act_bwd(wn_gpu_ctx *c, size_t n, int leaky, float alpha, const void *x,
                    const void *dy, void *dx) {
    k_act_bwd<T><<<wn_gpu_grid(c, n), WN_GPU_BLOCK, 0, c->stream>>>(
        n, leaky, alpha, (const T *)x, (const T *)dy, (T *)dx);
    WN_LAUNCH_CHECK("activation backward kernel");
}

extern "C" void wn_gpu_act_forward(void *ctx, int kind, float alpha, size_t count, const float *x,
                                   float *y) {
    wn_gpu_ctx *c = (wn_gpu_ctx *)ctx;
    assert(kind == WN_ACT_RELU || kind == WN_ACT_LEAKY);
    if (!count) return;
    const int leaky = kind == WN_ACT_LEAKY;
    if (wn_gpu_lp_of(c, "activation forward", x, y, NULL, NULL))
        act_fwd<uint16_t>(c, count, leaky, alpha, x, y);
    else
        act_fwd<float>(c, count, leaky, alpha, x, y);
}

extern "C" void wn_gpu_act_backward(void *ctx, int kind, float alpha, size_t count,
                                    const float *x, const float *dy, float *dx) {
    wn_gpu_ctx *c = (wn_gpu_ctx *)ctx;
    assert(kind == WN_ACT_RELU || kind == WN_ACT_LEAKY);
    if (!count) return;
    const int leaky = kind == WN_ACT_LEAKY;
    if (wn_gpu_lp_of(c, "activation backward", x, dy, dx, NULL))
        act_bwd<uint16_t>(c, count, leaky, alpha, x, dy, dx);
    else
        act_bwd<float>(c, count, leaky, alpha, x, dy, dx);
}
