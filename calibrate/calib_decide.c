/* calib_decide.c - the decision of `weldnet calibrate` on a calibration set: threshold-moving
 * (divide by the priors, renormalise; accuracy before and after), the pooled curve, the threshold
 * search (pooled, or per class) under the point or certified rule, then what the chosen rule
 * achieves (recall, automation, per-class recall, Clopper-Pearson intervals), counted with the
 * shared auto-pass rule of wn_decide.h. Also the calibration record of a result. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "wn_calibrate.h"

void wn_calib_result_free(wn_calib_result *r) {
    if (!r) return;
    free(r->target);
    free(r->cal);
    free(r->score);
    if (r->before.m) wn_confusion_free(&r->before);
    if (r->after.m) wn_confusion_free(&r->after);
    wn_calib_pooled_free(&r->pooled);
    wn_calib_perclass_free(&r->pc);
    free(r->count);
    free(r->allowed);
    free(r->misses);
    free(r->threshold);
    free(r->class_ci);
    memset(r, 0, sizeof *r);
    r->pooled.chosen = -1;
}

/* Counts, threshold-moving with priors (K; NULL: the probabilities are used as given), accuracy
 * before and after, pooled scores and curve. */
static int prepare(const wn_calib_set *s, const float *priors, wn_calib_result *r, wn_err *e) {
    int k = s->k;
    long n = s->n;
    memset(r, 0, sizeof *r);
    r->pooled.chosen = -1;
    r->k = k;
    r->n = n;
    r->target = wn_xcalloc((size_t)k, sizeof *r->target);
    r->count = wn_xcalloc((size_t)k, sizeof *r->count);
    r->allowed = wn_xcalloc((size_t)k, sizeof *r->allowed);
    r->misses = wn_xcalloc((size_t)k, sizeof *r->misses);
    r->threshold = wn_xmalloc(sizeof *r->threshold * (size_t)k);
    r->class_ci = wn_xcalloc((size_t)k, sizeof *r->class_ci);
    for (int j = 0; j < k; j++) r->threshold[j] = INFINITY;
    int rc = wn_calib_check_labels(s->labels, n, k, e);
    if (rc) return wn_err_prefix(e, "%s", s->source);
    if (n < 1 || n >= INT32_MAX)
        return wn_err_set(e, WN_EINPUT, "%s: %ld photos (1 to %d can be calibrated)", s->source, n,
                          INT32_MAX - 1);
    for (long i = 0; i < n; i++) r->count[s->labels[i]]++;
    r->n_defect = n - r->count[0];
    if (r->n_defect == 0)
        return wn_err_set(e, WN_EINPUT,
                          "%s: the calibration set has no defect photos (all %ld are '%s')",
                          s->source, n, s->names[0]);
    for (int j = 1; j < k; j++)
        if (r->count[j] == 0)
            return wn_err_set(e, WN_EINPUT,
                              "%s: the calibration set has no photos of defect class '%s' (it "
                              "needs photos of every defect class)",
                              s->source, s->names[j]);
    r->cal = wn_calib_alloc(sizeof *r->cal * (size_t)n * (size_t)k);
    r->score = wn_calib_alloc(sizeof *r->score * (size_t)n);
    if (!r->cal || !r->score)
        return wn_err_set(e, WN_ERUNTIME, "out of memory for %ld calibrated scores", n);
    if (!priors)
        memcpy(r->cal, s->probs, sizeof *r->cal * (size_t)n * (size_t)k);
    else if ((rc = wn_calib_divide_priors(s->probs, r->cal, n, k, priors, e)))
        return wn_err_prefix(e, "%s", s->source);
    wn_confusion_init(&r->before, k);
    wn_confusion_init(&r->after, k);
    wn_confusion_add_probs(&r->before, (int)n, s->probs, s->labels);
    wn_confusion_add_probs(&r->after, (int)n, r->cal, s->labels);
    wn_calib_pooled_scores(r->cal, n, k, r->score);
    if ((rc = wn_calib_curve_build(&r->pooled.curve, r->score, s->labels, n, k, e)))
        return wn_err_prefix(e, "%s", s->source);
    return WN_OK;
}

/* What the thresholds r->threshold achieve: per-class misses, recall, automation, intervals. */
static int measure(const wn_calib_set *s, wn_calib_result *r, wn_err *e) {
    int k = r->k;
    r->passed = wn_calib_perclass_count(r->cal, s->labels, r->n, k, r->threshold, r->misses);
    r->missed = 0;
    for (int j = 1; j < k; j++) r->missed += r->misses[j];
    r->recall = (double)(r->n_defect - r->missed) / (double)r->n_defect;
    r->automation = (double)r->passed / (double)r->n;
    int rc = wn_calib_clopper_pearson(r->n_defect - r->missed, r->n_defect, r->confidence,
                                      &r->recall_ci, e);
    if (!rc) rc = wn_calib_clopper_pearson(r->passed, r->n, r->confidence, &r->automation_ci, e);
    for (int j = 1; j < k && !rc; j++)
        rc = wn_calib_clopper_pearson(r->count[j] - r->misses[j], r->count[j], r->confidence,
                                      &r->class_ci[j], e);
    r->recall_lower = r->recall_ci.lo;
    return rc;
}

int wn_calib_apply(const wn_calib_set *s, const wn_calibration *c, wn_calib_result *r, wn_err *e) {
    if (c->k != s->k) {
        memset(r, 0, sizeof *r);
        return wn_err_set(e, WN_EINPUT, "%s: calibration for %d classes, the set has %d", s->source,
                          c->k, s->k);
    }
    int rc = prepare(s, c->priors, r, e);
    if (rc) return rc;
    r->mode = c->mode;
    r->rule = c->rule;
    r->confidence = c->confidence;
    memcpy(r->target, c->target, sizeof *r->target * (size_t)r->k);
    memcpy(r->threshold, c->threshold, sizeof *r->threshold * (size_t)r->k);
    return measure(s, r, e);
}

static void append(wn_err *e, const char *s) {
    size_t len = strlen(e->msg);
    snprintf(e->msg + len, sizeof e->msg - len, "%s", s);
}

static int refuse(const wn_calib_set *s, const wn_calib_budget *b, const char *what, wn_err *e) {
    wn_calib_budget_refuse(b, what, e);
    wn_err_prefix(e, "%s", s->source);
    append(e, "; --uncertified gives it");
    return WN_EINPUT;
}

static int search_pooled(const wn_calib_set *s, wn_calib_result *r, wn_err *e) {
    wn_calib_pooled *p = &r->pooled;
    int rc = wn_calib_curve_at_target(&p->curve, r->target[0], r->confidence, r->rule, &p->budget,
                                      &p->chosen, e);
    if (rc) return rc;
    if (p->chosen < 0) return refuse(s, &p->budget, "defect photos", e);
    p->point = wn_calib_curve_point(&p->curve, p->chosen);
    r->allowed[0] = p->budget.allowed;
    r->threshold[0] = p->point.threshold;
    rc = wn_calib_clopper_pearson(r->n_defect - p->point.misses, r->n_defect, r->confidence,
                                  &p->recall_ci, e);
    if (!rc)
        rc = wn_calib_clopper_pearson(p->point.passed, r->n, r->confidence, &p->automation_ci, e);
    return rc;
}

static int search_perclass(const wn_calib_set *s, int flags, wn_calib_result *r, wn_err *e) {
    int k = r->k;
    r->allowed[0] = r->count[0];
    for (int j = 1; j < k; j++) {
        wn_calib_budget b;
        int rc = wn_calib_budget_make(&b, r->count[j], r->target[j], r->confidence, r->rule, e);
        if (rc) return wn_err_prefix(e, "defect class '%s'", s->names[j]);
        if (!b.certifiable) {
            char what[300];
            snprintf(what, sizeof what, "photos of defect class '%.200s'", s->names[j]);
            return refuse(s, &b, what, e);
        }
        r->allowed[j] = b.allowed;
    }
    int rc = wn_calib_perclass_search(&r->pc, r->cal, s->labels, r->n, k, r->allowed, flags, e);
    if (rc) return wn_err_prefix(e, "%s", s->source);
    memcpy(r->threshold, r->pc.threshold, sizeof *r->threshold * (size_t)k);
    return WN_OK;
}

int wn_calib_decide(const wn_calib_set *s, int mode, int rule, double confidence,
                    const double *target /* (K) */, int flags, wn_calib_result *r, wn_err *e) {
    int rc = prepare(s, s->has_priors ? s->priors : NULL, r, e);
    if (rc) return rc;
    r->mode = mode;
    r->rule = rule;
    r->confidence = confidence;
    memcpy(r->target, target, sizeof *r->target * (size_t)r->k);
    if ((rc = wn_calib_check_confidence(confidence, e))) return rc;
    rc = mode == WN_CALMODE_PERCLASS ? search_perclass(s, flags, r, e) : search_pooled(s, r, e);
    if (rc) return rc;
    if ((rc = measure(s, r, e))) return rc;
    if (mode == WN_CALMODE_POOLED && r->passed != r->pooled.point.passed)
        return wn_err_set(e, WN_ERUNTIME,
                          "internal error: the pooled threshold passes %ld photos, the curve "
                          "said %ld",
                          r->passed, r->pooled.point.passed);
    if (rule == WN_CALIB_CERTIFIED) { /* the certified bound: the (smallest) target */
        double lower = r->target[0];
        if (mode == WN_CALMODE_PERCLASS) {
            lower = 1.0;
            for (int j = 1; j < r->k; j++) lower = fmin(lower, r->target[j]);
        }
        r->recall_lower = lower;
    }
    return WN_OK;
}

void wn_calib_make_record(const wn_calib_set *s, const wn_calib_result *r, wn_calibration *c) {
    int k = s->k;
    wn_calibration_init(c, k);
    c->mode = r->mode;
    c->rule = r->rule == WN_CALIB_CERTIFIED ? WN_CALRULE_CERTIFIED : WN_CALRULE_POINT;
    c->confidence = r->confidence;
    memcpy(c->priors, s->priors, sizeof *c->priors * (size_t)k);
    memcpy(c->threshold, r->threshold, sizeof *c->threshold * (size_t)k);
    memcpy(c->target, r->target, sizeof *c->target * (size_t)k);
    c->n_photos = r->n;
    c->n_defect = r->n_defect;
    c->recall = r->recall;
    c->recall_lower = r->recall_lower;
    c->automation = r->automation;
    memcpy(c->set_hash, s->set_hash, sizeof c->set_hash);
    time_t now = time(NULL);
    const char *sde = getenv("SOURCE_DATE_EPOCH"); /* reproducible outputs */
    if (sde && *sde) {
        char *end;
        long long v = strtoll(sde, &end, 10);
        if (!*end && v >= 0) now = (time_t)v;
    }
    struct tm tm;
    if (gmtime_r(&now, &tm)) strftime(c->date, sizeof c->date, "%Y-%m-%dT%H:%M:%SZ", &tm);
    /* the record is line-based: a path with a line break is left out */
    if (s->source && !strpbrk(s->source, "\r\n")) c->source = wn_xstrdup(s->source);
}
