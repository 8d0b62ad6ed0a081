/* gpu_mem.c - the CUDA backend's memory ops: zero-filled device allocations recorded in the
 * context's allocation table (which gives the bytes in use and the peak, and refuses to free a
 * pointer the backend did not allocate), upload/download/copy on the context's stream, pinned
 * host memory and the asynchronous upload on the copy stream with its fence, the synchronising
 * check of the device error words, and the growable buffers (cuDNN workspace, scratch, a vector
 * of ones). */
#include <stdlib.h>
#include <string.h>

#include "gpu_ctx.h"

#define SLOT_DELETED ((void *)1)

/* ---------------------------------------------------------------- allocation table */

static size_t slot_hash(const void *p, size_t cap) {
    uint64_t z = (uint64_t)(uintptr_t)p >> 8; /* cudaMalloc aligns to 256 bytes */
    z *= 0x9E3779B97F4A7C15ull;
    return (size_t)(z >> 17) & (cap - 1);
}

/* Inserts without growing; the table has room. */
static void table_insert_raw(wn_gpu_alloc_slot *slots, size_t cap, void *p, size_t bytes) {
    size_t i = slot_hash(p, cap);
    while (slots[i].p && slots[i].p != SLOT_DELETED) i = (i + 1) & (cap - 1);
    slots[i].p = p;
    slots[i].bytes = bytes;
}

static void table_grow(wn_gpu_ctx *c) {
    size_t cap = c->cap_slots ? c->cap_slots * 2 : 256;
    while (c->n_slots * 2 >= cap) cap *= 2;
    wn_gpu_alloc_slot *s = wn_xcalloc(cap, sizeof *s);
    for (size_t i = 0; i < c->cap_slots; i++)
        if (c->slots[i].p && c->slots[i].p != SLOT_DELETED)
            table_insert_raw(s, cap, c->slots[i].p, c->slots[i].bytes);
    free(c->slots);
    c->slots = s;
    c->cap_slots = cap;
    c->n_deleted = 0;
}

static void table_insert(wn_gpu_ctx *c, void *p, size_t bytes) {
    if ((c->n_slots + c->n_deleted + 1) * 2 > c->cap_slots) table_grow(c);
    table_insert_raw(c->slots, c->cap_slots, p, bytes);
    c->n_slots++;
    c->bytes_in_use += bytes;
    if (c->bytes_in_use > c->peak_bytes) c->peak_bytes = c->bytes_in_use;
}

/* Removes p; returns 0, or -1 when p is not in the table. */
static int table_remove(wn_gpu_ctx *c, void *p) {
    if (!c->cap_slots) return -1;
    size_t i = slot_hash(p, c->cap_slots);
    for (size_t probes = 0; probes < c->cap_slots && c->slots[i].p; probes++) {
        if (c->slots[i].p == p) {
            c->bytes_in_use -= c->slots[i].bytes;
            c->slots[i].p = SLOT_DELETED;
            c->slots[i].bytes = 0;
            c->n_slots--;
            c->n_deleted++;
            return 0;
        }
        i = (i + 1) & (c->cap_slots - 1);
    }
    return -1;
}

/* Frees every allocation still in the table (destroy), then the table. */
void wn_gpu_table_free(wn_gpu_ctx *c) {
    for (size_t i = 0; i < c->cap_slots; i++)
        if (c->slots[i].p && c->slots[i].p != SLOT_DELETED) cudaFree(c->slots[i].p);
    free(c->slots);
    c->slots = NULL;
    c->cap_slots = c->n_slots = c->n_deleted = 0;
    c->bytes_in_use = 0;
}

/* ---------------------------------------------------------------- raw allocations */

void *wn_gpu_raw_alloc(wn_gpu_ctx *c, size_t bytes) {
    void *p = NULL;
    cudaError_t s = cudaMalloc(&p, bytes ? bytes : 1);
    if (s == cudaErrorMemoryAllocation) {
        (void)cudaGetLastError(); /* not sticky: clear it and report exhaustion */
        return NULL;
    }
    WN_CUDA_CHECK(s);
    table_insert(c, p, bytes ? bytes : 1);
    return p;
}

void wn_gpu_raw_free(wn_gpu_ctx *c, void *p) {
    if (!p) return;
    if (table_remove(c, p) != 0)
        WN_GPU_FAIL("free(%p): not a live allocation of this CUDA backend (double free, or "
                    "memory of another backend)", p);
    WN_CUDA_CHECK(cudaFree(p)); /* synchronises the device first */
}

void *wn_gpu_buf_reserve(wn_gpu_ctx *c, wn_gpu_buf *b, size_t bytes, const char *what) {
    if (b->cap >= bytes && b->p) return b->p;
    size_t cap = (bytes + ((size_t)2 << 20) - 1) / ((size_t)2 << 20) * ((size_t)2 << 20); /* 2 MiB */
    wn_gpu_raw_free(c, b->p);
    b->p = NULL;
    b->cap = 0;
    b->p = wn_gpu_raw_alloc(c, cap);
    if (!b->p)
        WN_GPU_FAIL("out of GPU memory growing the %s to %zu bytes (%zu in use)", what, cap,
                    c->bytes_in_use);
    b->cap = cap;
    if (b == &c->ones) c->ones_n = 0;
    return b->p;
}

const float *wn_gpu_ones(wn_gpu_ctx *c, size_t n) {
    if (c->ones_n >= n && c->ones.p) return c->ones.p;
    float *p = wn_gpu_buf_reserve(c, &c->ones, n * sizeof(float), "vector of ones");
    size_t all = c->ones.cap / sizeof(float);
    wn_gpu_fill(c, p, all, 1.0f);
    c->ones_n = all;
    return p;
}

/* ---------------------------------------------------------------- memory ops */

void *wn_gpu_alloc(void *ctx, size_t bytes) {
    wn_gpu_ctx *c = ctx;
    void *p = wn_gpu_raw_alloc(c, bytes);
    if (p) WN_CUDA_CHECK(cudaMemsetAsync(p, 0, bytes ? bytes : 1, c->stream));
    return p;
}

void wn_gpu_free(void *ctx, void *p) {
    wn_gpu_ctx *c = ctx;
    for (int i = 0; i < c->n_lp; i++) /* a bf16 region ends with its memory */
        if (c->lp[i].p == p) {
            c->lp[i] = c->lp[--c->n_lp];
            break;
        }
    wn_gpu_raw_free(c, p);
}

/* ---------------------------------------------------------------- bf16 activation storage */

int wn_gpu_act_bf16(void *ctx) {
    const wn_gpu_ctx *c = ctx;
    return c->opts.bf16 && c->opts.bf16_store;
}

void *wn_gpu_alloc_bf16(void *ctx, size_t count) {
    wn_gpu_ctx *c = ctx;
    /* only where the ops compute in bf16 (an fp32 op would misread the values) */
    if (!wn_gpu_act_bf16(c) || count > SIZE_MAX / sizeof(uint16_t)) return NULL;
    void *p = wn_gpu_alloc(c, count * sizeof(uint16_t));
    if (!p) return NULL;
    if (c->n_lp == c->cap_lp) {
        c->cap_lp = c->cap_lp ? 2 * c->cap_lp : 8;
        c->lp = wn_xrealloc(c->lp, (size_t)c->cap_lp * sizeof *c->lp);
    }
    c->lp[c->n_lp].p = p;
    c->lp[c->n_lp].bytes = count * sizeof(uint16_t);
    c->n_lp++;
    return p;
}

int wn_gpu_is_lp(const wn_gpu_ctx *c, const void *p) {
    const char *q = p;
    if (!q) return 0;
    for (int i = 0; i < c->n_lp; i++)
        if (q >= c->lp[i].p && q < c->lp[i].p + (c->lp[i].bytes ? c->lp[i].bytes : 1)) return 1;
    return 0;
}

int wn_gpu_lp_of(const wn_gpu_ctx *c, const char *what, const void *a, const void *b,
                 const void *d, const void *e) {
    const void *p[4] = {a, b, d, e};
    int lp = -1;
    for (int i = 0; i < 4; i++) {
        if (!p[i]) continue;
        int t = wn_gpu_is_lp(c, p[i]);
        if (lp >= 0 && t != lp)
            WN_GPU_FAIL("%s: activation arguments of mixed storage (fp32 and bf16); the engine "
                        "stores all of them alike", what);
        lp = t;
    }
    return lp > 0;
}

/* Names a CUDA failure of upload/download in e. */
static int mem_err(wn_err *e, cudaError_t s, const char *op, size_t bytes) {
    return wn_err_set(e, WN_ERUNTIME, "CUDA %s of %zu bytes failed: %s (%s)", op, bytes,
                      cudaGetErrorString(s), cudaGetErrorName(s));
}

int wn_gpu_upload(void *ctx, void *dst, const void *host_src, size_t bytes, wn_err *e) {
    wn_gpu_ctx *c = ctx;
    if (!bytes) return WN_OK;
    cudaError_t s = cudaMemcpyAsync(dst, host_src, bytes, cudaMemcpyHostToDevice, c->stream);
    if (s == cudaSuccess) s = cudaStreamSynchronize(c->stream); /* host_src may be reused now */
    return s == cudaSuccess ? WN_OK : mem_err(e, s, "upload", bytes);
}

int wn_gpu_download(void *ctx, void *host_dst, const void *src, size_t bytes, wn_err *e) {
    wn_gpu_ctx *c = ctx;
    cudaError_t s = cudaSuccess;
    if (bytes) s = cudaMemcpyAsync(host_dst, src, bytes, cudaMemcpyDeviceToHost, c->stream);
    if (s == cudaSuccess) s = wn_gpu_sync_status(c, "download");
    return s == cudaSuccess ? WN_OK : mem_err(e, s, "download", bytes);
}

void wn_gpu_copy(void *ctx, void *dst, const void *src, size_t bytes) {
    wn_gpu_ctx *c = ctx;
    if (!bytes || dst == src) return;
    const char *a = dst, *b = src;
    if (a < b + bytes && b < a + bytes)
        WN_GPU_FAIL("copy: %zu bytes between overlapping regions %p and %p", bytes, dst, src);
    WN_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, c->stream));
}

/* ---------------------------------------------------------------- feeding: pinned memory, copy stream */

void *wn_gpu_host_alloc(void *ctx, size_t bytes) {
    (void)ctx;
    void *p = NULL;
    cudaError_t s = cudaHostAlloc(&p, bytes ? bytes : 1, cudaHostAllocDefault);
    if (s == cudaErrorMemoryAllocation) {
        (void)cudaGetLastError(); /* not sticky: clear it and report exhaustion */
        return NULL;
    }
    WN_CUDA_CHECK(s);
    return p;
}

void wn_gpu_host_free(void *ctx, void *p) {
    (void)ctx;
    if (p) WN_CUDA_CHECK(cudaFreeHost(p));
}

/* compute_mark on the compute stream, the copy stream waits for it (dst may still be read by
 * ops queued earlier), the copy, then copy_done after it on the copy stream. */
int wn_gpu_upload_async(void *ctx, void *dst, const void *host_src, size_t bytes, wn_err *e) {
    wn_gpu_ctx *c = ctx;
    if (!bytes) return WN_OK;
    cudaError_t s = cudaEventRecord(c->compute_mark, c->stream);
    if (s == cudaSuccess) s = cudaStreamWaitEvent(c->copy_stream, c->compute_mark, 0);
    if (s == cudaSuccess)
        s = cudaMemcpyAsync(dst, host_src, bytes, cudaMemcpyHostToDevice, c->copy_stream);
    if (s == cudaSuccess) s = cudaEventRecord(c->copy_done, c->copy_stream);
    if (s != cudaSuccess) return mem_err(e, s, "asynchronous upload", bytes);
    c->copies_pending++;
    return WN_OK;
}

/* The host waits for the latest copy (the copy stream runs them in order), and the compute
 * stream is ordered after it too. */
int wn_gpu_upload_fence(void *ctx, wn_err *e) {
    wn_gpu_ctx *c = ctx;
    if (!c->copies_pending) return WN_OK;
    int n = c->copies_pending;
    c->copies_pending = 0;
    cudaError_t s = cudaEventSynchronize(c->copy_done);
    if (s == cudaSuccess) s = cudaStreamWaitEvent(c->stream, c->copy_done, 0);
    if (s != cudaSuccess)
        return wn_err_set(e, WN_ERUNTIME,
                          "CUDA upload fence after %d asynchronous upload%s failed: %s (%s)", n,
                          n == 1 ? "" : "s", cudaGetErrorString(s), cudaGetErrorName(s));
    return WN_OK;
}

cudaError_t wn_gpu_sync_status(wn_gpu_ctx *c, const char *what) {
    cudaError_t s = cudaMemcpyAsync(c->host_err, c->dev_err, 4 * sizeof(int),
                                    cudaMemcpyDeviceToHost, c->stream);
    if (s == cudaSuccess) s = cudaStreamSynchronize(c->stream);
    if (s != cudaSuccess) return s;
    if (c->host_err[0] == WN_GPU_ERR_LABEL)
        WN_GPU_FAIL("%s: a loss op got label %d in row %d, outside [0, %d)", what,
                    c->host_err[2], c->host_err[1], c->host_err[3]);
    if (c->host_err[0] != WN_GPU_ERR_NONE)
        WN_GPU_FAIL("%s: a kernel recorded device error %d", what, c->host_err[0]);
    return cudaSuccess;
}

void wn_gpu_sync_checked(wn_gpu_ctx *c, const char *what) {
    cudaError_t s = wn_gpu_sync_status(c, what);
    if (s != cudaSuccess) {
        char why[512];
        snprintf(why, sizeof why, "%s (%s)", cudaGetErrorString(s), cudaGetErrorName(s));
        wn_gpu_fail(__FILE__, __LINE__, what, why);
    }
}

/* Copies first (a fence), then the compute stream. */
void wn_gpu_sync(void *ctx) {
    wn_err e = {0};
    if (wn_gpu_upload_fence(ctx, &e) != WN_OK) wn_gpu_fail(__FILE__, __LINE__, "sync", e.msg);
    wn_gpu_sync_checked(ctx, "sync");
}
