/* gpu_pool.cu - max and average pooling on the GPU with the CPU backend's semantics
 * (cpu_k_pool.h): max pooling lets only input cells compete (padding never wins; a window with no
 * input cell gives 0), average pooling counts padding as zeros and divides by KH*KW.
 *
 * Forward: cuDNN (CUDNN_POOLING_MAX, which ignores padding, or
 * CUDNN_POOLING_AVERAGE_COUNT_INCLUDE_PADDING), except where cuDNN's rule differs (max pooling
 * whose padding exceeds half the window can have windows without an input cell, where cuDNN gives
 * -FLT_MAX), where cuDNN refuses the window, or when opts.pool_cudnn is 0: then an own kernel
 * with the CPU's loop order (bit-identical). Backward: own kernels. For max pooling the first
 * maximum of each window in row-major order is found (the CPU's tie rule: relu outputs tie
 * often), then each input cell gathers the gradients of the windows that chose it, in the CPU's
 * order, so dx is deterministic and equal to the CPU's bits; no atomics. With bf16 activation
 * storage (T, gpu_store.cuh) the own kernels run on bf16 values (a maximum of bf16 values is
 * exact; sums are fp32, rounded once when stored). */
#include <assert.h>

#include "gpu_ctx.h"
#include "gpu_store.cuh"

/* Window of output (oh, ow) clipped to the input: rows [h0, h1), columns [w0, w1). */
struct pool_geom {
    int h, w, oh, ow, kh, kw, sh, sw, ph, pw;
};

__device__ static void pool_window(const pool_geom &g, int oh, int ow, int *h0, int *h1, int *w0,
                                   int *w1) {
    int hs = oh * g.sh - g.ph, ws = ow * g.sw - g.pw;
    *h0 = max(hs, 0);
    *w0 = max(ws, 0);
    *h1 = min(hs + g.kh, g.h);
    *w1 = min(ws + g.kw, g.w);
}

/* Index in the plane of the window's first maximum, -1 when the window holds no input cell. */
template <typename T>
__device__ static int pool_argmax(const pool_geom &g, const T *xp, int oh, int ow) {
    int h0, h1, w0, w1, best = -1;
    pool_window(g, oh, ow, &h0, &h1, &w0, &w1);
    float m = 0;
    for (int h = h0; h < h1; h++)
        for (int w = w0; w < w1; w++) {
            float v = wn_ld(xp, (size_t)(h * g.w + w));
            if (best < 0 || v > m) {
                m = v;
                best = h * g.w + w;
            }
        }
    return best;
}

/* x (planes, H, W) -> y (planes, OH, OW); total = planes*OH*OW */
template <typename I, typename T>
__global__ void k_pool_fwd(I total, pool_geom g, int avg, float inv, const T *x, T *y) {
    const I osz = (I)g.oh * g.ow, isz = (I)g.h * g.w;
    for (I o = blockIdx.x * (I)blockDim.x + threadIdx.x; o < total; o += (I)gridDim.x * blockDim.x) {
        I p = o / osz, r = o - p * osz;
        int oh = (int)(r / g.ow), ow = (int)(r - (I)oh * g.ow);
        const T *xp = x + p * isz; // (H, W)
        if (!avg) {
            int i = pool_argmax(g, xp, oh, ow);
            wn_st(y, o, i < 0 ? 0.0f : wn_ld(xp, (size_t)i));
        } else {
            int h0, h1, w0, w1;
            pool_window(g, oh, ow, &h0, &h1, &w0, &w1);
            float s = 0;
            for (int h = h0; h < h1; h++)
                for (int w = w0; w < w1; w++) s = __fadd_rn(s, wn_ld(xp, (size_t)(h * g.w + w)));
            wn_st(y, o, __fmul_rn(s, inv));
        }
    }
}

/* arg (planes, OH, OW): each window's first maximum (index in the plane) or -1 */
template <typename I, typename T>
__global__ void k_pool_argmax(I total, pool_geom g, const T *x, int *arg) {
    const I osz = (I)g.oh * g.ow, isz = (I)g.h * g.w;
    for (I o = blockIdx.x * (I)blockDim.x + threadIdx.x; o < total; o += (I)gridDim.x * blockDim.x) {
        I p = o / osz, r = o - p * osz;
        int oh = (int)(r / g.ow), ow = (int)(r - (I)oh * g.ow);
        arg[o] = pool_argmax(g, x + p * isz, oh, ow);
    }
}

/* dx (planes, H, W) = sum over the windows holding each cell, in row-major window order, of
 * dy (max: where arg chose the cell; avg: dy * inv); total = planes*H*W */
template <typename I, typename T>
__global__ void k_pool_bwd(I total, pool_geom g, int avg, float inv, const int *arg, const T *dy,
                           T *dx) {
    const I osz = (I)g.oh * g.ow, isz = (I)g.h * g.w;
    for (I i = blockIdx.x * (I)blockDim.x + threadIdx.x; i < total; i += (I)gridDim.x * blockDim.x) {
        I p = i / isz, r = i - p * isz;
        int h = (int)(r / g.w), w = (int)(r - (I)h * g.w);
        /* windows oh with oh*sh - ph <= h < oh*sh - ph + kh */
        int lo_h = h + g.ph - g.kh + 1, lo_w = w + g.pw - g.kw + 1;
        int oh0 = lo_h <= 0 ? 0 : (lo_h + g.sh - 1) / g.sh, oh1 = min(g.oh - 1, (h + g.ph) / g.sh);
        int ow0 = lo_w <= 0 ? 0 : (lo_w + g.sw - 1) / g.sw, ow1 = min(g.ow - 1, (w + g.pw) / g.sw);
        const I base = p * osz;
        float acc = 0;
        for (int oh = oh0; oh <= oh1; oh++)
            for (int ow = ow0; ow <= ow1; ow++) {
                I o = base + (I)oh * g.ow + ow;
                if (avg)
                    acc = __fadd_rn(acc, __fmul_rn(wn_ld(dy, o), inv));
                else if (arg[o] == (int)r)
                    acc = __fadd_rn(acc, wn_ld(dy, o));
            }
        wn_st(dx, i, acc);
    }
}

static pool_geom geom(const wn_pool_desc *d) {
    pool_geom g = {d->h, d->w, d->oh, d->ow, d->kh, d->kw, d->sh, d->sw, d->ph, d->pw};
    return g;
}

/* Forward through cuDNN; returns 0, or -1 when cuDNN does not take this window. */
static int pool_forward_cudnn(wn_gpu_ctx *c, const wn_pool_desc *d, const float *x, float *y) {
    cudnnPoolingMode_t mode = d->mode == WN_POOL_MAX ? CUDNN_POOLING_MAX
                                                     : CUDNN_POOLING_AVERAGE_COUNT_INCLUDE_PADDING;
    if (cudnnSetPooling2dDescriptor(c->pool, mode, CUDNN_NOT_PROPAGATE_NAN, d->kh, d->kw, d->ph,
                                    d->pw, d->sh, d->sw) != CUDNN_STATUS_SUCCESS)
        return -1;
    int on, oc, oh, ow;
    WN_CUDNN_CHECK(cudnnSetTensor4dDescriptor(c->t_x, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, d->n,
                                              d->c, d->h, d->w));
    if (cudnnGetPooling2dForwardOutputDim(c->pool, c->t_x, &on, &oc, &oh, &ow) !=
            CUDNN_STATUS_SUCCESS ||
        oh != d->oh || ow != d->ow)
        return -1;
    WN_CUDNN_CHECK(cudnnSetTensor4dDescriptor(c->t_y, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, d->n,
                                              d->c, d->oh, d->ow));
    const float one = 1, zero = 0;
    WN_CUDNN_CHECK(cudnnPoolingForward(c->cudnn, c->pool, &one, c->t_x, x, &zero, c->t_y, y));
    return 0;
}

template <typename T>
static void pool_forward_own(wn_gpu_ctx *c, const wn_pool_desc *d, size_t total, const void *x,
                             void *y) {
    const float inv = 1.0f / (float)(d->kh * d->kw);
    int avg = d->mode == WN_POOL_AVG;
    if (total <= 0xFFFFFFFFull && (size_t)d->n * d->c * d->h * d->w <= 0xFFFFFFFFull)
        k_pool_fwd<unsigned, T><<<wn_gpu_grid(c, total), WN_GPU_BLOCK, 0, c->stream>>>(
            (unsigned)total, geom(d), avg, inv, (const T *)x, (T *)y);
    else
        k_pool_fwd<size_t, T><<<wn_gpu_grid(c, total), WN_GPU_BLOCK, 0, c->stream>>>(
            total, geom(d), avg, inv, (const T *)x, (T *)y);
    WN_LAUNCH_CHECK("pooling forward kernel");
}

extern "C" void wn_gpu_pool_forward(void *ctx, const wn_pool_desc *d, const float *x, float *y) {
    wn_gpu_ctx *c = (wn_gpu_ctx *)ctx;
    assert(d->mode == WN_POOL_MAX || d->mode == WN_POOL_AVG);
    assert(d->oh == (d->h + 2 * d->ph - d->kh) / d->sh + 1);
    assert(d->ow == (d->w + 2 * d->pw - d->kw) / d->sw + 1);
    const size_t total = (size_t)d->n * d->c * d->oh * d->ow;
    if (!total) return;
    if (wn_gpu_lp_of(c, "pooling forward", x, y, NULL, NULL)) {
        pool_forward_own<uint16_t>(c, d, total, x, y);
        return;
    }
    int empty_windows = d->mode == WN_POOL_MAX && (2 * d->ph > d->kh || 2 * d->pw > d->kw);
    if (c->opts.pool_cudnn && !empty_windows && pool_forward_cudnn(c, d, x, y) == 0) return;
    pool_forward_own<float>(c, d, total, x, y);
}

template <typename T>
static void pool_backward(wn_gpu_ctx *c, const wn_pool_desc *d, const void *xv, const void *dyv,
                          void *dxv) {
    const T *x = (const T *)xv, *dy = (const T *)dyv;
    T *dx = (T *)dxv;
    const size_t out = (size_t)d->n * d->c * d->oh * d->ow, in = (size_t)d->n * d->c * d->h * d->w;
    const float inv = 1.0f / (float)(d->kh * d->kw);
    const int avg = d->mode == WN_POOL_AVG, narrow = out <= 0xFFFFFFFFull && in <= 0xFFFFFFFFull;
    int *arg = NULL; // (N, C, OH, OW)
    if (!avg && out) {
        arg = (int *)wn_gpu_buf_reserve(c, &c->scratch, out * sizeof(int), "max pooling scratch");
        if (narrow)
            k_pool_argmax<unsigned, T><<<wn_gpu_grid(c, out), WN_GPU_BLOCK, 0, c->stream>>>(
                (unsigned)out, geom(d), x, arg);
        else
            k_pool_argmax<size_t, T><<<wn_gpu_grid(c, out), WN_GPU_BLOCK, 0, c->stream>>>(
                out, geom(d), x, arg);
        WN_LAUNCH_CHECK("max pooling argmax kernel");
    }
    if (narrow)
        k_pool_bwd<unsigned, T><<<wn_gpu_grid(c, in), WN_GPU_BLOCK, 0, c->stream>>>(
            (unsigned)in, geom(d), avg, inv, arg, dy, dx);
    else
        k_pool_bwd<size_t, T><<<wn_gpu_grid(c, in), WN_GPU_BLOCK, 0, c->stream>>>(
            in, geom(d), avg, inv, arg, dy, dx);
    WN_LAUNCH_CHECK("pooling backward kernel");
}

extern "C" void wn_gpu_pool_backward(void *ctx, const wn_pool_desc *d, const float *x,
                                     const float *y, const float *dy, float *dx) {
    wn_gpu_ctx *c = (wn_gpu_ctx *)ctx;
    /* max positions are recomputed from x, as on the CPU; y only has its type checked */
    if ((size_t)d->n * d->c * d->h * d->w == 0) return;
    if (wn_gpu_lp_of(c, "pooling backward", x, y, dy, dx))
        pool_backward<uint16_t>(c, d, x, dy, dx);
    else
        pool_backward<float>(c, d, x, dy, dx);
}
