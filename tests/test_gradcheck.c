/* test_gradcheck.c - every layer's backward against central finite differences in double
 * precision, through the double twins of the CPU kernels (src/cpu/cpu_f64.h): the scalar checked
 * is L = sum(y * r) for a random r (the loss itself for softmax cross entropy), and analytic and
 * numeric gradients must agree to a relative 1e-6. Inputs are chosen away from kinks (ReLU at 0,
 * max-pool ties). Each op is then run through the float CPU backend (2 threads) on the same data,
 * which must agree with the double results to 1e-5 relative, so the float path is checked too. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cpu/cpu_f64.h"
#include "wn_backend.h"
#include "wn_rng.h"
#include "wn_test.h"

static const double FD_STEP = 1e-5; /* central difference step */
static const double FD_TOL = 1e-6;  /* |analytic - numeric| / max(|a|, |n|, 1e-3) */
static const double F32_TOL = 1e-5; /* float backend vs double: max error / max |double| */

static wn_rng R;
static wn_backend B;           /* the float CPU backend */
static double worst_fd = 0;    /* largest finite-difference error seen, for the summary */
static double worst_f32 = 0;   /* largest float-vs-double error seen */

/* ---------------------------------------------------------------- helpers */

static double *rnd(size_t n, double lo, double hi) {
    double *p = malloc(sizeof(double) * (n ? n : 1));
    for (size_t i = 0; i < n; i++) p[i] = lo + (hi - lo) * wn_rng_uniform(&R);
    return p;
}

static double *zeros(size_t n) { return calloc(n ? n : 1, sizeof(double)); }

/* Values with |v| in [lo, hi] and a random sign (away from the kink at 0). */
static double *rnd_away0(size_t n, double lo, double hi) {
    double *p = rnd(n, lo, hi);
    for (size_t i = 0; i < n; i++)
        if (wn_rng_uniform(&R) < 0.5f) p[i] = -p[i];
    return p;
}

/* Distinct values at least 0.01 apart in random order (no max-pool ties). */
static double *rnd_distinct(size_t n) {
    int *perm = malloc(sizeof(int) * (n ? n : 1));
    for (size_t i = 0; i < n; i++) perm[i] = (int)i;
    wn_rng_shuffle(&R, perm, (int)n);
    double *p = malloc(sizeof(double) * (n ? n : 1));
    for (size_t i = 0; i < n; i++) p[i] = 0.01 * perm[i] - 0.005 * n;
    free(perm);
    return p;
}

static double dot(const double *a, const double *b, size_t n) {
    double s = 0;
    for (size_t i = 0; i < n; i++) s += a[i] * b[i];
    return s;
}

/* A forward pass that recomputes the scalar L from the current inputs. */
typedef double (*loss_fn)(void *st);

/* Compares the analytic gradient g of L with respect to p (np values) with central differences,
 * perturbing p in place (restored afterwards). */
static void gradcheck(const char *what, loss_fn loss, void *st, double *p, size_t np,
                      const double *g) {
    double worst = 0;
    size_t at = 0;
    double wa = 0, wn = 0;
    for (size_t i = 0; i < np; i++) {
        double save = p[i];
        p[i] = save + FD_STEP;
        double lp = loss(st);
        p[i] = save - FD_STEP;
        double lm = loss(st);
        p[i] = save;
        double num = (lp - lm) / (2 * FD_STEP);
        double rel = fabs(num - g[i]) / fmax(fmax(fabs(num), fabs(g[i])), 1e-3);
        if (rel > worst) worst = rel, at = i, wa = g[i], wn = num;
    }
    if (worst > worst_fd) worst_fd = worst;
    CHECK_MSG(worst < FD_TOL, "%s: relative error %.3g at %zu (analytic %.12g, numeric %.12g)",
              what, worst, at, wa, wn);
}

/* Backend copy (float) of n doubles. */
static float *fdev(const double *src, size_t n) {
    wn_err e = {0};
    float *d = wn_balloc(&B, n ? n : 1, "test", &e);
    float *h = malloc(sizeof(float) * (n ? n : 1));
    for (size_t i = 0; i < n; i++) h[i] = (float)src[i];
    CHECK(B.ops->upload(B.ctx, d, h, sizeof(float) * n, &e) == WN_OK);
    free(h);
    return d;
}

static float *fnew(size_t n) {
    wn_err e = {0};
    float *d = wn_balloc(&B, n ? n : 1, "test", &e);
    B.ops->fill(B.ctx, d, n, 1e4f); /* garbage: outputs must be overwritten */
    return d;
}

/* Float backend result d (n values) against the double result want. */
static void f32_check(const char *what, const float *d, const double *want, size_t n) {
    float *h = malloc(sizeof(float) * (n ? n : 1));
    wn_err e = {0};
    B.ops->download(B.ctx, h, d, sizeof(float) * n, &e);
    double scale = 1e-30, err = 0;
    size_t at = 0;
    for (size_t i = 0; i < n; i++) scale = fmax(scale, fabs(want[i]));
    for (size_t i = 0; i < n; i++) {
        double d2 = fabs(h[i] - want[i]);
        if (d2 > err) err = d2, at = i;
    }
    if (err / scale > worst_f32) worst_f32 = err / scale;
    CHECK_MSG(err <= F32_TOL * scale, "%s (float backend vs double): error %.3g of %.3g at %zu",
              what, err, scale, at);
    free(h);
}

static void ffree(float *p) { B.ops->free(B.ctx, p); }

/* ---------------------------------------------------------------- convolution */

typedef struct conv_st {
    wn_conv_desc d;
    double *x, *w, *b, *y, *r; // x (N,C,H,W), w (OC,C,KH,KW), b (OC), y and r (N,OC,OH,OW)
    size_t ny;
} conv_st;

static double conv_loss(void *p) {
    conv_st *s = p;
    wn_cpu64_conv_forward(&s->d, s->x, s->w, s->b, s->y);
    return dot(s->y, s->r, s->ny);
}

static void check_conv(int n, int c, int h, int w, int oc, int kh, int kw, int sh, int sw, int ph,
                       int pw) {
    conv_st s = {.d = {.n = n, .c = c, .h = h, .w = w, .oc = oc, .kh = kh, .kw = kw, .sh = sh,
                       .sw = sw, .ph = ph, .pw = pw}};
    s.d.oh = (h + 2 * ph - kh) / sh + 1;
    s.d.ow = (w + 2 * pw - kw) / sw + 1;
    size_t nx = (size_t)n * c * h * w, nw = (size_t)oc * c * kh * kw;
    s.ny = (size_t)n * oc * s.d.oh * s.d.ow;
    s.x = rnd(nx, -1, 1), s.w = rnd(nw, -1, 1), s.b = rnd(oc, -1, 1), s.r = rnd(s.ny, -1, 1);
    s.y = zeros(s.ny);
    double *dx = zeros(nx), *dw = zeros(nw), *db = zeros(oc);
    wn_cpu64_conv_backward(&s.d, s.x, s.w, s.r, dx, dw, db);
    char what[128];
    int len = snprintf(what, sizeof what, "conv n%d c%d %dx%d oc%d k%dx%d s%d,%d p%d,%d", n, c, h,
                       w, oc, kh, kw, sh, sw, ph, pw);
    snprintf(what + len, sizeof what - len, " dx");
    gradcheck(what, conv_loss, &s, s.x, nx, dx);
    snprintf(what + len, sizeof what - len, " dw");
    gradcheck(what, conv_loss, &s, s.w, nw, dw);
    snprintf(what + len, sizeof what - len, " db");
    gradcheck(what, conv_loss, &s, s.b, oc, db);

    /* float backend */
    conv_loss(&s);
    float *fx = fdev(s.x, nx), *fw = fdev(s.w, nw), *fb = fdev(s.b, oc), *fr = fdev(s.r, s.ny);
    float *fy = fnew(s.ny), *fdx = fnew(nx), *fdw = fnew(nw), *fdb = fnew(oc);
    B.ops->conv_forward(B.ctx, &s.d, fx, fw, fb, fy);
    B.ops->conv_backward(B.ctx, &s.d, fx, fw, fr, fdx, fdw, fdb);
    snprintf(what + len, sizeof what - len, " y");
    f32_check(what, fy, s.y, s.ny);
    snprintf(what + len, sizeof what - len, " dx");
    f32_check(what, fdx, dx, nx);
    snprintf(what + len, sizeof what - len, " dw");
    f32_check(what, fdw, dw, nw);
    snprintf(what + len, sizeof what - len, " db");
    f32_check(what, fdb, db, oc);
    ffree(fx), ffree(fw), ffree(fb), ffree(fr), ffree(fy), ffree(fdx), ffree(fdw), ffree(fdb);
    free(s.x), free(s.w), free(s.b), free(s.r), free(s.y), free(dx), free(dw), free(db);
}

static void test_conv(void) {
    /*         n  c  h  w oc kh kw sh sw ph pw */
    check_conv(2, 3, 6, 5, 4, 3, 3, 1, 1, 1, 1); /* "same", batch, channels */
    check_conv(2, 2, 7, 7, 3, 3, 3, 2, 2, 1, 1); /* stride 2 */
    check_conv(3, 4, 5, 4, 3, 1, 1, 1, 1, 0, 0); /* 1x1 */
    check_conv(2, 3, 6, 7, 2, 3, 2, 1, 2, 1, 0); /* non-square kernel, mixed stride/pad */
    check_conv(1, 2, 7, 6, 2, 2, 3, 3, 2, 2, 1); /* stride 3, wide padding */
    check_conv(2, 1, 5, 5, 3, 5, 5, 1, 1, 2, 2); /* 5x5 "same", one input channel */
    check_conv(1, 2, 3, 2, 2, 7, 7, 1, 1, 3, 3); /* "same", padding wider than the input */
}

/* ---------------------------------------------------------------- pooling */

typedef struct pool_st {
    wn_pool_desc d;
    double *x, *y, *r; // x (N,C,H,W), y and r (N,C,OH,OW)
    size_t ny;
} pool_st;

static double pool_loss(void *p) {
    pool_st *s = p;
    wn_cpu64_pool_forward(&s->d, s->x, s->y);
    return dot(s->y, s->r, s->ny);
}

static void check_pool(int mode, int n, int c, int h, int w, int kh, int kw, int sh, int sw,
                       int ph, int pw) {
    pool_st s = {.d = {.mode = mode, .n = n, .c = c, .h = h, .w = w, .kh = kh, .kw = kw,
                       .sh = sh, .sw = sw, .ph = ph, .pw = pw}};
    s.d.oh = (h + 2 * ph - kh) / sh + 1;
    s.d.ow = (w + 2 * pw - kw) / sw + 1;
    size_t nx = (size_t)n * c * h * w;
    s.ny = (size_t)n * c * s.d.oh * s.d.ow;
    s.x = rnd_distinct(nx), s.r = rnd(s.ny, -1, 1), s.y = zeros(s.ny);
    double *dx = zeros(nx);
    wn_cpu64_pool_backward(&s.d, s.x, s.r, dx);
    char what[128];
    int len = snprintf(what, sizeof what, "%s pool n%d c%d %dx%d k%dx%d s%d,%d p%d,%d",
                       mode == WN_POOL_MAX ? "max" : "avg", n, c, h, w, kh, kw, sh, sw, ph, pw);
    snprintf(what + len, sizeof what - len, " dx");
    gradcheck(what, pool_loss, &s, s.x, nx, dx);

    pool_loss(&s);
    float *fx = fdev(s.x, nx), *fr = fdev(s.r, s.ny), *fy = fnew(s.ny), *fdx = fnew(nx);
    B.ops->pool_forward(B.ctx, &s.d, fx, fy);
    B.ops->pool_backward(B.ctx, &s.d, fx, fy, fr, fdx);
    snprintf(what + len, sizeof what - len, " y");
    f32_check(what, fy, s.y, s.ny);
    snprintf(what + len, sizeof what - len, " dx");
    f32_check(what, fdx, dx, nx);
    ffree(fx), ffree(fr), ffree(fy), ffree(fdx);
    free(s.x), free(s.r), free(s.y), free(dx);
}

static void test_pool(void) {
    for (int mode = 0; mode < 2; mode++) {
        check_pool(mode, 2, 2, 6, 6, 2, 2, 2, 2, 0, 0); /* 2x2 (max: fast path) */
        check_pool(mode, 2, 2, 5, 7, 2, 2, 2, 2, 0, 0); /* odd sizes */
        check_pool(mode, 1, 3, 7, 7, 3, 3, 2, 2, 1, 1); /* overlapping windows, padding */
        check_pool(mode, 2, 1, 5, 6, 3, 3, 1, 1, 1, 1); /* stride 1, padding */
        check_pool(mode, 1, 2, 6, 5, 3, 2, 2, 1, 1, 1); /* non-square */
    }
}

/* ---------------------------------------------------------------- dense */

typedef struct dense_st {
    int n, in, out;
    double *x, *w, *b, *y, *r; // x (N,IN), w (OUT,IN), b (OUT), y and r (N,OUT)
} dense_st;

static double dense_loss(void *p) {
    dense_st *s = p;
    wn_cpu64_dense_forward(s->n, s->in, s->out, s->x, s->w, s->b, s->y);
    return dot(s->y, s->r, (size_t)s->n * s->out);
}

static void check_dense(int n, int in, int out) {
    dense_st s = {.n = n, .in = in, .out = out};
    size_t nx = (size_t)n * in, nw = (size_t)out * in, ny = (size_t)n * out;
    s.x = rnd(nx, -1, 1), s.w = rnd(nw, -1, 1), s.b = rnd(out, -1, 1), s.r = rnd(ny, -1, 1);
    s.y = zeros(ny);
    double *dx = zeros(nx), *dw = zeros(nw), *db = zeros(out);
    wn_cpu64_dense_backward(n, in, out, s.x, s.w, s.r, dx, dw, db);
    char what[96];
    int len = snprintf(what, sizeof what, "dense n%d in%d out%d", n, in, out);
    snprintf(what + len, sizeof what - len, " dx");
    gradcheck(what, dense_loss, &s, s.x, nx, dx);
    snprintf(what + len, sizeof what - len, " dw");
    gradcheck(what, dense_loss, &s, s.w, nw, dw);
    snprintf(what + len, sizeof what - len, " db");
    gradcheck(what, dense_loss, &s, s.b, out, db);

    dense_loss(&s);
    float *fx = fdev(s.x, nx), *fw = fdev(s.w, nw), *fb = fdev(s.b, out), *fr = fdev(s.r, ny);
    float *fy = fnew(ny), *fdx = fnew(nx), *fdw = fnew(nw), *fdb = fnew(out);
    B.ops->dense_forward(B.ctx, n, in, out, fx, fw, fb, fy);
    B.ops->dense_backward(B.ctx, n, in, out, fx, fw, fr, fdx, fdw, fdb);
    snprintf(what + len, sizeof what - len, " y");
    f32_check(what, fy, s.y, ny);
    snprintf(what + len, sizeof what - len, " dx");
    f32_check(what, fdx, dx, nx);
    snprintf(what + len, sizeof what - len, " dw");
    f32_check(what, fdw, dw, nw);
    snprintf(what + len, sizeof what - len, " db");
    f32_check(what, fdb, db, out);
    ffree(fx), ffree(fw), ffree(fb), ffree(fr), ffree(fy), ffree(fdx), ffree(fdw), ffree(fdb);
    free(s.x), free(s.w), free(s.b), free(s.r), free(s.y), free(dx), free(dw), free(db);
}

/* ---------------------------------------------------------------- elementwise */

typedef struct elem_st {
    int op; /* 0 activation, 1 dropout, 2 add */
    int kind;
    double alpha;
    float rate;
    uint64_t seed;
    size_t n;
    double *x, *x2, *y, *mask, *r; // all (n)
} elem_st;

static double elem_loss(void *p) {
    elem_st *s = p;
    if (s->op == 0) wn_cpu64_act_forward(s->kind, s->alpha, s->n, s->x, s->y);
    if (s->op == 1) wn_cpu64_dropout_forward(s->n, s->rate, s->seed, s->x, s->y, s->mask);
    if (s->op == 2) wn_cpu64_add(s->n, s->x, s->x2, s->y);
    return dot(s->y, s->r, s->n);
}

static void check_act(int kind, double alpha) {
    elem_st s = {.op = 0, .kind = kind, .alpha = alpha, .n = 200};
    s.x = rnd_away0(s.n, 0.05, 1), s.r = rnd(s.n, -1, 1), s.y = zeros(s.n);
    double *dx = zeros(s.n);
    wn_cpu64_act_backward(kind, alpha, s.n, s.x, s.r, dx);
    const char *name = kind == WN_ACT_RELU ? "relu dx" : "leaky relu dx";
    gradcheck(name, elem_loss, &s, s.x, s.n, dx);

    elem_loss(&s);
    float *fx = fdev(s.x, s.n), *fr = fdev(s.r, s.n), *fy = fnew(s.n), *fdx = fnew(s.n);
    B.ops->act_forward(B.ctx, kind, (float)alpha, s.n, fx, fy);
    B.ops->act_backward(B.ctx, kind, (float)alpha, s.n, fx, fr, fdx);
    f32_check(name, fy, s.y, s.n);
    f32_check(name, fdx, dx, s.n);
    ffree(fx), ffree(fr), ffree(fy), ffree(fdx);
    free(s.x), free(s.r), free(s.y), free(dx);
}

static void check_dropout(float rate, uint64_t seed) {
    elem_st s = {.op = 1, .rate = rate, .seed = seed, .n = 300};
    s.x = rnd(s.n, -1, 1), s.r = rnd(s.n, -1, 1), s.y = zeros(s.n), s.mask = zeros(s.n);
    double *dx = zeros(s.n);
    elem_loss(&s);
    wn_cpu64_dropout_backward(s.n, s.mask, s.r, dx);
    gradcheck("dropout dx", elem_loss, &s, s.x, s.n, dx);

    elem_loss(&s);
    float *fx = fdev(s.x, s.n), *fr = fdev(s.r, s.n), *fy = fnew(s.n), *fm = fnew(s.n),
          *fdx = fnew(s.n);
    B.ops->dropout_forward(B.ctx, s.n, rate, seed, fx, fy, fm);
    B.ops->dropout_backward(B.ctx, s.n, fm, fr, fdx);
    f32_check("dropout mask", fm, s.mask, s.n);
    f32_check("dropout y", fy, s.y, s.n);
    f32_check("dropout dx", fdx, dx, s.n);
    ffree(fx), ffree(fr), ffree(fy), ffree(fm), ffree(fdx);
    free(s.x), free(s.r), free(s.y), free(s.mask), free(dx);
}

/* Residual add y = a + b: the gradient reaching both operands is dy itself. */
static void check_add(void) {
    elem_st s = {.op = 2, .n = 100};
    s.x = rnd(s.n, -1, 1), s.x2 = rnd(s.n, -1, 1), s.r = rnd(s.n, -1, 1), s.y = zeros(s.n);
    gradcheck("add da", elem_loss, &s, s.x, s.n, s.r);
    gradcheck("add db", elem_loss, &s, s.x2, s.n, s.r);
    elem_loss(&s);
    float *fa = fdev(s.x, s.n), *fb = fdev(s.x2, s.n), *fy = fnew(s.n);
    B.ops->add(B.ctx, s.n, fa, fb, fy);
    f32_check("add y", fy, s.y, s.n);
    ffree(fa), ffree(fb), ffree(fy);
    free(s.x), free(s.x2), free(s.r), free(s.y);
}

/* ---------------------------------------------------------------- batch norm */

typedef struct bn_st {
    int n, c, hw;
    double eps;
    double *x, *g, *b, *y, *r; // x, y, r (N,C,HW); g, b (C)
    double *mean, *invstd;     // (C)
} bn_st;

static double bn_loss(void *p) {
    bn_st *s = p;
    wn_cpu64_bn_forward_train(s->n, s->c, s->hw, s->x, s->g, s->b, 0.1, s->eps, NULL, NULL,
                              s->mean, s->invstd, s->y);
    return dot(s->y, s->r, (size_t)s->n * s->c * s->hw);
}

static void check_bn(int n, int c, int hw) {
    bn_st s = {.n = n, .c = c, .hw = hw, .eps = 1e-5};
    size_t nx = (size_t)n * c * hw;
    s.x = rnd(nx, -2, 2), s.g = rnd(c, 0.5, 1.5), s.b = rnd(c, -1, 1), s.r = rnd(nx, -1, 1);
    s.y = zeros(nx), s.mean = zeros(c), s.invstd = zeros(c);
    double *dx = zeros(nx), *dg = zeros(c), *db = zeros(c);
    bn_loss(&s);
    wn_cpu64_bn_backward(n, c, hw, s.x, s.g, s.mean, s.invstd, s.r, dx, dg, db);
    char what[96];
    int len = snprintf(what, sizeof what, "batchnorm n%d c%d hw%d", n, c, hw);
    snprintf(what + len, sizeof what - len, " dx");
    gradcheck(what, bn_loss, &s, s.x, nx, dx);
    snprintf(what + len, sizeof what - len, " dgamma");
    gradcheck(what, bn_loss, &s, s.g, c, dg);
    snprintf(what + len, sizeof what - len, " dbeta");
    gradcheck(what, bn_loss, &s, s.b, c, db);

    bn_loss(&s);
    double *rm = rnd(c, -1, 1), *rv = rnd(c, 0.5, 2);
    float *fx = fdev(s.x, nx), *fg = fdev(s.g, c), *fb = fdev(s.b, c), *fr = fdev(s.r, nx),
          *frm = fdev(rm, c), *frv = fdev(rv, c), *fy = fnew(nx), *fm = fnew(c), *fi = fnew(c),
          *fdx = fnew(nx), *fdg = fnew(c), *fdb = fnew(c);
    B.ops->bn_forward_train(B.ctx, n, c, hw, fx, fg, fb, 0.1f, (float)s.eps, frm, frv, fm, fi, fy);
    B.ops->bn_backward(B.ctx, n, c, hw, fx, fg, fm, fi, fr, fdx, fdg, fdb);
    snprintf(what + len, sizeof what - len, " y");
    f32_check(what, fy, s.y, nx);
    snprintf(what + len, sizeof what - len, " mean");
    f32_check(what, fm, s.mean, c);
    snprintf(what + len, sizeof what - len, " invstd");
    f32_check(what, fi, s.invstd, c);
    snprintf(what + len, sizeof what - len, " dx");
    f32_check(what, fdx, dx, nx);
    snprintf(what + len, sizeof what - len, " dgamma");
    f32_check(what, fdg, dg, c);
    snprintf(what + len, sizeof what - len, " dbeta");
    f32_check(what, fdb, db, c);
    /* eval mode with the running statistics, float against double */
    double *ye = zeros(nx);
    wn_cpu64_bn_forward_eval(n, c, hw, s.x, s.g, s.b, rm, rv, s.eps, ye);
    float *fre = fdev(rm, c), *frve = fdev(rv, c);
    B.ops->bn_forward_eval(B.ctx, n, c, hw, fx, fg, fb, fre, frve, (float)s.eps, fy);
    snprintf(what + len, sizeof what - len, " eval y");
    f32_check(what, fy, ye, nx);
    float *fs[] = {fx, fg, fb, fr, frm, frv, fy, fm, fi, fdx, fdg, fdb, fre, frve};
    for (size_t i = 0; i < sizeof fs / sizeof *fs; i++) ffree(fs[i]);
    free(ye), free(rm), free(rv);
    free(s.x), free(s.g), free(s.b), free(s.r), free(s.y), free(s.mean), free(s.invstd);
    free(dx), free(dg), free(db);
}

/* ---------------------------------------------------------------- softmax cross entropy */

typedef struct xent_st {
    int n, k;
    double *logits, *weight, *offset, *probs; // logits, probs (N,K); weight (N); offset (K)
    int32_t *labels;                          // (N)
} xent_st;

static double xent_loss(void *p) {
    xent_st *s = p;
    double loss = 0;
    wn_cpu64_softmax_xent(s->n, s->k, s->logits, s->labels, s->weight, s->offset, s->probs, NULL,
                          &loss);
    return loss;
}

static void check_xent(int n, int k, int with_weight, int with_offset) {
    xent_st s = {.n = n, .k = k};
    size_t nl = (size_t)n * k;
    s.logits = rnd(nl, -3, 3), s.probs = zeros(nl);
    s.weight = with_weight ? rnd(n, 0.1, 2) : NULL;
    s.offset = with_offset ? rnd(k, -2, 1) : NULL;
    s.labels = malloc(sizeof(int32_t) * n);
    for (int i = 0; i < n; i++) s.labels[i] = (int32_t)wn_rng_below(&R, (uint32_t)k);
    double *dl = zeros(nl), loss = 0;
    wn_cpu64_softmax_xent(n, k, s.logits, s.labels, s.weight, s.offset, s.probs, dl, &loss);
    char what[96];
    int len = snprintf(what, sizeof what, "softmax xent n%d k%d weight%d offset%d", n, k,
                       with_weight, with_offset);
    snprintf(what + len, sizeof what - len, " dlogits");
    gradcheck(what, xent_loss, &s, s.logits, nl, dl);

    float *fl = fdev(s.logits, nl), *fw = with_weight ? fdev(s.weight, n) : NULL,
          *fo = with_offset ? fdev(s.offset, k) : NULL, *fp = fnew(nl), *fd = fnew(nl);
    int32_t *flab = B.ops->alloc(B.ctx, sizeof(int32_t) * n);
    wn_err e = {0};
    B.ops->upload(B.ctx, flab, s.labels, sizeof(int32_t) * n, &e);
    double floss = 0;
    B.ops->softmax_xent(B.ctx, n, k, fl, flab, fw, fo, fp, fd, &floss);
    CHECK_MSG(fabs(floss - loss) <= F32_TOL * fabs(loss), "%s: float loss %.9g vs %.9g", what,
              floss, loss);
    snprintf(what + len, sizeof what - len, " probs");
    f32_check(what, fp, s.probs, nl);
    snprintf(what + len, sizeof what - len, " dlogits");
    f32_check(what, fd, dl, nl);
    ffree(fl), ffree(fp), ffree(fd);
    if (fw) ffree(fw);
    if (fo) ffree(fo);
    B.ops->free(B.ctx, flab);
    free(s.logits), free(s.probs), free(s.weight), free(s.offset), free(s.labels), free(dl);
}

int main(void) {
    wn_rng_seed(&R, 12345, 7);
    wn_err e = {0};
    if (wn_cpu_backend_create(2, &B, &e) != WN_OK) {
        fprintf(stderr, "cannot create the CPU backend: %s\n", e.msg);
        return 1;
    }
    test_conv();
    test_pool();
    check_dense(3, 7, 5);
    check_dense(1, 4, 1);
    check_act(WN_ACT_RELU, 0);
    check_act(WN_ACT_LEAKY, 0.1);
    check_dropout(0.4f, 99);
    check_dropout(0.0f, 5);
    check_add();
    check_bn(3, 2, 5);
    check_bn(4, 3, 1); /* (N, C) features */
    check_bn(2, 2, 7); /* small batch */
    for (int w = 0; w < 2; w++)
        for (int o = 0; o < 2; o++) check_xent(4, 3, w, o);
    check_xent(2, 7, 1, 1);
    wn_backend_free(&B);
    printf("worst relative error: finite differences %.3g (limit %.0e), float vs double %.3g "
           "(limit %.0e)\n", worst_fd, FD_TOL, worst_f32, F32_TOL);
    return wn_test_done();
}
