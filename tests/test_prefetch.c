/* test_prefetch.c - the batch producer of a training epoch (train/train_prefetch.c) against the
 * sequential wn_batch_fill loop it replaces: on a small synthetic cache with random crop and flip,
 * over several epochs of a shuffled order whose last batch is partial, every prefetched batch
 * (its size, index, pixels and labels) equals the sequential one bit for bit, and the generator
 * handed back equals the sequential generator, also when the caller stops after a few batches.
 * The same batches go through the backend's upload_async / upload_fence double-buffered as in
 * train_epoch.c and come back unchanged (the CPU backend; the CUDA backend too when there is a
 * GPU, or the emulator of tests/cuda_emu). A fill that fails at batch k gives batches 0..k-1,
 * then the error from wn_prefetch_next, and finish returns (no hang, nothing leaked); so does
 * stopping while the producer waits for a free buffer. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "train_internal.h"
#include "wn_test.h"

enum { N = 23, C = 3, H = 5, W = 7, BATCH = 5, EPOCHS = 3 };
static const size_t SAMPLE = (size_t)C * H * W;

/* A cache of N random photos (C, H, W) with labels 0..3. */
static void make_cache(wn_cache *c, uint8_t *pix, int32_t *labels) {
    memset(c, 0, sizeof *c);
    wn_rng r;
    wn_rng_seed(&r, 99, 1);
    for (size_t i = 0; i < (size_t)N * SAMPLE; i++) pix[i] = (uint8_t)wn_rng_u32(&r);
    for (int i = 0; i < N; i++) labels[i] = (int32_t)wn_rng_below(&r, 4);
    c->n = N;
    c->c = C;
    c->h = H;
    c->w = W;
    c->pix = pix;
    c->labels = labels;
    c->bytes = (size_t)N * SAMPLE;
}

/* The sequential reference: every batch of the epoch order filled one after another. */
static void fill_sequential(const wn_fill_cache *src, const int *order, int n, wn_rng *rng,
                            float *x, int32_t *y) {
    for (int s = 0; s < n; s += BATCH) {
        int m = n - s < BATCH ? n - s : BATCH;
        wn_batch_fill(src->cache, order + s, m, src->mean, src->std, src->aug, rng,
                      x + (size_t)s * SAMPLE, y + s);
    }
}

static int same_rng(const wn_rng *a, const wn_rng *b) {
    return a->state == b->state && a->inc == b->inc;
}

/* Fails at batch fail_at (counted over the calls of one prefetcher). */
typedef struct failing {
    wn_fill_cache src;
    int calls, fail_at;
} failing;

static int fill_failing(void *arg, const int *ids, int m, wn_rng *rng, float *x, int32_t *y,
                        wn_err *e) {
    failing *f = arg;
    if (f->calls++ == f->fail_at)
        return wn_err_set(e, WN_ERUNTIME, "injected failure at batch %d", f->fail_at + 1);
    return wn_fill_from_cache(&f->src, ids, m, rng, x, y, e);
}

/* Epochs through the prefetcher compared with the sequential fill; used < batches stops early. */
static void test_epochs(wn_backend *be, const wn_fill_cache *src) {
    wn_rng seq, pf, order_rng;
    wn_rng_seed(&seq, 7, 3);
    pf = seq;
    wn_rng_seed(&order_rng, 8, 1);
    int order[N];
    float *xs = wn_xmalloc((size_t)N * SAMPLE * sizeof(float)); // (N, C, H, W) sequential
    int32_t *ys = wn_xmalloc(N * sizeof(int32_t));               // (N)
    int batches = (N + BATCH - 1) / BATCH;
    for (int ep = 0; ep < EPOCHS; ep++) {
        for (int i = 0; i < N; i++) order[i] = i;
        wn_rng_shuffle(&order_rng, order, N);
        fill_sequential(src, order, N, &seq, xs, ys);
        wn_prefetch *p = NULL;
        wn_err e = {0};
        CHECK(wn_prefetch_start(&p, be, order, N, BATCH, SAMPLE, wn_fill_from_cache, (void *)src,
                                &pf, &e) == WN_OK);
        int bad = 0;
        for (int b = 0; b < batches; b++) {
            wn_prefetch_batch *pb = NULL;
            CHECK(wn_prefetch_next(p, &pb, &e) == WN_OK);
            int s = b * BATCH, m = N - s < BATCH ? N - s : BATCH;
            CHECK_MSG(pb->index == b && pb->m == m, "epoch %d batch %d: index %d, %d photos (want %d)",
                      ep, b, pb->index, pb->m, m);
            bad += memcmp(pb->x, xs + (size_t)s * SAMPLE, (size_t)m * SAMPLE * sizeof(float)) != 0;
            bad += memcmp(pb->y, ys + s, (size_t)m * sizeof(int32_t)) != 0;
            wn_prefetch_release(p);
        }
        CHECK_MSG(bad == 0, "epoch %d: %d prefetched arrays differ from wn_batch_fill's", ep, bad);
        wn_prefetch_finish(p, batches, &pf);
        CHECK_MSG(same_rng(&pf, &seq), "epoch %d: the generator handed back differs", ep);
    }
    /* stopping after 2 batches hands back the state after 2 batches, not what was made ahead */
    wn_rng want = pf;
    for (int i = 0; i < N; i++) order[i] = i;
    fill_sequential(src, order, 2 * BATCH, &want, xs, ys);
    wn_prefetch *p = NULL;
    wn_err e = {0};
    CHECK(wn_prefetch_start(&p, be, order, N, BATCH, SAMPLE, wn_fill_from_cache, (void *)src, &pf,
                            &e) == WN_OK);
    wn_prefetch_batch *pb;
    for (int b = 0; b < 3; b++) {
        CHECK(wn_prefetch_next(p, &pb, &e) == WN_OK);
        wn_prefetch_release(p);
    }
    wn_prefetch_finish(p, 2, &pf);
    CHECK_MSG(same_rng(&pf, &want), "stopped after 2 batches: the generator is not the sequential one's");
    free(xs);
    free(ys);
}

/* The consumer loop of train_epoch.c: batch b+1 uploads while batch b is read back. */
static void test_upload(wn_backend *be, const wn_fill_cache *src) {
    const wn_backend_ops *o = be->ops;
    wn_rng seq, pf;
    wn_rng_seed(&seq, 11, 5);
    pf = seq;
    int order[N];
    for (int i = 0; i < N; i++) order[i] = (i * 7) % N;
    float *xs = wn_xmalloc((size_t)N * SAMPLE * sizeof(float)); // (N, C, H, W)
    int32_t *ys = wn_xmalloc(N * sizeof(int32_t));               // (N)
    float *xb = wn_xmalloc((size_t)BATCH * SAMPLE * sizeof(float)); // (B, C, H, W)
    int32_t yb[BATCH];
    fill_sequential(src, order, N, &seq, xs, ys);
    float *xd[2];
    int32_t *yd[2];
    for (int i = 0; i < 2; i++) {
        xd[i] = o->alloc(be->ctx, (size_t)BATCH * SAMPLE * sizeof(float)); // (B, C, H, W)
        yd[i] = o->alloc(be->ctx, BATCH * sizeof(int32_t));               // (B)
        CHECK(xd[i] && yd[i]);
    }
    wn_prefetch *p = NULL;
    wn_err e = {0};
    CHECK(wn_prefetch_start(&p, be, order, N, BATCH, SAMPLE, wn_fill_from_cache, (void *)src, &pf,
                            &e) == WN_OK);
    int batches = (N + BATCH - 1) / BATCH, bad = 0;
    wn_prefetch_batch *cur = NULL;
    CHECK(wn_prefetch_next(p, &cur, &e) == WN_OK);
    CHECK(o->upload_async(be->ctx, xd[0], cur->x, (size_t)cur->m * SAMPLE * sizeof(float), &e) == WN_OK);
    CHECK(o->upload_async(be->ctx, yd[0], cur->y, (size_t)cur->m * sizeof(int32_t), &e) == WN_OK);
    for (int b = 0; b < batches; b++) {
        int m = cur->m, s = b * BATCH;
        CHECK(o->upload_fence(be->ctx, &e) == WN_OK);
        wn_prefetch_release(p);
        if (b + 1 < batches) {
            CHECK(wn_prefetch_next(p, &cur, &e) == WN_OK);
            int nb = (b + 1) & 1;
            CHECK(o->upload_async(be->ctx, xd[nb], cur->x, (size_t)cur->m * SAMPLE * sizeof(float),
                                  &e) == WN_OK);
            CHECK(o->upload_async(be->ctx, yd[nb], cur->y, (size_t)cur->m * sizeof(int32_t), &e) == WN_OK);
        }
        CHECK(o->download(be->ctx, xb, xd[b & 1], (size_t)m * SAMPLE * sizeof(float), &e) == WN_OK);
        CHECK(o->download(be->ctx, yb, yd[b & 1], (size_t)m * sizeof(int32_t), &e) == WN_OK);
        bad += memcmp(xb, xs + (size_t)s * SAMPLE, (size_t)m * SAMPLE * sizeof(float)) != 0;
        bad += memcmp(yb, ys + s, (size_t)m * sizeof(int32_t)) != 0;
    }
    CHECK(o->upload_fence(be->ctx, &e) == WN_OK);
    wn_prefetch_finish(p, batches, &pf);
    CHECK_MSG(bad == 0, "%s: %d uploaded arrays differ from wn_batch_fill's", o->name, bad);
    CHECK_MSG(same_rng(&pf, &seq), "%s: the generator handed back differs", o->name);
    for (int i = 0; i < 2; i++) {
        o->free(be->ctx, xd[i]);
        o->free(be->ctx, yd[i]);
    }
    free(xs);
    free(ys);
    free(xb);
}

/* A fill that fails at batch k: batches before it arrive, then the error, then finish. */
static void test_failure(wn_backend *be, const wn_fill_cache *src, int k) {
    failing f = {*src, 0, k};
    int order[N];
    for (int i = 0; i < N; i++) order[i] = i;
    wn_rng rng;
    wn_rng_seed(&rng, 5, 5);
    wn_prefetch *p = NULL;
    wn_err e = {0};
    CHECK(wn_prefetch_start(&p, be, order, N, BATCH, SAMPLE, fill_failing, &f, &rng, &e) == WN_OK);
    int got = 0, rc = WN_OK;
    wn_prefetch_batch *pb = NULL;
    for (int b = 0; b < (N + BATCH - 1) / BATCH; b++) {
        if ((rc = wn_prefetch_next(p, &pb, &e)) != WN_OK) break;
        CHECK(pb->index == b);
        got++;
        wn_prefetch_release(p);
    }
    wn_prefetch_finish(p, got, &rng);
    CHECK_MSG(got == k, "failure at batch %d: %d batches arrived before it", k + 1, got);
    CHECK_MSG(rc == WN_ERUNTIME && pb == NULL, "failure at batch %d: next returned %d", k + 1, rc);
    char want[64];
    snprintf(want, sizeof want, "injected failure at batch %d", k + 1);
    CHECK_MSG(strstr(e.msg, want) != NULL, "the producer's message reaches the caller: \"%s\"", e.msg);
}

/* Counts the fills and wakes the test at each one (a condition variable, not a sleep). */
typedef struct counting {
    wn_fill_cache src;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int calls;
} counting;

static int fill_counting(void *arg, const int *ids, int m, wn_rng *rng, float *x, int32_t *y,
                         wn_err *e) {
    counting *f = arg;
    int rc = wn_fill_from_cache(&f->src, ids, m, rng, x, y, e);
    pthread_mutex_lock(&f->mu);
    f->calls++;
    pthread_cond_broadcast(&f->cv);
    pthread_mutex_unlock(&f->mu);
    return rc;
}

/* The caller takes one batch and never releases it; once the producer has filled the whole ring
 * it must wait for a free buffer (no fourth fill), and finish must still end it. */
static void test_stop_while_full(wn_backend *be, const wn_fill_cache *src) {
    counting f = {.src = *src};
    pthread_mutex_init(&f.mu, NULL);
    pthread_cond_init(&f.cv, NULL);
    int order[N];
    for (int i = 0; i < N; i++) order[i] = i;
    wn_rng rng, start;
    wn_rng_seed(&rng, 3, 3);
    start = rng;
    wn_prefetch *p = NULL;
    wn_err e = {0};
    CHECK(wn_prefetch_start(&p, be, order, N, BATCH, SAMPLE, fill_counting, &f, &rng, &e) == WN_OK);
    wn_prefetch_batch *pb = NULL;
    CHECK(wn_prefetch_next(p, &pb, &e) == WN_OK);
    pthread_mutex_lock(&f.mu);
    while (f.calls < WN_PREFETCH_DEPTH) pthread_cond_wait(&f.cv, &f.mu);
    pthread_mutex_unlock(&f.mu);
    wn_prefetch_finish(p, 0, &rng);
    CHECK_MSG(f.calls == WN_PREFETCH_DEPTH, "the producer filled %d batches with a ring of %d and "
              "none released", f.calls, WN_PREFETCH_DEPTH);
    CHECK_MSG(same_rng(&rng, &start), "used = 0 hands back the starting generator");
    pthread_cond_destroy(&f.cv);
    pthread_mutex_destroy(&f.mu);
}

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    static uint8_t pix[(size_t)N * C * H * W];
    static int32_t labels[N];
    wn_cache cache;
    make_cache(&cache, pix, labels);
    float mean[C] = {0.5f, 0.4f, 0.3f}, std[C] = {0.2f, 0.25f, 0.3f};
    wn_augment aug = {2, 1, 3, 0, 0};
    wn_fill_cache src = {&cache, mean, std, &aug};
    wn_err e = {0};
    wn_backend cpu;
    CHECK(wn_cpu_backend_create(1, &cpu, &e) == WN_OK);
    test_epochs(&cpu, &src);
    wn_fill_cache plain = {&cache, mean, std, NULL};
    test_epochs(&cpu, &plain);
    test_upload(&cpu, &src);
    int fails[] = {0, 1, 3, 4}; /* the first batch, one in the middle, the last (partial) one */
    for (int i = 0; i < 4; i++) test_failure(&cpu, &src, fails[i]);
    test_stop_while_full(&cpu, &src);
    wn_backend_free(&cpu);
    wn_backend gpu;
    wn_err ge = {0};
    if (wn_backend_create(WN_DEVICE_CUDA, 1, 1, &gpu, &ge) == WN_OK) {
        printf("CUDA backend: the pinned ring and asynchronous uploads\n");
        test_epochs(&gpu, &src);
        test_upload(&gpu, &src);
        test_failure(&gpu, &src, 2);
        wn_backend_free(&gpu);
    } else {
        printf("no CUDA backend here (%s): CPU backend only\n", ge.msg);
    }
    return wn_test_done();
}
