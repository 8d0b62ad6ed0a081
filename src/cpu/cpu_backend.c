/* cpu_backend.c - the CPU backend: its ops table, context creation and destruction, and the
 * memory ops (host memory: alloc is zero-filled and 64-byte aligned, upload/download/copy are
 * memcpy; host_alloc is the same memory unfilled, upload_async a memcpy done at once, so
 * upload_fence has nothing to wait for). The numeric ops live in the other cpu_*.c files
 * (cpu_ops.h). */
#include <cblas.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cpu_ctx.h"
#include "cpu_ops.h"
#include "wn_backend.h"

/* More threads than this are never useful here and bound the scratch table. */
#define WN_CPU_MAX_THREADS 256

static void cpu_destroy(void *ctx) {
    wn_cpu_ctx *c = ctx;
    if (!c) return;
    wn_cpu_pool_stop(c);
    if (c->scratch)
        for (int i = 0; i < c->threads * WN_CPU_SCRATCH_N; i++) free(c->scratch[i].p);
    free(c->scratch);
    free(c);
}

static void *cpu_alloc(void *ctx, size_t bytes) {
    (void)ctx;
    size_t cap = (bytes + 63) / 64 * 64;
    if (cap < bytes) return NULL; /* overflow */
    if (cap == 0) cap = 64;
    void *p = aligned_alloc(64, cap);
    if (p) memset(p, 0, cap);
    return p;
}

static void cpu_free(void *ctx, void *p) {
    (void)ctx;
    free(p);
}

static int cpu_upload(void *ctx, void *dst, const void *host_src, size_t bytes, wn_err *e) {
    (void)ctx;
    (void)e;
    if (bytes) memcpy(dst, host_src, bytes);
    return WN_OK;
}

static int cpu_download(void *ctx, void *host_dst, const void *src, size_t bytes, wn_err *e) {
    (void)ctx;
    (void)e;
    if (bytes) memcpy(host_dst, src, bytes);
    return WN_OK;
}

static void cpu_copy(void *ctx, void *dst, const void *src, size_t bytes) {
    (void)ctx;
    if (bytes && dst != src) memmove(dst, src, bytes);
}

static void cpu_sync(void *ctx) { (void)ctx; }

/* Host memory is all the CPU backend has: 64-byte aligned, not zero-filled. */
static void *cpu_host_alloc(void *ctx, size_t bytes) {
    (void)ctx;
    size_t cap = (bytes + 63) / 64 * 64;
    if (cap < bytes) return NULL; /* overflow */
    return aligned_alloc(64, cap ? cap : 64);
}

static void cpu_host_free(void *ctx, void *p) {
    (void)ctx;
    free(p);
}

/* The copy is done when this returns; the fence then has nothing to wait for. */
static int cpu_upload_async(void *ctx, void *dst, const void *host_src, size_t bytes, wn_err *e) {
    return cpu_upload(ctx, dst, host_src, bytes, e);
}

static int cpu_upload_fence(void *ctx, wn_err *e) {
    (void)ctx;
    (void)e;
    return WN_OK;
}

/* Activations are fp32 on the CPU: no bf16 storage, and a cast is a copy. */
static int cpu_act_bf16(void *ctx) {
    (void)ctx;
    return 0;
}

static void *cpu_alloc_bf16(void *ctx, size_t count) {
    (void)ctx;
    (void)count;
    return NULL;
}

static void cpu_cast(void *ctx, size_t n, const float *x, float *y) {
    cpu_copy(ctx, y, x, n * sizeof(float));
}

static const wn_backend_ops cpu_ops = {
    .name = "cpu",
    .destroy = cpu_destroy,
    .alloc = cpu_alloc,
    .free = cpu_free,
    .upload = cpu_upload,
    .download = cpu_download,
    .copy = cpu_copy,
    .fill = wn_cpu_fill,
    .axpy = wn_cpu_axpy,
    .add = wn_cpu_add,
    .sumsq = wn_cpu_sumsq,
    .lookup_u8 = wn_cpu_lookup_u8,
    .sync = cpu_sync,
    .conv_forward = wn_cpu_conv_forward,
    .conv_backward = wn_cpu_conv_backward,
    .pool_forward = wn_cpu_pool_forward,
    .pool_backward = wn_cpu_pool_backward,
    .dense_forward = wn_cpu_dense_forward,
    .dense_backward = wn_cpu_dense_backward,
    .act_forward = wn_cpu_act_forward,
    .act_backward = wn_cpu_act_backward,
    .dropout_forward = wn_cpu_dropout_forward,
    .dropout_backward = wn_cpu_dropout_backward,
    .bn_forward_train = wn_cpu_bn_forward_train,
    .bn_forward_eval = wn_cpu_bn_forward_eval,
    .bn_backward = wn_cpu_bn_backward,
    .softmax_xent = wn_cpu_softmax_xent,
    .softmax = wn_cpu_softmax,
    .sgd_update = wn_cpu_sgd_update,
    .adam_update = wn_cpu_adam_update,
    .focal_xent = wn_cpu_focal_xent,
    .host_alloc = cpu_host_alloc,
    .host_free = cpu_host_free,
    .upload_async = cpu_upload_async,
    .upload_fence = cpu_upload_fence,
    .act_bf16 = cpu_act_bf16,
    .alloc_bf16 = cpu_alloc_bf16,
    .cast = cpu_cast,
};

/* Cores this process may run on (its affinity mask, e.g. under Slurm or mpirun pinning), else
 * every online core. */
static int cpu_core_count(void) {
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0) return CPU_COUNT(&set);
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

/* threads: 0 = every core this process may use. With more than one thread the backend splits work itself and
 * asks OpenBLAS for one thread per call (OpenBLAS's thread count is process-wide); with one
 * thread it leaves OpenBLAS's setting alone. */
int wn_cpu_backend_create(int threads, wn_backend *out, wn_err *e) {
    memset(out, 0, sizeof *out);
    if (threads < 0)
        return wn_err_set(e, WN_EINPUT, "CPU threads must be 0 (all cores) or more, not %d",
                          threads);
    if (threads == 0) threads = cpu_core_count();
    if (threads > WN_CPU_MAX_THREADS) threads = WN_CPU_MAX_THREADS;
    wn_cpu_ctx *c = calloc(1, sizeof *c);
    if (!c) return wn_err_set(e, WN_ERUNTIME, "out of memory creating the CPU backend");
    c->threads = threads;
    c->scratch = calloc((size_t)threads * WN_CPU_SCRATCH_N, sizeof *c->scratch);
    if (!c->scratch) {
        free(c);
        return wn_err_set(e, WN_ERUNTIME, "out of memory creating the CPU backend");
    }
    if (wn_cpu_pool_start(c) != 0) {
        free(c->scratch);
        free(c);
        return wn_err_set(e, WN_ERUNTIME, "cannot start %d CPU worker threads", threads - 1);
    }
    /* the backend does its own threading; OpenBLAS threads of their own would also make the
     * results of --threads 1 differ from those of other thread counts (they split sums
     * differently) */
    openblas_set_num_threads(1);
    out->ops = &cpu_ops;
    out->ctx = c;
    return WN_OK;
}
