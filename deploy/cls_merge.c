/* cls_merge.c - `weldnet merge`: combines the reports of `classify --shard i/N` runs into one
 * report, k-way merged by path (each shard is sorted), so the result is the report one run over
 * all photos would have written; refuses shards with other columns or models, an unfinished
 * shard (incomplete last row), unsorted rows and a photo present in two shards; then the
 * summary of the merged report (audit and prior shift included). Also its command line. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "wn_classify.h"

#define MAX_INPUTS 100000
#define MAX_MERGE_MODELS 64

typedef struct shard_in {
    wn_cls_reader r;
    wn_cls_row row;  /* the current row, valid while live */
    int live;
    char *prev;      /* the shard's previous path, owned */
} shard_in;

/* Advances shard s to its next row (checking order); live = 0 at its end. */
static int advance(shard_in *s, wn_err *e) {
    int got = wn_cls_reader_next(&s->r, &s->row, e);
    if (got < 0) return -got;
    if (got == 0) {
        s->live = 0;
        if (s->r.partial)
            return wn_err_set(e, WN_EINPUT,
                              "%s: its last row is incomplete, so that shard did not finish: run it "
                              "again with --resume, then merge",
                              s->r.path);
        return WN_OK;
    }
    if (s->prev && strcmp(s->prev, s->row.path) >= 0)
        return wn_err_set(e, WN_EINPUT, "%s line %ld: rows are not in path order", s->r.path,
                          s->r.line);
    free(s->prev);
    s->prev = wn_xstrdup(s->row.path);
    s->live = 1;
    return WN_OK;
}

/* Training shares from the model files, matched to the report's models by label. */
static int model_shares(const wn_cls_merge_options *o, const wn_cls_layout *L, double **pri,
                        wn_err *e) {
    if (o->n_models != L->n_models)
        return wn_err_set(e, WN_EINPUT, "%d --model files given, the reports were written by %d models",
                          o->n_models, L->n_models);
    for (int m = 0; m < L->n_models; m++) {
        wn_model mod;
        int rc = wn_model_load(o->models[m], &mod, e);
        if (rc) return rc;
        char *stem = wn_cls_model_stem(o->models[m]);
        char *lab = wn_cls_escape(stem, strlen(stem), WN_CLS_NAME_EXTRA);
        int same = !strcmp(lab, L->label[m]) && mod.n_classes == L->k[m];
        for (int j = 0; same && j < mod.n_classes; j++) {
            char *c = wn_cls_escape(mod.class_names[j], strlen(mod.class_names[j]), WN_CLS_NAME_EXTRA);
            same = !strcmp(c, L->cls[L->off[m] + j]);
            free(c);
        }
        free(stem);
        free(lab);
        if (!same) {
            wn_model_free(&mod);
            return wn_err_set(e, WN_EINPUT,
                              "%s: not the model '%s' of the reports (other name or classes); give "
                              "the shards' models in their order",
                              o->models[m], L->label[m]);
        }
        pri[m] = wn_xcalloc((size_t)L->k[m], sizeof(double));
        rc = wn_cls_model_shares(&mod, o->models[m], pri[m], e);
        wn_model_free(&mod);
        if (rc) return rc;
    }
    return WN_OK;
}

int wn_cls_merge(const wn_cls_merge_options *o, wn_err *e) {
    if (o->n_inputs < 1) return wn_err_set(e, WN_EINPUT, "no shard reports to merge");
    if (!o->report) return wn_err_set(e, WN_EINPUT, "no --report given");
    char *summary = o->summary ? wn_xstrdup(o->summary) : wn_cls_derived_path(o->report, ".summary.txt");
    char *misses = o->misses ? wn_xstrdup(o->misses) : wn_cls_derived_path(o->report, ".misses.csv");
    int n_in = o->n_inputs + o->n_models;
    const char **ins = wn_xcalloc((size_t)n_in, sizeof(char *));  /* (n_in) views */
    const char **what = wn_xcalloc((size_t)n_in, sizeof(char *)); /* (n_in) */
    for (int i = 0; i < n_in; i++) {
        ins[i] = i < o->n_inputs ? o->inputs[i] : o->models[i - o->n_inputs];
        what[i] = i < o->n_inputs ? "a shard report to merge" : "a --model file";
    }
    int check = wn_cls_outputs_check(o->report, summary, misses, ins, what, n_in, e);
    free(ins);
    free(what);
    if (check) {
        free(summary);
        free(misses);
        return check;
    }
    shard_in *in = wn_xcalloc((size_t)o->n_inputs, sizeof *in); /* (n_inputs) */
    double **pri = NULL;
    int n_pri = 0;
    wn_cls_tally t;
    int tally_ok = 0, n_open = 0, rc = WN_OK;
    FILE *out = NULL;
    char *models = NULL, *last = NULL;
    for (; n_open < o->n_inputs && rc == WN_OK; n_open++)
        rc = wn_cls_reader_open(&in[n_open].r, o->inputs[n_open], 0, e);
    if (rc) {
        n_open--;
        goto done;
    }
    const wn_cls_layout *L = &in[0].r.L;
    for (int i = 1; i < o->n_inputs && rc == WN_OK; i++)
        if (!wn_cls_layout_same(L, &in[i].r.L))
            rc = wn_err_set(e, WN_EINPUT, "%s: its columns differ from those of %s (other models)",
                            o->inputs[i], o->inputs[0]);
    if (rc) goto done;
    if (o->n_models) {
        n_pri = L->n_models;
        pri = wn_xcalloc((size_t)n_pri, sizeof(double *));
        if ((rc = model_shares(o, L, pri, e))) goto done;
    }
    if ((rc = wn_cls_tally_init(&t, L, misses, e))) goto done;
    tally_ok = 1;
    out = wn_fopen(o->report, "w", e);
    if (!out) {
        rc = WN_ERUNTIME;
        goto done;
    }
    if (wn_cls_write_header(out, L)) {
        rc = wn_err_set(e, WN_ERUNTIME, "%s: write failed: %s", o->report, strerror(errno));
        goto done;
    }
    for (int i = 0; i < o->n_inputs && rc == WN_OK; i++) rc = advance(&in[i], e);
    while (rc == WN_OK) {
        int best = -1;
        for (int i = 0; i < o->n_inputs; i++)
            if (in[i].live && (best < 0 || strcmp(in[i].row.path, in[best].row.path) < 0)) best = i;
        if (best < 0) break;
        const wn_cls_row *row = &in[best].row;
        if (!models) models = wn_xstrdup(row->models);
        if (last && !strcmp(last, row->path)) {
            char *shown = wn_cls_escape(row->path, strlen(row->path), NULL);
            rc = wn_err_set(e, WN_EINPUT, "%s is in two shard reports (%s and another): shards must "
                                          "be disjoint (same N, different i)",
                            shown, in[best].r.path);
            free(shown);
        } else if (strcmp(models, row->models)) {
            rc = wn_err_set(e, WN_EINPUT, "%s line %ld: written by the models '%s', other shards by '%s'",
                            in[best].r.path, in[best].r.line, row->models, models);
        } else if (wn_cls_write_row(out, L, row)) {
            rc = wn_err_set(e, WN_ERUNTIME, "%s: write failed: %s", o->report, strerror(errno));
        } else if ((rc = wn_cls_tally_add(&t, row, e)) == WN_OK) {
            free(last);
            last = wn_xstrdup(row->path);
            rc = advance(&in[best], e);
        }
    }
    FILE *f = out;
    out = NULL;
    int rc2 = wn_fclose(f, o->report, rc ? NULL : e);
    if (rc || (rc = rc2)) goto done;
    wn_cls_run_info info = {o->report, summary, NULL, NULL, pri, o->shift_warn, 0, 0, 0, 0, 0, 0, 0};
    rc = wn_cls_summary_finish(&t, &info, o->quiet ? NULL : stdout, e);
done:
    if (out) fclose(out);
    if (tally_ok) wn_cls_tally_free(&t);
    for (int i = 0; i < n_open; i++) {
        wn_cls_reader_close(&in[i].r);
        free(in[i].prev);
    }
    for (int m = 0; m < n_pri; m++) free(pri[m]);
    free(pri);
    free(in);
    free(summary);
    free(misses);
    free(models);
    free(last);
    return rc;
}

static void usage(FILE *f) {
    fprintf(f,
            "usage: weldnet merge --report MERGED.csv [options] SHARD.csv...\n"
            "Merges the reports of `weldnet classify --shard i/N` runs into one report in path order\n"
            "(as one run over every photo would have written it) and writes its summary.\n"
            "\n"
            "  -r, --report FILE   the merged report (required)\n"
            "      --summary FILE  summary file (default: REPORT without .csv + .summary.txt)\n"
            "      --misses FILE   missed defects of an audit (default: REPORT without .csv + .misses.csv)\n"
            "  -m, --model FILE    the shards' models, in their order (optional: lets the prior-shift\n"
            "                      estimate be compared with the training shares)\n"
            "      --shift-warn F  warn when a class share differs from training by this factor (default 2)\n"
            "  -q, --quiet         no summary on the terminal\n"
            "  -h, --help          this text\n"
            "\n"
            "Exit codes: 0 merged, 1 runtime failure (e.g. disk full), 2 usage or input error.\n");
}

int wn_merge_main(int argc, char **argv) {
    static const struct option opts[] = {
        {"report", required_argument, NULL, 'r'}, {"summary", required_argument, NULL, 's'},
        {"misses", required_argument, NULL, 'x'}, {"model", required_argument, NULL, 'm'},
        {"shift-warn", required_argument, NULL, 'w'}, {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0}};
    wn_cls_merge_options o = {0};
    o.shift_warn = 2.0;
    const char *models[MAX_MERGE_MODELS];
    wn_err e = {0};
    int c, rc = WN_OK;
    optind = 1;
    opterr = 0;
    while (rc == WN_OK && (c = getopt_long(argc, argv, ":r:m:qh", opts, NULL)) != -1) {
        switch (c) {
        case 'r': o.report = optarg; break;
        case 's': o.summary = optarg; break;
        case 'x': o.misses = optarg; break;
        case 'm':
            if (o.n_models == MAX_MERGE_MODELS) rc = wn_err_set(&e, WN_EINPUT, "too many --model options");
            else models[o.n_models++] = optarg;
            break;
        case 'w': {
            char *end;
            o.shift_warn = strtod(optarg, &end);
            if (end == optarg || *end || !(o.shift_warn > 1))
                rc = wn_err_set(&e, WN_EINPUT, "--shift-warn '%s': expected a number over 1", optarg);
            break;
        }
        case 'q': o.quiet = 1; break;
        case 'h': usage(stdout); return WN_OK;
        case ':': rc = wn_err_set(&e, WN_EINPUT, "option %s needs a value", argv[optind - 1]); break;
        default: rc = wn_err_set(&e, WN_EINPUT, "unknown option %s (see --help)", argv[optind - 1]); break;
        }
    }
    o.models = models;
    o.inputs = (const char *const *)argv + optind;
    o.n_inputs = argc - optind;
    if (rc == WN_OK && !o.report) rc = wn_err_set(&e, WN_EINPUT, "no --report given (see --help)");
    if (rc == WN_OK && o.n_inputs > MAX_INPUTS) rc = wn_err_set(&e, WN_EINPUT, "too many inputs");
    if (rc == WN_OK) rc = wn_cls_merge(&o, &e);
    if (rc) fprintf(stderr, "weldnet merge: error: %s\n", e.msg);
    return rc;
}
