/* gpu_ctx.h - the CUDA backend's context and the internal interface between its files. Every piece
 * of state (stream, cuDNN and cuBLAS handles, descriptors, the convolution algorithm cache, the
 * workspace, scratch buffers, the allocation table, device error words) lives in one wn_gpu_ctx,
 * made by wn_cuda_backend_create_opts and freed by its destroy op; there is no global state.
 * A context runs one op at a time (ops are called from one thread), all on ctx->stream, except
 * the copies of upload_async, which run on ctx->copy_stream ordered by two events (gpu_mem.c).
 *
 * Files: gpu_backend.c (create/destroy, the table, stats), gpu_check.c (error checks),
 * gpu_mem.c (memory ops, allocation table, growable buffers), gpu_conv.c (cuDNN convolution),
 * gpu_dense.c (cuBLAS), gpu_pool.cu, gpu_elem.cu (fill/axpy/add), gpu_act.cu, gpu_dropout.cu,
 * gpu_bn.cu, gpu_loss.cu, gpu_optim.cu (own kernels). C and CUDA files share this header; the
 * functions declared here have C linkage. Internal to gpu/. */
#ifndef WN_GPU_CTX_H
#define WN_GPU_CTX_H

#include <cublas_v2.h>
#include <cuda_runtime_api.h>
#include <cudnn.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#include "wn_backend.h"
#include "wn_cuda.h"

/* ---- checks: an op cannot return a status, so a failing call inside one prints where and what
 * failed and aborts (never continues on garbage); creation-time checks return a status. */
void wn_gpu_fail(const char *file, int line, const char *what, const char *why);
void wn_gpu_check_cuda(cudaError_t s, const char *what, const char *file, int line);
void wn_gpu_check_cudnn(cudnnStatus_t s, const char *what, const char *file, int line);
void wn_gpu_check_cublas(cublasStatus_t s, const char *what, const char *file, int line);
#define WN_CUDA_CHECK(call) wn_gpu_check_cuda((call), #call, __FILE__, __LINE__)
#define WN_CUDNN_CHECK(call) wn_gpu_check_cudnn((call), #call, __FILE__, __LINE__)
#define WN_CUBLAS_CHECK(call) wn_gpu_check_cublas((call), #call, __FILE__, __LINE__)
/* After every kernel launch: a bad launch configuration shows up here. */
#define WN_LAUNCH_CHECK(what) wn_gpu_check_cuda(cudaGetLastError(), what, __FILE__, __LINE__)
#define WN_GPU_FAIL(...) wn_gpu_failf(__FILE__, __LINE__, __VA_ARGS__)
void wn_gpu_failf(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4), noreturn));

/* ---- device error words (ctx->dev_err, 4 ints): kernels that meet bad data (a label outside
 * [0, K)) record it with wn_gpu_err_* codes; every synchronising op checks them. */
enum { WN_GPU_ERR_NONE = 0, WN_GPU_ERR_LABEL = 1 };

/* One cached convolution algorithm choice. */
enum { WN_GPU_CONV_FWD = 0, WN_GPU_CONV_BWD_DATA = 1, WN_GPU_CONV_BWD_FILTER = 2 };
typedef struct wn_gpu_algo {
    int kind;            /* WN_GPU_CONV_* */
    wn_conv_desc d;      /* the shape it was chosen for */
    int algo;            /* cudnnConvolution{Fwd,BwdData,BwdFilter}Algo_t */
    cudnnMathType_t math;
    size_t ws;           /* workspace bytes it needs */
} wn_gpu_algo;

/* One live allocation (open-addressing table keyed by pointer). */
typedef struct wn_gpu_alloc_slot {
    void *p;             /* NULL = empty, (void *)1 = deleted */
    size_t bytes;
} wn_gpu_alloc_slot;

/* A device buffer that only grows (contents not kept on growth). */
typedef struct wn_gpu_buf {
    void *p;
    size_t cap;          /* bytes */
} wn_gpu_buf;

typedef struct wn_gpu_ctx {
    wn_cuda_opts opts;
    int device;
    struct cudaDeviceProp prop;
    int sm_count;
    size_t ws_limit;              /* effective workspace limit, bytes */
    cudaStream_t stream;
    /* feeding: upload_async copies run on copy_stream, after the compute work queued before them
     * (compute_mark, recorded on stream) and before upload_fence returns (copy_done, recorded
     * on copy_stream after the latest copy; compute then waits for it too) */
    cudaStream_t copy_stream;
    cudaEvent_t compute_mark, copy_done;
    int copies_pending;           /* upload_async calls since the last fence */
    cudnnHandle_t cudnn;
    cublasHandle_t cublas;
    /* descriptors, set per call */
    cudnnTensorDescriptor_t t_x, t_y, t_b;
    cudnnFilterDescriptor_t f_w;
    cudnnConvolutionDescriptor_t conv;
    cudnnPoolingDescriptor_t pool;
    /* convolution algorithm cache */
    wn_gpu_algo *algos;           /* (n_algos) */
    int n_algos, cap_algos;
    int warned_nondet;            /* said once: a shape had no deterministic algorithm */
    /* growable device buffers */
    wn_gpu_buf ws;                /* cuDNN workspace */
    wn_gpu_buf scratch;           /* per-op scratch: reduction partials, argmax, row losses */
    wn_gpu_buf ones;              /* floats, all 1 (cuBLAS bias broadcast and sums) */
    wn_gpu_buf bf16[3];           /* opts.bf16: bf16 copies of one op's operands (gpu_bf16.cu) */
    size_t ones_n;                /* how many of ones are set */
    int *dev_err;                 /* (4) device error words: code, row, value, k */
    int *host_err;                /* (4) pinned host copy */
    double *dev_loss;             /* (1) softmax_xent loss on the device */
    double *host_loss;            /* (1) pinned host copy */
    wn_gpu_buf f32;               /* bf16 storage: fp32 products of dense layers before rounding */
    /* bf16 activation storage: the live alloc_bf16 regions, found by address (gpu_mem.c) */
    struct wn_gpu_region { const char *p; size_t bytes; } *lp;
    int n_lp, cap_lp;
    /* allocation table (every cudaMalloc the backend made) */
    wn_gpu_alloc_slot *slots;     /* (cap_slots), a power of two */
    size_t cap_slots, n_slots, n_deleted;
    size_t bytes_in_use, peak_bytes;
} wn_gpu_ctx;

/* ---- gpu_mem.c */
void *wn_gpu_alloc(void *ctx, size_t bytes);
void wn_gpu_free(void *ctx, void *p);
int wn_gpu_upload(void *ctx, void *dst, const void *host_src, size_t bytes, wn_err *e);
int wn_gpu_download(void *ctx, void *host_dst, const void *src, size_t bytes, wn_err *e);
void wn_gpu_copy(void *ctx, void *dst, const void *src, size_t bytes);
void wn_gpu_sync(void *ctx);
void *wn_gpu_host_alloc(void *ctx, size_t bytes);
void wn_gpu_host_free(void *ctx, void *p);
int wn_gpu_upload_async(void *ctx, void *dst, const void *host_src, size_t bytes, wn_err *e);
int wn_gpu_upload_fence(void *ctx, wn_err *e);
/* cudaMalloc through the allocation table (not zero-filled); NULL on exhaustion. */
void *wn_gpu_raw_alloc(wn_gpu_ctx *c, size_t bytes);
void wn_gpu_raw_free(wn_gpu_ctx *c, void *p);
/* Grows b to at least bytes (the old contents are lost); aborts when memory is exhausted. */
void *wn_gpu_buf_reserve(wn_gpu_ctx *c, wn_gpu_buf *b, size_t bytes, const char *what);
/* ctx->ones with at least n ones. */
const float *wn_gpu_ones(wn_gpu_ctx *c, size_t n);
/* Waits for the stream; returns the CUDA status of the wait, and aborts with a message naming
 * what if a kernel recorded a device error (a bad label). _checked aborts on any failure. */
cudaError_t wn_gpu_sync_status(wn_gpu_ctx *c, const char *what);
void wn_gpu_sync_checked(wn_gpu_ctx *c, const char *what);
void wn_gpu_table_free(wn_gpu_ctx *c);

/* bf16 activation storage: alloc_bf16 (a registered region), act_bf16, and whether p points
 * into a live region (so an op reads and writes bf16 there). */
void *wn_gpu_alloc_bf16(void *ctx, size_t count);
int wn_gpu_act_bf16(void *ctx);
int wn_gpu_is_lp(const wn_gpu_ctx *c, const void *p);
/* The storage type of an op's activation arguments: 1 bf16, 0 fp32; aborts naming what when
 * the non-NULL ones disagree (the engine stores all of them alike). */
int wn_gpu_lp_of(const wn_gpu_ctx *c, const char *what, const void *a, const void *b,
                 const void *d, const void *e);

/* ---- launch geometry: grid of 256-thread blocks for n elements, capped for grid-stride loops */
enum { WN_GPU_BLOCK = 256 };
unsigned wn_gpu_grid(const wn_gpu_ctx *c, size_t n);

/* ---- gpu_elem.cu */
void wn_gpu_fill(void *ctx, float *x, size_t n, float v);
void wn_gpu_axpy(void *ctx, size_t n, float a, const float *x, float *y);
double wn_gpu_sumsq(void *ctx, size_t n, const float *x);
void wn_gpu_add(void *ctx, size_t n, const float *a, const float *b, float *y);
void wn_gpu_cast(void *ctx, size_t n, const float *x, float *y);
void wn_gpu_lookup_u8(void *ctx, int n, int c, size_t hw, const uint8_t *x, const float *table,
                      float *y);
/* cudaFuncGetAttributes on a kernel: cudaErrorNoKernelImageForDevice when the build does not
 * cover this GPU's architecture. */
cudaError_t wn_gpu_kernels_check(void);

/* ---- gpu_bf16.cu (opts.bf16). The buffers are per op: an op may reuse them once its earlier
 * kernels are queued (one stream orders them). x_lp / y_lp: 1 when x / y is bf16 storage, 0
 * when fp32 (the flat conversions then also serve as the cast op). */
enum { WN_GPU_BF16_BUFS = 3 };
/* y (n) = bf16 of x (n); round to nearest even. */
void wn_gpu_to_bf16(wn_gpu_ctx *c, size_t n, const float *x, uint16_t *y);
/* y (n) = x + b[i / hw % channels] (b NULL: no bias) in y's type; x, y (N, channels, hw) */
void wn_gpu_convert(wn_gpu_ctx *c, size_t n, size_t hw, int channels, const void *x, int x_lp,
                    const float *b, void *y, int y_lp);
/* The same with the layout change: y (N, hw, channels) bf16 from x (N, channels, hw), and back
 * (with the bias b (channels) or NULL). */
void wn_gpu_to_bf16_nhwc(wn_gpu_ctx *c, int n, int channels, int hw, const void *x, int x_lp,
                         uint16_t *y);
void wn_gpu_from_bf16_nhwc(wn_gpu_ctx *c, int n, int channels, int hw, const uint16_t *x,
                           const float *b, void *y, int y_lp);
/* db (channels) = sum of dy (N, channels, hw) bf16 over N and hw (a bias gradient), in double */
void wn_gpu_bias_grad_bf16(wn_gpu_ctx *c, int n, int channels, int hw, const uint16_t *dy,
                           float *db);
/* Bf16 buffer i (< WN_GPU_BF16_BUFS) with room for n values (contents lost on growth). */
uint16_t *wn_gpu_bf16_buf(wn_gpu_ctx *c, int i, size_t n);
/* Buffer i filled with the bf16 of x (n); x itself when it is bf16 storage (x_lp). */
const uint16_t *wn_gpu_bf16_of(wn_gpu_ctx *c, int i, size_t n, const void *x, int x_lp);

/* ---- gpu_conv.c */
void wn_gpu_conv_forward(void *ctx, const wn_conv_desc *d, const float *x, const float *w,
                         const float *b, float *y);
void wn_gpu_conv_backward(void *ctx, const wn_conv_desc *d, const float *x, const float *w,
                          const float *dy, float *dx, float *dw, float *db);

/* ---- gpu_pool.cu */
void wn_gpu_pool_forward(void *ctx, const wn_pool_desc *d, const float *x, float *y);
void wn_gpu_pool_backward(void *ctx, const wn_pool_desc *d, const float *x, const float *y,
                          const float *dy, float *dx);

/* ---- gpu_dense.c */
void wn_gpu_dense_forward(void *ctx, int n, int in, int out, const float *x, const float *w,
                          const float *b, float *y);
void wn_gpu_dense_backward(void *ctx, int n, int in, int out, const float *x, const float *w,
                           const float *dy, float *dx, float *dw, float *db);

/* ---- gpu_act.cu, gpu_dropout.cu */
void wn_gpu_act_forward(void *ctx, int kind, float alpha, size_t count, const float *x, float *y);
void wn_gpu_act_backward(void *ctx, int kind, float alpha, size_t count, const float *x,
                         const float *dy, float *dx);
void wn_gpu_dropout_forward(void *ctx, size_t count, float rate, uint64_t seed, const float *x,
                            float *y, float *mask);
void wn_gpu_dropout_backward(void *ctx, size_t count, const float *mask, const float *dy,
                             float *dx);

/* ---- gpu_bn.cu */
void wn_gpu_bn_forward_train(void *ctx, int n, int c, int hw, const float *x, const float *gamma,
                             const float *beta, float momentum, float eps, float *run_mean,
                             float *run_var, float *save_mean, float *save_invstd, float *y);
void wn_gpu_bn_forward_eval(void *ctx, int n, int c, int hw, const float *x, const float *gamma,
                            const float *beta, const float *run_mean, const float *run_var,
                            float eps, float *y);
void wn_gpu_bn_backward(void *ctx, int n, int c, int hw, const float *x, const float *gamma,
                        const float *save_mean, const float *save_invstd, const float *dy,
                        float *dx, float *dgamma, float *dbeta);

/* ---- gpu_loss.cu */
void wn_gpu_softmax_xent(void *ctx, int n, int k, const float *logits, const int32_t *labels,
                         const float *weight, const float *offset, float *probs, float *dlogits,
                         double *loss_out);
void wn_gpu_softmax(void *ctx, int n, int k, const float *logits, float *probs);
void wn_gpu_focal_xent(void *ctx, int n, int k, const float *logits, const int32_t *labels,
                       const float *weight, const float *offset, float gamma, float *probs,
                       float *dlogits, double *loss_out);

/* ---- gpu_optim.cu */
void wn_gpu_sgd_update(void *ctx, size_t count, float *w, const float *g, float *v, float lr,
                       float momentum, int nesterov, float wd);
void wn_gpu_adam_update(void *ctx, size_t count, float *w, const float *g, float *m, float *v,
                        float lr, float beta1, float beta2, float eps, float wd, int decoupled,
                        int t);

#ifdef __cplusplus
}
#endif

#endif
