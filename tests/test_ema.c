/* test_ema.c - the weight average of train_ema.c against a double reference: it starts at the
 * net's values; after each of 40 steps with new random parameters and batchnorm statistics the
 * averages equal avg = d*avg + (1-d)*x with d = min(decay, (1+step)/(10+step)), recomputed on the
 * host; a swap puts the averages into the net and the net's values into the averages, a second
 * swap restores both bit for bit; decay 0 is inactive (nothing allocated, every call a no-op). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "wn_rng.h"
#include "wn_test.h"
#include "wn_train.h"

static const char *NET =
    "[net]\nwidth = 8\nheight = 8\nchannels = 1\n"
    "[c1]\ntype = conv\nfilters = 4\nsize = 3\npad = 1\nbias = 0\n[bn1]\ntype = batchnorm\n"
    "[r1]\ntype = relu\n[fc]\ntype = dense\nunits = classes\n";

static void randomise(wn_backend *be, float *dst, float *host, size_t n, wn_rng *r) {
    for (size_t i = 0; i < n; i++) host[i] = (float)(wn_rng_uniform(r) * 4.0 - 2.0);
    wn_err e = {0};
    CHECK(be->ops->upload(be->ctx, dst, host, n * sizeof(float), &e) == WN_OK);
}

static float *down(wn_backend *be, const float *src, size_t n) {
    float *h = malloc(n * sizeof(float));
    wn_err e = {0};
    CHECK(be->ops->download(be->ctx, h, src, n * sizeof(float), &e) == WN_OK);
    return h;
}

/* worst |got - want| (the values lie in [-2, 2]) */
static double worst(const float *got, const double *want, size_t n) {
    double m = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs(got[i] - want[i]);
        if (!(d <= m)) m = d;
    }
    return m;
}

int main(void) {
    wn_err e = {0};
    wn_backend be;
    CHECK(wn_cpu_backend_create(1, &be, &e) == WN_OK);
    wn_netdef d;
    CHECK(wn_netdef_parse_string(NET, "ema.ini", &d, &e) == WN_OK);
    wn_net net;
    CHECK(wn_net_create(&d, 3, &be, &net, &e) == WN_OK);
    CHECK(wn_net_init(&net, 5, &e) == WN_OK);
    size_t np = net.n_params, ns = net.n_state;
    CHECK(np > 100 && ns > 0);

    /* the decay schedule */
    CHECK_CLOSE(wn_ema_decay_at(0.999, 1), 2.0 / 11.0, 1e-15, 0);
    CHECK_CLOSE(wn_ema_decay_at(0.999, 1000), 1001.0 / 1010.0, 1e-15, 0);
    CHECK(wn_ema_decay_at(0.9, 100) == 0.9);

    /* inactive */
    wn_ema off;
    CHECK(wn_ema_create(&off, 0, &net, &e) == WN_OK);
    CHECK(off.w == NULL && off.s == NULL && off.tmp == NULL);
    float *p0 = down(&be, net.params, np);
    wn_ema_update(&off, 1);
    wn_ema_swap(&off);
    float *p1 = down(&be, net.params, np);
    CHECK(memcmp(p0, p1, np * sizeof(float)) == 0 && !off.swapped);
    wn_ema_free(&off);

    /* active: starts at the net's values */
    const double decay = 0.9;
    wn_ema a;
    CHECK(wn_ema_create(&a, decay, &net, &e) == WN_OK);
    float *w = down(&be, a.w, np), *s0 = down(&be, net.state, ns), *s = down(&be, a.s, ns);
    CHECK(memcmp(w, p0, np * sizeof(float)) == 0);
    CHECK(memcmp(s, s0, ns * sizeof(float)) == 0);
    double *rw = malloc(np * sizeof(double)), *rs = malloc(ns * sizeof(double));
    for (size_t i = 0; i < np; i++) rw[i] = p0[i];
    for (size_t i = 0; i < ns; i++) rs[i] = s0[i];
    free(w), free(s);

    /* 40 steps of new values */
    wn_rng r;
    wn_rng_seed(&r, 17, 3);
    float *hp = malloc(np * sizeof(float)), *hs = malloc(ns * sizeof(float));
    double err_w = 0, err_s = 0;
    for (long step = 1; step <= 40; step++) {
        randomise(&be, net.params, hp, np, &r);
        randomise(&be, net.state, hs, ns, &r);
        wn_ema_update(&a, step);
        double dd = wn_ema_decay_at(decay, step);
        for (size_t i = 0; i < np; i++) rw[i] = dd * rw[i] + (1 - dd) * hp[i];
        for (size_t i = 0; i < ns; i++) rs[i] = dd * rs[i] + (1 - dd) * hs[i];
        w = down(&be, a.w, np);
        s = down(&be, a.s, ns);
        double ew = worst(w, rw, np), es = worst(s, rs, ns);
        if (ew > err_w) err_w = ew;
        if (es > err_s) err_s = es;
        free(w), free(s);
    }
    CHECK_MSG(err_w < 1e-5, "weight average off the reference by %g", err_w);
    CHECK_MSG(err_s < 1e-5, "statistics average off the reference by %g", err_s);
    printf("averages after 40 steps: largest error %.3g (weights), %.3g (statistics)\n", err_w, err_s);
    /* the average differs from the last values (it is an average, not a copy) */
    w = down(&be, a.w, np);
    CHECK(memcmp(w, hp, np * sizeof(float)) != 0);

    /* swap in: the net holds the averages, the averages the values; swap out restores */
    float *sa = down(&be, a.s, ns);
    wn_ema_swap(&a);
    CHECK(a.swapped);
    float *in_net = down(&be, net.params, np), *in_avg = down(&be, a.w, np);
    float *st_net = down(&be, net.state, ns);
    s = down(&be, a.s, ns);
    CHECK(memcmp(in_net, w, np * sizeof(float)) == 0);
    CHECK(memcmp(in_avg, hp, np * sizeof(float)) == 0);
    CHECK(memcmp(st_net, sa, ns * sizeof(float)) == 0);
    CHECK(memcmp(s, hs, ns * sizeof(float)) == 0);
    free(in_net), free(in_avg), free(st_net), free(s), free(sa);
    wn_ema_swap(&a);
    CHECK(!a.swapped);
    in_net = down(&be, net.params, np);
    st_net = down(&be, net.state, ns);
    CHECK(memcmp(in_net, hp, np * sizeof(float)) == 0);
    CHECK(memcmp(st_net, hs, ns * sizeof(float)) == 0);
    free(in_net), free(st_net), free(w);

    /* reset: back to the net's values */
    wn_ema_reset(&a);
    w = down(&be, a.w, np);
    CHECK(memcmp(w, hp, np * sizeof(float)) == 0);
    free(w);

    wn_ema_free(&a);
    free(p0), free(p1), free(s0), free(rw), free(rs), free(hp), free(hs);
    wn_net_free(&net);
    wn_netdef_free(&d);
    wn_backend_free(&be);
    return wn_test_done();
}
