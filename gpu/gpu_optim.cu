/* gpu_optim.cu - SGD (momentum, Nesterov, L2 weight decay) and Adam/AdamW updates on the GPU with
 * PyTorch's update equations. Each kernel evaluates the CPU backend's expressions (cpu_optim.c)
 * in the same order with round-to-nearest intrinsics and no fused multiply-add, and the
 * bias-correction scalars are computed on the host as the CPU does, so both backends produce the
 * same bits. */
#include <assert.h>
#include <math.h>

#include "gpu_ctx.h"

/* w, g (n); v (n) or NULL. Plain SGD when v is NULL (the caller passes NULL for momentum 0). */
__global__ void k_sgd(size_t n, float *w, const float *g, float *v, float lr, float mu,
                      int nesterov, float wd) {
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n;
         i += (size_t)gridDim.x * blockDim.x) {
        float wi = w[i];
        float gi = __fadd_rn(g[i], __fmul_rn(wd, wi));
        if (!v) {
            w[i] = __fsub_rn(wi, __fmul_rn(lr, gi));
            continue;
        }
        float vi = __fadd_rn(__fmul_rn(mu, v[i]), gi);
        v[i] = vi;
        float step = nesterov ? __fadd_rn(gi, __fmul_rn(mu, vi)) : vi;
        w[i] = __fsub_rn(wi, __fmul_rn(lr, step));
    }
}

/* w, g, m, v (n) */
__global__ void k_adam(size_t n, float *w, const float *g, float *m, float *v, float b1, float b2,
                       float eps, float decay, float l2, float step, float bc2_sqrt) {
    const float c1 = 1.0f - b1, c2 = 1.0f - b2;
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n;
         i += (size_t)gridDim.x * blockDim.x) {
        float w0 = w[i];
        float wi = __fmul_rn(w0, decay);
        float gi = __fadd_rn(g[i], __fmul_rn(l2, w0));
        float mi = __fadd_rn(__fmul_rn(b1, m[i]), __fmul_rn(c1, gi));
        float vi = __fadd_rn(__fmul_rn(b2, v[i]), __fmul_rn(__fmul_rn(c2, gi), gi));
        m[i] = mi;
        v[i] = vi;
        float den = __fadd_rn(__fdiv_rn(__fsqrt_rn(vi), bc2_sqrt), eps);
        w[i] = __fsub_rn(wi, __fdiv_rn(__fmul_rn(step, mi), den));
    }
}

extern "C" void wn_gpu_sgd_update(void *ctx, size_t count, float *w, const float *g, float *v,
                                  float lr, float momentum, int nesterov, float wd) {
    wn_gpu_ctx *c = (wn_gpu_ctx *)ctx;
    if (!count) return;
    if (momentum == 0) v = NULL; /* the CPU's rule: no momentum buffer is touched */
    k_sgd<<<wn_gpu_grid(c, count), WN_GPU_BLOCK, 0, c->stream>>>(count, w, g, v, lr, momentum,
                                                                 nesterov, wd);
    WN_LAUNCH_CHECK("SGD kernel");
}

extern "C" void wn_gpu_adam_update(void *ctx, size_t count, float *w, const float *g, float *m,
                                   float *v, float lr, float beta1, float beta2, float eps,
                                   float wd, int decoupled, int t) {
    wn_gpu_ctx *c = (wn_gpu_ctx *)ctx;
    assert(t >= 1);
    if (!count) return;
    /* scalars exactly as cpu_optim.c computes them */
    double bc1 = 1 - pow((double)beta1, t), bc2 = 1 - pow((double)beta2, t);
    float step = (float)(lr / bc1), bc2_sqrt = (float)sqrt(bc2);
    float prod = lr * wd;
    float decay = decoupled ? 1 - prod : 1, l2 = decoupled ? 0 : wd;
    k_adam<<<wn_gpu_grid(c, count), WN_GPU_BLOCK, 0, c->stream>>>(count, w, g, m, v, beta1, beta2,
                                                                  eps, decay, l2, step, bc2_sqrt);
    WN_LAUNCH_CHECK("Adam kernel");
}
