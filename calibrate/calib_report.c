/* calib_report.c - the calibration report as CSV, one fact a row (section, name, value, and the
 * interval or a note where one applies): the settings, the threshold-moving table, the
 * thresholds, misses, recall and automation with their Clopper-Pearson intervals, the automation
 * of the standard targets, and the summary sentence. docs/CALIBRATE.md lists the rows. */
#include <math.h>
#include <stdio.h>

#include "wn_calibrate.h"

static void key(FILE *f, const char *section, const char *name) {
    wn_calib_csv_str(f, 1, section);
    wn_calib_csv_str(f, 0, name);
}

static void row_str(FILE *f, const char *section, const char *name, const char *v) {
    key(f, section, name);
    wn_calib_csv_str(f, 0, v ? v : "");
    fputs(",,,\n", f);
}

static void row_num(FILE *f, const char *section, const char *name, double v) {
    key(f, section, name);
    if (v < 0) wn_calib_csv_empty(f, 0); /* a class without photos has no accuracy */
    else wn_calib_csv_num(f, 0, v);
    fputs(",,,\n", f);
}

static void row_long(FILE *f, const char *section, const char *name, long v) {
    key(f, section, name);
    wn_calib_csv_long(f, 0, v);
    fputs(",,,\n", f);
}

static void row_float(FILE *f, const char *section, const char *name, float v) {
    key(f, section, name);
    wn_calib_csv_num(f, 0, (double)v);
    fputs(",,,\n", f);
}

static void row_ci(FILE *f, const char *section, const char *name, double v, wn_calib_interval ci) {
    key(f, section, name);
    wn_calib_csv_num(f, 0, v);
    wn_calib_csv_num(f, 0, ci.lo);
    wn_calib_csv_num(f, 0, ci.hi);
    wn_calib_csv_empty(f, 0);
    wn_calib_csv_end(f);
}

static void row_note(FILE *f, const char *section, const char *name, const char *note) {
    key(f, section, name);
    fputs(",,,,", f);
    wn_calib_csv_str(f, 1, note);
    wn_calib_csv_end(f);
}

static void moving(FILE *f, const char *section, const wn_calib_set *s, const wn_confusion *cm) {
    for (int j = 0; j < s->k; j++) row_num(f, section, s->names[j], wn_metric_recall(cm, j));
    row_num(f, section, "balanced", wn_metric_balanced_accuracy(cm));
    row_num(f, section, "overall", wn_metric_accuracy(cm));
}

static void std_targets(FILE *f, const wn_calib_result *r) {
    const double t[WN_CALIB_N_STD_TARGETS] = WN_CALIB_STD_TARGETS; /* (4) */
    for (int i = 0; i < WN_CALIB_N_STD_TARGETS; i++) {
        char name[16], note[128];
        snprintf(name, sizeof name, "%.2f", t[i]);
        wn_calib_budget b;
        long idx;
        if (wn_calib_curve_at_target(&r->pooled.curve, t[i], r->confidence, r->rule, &b, &idx,
                                     NULL) != WN_OK)
            continue;
        if (idx < 0) {
            snprintf(note, sizeof note, "cannot certify with %ld defect photos (needs %ld)",
                     r->n_defect, b.n_needed);
            row_note(f, "at_target_threshold", name, note);
            row_note(f, "at_target_automation", name, note);
            continue;
        }
        wn_calib_point p = wn_calib_curve_point(&r->pooled.curve, idx);
        wn_calib_interval ci;
        wn_calib_clopper_pearson(p.passed, r->n, r->confidence, &ci, NULL);
        row_float(f, "at_target_threshold", name, p.threshold);
        row_ci(f, "at_target_automation", name, p.automation, ci);
    }
}

int wn_calib_write_report(const char *path, const wn_calib_set *s, const wn_calib_result *r,
                          const wn_calibration *c, int evaluated, wn_err *e) {
    wn_calib_file o;
    int rc = wn_calib_file_open(&o, path, e);
    if (rc) return rc;
    FILE *f = o.f;
    static const char *const cols[] = {"section", "name", "value", "lower", "upper", "note"};
    for (int i = 0; i < 6; i++) wn_calib_csv_str(f, i == 0, cols[i]);
    wn_calib_csv_end(f);
    int k = r->k;
    row_str(f, "setting", "source", s->source);
    row_str(f, "setting", "mode", r->mode == WN_CALMODE_PERCLASS ? "per-class" : "pooled");
    row_str(f, "setting", "rule", r->rule == WN_CALIB_CERTIFIED ? "certified" : "point");
    row_num(f, "setting", "confidence", r->confidence);
    row_long(f, "setting", "n_photos", r->n);
    row_long(f, "setting", "n_defect", r->n_defect);
    row_str(f, "setting", "set_hash", s->set_hash);
    row_str(f, "setting", "divide_by_priors", s->has_priors ? "yes" : "no");
    row_str(f, "setting", "evaluated", evaluated ? "yes" : "no");
    row_str(f, "setting", "date", c->date);
    for (int j = 0; j < k; j++) row_long(f, "photos", s->names[j], r->count[j]);
    for (int j = 0; j < k; j++) row_float(f, "prior", s->names[j], c->priors[j]);
    moving(f, "accuracy_before", s, &r->before);
    moving(f, "accuracy_after", s, &r->after);
    for (int j = 0; j < k; j++) {
        const char *name = j ? s->names[j] : "pooled";
        row_num(f, "target", name, r->target[j]);
        row_float(f, "threshold", name, r->threshold[j]);
    }
    if (evaluated) {
        /* the misses the rule was allowed belong to the calibration, not to this set */
    } else if (r->mode == WN_CALMODE_POOLED) {
        row_long(f, "allowed_misses", "defects", r->allowed[0]);
    } else {
        for (int j = 1; j < k; j++) row_long(f, "allowed_misses", s->names[j], r->allowed[j]);
    }
    row_long(f, "misses", "defects", r->missed);
    for (int j = 1; j < k; j++) row_long(f, "misses", s->names[j], r->misses[j]);
    row_ci(f, "recall", "defects", r->recall, r->recall_ci);
    row_num(f, "recall_lower", "defects", r->recall_lower);
    for (int j = 1; j < k; j++)
        row_ci(f, "recall", s->names[j],
               (double)(r->count[j] - r->misses[j]) / (double)r->count[j], r->class_ci[j]);
    row_ci(f, "automation", "photos", r->automation, r->automation_ci);
    row_long(f, "passed", "photos", r->passed);
    std_targets(f, r);
    char buf[1024];
    wn_calib_result_summary(buf, sizeof buf, r, evaluated);
    row_note(f, "summary", "", buf);
    return wn_calib_file_close(&o, 1, e);
}
