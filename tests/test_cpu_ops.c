/* test_cpu_ops.c - the CPU backend's ops against plain references written here: convolution
 * forward and backward against a direct 7-loop convolution, pooling against naive loops, batch
 * norm against its formulas, softmax cross entropy against a hand-computed batch, dropout mask
 * statistics and determinism, activations, the byte lookup against wn_batch_fill, memory ops (zero-filled aligned alloc, round trips).
 * Runs with 1, 2 and 3 backend threads so the batch and channel splits are exercised. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wn_backend.h"
#include "wn_data.h"
#include "wn_rng.h"
#include "wn_test.h"

/* ---------------------------------------------------------------- helpers */

static float *dev_alloc(wn_backend *b, size_t n) {
    wn_err e = {0};
    float *p = wn_balloc(b, n ? n : 1, "test", &e);
    if (!p) {
        fprintf(stderr, "%s\n", e.msg);
        exit(1);
    }
    return p;
}

/* Backend copy of n host floats. */
static float *dev_from(wn_backend *b, const float *host, size_t n) {
    float *p = dev_alloc(b, n);
    wn_err e = {0};
    CHECK(b->ops->upload(b->ctx, p, host, sizeof(float) * n, &e) == WN_OK);
    return p;
}

/* Host copy (malloc'ed) of n backend floats. */
static float *host_from(wn_backend *b, const float *dev, size_t n) {
    float *h = malloc(sizeof(float) * (n ? n : 1));
    wn_err e = {0};
    CHECK(b->ops->download(b->ctx, h, dev, sizeof(float) * n, &e) == WN_OK);
    return h;
}

static float *rand_host(wn_rng *r, size_t n, float lo, float hi) {
    float *h = malloc(sizeof(float) * (n ? n : 1));
    for (size_t i = 0; i < n; i++) h[i] = lo + (hi - lo) * wn_rng_uniform(r);
    return h;
}

/* max |got - want| <= tol * max(1, max |want|) */
static void check_close_arr(const char *what, const float *got, const double *want, size_t n,
                            double tol) {
    double scale = 1, err = 0;
    size_t worst = 0;
    for (size_t i = 0; i < n; i++) scale = fmax(scale, fabs(want[i]));
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)got[i] - want[i]);
        if (d > err) err = d, worst = i;
    }
    CHECK_MSG(err <= tol * scale, "%s: max error %.3g at %zu (got %.9g, want %.9g, scale %.3g)",
              what, err, worst, n ? (double)got[worst] : 0.0, n ? want[worst] : 0.0, scale);
}

/* ---------------------------------------------------------------- memory */

static void test_memory(wn_backend *b) {
    const wn_backend_ops *o = b->ops;
    size_t sizes[] = {1, 3, 64, 100, 4096, 100003};
    for (size_t k = 0; k < sizeof sizes / sizeof *sizes; k++) {
        for (int rep = 0; rep < 2; rep++) {
            unsigned char *p = o->alloc(b->ctx, sizes[k]);
            CHECK(p != NULL);
            CHECK(((uintptr_t)p % 64) == 0);
            int zero = 1;
            for (size_t i = 0; i < sizes[k]; i++) zero &= p[i] == 0;
            CHECK_MSG(zero, "alloc(%zu) not zero-filled", sizes[k]);
            memset(p, 0xAB, sizes[k]); /* dirty it so the next round sees reused memory */
            o->free(b->ctx, p);
        }
    }
    void *z = o->alloc(b->ctx, 0);
    CHECK(z != NULL);
    o->free(b->ctx, z);
    o->free(b->ctx, NULL);

    wn_rng r;
    wn_rng_seed(&r, 7, 0);
    const size_t n = 70001;
    float *h = rand_host(&r, n, -5, 5), *h2 = rand_host(&r, n, -5, 5);
    float *d = dev_from(b, h, n), *d2 = dev_alloc(b, n), *d3 = dev_from(b, h2, n);
    float *back = host_from(b, d, n);
    CHECK(memcmp(back, h, sizeof(float) * n) == 0);
    free(back);
    o->copy(b->ctx, d2, d, sizeof(float) * n);
    back = host_from(b, d2, n);
    CHECK(memcmp(back, h, sizeof(float) * n) == 0);
    free(back);

    o->fill(b->ctx, d2, n, 2.5f);
    back = host_from(b, d2, n);
    int ok = 1;
    for (size_t i = 0; i < n; i++) ok &= back[i] == 2.5f;
    CHECK(ok);
    free(back);

    o->axpy(b->ctx, n, -0.5f, d, d2); /* d2 = 2.5 - 0.5 h */
    back = host_from(b, d2, n);
    ok = 1;
    for (size_t i = 0; i < n; i++) ok &= fabsf(back[i] - (2.5f - 0.5f * h[i])) <= 1e-6f;
    CHECK(ok);
    free(back);

    o->add(b->ctx, n, d, d3, d2);
    back = host_from(b, d2, n);
    ok = 1;
    for (size_t i = 0; i < n; i++) ok &= back[i] == h[i] + h2[i];
    CHECK(ok);
    free(back);
    o->sync(b->ctx);

    int32_t lab[5] = {3, -1, 7, 0, 123456}, lab2[5] = {0};
    int32_t *dl = o->alloc(b->ctx, sizeof lab);
    wn_err e = {0};
    CHECK(o->upload(b->ctx, dl, lab, sizeof lab, &e) == WN_OK);
    CHECK(o->download(b->ctx, lab2, dl, sizeof lab, &e) == WN_OK);
    CHECK(memcmp(lab, lab2, sizeof lab) == 0);
    o->free(b->ctx, dl);
    o->free(b->ctx, d), o->free(b->ctx, d2), o->free(b->ctx, d3);
    free(h), free(h2);
}

/* ---------------------------------------------------------------- convolution */

static int conv_out(int in, int k, int s, int p) { return (in + 2 * p - k) / s + 1; }

/* Direct convolution in double: y = conv(x, w) + b. */
static void naive_conv_forward(const wn_conv_desc *d, const float *x, const float *w,
                               const float *b, double *y) {
    for (int n = 0; n < d->n; n++)
        for (int o = 0; o < d->oc; o++)
            for (int oh = 0; oh < d->oh; oh++)
                for (int ow = 0; ow < d->ow; ow++) {
                    double s = b ? b[o] : 0;
                    for (int c = 0; c < d->c; c++)
                        for (int i = 0; i < d->kh; i++)
                            for (int j = 0; j < d->kw; j++) {
                                int ih = oh * d->sh - d->ph + i, iw = ow * d->sw - d->pw + j;
                                if (ih < 0 || ih >= d->h || iw < 0 || iw >= d->w) continue;
                                s += (double)x[((n * d->c + c) * d->h + ih) * d->w + iw] *
                                     w[((o * d->c + c) * d->kh + i) * d->kw + j];
                            }
                    y[((n * d->oc + o) * d->oh + oh) * d->ow + ow] = s;
                }
}

/* Direct backward in double by scattering every output gradient. */
static void naive_conv_backward(const wn_conv_desc *d, const float *x, const float *w,
                                const float *dy, double *dx, double *dw, double *db) {
    memset(dx, 0, sizeof(double) * d->n * d->c * d->h * d->w);
    memset(dw, 0, sizeof(double) * d->oc * d->c * d->kh * d->kw);
    memset(db, 0, sizeof(double) * d->oc);
    for (int n = 0; n < d->n; n++)
        for (int o = 0; o < d->oc; o++)
            for (int oh = 0; oh < d->oh; oh++)
                for (int ow = 0; ow < d->ow; ow++) {
                    double g = dy[((n * d->oc + o) * d->oh + oh) * d->ow + ow];
                    db[o] += g;
                    for (int c = 0; c < d->c; c++)
                        for (int i = 0; i < d->kh; i++)
                            for (int j = 0; j < d->kw; j++) {
                                int ih = oh * d->sh - d->ph + i, iw = ow * d->sw - d->pw + j;
                                if (ih < 0 || ih >= d->h || iw < 0 || iw >= d->w) continue;
                                size_t xi = ((size_t)(n * d->c + c) * d->h + ih) * d->w + iw;
                                size_t wi = ((size_t)(o * d->c + c) * d->kh + i) * d->kw + j;
                                dx[xi] += g * w[wi];
                                dw[wi] += g * x[xi];
                            }
                }
}

typedef struct conv_case {
    int n, c, h, w, oc, kh, kw, sh, sw, ph, pw;
} conv_case;

static void test_conv_case(wn_backend *b, conv_case cc, int with_bias, wn_rng *r) {
    const wn_backend_ops *o = b->ops;
    wn_conv_desc d = {.n = cc.n, .c = cc.c, .h = cc.h, .w = cc.w, .oc = cc.oc, .kh = cc.kh,
                      .kw = cc.kw, .sh = cc.sh, .sw = cc.sw, .ph = cc.ph, .pw = cc.pw};
    d.oh = conv_out(d.h, d.kh, d.sh, d.ph);
    d.ow = conv_out(d.w, d.kw, d.sw, d.pw);
    size_t nx = (size_t)d.n * d.c * d.h * d.w, nw = (size_t)d.oc * d.c * d.kh * d.kw,
           ny = (size_t)d.n * d.oc * d.oh * d.ow;
    float *hx = rand_host(r, nx, -1, 1), *hw = rand_host(r, nw, -1, 1),
          *hb = rand_host(r, d.oc, -1, 1), *hdy = rand_host(r, ny, -1, 1);
    float *x = dev_from(b, hx, nx), *w = dev_from(b, hw, nw), *bias = dev_from(b, hb, d.oc),
          *dy = dev_from(b, hdy, ny);
    float *y = dev_alloc(b, ny), *dx = dev_alloc(b, nx), *dw = dev_alloc(b, nw),
          *db = dev_alloc(b, d.oc);
    char what[160];
    snprintf(what, sizeof what, "conv n%d c%d %dx%d oc%d k%dx%d s%d,%d p%d,%d bias%d", d.n, d.c,
             d.h, d.w, d.oc, d.kh, d.kw, d.sh, d.sw, d.ph, d.pw, with_bias);

    double *ry = malloc(sizeof(double) * ny);
    naive_conv_forward(&d, hx, hw, with_bias ? hb : NULL, ry);
    o->fill(b->ctx, y, ny, 1234.0f); /* forward must overwrite */
    o->conv_forward(b->ctx, &d, x, w, with_bias ? bias : NULL, y);
    float *gy = host_from(b, y, ny);
    char tag[200];
    snprintf(tag, sizeof tag, "%s: y", what);
    check_close_arr(tag, gy, ry, ny, 1e-5);

    double *rdx = malloc(sizeof(double) * nx), *rdw = malloc(sizeof(double) * nw),
           *rdb = malloc(sizeof(double) * d.oc);
    naive_conv_backward(&d, hx, hw, hdy, rdx, rdw, rdb);
    /* backward overwrites: start from garbage, twice (a second call must not accumulate) */
    for (int rep = 0; rep < 2; rep++) {
        o->fill(b->ctx, dx, nx, 777.0f);
        o->fill(b->ctx, dw, nw, -555.0f);
        o->fill(b->ctx, db, d.oc, 99.0f);
        o->conv_backward(b->ctx, &d, x, w, dy, dx, dw, db);
    }
    float *gdx = host_from(b, dx, nx), *gdw = host_from(b, dw, nw), *gdb = host_from(b, db, d.oc);
    snprintf(tag, sizeof tag, "%s: dx", what);
    check_close_arr(tag, gdx, rdx, nx, 1e-5);
    snprintf(tag, sizeof tag, "%s: dw", what);
    check_close_arr(tag, gdw, rdw, nw, 1e-5);
    snprintf(tag, sizeof tag, "%s: db", what);
    check_close_arr(tag, gdb, rdb, d.oc, 1e-5);
    free(gdx), free(gdw), free(gdb);

    /* NULL gradients are skipped; the others still come out right */
    o->fill(b->ctx, dw, nw, 3.0f);
    o->conv_backward(b->ctx, &d, x, w, dy, NULL, dw, NULL);
    gdw = host_from(b, dw, nw);
    snprintf(tag, sizeof tag, "%s: dw (dx, db NULL)", what);
    check_close_arr(tag, gdw, rdw, nw, 1e-5);
    free(gdw);
    o->fill(b->ctx, dx, nx, 3.0f);
    o->conv_backward(b->ctx, &d, x, w, dy, dx, NULL, NULL);
    gdx = host_from(b, dx, nx);
    snprintf(tag, sizeof tag, "%s: dx (dw, db NULL)", what);
    check_close_arr(tag, gdx, rdx, nx, 1e-5);
    free(gdx);

    free(ry), free(rdx), free(rdw), free(rdb), free(gy);
    free(hx), free(hw), free(hb), free(hdy);
    o->free(b->ctx, x), o->free(b->ctx, w), o->free(b->ctx, bias), o->free(b->ctx, dy);
    o->free(b->ctx, y), o->free(b->ctx, dx), o->free(b->ctx, dw), o->free(b->ctx, db);
}

static void test_conv(wn_backend *b, wn_rng *r) {
    /*                 n  c   h   w  oc kh kw sh sw ph pw */
    conv_case cases[] = {
        {1, 1, 5, 5, 1, 3, 3, 1, 1, 0, 0},    /* smallest valid conv */
        {3, 2, 7, 6, 4, 3, 3, 1, 1, 1, 1},    /* "same" conv, rectangular input, batch */
        {2, 3, 9, 8, 5, 3, 3, 2, 2, 1, 1},    /* stride 2 with padding */
        {4, 4, 6, 6, 3, 1, 1, 1, 1, 0, 0},    /* 1x1 fast path */
        {2, 4, 7, 7, 3, 1, 1, 2, 2, 0, 0},    /* 1x1 strided: im2col path */
        {2, 3, 8, 7, 2, 3, 2, 1, 2, 1, 0},    /* non-square kernel, mixed stride and pad */
        {2, 2, 10, 9, 3, 5, 5, 1, 1, 2, 2},   /* 5x5 "same" */
        {1, 2, 6, 5, 2, 2, 4, 3, 1, 2, 1},    /* stride 3, pad on both sides */
        {5, 1, 28, 28, 8, 3, 3, 1, 1, 1, 1},  /* first layer of the reference net */
        {3, 3, 5, 5, 2, 5, 5, 1, 1, 0, 0},    /* kernel as large as the input */
        {2, 2, 4, 6, 3, 3, 3, 1, 1, 2, 2},    /* padding wider than half the kernel */
        {1, 2, 3, 2, 2, 7, 7, 1, 1, 3, 3},    /* "same" with padding wider than the input */
        {2, 1, 1, 1, 2, 3, 3, 1, 1, 1, 1},    /* 1x1 input, "same" 3x3 */
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        for (int bias = 0; bias < 2; bias++) test_conv_case(b, cases[i], bias, r);
}

/* ---------------------------------------------------------------- pooling */

static void naive_pool(const wn_pool_desc *d, const float *x, const float *dy, double *y,
                       double *dx) {
    memset(dx, 0, sizeof(double) * d->n * d->c * d->h * d->w);
    for (int p = 0; p < d->n * d->c; p++)
        for (int oh = 0; oh < d->oh; oh++)
            for (int ow = 0; ow < d->ow; ow++) {
                const float *xp = x + (size_t)p * d->h * d->w;
                double s = 0, m = -INFINITY;
                int arg = -1;
                for (int i = 0; i < d->kh; i++)
                    for (int j = 0; j < d->kw; j++) {
                        int ih = oh * d->sh - d->ph + i, iw = ow * d->sw - d->pw + j;
                        if (ih < 0 || ih >= d->h || iw < 0 || iw >= d->w) continue;
                        double v = xp[ih * d->w + iw];
                        s += v;
                        if (v > m) m = v, arg = ih * d->w + iw;
                    }
                size_t oi = ((size_t)p * d->oh + oh) * d->ow + ow;
                double *dxp = dx + (size_t)p * d->h * d->w;
                if (d->mode == WN_POOL_MAX) {
                    y[oi] = m;
                    dxp[arg] += dy[oi];
                } else {
                    y[oi] = s / (d->kh * d->kw);
                    for (int i = 0; i < d->kh; i++)
                        for (int j = 0; j < d->kw; j++) {
                            int ih = oh * d->sh - d->ph + i, iw = ow * d->sw - d->pw + j;
                            if (ih < 0 || ih >= d->h || iw < 0 || iw >= d->w) continue;
                            dxp[ih * d->w + iw] += dy[oi] / (d->kh * d->kw);
                        }
                }
            }
}

/* kind: 0 random, 1 all negative (padding must not win), 2 ReLU-like with many ties at 0 */
static void test_pool_case(wn_backend *b, wn_pool_desc d, int kind, wn_rng *r) {
    const wn_backend_ops *o = b->ops;
    d.oh = conv_out(d.h, d.kh, d.sh, d.ph);
    d.ow = conv_out(d.w, d.kw, d.sw, d.pw);
    size_t nx = (size_t)d.n * d.c * d.h * d.w, ny = (size_t)d.n * d.c * d.oh * d.ow;
    float *hx = rand_host(r, nx, -1, 1), *hdy = rand_host(r, ny, -1, 1);
    for (size_t i = 0; i < nx; i++) {
        if (kind == 1) hx[i] = -1 - fabsf(hx[i]);
        if (kind == 2) hx[i] = hx[i] > 0.3f ? hx[i] : 0;
    }
    double *ry = malloc(sizeof(double) * ny), *rdx = malloc(sizeof(double) * nx);
    naive_pool(&d, hx, hdy, ry, rdx);
    float *x = dev_from(b, hx, nx), *dy = dev_from(b, hdy, ny), *y = dev_alloc(b, ny),
          *dx = dev_alloc(b, nx);
    o->fill(b->ctx, y, ny, 55.0f);
    o->pool_forward(b->ctx, &d, x, y);
    o->fill(b->ctx, dx, nx, 66.0f);
    o->pool_backward(b->ctx, &d, x, y, dy, dx);
    float *gy = host_from(b, y, ny), *gdx = host_from(b, dx, nx);
    char tag[160];
    snprintf(tag, sizeof tag, "%s pool n%d c%d %dx%d k%dx%d s%d,%d p%d,%d kind%d: y",
             d.mode == WN_POOL_MAX ? "max" : "avg", d.n, d.c, d.h, d.w, d.kh, d.kw, d.sh, d.sw,
             d.ph, d.pw, kind);
    check_close_arr(tag, gy, ry, ny, 1e-6);
    tag[strlen(tag) - 1] = 'x';
    check_close_arr(tag, gdx, rdx, nx, 1e-6);
    free(hx), free(hdy), free(ry), free(rdx), free(gy), free(gdx);
    o->free(b->ctx, x), o->free(b->ctx, dy), o->free(b->ctx, y), o->free(b->ctx, dx);
}

static void test_pool(wn_backend *b, wn_rng *r) {
    /* mode n c h w kh kw sh sw ph pw */
    wn_pool_desc cases[] = {
        {WN_POOL_MAX, 2, 3, 8, 8, 2, 2, 2, 2, 0, 0, 0, 0},  /* 2x2 fast path */
        {WN_POOL_MAX, 2, 3, 7, 9, 2, 2, 2, 2, 0, 0, 0, 0},  /* fast path, odd sizes (floor) */
        {WN_POOL_MAX, 3, 2, 9, 9, 3, 3, 2, 2, 1, 1, 0, 0},  /* overlapping, padded */
        {WN_POOL_MAX, 1, 2, 6, 7, 3, 3, 1, 1, 1, 1, 0, 0},  /* stride 1, padded */
        {WN_POOL_MAX, 2, 2, 6, 8, 2, 3, 1, 2, 1, 1, 0, 0},  /* non-square */
        {WN_POOL_AVG, 2, 3, 8, 8, 2, 2, 2, 2, 0, 0, 0, 0},
        {WN_POOL_AVG, 3, 2, 9, 9, 3, 3, 2, 2, 1, 1, 0, 0},  /* padding counts as zeros */
        {WN_POOL_AVG, 1, 2, 6, 7, 3, 3, 1, 1, 1, 1, 0, 0},
        {WN_POOL_AVG, 2, 2, 7, 6, 3, 2, 2, 1, 1, 0, 0, 0},
        {WN_POOL_MAX, 64, 40, 14, 14, 2, 2, 2, 2, 0, 0, 0, 0}, /* big enough to be split */
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        for (int kind = 0; kind < 3; kind++) test_pool_case(b, cases[i], kind, r);
}

/* ---------------------------------------------------------------- batch norm */

static void test_bn(wn_backend *b, wn_rng *r) {
    const wn_backend_ops *o = b->ops;
    const int n = 5, c = 6, hw = 7;
    const size_t nx = (size_t)n * c * hw;
    const float momentum = 0.1f, eps = 1e-5f;
    float *hx = rand_host(r, nx, -2, 3), *hg = rand_host(r, c, 0.5f, 1.5f),
          *hb = rand_host(r, c, -1, 1), *hrm = rand_host(r, c, -0.5f, 0.5f),
          *hrv = rand_host(r, c, 0.5f, 2);
    for (int i = 0; i < n; i++) /* channel 3 gets a large offset (cancellation) */
        for (int j = 0; j < hw; j++) hx[((size_t)i * c + 3) * hw + j] += 1000;
    float *x = dev_from(b, hx, nx), *g = dev_from(b, hg, c), *bt = dev_from(b, hb, c),
          *rm = dev_from(b, hrm, c), *rv = dev_from(b, hrv, c), *y = dev_alloc(b, nx),
          *sm = dev_alloc(b, c), *si = dev_alloc(b, c);

    /* eval: y = (x - rm) / sqrt(rv + eps) * g + b */
    o->bn_forward_eval(b->ctx, n, c, hw, x, g, bt, rm, rv, eps, y);
    float *gy = host_from(b, y, nx);
    double *want = malloc(sizeof(double) * nx);
    for (int i = 0; i < n; i++)
        for (int ch = 0; ch < c; ch++)
            for (int j = 0; j < hw; j++) {
                size_t k = ((size_t)i * c + ch) * hw + j;
                want[k] = (hx[k] - (double)hrm[ch]) / sqrt((double)hrv[ch] + eps) * hg[ch] + hb[ch];
            }
    check_close_arr("bn eval y", gy, want, nx, 1e-6);
    free(gy);

    /* train: batch statistics, saved mean/invstd, running stats with unbiased variance */
    o->bn_forward_train(b->ctx, n, c, hw, x, g, bt, momentum, eps, rm, rv, sm, si, y);
    gy = host_from(b, y, nx);
    float *gm = host_from(b, sm, c), *gi = host_from(b, si, c), *grm = host_from(b, rm, c),
          *grv = host_from(b, rv, c);
    const double m = (double)n * hw;
    for (int ch = 0; ch < c; ch++) {
        double s = 0, ss = 0;
        for (int i = 0; i < n; i++)
            for (int j = 0; j < hw; j++) s += hx[((size_t)i * c + ch) * hw + j];
        double mean = s / m;
        for (int i = 0; i < n; i++)
            for (int j = 0; j < hw; j++) {
                double t = hx[((size_t)i * c + ch) * hw + j] - mean;
                ss += t * t;
            }
        double var = ss / m, invstd = 1 / sqrt(var + eps);
        CHECK_CLOSE(gm[ch], mean, 1e-6, 1e-6);
        CHECK_CLOSE(gi[ch], invstd, 0, 1e-5);
        CHECK_CLOSE(grm[ch], 0.9 * hrm[ch] + 0.1 * mean, 1e-6, 1e-6);
        CHECK_CLOSE(grv[ch], 0.9 * hrv[ch] + 0.1 * ss / (m - 1), 1e-6, 1e-5);
        for (int i = 0; i < n; i++)
            for (int j = 0; j < hw; j++) {
                size_t k = ((size_t)i * c + ch) * hw + j;
                want[k] = (hx[k] - mean) * invstd * hg[ch] + hb[ch];
            }
    }
    check_close_arr("bn train y", gy, want, nx, 2e-5);
    free(gy), free(gm), free(gi), free(grm), free(grv), free(want);
    free(hx), free(hg), free(hb), free(hrm), free(hrv);
    float *ps[] = {x, g, bt, rm, rv, y, sm, si};
    for (int i = 0; i < 8; i++) o->free(b->ctx, ps[i]);
}

/* ---------------------------------------------------------------- softmax cross entropy */

static void test_softmax_xent(wn_backend *b) {
    const wn_backend_ops *o = b->ops;
    /* Hand-made batch: row 0 logits (1,2,3) label 2; row 1 (0,0,0) label 0.
     * softmax(1,2,3) = (0.0900305732, 0.2447284711, 0.6652409558); -log p2 = 0.4076059644;
     * row 1: p = 1/3, -log p0 = 1.0986122887. */
    const float hl[6] = {1, 2, 3, 0, 0, 0};
    const int32_t lab[2] = {2, 0};
    const double p0[3] = {0.0900305732, 0.2447284711, 0.6652409558};
    float *logits = dev_from(b, hl, 6), *probs = dev_alloc(b, 6), *dl = dev_alloc(b, 6);
    int32_t *labels = b->ops->alloc(b->ctx, sizeof lab);
    wn_err e = {0};
    o->upload(b->ctx, labels, lab, sizeof lab, &e);

    double loss = -1;
    o->softmax_xent(b->ctx, 2, 3, logits, labels, NULL, NULL, probs, dl, &loss);
    CHECK_CLOSE(loss, (0.4076059644 + 1.0986122887) / 2, 1e-9, 1e-9);
    float *gp = host_from(b, probs, 6), *gd = host_from(b, dl, 6);
    for (int j = 0; j < 3; j++) {
        CHECK_CLOSE(gp[j], p0[j], 1e-7, 1e-6);
        CHECK_CLOSE(gp[3 + j], 1.0 / 3, 1e-7, 1e-6);
        CHECK_CLOSE(gd[j], (p0[j] - (j == 2)) / 2, 1e-7, 1e-6);
        CHECK_CLOSE(gd[3 + j], (1.0 / 3 - (j == 0)) / 2, 1e-7, 1e-6);
    }
    free(gp), free(gd);

    /* per-row weights */
    const float hw[2] = {0.25f, 2.0f};
    float *w = dev_from(b, hw, 2);
    o->softmax_xent(b->ctx, 2, 3, logits, labels, w, NULL, probs, dl, &loss);
    CHECK_CLOSE(loss, 0.25 * 0.4076059644 + 2 * 1.0986122887, 1e-9, 1e-9);
    gd = host_from(b, dl, 6);
    CHECK_CLOSE(gd[2], 0.25 * (p0[2] - 1), 1e-7, 1e-6);
    CHECK_CLOSE(gd[4], 2 * (1.0 / 3), 1e-7, 1e-6);
    free(gd);

    /* offset (e.g. log priors) added to every row: row 1 becomes (0, 0, ln 2) -> p = (1,1,2)/4 */
    const float ho[3] = {0, 0, (float)log(2.0)};
    float *off = dev_from(b, ho, 3);
    o->softmax_xent(b->ctx, 2, 3, logits, labels, NULL, off, probs, NULL, &loss);
    gp = host_from(b, probs, 6);
    CHECK_CLOSE(gp[3], 0.25, 1e-7, 1e-6);
    CHECK_CLOSE(gp[5], 0.5, 1e-7, 1e-6);
    /* row 0 becomes (1, 2, 3 + ln 2): p2 = 2e^3 / (e + e^2 + 2e^3) */
    double e1 = exp(1), e2 = exp(2), e3 = exp(3), p2 = 2 * e3 / (e1 + e2 + 2 * e3);
    CHECK_CLOSE(loss, (-log(p2) + log(4.0)) / 2, 1e-7, 1e-7);
    free(gp);

    /* numerically stable with huge logits; loss pointer may be NULL */
    const float big[6] = {1000, 1001, 999, -1000, -3000, 5000};
    float *bl = dev_from(b, big, 6);
    o->softmax_xent(b->ctx, 2, 3, bl, labels, NULL, NULL, probs, dl, &loss);
    CHECK(isfinite(loss));
    double s = exp(-1) + 1 + exp(-2);
    CHECK_CLOSE(loss, ((2 + log(s)) + 6000) / 2, 1e-6, 1e-9); /* row 1: 5000 - (-1000) */
    o->softmax_xent(b->ctx, 2, 3, bl, labels, NULL, NULL, probs, dl, NULL);
    gp = host_from(b, probs, 6);
    CHECK_CLOSE(gp[1], 1 / s, 1e-7, 1e-6);
    CHECK_CLOSE(gp[5], 1, 1e-7, 1e-7);
    free(gp);

    /* softmax alone */
    o->fill(b->ctx, probs, 6, 9);
    o->softmax(b->ctx, 2, 3, logits, probs);
    gp = host_from(b, probs, 6);
    for (int j = 0; j < 3; j++) CHECK_CLOSE(gp[j], p0[j], 1e-7, 1e-6);
    free(gp);
    float *ps[] = {logits, probs, dl, w, off, bl};
    for (int i = 0; i < 6; i++) o->free(b->ctx, ps[i]);
    o->free(b->ctx, labels);
}

/* ---------------------------------------------------------------- dropout, activations */

static void test_dropout(wn_backend *b, wn_rng *r) {
    const wn_backend_ops *o = b->ops;
    const size_t n = 1 << 20;
    const float rate = 0.3f;
    float *hx = rand_host(r, n, 0.5f, 1.5f);
    float *x = dev_from(b, hx, n), *y = dev_alloc(b, n), *mask = dev_alloc(b, n),
          *y2 = dev_alloc(b, n), *mask2 = dev_alloc(b, n);
    o->dropout_forward(b->ctx, n, rate, 1234, x, y, mask);
    float *gy = host_from(b, y, n), *gm = host_from(b, mask, n);
    size_t dropped = 0, bad = 0;
    const float keep = 1 / (1 - rate);
    for (size_t i = 0; i < n; i++) {
        int drop = wn_hash_uniform(1234, i) < rate;
        dropped += gm[i] == 0;
        bad += drop ? (gm[i] != 0 || gy[i] != 0)
                    : (fabsf(gm[i] - keep) > 1e-6f || fabsf(gy[i] - hx[i] * keep) > 1e-5f);
    }
    CHECK_MSG(bad == 0, "%zu mask values differ from wn_hash_uniform", bad);
    double frac = (double)dropped / n; /* sd of the rate over 2^20 draws is ~0.00045 */
    CHECK_MSG(fabs(frac - rate) < 0.003, "dropped %.4f, want %.2f", frac, rate);

    /* the same seed gives the same mask; another seed a different one */
    o->dropout_forward(b->ctx, n, rate, 1234, x, y2, mask2);
    float *gm2 = host_from(b, mask2, n);
    CHECK(memcmp(gm, gm2, sizeof(float) * n) == 0);
    free(gm2);
    o->dropout_forward(b->ctx, n, rate, 1235, x, y2, mask2);
    gm2 = host_from(b, mask2, n);
    size_t same = 0;
    for (size_t i = 0; i < n; i++) same += gm[i] == gm2[i];
    CHECK_MSG(same < n * 0.7, "seeds 1234 and 1235 share %zu of %zu mask values", same, n);
    free(gm2);

    /* backward multiplies by the mask; rate 0 is the identity */
    o->dropout_backward(b->ctx, n, mask, x, y2);
    float *gdx = host_from(b, y2, n);
    CHECK(memcmp(gdx, gy, sizeof(float) * n) == 0);
    free(gdx);
    o->dropout_forward(b->ctx, n, 0.0f, 99, x, y2, mask2);
    gdx = host_from(b, y2, n);
    CHECK(memcmp(gdx, hx, sizeof(float) * n) == 0);
    free(gdx);
    free(gy), free(gm), free(hx);
    o->free(b->ctx, x), o->free(b->ctx, y), o->free(b->ctx, mask), o->free(b->ctx, y2),
        o->free(b->ctx, mask2);
}

static void test_act(wn_backend *b, wn_rng *r) {
    const wn_backend_ops *o = b->ops;
    const size_t n = 100001;
    float *hx = rand_host(r, n, -1, 1), *hdy = rand_host(r, n, -1, 1);
    hx[0] = 0, hx[1] = -0.0f;
    float *x = dev_from(b, hx, n), *dy = dev_from(b, hdy, n), *y = dev_alloc(b, n),
          *dx = dev_alloc(b, n);
    for (int kind = 0; kind < 2; kind++) {
        const float alpha = kind == WN_ACT_LEAKY ? 0.1f : 0;
        o->act_forward(b->ctx, kind, alpha, n, x, y);
        o->act_backward(b->ctx, kind, alpha, n, x, dy, dx);
        float *gy = host_from(b, y, n), *gdx = host_from(b, dx, n);
        size_t bad = 0;
        for (size_t i = 0; i < n; i++) {
            float wy = hx[i] > 0 ? hx[i] : (kind == WN_ACT_LEAKY ? alpha * hx[i] : 0);
            float wd = hx[i] > 0 ? hdy[i] : (kind == WN_ACT_LEAKY ? alpha * hdy[i] : 0);
            bad += gy[i] != wy || gdx[i] != wd;
        }
        CHECK_MSG(bad == 0, "activation %d: %zu values wrong", kind, bad);
        free(gy), free(gdx);
    }
    /* in place */
    o->act_forward(b->ctx, WN_ACT_RELU, 0, n, x, x);
    float *gx = host_from(b, x, n);
    size_t bad = 0;
    for (size_t i = 0; i < n; i++) bad += gx[i] != (hx[i] > 0 ? hx[i] : 0);
    CHECK(bad == 0);
    free(gx), free(hx), free(hdy);
    o->free(b->ctx, x), o->free(b->ctx, dy), o->free(b->ctx, y), o->free(b->ctx, dx);
}

/* lookup_u8 gives wn_batch_fill's bits: 3 channels of odd planes (the thread chunks split
 * planes), 2 photos, every byte value; and a 1-channel case. */
static void test_lookup(wn_backend *b, wn_rng *r) {
    const wn_backend_ops *o = b->ops;
    for (int C = 1; C <= 3; C += 2) {
        enum { N = 2, H = 97, W = 101 };
        size_t per = (size_t)C * H * W, n = N * per;
        uint8_t *px = malloc(n);
        for (size_t i = 0; i < n; i++) px[i] = (uint8_t)(i < 256 ? i : wn_rng_below(r, 256));
        float mean[3] = {0.485f, 0.456f, 0.406f}, sd[3] = {0.229f, 0.0f, 0.225f};
        float lut[3 * 256], *want = malloc(n * sizeof(float)); // (C, 256), (N, C, H, W)
        wn_batch_table(C, mean, sd, lut);
        int32_t lab[N] = {0, 1};
        int ids[N] = {0, 1};
        wn_cache cache = {.n = N, .c = C, .h = H, .w = W, .pix = px, .labels = lab};
        wn_batch_fill(&cache, ids, N, mean, sd, NULL, NULL, want, NULL);
        wn_err e = {0};
        uint8_t *dx = o->alloc(b->ctx, n);
        float *table = dev_from(b, lut, (size_t)C * 256), *y = dev_alloc(b, n);
        CHECK(dx && o->upload(b->ctx, dx, px, n, &e) == WN_OK);
        o->lookup_u8(b->ctx, N, C, (size_t)H * W, dx, table, y);
        float *got = host_from(b, y, n);
        CHECK_MSG(!memcmp(got, want, n * sizeof(float)), "lookup_u8 (C = %d) differs from wn_batch_fill", C);
        /* the first photo only: the second's values stay */
        o->fill(b->ctx, y, n, -7.0f);
        o->lookup_u8(b->ctx, 1, C, (size_t)H * W, dx, table, y);
        free(got);
        got = host_from(b, y, n);
        CHECK(!memcmp(got, want, per * sizeof(float)) && got[per] == -7.0f && got[n - 1] == -7.0f);
        free(got), free(want), free(px);
        o->free(b->ctx, dx), o->free(b->ctx, table), o->free(b->ctx, y);
    }
}

static void test_bad_threads(void) {
    wn_backend b;
    wn_err e = {0};
    CHECK(wn_cpu_backend_create(-1, &b, &e) == WN_EINPUT);
    CHECK(strstr(e.msg, "threads") != NULL);
    CHECK(wn_cpu_backend_create(0, &b, &e) == WN_OK);
    CHECK(b.ops && !strcmp(b.ops->name, "cpu"));
    wn_backend_free(&b);
}

/* Convolution gradients do not depend on the thread count, bit for bit (fixed chunks of images
 * summed in order), for batches below, at and above the chunk count. */
static void test_conv_threads(void) {
    const int batches[] = {1, 5, 16, 37}, threads[] = {1, 2, 3, 5};
    for (int bi = 0; bi < 4; bi++) {
        wn_conv_desc d = {.n = batches[bi], .c = 3, .h = 9, .w = 8, .oc = 4, .kh = 3, .kw = 3,
                          .sh = 1, .sw = 1, .ph = 1, .pw = 1};
        d.oh = conv_out(d.h, d.kh, d.sh, d.ph);
        d.ow = conv_out(d.w, d.kw, d.sw, d.pw);
        size_t nx = (size_t)d.n * d.c * d.h * d.w, nw = (size_t)d.oc * d.c * d.kh * d.kw,
               ny = (size_t)d.n * d.oc * d.oh * d.ow;
        wn_rng r;
        wn_rng_seed(&r, 99, (uint64_t)bi);
        float *hx = rand_host(&r, nx, -1, 1), *hw = rand_host(&r, nw, -1, 1), *hdy = rand_host(&r, ny, -1, 1);
        float *ref[3] = {NULL, NULL, NULL}; /* dx, dw, db of 1 thread */
        int same = 1;
        for (int ti = 0; ti < 4; ti++) {
            wn_backend b;
            wn_err e = {0};
            if (wn_cpu_backend_create(threads[ti], &b, &e) != WN_OK) {
                CHECK_MSG(0, "%s", e.msg);
                continue;
            }
            float *x = dev_from(&b, hx, nx), *w = dev_from(&b, hw, nw), *dy = dev_from(&b, hdy, ny);
            float *dx = dev_alloc(&b, nx), *dw = dev_alloc(&b, nw), *db = dev_alloc(&b, d.oc);
            b.ops->conv_backward(b.ctx, &d, x, w, dy, dx, dw, db);
            float *got[3] = {host_from(&b, dx, nx), host_from(&b, dw, nw), host_from(&b, db, d.oc)};
            size_t sz[3] = {nx, nw, (size_t)d.oc};
            for (int k = 0; k < 3; k++) {
                if (ti == 0) ref[k] = got[k];
                else {
                    same &= !memcmp(ref[k], got[k], sz[k] * sizeof(float));
                    free(got[k]);
                }
            }
            float *bufs[6] = {x, w, dy, dx, dw, db};
            for (int k = 0; k < 6; k++) b.ops->free(b.ctx, bufs[k]);
            wn_backend_free(&b);
        }
        CHECK_MSG(same, "conv backward, batch %d: gradients differ between 1, 2, 3 and 5 threads", d.n);
        for (int k = 0; k < 3; k++) free(ref[k]);
        free(hx);
        free(hw);
        free(hdy);
    }
}

int main(void) {
    test_conv_threads();
    const int thread_counts[] = {1, 2, 3};
    for (int t = 0; t < 3; t++) {
        wn_backend b;
        wn_err e = {0};
        if (wn_cpu_backend_create(thread_counts[t], &b, &e) != WN_OK) {
            fprintf(stderr, "cannot create the CPU backend: %s\n", e.msg);
            return 1;
        }
        wn_rng r;
        wn_rng_seed(&r, 2024 + t, 3);
        test_memory(&b);
        test_conv(&b, &r);
        test_pool(&b, &r);
        test_bn(&b, &r);
        test_softmax_xent(&b);
        test_dropout(&b, &r);
        test_act(&b, &r);
        test_lookup(&b, &r);
        wn_backend_free(&b);
    }
    test_bad_threads();
    return wn_test_done();
}
