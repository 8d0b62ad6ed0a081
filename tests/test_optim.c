/* test_optim.c - the CPU backend's SGD (plain, momentum, Nesterov, weight decay) and Adam/AdamW
 * updates against a scalar double reference written from PyTorch's update equations
 * (torch.optim.SGD with dampening 0, torch.optim.Adam and AdamW, amsgrad off), over several
 * steps with changing gradients; plus Adam's first step, which moves every weight by lr in the
 * direction of -sign(g) whatever the gradient's size. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "wn_backend.h"
#include "wn_rng.h"
#include "wn_test.h"

enum { N = 70001, STEPS = 6 }; /* enough values for the update to be split over threads */

static wn_backend B;

typedef struct sgd_cfg {
    double lr, momentum, wd;
    int nesterov;
} sgd_cfg;

typedef struct adam_cfg {
    double lr, beta1, beta2, eps, wd;
    int decoupled;
} adam_cfg;

/* torch.optim.SGD for one value at step t (1-based); buf is the momentum buffer. */
static void ref_sgd(const sgd_cfg *c, int t, double *w, double g, double *buf) {
    double d = g + c->wd * *w;
    if (c->momentum != 0) {
        *buf = t == 1 ? d : c->momentum * *buf + d;
        d = c->nesterov ? d + c->momentum * *buf : *buf;
    }
    *w -= c->lr * d;
}

/* torch.optim.Adam (decoupled 0) / AdamW (decoupled 1) for one value at step t (1-based). */
static void ref_adam(const adam_cfg *c, int t, double *w, double g, double *m, double *v) {
    if (c->decoupled)
        *w *= 1 - c->lr * c->wd;
    else
        g += c->wd * *w;
    *m = c->beta1 * *m + (1 - c->beta1) * g;
    *v = c->beta2 * *v + (1 - c->beta2) * g * g;
    double bc1 = 1 - pow(c->beta1, t), bc2 = 1 - pow(c->beta2, t);
    double denom = sqrt(*v) / sqrt(bc2) + c->eps;
    *w -= c->lr / bc1 * *m / denom;
}

static float *dev(const float *h, size_t n) {
    wn_err e = {0};
    float *d = wn_balloc(&B, n, "test", &e);
    if (h) B.ops->upload(B.ctx, d, h, sizeof(float) * n, &e);
    return d;
}

static void down(float *h, const float *d, size_t n) {
    wn_err e = {0};
    B.ops->download(B.ctx, h, d, sizeof(float) * n, &e);
}

/* Worst error of an update over n values, relative to the magnitudes it involves:
 * |got - want| / (|want| + |prev| + |want - prev| + extra), prev being the value before the step
 * and extra (NULL = 0) the size of terms that may cancel inside it (float rounding of a sum near
 * zero is relative to its operands, not to the result). */
static double worst_rel(const float *got, const double *want, const float *prev,
                        const double *extra, size_t n, size_t *at) {
    double worst = 0;
    for (size_t i = 0; i < n; i++) {
        double scale = fabs(want[i]) + fabs(prev[i]) + fabs(want[i] - prev[i]) + 1e-30;
        if (extra) scale += extra[i];
        double r = fabs(got[i] - want[i]) / scale;
        if (r > worst) worst = r, *at = i;
    }
    return worst;
}

/* The hyperparameters as the backend receives them (rounded to float). */
static sgd_cfg sgd_as_float(sgd_cfg c) {
    c.lr = (float)c.lr, c.momentum = (float)c.momentum, c.wd = (float)c.wd;
    return c;
}

static adam_cfg adam_as_float(adam_cfg c) {
    c.lr = (float)c.lr, c.beta1 = (float)c.beta1, c.beta2 = (float)c.beta2;
    c.eps = (float)c.eps, c.wd = (float)c.wd;
    return c;
}

static void run_sgd(const char *name, sgd_cfg c, int with_buffer) {
    wn_rng r;
    wn_rng_seed(&r, 11, 2);
    float *hw = malloc(sizeof(float) * N), *hg = malloc(sizeof(float) * N);
    double *rw = malloc(sizeof(double) * N), *rb = calloc(N, sizeof(double));
    for (size_t i = 0; i < N; i++) hw[i] = 2 * wn_rng_uniform(&r) - 1, rw[i] = hw[i];
    float *w = dev(hw, N), *g = dev(NULL, N), *v = with_buffer ? dev(NULL, N) : NULL;
    float *prev = malloc(sizeof(float) * N), *hv = malloc(sizeof(float) * N);
    c = sgd_as_float(c);
    for (int t = 1; t <= STEPS; t++) {
        for (size_t i = 0; i < N; i++) hg[i] = 2 * wn_rng_uniform(&r) - 1;
        down(hw, w, N); /* the reference steps from exactly what the backend holds */
        memcpy(prev, hw, sizeof(float) * N);
        for (size_t i = 0; i < N; i++) hv[i] = (float)rb[i];
        for (size_t i = 0; i < N; i++) {
            rw[i] = hw[i];
            ref_sgd(&c, t, &rw[i], hg[i], &rb[i]);
        }
        wn_err e = {0};
        B.ops->upload(B.ctx, g, hg, sizeof(float) * N, &e);
        B.ops->sgd_update(B.ctx, N, w, g, v, (float)c.lr, (float)c.momentum, c.nesterov,
                          (float)c.wd);
        down(hw, w, N);
        size_t at = 0;
        double err = worst_rel(hw, rw, prev, NULL, N, &at);
        CHECK_MSG(err < 1e-5, "%s step %d: relative error %.3g at %zu (%.9g vs %.9g)", name, t,
                  err, at, hw[at], rw[at]);
        if (with_buffer) { /* keep the reference's buffer on the backend's float values */
            float *got = malloc(sizeof(float) * N);
            down(got, v, N);
            size_t at2 = 0;
            double err2 = worst_rel(got, rb, hv, NULL, N, &at2);
            CHECK_MSG(err2 < 1e-5, "%s step %d: momentum buffer error %.3g", name, t, err2);
            for (size_t i = 0; i < N; i++) rb[i] = got[i];
            free(got);
        }
    }
    free(prev), free(hv);
    B.ops->free(B.ctx, w), B.ops->free(B.ctx, g);
    if (v) B.ops->free(B.ctx, v);
    free(hw), free(hg), free(rw), free(rb);
}

static void run_adam(const char *name, adam_cfg c) {
    wn_rng r;
    wn_rng_seed(&r, 12, 3);
    float *hw = malloc(sizeof(float) * N), *hg = malloc(sizeof(float) * N),
          *hm = malloc(sizeof(float) * N), *hv = malloc(sizeof(float) * N);
    double *rw = malloc(sizeof(double) * N), *rm = calloc(N, sizeof(double)),
           *rv = calloc(N, sizeof(double));
    for (size_t i = 0; i < N; i++) hw[i] = 2 * wn_rng_uniform(&r) - 1;
    float *w = dev(hw, N), *g = dev(NULL, N), *m = dev(NULL, N), *v = dev(NULL, N);
    float *pw = malloc(sizeof(float) * N), *pm = malloc(sizeof(float) * N),
          *pv = malloc(sizeof(float) * N);
    double *em_x = malloc(sizeof(double) * N), *ev_x = malloc(sizeof(double) * N);
    const adam_cfg cf = adam_as_float(c);
    for (int t = 1; t <= STEPS; t++) {
        /* gradients of very different sizes, as in a real network */
        for (size_t i = 0; i < N; i++)
            hg[i] = (2 * wn_rng_uniform(&r) - 1) * (i % 3 == 0 ? 1e-3f : i % 3 == 1 ? 1 : 50);
        down(pw, w, N), down(pm, m, N), down(pv, v, N);
        for (size_t i = 0; i < N; i++) {
            rw[i] = pw[i], rm[i] = pm[i], rv[i] = pv[i];
            ref_adam(&cf, t, &rw[i], hg[i], &rm[i], &rv[i]);
        }
        wn_err e = {0};
        B.ops->upload(B.ctx, g, hg, sizeof(float) * N, &e);
        B.ops->adam_update(B.ctx, N, w, g, m, v, (float)c.lr, (float)c.beta1, (float)c.beta2,
                           (float)c.eps, (float)c.wd, c.decoupled, t);
        down(hw, w, N), down(hm, m, N), down(hv, v, N);
        size_t at = 0;
        double ew = worst_rel(hw, rw, pw, NULL, N, &at);
        CHECK_MSG(ew < 1e-5, "%s step %d: w relative error %.3g at %zu (%.9g vs %.9g)", name, t,
                  ew, at, hw[at], rw[at]);
        /* L2 decay: g + wd*w may cancel; its operands bound the moments' rounding */
        for (size_t i = 0; i < N; i++) {
            double ops = fabs(hg[i]) + (cf.decoupled ? 0 : cf.wd * fabs(pw[i]));
            em_x[i] = (1 - cf.beta1) * ops;
            ev_x[i] = (1 - cf.beta2) * ops * ops;
        }
        double em = worst_rel(hm, rm, pm, em_x, N, &at), ev = worst_rel(hv, rv, pv, ev_x, N, &at);
        CHECK_MSG(em < 1e-5 && ev < 1e-5, "%s step %d: moment errors %.3g %.3g", name, t, em, ev);
    }
    B.ops->free(B.ctx, w), B.ops->free(B.ctx, g), B.ops->free(B.ctx, m), B.ops->free(B.ctx, v);
    free(hw), free(hg), free(hm), free(hv), free(rw), free(rm), free(rv);
    free(pw), free(pm), free(pv), free(em_x), free(ev_x);
}

/* Adam's first step: m/(1-b1) = g and sqrt(v/(1-b2)) = |g|, so w moves by lr*g/(|g| + eps). */
static void adam_first_step(void) {
    const float hg[4] = {1e-2f, -3.0f, 250.0f, -1e-4f}, hw0[4] = {0.5f, 0.5f, -0.5f, 0};
    float *w = dev(hw0, 4), *g = dev(hg, 4), *m = dev(NULL, 4), *v = dev(NULL, 4), hw[4];
    B.ops->adam_update(B.ctx, 4, w, g, m, v, 0.01f, 0.9f, 0.999f, 1e-8f, 0, 0, 1);
    down(hw, w, 4);
    for (int i = 0; i < 4; i++)
        CHECK_CLOSE(hw[i], hw0[i] - 0.01 * hg[i] / (fabs(hg[i]) + 1e-8), 1e-7, 1e-6);
    B.ops->free(B.ctx, w), B.ops->free(B.ctx, g), B.ops->free(B.ctx, m), B.ops->free(B.ctx, v);
}

/* Plain SGD by hand: w = 1, g = 0.5, lr 0.1, wd 0.2 -> w = 1 - 0.1*(0.5 + 0.2) = 0.93. */
static void sgd_by_hand(void) {
    const float one = 1, half = 0.5f;
    float *w = dev(&one, 1), *g = dev(&half, 1), *v = dev(NULL, 1), h;
    B.ops->sgd_update(B.ctx, 1, w, g, NULL, 0.1f, 0, 0, 0.2f);
    down(&h, w, 1);
    CHECK_CLOSE(h, 0.93, 1e-7, 0);
    /* momentum 0.9, Nesterov, from w = 0.93: d = 0.5 + 0.2*0.93 = 0.686, buf = 0.686,
     * step = d + 0.9*buf = 1.3034 -> w = 0.93 - 0.13034 = 0.79966 */
    B.ops->sgd_update(B.ctx, 1, w, g, v, 0.1f, 0.9f, 1, 0.2f);
    down(&h, w, 1);
    CHECK_CLOSE(h, 0.79966, 1e-6, 0);
    B.ops->free(B.ctx, w), B.ops->free(B.ctx, g), B.ops->free(B.ctx, v);
}

int main(void) {
    const int threads[2] = {1, 2};
    for (int k = 0; k < 2; k++) {
        wn_err e = {0};
        if (wn_cpu_backend_create(threads[k], &B, &e) != WN_OK) {
            fprintf(stderr, "cannot create the CPU backend: %s\n", e.msg);
            return 1;
        }
        sgd_by_hand();
        run_sgd("sgd plain", (sgd_cfg){.lr = 0.1}, 0);
        run_sgd("sgd plain, buffer given", (sgd_cfg){.lr = 0.1}, 1);
        run_sgd("sgd weight decay", (sgd_cfg){.lr = 0.05, .wd = 1e-2}, 0);
        run_sgd("sgd momentum", (sgd_cfg){.lr = 0.05, .momentum = 0.9}, 1);
        run_sgd("sgd nesterov", (sgd_cfg){.lr = 0.05, .momentum = 0.9, .nesterov = 1}, 1);
        run_sgd("sgd nesterov + wd",
                (sgd_cfg){.lr = 0.02, .momentum = 0.8, .nesterov = 1, .wd = 5e-4}, 1);
        adam_first_step();
        run_adam("adam", (adam_cfg){.lr = 1e-3, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8});
        run_adam("adam L2", (adam_cfg){.lr = 1e-2, .beta1 = 0.8, .beta2 = 0.99, .eps = 1e-6,
                                       .wd = 0.1});
        run_adam("adamw", (adam_cfg){.lr = 1e-2, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8,
                                     .wd = 0.05, .decoupled = 1});
        /* strong decay, so that the decoupled term dominates the step */
        run_adam("adamw strong decay", (adam_cfg){.lr = 0.05, .beta1 = 0.9, .beta2 = 0.99,
                                                  .eps = 1e-8, .wd = 2, .decoupled = 1});
        wn_backend_free(&B);
    }
    return wn_test_done();
}
