/* cls_resume.c - `--resume`: reopens an interrupted report after its last complete row. The
 * header must match this run's models; every kept row must be in sorted order, written by the
 * same models, under this run's photo folders and in its shard; kept rows go to the summary
 * tally; an incomplete last row (the write that was interrupted) is cut off, so that photo is
 * classified again and appears once. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "wn_classify.h"

const char *wn_cls_rel_of(const wn_walk *w, const char *path) {
    for (int r = 0; r < wn_walk_root_count(w); r++) {
        const char *root = wn_walk_root(w, r);
        size_t n = strlen(root);
        if (!strcmp(path, root)) { /* a single photo given as a root: rel is its file name */
            const char *base = strrchr(path, '/');
            return base ? base + 1 : path;
        }
        if (n && root[n - 1] == '/' && !strncmp(path, root, n)) return path + n;
        if (!strncmp(path, root, n) && path[n] == '/') return path + n + 1;
    }
    return NULL;
}

static FILE *start_new(const char *path, const wn_cls_layout *L, wn_err *e) {
    FILE *f = wn_fopen(path, "w", e);
    if (!f) return NULL;
    if (wn_cls_write_header(f, L) || fflush(f)) {
        wn_err_set(e, WN_ERUNTIME, "%s: write failed: %s", path, strerror(errno));
        fclose(f);
        return NULL;
    }
    return f;
}

/* Checks one kept row. */
static int check_row(const wn_cls_reader *r, const wn_cls_row *row, const char *prev,
                     const char *models_field, const wn_walk *w, int shard_i, int shard_n,
                     wn_err *e) {
    char *shown = wn_cls_escape(row->path, strlen(row->path), NULL);
    int rc = WN_OK;
    const char *rel = wn_cls_rel_of(w, row->path);
    if (strcmp(row->models, models_field))
        rc = wn_err_set(e, WN_EINPUT,
                        "%s line %ld: written by the models '%s', this run has '%s': resume with "
                        "the same --model files (and --threshold), or start a new report",
                        r->path, r->line, row->models, models_field);
    else if (prev && strcmp(prev, row->path) >= 0)
        rc = wn_err_set(e, WN_EINPUT, "%s line %ld: %s is not after the row before it: the report "
                                      "was not written by weldnet classify in one order",
                        r->path, r->line, shown);
    else if (!rel)
        rc = wn_err_set(e, WN_EINPUT, "%s line %ld: %s is not under this run's photo folders: "
                                      "resume with the same folders",
                        r->path, r->line, shown);
    else if (!wn_cls_shard_member(rel, shard_i, shard_n))
        rc = wn_err_set(e, WN_EINPUT, "%s line %ld: %s is not in shard %d/%d: resume with the same "
                                      "--shard",
                        r->path, r->line, shown, shard_i, shard_n);
    free(shown);
    return rc;
}

int wn_cls_resume_open(const char *path, const wn_cls_layout *L, const char *models_field,
                       const wn_walk *w, int shard_i, int shard_n, wn_cls_tally *t, FILE **out,
                       char **last, long *rows, wn_err *e) {
    *out = NULL;
    *last = NULL;
    *rows = 0;
    struct stat st;
    if (stat(path, &st) != 0) {
        if (errno != ENOENT)
            return wn_err_set(e, WN_EINPUT, "%s: cannot resume: %s", path, strerror(errno));
        *out = start_new(path, L, e);
        return *out ? WN_OK : WN_ERUNTIME;
    }
    wn_cls_reader r;
    int rc = wn_cls_reader_open(&r, path, 1, e);
    if (rc) return rc;
    if (r.header_partial) {
        wn_cls_reader_close(&r);
        *out = start_new(path, L, e);
        return *out ? WN_OK : WN_ERUNTIME;
    }
    if (!wn_cls_layout_same(&r.L, L)) {
        wn_cls_reader_close(&r);
        return wn_err_set(e, WN_EINPUT,
                          "%s: cannot resume: its columns differ from this run's (other models or "
                          "classes); give the same --model files or start a new report",
                          path);
    }
    wn_cls_row row;
    int got;
    while ((got = wn_cls_reader_next(&r, &row, e)) == 1) {
        if ((rc = check_row(&r, &row, *last, models_field, w, shard_i, shard_n, e)) ||
            (rc = wn_cls_tally_add(t, &row, e)))
            break;
        free(*last);
        *last = wn_xstrdup(row.path);
        ++*rows;
    }
    if (got < 0) rc = -got;
    long long keep = r.end_ok;
    int partial = r.partial;
    wn_cls_reader_close(&r);
    if (rc) {
        free(*last);
        *last = NULL;
        return rc;
    }
    if (partial && truncate(path, (off_t)keep) != 0)
        return wn_err_set(e, WN_ERUNTIME, "%s: cannot cut off the incomplete last row: %s", path,
                          strerror(errno));
    *out = wn_fopen(path, "a", e);
    return *out ? WN_OK : WN_ERUNTIME;
}
