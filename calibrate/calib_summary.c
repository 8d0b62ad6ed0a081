/* calib_summary.c - the sentences a person reads after calibration: the chosen threshold with its
 * recall, guarantee and automation; the automation the standard targets would give from the same
 * curve; the per-class thresholds. snprintf-like: text is cut at cap, the full length returned. */
#include <math.h>
#include <stdio.h>

#include "wn_calib.h"
#include "wn_text.h"

/* A percentage with one decimal, or up to four when the value is a target that needs them
 * (99.95% must not print as 100.0%). */
static void put_pct(wn_text *t, double frac, int exact) {
    double v = 100.0 * frac;
    int d = 1;
    while (exact && d < 4 && fabs(v - round(v * pow(10.0, d)) / pow(10.0, d)) > 1e-9 * fmax(v, 1.0))
        d++;
    wn_text_printf(t, "%.*f%%", d, v);
}

static void put_threshold(wn_text *t, float th) {
    if (isinf(th))
        wn_text_printf(t, "threshold above every score");
    else
        wn_text_printf(t, "threshold %.3g", (double)th);
}

size_t wn_calib_summary(char *buf, size_t cap, const wn_calib_pooled *r) {
    wn_text t = {buf, cap, 0};
    if (cap) buf[0] = '\0';
    const wn_calib_budget *b = &r->budget;
    if (r->chosen < 0) {
        wn_text_printf(&t, "cannot certify recall >= ");
        put_pct(&t, b->target, 1);
        wn_text_printf(&t, " with %g%% confidence from %ld defect photos", 100.0 * b->confidence, b->n);
        if (b->n_needed > 0) wn_text_printf(&t, ": at least %ld are needed", b->n_needed);
        return wn_text_finish(&t);
    }
    const wn_calib_point *p = &r->point;
    put_threshold(&t, p->threshold);
    wn_text_printf(&t, ": catches ");
    put_pct(&t, p->recall, 0);
    wn_text_printf(&t, " of defects (");
    if (b->rule == WN_CALIB_CERTIFIED) {
        wn_text_printf(&t, "at least ");
        put_pct(&t, b->target, 1);
        wn_text_printf(&t, " with %g%% confidence, n = %ld)", 100.0 * b->confidence, b->n);
    } else {
        wn_text_printf(&t, "%g%% interval ", 100.0 * b->confidence);
        put_pct(&t, r->recall_ci.lo, 0);
        wn_text_printf(&t, "-");
        put_pct(&t, r->recall_ci.hi, 0);
        wn_text_printf(&t, ", n = %ld; not certified)", b->n);
    }
    wn_text_printf(&t, "; auto-passes ");
    put_pct(&t, p->automation, 0);
    wn_text_printf(&t, " of photos");
    return wn_text_finish(&t);
}

size_t wn_calib_summary_targets(char *buf, size_t cap, const wn_calib_curve *c, double confidence,
                                int rule) {
    wn_text t = {buf, cap, 0};
    if (cap) buf[0] = '\0';
    const double targets[WN_CALIB_N_STD_TARGETS] = WN_CALIB_STD_TARGETS; /* (4) */
    for (int i = 0; i < WN_CALIB_N_STD_TARGETS; i++) {
        wn_calib_budget b;
        long idx;
        wn_text_printf(&t, "target ");
        put_pct(&t, targets[i], 1);
        if (wn_calib_curve_at_target(c, targets[i], confidence, rule, &b, &idx, NULL) != WN_OK) {
            wn_text_printf(&t, ": invalid confidence %g\n", confidence);
            continue;
        }
        if (idx < 0) {
            wn_text_printf(&t, ": cannot certify with %ld defect photos (needs %ld)\n", c->n_defect,
                b.n_needed);
            continue;
        }
        wn_calib_point p = wn_calib_curve_point(c, idx);
        wn_text_printf(&t, ": ");
        put_threshold(&t, p.threshold);
        wn_text_printf(&t, ", automation ");
        put_pct(&t, p.automation, 0);
        wn_text_printf(&t, "\n");
    }
    return wn_text_finish(&t);
}

size_t wn_calib_perclass_summary(char *buf, size_t cap, const wn_calib_perclass *r,
                                 const long *count /* (K) */, char *const *names /* (K) */) {
    wn_text t = {buf, cap, 0};
    if (cap) buf[0] = '\0';
    if (r->k > 0 && !isinf(r->threshold[0])) {
        wn_text_printf(&t, "pooled score: ");
        put_threshold(&t, r->threshold[0]);
        wn_text_printf(&t, "\n");
    }
    for (int j = 1; j < r->k; j++) {
        if (names)
            wn_text_printf(&t, "%s: ", names[j]);
        else
            wn_text_printf(&t, "class %d: ", j);
        put_threshold(&t, r->threshold[j]);
        long caught = count[j] - r->misses[j];
        wn_text_printf(&t, ", catches ");
        put_pct(&t, count[j] > 0 ? (double)caught / (double)count[j] : 1.0, 0);
        wn_text_printf(&t, " (%ld of %ld photos)\n", caught, count[j]);
    }
    wn_text_printf(&t, "auto-passes ");
    put_pct(&t, r->n > 0 ? (double)r->passed / (double)r->n : 0.0, 0);
    wn_text_printf(&t, " of photos\n");
    return wn_text_finish(&t);
}
