/* test_gpu_train.c - whole training runs on the CPU and the CUDA backend from the same
 * initialisation, the same synthetic batches (28x28 grey, 4 classes of noisy textures) and the
 * same dropout seeds: the loss curves must track each other, step by step.
 * Three networks: samples/nets/tiny.ini and fmnist_small.ini (conv, relu, maxpool, dense; Adam)
 * and one with every other layer type (batchnorm, residual add, leaky relu, padded maxpool,
 * strided 1x1 conv, avgpool, dropout, gap; SGD with Nesterov momentum and weight decay), that
 * one again with sharpness-aware minimisation (train_sam.c: the backend's sumsq, copies and a
 * second forward and backward per step; strict fp32 tolerances).
 * Tolerances, strict fp32 (no TF32): the loss of each of the first 5 steps within 1e-4 relative
 * of the CPU's, of every step (30 steps of batch 32; 15 for fmnist_small) within 1e-2, and the
 * final parameters and batchnorm running statistics within 2e-2 of the CPU's, relative to their
 * rms; with TF32 convolutions (PyTorch's default) 5e-3, 5e-2 and 5e-2; with bf16 mixed
 * precision (bf16 convolutions and dense products, fp32 weights and loss) 1e-2, 5e-2 and 5e-2
 * (measured on the host-emulated GPU: at most 5.5e-3 and 7e-3), both with the activations
 * stored in bf16 between layers (the default, net->lp) and stored in fp32 (bf16_store 0); and
 * inference with batchnorm folded (classify's nets) in bf16 storage: logits within 2e-2 of
 * their rms. Why not tighter later on: two
 * correct implementations that round differently drift apart once a near-tie flips (a max
 * pooling argmax, a ReLU sign), and Adam turns rounding noise in near-zero gradients into steps
 * of size lr; on the host-emulated GPU the curves agree to 1e-8 for 6 steps and then drift to
 * about 1e-3 by step 20. A wrong gradient shows in the first steps. The runs must learn (mean
 * loss of the last 5 steps under 85% of the first 5). Then evaluation mode (running statistics,
 * no dropout) on a held-out batch: probabilities within the parameter tolerance. Exits 77
 * (skipped) without a GPU. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "wn_backend.h"
#include "wn_cuda.h"
#include "wn_net.h"
#include "wn_rng.h"
#include "wn_test.h"
#include "wn_train.h"

enum { IMG = 28, K = 4, BATCH = 32, STEPS = 30 };

/* samples/nets/tiny.ini, without its [train] section */
static const char *NET_TINY =
    "[net]\nwidth = 28\nheight = 28\nchannels = 1\n"
    "[conv1]\ntype = conv\nfilters = 8\nsize = 3\nstride = 2\n[relu1]\ntype = relu\n"
    "[pool1]\ntype = maxpool\nsize = 2\n[fc]\ntype = dense\nunits = classes\n";

/* samples/nets/fmnist_small.ini, without its [train] section */
static const char *NET_FMNIST =
    "[net]\nwidth = 28\nheight = 28\nchannels = 1\n"
    "[conv1]\ntype = conv\nfilters = 32\nsize = 3\npad = 1\n[relu1]\ntype = relu\n"
    "[conv2]\ntype = conv\nfilters = 64\nsize = 3\npad = 1\n[relu2]\ntype = relu\n"
    "[pool2]\ntype = maxpool\nsize = 2\n"
    "[conv3]\ntype = conv\nfilters = 128\nsize = 3\npad = 1\n[relu3]\ntype = relu\n"
    "[pool3]\ntype = maxpool\nsize = 2\n"
    "[fc1]\ntype = dense\nunits = 256\n[relu4]\ntype = relu\n"
    "[fc2]\ntype = dense\nunits = classes\n";

/* every other layer type */
static const char *NET_ALL =
    "[net]\nwidth = 28\nheight = 28\nchannels = 1\n"
    "[c1]\ntype = conv\nfilters = 8\nsize = 3\npad = 1\nbias = 0\n[bn1]\ntype = batchnorm\n"
    "[r1]\ntype = relu\n"
    "[c2]\ntype = conv\nfilters = 8\nsize = 3\npad = 1\nbias = 0\n[bn2]\ntype = batchnorm\n"
    "[sum]\ntype = add\nfrom = r1\n[lk]\ntype = leaky\nalpha = 0.1\n"
    "[mp]\ntype = maxpool\nsize = 3\nstride = 2\npad = 1\n"
    "[c3]\ntype = conv\nfilters = 16\nsize = 1\nstride = 2\n[bn3]\ntype = batchnorm\n"
    "[r3]\ntype = relu\n[ap]\ntype = avgpool\nsize = 2\n"
    "[drop]\ntype = dropout\nrate = 0.2\n[gap]\ntype = gap\n"
    "[fc]\ntype = dense\nunits = classes\n";

/* Batch b of the synthetic set: x (BATCH, 1, 28, 28), y (BATCH). Class c is a texture at a
 * random phase (0: horizontal stripes, 1: vertical stripes, 2: diagonal stripes, 3: a checker
 * board) under strong noise, so that neither location nor one pixel gives it away. */
static void make_batch(uint64_t b, float *x, int32_t *y) {
    wn_rng r;
    wn_rng_seed(&r, 977, b + 1);
    for (int i = 0; i < BATCH; i++) {
        int c = (int)wn_rng_below(&r, K), ph = (int)wn_rng_below(&r, 4);
        y[i] = c;
        float *p = x + (size_t)i * IMG * IMG;
        for (int u = 0; u < IMG; u++)
            for (int v = 0; v < IMG; v++) {
                int on = c == 0   ? ((u + ph) / 2) % 2
                         : c == 1 ? ((v + ph) / 2) % 2
                         : c == 2 ? ((u + v + ph) / 2) % 2
                                  : (((u + ph) / 2) + ((v + ph) / 2)) % 2;
                p[u * IMG + v] = (float)on + 0.6f * wn_rng_normal(&r);
            }
    }
}

typedef struct run {
    wn_backend *be;
    wn_net net;
    float *m, *v;  /* optimizer state (n_params) */
    float *xd;     /* (BATCH, 1, 28, 28) */
    int32_t *yd;   /* (BATCH) */
    float *pd, *gd; /* (BATCH, K) */
    double loss[STEPS];
    wn_sam sam;    /* active when SAM_RHO > 0 at setup */
} run;

/* sharpness-aware minimisation radius of the runs set up next (0: plain steps) */
static double SAM_RHO = 0;
/* the GPU network's activation storage the runs set up next must get: 1 bf16, 0 fp32 */
static int EXPECT_LP = 0;

static int run_setup(run *r, wn_backend *be, const char *ini, wn_err *e) {
    memset(r, 0, sizeof *r);
    r->be = be;
    wn_netdef def;
    int rc = wn_netdef_parse_string(ini, "test net", &def, e);
    if (rc) return rc;
    rc = wn_net_create(&def, K, be, &r->net, e);
    wn_netdef_free(&def);
    if (!rc) rc = wn_net_init(&r->net, 42, e);
    if (!rc) rc = wn_net_reserve(&r->net, BATCH, 1, e);
    if (rc) return rc;
    size_t np = r->net.n_params;
    r->m = wn_balloc(be, np, "m", e);
    r->v = wn_balloc(be, np, "v", e);
    r->xd = wn_balloc(be, (size_t)BATCH * IMG * IMG, "x", e);
    r->yd = be->ops->alloc(be->ctx, BATCH * sizeof(int32_t));
    r->pd = wn_balloc(be, (size_t)BATCH * K, "p", e);
    r->gd = wn_balloc(be, (size_t)BATCH * K, "g", e);
    if (!(r->m && r->v && r->xd && r->yd && r->pd && r->gd)) return WN_ERUNTIME;
    return wn_sam_create(&r->sam, SAM_RHO, &r->net, e);
}

static void run_free(run *r) {
    const wn_backend_ops *o = r->be->ops;
    void *c = r->be->ctx;
    void *bufs[] = {r->m, r->v, r->xd, r->yd, r->pd, r->gd};
    for (int i = 0; i < 6; i++) o->free(c, bufs[i]);
    wn_sam_free(&r->sam);
    wn_net_free(&r->net);
}

/* One training step on batch b; adam selects Adam (learning rate lr), else SGD (Nesterov, weight
 * decay, 10 lr). */
static void run_step(run *r, int t, int adam, float lr, const float *xh, const int32_t *yh) {
    const wn_backend_ops *o = r->be->ops;
    void *c = r->be->ctx;
    wn_err e = {0};
    if (o->upload(c, r->xd, xh, (size_t)BATCH * IMG * IMG * sizeof(float), &e) ||
        o->upload(c, r->yd, yh, BATCH * sizeof(int32_t), &e)) {
        fprintf(stderr, "upload: %s\n", e.msg);
        exit(1);
    }
    const float *logits = wn_net_forward(&r->net, BATCH, r->xd, 1, 1000 + (uint64_t)t);
    double l = 0;
    o->softmax_xent(c, BATCH, K, logits, r->yd, NULL, NULL, r->pd, r->gd, &l);
    r->loss[t] = l;
    wn_net_backward(&r->net, BATCH, r->xd, r->gd);
    if (wn_sam_ascend(&r->sam)) { /* the same batch again at the ascended weights */
        logits = wn_net_forward(&r->net, BATCH, r->xd, 1, 1000 + (uint64_t)t);
        o->softmax_xent(c, BATCH, K, logits, r->yd, NULL, NULL, r->pd, r->gd, NULL);
        wn_net_backward(&r->net, BATCH, r->xd, r->gd);
        wn_sam_restore(&r->sam);
    }
    size_t np = r->net.n_params;
    if (adam)
        o->adam_update(c, np, r->net.params, r->net.grads, r->m, r->v, lr, 0.9f, 0.999f, 1e-8f, 0,
                       0, t + 1);
    else
        o->sgd_update(c, np, r->net.params, r->net.grads, r->v, 10 * lr, 0.9f, 1, 1e-4f);
}

static float *download(wn_backend *be, const float *p, size_t n) {
    float *h = malloc(n * sizeof(float));
    wn_err e = {0};
    if (be->ops->download(be->ctx, h, p, n * sizeof(float), &e)) {
        fprintf(stderr, "download: %s\n", e.msg);
        exit(1);
    }
    return h;
}

/* rms of (a - b) over rms of b */
static double rel_rms(const float *a, const float *b, size_t n) {
    double d = 0, s = 0;
    for (size_t i = 0; i < n; i++) {
        d += ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
        s += (double)b[i] * b[i];
    }
    return s > 0 ? sqrt(d / s) : sqrt(d);
}

/* early: loss tolerance of the first EARLY steps, tol: of every step, ptol: of the parameters */
enum { EARLY = 5 };
static void train_compare(const char *name, const char *ini, int adam, float lr, int steps,
                          wn_backend *cpu, wn_backend *gpu, double early, double tol, double ptol,
                          const char *mode) {
    run rc, rg;
    wn_err e = {0};
    int ok_c = run_setup(&rc, cpu, ini, &e) == WN_OK;
    CHECK_MSG(ok_c, "%s cpu setup: %s", name, e.msg);
    int ok_g = ok_c && run_setup(&rg, gpu, ini, &e) == WN_OK;
    CHECK_MSG(ok_g, "%s gpu setup: %s", name, e.msg);
    if (!ok_c || !ok_g) return;
    CHECK_MSG(rg.net.lp == EXPECT_LP && rc.net.lp == 0,
              "%s [%s]: GPU activation storage %s, expected %s (CPU: %s)", name, mode,
              rg.net.lp ? "bf16" : "fp32", EXPECT_LP ? "bf16" : "fp32", rc.net.lp ? "bf16" : "fp32");
    float *xh = malloc((size_t)BATCH * IMG * IMG * sizeof(float));
    int32_t yh[BATCH];
    printf("%s (%s, %zu parameters, %s): step, loss cpu, loss gpu, relative difference\n", name,
           mode, rc.net.n_params, adam ? "Adam" : "SGD Nesterov");
    int bad = 0;
    for (int t = 0; t < steps; t++) {
        make_batch((uint64_t)t, xh, yh);
        run_step(&rc, t, adam, lr, xh, yh);
        run_step(&rg, t, adam, lr, xh, yh);
        double d = fabs(rg.loss[t] - rc.loss[t]);
        double lim = (t < EARLY ? early : tol) * fabs(rc.loss[t]) + 1e-6;
        printf("  %2d %.7f %.7f %.2e%s\n", t, rc.loss[t], rg.loss[t], d / (fabs(rc.loss[t]) + 1e-30),
               d <= lim ? "" : "  OUTSIDE");
        if (!(d <= lim)) bad++;
    }
    CHECK_MSG(bad == 0, "%s [%s]: %d of %d steps' losses differ by more than %g (first %d: %g) "
              "relative", name, mode, bad, steps, tol, EARLY, early);
    /* learning: the mean loss of the last 5 steps under 85% of the first 5 steps' */
    double first = 0, last = 0;
    for (int t = 0; t < 5; t++) first += rc.loss[t], last += rc.loss[steps - 1 - t];
    CHECK_MSG(last < 0.85 * first, "%s: the runs learn (loss %.4f -> %.4f)", name, first / 5,
              last / 5);
    size_t np = rc.net.n_params;
    float *pc = download(cpu, rc.net.params, np), *pg = download(gpu, rg.net.params, np);
    double pd = rel_rms(pg, pc, np);
    printf("  final parameters: rms difference %.3g of their rms (limit %g)\n", pd, ptol);
    CHECK_MSG(pd <= ptol, "%s [%s]: final parameters differ by %.3g relative", name, mode, pd);
    free(pc);
    free(pg);
    if (rc.net.n_state) {
        float *sc = download(cpu, rc.net.state, rc.net.n_state);
        float *sg = download(gpu, rg.net.state, rg.net.n_state);
        double sd = rel_rms(sg, sc, rc.net.n_state);
        printf("  batchnorm running statistics: rms difference %.3g relative\n", sd);
        CHECK_MSG(sd <= ptol, "%s [%s]: running statistics differ by %.3g", name, mode, sd);
        free(sc);
        free(sg);
    }
    /* evaluation mode on a held-out batch */
    make_batch(99, xh, yh);
    const wn_backend_ops *oc = cpu->ops, *og = gpu->ops;
    CHECK(oc->upload(cpu->ctx, rc.xd, xh, (size_t)BATCH * IMG * IMG * sizeof(float), &e) == WN_OK);
    CHECK(og->upload(gpu->ctx, rg.xd, xh, (size_t)BATCH * IMG * IMG * sizeof(float), &e) == WN_OK);
    const float *lc = wn_net_forward(&rc.net, BATCH, rc.xd, 0, 0);
    const float *lg = wn_net_forward(&rg.net, BATCH, rg.xd, 0, 0);
    oc->softmax(cpu->ctx, BATCH, K, lc, rc.pd);
    og->softmax(gpu->ctx, BATCH, K, lg, rg.pd);
    float *qc = download(cpu, rc.pd, (size_t)BATCH * K), *qg = download(gpu, rg.pd, (size_t)BATCH * K);
    double worst = 0;
    int right_c = 0, right_g = 0;
    for (int i = 0; i < BATCH; i++) {
        int bc = 0, bg = 0;
        for (int j = 0; j < K; j++) {
            worst = fmax(worst, fabs((double)qg[i * K + j] - qc[i * K + j]));
            if (qc[i * K + j] > qc[i * K + bc]) bc = j;
            if (qg[i * K + j] > qg[i * K + bg]) bg = j;
        }
        right_c += bc == yh[i];
        right_g += bg == yh[i];
    }
    printf("  evaluation: max |p_gpu - p_cpu| %.3g; accuracy cpu %d/%d gpu %d/%d\n", worst, right_c,
           BATCH, right_g, BATCH);
    CHECK_MSG(worst <= ptol, "%s [%s]: evaluation probabilities differ by %.3g", name, mode, worst);
    free(qc);
    free(qg);
    free(xh);
    run_free(&rc);
    run_free(&rg);
}

/* Inference with batchnorm folded into the convolutions (as classify builds its nets) on gpu
 * against the CPU, from the same initialisation, on one batch: logits within tol of their rms. */
static void folded_compare(wn_backend *cpu, wn_backend *gpu, int want_lp, double tol) {
    wn_backend *bes[2] = {cpu, gpu};
    float *out[2] = {NULL, NULL};
    float *xh = malloc((size_t)BATCH * IMG * IMG * sizeof(float));
    int32_t yh[BATCH];
    wn_err e = {0};
    make_batch(3, xh, yh);
    for (int k = 0; k < 2; k++) {
        wn_netdef def;
        wn_net net;
        int nf = 0;
        if (wn_netdef_parse_string(NET_ALL, "test net", &def, &e) != WN_OK) break;
        int rc = wn_net_create(&def, K, bes[k], &net, &e);
        wn_netdef_free(&def);
        if (!rc) rc = wn_net_init(&net, 42, &e);
        if (!rc) rc = wn_net_fold_batchnorm(&net, &nf, &e);
        if (!rc) rc = wn_net_reserve(&net, BATCH, 0, &e);
        CHECK_MSG(rc == WN_OK, "folded net on %s: %s", bes[k]->ops->name, e.msg);
        if (rc) break;
        CHECK_MSG(nf == 3 && net.lp == (k ? want_lp : 0), "folded net on %s: %d folded, storage %s",
                  bes[k]->ops->name, nf, net.lp ? "bf16" : "fp32");
        float *xd = wn_balloc(bes[k], (size_t)BATCH * IMG * IMG, "x", &e); // (BATCH, 1, 28, 28)
        CHECK(xd && bes[k]->ops->upload(bes[k]->ctx, xd, xh, (size_t)BATCH * IMG * IMG * sizeof(float),
                                        &e) == WN_OK);
        out[k] = download(bes[k], wn_net_forward(&net, BATCH, xd, 0, 0), (size_t)BATCH * K);
        bes[k]->ops->free(bes[k]->ctx, xd);
        wn_net_free(&net);
    }
    if (out[0] && out[1]) {
        double d = rel_rms(out[1], out[0], (size_t)BATCH * K);
        printf("folded inference (%s storage): logits rms difference %.3g relative (limit %g)\n",
               want_lp ? "bf16" : "fp32", d, tol);
        CHECK_MSG(d <= tol, "folded inference: logits differ by %.3g relative", d);
    }
    free(out[0]);
    free(out[1]);
    free(xh);
}

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0); /* lines survive an abort or a time limit */
    wn_backend cpu, gpu;
    wn_err e = {0};
    wn_cuda_opts o;
    wn_cuda_opts_default(&o);
    o.tf32 = 0;
    if (wn_cuda_backend_create_opts(&o, &gpu, &e) != WN_OK) {
        printf("skipped: %s\n", e.msg);
        return 77;
    }
    if (wn_cpu_backend_create(0, &cpu, &e) != WN_OK) {
        fprintf(stderr, "%s\n", e.msg);
        return 1;
    }
    train_compare("tiny", NET_TINY, 1, 3e-3f, STEPS, &cpu, &gpu, 1e-4, 1e-2, 2e-2, "fp32");
    train_compare("all layer types", NET_ALL, 0, 5e-3f, STEPS, &cpu, &gpu, 1e-4, 1e-2, 2e-2, "fp32");
    train_compare("fmnist_small", NET_FMNIST, 1, 1e-3f, 15, &cpu, &gpu, 1e-4, 1e-2, 2e-2, "fp32");
    SAM_RHO = 0.05;
    train_compare("all layer types, SAM 0.05", NET_ALL, 0, 5e-3f, STEPS, &cpu, &gpu, 1e-4, 1e-2, 2e-2,
                  "fp32");
    SAM_RHO = 0;
    wn_backend_free(&gpu);
    o.tf32 = 1;
    CHECK(wn_cuda_backend_create_opts(&o, &gpu, &e) == WN_OK);
    train_compare("tiny", NET_TINY, 1, 3e-3f, STEPS, &cpu, &gpu, 5e-3, 5e-2, 5e-2, "tf32");
    train_compare("all layer types", NET_ALL, 0, 5e-3f, STEPS, &cpu, &gpu, 5e-3, 5e-2, 5e-2, "tf32");
    wn_backend_free(&gpu);
    o.bf16 = 1; /* activations stored in bf16 (o.bf16_store, the default) */
    EXPECT_LP = 1;
    CHECK(wn_cuda_backend_create_opts(&o, &gpu, &e) == WN_OK);
    train_compare("tiny", NET_TINY, 1, 3e-3f, STEPS, &cpu, &gpu, 1e-2, 5e-2, 5e-2, "bf16");
    train_compare("all layer types", NET_ALL, 0, 5e-3f, STEPS, &cpu, &gpu, 1e-2, 5e-2, 5e-2, "bf16");
    folded_compare(&cpu, &gpu, 1, 2e-2); /* emulator: 3.2e-3 */
    wn_backend_free(&gpu);
    o.bf16_store = 0; /* bf16 products on fp32 activations */
    EXPECT_LP = 0;
    CHECK(wn_cuda_backend_create_opts(&o, &gpu, &e) == WN_OK);
    train_compare("all layer types", NET_ALL, 0, 5e-3f, STEPS, &cpu, &gpu, 1e-2, 5e-2, 5e-2,
                  "bf16, fp32 storage");
    wn_backend_free(&gpu);
    /* the registry picks the GPU when asked for cuda */
    CHECK(wn_backend_create(WN_DEVICE_CUDA, 1, 1, &gpu, &e) == WN_OK);
    CHECK(gpu.ops && !strcmp(gpu.ops->name, "cuda"));
    wn_backend_free(&gpu);
    wn_backend_free(&cpu);
    return wn_test_done();
}
