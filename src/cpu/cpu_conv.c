/* cpu_conv.c - convolution forward and backward on the CPU: im2col + sgemm per image
 * (cpu_k_conv.h), the batch split over the context's threads with single-threaded BLAS in each;
 * weight and bias gradients are accumulated per fixed chunk of images and summed in chunk order
 * at the end, so they do not depend on the thread count. */
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

/* Weight and bias gradients are summed over the batch in WN_CONV_CHUNKS fixed chunks of
 * consecutive images (fewer for a small batch): each chunk accumulates its images in order, the
 * chunks are added in order at the end, and threads take whole chunks. The sums therefore do not
 * depend on the thread count, so a run gives the same bits on 1 thread and on 64 (and --resume
 * on another machine continues it exactly). Chunk 0 accumulates into dw/db themselves; chunk c
 * >= 1 into slot c / nth of its thread (c % nth)'s scratch. */
enum { WN_CONV_CHUNKS = 16 };

static int conv_chunks(const wn_conv_desc *d) { return d->n < WN_CONV_CHUNKS ? d->n : WN_CONV_CHUNKS; }

/* Accumulators of chunk ch (run by thread ch % nth): dw (OC, CKK) and db (OC), NULL when not
 * wanted. */
static void conv_chunk_acc(conv_job *j, int ch, int nth, float **dw, float **db) {
    *dw = j->dw, *db = j->db;
    if (ch == 0) return;
    const int tid = ch % nth, slot = ch / nth; /* thread tid's chunks: tid, tid + nth, ... */
    const int slots = (conv_chunks(j->d) + nth - 1) / nth;
    size_t nw = (size_t)j->d->oc * j->d->c * j->d->kh * j->d->kw, nb = (size_t)j->d->oc;
    if (j->dw) *dw = (float *)wn_cpu_scratch(j->c, tid, WN_CPU_SCRATCH_ACC, slots * nw * sizeof(float)) + slot * nw;
    if (j->db) *db = (float *)wn_cpu_scratch(j->c, tid, WN_CPU_SCRATCH_ACC2, slots * nb * sizeof(float)) + slot * nb;
}

static void conv_backward_task(void *arg, int tid, int nth) {
    conv_job *j = arg;
    const wn_conv_desc *d = j->d;
    const size_t in_sz = (size_t)d->c * d->h * d->w, out_sz = (size_t)d->oc * d->oh * d->ow;
    const int chunks = conv_chunks(d);
    float *col = conv_col(j, tid); // (CKK, OH*OW)
    for (int ch = tid; ch < chunks; ch += nth) {
        size_t b, e;
        wn_cpu_split((size_t)d->n, ch, chunks, &b, &e); /* chunks >= 1 image each */
        float *dw, *db; // (OC, CKK), (OC)
        conv_chunk_acc(j, ch, nth, &dw, &db);
        for (size_t i = b; i < e; i++)
            k_conv_backward_image(d, j->x + i * in_sz, j->w, j->dy + i * out_sz,
                                  j->dx ? j->dx + i * in_sz : NULL, dw, db, i == b ? 0.0f : 1.0f, col);
    }
}

void wn_cpu_conv_backward(void *ctx, const wn_conv_desc *d, const float *x, const float *w,
                          const float *dy, float *dx, float *dw, float *db) {
    wn_cpu_ctx *c = ctx;
    conv_job j = {.c = c, .d = d, .x = x, .w = w, .dy = dy, .dx = dx, .dw = dw, .db = db};
    const int chunks = conv_chunks(d);
    if (chunks < 1) { /* an empty batch: zero gradients */
        if (dw) memset(dw, 0, sizeof(float) * d->oc * d->c * d->kh * d->kw);
        if (db) memset(db, 0, sizeof(float) * d->oc);
        return;
    }
    int nth = wn_cpu_nth(c, (size_t)d->n, 1);
    if (nth > chunks) nth = chunks;
    /* allocate every thread's chunk accumulators here, before the threads run */
    for (int ch = 1; ch < chunks; ch++) {
        float *a, *b;
        conv_chunk_acc(&j, ch, nth, &a, &b);
    }
    wn_cpu_run(c, nth, conv_backward_task, &j);
    const size_t nw = (size_t)d->oc * d->c * d->kh * d->kw;
    for (int ch = 1; ch < chunks; ch++) { /* in chunk order, whatever the threads */
        float *adw, *adb; // (OC, CKK), (OC)
        conv_chunk_acc(&j, ch, nth, &adw, &adb);
        if (dw)
            for (size_t i = 0; i < nw; i++) dw[i] += adw[i];
        if (db)
            for (int i = 0; i < d->oc; i++) db[i] += adb[i];
    }
}
