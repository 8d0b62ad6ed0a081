/* test_transfer.c - --init and freeze = LAYER (train/train_transfer.c): layers whose tensors
 * match by name and shape are copied exactly and reported, the others keep their fresh values
 * with the reason; a model with no matching layer is refused; freezing marks the layers up to
 * the named one, refuses an unknown name listing the layers, and a training step (backward +
 * Adam) then leaves exactly the frozen parameters untouched. */
#include <stdlib.h>
#include <string.h>

#include "wn_modelnet.h"
#include "wn_test.h"
#include "test_train_util.h"
#include "wn_train.h"

static const char *NET_A =
    "[net]\nwidth = 8\nheight = 8\nchannels = 1\nmean = 0\nstd = 1\n"
    "[conv1]\ntype = conv\nfilters = 4\nsize = 3\npad = 1\n[relu1]\ntype = relu\n"
    "[pool1]\ntype = maxpool\nsize = 2\n[fc]\ntype = dense\nunits = classes\n";
/* same conv1, a new conv2, fc of another input size */
static const char *NET_B =
    "[net]\nwidth = 8\nheight = 8\nchannels = 1\nmean = 0\nstd = 1\n"
    "[conv1]\ntype = conv\nfilters = 4\nsize = 3\npad = 1\n[relu1]\ntype = relu\n"
    "[conv2]\ntype = conv\nfilters = 6\nsize = 3\npad = 1\n[relu2]\ntype = relu\n"
    "[pool1]\ntype = maxpool\nsize = 2\n[fc]\ntype = dense\nunits = classes\n";
/* nothing in common with A */
static const char *NET_C =
    "[net]\nwidth = 8\nheight = 8\nchannels = 1\nmean = 0\nstd = 1\n"
    "[stem]\ntype = conv\nfilters = 2\nsize = 3\n[head]\ntype = dense\nunits = classes\n";

static wn_backend B;

static void make_net(const char *ini, int k, uint64_t seed, wn_netdef *def, wn_net *net) {
    wn_err e = {0};
    CHECK(wn_netdef_parse_string(ini, "t.ini", def, &e) == WN_OK);
    CHECK(wn_net_create(def, k, &B, net, &e) == WN_OK);
    CHECK(wn_net_init(net, seed, &e) == WN_OK);
}

static float *host(const wn_net *net, size_t off, size_t n) {
    float *p = malloc(sizeof(float) * n);
    memcpy(p, net->params + off, sizeof(float) * n); /* CPU backend: host memory */
    return p;
}

static void test_init(void) {
    wn_netdef da, db, dc;
    wn_net a, b, c;
    make_net(NET_A, 3, 1, &da, &a);
    make_net(NET_B, 3, 2, &db, &b);
    make_net(NET_C, 3, 3, &dc, &c);
    char *names[3] = {"ok", "x", "y"};
    float mean[3] = {0, 0, 0}, sd[3] = {1, 1, 1};
    wn_model m;
    wn_err e = {0};
    CHECK(wn_model_from_net(&a, names, NULL, mean, sd, NULL, &m, &e) == WN_OK);
    const wn_layer *fc_b = &b.layers[b.n_layers - 1];
    float *fc_before = host(&b, fc_b->w_off, fc_b->w_count);
    FILE *f = tmpfile();
    CHECK(wn_transfer_init(&b, &m, "a.wnet", f, &e) == WN_OK);
    char *s = wn_test_captured(f);
    CHECK_MSG(strstr(s, "copied 1 layer: conv1") != NULL, "report: %s", s);
    CHECK(strstr(s, "conv2 (no conv2.weight there)") != NULL);
    CHECK_MSG(strstr(s, "fc (fc.weight is 3x64 there, 3x96 here)") != NULL, "report: %s", s);
    free(s);
    /* conv1 is a's exactly; fc kept its own values */
    const wn_layer *c1a = &a.layers[0], *c1b = &b.layers[0];
    CHECK(!memcmp(a.params + c1a->w_off, b.params + c1b->w_off, sizeof(float) * c1a->w_count));
    CHECK(!memcmp(a.params + c1a->b_off, b.params + c1b->b_off, sizeof(float) * c1a->b_count));
    CHECK(!memcmp(fc_before, b.params + fc_b->w_off, sizeof(float) * fc_b->w_count));
    free(fc_before);
    /* nothing in common: refused, naming the file */
    f = tmpfile();
    CHECK(wn_transfer_init(&c, &m, "a.wnet", f, &e) == WN_EINPUT);
    fclose(f);
    CHECK(strstr(e.msg, "a.wnet") && strstr(e.msg, "no layer"));
    wn_model_free(&m);
    wn_net_free(&a), wn_net_free(&b), wn_net_free(&c);
    wn_netdef_free(&da), wn_netdef_free(&db), wn_netdef_free(&dc);
}

static void test_freeze(void) {
    wn_netdef d;
    wn_net net;
    make_net(NET_B, 3, 5, &d, &net);
    wn_err e = {0};
    int n = -1;
    CHECK(wn_freeze_upto(&net, "nosuch", "--freeze", &n, &e) == WN_EINPUT);
    CHECK(strstr(e.msg, "--freeze") && strstr(e.msg, "'nosuch'") && strstr(e.msg, "conv1, relu1, conv2"));
    CHECK(wn_freeze_upto(&net, "", "x", &n, &e) == WN_OK && n == 0);
    CHECK(wn_freeze_upto(&net, "relu2", "x", &n, &e) == WN_OK && n == 4);
    CHECK(net.layers[0].frozen && net.layers[2].frozen && net.layers[3].frozen);
    CHECK(!net.layers[4].frozen && !net.layers[5].frozen);

    /* one training step: only fc moves */
    float *before = host(&net, 0, net.n_params);
    int bs = 4;
    CHECK(wn_net_reserve(&net, bs, 1, &e) == WN_OK);
    float x[4 * 64];
    for (int i = 0; i < 4 * 64; i++) x[i] = (float)((i * 37) % 11) / 11 - 0.4f;
    const float *logits = wn_net_forward(&net, bs, x, 1, 1);
    float g[4 * 3];
    for (int i = 0; i < 12; i++) g[i] = logits[i] * 0.1f + 0.05f * (i % 3);
    wn_net_backward(&net, bs, x, g);
    wn_train_cfg cfg;
    wn_train_cfg_defaults(&cfg);
    wn_optim o;
    CHECK(wn_optim_create(&o, &cfg, &net, &e) == WN_OK);
    wn_optim_step(&o, 0.01);
    int frozen_same = 1, fc_moved = 0;
    for (int i = 0; i < net.n_layers; i++) {
        const wn_layer *L = &net.layers[i];
        size_t blocks[2][2] = {{L->w_off, L->w_count}, {L->b_off, L->b_count}};
        for (int k = 0; k < 2; k++)
            for (size_t j = blocks[k][0]; j < blocks[k][0] + blocks[k][1]; j++) {
                if (L->frozen) frozen_same &= net.params[j] == before[j];
                else fc_moved |= net.params[j] != before[j];
            }
    }
    CHECK(frozen_same);
    CHECK(fc_moved);
    free(before);
    wn_optim_free(&o);
    wn_net_free(&net);
    wn_netdef_free(&d);
}

int main(void) {
    wn_err e = {0};
    if (wn_cpu_backend_create(1, &B, &e) != WN_OK) return 1;
    test_init();
    test_freeze();
    wn_backend_free(&B);
    return wn_test_done();
}
