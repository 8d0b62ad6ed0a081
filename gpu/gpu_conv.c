/* gpu_conv.c - convolution forward, backward-data and backward-filter on the GPU with cuDNN
 * (NCHW, fp32), plus the bias through cudnnAddTensor / cudnnConvolutionBackwardBias.
 *
 * The algorithm of each (direction, shape) is chosen once and cached in the context: with
 * opts.find, cudnnFind*AlgorithmEx times every algorithm on the call's own buffers (the outputs it
 * scribbles on are overwritten right after) with a temporary workspace of the largest size any
 * algorithm asks for within the limit, like PyTorch's cudnn.benchmark; otherwise cuDNN's
 * heuristic (cudnnGet*Algorithm_v7) ranks them. The fastest algorithm that succeeded and fits the
 * workspace limit (and, with opts.deterministic, that cuDNN reports deterministic) wins. The math type follows opts.tf32: with TF32 the descriptor starts at
 * CUDNN_DEFAULT_MATH and each algorithm runs with the math type cuDNN reported for it (cuDNN
 * needs algorithm and math type together); strict fp32 uses CUDNN_FMA_MATH throughout and
 * refuses tensor-op results. The one workspace is owned by the context and grows as needed.
 * beta = 0 everywhere: outputs are overwritten without being read. */
#include <assert.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gpu_ctx.h"

/* What the three cudnn*AlgoPerf_t structs share. */
typedef struct conv_perf {
    int algo;
    cudnnStatus_t status;
    float time;
    size_t memory;
    cudnnDeterminism_t determinism;
    cudnnMathType_t math;
} conv_perf;

enum { MAX_PERF = 16 };

static const char *const KIND_NAME[] = {"forward", "backward-data", "backward-filter"};

static void conv_descs(wn_gpu_ctx *c, const wn_conv_desc *d) {
    assert(d->oh == (d->h + 2 * d->ph - d->kh) / d->sh + 1);
    assert(d->ow == (d->w + 2 * d->pw - d->kw) / d->sw + 1);
    if ((size_t)d->n * d->c * d->h * d->w > INT_MAX || (size_t)d->n * d->oc * d->oh * d->ow > INT_MAX)
        WN_GPU_FAIL("convolution of %dx%dx%dx%d -> %dx%dx%dx%d: more than 2^31 values in one "
                    "tensor (use a smaller batch)", d->n, d->c, d->h, d->w, d->n, d->oc, d->oh, d->ow);
    WN_CUDNN_CHECK(cudnnSetTensor4dDescriptor(c->t_x, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, d->n,
                                              d->c, d->h, d->w));
    WN_CUDNN_CHECK(cudnnSetFilter4dDescriptor(c->f_w, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW, d->oc,
                                              d->c, d->kh, d->kw));
    WN_CUDNN_CHECK(cudnnSetConvolution2dDescriptor(c->conv, d->ph, d->pw, d->sh, d->sw, 1, 1,
                                                   CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT));
    WN_CUDNN_CHECK(cudnnSetTensor4dDescriptor(c->t_y, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, d->n,
                                              d->oc, d->oh, d->ow));
    int n, k, h, w;
    WN_CUDNN_CHECK(cudnnGetConvolution2dForwardOutputDim(c->conv, c->t_x, c->f_w, &n, &k, &h, &w));
    if (n != d->n || k != d->oc || h != d->oh || w != d->ow)
        WN_GPU_FAIL("convolution output %dx%dx%dx%d disagrees with cuDNN's %dx%dx%dx%d", d->n,
                    d->oc, d->oh, d->ow, n, k, h, w);
}

/* Workspace bytes algorithm a of kind needs, or SIZE_MAX when cuDNN refuses it. */
static size_t algo_ws(wn_gpu_ctx *c, int kind, int a) {
    size_t s = 0;
    cudnnStatus_t st;
    if (kind == WN_GPU_CONV_FWD)
        st = cudnnGetConvolutionForwardWorkspaceSize(c->cudnn, c->t_x, c->f_w, c->conv, c->t_y,
                                                     (cudnnConvolutionFwdAlgo_t)a, &s);
    else if (kind == WN_GPU_CONV_BWD_DATA)
        st = cudnnGetConvolutionBackwardDataWorkspaceSize(c->cudnn, c->f_w, c->t_y, c->conv, c->t_x,
                                                          (cudnnConvolutionBwdDataAlgo_t)a, &s);
    else
        st = cudnnGetConvolutionBackwardFilterWorkspaceSize(c->cudnn, c->t_x, c->t_y, c->conv,
                                                            c->f_w,
                                                            (cudnnConvolutionBwdFilterAlgo_t)a, &s);
    return st == CUDNN_STATUS_SUCCESS ? s : SIZE_MAX;
}

static int algo_count(int kind) {
    return kind == WN_GPU_CONV_FWD        ? CUDNN_CONVOLUTION_FWD_ALGO_COUNT
           : kind == WN_GPU_CONV_BWD_DATA ? CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT
                                          : CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT;
}

#define COPY_PERF(dst, src, cnt)                                                           \
    for (int i_ = 0; i_ < (cnt); i_++) {                                                   \
        (dst)[i_].algo = (int)(src)[i_].algo;                                              \
        (dst)[i_].status = (src)[i_].status;                                               \
        (dst)[i_].time = (src)[i_].time;                                                   \
        (dst)[i_].memory = (src)[i_].memory;                                               \
        (dst)[i_].determinism = (src)[i_].determinism;                                     \
        (dst)[i_].math = (src)[i_].mathType;                                               \
    }

/* Ranks the algorithms of kind for the shape in the descriptors into perf; returns the count.
 * a, b: the inputs, out: the output of that direction (FindEx runs on them). */
static int rank_algos(wn_gpu_ctx *c, int kind, const void *a, const void *b, void *out,
                      conv_perf *perf) {
    const int want = algo_count(kind);
    int got = 0;
    void *ws = NULL;
    size_t ws_size = 0;
    if (c->opts.find) {
        for (int i = 0; i < want; i++) {
            size_t s = algo_ws(c, kind, i);
            if (s != SIZE_MAX && s <= c->ws_limit && s > ws_size) ws_size = s;
        }
        while (ws_size && !(ws = wn_gpu_raw_alloc(c, ws_size))) ws_size /= 2; /* tight memory */
    }
    if (kind == WN_GPU_CONV_FWD) {
        cudnnConvolutionFwdAlgoPerf_t p[MAX_PERF];
        if (c->opts.find)
            WN_CUDNN_CHECK(cudnnFindConvolutionForwardAlgorithmEx(c->cudnn, c->t_x, a, c->f_w, b,
                                                                  c->conv, c->t_y, out, want, &got,
                                                                  p, ws, ws_size));
        else
            WN_CUDNN_CHECK(cudnnGetConvolutionForwardAlgorithm_v7(c->cudnn, c->t_x, c->f_w, c->conv,
                                                                  c->t_y, want, &got, p));
        COPY_PERF(perf, p, got);
    } else if (kind == WN_GPU_CONV_BWD_DATA) {
        cudnnConvolutionBwdDataAlgoPerf_t p[MAX_PERF];
        if (c->opts.find)
            WN_CUDNN_CHECK(cudnnFindConvolutionBackwardDataAlgorithmEx(
                c->cudnn, c->f_w, a, c->t_y, b, c->conv, c->t_x, out, want, &got, p, ws, ws_size));
        else
            WN_CUDNN_CHECK(cudnnGetConvolutionBackwardDataAlgorithm_v7(
                c->cudnn, c->f_w, c->t_y, c->conv, c->t_x, want, &got, p));
        COPY_PERF(perf, p, got);
    } else {
        cudnnConvolutionBwdFilterAlgoPerf_t p[MAX_PERF];
        if (c->opts.find)
            WN_CUDNN_CHECK(cudnnFindConvolutionBackwardFilterAlgorithmEx(
                c->cudnn, c->t_x, a, c->t_y, b, c->conv, c->f_w, out, want, &got, p, ws, ws_size));
        else
            WN_CUDNN_CHECK(cudnnGetConvolutionBackwardFilterAlgorithm_v7(
                c->cudnn, c->t_x, c->t_y, c->conv, c->f_w, want, &got, p));
        COPY_PERF(perf, p, got);
    }
    wn_gpu_raw_free(c, ws);
    return got;
}

/* The cached choice for kind on shape d (descriptors already set), choosing it if new. */
static const wn_gpu_algo *conv_algo(wn_gpu_ctx *c, int kind, const wn_conv_desc *d, const void *a,
                                    const void *b, void *out) {
    for (int i = 0; i < c->n_algos; i++)
        if (c->algos[i].kind == kind && !memcmp(&c->algos[i].d, d, sizeof *d)) return &c->algos[i];
    const cudnnMathType_t base = c->opts.tf32 ? CUDNN_DEFAULT_MATH : CUDNN_FMA_MATH;
    WN_CUDNN_CHECK(cudnnSetConvolutionMathType(c->conv, base));
    conv_perf perf[MAX_PERF];
    int got = rank_algos(c, kind, a, b, out, perf), pick = -1;
    for (int i = 0; i < got && pick < 0; i++) {
        int tensor_op = perf[i].math == CUDNN_TENSOR_OP_MATH ||
                        perf[i].math == CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION;
        if (perf[i].status == CUDNN_STATUS_SUCCESS && perf[i].memory <= c->ws_limit &&
            (c->opts.tf32 || !tensor_op) &&
            (!c->opts.deterministic || perf[i].determinism == CUDNN_DETERMINISTIC))
            pick = i;
    }
    if (pick < 0)
        WN_GPU_FAIL("cuDNN offers no usable %s algorithm for the convolution %dx%dx%dx%d * "
                    "%dx%dx%dx%d (stride %dx%d, pad %dx%d) within %zu bytes of workspace (%d ranked; "
                    "tf32 %d, deterministic %d)",
                    KIND_NAME[kind], d->n, d->c, d->h, d->w, d->oc, d->c, d->kh, d->kw, d->sh,
                    d->sw, d->ph, d->pw, c->ws_limit, got, c->opts.tf32, c->opts.deterministic);
    if (c->n_algos == c->cap_algos) {
        c->cap_algos = c->cap_algos ? 2 * c->cap_algos : 32;
        c->algos = wn_xrealloc(c->algos, (size_t)c->cap_algos * sizeof *c->algos);
    }
    wn_gpu_algo *e = &c->algos[c->n_algos++];
    e->kind = kind;
    e->d = *d;
    e->algo = perf[pick].algo;
    e->math = c->opts.tf32 ? perf[pick].math : CUDNN_FMA_MATH;
    e->ws = perf[pick].memory;
    if (c->opts.verbose)
        fprintf(stderr,
                "weldnet cuda: conv %s %dx%dx%dx%d k%dx%d s%d p%d oc%d: algo %d math %d ws %zu "
                "(%.3f ms, %s)\n",
                KIND_NAME[kind], d->n, d->c, d->h, d->w, d->kh, d->kw, d->sh, d->ph, d->oc, e->algo,
                (int)e->math, e->ws, perf[pick].time, c->opts.find ? "timed" : "heuristic");
    return e;
}

/* Sets the algorithm's math type and returns a workspace of its size (NULL when it needs none). */
static void *conv_prepare(wn_gpu_ctx *c, const wn_gpu_algo *a) {
    WN_CUDNN_CHECK(cudnnSetConvolutionMathType(c->conv, a->math));
    return a->ws ? wn_gpu_buf_reserve(c, &c->ws, a->ws, "cuDNN workspace") : NULL;
}

void wn_gpu_conv_forward(void *ctx, const wn_conv_desc *d, const float *x, const float *w,
                         const float *b, float *y) {
    wn_gpu_ctx *c = ctx;
    const float one = 1, zero = 0;
    conv_descs(c, d);
    const wn_gpu_algo *a = conv_algo(c, WN_GPU_CONV_FWD, d, x, w, y);
    void *ws = conv_prepare(c, a);
    WN_CUDNN_CHECK(cudnnConvolutionForward(c->cudnn, &one, c->t_x, x, c->f_w, w, c->conv,
                                           (cudnnConvolutionFwdAlgo_t)a->algo, ws, a->ws, &zero,
                                           c->t_y, y));
    if (b) {
        WN_CUDNN_CHECK(cudnnSetTensor4dDescriptor(c->t_b, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, 1,
                                                  d->oc, 1, 1));
        WN_CUDNN_CHECK(cudnnAddTensor(c->cudnn, &one, c->t_b, b, &one, c->t_y, y));
    }
}

void wn_gpu_conv_backward(void *ctx, const wn_conv_desc *d, const float *x, const float *w,
                          const float *dy, float *dx, float *dw, float *db) {
    wn_gpu_ctx *c = ctx;
    const float one = 1, zero = 0;
    if (!dx && !dw && !db) return;
    conv_descs(c, d);
    if (db) {
        WN_CUDNN_CHECK(cudnnSetTensor4dDescriptor(c->t_b, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, 1,
                                                  d->oc, 1, 1));
        WN_CUDNN_CHECK(cudnnConvolutionBackwardBias(c->cudnn, &one, c->t_y, dy, &zero, c->t_b, db));
    }
    if (dw) {
        const wn_gpu_algo *a = conv_algo(c, WN_GPU_CONV_BWD_FILTER, d, x, dy, dw);
        void *ws = conv_prepare(c, a);
        WN_CUDNN_CHECK(cudnnConvolutionBackwardFilter(c->cudnn, &one, c->t_x, x, c->t_y, dy,
                                                      c->conv,
                                                      (cudnnConvolutionBwdFilterAlgo_t)a->algo, ws,
                                                      a->ws, &zero, c->f_w, dw));
    }
    if (dx) {
        const wn_gpu_algo *a = conv_algo(c, WN_GPU_CONV_BWD_DATA, d, w, dy, dx);
        void *ws = conv_prepare(c, a);
        WN_CUDNN_CHECK(cudnnConvolutionBackwardData(c->cudnn, &one, c->f_w, w, c->t_y, dy, c->conv,
                                                    (cudnnConvolutionBwdDataAlgo_t)a->algo, ws,
                                                    a->ws, &zero, c->t_x, dx));
    }
}
