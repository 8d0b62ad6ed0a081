/* test_net.c - the network engine on the CPU backend: parameter counts and output shapes of the
 * sample nets (ResNet-18 = torchvision's 11,689,512; AlexNet against its layer arithmetic),
 * named tensors, whole-network gradient checks against central finite differences (residual
 * adds, batchnorm, pooling, dropout, dense), frozen layers, forward determinism, batchnorm and
 * dropout in training vs evaluation mode, buffer reuse, and that a tiny net learns a separable
 * problem with Adam and with SGD. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "wn_modelnet.h"
#include "wn_net.h"
#include "wn_rng.h"
#include "wn_test.h"

/* Repository root, from this file's path (CMake compiles it by absolute path). */
static const char *repo_path(const char *rel) {
    static char buf[4096];
    const char *self = __FILE__;
    const char *cut = strstr(self, "tests/test_net.c");
    int n = cut ? (int)(cut - self) : 0;
    snprintf(buf, sizeof buf, "%.*s%s", n, self, rel);
    return buf;
}

/* Parses (a file when is_file, else INI text) and instantiates with classes; 0 on success. */
static int make_net(wn_backend *be, const char *src, int is_file, int classes, wn_net *net) {
    wn_netdef d;
    wn_err e = {0};
    int rc = is_file ? wn_netdef_parse_file(src, &d, &e)
                     : wn_netdef_parse_string(src, "test.ini", &d, &e);
    if (!rc) {
        rc = wn_net_create(&d, classes, be, net, &e);
        wn_netdef_free(&d);
    }
    CHECK_MSG(rc == WN_OK, "%s", e.msg);
    return rc;
}

static int layer_index(const wn_net *net, const char *name) {
    for (int i = 0; i < net->n_layers; i++)
        if (!strcmp(net->layers[i].def.name, name)) return i;
    return -1;
}

static int shape_is(const wn_net *net, const char *name, int c, int h, int w) {
    int i = layer_index(net, name);
    if (i < 0) return 0;
    wn_shape s = net->layers[i].out;
    return s.c == c && s.h == h && s.w == w;
}

static float *dev_upload(wn_backend *be, const void *host, size_t bytes) {
    float *d = be->ops->alloc(be->ctx, bytes ? bytes : 4);
    if (d && bytes) be->ops->upload(be->ctx, d, host, bytes, NULL);
    return d;
}

static void dev_get(wn_backend *be, void *host, const void *dev, size_t bytes) {
    be->ops->download(be->ctx, host, dev, bytes, NULL);
}

static void randn(wn_rng *r, float *x, size_t n, float scale) {
    for (size_t i = 0; i < n; i++) x[i] = scale * wn_rng_normal(r);
}

/* ---------------------------------------------------------------- counts and shapes */

static void test_counts(wn_backend *be) {
    wn_net net;
    if (!make_net(be, repo_path("samples/nets/resnet18.ini"), 1, 1000, &net)) {
        CHECK_MSG(net.n_params == 11689512, "resnet18: %zu parameters", net.n_params);
        /* running mean and var of 20 batchnorms over 64..512 channels */
        CHECK(net.n_state == 2 * (5 * 64 + 5 * 128 + 5 * 256 + 5 * 512));
        CHECK(shape_is(&net, "conv1", 64, 112, 112) && shape_is(&net, "maxpool", 64, 56, 56));
        CHECK(shape_is(&net, "layer2_0_downsample_1", 128, 28, 28));
        CHECK(shape_is(&net, "layer3_1_relu2", 256, 14, 14) &&
              shape_is(&net, "layer4_1_relu2", 512, 7, 7));
        CHECK(shape_is(&net, "avgpool", 512, 1, 1) && shape_is(&net, "fc", 1000, 1, 1));
        /* named tensors: 20 conv weights, 20 batchnorms x 4, fc weight and bias */
        int nt = wn_net_tensor_count(&net);
        CHECK(nt == 20 + 80 + 2);
        size_t params = 0, state = 0;
        int found = 0;
        for (int i = 0; i < nt; i++) {
            wn_tensor_ref r;
            wn_net_tensor(&net, i, &r);
            size_t prod = 1;
            for (int d = 0; d < r.ndim; d++) prod *= (size_t)r.dims[d];
            CHECK(prod == r.count);
            if (strstr(r.name, ".running_")) {
                state += r.count;
                CHECK(r.data >= net.state && r.data + r.count <= net.state + net.n_state);
            } else {
                params += r.count;
                CHECK(r.data >= net.params && r.data + r.count <= net.params + net.n_params);
            }
            if (!strcmp(r.name, "layer2_0_downsample_0.weight"))
                found += r.ndim == 4 && r.dims[0] == 128 && r.dims[1] == 64 && r.dims[2] == 1 &&
                         r.dims[3] == 1;
            if (!strcmp(r.name, "fc.weight"))
                found += r.ndim == 2 && r.dims[0] == 1000 && r.dims[1] == 512;
            if (!strcmp(r.name, "fc.bias")) found += r.ndim == 1 && r.dims[0] == 1000;
            if (!strcmp(r.name, "bn1.running_var")) found += r.ndim == 1 && r.dims[0] == 64;
        }
        CHECK(found == 4);
        CHECK(params == net.n_params && state == net.n_state);
        /* the printed table ends with the total */
        char *text = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&text, &len);
        wn_net_print(&net, f);
        fclose(f);
        CHECK(text && strstr(text, "total: 11,689,512 parameters") && strstr(text, "layer4_1_add"));
        free(text);
        wn_net_free(&net);
        CHECK(net.params == NULL && net.layers == NULL);
    }
    if (!make_net(be, repo_path("samples/nets/alexnet.ini"), 1, 1000, &net)) {
        /* the architecture's arithmetic: 227 -conv11/4-> 55 -pool3/2-> 27 -conv5p2-> 27
         * -pool-> 13 -conv3p1 x3-> 13 -pool-> 6 */
        size_t conv = (96 * 3 * 11 * 11 + 96) + (256 * 96 * 5 * 5 + 256) + (384 * 256 * 9 + 384) +
                      (384 * 384 * 9 + 384) + (256 * 384 * 9 + 256);
        size_t dense = (256 * 6 * 6 * (size_t)4096 + 4096) + (4096 * (size_t)4096 + 4096) +
                       (4096 * (size_t)1000 + 1000);
        CHECK(conv + dense == 62378344);
        CHECK_MSG(net.n_params == conv + dense, "alexnet: %zu parameters", net.n_params);
        CHECK(shape_is(&net, "conv1", 96, 55, 55) && shape_is(&net, "pool1", 96, 27, 27));
        CHECK(shape_is(&net, "pool2", 256, 13, 13) && shape_is(&net, "pool5", 256, 6, 6));
        CHECK(net.n_state == 0 && wn_net_tensor_count(&net) == 16);
        wn_net_free(&net);
    }
    if (!make_net(be, repo_path("samples/nets/fmnist_small.ini"), 1, 2, &net)) {
        size_t want =
            32 * 9 + 32 + 64 * 288 + 64 + 128 * 576 + 128 + 6272 * 256 + 256 + 256 * 2 + 2;
        CHECK(want == 1699074); /* as docs/NETWORK_INI.md says */
        CHECK_MSG(net.n_params == want, "fmnist_small: %zu parameters", net.n_params);
        CHECK(shape_is(&net, "conv2", 64, 28, 28) && shape_is(&net, "pool3", 128, 7, 7));
        CHECK(shape_is(&net, "fc1", 256, 1, 1) && shape_is(&net, "fc2", 2, 1, 1));
        /* parameter blocks are laid out in layer order, weight then bias, without gaps */
        size_t off = 0;
        for (int i = 0; i < net.n_layers; i++) {
            const wn_layer *L = &net.layers[i];
            CHECK(L->w_off == off && L->b_off == off + L->w_count);
            off += L->w_count + L->b_count;
        }
        CHECK(off == net.n_params);
        wn_net_free(&net);
    }
    if (!make_net(be, repo_path("samples/nets/tiny.ini"), 1, 3, &net)) {
        CHECK(shape_is(&net, "conv1", 8, 13, 13) && shape_is(&net, "pool1", 8, 6, 6));
        CHECK(net.n_params == 8 * 9 + 8 + 8 * 36 * 3 + 3);
        wn_net_free(&net);
    }
}

/* ---------------------------------------------------------------- gradient checks */

typedef struct gc {
    wn_backend *be;
    wn_net *net;
    int n;
    float *x; // (N, C, H, W) backend
    int32_t *y; // (N) backend
    float *probs; // (N, K) backend
    float *dlogits; // (N, K) backend
    uint64_t seed; // dropout seed, fixed so that the loss is a function of the parameters
    size_t sig_len; // bytes of a kink signature
    unsigned char *sig_p, *sig_m; // (sig_len) signatures of the +eps and -eps runs, host
} gc;

/* (C, H, W) of layer l's input. */
static wn_shape in_shape(const wn_net *net, int l) {
    int in = net->layers[l].in;
    if (in >= 0) return net->layers[in].out;
    wn_shape s = {1, net->def.in_c, net->def.in_h, net->def.in_w};
    return s;
}

/* The non-differentiable decisions of the last forward: the sign of every relu/leaky input and
 * the winner of every max-pool window. Where they differ between the +eps and -eps runs, the
 * loss has a kink inside the interval and a finite difference says nothing about the gradient.
 * Writes to sig (NULL: only counts); returns the length in bytes. */
static size_t signature(gc *g, unsigned char *sig) {
    const wn_net *net = g->net;
    size_t len = 0;
    for (int l = 0; l < net->n_layers; l++) {
        const wn_layer *L = &net->layers[l];
        int type = L->def.type;
        if (type != WN_LAYER_RELU && type != WN_LAYER_LEAKY && type != WN_LAYER_MAXPOOL) continue;
        wn_shape s = in_shape(net, l);
        size_t count = (size_t)g->n * wn_shape_sample(s);
        size_t out = type == WN_LAYER_MAXPOOL ? (size_t)g->n * wn_shape_sample(L->out) : count;
        if (sig) {
            float *v = malloc(count * sizeof(float)); // (N, C, H, W) layer input
            dev_get(g->be, v, L->in < 0 ? g->x : net->layers[L->in].y, count * sizeof(float));
            if (type != WN_LAYER_MAXPOOL) {
                for (size_t i = 0; i < count; i++) sig[len + i] = v[i] > 0;
            } else {
                const wn_layer_def *d = &L->def;
                size_t o = 0;
                for (int nc = 0; nc < g->n * s.c; nc++)
                    for (int oy = 0; oy < L->out.h; oy++)
                        for (int ox = 0; ox < L->out.w; ox++) {
                            int best = -1;
                            float bv = 0;
                            for (int ky = 0; ky < d->kh; ky++)
                                for (int kx = 0; kx < d->kw; kx++) {
                                    int yy = oy * d->sh - d->ph + ky, xx = ox * d->sw - d->pw + kx;
                                    if (yy < 0 || yy >= s.h || xx < 0 || xx >= s.w) continue;
                                    float t = v[((size_t)nc * s.h + yy) * s.w + xx];
                                    if (best < 0 || t > bv) {
                                        best = ky * d->kw + kx;
                                        bv = t;
                                    }
                                }
                            sig[len + o++] = (unsigned char)best;
                        }
            }
            free(v);
        }
        len += out;
    }
    return len;
}

static void gc_setup(gc *g, wn_backend *be, wn_net *net, int n, uint64_t seed) {
    wn_err e = {0};
    memset(g, 0, sizeof *g);
    g->be = be;
    g->net = net;
    g->n = n;
    g->seed = seed;
    CHECK(wn_net_init(net, seed, &e) == WN_OK);
    CHECK(wn_net_reserve(net, n, 1, &e) == WN_OK);
    wn_rng r;
    wn_rng_seed(&r, seed, 99);
    size_t xs = (size_t)n * net->def.in_c * net->def.in_h * net->def.in_w;
    float *xh = malloc(xs * sizeof(float));
    int32_t *yh = malloc((size_t)n * sizeof(int32_t));
    randn(&r, xh, xs, 1.0f);
    for (int i = 0; i < n; i++) yh[i] = (int32_t)(i % net->n_classes);
    g->x = dev_upload(be, xh, xs * sizeof(float));
    g->y = (int32_t *)dev_upload(be, yh, (size_t)n * sizeof(int32_t));
    g->probs = wn_balloc(be, (size_t)n * net->n_classes, "probs", NULL);
    g->dlogits = wn_balloc(be, (size_t)n * net->n_classes, "dlogits", NULL);
    g->sig_len = signature(g, NULL);
    g->sig_p = malloc(g->sig_len + 1);
    g->sig_m = malloc(g->sig_len + 1);
    free(xh);
    free(yh);
}

static void gc_free(gc *g) {
    const wn_backend_ops *ops = g->be->ops;
    ops->free(g->be->ctx, g->x);
    ops->free(g->be->ctx, g->y);
    ops->free(g->be->ctx, g->probs);
    ops->free(g->be->ctx, g->dlogits);
    free(g->sig_p);
    free(g->sig_m);
}

/* Mean softmax cross entropy of a training forward; also dlogits when want_grad, and the kink
 * signature when sig is not NULL. */
static double gc_loss(gc *g, int want_grad, unsigned char *sig) {
    const float *logits = wn_net_forward(g->net, g->n, g->x, 1, g->seed);
    double l = 0;
    g->be->ops->softmax_xent(g->be->ctx, g->n, g->net->n_classes, logits, g->y, NULL, NULL,
                             g->probs, want_grad ? g->dlogits : NULL, &l);
    if (sig) signature(g, sig);
    return l;
}

/* Analytic gradients of every parameter (host copy, caller frees). */
static float *gc_analytic(gc *g) {
    gc_loss(g, 1, NULL);
    wn_net_backward(g->net, g->n, g->x, g->dlogits);
    float *h = malloc(g->net->n_params * sizeof(float));
    dev_get(g->be, h, g->net->grads, g->net->n_params * sizeof(float));
    return h;
}

/* Central difference of the loss in parameter i; *kinked = 1 when a relu or max-pool decision
 * changes between the two runs. */
static double gc_numeric(gc *g, size_t i, float eps, int *kinked) {
    float *p = g->net->params + i, w, wp, wm;
    dev_get(g->be, &w, p, sizeof w);
    wp = w + eps;
    g->be->ops->upload(g->be->ctx, p, &wp, sizeof wp, NULL);
    double lp = gc_loss(g, 0, g->sig_p);
    wm = w - eps;
    g->be->ops->upload(g->be->ctx, p, &wm, sizeof wm, NULL);
    double lm = gc_loss(g, 0, g->sig_m);
    g->be->ops->upload(g->be->ctx, p, &w, sizeof w, NULL);
    *kinked = memcmp(g->sig_p, g->sig_m, g->sig_len) != 0;
    return (lp - lm) / ((double)wp - (double)wm);
}

typedef struct gc_stats {
    int checked, kinked, big, bad;
    double worst_rel; /* over gradients with |g| > GC_BIG */
    double worst_abs; /* over the others */
} gc_stats;

#define GC_EPS 3e-3f /* small enough to step over few kinks, large enough for float noise */
#define GC_BIG 1e-3 /* gradients above this must agree to 1e-2 relative */
#define GC_ABS 2e-5 /* smaller ones to this absolute difference */

/* Compares parameter i; returns 1 when it was compared (not at a kink). */
static int gc_compare(gc *g, const float *analytic, size_t i, gc_stats *s, const char *what) {
    int kinked;
    double a = analytic[i], num = gc_numeric(g, i, GC_EPS, &kinked);
    double m = fmax(fabs(a), fabs(num)), diff = fabs(a - num);
    if (kinked) { /* not differentiable over [w - eps, w + eps] */
        s->kinked++;
        return 0;
    }
    s->checked++;
    int ok;
    if (m > GC_BIG) {
        s->big++;
        double rel = diff / m;
        if (rel > s->worst_rel) s->worst_rel = rel;
        ok = rel < 1e-2;
    } else {
        if (diff > s->worst_abs) s->worst_abs = diff;
        ok = diff < GC_ABS;
    }
    if (!ok) {
        s->bad++;
        fprintf(stderr, "%s: parameter %zu: analytic %.6g, numeric %.6g\n", what, i, a, num);
    }
    return 1;
}

static void gc_report(const char *what, const gc_stats *s) {
    printf("gradient check %s: %d parameters compared, %d skipped at a relu/max-pool kink; "
           "%d with |g| > %g (worst relative error %.2g), the others worst |diff| %.2g\n",
           what, s->checked, s->kinked, s->big, GC_BIG, s->worst_rel, s->worst_abs);
    CHECK_MSG(s->bad == 0, "%s: %d of %d gradients disagree", what, s->bad, s->checked);
    /* the check is not vacuous: most parameters compared, most of them with a real gradient */
    CHECK_MSG(s->checked >= 2 * s->kinked && s->big >= s->checked / 2,
              "%s: only %d of %d compared, %d with |g| > %g", what, s->checked,
              s->checked + s->kinked, s->big, GC_BIG);
}

static int owner(const wn_net *net, size_t i) {
    for (int l = 0; l < net->n_layers; l++) {
        const wn_layer *L = &net->layers[l];
        if (i >= L->w_off && i < L->b_off + L->b_count) return l;
    }
    return 0;
}

/* Every parameter of a small net. */
static void gradcheck_all(wn_backend *be, const char *text, int classes, int n, const char *what) {
    wn_net net;
    if (make_net(be, text, 0, classes, &net)) return;
    gc g;
    gc_setup(&g, be, &net, n, 7);
    float *a = gc_analytic(&g);
    gc_stats s = {0};
    int *compared = calloc((size_t)net.n_layers, sizeof(int));
    for (size_t i = 0; i < net.n_params; i++) {
        int l = owner(&net, i);
        compared[l] += gc_compare(&g, a, i, &s, net.layers[l].def.name);
    }
    gc_report(what, &s);
    /* every layer with parameters had some of them compared */
    for (int l = 0; l < net.n_layers; l++)
        if (net.layers[l].w_count)
            CHECK_MSG(compared[l] * 4 >= (int)(net.layers[l].w_count + net.layers[l].b_count),
                      "%s: layer %s: %d compared", what, net.layers[l].def.name, compared[l]);
    free(compared);
    free(a);
    gc_free(&g);
    wn_net_free(&net);
}

/* A residual block (r1 feeds c2 and the add), batchnorm, maxpool, dropout with a fixed seed,
 * strided conv, gap, dense. */
static const char net_residual[] = "[net]\nwidth = 4\nheight = 4\nchannels = 3\n"
                                   "[c1]\ntype = conv\nfilters = 4\nsize = 3\npad = 1\n"
                                   "[bn1]\ntype = batchnorm\n"
                                   "[r1]\ntype = relu\n"
                                   "[c2]\ntype = conv\nfilters = 4\nsize = 3\npad = 1\nbias = 0\n"
                                   "[bn2]\ntype = batchnorm\n"
                                   "[sum]\ntype = add\nfrom = r1\n"
                                   "[r2]\ntype = relu\n"
                                   "[mp]\ntype = maxpool\nsize = 2\n"
                                   "[drop]\ntype = dropout\nrate = 0.25\n"
                                   "[c3]\ntype = conv\nfilters = 6\nsize = 3\nstride = 2\npad = 1\n"
                                   "[g]\ntype = gap\n"
                                   "[fc]\ntype = dense\nunits = classes\n";

/* A skip from the network input, an add of a layer with itself, leaky, average pooling with
 * padding, dense on a (C,H,W) input, batchnorm on features. */
static const char net_branches[] =
    "[net]\nwidth = 6\nheight = 6\nchannels = 1\n"
    "[c1]\ntype = conv\nfilters = 3\nsize = 3\nstride = 2\npad = 1\n"
    "[lk]\ntype = leaky\nalpha = 0.1\n"
    "[skip]\ntype = conv\ninput = input\nfilters = 3\nsize = 1\nstride = 2\n"
    "[sum]\ntype = add\ninput = lk\nfrom = skip\n"
    "[dbl]\ntype = add\nfrom = sum\n"
    "[ap]\ntype = avgpool\nsize = 2\nstride = 1\npad = 1\n"
    "[fc1]\ntype = dense\nunits = 5\n"
    "[bn]\ntype = batchnorm\n"
    "[r]\ntype = relu\n"
    "[fc2]\ntype = dense\nunits = classes\n";

/* A small ResNet: stem, an identity block, a downsampling block, gap, dense. */
static const char net_resnet[] =
    "[net]\nwidth = 8\nheight = 8\nchannels = 3\n"
    "[conv1]\ntype = conv\nfilters = 8\nsize = 3\npad = 1\nbias = 0\n"
    "[bn1]\ntype = batchnorm\n[relu1]\ntype = relu\n"
    "[b1c1]\ntype = conv\nfilters = 8\nsize = 3\npad = 1\nbias = 0\n"
    "[b1bn1]\ntype = batchnorm\n[b1r1]\ntype = relu\n"
    "[b1c2]\ntype = conv\nfilters = 8\nsize = 3\npad = 1\nbias = 0\n"
    "[b1bn2]\ntype = batchnorm\n[b1add]\ntype = add\nfrom = relu1\n[b1r2]\ntype = relu\n"
    "[b2c1]\ntype = conv\nfilters = 16\nsize = 3\nstride = 2\npad = 1\nbias = 0\n"
    "[b2bn1]\ntype = batchnorm\n[b2r1]\ntype = relu\n"
    "[b2c2]\ntype = conv\nfilters = 16\nsize = 3\npad = 1\nbias = 0\n"
    "[b2bn2]\ntype = batchnorm\n"
    "[b2down]\ntype = conv\ninput = b1r2\nfilters = 16\nsize = 1\nstride = 2\nbias = 0\n"
    "[b2dbn]\ntype = batchnorm\n"
    "[b2add]\ntype = add\ninput = b2bn2\nfrom = b2dbn\n[b2r2]\ntype = relu\n"
    "[gap]\ntype = gap\n[fc]\ntype = dense\nunits = classes\n";

/* A few random parameters of every parameter block of a bigger net. */
static void gradcheck_sampled(wn_backend *be) {
    wn_net net;
    if (make_net(be, net_resnet, 0, 4, &net)) return;
    gc g;
    gc_setup(&g, be, &net, 2, 11);
    float *a = gc_analytic(&g);
    wn_rng r;
    wn_rng_seed(&r, 5, 0);
    gc_stats s = {0};
    int blocks = 0;
    for (int l = 0; l < net.n_layers; l++) {
        const wn_layer *L = &net.layers[l];
        size_t off[2] = {L->w_off, L->b_off}, cnt[2] = {L->w_count, L->b_count};
        for (int b = 0; b < 2; b++) {
            if (!cnt[b]) continue;
            blocks++;
            for (int k = 0; k < 5; k++)
                gc_compare(&g, a, off[b] + wn_rng_below(&r, (uint32_t)cnt[b]), &s, L->def.name);
        }
    }
    gc_report("resnet (5 random parameters per block)", &s);
    CHECK(blocks == 6 + 2 * 6 + 2); /* 6 convs without bias, 6 batchnorms, fc */
    free(a);
    gc_free(&g);
    wn_net_free(&net);
}

/* Frozen layers keep their gradients untouched and do not change the others'. */
static void test_frozen(wn_backend *be) {
    wn_net net;
    if (make_net(be, net_residual, 0, 3, &net)) return;
    gc g;
    gc_setup(&g, be, &net, 4, 3);
    float *ref = gc_analytic(&g);
    int c1 = layer_index(&net, "c1"), bn2 = layer_index(&net, "bn2");
    net.layers[c1].frozen = net.layers[bn2].frozen = 1;
    net.be->ops->fill(net.be->ctx, net.grads, net.n_params, 123.0f);
    float *got = gc_analytic(&g);
    int same_frozen = 1, same_other = 1;
    for (size_t i = 0; i < net.n_params; i++) {
        const wn_layer *c = &net.layers[c1], *b = &net.layers[bn2];
        int frozen = (i >= c->w_off && i < c->b_off + c->b_count) ||
                     (i >= b->w_off && i < b->b_off + b->b_count);
        if (frozen)
            same_frozen &= got[i] == 123.0f;
        else
            same_other &= fabsf(got[i] - ref[i]) <= 1e-6f + 1e-5f * fabsf(ref[i]);
    }
    CHECK(same_frozen);
    CHECK(same_other);
    /* everything frozen: backward does nothing */
    for (int i = 0; i < net.n_layers; i++) net.layers[i].frozen = 1;
    net.be->ops->fill(net.be->ctx, net.grads, net.n_params, 5.0f);
    free(got);
    got = gc_analytic(&g);
    int untouched = 1;
    for (size_t i = 0; i < net.n_params; i++) untouched &= got[i] == 5.0f;
    CHECK(untouched);
    free(ref);
    free(got);
    gc_free(&g);
    wn_net_free(&net);
}

/* ---------------------------------------------------------------- modes and determinism */

static void test_determinism(wn_backend *be) {
    wn_net a, b;
    if (make_net(be, net_residual, 0, 3, &a)) return;
    if (make_net(be, net_residual, 0, 3, &b)) {
        wn_net_free(&a);
        return;
    }
    wn_err e = {0};
    CHECK(wn_net_init(&a, 42, &e) == WN_OK && wn_net_init(&b, 42, &e) == WN_OK);
    size_t np = a.n_params;
    float *pa = malloc(np * sizeof(float)), *pb = malloc(np * sizeof(float));
    dev_get(be, pa, a.params, np * sizeof(float));
    dev_get(be, pb, b.params, np * sizeof(float));
    CHECK(!memcmp(pa, pb, np * sizeof(float)));
    /* PyTorch's bounds: conv c1 fan_in 3*3*3, fc fan_in 6; batchnorm gamma 1 beta 0 */
    const wn_layer *c1 = &a.layers[layer_index(&a, "c1")], *fc = &a.layers[layer_index(&a, "fc")];
    const wn_layer *bn = &a.layers[layer_index(&a, "bn1")];
    float bc = 1.0f / sqrtf(27.0f), bf = 1.0f / sqrtf(6.0f), lo = 1, hi = -1;
    for (size_t i = 0; i < c1->w_count + c1->b_count; i++) {
        float v = pa[c1->w_off + i];
        lo = fminf(lo, v);
        hi = fmaxf(hi, v);
    }
    CHECK(lo >= -bc && hi <= bc && hi - lo > bc); /* spread over the range */
    for (size_t i = 0; i < fc->w_count + fc->b_count; i++) CHECK(fabsf(pa[fc->w_off + i]) <= bf);
    CHECK(pa[bn->w_off] == 1.0f && pa[bn->w_off + 3] == 1.0f && pa[bn->b_off] == 0.0f);
    float st[8];
    dev_get(be, st, a.state + bn->s_off, sizeof st);
    CHECK(st[0] == 0.0f && st[3] == 0.0f && st[4] == 1.0f && st[7] == 1.0f);
    CHECK(wn_net_init(&b, 43, &e) == WN_OK);
    dev_get(be, pb, b.params, np * sizeof(float));
    CHECK(memcmp(pa, pb, np * sizeof(float)) != 0);

    /* the same input gives the same logits, run after run */
    int n = 5, k = 3;
    CHECK(wn_net_reserve(&a, n, 1, &e) == WN_OK);
    wn_rng r;
    wn_rng_seed(&r, 1, 1);
    float xh[5 * 3 * 4 * 4], l1[15], l2[15], l3[15];
    randn(&r, xh, sizeof xh / sizeof xh[0], 1.0f);
    float *x = dev_upload(be, xh, sizeof xh);
    dev_get(be, l1, wn_net_forward(&a, n, x, 0, 0), sizeof l1);
    dev_get(be, l2, wn_net_forward(&a, n, x, 0, 0), sizeof l2);
    CHECK(!memcmp(l1, l2, sizeof l1));
    dev_get(be, l1, wn_net_forward(&a, n, x, 1, 9), sizeof l1);
    dev_get(be, l2, wn_net_forward(&a, n, x, 1, 9), sizeof l2);
    dev_get(be, l3, wn_net_forward(&a, n, x, 1, 10), sizeof l3);
    CHECK(!memcmp(l1, l2, sizeof l1)); /* same dropout seed */
    CHECK(memcmp(l1, l3, sizeof l1) != 0); /* another seed, another mask */
    /* fewer photos than reserved: the same per-photo results (evaluation mode) */
    dev_get(be, l1, wn_net_forward(&a, n, x, 0, 0), sizeof l1);
    dev_get(be, l2, wn_net_forward(&a, 2, x, 0, 0), 2 * k * sizeof(float));
    for (int i = 0; i < 2 * k; i++) CHECK_CLOSE(l2[i], l1[i], 1e-6, 1e-5);
    be->ops->free(be->ctx, x);
    free(pa);
    free(pb);
    wn_net_free(&a);
    wn_net_free(&b);
}

static void test_reserve(wn_backend *be) {
    wn_net net;
    if (make_net(be, net_residual, 0, 3, &net)) return;
    wn_err e = {0};
    CHECK(net.batch == 0 && !net.training_buffers && net.layers[0].y == NULL);
    CHECK(wn_net_reserve(&net, 8, 0, &e) == WN_OK);
    CHECK(net.batch == 8 && !net.training_buffers && net.layers[0].y && !net.layers[0].dy);
    float *y0 = net.layers[0].y;
    CHECK(wn_net_reserve(&net, 4, 0, &e) == WN_OK && net.layers[0].y == y0 && net.batch == 8);
    CHECK(wn_net_reserve(&net, 8, 1, &e) == WN_OK && net.layers[0].y == y0 && net.training_buffers);
    int d = layer_index(&net, "drop"), b = layer_index(&net, "bn1"), r = layer_index(&net, "r1");
    CHECK(net.layers[d].aux && net.layers[b].aux && !net.layers[r].aux && net.scratch);
    float *dy0 = net.layers[0].dy;
    CHECK(wn_net_reserve(&net, 2, 0, &e) == WN_OK && net.layers[0].dy == dy0 &&
          net.training_buffers);
    CHECK(wn_net_reserve(&net, 16, 0, &e) == WN_OK && net.batch == 16 && net.training_buffers);
    /* r1 (after bn1), the add (over bn2, its first input) and r2 (after the add) are computed
     * in place: they take their input's y and dy; every other layer's buffers never overlap:
     * each y is after the previous one's end */
    int r2 = layer_index(&net, "r2"), sum = layer_index(&net, "sum"), b2 = layer_index(&net, "bn2");
    CHECK(net.layers[r].inplace && net.layers[r2].inplace && net.layers[sum].inplace);
    CHECK(net.layers[r].y == net.layers[b].y && net.layers[r].dy == net.layers[b].dy);
    CHECK(net.layers[sum].y == net.layers[b2].y && net.layers[r2].y == net.layers[b2].y);
    CHECK(net.layers[sum].dy == net.layers[b2].dy && net.layers[r2].dy == net.layers[b2].dy);
    /* the scratch holds the largest output with two consumers: r1's (c2 and the add), not c1's
     * or bn1's of the same size, nor a larger one */
    CHECK_MSG(net.scratch_n == 16 * wn_shape_sample(net.layers[r].out), "scratch of %zu values",
              net.scratch_n);
    const float *prev = NULL;
    size_t prev_n = 0;
    for (int i = 0; i < net.n_layers; i++) {
        if (net.layers[i].inplace) {
            CHECK(i == r || i == r2 || i == sum);
            continue;
        }
        if (prev) CHECK(net.layers[i].y >= prev + 16 * prev_n);
        prev = net.layers[i].y;
        prev_n = wn_shape_sample(net.layers[i].out);
    }
    CHECK(wn_net_reserve(&net, 0, 0, &e) == WN_EINPUT);
    wn_net_free(&net);
}

/* ---- the bf16 storage layout, on the CPU: a copy of the CPU table whose act_bf16 says 1 and
 * whose alloc_bf16 records its blocks (2 bytes a value). Only wn_net_reserve runs on it (the CPU
 * ops compute in fp32 and must not see such buffers). */
static wn_backend_ops lp_ops;
static const wn_backend_ops *lp_base;
static struct {
    const char *p;
    size_t bytes;
} lp_blocks[8];
static int n_lp_blocks;

static int lp_act_bf16(void *ctx) {
    (void)ctx;
    return 1;
}

static void *lp_alloc_bf16(void *ctx, size_t count) {
    void *p = lp_base->alloc(ctx, count * 2);
    if (p && n_lp_blocks < 8) {
        lp_blocks[n_lp_blocks].p = p;
        lp_blocks[n_lp_blocks++].bytes = count * 2;
    }
    return p;
}

/* 1 when [p, p + bytes) lies inside one recorded bf16 block, 64-byte aligned from its start. */
static int in_lp_block(const void *p, size_t bytes) {
    const char *q = p;
    for (int i = 0; i < n_lp_blocks; i++)
        if (q >= lp_blocks[i].p && q + bytes <= lp_blocks[i].p + lp_blocks[i].bytes)
            return (size_t)(q - lp_blocks[i].p) % 64 == 0;
    return 0;
}

static void test_reserve_bf16(wn_backend *cpu) {
    lp_base = cpu->ops;
    lp_ops = *cpu->ops;
    lp_ops.act_bf16 = lp_act_bf16;
    lp_ops.alloc_bf16 = lp_alloc_bf16;
    wn_backend be = {&lp_ops, cpu->ctx};
    wn_err e = {0};
    const int n = 5; /* odd, so that slices need rounding */
    for (int k = 0; k < 2; k++) {
        wn_net net;
        n_lp_blocks = 0;
        if (k == 0 ? make_net(&be, net_residual, 0, 3, &net)
                   : make_net(&be, repo_path("samples/nets/resnet18.ini"), 1, 10, &net))
            return;
        const char *what = k == 0 ? "residual net" : "resnet18.ini";
        CHECK_MSG(wn_net_reserve(&net, n, 1, &e) == WN_OK, "%s: %s", what, e.msg);
        CHECK_MSG(net.lp == 1 && n_lp_blocks == 2, "%s: bf16 storage (%d blocks)", what, n_lp_blocks);
        CHECK_MSG(net.logits != NULL && !in_lp_block(net.logits, 4), "%s: own fp32 logits", what);
        size_t in_n = (size_t)n * net.def.in_c * net.def.in_h * net.def.in_w;
        CHECK_MSG(in_lp_block(net.in_lp, 2 * in_n), "%s: the input copy in the bf16 block", what);
        int bad_y = 0, bad_dy = 0, overlap = 0, shared = 0;
        for (int i = 0; i < net.n_layers; i++) {
            const wn_layer *L = &net.layers[i];
            size_t bytes = 2 * (size_t)n * wn_shape_sample(L->out);
            if (L->inplace) {
                shared += L->y == net.layers[L->in].y && L->dy == net.layers[L->in].dy;
                continue;
            }
            bad_y += !in_lp_block(L->y, bytes);
            bad_dy += !in_lp_block(L->dy, bytes);
            /* outputs never share memory: neither with each other nor with the input copy */
            const char *a = (const char *)L->y, *ie = (const char *)net.in_lp;
            overlap += a < ie + 2 * in_n && ie < a + bytes;
            for (int j = 0; j < i; j++) {
                const wn_layer *M = &net.layers[j];
                if (M->inplace) continue;
                const char *b = (const char *)M->y;
                size_t mb = 2 * (size_t)n * wn_shape_sample(M->out);
                overlap += a < b + mb && b < a + bytes;
            }
        }
        int n_inplace = 0;
        for (int i = 0; i < net.n_layers; i++) n_inplace += net.layers[i].inplace;
        CHECK_MSG(bad_y == 0 && bad_dy == 0, "%s: %d outputs and %d gradients outside their bf16 "
                  "block or off a 64-byte boundary", what, bad_y, bad_dy);
        CHECK_MSG(overlap == 0, "%s: %d overlapping outputs", what, overlap);
        CHECK_MSG(shared == n_inplace && n_inplace > 0, "%s: %d of %d in-place layers share their "
                  "input's buffers", what, shared, n_inplace);
        CHECK_MSG(net.scratch_n == 0 || in_lp_block(net.scratch, 2 * net.scratch_n),
                  "%s: the scratch inside the gradient block", what);
        /* the same net on the plain CPU backend: fp32, nothing extra */
        wn_net plain;
        if (!make_net(cpu, k == 0 ? net_residual : repo_path("samples/nets/resnet18.ini"), k, k ? 10 : 3,
                      &plain)) {
            CHECK(wn_net_reserve(&plain, n, 1, &e) == WN_OK);
            CHECK(plain.lp == 0 && plain.logits == NULL && plain.in_lp == NULL);
            wn_net_free(&plain);
        }
        wn_net_free(&net);
    }
}

/* The gradient buffers after a training reserve of batch n: layer a's dy is needed from the
 * backward of its last consumer down to its own, i.e. for the layer indices [a, last(a)], with
 * the consumers counted here from the layer list (in, and other of an add). Two layers whose
 * intervals meet have disjoint dy memory, unless one is computed in place on the other (then
 * they share it exactly); the block of shared gradients must be smaller than their sum when
 * sum_smaller (a net long enough for the backward to free buffers). */
static void check_gradient_layout(wn_backend *be, const char *src, int is_file, int n, int sum_smaller,
                                  const char *what) {
    wn_net net;
    if (make_net(be, src, is_file, 3, &net)) return;
    wn_err e = {0};
    CHECK(wn_net_reserve(&net, n, 1, &e) == WN_OK);
    int nl = net.n_layers, bad = 0, alias_bad = 0;
    int *last = malloc((size_t)nl * sizeof *last);
    for (int i = 0; i < nl; i++) last[i] = i;
    for (int i = 0; i < nl; i++) {
        const wn_layer *L = &net.layers[i];
        if (L->in >= 0 && last[L->in] < i) last[L->in] = i;
        if (L->def.type == WN_LAYER_ADD && L->other >= 0 && last[L->other] < i) last[L->other] = i;
    }
    size_t sum = 0;
    for (int a = 0; a < nl; a++) {
        const wn_layer *A = &net.layers[a];
        size_t na = (size_t)n * wn_shape_sample(A->out);
        if (!A->inplace) sum += na;
        for (int b = a + 1; b < nl; b++) {
            const wn_layer *B = &net.layers[b];
            size_t nb = (size_t)n * wn_shape_sample(B->out);
            int meet = !(last[a] < b || last[b] < a);
            if (B->inplace && B->in == a) {
                alias_bad += B->dy != A->dy;
                continue;
            }
            if (A->dy == B->dy && (A->inplace || B->inplace)) continue; /* both in place on one */
            int overlap = A->dy < B->dy + nb && B->dy < A->dy + na;
            if (meet && overlap) {
                if (bad++ < 3) printf("  %s: dy of %s and %s overlap while both are live\n", what, A->def.name, B->def.name);
            }
        }
    }
    size_t block = (size_t)(net.scratch - net.grad_mem);
    printf("%s: gradient block %zu values for %zu values of gradients\n", what, block, sum);
    CHECK_MSG(bad == 0 && alias_bad == 0, "%s: %d overlapping live gradients, %d wrong aliases", what, bad, alias_bad);
    if (sum_smaller) CHECK_MSG(block < sum, "%s: the gradient block (%zu) is not smaller than the sum (%zu)", what, block, sum);
    free(last);
    wn_net_free(&net);
}

/* Which layers are computed in place: a relu, a leaky (alpha >= 0) or an add whose (first)
 * input feeds only it and does not read its own output in backward. */
static void test_inplace_rules(wn_backend *be) {
    static const char text[] = "[net]\nwidth = 8\nheight = 8\nchannels = 1\n"
                               "[r0]\ntype = relu\n"                               /* network input: no */
                               "[c1]\ntype = conv\nfilters = 2\nsize = 3\npad = 1\n"
                               "[l1]\ntype = leaky\nalpha = 0.1\n"                /* after conv: yes */
                               "[r1]\ntype = relu\n"                               /* after a relu: no */
                               "[mp]\ntype = maxpool\nsize = 2\n"
                               "[r2]\ntype = relu\n"                               /* after a pool: no */
                               "[c2]\ntype = conv\nfilters = 2\nsize = 3\npad = 1\n"
                               "[r3]\ntype = relu\n"                               /* c2 feeds r3 and s: no */
                               "[s]\ntype = add\nfrom = c2\n"
                               "[d]\ntype = dropout\nrate = 0.5\n"
                               "[r4]\ntype = relu\n"                               /* after dropout: yes */
                               "[fc]\ntype = dense\nunits = 8\n"
                               "[l2]\ntype = leaky\nalpha = 0\n"                  /* after dense: yes */
                               "[f2]\ntype = dense\ninput = r4\nunits = 8\n"
                               "[a1]\ntype = add\ninput = f2\nfrom = l2\n"       /* f2 feeds only a1: yes */
                               "[f3]\ntype = dense\ninput = r4\nunits = 8\n"
                               "[a2]\ntype = add\ninput = f3\nfrom = a1\n"       /* f3 feeds r6 too: no */
                               "[r6]\ntype = relu\ninput = f3\n"
                               "[a3]\ntype = add\ninput = r6\nfrom = a2\n"       /* after a relu: no */
                               "[out]\ntype = dense\nunits = classes\n";
    wn_net net;
    if (make_net(be, text, 0, 3, &net)) return;
    const char *yes[] = {"l1", "r4", "l2", "a1"}, *no[] = {"r0", "r1", "r2", "r3", "a2", "r6", "a3"};
    for (int i = 0; i < 4; i++) CHECK_MSG(net.layers[layer_index(&net, yes[i])].inplace, "%s in place", yes[i]);
    for (int i = 0; i < 7; i++) CHECK_MSG(!net.layers[layer_index(&net, no[i])].inplace, "%s not in place", no[i]);
    wn_net_free(&net);
}

/* Random values for every tensor of a and the same in b (running variances positive). */
static void same_random_tensors(wn_backend *be, wn_net *a, wn_net *b, uint64_t seed) {
    wn_rng r;
    wn_rng_seed(&r, seed, 3);
    for (int t = 0; t < wn_net_tensor_count(a); t++) {
        wn_tensor_ref ra, rb;
        wn_net_tensor(a, t, &ra);
        wn_net_tensor(b, t, &rb);
        float *v = malloc(ra.count * sizeof(float));
        randn(&r, v, ra.count, 0.7f);
        if (strstr(ra.name, "running_var"))
            for (size_t i = 0; i < ra.count; i++) v[i] = 0.2f + v[i] * v[i];
        be->ops->upload(be->ctx, ra.data, v, ra.count * sizeof(float), NULL);
        be->ops->upload(be->ctx, rb.data, v, rb.count * sizeof(float), NULL);
        free(v);
    }
}

/* Folding batchnorm into convolutions for inference: the pairs that may fold do (a conv with and
 * without bias, one inside a residual block) and the others do not (after a pool, after a conv
 * that feeds two layers); evaluation-mode outputs equal the unfolded network's to rounding, on
 * that net and on resnet18.ini; the folded batchnorms take no activation memory; training is
 * refused. */
static void check_fold(wn_backend *be, const char *src, int is_file, int n, int want_folded,
                       const char *what) {
    wn_net a, b;
    if (make_net(be, src, is_file, 3, &a)) return;
    if (make_net(be, src, is_file, 3, &b)) {
        wn_net_free(&a);
        return;
    }
    same_random_tensors(be, &a, &b, 77);
    wn_err e = {0};
    int folded = -1;
    CHECK_MSG(wn_net_fold_batchnorm(&b, &folded, &e) == WN_OK, "%s: %s", what, e.msg);
    CHECK_MSG(folded == want_folded, "%s: %d batchnorm layers folded, want %d", what, folded, want_folded);
    CHECK(wn_net_reserve(&a, n, 0, &e) == WN_OK && wn_net_reserve(&b, n, 0, &e) == WN_OK);
    size_t sample = (size_t)a.def.in_c * a.def.in_h * a.def.in_w;
    float *x = malloc((size_t)n * sample * sizeof(float)); /* (N, C, H, W) */
    wn_rng r;
    wn_rng_seed(&r, 5, 4);
    randn(&r, x, (size_t)n * sample, 1.0f);
    float *xd = dev_upload(be, x, (size_t)n * sample * sizeof(float));
    size_t k = (size_t)n * 3;
    float *la = malloc(k * sizeof(float)), *lb = malloc(k * sizeof(float)); /* (N, K) each */
    dev_get(be, la, wn_net_forward(&a, n, xd, 0, 0), k * sizeof(float));
    dev_get(be, lb, wn_net_forward(&b, n, xd, 0, 0), k * sizeof(float));
    double rms = 0, worst = 0;
    for (size_t i = 0; i < k; i++) rms += (double)la[i] * la[i];
    rms = sqrt(rms / (double)k);
    for (size_t i = 0; i < k; i++) worst = fmax(worst, fabs((double)la[i] - lb[i]));
    CHECK_MSG(worst <= 1e-5 * (rms + 1e-3), "%s: folded logits differ by %.3g (rms %.3g)", what, worst, rms);
    int shared = 0;
    for (int i = 0; i < b.n_layers; i++)
        if (b.layers[i].folded) shared += b.layers[i].y == b.layers[b.layers[i].in].y;
    CHECK_MSG(shared == want_folded, "%s: %d folded layers share their convolution's output", what, shared);
    CHECK(wn_net_reserve(&b, n, 1, &e) == WN_EINPUT && strstr(e.msg, "inference only"));
    wn_model m;
    char *names[3] = {"ok", "a", "b"};
    float mean[3] = {0, 0, 0}, std[3] = {1, 1, 1};
    CHECK(wn_model_from_net(&b, names, NULL, mean, std, NULL, &m, &e) == WN_ERUNTIME &&
          strstr(e.msg, "cannot be saved"));
    be->ops->free(be->ctx, xd);
    free(x);
    free(la);
    free(lb);
    wn_net_free(&a);
    wn_net_free(&b);
}

static void test_fold(wn_backend *be) {
    static const char text[] = "[net]\nwidth = 8\nheight = 8\nchannels = 3\n"
                               "[c1]\ntype = conv\nfilters = 4\nsize = 3\npad = 1\n"
                               "[bn1]\ntype = batchnorm\n"                       /* folds */
                               "[r1]\ntype = relu\n"
                               "[c2]\ntype = conv\nfilters = 4\nsize = 3\npad = 1\nbias = 0\n"
                               "[bn2]\ntype = batchnorm\n"                       /* folds, no bias */
                               "[sum]\ntype = add\nfrom = r1\n"
                               "[r2]\ntype = relu\n"
                               "[p]\ntype = maxpool\nsize = 2\n"
                               "[bn3]\ntype = batchnorm\n"                       /* after a pool: no */
                               "[c3]\ntype = conv\nfilters = 4\nsize = 1\n"
                               "[bn4]\ntype = batchnorm\n"                       /* c3 feeds two: no */
                               "[tap]\ntype = add\ninput = c3\nfrom = bn4\n"
                               "[g]\ntype = gap\n"
                               "[fc]\ntype = dense\nunits = classes\n";
    check_fold(be, text, 0, 3, 2, "fold rules net");
    wn_net net;
    if (!make_net(be, text, 0, 3, &net)) {
        wn_err e = {0};
        CHECK(wn_net_fold_batchnorm(&net, NULL, &e) == WN_OK);
        const char *yes[] = {"bn1", "bn2"}, *no[] = {"bn3", "bn4"};
        for (int i = 0; i < 2; i++) CHECK_MSG(net.layers[layer_index(&net, yes[i])].folded, "%s folded", yes[i]);
        for (int i = 0; i < 2; i++) CHECK_MSG(!net.layers[layer_index(&net, no[i])].folded, "%s not folded", no[i]);
        CHECK(net.layers[layer_index(&net, "r1")].inplace); /* over c1's output, through bn1 */
        wn_net_free(&net);
    }
    check_fold(be, repo_path("samples/nets/resnet18.ini"), 1, 1, 20, "resnet18.ini");
}

/* Batchnorm: batch statistics and running-stat updates in training, running stats in
 * evaluation. Dropout: identity in evaluation, inverted dropout in training. */
static void test_modes(wn_backend *be) {
    wn_net net;
    wn_err e = {0};
    const int n = 16, c = 3;
    if (!make_net(be, "[net]\nwidth = 1\nheight = 1\nchannels = 3\n[bn]\ntype = batchnorm\n", 0, c,
                  &net)) {
        CHECK(wn_net_init(&net, 1, &e) == WN_OK && wn_net_reserve(&net, n, 1, &e) == WN_OK);
        wn_rng r;
        wn_rng_seed(&r, 3, 3);
        float xh[16 * 3], y[16 * 3], st[6];
        for (int i = 0; i < n * c; i++) xh[i] = 2.0f + 2.0f * wn_rng_normal(&r) + (float)(i % c);
        float *x = dev_upload(be, xh, sizeof xh);
        dev_get(be, y, wn_net_forward(&net, n, x, 1, 0), sizeof y);
        dev_get(be, st, net.state, sizeof st);
        for (int ch = 0; ch < c; ch++) {
            double m = 0, v = 0, ym = 0, yv = 0;
            for (int i = 0; i < n; i++) m += xh[i * c + ch] / n;
            for (int i = 0; i < n; i++) v += (xh[i * c + ch] - m) * (xh[i * c + ch] - m);
            for (int i = 0; i < n; i++) ym += y[i * c + ch] / n;
            for (int i = 0; i < n; i++) yv += (y[i * c + ch] - ym) * (y[i * c + ch] - ym) / n;
            CHECK_CLOSE(ym, 0.0, 1e-5, 0);
            CHECK_CLOSE(yv, (v / n) / (v / n + 1e-5), 1e-4, 0);
            CHECK_CLOSE(st[ch], 0.1 * m, 1e-5, 1e-5); /* running mean */
            CHECK_CLOSE(st[c + ch], 0.9 + 0.1 * v / (n - 1), 1e-5, 1e-5); /* running var */
        }
        dev_get(be, y, wn_net_forward(&net, n, x, 0, 0), sizeof y);
        for (int i = 0; i < n * c; i++) {
            int ch = i % c;
            CHECK_CLOSE(y[i], (xh[i] - st[ch]) / sqrt(st[c + ch] + 1e-5), 1e-5, 1e-5);
        }
        float st2[6];
        dev_get(be, st2, net.state, sizeof st2);
        CHECK(!memcmp(st, st2, sizeof st)); /* evaluation leaves the running stats alone */
        be->ops->free(be->ctx, x);
        wn_net_free(&net);
    }
    const int k = 200;
    if (!make_net(be,
                  "[net]\nwidth = 4\nheight = 4\nchannels = 1\n"
                  "[fc]\ntype = dense\nunits = classes\n[drop]\ntype = dropout\n",
                  0, k, &net)) {
        CHECK(wn_net_init(&net, 1, &e) == WN_OK && wn_net_reserve(&net, 4, 1, &e) == WN_OK);
        float xh[4 * 16], fc[4 * 200], y[4 * 200];
        wn_rng r;
        wn_rng_seed(&r, 4, 4);
        randn(&r, xh, 64, 1.0f);
        float *x = dev_upload(be, xh, sizeof xh);
        dev_get(be, y, wn_net_forward(&net, 4, x, 0, 0), sizeof y);
        dev_get(be, fc, net.layers[0].y, sizeof fc);
        CHECK(!memcmp(y, fc, sizeof y));
        dev_get(be, y, wn_net_forward(&net, 4, x, 1, 77), sizeof y);
        int zeros = 0, doubled = 0;
        for (int i = 0; i < 4 * k; i++) {
            zeros += y[i] == 0.0f;
            doubled += fabsf(y[i] - 2.0f * fc[i]) <= 1e-6f * fabsf(fc[i]);
        }
        CHECK(zeros + doubled == 4 * k);
        CHECK_MSG(zeros > 320 && zeros < 480, "%d of 800 dropped", zeros);
        be->ops->free(be->ctx, x);
        wn_net_free(&net);
    }
}

/* ---------------------------------------------------------------- learning */

/* Left half bright -> class 0, right half bright -> class 1, with noise. Returns the loss of
 * the first step (before any update) and the mean loss of the last 4 steps. */
/* fmnist_small.ini, 3 Adam steps on 40 random photos (more than the 16 gradient chunks of the
 * CPU convolution) on a backend of `threads` threads: the parameters after them (malloc'ed). */
static float *train_steps_params(int threads, size_t *n_params) {
    wn_backend be;
    wn_err e = {0};
    if (wn_cpu_backend_create(threads, &be, &e) != WN_OK) return NULL;
    wn_net net;
    float *out = NULL;
    if (!make_net(&be, repo_path("samples/nets/fmnist_small.ini"), 1, 2, &net)) {
        const int batch = 40, sample = 28 * 28;
        float *xh = malloc((size_t)batch * sample * sizeof(float));
        int32_t yh[40];
        wn_rng r;
        wn_rng_seed(&r, 31, 1);
        randn(&r, xh, (size_t)batch * sample, 1.0f);
        for (int i = 0; i < batch; i++) yh[i] = i % 3 == 0;
        float *x = dev_upload(&be, xh, (size_t)batch * sample * sizeof(float));
        int32_t *y = (int32_t *)dev_upload(&be, yh, sizeof yh);
        float *dl = wn_balloc(&be, (size_t)batch * 2, "dlogits", &e);
        float *m = wn_balloc(&be, net.n_params, "m", &e), *v = wn_balloc(&be, net.n_params, "v", &e);
        CHECK(wn_net_init(&net, 4, &e) == WN_OK && wn_net_reserve(&net, batch, 1, &e) == WN_OK);
        for (int t = 0; t < 3; t++) {
            const float *logits = wn_net_forward(&net, batch, x, 1, (uint64_t)t);
            be.ops->softmax_xent(be.ctx, batch, 2, logits, y, NULL, NULL, NULL, dl, NULL);
            wn_net_backward(&net, batch, x, dl);
            be.ops->adam_update(be.ctx, net.n_params, net.params, net.grads, m, v, 1e-3f, 0.9f,
                                0.999f, 1e-8f, 0.0f, 0, t + 1);
        }
        *n_params = net.n_params;
        out = malloc(net.n_params * sizeof(float));
        dev_get(&be, out, net.params, net.n_params * sizeof(float));
        float *bufs[5] = {x, (float *)y, dl, m, v};
        for (int i = 0; i < 5; i++) be.ops->free(be.ctx, bufs[i]);
        free(xh);
        wn_net_free(&net);
    }
    wn_backend_free(&be);
    return out;
}

/* Training gives the same bits whatever the thread count (a run repeats on any machine, and
 * --resume with other --threads continues it exactly). */
static void test_thread_independence(void) {
    size_t n1 = 0, n = 0;
    float *p1 = train_steps_params(1, &n1);
    CHECK(p1 != NULL);
    const int others[] = {2, 3};
    for (int i = 0; i < 2 && p1; i++) {
        float *p = train_steps_params(others[i], &n);
        CHECK_MSG(p && n == n1 && !memcmp(p, p1, n * sizeof(float)),
                  "fmnist_small after 3 steps: parameters on %d threads differ from 1 thread's", others[i]);
        free(p);
    }
    free(p1);
}

static void train_tiny(wn_backend *be, int adam, int steps, double *first, double *last) {
    const char *text = "[net]\nwidth = 8\nheight = 8\nchannels = 1\n"
                       "[c1]\ntype = conv\nfilters = 4\nsize = 3\npad = 1\n"
                       "[r1]\ntype = relu\n[p1]\ntype = maxpool\nsize = 2\n"
                       "[fc]\ntype = dense\nunits = classes\n";
    wn_net net;
    wn_err e = {0};
    *first = *last = NAN;
    if (make_net(be, text, 0, 2, &net)) return;
    const int total = 64, batch = 16;
    float *xh = malloc((size_t)total * 64 * sizeof(float));
    int32_t yh[64];
    wn_rng r;
    wn_rng_seed(&r, 8, 8);
    for (int i = 0; i < total; i++) {
        yh[i] = i % 2;
        for (int p = 0; p < 64; p++) {
            int left = p % 8 < 4;
            xh[i * 64 + p] = (left == (yh[i] == 0) ? 0.5f : -0.5f) + wn_rng_normal(&r);
        }
    }
    float *x = dev_upload(be, xh, (size_t)total * 64 * sizeof(float));
    int32_t *y = (int32_t *)dev_upload(be, yh, sizeof yh);
    float *probs = wn_balloc(be, (size_t)batch * 2, "probs", &e);
    float *dl = wn_balloc(be, (size_t)batch * 2, "dlogits", &e);
    float *m = wn_balloc(be, net.n_params, "m", &e), *v = wn_balloc(be, net.n_params, "v", &e);
    CHECK(wn_net_init(&net, 2, &e) == WN_OK && wn_net_reserve(&net, batch, 1, &e) == WN_OK);
    double sum_first = 0, sum_last = 0;
    for (int t = 0; t < steps; t++) {
        int b = t % (total / batch);
        const float *xb = x + (size_t)b * batch * 64;
        const float *logits = wn_net_forward(&net, batch, xb, 1, (uint64_t)t);
        double l = 0;
        be->ops->softmax_xent(be->ctx, batch, 2, logits, y + b * batch, NULL, NULL, probs, dl, &l);
        if (t == 0) sum_first = l;
        if (t >= steps - 4) sum_last += l;
        wn_net_backward(&net, batch, xb, dl);
        if (adam)
            be->ops->adam_update(be->ctx, net.n_params, net.params, net.grads, m, v, 0.01f, 0.9f,
                                 0.999f, 1e-8f, 0.0f, 0, t + 1);
        else
            be->ops->sgd_update(be->ctx, net.n_params, net.params, net.grads, v, 0.05f, 0.9f, 0,
                                0.0f);
    }
    *first = sum_first;
    *last = sum_last / 4;
    const wn_backend_ops *ops = be->ops;
    ops->free(be->ctx, x);
    ops->free(be->ctx, y);
    ops->free(be->ctx, probs);
    ops->free(be->ctx, dl);
    ops->free(be->ctx, m);
    ops->free(be->ctx, v);
    free(xh);
    wn_net_free(&net);
}

static void test_learning(wn_backend *be) {
    double first, last;
    train_tiny(be, 1, 200, &first, &last);
    printf("adam: loss %.4f -> %.4f in 200 steps\n", first, last);
    CHECK_MSG(last < 0.05 && last < first / 10, "adam: %g -> %g", first, last);
    train_tiny(be, 0, 200, &first, &last);
    printf("sgd:  loss %.4f -> %.4f in 200 steps\n", first, last);
    CHECK_MSG(last < 0.1 && last < first / 5, "sgd: %g -> %g", first, last);
}

int main(void) {
    wn_backend be;
    wn_err e = {0};
    if (wn_cpu_backend_create(2, &be, &e) != WN_OK) {
        fprintf(stderr, "cpu backend: %s\n", e.msg);
        return 1;
    }
    test_counts(&be);
    gradcheck_all(&be, net_residual, 3, 2, "residual");
    gradcheck_all(&be, net_branches, 3, 4, "branches");
    gradcheck_sampled(&be);
    test_frozen(&be);
    test_determinism(&be);
    test_reserve(&be);
    test_reserve_bf16(&be);
    test_inplace_rules(&be);
    test_fold(&be);
    test_thread_independence();
    check_gradient_layout(&be, net_residual, 0, 3, 1, "residual net");
    check_gradient_layout(&be, net_branches, 0, 2, 0, "branches net");
    check_gradient_layout(&be, net_resnet, 0, 2, 1, "small resnet");
    check_gradient_layout(&be, repo_path("samples/nets/fmnist_small.ini"), 1, 2, 1, "fmnist_small.ini");
    check_gradient_layout(&be, repo_path("samples/nets/resnet18.ini"), 1, 1, 1, "resnet18.ini");
    test_modes(&be);
    test_learning(&be);
    wn_backend_free(&be);
    return wn_test_done();
}
