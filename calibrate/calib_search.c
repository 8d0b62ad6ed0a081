/* calib_search.c - pooled calibration end to end: the curve, the miss budget under the rule asked
 * for, the chosen threshold (highest automation within the budget) and the Clopper-Pearson
 * intervals of its recall and automation. */
#include <string.h>

#include "wn_calib.h"

int wn_calib_pooled_run(wn_calib_pooled *r, const float *scores /* (N) */,
                        const int *labels /* (N) */, long n, int n_classes, double target,
                        double confidence, int rule, wn_err *e) {
    memset(r, 0, sizeof *r);
    r->chosen = -1;
    wn_calib_budget probe; /* argument checks before the O(N) work */
    int rc = wn_calib_budget_make(&probe, 1, target, confidence, rule, e);
    if (rc) return rc;
    if ((rc = wn_calib_curve_build(&r->curve, scores, labels, n, n_classes, e))) return rc;
    if ((rc = wn_calib_curve_at_target(&r->curve, target, confidence, rule, &r->budget, &r->chosen,
                                       e)))
        return rc;
    if (r->chosen < 0) return wn_calib_budget_refuse(&r->budget, "defect photos", e);
    r->point = wn_calib_curve_point(&r->curve, r->chosen);
    long caught = r->curve.n_defect - r->point.misses;
    if ((rc = wn_calib_clopper_pearson(caught, r->curve.n_defect, confidence, &r->recall_ci, e)))
        return rc;
    return wn_calib_clopper_pearson(r->point.passed, r->curve.n, confidence, &r->automation_ci, e);
}

void wn_calib_pooled_free(wn_calib_pooled *r) {
    wn_calib_curve_free(&r->curve);
    memset(r, 0, sizeof *r);
    r->chosen = -1;
}
