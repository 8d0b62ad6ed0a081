/* cpu_norm.c - batch normalisation on the CPU (train, eval, backward): channels split over the
 * context's threads, each channel done by cpu_k_norm.h. */
#include "cpu_ctx.h"
#include "cpu_k_norm.h"
#include "cpu_ops.h"

enum { BN_TRAIN, BN_EVAL, BN_BACKWARD };

typedef struct bn_job {
    int op, n, c, hw;
    float momentum, eps;
    const float *x, *gamma, *beta, *dy;  // x, dy (N,C,HW); gamma, beta (C)
    const float *mean, *var;             // (C) running (eval) or saved mean / invstd (backward)
    float *run_mean, *run_var;           // (C)
    float *save_mean, *save_invstd;      // (C)
    float *y, *dx, *dgamma, *dbeta;      // y, dx (N,C,HW); dgamma, dbeta (C)
} bn_job;

static void bn_task(void *arg, int tid, int nth) {
    bn_job *j = arg;
    size_t b, e;
    wn_cpu_split((size_t)j->c, tid, nth, &b, &e);
    for (int ch = (int)b; ch < (int)e; ch++) {
        if (j->op == BN_TRAIN)
            k_bn_train_channel(j->n, j->c, j->hw, ch, j->x, j->gamma, j->beta, j->momentum, j->eps,
                               j->run_mean, j->run_var, j->save_mean, j->save_invstd, j->y);
        else if (j->op == BN_EVAL)
            k_bn_eval_channel(j->n, j->c, j->hw, ch, j->x, j->gamma, j->beta, j->mean, j->var,
                              j->eps, j->y);
        else
            k_bn_backward_channel(j->n, j->c, j->hw, ch, j->x, j->gamma, j->mean, j->var, j->dy,
                                  j->dx, j->dgamma, j->dbeta);
    }
}

static void bn_run(void *ctx, bn_job *j) {
    size_t per_channel = (size_t)j->n * j->hw;
    size_t grain = WN_CPU_ELEM_GRAIN / (per_channel ? per_channel : 1);
    wn_cpu_run(ctx, wn_cpu_nth(ctx, (size_t)j->c, grain ? grain : 1), bn_task, j);
}

void wn_cpu_bn_forward_train(void *ctx, int n, int c, int hw, const float *x, const float *gamma,
                             const float *beta, float momentum, float eps, float *run_mean,
                             float *run_var, float *save_mean, float *save_invstd, float *y) {
    bn_job j = {.op = BN_TRAIN, .n = n, .c = c, .hw = hw, .momentum = momentum, .eps = eps,
                .x = x, .gamma = gamma, .beta = beta, .run_mean = run_mean, .run_var = run_var,
                .save_mean = save_mean, .save_invstd = save_invstd, .y = y};
    bn_run(ctx, &j);
}

void wn_cpu_bn_forward_eval(void *ctx, int n, int c, int hw, const float *x, const float *gamma,
                            const float *beta, const float *run_mean, const float *run_var,
                            float eps, float *y) {
    bn_job j = {.op = BN_EVAL, .n = n, .c = c, .hw = hw, .eps = eps, .x = x, .gamma = gamma,
                .beta = beta, .mean = run_mean, .var = run_var, .y = y};
    bn_run(ctx, &j);
}

void wn_cpu_bn_backward(void *ctx, int n, int c, int hw, const float *x, const float *gamma,
                        const float *save_mean, const float *save_invstd, const float *dy,
                        float *dx, float *dgamma, float *dbeta) {
    bn_job j = {.op = BN_BACKWARD, .n = n, .c = c, .hw = hw, .x = x, .gamma = gamma,
                .mean = save_mean, .var = save_invstd, .dy = dy, .dx = dx, .dgamma = dgamma,
                .dbeta = dbeta};
    bn_run(ctx, &j);
}
