/* calib_print.c - what a person reads after `weldnet calibrate`: the threshold-moving table
 * (per-class accuracy and balanced accuracy before and after dividing by the priors, as in table 2
 * of Buda et al.), the summary sentence, the Clopper-Pearson intervals, per-class recall, and the
 * automation the standard targets would give on the pooled curve. */
#include <math.h>
#include <stdarg.h>
#include <string.h>

#include "wn_calibrate.h"

static void pct(FILE *f, double v) {
    if (v < 0) fprintf(f, "%9s", "-");
    else fprintf(f, "%8.1f%%", 100.0 * v);
}

void wn_calib_print_moving(FILE *f, const wn_calib_set *s, const wn_calib_result *r) {
    int k = r->k, both = s->has_priors;
    if (both && s->output_priors)
        fprintf(f, "threshold-moving: probabilities divided by the priors the model's outputs "
                   "assume (from its training loss and sampler: the training shares for ce, "
                   "uniform for the bayesian loss) and renormalised; accuracy of the argmax "
                   "class\n");
    else if (both)
        fprintf(f, "threshold-moving: probabilities divided by the training priors and "
                   "renormalised; accuracy of the argmax class\n");
    else
        fprintf(f, "no priors given (--priors): probabilities used as given; accuracy of the "
                   "argmax class\n");
    fprintf(f, "  %-24s %8s %8s %9s%s\n", "class", "photos", "prior", both ? "before" : "accuracy",
            both ? "     after" : "");
    for (int j = 0; j < k; j++) {
        fprintf(f, "  %-24.24s %8ld %8.4f ", s->names[j], r->count[j], (double)s->priors[j]);
        pct(f, wn_metric_recall(&r->before, j));
        if (both) {
            fputc(' ', f);
            pct(f, wn_metric_recall(&r->after, j));
        }
        fputc('\n', f);
    }
    fprintf(f, "  %-42s", "balanced accuracy");
    pct(f, wn_metric_balanced_accuracy(&r->before));
    if (both) {
        fputc(' ', f);
        pct(f, wn_metric_balanced_accuracy(&r->after));
    }
    fprintf(f, "\n  %-42s", "accuracy");
    pct(f, wn_metric_accuracy(&r->before));
    if (both) {
        fputc(' ', f);
        pct(f, wn_metric_accuracy(&r->after));
    }
    fputc('\n', f);
}

static void put_threshold(FILE *f, float t) {
    if (isinf(t)) fprintf(f, "none");
    else fprintf(f, "%.3g", (double)t);
}

static void per_class(FILE *f, const wn_calib_set *s, const wn_calib_result *r, int evaluated) {
    fprintf(f, "per defect class:\n");
    for (int j = 1; j < r->k; j++) {
        long caught = r->count[j] - r->misses[j];
        fprintf(f, "  %s: ", s->names[j]);
        if (r->mode == WN_CALMODE_PERCLASS) {
            fprintf(f, "threshold ");
            put_threshold(f, r->threshold[j]);
            fprintf(f, ", ");
        }
        fprintf(f, "catches %.1f%% (%ld of %ld photos; %g%% interval %.1f%%-%.1f%%)",
                100.0 * (double)caught / (double)r->count[j], caught, r->count[j],
                100.0 * r->confidence, 100.0 * r->class_ci[j].lo, 100.0 * r->class_ci[j].hi);
        if (r->mode == WN_CALMODE_PERCLASS && r->target[j] > 0) {
            fprintf(f, ", target %.1f%%", 100.0 * r->target[j]);
            if (evaluated)
                fprintf(f, " %s on this set",
                        (double)caught >= r->target[j] * (double)r->count[j] ? "reached"
                                                                             : "NOT reached");
            else
                fprintf(f, ", misses allowed: %ld", r->allowed[j]);
        }
        fputc('\n', f);
    }
}

size_t wn_calib_result_summary(char *buf, size_t cap, const wn_calib_result *r, int evaluated) {
    if (!evaluated && r->mode == WN_CALMODE_POOLED) return wn_calib_summary(buf, cap, &r->pooled);
    char what[160];
    double c = 100.0 * r->confidence;
    if (evaluated)
        snprintf(what, sizeof what, "%g%% interval %.1f%%-%.1f%%, n = %ld", c,
                 100.0 * r->recall_ci.lo, 100.0 * r->recall_ci.hi, r->n_defect);
    else if (r->rule == WN_CALIB_CERTIFIED)
        snprintf(what, sizeof what,
                 "every defect class reaches its target with %g%% confidence each, n = %ld", c,
                 r->n_defect);
    else
        snprintf(what, sizeof what,
                 "every defect class reaches its target on this set; %g%% interval %.1f%%-%.1f%%, "
                 "n = %ld; not certified",
                 c, 100.0 * r->recall_ci.lo, 100.0 * r->recall_ci.hi, r->n_defect);
    int w = snprintf(buf, cap, "%s: catches %.1f%% of defects (%s); auto-passes %.1f%% of photos",
                     evaluated ? "on this set" : "per-class thresholds", 100.0 * r->recall, what,
                     100.0 * r->automation);
    return w < 0 ? 0 : (size_t)w;
}

void wn_calib_print(FILE *f, const wn_calib_set *s, const wn_calib_result *r) {
    char buf[4096];
    wn_calib_print_moving(f, s, r);
    fputc('\n', f);
    const char *rule = r->rule == WN_CALIB_CERTIFIED ? "certified" : "point estimate, uncertified";
    if (r->mode == WN_CALMODE_POOLED)
        fprintf(f, "pooled threshold on the defect score 1 - P(%s), %s, target recall %.1f%%:\n",
                s->names[0], rule, 100.0 * r->target[0]);
    else
        fprintf(f, "per-class thresholds%s, %s:\n",
                isinf(r->threshold[0]) ? "" : " with a cap on the pooled score", rule);
    wn_calib_result_summary(buf, sizeof buf, r, 0);
    fprintf(f, "%s\n", buf);
    double c = 100.0 * r->confidence;
    fprintf(f,
            "  recall %.1f%% (%g%% Clopper-Pearson interval %.1f%%-%.1f%%; %ld of %ld defect photos "
            "auto-passed",
            100.0 * r->recall, c, 100.0 * r->recall_ci.lo, 100.0 * r->recall_ci.hi, r->missed,
            r->n_defect);
    if (r->mode == WN_CALMODE_POOLED) fprintf(f, ", %ld allowed", r->allowed[0]);
    fprintf(f, ")\n  automation %.1f%% (%g%% interval %.1f%%-%.1f%%; %ld of %ld photos)\n",
            100.0 * r->automation, c, 100.0 * r->automation_ci.lo, 100.0 * r->automation_ci.hi,
            r->passed, r->n);
    if (r->mode == WN_CALMODE_PERCLASS && !isinf(r->threshold[0])) {
        fprintf(f, "  pooled-score cap ");
        put_threshold(f, r->threshold[0]);
        fputc('\n', f);
    }
    per_class(f, s, r, 0);
    fprintf(f, "automation at other targets (one pooled threshold, %s):\n", rule);
    wn_calib_summary_targets(buf, sizeof buf, &r->pooled.curve, r->confidence, r->rule);
    fputs(buf, f);
}

void wn_calib_print_evaluation(FILE *f, const wn_calib_set *s, const wn_calib_result *r) {
    char buf[1024];
    wn_calib_print_moving(f, s, r);
    fputc('\n', f);
    wn_calib_result_summary(buf, sizeof buf, r, 1);
    fprintf(f, "%s\n", buf);
    double c = 100.0 * r->confidence;
    fprintf(f, "  automation %.1f%% (%g%% interval %.1f%%-%.1f%%; %ld of %ld photos)\n",
            100.0 * r->automation, c, 100.0 * r->automation_ci.lo, 100.0 * r->automation_ci.hi,
            r->passed, r->n);
    if (r->mode == WN_CALMODE_POOLED)
        fprintf(f, "  target %.1f%%: %s on this set\n", 100.0 * r->target[0],
                r->recall >= r->target[0] ? "reached" : "NOT reached");
    per_class(f, s, r, 1);
}
