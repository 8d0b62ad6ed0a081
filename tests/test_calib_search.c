/* test_calib_search.c - the calibration searches against brute force: the pooled curve and choice
 * against trying every candidate threshold by direct counting (random and adversarial score sets),
 * the radix sort against qsort, the point rule's floating-point robustness, threshold-moving
 * against a hand computation, bad input messages, per-class thresholds against exhaustive search
 * on tiny sets, and the summary text. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "wn_calib.h"
#include "wn_rng.h"
#include "wn_test.h"

/* ---------------------------------------------------------------- brute-force references */

static int cmp_float(const void *a, const void *b) {
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

/* Distinct scores ascending then +inf into cand (N+1); returns the count P. */
static long candidates(const float *v /* (N) */, long n, float *cand /* (N+1) */) {
    float *tmp = malloc(sizeof *tmp * (size_t)(n ? n : 1)); /* (N) */
    memcpy(tmp, v, sizeof *tmp * (size_t)n);
    qsort(tmp, (size_t)n, sizeof *tmp, cmp_float);
    long p = 0;
    for (long i = 0; i < n; i++)
        if (i == 0 || tmp[i] != tmp[i - 1]) cand[p++] = tmp[i];
    cand[p++] = INFINITY;
    free(tmp);
    return p;
}

/* Every candidate threshold, counted directly. Returns P; passed, misses (N+1). */
static long brute_pooled(const float *s /* (N) */, const int *y /* (N) */, long n,
                         float *cand /* (N+1) */, long *passed /* (N+1) */,
                         long *misses /* (N+1) */) {
    long p = candidates(s, n, cand);
    for (long c = 0; c < p; c++) {
        passed[c] = misses[c] = 0;
        for (long i = 0; i < n; i++)
            if (s[i] < cand[c]) {
                passed[c]++;
                misses[c] += y[i] != 0;
            }
    }
    return p;
}

/* Checks the curve and the choice for every budget against brute force; returns 1 when equal. */
static int check_pooled_case(const float *s /* (N) */, const int *y /* (N) */, long n,
                             const char *what) {
    wn_err e = {0};
    wn_calib_curve c;
    int rc = wn_calib_curve_build(&c, s, y, n, 3, &e);
    CHECK_MSG(rc == WN_OK, "%s: %s", what, e.msg);
    if (rc) return 0;
    float *cand = malloc(sizeof *cand * (size_t)(n + 1));    /* (N+1) */
    long *passed = malloc(sizeof *passed * (size_t)(n + 1)); /* (N+1) */
    long *misses = malloc(sizeof *misses * (size_t)(n + 1)); /* (N+1) */
    long p = brute_pooled(s, y, n, cand, passed, misses);
    long n_def = 0;
    for (long i = 0; i < n; i++) n_def += y[i] != 0;
    int ok = c.n_points == p && c.n == n && c.n_defect == n_def;
    for (long i = 0; ok && i < p; i++) {
        ok = c.threshold[i] == cand[i] && c.passed[i] == passed[i] && c.misses[i] == misses[i];
        wn_calib_point pt = wn_calib_curve_point(&c, i);
        double rec = (double)(n_def - misses[i]) / (double)n_def,
               aut = (double)passed[i] / (double)n;
        double prec =
            n - passed[i] > 0 ? (double)(n_def - misses[i]) / (double)(n - passed[i]) : 1.0;
        ok = ok && fabs(pt.recall - rec) < 1e-12 && fabs(pt.automation - aut) < 1e-12 &&
             fabs(pt.precision - prec) < 1e-12;
        /* the point's decision threshold lies in (previous score, this score] and passes
         * exactly the photos the point counts */
        ok = ok && (i == 0 ? pt.threshold == cand[0]
                           : pt.threshold > cand[i - 1] && pt.threshold <= cand[i]);
        long below = 0;
        for (long q = 0; q < n; q++) below += s[q] < pt.threshold;
        ok = ok && below == passed[i];
    }
    CHECK_MSG(ok, "%s: curve differs from brute force (n = %ld, %ld vs %ld points)", what, n,
              c.n_points, p);
    for (long k = 0; ok && k <= n_def; k++) {
        long idx = wn_calib_curve_choose(&c, k), best = -1;
        for (long i = 0; i < p; i++)
            if (misses[i] <= k && (best < 0 || passed[i] > passed[best])) best = i;
        ok = c.misses[idx] <= k && c.passed[idx] == passed[best];
        CHECK_MSG(ok, "%s: budget %ld: chose %ld passed, brute force %ld", what, k, c.passed[idx],
                  passed[best]);
    }
    free(cand);
    free(passed);
    free(misses);
    wn_calib_curve_free(&c);
    return ok;
}

/* ------------------------------------------------------------------------ pooled search */

static void test_sort(void) {
    wn_rng r;
    wn_rng_seed(&r, 11, 1);
    const long n = 100000;
    float *f = malloc(sizeof *f * n);                                    /* (N) */
    uint32_t *k = malloc(sizeof *k * n), *tmp = malloc(sizeof *tmp * n); /* (N), (N) */
    for (long i = 0; i < n; i++) {
        uint32_t u = wn_rng_u32(&r);
        switch (i % 5) {
        case 0:
            f[i] = wn_rng_uniform(&r);
            break;
        case 1:
            f[i] = (wn_rng_uniform(&r) - 0.5f) * 1e6f;
            break;
        case 2:
            f[i] = (u & 1) ? -0.0f : 0.0f;
            break;
        case 3:
            f[i] = (float)(u % 7) * 0.125f - 0.25f;
            break;
        default:
            memcpy(&f[i], &u, sizeof u);
            if (!isfinite(f[i])) f[i] = 1e-40f; /* denormals too */
        }
        k[i] = wn_calib_float_key(f[i]);
    }
    const uint32_t *sorted = wn_calib_sort_keys(k, tmp, n);
    qsort(f, (size_t)n, sizeof *f, cmp_float);
    int ok = 1;
    for (long i = 0; i < n; i++) ok &= wn_calib_key_float(sorted[i]) == f[i];
    CHECK_MSG(ok, "radix sort of keys disagrees with qsort");
    CHECK(wn_calib_float_key(-0.0f) == wn_calib_float_key(0.0f));
    CHECK(wn_calib_float_key(-1.0f) < wn_calib_float_key(-0.5f));
    CHECK(wn_calib_float_key(1e-45f) > wn_calib_float_key(0.0f));

    uint64_t *it = malloc(sizeof *it * n), *it2 = malloc(sizeof *it2 * n); /* (N), (N) */
    for (long i = 0; i < n; i++) it[i] = (uint64_t)(wn_rng_u32(&r) % 1000u) << 32 | (uint64_t)i;
    const uint64_t *si = wn_calib_sort_items(it, it2, n);
    ok = 1;
    for (long i = 1; i < n; i++) /* keys ascending, stable: payload ascending within a key */
        ok &= (si[i - 1] >> 32) < (si[i] >> 32) || si[i - 1] < si[i];
    CHECK_MSG(ok, "radix sort of items is not sorted and stable");
    free(f);
    free(k);
    free(tmp);
    free(it);
    free(it2);
}

static void test_pooled_random(void) {
    wn_rng r;
    wn_rng_seed(&r, 2024, 7);
    int cases = 0, good = 0;
    for (int t = 0; t < 600; t++) {
        long n = 1 + (long)wn_rng_below(&r, 250);
        float *s = malloc(sizeof *s * (size_t)n); /* (N) */
        int *y = malloc(sizeof *y * (size_t)n);   /* (N) */
        int mode = t % 4;
        double pdef = 0.05 + 0.9 * wn_rng_uniform(&r);
        for (long i = 0; i < n; i++) {
            y[i] = wn_rng_uniform(&r) < pdef ? 1 + (int)wn_rng_below(&r, 2) : 0;
            float u = wn_rng_uniform(&r);
            if (mode == 0) s[i] = u;                                 /* continuous */
            if (mode == 1) s[i] = floorf(u * 10.0f) / 10.0f;         /* 10 levels: ties */
            if (mode == 2) s[i] = floorf(u * 3.0f) / 2.0f;           /* {0, 0.5, 1}: heavy ties */
            if (mode == 3) s[i] = y[i] ? 0.3f + 0.7f * u : 0.7f * u; /* separable-ish */
        }
        y[wn_rng_below(&r, (uint32_t)n)] = 1; /* at least one defect */
        cases++;
        good += check_pooled_case(s, y, n, "random");
        free(s);
        free(y);
    }
    CHECK(good == cases);
    printf("pooled search: %d/%d random sets equal brute force\n", good, cases);
}

static void test_pooled_adversarial(void) {
    { /* all scores equal */
        float s[8] = {0.4f, 0.4f, 0.4f, 0.4f, 0.4f, 0.4f, 0.4f, 0.4f};
        int y[8] = {0, 1, 0, 0, 2, 0, 0, 0};
        check_pooled_case(s, y, 8, "all equal");
        wn_calib_curve c;
        wn_err e = {0};
        CHECK(wn_calib_curve_build(&c, s, y, 8, 3, &e) == WN_OK);
        CHECK(c.n_points == 2 && c.passed[0] == 0 && c.passed[1] == 8 && isinf(c.threshold[1]));
        CHECK(wn_calib_curve_choose(&c, 1) == 0); /* passing the tie group would miss 2 */
        CHECK(wn_calib_curve_choose(&c, 2) == 1);
        wn_calib_curve_free(&c);
    }
    { /* heavy ties with defects inside the tie groups */
        float s[12] = {0.1f, 0.1f, 0.1f, 0.2f, 0.2f, 0.2f, 0.2f, 0.3f, 0.3f, 0.9f, 0.9f, 0.9f};
        int y[12] = {0, 0, 1, 0, 0, 0, 0, 0, 1, 1, 0, 1};
        check_pooled_case(s, y, 12, "heavy ties");
        wn_calib_curve c;
        wn_err e = {0};
        CHECK(wn_calib_curve_build(&c, s, y, 12, 2, &e) == WN_OK);
        long i = wn_calib_curve_choose(&c, 0); /* nothing: the lowest group holds a defect */
        CHECK(c.passed[i] == 0 && c.threshold[i] == 0.1f);
        i = wn_calib_curve_choose(&c, 1);
        CHECK(c.passed[i] == 7 && c.threshold[i] == 0.3f && c.misses[i] == 1);
        wn_calib_curve_free(&c);
    }
    { /* a single defect, at the top, the bottom, and tied with ok photos */
        float s[5] = {0.2f, 0.5f, 0.5f, 0.7f, 0.9f};
        int y[5] = {0, 0, 0, 0, 1};
        check_pooled_case(s, y, 5, "single defect top");
        y[4] = 0;
        y[0] = 1;
        check_pooled_case(s, y, 5, "single defect bottom");
        y[0] = 0;
        y[2] = 1;
        check_pooled_case(s, y, 5, "single defect tied");
        float one = 0.5f;
        int d = 1;
        check_pooled_case(&one, &d, 1, "one photo, a defect");
    }
    { /* no ok photos */
        float s[4] = {0.3f, 0.1f, 0.3f, 0.8f};
        int y[4] = {1, 2, 1, 1};
        check_pooled_case(s, y, 4, "no ok photos");
    }
    { /* every defect below every ok photo, and the reverse */
        float s[6] = {0.01f, 0.02f, 0.03f, 0.5f, 0.6f, 0.7f};
        int y[6] = {1, 1, 1, 0, 0, 0};
        check_pooled_case(s, y, 6, "defects lowest");
        wn_calib_curve c;
        wn_err e = {0};
        CHECK(wn_calib_curve_build(&c, s, y, 6, 2, &e) == WN_OK);
        CHECK(c.passed[wn_calib_curve_choose(&c, 0)] == 0);
        wn_calib_curve_free(&c);
        int y2[6] = {0, 0, 0, 1, 1, 1};
        check_pooled_case(s, y2, 6, "defects highest");
        CHECK(wn_calib_curve_build(&c, s, y2, 6, 2, &e) == WN_OK);
        long i = wn_calib_curve_choose(&c, 0);
        CHECK(c.passed[i] == 3 && c.threshold[i] == 0.5f);
        wn_calib_curve_free(&c);
    }
    { /* exactly 0 and 1, and -0.0 tied with +0.0 */
        float s[7] = {0.0f, 1.0f, -0.0f, 1.0f, 0.0f, 0.5f, 1.0f};
        int y[7] = {0, 1, 0, 0, 1, 0, 1};
        check_pooled_case(s, y, 7, "zeros and ones");
        wn_calib_curve c;
        wn_err e = {0};
        CHECK(wn_calib_curve_build(&c, s, y, 7, 2, &e) == WN_OK);
        CHECK(c.n_points == 4 && c.threshold[1] == 0.5f && c.passed[1] == 3 && c.misses[1] == 1);
        wn_calib_curve_free(&c);
    }
}

static int cmp_pair(const void *a, const void *b) {
    const float *x = a, *y = b;
    return (x[0] > y[0]) - (x[0] < y[0]);
}

static void test_pooled_large(void) { /* the radix path on many ties, against a qsort walk */
    const long n = 300000;
    float *s = malloc(sizeof *s * n), *pair = malloc(sizeof *pair * 2 * n); /* (N), (N, 2) */
    int *y = malloc(sizeof *y * n);                                         /* (N) */
    wn_rng r;
    wn_rng_seed(&r, 5, 5);
    for (long i = 0; i < n; i++) {
        s[i] = (float)wn_rng_below(&r, 50000) / 50000.0f;
        y[i] = wn_rng_uniform(&r) < 0.02f;
        pair[2 * i] = s[i];
        pair[2 * i + 1] = (float)y[i];
    }
    qsort(pair, (size_t)n, 2 * sizeof(float), cmp_pair);
    wn_calib_curve c;
    wn_err e = {0};
    CHECK(wn_calib_curve_build(&c, s, y, n, 2, &e) == WN_OK);
    long p = 0, passed = 0, misses = 0;
    int ok = 1;
    for (long i = 0; i < n && ok; p++) {
        ok = c.threshold[p] == pair[2 * i] && c.passed[p] == passed && c.misses[p] == misses;
        float v = pair[2 * i];
        while (i < n && pair[2 * i] == v) {
            passed++;
            misses += pair[2 * i + 1] != 0.0f;
            i++;
        }
    }
    ok = ok && c.n_points == p + 1 && c.passed[p] == n && c.misses[p] == misses;
    CHECK_MSG(ok, "large curve differs from the qsort walk at point %ld", p);
    wn_calib_curve_free(&c);
    free(s);
    free(pair);
    free(y);
}

static void test_point_rule(void) {
    CHECK(wn_calib_point_allowed(20, 0.95) == 1);
    CHECK(wn_calib_point_allowed(10, 0.9) == 1);
    CHECK(wn_calib_point_allowed(100, 0.99) == 1);
    CHECK(wn_calib_point_allowed(19, 0.95) == 0);
    CHECK(wn_calib_point_allowed(3, 1.0) == 0);
    CHECK(wn_calib_point_allowed(1000, 0.999) == 1);
    CHECK(wn_calib_point_allowed(412, 0.95) == 20);
    int bad = 0;
    for (long den = 100; den <= 1000; den *= 10)
        for (long m = 1; m <= den; m++)
            for (long n = 1; n <= 400; n++) {
                long need = (m * n + den - 1) / den; /* exact ceil(target n) in integers */
                bad += wn_calib_point_allowed(n, (double)m / (double)den) != n - need;
            }
    CHECK_MSG(bad == 0, "%d point-rule budgets differ from exact integer arithmetic", bad);
}

static void test_bad_input(void) {
    wn_err e = {0};
    wn_calib_curve c;
    float s[4] = {0.1f, NAN, 0.3f, 0.4f};
    int y[4] = {0, 1, 0, 1};
    CHECK(wn_calib_curve_build(&c, s, y, 4, 2, &e) == WN_EINPUT &&
          strcmp(e.msg, "score of photo 1 is NaN") == 0);
    s[1] = INFINITY;
    CHECK(wn_calib_curve_build(&c, s, y, 4, 2, &e) == WN_EINPUT &&
          strstr(e.msg, "photo 1 is infinite"));
    s[1] = 0.2f;
    y[3] = 5;
    CHECK(wn_calib_curve_build(&c, s, y, 4, 2, &e) == WN_EINPUT &&
          strstr(e.msg, "label of photo 3 is 5: labels must be 0 (ok) to 1"));
    y[3] = -1;
    CHECK(wn_calib_curve_build(&c, s, y, 4, 2, &e) == WN_EINPUT && strstr(e.msg, "photo 3 is -1"));
    int none[4] = {0, 0, 0, 0};
    CHECK(wn_calib_curve_build(&c, s, none, 4, 2, &e) == WN_EINPUT &&
          strstr(e.msg, "no defect photos"));
    CHECK(wn_calib_curve_build(&c, s, none, 0, 2, &e) == WN_EINPUT && strstr(e.msg, "empty"));
    CHECK(c.threshold == NULL);
    wn_calib_curve_free(&c);

    y[3] = 1;
    wn_calib_pooled r;
    const double bad_t[] = {0.0, -0.1, 1.5, NAN};
    for (int i = 0; i < 4; i++) {
        CHECK(wn_calib_pooled_run(&r, s, y, 4, 2, bad_t[i], 0.95, WN_CALIB_POINT, &e) ==
                  WN_EINPUT &&
              strstr(e.msg, "target recall") && strstr(e.msg, "outside (0, 1]"));
        wn_calib_pooled_free(&r);
    }
    const double bad_c[] = {0.0, 1.0, NAN};
    for (int i = 0; i < 3; i++) {
        CHECK(wn_calib_pooled_run(&r, s, y, 4, 2, 0.95, bad_c[i], WN_CALIB_CERTIFIED, &e) ==
                  WN_EINPUT &&
              strstr(e.msg, "confidence") && strstr(e.msg, "outside (0, 1)"));
        wn_calib_pooled_free(&r);
    }
    CHECK(wn_calib_pooled_run(&r, s, y, 4, 2, 1.0, 0.95, WN_CALIB_POINT, &e) == WN_OK);
    CHECK(r.chosen == 1 && r.point.recall == 1.0 && r.point.passed == 1);
    wn_calib_pooled_free(&r);
    /* certified with 2 defect photos: refused with the number needed, curve kept */
    CHECK(wn_calib_pooled_run(&r, s, y, 4, 2, 0.95, 0.95, WN_CALIB_CERTIFIED, &e) == WN_EINPUT);
    CHECK(strstr(e.msg, "cannot certify") && strstr(e.msg, "from 2 defect photos") &&
          strstr(e.msg, "at least 59"));
    CHECK(r.chosen == -1 && !r.budget.certifiable && r.budget.n_needed == 59 &&
          r.curve.n_points == 5);
    wn_calib_pooled_free(&r);

    float probs[6] = {0.5f, 0.25f, 0.25f, 0.5f, 0.3f, 0.1f};
    CHECK(wn_calib_check_probs(probs, 2, 3, 1e-3, &e) == WN_EINPUT &&
          strstr(e.msg, "probabilities of photo 1 sum to 0.9, not 1"));
    probs[4] = NAN;
    CHECK(wn_calib_check_probs(probs, 2, 3, 1e-3, &e) == WN_EINPUT &&
          strstr(e.msg, "class 1 for photo 1 is NaN"));
    probs[4] = -0.1f;
    CHECK(wn_calib_check_probs(probs, 2, 3, 1e-3, &e) == WN_EINPUT &&
          strstr(e.msg, "outside [0, 1]"));
    probs[4] = 0.4f;
    CHECK(wn_calib_check_probs(probs, 2, 3, 1e-3, &e) == WN_OK);
    CHECK(wn_calib_check_scores(s, 4, &e) == WN_OK);
}

static void test_pooled_run(void) {
    /* 100 defects at 0.01..1.00 (recall of t is known), 400 ok photos below 0.5 */
    const long n = 500;
    float s[500]; /* (N) */
    int y[500];   /* (N) */
    for (long i = 0; i < 100; i++) {
        s[i] = (float)(i + 1) / 100.0f;
        y[i] = 1;
    }
    for (long i = 100; i < n; i++) {
        s[i] = (float)(i - 100) / 800.0f;
        y[i] = 0;
    }
    wn_calib_pooled r;
    wn_err e = {0};
    CHECK(wn_calib_pooled_run(&r, s, y, n, 2, 0.95, 0.95, WN_CALIB_POINT, &e) == WN_OK);
    /* the decision threshold lies between the chosen score and the next lower one */
    CHECK(r.budget.allowed == 5 && r.point.misses == 5 &&
          r.point.threshold == wn_calib_between(47.0f / 800.0f, 0.06f));
    CHECK(r.point.threshold > 47.0f / 800.0f && r.point.threshold < 0.06f);
    CHECK(r.recall_ci.lo < 0.95 && r.recall_ci.hi > 0.95);
    CHECK(r.automation_ci.lo < r.point.automation && r.automation_ci.hi > r.point.automation);
    wn_calib_pooled_free(&r);
    CHECK(wn_calib_pooled_run(&r, s, y, n, 2, 0.95, 0.95, WN_CALIB_CERTIFIED, &e) == WN_OK);
    CHECK(r.budget.allowed == 1 && r.point.misses == 1 &&
          r.point.threshold == wn_calib_between(15.0f / 800.0f, 0.02f));
    CHECK(r.point.passed == 1 + 16); /* the defect at 0.01 and ok photos 0/800 .. 15/800 */
    char buf[512];
    size_t len = wn_calib_summary(buf, sizeof buf, &r);
    CHECK(len == strlen(buf));
    CHECK_MSG(strcmp(buf, "threshold 0.0194: catches 99.0% of defects (at least 95.0% with 95% "
                          "confidence, n = 100); auto-passes 3.4% of photos") == 0,
              "%s", buf);
    char small[16];
    CHECK(wn_calib_summary(small, sizeof small, &r) == len && strlen(small) == 15);
    len = wn_calib_summary_targets(buf, sizeof buf, &r.curve, 0.95, WN_CALIB_CERTIFIED);
    CHECK_MSG(strstr(buf, "target 90.0%: threshold") &&
                  strstr(buf, "target 95.0%: threshold 0.0194, "
                              "automation 3.4%\n") &&
                  strstr(buf, "target 98.0%: cannot certify with 100 defect photos (needs 149)") &&
                  strstr(buf, "target 99.0%: cannot certify with 100 defect photos (needs 299)"),
              "%s", buf);
    wn_calib_pooled_free(&r);
    CHECK(wn_calib_pooled_run(&r, s, y, n, 2, 0.9, 0.95, WN_CALIB_POINT, &e) == WN_OK);
    wn_calib_summary(buf, sizeof buf, &r);
    CHECK_MSG(strstr(buf, "threshold 0.109: catches 90.0% of defects (95% interval ") &&
                  strstr(buf, ", n = 100; not certified); auto-passes 19.6% of photos"),
              "%s", buf);
    wn_calib_pooled_free(&r);
    for (long i = 0; i < n; i++) y[i] = i == 0; /* the highest target on a curve that passes all */
    s[0] = 2.0f;
    CHECK(wn_calib_pooled_run(&r, s, y, n, 2, 0.5, 0.95, WN_CALIB_POINT, &e) == WN_OK);
    wn_calib_summary(buf, sizeof buf, &r);
    CHECK_MSG(strstr(buf, "threshold 1.5: catches 100.0%"), "%s", buf); /* between 1.00 and 2 */
    wn_calib_pooled_free(&r);
}

/* ------------------------------------------------------------------------ threshold-moving */

static void test_priors(void) {
    wn_err e = {0};
    float p[6] = {0.6f, 0.3f, 0.1f, 0.9f, 0.05f, 0.05f}, out[6]; /* (2, 3) each */
    float pri[3] = {0.5f, 0.25f, 0.25f};
    CHECK(wn_calib_divide_priors(p, out, 2, 3, pri, &e) == WN_OK);
    /* row 0: (1.2, 1.2, 0.4) / 2.8; row 1: (1.8, 0.2, 0.2) / 2.2 */
    CHECK_CLOSE(out[0], 1.2 / 2.8, 1e-7, 0);
    CHECK_CLOSE(out[1], 1.2 / 2.8, 1e-7, 0);
    CHECK_CLOSE(out[2], 0.4 / 2.8, 1e-7, 0);
    CHECK_CLOSE(out[3], 1.8 / 2.2, 1e-7, 0);
    CHECK_CLOSE(out[4], 0.2 / 2.2, 1e-7, 0);
    CHECK(wn_calib_divide_priors(p, p, 2, 3, pri, &e) == WN_OK); /* in place */
    CHECK(memcmp(p, out, sizeof out) == 0);
    float q[3] = {0.9f, 0.05f, 0.05f}, pq[3] = {0.9f, 0.05f, 0.05f};
    CHECK(wn_calib_divide_priors(q, q, 1, 3, pq, &e) == WN_OK);
    CHECK_CLOSE(q[0], 1.0 / 3.0, 1e-7, 0);
    CHECK_CLOSE(q[2], 1.0 / 3.0, 1e-7, 0);
    float z[2] = {0.999999f, 0.000001f}, pz[2] = {1.0f, 0.0f}; /* zero prior: floored, finite */
    CHECK(wn_calib_divide_priors(z, out, 1, 2, pz, &e) == WN_OK);
    CHECK(isfinite(out[0]) && isfinite(out[1]) && fabs(out[0] + out[1] - 1.0) < 1e-6);
    CHECK_CLOSE(out[1], 1.0 / (1.0 + 0.999999 * 1e-6 / 1e-6), 1e-6, 0);
    float bad[3] = {0.5f, -0.1f, 0.5f};
    CHECK(wn_calib_divide_priors(q, out, 1, 3, bad, &e) == WN_EINPUT &&
          strstr(e.msg, "prior of class 1"));
    bad[1] = NAN;
    CHECK(wn_calib_divide_priors(q, out, 1, 3, bad, &e) == WN_EINPUT);
    float zeros[3] = {0, 0, 0};
    CHECK(wn_calib_divide_priors(q, out, 1, 3, zeros, &e) == WN_EINPUT &&
          strstr(e.msg, "every class prior"));
    CHECK(wn_calib_divide_priors(zeros, out, 1, 3, pri, &e) == WN_EINPUT &&
          strstr(e.msg, "photo 0"));

    float row[3] = {0.7f, 0.2f, 0.1f};
    CHECK_CLOSE(wn_calib_pooled_score(row, 3), 0.3, 1e-7, 0);
    float t[3] = {INFINITY, 0.25f, 0.15f};
    CHECK(wn_calib_autopass(row, 3, t) == 1);
    t[2] = 0.1f; /* strict: equal score goes to review */
    CHECK(wn_calib_autopass(row, 3, t) == 0);
    float tp[3] = {0.3f, INFINITY, INFINITY};
    CHECK(wn_calib_autopass(row, 3, tp) == (wn_calib_pooled_score(row, 3) < 0.3f));
}

/* ------------------------------------------------------------------------ per-class search */

/* Exhaustive search over every combination of candidate thresholds of the free coordinates
 * (cap = coordinate 0 when use_cap). Returns the most photos passed within the budgets. */
static long brute_perclass(const float *probs /* (N, K) */, const int *y /* (N) */, long n, int k,
                           const long *allowed /* (K) */, int use_cap) {
    int m = k - 1 + (use_cap ? 1 : 0);
    float cand[4][64];                        /* (M, N+1) candidates of each coordinate */
    long nc[4];                               /* (M) */
    float *v = malloc(sizeof *v * (size_t)n); /* (N) */
    for (int c = 0; c < m; c++) {
        int cls = use_cap ? c : c + 1;
        for (long i = 0; i < n; i++)
            v[i] = cls == 0 ? wn_calib_pooled_score(probs + i * k, k) : probs[i * k + cls];
        nc[c] = candidates(v, n, cand[c]);
    }
    free(v);
    long best = -1, idx[4] = {0, 0, 0, 0}, misses[8]; /* (M), (K) */
    for (;;) {
        float t[8]; /* (K) */
        t[0] = INFINITY;
        for (int c = 0; c < m; c++) t[use_cap ? c : c + 1] = cand[c][idx[c]];
        long passed = wn_calib_perclass_count(probs, y, n, k, t, misses);
        int feas = 1;
        for (int j = 1; j < k; j++) feas &= misses[j] <= allowed[j];
        if (feas && passed > best) best = passed;
        int c = 0;
        while (c < m && ++idx[c] == nc[c]) idx[c++] = 0;
        if (c == m) break;
    }
    return best;
}

/* A tiny random set: probabilities on a coarse grid (ties), every defect class present. */
static void tiny_set(wn_rng *r, long n, int k, float *probs /* (N, K) */, int *y /* (N) */,
                     long *allowed /* (K) */) {
    for (long i = 0; i < n; i++) {
        float w[8], sum = 0;
        do {
            sum = 0;
            for (int j = 0; j < k; j++) sum += w[j] = (float)wn_rng_below(r, 5);
        } while (sum == 0);
        for (int j = 0; j < k; j++) probs[i * k + j] = w[j] / sum;
        y[i] = (int)wn_rng_below(r, (uint32_t)k);
    }
    for (int j = 1; j < k; j++) y[j] = j;
    long count[8] = {0};
    for (long i = 0; i < n; i++) count[y[i]]++;
    allowed[0] = count[0];
    for (int j = 1; j < k; j++) allowed[j] = (long)wn_rng_below(r, (uint32_t)(count[j] + 1)) / 2;
}

static void test_perclass_brute(void) {
    wn_rng r;
    wn_rng_seed(&r, 77, 3);
    wn_err e = {0};
    struct {
        int k, flags;
        const char *what;
        int cases, feasible, match;
        long lost;
    } cfg[] = {
        {2, 0, "1 defect class", 0, 0, 0, 0},
        {2, WN_CALIB_PERCLASS_CAP, "1 defect class + cap", 0, 0, 0, 0},
        {3, 0, "2 defect classes", 0, 0, 0, 0},
        {3, WN_CALIB_PERCLASS_CAP, "2 defect classes + cap", 0, 0, 0, 0},
        {4, 0, "3 defect classes", 0, 0, 0, 0},
        {4, WN_CALIB_PERCLASS_CAP, "3 defect classes + cap", 0, 0, 0, 0},
        {3, WN_CALIB_PERCLASS_CAP | WN_CALIB_PERCLASS_NO_TRIPLE, "2 classes + cap, pairs", 0, 0, 0,
         0},
        {4, WN_CALIB_PERCLASS_NO_TRIPLE, "3 classes, pairs", 0, 0, 0, 0},
        {4, WN_CALIB_PERCLASS_CAP | WN_CALIB_PERCLASS_NO_TRIPLE, "3 classes + cap, pairs", 0, 0, 0,
         0},
    };
    for (size_t c = 0; c < sizeof cfg / sizeof cfg[0]; c++) {
        int k = cfg[c].k, cap = cfg[c].flags & WN_CALIB_PERCLASS_CAP;
        int pairs_only = (cfg[c].flags & WN_CALIB_PERCLASS_NO_TRIPLE) != 0;
        int m = k - 1 + cap, trials = m == 4 ? 150 : m == 3 ? 400 : 1500;
        for (int t = 0; t < trials; t++) {
            long n = 6 + (long)wn_rng_below(&r, 7);
            float probs[12 * 4];        /* (N, K) */
            int y[12];                  /* (N) */
            long allowed[4], misses[4]; /* (K), (K) */
            tiny_set(&r, n, k, probs, y, allowed);
            wn_calib_perclass res;
            int rc = wn_calib_perclass_search(&res, probs, y, n, k, allowed, cfg[c].flags, &e);
            CHECK_MSG(rc == WN_OK, "%s", e.msg);
            if (rc) continue;
            long brute = brute_perclass(probs, y, n, k, allowed, cap);
            long passed = wn_calib_perclass_count(probs, y, n, k, res.threshold, misses);
            int feas = passed == res.passed;
            for (int j = 1; j < k; j++)
                feas &= misses[j] <= allowed[j] && misses[j] == res.misses[j];
            cfg[c].cases++;
            cfg[c].feasible += feas;
            cfg[c].match += res.passed == brute;
            cfg[c].lost += brute - res.passed;
            CHECK(res.passed <= brute);
            if (res.exact)
                CHECK_MSG(res.passed == brute, "%s: %ld vs brute %ld", cfg[c].what, res.passed,
                          brute);
            CHECK(res.exact == (m <= 2 || (m == 3 && !pairs_only))); /* tiny: triples run */
            wn_calib_perclass_free(&res);
        }
        CHECK(cfg[c].feasible == cfg[c].cases);
        printf("per-class vs brute force, %-22s: feasible %d/%d, optimal %d/%d (%.1f%%), photos "
               "lost to the optimum %ld\n",
               cfg[c].what, cfg[c].feasible, cfg[c].cases, cfg[c].match, cfg[c].cases,
               100.0 * cfg[c].match / cfg[c].cases, cfg[c].lost);
    }
}

/* One defect class: the per-class search is the pooled search. */
static void test_perclass_one_class(void) {
    wn_rng r;
    wn_rng_seed(&r, 8, 8);
    wn_err e = {0};
    int same = 0;
    for (int t = 0; t < 200; t++) {
        long n = 20 + (long)wn_rng_below(&r, 400);
        float *probs = malloc(sizeof *probs * 2 * n), *s = malloc(sizeof *s * n); /* (N, 2), (N) */
        int *y = malloc(sizeof *y * n);                                           /* (N) */
        for (long i = 0; i < n; i++) {
            y[i] = wn_rng_uniform(&r) < 0.2f;
            float p1 =
                floorf((y[i] ? 0.3f + 0.7f * wn_rng_uniform(&r) : 0.8f * wn_rng_uniform(&r)) * 50) /
                50;
            probs[2 * i] = 1.0f - p1;
            probs[2 * i + 1] = p1;
        }
        y[0] = 1;
        wn_calib_pooled_scores(probs, n, 2, s);
        double target = 0.8 + 0.2 * wn_rng_uniform(&r);
        wn_calib_pooled pr;
        long count[2], allowed[2]; /* (K), (K) */
        double targets[2] = {0, target};
        CHECK(wn_calib_pooled_run(&pr, s, y, n, 2, target, 0.9, WN_CALIB_POINT, &e) == WN_OK);
        CHECK(wn_calib_perclass_budgets(y, n, 2, targets, 0.9, WN_CALIB_POINT, count, allowed,
                                        &e) == WN_OK);
        CHECK(allowed[1] == pr.budget.allowed);
        wn_calib_perclass res;
        CHECK(wn_calib_perclass_search(&res, probs, y, n, 2, allowed, 0, &e) == WN_OK);
        same += res.exact && res.passed == pr.point.passed &&
                res.threshold[1] == pr.point.threshold && isinf(res.threshold[0]);
        wn_calib_perclass_free(&res);
        wn_calib_pooled_free(&pr);
        free(probs);
        free(s);
        free(y);
    }
    CHECK_MSG(same == 200, "%d/200 one-class searches equal the pooled search", same);
}

/* Never worse than the pooled solution when that meets every class's budget. */
static void test_perclass_vs_pooled(void) {
    wn_rng r;
    wn_rng_seed(&r, 99, 1);
    wn_err e = {0};
    int cases = 0, cap_ok = 0, box_cases = 0, box_ok = 0, box_worse = 0;
    for (int t = 0; t < 300; t++) {
        long n = 50 + (long)wn_rng_below(&r, 300);
        int k = 3 + (int)wn_rng_below(&r, 2);
        float *probs = malloc(sizeof *probs * (size_t)(n * k)),
              *s = malloc(sizeof *s * n); /* (N, K), (N) */
        int *y = malloc(sizeof *y * n);   /* (N) */
        for (long i = 0; i < n; i++) {
            y[i] = wn_rng_uniform(&r) < 0.3f ? 1 + (int)wn_rng_below(&r, (uint32_t)(k - 1)) : 0;
            float sum = 0, w[4]; /* (K) */
            for (int j = 0; j < k; j++)
                sum += w[j] = wn_rng_uniform(&r) + (j == y[i] ? 1.5f : 0.0f);
            for (int j = 0; j < k; j++) probs[i * k + j] = floorf(w[j] / sum * 40) / 40;
        }
        for (int j = 1; j < k; j++) y[j] = j;
        wn_calib_pooled_scores(probs, n, k, s);
        double targets[4] = {0, 0.7, 0.7, 0.7}, pooled_target = 0.75 + 0.2 * wn_rng_uniform(&r);
        long count[4], allowed[4], misses[4]; /* (K) each */
        wn_calib_pooled pr;
        CHECK(wn_calib_pooled_run(&pr, s, y, n, k, pooled_target, 0.9, WN_CALIB_POINT, &e) ==
              WN_OK);
        CHECK(wn_calib_perclass_budgets(y, n, k, targets, 0.9, WN_CALIB_POINT, count, allowed,
                                        &e) == WN_OK);
        float tp[4] = {pr.point.threshold, INFINITY, INFINITY, INFINITY};
        long pooled_passed = wn_calib_perclass_count(probs, y, n, k, tp, misses);
        CHECK(pooled_passed == pr.point.passed);
        int feas = 1;
        for (int j = 1; j < k; j++) feas &= misses[j] <= allowed[j];
        if (feas) {
            cases++;
            wn_calib_perclass cap, box;
            CHECK(wn_calib_perclass_search(&cap, probs, y, n, k, allowed, WN_CALIB_PERCLASS_CAP,
                                           &e) == WN_OK);
            CHECK(wn_calib_perclass_search(&box, probs, y, n, k, allowed, 0, &e) == WN_OK);
            cap_ok += cap.passed >= pooled_passed;
            /* the box around the pooled solution's photos: when it keeps the budgets the
             * per-class result without the cap must be at least as good */
            float tb[4] = {INFINITY, 0, 0, 0};
            for (long i = 0; i < n; i++)
                if (s[i] < pr.point.threshold)
                    for (int j = 1; j < k; j++)
                        tb[j] = fmaxf(tb[j], nextafterf(probs[i * k + j], INFINITY));
            wn_calib_perclass_count(probs, y, n, k, tb, misses);
            int box_feas = 1;
            for (int j = 1; j < k; j++) box_feas &= misses[j] <= allowed[j];
            if (box_feas) {
                box_cases++;
                box_ok += box.passed >= pooled_passed;
            } else {
                box_worse += box.passed < pooled_passed;
            }
            wn_calib_perclass_free(&cap);
            wn_calib_perclass_free(&box);
        }
        wn_calib_pooled_free(&pr);
        free(probs);
        free(s);
        free(y);
    }
    CHECK(cases > 50 && cap_ok == cases && box_ok == box_cases);
    printf(
        "per-class vs pooled (pooled meets every class budget in %d sets): with cap >= pooled "
        "%d/%d; without cap >= pooled %d/%d where the pooled box is feasible, below pooled in %d "
        "sets where it is not\n",
        cases, cap_ok, cases, box_ok, box_cases, box_worse);

    /* Why the cap exists: ok photos at (0.4, 0) and (0, 0.4), a class-1 defect at (0.35, 0.35).
     * The pooled rule passes both ok photos (sum 0.4 < 0.5 < 0.7) and no defect; any box that
     * passes both ok photos also passes the defect. */
    float probs[9] = {0.6f, 0.4f, 0.0f, 0.6f, 0.0f, 0.4f, 0.3f, 0.35f, 0.35f};
    int y[3] = {0, 0, 1};
    long allowed[3] = {2, 0, 0};
    wn_calib_perclass res;
    CHECK(wn_calib_perclass_search(&res, probs, y, 3, 3, allowed, 0, &e) == WN_OK);
    CHECK(res.passed == 1 && res.passed == brute_perclass(probs, y, 3, 3, allowed, 0));
    wn_calib_perclass_free(&res);
    CHECK(wn_calib_perclass_search(&res, probs, y, 3, 3, allowed, WN_CALIB_PERCLASS_CAP, &e) ==
          WN_OK);
    CHECK(res.passed == 2 && res.misses[1] == 0 && !isinf(res.threshold[0]));
    wn_calib_perclass_free(&res);
}

static void test_perclass_input_and_summary(void) {
    wn_err e = {0};
    float probs[12] = {0.9f, 0.05f, 0.05f, 0.2f, 0.7f, 0.1f, 0.3f, 0.1f, 0.6f, 0.8f, 0.1f, 0.1f};
    int y[4] = {0, 1, 2, 0};
    long count[3], allowed[3]; /* (K), (K) */
    double targets[3] = {0, 0.99, 0.9};
    CHECK(wn_calib_perclass_budgets(y, 4, 3, targets, 0.95, WN_CALIB_POINT, count, allowed, &e) ==
          WN_OK);
    CHECK(count[0] == 2 && count[1] == 1 && count[2] == 1 && allowed[1] == 0 && allowed[2] == 0);
    CHECK(wn_calib_perclass_budgets(y, 4, 3, targets, 0.95, WN_CALIB_CERTIFIED, count, allowed,
                                    &e) == WN_EINPUT &&
          strstr(e.msg, "from 1 photos of defect class 1: at least 299"));
    targets[2] = 1.2;
    CHECK(wn_calib_perclass_budgets(y, 4, 3, targets, 0.95, WN_CALIB_POINT, count, allowed, &e) ==
              WN_EINPUT &&
          strstr(e.msg, "defect class 2: target recall 1.2"));
    int y2[4] = {0, 1, 1, 0};
    targets[2] = 0.9;
    CHECK(wn_calib_perclass_budgets(y2, 4, 3, targets, 0.95, WN_CALIB_POINT, count, allowed, &e) ==
              WN_EINPUT &&
          strstr(e.msg, "no photos of defect class 2"));
    CHECK(wn_calib_perclass_budgets(y, 4, 3, targets, 0.95, WN_CALIB_POINT, count, allowed, &e) ==
          WN_OK);
    wn_calib_perclass res;
    probs[4] = NAN;
    CHECK(wn_calib_perclass_search(&res, probs, y, 4, 3, allowed, 0, &e) == WN_EINPUT &&
          strstr(e.msg, "class 1 for photo 1 is NaN"));
    probs[4] = 0.7f;
    CHECK(wn_calib_perclass_search(&res, probs, y, 4, 3, allowed, 0, &e) == WN_OK);
    CHECK(res.passed == 2 && res.misses[1] == 0 && res.misses[2] == 0);
    /* ok photos have P1 = 0.05, 0.1 and P2 = 0.05, 0.1; the defects 0.7 / 0.6: thresholds are
     * raised to the first score they must stop, then set between it and the next lower value
     * of that class (0.1 for both: the other defect's) */
    CHECK(res.threshold[1] == wn_calib_between(0.1f, 0.7f) && res.threshold[2] == wn_calib_between(0.1f, 0.6f));
    char buf[256];
    char *names[3] = {"ok", "undercut", "porosity"};
    wn_calib_perclass_summary(buf, sizeof buf, &res, count, names);
    CHECK_MSG(strcmp(buf, "undercut: threshold 0.4, catches 100.0% (1 of 1 photos)\nporosity: "
                          "threshold 0.35, catches 100.0% (1 of 1 photos)\nauto-passes 50.0% of "
                          "photos\n") == 0,
              "%s", buf);
    wn_calib_perclass_free(&res);
    long neg[3] = {0, -1, 0};
    CHECK(wn_calib_perclass_search(&res, probs, y, 4, 3, neg, 0, &e) == WN_EINPUT);
    CHECK(wn_calib_perclass_search(&res, probs, y, 0, 3, allowed, 0, &e) == WN_EINPUT);
}

/* A larger per-class run to exercise the sweeps beyond tiny sets (and their speed). */
static void test_perclass_larger(void) {
    wn_rng r;
    wn_rng_seed(&r, 4, 4);
    wn_err e = {0};
    const long n = 20000;
    const int k = 5;
    float *probs = malloc(sizeof *probs * n * k); /* (N, K) */
    int *y = malloc(sizeof *y * n);               /* (N) */
    for (long i = 0; i < n; i++) {
        y[i] = wn_rng_uniform(&r) < 0.1f ? 1 + (int)wn_rng_below(&r, k - 1) : 0;
        float sum = 0, w[5]; /* (K) */
        for (int j = 0; j < k; j++)
            sum += w[j] = expf(2.0f * wn_rng_normal(&r) + (j == y[i] ? 2.5f : 0));
        for (int j = 0; j < k; j++) probs[i * k + j] = w[j] / sum;
    }
    double targets[5] = {0, 0.95, 0.9, 0.99, 0.95};
    long count[5], allowed[5], misses[5]; /* (K) each */
    CHECK(wn_calib_perclass_budgets(y, n, k, targets, 0.95, WN_CALIB_POINT, count, allowed, &e) ==
          WN_OK);
    wn_calib_perclass a, b;
    CHECK(wn_calib_perclass_search(&a, probs, y, n, k, allowed, 0, &e) == WN_OK);
    CHECK(wn_calib_perclass_search(&b, probs, y, n, k, allowed, WN_CALIB_PERCLASS_CAP, &e) ==
          WN_OK);
    CHECK(wn_calib_perclass_count(probs, y, n, k, a.threshold, misses) == a.passed);
    for (int j = 1; j < k; j++) CHECK(misses[j] <= allowed[j]);
    CHECK(a.passed > 0 && b.passed > 0);
    printf("per-class, 20000 photos, 4 defect classes: automation %.1f%% (%d rounds), with cap "
           "%.1f%% (%d rounds)\n",
           100.0 * a.passed / n, a.rounds, 100.0 * b.passed / n, b.rounds);
    wn_calib_perclass_free(&a);
    wn_calib_perclass_free(&b);
    free(probs);
    free(y);
}

/* wn_calib_between: strictly above lo, at most hi, near the middle; hi for adjacent floats; and
 * the point of it: a defect photo at the chosen score whose score drops by a few ulps (another
 * batch size or device) is still not auto-passed. */
static void test_between(void) {
    CHECK(wn_calib_between(0.0f, 1.0f) == 0.5f);
    CHECK(wn_calib_between(0.25f, 0.5f) == 0.375f);
    float a = 0.3f, b = nextafterf(a, 1.0f);
    CHECK(wn_calib_between(a, b) == b);
    CHECK(wn_calib_between(0.0f, 1e-40f) > 0.0f && wn_calib_between(0.0f, 1e-40f) <= 1e-40f);
    uint32_t seed = 5;
    int bad = 0;
    for (int i = 0; i < 100000; i++) {
        seed = seed * 1664525u + 1013904223u;
        float lo = (float)(seed >> 8) / 16777216.0f;
        seed = seed * 1664525u + 1013904223u;
        float hi = lo + (float)(seed >> 8) / 16777216.0f * (i % 2 ? 1e-3f : 1.0f);
        if (!(hi > lo)) continue;
        float m = wn_calib_between(lo, hi);
        bad += !(m > lo && m <= hi && fabs((double)m - 0.5 * ((double)lo + hi)) <= 0.5 * ((double)hi - lo));
    }
    CHECK_MSG(bad == 0, "%d pairs outside (lo, hi]", bad);
    /* 20 defects at 0.5..0.69 and ok photos below: with one miss allowed the threshold falls
     * between 0.5 and 0.51, and the defect at 0.51, a few ulps lower, is still caught */
    float s[60];
    int y[60];
    for (int i = 0; i < 20; i++) s[i] = 0.5f + 0.01f * (float)i, y[i] = 1;
    for (int i = 20; i < 60; i++) s[i] = 0.01f * (float)(i - 20), y[i] = 0;
    wn_calib_curve c;
    wn_err e = {0};
    CHECK(wn_calib_curve_build(&c, s, y, 60, 2, &e) == WN_OK);
    long idx = wn_calib_curve_choose(&c, 1);
    wn_calib_point pt = wn_calib_curve_point(&c, idx);
    CHECK(pt.misses == 1 && pt.threshold > 0.5f && pt.threshold < s[1]);
    float lowered = s[1];
    for (int u = 0; u < 8; u++) lowered = nextafterf(lowered, 0.0f);
    CHECK_MSG(!(lowered < pt.threshold), "a defect 8 ulps below its calibration score is auto-passed");
    wn_calib_curve_free(&c);
}

int main(void) {
    test_sort();
    test_between();
    test_pooled_random();
    test_pooled_adversarial();
    test_pooled_large();
    test_point_rule();
    test_bad_input();
    test_pooled_run();
    test_priors();
    test_perclass_brute();
    test_perclass_one_class();
    test_perclass_vs_pooled();
    test_perclass_input_and_summary();
    test_perclass_larger();
    return wn_test_done();
}
