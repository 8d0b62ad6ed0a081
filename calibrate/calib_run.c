/* calib_run.c - `weldnet calibrate` from start to end: check the options, print the effective
 * settings, make sure every output can be written before the long work, read the calibration
 * set (model over photos, or a scores CSV), decide (or, with --evaluate, apply the model's
 * calibration), print the summary on stdout and write the outputs. */
#include <stdlib.h>
#include <string.h>

#include "wn_calibrate.h"
#include "wn_outguard.h"

#define PATH_CAP 4096

void wn_calib_opts_defaults(wn_calib_opts *o) {
    memset(o, 0, sizeof *o);
    o->target = "0.95";
    o->confidence = 0.95;
    o->sum_tol = 1e-3;
    o->cache_mem_mb = 2048;
    o->batch = 128;
    o->device = 0; /* WN_DEVICE_AUTO */
}

static int check_opts(const wn_calib_opts *o, wn_err *e) {
    if (o->scores && (o->model || o->data))
        return wn_err_set(e, WN_EINPUT,
                          "--scores replaces --model and --data: give either --scores, or --model "
                          "with --data");
    if (!o->scores && (!o->model || !o->data))
        return wn_err_set(e, WN_EINPUT,
                          "--model and --data are required (or --scores FILE.csv; see --help)");
    if (o->evaluate && o->scores)
        return wn_err_set(e, WN_EINPUT, "--evaluate applies a calibrated model: give --model and "
                                        "--data, not --scores");
    if (!o->evaluate && !o->out) return wn_err_set(e, WN_EINPUT, "--out is required (see --help)");
    if (o->priors && !o->scores)
        return wn_err_set(e, WN_EINPUT,
                          "--priors is for --scores only (a model carries its training priors)");
    if (o->ok_class && !o->scores)
        return wn_err_set(e, WN_EINPUT,
                          "--ok-class is for --scores only (a model's class 0 is its ok class)");
    if (o->pooled_cap && !o->per_class)
        return wn_err_set(e, WN_EINPUT, "--pooled-cap needs --per-class");
    if (o->evaluate) return WN_OK; /* the model's calibration says the rest */
    int rc = wn_calib_check_confidence(o->confidence, e);
    if (rc) return wn_err_prefix(e, "--confidence");
    if (!(o->sum_tol >= 0.0 && o->sum_tol < 1.0))
        return wn_err_set(e, WN_EINPUT, "--sum-tolerance %g is outside [0, 1)", o->sum_tol);
    return wn_calib_parse_targets(o->target, o->per_class, 0, NULL, NULL, e);
}

/* Every output, checked for writability before the long work. */
typedef struct outputs {
    char curve[PATH_CAP], plot[PATH_CAP], report[PATH_CAP];
    const char *list[4];
    int n;
} outputs;

static int plan_outputs(const wn_calib_opts *o, outputs *w, wn_err *e) {
    memset(w, 0, sizeof *w);
    if (o->evaluate) {
        if (o->report) snprintf(w->report, sizeof w->report, "%s", o->report);
        if (o->report) w->list[w->n++] = w->report;
    } else {
        wn_calib_paths(o->out, o->curve, o->plot, o->report, w->curve, w->plot, w->report,
                       PATH_CAP);
        w->list[w->n++] = o->out;
        w->list[w->n++] = w->curve;
        w->list[w->n++] = w->plot;
        w->list[w->n++] = w->report;
    }
    /* No output may be a photo or the same file as another output or an input, with two
     * exceptions: the calibrated model may replace a model, --model itself included (it is
     * written atomically at the end), and the plot may replace a PNG (an earlier run's plot). */
    const char *what[4] = {"the calibrated model (--out)", "the curve", "the plot", "the report"};
    if (o->evaluate) what[0] = "the report";
    if (o->scores && !o->evaluate) what[0] = "the thresholds (--out)";
    const int may[4] = {o->evaluate || o->scores ? 0 : WN_OUT_MAY_REPLACE_MODEL, 0,
                        WN_OUT_MAY_REPLACE_PNG, 0};
    for (int i = 0; i < w->n; i++) {
        int rc = wn_outguard_check(w->list[i], what[i], may[i], e);
        for (int j = 0; j < i && rc == WN_OK; j++)
            rc = wn_outguard_distinct(w->list[i], what[i], w->list[j], what[j], e);
        if (rc == WN_OK && (i > 0 || o->evaluate))
            rc = wn_outguard_distinct(w->list[i], what[i], o->model, "the --model file", e);
        if (rc == WN_OK) rc = wn_outguard_distinct(w->list[i], what[i], o->scores, "the --scores file", e);
        if (rc == WN_OK) rc = wn_outguard_distinct(w->list[i], what[i], o->data, "the --data photos", e);
        if (rc) return rc;
        wn_calib_file f;
        rc = wn_calib_file_open(&f, w->list[i], e);
        if (rc) return rc;
        wn_calib_file_close(&f, 0, NULL);
    }
    return WN_OK;
}

static void print_settings(const wn_calib_opts *o, const outputs *w) {
    fprintf(stderr, "weldnet calibrate: settings\n");
    if (o->scores) {
        fprintf(stderr, "  scores        %s (ok class '%s', sums within %g of 1)\n", o->scores,
                o->ok_class ? o->ok_class : "ok", o->sum_tol);
        fprintf(stderr, "  priors        %s\n", o->priors ? o->priors : "none (scores used as given)");
    } else {
        fprintf(stderr, "  model         %s\n  data          %s\n", o->model, o->data);
    }
    if (o->evaluate) {
        fprintf(stderr, "  evaluate      the model's calibration on the data\n");
    } else {
        fprintf(stderr, "  mode          %s%s\n", o->per_class ? "per-class" : "pooled",
                o->pooled_cap ? " with a pooled-score cap" : "");
        fprintf(stderr, "  target recall %s\n  confidence    %g\n", o->target, o->confidence);
        fprintf(stderr, "  rule          %s\n",
                o->uncertified ? "point estimate (--uncertified)" : "certified");
    }
    if (!o->scores)
        fprintf(stderr, "  batch %d, threads %d, cache in memory up to %g MB\n", o->batch,
                o->threads, o->cache_mem_mb);
    for (int i = 0; i < w->n; i++) fprintf(stderr, "  output        %s\n", w->list[i]);
}

static int write_outputs(const wn_calib_opts *o, const outputs *w, const wn_calib_set *s,
                         const wn_calib_result *r, const wn_calibration *c, wn_err *e) {
    int rc = wn_calib_write_curve(w->curve, &r->pooled.curve, e);
    if (!rc) rc = wn_calib_write_plot(w->plot, r, e);
    if (!rc) rc = wn_calib_write_report(w->report, s, r, c, 0, e);
    if (!rc && !o->quiet)
        fprintf(stderr, "wrote %s, %s, %s, %s\n", o->out, w->curve, w->plot, w->report);
    return rc;
}

/* The decision on a set whose probabilities and priors are ready. */
static int decide(const wn_calib_opts *o, const wn_calib_set *s, wn_calib_result *r, wn_err *e) {
    double *target = wn_xcalloc((size_t)s->k, sizeof *target); /* (K) */
    int rc = wn_calib_parse_targets(o->target, o->per_class, s->k, s->names, target, e);
    if (!rc)
        rc = wn_calib_decide(s, o->per_class ? WN_CALMODE_PERCLASS : WN_CALMODE_POOLED,
                             o->uncertified ? WN_CALIB_POINT : WN_CALIB_CERTIFIED, o->confidence,
                             target, o->pooled_cap ? WN_CALIB_PERCLASS_CAP : 0, r, e);
    free(target);
    if (!rc) wn_calib_print(stdout, s, r);
    return rc;
}

static int run_scores(const wn_calib_opts *o, const outputs *w, wn_err *e) {
    wn_calib_set s;
    wn_calib_result r;
    wn_calibration c;
    memset(&r, 0, sizeof r);
    memset(&c, 0, sizeof c);
    int rc = wn_calib_read_scores(o->scores, o->ok_class, o->sum_tol, &s, e);
    if (!rc && !o->quiet)
        fprintf(stderr, "scores: %ld photos, %d classes (ok class '%s')\n", s.n, s.k, s.names[0]);
    if (!rc && o->priors) {
        rc = wn_calib_parse_priors(o->priors, s.k, s.names, s.priors, e);
        s.has_priors = !rc;
    }
    if (!rc) rc = decide(o, &s, &r, e);
    if (!rc) {
        wn_calib_make_record(&s, &r, &c);
        rc = wn_calib_write_ini(o->out, &c, s.names, s.has_priors, e);
    }
    if (!rc) rc = write_outputs(o, w, &s, &r, &c, e);
    wn_calibration_free(&c);
    wn_calib_result_free(&r);
    wn_calib_set_free(&s);
    return rc;
}

static int run_model(const wn_calib_opts *o, const outputs *w, wn_err *e) {
    wn_model m;
    wn_calib_set s;
    wn_calib_result r;
    wn_calibration c;
    memset(&s, 0, sizeof s);
    memset(&r, 0, sizeof r);
    memset(&c, 0, sizeof c);
    int rc = wn_model_load(o->model, &m, e);
    if (rc) return rc;
    if (m.n_classes < 2)
        rc = wn_err_set(e, WN_EINPUT, "%s: %d class: calibration needs the ok class and at least "
                                      "one defect class", o->model, m.n_classes);
    if (!rc && o->evaluate) rc = wn_model_get_calibration(&m, o->model, &c, e);
    if (!rc && !o->evaluate && wn_model_is_calibrated(&m) && !o->quiet)
        fprintf(stderr, "note: %s is calibrated already; its calibration is replaced\n", o->model);
    if (!rc) rc = wn_calib_set_from_photos(o, &m, o->model, &s, e);
    if (!rc && o->evaluate) {
        rc = wn_calib_apply(&s, &c, &r, e);
        if (!rc) wn_calib_print_evaluation(stdout, &s, &r);
        if (!rc && o->report) rc = wn_calib_write_report(w->report, &s, &r, &c, 1, e);
    } else if (!rc) {
        rc = decide(o, &s, &r, e);
        if (!rc) {
            wn_calib_make_record(&s, &r, &c);
            rc = wn_model_set_calibration(&m, &c, e);
        }
        if (!rc) rc = wn_model_save(o->out, &m, e);
        if (!rc) rc = write_outputs(o, w, &s, &r, &c, e);
    }
    wn_calibration_free(&c);
    wn_calib_result_free(&r);
    wn_calib_set_free(&s);
    wn_model_free(&m);
    return rc;
}

int wn_calibrate_run(const wn_calib_opts *o, wn_err *e) {
    int rc = check_opts(o, e);
    if (rc) return rc;
    outputs w;
    if ((rc = plan_outputs(o, &w, e))) return rc;
    if (!o->quiet) print_settings(o, &w);
    return o->scores ? run_scores(o, &w, e) : run_model(o, &w, e);
}
