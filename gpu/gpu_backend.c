/* gpu_backend.c - the CUDA backend's ops table, context creation and destruction, options and
 * statistics. Creation checks, in order, that a GPU and driver answer, that this build's kernels
 * run on that GPU's architecture, and that the streams (compute and copy) and their events,
 * cuDNN, cuBLAS, descriptors and the small device buffers can be made; any failure frees what
 * was made and returns WN_ERUNTIME with a message (file and line for library failures) that the
 * registry shows. */
#include <stdlib.h>
#include <string.h>

#include "gpu_ctx.h"

#ifndef WN_CUDA_ARCHS
#define WN_CUDA_ARCHS "?"
#endif

static void gpu_destroy(void *ctx) {
    wn_gpu_ctx *c = ctx;
    if (!c) return;
    if (c->copy_stream) (void)cudaStreamSynchronize(c->copy_stream);
    if (c->stream) (void)cudaStreamSynchronize(c->stream);
    if (c->pool) cudnnDestroyPoolingDescriptor(c->pool);
    if (c->conv) cudnnDestroyConvolutionDescriptor(c->conv);
    if (c->f_w) cudnnDestroyFilterDescriptor(c->f_w);
    if (c->t_b) cudnnDestroyTensorDescriptor(c->t_b);
    if (c->t_y) cudnnDestroyTensorDescriptor(c->t_y);
    if (c->t_x) cudnnDestroyTensorDescriptor(c->t_x);
    if (c->cublas) cublasDestroy(c->cublas);
    if (c->cudnn) cudnnDestroy(c->cudnn);
    wn_gpu_table_free(c); /* every device allocation still live, workspace and scratch too */
    if (c->host_err) cudaFreeHost(c->host_err);
    if (c->host_loss) cudaFreeHost(c->host_loss);
    if (c->copy_done) cudaEventDestroy(c->copy_done);
    if (c->compute_mark) cudaEventDestroy(c->compute_mark);
    if (c->copy_stream) cudaStreamDestroy(c->copy_stream);
    if (c->stream) cudaStreamDestroy(c->stream);
    free(c->algos);
    free(c->lp);
    free(c);
}

static const wn_backend_ops gpu_ops = {
    .name = "cuda",
    .destroy = gpu_destroy,
    .alloc = wn_gpu_alloc,
    .free = wn_gpu_free,
    .upload = wn_gpu_upload,
    .download = wn_gpu_download,
    .copy = wn_gpu_copy,
    .fill = wn_gpu_fill,
    .axpy = wn_gpu_axpy,
    .add = wn_gpu_add,
    .sumsq = wn_gpu_sumsq,
    .lookup_u8 = wn_gpu_lookup_u8,
    .sync = wn_gpu_sync,
    .conv_forward = wn_gpu_conv_forward,
    .conv_backward = wn_gpu_conv_backward,
    .pool_forward = wn_gpu_pool_forward,
    .pool_backward = wn_gpu_pool_backward,
    .dense_forward = wn_gpu_dense_forward,
    .dense_backward = wn_gpu_dense_backward,
    .act_forward = wn_gpu_act_forward,
    .act_backward = wn_gpu_act_backward,
    .dropout_forward = wn_gpu_dropout_forward,
    .dropout_backward = wn_gpu_dropout_backward,
    .bn_forward_train = wn_gpu_bn_forward_train,
    .bn_forward_eval = wn_gpu_bn_forward_eval,
    .bn_backward = wn_gpu_bn_backward,
    .softmax_xent = wn_gpu_softmax_xent,
    .softmax = wn_gpu_softmax,
    .sgd_update = wn_gpu_sgd_update,
    .adam_update = wn_gpu_adam_update,
    .focal_xent = wn_gpu_focal_xent,
    .host_alloc = wn_gpu_host_alloc,
    .host_free = wn_gpu_host_free,
    .upload_async = wn_gpu_upload_async,
    .upload_fence = wn_gpu_upload_fence,
    .act_bf16 = wn_gpu_act_bf16,
    .alloc_bf16 = wn_gpu_alloc_bf16,
    .cast = wn_gpu_cast,
};

const wn_backend_ops *wn_cuda_backend_ops(void) { return &gpu_ops; }

void wn_cuda_opts_default(wn_cuda_opts *o) {
    memset(o, 0, sizeof *o);
    o->tf32 = 1;
    o->find = 0;
    o->deterministic = 1;
    o->pool_cudnn = 1;
    o->nhwc = 1;
    o->bf16_store = 1;
}

/* Creation-time checks: set e with the place and the library's message, then fail. */
#define TRY(type, ok, str, call)                                                           \
    do {                                                                                   \
        type s_ = (call);                                                                  \
        if (s_ != (ok)) {                                                                  \
            wn_err_set(e, WN_ERUNTIME, "%s:%d: %s: %s", __FILE__, __LINE__, #call, str(s_)); \
            goto fail;                                                                     \
        }                                                                                  \
    } while (0)
#define TRY_CUDA(call) TRY(cudaError_t, cudaSuccess, cudaGetErrorString, call)
#define TRY_CUDNN(call) TRY(cudnnStatus_t, CUDNN_STATUS_SUCCESS, cudnnGetErrorString, call)
#define TRY_CUBLAS(call) TRY(cublasStatus_t, CUBLAS_STATUS_SUCCESS, cublasGetStatusString, call)

/* Is there a GPU at all? A clear message for the usual ways there is none. */
static int probe_device(int device, wn_err *e) {
    int count = 0;
    cudaError_t s = cudaGetDeviceCount(&count);
    if (s != cudaSuccess) {
        (void)cudaGetLastError();
        return wn_err_set(e, WN_ERUNTIME,
                          "no usable CUDA GPU: cudaGetDeviceCount says %s (%s); is an NVIDIA GPU "
                          "with its driver present (see nvidia-smi)?",
                          cudaGetErrorString(s), cudaGetErrorName(s));
    }
    if (count < 1) return wn_err_set(e, WN_ERUNTIME, "no usable CUDA GPU: no CUDA device found");
    if (device < 0 || device >= count)
        return wn_err_set(e, WN_EINPUT, "CUDA device %d does not exist (%d device%s found)",
                          device, count, count == 1 ? "" : "s");
    return WN_OK;
}

int wn_cuda_backend_create_opts(const wn_cuda_opts *o, wn_backend *out, wn_err *e) {
    memset(out, 0, sizeof *out);
    wn_cuda_opts opts;
    if (o)
        opts = *o;
    else
        wn_cuda_opts_default(&opts);
    int rc = probe_device(opts.device, e);
    if (rc) return rc;
    wn_gpu_ctx *c = calloc(1, sizeof *c);
    if (!c) return wn_err_set(e, WN_ERUNTIME, "out of memory creating the CUDA backend");
    c->opts = opts;
    c->device = opts.device;
    TRY_CUDA(cudaSetDevice(c->device));
    TRY_CUDA(cudaGetDeviceProperties(&c->prop, c->device));
    c->sm_count = c->prop.multiProcessorCount > 0 ? c->prop.multiProcessorCount : 1;
    {
        cudaError_t s = wn_gpu_kernels_check();
        if (s != cudaSuccess) {
            (void)cudaGetLastError();
            wn_err_set(e, WN_ERUNTIME,
                       "GPU '%s' (compute capability %d.%d) cannot run this build's kernels, "
                       "which were compiled for CUDA architectures %s: %s; rebuild with "
                       "-DCMAKE_CUDA_ARCHITECTURES=%d%d",
                       c->prop.name, c->prop.major, c->prop.minor, WN_CUDA_ARCHS,
                       cudaGetErrorString(s), c->prop.major, c->prop.minor);
            goto fail;
        }
    }
    TRY_CUDA(cudaStreamCreateWithFlags(&c->stream, cudaStreamNonBlocking));
    TRY_CUDA(cudaStreamCreateWithFlags(&c->copy_stream, cudaStreamNonBlocking));
    TRY_CUDA(cudaEventCreateWithFlags(&c->compute_mark, cudaEventDisableTiming));
    TRY_CUDA(cudaEventCreateWithFlags(&c->copy_done, cudaEventDisableTiming));
    if (cudnnGetVersion() / 10000 != CUDNN_MAJOR) {
        wn_err_set(e, WN_ERUNTIME, "cuDNN %zu is loaded but this build needs cuDNN %d.x",
                   cudnnGetVersion(), CUDNN_MAJOR);
        goto fail;
    }
    TRY_CUDNN(cudnnCreate(&c->cudnn));
    TRY_CUDNN(cudnnSetStream(c->cudnn, c->stream));
    TRY_CUBLAS(cublasCreate(&c->cublas));
    TRY_CUBLAS(cublasSetStream(c->cublas, c->stream));
    TRY_CUDNN(cudnnCreateTensorDescriptor(&c->t_x));
    TRY_CUDNN(cudnnCreateTensorDescriptor(&c->t_y));
    TRY_CUDNN(cudnnCreateTensorDescriptor(&c->t_b));
    TRY_CUDNN(cudnnCreateFilterDescriptor(&c->f_w));
    TRY_CUDNN(cudnnCreateConvolutionDescriptor(&c->conv));
    TRY_CUDNN(cudnnCreatePoolingDescriptor(&c->pool));
    c->dev_err = wn_gpu_raw_alloc(c, 4 * sizeof(int));
    c->dev_loss = wn_gpu_raw_alloc(c, sizeof(double));
    if (!c->dev_err || !c->dev_loss) {
        wn_err_set(e, WN_ERUNTIME, "out of GPU memory creating the CUDA backend");
        goto fail;
    }
    TRY_CUDA(cudaMemsetAsync(c->dev_err, 0, 4 * sizeof(int), c->stream));
    TRY_CUDA(cudaMallocHost((void **)&c->host_err, 4 * sizeof(int)));
    TRY_CUDA(cudaMallocHost((void **)&c->host_loss, sizeof(double)));
    {
        size_t free_b = 0, total_b = 0;
        TRY_CUDA(cudaMemGetInfo(&free_b, &total_b));
        size_t lim = free_b / 4, cap = (size_t)2 << 30;
        c->ws_limit = opts.ws_limit ? opts.ws_limit : (lim < cap ? lim : cap);
    }
    TRY_CUDA(cudaStreamSynchronize(c->stream));
    out->ops = &gpu_ops;
    out->ctx = c;
    return WN_OK;
fail:
    (void)cudaGetLastError();
    gpu_destroy(c);
    return WN_ERUNTIME;
}

int wn_cuda_backend_create(wn_backend *out, wn_err *e) {
    return wn_cuda_backend_create_opts(NULL, out, e);
}

int wn_cuda_backend_create_math(int math, wn_backend *out, wn_err *e) {
    wn_cuda_opts o;
    wn_cuda_opts_default(&o);
    o.tf32 = math != WN_MATH_STRICT;
    o.bf16 = math == WN_MATH_BF16;
    return wn_cuda_backend_create_opts(&o, out, e);
}

int wn_cuda_stats_get(const wn_backend *b, wn_cuda_stats *s, wn_err *e) {
    memset(s, 0, sizeof *s);
    if (!b || b->ops != &gpu_ops || !b->ctx)
        return wn_err_set(e, WN_EINPUT, "statistics asked of a backend that is not CUDA");
    wn_gpu_ctx *c = b->ctx;
    snprintf(s->device_name, sizeof s->device_name, "%s", c->prop.name);
    s->cc_major = c->prop.major;
    s->cc_minor = c->prop.minor;
    s->sm_count = c->sm_count;
    s->bytes_in_use = c->bytes_in_use;
    s->peak_bytes = c->peak_bytes;
    s->workspace_bytes = c->ws.cap;
    s->conv_algos = c->n_algos;
    s->tf32 = c->opts.tf32;
    s->bf16 = c->opts.bf16;
    s->bf16_store = c->opts.bf16 && c->opts.bf16_store;
    s->cudnn_version = (int)cudnnGetVersion();
    int v = 0;
    if (cublasGetVersion(c->cublas, &v) == CUBLAS_STATUS_SUCCESS) s->cublas_version = v;
    if (cudaRuntimeGetVersion(&v) == cudaSuccess) s->runtime_version = v;
    if (cudaDriverGetVersion(&v) == cudaSuccess) s->driver_version = v;
    if (cudaMemGetInfo(&s->device_free, &s->device_total) != cudaSuccess) {
        (void)cudaGetLastError();
        s->device_free = s->device_total = 0;
    }
    return WN_OK;
}

void wn_cuda_stats_reset_peak(const wn_backend *b) {
    if (!b || b->ops != &gpu_ops || !b->ctx) return;
    wn_gpu_ctx *c = b->ctx;
    c->peak_bytes = c->bytes_in_use;
}
