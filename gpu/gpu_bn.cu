/* gpu_bn.cu - batch normalisation on the GPU (train, eval, backward) with the CPU backend's
 * semantics (cpu_k_norm.h, PyTorch's): per channel of x (N,C,HW), batch mean and biased variance
 * normalise, the running variance moves with the unbiased one, statistics in double.
 *
 * Each pass is three kernels: partial sums per (chunk of a channel) in double -> one thread per
 * channel adds the chunks in a fixed order and derives the per-channel coefficients (so results
 * do not depend on scheduling) -> an elementwise kernel applies them with round-to-nearest
 * arithmetic in the CPU's order. The forward sums are shifted by the channel's first value
 * (sum of x - s and (x - s)^2), which keeps the one-pass variance accurate when the mean is far
 * from zero. gamma NULL means 1 and beta NULL means 0. x, y, dy and dx are fp32 or bf16
 * storage (T, gpu_store.cuh); statistics, gamma, beta and the coefficients stay fp32. */
#include <assert.h>

#include "gpu_ctx.h"
#include "gpu_store.cuh"

/* Per-channel element count M = N*HW must fit 31-bit indexing (chunk bounds stay below 2^32). */
#define BN_MAX_M 0x7FFFFFFFull

/* Sums *a and *b over the block into thread 0's *a, *b; sa, sb: shared (WN_GPU_BLOCK / 32). */
__device__ static void block_sum2(double *a, double *b, double *sa, double *sb) {
    double x = *a, y = *b;
    for (int o = 16; o > 0; o >>= 1) {
        x += __shfl_xor_sync(0xffffffffu, x, o);
        y += __shfl_xor_sync(0xffffffffu, y, o);
    }
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    if (lane == 0) {
        sa[warp] = x;
        sb[warp] = y;
    }
    __syncthreads();
    if (threadIdx.x == 0) {
        x = 0;
        y = 0;
        for (int w = 0; w < WN_GPU_BLOCK / 32; w++) {
            x += sa[w];
            y += sb[w];
        }
        *a = x;
        *b = y;
    }
}

/* Element j of channel ch, with per = n*hw elements per channel laid out as (N, C, HW). */
__device__ static size_t bn_index(unsigned j, unsigned hw, int c, int ch) {
    unsigned i = j / hw, k = j - i * hw;
    return ((size_t)i * c + ch) * hw + k;
}

/* grid (chunks, C). Forward: part[(ch*chunks + b)*2 + {0,1}] = sum (x - s), sum (x - s)^2 with
 * s = the channel's first value. Backward (dy != NULL): sum dy, sum dy*(x - mean)*invstd. */
template <typename T>
__global__ void k_bn_partial(int n, int c, int hw, const T *x, const T *dy, const float *mean,
                             const float *invstd, double *part) {
    const int ch = blockIdx.y, chunks = gridDim.x, b = blockIdx.x;
    const unsigned m = (unsigned)n * (unsigned)hw;
    const unsigned per = (m + chunks - 1) / chunks;
    const unsigned j0 = b * per, j1 = min(m, j0 + per);
    __shared__ double sa[WN_GPU_BLOCK / 32], sb[WN_GPU_BLOCK / 32];
    double s1 = 0, s2 = 0;
    if (!dy) {
        const double s = wn_ld(x, (size_t)ch * hw);
        for (unsigned j = j0 + threadIdx.x; j < j1; j += blockDim.x) {
            double t = (double)wn_ld(x, bn_index(j, hw, c, ch)) - s;
            s1 += t;
            s2 += t * t;
        }
    } else {
        const double mu = mean[ch], is = invstd[ch];
        for (unsigned j = j0 + threadIdx.x; j < j1; j += blockDim.x) {
            size_t at = bn_index(j, hw, c, ch);
            double g = wn_ld(dy, at);
            s1 += g;
            s2 += g * (((double)wn_ld(x, at) - mu) * is);
        }
    }
    block_sum2(&s1, &s2, sa, sb);
    if (threadIdx.x == 0) {
        part[((size_t)ch * chunks + b) * 2] = s1;
        part[((size_t)ch * chunks + b) * 2 + 1] = s2;
    }
}

/* Channel ch's two sums over its chunks, in chunk order. */
__device__ static void sum_chunks(const double *part, int ch, int chunks, double *a, double *b) {
    double x = 0, y = 0;
    for (int k = 0; k < chunks; k++) {
        x += part[((size_t)ch * chunks + k) * 2];
        y += part[((size_t)ch * chunks + k) * 2 + 1];
    }
    *a = x;
    *b = y;
}

/* One thread per channel: statistics, running stats, and coef (3, C) = scale, shift, mean for
 * the apply kernel. */
template <typename T>
__global__ void k_bn_train_finish(int n, int c, int hw, int chunks, const T *x,
                                  const double *part, const float *gamma, const float *beta,
                                  double momentum, double eps, float *run_mean, float *run_var,
                                  float *save_mean, float *save_invstd, float *coef) {
    const int ch = blockIdx.x * blockDim.x + threadIdx.x;
    if (ch >= c) return;
    double s1, s2;
    sum_chunks(part, ch, chunks, &s1, &s2);
    const double m = (double)n * hw;
    const double mean = (double)wn_ld(x, (size_t)ch * hw) + s1 / m;
    double ss = s2 - s1 * s1 / m; /* sum of squared deviations from the mean */
    if (ss < 0) ss = 0;
    const double var = ss / m, inv = 1.0 / sqrt(var + eps);
    const double g = gamma ? gamma[ch] : 1, bt = beta ? beta[ch] : 0;
    coef[ch] = (float)(g * inv);
    coef[c + ch] = (float)bt;
    coef[2 * c + ch] = (float)mean;
    if (save_mean) save_mean[ch] = (float)mean;
    if (save_invstd) save_invstd[ch] = (float)inv;
    if (run_mean) run_mean[ch] = (float)((1 - momentum) * run_mean[ch] + momentum * mean);
    if (run_var) {
        double unbiased = m > 1 ? ss / (m - 1) : var;
        run_var[ch] = (float)((1 - momentum) * run_var[ch] + momentum * unbiased);
    }
}

/* One thread per channel: coef (3, C) from the running statistics. */
__global__ void k_bn_eval_coef(int c, const float *gamma, const float *beta, const float *run_mean,
                               const float *run_var, double eps, float *coef) {
    const int ch = blockIdx.x * blockDim.x + threadIdx.x;
    if (ch >= c) return;
    const double g = gamma ? gamma[ch] : 1, bt = beta ? beta[ch] : 0;
    const double inv = 1.0 / sqrt((double)run_var[ch] + eps);
    coef[ch] = (float)(g * inv);
    coef[c + ch] = (float)bt;
    coef[2 * c + ch] = run_mean[ch];
}

/* y = (x - mean) * scale + shift with coef (3, C); x, y (N,C,HW) of total values; y may alias x */
template <typename I, typename T>
__global__ void k_bn_apply(I total, I hw, I c, const T *x, const float *coef, T *y) {
    for (I i = blockIdx.x * (I)blockDim.x + threadIdx.x; i < total; i += (I)gridDim.x * blockDim.x) {
        I ch = (i / hw) % c;
        wn_st(y, i, __fadd_rn(__fmul_rn(__fsub_rn(wn_ld(x, i), coef[2 * c + ch]), coef[ch]),
                              coef[c + ch]));
    }
}

/* One thread per channel after the backward partial sums: dbeta, dgamma, and coef (4, C) =
 * a, b, c0, mean for dx = a*dy + b*(x - mean) + c0. */
__global__ void k_bn_backward_finish(int n, int c, int hw, int chunks, const double *part,
                                     const float *gamma, const float *save_mean,
                                     const float *save_invstd, float *dgamma, float *dbeta,
                                     float *coef) {
    const int ch = blockIdx.x * blockDim.x + threadIdx.x;
    if (ch >= c) return;
    double sdy, sdyx;
    sum_chunks(part, ch, chunks, &sdy, &sdyx);
    if (dbeta) dbeta[ch] = (float)sdy;
    if (dgamma) dgamma[ch] = (float)sdyx;
    const double m = (double)n * hw, invstd = save_invstd[ch];
    const double g = gamma ? gamma[ch] : 1, k = g * invstd;
    coef[ch] = (float)k;
    coef[c + ch] = (float)(-k * invstd * sdyx / m);
    coef[2 * c + ch] = (float)(-k * sdy / m);
    coef[3 * c + ch] = save_mean[ch];
}

/* dx = a*dy + b*(x - mean) + c0 with coef (4, C); x, dy, dx (N,C,HW) */
template <typename I, typename T>
__global__ void k_bn_backward_apply(I total, I hw, I c, const T *x, const T *dy,
                                    const float *coef, T *dx) {
    for (I i = blockIdx.x * (I)blockDim.x + threadIdx.x; i < total; i += (I)gridDim.x * blockDim.x) {
        I ch = (i / hw) % c;
        float t = __fadd_rn(__fmul_rn(coef[ch], wn_ld(dy, i)),
                            __fmul_rn(coef[c + ch], __fsub_rn(wn_ld(x, i), coef[3 * c + ch])));
        wn_st(dx, i, __fadd_rn(t, coef[2 * c + ch]));
    }
}

/* Chunks per channel: enough blocks to fill the GPU, at least 2048 values per block. */
static int bn_chunks(const wn_gpu_ctx *g, int c, size_t m) {
    size_t want = ((size_t)g->sm_count * 4 + c - 1) / c;
    size_t most = (m + 2047) / 2048;
    size_t k = want < most ? want : most;
    if (k > 1024) k = 1024;
    return k ? (int)k : 1;
}

/* Scratch: part (C, chunks, 2) doubles, then coef (4, C) floats. */
static double *bn_scratch(wn_gpu_ctx *g, int c, int chunks, float **coef) {
    size_t nd = (size_t)c * chunks * 2;
    char *p = (char *)wn_gpu_buf_reserve(g, &g->scratch, nd * sizeof(double) + 4 * (size_t)c * sizeof(float),
                                         "batchnorm scratch");
    *coef = (float *)(p + nd * sizeof(double));
    return (double *)p;
}

static void bn_check(int n, int c, int hw) {
    if ((unsigned long long)n * (unsigned long long)hw > BN_MAX_M)
        WN_GPU_FAIL("batchnorm: %d x %d values per channel exceed the kernel's 32-bit indexing", n, hw);
}

template <typename T>
static void bn_apply(wn_gpu_ctx *g, size_t total, int c, int hw, const void *x, const float *coef,
                     void *y) {
    if (total <= 0xFFFFFFFFull)
        k_bn_apply<unsigned, T><<<wn_gpu_grid(g, total), WN_GPU_BLOCK, 0, g->stream>>>(
            (unsigned)total, (unsigned)hw, (unsigned)c, (const T *)x, coef, (T *)y);
    else
        k_bn_apply<size_t, T><<<wn_gpu_grid(g, total), WN_GPU_BLOCK, 0, g->stream>>>(
            total, (size_t)hw, (size_t)c, (const T *)x, coef, (T *)y);
    WN_LAUNCH_CHECK("batchnorm apply kernel");
}

static unsigned per_channel_blocks(int c) { return (unsigned)((c + WN_GPU_BLOCK - 1) / WN_GPU_BLOCK); }

template <typename T>
static void bn_forward_train(wn_gpu_ctx *g, int n, int c, int hw, const void *xv,
                             const float *gamma, const float *beta, float momentum, float eps,
                             float *run_mean, float *run_var, float *save_mean,
                             float *save_invstd, void *y) {
    const T *x = (const T *)xv;
    const size_t m = (size_t)n * hw;
    int chunks = bn_chunks(g, c, m);
    float *coef;
    double *part = bn_scratch(g, c, chunks, &coef);
    k_bn_partial<T><<<dim3(chunks, c), WN_GPU_BLOCK, 0, g->stream>>>(n, c, hw, x, (const T *)NULL,
                                                                     NULL, NULL, part);
    WN_LAUNCH_CHECK("batchnorm statistics kernel");
    k_bn_train_finish<T><<<per_channel_blocks(c), WN_GPU_BLOCK, 0, g->stream>>>(
        n, c, hw, chunks, x, part, gamma, beta, momentum, eps, run_mean, run_var, save_mean,
        save_invstd, coef);
    WN_LAUNCH_CHECK("batchnorm finish kernel");
    bn_apply<T>(g, m * c, c, hw, x, coef, y);
}

extern "C" void wn_gpu_bn_forward_train(void *ctx, int n, int c, int hw, const float *x,
                                        const float *gamma, const float *beta, float momentum,
                                        float eps, float *run_mean, float *run_var,
                                        float *save_mean, float *save_invstd, float *y) {
    wn_gpu_ctx *g = (wn_gpu_ctx *)ctx;
    if (n <= 0 || c <= 0 || hw <= 0) return;
    bn_check(n, c, hw);
    if (wn_gpu_lp_of(g, "batchnorm forward", x, y, NULL, NULL))
        bn_forward_train<uint16_t>(g, n, c, hw, x, gamma, beta, momentum, eps, run_mean, run_var,
                                   save_mean, save_invstd, y);
    else
        bn_forward_train<float>(g, n, c, hw, x, gamma, beta, momentum, eps, run_mean, run_var,
                                save_mean, save_invstd, y);
}

extern "C" void wn_gpu_bn_forward_eval(void *ctx, int n, int c, int hw, const float *x,
                                       const float *gamma, const float *beta,
                                       const float *run_mean, const float *run_var, float eps,
                                       float *y) {
    wn_gpu_ctx *g = (wn_gpu_ctx *)ctx;
    if (n <= 0 || c <= 0 || hw <= 0) return;
    float *coef;
    bn_scratch(g, c, 0, &coef);
    k_bn_eval_coef<<<per_channel_blocks(c), WN_GPU_BLOCK, 0, g->stream>>>(c, gamma, beta, run_mean,
                                                                          run_var, eps, coef);
    WN_LAUNCH_CHECK("batchnorm eval coefficient kernel");
    const size_t total = (size_t)n * c * hw;
    if (wn_gpu_lp_of(g, "batchnorm eval", x, y, NULL, NULL))
        bn_apply<uint16_t>(g, total, c, hw, x, coef, y);
    else
        bn_apply<float>(g, total, c, hw, x, coef, y);
}

template <typename T>
static void bn_backward(wn_gpu_ctx *g, int n, int c, int hw, const void *xv, const float *gamma,
                        const float *save_mean, const float *save_invstd, const void *dyv,
                        void *dx, float *dgamma, float *dbeta) {
    const T *x = (const T *)xv, *dy = (const T *)dyv;
    const size_t m = (size_t)n * hw, total = m * c;
    int chunks = bn_chunks(g, c, m);
    float *coef;
    double *part = bn_scratch(g, c, chunks, &coef);
    k_bn_partial<T><<<dim3(chunks, c), WN_GPU_BLOCK, 0, g->stream>>>(n, c, hw, x, dy, save_mean,
                                                                     save_invstd, part);
    WN_LAUNCH_CHECK("batchnorm gradient sums kernel");
    k_bn_backward_finish<<<per_channel_blocks(c), WN_GPU_BLOCK, 0, g->stream>>>(
        n, c, hw, chunks, part, gamma, save_mean, save_invstd, dgamma, dbeta, coef);
    WN_LAUNCH_CHECK("batchnorm gradient finish kernel");
    if (!dx) return;
    if (total <= 0xFFFFFFFFull)
        k_bn_backward_apply<unsigned, T><<<wn_gpu_grid(g, total), WN_GPU_BLOCK, 0, g->stream>>>(
            (unsigned)total, (unsigned)hw, (unsigned)c, x, dy, coef, (T *)dx);
    else
        k_bn_backward_apply<size_t, T><<<wn_gpu_grid(g, total), WN_GPU_BLOCK, 0, g->stream>>>(
            total, (size_t)hw, (size_t)c, x, dy, coef, (T *)dx);
    WN_LAUNCH_CHECK("batchnorm input gradient kernel");
}

extern "C" void wn_gpu_bn_backward(void *ctx, int n, int c, int hw, const float *x,
                                   const float *gamma, const float *save_mean,
                                   const float *save_invstd, const float *dy, float *dx,
                                   float *dgamma, float *dbeta) {
    wn_gpu_ctx *g = (wn_gpu_ctx *)ctx;
    if (n <= 0 || c <= 0 || hw <= 0 || (!dx && !dgamma && !dbeta)) return;
    bn_check(n, c, hw);
    if (wn_gpu_lp_of(g, "batchnorm backward", x, dy, dx, NULL))
        bn_backward<uint16_t>(g, n, c, hw, x, gamma, save_mean, save_invstd, dy, dx, dgamma,
                              dbeta);
    else
        bn_backward<float>(g, n, c, hw, x, gamma, save_mean, save_invstd, dy, dx, dgamma, dbeta);
}
