/* calib_curve.c - the pooled trade-off curve: one point per distinct score (then +inf) with the
 * photos and the defect photos it auto-passes, built by radix-sorting the ok and the defect scores
 * apart and merging them; choosing the point with the most automation within a miss budget. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "wn_calib.h"

/* One pass: validates and splits the keys, ok photos from the front of keys, defects from the
 * back. Returns the number of defects, or -1 with e set. */
static long split_keys(const float *scores /* (N) */, const int *labels /* (N) */, long n,
                       int n_classes, uint32_t *keys /* (N) */, wn_err *e) {
    long front = 0, back = n;
    for (long i = 0; i < n; i++) {
        float s = scores[i];
        int y = labels[i];
        if (!isfinite(s)) {
            wn_err_set(e, WN_EINPUT, "score of photo %ld is %s", i, isnan(s) ? "NaN" : "infinite");
            return -1;
        }
        if (y < 0 || y >= n_classes) {
            wn_calib_check_labels(labels, i + 1, n_classes, e);
            return -1;
        }
        uint32_t key = wn_calib_float_key(s);
        if (y == 0)
            keys[front++] = key;
        else
            keys[--back] = key;
    }
    return n - back;
}

/* Walks the two sorted key arrays, one point per distinct key, then +inf; returns the points. */
static long merge_points(wn_calib_curve *c, const uint32_t *ok /* (NO) */, long n_ok,
                         const uint32_t *def /* (ND) */, long n_def) {
    long i = 0, j = 0, p = 0;
    while (i < n_ok || j < n_def) {
        uint32_t v = (j >= n_def || (i < n_ok && ok[i] < def[j])) ? ok[i] : def[j];
        c->threshold[p] = wn_calib_key_float(v);
        c->passed[p] = i + j;
        c->misses[p] = j;
        p++;
        while (i < n_ok && ok[i] == v) i++;
        while (j < n_def && def[j] == v) j++;
    }
    c->threshold[p] = INFINITY;
    c->passed[p] = n_ok + n_def;
    c->misses[p] = n_def;
    return p + 1;
}

int wn_calib_curve_build(wn_calib_curve *c, const float *scores /* (N) */,
                         const int *labels /* (N) */, long n, int n_classes, wn_err *e) {
    memset(c, 0, sizeof *c);
    if (n < 1) return wn_err_set(e, WN_EINPUT, "the calibration set is empty");
    if (n_classes < 2) return wn_calib_check_labels(labels, n, n_classes, e);
    uint32_t *keys = wn_calib_alloc(sizeof *keys * (size_t)n); /* (N) ok front, defects back */
    uint32_t *tmp = wn_calib_alloc(sizeof *tmp * (size_t)n);   /* (N) sort scratch */
    if (!keys || !tmp) {
        free(keys);
        free(tmp);
        return wn_err_set(e, WN_ERUNTIME, "out of memory sorting %ld scores", n);
    }
    long n_def = split_keys(scores, labels, n, n_classes, keys, e);
    if (n_def == 0) wn_err_set(e, WN_EINPUT, "the calibration set has no defect photos");
    if (n_def <= 0) {
        free(keys);
        free(tmp);
        return WN_EINPUT;
    }
    long n_ok = n - n_def;
    const uint32_t *ok = wn_calib_sort_keys(keys, tmp, n_ok);
    const uint32_t *def = wn_calib_sort_keys(keys + n_ok, tmp + n_ok, n_def);
    c->n = n;
    c->n_defect = n_def;
    /* room for the most points there can be (n + 1): pages past the points used are never
     * touched, so this costs address space only, and saves a counting pass */
    c->threshold = wn_calib_alloc(sizeof *c->threshold * (size_t)(n + 1));
    c->passed = wn_calib_alloc(sizeof *c->passed * (size_t)(n + 1));
    c->misses = wn_calib_alloc(sizeof *c->misses * (size_t)(n + 1));
    if (!c->threshold || !c->passed || !c->misses) {
        free(keys);
        free(tmp);
        wn_calib_curve_free(c);
        return wn_err_set(e, WN_ERUNTIME, "out of memory for a curve of %ld scores", n);
    }
    c->n_points = merge_points(c, ok, n_ok, def, n_def);
    free(keys);
    free(tmp);
    return WN_OK;
}

void wn_calib_curve_free(wn_calib_curve *c) {
    free(c->threshold);
    free(c->passed);
    free(c->misses);
    memset(c, 0, sizeof *c);
}

float wn_calib_between(float lo, float hi) {
    float m = (float)(0.5 * ((double)lo + (double)hi));
    return m > lo && m <= hi ? m : hi;
}

wn_calib_point wn_calib_curve_point(const wn_calib_curve *c, long i) {
    float t = c->threshold[i];
    if (i > 0 && isfinite(t)) t = wn_calib_between(c->threshold[i - 1], t);
    wn_calib_point p = {.threshold = t, .passed = c->passed[i], .misses = c->misses[i]};
    long caught = c->n_defect - p.misses, reviewed = c->n - p.passed;
    p.recall = (double)caught / (double)c->n_defect;
    p.automation = (double)p.passed / (double)c->n;
    p.precision = reviewed > 0 ? (double)caught / (double)reviewed : 1.0;
    return p;
}

long wn_calib_curve_choose(const wn_calib_curve *c, long allowed) {
    long lo = 0, hi = c->n_points; /* misses[lo] <= allowed; misses[hi] > allowed or hi = P */
    while (hi - lo > 1) {
        long mid = lo + (hi - lo) / 2;
        if (c->misses[mid] <= allowed)
            lo = mid;
        else
            hi = mid;
    }
    return lo;
}

int wn_calib_curve_at_target(const wn_calib_curve *c, double target, double confidence, int rule,
                             wn_calib_budget *b, long *index, wn_err *e) {
    *index = -1;
    int rc = wn_calib_budget_make(b, c->n_defect, target, confidence, rule, e);
    if (rc) return rc;
    if (b->certifiable) *index = wn_calib_curve_choose(c, b->allowed);
    return WN_OK;
}
