/* cls_summary.c - the end of a classify or merge run: the prior-shift estimate of each model,
 * the summary printed for the team (automation, review counts by suspected defect, unreadable
 * photos, speed; with ground truth the achieved defect recall, the confusion matrix and the
 * missed defects; the class shares against training with a warning), and the same figures as
 * "key = value" lines (C locale) in the summary file. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "wn_calib.h"
#include "wn_classify.h"

#define EM_TOL 1e-7
#define EM_MAX_ITER 2000
#define SHIFT_MIN_PHOTOS 30   /* fewer decided photos: the estimate is shown, never warned on */
#define SHIFT_MIN_CHANGE 0.01 /* a share must also move by this much (absolute) to warn */

char *wn_cls_derived_path(const char *report, const char *suffix) {
    size_t n = strlen(report);
    if (n >= 4 && !strcmp(report + n - 4, ".csv")) n -= 4;
    size_t ls = strlen(suffix);
    char *s = wn_xmalloc(n + ls + 1);
    memcpy(s, report, n);
    memcpy(s + n, suffix, ls + 1);
    return s;
}

static double share(long a, long b) { return b > 0 ? (double)a / (double)b : 0.0; }

/* The shift estimate of every model (shifts (M), caller frees each est/train). */
static int estimate_shifts(wn_cls_tally *t, const wn_cls_run_info *info, wn_cls_shift *s,
                           wn_err *e) {
    const wn_cls_layout *L = t->L;
    for (int m = 0; m < L->n_models; m++) {
        int k = L->k[m];
        s[m].k = k;
        s[m].est = wn_xcalloc((size_t)k, sizeof(double));
        s[m].train = info->train_priors ? info->train_priors[m] : NULL;
        int rc = wn_cls_prior_em_spill(t, L->off[m], k, s[m].train, EM_TOL, EM_MAX_ITER, s[m].est,
                                       &s[m].iterations, e);
        if (rc) return rc;
        if (!s[m].train || t->spilled < SHIFT_MIN_PHOTOS) continue;
        double worst = 1.0;
        for (int j = 0; j < k; j++) {
            double a = s[m].train[j], b = s[m].est[j];
            double ratio = a > 0 && b > 0 ? fmax(a / b, b / a) : INFINITY;
            if (fabs(a - b) >= SHIFT_MIN_CHANGE && ratio >= info->shift_warn && ratio > worst) {
                worst = ratio;
                s[m].warn = 1;
                s[m].warn_class = j;
            }
        }
    }
    return WN_OK;
}

/* Truth rows in print order: ok labels first, then by name. */
static void truth_order(const wn_cls_tally *t, int *order) {
    for (int i = 0; i < t->n_truth; i++) order[i] = i;
    for (int i = 1; i < t->n_truth; i++) {
        int v = order[i], j = i - 1;
        while (j >= 0 && (t->truth_ok[order[j]] < t->truth_ok[v] ||
                          (t->truth_ok[order[j]] == t->truth_ok[v] &&
                           strcmp(t->truth[order[j]], t->truth[v]) > 0))) {
            order[j + 1] = order[j];
            j--;
        }
        order[j + 1] = v;
    }
}

/* 1 when probability column q is a defect class (not class 0 of its model). */
static int defect_col(const wn_cls_layout *L, int q) {
    for (int m = 0; m < L->n_models; m++)
        if (q == L->off[m]) return 0;
    return 1;
}

static const char *col_name(const wn_cls_layout *L, int c) {
    if (c == 0) return "pass";
    if (c == L->n_p + 1) return "error";
    return L->disp[c - 1];
}

static void print_human(const wn_cls_tally *t, const wn_cls_run_info *info, const wn_cls_shift *s,
                        const int *order, FILE *o) {
    const wn_cls_layout *L = t->L;
    const int P = L->n_p;
    fprintf(o, "\nsummary of %s:\n", info->report);
    fprintf(o, "  photos %ld: auto-passed %ld (automation %.1f%%), to review %ld, unreadable %ld\n",
            t->rows, t->pass, 100 * share(t->pass, t->rows), t->review, t->error);
    if (t->review) {
        fprintf(o, "  to review by most probable suspected defect:");
        for (int q = 0; q < P; q++)
            if (t->review_by[q]) fprintf(o, " %s %ld", L->disp[q], t->review_by[q]);
        if (t->review_other) fprintf(o, " (none named) %ld", t->review_other);
        fputc('\n', o);
    }
    if (info->skipped) fprintf(o, "  files that are not photos, left out: %ld\n", info->skipped);
    if (info->revisits)
        fprintf(o, "  folders reached twice (links), searched once: %ld\n", info->revisits);
    if (info->elapsed_s > 0)
        fprintf(o, "  this run: %ld photos in %.1fs, %.1f photos/s%s\n", info->rows_this_run,
                info->elapsed_s, info->rows_this_run / info->elapsed_s,
                info->resumed ? " (resumed: the figures above cover the whole report)" : "");
    if (t->labelled) {
        fprintf(o, "audit against ground truth (%s): %ld labelled photos, %ld of them defects\n",
                info->labels_source ? info->labels_source : "truth column", t->labelled,
                t->defects);
        if (t->defects) {
            wn_calib_interval ci = {0, 1};
            wn_calib_clopper_pearson(t->defects - t->missed, t->defects, 0.95, &ci, NULL);
            fprintf(o, "  defect recall %.2f%% (%ld of %ld flagged; 95%% interval %.2f-%.2f%%)\n",
                    100 * share(t->defects - t->missed, t->defects), t->defects - t->missed,
                    t->defects, 100 * ci.lo, 100 * ci.hi);
        }
        long passed = 0;
        for (int i = 0; i < t->n_truth; i++) passed += t->conf[(size_t)i * (size_t)(P + 2)];
        fprintf(o, "  automation %.2f%% (%ld of %ld labelled photos auto-passed; ok photos passed "
                   "%ld of %ld)\n",
                100 * share(passed, t->labelled), passed, t->labelled, t->ok_passed, t->ok_photos);
        fprintf(o, "  confusion (rows: truth, columns: decision and most probable defect):\n  %-14s", "");
        for (int c = 0; c < P + 2; c++)
            if (c == 0 || c == P + 1 || defect_col(L, c - 1)) fprintf(o, " %10.10s", col_name(L, c));
        fputc('\n', o);
        for (int r = 0; r < t->n_truth; r++) {
            int i = order[r];
            fprintf(o, "  %-14.14s", t->truth[i]);
            for (int c = 0; c < P + 2; c++)
                if (c == 0 || c == P + 1 || defect_col(L, c - 1))
                    fprintf(o, " %10ld", t->conf[(size_t)i * (size_t)(P + 2) + (size_t)c]);
            fputc('\n', o);
        }
        fprintf(o, "  missed defects (auto-passed): %ld\n", t->missed);
        for (long i = 0; i < t->missed && i < WN_CLS_SHOW_MISSES; i++)
            fprintf(o, "    %s\n", t->shown_miss[i]);
        if (t->missed > WN_CLS_SHOW_MISSES) fprintf(o, "    ...\n");
        if (t->misses_path) fprintf(o, "  every miss: %s\n", t->misses_path);
    }
    fprintf(o, "prior shift (EM of Saerens et al. 2002 on %ld decided photos):\n", t->spilled);
    for (int m = 0; m < L->n_models; m++) {
        fprintf(o, "  %s:", L->label[m]);
        for (int j = 0; j < s[m].k; j++) {
            if (s[m].train) fprintf(o, " %s %.1f%% -> %.1f%%", L->cls[L->off[m] + j],
                                    100 * s[m].train[j], 100 * s[m].est[j]);
            else fprintf(o, " %s %.1f%%", L->cls[L->off[m] + j], 100 * s[m].est[j]);
            fputc(j + 1 < s[m].k ? ',' : '\n', o);
        }
        if (s[m].warn) {
            int j = s[m].warn_class;
            fprintf(o, "WARNING: model %s: the class shares of these photos differ strongly from "
                       "training (%s %.1f%% -> %.1f%%). The thresholds are NOT changed; the "
                       "calibrated recall may not hold under such a shift (a new camera or "
                       "setup?): audit a labelled sample or recalibrate on photos like these.\n",
                    L->label[m], L->cls[L->off[m] + j], 100 * s[m].train[j], 100 * s[m].est[j]);
        }
    }
}

static int write_file(const wn_cls_tally *t, const wn_cls_run_info *info, const wn_cls_shift *s,
                      const int *order, wn_err *e) {
    const wn_cls_layout *L = t->L;
    const int P = L->n_p;
    FILE *f = wn_fopen(info->summary_path, "w", e);
    if (!f) return WN_ERUNTIME;
    fprintf(f, "# weldnet classify summary (docs/CLASSIFY.md)\nreport = %s\n", info->report);
    if (info->model_ids)
        for (int m = 0; m < L->n_models; m++) fprintf(f, "model.%s = %s\n", L->label[m], info->model_ids[m]);
    fprintf(f, "shard = %d/%d\nresumed = %d\n", info->shard_i, info->shard_n, info->resumed);
    fprintf(f, "photos = %ld\npass = %ld\nreview = %ld\nerror = %ld\nautomation = %.6g\n", t->rows,
            t->pass, t->review, t->error, share(t->pass, t->rows));
    for (int q = 0; q < P; q++)
        if (defect_col(L, q)) fprintf(f, "review.%s = %ld\n", L->disp[q], t->review_by[q]);
    fprintf(f, "review.none_named = %ld\nnot_photos = %ld\nfolders_revisited = %ld\n",
            t->review_other, info->skipped, info->revisits);
    fprintf(f, "photos_this_run = %ld\nelapsed_s = %.3f\nphotos_per_s = %.3f\n", info->rows_this_run,
            info->elapsed_s, info->elapsed_s > 0 ? info->rows_this_run / info->elapsed_s : 0.0);
    if (t->labelled) {
        long passed = 0;
        for (int i = 0; i < t->n_truth; i++) passed += t->conf[(size_t)i * (size_t)(P + 2)];
        fprintf(f, "audit.labels = %s\naudit.photos = %ld\naudit.defect_photos = %ld\n"
                   "audit.missed = %ld\naudit.automation = %.6g\n",
                info->labels_source ? info->labels_source : "truth column", t->labelled,
                t->defects, t->missed, share(passed, t->labelled));
        if (t->defects) {
            wn_calib_interval ci = {0, 1};
            wn_calib_clopper_pearson(t->defects - t->missed, t->defects, 0.95, &ci, NULL);
            fprintf(f, "audit.defect_recall = %.6g\naudit.defect_recall_ci95 = %.6g,%.6g\n",
                    share(t->defects - t->missed, t->defects), ci.lo, ci.hi);
        }
        for (int r = 0; r < t->n_truth; r++) {
            int i = order[r];
            for (int c = 0; c < P + 2; c++)
                if (c == 0 || c == P + 1 || defect_col(L, c - 1))
                    fprintf(f, "audit.confusion.%s.%s = %ld\n", t->truth[i], col_name(L, c),
                            t->conf[(size_t)i * (size_t)(P + 2) + (size_t)c]);
        }
        if (t->misses_path) fprintf(f, "audit.misses_file = %s\n", t->misses_path);
    }
    fprintf(f, "prior.photos = %ld\n", t->spilled);
    for (int m = 0; m < L->n_models; m++) {
        for (int j = 0; j < s[m].k; j++) {
            if (s[m].train)
                fprintf(f, "prior.%s.train.%s = %.6g\n", L->label[m], L->cls[L->off[m] + j],
                        s[m].train[j]);
            fprintf(f, "prior.%s.estimate.%s = %.6g\n", L->label[m], L->cls[L->off[m] + j],
                    s[m].est[j]);
        }
        fprintf(f, "prior.%s.iterations = %d\nprior.%s.warning = %d\n", L->label[m],
                s[m].iterations, L->label[m], s[m].warn);
    }
    return wn_fclose(f, info->summary_path, e);
}

int wn_cls_summary_finish(wn_cls_tally *t, const wn_cls_run_info *info, FILE *out, wn_err *e) {
    const wn_cls_layout *L = t->L;
    int rc = WN_OK;
    /* a labelled run always leaves a misses file, empty but for the header when nothing was
     * missed, so an old one is never mistaken for this run's */
    if (t->labelled && t->misses_path && !t->misses) {
        t->misses = wn_fopen(t->misses_path, "w", e);
        if (!t->misses) return WN_ERUNTIME;
        if (wn_cls_write_header(t->misses, L))
            rc = wn_err_set(e, WN_ERUNTIME, "%s: write failed: %s", t->misses_path, strerror(errno));
    }
    if (t->misses) {
        int rc2 = wn_fclose(t->misses, t->misses_path, rc ? NULL : e);
        t->misses = NULL;
        if (rc2 && !rc) rc = rc2;
    }
    if (rc) return rc;
    wn_cls_shift *s = wn_xcalloc((size_t)L->n_models, sizeof *s); /* (M) */
    int *order = wn_xcalloc((size_t)(t->n_truth ? t->n_truth : 1), sizeof(int));
    truth_order(t, order);
    rc = estimate_shifts(t, info, s, e);
    if (rc == WN_OK && out) print_human(t, info, s, order, out);
    if (rc == WN_OK && info->summary_path) {
        rc = write_file(t, info, s, order, e);
        if (rc == WN_OK && out) fprintf(out, "summary: %s\n", info->summary_path);
    }
    for (int m = 0; m < L->n_models; m++) free(s[m].est);
    free(s);
    free(order);
    return rc;
}
