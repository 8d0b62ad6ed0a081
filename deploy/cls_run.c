/* cls_run.c - one `weldnet classify` job: loads the models, opens the walk, the ground truth and
 * the report (new, or resumed after its last complete row), counts the photos for the progress
 * bar, runs the pipeline (decode workers -> ring -> batched inference -> decisions -> rows
 * written in walk order and flushed batch by batch), and ends with the summary. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "wn_classify.h"
#include "wn_progress.h"

void wn_cls_options_default(wn_cls_options *o) {
    memset(o, 0, sizeof *o);
    o->threshold = NAN;
    o->shard_i = o->shard_n = 1;
    o->batch = 64;
    o->device = WN_DEVICE_AUTO;
    o->shift_warn = 2.0;
}

typedef struct run_filter {
    const char *after;            /* resume: take only paths after this one */
    int shard_i, shard_n;
    const wn_cls_labels *labels;  /* NULL: no truth lookup */
} run_filter;

static int take(void *ctx, const wn_walk_item *it, int *truth) {
    const run_filter *f = ctx;
    if (f->after && strcmp(it->path, f->after) <= 0) return 0;
    if (!wn_cls_shard_member(it->rel, f->shard_i, f->shard_n)) return 0;
    *truth = f->labels ? wn_cls_labels_of(f->labels, it) : -1;
    return 1;
}

static long count_photos(wn_walk *w, run_filter *f) {
    wn_walk_item it;
    long n = 0;
    int truth;
    while (wn_walk_next(w, &it)) n += take(f, &it, &truth);
    return n;
}

static void print_settings(const wn_cls_options *o, const wn_cls_models *ms, const wn_walk *w,
                           const char *summary, const wn_cls_labels *lab, int infer_threads) {
    printf("weldnet classify\n");
    for (int i = 0; i < ms->n; i++) {
        const wn_cls_model *m = &ms->m[i];
        printf("  model %s (%s): %d classes, input %dx%dx%d, %s, thresholds", m->path, m->id, m->k,
               m->net.def.in_c, m->net.def.in_h, m->net.def.in_w,
               m->calibrated ? "calibrated" : "NOT calibrated: --threshold");
        for (int j = 0; j < m->k; j++) printf(" %s<%g", j ? m->m.class_names[j] : "pooled", (double)m->thr[j]);
        printf("\n");
    }
    printf("  photos:");
    for (int r = 0; r < wn_walk_root_count(w); r++) printf(" %s", wn_walk_root(w, r));
    printf("\n  report %s%s, summary %s\n", o->report, o->resume ? " (resume)" : "", summary);
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    int gpu = strcmp(ms->be.ops->name, "cpu") != 0;
    printf("  shard %d/%d, batch %d, decode threads %ld, inference threads %ld, device %s%s, "
           "ground truth: %s\n",
           o->shard_i, o->shard_n, o->batch, o->threads > 0 ? (long)o->threads : cores,
           infer_threads > 0 ? (long)infer_threads : cores, ms->be.ops->name,
           !gpu ? "" : o->tf32 ? " (TF32 convolutions)" : " (strict fp32)",
           lab->source ? lab->source : "none");
    fflush(stdout);
}

/* Everything one run holds; freed by run_free. */
typedef struct run_state {
    wn_cls_models ms;
    wn_cls_layout L;
    wn_walk *w_count, *w_pipe;
    wn_cls_labels lab;
    wn_cls_tally tally;
    int tally_ok;
    wn_cls_pipe *pipe;
    FILE *report;
    char *summary, *misses, *last;
    char **truth_esc;   /* (lab.n_names) escaped labels */
    float *p;           /* (P) one row's probabilities */
    char *defects;      /* (defects_cap) */
    size_t defects_cap;
    int *ok_ids;        /* (batch) ring indices of the decoded photos of a batch */
    int *ok_pos;        /* (ring) position among the decoded photos, by ring index */
    const float **rows; /* (M) */
    long skipped, done, rows_run;
    const char *report_path; /* view */
} run_state;

static void run_free(run_state *s) {
    wn_cls_pipe_free(s->pipe);
    if (s->report) fclose(s->report);
    if (s->tally_ok) wn_cls_tally_free(&s->tally);
    for (int i = 0; s->truth_esc && i < s->lab.n_names; i++) free(s->truth_esc[i]);
    free(s->truth_esc);
    wn_cls_labels_free(&s->lab);
    wn_walk_free(s->w_count);
    wn_walk_free(s->w_pipe);
    wn_cls_layout_free(&s->L);
    wn_cls_models_free(&s->ms);
    free(s->summary);
    free(s->misses);
    free(s->last);
    free(s->p);
    free(s->defects);
    free(s->ok_ids);
    free(s->ok_pos);
    free(s->rows);
}

/* Writes the rows of one finished batch (n photos from ring index first). */
static int write_batch(run_state *s, int first, int n, wn_err *e) {
    wn_cls_pipe *pp = s->pipe;
    const int ring = wn_cls_pipe_ring(pp), P = s->L.n_p;
    int n_ok = 0;
    for (int i = 0; i < n; i++) {
        int idx = (first + i) % ring;
        if (wn_cls_pipe_slot(pp, idx)->status == WN_SLOT_OK) {
            s->ok_pos[idx] = n_ok;
            s->ok_ids[n_ok++] = idx;
        }
    }
    for (int mi = 0; mi < s->ms.n && n_ok; mi++) {
        int rc = wn_cls_models_infer(&s->ms, mi, wn_cls_pipe_pix(pp, s->ms.m[mi].spec), ring,
                                     s->ok_ids, n_ok, e);
        if (rc) return rc;
    }
    for (int i = 0; i < n; i++) {
        int idx = (first + i) % ring;
        wn_cls_slot *sl = wn_cls_pipe_slot(pp, idx);
        if (sl->status == WN_SLOT_SKIP) {
            s->skipped++;
            continue;
        }
        wn_cls_row row = {sl->path, WN_CLS_ERROR, "", sl->truth >= 0 ? s->truth_esc[sl->truth] : "",
                          s->p, s->ms.ids, ""};
        char *err = NULL;
        s->defects[0] = '\0';
        if (sl->status == WN_SLOT_ERROR) {
            for (int q = 0; q < P; q++) s->p[q] = NAN;
            err = wn_cls_escape(sl->err, strlen(sl->err), NULL);
            row.error = err;
        } else {
            for (int mi = 0; mi < s->ms.n; mi++) {
                const wn_cls_model *m = &s->ms.m[mi];
                const float *r = m->probs + (size_t)s->ok_pos[idx] * (size_t)m->k;
                for (int j = 0; j < m->k; j++) s->p[s->L.off[mi] + j] = wn_cls_round(r[j]);
                s->rows[mi] = r;
            }
            /* decided on the full-precision probabilities, as calibrate chose the thresholds;
             * the report and the summary get the rounded values as written */
            row.decision = wn_cls_decide(&s->ms, &s->L, s->rows, s->defects, s->defects_cap);
            row.defects = s->defects;
        }
        int bad = wn_cls_write_row(s->report, &s->L, &row);
        int rc = bad ? wn_err_set(e, WN_ERUNTIME, "%s: write failed: %s", s->report_path,
                                  strerror(errno))
                     : wn_cls_tally_add(&s->tally, &row, e);
        free(err);
        if (rc) return rc;
        s->rows_run++;
    }
    if (fflush(s->report) != 0 || ferror(s->report))
        return wn_err_set(e, WN_ERUNTIME, "%s: write failed: %s (the rows before it are kept: "
                                          "--resume continues)",
                          s->report_path, strerror(errno));
    return WN_OK;
}

static int setup(run_state *s, const wn_cls_options *o, int infer_threads, wn_err *e) {
    int rc = wn_cls_models_load(&s->ms, o->models, o->n_models, o->threshold, o->device,
                                o->tf32 ? WN_MATH_FAST : WN_MATH_STRICT, infer_threads, o->batch, o->quiet, e);
    if (rc) return rc;
    wn_cls_models_layout(&s->ms, &s->L);
    if ((rc = wn_walk_open(o->dirs, o->n_dirs, &s->w_count, e)) ||
        (rc = wn_walk_open(o->dirs, o->n_dirs, &s->w_pipe, e)))
        return rc;
    char **classes = wn_xcalloc((size_t)s->L.n_p, sizeof(char *)); /* (P) views */
    for (int mi = 0, q = 0; mi < s->ms.n; mi++)
        for (int j = 0; j < s->ms.m[mi].k; j++) classes[q++] = s->ms.m[mi].m.class_names[j];
    rc = wn_cls_labels_open(&s->lab, s->w_count, o->labels, classes, s->L.n_p, e);
    free(classes);
    if (rc) return rc;
    s->truth_esc = wn_xcalloc((size_t)(s->lab.n_names ? s->lab.n_names : 1), sizeof(char *));
    for (int i = 0; i < s->lab.n_names; i++)
        s->truth_esc[i] = wn_cls_escape(s->lab.names[i], strlen(s->lab.names[i]), WN_CLS_NAME_EXTRA);
    s->summary = o->summary ? wn_xstrdup(o->summary) : wn_cls_derived_path(o->report, ".summary.txt");
    if (wn_cls_labels_active(&s->lab))
        s->misses = o->misses ? wn_xstrdup(o->misses) : wn_cls_derived_path(o->report, ".misses.csv");
    const int P = s->L.n_p;
    s->p = wn_xcalloc((size_t)P, sizeof(float));
    s->defects_cap = 2;
    for (int q = 0; q < P; q++) s->defects_cap += strlen(s->L.disp[q]) + 1;
    s->defects = wn_xmalloc(s->defects_cap);
    s->rows = wn_xcalloc((size_t)s->ms.n, sizeof(float *));
    return WN_OK;
}

int wn_classify_run(const wn_cls_options *o, wn_err *e) {
    double t0 = wn_now();
    if (!o->report || !o->report[0]) return wn_err_set(e, WN_EINPUT, "no report file given (--report FILE)");
    if (o->n_dirs < 1) return wn_err_set(e, WN_EINPUT, "no photo folders given");
    if (!(o->shift_warn > 1)) return wn_err_set(e, WN_EINPUT, "--shift-warn %g: must be over 1", o->shift_warn);
    int infer_threads = o->infer_threads; /* 0: the backend takes all cores */
    run_state s;
    memset(&s, 0, sizeof s);
    s.report_path = o->report;
    int rc = setup(&s, o, infer_threads, e);
    if (rc) goto done;
    const char **in = wn_xcalloc((size_t)o->n_models + 1, sizeof(char *));   /* (M+1) views */
    const char **in_what = wn_xcalloc((size_t)o->n_models + 1, sizeof(char *));
    for (int i = 0; i < o->n_models; i++) in[i] = o->models[i], in_what[i] = "a --model file";
    in[o->n_models] = o->labels;
    in_what[o->n_models] = "the --labels manifest";
    rc = wn_cls_outputs_check(o->report, s.summary, s.misses, in, in_what, o->n_models + 1, e);
    free(in);
    free(in_what);
    if (rc) goto done;
    if (!o->quiet) print_settings(o, &s.ms, s.w_count, s.summary, &s.lab, infer_threads);
    if ((rc = wn_cls_tally_init(&s.tally, &s.L, s.misses, e))) goto done;
    s.tally_ok = 1;
    long kept = 0, total = 0;
    if (o->resume) {
        rc = wn_cls_resume_open(o->report, &s.L, s.ms.ids, s.w_count, o->shard_i, o->shard_n,
                                &s.tally, &s.report, &s.last, &kept, e);
        if (rc) goto done;
        if (!o->quiet) printf("  resuming: %ld photos already in the report\n", kept);
    }
    run_filter cf = {s.last, o->shard_i, o->shard_n, NULL};
    total = count_photos(s.w_count, &cf);
    if (!o->resume) { /* an empty folder never overwrites an existing report */
        if (total == 0) {
            rc = wn_err_set(e, WN_EINPUT, "no photos to classify in the folders given%s",
                            o->shard_n > 1 ? " (in this shard)" : "");
            goto done;
        }
        s.report = wn_fopen(o->report, "w", e);
        if (!s.report) {
            rc = WN_ERUNTIME;
            goto done;
        }
        if (wn_cls_write_header(s.report, &s.L) || fflush(s.report)) {
            rc = wn_err_set(e, WN_ERUNTIME, "%s: write failed: %s", o->report, strerror(errno));
            goto done;
        }
    }
    run_filter pf = {s.last, o->shard_i, o->shard_n, &s.lab};
    int threads = o->threads;
    int ring = 2 * o->batch + 8 * (threads > 0 ? threads : (int)sysconf(_SC_NPROCESSORS_ONLN));
    if ((rc = wn_cls_pipe_start(&s.pipe, s.w_pipe, take, &pf, s.ms.spec, s.ms.n_specs, threads,
                                ring, e)))
        goto done;
    s.ok_ids = wn_xcalloc((size_t)o->batch, sizeof(int));
    s.ok_pos = wn_xcalloc((size_t)ring, sizeof(int));
    wn_progress prog;
    wn_progress_start(&prog, "classify", "photo", total, o->quiet);
    int first, n;
    while ((n = wn_cls_pipe_wait(s.pipe, o->batch, &first)) > 0) {
        if ((rc = write_batch(&s, first, n, e))) break;
        wn_cls_pipe_release(s.pipe, n);
        s.done += n;
        wn_progress_update(&prog, s.done, NULL);
        if (o->stop && *o->stop) {
            rc = wn_err_set(e, WN_ERUNTIME,
                            "interrupted after %ld photos of %ld: every row written is complete; "
                            "run again with --resume to continue",
                            s.done, total);
            break;
        }
    }
    wn_progress_end(&prog);
    wn_cls_pipe_free(s.pipe);
    s.pipe = NULL;
    FILE *f = s.report;
    s.report = NULL;
    int rc2 = wn_fclose(f, o->report, rc ? NULL : e);
    if (rc) goto done;
    if ((rc = rc2)) goto done;
    const char **ids = wn_xcalloc((size_t)s.ms.n, sizeof(char *));     /* (M) views */
    double **pri = wn_xcalloc((size_t)s.ms.n, sizeof(double *));       /* (M) owned rows */
    for (int mi = 0; mi < s.ms.n; mi++) {
        const wn_cls_model *m = &s.ms.m[mi];
        ids[mi] = m->id;
        pri[mi] = wn_xcalloc((size_t)m->k, sizeof(double));
        if (rc == WN_OK) rc = wn_cls_model_shares(&m->m, m->path, pri[mi], e);
    }
    wn_cls_run_info info = {o->report, s.summary, s.lab.source, ids, pri, o->shift_warn,
                            wn_now() - t0, s.rows_run, s.skipped, wn_walk_revisits(s.w_pipe),
                            o->shard_i, o->shard_n, o->resume && kept > 0};
    if (rc == WN_OK) rc = wn_cls_summary_finish(&s.tally, &info, o->quiet ? NULL : stdout, e);
    for (int mi = 0; mi < s.ms.n; mi++) free(pri[mi]);
    free(pri);
    free(ids);
done:
    run_free(&s);
    return rc;
}
