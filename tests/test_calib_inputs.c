/* test_calib_inputs.c - what the calibrate stage reads from the user: --target-recall and
 * --priors lists (values, defaults, every error), the set hash against an independent FNV-1a
 * and its published test vectors, the default output paths, and the scores CSV (a good file
 * read back exactly, and every bad file refused with the file, the line and the reason). */
#include <stdlib.h>
#include <string.h>

#include "wn_calibrate.h"
#include "wn_test.h"

static char *NAMES[3] = {"ok", "bag", "sandal"};

/* Parses and checks: returns 1 when rc and, on error, the message matches want. */
static int targets_case(const char *text, int per_class, int rc_want, const char *want,
                        double *t /* (3) */) {
    wn_err e = {0};
    for (int j = 0; j < 3; j++) t[j] = -1;
    int rc = wn_calib_parse_targets(text, per_class, 3, NAMES, t, &e);
    int ok = rc == rc_want && (!want || strstr(e.msg, want));
    CHECK_MSG(ok, "'%s' (per-class %d): rc %d, message '%s', want %d '%s'", text, per_class, rc,
              e.msg, rc_want, want ? want : "");
    return ok;
}

static void test_targets(void) {
    double t[3];
    targets_case("0.95", 0, WN_OK, NULL, t);
    CHECK(t[0] == 0.95 && t[1] == 0 && t[2] == 0);
    targets_case("1", 0, WN_OK, NULL, t);
    CHECK(t[0] == 1.0);
    targets_case("bag=0.99,sandal=0.9", 1, WN_OK, NULL, t);
    CHECK(t[0] == 0 && t[1] == 0.99 && t[2] == 0.9);
    targets_case(" sandal = 0.8 , 0.9 ", 1, WN_OK, NULL, t);
    CHECK(t[0] == 0 && t[1] == 0.9 && t[2] == 0.8);
    targets_case("0.97", 1, WN_OK, NULL, t);
    CHECK(t[1] == 0.97 && t[2] == 0.97);

    targets_case("1.5", 0, WN_EINPUT, "--target-recall '1.5': target recall 1.5 is outside (0, 1]", t);
    targets_case("0", 0, WN_EINPUT, "outside (0, 1]", t);
    targets_case("-0.2", 1, WN_EINPUT, "outside (0, 1]", t);
    targets_case("bag=1.01", 1, WN_EINPUT, "target recall 1.01 is outside (0, 1]", t);
    targets_case("abc", 0, WN_EINPUT, "'abc' is not a number", t);
    targets_case("nan", 0, WN_EINPUT, "is not a number", t);
    targets_case("0.9x", 0, WN_EINPUT, "is not a number", t);
    targets_case("", 0, WN_EINPUT, "empty value", t);
    targets_case("0.9,", 0, WN_EINPUT, "an item has no value", t);
    targets_case("=0.9", 1, WN_EINPUT, "no class name", t);
    targets_case("bag=0.9", 0, WN_EINPUT, "need --per-class", t);
    targets_case("weld=0.9,0.8", 1, WN_EINPUT, "no defect class 'weld' (the defect classes: bag, sandal)", t);
    targets_case("ok=0.9,0.8", 1, WN_EINPUT, "'ok' is the ok class", t);
    targets_case("bag=0.9", 1, WN_EINPUT, "no target for defect class 'sandal'", t);
    targets_case("bag=0.9,bag=0.8,0.9", 1, WN_EINPUT, "class 'bag' is given twice", t);
    targets_case("0.9,0.8", 1, WN_EINPUT, "more than one value without a class name", t);

    /* syntax and ranges only, before the class names are known */
    wn_err e = {0};
    CHECK(wn_calib_parse_targets("weld=0.9", 1, 0, NULL, NULL, &e) == WN_OK);
    CHECK(wn_calib_parse_targets("weld=1.9", 1, 0, NULL, NULL, &e) == WN_EINPUT &&
          strstr(e.msg, "outside (0, 1]"));
    CHECK(wn_calib_parse_targets("weld=0.9", 0, 0, NULL, NULL, &e) == WN_EINPUT &&
          strstr(e.msg, "--per-class"));
}

static void test_priors(void) {
    wn_err e = {0};
    float p[3];
    CHECK(wn_calib_parse_priors("ok=8,bag=1,sandal=1", 3, NAMES, p, &e) == WN_OK);
    CHECK_CLOSE(p[0], 0.8, 1e-7, 0);
    CHECK_CLOSE(p[1], 0.1, 1e-7, 0);
    CHECK_CLOSE(p[2], 0.1, 1e-7, 0);
    CHECK(wn_calib_parse_priors("sandal=0,ok=1,bag=1", 3, NAMES, p, &e) == WN_OK && p[2] == 0 &&
          p[0] == 0.5f);
    const struct {
        const char *text, *want;
    } bad[] = {
        {"ok=0.8,bag=0.2", "no prior for class 'sandal'"},
        {"ok=0.8,bag=0.1,weld=0.1", "no class 'weld' (the classes: ok, bag, sandal)"},
        {"ok=0.8,bag=-0.1,sandal=0.1", "prior -0.1 of 'bag' must be finite and >= 0"},
        {"ok=0,bag=0,sandal=0", "every prior is zero"},
        {"0.8,bag=0.1,sandal=0.1", "every item must be NAME=P"},
        {"ok=x,bag=0.1,sandal=0.1", "'x' is not a number"},
        {"ok=inf,bag=0.1,sandal=0.1", "must be finite"},
        {"ok=1,ok=1,bag=0.1,sandal=0.1", "class 'ok' is given twice"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = wn_calib_parse_priors(bad[i].text, 3, NAMES, p, &e);
        CHECK_MSG(rc == WN_EINPUT && strstr(e.msg, "--priors") && strstr(e.msg, bad[i].want),
                  "'%s': %s", bad[i].text, e.msg);
    }
}

/* FNV-1a 64 over one string, written independently of calib_hash.c. */
static unsigned long long fnv(const char *s, size_t n) {
    unsigned long long h = 14695981039346656037ull;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ull;
    }
    return h;
}

static void test_hash(void) {
    char out[17], want[17];
    char *one[1] = {"a"};
    wn_calib_hash_paths(one, 1, NULL, out);
    CHECK_MSG(!strcmp(out, "af63dc4c8601ec8c"), "FNV-1a(\"a\") = %s", out); /* published vector */
    wn_calib_hash_paths(one, 0, NULL, out);
    CHECK(!strcmp(out, "cbf29ce484222325")); /* the empty list: the offset basis */
    char *foobar[1] = {"foobar"};
    wn_calib_hash_paths(foobar, 1, NULL, out);
    CHECK(!strcmp(out, "85944171f73967e8"));

    char *paths[3] = {"calib/sandal/b.png", "calib/ok/x.png", "calib/bag/c d.png"};
    const char joined[] = "bag/c d.png\nok/x.png\nsandal/b.png";
    snprintf(want, sizeof want, "%016llx", fnv(joined, strlen(joined)));
    wn_calib_hash_paths(paths, 3, "calib", out);
    CHECK_MSG(!strcmp(out, want), "%s vs %s", out, want);
    wn_calib_hash_paths(paths, 3, "calib/", out);
    CHECK(!strcmp(out, want));
    char *moved[3] = {"/data/sets/calib/ok/x.png", "/data/sets/calib/bag/c d.png",
                      "/data/sets/calib/sandal/b.png"};
    wn_calib_hash_paths(moved, 3, "/data/sets/calib", out);
    CHECK_MSG(!strcmp(out, want), "the hash does not depend on where the set lies");
    wn_calib_hash_paths(paths, 3, NULL, out);
    CHECK(strcmp(out, want) != 0);
    char *other[3] = {"calib/sandal/b.png", "calib/ok/y.png", "calib/bag/c d.png"};
    wn_calib_hash_paths(other, 3, "calib", out);
    CHECK(strcmp(out, want) != 0);
    char *prefix[1] = {"calibration/ok/x.png"}; /* "calib" is not a folder prefix of it */
    wn_calib_hash_paths(prefix, 1, "calib", out);
    snprintf(want, sizeof want, "%016llx", fnv(prefix[0], strlen(prefix[0])));
    CHECK(!strcmp(out, want));
}

static void test_paths(void) {
    char c[256], p[256], r[256];
    wn_calib_paths("out/cal.wnet", NULL, NULL, NULL, c, p, r, sizeof c);
    CHECK(!strcmp(c, "out/cal.curve.csv") && !strcmp(p, "out/cal.curve.png") &&
          !strcmp(r, "out/cal.report.csv"));
    wn_calib_paths("dir.v2/thresholds", NULL, NULL, NULL, c, p, r, sizeof c);
    CHECK(!strcmp(c, "dir.v2/thresholds.curve.csv"));
    wn_calib_paths(".cal", NULL, NULL, NULL, c, p, r, sizeof c);
    CHECK(!strcmp(c, ".cal.curve.csv"));
    wn_calib_paths("a/t.ini", "x.csv", "y.png", "z.csv", c, p, r, sizeof c);
    CHECK(!strcmp(c, "x.csv") && !strcmp(p, "y.png") && !strcmp(r, "z.csv"));
}

/* Writes text to dir/name and reads it as scores; returns the status, message in e. */
static int read_text(const char *dir, const char *name, const char *text, wn_calib_set *s,
                     wn_err *e) {
    const char *path = wn_test_path(dir, name);
    CHECK(wn_test_write_file(path, text, strlen(text)) == 0);
    return wn_calib_read_scores(path, NULL, 1e-3, s, e);
}

static void test_scores_good(const char *dir) {
    wn_calib_set s;
    wn_err e = {0};
    const char *text = "\xEF\xBB\xBFPath,bag,\"ok\",label,sandal\r\n"
                       "img/1.png,0.25,0.5,bag,0.25\r\n"
                       "\"img/with,comma.png\",0,1,ok,0\r\n"
                       "\n"
                       "img/3.png,0.1,0.2,sandal,0.7004\r\n";
    int rc = read_text(dir, "good.csv", text, &s, &e);
    CHECK_MSG(rc == WN_OK, "%s", e.msg);
    if (rc) return;
    CHECK(s.k == 3 && s.n == 3 && !s.has_priors);
    CHECK(!strcmp(s.names[0], "ok") && !strcmp(s.names[1], "bag") && !strcmp(s.names[2], "sandal"));
    CHECK(s.labels[0] == 1 && s.labels[1] == 0 && s.labels[2] == 2);
    CHECK(s.probs[0] == 0.5f && s.probs[1] == 0.25f && s.probs[2] == 0.25f);
    CHECK(s.probs[3] == 1.0f && s.probs[4] == 0.0f);
    CHECK(s.probs[6] == 0.2f && s.probs[8] == 0.7004f);
    CHECK(s.priors[0] == 1.0f / 3.0f && strstr(s.source, "good.csv"));
    const char joined[] = "img/1.png\nimg/3.png\nimg/with,comma.png";
    char want[17];
    snprintf(want, sizeof want, "%016llx", fnv(joined, strlen(joined)));
    CHECK_MSG(!strcmp(s.set_hash, want), "%s vs %s", s.set_hash, want);
    wn_calib_set_free(&s);

    /* another ok column */
    const char *p2 = wn_test_path(dir, "okclass.csv");
    const char *t2 = "path,label,fine,crack\na.png,crack,0.1,0.9\nb.png,fine,1,0\n";
    CHECK(wn_test_write_file(p2, t2, strlen(t2)) == 0);
    CHECK(wn_calib_read_scores(p2, NULL, 1e-3, &s, &e) == WN_EINPUT &&
          strstr(e.msg, "no probability column for the ok class 'ok'") &&
          strstr(e.msg, "found: path, label, fine, crack"));
    wn_calib_set_free(&s);
    CHECK(wn_calib_read_scores(p2, "fine", 1e-3, &s, &e) == WN_OK && s.k == 2 &&
          !strcmp(s.names[0], "fine") && s.labels[0] == 1 && s.probs[1] == 0.9f);
    wn_calib_set_free(&s);
}

static void test_scores_bad(const char *dir) {
    const char *hdr = "path,label,ok,bag,sandal\n";
    const struct {
        const char *body, *want;
        int header; /* prepend hdr */
    } bad[] = {
        {"path,ok,bag\na.png,0.5,0.5\n", "line 1: the header has no 'label' column (it needs path, "
                                          "label and one probability column per class; found: "
                                          "path, ok, bag)", 0},
        {"file,label,ok,bag\n", "line 1: the header has no 'path' column", 0},
        {"path,label,ok\na.png,ok,1\n", "line 1: the header has no probability column for a defect class", 0},
        {"path,label,ok,bag,ok\n", "line 1: the header names column 'ok' twice", 0},
        {"path,label,ok,,bag\n", "line 1: column 4 of the header is empty", 0},
        {"a.png,bag,0.5,0.5\n", "line 2: row has 4 fields, the header has 5", 1},
        {"a.png,bag,0.5,0.5,0,0\n", "line 2: row has 6 fields, the header has 5", 1},
        {"a.png,ok,1,0,0\nb.png,bag,0.2,NaN,0.8\n", "line 3: probability of class 'bag' is NaN", 1},
        {"a.png,ok,1,0,0\nb.png,bag,0.2,nan,0.8\n", "line 3: probability of class 'bag' is NaN", 1},
        {"a.png,bag,0.2,0.x,0.8\n", "line 2: probability of class 'bag' is '0.x', not a number", 1},
        {"a.png,bag,0.2,,0.8\n", "line 2: probability of class 'bag' is empty", 1},
        {"a.png,bag,-0.2,0.4,0.8\n", "line 2: probability of class 'ok' is -0.2, outside [0, 1]", 1},
        {"a.png,bag,0,1.5,0\n", "outside [0, 1]", 1},
        {"a.png,bag,0.2,0.5,0.23\n", "line 2: probabilities sum to 0.93, not 1 (tolerance 0.001", 1},
        {"a.png,bag,0.5,0.5,0.0011\n", "probabilities sum to 1.0011, not 1", 1},
        {"a.png,weld,1,0,0\n", "line 2: label 'weld' has no probability column", 1},
        {"a.png,,1,0,0\n", "line 2: empty label", 1},
        {",ok,1,0,0\n", "line 2: empty path", 1},
        {"a.png,ok,1,0,0\nb.png,ok,1,0,0\n\na.png,bag,0,1,0\n", "line 5: photo 'a.png' is already listed on line 2", 1},
        {"\"a.png,ok,1,0,0\n", "a quoted field is not closed", 1},
        {"", "the scores file has no rows", 1},
        {"", "empty scores file", 0},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char text[512], name[32];
        snprintf(text, sizeof text, "%s%s", bad[i].header ? hdr : "", bad[i].body);
        snprintf(name, sizeof name, "bad%zu.csv", i);
        wn_calib_set s;
        wn_err e = {0};
        int rc = read_text(dir, name, text, &s, &e);
        CHECK_MSG(rc == WN_EINPUT && strstr(e.msg, name) && strstr(e.msg, bad[i].want),
                  "case %zu: rc %d: %s (want '%s')", i, rc, e.msg, bad[i].want);
        CHECK(s.probs == NULL && s.names == NULL);
        wn_calib_set_free(&s);
    }
    wn_calib_set s;
    wn_err e = {0};
    CHECK(wn_calib_read_scores(wn_test_path(dir, "missing.csv"), NULL, 1e-3, &s, &e) ==
              WN_EINPUT &&
          strstr(e.msg, "missing.csv"));
    /* the tolerance is the user's: a looser one accepts the 0.93 row */
    const char *p = wn_test_path(dir, "loose.csv");
    const char *t = "path,label,ok,bag\na.png,bag,0.43,0.5\n";
    CHECK(wn_test_write_file(p, t, strlen(t)) == 0);
    CHECK(wn_calib_read_scores(p, NULL, 0.1, &s, &e) == WN_OK && s.n == 1);
    wn_calib_set_free(&s);
}

int main(void) {
    const char *dir = wn_test_tmpdir("test_calib_inputs");
    test_targets();
    test_priors();
    test_hash();
    test_paths();
    test_scores_good(dir);
    test_scores_bad(dir);
    return wn_test_done();
}
