/* cpu_act.c - elementwise ops on the CPU: activations, inverted dropout, fill, axpy, add and the
 * byte-to-float table lookup, each a single pass (cpu_k_elem.h) split into contiguous chunks
 * over the context's threads. */
#include <assert.h>

#include "cpu_ctx.h"
#include "cpu_k_elem.h"
#include "cpu_ops.h"

enum { EL_ACT_FWD, EL_ACT_BWD, EL_DROP_FWD, EL_DROP_BWD, EL_FILL, EL_AXPY, EL_ADD, EL_LOOKUP };

typedef struct elem_job {
    int op, kind;
    float alpha, rate;
    uint64_t seed;
    size_t count;
    const float *a, *b; // (count) inputs
    float *y, *y2;      // (count) outputs
    const uint8_t *u8;  // (count) lookup: bytes of planes of hw values, channel = plane % channels
    size_t hw;
    int channels;
} elem_job;

/* y[i] = table[(plane % C) * 256 + x[i]] for i in [b, e), plane = i / hw; x, y (N, C, hw). */
static void k_lookup(size_t b, size_t e, size_t hw, int C, const uint8_t *x, const float *table,
                     float *y) {
    size_t i = b;
    while (i < e) {
        size_t plane = i / hw, end = (plane + 1) * hw < e ? (plane + 1) * hw : e;
        const float *t = table + (size_t)(plane % (size_t)C) * 256; // (256)
        for (; i < end; i++) y[i] = t[x[i]];
    }
}

static void elem_task(void *arg, int tid, int nth) {
    elem_job *j = arg;
    size_t b, e;
    wn_cpu_split(j->count, tid, nth, &b, &e);
    switch (j->op) {
    case EL_ACT_FWD: k_act_forward(j->kind, j->alpha, b, e, j->a, j->y); break;
    case EL_ACT_BWD: k_act_backward(j->kind, j->alpha, b, e, j->a, j->b, j->y); break;
    case EL_DROP_FWD: k_dropout_forward(b, e, j->rate, j->seed, j->a, j->y, j->y2); break;
    case EL_DROP_BWD: k_dropout_backward(b, e, j->a, j->b, j->y); break;
    case EL_FILL:
        for (size_t i = b; i < e; i++) j->y[i] = j->alpha;
        break;
    case EL_AXPY:
        for (size_t i = b; i < e; i++) j->y[i] += j->alpha * j->a[i];
        break;
    case EL_ADD: k_add(b, e, j->a, j->b, j->y); break;
    case EL_LOOKUP: k_lookup(b, e, j->hw, j->channels, j->u8, j->a, j->y); break;
    }
}

static void run_call(void *ctx, size_t count, elem_job j) {
    j.count = count;
    wn_cpu_run(ctx, wn_cpu_nth(ctx, count, WN_CPU_ELEM_GRAIN), elem_task, &j);
}

void wn_cpu_act_forward(void *ctx, int kind, float alpha, size_t count, const float *x, float *y) {
    assert(kind == WN_ACT_RELU || kind == WN_ACT_LEAKY);
    run_call(ctx, count, (elem_job){.op = EL_ACT_FWD, .kind = kind, .alpha = alpha, .a = x, .y = y});
}

void wn_cpu_act_backward(void *ctx, int kind, float alpha, size_t count, const float *x,
                         const float *dy, float *dx) {
    assert(kind == WN_ACT_RELU || kind == WN_ACT_LEAKY);
    run_call(ctx, count,
             (elem_job){.op = EL_ACT_BWD, .kind = kind, .alpha = alpha, .a = x, .b = dy, .y = dx});
}

void wn_cpu_dropout_forward(void *ctx, size_t count, float rate, uint64_t seed, const float *x,
                            float *y, float *mask) {
    run_call(ctx, count,
             (elem_job){.op = EL_DROP_FWD, .rate = rate, .seed = seed, .a = x, .y = y, .y2 = mask});
}

void wn_cpu_dropout_backward(void *ctx, size_t count, const float *mask, const float *dy,
                             float *dx) {
    run_call(ctx, count, (elem_job){.op = EL_DROP_BWD, .a = mask, .b = dy, .y = dx});
}

void wn_cpu_fill(void *ctx, float *x, size_t n, float v) {
    run_call(ctx, n, (elem_job){.op = EL_FILL, .alpha = v, .y = x});
}

void wn_cpu_axpy(void *ctx, size_t n, float a, const float *x, float *y) {
    run_call(ctx, n, (elem_job){.op = EL_AXPY, .alpha = a, .a = x, .y = y});
}

/* One thread, in index order: the sum does not depend on the thread count. */
double wn_cpu_sumsq(void *ctx, size_t n, const float *x) {
    (void)ctx;
    double s = 0;
    for (size_t i = 0; i < n; i++) s += (double)x[i] * x[i];
    return s;
}

void wn_cpu_add(void *ctx, size_t n, const float *a, const float *b, float *y) {
    run_call(ctx, n, (elem_job){.op = EL_ADD, .a = a, .b = b, .y = y});
}

void wn_cpu_lookup_u8(void *ctx, int n, int c, size_t hw, const uint8_t *x, const float *table,
                      float *y) {
    assert(n >= 0 && c >= 1 && hw >= 1);
    run_call(ctx, (size_t)n * (size_t)c * hw,
             (elem_job){.op = EL_LOOKUP, .a = table, .y = y, .u8 = x, .hw = hw, .channels = c});
}
