/* cpu_pool.c - max and average pooling on the CPU: the (N*C) planes split over the context's
 * threads, each plane done by cpu_k_pool.h. */
#include <assert.h>

#include "cpu_ctx.h"
#include "cpu_k_pool.h"
#include "cpu_ops.h"

typedef struct pool_job {
    const wn_pool_desc *d;
    const float *x, *dy; // x (N,C,H,W), dy (N,C,OH,OW)
    float *y, *dx;       // y (N,C,OH,OW), dx (N,C,H,W)
} pool_job;

static void pool_forward_task(void *arg, int tid, int nth) {
    pool_job *j = arg;
    const wn_pool_desc *d = j->d;
    const size_t in_sz = (size_t)d->h * d->w, out_sz = (size_t)d->oh * d->ow;
    size_t b, e;
    wn_cpu_split((size_t)d->n * d->c, tid, nth, &b, &e);
    for (size_t p = b; p < e; p++) k_pool_forward_plane(d, j->x + p * in_sz, j->y + p * out_sz);
}

static void pool_backward_task(void *arg, int tid, int nth) {
    pool_job *j = arg;
    const wn_pool_desc *d = j->d;
    const size_t in_sz = (size_t)d->h * d->w, out_sz = (size_t)d->oh * d->ow;
    size_t b, e;
    wn_cpu_split((size_t)d->n * d->c, tid, nth, &b, &e);
    for (size_t p = b; p < e; p++)
        k_pool_backward_plane(d, j->x + p * in_sz, j->dy + p * out_sz, j->dx + p * in_sz);
}

static int pool_nth(wn_cpu_ctx *c, const wn_pool_desc *d) {
    size_t planes = (size_t)d->n * d->c, plane = (size_t)d->h * d->w;
    size_t grain = WN_CPU_ELEM_GRAIN / (plane ? plane : 1);
    return wn_cpu_nth(c, planes, grain ? grain : 1);
}

void wn_cpu_pool_forward(void *ctx, const wn_pool_desc *d, const float *x, float *y) {
    assert(d->mode == WN_POOL_MAX || d->mode == WN_POOL_AVG);
    assert(d->oh == (d->h + 2 * d->ph - d->kh) / d->sh + 1);
    assert(d->ow == (d->w + 2 * d->pw - d->kw) / d->sw + 1);
    pool_job j = {.d = d, .x = x, .y = y};
    wn_cpu_run(ctx, pool_nth(ctx, d), pool_forward_task, &j);
}

void wn_cpu_pool_backward(void *ctx, const wn_pool_desc *d, const float *x, const float *y,
                          const float *dy, float *dx) {
    (void)y; /* max positions are recomputed from x */
    pool_job j = {.d = d, .x = x, .dy = dy, .dx = dx};
    wn_cpu_run(ctx, pool_nth(ctx, d), pool_backward_task, &j);
}
