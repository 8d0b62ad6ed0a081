/* cpu_conv.c - convolution forward and backward on the CPU: im2col + sgemm per image
 * (cpu_k_conv.h), the batch split over the context's threads with single-threaded BLAS in each;
 * weight and bias gradients are accumulated per thread and summed at the end. */
#include <assert.h>
#include <string.h>

#include "cpu_ctx.h"
#include "cpu_k_conv.h"
#include "cpu_ops.h"

typedef struct conv_job {
    wn_cpu_ctx *c;
    const wn_conv_desc *d;
    const float *x, *w, *b, *dy; // x (N,C,H,W), w (OC,C,KH,KW), b (OC), dy (N,OC,OH,OW)
    float *y, *dx, *dw, *db;     // y (N,OC,OH,OW), dx (N,C,H,W), dw (OC,C,KH,KW), db (OC)
} conv_job;

static float *conv_col(conv_job *j, int tid) {
    if (k_conv_is_1x1(j->d)) return NULL;
    return wn_cpu_scratch(j->c, tid, WN_CPU_SCRATCH_COL, k_conv_col_count(j->d) * sizeof(float));
}

static void conv_forward_task(void *arg, int tid, int nth) {
    conv_job *j = arg;
    const wn_conv_desc *d = j->d;
    const size_t in_sz = (size_t)d->c * d->h * d->w, out_sz = (size_t)d->oc * d->oh * d->ow;
    size_t b, e;
    wn_cpu_split((size_t)d->n, tid, nth, &b, &e);
    if (b == e) return;
    float *col = conv_col(j, tid); // (CKK, OH*OW)
    for (size_t i = b; i < e; i++)
        k_conv_forward_image(d, j->x + i * in_sz, j->w, j->b, j->y + i * out_sz, col);
}

void wn_cpu_conv_forward(void *ctx, const wn_conv_desc *d, const float *x, const float *w,
                         const float *b, float *y) {
    assert(d->oh == (d->h + 2 * d->ph - d->kh) / d->sh + 1);
    assert(d->ow == (d->w + 2 * d->pw - d->kw) / d->sw + 1);
    conv_job j = {.c = ctx, .d = d, .x = x, .w = w, .b = b, .y = y};
    wn_cpu_run(ctx, wn_cpu_nth(ctx, (size_t)d->n, 1), conv_forward_task, &j);
}

/* Thread tid's weight/bias gradient accumulators: the outputs themselves for thread 0. */
static float *conv_dw_acc(conv_job *j, int tid) {
    if (!j->dw || tid == 0) return j->dw;
    size_t n = (size_t)j->d->oc * j->d->c * j->d->kh * j->d->kw;
    return wn_cpu_scratch(j->c, tid, WN_CPU_SCRATCH_ACC, n * sizeof(float));
}

static float *conv_db_acc(conv_job *j, int tid) {
    if (!j->db || tid == 0) return j->db;
    return wn_cpu_scratch(j->c, tid, WN_CPU_SCRATCH_ACC2, (size_t)j->d->oc * sizeof(float));
}

static void conv_backward_task(void *arg, int tid, int nth) {
    conv_job *j = arg;
    const wn_conv_desc *d = j->d;
    const size_t in_sz = (size_t)d->c * d->h * d->w, out_sz = (size_t)d->oc * d->oh * d->ow;
    size_t b, e;
    wn_cpu_split((size_t)d->n, tid, nth, &b, &e);
    float *dw = conv_dw_acc(j, tid); // (OC, CKK)
    float *db = conv_db_acc(j, tid); // (OC)
    if (b == e) {
        if (dw) memset(dw, 0, sizeof(float) * d->oc * d->c * d->kh * d->kw);
        if (db) memset(db, 0, sizeof(float) * d->oc);
        return;
    }
    float *col = conv_col(j, tid); // (CKK, OH*OW)
    for (size_t i = b; i < e; i++)
        k_conv_backward_image(d, j->x + i * in_sz, j->w, j->dy + i * out_sz,
                              j->dx ? j->dx + i * in_sz : NULL, dw, db, i == b ? 0.0f : 1.0f, col);
}

void wn_cpu_conv_backward(void *ctx, const wn_conv_desc *d, const float *x, const float *w,
                          const float *dy, float *dx, float *dw, float *db) {
    wn_cpu_ctx *c = ctx;
    conv_job j = {.c = c, .d = d, .x = x, .w = w, .dy = dy, .dx = dx, .dw = dw, .db = db};
    int nth = wn_cpu_nth(c, (size_t)d->n, 1);
    wn_cpu_run(c, nth, conv_backward_task, &j);
    const size_t nw = (size_t)d->oc * d->c * d->kh * d->kw;
    for (int t = 1; t < nth; t++) {
        if (dw) {
            const float *acc = conv_dw_acc(&j, t); // (OC, CKK)
            for (size_t i = 0; i < nw; i++) dw[i] += acc[i];
        }
        if (db) {
            const float *acc = conv_db_acc(&j, t); // (OC)
            for (int i = 0; i < d->oc; i++) db[i] += acc[i];
        }
    }
}
