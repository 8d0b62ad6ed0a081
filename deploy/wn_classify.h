/* wn_classify.h - `weldnet classify` and `weldnet merge`: calibrated models applied to folders of
 * photos through a bounded pipeline (folder walk -> decode workers -> bounded ring -> batched
 * inference -> in-order CSV writer), the audit report and its summary, resume, ground-truth
 * audit, prior-shift estimation (EM, Saerens, Latinne and Decaestecker 2002), shards and merge.
 * User documentation: docs/CLASSIFY.md.
 *
 * The report (one row per photo, sorted by the path's bytes) has the columns
 *   path, decision, defects, truth, p:<model>:<class>..., models, error
 * Text that may hold arbitrary bytes (paths, labels, class names, error text) is written with
 * wn_cls_escape: every control byte, '%', and byte that is not part of valid UTF-8 becomes %XX,
 * so every row is one line and every name is recoverable (wn_cls_unescape).
 *
 * Ownership: every struct with a _free owns what its comments say; "view" pointers are not
 * owned. Functions returning int return WN_OK, WN_EINPUT (bad input, exit 2) or WN_ERUNTIME
 * (exit 1) with a message in e. */
#ifndef WN_CLASSIFY_H
#define WN_CLASSIFY_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "wn_backend.h"
#include "wn_data.h"
#include "wn_err.h"
#include "wn_model.h"
#include "wn_net.h"

enum { WN_CLS_PASS = 0, WN_CLS_REVIEW = 1, WN_CLS_ERROR = 2 };

/* ==== options and entry points (cls_run.c, cls_cli.c, cls_merge.c) ==== */

typedef struct wn_cls_options {
    const char *const *models; /* (n_models) model files, not owned */
    int n_models;
    const char *const *dirs;   /* (n_dirs) photo folders (or single photo files), not owned */
    int n_dirs;
    const char *report;        /* the CSV audit report */
    const char *summary;       /* NULL: REPORT without .csv + ".summary.txt" */
    const char *misses;        /* NULL: REPORT without .csv + ".misses.csv" (labelled runs only) */
    const char *labels;        /* ground-truth manifest (path,label) or NULL */
    double threshold;          /* pooled threshold for uncalibrated models; NAN = none */
    int resume;                /* continue an interrupted report */
    int shard_i, shard_n;      /* this run takes shard i of n (1 <= i <= n); n = 1: all */
    int threads;               /* decoding threads, 0 = all cores */
    int infer_threads;         /* CPU backend threads, 0 = all cores */
    int batch;                 /* photos per inference batch */
    int device;                /* WN_DEVICE_* */
    int tf32;                  /* 1: GPU convolutions may use TF32 (faster; scores then differ
                                  from a CPU calibration's by up to ~1e-3); 0: strict fp32 [0] */
    double shift_warn;         /* warn when a class share changes by this factor or more */
    int quiet;                 /* no settings, progress or summary on the terminal */
    volatile sig_atomic_t *stop; /* set (by a signal handler) to stop cleanly; may be NULL */
} wn_cls_options;

void wn_cls_options_default(wn_cls_options *o);
/* The whole classify job; prints the summary on stdout unless quiet. */
int wn_classify_run(const wn_cls_options *o, wn_err *e);
int wn_classify_main(int argc, char **argv);
int wn_merge_main(int argc, char **argv);

typedef struct wn_cls_merge_options {
    const char *const *inputs; /* (n_inputs) shard reports, not owned */
    int n_inputs;
    const char *report, *summary, *misses; /* summary/misses NULL: derived from report */
    const char *const *models; /* (n_models) optional: the shards' model files, for the prior
                                  shift's comparison with training; not owned */
    int n_models;
    double shift_warn;
    int quiet;
} wn_cls_merge_options;

/* Merges shard reports (same columns, disjoint photos) into one report in path order, as one
 * run over all the photos would have written it, with its summary. */
int wn_cls_merge(const wn_cls_merge_options *o, wn_err *e);

/* ==== escaping of names and text (cls_escape.c) ==== */

/* Escaped copy (malloc'ed) of len raw bytes: control bytes, DEL, '%', bytes outside valid UTF-8
 * and the characters of extra (may be NULL) become %XX (upper-case hex). */
char *wn_cls_escape(const char *raw, size_t len, const char *extra);
/* Decodes %XX sequences of s (len bytes) into a malloc'ed, NUL-terminated string; *out_len gets
 * its length. WN_EINPUT for a malformed sequence or an encoded NUL byte. */
int wn_cls_unescape(const char *s, size_t len, char **out, size_t *out_len, wn_err *e);

/* ==== shards (cls_shard.c) ==== */

/* Parses "i/N" (1 <= i <= N <= 100000). */
int wn_cls_shard_parse(const char *s, int *i, int *n, wn_err *e);
/* 1 when the photo with this path relative to its folder belongs to shard i of n (FNV-1a hash
 * of the relative path modulo n, so a photo's shard does not depend on where folders are
 * mounted or on which other photos exist). */
int wn_cls_shard_member(const char *rel, int i, int n);

/* ==== the folder walk (cls_walk.c) ==== */

/* Walks roots (folders or single files) depth-first, entries of each folder sorted so that the
 * paths come out in strcmp order of the whole path (a folder sorts as its name + '/'). Hidden
 * entries (name starting with '.') are skipped; links are followed; a folder already visited
 * (same device and inode: link loops, a link to another searched folder) is skipped. Memory:
 * the entry names of the folders on the current path, never the whole tree. */
typedef struct wn_walk wn_walk;

typedef struct wn_walk_item {
    const char *path; /* root + '/' + rel; valid until the next wn_walk_next */
    const char *rel;  /* the part below the root (the file name for a root that is a file) */
    int root;         /* index of the root in wn_walk_root order */
    int named;        /* 1: the name ends in .jpg, .jpeg or .png (any case) */
    int err;          /* errno: a folder that cannot be read, or a broken link; 0 otherwise */
} wn_walk_item;

/* roots are normalised (trailing '/' and "./" removed), sorted, de-duplicated; a missing root or
 * a root lexically inside another is an input error. */
int wn_walk_open(const char *const *roots, int n_roots, wn_walk **out, wn_err *e);
/* 1 with the next item, 0 at the end. */
int wn_walk_next(wn_walk *w, wn_walk_item *it);
int wn_walk_root_count(const wn_walk *w);
const char *wn_walk_root(const wn_walk *w, int i); /* normalised, sorted */
long wn_walk_revisits(const wn_walk *w);           /* folders skipped as already visited */
void wn_walk_free(wn_walk *w);

/* ==== ground truth (cls_labels.c) ==== */

/* The truth of a photo: the class folder it lies in (a root whose every non-hidden entry is a
 * folder named after a class of one of the models), or its label in a manifest (path,label;
 * paths relative to the manifest's folder), matched by lexically normalised absolute path. */
typedef struct wn_cls_labels {
    int n_names;
    char **names;        /* (n_names) label names, owned */
    int *root_labelled;  /* (n_roots) 1: the root's first path component is the label */
    int n_roots;
    int n_manifest;
    char **key;          /* (n_manifest) normalised absolute paths, sorted, owned */
    int *key_label;      /* (n_manifest) index into names */
    char *source;        /* "class folders", the manifest path, or NULL when unlabelled, owned */
    char *cwd;           /* the working folder manifest paths are made absolute against, owned */
} wn_cls_labels;

/* classes: every class name of every model (n_classes). manifest may be NULL. */
int wn_cls_labels_open(wn_cls_labels *L, const wn_walk *w, const char *manifest,
                       char *const *classes, int n_classes, wn_err *e);
/* Label index of a walked photo, -1 when unknown. */
int wn_cls_labels_of(const wn_cls_labels *L, const wn_walk_item *it);
int wn_cls_labels_active(const wn_cls_labels *L);
void wn_cls_labels_free(wn_cls_labels *L);
/* "/abs/path" from path: made absolute against the working folder, "." and empty segments
 * dropped, ".." applied lexically (malloc'ed). */
char *wn_cls_normpath(const char *path);

/* ==== the report's columns (cls_layout.c) ==== */

/* Characters escaped in model labels, class names and truth labels, besides wn_cls_escape's own:
 * the separators of the defects column and of the probability column names. */
#define WN_CLS_NAME_EXTRA ";:"

#define WN_CLS_FIXED_LEAD 4 /* path, decision, defects, truth */
#define WN_CLS_FIXED_TAIL 2 /* models, error */

typedef struct wn_cls_layout {
    int n_models;
    char **label;   /* (M) model labels as written (escaped), owned */
    int *k;         /* (M) classes of each model */
    int *off;       /* (M) index of the model's first probability in a row's p (P) */
    int n_p;        /* P: probability columns, sum of k */
    char **cls;     /* (P) class name of each probability column (escaped), owned */
    char **disp;    /* (P) how the defects column names the class: "class" with one model,
                       "label:class" with several (escaped), owned */
    char **col;     /* (n_cols) column names, owned */
    int n_cols;
} wn_cls_layout;

/* From model labels and class names (raw): classes[m] has k[m] names. */
void wn_cls_layout_make(wn_cls_layout *L, int n_models, char *const *labels, const int *k,
                        char *const *const *classes);
/* From a report's header fields; WN_EINPUT names what is missing (path is the report). */
int wn_cls_layout_parse(wn_cls_layout *L, char *const *fields, int n, const char *path, wn_err *e);
/* 1 when two layouts have the same columns. */
int wn_cls_layout_same(const wn_cls_layout *a, const wn_cls_layout *b);
void wn_cls_layout_free(wn_cls_layout *L);

/* ==== one report row, its writing (cls_report.c) and reading (cls_read.c) ==== */

typedef struct wn_cls_row {
    const char *path;    /* raw bytes (unescaped) */
    int decision;        /* WN_CLS_* */
    const char *defects; /* escaped display names joined by ';', most probable first */
    const char *truth;   /* escaped label, "" = unknown */
    const float *p;      /* (P) calibrated probabilities, NAN in an error row */
    const char *models;  /* model ids joined by ';' */
    const char *error;   /* escaped error text, "" when none */
} wn_cls_row;

extern const char *const wn_cls_decision_name[3]; /* "pass", "review", "error" */

/* Probabilities are written with 6 significant digits; wn_cls_round gives the value a reader
 * gets back, so a summary from live rows equals one from the file. */
float wn_cls_round(float p);
/* stdio status: 0 or -1 (errno set by stdio). */
int wn_cls_write_header(FILE *f, const wn_cls_layout *L);
int wn_cls_write_row(FILE *f, const wn_cls_layout *L, const wn_cls_row *r);

/* A line-by-line reader (every row of a report is one line: all text is escaped). */
typedef struct wn_cls_reader {
    FILE *f;
    char *path;          /* owned */
    wn_cls_layout L;     /* from the header */
    long line;           /* physical line of the last row read */
    long long end_ok;    /* byte offset just after the last complete row read (or the header) */
    int partial;         /* 1: the file ends in an incomplete row (no final newline) */
    int header_partial;  /* 1: the file ends inside the header row */
    /* the row being parsed */
    char *buf;           /* getline buffer, owned */
    size_t cap;
    char *arena;         /* the fields of the row, NUL-terminated one after another, owned */
    size_t arena_len, arena_cap;
    size_t *foff;        /* (cap_field) offset of each field in arena, owned */
    char **field;        /* (cap_field) field pointers, owned */
    int n_field, cap_field, n_rows_parsed;
    char *raw_path;      /* the unescaped path, owned */
    float *p;            /* (P), owned */
    void *csv;                       /* struct csv_parser, owned */
} wn_cls_reader;

/* Opens a report and reads its header. An empty file (or one cut inside the header, when
 * allow_partial) opens with header_partial = 1 and no layout. */
int wn_cls_reader_open(wn_cls_reader *r, const char *path, int allow_partial, wn_err *e);
/* 1 with the next complete row in row (valid until the next call), 0 at the end (partial says
 * whether an incomplete last row was left), or WN_EINPUT (as a negative: -WN_EINPUT) for a
 * malformed row, with the line in e. */
int wn_cls_reader_next(wn_cls_reader *r, wn_cls_row *row, wn_err *e);
void wn_cls_reader_close(wn_cls_reader *r);

/* ==== the summary of a report: counts, audit, prior shift (cls_tally.c, cls_summary.c) ==== */

#define WN_CLS_MAX_LABELS 1000
#define WN_CLS_SHOW_MISSES 20

typedef struct wn_cls_tally {
    const wn_cls_layout *L; /* view */
    long rows, pass, review, error;
    long *review_by;        /* (P) review rows by their most probable suspected defect */
    long review_other;      /* review rows naming no known defect */
    /* audit (rows with a truth) */
    int n_truth;
    char **truth;           /* (n_truth) escaped labels seen, owned */
    int *truth_ok;          /* (n_truth) 1: an ok class of some model */
    long *conf;             /* (WN_CLS_MAX_LABELS, P + 2) truth x {pass, defect columns, error} */
    long labelled, defects, missed, ok_photos, ok_passed;
    char *shown_miss[WN_CLS_SHOW_MISSES]; /* escaped paths of the first misses, owned */
    FILE *misses;           /* misses CSV, NULL when none */
    char *misses_path;      /* owned */
    long misses_written;
    /* prior shift: the probabilities of non-error rows spilled to an unlinked file */
    FILE *spill;
    long spilled;
} wn_cls_tally;

/* misses_path may be NULL (no misses file). */
int wn_cls_tally_init(wn_cls_tally *t, const wn_cls_layout *L, const char *misses_path, wn_err *e);
int wn_cls_tally_add(wn_cls_tally *t, const wn_cls_row *r, wn_err *e);
void wn_cls_tally_free(wn_cls_tally *t);

/* Prior shift of one model, by EM on the calibrated posteriors of the spilled rows. */
typedef struct wn_cls_shift {
    int k;
    double *train;   /* (K) training shares (the priors divided out), NULL when unknown */
    double *est;     /* (K) estimated shares of the classified photos */
    int iterations;
    int warn;        /* 1: some class share moved by the warning factor or more */
    int warn_class;  /* the class that moved most (by ratio) */
} wn_cls_shift;

/* EM of Saerens, Latinne and Decaestecker (2002) for posteriors p (N rows, stride floats, K
 * classes from column 0) that were computed under base priors (the calibrated posteriors:
 * uniform). init (K) is the starting estimate. Iterates until the largest change is below tol
 * or max_iter; returns the iterations. est (K) receives the shares. */
int wn_cls_prior_em_mem(const float *p, long n, int stride, int k, const double *init,
                        double tol, int max_iter, double *est);
/* The same over the tally's spill file, columns [off, off + k). */
int wn_cls_prior_em_spill(wn_cls_tally *t, int off, int k, const double *init, double tol,
                          int max_iter, double *est, int *iterations, wn_err *e);

typedef struct wn_cls_run_info {
    const char *report, *summary_path;
    const char *labels_source; /* NULL: unlabelled */
    const char *const *model_ids; /* (M) or NULL */
    double **train_priors;     /* (M) (K) training shares per model, or NULL (merge without models) */
    double shift_warn;
    double elapsed_s;          /* this run */
    long rows_this_run;
    long skipped;              /* files that were not images (no photo extension) */
    long revisits;             /* folders skipped as already visited */
    int shard_i, shard_n;
    int resumed;
} wn_cls_run_info;

/* Computes the prior shift, prints the summary on out (NULL: not printed) and writes the
 * summary file (key = value lines, C locale) when info->summary_path is set. */
int wn_cls_summary_finish(wn_cls_tally *t, const wn_cls_run_info *info, FILE *out, wn_err *e);
/* REPORT without ".csv" + suffix (malloc'ed). */
char *wn_cls_derived_path(const char *report, const char *suffix);

/* ==== resume (cls_resume.c) ==== */

/* Opens the report for appending after its last complete row: checks the header against L and
 * every row (sorted, written by these models, under these roots and in this shard), feeds every
 * complete row to t, truncates an incomplete last row. A missing or empty report, or one cut
 * inside its header, is started anew (header written). *last gets the last row's raw path
 * (malloc'ed, NULL when there is none), *rows the rows kept. */
int wn_cls_resume_open(const char *path, const wn_cls_layout *L, const char *models_field,
                       const wn_walk *w, int shard_i, int shard_n, wn_cls_tally *t, FILE **out,
                       char **last, long *rows, wn_err *e);
/* The relative path of a report path under one of the walk's roots; NULL when under none. */
const char *wn_cls_rel_of(const wn_walk *w, const char *path);

/* ==== models (cls_models.c) and decisions (cls_decide.c) ==== */

typedef struct wn_cls_model {
    char *path;      /* owned */
    char *label;     /* file name without folder and .wnet, unique among the models, raw, owned */
    char *id;        /* label-HASH[@t=threshold] (HASH: 8 hex digits of the file's FNV-1a), owned */
    wn_model m;      /* owned */
    wn_net net;      /* owned */
    int k;
    float *priors;   /* (K) divided out (calibration's, or the training shares), owned */
    float *thr;      /* (K) decision thresholds (wn_decide.h), owned */
    int calibrated;  /* 0: --threshold */
    int spec;        /* index of its input in the model set's specs */
    uint8_t *x_host; /* (B, C, H, W) the batch's photos as bytes, page-locked, owned */
    uint8_t *u8_dev; /* (B, C, H, W) the same bytes, backend memory */
    float *lut_dev;  /* (C, 256) the model's normalisation table (wn_batch_table), backend */
    float *x_dev;    /* (B, C, H, W) the normalised batch, backend memory */
    float *p_dev;    /* (B, K) backend memory */
    float *probs;    /* (B, K) host: calibrated probabilities of the last batch, owned */
} wn_cls_model;

typedef struct wn_cls_spec {
    int c, h, w;
} wn_cls_spec;

typedef struct wn_cls_models {
    int n;
    wn_cls_model *m;   /* (n) owned */
    int n_specs;
    wn_cls_spec *spec; /* (n_specs) distinct inputs, owned */
    int batch;
    wn_backend be;     /* owned */
    char *ids;         /* the models column: ids joined by ';', owned */
} wn_cls_models;

/* Loads and checks every model (a file that is not a model, an uncalibrated model without
 * threshold, a bad threshold), builds the nets on a backend (device WN_DEVICE_*, convolution
 * math WN_MATH_*) and reserves batch buffers. */
int wn_cls_models_load(wn_cls_models *ms, const char *const *paths, int n, double threshold,
                       int device, int math, int infer_threads, int batch, int quiet, wn_err *e);
/* The report, summary and misses paths (summary and misses may be NULL) checked before anything
 * is written (cls_outputs.c): none is a photo, a model or a training state, no two are the same
 * file, none is one of the n_inputs files (inputs[i], described as input_what[i]). WN_EINPUT
 * with a message naming the file otherwise. */
int wn_cls_outputs_check(const char *report, const char *summary, const char *misses,
                         const char *const *inputs, const char *const *input_what, int n_inputs,
                         wn_err *e);
/* The file name without folders and without ".wnet" (malloc'ed): a model's label. */
char *wn_cls_model_stem(const char *path);
/* The shares of the model's training photos (its training class counts) into shares (K),
 * summing to 1: what the prior-shift estimate is compared with. (The priors its decisions
 * divide out can differ: uniform for a model trained with the bayesian loss.) */
int wn_cls_model_shares(const wn_model *m, const char *path, double *shares, wn_err *e);
/* The report layout of these models. */
void wn_cls_models_layout(const wn_cls_models *ms, wn_cls_layout *L);
/* Runs model mi on the photos ids[0..n) of pix (R, C, H, W) (its spec) and leaves calibrated
 * probabilities (n, K) in m->probs. */
int wn_cls_models_infer(wn_cls_models *ms, int mi, const uint8_t *pix, int ring, const int *ids,
                        int n, wn_err *e);
void wn_cls_models_free(wn_cls_models *ms);

/* Decides one photo from each model's calibrated row (rows[m], K_m floats): returns
 * WN_CLS_PASS when every model auto-passes it, else WN_CLS_REVIEW with the suspected defects
 * in defects (cap bytes): per reviewing model the defect classes at or over their own
 * thresholds, or its most probable defect class when only the pooled score decided; all of
 * them ordered by probability, highest first, named as L->disp, joined by ';'. */
int wn_cls_decide(const wn_cls_models *ms, const wn_cls_layout *L, const float *const *rows,
                  char *defects, size_t cap);

/* ==== the pipeline (cls_pipeline.c) ==== */

enum { WN_SLOT_OK = 0, WN_SLOT_ERROR = 1, WN_SLOT_SKIP = 2 };

typedef struct wn_cls_slot {
    char *path;       /* owned */
    int rel_off;      /* rel = path + rel_off */
    int truth;        /* label index, -1 unknown */
    int named;
    int walk_err;     /* errno from the walk (folder unreadable, broken link) */
    int done;         /* decoded (or failed) */
    int status;       /* WN_SLOT_* */
    char *err;        /* raw error text without the path, owned, NULL when none */
} wn_cls_slot;

/* Decides which walked items the run takes and their truth: 1 take, 0 leave out. */
typedef int (*wn_cls_filter_fn)(void *ctx, const wn_walk_item *it, int *truth);

typedef struct wn_cls_pipe wn_cls_pipe;

/* Starts a walker thread over w (owned by the caller, used by the walker only until the end)
 * and threads decode workers, with ring slots of the given specs. */
int wn_cls_pipe_start(wn_cls_pipe **out, wn_walk *w, wn_cls_filter_fn filter, void *filter_ctx,
                      const wn_cls_spec *specs, int n_specs, int threads, int ring, wn_err *e);
/* Waits for up to max consecutive finished photos in walk order; returns how many (0: all done)
 * and the ring index of the first in *first (consecutive indices wrap modulo the ring size). */
int wn_cls_pipe_wait(wn_cls_pipe *p, int max, int *first);
int wn_cls_pipe_ring(const wn_cls_pipe *p);
wn_cls_slot *wn_cls_pipe_slot(wn_cls_pipe *p, int idx);
const uint8_t *wn_cls_pipe_pix(const wn_cls_pipe *p, int spec); /* (R, C, H, W) */
/* Hands the n oldest photos back to the walker. */
void wn_cls_pipe_release(wn_cls_pipe *p, int n);
/* Stops every thread (also midway) and frees the pipeline. */
void wn_cls_pipe_free(wn_cls_pipe *p);

#endif
