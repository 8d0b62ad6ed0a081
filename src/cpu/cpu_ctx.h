/* cpu_ctx.h - the CPU backend's context (thread count, worker pool, per-thread scratch buffers)
 * and the helpers the op files use to split work. Internal to src/cpu; no global state: all of
 * it lives in one wn_cpu_ctx, made by wn_cpu_backend_create and freed by its destroy op.
 * A context runs one op at a time (ops are called from one thread). */
#ifndef WN_CPU_CTX_H
#define WN_CPU_CTX_H

#include <pthread.h>
#include <stddef.h>

/* Scratch slots per thread: distinct buffers one op may hold at the same time. */
enum { WN_CPU_SCRATCH_COL = 0, WN_CPU_SCRATCH_ACC = 1, WN_CPU_SCRATCH_ACC2 = 2, WN_CPU_SCRATCH_N = 3 };

/* A task body: runs share tid of nth (tid 0 on the calling thread). */
typedef void (*wn_cpu_task)(void *arg, int tid, int nth);

typedef struct wn_cpu_scratch_buf {
    void *p;    /* 64-byte aligned, owned */
    size_t cap; /* bytes */
} wn_cpu_scratch_buf;

typedef struct wn_cpu_ctx {
    int threads;                 /* threads used by parallel ops, >= 1 */
    wn_cpu_scratch_buf *scratch; /* (threads, WN_CPU_SCRATCH_N) */
    /* worker pool: threads-1 workers, started at create, joined at destroy */
    pthread_t *workers;          /* (threads-1) */
    int n_workers;               /* workers actually started */
    pthread_mutex_t mu;
    pthread_cond_t cv_start, cv_done;
    unsigned long generation;    /* bumped for every parallel run */
    int pending;                 /* workers still running the current task */
    int active;                  /* threads taking part in the current task */
    int quit;
    wn_cpu_task task;
    void *task_arg;
} wn_cpu_ctx;

/* Starts ctx->threads-1 workers; returns 0 or -1 (then nothing is left running). */
int wn_cpu_pool_start(wn_cpu_ctx *c);
/* Stops and joins the workers. */
void wn_cpu_pool_stop(wn_cpu_ctx *c);
/* Runs fn(arg, tid, nth) for tid in [0, nth) in parallel and waits for all; nth is clamped to
 * [1, threads]. nth 1 runs inline. */
void wn_cpu_run(wn_cpu_ctx *c, int nth, wn_cpu_task fn, void *arg);
/* Threads worth using for work units of which each thread should get at least grain. */
int wn_cpu_nth(const wn_cpu_ctx *c, size_t work, size_t grain);
/* Per-thread scratch of at least bytes (grows; contents not kept on growth); aborts when memory
 * is exhausted (ops cannot fail). */
void *wn_cpu_scratch(wn_cpu_ctx *c, int tid, int slot, size_t bytes);

/* Share [*b, *e) of total items for tid of nth (contiguous, balanced). */
static inline void wn_cpu_split(size_t total, int tid, int nth, size_t *b, size_t *e) {
    size_t q = total / (size_t)nth, r = total % (size_t)nth, t = (size_t)tid;
    *b = t * q + (t < r ? t : r);
    *e = *b + q + (t < r ? 1 : 0);
}

#endif
