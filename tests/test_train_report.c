/* test_train_report.c - the data report (majority class against uniform guessing, the
 * dangerous-imbalance and train/validation share warnings) and the collapse detector: it fires
 * on a real majority-only model (a network whose output ignores the photo) and stays quiet on a
 * real good one, both run through wn_predict_cache on photos made here; also on hand-made
 * confusion matrices at the edges (a validation set that is itself 99.5% one class). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "train_internal.h"
#include "wn_modelnet.h"
#include "wn_test.h"
#include "test_train_util.h"

/* What f received, as a string (caller frees). */
static void test_imbalance(void) {
    wn_imbalance im;
    const long t98[2] = {6000, 122}, v50[2] = {1000, 1000};
    wn_imbalance_measure(2, t98, v50, &im);
    CHECK(im.majority == 0);
    CHECK_CLOSE(im.majority_acc, 6000.0 / 6122, 0, 1e-12);
    CHECK_CLOSE(im.uniform_acc, 0.5, 0, 0);
    CHECK(im.dangerous);
    CHECK_CLOSE(im.ratio, 6000.0 / 122, 0, 1e-12);
    CHECK(im.mismatch == 1); /* 1.99% vs 50%: the larger factor */
    CHECK_CLOSE(im.mismatch_factor, 0.5 / (122.0 / 6122), 0, 1e-9);

    const long t60[2] = {60, 40}, v60[2] = {30, 20};
    wn_imbalance_measure(2, t60, v60, &im);
    CHECK(!im.dangerous && im.mismatch == -1); /* 60/40: the prior classifier is no danger */
    const long t75[2] = {75, 25};
    wn_imbalance_measure(2, t75, NULL, &im);
    CHECK(im.dangerous); /* exactly half of guessing's error removed */
    /* the long tail of ratio 100: majority 40% vs 10% guessing: not dangerous by this rule */
    long lt[10], total = 0;
    for (int c = 0; c < 10; c++) total += lt[c] = (long)(6000 * pow(0.01, c / 9.0));
    wn_imbalance_measure(10, lt, NULL, &im);
    CHECK(!im.dangerous && im.ratio > 99 && im.ratio < 101);
    /* shares within 1.5x are fine, a missing validation class is infinitely apart */
    const long t3[3] = {50, 30, 20}, v3a[3] = {40, 35, 25}, v3b[3] = {50, 50, 0};
    wn_imbalance_measure(3, t3, v3a, &im);
    CHECK(im.mismatch == -1);
    wn_imbalance_measure(3, t3, v3b, &im);
    CHECK(im.mismatch == 2 && isinf(im.mismatch_factor));

    char *names[3] = {"ok", "crack", "pore"};
    FILE *f = tmpfile();
    int w = wn_data_report(f, 2, names, t98, v50, "train/", "val/");
    char *s = wn_test_captured(f);
    CHECK(w == 2);
    CHECK(strstr(s, "6000  98.01%") && strstr(s, "1000  50.00%"));
    CHECK(strstr(s, "always answering 'ok' is right for 98.0%") && strstr(s, "uniform guessing for 50.0%"));
    CHECK(strstr(s, "warning: dangerous imbalance") && strstr(s, "--loss bayesian"));
    CHECK(strstr(s, "differ by more than 1.5x") && strstr(s, "'crack' 1.99% vs 50.00%"));
    free(s);
    f = tmpfile();
    w = wn_data_report(f, 3, names, t3, v3a, "a", "b");
    s = wn_test_captured(f);
    CHECK(w == 0 && !strstr(s, "warning"));
    free(s);
}

/* ---- the collapse detector on real networks ---- */

/* A dense-only network on 2x2 grey photos; class j's photos are bright at pixel j. */
static const char *NET = "[net]\nwidth = 2\nheight = 2\nchannels = 1\nmean = 0\nstd = 1\n"
                         "[fc]\ntype = dense\nunits = classes\n";

static void make_cache(wn_cache *c, int per_class, int k) {
    memset(c, 0, sizeof *c);
    c->n = per_class * k, c->c = 1, c->h = 2, c->w = 2;
    c->pix = calloc((size_t)c->n * 4, 1);
    c->labels = calloc((size_t)c->n, sizeof(int32_t));
    c->index = calloc((size_t)c->n, sizeof(int));
    for (int i = 0; i < c->n; i++) {
        int j = i % k;
        c->labels[i] = j;
        c->index[i] = i;
        c->pix[i * 4 + j] = (uint8_t)(200 + i % 50);
        c->pix[i * 4 + (j + 1) % 4] = (uint8_t)(i % 40); /* some clutter */
    }
    c->bytes = (size_t)c->n * 4;
}

/* Predictions of net on c into a confusion matrix, then the detector's answer. */
static int collapse_of(wn_net *net, const wn_cache *c, int *cls, double *share) {
    wn_confusion cm;
    wn_confusion_init(&cm, net->n_classes);
    float mean[3] = {0, 0, 0}, sd[3] = {1, 1, 1};
    float *probs = malloc(sizeof(float) * c->n * net->n_classes);
    int *lab = malloc(sizeof(int) * c->n);
    wn_err e = {0};
    CHECK(wn_predict_cache(net, c, NULL, c->n, 16, mean, sd, probs, NULL, &e) == WN_OK);
    for (int i = 0; i < c->n; i++) lab[i] = c->labels[i];
    wn_confusion_add_probs(&cm, c->n, probs, lab);
    int fired = wn_collapse_check(&cm, cls, share);
    free(probs), free(lab);
    wn_confusion_free(&cm);
    return fired;
}

static void test_collapse_models(void) {
    wn_backend be;
    wn_err e = {0};
    CHECK(wn_cpu_backend_create(1, &be, &e) == WN_OK);
    wn_netdef def;
    CHECK(wn_netdef_parse_string(NET, "collapse.ini", &def, &e) == WN_OK);
    wn_net net;
    CHECK(wn_net_create(&def, 3, &be, &net, &e) == WN_OK);
    wn_cache c;
    make_cache(&c, 40, 3);
    float w[3 * 4], b[3];

    /* majority-only: weights 0, the bias of class 0 high - the constant classifier */
    memset(w, 0, sizeof w);
    b[0] = 4, b[1] = 0, b[2] = -1;
    be.ops->upload(be.ctx, net.params + net.layers[0].w_off, w, sizeof w, &e);
    be.ops->upload(be.ctx, net.params + net.layers[0].b_off, b, sizeof b, &e);
    int cls = -1;
    double share = 0;
    CHECK(collapse_of(&net, &c, &cls, &share) == 1);
    CHECK(cls == 0 && share == 1.0);

    /* a good model: logit j = 10 * pixel j */
    memset(w, 0, sizeof w);
    for (int j = 0; j < 3; j++) w[j * 4 + j] = 10;
    memset(b, 0, sizeof b);
    be.ops->upload(be.ctx, net.params + net.layers[0].w_off, w, sizeof w, &e);
    be.ops->upload(be.ctx, net.params + net.layers[0].b_off, b, sizeof b, &e);
    cls = -1;
    CHECK(collapse_of(&net, &c, &cls, &share) == 0);
    CHECK(cls == -1);

    free(c.pix), free(c.labels), free(c.index);
    wn_net_free(&net);
    wn_netdef_free(&def);
    wn_backend_free(&be);
}

static void test_collapse_edges(void) {
    wn_confusion cm;
    wn_confusion_init(&cm, 2);
    int cls;
    double share;
    /* validation set itself 99.5% ok; a good model predicts 99.5% ok: quiet */
    cm.m[0] = 995, cm.m[3] = 5;
    CHECK(!wn_collapse_check(&cm, &cls, &share));
    /* the same set, a constant model: fires */
    cm.m[0] = 995, cm.m[1] = 0, cm.m[2] = 5, cm.m[3] = 0;
    CHECK(wn_collapse_check(&cm, &cls, &share) && cls == 0);
    /* balanced set, 98.9% predicted ok: below the 99% line */
    cm.m[0] = 1000, cm.m[1] = 0, cm.m[2] = 978, cm.m[3] = 22;
    CHECK(!wn_collapse_check(&cm, &cls, &share));
    /* 99.0% predicted defect: fires, naming the defect class */
    cm.m[0] = 20, cm.m[1] = 980, cm.m[2] = 0, cm.m[3] = 1000;
    CHECK(wn_collapse_check(&cm, &cls, &share) && cls == 1 && fabs(share - 0.99) < 1e-12);
    /* a validation set of one class: nothing to judge */
    cm.m[0] = 100, cm.m[1] = 0, cm.m[2] = 0, cm.m[3] = 0;
    CHECK(!wn_collapse_check(&cm, &cls, &share));
    wn_confusion_free(&cm);

    FILE *f = tmpfile();
    wn_collapse_warn(f, 4, "ok", 0.997, 0.98, 1);
    char *s = wn_test_captured(f);
    CHECK(strstr(s, "epoch 4") && strstr(s, "constant classifier") && strstr(s, "99.7%") &&
          strstr(s, "'ok'") && strstr(s, "training prior 98.0%") && strstr(s, "--loss bayesian") &&
          strstr(s, "--sampler stratified") && !strstr(s, "over-corrected"));
    free(s);
    /* collapsed onto a rare class: the imbalance is over-corrected */
    f = tmpfile();
    wn_collapse_warn(f, 2, "shirt", 1.0, 0.02, 0);
    s = wn_test_captured(f);
    CHECK(strstr(s, "predicted 'shirt' (training prior 2.0%)") && strstr(s, "over-corrected") &&
          strstr(s, "--tau"));
    free(s);
}

int main(void) {
    test_imbalance();
    test_collapse_models();
    test_collapse_edges();
    return wn_test_done();
}
