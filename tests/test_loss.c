/* test_loss.c - the training losses (train/train_loss.c) and the backend's focal_xent op:
 *  - every loss through the real path (wn_loss_create + wn_loss_batch on the float CPU
 *    backend) against its formula written out here independently, on hand-made batches, one of
 *    which lacks a class and one of which holds a single class;
 *  - the logit gradients against central finite differences of that formula (double), and the
 *    bayesian gradient against "the CE gradient of every logit of sample i divided by
 *    K*pi(y_i)";
 *  - the mixup loss (wn_loss_batch_mix) against lam * formula(y) + (1 - lam) * formula(y2) and
 *    its central differences, for five losses and three lam;
 *  - focal_xent in double (cpu_f64) against finite differences for several gamma, with weights
 *    and offsets, the float op against the double one, gamma = 0 equal to softmax_xent, and no
 *    inf or NaN at p_t = 1 for a fractional gamma. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cpu/cpu_f64.h"
#include "wn_backend.h"
#include "wn_test.h"
#include "wn_train.h"

static wn_backend B;

/* ---------------------------------------------------------------- the formulas */

typedef struct batch {
    int m, k;
    const double *z;         /* (m, K) logits */
    const int32_t *y;        /* (m) */
    const double *train_pi;  /* (K) training priors */
} batch;

/* log softmax of row i of z + off (off (K) or NULL), entry j */
static double logp(const batch *b, const double *z, const double *off, int i, int j) {
    double mx = -INFINITY, s = 0;
    for (int c = 0; c < b->k; c++) mx = fmax(mx, z[i * b->k + c] + (off ? off[c] : 0));
    for (int c = 0; c < b->k; c++) s += exp(z[i * b->k + c] + (off ? off[c] : 0) - mx);
    return z[i * b->k + j] + (off ? off[j] : 0) - mx - log(s);
}

/* The loss of cfg on batch b with logits z, straight from the formulas of wn_train.h. */
static double formula(const wn_train_cfg *c, const batch *b, const double *z) {
    int m = b->m, k = b->k;
    double loss = 0;
    switch (c->loss) {
    case WN_LOSS_CE:
        for (int i = 0; i < m; i++) loss -= logp(b, z, NULL, i, b->y[i]) / m;
        return loss;
    case WN_LOSS_BAYESIAN:
        for (int i = 0; i < m; i++) {
            double pi = b->train_pi[b->y[i]];
            if (c->prior == WN_PRIOR_BATCH) {
                int cnt = 0;
                for (int j = 0; j < m; j++) cnt += b->y[j] == b->y[i];
                pi = (double)cnt / m;
            }
            loss -= logp(b, z, NULL, i, b->y[i]) / pi / (k * m);
        }
        return loss;
    case WN_LOSS_WEIGHTED: {
        double num = 0, den = 0;
        for (int i = 0; i < m; i++) {
            double w = 1 / b->train_pi[b->y[i]];
            num -= w * logp(b, z, NULL, i, b->y[i]);
            den += w;
        }
        return num / den;
    }
    case WN_LOSS_LOGIT_ADJUSTED: {
        double off[16];
        for (int j = 0; j < k; j++) off[j] = c->tau * log(b->train_pi[j]);
        for (int i = 0; i < m; i++) loss -= logp(b, z, off, i, b->y[i]) / m;
        return loss;
    }
    case WN_LOSS_FOCAL:
        for (int i = 0; i < m; i++) {
            double lp = logp(b, z, NULL, i, b->y[i]);
            loss -= pow(1 - exp(lp), c->focal_gamma) * lp / m;
        }
        return loss;
    }
    return NAN;
}

/* ---------------------------------------------------------------- the real path */

/* Runs the loss of cfg through wn_loss_batch on the float backend: loss and dlogits (m, K). */
static double real_loss(const wn_train_cfg *c, const batch *b, const long *counts, double *grad) {
    int m = b->m, k = b->k;
    wn_err e = {0};
    wn_loss l;
    CHECK(wn_loss_create(&l, c, counts, k, m, &B, &e) == WN_OK);
    float *zh = malloc(sizeof(float) * m * k), *gh = malloc(sizeof(float) * m * k);
    for (int i = 0; i < m * k; i++) zh[i] = (float)b->z[i];
    float *zd = wn_balloc(&B, (size_t)m * k, "logits", &e), *pd = wn_balloc(&B, (size_t)m * k, "p", &e);
    float *gd = wn_balloc(&B, (size_t)m * k, "g", &e);
    int32_t *yd = B.ops->alloc(B.ctx, sizeof(int32_t) * m);
    B.ops->upload(B.ctx, zd, zh, sizeof(float) * m * k, &e);
    B.ops->upload(B.ctx, yd, b->y, sizeof(int32_t) * m, &e);
    double loss = NAN;
    CHECK(wn_loss_batch(&l, m, b->y, zd, yd, pd, gd, &loss, &e) == WN_OK);
    B.ops->download(B.ctx, gh, gd, sizeof(float) * m * k, &e);
    for (int i = 0; i < m * k; i++) grad[i] = gh[i];
    B.ops->free(B.ctx, zd), B.ops->free(B.ctx, pd), B.ops->free(B.ctx, gd), B.ops->free(B.ctx, yd);
    free(zh), free(gh);
    wn_loss_free(&l);
    return loss;
}

/* The loss of cfg on b: value against the formula, gradient against central differences of
 * the formula, every value finite. */
static void check_loss(const char *what, const wn_train_cfg *c, const batch *b, const long *counts) {
    int n = b->m * b->k;
    double *g = calloc(n, sizeof(double)), *z = malloc(sizeof(double) * n);
    memcpy(z, b->z, sizeof(double) * n);
    double got = real_loss(c, b, counts, g), want = formula(c, b, z);
    CHECK_MSG(isfinite(got) && fabs(got - want) <= 1e-6 * fmax(1, fabs(want)), "%s: loss %.9g, formula %.9g",
              what, got, want);
    double worst = 0;
    int finite = 1;
    for (int i = 0; i < n; i++) {
        finite &= isfinite(g[i]);
        double save = z[i], h = 1e-5;
        z[i] = save + h;
        double lp = formula(c, b, z);
        z[i] = save - h;
        double lm = formula(c, b, z);
        z[i] = save;
        double num = (lp - lm) / (2 * h);
        worst = fmax(worst, fabs(num - g[i]) / fmax(fmax(fabs(num), fabs(g[i])), 1e-3));
    }
    CHECK_MSG(finite, "%s: a gradient entry is inf or NaN", what);
    CHECK_MSG(worst < 2e-4, "%s: float gradient vs finite differences of the formula: %.3g", what, worst);
    free(g), free(z);
}

static void test_losses(void) {
    /* priors of a training set of 60 / 30 / 10 photos */
    const long counts[3] = {60, 30, 10};
    const double pi[3] = {0.6, 0.3, 0.1};
    /* batch A has every class; batch B lacks class 2; batch C is class 0 only */
    const double z[6 * 3] = {2.0, -1.0, 0.5, -0.3, 1.2, 0.1, 0.7, 0.2, -1.5,
                             1.5, 1.4, -0.2, -2.0, 0.3, 0.9, 0.0, 0.05, 3.0};
    const int32_t ya[6] = {0, 1, 0, 2, 1, 0}, yb[6] = {0, 1, 0, 0, 1, 0}, yc[6] = {0, 0, 0, 0, 0, 0};
    const int32_t *ys[3] = {ya, yb, yc};
    const char *bn[3] = {"all classes", "class 2 absent", "class 0 only"};
    struct { int loss, prior; double tau, gamma; const char *name; } L[] = {
        {WN_LOSS_CE, 0, 1, 2, "ce"},
        {WN_LOSS_BAYESIAN, WN_PRIOR_BATCH, 1, 2, "bayesian prior=batch"},
        {WN_LOSS_BAYESIAN, WN_PRIOR_TRAIN, 1, 2, "bayesian prior=train"},
        {WN_LOSS_WEIGHTED, 0, 1, 2, "weighted"},
        {WN_LOSS_LOGIT_ADJUSTED, 0, 1, 2, "logit-adjusted tau=1"},
        {WN_LOSS_LOGIT_ADJUSTED, 0, 0.5, 2, "logit-adjusted tau=0.5"},
        {WN_LOSS_FOCAL, 0, 1, 2, "focal gamma=2"},
        {WN_LOSS_FOCAL, 0, 1, 0.5, "focal gamma=0.5"},
    };
    for (size_t l = 0; l < sizeof L / sizeof L[0]; l++)
        for (int bi = 0; bi < 3; bi++) {
            wn_train_cfg c;
            wn_train_cfg_defaults(&c);
            c.loss = L[l].loss, c.prior = L[l].prior, c.tau = L[l].tau, c.focal_gamma = L[l].gamma;
            batch b = {6, 3, z, ys[bi], pi};
            char what[128];
            snprintf(what, sizeof what, "%s, batch %s", L[l].name, bn[bi]);
            check_loss(what, &c, &b, counts);
        }

    /* bayesian (batch priors): every logit gradient of sample i is the CE one / (K pi_b(y_i)) */
    wn_train_cfg ce, by;
    wn_train_cfg_defaults(&ce);
    wn_train_cfg_defaults(&by);
    by.loss = WN_LOSS_BAYESIAN;
    batch b = {6, 3, z, yb, pi};
    double gce[18], gby[18];
    real_loss(&ce, &b, counts, gce);
    real_loss(&by, &b, counts, gby);
    int cnt[3] = {0, 0, 0};
    for (int i = 0; i < 6; i++) cnt[yb[i]]++;
    for (int i = 0; i < 6; i++)
        for (int j = 0; j < 3; j++)
            CHECK_CLOSE(gby[i * 3 + j], gce[i * 3 + j] / (3 * (double)cnt[yb[i]] / 6), 1e-7, 1e-5);

    /* the host weights: a class absent from the batch is never divided by */
    float w[6];
    CHECK(wn_loss_weights(WN_LOSS_BAYESIAN, WN_PRIOR_BATCH, 3, 6, yb, pi, w) == 1);
    for (int i = 0; i < 6; i++) CHECK(isfinite(w[i]) && w[i] > 0);
    CHECK_CLOSE(w[0], 1.0 / (3 * 4), 0, 1e-6); /* class 0: 4 of 6 */
    CHECK_CLOSE(w[1], 1.0 / (3 * 2), 0, 1e-6);
    CHECK(wn_loss_weights(WN_LOSS_CE, 0, 3, 6, yb, pi, w) == 0);
    float off[3];
    CHECK(wn_loss_offsets(WN_LOSS_LOGIT_ADJUSTED, 2.0, 3, pi, off) == 1);
    CHECK_CLOSE(off[2], 2 * log(0.1), 0, 1e-6);
    CHECK(wn_loss_offsets(WN_LOSS_BAYESIAN, 1.0, 3, pi, off) == 0);

    /* a class without training photos keeps every weight and offset finite */
    const long gap[3] = {60, 40, 0};
    wn_train_cfg wc;
    wn_train_cfg_defaults(&wc);
    wc.loss = WN_LOSS_WEIGHTED;
    double g[18];
    batch bg = {6, 3, z, yb, pi};
    CHECK(isfinite(real_loss(&wc, &bg, gap, g)));
    wc.loss = WN_LOSS_LOGIT_ADJUSTED;
    CHECK(isfinite(real_loss(&wc, &bg, gap, g)));
    CHECK(!strcmp(wn_loss_name(WN_LOSS_LOGIT_ADJUSTED), "logit-adjusted"));
}

/* ---------------------------------------------------------------- the mixup loss */

/* wn_loss_batch_mix against lam * formula(y) + (1 - lam) * formula(y2), value and gradient
 * (central differences of that combination). */
static void check_mix_loss(const char *what, const wn_train_cfg *c0, const batch *b, const int32_t *y2,
                           double lam, const long *counts) {
    int m = b->m, k = b->k, n = m * k;
    wn_train_cfg c = *c0;
    c.mixup = 0.4;
    wn_err e = {0};
    wn_loss l;
    CHECK(wn_loss_create(&l, &c, counts, k, m, &B, &e) == WN_OK);
    float *zh = malloc(sizeof(float) * n), *gh = malloc(sizeof(float) * n);
    for (int i = 0; i < n; i++) zh[i] = (float)b->z[i];
    float *zd = wn_balloc(&B, (size_t)n, "logits", &e), *pd = wn_balloc(&B, (size_t)n, "p", &e);
    float *gd = wn_balloc(&B, (size_t)n, "g", &e), *g2 = wn_balloc(&B, (size_t)n, "g2", &e);
    int32_t *yd = B.ops->alloc(B.ctx, sizeof(int32_t) * m), *y2d = B.ops->alloc(B.ctx, sizeof(int32_t) * m);
    B.ops->upload(B.ctx, zd, zh, sizeof(float) * n, &e);
    B.ops->upload(B.ctx, yd, b->y, sizeof(int32_t) * m, &e);
    B.ops->upload(B.ctx, y2d, y2, sizeof(int32_t) * m, &e);
    double got = NAN;
    CHECK(wn_loss_batch_mix(&l, m, b->y, y2, (float)lam, zd, yd, y2d, pd, gd, g2, &got, &e) == WN_OK);
    B.ops->download(B.ctx, gh, gd, sizeof(float) * n, &e);
    batch b2 = *b;
    b2.y = y2;
    float lf = (float)lam; /* the op gets lam as a float */
    double *z = malloc(sizeof(double) * n);
    memcpy(z, b->z, sizeof(double) * n);
    double want = lf * formula(&c, b, z) + (1 - (double)lf) * formula(&c, &b2, z);
    CHECK_MSG(isfinite(got) && fabs(got - want) <= 1e-6 * fmax(1, fabs(want)), "%s: mixup loss %.9g, formula %.9g",
              what, got, want);
    double worst = 0;
    for (int i = 0; i < n; i++) {
        double save = z[i], h = 1e-5;
        z[i] = save + h;
        double lp = lf * formula(&c, b, z) + (1 - (double)lf) * formula(&c, &b2, z);
        z[i] = save - h;
        double lm = lf * formula(&c, b, z) + (1 - (double)lf) * formula(&c, &b2, z);
        z[i] = save;
        double num = (lp - lm) / (2 * h);
        worst = fmax(worst, fabs(num - gh[i]) / fmax(fmax(fabs(num), fabs(gh[i])), 1e-3));
    }
    CHECK_MSG(worst < 2e-4, "%s: mixup gradient vs finite differences: %.3g", what, worst);
    B.ops->free(B.ctx, zd), B.ops->free(B.ctx, pd), B.ops->free(B.ctx, gd), B.ops->free(B.ctx, g2);
    B.ops->free(B.ctx, yd), B.ops->free(B.ctx, y2d);
    free(zh), free(gh), free(z);
    wn_loss_free(&l);
}

static void test_mix_losses(void) {
    const long counts[3] = {60, 30, 10};
    const double pi[3] = {0.6, 0.3, 0.1};
    const double z[6 * 3] = {2.0, -1.0, 0.5, -0.3, 1.2, 0.1, 0.7, 0.2, -1.5,
                             1.5, 1.4, -0.2, -2.0, 0.3, 0.9, 0.0, 0.05, 3.0};
    const int32_t y[6] = {0, 1, 0, 2, 1, 0}, y2[6] = {1, 0, 2, 0, 0, 1}; /* y2: a permutation of y */
    struct { int loss, prior; const char *name; } L[] = {
        {WN_LOSS_CE, 0, "ce"}, {WN_LOSS_BAYESIAN, WN_PRIOR_BATCH, "bayesian prior=batch"},
        {WN_LOSS_WEIGHTED, 0, "weighted"}, {WN_LOSS_LOGIT_ADJUSTED, 0, "logit-adjusted"},
        {WN_LOSS_FOCAL, 0, "focal"}};
    const double lams[3] = {0.73, 0.5, 1.0};
    for (size_t i = 0; i < sizeof L / sizeof L[0]; i++)
        for (int li = 0; li < 3; li++) {
            wn_train_cfg c;
            wn_train_cfg_defaults(&c);
            c.loss = L[i].loss, c.prior = L[i].prior;
            batch b = {6, 3, z, y, pi};
            char what[96];
            snprintf(what, sizeof what, "mixup %s, lam %.2f", L[i].name, lams[li]);
            check_mix_loss(what, &c, &b, y2, lams[li], counts);
        }
}

/* ---------------------------------------------------------------- the focal_xent op */

typedef struct focal_st {
    int n, k;
    double *z, *w, *off, gamma;
    int32_t *y;
} focal_st;

static double focal_value(focal_st *s) {
    double loss;
    wn_cpu64_focal_xent(s->n, s->k, s->z, s->y, s->w, s->off, s->gamma, NULL, NULL, &loss);
    return loss;
}

static void check_focal_op(int n, int k, double gamma, int with_w, int with_off, unsigned seed) {
    wn_rng r;
    wn_rng_seed(&r, seed, 3);
    focal_st s = {n, k, malloc(sizeof(double) * n * k), NULL, NULL, gamma, malloc(sizeof(int32_t) * n)};
    for (int i = 0; i < n * k; i++) s.z[i] = 6 * wn_rng_uniform(&r) - 3;
    for (int i = 0; i < n; i++) s.y[i] = (int32_t)wn_rng_below(&r, (uint32_t)k);
    if (with_w) {
        s.w = malloc(sizeof(double) * n);
        for (int i = 0; i < n; i++) s.w[i] = 0.1 + wn_rng_uniform(&r);
    }
    if (with_off) {
        s.off = malloc(sizeof(double) * k);
        for (int j = 0; j < k; j++) s.off[j] = log(0.05 + wn_rng_uniform(&r));
    }
    double *g = calloc(n * k, sizeof(double)), *p = calloc(n * k, sizeof(double)), loss;
    wn_cpu64_focal_xent(n, k, s.z, s.y, s.w, s.off, gamma, p, g, &loss);
    double worst = 0;
    for (int i = 0; i < n * k; i++) {
        double save = s.z[i], h = 1e-5;
        s.z[i] = save + h;
        double lp = focal_value(&s);
        s.z[i] = save - h;
        double lm = focal_value(&s);
        s.z[i] = save;
        double num = (lp - lm) / (2 * h);
        worst = fmax(worst, fabs(num - g[i]) / fmax(fmax(fabs(num), fabs(g[i])), 1e-3));
    }
    CHECK_MSG(worst < 1e-6, "focal n%d k%d gamma %g w%d off%d: double gradient vs finite differences %.3g",
              n, k, gamma, with_w, with_off, worst);
    /* the float op against the double one */
    wn_err e = {0};
    float *zh = malloc(sizeof(float) * n * k), *wh = malloc(sizeof(float) * n), *oh = malloc(sizeof(float) * k);
    for (int i = 0; i < n * k; i++) zh[i] = (float)s.z[i];
    for (int i = 0; i < n && s.w; i++) wh[i] = (float)s.w[i];
    for (int j = 0; j < k && s.off; j++) oh[j] = (float)s.off[j];
    float *zd = wn_balloc(&B, n * k, "z", &e), *gd = wn_balloc(&B, n * k, "g", &e);
    float *pd = wn_balloc(&B, n * k, "p", &e), *wd = wn_balloc(&B, n, "w", &e), *od = wn_balloc(&B, k, "o", &e);
    int32_t *yd = B.ops->alloc(B.ctx, sizeof(int32_t) * n);
    B.ops->upload(B.ctx, zd, zh, sizeof(float) * n * k, &e);
    B.ops->upload(B.ctx, wd, wh, sizeof(float) * n, &e);
    B.ops->upload(B.ctx, od, oh, sizeof(float) * k, &e);
    B.ops->upload(B.ctx, yd, s.y, sizeof(int32_t) * n, &e);
    double floss = NAN;
    B.ops->focal_xent(B.ctx, n, k, zd, yd, s.w ? wd : NULL, s.off ? od : NULL, (float)gamma, pd, gd, &floss);
    float *gh = malloc(sizeof(float) * n * k), *ph = malloc(sizeof(float) * n * k);
    B.ops->download(B.ctx, gh, gd, sizeof(float) * n * k, &e);
    B.ops->download(B.ctx, ph, pd, sizeof(float) * n * k, &e);
    double gmax = 0, gerr = 0, perr = 0;
    for (int i = 0; i < n * k; i++) {
        gmax = fmax(gmax, fabs(g[i]));
        gerr = fmax(gerr, fabs(gh[i] - g[i]));
        perr = fmax(perr, fabs(ph[i] - p[i]));
    }
    CHECK_MSG(fabs(floss - loss) <= 1e-5 * fabs(loss) && gerr <= 1e-5 * gmax && perr <= 1e-6,
              "focal float vs double: loss %.9g vs %.9g, gradient %.3g, probs %.3g", floss, loss,
              gerr, perr);
    B.ops->free(B.ctx, zd), B.ops->free(B.ctx, gd), B.ops->free(B.ctx, pd);
    B.ops->free(B.ctx, wd), B.ops->free(B.ctx, od), B.ops->free(B.ctx, yd);
    free(zh), free(wh), free(oh), free(gh), free(ph);
    free(s.z), free(s.w), free(s.off), free(s.y), free(g), free(p);
}

static void test_focal_op(void) {
    double gammas[] = {0, 0.5, 1, 2, 5};
    for (int i = 0; i < 5; i++) {
        check_focal_op(5, 3, gammas[i], 0, 0, 10 + i);
        check_focal_op(4, 6, gammas[i], 1, 1, 20 + i);
    }
    /* gamma = 0 is softmax cross entropy, bit for bit in value and gradient */
    double z[8] = {0.3, -1, 2, 0.5, 1, 1, -0.7, 0.2};
    int32_t y[2] = {2, 0};
    double w[2] = {0.7, 0.3}, off[4] = {-0.1, 0.2, 0, -2};
    double g0[8], g1[8], l0, l1;
    wn_cpu64_focal_xent(2, 4, z, y, w, off, 0.0, NULL, g0, &l0);
    wn_cpu64_softmax_xent(2, 4, z, y, w, off, NULL, g1, &l1);
    CHECK(l0 == l1);
    CHECK(!memcmp(g0, g1, sizeof g0));
    /* p_t = 1 exactly (margin 800): loss 0, gradient 0, never inf or NaN, also for gamma < 1 */
    double zs[3] = {800, 0, -5};
    int32_t ys[1] = {0};
    double gamma_small[] = {0, 0.25, 0.5, 2};
    for (int i = 0; i < 4; i++) {
        double gs[3], ls;
        wn_cpu64_focal_xent(1, 3, zs, ys, NULL, NULL, gamma_small[i], NULL, gs, &ls);
        CHECK_MSG(isfinite(ls) && ls == 0 && isfinite(gs[0]) && isfinite(gs[1]) && fabs(gs[1]) < 1e-300,
                  "gamma %g at p_t = 1: loss %g, gradient %g %g", gamma_small[i], ls, gs[0], gs[1]);
    }
    /* the true class far behind (p_t ~ 1e-300): large but finite */
    double zw[2] = {-700, 10};
    double gw[2], lw;
    wn_cpu64_focal_xent(1, 2, zw, ys, NULL, NULL, 2.0, NULL, gw, &lw);
    CHECK(isfinite(lw) && lw > 700 && isfinite(gw[0]) && gw[0] < 0);
}

/* The output priors of each loss and sampler against their definitions in wn_train.h. */
static void test_output_priors(void) {
    const long counts[3] = {900, 70, 30}, balanced[3] = {334, 333, 333}, none[3] = {900, 0, 30};
    double q[3];
    wn_loss_output_priors(WN_LOSS_CE, WN_PRIOR_BATCH, 1, 3, counts, counts, q);
    CHECK_CLOSE(q[0], 0.9, 1e-12, 0); CHECK_CLOSE(q[2], 0.03, 1e-12, 0);
    wn_loss_output_priors(WN_LOSS_FOCAL, WN_PRIOR_BATCH, 1, 3, counts, counts, q);
    CHECK_CLOSE(q[1], 0.07, 1e-12, 0);
    for (int kind = WN_LOSS_BAYESIAN; kind <= WN_LOSS_LOGIT_ADJUSTED; kind++) {
        wn_loss_output_priors(kind, WN_PRIOR_TRAIN, 1, 3, counts, counts, q);
        for (int c = 0; c < 3; c++) CHECK_MSG(fabs(q[c] - 1.0 / 3) < 1e-12, "%s on the training shares: "
                                             "class %d output prior %g, want 1/3", wn_loss_name(kind), c, q[c]);
    }
    /* bayesian with minibatch priors is uniform whatever the sampler draws */
    wn_loss_output_priors(WN_LOSS_BAYESIAN, WN_PRIOR_BATCH, 1, 3, balanced, counts, q);
    CHECK_CLOSE(q[0], 1.0 / 3, 1e-12, 0);
    /* ce on a balanced sampler: the drawn shares */
    wn_loss_output_priors(WN_LOSS_CE, WN_PRIOR_BATCH, 1, 3, balanced, counts, q);
    CHECK_CLOSE(q[0], 0.334, 1e-12, 0);
    /* weighted on a balanced sampler: rho / pi, normalised */
    wn_loss_output_priors(WN_LOSS_WEIGHTED, WN_PRIOR_BATCH, 1, 3, balanced, counts, q);
    double a = 0.334 / 0.9, b = 0.333 / 0.07, c = 0.333 / 0.03, s = a + b + c;
    CHECK_CLOSE(q[0], a / s, 1e-12, 0); CHECK_CLOSE(q[2], c / s, 1e-12, 0);
    /* logit-adjusted with tau 0.5: pi^0.5, normalised */
    wn_loss_output_priors(WN_LOSS_LOGIT_ADJUSTED, WN_PRIOR_BATCH, 0.5, 3, counts, counts, q);
    s = sqrt(0.9) + sqrt(0.07) + sqrt(0.03);
    CHECK_CLOSE(q[0], sqrt(0.9) / s, 1e-12, 0); CHECK_CLOSE(q[1], sqrt(0.07) / s, 1e-12, 0);
    /* a class never drawn gets 0, the rest still sums to 1, nothing is NaN */
    wn_loss_output_priors(WN_LOSS_BAYESIAN, WN_PRIOR_BATCH, 1, 3, none, none, q);
    CHECK(q[1] == 0 && fabs(q[0] - 0.5) < 1e-12 && fabs(q[2] - 0.5) < 1e-12);
}

int main(void) {
    wn_err e = {0};
    if (wn_cpu_backend_create(1, &B, &e) != WN_OK) {
        fprintf(stderr, "cannot create the CPU backend: %s\n", e.msg);
        return 1;
    }
    test_losses();
    test_mix_losses();
    test_focal_op();
    test_output_priors();
    wn_backend_free(&B);
    return wn_test_done();
}
