/* test_calib_decide.c - the calibrate stage's decision and outputs on synthetic sets: threshold-
 * moving before/after against a hand argmax, the pooled choice against brute force over every
 * candidate threshold (point rule by exact integers, certified rule by an exact binomial sum),
 * per-class thresholds keeping every class's budget and beating the best common threshold, the
 * refusals (no defects, a missing class, too few to certify), the record round trip (text and
 * model) and --evaluate's apply giving back the same counts, the thresholds INI read back with
 * inih (values exact, lines under 200 bytes), and the report and curve CSVs read back with
 * libcsv. */
#include <csv.h>
#include <ini.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "wn_calibrate.h"
#include "wn_rng.h"
#include "wn_test.h"

static char *NAMES[3] = {"ok", "bag", "sandal"};

/* A random set of n photos, 3 classes: defect share pdef, probabilities on a grid of 1/64 (ties),
 * defects scored higher on their own class. The caller frees with wn_calib_set_free. */
static void make_set(wn_calib_set *s, wn_rng *r, long n, double pdef, int with_priors) {
    memset(s, 0, sizeof *s);
    s->k = 3;
    s->n = n;
    s->names = wn_xcalloc(3, sizeof *s->names);
    for (int j = 0; j < 3; j++) s->names[j] = wn_xstrdup(NAMES[j]);
    s->probs = wn_xmalloc(sizeof *s->probs * (size_t)n * 3);
    s->labels = wn_xmalloc(sizeof *s->labels * (size_t)n);
    s->priors = wn_xmalloc(sizeof *s->priors * 3);
    s->priors[0] = 0.8f;
    s->priors[1] = 0.15f;
    s->priors[2] = 0.05f;
    s->has_priors = with_priors;
    s->source = wn_xstrdup("synthetic");
    snprintf(s->set_hash, sizeof s->set_hash, "0123456789abcdef");
    for (long i = 0; i < n; i++) {
        int y = wn_rng_uniform(r) < pdef ? 1 + (int)wn_rng_below(r, 2) : 0;
        s->labels[i] = y;
        int w[3], sum = 0;
        for (int j = 0; j < 3; j++) sum += w[j] = (int)wn_rng_below(r, 20) + (j == y ? 14 : 0);
        int a = (int)lround(64.0 * w[1] / sum), b = (int)lround(64.0 * w[2] / sum);
        if (a + b > 64) b = 64 - a;
        s->probs[i * 3 + 1] = (float)a / 64.0f;
        s->probs[i * 3 + 2] = (float)b / 64.0f;
        s->probs[i * 3 + 0] = (float)(64 - a - b) / 64.0f;
    }
    s->labels[0] = 1; /* every defect class present */
    s->labels[1] = 2;
}

/* Exact largest k with P(Binomial(n, 1 - t) <= k) <= 1 - c, or -1 (direct sum in long double). */
static long exact_kstar(long n, double t, double c) {
    long double a = 1.0L - (long double)t, cdf = 0, term = powl(1 - a, (long double)n);
    long best = -1;
    for (long k = 0; k <= n; k++) {
        if (k > 0) term *= (long double)(n - k + 1) / (long double)k * a / (1 - a);
        cdf += term;
        if (cdf <= 1.0L - (long double)c + 1e-15L) best = k;
        else break;
    }
    return best;
}

/* Most photos any pooled threshold passes with at most allowed defect photos passed. */
static long brute_pooled(const float *score /* (N) */, const int *y /* (N) */, long n,
                         long allowed) {
    long best = 0;
    for (long c = 0; c <= n; c++) {
        float t = c < n ? score[c] : INFINITY;
        long passed = 0, miss = 0;
        for (long i = 0; i < n; i++)
            if (score[i] < t) passed++, miss += y[i] != 0;
        if (miss <= allowed && passed > best) best = passed;
    }
    return best;
}

static void test_moving(void) {
    wn_rng r;
    wn_rng_seed(&r, 1, 1);
    wn_calib_set s;
    make_set(&s, &r, 300, 0.3, 1);
    wn_calib_result res;
    wn_err e = {0};
    double t[3] = {0.9, 0, 0};
    CHECK(wn_calib_decide(&s, WN_CALMODE_POOLED, WN_CALIB_POINT, 0.95, t, 0, &res, &e) == WN_OK);
    long before[9] = {0}, after[9] = {0}; /* (K, K) */
    int worst = 0;
    for (long i = 0; i < s.n; i++) {
        const float *p = s.probs + i * 3;
        double d[3], sum = 0;
        for (int j = 0; j < 3; j++) sum += d[j] = p[j] / s.priors[j];
        int a = 0, b = 0;
        for (int j = 1; j < 3; j++) {
            if (p[j] > p[a]) a = j;
            if (d[j] > d[b]) b = j;
        }
        before[s.labels[i] * 3 + a]++;
        after[s.labels[i] * 3 + b]++;
        for (int j = 0; j < 3; j++)
            worst |= fabs(res.cal[i * 3 + j] - d[j] / sum) > 1e-6;
        worst |= res.score[i] != wn_calib_pooled_score(res.cal + i * 3, 3);
    }
    CHECK_MSG(!worst, "calibrated probabilities differ from p / prior renormalised");
    int same = 1;
    for (int c = 0; c < 9; c++) same &= res.before.m[c] == before[c] && res.after.m[c] == after[c];
    CHECK_MSG(same, "confusion matrices before/after differ from the hand argmax");
    /* dividing by these priors moves photos out of the ok class: the defect recalls rise */
    CHECK(wn_metric_recall(&res.after, 2) >= wn_metric_recall(&res.before, 2));
    wn_calib_result_free(&res);
    /* scores without priors: used exactly as given */
    s.has_priors = 0;
    CHECK(wn_calib_decide(&s, WN_CALMODE_POOLED, WN_CALIB_POINT, 0.95, t, 0, &res, &e) == WN_OK);
    CHECK(memcmp(res.cal, s.probs, sizeof *s.probs * (size_t)s.n * 3) == 0);
    for (int c = 0; c < 9; c++) same &= res.before.m[c] == res.after.m[c];
    CHECK(same);
    wn_calib_result_free(&res);
    wn_calib_set_free(&s);
}

static void test_pooled_brute(void) {
    wn_rng r;
    wn_rng_seed(&r, 2, 2);
    int cases = 0, good = 0;
    for (int trial = 0; trial < 120; trial++) {
        wn_calib_set s;
        make_set(&s, &r, 80 + (long)wn_rng_below(&r, 300), 0.2 + 0.5 * wn_rng_uniform(&r),
                 trial % 3 != 0);
        double target = 0.8 + 0.2 * wn_rng_uniform(&r), conf = trial % 2 ? 0.9 : 0.95;
        int rule = trial % 4 < 2 ? WN_CALIB_POINT : WN_CALIB_CERTIFIED;
        double t[3] = {target, 0, 0};
        long nd = 0;
        for (long i = 0; i < s.n; i++) nd += s.labels[i] != 0;
        long allowed = rule == WN_CALIB_POINT ? nd - (long)ceil(target * nd - 1e-9)
                                              : exact_kstar(nd, target, conf);
        wn_calib_result res;
        wn_err e = {0};
        int rc = wn_calib_decide(&s, WN_CALMODE_POOLED, rule, conf, t, 0, &res, &e);
        if (allowed < 0) {
            CHECK_MSG(rc == WN_EINPUT && strstr(e.msg, "cannot certify") &&
                          strstr(e.msg, "--uncertified"),
                      "%s", e.msg);
        } else {
            cases++;
            long best = brute_pooled(res.score, s.labels, s.n, allowed);
            long passed = 0, miss = 0;
            for (long i = 0; i < s.n; i++)
                if (wn_calib_autopass(res.cal + i * 3, 3, res.threshold))
                    passed++, miss += s.labels[i] != 0;
            int ok = rc == WN_OK && res.allowed[0] == allowed && res.passed == best &&
                     passed == best && miss == res.missed && miss <= allowed &&
                     res.n_defect == nd && isinf(res.threshold[1]) && isinf(res.threshold[2]);
            if (rule == WN_CALIB_POINT) ok = ok && res.recall >= target - 1e-12;
            else ok = ok && res.recall_lower == target;
            ok = ok && res.recall_ci.lo <= res.recall && res.recall <= res.recall_ci.hi;
            ok = ok && res.automation == (double)best / (double)s.n;
            good += ok;
            CHECK_MSG(ok, "trial %d: rc %d (%s), passed %ld vs brute %ld, misses %ld of %ld", trial,
                      rc, e.msg, res.passed, best, miss, allowed);
        }
        wn_calib_result_free(&res);
        wn_calib_set_free(&s);
    }
    CHECK(cases > 60 && good == cases);
    printf("pooled decision: %d/%d random sets equal brute force\n", good, cases);
}

static void test_perclass(void) {
    wn_rng r;
    wn_rng_seed(&r, 3, 3);
    int cases = 0, good = 0;
    for (int trial = 0; trial < 60; trial++) {
        wn_calib_set s;
        make_set(&s, &r, 150 + (long)wn_rng_below(&r, 300), 0.3, 1);
        double t[3] = {0, 0.8 + 0.15 * wn_rng_uniform(&r), 0.8 + 0.15 * wn_rng_uniform(&r)};
        wn_calib_result res;
        wn_err e = {0};
        int flags = trial % 2 ? WN_CALIB_PERCLASS_CAP : 0;
        int rc = wn_calib_decide(&s, WN_CALMODE_PERCLASS, WN_CALIB_POINT, 0.9, t, flags, &res, &e);
        CHECK_MSG(rc == WN_OK, "%s", e.msg);
        if (rc) continue;
        cases++;
        int ok = res.mode == WN_CALMODE_PERCLASS && (flags || isinf(res.threshold[0]));
        long count[3] = {0}, miss[3] = {0}, passed = 0;
        for (long i = 0; i < s.n; i++) {
            count[s.labels[i]]++;
            if (wn_calib_autopass(res.cal + i * 3, 3, res.threshold)) passed++, miss[s.labels[i]]++;
        }
        for (int j = 1; j < 3; j++) {
            long allowed = count[j] - (long)ceil(t[j] * count[j] - 1e-9);
            ok = ok && res.allowed[j] == allowed && miss[j] == res.misses[j] && miss[j] <= allowed &&
                 (double)(count[j] - miss[j]) / count[j] >= t[j] - 1e-12;
        }
        ok = ok && passed == res.passed && res.recall_lower == res.recall_ci.lo;
        /* never worse than the best common threshold on max(P_bag, P_sandal) */
        float *m = malloc(sizeof *m * (size_t)s.n); /* (N) */
        for (long i = 0; i < s.n; i++) m[i] = fmaxf(res.cal[i * 3 + 1], res.cal[i * 3 + 2]);
        long best_common = 0;
        for (long c = 0; c <= s.n; c++) {
            float th = c < s.n ? m[c] : INFINITY;
            long p = 0, mm[3] = {0};
            for (long i = 0; i < s.n; i++)
                if (m[i] < th) p++, mm[s.labels[i]]++;
            if (mm[1] <= res.allowed[1] && mm[2] <= res.allowed[2] && p > best_common)
                best_common = p;
        }
        free(m);
        ok = ok && res.passed >= best_common;
        good += ok;
        CHECK_MSG(ok, "trial %d: passed %ld, best common %ld", trial, res.passed, best_common);
        wn_calib_result_free(&res);
        wn_calib_set_free(&s);
    }
    CHECK(cases == 60 && good == cases);
}

static void test_refusals(void) {
    wn_rng r;
    wn_rng_seed(&r, 4, 4);
    wn_calib_set s;
    wn_calib_result res;
    wn_err e = {0};
    double t[3] = {0.95, 0, 0};
    make_set(&s, &r, 200, 0.2, 1);
    /* 40 defect photos cannot certify 0.95 at 0.95 (59 are needed) */
    long nd = 0;
    for (long i = 0; i < s.n; i++) {
        if (s.labels[i] && ++nd > 40) s.labels[i] = 0;
    }
    CHECK(wn_calib_decide(&s, WN_CALMODE_POOLED, WN_CALIB_CERTIFIED, 0.95, t, 0, &res, &e) ==
          WN_EINPUT);
    CHECK_MSG(strstr(e.msg, "synthetic: cannot certify recall >= 95% with 95% confidence from "
                            "40 defect photos: at least 59 are needed") &&
                  strstr(e.msg, "--uncertified gives it"),
              "%s", e.msg);
    wn_calib_result_free(&res);
    CHECK(wn_calib_decide(&s, WN_CALMODE_POOLED, WN_CALIB_POINT, 0.95, t, 0, &res, &e) == WN_OK);
    CHECK(res.allowed[0] == 2 && res.missed <= 2);
    wn_calib_result_free(&res);
    double pt[3] = {0, 0.9, 0.95};
    CHECK(wn_calib_decide(&s, WN_CALMODE_PERCLASS, WN_CALIB_CERTIFIED, 0.9, pt, 0, &res, &e) ==
          WN_EINPUT);
    CHECK_MSG(strstr(e.msg, "photos of defect class 'bag'") || strstr(e.msg, "class 'sandal'"),
              "%s", e.msg);
    CHECK(strstr(e.msg, "cannot certify"));
    wn_calib_result_free(&res);
    /* no photos of one defect class, then no defect photos at all */
    for (long i = 0; i < s.n; i++)
        if (s.labels[i] == 2) s.labels[i] = 1;
    CHECK(wn_calib_decide(&s, WN_CALMODE_POOLED, WN_CALIB_POINT, 0.95, t, 0, &res, &e) ==
          WN_EINPUT);
    CHECK_MSG(!strcmp(e.msg, "synthetic: the calibration set has no photos of defect class "
                             "'sandal' (it needs photos of every defect class)"),
              "%s", e.msg);
    wn_calib_result_free(&res);
    for (long i = 0; i < s.n; i++) s.labels[i] = 0;
    CHECK(wn_calib_decide(&s, WN_CALMODE_PERCLASS, WN_CALIB_POINT, 0.95, pt, 0, &res, &e) ==
          WN_EINPUT);
    CHECK_MSG(!strcmp(e.msg, "synthetic: the calibration set has no defect photos (all 200 are "
                             "'ok')"),
              "%s", e.msg);
    wn_calib_result_free(&res);
    wn_calib_set_free(&s);
}

static void test_record_and_apply(void) {
    wn_rng r;
    wn_rng_seed(&r, 5, 5);
    wn_calib_set s, other;
    make_set(&s, &r, 400, 0.3, 1);
    make_set(&other, &r, 300, 0.3, 1);
    for (int mode = 0; mode < 2; mode++) {
        wn_calib_result res, back, on_other;
        wn_err e = {0};
        double t[3] = {mode ? 0 : 0.9, mode ? 0.9 : 0, mode ? 0.85 : 0};
        int rule = mode ? WN_CALIB_POINT : WN_CALIB_CERTIFIED;
        CHECK(wn_calib_decide(&s, mode ? WN_CALMODE_PERCLASS : WN_CALMODE_POOLED, rule, 0.9, t, 0,
                              &res, &e) == WN_OK);
        setenv("SOURCE_DATE_EPOCH", "86400", 1);
        wn_calibration c, parsed;
        wn_calib_make_record(&s, &res, &c);
        unsetenv("SOURCE_DATE_EPOCH");
        CHECK(!strcmp(c.date, "1970-01-02T00:00:00Z") && !strcmp(c.set_hash, s.set_hash));
        CHECK(c.mode == mode && c.rule == (mode ? WN_CALRULE_POINT : WN_CALRULE_CERTIFIED));
        CHECK(c.n_photos == 400 && c.n_defect == res.n_defect && c.recall == res.recall &&
              c.automation == res.automation && c.recall_lower == res.recall_lower);
        CHECK(c.recall_lower == (mode ? res.recall_ci.lo : 0.9));
        CHECK(c.priors[0] == 0.8f && !strcmp(c.source, "synthetic"));
        /* through the record text and a model, as classify and --evaluate will read it */
        wn_model m;
        memset(&m, 0, sizeof m);
        m.n_classes = 3;
        CHECK(wn_model_set_calibration(&m, &c, &e) == WN_OK);
        CHECK(wn_model_get_calibration(&m, "mem.wnet", &parsed, &e) == WN_OK);
        int same = parsed.mode == c.mode && parsed.recall == c.recall;
        for (int j = 0; j < 3; j++)
            same &= parsed.threshold[j] == c.threshold[j] && parsed.target[j] == c.target[j] &&
                    parsed.priors[j] == c.priors[j];
        CHECK_MSG(same, "record round trip changed a value");
        CHECK(wn_calib_apply(&s, &parsed, &back, &e) == WN_OK);
        CHECK(back.passed == res.passed && back.missed == res.missed &&
              back.recall == res.recall && back.automation == res.automation);
        for (int j = 0; j < 3; j++) CHECK(back.misses[j] == res.misses[j]);
        /* on another set: what the stored rule does there, counted directly */
        CHECK(wn_calib_apply(&other, &parsed, &on_other, &e) == WN_OK);
        long passed = 0, miss = 0;
        for (long i = 0; i < other.n; i++) {
            float row[3];
            CHECK(wn_calib_divide_priors(other.probs + i * 3, row, 1, 3, parsed.priors, &e) ==
                  WN_OK);
            if (wn_calib_autopass(row, 3, parsed.threshold)) passed++, miss += other.labels[i] != 0;
        }
        CHECK(on_other.passed == passed && on_other.missed == miss);
        wn_calib_result_free(&on_other);
        wn_calib_result_free(&back);
        wn_calibration_free(&parsed);
        wn_calibration_free(&c);
        wn_model_free(&m);
        wn_calib_result_free(&res);
    }
    wn_calib_set_free(&other);
    wn_calib_set_free(&s);
}

/* ---- reading outputs back ---- */

typedef struct ini_seen {
    int n;
    char sec[64][32], key[64][32], val[64][200];
} ini_seen;

static int on_ini(void *user, const char *section, const char *name, const char *value) {
    ini_seen *s = user;
    if (s->n >= 64) return 0;
    snprintf(s->sec[s->n], 32, "%s", section);
    snprintf(s->key[s->n], 32, "%s", name);
    snprintf(s->val[s->n], 200, "%s", value);
    s->n++;
    return 1;
}

static const char *ini_get(const ini_seen *s, const char *sec, const char *key) {
    for (int i = 0; i < s->n; i++)
        if (!strcmp(s->sec[i], sec) && !strcmp(s->key[i], key)) return s->val[i];
    return NULL;
}

static void test_ini(const char *dir) {
    wn_rng r;
    wn_rng_seed(&r, 6, 6);
    wn_calib_set s;
    make_set(&s, &r, 300, 0.3, 0);
    wn_calib_result res;
    wn_err e = {0};
    double t[3] = {0, 0.9, 0.8};
    CHECK(wn_calib_decide(&s, WN_CALMODE_PERCLASS, WN_CALIB_POINT, 0.95, t, WN_CALIB_PERCLASS_CAP,
                          &res, &e) == WN_OK);
    wn_calibration c;
    wn_calib_make_record(&s, &res, &c);
    free(c.source);
    c.source = wn_xstrdup("scores with ; comment.csv"); /* cannot be an inih value: left out */
    const char *path = wn_test_path(dir, "t.ini");
    CHECK(wn_calib_write_ini(path, &c, s.names, 0, &e) == WN_OK);
    ini_seen seen = {0};
    CHECK(ini_parse(path, on_ini, &seen) == 0);
    const char *v;
    CHECK((v = ini_get(&seen, "calibration", "mode")) && !strcmp(v, "per-class"));
    CHECK((v = ini_get(&seen, "calibration", "rule")) && !strcmp(v, "point"));
    CHECK((v = ini_get(&seen, "calibration", "divide_by_priors")) && !strcmp(v, "no"));
    CHECK((v = ini_get(&seen, "calibration", "classes")) && !strcmp(v, "3"));
    CHECK((v = ini_get(&seen, "calibration", "set_hash")) && !strcmp(v, s.set_hash));
    CHECK(ini_get(&seen, "calibration", "source") == NULL);
    CHECK((v = ini_get(&seen, "calibration", "pooled_threshold")) &&
          strtod(v, NULL) == (double)c.threshold[0] && strtof(v, NULL) == c.threshold[0]);
    CHECK((v = ini_get(&seen, "calibration", "recall")) && strtod(v, NULL) == c.recall);
    CHECK((v = ini_get(&seen, "calibration", "automation")) && strtod(v, NULL) == c.automation);
    for (int j = 0; j < 3; j++) {
        char sec[16];
        snprintf(sec, sizeof sec, "class%d", j);
        CHECK((v = ini_get(&seen, sec, "name")) && !strcmp(v, NAMES[j]));
        CHECK((v = ini_get(&seen, sec, "prior")) && (float)strtod(v, NULL) == c.priors[j]);
        if (j == 0) {
            CHECK(ini_get(&seen, sec, "threshold") == NULL);
            continue;
        }
        CHECK((v = ini_get(&seen, sec, "threshold")) && strtod(v, NULL) == (double)c.threshold[j]);
        CHECK((v = ini_get(&seen, sec, "target")) && strtod(v, NULL) == t[j]);
    }
    FILE *f = fopen(path, "r");
    char line[1024];
    int longest = 0;
    while (f && fgets(line, sizeof line, f)) longest = (int)fmax(longest, (double)strlen(line));
    if (f) fclose(f);
    CHECK_MSG(longest > 0 && longest < 200, "longest INI line %d bytes", longest);
    /* names that inih would not give back */
    char longname[200];
    memset(longname, 'x', 151);
    longname[151] = '\0';
    const char *bad[] = {"a;b", " lead", "trail ", "tab\there", "#x", longname, ""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *names[3] = {"ok", (char *)bad[i], "sandal"};
        CHECK(wn_calib_write_ini(wn_test_path(dir, "bad.ini"), &c, names, 0, &e) == WN_EINPUT &&
              strstr(e.msg, "cannot be written to the thresholds INI"));
    }
    FILE *gone = fopen(wn_test_path(dir, "bad.ini"), "r");
    CHECK(gone == NULL); /* nothing written */
    if (gone) fclose(gone);
    wn_calibration_free(&c);
    wn_calib_result_free(&res);
    wn_calib_set_free(&s);
}

typedef struct csv_rows {
    int n, nf, bad_width;
    int width;
    char cell[400][6][128];
} csv_rows;

static void on_csv_field(void *s, size_t len, void *u) {
    csv_rows *c = u;
    if (c->n < 400 && c->nf < 6) snprintf(c->cell[c->n][c->nf], 128, "%.*s", (int)len, (char *)s);
    c->nf++;
}

static void on_csv_row(int ch, void *u) {
    csv_rows *c = u;
    (void)ch;
    if (c->nf != c->width) c->bad_width++;
    c->n++;
    c->nf = 0;
}

static int read_csv(const char *path, int width, csv_rows *rows) {
    unsigned char *buf;
    size_t len;
    wn_err e = {0};
    memset(rows, 0, sizeof *rows);
    rows->width = width;
    if (wn_read_file(path, 1 << 24, &buf, &len, &e)) return -1;
    struct csv_parser p;
    csv_init(&p, CSV_STRICT | CSV_STRICT_FINI);
    int ok = csv_parse(&p, buf, len, on_csv_field, on_csv_row, rows) == len &&
             csv_fini(&p, on_csv_field, on_csv_row, rows) == 0;
    csv_free(&p);
    free(buf);
    return ok ? 0 : -1;
}

static const char *report_get(const csv_rows *c, const char *sec, const char *name, int col) {
    for (int i = 1; i < c->n && i < 400; i++)
        if (!strcmp(c->cell[i][0], sec) && !strcmp(c->cell[i][1], name)) return c->cell[i][col];
    return NULL;
}

static void test_csv_outputs(const char *dir) {
    wn_rng r;
    wn_rng_seed(&r, 7, 7);
    wn_calib_set s;
    make_set(&s, &r, 250, 0.4, 1);
    wn_calib_result res;
    wn_err e = {0};
    double t[3] = {0.9, 0, 0};
    CHECK(wn_calib_decide(&s, WN_CALMODE_POOLED, WN_CALIB_CERTIFIED, 0.9, t, 0, &res, &e) == WN_OK);
    wn_calibration c;
    wn_calib_make_record(&s, &res, &c);
    const char *rep = wn_test_path(dir, "r.csv"), *cur = wn_test_path(dir, "c.csv");
    CHECK(wn_calib_write_report(rep, &s, &res, &c, 0, &e) == WN_OK);
    CHECK(wn_calib_write_curve(cur, &res.pooled.curve, &e) == WN_OK);
    static csv_rows rows;
    CHECK(read_csv(rep, 6, &rows) == 0);
    CHECK_MSG(rows.bad_width == 0 && rows.n > 40, "report: %d rows, %d not 6 fields wide", rows.n,
              rows.bad_width);
    CHECK(!strcmp(rows.cell[0][0], "section") && !strcmp(rows.cell[0][5], "note"));
    const char *v;
    CHECK((v = report_get(&rows, "threshold", "pooled", 2)) &&
          strtod(v, NULL) == (double)c.threshold[0]);
    CHECK((v = report_get(&rows, "recall", "defects", 2)) && strtod(v, NULL) == c.recall);
    CHECK((v = report_get(&rows, "recall", "defects", 3)) && strtod(v, NULL) == res.recall_ci.lo);
    CHECK((v = report_get(&rows, "recall_lower", "defects", 2)) && strtod(v, NULL) == 0.9);
    CHECK((v = report_get(&rows, "automation", "photos", 2)) && strtod(v, NULL) == c.automation);
    CHECK((v = report_get(&rows, "passed", "photos", 2)) && atol(v) == res.passed);
    CHECK((v = report_get(&rows, "accuracy_after", "balanced", 2)) &&
          fabs(strtod(v, NULL) - wn_metric_balanced_accuracy(&res.after)) < 1e-15);
    CHECK((v = report_get(&rows, "threshold", "bag", 2)) && !strcmp(v, "inf"));
    CHECK((v = report_get(&rows, "at_target_threshold", "0.90", 2)) &&
          strtod(v, NULL) == (double)c.threshold[0]); /* the same rule, the same threshold */
    CHECK((v = report_get(&rows, "at_target_automation", "0.99", 5)) &&
          strstr(v, "cannot certify"));
    CHECK((v = report_get(&rows, "summary", "", 5)) && strstr(v, "auto-passes") &&
          strstr(v, "at least 90.0% with 90% confidence"));
    CHECK((v = report_get(&rows, "setting", "rule", 2)) && !strcmp(v, "certified"));

    CHECK(read_csv(cur, 6, &rows) == 0);
    const wn_calib_curve *cv = &res.pooled.curve;
    int ok = rows.bad_width == 0 && rows.n == cv->n_points + 1;
    for (long i = 0; ok && i < cv->n_points && i + 1 < 400; i++) {
        wn_calib_point p = wn_calib_curve_point(cv, i);
        ok = strtof(rows.cell[i + 1][0], NULL) == p.threshold && atol(rows.cell[i + 1][4]) == p.misses &&
             atol(rows.cell[i + 1][5]) == p.passed &&
             fabs(strtod(rows.cell[i + 1][1], NULL) - p.recall) < 1e-8;
    }
    CHECK_MSG(ok, "curve CSV differs from the curve (%d rows for %ld points)", rows.n,
              cv->n_points);
    CHECK(!strcmp(rows.cell[rows.n - 1][0], "inf"));
    wn_calibration_free(&c);
    wn_calib_result_free(&res);
    wn_calib_set_free(&s);
}

int main(void) {
    const char *dir = wn_test_tmpdir("test_calib_decide");
    test_moving();
    test_pooled_brute();
    test_perclass();
    test_refusals();
    test_record_and_apply();
    test_ini(dir);
    test_csv_outputs(dir);
    return wn_test_done();
}
