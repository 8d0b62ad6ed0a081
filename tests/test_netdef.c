/* test_netdef.c - the network INI language: every sample net parses (and its [train] section is
 * accepted by the trainer), defaults and syntax variants, and each kind of mistake is refused
 * with WN_EINPUT and a message naming the file, the line and the section/key. Shape errors found
 * when the network is instantiated (wn_net_create on the CPU backend) are checked here too. */
#include <stdlib.h>
#include <string.h>

#include "wn_net.h"
#include "wn_test.h"
#include "wn_train.h"

/* Repository root, from this file's path (CMake compiles it by absolute path). */
static const char *repo_path(const char *rel) {
    static char buf[4096];
    const char *self = __FILE__;
    const char *cut = strstr(self, "tests/test_netdef.c");
    int n = cut ? (int)(cut - self) : 0;
    snprintf(buf, sizeof buf, "%.*s%s", n, self, rel);
    return buf;
}

static const wn_layer_def *find_layer(const wn_netdef *d, const char *name) {
    for (int i = 0; i < d->n_layers; i++)
        if (!strcmp(d->layers[i].name, name)) return &d->layers[i];
    return NULL;
}

static void check_sample(const char *rel, int c, int h, int w, int n_layers, int norm_auto) {
    wn_netdef d;
    wn_err e = {0};
    int rc = wn_netdef_parse_file(repo_path(rel), &d, &e);
    CHECK_MSG(rc == WN_OK, "%s: %s", rel, e.msg);
    if (rc) return;
    CHECK(d.in_c == c && d.in_h == h && d.in_w == w);
    CHECK_MSG(d.n_layers == n_layers, "%s: %d layers", rel, d.n_layers);
    CHECK(d.norm_auto == norm_auto);
    CHECK(d.ini_text && strstr(d.ini_text, "[net]"));
    CHECK(d.layers[d.n_layers - 1].type == WN_LAYER_DENSE && d.layers[d.n_layers - 1].units == 0);
    /* the trainer accepts the [train] section */
    wn_train_cfg cfg;
    wn_train_cfg_defaults(&cfg);
    CHECK(d.n_train > 0);
    rc = wn_train_cfg_apply_ini(&cfg, &d, &e);
    CHECK_MSG(rc == WN_OK, "%s [train]: %s", rel, e.msg);
    /* the stored text parses to the same layers (this is how model files are read) */
    wn_netdef d2;
    rc = wn_netdef_parse_string(d.ini_text, "model.wnet", &d2, &e);
    CHECK_MSG(rc == WN_OK, "%s again: %s", rel, e.msg);
    if (!rc) {
        CHECK(d2.n_layers == d.n_layers && d2.n_train == d.n_train);
        CHECK(!memcmp(d2.layers, d.layers, (size_t)d.n_layers * sizeof *d.layers));
        CHECK(!strcmp(d2.source, "model.wnet"));
        wn_netdef_free(&d2);
    }
    wn_netdef_free(&d);
}

static void test_samples(void) {
    check_sample("samples/nets/fmnist_small.ini", 1, 28, 28, 11, 1);
    check_sample("samples/nets/tiny.ini", 1, 28, 28, 4, 1);
    check_sample("samples/nets/alexnet.ini", 3, 227, 227, 20, 0);
    check_sample("samples/nets/resnet18.ini", 3, 224, 224, 4 + 8 * 7 + 3 * 2 + 2, 0);

    wn_netdef d;
    wn_err e = {0};
    if (wn_netdef_parse_file(repo_path("samples/nets/fmnist_small.ini"), &d, &e) == WN_OK) {
        CHECK(d.n_train == 4 && !strcmp(d.train[0].key, "epochs") &&
              !strcmp(d.train[0].value, "15"));
        CHECK(d.train[3].line > d.train[0].line);
        const wn_layer_def *c2 = find_layer(&d, "conv2");
        CHECK(c2 && c2->type == WN_LAYER_CONV && c2->filters == 64 && c2->kh == 3 && c2->kw == 3 &&
              c2->ph == 1 && c2->sh == 1 && c2->bias == 1 && c2->input[0] == '\0');
        const wn_layer_def *p = find_layer(&d, "pool2");
        CHECK(p && p->type == WN_LAYER_MAXPOOL && p->kh == 2 && p->sh == 2 && p->sw == 2 &&
              p->ph == 0);
        wn_netdef_free(&d);
    }
    if (wn_netdef_parse_file(repo_path("samples/nets/alexnet.ini"), &d, &e) == WN_OK) {
        CHECK_CLOSE(d.mean[1], 0.456, 1e-6, 0);
        CHECK_CLOSE(d.std[2], 0.225, 1e-6, 0);
        const wn_layer_def *dr = find_layer(&d, "drop6");
        CHECK(dr && dr->type == WN_LAYER_DROPOUT && dr->rate == 0.5f);
        wn_netdef_free(&d);
    }
    if (wn_netdef_parse_file(repo_path("samples/nets/resnet18.ini"), &d, &e) == WN_OK) {
        const wn_layer_def *a = find_layer(&d, "layer2_0_add");
        CHECK(a && a->type == WN_LAYER_ADD && !strcmp(a->input, "layer2_0_bn2") &&
              !strcmp(a->from, "layer2_0_downsample_1"));
        const wn_layer_def *c1 = find_layer(&d, "conv1");
        CHECK(c1 && c1->bias == 0 && c1->kh == 7 && c1->sh == 2 && c1->ph == 3);
        wn_netdef_free(&d);
    }
}

/* Syntax variants and defaults. */
static void test_syntax(const char *dir) {
    const char *text = "\xEF\xBB\xBF; a comment\r\n"
                       "# another comment\r\n"
                       "[net]\r\n"
                       "  width = 12   ; indented, inline comment\r\n"
                       "height: 10\r\n"
                       "channels = 3\r\n"
                       "mean = 0.5\r\n"
                       "std = 0.25, 0.5 ,1\r\n"
                       "\r\n"
                       "[c1]\r\n"
                       "type = conv\r\n"
                       "filters = 4\r\n"
                       "size_h = 3\r\n"
                       "size_w = 1\r\n"
                       "stride_w = 2\r\n"
                       "pad_h = 1\r\n"
                       "bias = 0\r\n"
                       "[p1]\r\n"
                       "type = avgpool\r\n"
                       "size = 2\r\n"
                       "[lk]\r\n"
                       "type = leaky\r\n"
                       "[bn]\r\n"
                       "type = batchnorm\r\n"
                       "momentum = 1\r\n"
                       "eps = 1e-3\r\n"
                       "[d]\r\n"
                       "type = dropout\r\n"
                       "rate = 0\r\n"
                       "[res]\r\n"
                       "type = add\r\n"
                       "input = bn\r\n"
                       "from = d\r\n"
                       "[g]\r\n"
                       "type = gap\r\n"
                       "[fc]\r\n"
                       "type = dense\r\n"
                       "units = classes\r\n"
                       "input = g";
    const char *path = wn_test_path(dir, "syntax.ini");
    CHECK(wn_test_write_file(path, text, strlen(text)) == 0);
    wn_netdef d;
    wn_err e = {0};
    int rc = wn_netdef_parse_file(path, &d, &e);
    CHECK_MSG(rc == WN_OK, "%s", e.msg);
    if (rc) return;
    CHECK(d.in_w == 12 && d.in_h == 10 && d.in_c == 3 && !d.norm_auto);
    CHECK(d.mean[0] == 0.5f && d.mean[2] == 0.5f && d.std[0] == 0.25f && d.std[2] == 1.0f);
    CHECK(d.n_layers == 8 && d.n_train == 0);
    const wn_layer_def *c = &d.layers[0];
    CHECK(c->kh == 3 && c->kw == 1 && c->sh == 1 && c->sw == 2 && c->ph == 1 && c->pw == 0 &&
          c->bias == 0);
    CHECK(c->line == 10);
    CHECK(d.layers[1].sh == 2 && d.layers[1].sw == 2);
    CHECK_CLOSE(d.layers[2].alpha, 0.01, 1e-9, 0);
    CHECK(d.layers[3].momentum == 1.0f && d.layers[3].eps == 1e-3f);
    CHECK(d.layers[4].rate == 0.0f);
    CHECK(!strcmp(d.layers[5].input, "bn") && !strcmp(d.layers[5].from, "d"));
    CHECK(!strcmp(d.layers[7].input, "g") && d.layers[7].units == 0);
    CHECK(strlen(d.ini_text) == strlen(text));
    wn_netdef_free(&d);

    /* no mean/std: no normalisation beyond scaling to [0, 1] */
    const char *plain =
        "[net]\nwidth = 4\nheight = 4\nchannels = 1\n[fc]\ntype = dense\nunits = 3\n";
    rc = wn_netdef_parse_string(plain, "plain.ini", &d, &e);
    CHECK_MSG(rc == WN_OK, "%s", e.msg);
    if (!rc) {
        CHECK(d.mean[0] == 0.0f && d.std[0] == 1.0f && d.layers[0].units == 3 &&
              d.layers[0].bias == 1);
        wn_netdef_free(&d);
    }
}

#define NET "[net]\nwidth = 8\nheight = 8\nchannels = 1\n" /* lines 1-4 */
#define FC "[fc]\ntype = dense\nunits = classes\n"

/* Parsing text must fail with WN_EINPUT and a message holding "FILE line LINE" (LINE 0: just
 * FILE) and each of the wanted strings. */
static void expect_parse_error(const char *dir, const char *text, int line, const char *want1,
                               const char *want2) {
    const char *path = wn_test_path(dir, "bad.ini");
    CHECK(wn_test_write_file(path, text, strlen(text)) == 0);
    wn_netdef d;
    wn_err e = {0};
    int rc = wn_netdef_parse_file(path, &d, &e);
    char where[4200];
    if (line)
        snprintf(where, sizeof where, "%s line %d: ", path, line);
    else
        snprintf(where, sizeof where, "%s: ", path);
    CHECK_MSG(rc == WN_EINPUT && strstr(e.msg, where) && strstr(e.msg, want1) &&
                  (!want2 || strstr(e.msg, want2)),
              "rc %d, want '%s' + '%s' + '%s', got '%s'", rc, where, want1, want2 ? want2 : "",
              e.msg);
    if (rc == WN_OK) wn_netdef_free(&d);
    CHECK(d.layers == NULL && d.ini_text == NULL); /* nothing left to free after an error */
}

static void test_parse_errors(const char *dir) {
    /* unknown keys */
    expect_parse_error(dir, NET "[c1]\ntype = conv\nfilters = 4\nfilter = 3\n" FC, 8,
                       "[c1] unknown key 'filter' for type conv", "known: type, input, filters");
    expect_parse_error(dir, NET "[r]\ntype = relu\nfrom = input\n" FC, 7, "[r] unknown key 'from'",
                       NULL);
    expect_parse_error(dir, NET "depth = 3\n" FC, 5, "[net] unknown key 'depth'", "width");
    /* unknown layer type, missing type */
    expect_parse_error(dir, NET "[c1]\ntype = convolution\n" FC, 6, "[c1] type = 'convolution'",
                       "unknown layer type (known: conv, maxpool");
    expect_parse_error(dir, NET "[c1]\nfilters = 4\n" FC, 5, "[c1] has no 'type'", NULL);
    expect_parse_error(dir, NET FC "[extra]\n", 8, "[extra] has no 'type'", NULL);
    /* duplicate section (apart and adjacent), duplicate key */
    expect_parse_error(dir, NET "[r]\ntype = relu\n" FC "[r]\ntype = relu\n", 10,
                       "duplicate section [r]", "first at line 5");
    expect_parse_error(dir, NET "[r]\ntype = relu\n[r]\ntype = relu\n" FC, 7,
                       "duplicate section [r]", NULL);
    expect_parse_error(dir, "[net]\nwidth = 8\nwidth = 9\n", 3, "[net] key 'width' is given twice",
                       "first at line 2");
    /* out-of-range values */
    expect_parse_error(dir, NET "[c1]\ntype = conv\nfilters = 0\nsize = 3\n" FC, 7,
                       "[c1] filters = '0': out of range", "1 to 65536");
    expect_parse_error(dir, NET "[c1]\ntype = conv\nfilters = 2\nsize = 1001\n" FC, 8,
                       "[c1] size = '1001': out of range", "1 to 1000");
    expect_parse_error(dir, NET "[c1]\ntype = conv\nfilters = 2\nsize = 3\nstride = 0\n" FC, 9,
                       "[c1] stride = '0': out of range", NULL);
    expect_parse_error(dir, NET "[c1]\ntype = conv\nfilters = 2\nsize = 3\npad = -1\n" FC, 9,
                       "[c1] pad = '-1': out of range", "0 to 1000");
    expect_parse_error(dir, NET "[c1]\ntype = conv\nfilters = -3\nsize = 3\n" FC, 7,
                       "[c1] filters = '-3': out of range", NULL);
    expect_parse_error(dir, NET "[d]\ntype = dropout\nrate = 1\n" FC, 7,
                       "[d] rate = '1': out of range", "0 <= value < 1");
    expect_parse_error(dir, NET "[b]\ntype = batchnorm\nmomentum = 0\n" FC, 7,
                       "[b] momentum = '0': out of range", "0 < value <= 1");
    expect_parse_error(dir, NET "[b]\ntype = batchnorm\neps = 0\n" FC, 7,
                       "[b] eps = '0': out of range", NULL);
    expect_parse_error(dir, NET "[c1]\ntype = conv\nbias = 2\nfilters = 2\nsize = 1\n" FC, 7,
                       "[c1] bias = '2': out of range", "0 to 1");
    expect_parse_error(dir, "[net]\nwidth = 8\nheight = 8\nchannels = 2\n" FC, 4,
                       "[net] channels = '2'", "1 for grey or 3 for colour");
    expect_parse_error(dir, NET "[p]\ntype = maxpool\nsize = 2\npad = 2\n" FC, 5, "[p] pad 2x2",
                       "at most half");
    /* non-numeric values and trailing garbage */
    expect_parse_error(dir, NET "[c1]\ntype = conv\nfilters = abc\nsize = 3\n" FC, 7,
                       "[c1] filters = 'abc': not a whole number", NULL);
    expect_parse_error(dir, NET "[c1]\ntype = conv\nfilters = 4\nsize = 3x\n" FC, 8,
                       "[c1] size = '3x': not a whole number", NULL);
    expect_parse_error(dir, NET "[c1]\ntype = conv\nfilters = 4.5\nsize = 3\n" FC, 7,
                       "filters = '4.5': not a whole number", NULL);
    expect_parse_error(dir, NET "[d]\ntype = dropout\nrate = half\n" FC, 7,
                       "[d] rate = 'half': not a number", NULL);
    expect_parse_error(dir, NET "[d]\ntype = dropout\nrate = 0.5 # half\n" FC, 7, "not a number",
                       "comments after a value start with ' ;'");
    expect_parse_error(dir, NET "[fc]\ntype = dense\nunits = lots\n", 7, "[fc] units = 'lots'",
                       "'classes'");
    /* missing keys */
    expect_parse_error(dir, NET "[c1]\ntype = conv\nsize = 3\n" FC, 5, "[c1] missing key 'filters'",
                       NULL);
    expect_parse_error(dir, NET "[c1]\ntype = conv\nfilters = 3\nsize_h = 3\n" FC, 5,
                       "[c1] missing key 'size'", NULL);
    expect_parse_error(dir, NET "[c1]\ntype = conv\nfilters = 3\nsize = 3\nsize_w = 1\n" FC, 5,
                       "[c1] give either size or size_h/size_w", NULL);
    expect_parse_error(dir, NET "[fc]\ntype = dense\n", 5, "[fc] missing key 'units'", NULL);
    expect_parse_error(dir, NET "[r]\ntype = relu\n[a]\ntype = add\n" FC, 7,
                       "[a] missing key 'from'", NULL);
    /* [net]: missing keys, bad lists, no [net] at all */
    expect_parse_error(dir, "[net]\nheight = 8\nchannels = 1\n" FC, 1, "[net] missing key 'width'",
                       NULL);
    expect_parse_error(dir, "[net]\nwidth = 8\nheight = 8\nchannels = 3\nmean = 0.1, 0.2\n" FC, 5,
                       "[net] mean = '0.1, 0.2': 2 values, but channels = 3", NULL);
    expect_parse_error(dir, "[net]\nwidth = 8\nheight = 8\nchannels = 1\nstd = 0\n" FC, 5,
                       "[net] std = '0': out of range", NULL);
    expect_parse_error(dir, "[net]\nwidth = 8\nheight = 8\nchannels = 1\nmean = auto\nstd = 1\n" FC,
                       5, "mean and std must both be 'auto'", NULL);
    expect_parse_error(dir, "[net]\nwidth = 8\nheight = 8\nchannels = 1\nmean = 0.1,,\n" FC, 5,
                       "not a list of numbers", NULL);
    expect_parse_error(dir, "[net]\nwidth = 0\n", 2, "[net] width = '0': out of range", NULL);
    expect_parse_error(dir, FC, 0, "no [net] section", NULL);
    expect_parse_error(dir, NET "[train]\nepochs = 3\n", 0, "no layer sections", NULL);
    /* syntax: long lines, lines that are not key = value, keys before any section, names */
    char longline[512];
    snprintf(longline, sizeof longline, NET "[c1]\ntype = relu\n; %0250d\n" FC, 0);
    expect_parse_error(dir, longline, 7, "cannot parse", "under 200 characters");
    expect_parse_error(dir, NET "[c1]\ntype relu\n" FC, 6, "cannot parse", "key = value");
    expect_parse_error(dir, NET "[c1\ntype = relu\n" FC, 5, "cannot parse", "']'");
    expect_parse_error(dir, "width = 8\n" NET FC, 1, "key 'width' comes before any [section]",
                       NULL);
    expect_parse_error(dir, NET "[conv 1]\ntype = relu\n" FC, 5, "section name 'conv 1'", NULL);
    expect_parse_error(dir, NET "[input]\ntype = relu\n" FC, 5, "[input] is a reserved name", NULL);
    /* input/from naming later, unknown or the same layer; unused outputs */
    expect_parse_error(dir, NET "[a]\ntype = relu\ninput = b\n[b]\ntype = relu\n" FC, 7,
                       "[a] input = b", "comes later");
    expect_parse_error(dir, NET "[a]\ntype = relu\ninput = nothere\n" FC, 7,
                       "[a] input = nothere: there is no layer called 'nothere'", NULL);
    expect_parse_error(dir, NET "[r]\ntype = relu\n[a]\ntype = add\nfrom = a\n" FC, 9,
                       "[a] from = a: that is the layer itself", NULL);
    expect_parse_error(dir, NET "[r1]\ntype = relu\n[r2]\ntype = relu\ninput = input\n" FC, 5,
                       "[r1] its output is not used", NULL);
    /* a file that is not there, or not text */
    wn_netdef d;
    wn_err e = {0};
    const char *missing = wn_test_path(dir, "missing.ini");
    CHECK(wn_netdef_parse_file(missing, &d, &e) == WN_EINPUT && strstr(e.msg, missing));
    const char nul[] = "[net]\nwidth = 8\0\n";
    const char *bin = wn_test_path(dir, "nul.ini");
    CHECK(wn_test_write_file(bin, nul, sizeof nul) == 0);
    CHECK(wn_netdef_parse_file(bin, &d, &e) == WN_EINPUT && strstr(e.msg, "NUL"));
}

/* Instantiating must fail with WN_EINPUT and a message holding "FILE line LINE: layer NAME" and
 * want. */
static void expect_create_error(wn_backend *be, const char *text, int classes, int line,
                                const char *layer, const char *want) {
    wn_netdef d;
    wn_err e = {0};
    int rc = wn_netdef_parse_string(text, "shape.ini", &d, &e);
    CHECK_MSG(rc == WN_OK, "%s", e.msg);
    if (rc) return;
    wn_net net;
    rc = wn_net_create(&d, classes, be, &net, &e);
    char where[256];
    snprintf(where, sizeof where, "shape.ini line %d: layer %s: ", line, layer);
    CHECK_MSG(rc == WN_EINPUT && strstr(e.msg, where) && strstr(e.msg, want),
              "rc %d, want '%s' + '%s', got '%s'", rc, where, want, e.msg);
    if (rc == WN_OK) wn_net_free(&net);
    CHECK(net.layers == NULL && net.params == NULL);
    wn_netdef_free(&d);
}

static void test_shape_errors(void) {
    wn_backend be;
    wn_err e = {0};
    if (wn_cpu_backend_create(1, &be, &e) != WN_OK) {
        CHECK_MSG(0, "cpu backend: %s", e.msg);
        return;
    }
    /* 8x8 -> conv 5 -> 4x4 -> conv 5: empty */
    expect_create_error(&be,
                        NET "[c1]\ntype = conv\nfilters = 2\nsize = 5\n"
                            "[c2]\ntype = conv\nfilters = 2\nsize = 5\n" FC,
                        3, 9, "c2", "output would be empty (input 4x4, kernel 5)");
    expect_create_error(&be,
                        NET "[p]\ntype = maxpool\nsize = 3\nstride = 4\npad = 1\n"
                            "[p2]\ntype = maxpool\nsize_h = 3\nsize_w = 1\n" FC,
                        3, 10, "p2", "output would be empty (input 2x2, kernel 3x1)");
    /* add of different shapes */
    expect_create_error(&be,
                        NET "[c1]\ntype = conv\nfilters = 2\nsize = 3\npad = 1\n"
                            "[c2]\ntype = conv\nfilters = 4\nsize = 3\npad = 1\n"
                            "[sum]\ntype = add\nfrom = c1\n" FC,
                        3, 15, "sum", "cannot add c2 (4 x 8 x 8) and c1 (2 x 8 x 8)");
    /* last layer does not give one value per class */
    expect_create_error(&be, NET "[fc]\ntype = dense\nunits = 5\n", 3, 5, "fc", "units = classes");
    expect_create_error(&be, NET "[c1]\ntype = conv\nfilters = 3\nsize = 3\n", 3, 5, "c1",
                        "gives 3 x 6 x 6");
    /* the same definitions instantiate when they fit */
    wn_netdef d;
    if (wn_netdef_parse_string(NET "[c1]\ntype = conv\nfilters = 2\nsize = 3\n[g]\ntype = gap\n",
                               "ok.ini", &d, &e) == WN_OK) {
        wn_net net;
        CHECK(wn_net_create(&d, 2, &be, &net, &e) == WN_OK);
        if (net.layers) {
            CHECK(net.layers[0].out.c == 2 && net.layers[0].out.h == 6 && net.layers[1].out.h == 1);
            CHECK(net.n_params == 2 * 9 + 2 && net.n_state == 0);
            wn_net_free(&net);
        }
        CHECK(wn_net_create(&d, 0, &be, &net, &e) == WN_EINPUT);
        wn_netdef_free(&d);
    }
    wn_backend_free(&be);
}

int main(void) {
    const char *dir = wn_test_tmpdir("test_netdef");
    test_samples();
    test_syntax(dir);
    test_parse_errors(dir);
    test_shape_errors();
    return wn_test_done();
}
