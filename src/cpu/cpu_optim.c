/* cpu_optim.c - SGD (momentum, Nesterov, L2 weight decay) and Adam/AdamW updates on the CPU with
 * PyTorch's update equations, one pass over the parameters split over the context's threads. */
#include <assert.h>
#include <math.h>

#include "cpu_ctx.h"
#include "cpu_ops.h"

typedef struct optim_job {
    int adam, nesterov, decoupled;
    size_t count;
    float *w, *m, *v;   // (count) parameters and optimizer state (m: Adam only)
    const float *g;     // (count) gradients
    float lr, momentum, beta1, beta2, eps, wd;
    float step_size, bc2_sqrt; /* Adam: lr / (1 - beta1^t), sqrt(1 - beta2^t) */
} optim_job;

static void sgd_range(const optim_job *j, size_t b, size_t e) {
    float *w = j->w, *v = j->v;
    const float *g = j->g;
    const float lr = j->lr, mu = j->momentum, wd = j->wd;
    if (mu == 0 || !v) {
        for (size_t i = b; i < e; i++) w[i] -= lr * (g[i] + wd * w[i]);
        return;
    }
    for (size_t i = b; i < e; i++) {
        float gi = g[i] + wd * w[i];
        float vi = mu * v[i] + gi;
        v[i] = vi;
        w[i] -= lr * (j->nesterov ? gi + mu * vi : vi);
    }
}

static void adam_range(const optim_job *j, size_t b, size_t e) {
    float *w = j->w, *m = j->m, *v = j->v;
    const float *g = j->g;
    const float b1 = j->beta1, b2 = j->beta2, eps = j->eps, wd = j->wd;
    const float decay = j->decoupled ? 1 - j->lr * wd : 1, l2 = j->decoupled ? 0 : wd;
    const float step = j->step_size, bc2_sqrt = j->bc2_sqrt;
    for (size_t i = b; i < e; i++) {
        float wi = w[i] * decay;
        float gi = g[i] + l2 * w[i];
        float mi = b1 * m[i] + (1 - b1) * gi;
        float vi = b2 * v[i] + (1 - b2) * gi * gi;
        m[i] = mi;
        v[i] = vi;
        w[i] = wi - step * mi / (sqrtf(vi) / bc2_sqrt + eps);
    }
}

static void optim_task(void *arg, int tid, int nth) {
    optim_job *j = arg;
    size_t b, e;
    wn_cpu_split(j->count, tid, nth, &b, &e);
    if (j->adam)
        adam_range(j, b, e);
    else
        sgd_range(j, b, e);
}

void wn_cpu_sgd_update(void *ctx, size_t count, float *w, const float *g, float *v, float lr,
                       float momentum, int nesterov, float wd) {
    optim_job j = {.count = count, .w = w, .g = g, .v = v, .lr = lr, .momentum = momentum,
                   .nesterov = nesterov, .wd = wd};
    wn_cpu_run(ctx, wn_cpu_nth(ctx, count, WN_CPU_ELEM_GRAIN), optim_task, &j);
}

void wn_cpu_adam_update(void *ctx, size_t count, float *w, const float *g, float *m, float *v,
                        float lr, float beta1, float beta2, float eps, float wd, int decoupled,
                        int t) {
    assert(t >= 1);
    double bc1 = 1 - pow((double)beta1, t), bc2 = 1 - pow((double)beta2, t);
    optim_job j = {.adam = 1, .count = count, .w = w, .g = g, .m = m, .v = v, .lr = lr,
                   .beta1 = beta1, .beta2 = beta2, .eps = eps, .wd = wd, .decoupled = decoupled,
                   .step_size = (float)(lr / bc1), .bc2_sqrt = (float)sqrt(bc2)};
    wn_cpu_run(ctx, wn_cpu_nth(ctx, count, WN_CPU_ELEM_GRAIN), optim_task, &j);
}
