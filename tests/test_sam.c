/* test_sam.c - sharpness-aware minimisation (train_sam.c) and the backend's sumsq on the CPU.
 * sumsq against a double reference (sizes 0 to 5000, one thread and four: the same value).
 * SAM on a conv + batchnorm + dense net: the ascent moves every trainable weight to
 * w + rho g / ||g|| with the norm recomputed on the host; the second gradient equals the
 * gradient computed afresh at weights set to that point by hand, and differs from the first;
 * restore gives back the weights and the batchnorm statistics bit for bit; a frozen layer
 * neither moves nor counts in the norm (stale gradients left in its slots are ignored); a zero
 * gradient and rho 0 change nothing. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "wn_rng.h"
#include "wn_test.h"
#include "wn_train.h"

static const char *NET =
    "[net]\nwidth = 6\nheight = 6\nchannels = 1\n"
    "[c1]\ntype = conv\nfilters = 3\nsize = 3\npad = 1\n[bn1]\ntype = batchnorm\n"
    "[r1]\ntype = relu\n[fc]\ntype = dense\nunits = classes\n";
enum { K = 3, B = 8, HW = 36 };

static float *down(wn_backend *be, const float *src, size_t n) {
    float *h = malloc((n ? n : 1) * sizeof(float));
    wn_err e = {0};
    CHECK(be->ops->download(be->ctx, h, src, n * sizeof(float), &e) == WN_OK);
    return h;
}

static void up(wn_backend *be, float *dst, const float *src, size_t n) {
    wn_err e = {0};
    CHECK(be->ops->upload(be->ctx, dst, src, n * sizeof(float), &e) == WN_OK);
}

/* One training forward and backward of the batch (x, y on the backend) with the softmax cross
 * entropy; the gradients land in net->grads. */
static void gradient(wn_net *net, const float *x, const int32_t *y, float *probs, float *dl) {
    const float *z = wn_net_forward(net, B, x, 1, 99); // (B, K)
    double loss = 0;
    net->be->ops->softmax_xent(net->be->ctx, B, K, z, y, NULL, NULL, probs, dl, &loss);
    CHECK(isfinite(loss) && loss > 0);
    wn_net_backward(net, B, x, dl);
}

static void test_sumsq(void) {
    wn_err e = {0};
    wn_backend one, four;
    CHECK(wn_cpu_backend_create(1, &one, &e) == WN_OK);
    CHECK(wn_cpu_backend_create(4, &four, &e) == WN_OK);
    wn_rng r;
    wn_rng_seed(&r, 4, 1);
    size_t sizes[] = {0, 1, 7, 1000, 5000};
    for (int t = 0; t < 5; t++) {
        size_t n = sizes[t];
        float *h = malloc((n ? n : 1) * sizeof(float));
        double want = 0;
        for (size_t i = 0; i < n; i++) {
            h[i] = (float)(wn_rng_uniform(&r) * 6 - 3);
            want += (double)h[i] * h[i];
        }
        float *d1 = wn_balloc(&one, n ? n : 1, "test", &e), *d4 = wn_balloc(&four, n ? n : 1, "test", &e);
        up(&one, d1, h, n);
        up(&four, d4, h, n);
        double got1 = one.ops->sumsq(one.ctx, n, d1), got4 = four.ops->sumsq(four.ctx, n, d4);
        CHECK_CLOSE(got1, want, 1e-12, 1e-12);
        CHECK_MSG(got1 == got4, "sumsq of %zu values: %.17g on 1 thread, %.17g on 4", n, got1, got4);
        one.ops->free(one.ctx, d1);
        four.ops->free(four.ctx, d4);
        free(h);
    }
    wn_backend_free(&one);
    wn_backend_free(&four);
}

/* rho / (2-norm of g over the params of layers not frozen), on the host */
static double want_scale(const wn_net *net, const float *g, double rho) {
    double s = 0;
    for (int i = 0; i < net->n_layers; i++) {
        const wn_layer *l = &net->layers[i];
        if (l->frozen) continue;
        for (size_t j = 0; j < l->w_count; j++) s += (double)g[l->w_off + j] * g[l->w_off + j];
        for (size_t j = 0; j < l->b_count; j++) s += (double)g[l->b_off + j] * g[l->b_off + j];
    }
    return rho / sqrt(s);
}

/* 1 when parameter index i belongs to a frozen layer */
static int frozen_at(const wn_net *net, size_t i) {
    for (int l = 0; l < net->n_layers; l++) {
        const wn_layer *L = &net->layers[l];
        if ((i >= L->w_off && i < L->w_off + L->w_count) || (i >= L->b_off && i < L->b_off + L->b_count))
            return L->frozen;
    }
    return 0;
}

/* One SAM step of the batch against the reference; freeze_first freezes layer 0 (c1). */
static void test_step(wn_net *net, const float *x, const int32_t *y, float *probs, float *dl,
                      int freeze_first) {
    wn_backend *be = net->be;
    size_t np = net->n_params, ns = net->n_state;
    const double rho = 0.05;
    net->layers[0].frozen = freeze_first;
    gradient(net, x, y, probs, dl);
    float *w0 = down(be, net->params, np), *g1 = down(be, net->grads, np);
    float *s1 = down(be, net->state, ns);

    wn_err e = {0};
    wn_sam sam;
    CHECK(wn_sam_create(&sam, rho, net, &e) == WN_OK);
    CHECK(wn_sam_ascend(&sam) == 1);
    double scale = want_scale(net, g1, rho);
    CHECK_CLOSE(sam.scale, scale, 0, 1e-12);
    /* the ascended weights: w + scale*g where trainable, w where frozen */
    float *wa = down(be, net->params, np), *want = malloc(np * sizeof(float));
    int moved_frozen = 0;
    double worst = 0;
    for (size_t i = 0; i < np; i++) {
        int fz = frozen_at(net, i);
        want[i] = fz ? w0[i] : w0[i] + (float)sam.scale * g1[i];
        if (fz && wa[i] != w0[i]) moved_frozen++;
        double d = fabs((double)wa[i] - want[i]);
        if (d > worst) worst = d;
    }
    CHECK_MSG(worst <= 1e-7, "ascended weights off w + scale g by %g", worst);
    CHECK_MSG(moved_frozen == 0, "%d frozen weights moved", moved_frozen);
    /* the step length is rho over the trainable weights */
    double len = 0;
    for (size_t i = 0; i < np; i++) len += ((double)wa[i] - w0[i]) * ((double)wa[i] - w0[i]);
    CHECK_CLOSE(sqrt(len), rho, 0, 1e-5);

    /* the second gradient, then back */
    gradient(net, x, y, probs, dl);
    float *g2 = down(be, net->grads, np);
    wn_sam_restore(&sam);
    float *wr = down(be, net->params, np), *sr = down(be, net->state, ns);
    CHECK_MSG(memcmp(wr, w0, np * sizeof(float)) == 0, "restore gives back the weights");
    CHECK_MSG(memcmp(sr, s1, ns * sizeof(float)) == 0, "restore gives back the batchnorm statistics");

    /* reference: the gradient at the same point reached by hand */
    up(be, net->params, wa, np);
    up(be, net->state, s1, ns);
    gradient(net, x, y, probs, dl);
    float *gref = down(be, net->grads, np);
    size_t differ = 0, mism = 0;
    for (size_t i = 0; i < np; i++) {
        if (frozen_at(net, i)) continue;
        mism += g2[i] != gref[i];
        differ += g2[i] != g1[i];
    }
    CHECK_MSG(mism == 0, "%zu second-pass gradients differ from the gradient at the ascended point", mism);
    CHECK_MSG(differ > np / 2, "the second gradient is the first one (%zu of %zu differ)", differ, np);
    up(be, net->params, w0, np);
    up(be, net->state, s1, ns);
    wn_sam_free(&sam);
    net->layers[0].frozen = 0;
    free(w0), free(g1), free(s1), free(wa), free(want), free(g2), free(wr), free(sr), free(gref);
}

int main(void) {
    test_sumsq();
    wn_err e = {0};
    wn_backend be;
    CHECK(wn_cpu_backend_create(2, &be, &e) == WN_OK);
    wn_netdef d;
    CHECK(wn_netdef_parse_string(NET, "sam.ini", &d, &e) == WN_OK);
    wn_net net;
    CHECK(wn_net_create(&d, K, &be, &net, &e) == WN_OK);
    CHECK(wn_net_init(&net, 5, &e) == WN_OK);
    CHECK(wn_net_reserve(&net, B, 1, &e) == WN_OK);
    CHECK(net.n_state > 0 && net.layers[0].w_count > 0);

    wn_rng r;
    wn_rng_seed(&r, 11, 2);
    float xh[B * HW];
    int32_t yh[B];
    for (int i = 0; i < B * HW; i++) xh[i] = (float)(wn_rng_uniform(&r) * 2 - 1);
    for (int i = 0; i < B; i++) yh[i] = i % K;
    float *x = wn_balloc(&be, B * HW, "x", &e), *probs = wn_balloc(&be, B * K, "p", &e);
    float *dl = wn_balloc(&be, B * K, "dl", &e);
    int32_t *y = be.ops->alloc(be.ctx, B * sizeof(int32_t));
    up(&be, x, xh, B * HW);
    CHECK(be.ops->upload(be.ctx, y, yh, sizeof yh, &e) == WN_OK);

    test_step(&net, x, y, probs, dl, 0);
    /* c1's gradient slots still hold the unfrozen pass's values: they must not count */
    test_step(&net, x, y, probs, dl, 1);

    /* a zero gradient: no ascent, nothing changes */
    wn_sam sam;
    CHECK(wn_sam_create(&sam, 0.05, &net, &e) == WN_OK);
    be.ops->fill(be.ctx, net.grads, net.n_params, 0.0f);
    float *w0 = down(&be, net.params, net.n_params);
    CHECK(wn_sam_ascend(&sam) == 0);
    wn_sam_restore(&sam);
    float *w1 = down(&be, net.params, net.n_params);
    CHECK(memcmp(w0, w1, net.n_params * sizeof(float)) == 0);
    wn_sam_free(&sam);
    /* rho 0: inactive, nothing allocated */
    CHECK(wn_sam_create(&sam, 0, &net, &e) == WN_OK);
    CHECK(sam.w == NULL && sam.s == NULL);
    gradient(&net, x, y, probs, dl);
    CHECK(wn_sam_ascend(&sam) == 0);
    wn_sam_free(&sam);
    free(w0), free(w1);

    be.ops->free(be.ctx, x);
    be.ops->free(be.ctx, probs);
    be.ops->free(be.ctx, dl);
    be.ops->free(be.ctx, y);
    wn_net_free(&net);
    wn_netdef_free(&d);
    wn_backend_free(&be);
    return wn_test_done();
}
