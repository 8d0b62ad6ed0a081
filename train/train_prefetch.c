/* train_prefetch.c - the minibatch producer of a training epoch: one thread that assembles the
 * epoch's batches in order (augmentation and normalisation through a fill function, by default
 * wn_batch_fill from the decoded cache) into a ring of WN_PREFETCH_DEPTH host buffers from the
 * backend's host_alloc (page-locked on the GPU, so their uploads can overlap compute), while the
 * training step computes on earlier batches.
 *
 * Determinism: the producer owns the epoch's random generator. It draws each batch's
 * augmentation in batch order, exactly as the sequential loop did, and records the generator's
 * state after every batch, so wn_prefetch_finish hands back the state after the last batch the
 * caller used: the same numbers as filling the batches one by one on the caller's thread.
 *
 * Errors: a failing fill ends production; the consumer gets every batch made before it, then the
 * error from wn_prefetch_next. wn_prefetch_finish stops the producer wherever it is (also while
 * it waits for a free buffer), joins it and frees everything, so no exit path hangs or leaks. */
#include <assert.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "train_internal.h"

struct wn_prefetch {
    wn_backend *be;                       /* not owned; host_alloc/host_free of the ring */
    const int *order;                     /* (n) photo ids in epoch order, not owned */
    int n, batch, batches;
    wn_batch_fill_fn fill;
    void *fill_arg;
    wn_prefetch_batch ring[WN_PREFETCH_DEPTH]; /* batch j lives in ring[j % DEPTH] */
    wn_rng *states;                       /* (batches + 1) generator after 0, 1, ... batches */
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv_ready, cv_free;     /* a batch was made (or failed) / a buffer came back */
    int produced, taken, released;        /* counts of batches, under mu */
    int stop;                             /* finish asked the producer to end, under mu */
    int rc;                               /* the producer's failure, under mu */
    wn_err err;                           /* its message */
};

int wn_fill_from_cache(void *arg, const int *ids, int m, wn_rng *rng, float *x, int32_t *y,
                       wn_err *e) {
    (void)e;
    const wn_fill_cache *s = arg;
    wn_batch_fill(s->cache, ids, m, s->mean, s->std, s->aug, rng, x, y);
    return WN_OK;
}

static void *producer_main(void *arg) {
    wn_prefetch *p = arg;
    wn_rng rng = p->states[0];
    wn_err err = {0};
    for (int j = 0; j < p->batches; j++) {
        pthread_mutex_lock(&p->mu);
        while (j - p->released >= WN_PREFETCH_DEPTH && !p->stop)
            pthread_cond_wait(&p->cv_free, &p->mu);
        int stop = p->stop;
        pthread_mutex_unlock(&p->mu);
        if (stop) break;
        wn_prefetch_batch *slot = &p->ring[j % WN_PREFETCH_DEPTH];
        int s = j * p->batch, m = p->n - s < p->batch ? p->n - s : p->batch;
        int rc = p->fill(p->fill_arg, p->order + s, m, &rng, slot->x, slot->y, &err);
        if (rc == WN_OK) {
            slot->index = j;
            slot->m = m;
            p->states[j + 1] = rng; /* read by finish only after the join */
        }
        pthread_mutex_lock(&p->mu);
        if (rc != WN_OK) {
            p->rc = rc;
            p->err = err;
            if (!p->err.msg[0])
                wn_err_set(&p->err, rc, "batch %d of the epoch could not be made", j + 1);
        } else {
            p->produced = j + 1;
        }
        pthread_cond_signal(&p->cv_ready);
        pthread_mutex_unlock(&p->mu);
        if (rc != WN_OK) break;
    }
    return NULL;
}

static void ring_free(wn_prefetch *p) {
    for (int i = 0; i < WN_PREFETCH_DEPTH; i++) {
        p->be->ops->host_free(p->be->ctx, p->ring[i].x);
        p->be->ops->host_free(p->be->ctx, p->ring[i].y);
    }
}

/* Frees a producer whose thread is not running (never started, or joined). */
static void destroy(wn_prefetch *p) {
    pthread_cond_destroy(&p->cv_free);
    pthread_cond_destroy(&p->cv_ready);
    pthread_mutex_destroy(&p->mu);
    ring_free(p);
    free(p->states);
    free(p);
}

int wn_prefetch_start(wn_prefetch **out, wn_backend *be, const int *order, int n, int batch,
                      size_t sample, wn_batch_fill_fn fill, void *fill_arg, const wn_rng *rng,
                      wn_err *e) {
    assert(n >= 0 && batch > 0 && fill && rng);
    *out = NULL;
    wn_prefetch *p = wn_xcalloc(1, sizeof *p);
    p->be = be;
    p->order = order;
    p->n = n;
    p->batch = batch;
    p->batches = (n + batch - 1) / batch;
    p->fill = fill;
    p->fill_arg = fill_arg;
    p->states = wn_xmalloc((size_t)(p->batches + 1) * sizeof *p->states); // (batches + 1)
    p->states[0] = *rng;
    size_t xbytes = (size_t)batch * sample * sizeof(float);
    size_t ybytes = (size_t)batch * sizeof(int32_t);
    for (int i = 0; i < WN_PREFETCH_DEPTH; i++) {
        p->ring[i].x = be->ops->host_alloc(be->ctx, xbytes); // (B, C, H, W)
        p->ring[i].y = be->ops->host_alloc(be->ctx, ybytes); // (B)
        if (!p->ring[i].x || !p->ring[i].y) {
            wn_err_set(e, WN_ERUNTIME,
                       "out of %s host memory allocating the batch buffers (%d x %zu bytes)",
                       be->ops->name, WN_PREFETCH_DEPTH, xbytes + ybytes);
            ring_free(p);
            free(p->states);
            free(p);
            return WN_ERUNTIME;
        }
    }
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv_ready, NULL);
    pthread_cond_init(&p->cv_free, NULL);
    int prc = pthread_create(&p->thread, NULL, producer_main, p);
    if (prc != 0) {
        wn_err_set(e, WN_ERUNTIME, "cannot start the batch producer thread: %s", strerror(prc));
        destroy(p);
        return WN_ERUNTIME;
    }
    *out = p;
    return WN_OK;
}

int wn_prefetch_next(wn_prefetch *p, wn_prefetch_batch **batch, wn_err *e) {
    *batch = NULL;
    pthread_mutex_lock(&p->mu);
    assert(p->taken < p->batches && "more batches asked for than the epoch has");
    assert(p->taken - p->released < WN_PREFETCH_DEPTH && "release the batches already taken");
    while (p->produced <= p->taken && !p->rc) pthread_cond_wait(&p->cv_ready, &p->mu);
    int rc = WN_OK;
    if (p->produced > p->taken) {
        *batch = &p->ring[p->taken % WN_PREFETCH_DEPTH];
        p->taken++;
    } else {
        rc = wn_err_set(e, p->rc, "%s", p->err.msg);
    }
    pthread_mutex_unlock(&p->mu);
    return rc;
}

void wn_prefetch_release(wn_prefetch *p) {
    pthread_mutex_lock(&p->mu);
    assert(p->released < p->taken && "release of a batch that was not taken");
    p->released++;
    pthread_cond_signal(&p->cv_free);
    pthread_mutex_unlock(&p->mu);
}

void wn_prefetch_finish(wn_prefetch *p, int used, wn_rng *rng) {
    if (!p) return;
    pthread_mutex_lock(&p->mu);
    p->stop = 1;
    pthread_cond_signal(&p->cv_free);
    pthread_mutex_unlock(&p->mu);
    pthread_join(p->thread, NULL);
    assert(used >= 0 && used <= p->taken && "used counts batches taken by wn_prefetch_next");
    if (rng) *rng = p->states[used];
    destroy(p);
}
