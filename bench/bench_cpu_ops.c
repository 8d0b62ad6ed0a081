/* bench_cpu_ops.c - times one training step (forward + backward + Adam) of the reference 3-conv
 * net through the CPU backend's ops table and prints images/s and the time of every op.
 *
 * Net (28x28 grey input): conv3x3(1->32,pad1)-ReLU, conv3x3(32->64,pad1)-ReLU-maxpool2,
 * conv3x3(64->128,pad1)-ReLU-maxpool2, dense 6272->256-ReLU, dense 256->2, softmax xent, Adam.
 *
 * Usage: bench_cpu_ops [--threads N] [--batch N] [--iters N] [--warmup N] [--blas-threads N]
 *   --threads       backend threads (0 = all cores, the default)
 *   --blas-threads  set OpenBLAS's own thread count after creating the backend (to compare
 *                   BLAS-threaded GEMMs, e.g. --threads 1 --blas-threads 2) */
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "wn_backend.h"
#include "wn_rng.h"

enum {
    OP_C1F, OP_R1F, OP_C2F, OP_R2F, OP_P2F, OP_C3F, OP_R3F, OP_P3F, OP_D1F, OP_R4F, OP_D2F,
    OP_LOSS, OP_D2B, OP_R4B, OP_D1B, OP_P3B, OP_R3B, OP_C3B, OP_P2B, OP_R2B, OP_C2B, OP_R1B,
    OP_C1B, OP_ADAM, OP_N
};
static const char *op_names[OP_N] = {
    "conv1 fwd", "relu1 fwd", "conv2 fwd", "relu2 fwd", "pool2 fwd", "conv3 fwd", "relu3 fwd",
    "pool3 fwd", "dense1 fwd", "relu4 fwd", "dense2 fwd", "softmax_xent", "dense2 bwd",
    "relu4 bwd", "dense1 bwd", "pool3 bwd", "relu3 bwd", "conv3 bwd", "pool2 bwd", "relu2 bwd",
    "conv2 bwd", "relu1 bwd", "conv1 bwd (no dx)", "adam"};

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n) {
    qsort(v, n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

typedef struct bench {
    wn_backend be;
    const wn_backend_ops *o;
    void *ctx;
    int n;
    wn_conv_desc c1, c2, c3;
    wn_pool_desc p2, p3;
    float *params, *grads, *m, *v; // (n_params) each
    size_t n_params;
    float *w1, *b1, *w2, *b2, *w3, *b3, *w4, *b4, *w5, *b5;        // views into params
    float *g1, *gb1, *g2, *gb2, *g3, *gb3, *g4, *gb4, *g5, *gb5;   // views into grads
    float *x;                 // (N,1,28,28)
    float *a1, *r1;           // (N,32,28,28)
    float *a2, *r2;           // (N,64,28,28)
    float *p2o;               // (N,64,14,14)
    float *a3, *r3;           // (N,128,14,14)
    float *p3o;               // (N,128,7,7) = (N,6272)
    float *a4, *r4;           // (N,256)
    float *a5, *probs, *dl;   // (N,2)
    int32_t *labels;          // (N)
    void *owned[64];          // every backend buffer, freed at the end
    int n_owned;
    float *d_r4, *d_a4;       // (N,256)
    float *d_p3;              // (N,6272)
    float *d_r3, *d_a3;       // (N,128,14,14)
    float *d_p2;              // (N,64,14,14)
    float *d_r2, *d_a2;       // (N,64,28,28)
    float *d_r1, *d_a1;       // (N,32,28,28)
} bench;

/* bytes of zeroed backend memory, remembered for freeing at the end */
static void *bmem(bench *b, size_t bytes) {
    void *p = b->be.ops->alloc(b->be.ctx, bytes);
    if (!p || b->n_owned == (int)(sizeof b->owned / sizeof *b->owned)) {
        fprintf(stderr, "bench_cpu_ops: out of memory (%zu bytes)\n", bytes);
        exit(1);
    }
    b->owned[b->n_owned++] = p;
    return p;
}

static float *balloc(bench *b, size_t count) { return bmem(b, count * sizeof(float)); }

static wn_conv_desc conv3x3(int n, int c, int hw, int oc) {
    wn_conv_desc d = {.n = n, .c = c, .h = hw, .w = hw, .oc = oc, .kh = 3, .kw = 3, .sh = 1,
                      .sw = 1, .ph = 1, .pw = 1, .oh = hw, .ow = hw};
    return d;
}

static wn_pool_desc maxpool2(int n, int c, int hw) {
    wn_pool_desc d = {.mode = WN_POOL_MAX, .n = n, .c = c, .h = hw, .w = hw, .kh = 2, .kw = 2,
                      .sh = 2, .sw = 2, .oh = hw / 2, .ow = hw / 2};
    return d;
}

static void setup(bench *b, int n) {
    b->o = b->be.ops;
    b->ctx = b->be.ctx;
    b->n = n;
    b->c1 = conv3x3(n, 1, 28, 32);
    b->c2 = conv3x3(n, 32, 28, 64);
    b->c3 = conv3x3(n, 64, 14, 128);
    b->p2 = maxpool2(n, 64, 28);
    b->p3 = maxpool2(n, 128, 14);
    size_t sizes[10] = {32 * 9, 32, 64 * 32 * 9, 64, 128 * 64 * 9, 128, 256 * 6272, 256, 2 * 256, 2};
    size_t fan_in[10] = {9, 9, 288, 288, 576, 576, 6272, 6272, 256, 256};
    b->n_params = 0;
    for (int i = 0; i < 10; i++) b->n_params += sizes[i];
    b->params = balloc(b, b->n_params);
    b->grads = balloc(b, b->n_params);
    b->m = balloc(b, b->n_params);
    b->v = balloc(b, b->n_params);
    float **pv[10] = {&b->w1, &b->b1, &b->w2, &b->b2, &b->w3, &b->b3, &b->w4, &b->b4, &b->w5, &b->b5};
    float **gv[10] = {&b->g1, &b->gb1, &b->g2, &b->gb2, &b->g3, &b->gb3, &b->g4, &b->gb4, &b->g5, &b->gb5};
    wn_rng rng;
    wn_rng_seed(&rng, 42, 1);
    float *host = malloc(sizeof(float) * b->n_params);
    size_t off = 0;
    for (int i = 0; i < 10; i++) {
        *pv[i] = b->params + off;
        *gv[i] = b->grads + off;
        float bound = 1.0f / sqrtf((float)fan_in[i]);
        for (size_t k = 0; k < sizes[i]; k++) host[off + k] = (2 * wn_rng_uniform(&rng) - 1) * bound;
        off += sizes[i];
    }
    wn_err e = {0};
    b->o->upload(b->ctx, b->params, host, sizeof(float) * b->n_params, &e);
    free(host);

    size_t s0 = (size_t)n * 784, s1 = (size_t)n * 32 * 784, s2 = (size_t)n * 64 * 784,
           s2p = (size_t)n * 64 * 196, s3 = (size_t)n * 128 * 196, s3p = (size_t)n * 6272,
           s4 = (size_t)n * 256, s5 = (size_t)n * 2;
    b->x = balloc(b, s0);
    b->a1 = balloc(b, s1), b->r1 = balloc(b, s1), b->d_r1 = balloc(b, s1), b->d_a1 = balloc(b, s1);
    b->a2 = balloc(b, s2), b->r2 = balloc(b, s2), b->d_r2 = balloc(b, s2), b->d_a2 = balloc(b, s2);
    b->p2o = balloc(b, s2p), b->d_p2 = balloc(b, s2p);
    b->a3 = balloc(b, s3), b->r3 = balloc(b, s3), b->d_r3 = balloc(b, s3), b->d_a3 = balloc(b, s3);
    b->p3o = balloc(b, s3p), b->d_p3 = balloc(b, s3p);
    b->a4 = balloc(b, s4), b->r4 = balloc(b, s4), b->d_r4 = balloc(b, s4), b->d_a4 = balloc(b, s4);
    b->a5 = balloc(b, s5), b->probs = balloc(b, s5), b->dl = balloc(b, s5);
    b->labels = bmem(b, sizeof(int32_t) * n);
    float *hx = malloc(sizeof(float) * s0);
    int32_t *hl = malloc(sizeof(int32_t) * n);
    for (size_t i = 0; i < s0; i++) hx[i] = wn_rng_normal(&rng);
    for (int i = 0; i < n; i++) hl[i] = (int32_t)wn_rng_below(&rng, 2);
    b->o->upload(b->ctx, b->x, hx, sizeof(float) * s0, &e);
    b->o->upload(b->ctx, b->labels, hl, sizeof(int32_t) * n, &e);
    free(hx);
    free(hl);
}

/* One training step; adds each op's seconds to t[OP_*]. */
static double step(bench *b, int t_adam, double *t) {
    const wn_backend_ops *o = b->o;
    void *c = b->ctx;
    const int n = b->n;
    const size_t s1 = (size_t)n * 32 * 784, s2 = (size_t)n * 64 * 784, s3 = (size_t)n * 128 * 196,
                 s4 = (size_t)n * 256;
    double loss = 0, t0 = now_s(), t1;
#define TIMED(op, call)                                                                    \
    do {                                                                                   \
        call;                                                                              \
        o->sync(c);                                                                        \
        t1 = now_s();                                                                      \
        t[op] += t1 - t0;                                                                  \
        t0 = t1;                                                                           \
    } while (0)
    TIMED(OP_C1F, o->conv_forward(c, &b->c1, b->x, b->w1, b->b1, b->a1));
    TIMED(OP_R1F, o->act_forward(c, WN_ACT_RELU, 0, s1, b->a1, b->r1));
    TIMED(OP_C2F, o->conv_forward(c, &b->c2, b->r1, b->w2, b->b2, b->a2));
    TIMED(OP_R2F, o->act_forward(c, WN_ACT_RELU, 0, s2, b->a2, b->r2));
    TIMED(OP_P2F, o->pool_forward(c, &b->p2, b->r2, b->p2o));
    TIMED(OP_C3F, o->conv_forward(c, &b->c3, b->p2o, b->w3, b->b3, b->a3));
    TIMED(OP_R3F, o->act_forward(c, WN_ACT_RELU, 0, s3, b->a3, b->r3));
    TIMED(OP_P3F, o->pool_forward(c, &b->p3, b->r3, b->p3o));
    TIMED(OP_D1F, o->dense_forward(c, n, 6272, 256, b->p3o, b->w4, b->b4, b->a4));
    TIMED(OP_R4F, o->act_forward(c, WN_ACT_RELU, 0, s4, b->a4, b->r4));
    TIMED(OP_D2F, o->dense_forward(c, n, 256, 2, b->r4, b->w5, b->b5, b->a5));
    TIMED(OP_LOSS, o->softmax_xent(c, n, 2, b->a5, b->labels, NULL, NULL, b->probs, b->dl, &loss));
    TIMED(OP_D2B, o->dense_backward(c, n, 256, 2, b->r4, b->w5, b->dl, b->d_r4, b->g5, b->gb5));
    TIMED(OP_R4B, o->act_backward(c, WN_ACT_RELU, 0, s4, b->a4, b->d_r4, b->d_a4));
    TIMED(OP_D1B, o->dense_backward(c, n, 6272, 256, b->p3o, b->w4, b->d_a4, b->d_p3, b->g4, b->gb4));
    TIMED(OP_P3B, o->pool_backward(c, &b->p3, b->r3, b->p3o, b->d_p3, b->d_r3));
    TIMED(OP_R3B, o->act_backward(c, WN_ACT_RELU, 0, s3, b->a3, b->d_r3, b->d_a3));
    TIMED(OP_C3B, o->conv_backward(c, &b->c3, b->p2o, b->w3, b->d_a3, b->d_p2, b->g3, b->gb3));
    TIMED(OP_P2B, o->pool_backward(c, &b->p2, b->r2, b->p2o, b->d_p2, b->d_r2));
    TIMED(OP_R2B, o->act_backward(c, WN_ACT_RELU, 0, s2, b->a2, b->d_r2, b->d_a2));
    TIMED(OP_C2B, o->conv_backward(c, &b->c2, b->r1, b->w2, b->d_a2, b->d_r1, b->g2, b->gb2));
    TIMED(OP_R1B, o->act_backward(c, WN_ACT_RELU, 0, s1, b->a1, b->d_r1, b->d_a1));
    TIMED(OP_C1B, o->conv_backward(c, &b->c1, b->x, b->w1, b->d_a1, NULL, b->g1, b->gb1));
    TIMED(OP_ADAM, o->adam_update(c, b->n_params, b->params, b->grads, b->m, b->v, 1e-3f, 0.9f,
                                  0.999f, 1e-8f, 0, 0, t_adam));
#undef TIMED
    return loss;
}

int main(int argc, char **argv) {
    int threads = 0, batch = 128, iters = 10, warmup = 2, blas_threads = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int *dst = !strcmp(a, "--threads") ? &threads : !strcmp(a, "--batch") ? &batch
                   : !strcmp(a, "--iters") ? &iters : !strcmp(a, "--warmup") ? &warmup
                   : !strcmp(a, "--blas-threads") ? &blas_threads : NULL;
        if (!dst || i + 1 >= argc) {
            fprintf(stderr, "usage: %s [--threads N] [--batch N] [--iters N] [--warmup N] "
                            "[--blas-threads N]\n", argv[0]);
            return 2;
        }
        *dst = atoi(argv[++i]);
    }
    if (batch < 1 || iters < 1 || warmup < 0) {
        fprintf(stderr, "bench_cpu_ops: batch and iters must be >= 1\n");
        return 2;
    }
    bench b;
    memset(&b, 0, sizeof b);
    wn_err e = {0};
    if (wn_cpu_backend_create(threads, &b.be, &e) != WN_OK) {
        fprintf(stderr, "bench_cpu_ops: %s\n", e.msg);
        return 1;
    }
    if (blas_threads > 0) openblas_set_num_threads(blas_threads);
    setup(&b, batch);
    double *t = calloc(OP_N, sizeof *t), *sum = calloc(OP_N, sizeof *sum);
    double *steps = calloc((size_t)iters, sizeof *steps);
    double **per_op = calloc(OP_N, sizeof *per_op);
    for (int k = 0; k < OP_N; k++) per_op[k] = calloc((size_t)iters, sizeof(double));
    int tstep = 1;
    double loss = 0;
    for (int i = 0; i < warmup; i++) loss = step(&b, tstep++, t);
    for (int i = 0; i < iters; i++) {
        memset(t, 0, sizeof(double) * OP_N);
        double t0 = now_s();
        loss = step(&b, tstep++, t);
        steps[i] = now_s() - t0;
        for (int k = 0; k < OP_N; k++) per_op[k][i] = t[k], sum[k] += t[k];
    }
    double med = median(steps, iters);
    printf("bench_cpu_ops: 3-conv net, batch %d, backend threads %d (0 = all cores), OpenBLAS threads %d, "
           "OpenBLAS core %s\n", batch, threads, openblas_get_num_threads(),
           openblas_get_corename());
    printf("train step (fwd+bwd+adam): median %.2f ms over %d iterations (min %.2f), "
           "%.1f images/s; last loss %.4f\n", med * 1e3, iters, steps[0] * 1e3, batch / med, loss);
    double total = 0;
    for (int k = 0; k < OP_N; k++) total += sum[k];
    printf("%-20s %10s %7s\n", "op", "median ms", "share");
    for (int k = 0; k < OP_N; k++)
        printf("%-20s %10.3f %6.1f%%\n", op_names[k], median(per_op[k], iters) * 1e3,
               100 * sum[k] / total);
    for (int k = 0; k < OP_N; k++) free(per_op[k]);
    free(per_op);
    free(steps);
    free(t);
    free(sum);
    for (int i = 0; i < b.n_owned; i++) b.be.ops->free(b.be.ctx, b.owned[i]);
    wn_backend_free(&b.be);
    return 0;
}
