// emu_rt.cpp - a host emulation of the CUDA runtime, cuBLAS and cuDNN entry points that gpu/
// calls (a verification tool, never part of weldnet), written from the libraries' documented
// semantics, with their argument rules checked: the kernel launcher (a pool of worker threads
// runs one block at a time), device memory (host memory filled with garbage, pointer sides
// checked on every copy), cuBLAS SGEMM/SGEMV column-major through OpenBLAS (lda/ldb/ldc rules,
// beta = 0 never reads C) and GemmEx for bf16 A/B with fp32 C and compute, cuDNN descriptors,
// convolution forward/backward-data/backward-filter and bias (direct loops in double, descriptor
// shapes checked against each other, workspace size checked against the algorithm's; fp32 or bf16
// data in NCHW or NHWC (filters KRSC): bf16 inputs widened exactly, outputs rounded to nearest even, and like cuDNN not under
// FMA math), FindEx/Get_v7 (three pretend algorithms: one needing 1 MiB of
// workspace, one non-deterministic; FindEx scribbles on its output), AddTensor, pooling forward
// (max ignores padding, average counts it). A mismatch prints "EMU ..." and fails the call.
// Streams and events: the compute stream (the one given to cuDNN/cuBLAS) runs everything at once,
// but a host-to-device copy on any other stream (the copy stream) is deferred until an event
// recorded after it is waited for (cudaEventSynchronize, cudaStreamWaitEvent) or its stream is
// synchronised, and then reads the host memory: compute that reads the destination without
// waiting sees the old contents, and a host buffer rewritten before the wait is what gets
// copied, so a missing fence shows as wrong numbers. Such copies must come from cudaHostAlloc
// memory (pinned), and a wait on an event never created or already destroyed fails.
#include <barrier>
#include <condition_variable>
#include <cblas.h>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <set>
#include <thread>
#include <vector>
#include <cmath>
#include <cfloat>
#include <map>

#include <cublas_v2.h>
#include <cuda_runtime_api.h>
#include <cudnn.h>

#include "emu.h"
#include "wn_bf16.h"

namespace emu {
thread_local dim3 tIdx, bIdx;
dim3 bDim, gDim;
static std::barrier<> *block_bar;
static std::vector<std::barrier<> *> warp_bar;
static unsigned char xbuf[1024][8];
static std::mutex cas_mu;
static long launches;

// A pool of persistent workers runs the threads of one block at a time (blocks in order).
struct pool {
    std::mutex mu;
    std::condition_variable cv_go, cv_done;
    std::vector<std::thread> workers;
    long generation = 0;
    int active = 0, pending = 0;
    dim3 block_idx;
    const std::function<void()> *body = nullptr;
    pool() {
        for (int t = 0; t < 1024; t++)
            workers.emplace_back([this, t] {
                long seen = 0;
                for (;;) {
                    std::unique_lock<std::mutex> l(mu);
                    cv_go.wait(l, [&] { return generation != seen; });
                    seen = generation;
                    if (t >= active) continue;
                    dim3 bi = block_idx;
                    const std::function<void()> *f = body;
                    l.unlock();
                    tIdx = dim3(t, 0, 0);
                    bIdx = bi;
                    (*f)();
                    l.lock();
                    if (--pending == 0) cv_done.notify_one();
                }
            });
        for (auto &w : workers) w.detach();
    }
    void run_block(dim3 bi, int nt, const std::function<void()> &f) {
        std::unique_lock<std::mutex> l(mu);
        block_idx = bi;
        body = &f;
        active = nt;
        pending = nt;
        generation++;
        cv_go.notify_all();
        cv_done.wait(l, [&] { return pending == 0; });
    }
};
static pool *the_pool;

void launch(dim3 g, dim3 b, std::function<void()> body) {
    launches++;
    if (g.x == 0 || g.y == 0 || g.z == 0 || b.x == 0 || b.x > 1024 || g.y > 65535) {
        fprintf(stderr, "EMU: invalid launch config grid %u,%u,%u block %u\n", g.x, g.y, g.z, b.x);
        abort();
    }
    if (!the_pool) the_pool = new pool();
    gDim = g;
    bDim = b;
    int nt = (int)b.x;
    int nw = (nt + 31) / 32;
    for (unsigned z = 0; z < g.z; z++)
        for (unsigned y = 0; y < g.y; y++)
            for (unsigned x = 0; x < g.x; x++) {
                std::barrier<> bb(nt);
                block_bar = &bb;
                std::vector<std::barrier<> *> wb;
                for (int w = 0; w < nw; w++) wb.push_back(new std::barrier<>(std::min(32, nt - 32 * w)));
                warp_bar = wb;
                the_pool->run_block(dim3(x, y, z), nt, body);
                for (auto *p : wb) delete p;
            }
}

void sync_block() { block_bar->arrive_and_wait(); }

void warp_exchange(const void *in, void *out, int size, int src_lane) {
    int t = (int)tIdx.x, w = t / 32;
    memcpy(xbuf[t], in, size);
    warp_bar[w]->arrive_and_wait();
    memcpy(out, xbuf[w * 32 + src_lane], size);
    warp_bar[w]->arrive_and_wait();
}

int atomic_cas(int *p, int cmp, int val) {
    std::lock_guard<std::mutex> g(cas_mu);
    int old = *p;
    if (old == cmp) *p = val;
    return old;
}
} // namespace emu

// ------------------------------------------------------------------ runtime
static std::set<void *> live;
static std::mutex live_mu;
static cudaError_t last = cudaSuccess;
static size_t in_use;
static const size_t EMU_TOTAL = (size_t)8 << 30;

static bool is_dev(const void *p) {
    std::lock_guard<std::mutex> g(live_mu);
    auto it = live.upper_bound((void *)p);
    if (it == live.begin()) return false;
    --it;
    return true; // (coarse) pointer at or after a live block
}

extern "C" {
cudaError_t cudaGetDeviceCount(int *c) { *c = 1; return cudaSuccess; }
cudaError_t cudaSetDevice(int) { return cudaSuccess; }
cudaError_t cudaGetDeviceProperties(struct cudaDeviceProp *p, int) {
    memset(p, 0, sizeof *p);
    strcpy(p->name, "EMU");
    p->major = 9;
    p->minor = 0;
    p->multiProcessorCount = 2;
    return cudaSuccess;
}
cudaError_t cudaFuncGetAttributes(struct cudaFuncAttributes *a, const void *) {
    memset(a, 0, sizeof *a);
    return cudaSuccess;
}
// ---- streams, deferred copies, events (see the top of the file)
static std::set<cudaStream_t> compute_streams;   // given to cuDNN or cuBLAS
static std::map<void *, size_t> pinned;          // cudaHostAlloc blocks
struct deferred { void *d; const void *s; size_t n; cudaStream_t st; long seq; };
static std::vector<deferred> pending;
static long copy_seq, stream_count;
struct CUevent_st { bool recorded = false; cudaStream_t st = nullptr; long seq = 0; };
static std::set<cudaEvent_t> events;

static bool in_pinned(const void *p, size_t n) {
    auto it = pinned.upper_bound((void *)p);
    if (it == pinned.begin()) return false;
    --it;
    return (const char *)p >= (const char *)it->first &&
           (const char *)p + n <= (const char *)it->first + it->second;
}
// Runs the deferred copies of stream st (nullptr: every stream) queued before seq, in order.
static void flush(cudaStream_t st, long seq) {
    std::vector<deferred> keep;
    for (auto &c : pending)
        if ((!st || c.st == st) && c.seq < seq) memmove(c.d, c.s, c.n);
        else keep.push_back(c);
    pending.swap(keep);
}
static bool live_event(cudaEvent_t e) {
    if (events.count(e)) return true;
    fprintf(stderr, "EMU: event %p was never created or is destroyed\n", (void *)e);
    return false;
}
cudaError_t cudaStreamCreateWithFlags(cudaStream_t *s, unsigned) {
    *s = (cudaStream_t)(uintptr_t)(0x100 + 0x10 * ++stream_count);
    return cudaSuccess;
}
cudaError_t cudaStreamSynchronize(cudaStream_t s) { flush(s, copy_seq + 1); return cudaSuccess; }
cudaError_t cudaStreamDestroy(cudaStream_t s) { flush(s, copy_seq + 1); compute_streams.erase(s); return cudaSuccess; }
cudaError_t cudaEventCreateWithFlags(cudaEvent_t *e, unsigned) { *e = new CUevent_st(); events.insert(*e); return cudaSuccess; }
cudaError_t cudaEventCreate(cudaEvent_t *e) { return cudaEventCreateWithFlags(e, 0); }
cudaError_t cudaEventElapsedTime(float *ms, cudaEvent_t a, cudaEvent_t b) { // no clock here: 0
    if (!live_event(a) || !live_event(b)) { last = cudaErrorInvalidResourceHandle; return last; }
    *ms = 0;
    return cudaSuccess;
}
cudaError_t cudaEventDestroy(cudaEvent_t e) {
    if (!live_event(e)) { last = cudaErrorInvalidResourceHandle; return last; }
    events.erase(e);
    delete e;
    return cudaSuccess;
}
cudaError_t cudaEventRecord(cudaEvent_t e, cudaStream_t s) {
    if (!live_event(e)) { last = cudaErrorInvalidResourceHandle; return last; }
    e->recorded = true;
    e->st = s;
    e->seq = copy_seq + 1; // after every copy queued so far
    return cudaSuccess;
}
cudaError_t cudaEventSynchronize(cudaEvent_t e) {
    if (!live_event(e)) { last = cudaErrorInvalidResourceHandle; return last; }
    if (e->recorded) flush(e->st, e->seq);
    return cudaSuccess;
}
cudaError_t cudaStreamWaitEvent(cudaStream_t, cudaEvent_t e, unsigned) { return cudaEventSynchronize(e); }
cudaError_t cudaHostAlloc(void **p, size_t n, unsigned) {
    if (n > EMU_TOTAL) { last = cudaErrorMemoryAllocation; return last; }
    *p = aligned_alloc(64, (n + 63) / 64 * 64);
    memset(*p, 0xCD, (n + 63) / 64 * 64); // garbage, like fresh memory
    pinned[*p] = n;
    return cudaSuccess;
}
cudaError_t cudaMalloc(void **p, size_t n) {
    if (n > EMU_TOTAL) { last = cudaErrorMemoryAllocation; return last; }
    *p = aligned_alloc(256, (n + 255) / 256 * 256);
    memset(*p, 0xCD, (n + 255) / 256 * 256); // garbage, like fresh device memory
    std::lock_guard<std::mutex> g(live_mu);
    live.insert(*p);
    in_use += n;
    return cudaSuccess;
}
cudaError_t cudaFree(void *p) {
    if (!p) return cudaSuccess;
    flush(nullptr, copy_seq + 1); // cudaFree synchronises the device
    std::lock_guard<std::mutex> g(live_mu);
    if (!live.erase(p)) { fprintf(stderr, "EMU: cudaFree of unknown %p\n", p); abort(); }
    free(p);
    return cudaSuccess;
}
cudaError_t cudaMallocHost(void **p, size_t n) { *p = malloc(n); return cudaSuccess; }
cudaError_t cudaFreeHost(void *p) {
    flush(nullptr, copy_seq + 1); // synchronises the device, like cudaFree
    pinned.erase(p);
    free(p);
    return cudaSuccess;
}
cudaError_t cudaMemcpyAsync(void *d, const void *s, size_t n, enum cudaMemcpyKind k, cudaStream_t st) {
    if (!d || !s) { last = cudaErrorInvalidValue; return last; }
    if ((k == cudaMemcpyHostToDevice && !is_dev(d)) || (k == cudaMemcpyDeviceToHost && !is_dev(s)) ||
        (k == cudaMemcpyDeviceToDevice && (!is_dev(s) || !is_dev(d)))) {
        fprintf(stderr, "EMU: cudaMemcpyAsync kind %d with a pointer of the wrong side\n", (int)k);
        abort();
    }
    if (k == cudaMemcpyHostToDevice && !compute_streams.count(st)) {
        if (!in_pinned(s, n)) {
            fprintf(stderr, "EMU: asynchronous copy of %zu bytes on a copy stream from host memory "
                    "that is not from cudaHostAlloc\n", n);
            abort();
        }
        pending.push_back({d, s, n, st, ++copy_seq});
        return cudaSuccess;
    }
    memmove(d, s, n);
    return cudaSuccess;
}
cudaError_t cudaMemsetAsync(void *d, int v, size_t n, cudaStream_t) {
    if (!is_dev(d)) { fprintf(stderr, "EMU: memset of a host pointer\n"); abort(); }
    memset(d, v, n);
    return cudaSuccess;
}
cudaError_t cudaMemset(void *d, int v, size_t n) { return cudaMemsetAsync(d, v, n, 0); }
cudaError_t cudaMemGetInfo(size_t *f, size_t *t) { *t = EMU_TOTAL; *f = EMU_TOTAL / 2; return cudaSuccess; }
cudaError_t cudaGetLastError(void) { cudaError_t e = last; last = cudaSuccess; return e; }
const char *cudaGetErrorString(cudaError_t e) { return e == cudaSuccess ? "no error" : "emulated error"; }
const char *cudaGetErrorName(cudaError_t e) { static char b[32]; snprintf(b, 32, "cudaError%d", (int)e); return b; }
cudaError_t cudaRuntimeGetVersion(int *v) { *v = 13000; return cudaSuccess; }
cudaError_t cudaDriverGetVersion(int *v) { *v = 13000; return cudaSuccess; }
}

// ------------------------------------------------------------------ cuBLAS (column-major)
// C = alpha op(A) op(B) + beta C through OpenBLAS; beta = 0 never reads C
static void sgemm(cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k, float alpha, const float *A,
                  int lda, const float *B, int ldb, float beta, float *C, int ldc) {
    if (beta == 0) // C not read
        for (int j = 0; j < n; j++)
            for (int i = 0; i < m; i++) C[(size_t)j * ldc + i] = 0;
    cblas_sgemm(CblasColMajor, ta == CUBLAS_OP_N ? CblasNoTrans : CblasTrans,
                tb == CUBLAS_OP_N ? CblasNoTrans : CblasTrans, m, n, k, alpha, A, lda, B, ldb,
                beta == 0 ? 0.0f : beta, C, ldc);
}
extern "C" {
cublasStatus_t cublasCreate_v2(cublasHandle_t *h) { *h = (cublasHandle_t)0x7; return CUBLAS_STATUS_SUCCESS; }
cublasStatus_t cublasDestroy_v2(cublasHandle_t) { return CUBLAS_STATUS_SUCCESS; }
cublasStatus_t cublasSetStream_v2(cublasHandle_t, cudaStream_t s) { compute_streams.insert(s); return CUBLAS_STATUS_SUCCESS; }
cublasStatus_t cublasGetVersion_v2(cublasHandle_t, int *v) { *v = 130000; return CUBLAS_STATUS_SUCCESS; }
const char *cublasGetStatusString(cublasStatus_t) { return "emulated cuBLAS status"; }
const char *cublasGetStatusName(cublasStatus_t) { return "CUBLAS_STATUS_?"; }
cublasStatus_t cublasSgemm_v2(cublasHandle_t, cublasOperation_t ta, cublasOperation_t tb, int m, int n,
                              int k, const float *alpha, const float *A, int lda, const float *B,
                              int ldb, const float *beta, float *C, int ldc) {
    if (m < 0 || n < 0 || k < 0 || lda < std::max(1, ta == CUBLAS_OP_N ? m : k) ||
        ldb < std::max(1, tb == CUBLAS_OP_N ? k : n) || ldc < std::max(1, m)) {
        fprintf(stderr, "EMU: cublasSgemm invalid: m %d n %d k %d lda %d ldb %d ldc %d\n", m, n, k, lda, ldb, ldc);
        return CUBLAS_STATUS_INVALID_VALUE;
    }
    if (!is_dev(A) || !is_dev(B) || !is_dev(C)) { fprintf(stderr, "EMU: gemm host pointer\n"); abort(); }
    sgemm(ta, tb, m, n, k, *alpha, A, lda, B, ldb, *beta, C, ldc);
    return CUBLAS_STATUS_SUCCESS;
}
// bf16 A and B, fp32 C and compute (the one combination supported): A and B widened exactly to
// float (bf16 bits << 16), then as cublasSgemm_v2.
cublasStatus_t cublasGemmEx(cublasHandle_t, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k,
                            const void *alpha, const void *A, cudaDataType At, int lda, const void *B,
                            cudaDataType Bt, int ldb, const void *beta, void *C, cudaDataType Ct, int ldc,
                            cublasComputeType_t ct, cublasGemmAlgo_t) {
    if (At != CUDA_R_16BF || Bt != CUDA_R_16BF || Ct != CUDA_R_32F || ct != CUBLAS_COMPUTE_32F) {
        fprintf(stderr, "EMU: cublasGemmEx types A %d B %d C %d compute %d not supported\n", (int)At, (int)Bt,
                (int)Ct, (int)ct);
        return CUBLAS_STATUS_NOT_SUPPORTED;
    }
    int ar = ta == CUBLAS_OP_N ? m : k, ac = ta == CUBLAS_OP_N ? k : m;
    int br = tb == CUBLAS_OP_N ? k : n, bc = tb == CUBLAS_OP_N ? n : k;
    if (m < 0 || n < 0 || k < 0 || lda < std::max(1, ar) || ldb < std::max(1, br) || ldc < std::max(1, m)) {
        fprintf(stderr, "EMU: cublasGemmEx invalid: m %d n %d k %d lda %d ldb %d ldc %d\n", m, n, k, lda, ldb, ldc);
        return CUBLAS_STATUS_INVALID_VALUE;
    }
    if (!is_dev(A) || !is_dev(B) || !is_dev(C)) { fprintf(stderr, "EMU: gemm host pointer\n"); abort(); }
    auto widen = [](const void *p, int ld, int r, int c) { // packed, leading dimension max(1, r)
        std::vector<float> f((size_t)std::max(1, r) * std::max(1, c));
        for (int j = 0; j < c; j++)
            for (int i = 0; i < r; i++) f[(size_t)j * r + i] = wn_bf16_to_float(((const uint16_t *)p)[(size_t)j * ld + i]);
        return f;
    };
    std::vector<float> af = widen(A, lda, ar, ac), bf = widen(B, ldb, br, bc);
    sgemm(ta, tb, m, n, k, *(const float *)alpha, af.data(), std::max(1, ar), bf.data(), std::max(1, br),
          *(const float *)beta, (float *)C, ldc);
    return CUBLAS_STATUS_SUCCESS;
}
cublasStatus_t cublasSgemv_v2(cublasHandle_t, cublasOperation_t t, int m, int n, const float *alpha,
                              const float *A, int lda, const float *x, int incx, const float *beta,
                              float *y, int incy) {
    if (m < 0 || n < 0 || lda < std::max(1, m) || incx == 0 || incy == 0) return CUBLAS_STATUS_INVALID_VALUE;
    int ylen = t == CUBLAS_OP_N ? m : n;
    if (*beta == 0)
        for (int i = 0; i < ylen; i++) y[(size_t)i * incy] = 0;
    cblas_sgemv(CblasColMajor, t == CUBLAS_OP_N ? CblasNoTrans : CblasTrans, m, n, *alpha, A, lda, x,
                incx, *beta == 0 ? 0.0f : *beta, y, incy);
    return CUBLAS_STATUS_SUCCESS;
}
}

// ------------------------------------------------------------------ cuDNN
struct cudnnContext { int x; };
// t: FLOAT or BFLOAT16; nhwc: the NHWC layout (filters: KRSC) instead of NCHW
struct cudnnTensorStruct { int n, c, h, w, set; cudnnDataType_t t; int nhwc; };
struct cudnnFilterStruct { int k, c, h, w, set; cudnnDataType_t t; int nhwc; };
struct cudnnConvolutionStruct { int ph, pw, sh, sw, dh, dw, set; cudnnMathType_t math; };
struct cudnnPoolingStruct { cudnnPoolingMode_t mode; int kh, kw, ph, pw, sh, sw; };

static thread_local char last_msg[256];
#define FAIL(st, ...) do { snprintf(last_msg, sizeof last_msg, __VA_ARGS__); fprintf(stderr, "EMU cudnn: %s\n", last_msg); return st; } while (0)
#define BAD(...) FAIL(CUDNN_STATUS_BAD_PARAM, __VA_ARGS__)

static bool is_bf16(cudnnDataType_t t) { return t == CUDNN_DATA_BFLOAT16; }
static size_t esize(cudnnDataType_t t) { return is_bf16(t) ? 2 : sizeof(float); }
// like cuDNN: bf16 convolutions need tensor-core math
static bool bf16_fma(const cudnnConvolutionStruct *cv, cudnnDataType_t t) { return is_bf16(t) && cv->math == CUDNN_FMA_MATH; }
// Inputs as float: the pointer itself for FLOAT, else the bf16 values widened exactly into buf.
// Position of element (n, c, h, w) of an (N, C, H, W) array in memory, NCHW or NHWC.
static size_t at(int nhwc, int C, int H, int W, size_t n, size_t c, size_t h, size_t w) {
    return nhwc ? ((n * H + h) * W + w) * C + c : ((n * C + c) * H + h) * W + w;
}
// Inputs as NCHW float: the pointer itself for NCHW FLOAT, else the values widened exactly
// (bf16) and/or reordered from NHWC into buf.
static const float *as_float(const void *p, cudnnDataType_t t, int nhwc, int N, int C, int H, int W,
                             std::vector<float> &buf) {
    if (!is_bf16(t) && !nhwc) return (const float *)p;
    buf.resize((size_t)N * C * H * W);
    size_t i = 0;
    for (int n = 0; n < N; n++)
        for (int c = 0; c < C; c++)
            for (int h = 0; h < H; h++)
                for (int w = 0; w < W; w++, i++) {
                    size_t k = at(nhwc, C, H, W, n, c, h, w);
                    buf[i] = is_bf16(t) ? wn_bf16_to_float(((const uint16_t *)p)[k]) : ((const float *)p)[k];
                }
    return buf.data();
}
// out = alpha acc + beta out (beta = 0: out not read); acc in NCHW order, out stored NCHW or NHWC,
// as float or rounded to bf16 (nearest even)
static void put_out(void *p, cudnnDataType_t t, int nhwc, int N, int C, int H, int W,
                    const std::vector<double> &acc, float a, float b) {
    size_t i = 0;
    for (int n = 0; n < N; n++)
        for (int c = 0; c < C; c++)
            for (int h = 0; h < H; h++)
                for (int w = 0; w < W; w++, i++) {
                    size_t k = at(nhwc, C, H, W, n, c, h, w);
                    if (!is_bf16(t)) {
                        float &o = ((float *)p)[k];
                        o = (float)(a * acc[i] + (b == 0 ? 0.0 : b * o));
                    } else {
                        uint16_t &o = ((uint16_t *)p)[k];
                        o = wn_bf16_from_float((float)(a * acc[i] + (b == 0 ? 0.0 : b * (double)wn_bf16_to_float(o))));
                    }
                }
}
#define TDIMS(d) (d)->nhwc, (d)->n, (d)->c, (d)->h, (d)->w
#define FDIMS(d) (d)->nhwc, (d)->k, (d)->c, (d)->h, (d)->w

static size_t algo_ws(int algo) { return algo == 1 ? ((size_t)1 << 20) : 0; }

static int out_dim(int in, int p, int k, int s) { return (in + 2 * p - k) / s + 1; }

static cudnnStatus_t check_conv(const cudnnTensorStruct *x, const cudnnFilterStruct *w,
                                const cudnnConvolutionStruct *cv, const cudnnTensorStruct *y) {
    if (!x->set || !w->set || !cv->set || !y->set) BAD("descriptor not set");
    if (x->t != w->t || y->t != x->t) BAD("data types differ: x %d filter %d y %d", (int)x->t, (int)w->t, (int)y->t);
    if (x->nhwc != w->nhwc || y->nhwc != x->nhwc) BAD("layouts differ: x %s filter %s y %s", x->nhwc ? "NHWC" : "NCHW", w->nhwc ? "NHWC" : "NCHW", y->nhwc ? "NHWC" : "NCHW");
    if (x->c != w->c) BAD("x has %d channels, filter %d", x->c, w->c);
    if (y->n != x->n || y->c != w->k || y->h != out_dim(x->h, cv->ph, w->h, cv->sh) ||
        y->w != out_dim(x->w, cv->pw, w->w, cv->sw))
        BAD("y %dx%dx%dx%d does not fit x %dx%dx%dx%d filter %dx%dx%dx%d", y->n, y->c, y->h, y->w,
            x->n, x->c, x->h, x->w, w->k, w->c, w->h, w->w);
    return CUDNN_STATUS_SUCCESS;
}

// value of x at (n, c, h, w) or 0 outside
#define XAT(p, d, n_, c_, h_, w_) (p)[(((size_t)(n_) * (d)->c + (c_)) * (d)->h + (h_)) * (d)->w + (w_)]

// perf results: algo 1 (1 MiB workspace) fastest, then 0, then 2 (non-deterministic)
// (bf16 data: NOT_SUPPORTED under FMA math, else reported as tensor-op math)
template <class P, class A> static cudnnStatus_t fill_perf(const cudnnConvolutionStruct *cv, cudnnDataType_t t, int req, int *got, P *p, size_t ws) {
    int order[3] = {1, 0, 2}, n = 0;
    for (int i = 0; i < 3 && n < req; i++) {
        p[n].algo = (A)order[i];
        p[n].status = bf16_fma(cv, t) ? CUDNN_STATUS_NOT_SUPPORTED
                      : algo_ws(order[i]) <= ws ? CUDNN_STATUS_SUCCESS : CUDNN_STATUS_ALLOC_FAILED;
        p[n].time = 1.0f + i;
        p[n].memory = algo_ws(order[i]);
        p[n].determinism = order[i] == 2 ? CUDNN_NON_DETERMINISTIC : CUDNN_DETERMINISTIC;
        p[n].mathType = is_bf16(t) ? CUDNN_TENSOR_OP_MATH : cv->math;
        n++;
    }
    *got = n;
    return CUDNN_STATUS_SUCCESS;
}
extern "C" {
const char *cudnnGetErrorString(cudnnStatus_t s) { return s == CUDNN_STATUS_SUCCESS ? "ok" : "emulated cuDNN error"; }
void cudnnGetLastErrorString(char *m, size_t n) { snprintf(m, n, "%s", last_msg); }
size_t cudnnGetVersion(void) { return CUDNN_MAJOR * 10000 + 1400; }
cudnnStatus_t cudnnCreate(cudnnHandle_t *h) { *h = new cudnnContext(); return CUDNN_STATUS_SUCCESS; }
cudnnStatus_t cudnnDestroy(cudnnHandle_t h) { delete h; return CUDNN_STATUS_SUCCESS; }
cudnnStatus_t cudnnSetStream(cudnnHandle_t, cudaStream_t s) { compute_streams.insert(s); return CUDNN_STATUS_SUCCESS; }
cudnnStatus_t cudnnCreateTensorDescriptor(cudnnTensorDescriptor_t *d) { *d = new cudnnTensorStruct(); return CUDNN_STATUS_SUCCESS; }
cudnnStatus_t cudnnDestroyTensorDescriptor(cudnnTensorDescriptor_t d) { delete d; return CUDNN_STATUS_SUCCESS; }
cudnnStatus_t cudnnSetTensor4dDescriptor(cudnnTensorDescriptor_t d, cudnnTensorFormat_t f, cudnnDataType_t t, int n, int c, int h, int w) {
    if ((f != CUDNN_TENSOR_NCHW && f != CUDNN_TENSOR_NHWC) || (t != CUDNN_DATA_FLOAT && t != CUDNN_DATA_BFLOAT16) || n < 1 || c < 1 || h < 1 || w < 1) BAD("tensor desc");
    *d = {n, c, h, w, 1, t, f == CUDNN_TENSOR_NHWC};
    return CUDNN_STATUS_SUCCESS;
}
cudnnStatus_t cudnnCreateFilterDescriptor(cudnnFilterDescriptor_t *d) { *d = new cudnnFilterStruct(); return CUDNN_STATUS_SUCCESS; }
cudnnStatus_t cudnnDestroyFilterDescriptor(cudnnFilterDescriptor_t d) { delete d; return CUDNN_STATUS_SUCCESS; }
cudnnStatus_t cudnnSetFilter4dDescriptor(cudnnFilterDescriptor_t d, cudnnDataType_t t, cudnnTensorFormat_t f, int k, int c, int h, int w) {
    if ((f != CUDNN_TENSOR_NCHW && f != CUDNN_TENSOR_NHWC) || (t != CUDNN_DATA_FLOAT && t != CUDNN_DATA_BFLOAT16)) BAD("filter desc");
    *d = {k, c, h, w, 1, t, f == CUDNN_TENSOR_NHWC};
    return CUDNN_STATUS_SUCCESS;
}
cudnnStatus_t cudnnCreateConvolutionDescriptor(cudnnConvolutionDescriptor_t *d) { *d = new cudnnConvolutionStruct(); return CUDNN_STATUS_SUCCESS; }
cudnnStatus_t cudnnDestroyConvolutionDescriptor(cudnnConvolutionDescriptor_t d) { delete d; return CUDNN_STATUS_SUCCESS; }
cudnnStatus_t cudnnSetConvolution2dDescriptor(cudnnConvolutionDescriptor_t d, int ph, int pw, int u, int v, int dh, int dw, cudnnConvolutionMode_t m, cudnnDataType_t t) {
    if (m != CUDNN_CROSS_CORRELATION || t != CUDNN_DATA_FLOAT || u < 1 || v < 1 || dh != 1 || dw != 1) BAD("conv desc");
    d->ph = ph; d->pw = pw; d->sh = u; d->sw = v; d->dh = dh; d->dw = dw; d->set = 1;
    return CUDNN_STATUS_SUCCESS;
}
cudnnStatus_t cudnnSetConvolutionMathType(cudnnConvolutionDescriptor_t d, cudnnMathType_t m) { d->math = m; return CUDNN_STATUS_SUCCESS; }
cudnnStatus_t cudnnGetConvolution2dForwardOutputDim(const cudnnConvolutionDescriptor_t cv, const cudnnTensorDescriptor_t x, const cudnnFilterDescriptor_t w, int *n, int *c, int *h, int *ww) {
    *n = x->n; *c = w->k; *h = out_dim(x->h, cv->ph, w->h, cv->sh); *ww = out_dim(x->w, cv->pw, w->w, cv->sw);
    return CUDNN_STATUS_SUCCESS;
}
cudnnStatus_t cudnnGetConvolutionForwardWorkspaceSize(cudnnHandle_t, const cudnnTensorDescriptor_t x, const cudnnFilterDescriptor_t w, const cudnnConvolutionDescriptor_t cv, const cudnnTensorDescriptor_t y, cudnnConvolutionFwdAlgo_t a, size_t *s) {
    if (check_conv(x, w, cv, y)) return CUDNN_STATUS_BAD_PARAM;
    if (a > 2) return CUDNN_STATUS_NOT_SUPPORTED;
    *s = algo_ws(a); return CUDNN_STATUS_SUCCESS;
}
cudnnStatus_t cudnnGetConvolutionBackwardDataWorkspaceSize(cudnnHandle_t, const cudnnFilterDescriptor_t w, const cudnnTensorDescriptor_t dy, const cudnnConvolutionDescriptor_t cv, const cudnnTensorDescriptor_t dx, cudnnConvolutionBwdDataAlgo_t a, size_t *s) {
    if (check_conv(dx, w, cv, dy)) return CUDNN_STATUS_BAD_PARAM;
    if (a > 2) return CUDNN_STATUS_NOT_SUPPORTED;
    *s = algo_ws(a); return CUDNN_STATUS_SUCCESS;
}
cudnnStatus_t cudnnGetConvolutionBackwardFilterWorkspaceSize(cudnnHandle_t, const cudnnTensorDescriptor_t x, const cudnnTensorDescriptor_t dy, const cudnnConvolutionDescriptor_t cv, const cudnnFilterDescriptor_t dw, cudnnConvolutionBwdFilterAlgo_t a, size_t *s) {
    if (check_conv(x, dw, cv, dy)) return CUDNN_STATUS_BAD_PARAM;
    if (a > 2) return CUDNN_STATUS_NOT_SUPPORTED;
    *s = algo_ws(a); return CUDNN_STATUS_SUCCESS;
}
cudnnStatus_t cudnnFindConvolutionForwardAlgorithmEx(cudnnHandle_t, const cudnnTensorDescriptor_t x, const void *xp, const cudnnFilterDescriptor_t w, const void *wp, const cudnnConvolutionDescriptor_t cv, const cudnnTensorDescriptor_t y, void *yp, const int req, int *got, cudnnConvolutionFwdAlgoPerf_t *p, void *ws, size_t wss) {
    if (check_conv(x, w, cv, y)) return CUDNN_STATUS_BAD_PARAM;
    if (!is_dev(xp) || !is_dev(wp) || !is_dev(yp) || (wss && !is_dev(ws))) BAD("FindEx fwd pointers");
    memset(yp, 0x7F, esize(y->t) * y->n * y->c * y->h * y->w); // scribble on the output
    return fill_perf<cudnnConvolutionFwdAlgoPerf_t, cudnnConvolutionFwdAlgo_t>(cv, x->t, req, got, p, wss);
}
cudnnStatus_t cudnnFindConvolutionBackwardDataAlgorithmEx(cudnnHandle_t, const cudnnFilterDescriptor_t w, const void *wp, const cudnnTensorDescriptor_t dy, const void *dyp, const cudnnConvolutionDescriptor_t cv, const cudnnTensorDescriptor_t dx, void *dxp, const int req, int *got, cudnnConvolutionBwdDataAlgoPerf_t *p, void *ws, size_t wss) {
    if (check_conv(dx, w, cv, dy)) return CUDNN_STATUS_BAD_PARAM;
    if (!is_dev(wp) || !is_dev(dyp) || !is_dev(dxp)) BAD("FindEx bwd data pointers");
    memset(dxp, 0x7F, esize(dx->t) * dx->n * dx->c * dx->h * dx->w);
    return fill_perf<cudnnConvolutionBwdDataAlgoPerf_t, cudnnConvolutionBwdDataAlgo_t>(cv, w->t, req, got, p, wss);
}
cudnnStatus_t cudnnFindConvolutionBackwardFilterAlgorithmEx(cudnnHandle_t, const cudnnTensorDescriptor_t x, const void *xp, const cudnnTensorDescriptor_t dy, const void *dyp, const cudnnConvolutionDescriptor_t cv, const cudnnFilterDescriptor_t dw, void *dwp, const int req, int *got, cudnnConvolutionBwdFilterAlgoPerf_t *p, void *ws, size_t wss) {
    if (check_conv(x, dw, cv, dy)) return CUDNN_STATUS_BAD_PARAM;
    if (!is_dev(xp) || !is_dev(dyp) || !is_dev(dwp)) BAD("FindEx bwd filter pointers");
    memset(dwp, 0x7F, esize(dw->t) * dw->k * dw->c * dw->h * dw->w);
    return fill_perf<cudnnConvolutionBwdFilterAlgoPerf_t, cudnnConvolutionBwdFilterAlgo_t>(cv, x->t, req, got, p, wss);
}
cudnnStatus_t cudnnGetConvolutionForwardAlgorithm_v7(cudnnHandle_t, const cudnnTensorDescriptor_t x, const cudnnFilterDescriptor_t w, const cudnnConvolutionDescriptor_t cv, const cudnnTensorDescriptor_t y, const int req, int *got, cudnnConvolutionFwdAlgoPerf_t *p) {
    if (check_conv(x, w, cv, y)) return CUDNN_STATUS_BAD_PARAM;
    return fill_perf<cudnnConvolutionFwdAlgoPerf_t, cudnnConvolutionFwdAlgo_t>(cv, x->t, req, got, p, SIZE_MAX);
}
cudnnStatus_t cudnnGetConvolutionBackwardDataAlgorithm_v7(cudnnHandle_t, const cudnnFilterDescriptor_t w, const cudnnTensorDescriptor_t dy, const cudnnConvolutionDescriptor_t cv, const cudnnTensorDescriptor_t dx, const int req, int *got, cudnnConvolutionBwdDataAlgoPerf_t *p) {
    if (check_conv(dx, w, cv, dy)) return CUDNN_STATUS_BAD_PARAM;
    return fill_perf<cudnnConvolutionBwdDataAlgoPerf_t, cudnnConvolutionBwdDataAlgo_t>(cv, w->t, req, got, p, SIZE_MAX);
}
cudnnStatus_t cudnnGetConvolutionBackwardFilterAlgorithm_v7(cudnnHandle_t, const cudnnTensorDescriptor_t x, const cudnnTensorDescriptor_t dy, const cudnnConvolutionDescriptor_t cv, const cudnnFilterDescriptor_t dw, const int req, int *got, cudnnConvolutionBwdFilterAlgoPerf_t *p) {
    if (check_conv(x, dw, cv, dy)) return CUDNN_STATUS_BAD_PARAM;
    return fill_perf<cudnnConvolutionBwdFilterAlgoPerf_t, cudnnConvolutionBwdFilterAlgo_t>(cv, x->t, req, got, p, SIZE_MAX);
}
static cudnnStatus_t check_algo(const cudnnConvolutionStruct *cv, int algo, size_t wss, const void *ws) {
    if (algo < 0 || algo > 2) BAD("algo %d", algo);
    if (wss < algo_ws(algo)) BAD("workspace %zu < %zu for algo %d", wss, algo_ws(algo), algo);
    if (algo_ws(algo) && !is_dev(ws)) BAD("workspace pointer");
    if (ws && wss) memset(const_cast<void *>(ws), 0x55, wss);
    (void)cv;
    return CUDNN_STATUS_SUCCESS;
}
cudnnStatus_t cudnnConvolutionForward(cudnnHandle_t, const void *alpha, const cudnnTensorDescriptor_t xd, const void *xv, const cudnnFilterDescriptor_t wd, const void *wv, const cudnnConvolutionDescriptor_t cv, cudnnConvolutionFwdAlgo_t algo, void *ws, size_t wss, const void *beta, const cudnnTensorDescriptor_t yd, void *yv) {
    if (check_conv(xd, wd, cv, yd)) return CUDNN_STATUS_BAD_PARAM;
    if (bf16_fma(cv, xd->t)) FAIL(CUDNN_STATUS_NOT_SUPPORTED, "bf16 convolution forward needs tensor-op math, not FMA");
    if (check_algo(cv, algo, wss, ws)) return CUDNN_STATUS_BAD_PARAM;
    std::vector<float> xb, wb;
    const float *x = as_float(xv, xd->t, TDIMS(xd), xb);
    const float *w = as_float(wv, wd->t, FDIMS(wd), wb);
    float a = *(const float *)alpha, b = *(const float *)beta;
    std::vector<double> acc((size_t)yd->n * yd->c * yd->h * yd->w, 0.0);
    for (int n = 0; n < yd->n; n++)
        for (int k = 0; k < yd->c; k++)
            for (int oh = 0; oh < yd->h; oh++)
                for (int ow = 0; ow < yd->w; ow++) {
                    double s = 0;
                    for (int c = 0; c < xd->c; c++)
                        for (int i = 0; i < wd->h; i++)
                            for (int j = 0; j < wd->w; j++) {
                                int h = oh * cv->sh - cv->ph + i, ww = ow * cv->sw - cv->pw + j;
                                if (h < 0 || h >= xd->h || ww < 0 || ww >= xd->w) continue;
                                s += (double)XAT(x, xd, n, c, h, ww) * w[(((size_t)k * wd->c + c) * wd->h + i) * wd->w + j];
                            }
                    XAT(acc.data(), yd, n, k, oh, ow) = s;
                }
    put_out(yv, yd->t, TDIMS(yd), acc, a, b);
    return CUDNN_STATUS_SUCCESS;
}
cudnnStatus_t cudnnConvolutionBackwardData(cudnnHandle_t, const void *alpha, const cudnnFilterDescriptor_t wd, const void *wv, const cudnnTensorDescriptor_t dyd, const void *dyv, const cudnnConvolutionDescriptor_t cv, cudnnConvolutionBwdDataAlgo_t algo, void *ws, size_t wss, const void *beta, const cudnnTensorDescriptor_t dxd, void *dxv) {
    if (check_conv(dxd, wd, cv, dyd)) return CUDNN_STATUS_BAD_PARAM;
    if (bf16_fma(cv, wd->t)) FAIL(CUDNN_STATUS_NOT_SUPPORTED, "bf16 convolution backward data needs tensor-op math, not FMA");
    if (check_algo(cv, algo, wss, ws)) return CUDNN_STATUS_BAD_PARAM;
    std::vector<float> wb, dyb;
    const float *w = as_float(wv, wd->t, FDIMS(wd), wb);
    const float *dy = as_float(dyv, dyd->t, TDIMS(dyd), dyb);
    float a = *(const float *)alpha, b = *(const float *)beta;
    std::vector<double> acc((size_t)dxd->n * dxd->c * dxd->h * dxd->w, 0.0);
    for (int n = 0; n < dyd->n; n++)
        for (int k = 0; k < dyd->c; k++)
            for (int oh = 0; oh < dyd->h; oh++)
                for (int ow = 0; ow < dyd->w; ow++) {
                    double g = XAT(dy, dyd, n, k, oh, ow);
                    for (int c = 0; c < dxd->c; c++)
                        for (int i = 0; i < wd->h; i++)
                            for (int j = 0; j < wd->w; j++) {
                                int h = oh * cv->sh - cv->ph + i, ww = ow * cv->sw - cv->pw + j;
                                if (h < 0 || h >= dxd->h || ww < 0 || ww >= dxd->w) continue;
                                acc[(((size_t)n * dxd->c + c) * dxd->h + h) * dxd->w + ww] += g * w[(((size_t)k * wd->c + c) * wd->h + i) * wd->w + j];
                            }
                }
    put_out(dxv, dxd->t, TDIMS(dxd), acc, a, b);
    return CUDNN_STATUS_SUCCESS;
}
cudnnStatus_t cudnnConvolutionBackwardFilter(cudnnHandle_t, const void *alpha, const cudnnTensorDescriptor_t xd, const void *xv, const cudnnTensorDescriptor_t dyd, const void *dyv, const cudnnConvolutionDescriptor_t cv, cudnnConvolutionBwdFilterAlgo_t algo, void *ws, size_t wss, const void *beta, const cudnnFilterDescriptor_t dwd, void *dwv) {
    if (check_conv(xd, dwd, cv, dyd)) return CUDNN_STATUS_BAD_PARAM;
    if (bf16_fma(cv, xd->t)) FAIL(CUDNN_STATUS_NOT_SUPPORTED, "bf16 convolution backward filter needs tensor-op math, not FMA");
    if (check_algo(cv, algo, wss, ws)) return CUDNN_STATUS_BAD_PARAM;
    std::vector<float> xb, dyb;
    const float *x = as_float(xv, xd->t, TDIMS(xd), xb);
    const float *dy = as_float(dyv, dyd->t, TDIMS(dyd), dyb);
    float a = *(const float *)alpha, b = *(const float *)beta;
    std::vector<double> acc((size_t)dwd->k * dwd->c * dwd->h * dwd->w, 0.0);
    for (int n = 0; n < dyd->n; n++)
        for (int k = 0; k < dyd->c; k++)
            for (int oh = 0; oh < dyd->h; oh++)
                for (int ow = 0; ow < dyd->w; ow++) {
                    double g = XAT(dy, dyd, n, k, oh, ow);
                    for (int c = 0; c < xd->c; c++)
                        for (int i = 0; i < dwd->h; i++)
                            for (int j = 0; j < dwd->w; j++) {
                                int h = oh * cv->sh - cv->ph + i, ww = ow * cv->sw - cv->pw + j;
                                if (h < 0 || h >= xd->h || ww < 0 || ww >= xd->w) continue;
                                acc[(((size_t)k * dwd->c + c) * dwd->h + i) * dwd->w + j] += g * XAT(x, xd, n, c, h, ww);
                            }
                }
    put_out(dwv, dwd->t, FDIMS(dwd), acc, a, b);
    return CUDNN_STATUS_SUCCESS;
}
cudnnStatus_t cudnnConvolutionBackwardBias(cudnnHandle_t, const void *alpha, const cudnnTensorDescriptor_t dyd, const void *dyv, const void *beta, const cudnnTensorDescriptor_t dbd, void *dbv) {
    if (dyd->t != CUDNN_DATA_FLOAT || dbd->t != CUDNN_DATA_FLOAT) BAD("bias: data types %d %d, fp32 only", (int)dyd->t, (int)dbd->t);
    if (dyd->nhwc || dbd->nhwc) BAD("bias: NCHW only here");
    if (dbd->n != 1 || dbd->c != dyd->c || dbd->h != 1 || dbd->w != 1) BAD("bias desc");
    const float *dy = (const float *)dyv;
    float *db = (float *)dbv, a = *(const float *)alpha, b = *(const float *)beta;
    for (int k = 0; k < dyd->c; k++) {
        double s = 0;
        for (int n = 0; n < dyd->n; n++)
            for (int h = 0; h < dyd->h; h++)
                for (int w = 0; w < dyd->w; w++) s += XAT(dy, dyd, n, k, h, w);
        db[k] = (float)(a * s + (b == 0 ? 0.0 : b * db[k]));
    }
    return CUDNN_STATUS_SUCCESS;
}
cudnnStatus_t cudnnAddTensor(cudnnHandle_t, const void *alpha, const cudnnTensorDescriptor_t ad, const void *av, const void *beta, const cudnnTensorDescriptor_t cd, void *cvp) {
    if (ad->t != CUDNN_DATA_FLOAT || cd->t != CUDNN_DATA_FLOAT) BAD("add tensor: data types %d %d, fp32 only", (int)ad->t, (int)cd->t);
    if ((ad->n != 1 && ad->n != cd->n) || (ad->c != 1 && ad->c != cd->c) || (ad->h != 1 && ad->h != cd->h) || (ad->w != 1 && ad->w != cd->w)) BAD("add tensor dims");
    if (ad->nhwc || cd->nhwc) BAD("add tensor: NCHW only here");
    const float *A = (const float *)av;
    float *C = (float *)cvp, a = *(const float *)alpha, b = *(const float *)beta;
    for (int n = 0; n < cd->n; n++)
        for (int c = 0; c < cd->c; c++)
            for (int h = 0; h < cd->h; h++)
                for (int w = 0; w < cd->w; w++) {
                    float av2 = XAT(A, ad, ad->n == 1 ? 0 : n, ad->c == 1 ? 0 : c, ad->h == 1 ? 0 : h, ad->w == 1 ? 0 : w);
                    float &o = XAT(C, cd, n, c, h, w);
                    o = a * av2 + b * o;
                }
    return CUDNN_STATUS_SUCCESS;
}
cudnnStatus_t cudnnCreatePoolingDescriptor(cudnnPoolingDescriptor_t *d) { *d = new cudnnPoolingStruct(); return CUDNN_STATUS_SUCCESS; }
cudnnStatus_t cudnnDestroyPoolingDescriptor(cudnnPoolingDescriptor_t d) { delete d; return CUDNN_STATUS_SUCCESS; }
cudnnStatus_t cudnnSetPooling2dDescriptor(cudnnPoolingDescriptor_t d, cudnnPoolingMode_t m, cudnnNanPropagation_t, int kh, int kw, int ph, int pw, int sh, int sw) {
    if (ph >= kh || pw >= kw) return CUDNN_STATUS_BAD_PARAM; // like cuDNN: padding below the window
    *d = {m, kh, kw, ph, pw, sh, sw};
    return CUDNN_STATUS_SUCCESS;
}
cudnnStatus_t cudnnGetPooling2dForwardOutputDim(const cudnnPoolingDescriptor_t p, const cudnnTensorDescriptor_t x, int *n, int *c, int *h, int *w) {
    *n = x->n; *c = x->c; *h = out_dim(x->h, p->ph, p->kh, p->sh); *w = out_dim(x->w, p->pw, p->kw, p->sw);
    return CUDNN_STATUS_SUCCESS;
}
cudnnStatus_t cudnnPoolingForward(cudnnHandle_t, const cudnnPoolingDescriptor_t p, const void *alpha, const cudnnTensorDescriptor_t xd, const void *xv, const void *beta, const cudnnTensorDescriptor_t yd, void *yv) {
    if (xd->t != CUDNN_DATA_FLOAT || yd->t != CUDNN_DATA_FLOAT) BAD("pooling: data types %d %d, fp32 only", (int)xd->t, (int)yd->t);
    if (yd->n != xd->n || yd->c != xd->c || yd->h != out_dim(xd->h, p->ph, p->kh, p->sh) || yd->w != out_dim(xd->w, p->pw, p->kw, p->sw)) BAD("pool dims");
    if (xd->nhwc || yd->nhwc) BAD("pooling: NCHW only here");
    const float *x = (const float *)xv;
    float *y = (float *)yv, a = *(const float *)alpha, b = *(const float *)beta;
    for (int n = 0; n < yd->n; n++)
        for (int c = 0; c < yd->c; c++)
            for (int oh = 0; oh < yd->h; oh++)
                for (int ow = 0; ow < yd->w; ow++) {
                    double m = -FLT_MAX, s = 0;
                    for (int i = 0; i < p->kh; i++)
                        for (int j = 0; j < p->kw; j++) {
                            int h = oh * p->sh - p->ph + i, w = ow * p->sw - p->pw + j;
                            if (h < 0 || h >= xd->h || w < 0 || w >= xd->w) continue;
                            double v = XAT(x, xd, n, c, h, w);
                            m = std::max(m, v);
                            s += v;
                        }
                    double r = p->mode == CUDNN_POOLING_MAX ? m : s / (p->kh * p->kw);
                    float &o = XAT(y, yd, n, c, oh, ow);
                    o = (float)(a * r + (b == 0 ? 0.0 : b * o));
                }
    return CUDNN_STATUS_SUCCESS;
}
}
