/* gpu_conv.c - convolution forward, backward-data and backward-filter on the GPU with cuDNN
 * (NCHW fp32, or bf16 copies, below), plus the bias through cudnnAddTensor /
 * cudnnConvolutionBackwardBias.
 *
 * The algorithm of each (direction, shape) is chosen once and cached in the context: with
 * opts.find, cudnnFind*AlgorithmEx times every algorithm on the call's own buffers (the outputs it
 * scribbles on are overwritten right after) with a temporary workspace of the largest size any
 * algorithm asks for within the limit, like PyTorch's cudnn.benchmark; otherwise cuDNN's
 * heuristic (cudnnGet*Algorithm_v7) ranks them. The fastest algorithm that succeeded and fits the
 * workspace limit (and, with opts.deterministic, that cuDNN reports deterministic) wins; when
 * no deterministic one fits, the fastest other one, with a warning once per context. The math
 * type follows opts.tf32: with TF32 the descriptor starts at CUDNN_DEFAULT_MATH and each
 * algorithm runs with the math type cuDNN reported for it (cuDNN needs algorithm and math type
 * together); strict fp32 uses CUDNN_FMA_MATH throughout and
 * refuses tensor-op results. The one workspace is owned by the context and grows as needed.
 * beta = 0 everywhere: outputs are overwritten without being read.
 *
 * Mixed precision (opts.bf16): the three convolutions run on bf16 tensors (compute type fp32,
 * CUDNN_TENSOR_OP_MATH, as PyTorch's autocast does): the fp32 operands are rounded into the
 * context's bf16 buffers, cuDNN writes a bf16 result, and gpu_bf16.cu turns it back into the
 * fp32 output (adding the bias in fp32 for the forward pass). With opts.nhwc (the default) the
 * bf16 copies are NHWC (filters KRSC), made and read back by conversions that also transpose,
 * so cuDNN runs its tensor-core kernels on their native layout without transposing inside.
 * The bias gradient is summed from the fp32 dy. The algorithm cache needs no precision or layout
 * in its key: a context has one of each.
 *
 * With bf16 activation storage (opts.bf16_store: x, y, dy, dx in alloc_bf16 memory) the bf16
 * activations are cuDNN's operands directly in NCHW, or transposed bf16 to bf16 for NHWC, and
 * results are written straight into y or dx where no bias or layout change is left to apply;
 * the bias gradient of a bf16 dy is an own reduction (gpu_bf16.cu). */
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

/* Sets t_x, f_w, conv and t_y for d, with data type t (CUDNN_DATA_FLOAT, or _BFLOAT16 in the
 * context's bf16 layout). */
static void conv_descs(wn_gpu_ctx *c, const wn_conv_desc *d, cudnnDataType_t t) {
    const cudnnTensorFormat_t f =
        t == CUDNN_DATA_BFLOAT16 && c->opts.nhwc ? CUDNN_TENSOR_NHWC : CUDNN_TENSOR_NCHW;
    assert(d->oh == (d->h + 2 * d->ph - d->kh) / d->sh + 1);
    assert(d->ow == (d->w + 2 * d->pw - d->kw) / d->sw + 1);
    if ((size_t)d->n * d->c * d->h * d->w > INT_MAX || (size_t)d->n * d->oc * d->oh * d->ow > INT_MAX)
        WN_GPU_FAIL("convolution of %dx%dx%dx%d -> %dx%dx%dx%d: more than 2^31 values in one "
                    "tensor (use a smaller batch)", d->n, d->c, d->h, d->w, d->n, d->oc, d->oh, d->ow);
    WN_CUDNN_CHECK(cudnnSetTensor4dDescriptor(c->t_x, f, t, d->n, d->c, d->h, d->w));
    WN_CUDNN_CHECK(cudnnSetFilter4dDescriptor(c->f_w, t, f, d->oc, d->c, d->kh, d->kw));
    WN_CUDNN_CHECK(cudnnSetConvolution2dDescriptor(c->conv, d->ph, d->pw, d->sh, d->sw, 1, 1,
                                                   CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT));
    WN_CUDNN_CHECK(cudnnSetTensor4dDescriptor(c->t_y, f, t, d->n, d->oc, d->oh, d->ow));
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
    const int tensor_ok = c->opts.tf32 || c->opts.bf16;
    const cudnnMathType_t base = c->opts.bf16   ? CUDNN_TENSOR_OP_MATH
                                 : c->opts.tf32 ? CUDNN_DEFAULT_MATH
                                                : CUDNN_FMA_MATH;
    WN_CUDNN_CHECK(cudnnSetConvolutionMathType(c->conv, base));
    conv_perf perf[MAX_PERF];
    int got = rank_algos(c, kind, a, b, out, perf), pick = -1;
    /* pass 0: deterministic ones only (when asked); pass 1: when cuDNN has none for this shape
     * and data type, the fastest of the others, said once per context */
    for (int pass = c->opts.deterministic ? 0 : 1; pass < 2 && pick < 0; pass++)
        for (int i = 0; i < got && pick < 0; i++) {
            int tensor_op = perf[i].math == CUDNN_TENSOR_OP_MATH ||
                            perf[i].math == CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION;
            if (perf[i].status == CUDNN_STATUS_SUCCESS && perf[i].memory <= c->ws_limit &&
                (tensor_ok || !tensor_op) &&
                (pass == 1 || perf[i].determinism == CUDNN_DETERMINISTIC)) {
                pick = i;
                if (pass == 1 && c->opts.deterministic && !c->warned_nondet) {
                    c->warned_nondet = 1;
                    fprintf(stderr, "weldnet cuda: cuDNN has no deterministic %s algorithm for "
                            "the convolution %dx%dx%dx%d k%dx%d (%s); using a non-deterministic "
                            "one there (and wherever else this happens), so reruns may differ "
                            "in the last bits\n", KIND_NAME[kind], d->n, d->c, d->h, d->w, d->kh,
                            d->kw, c->opts.bf16 ? "bf16" : "fp32");
                }
            }
        }
    if (pick < 0)
        WN_GPU_FAIL("cuDNN offers no usable %s algorithm for the convolution %dx%dx%dx%d * "
                    "%dx%dx%dx%d (stride %dx%d, pad %dx%d) within %zu bytes of workspace (%d ranked; "
                    "tf32 %d, bf16 %d, deterministic %d)",
                    KIND_NAME[kind], d->n, d->c, d->h, d->w, d->oc, d->c, d->kh, d->kw, d->sh,
                    d->sw, d->ph, d->pw, c->ws_limit, got, c->opts.tf32, c->opts.bf16,
                    c->opts.deterministic);
    if (c->n_algos == c->cap_algos) {
        c->cap_algos = c->cap_algos ? 2 * c->cap_algos : 32;
        c->algos = wn_xrealloc(c->algos, (size_t)c->cap_algos * sizeof *c->algos);
    }
    wn_gpu_algo *e = &c->algos[c->n_algos++];
    e->kind = kind;
    e->d = *d;
    e->algo = perf[pick].algo;
    e->math = tensor_ok ? perf[pick].math : CUDNN_FMA_MATH;
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

static size_t w_count(const wn_conv_desc *d) { return (size_t)d->oc * d->c * d->kh * d->kw; }

/* x (n, ch, hw) as bf16 in the context's layout: buffer i with the copy, or x itself when it
 * is bf16 storage (x_lp) and the layout is NCHW. */
static const uint16_t *to_lp(wn_gpu_ctx *c, int i, int n, int ch, int hw, const void *x, int x_lp) {
    const size_t count = (size_t)n * ch * hw;
    if (!c->opts.nhwc) return wn_gpu_bf16_of(c, i, count, x, x_lp);
    uint16_t *y = wn_gpu_bf16_buf(c, i, count);
    wn_gpu_to_bf16_nhwc(c, n, ch, hw, x, x_lp, y);
    return y;
}

/* Where cuDNN writes a bf16 result of (n, ch, hw) for y: y itself when it is bf16 storage,
 * NCHW and no bias is to be added (then from_lp has nothing to do), else buffer i. */
static uint16_t *lp_out(wn_gpu_ctx *c, int i, int n, int ch, int hw, void *y, int y_lp,
                        const float *b) {
    if (y_lp && !c->opts.nhwc && !b) return (uint16_t *)y;
    return wn_gpu_bf16_buf(c, i, (size_t)n * ch * hw);
}

/* y (n, ch, hw) = the bf16 xh in the context's layout, plus b (ch) unless NULL, in y's storage
 * type (nothing when xh is y). */
static void from_lp(wn_gpu_ctx *c, int n, int ch, int hw, const uint16_t *xh, const float *b,
                    void *y, int y_lp) {
    if ((const void *)xh == y) return;
    if (c->opts.nhwc)
        wn_gpu_from_bf16_nhwc(c, n, ch, hw, xh, b, y, y_lp);
    else
        wn_gpu_convert(c, (size_t)n * ch * hw, (size_t)hw, ch, xh, 1, b, y, y_lp);
}

static void bias_desc(wn_gpu_ctx *c, const wn_conv_desc *d) {
    WN_CUDNN_CHECK(cudnnSetTensor4dDescriptor(c->t_b, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, 1,
                                              d->oc, 1, 1));
}

/* cuDNN's three directions on the descriptors set; the pointers are of the descriptors' type. */
static void run_forward(wn_gpu_ctx *c, const wn_conv_desc *d, const void *x, const void *w,
                        void *y) {
    const float one = 1, zero = 0;
    const wn_gpu_algo *a = conv_algo(c, WN_GPU_CONV_FWD, d, x, w, y);
    void *ws = conv_prepare(c, a);
    WN_CUDNN_CHECK(cudnnConvolutionForward(c->cudnn, &one, c->t_x, x, c->f_w, w, c->conv,
                                           (cudnnConvolutionFwdAlgo_t)a->algo, ws, a->ws, &zero,
                                           c->t_y, y));
}

static void run_backward_filter(wn_gpu_ctx *c, const wn_conv_desc *d, const void *x,
                                const void *dy, void *dw) {
    const float one = 1, zero = 0;
    const wn_gpu_algo *a = conv_algo(c, WN_GPU_CONV_BWD_FILTER, d, x, dy, dw);
    void *ws = conv_prepare(c, a);
    WN_CUDNN_CHECK(cudnnConvolutionBackwardFilter(c->cudnn, &one, c->t_x, x, c->t_y, dy, c->conv,
                                                  (cudnnConvolutionBwdFilterAlgo_t)a->algo, ws,
                                                  a->ws, &zero, c->f_w, dw));
}

static void run_backward_data(wn_gpu_ctx *c, const wn_conv_desc *d, const void *w,
                              const void *dy, void *dx) {
    const float one = 1, zero = 0;
    const wn_gpu_algo *a = conv_algo(c, WN_GPU_CONV_BWD_DATA, d, w, dy, dx);
    void *ws = conv_prepare(c, a);
    WN_CUDNN_CHECK(cudnnConvolutionBackwardData(c->cudnn, &one, c->f_w, w, c->t_y, dy, c->conv,
                                                (cudnnConvolutionBwdDataAlgo_t)a->algo, ws, a->ws,
                                                &zero, c->t_x, dx));
}

/* x (N,C,H,W), w (OC,C,KH,KW), b (OC) or NULL, y (N,OC,OH,OW) */
void wn_gpu_conv_forward(void *ctx, const wn_conv_desc *d, const float *x, const float *w,
                         const float *b, float *y) {
    wn_gpu_ctx *c = ctx;
    const float one = 1;
    if (c->opts.bf16) {
        const int lp = wn_gpu_lp_of(c, "convolution forward", x, y, NULL, NULL);
        conv_descs(c, d, CUDNN_DATA_BFLOAT16);
        const uint16_t *xh = to_lp(c, 0, d->n, d->c, d->h * d->w, x, lp);
        const uint16_t *wh = to_lp(c, 1, d->oc, d->c, d->kh * d->kw, w, 0);
        uint16_t *yh = lp_out(c, 2, d->n, d->oc, d->oh * d->ow, y, lp, b);
        run_forward(c, d, xh, wh, yh);
        from_lp(c, d->n, d->oc, d->oh * d->ow, yh, b, y, lp);
        return;
    }
    conv_descs(c, d, CUDNN_DATA_FLOAT);
    run_forward(c, d, x, w, y);
    if (b) {
        bias_desc(c, d);
        WN_CUDNN_CHECK(cudnnAddTensor(c->cudnn, &one, c->t_b, b, &one, c->t_y, y));
    }
}

/* dy (N,OC,OH,OW) -> dx (N,C,H,W), dw (OC,C,KH,KW), db (OC); each may be NULL */
void wn_gpu_conv_backward(void *ctx, const wn_conv_desc *d, const float *x, const float *w,
                          const float *dy, float *dx, float *dw, float *db) {
    wn_gpu_ctx *c = ctx;
    const float one = 1, zero = 0;
    if (!dx && !dw && !db) return;
    const int lp = wn_gpu_lp_of(c, "convolution backward", x, dy, dx, NULL);
    conv_descs(c, d, CUDNN_DATA_FLOAT);
    if (db && lp) {
        wn_gpu_bias_grad_bf16(c, d->n, d->oc, d->oh * d->ow, (const uint16_t *)dy, db);
    } else if (db) {
        bias_desc(c, d);
        WN_CUDNN_CHECK(cudnnConvolutionBackwardBias(c->cudnn, &one, c->t_y, dy, &zero, c->t_b, db));
    }
    if (!c->opts.bf16) {
        if (dw) run_backward_filter(c, d, x, dy, dw);
        if (dx) run_backward_data(c, d, w, dy, dx);
        return;
    }
    if (!dw && !dx) return;
    conv_descs(c, d, CUDNN_DATA_BFLOAT16);
    const uint16_t *dyh = to_lp(c, 2, d->n, d->oc, d->oh * d->ow, dy, lp);
    if (dw) {
        const uint16_t *xh = to_lp(c, 0, d->n, d->c, d->h * d->w, x, lp);
        uint16_t *dwh = wn_gpu_bf16_buf(c, 1, w_count(d));
        run_backward_filter(c, d, xh, dyh, dwh);
        from_lp(c, d->oc, d->c, d->kh * d->kw, dwh, NULL, dw, 0);
    }
    if (dx) {
        const uint16_t *wh = to_lp(c, 1, d->oc, d->c, d->kh * d->kw, w, 0);
        uint16_t *dxh = lp_out(c, 0, d->n, d->c, d->h * d->w, dx, lp, NULL);
        run_backward_data(c, d, wh, dyh, dxh);
        from_lp(c, d->n, d->c, d->h * d->w, dxh, NULL, dx, lp);
    }
}
