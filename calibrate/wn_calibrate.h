/* wn_calibrate.h - the `weldnet calibrate` stage around the numeric core of wn_calib.h: where the
 * probabilities come from (a model run over labelled photos, or a scores CSV from another
 * framework), the recall targets given on the command line, the decision (threshold-moving, the
 * pooled or per-class threshold search under the point or certified rule, the intervals), and
 * the outputs (calibrated model, thresholds INI, trade-off curve CSV, plot, report CSV).
 *
 * Ownership: every struct here owns the arrays it points to (released by its _free) unless the
 * comment says "not owned". Functions return WN_OK, WN_EINPUT (bad input: the message names the
 * file, line or option) or WN_ERUNTIME. */
#ifndef WN_CALIBRATE_H
#define WN_CALIBRATE_H

#include <stdint.h>
#include <stdio.h>

#include "wn_calib.h"
#include "wn_calibration.h"
#include "wn_metrics.h"
#include "wn_model.h"

/* ======================================================================================
 * What `weldnet calibrate` was asked to do (calib_cli.c fills it)
 * ====================================================================================== */

typedef struct wn_calib_opts {
    const char *model;     /* --model: trained (or, with --evaluate, calibrated) model */
    const char *data;      /* --data: labelled photos (class folders or manifest CSV) */
    const char *scores;    /* --scores: CSV path,label,<one probability column per class> */
    const char *out;       /* --out: calibrated model (--model) or thresholds INI (--scores) */
    const char *report;    /* --report: report CSV; NULL = derived from out (see wn_calib_paths) */
    const char *curve;     /* --curve: trade-off curve CSV; NULL = derived */
    const char *plot;      /* --plot: PNG of recall against automation; NULL = derived */
    const char *target;    /* --target-recall text: "0.95" or "bag=0.99,sandal=0.9" (per-class) */
    const char *priors;    /* --priors text (scores only): "ok=0.8,bag=0.1,..."; NULL = none */
    const char *ok_class;  /* --ok-class (scores only): the ok class's column; NULL = "ok" */
    const char *cache_dir; /* --cache-dir; NULL = $TMPDIR */
    double confidence;     /* --confidence, (0, 1) */
    double sum_tol;        /* --sum-tolerance (scores only): |sum of a row - 1| allowed */
    double cache_mem_mb;   /* --cache-mem */
    int uncertified;       /* --uncertified: point rule instead of the certified rule */
    int per_class;         /* --per-class: one threshold per defect class */
    int pooled_cap;        /* --pooled-cap: with --per-class, also search a pooled-score cap */
    int evaluate;          /* --evaluate: apply a calibrated model to labelled photos */
    int strict, quiet, batch, threads, device;
} wn_calib_opts;

/* Defaults: target "0.95", confidence 0.95, sum_tol 1e-3, cache 2048 MB, batch 128, device auto. */
void wn_calib_opts_defaults(wn_calib_opts *o);

/* `weldnet calibrate ...` entry point (calib_cli.c): returns the exit code. */
int wn_calibrate_main(int argc, char **argv);
/* The whole stage (calib_run.c): inputs, decision, outputs, printed summary. */
int wn_calibrate_run(const wn_calib_opts *o, wn_err *e);

/* ======================================================================================
 * The calibration set: probabilities and labels, from either route
 * ====================================================================================== */

typedef struct wn_calib_set {
    int k;           /* classes; class 0 is the ok class */
    char **names;    /* (K) class names */
    long n;          /* photos */
    float *probs;    /* (N, K) probabilities as the model or the scores file gave them */
    int *labels;     /* (N) in [0, K) */
    float *priors;   /* (K) priors to divide out (uniform when has_priors = 0): the model's
                        output priors (wn_model_output_priors) or --priors */
    int has_priors;  /* 0: the probabilities are used as given, not divided nor renormalised
                        (scores without --priors) */
    int output_priors; /* 1: priors are the output_priors of the model's training metadata
                          (its loss and sampler), 0: the training shares or --priors */
    char *source;    /* the photo folder, manifest or scores file */
    char set_hash[17]; /* wn_calib_hash_paths of the photos' paths */
    long n_bad;      /* photos listed but unreadable (left out) */
} wn_calib_set;

void wn_calib_set_free(wn_calib_set *s);

/* Runs the model over the labelled photos of o->data (classes fixed to the model's, decoded once
 * on all cores with progress, scored in evaluation mode with progress). Unreadable photos are
 * listed on stderr and left out (fatal with o->strict). priors = the model's training priors. */
int wn_calib_set_from_photos(const wn_calib_opts *o, const wn_model *m, const char *model_path,
                             wn_calib_set *s, wn_err *e);

/* Reads a scores CSV (calib_scores_csv.c, libcsv): a header naming the columns path, label
 * (any case, any order) and one probability column per class (every other column); the ok class
 * (ok_class, "ok" when NULL) becomes class 0, the others keep their header order. Each row: a
 * non-empty path and label, the label one of the class columns, every probability a number in
 * [0, 1] (NaN refused), the row summing to 1 within sum_tol. Paths must be unique. Errors name
 * the file and line. priors uniform, has_priors = 0. */
int wn_calib_read_scores(const char *path, const char *ok_class, double sum_tol, wn_calib_set *s,
                         wn_err *e);

/* FNV-1a 64-bit hash (offset basis 0xcbf29ce484222325, prime 0x100000001b3) of the paths sorted
 * by strcmp and joined by '\n' (no trailing newline), as 16 lowercase hex digits into out. Each
 * path first loses the prefix "root/" when it has it (root NULL or "": none), so the hash does
 * not depend on where the set lies. */
void wn_calib_hash_paths(char *const *paths /* (N) */, long n, const char *root, char out[17]);

/* ======================================================================================
 * Recall targets and other per-class values from the command line (calib_targets.c)
 * ====================================================================================== */

/* Parses a --target-recall list: comma-separated items, each a bare number T (every defect
 * class, or the pooled target) or NAME=T for one defect class (per_class only). Targets are in
 * (0, 1]. names (K) may be NULL: then only the syntax and the ranges are checked. With names:
 * pooled mode sets target[0] and target[j] = 0; per-class mode sets target[0] = 0 and
 * target[j] for every defect class (a named value, else the bare number; a class with neither
 * is an error), unknown or repeated names and the ok class are errors. */
int wn_calib_parse_targets(const char *text, int per_class, int k, char *const *names,
                           double *target /* (K) out */, wn_err *e);
/* Parses --priors: NAME=P for every class (P finite, >= 0, not all zero), normalised to sum 1. */
int wn_calib_parse_priors(const char *text, int k, char *const *names, float *priors /* (K) */,
                          wn_err *e);

/* ======================================================================================
 * The decision (calib_decide.c)
 * ====================================================================================== */

typedef struct wn_calib_result {
    int k, mode, rule;        /* WN_CALMODE_*, WN_CALIB_POINT / WN_CALIB_CERTIFIED */
    double confidence;
    long n, n_defect;
    double *target;           /* (K) as wn_calibration.target */
    float *cal;               /* (N, K) probabilities divided by the priors, renormalised */
    float *score;             /* (N) pooled defect score of each photo (wn_calib_pooled_score) */
    wn_confusion before;      /* argmax of the probabilities as given */
    wn_confusion after;       /* argmax after threshold-moving */
    wn_calib_pooled pooled;   /* the pooled curve (both modes); chosen = -1 in per-class mode */
    wn_calib_perclass pc;     /* per-class mode: the search result (zeroed otherwise) */
    long *count;              /* (K) photos per class */
    long *allowed;            /* (K) misses allowed: [0] pooled budget (pooled mode), [j] class j's */
    long *misses;             /* (K) photos of each class auto-passed ([0]: ok photos passed) */
    float *threshold;         /* (K) the decision thresholds (wn_decide.h) */
    long passed, missed;      /* photos auto-passed; defect photos among them */
    double recall, recall_lower, automation;
    wn_calib_interval recall_ci, automation_ci; /* Clopper-Pearson at confidence */
    wn_calib_interval *class_ci; /* (K) per-class recall intervals ([0] unused) */
} wn_calib_result;

/* Threshold-moving and the threshold search on the set: mode WN_CALMODE_POOLED (target[0]) or
 * WN_CALMODE_PERCLASS (target[j]; flags as wn_calib_perclass_search), rule WN_CALIB_POINT or
 * WN_CALIB_CERTIFIED. WN_EINPUT for a set without defect photos or without photos of some
 * defect class (naming the source and the class), and when the certified rule cannot certify
 * ("... at least N are needed; --uncertified gives the point estimate"). */
int wn_calib_decide(const wn_calib_set *s, int mode, int rule, double confidence,
                    const double *target /* (K) */, int flags, wn_calib_result *r, wn_err *e);
/* Applies a given calibration c (its priors and thresholds) to the set and fills r with what it
 * achieves (curve, per-class misses, recall, automation, intervals; the mode, rule, confidence
 * and targets are c's). Used by --evaluate and as wn_calib_decide's last step. */
int wn_calib_apply(const wn_calib_set *s, const wn_calibration *c, wn_calib_result *r, wn_err *e);
void wn_calib_result_free(wn_calib_result *r);

/* The calibration record of a result (priors from s, set hash, source, date now or, when the
 * environment sets SOURCE_DATE_EPOCH, that time). c is initialised here; free it. */
void wn_calib_make_record(const wn_calib_set *s, const wn_calib_result *r, wn_calibration *c);

/* ======================================================================================
 * Outputs (calib_report.c, calib_curve_csv.c, calib_plot.c, calib_ini.c, calib_print.c)
 * ====================================================================================== */

/* Output paths: explicit ones as given, the others derived from out by replacing its extension
 * (from the last '.' after the last '/'): STEM.curve.csv, STEM.curve.png, STEM.report.csv.
 * Buffers of cap bytes. */
void wn_calib_paths(const char *out, const char *curve, const char *plot, const char *report,
                    char *curve_out, char *plot_out, char *report_out, size_t cap);

/* A text output written to PATH.tmp and renamed over PATH on success (an existing PATH is
 * untouched on failure). */
typedef struct wn_calib_file {
    FILE *f;
    char *path, *tmp; /* owned */
} wn_calib_file;
int wn_calib_file_open(wn_calib_file *o, const char *path, wn_err *e);
/* Checks the writes, closes and renames (commit) or removes the temporary file (commit = 0).
 * Always releases o. */
int wn_calib_file_close(wn_calib_file *o, int commit, wn_err *e);
/* CSV pieces (libcsv): a quoted string field, a number field (wn_format_num, src/wn_text.h), an integer,
 * an empty field, and the end of a row. first is 1 for the first field of a row (no leading
 * comma). Write errors show at wn_calib_file_close. */
void wn_calib_csv_str(FILE *f, int first, const char *s);
void wn_calib_csv_num(FILE *f, int first, double v);
void wn_calib_csv_long(FILE *f, int first, long v);
void wn_calib_csv_empty(FILE *f, int first);
void wn_calib_csv_end(FILE *f);

/* The curve CSV: header "threshold","recall","automation","precision","misses","passed", then one
 * row per curve point (thresholds ascending, the last inf). */
int wn_calib_write_curve(const char *path, const wn_calib_curve *c, wn_err *e);
/* The PNG: recall (y) against automation (x) of the pooled curve (at most ~4000 points drawn),
 * the decision r reached marked, a dashed line at the pooled target in pooled mode. */
int wn_calib_write_plot(const char *path, const wn_calib_result *r, wn_err *e);
/* The report CSV (docs/CALIBRATE.md): header "section","name","value","lower","upper","note".
 * c is the calibration made (or, evaluated = 1, the one applied by --evaluate). */
int wn_calib_write_report(const char *path, const wn_calib_set *s, const wn_calib_result *r,
                          const wn_calibration *c, int evaluated, wn_err *e);
/* The thresholds INI for other frameworks (inih-readable, every line under 200 bytes): section
 * [calibration] with the record's fields and divide_by_priors = yes|no (divide: whether the
 * probabilities are divided by the priors before deciding), then [class0] .. [classK-1] with
 * name, prior, and (defect classes) threshold and target. WN_EINPUT when a class name cannot be
 * written as an INI value (longer than 150 bytes, blanks at either end, ';' or '#', a control
 * character). */
int wn_calib_write_ini(const char *path, const wn_calibration *c, char *const *names, int divide,
                       wn_err *e);

/* Prints what a person reads (calib_print.c): the threshold-moving table (per-class accuracy
 * before and after dividing by the priors, balanced accuracy), the summary line, the intervals,
 * per-class recall, and the automation of the standard targets on the pooled curve. */
void wn_calib_print(FILE *f, const wn_calib_set *s, const wn_calib_result *r);
/* The threshold-moving table alone. */
void wn_calib_print_moving(FILE *f, const wn_calib_set *s, const wn_calib_result *r);
/* What --evaluate prints: the table, recall and automation with intervals, targets reached. */
void wn_calib_print_evaluation(FILE *f, const wn_calib_set *s, const wn_calib_result *r);
/* The summary sentence (snprintf-like): pooled mode wn_calib_summary; per-class mode "per-class
 * thresholds: catches 96.1% of defects (every defect class reaches its target with 95%
 * confidence each, n = 76); auto-passes 70.3% of photos"; evaluated = 1: "on this set: catches
 * ... (95% interval 89.0%-99.2%, n = 76); auto-passes ...". */
size_t wn_calib_result_summary(char *buf, size_t cap, const wn_calib_result *r, int evaluated);

#endif
