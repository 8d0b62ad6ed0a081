/* gpu_act.cu - ReLU and leaky ReLU, forward and backward, on the GPU: grid-stride elementwise
 * kernels with the CPU backend's exact rules (cpu_k_elem.h): y = x > 0 ? x : alpha*x, and the
 * derivative at 0 taken from the left. Outputs may alias inputs. */
#include <assert.h>

#include "gpu_ctx.h"

/* x, y (n); leaky selects alpha*x for x <= 0 (else 0) */
__global__ void k_act_fwd(size_t n, int leaky, float alpha, const float *x, float *y) {
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n;
         i += (size_t)gridDim.x * blockDim.x) {
        float v = x[i];
        y[i] = v > 0 ? v : (leaky ? __fmul_rn(alpha, v) : 0.0f);
    }
}

/* x, dy, dx (n) */
__global__ void k_act_bwd(size_t n, int leaky, float alpha, const float *x, const float *dy,
                          float *dx) {
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n;
         i += (size_t)gridDim.x * blockDim.x) {
        float g = dy[i];
        dx[i] = x[i] > 0 ? g : (leaky ? __fmul_rn(alpha, g) : 0.0f);
    }
}

extern "C" void wn_gpu_act_forward(void *ctx, int kind, float alpha, size_t count, const float *x,
                                   float *y) {
    wn_gpu_ctx *c = (wn_gpu_ctx *)ctx;
    assert(kind == WN_ACT_RELU || kind == WN_ACT_LEAKY);
    if (!count) return;
    k_act_fwd<<<wn_gpu_grid(c, count), WN_GPU_BLOCK, 0, c->stream>>>(count, kind == WN_ACT_LEAKY,
                                                                     alpha, x, y);
    WN_LAUNCH_CHECK("activation forward kernel");
}

extern "C" void wn_gpu_act_backward(void *ctx, int kind, float alpha, size_t count,
                                    const float *x, const float *dy, float *dx) {
    wn_gpu_ctx *c = (wn_gpu_ctx *)ctx;
    assert(kind == WN_ACT_RELU || kind == WN_ACT_LEAKY);
    if (!count) return;
    k_act_bwd<<<wn_gpu_grid(c, count), WN_GPU_BLOCK, 0, c->stream>>>(
        count, kind == WN_ACT_LEAKY, alpha, x, dy, dx);
    WN_LAUNCH_CHECK("activation backward kernel");
}
