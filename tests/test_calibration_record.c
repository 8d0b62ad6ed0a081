/* test_calibration_record.c - the model's calibration record 'CALB' (wn_calibration.h): format
 * and parse round-trip exactly (thresholds of +inf included), a model file keeps it through save
 * and load, and every malformed record is refused with the file and the key. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "wn_calibration.h"
#include "wn_test.h"

static void sample(wn_calibration *c) {
    wn_calibration_init(c, 3);
    c->mode = WN_CALMODE_PERCLASS;
    c->rule = WN_CALRULE_CERTIFIED;
    c->confidence = 0.9;
    c->priors[0] = 0.9f, c->priors[1] = 0.07f, c->priors[2] = 0.03f;
    c->threshold[0] = INFINITY, c->threshold[1] = 0.137f, c->threshold[2] = 1e-7f;
    c->target[1] = 0.99, c->target[2] = 0.9;
    c->n_photos = 4120;
    c->n_defect = 412;
    c->recall = 0.956;
    c->recall_lower = 0.95;
    c->automation = 0.613;
    strcpy(c->set_hash, "0123456789abcdef");
    strcpy(c->date, "2026-12-01T08:00:00Z");
    c->source = strdup("calib/");
}

static int same(const wn_calibration *a, const wn_calibration *b) {
    if (a->k != b->k || a->mode != b->mode || a->rule != b->rule || a->confidence != b->confidence ||
        a->n_photos != b->n_photos || a->n_defect != b->n_defect || a->recall != b->recall ||
        a->recall_lower != b->recall_lower || a->automation != b->automation ||
        strcmp(a->set_hash, b->set_hash) || strcmp(a->date, b->date))
        return 0;
    if ((a->source == NULL) != (b->source == NULL) || (a->source && strcmp(a->source, b->source)))
        return 0;
    for (int j = 0; j < a->k; j++)
        if (a->priors[j] != b->priors[j] || a->threshold[j] != b->threshold[j] ||
            a->target[j] != b->target[j])
            return 0;
    return 1;
}

static void test_roundtrip(void) {
    wn_calibration c, back;
    wn_err e = {0};
    sample(&c);
    size_t n = wn_calibration_format(&c, NULL, 0);
    char *text = malloc(n + 1);
    CHECK(wn_calibration_format(&c, text, n + 1) == n);
    CHECK(strlen(text) == n);
    int rc = wn_calibration_parse(text, n, 3, "m.wnet", &back, &e);
    CHECK_MSG(rc == WN_OK, "%s", e.msg);
    CHECK(same(&c, &back));
    CHECK(isinf(back.threshold[0]));
    wn_calibration_free(&back);
    /* a short buffer truncates but reports the full length */
    char small[16];
    CHECK(wn_calibration_format(&c, small, sizeof small) == n);
    CHECK(strlen(small) == sizeof small - 1);
    free(text);
    wn_calibration_free(&c);
}

static void make_model(wn_model *m) {
    memset(m, 0, sizeof *m);
    m->net_ini = strdup("[net]\nwidth = 2\nheight = 2\nchannels = 1\n");
    m->n_classes = 3;
    m->class_names = malloc(3 * sizeof(char *));
    m->class_counts = malloc(3 * sizeof(long));
    const char *names[3] = {"ok", "crack", "pore"};
    long counts[3] = {900, 70, 30};
    for (int j = 0; j < 3; j++) m->class_names[j] = strdup(names[j]), m->class_counts[j] = counts[j];
    m->in_c = 1, m->in_h = 2, m->in_w = 2;
    m->std[0] = m->std[1] = m->std[2] = 1;
}

static void test_in_model(const char *dir) {
    wn_model m, back;
    wn_calibration c, got;
    wn_err e = {0};
    make_model(&m);
    CHECK(!wn_model_is_calibrated(&m));
    int rc = wn_model_get_calibration(&m, "m.wnet", &got, &e);
    CHECK(rc == WN_EINPUT && strstr(e.msg, "m.wnet: not calibrated"));
    wn_calibration_free(&got);
    float pri[3];
    wn_model_priors(&m, pri);
    CHECK_CLOSE(pri[0], 0.9, 1e-7, 0);
    CHECK_CLOSE(pri[2], 0.03, 1e-7, 0);
    /* output priors: the training priors without the key, the key's values (normalised) with
     * it, and the training priors again when the key is malformed */
    float out[3];
    CHECK(wn_model_output_priors(&m, out) == 0 && out[0] == pri[0] && out[2] == pri[2]);
    const char *good[] = {"epoch = 3\noutput_priors = 1,1,2\nloss = bayesian\n", "output_priors=0.5, 0.25 ,0.25"};
    for (int i = 0; i < 2; i++) {
        m.meta = strdup(good[i]);
        CHECK_MSG(wn_model_output_priors(&m, out) == 1, "meta '%s' not read", good[i]);
        CHECK_CLOSE(out[0], i ? 0.5 : 0.25, 1e-7, 0);
        CHECK_CLOSE(out[2], i ? 0.25 : 0.5, 1e-7, 0);
        free(m.meta);
    }
    const char *bad[] = {"output_priors = 1,1\n", "output_priors = 1,1,1,1\n", "output_priors = 1,x,1\n",
                         "output_priors = 0,0,0\n", "output_priors = 1,-1,1\n", "output_priors = nan,1,1\n",
                         "xoutput_priors = 1,1,1\n"};
    for (int i = 0; i < 7; i++) {
        m.meta = strdup(bad[i]);
        CHECK_MSG(wn_model_output_priors(&m, out) == 0 && out[0] == pri[0], "meta '%s' accepted", bad[i]);
        free(m.meta);
    }
    m.meta = NULL;

    sample(&c);
    CHECK(wn_model_set_calibration(&m, &c, &e) == WN_OK);
    CHECK(wn_model_is_calibrated(&m));
    const char *path = wn_test_path(dir, "cal.wnet");
    CHECK_MSG(wn_model_save(path, &m, &e) == WN_OK, "%s", e.msg);
    CHECK_MSG(wn_model_load(path, &back, &e) == WN_OK, "%s", e.msg);
    rc = wn_model_get_calibration(&back, path, &got, &e);
    CHECK_MSG(rc == WN_OK, "%s", e.msg);
    CHECK(same(&c, &got));
    wn_calibration_free(&got);

    /* replacing keeps one record */
    c.threshold[1] = 0.5f;
    CHECK(wn_model_set_calibration(&back, &c, &e) == WN_OK);
    int n_calb = 0;
    for (int i = 0; i < back.n_extra; i++) n_calb += back.extra[i].tag == WN_TAG('C', 'A', 'L', 'B');
    CHECK(n_calb == 1);
    CHECK(wn_model_get_calibration(&back, path, &got, &e) == WN_OK && got.threshold[1] == 0.5f);
    wn_calibration_free(&got);

    /* a calibration for another class count is refused */
    wn_calibration two;
    wn_calibration_init(&two, 2);
    strcpy(two.set_hash, "0000000000000000");
    CHECK(wn_model_set_calibration(&back, &two, &e) == WN_EINPUT && strstr(e.msg, "2 classes"));
    wn_calibration_free(&two);
    wn_calibration_free(&c);
    wn_model_free(&back);
    wn_model_free(&m);
}

/* text with one line replaced (or removed when repl is ""), or a line appended */
static char *edit(const char *text, const char *key, const char *repl) {
    size_t n = strlen(text) + strlen(repl) + 8;
    char *out = malloc(n);
    out[0] = '\0';
    const char *p = text;
    int done = 0;
    while (*p) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p + 1) : strlen(p);
        if (!done && key && !strncmp(p, key, strlen(key)) && p[strlen(key)] == ' ') {
            strcat(out, repl);
            done = 1;
        } else {
            size_t o = strlen(out);
            memcpy(out + o, p, len);
            out[o + len] = '\0';
        }
        p += len;
    }
    if (!key) strcat(out, repl);
    return out;
}

static void test_refusals(void) {
    wn_calibration c, back;
    wn_err e;
    sample(&c);
    size_t n = wn_calibration_format(&c, NULL, 0);
    char *text = malloc(n + 1);
    wn_calibration_format(&c, text, n + 1);
    struct { const char *key, *repl, *want; } cases[] = {
        {NULL, "colour = red\n", "unknown key 'colour'"},
        {NULL, "recall = 0.5\n", "key 'recall' given twice"},
        {"recall", "", "key 'recall' is missing"},
        {"thresholds", "", "key 'thresholds' is missing"},
        {"classes", "classes = 4\n", "model has 3 classes"},
        {"priors", "priors = 0.5, 0.5\n", "has 2 entries"},
        {"priors", "priors = 0.5, 0.3, 0.1, 0.1\n", "more than 3 entries"},
        {"priors", "priors = 0, 0, 0\n", "every prior is zero"},
        {"priors", "priors = 0.5, -0.1, 0.6\n", "entry 2"},
        {"thresholds", "thresholds = 0.1, nan, 0.2\n", "key 'thresholds'"},
        {"targets", "targets = 0, 1.5, 0.9\n", "out of range"},
        {"confidence", "confidence = 1\n", "(0, 1)"},
        {"confidence", "confidence = high\n", "not a number"},
        {"n_photos", "n_photos = -3\n", "not a count"},
        {"n_defect", "n_defect = 5000\n", "exceeds n_photos"},
        {"mode", "mode = fancy\n", "pooled or per-class"},
        {"rule", "rule = maybe\n", "point or certified"},
        {"version", "version = 2\n", "unsupported calibration version"},
        {"set_hash", "set_hash = xyz\n", "hexadecimal"},
        {NULL, "no equals sign here\n", "expected 'key = value'"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *bad = edit(text, cases[i].key, cases[i].repl);
        wn_err_clear(&e);
        int rc = wn_calibration_parse(bad, strlen(bad), 3, "bad.wnet", &back, &e);
        CHECK_MSG(rc == WN_EINPUT && strstr(e.msg, "bad.wnet") && strstr(e.msg, cases[i].want),
                  "case %zu: rc %d, '%s' (want '%s')", i, rc, e.msg, cases[i].want);
        wn_calibration_free(&back);
        free(bad);
    }
    free(text);
    wn_calibration_free(&c);
}

int main(void) {
    const char *dir = wn_test_tmpdir("calibration_record");
    test_roundtrip();
    test_in_model(dir);
    test_refusals();
    return wn_test_done();
}
