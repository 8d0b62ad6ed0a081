/* cpu_threads.c - the CPU backend's worker pool and per-thread scratch buffers (see cpu_ctx.h).
 * Workers sleep on a condition variable between ops; a parallel run bumps a generation counter,
 * the caller runs share 0 itself and waits until every worker has finished its share. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpu_ctx.h"

typedef struct wn_cpu_worker_arg {
    wn_cpu_ctx *c;
    int tid;
} wn_cpu_worker_arg;

static void *worker_main(void *p) {
    wn_cpu_worker_arg a = *(wn_cpu_worker_arg *)p;
    free(p);
    wn_cpu_ctx *c = a.c;
    unsigned long seen = 0;
    pthread_mutex_lock(&c->mu);
    for (;;) {
        while (c->generation == seen && !c->quit) pthread_cond_wait(&c->cv_start, &c->mu);
        if (c->quit) break;
        seen = c->generation;
        if (a.tid >= c->active) continue;
        wn_cpu_task fn = c->task;
        void *arg = c->task_arg;
        int nth = c->active;
        pthread_mutex_unlock(&c->mu);
        fn(arg, a.tid, nth);
        pthread_mutex_lock(&c->mu);
        if (--c->pending == 0) pthread_cond_signal(&c->cv_done);
    }
    pthread_mutex_unlock(&c->mu);
    return NULL;
}

int wn_cpu_pool_start(wn_cpu_ctx *c) {
    c->n_workers = 0;
    if (pthread_mutex_init(&c->mu, NULL)) return -1;
    if (pthread_cond_init(&c->cv_start, NULL)) {
        pthread_mutex_destroy(&c->mu);
        return -1;
    }
    if (pthread_cond_init(&c->cv_done, NULL)) {
        pthread_cond_destroy(&c->cv_start);
        pthread_mutex_destroy(&c->mu);
        return -1;
    }
    if (c->threads <= 1) return 0;
    c->workers = calloc((size_t)c->threads - 1, sizeof *c->workers);
    if (!c->workers) goto fail;
    for (int i = 1; i < c->threads; i++) {
        wn_cpu_worker_arg *a = malloc(sizeof *a);
        if (!a) goto fail;
        a->c = c;
        a->tid = i;
        if (pthread_create(&c->workers[i - 1], NULL, worker_main, a)) {
            free(a);
            goto fail;
        }
        c->n_workers++;
    }
    return 0;
fail:
    wn_cpu_pool_stop(c);
    return -1;
}

void wn_cpu_pool_stop(wn_cpu_ctx *c) {
    pthread_mutex_lock(&c->mu);
    c->quit = 1;
    pthread_cond_broadcast(&c->cv_start);
    pthread_mutex_unlock(&c->mu);
    for (int i = 0; i < c->n_workers; i++) pthread_join(c->workers[i], NULL);
    free(c->workers);
    c->workers = NULL;
    c->n_workers = 0;
    pthread_cond_destroy(&c->cv_done);
    pthread_cond_destroy(&c->cv_start);
    pthread_mutex_destroy(&c->mu);
}

void wn_cpu_run(wn_cpu_ctx *c, int nth, wn_cpu_task fn, void *arg) {
    if (nth > c->n_workers + 1) nth = c->n_workers + 1;
    if (nth <= 1) {
        fn(arg, 0, 1);
        return;
    }
    pthread_mutex_lock(&c->mu);
    c->task = fn;
    c->task_arg = arg;
    c->active = nth;
    c->pending = nth - 1;
    c->generation++;
    pthread_cond_broadcast(&c->cv_start);
    pthread_mutex_unlock(&c->mu);
    fn(arg, 0, nth);
    pthread_mutex_lock(&c->mu);
    while (c->pending > 0) pthread_cond_wait(&c->cv_done, &c->mu);
    pthread_mutex_unlock(&c->mu);
}

int wn_cpu_nth(const wn_cpu_ctx *c, size_t work, size_t grain) {
    size_t n = grain ? work / grain : work;
    if (n < 1) n = 1;
    return n < (size_t)c->threads ? (int)n : c->threads;
}

void *wn_cpu_scratch(wn_cpu_ctx *c, int tid, int slot, size_t bytes) {
    wn_cpu_scratch_buf *s = &c->scratch[(size_t)tid * WN_CPU_SCRATCH_N + slot];
    if (s->cap >= bytes && s->p) return s->p;
    free(s->p);
    size_t cap = (bytes + 63) / 64 * 64;
    if (cap < 64) cap = 64;
    s->p = aligned_alloc(64, cap);
    if (!s->p) {
        fprintf(stderr, "weldnet: out of memory for CPU scratch (%zu bytes)\n", cap);
        abort();
    }
    s->cap = cap;
    return s->p;
}
