/* cpu_dense.c - fully connected layers on the CPU: sgemm (cpu_k_dense.h) with the batch rows
 * (forward, dx) and the output units (dw, db) split over the context's threads. */
#include "cpu_ctx.h"
#include "cpu_k_dense.h"
#include "cpu_ops.h"

typedef struct dense_job {
    int n, in, out;
    const float *x, *w, *b, *dy; // x (N,IN), w (OUT,IN), b (OUT), dy (N,OUT)
    float *y, *dx, *dw, *db;     // y (N,OUT), dx (N,IN), dw (OUT,IN), db (OUT)
} dense_job;

/* GEMM work below this many multiply-adds per thread is not worth splitting. */
#define DENSE_GRAIN ((size_t)1 << 20)

static void dense_forward_task(void *arg, int tid, int nth) {
    dense_job *j = arg;
    size_t b, e;
    wn_cpu_split((size_t)j->n, tid, nth, &b, &e);
    k_dense_forward_rows((int)b, (int)e, j->in, j->out, j->x, j->w, j->b, j->y);
}

void wn_cpu_dense_forward(void *ctx, int n, int in, int out, const float *x, const float *w,
                          const float *b, float *y) {
    dense_job j = {.n = n, .in = in, .out = out, .x = x, .w = w, .b = b, .y = y};
    int nth = wn_cpu_nth(ctx, (size_t)n * in * out, DENSE_GRAIN);
    if (nth > n) nth = n > 0 ? n : 1;
    wn_cpu_run(ctx, nth, dense_forward_task, &j);
}

static void dense_backward_task(void *arg, int tid, int nth) {
    dense_job *j = arg;
    size_t b, e;
    if (j->dx) {
        wn_cpu_split((size_t)j->n, tid, nth, &b, &e);
        k_dense_backward_dx_rows((int)b, (int)e, j->in, j->out, j->w, j->dy, j->dx);
    }
    wn_cpu_split((size_t)j->out, tid, nth, &b, &e);
    k_dense_backward_dw_rows((int)b, (int)e, j->n, j->in, j->out, j->x, j->dy, j->dw, j->db);
}

void wn_cpu_dense_backward(void *ctx, int n, int in, int out, const float *x, const float *w,
                           const float *dy, float *dx, float *dw, float *db) {
    dense_job j = {.n = n, .in = in, .out = out, .x = x, .w = w, .dy = dy,
                   .dx = dx, .dw = dw, .db = db};
    int nth = wn_cpu_nth(ctx, (size_t)n * in * out * (dx ? 2 : 1), DENSE_GRAIN);
    int rows = n < out ? n : out;
    if (nth > rows) nth = rows > 0 ? rows : 1;
    wn_cpu_run(ctx, nth, dense_backward_task, &j);
}
