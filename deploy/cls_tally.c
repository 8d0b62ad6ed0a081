/* cls_tally.c - what the summary needs, gathered row by row in bounded memory (the same code
 * for live rows, rows read back on --resume, and merged shard rows): decisions, review counts by
 * suspected defect, the ground-truth audit (confusion of truth against decision, misses written
 * to the misses file as they come), and the probabilities of every decided photo spilled to an
 * unlinked temporary file for the prior-shift EM. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "wn_classify.h"

static FILE *spill_open(wn_err *e) {
    const char *dir = getenv("TMPDIR");
    if (!dir || !dir[0]) dir = "/tmp";
    size_t n = strlen(dir) + 32;
    char *name = wn_xmalloc(n);
    snprintf(name, n, "%s/weldnet-prior-XXXXXX", dir);
    int fd = mkstemp(name);
    FILE *f = NULL;
    if (fd < 0) {
        wn_err_set(e, WN_ERUNTIME, "%s: cannot create a temporary file: %s", name, strerror(errno));
    } else {
        unlink(name);
        f = fdopen(fd, "w+b");
        if (!f) {
            wn_err_set(e, WN_ERUNTIME, "%s: cannot open a temporary file: %s", name, strerror(errno));
            close(fd);
        }
    }
    free(name);
    return f;
}

int wn_cls_tally_init(wn_cls_tally *t, const wn_cls_layout *L, const char *misses_path, wn_err *e) {
    memset(t, 0, sizeof *t);
    t->L = L;
    t->review_by = wn_xcalloc((size_t)L->n_p, sizeof(long));
    t->truth = wn_xcalloc(WN_CLS_MAX_LABELS, sizeof(char *));
    t->truth_ok = wn_xcalloc(WN_CLS_MAX_LABELS, sizeof(int));
    t->conf = wn_xcalloc((size_t)WN_CLS_MAX_LABELS * (size_t)(L->n_p + 2), sizeof(long));
    if (misses_path) t->misses_path = wn_xstrdup(misses_path);
    t->spill = spill_open(e);
    if (!t->spill) {
        wn_cls_tally_free(t);
        return WN_ERUNTIME;
    }
    return WN_OK;
}

/* Index of the probability column the defects column names first, -1 when none. */
static int top_defect(const wn_cls_layout *L, const char *defects) {
    size_t n = strcspn(defects, ";");
    if (!n) return -1;
    for (int q = 0; q < L->n_p; q++)
        if (strlen(L->disp[q]) == n && !strncmp(L->disp[q], defects, n)) return q;
    return -1;
}

static int truth_index(wn_cls_tally *t, const char *truth, wn_err *e) {
    for (int i = 0; i < t->n_truth; i++)
        if (!strcmp(t->truth[i], truth)) return i;
    if (t->n_truth == WN_CLS_MAX_LABELS)
        return -wn_err_set(e, WN_EINPUT, "more than %d different truth labels", WN_CLS_MAX_LABELS);
    int i = t->n_truth++;
    t->truth[i] = wn_xstrdup(truth);
    for (int m = 0; m < t->L->n_models; m++)
        if (!strcmp(t->L->cls[t->L->off[m]], truth)) t->truth_ok[i] = 1;
    return i;
}

static int write_miss(wn_cls_tally *t, const wn_cls_row *r, wn_err *e) {
    if (!t->misses_path) return WN_OK;
    if (!t->misses) {
        t->misses = wn_fopen(t->misses_path, "w", e);
        if (!t->misses) return WN_ERUNTIME;
        if (wn_cls_write_header(t->misses, t->L))
            return wn_err_set(e, WN_ERUNTIME, "%s: write failed: %s", t->misses_path, strerror(errno));
    }
    if (wn_cls_write_row(t->misses, t->L, r))
        return wn_err_set(e, WN_ERUNTIME, "%s: write failed: %s", t->misses_path, strerror(errno));
    t->misses_written++;
    return WN_OK;
}

int wn_cls_tally_add(wn_cls_tally *t, const wn_cls_row *r, wn_err *e) {
    const wn_cls_layout *L = t->L;
    const int P = L->n_p;
    t->rows++;
    int col;
    if (r->decision == WN_CLS_PASS) {
        t->pass++;
        col = 0;
    } else if (r->decision == WN_CLS_ERROR) {
        t->error++;
        col = P + 1;
    } else {
        t->review++;
        int q = top_defect(L, r->defects);
        if (q >= 0) t->review_by[q]++;
        else t->review_other++;
        col = q >= 0 ? 1 + q : -1; /* a review naming no known defect has no column */
    }
    if (r->decision != WN_CLS_ERROR) {
        if (fwrite(r->p, sizeof(float), (size_t)P, t->spill) != (size_t)P)
            return wn_err_set(e, WN_ERUNTIME, "prior shift: temporary file: write failed: %s",
                              strerror(errno));
        t->spilled++;
    }
    if (!r->truth[0]) return WN_OK;
    int ti = truth_index(t, r->truth, e);
    if (ti < 0) return -ti;
    if (col >= 0) t->conf[(size_t)ti * (size_t)(P + 2) + (size_t)col]++;
    t->labelled++;
    if (t->truth_ok[ti]) {
        t->ok_photos++;
        t->ok_passed += r->decision == WN_CLS_PASS;
        return WN_OK;
    }
    t->defects++;
    if (r->decision != WN_CLS_PASS) return WN_OK;
    if (t->missed < WN_CLS_SHOW_MISSES)
        t->shown_miss[t->missed] = wn_cls_escape(r->path, strlen(r->path), NULL);
    t->missed++;
    return write_miss(t, r, e);
}

void wn_cls_tally_free(wn_cls_tally *t) {
    for (int i = 0; i < t->n_truth; i++) free(t->truth[i]);
    for (int i = 0; i < WN_CLS_SHOW_MISSES; i++) free(t->shown_miss[i]);
    free(t->truth);
    free(t->truth_ok);
    free(t->conf);
    free(t->review_by);
    if (t->misses) fclose(t->misses);
    if (t->spill) fclose(t->spill);
    free(t->misses_path);
    memset(t, 0, sizeof *t);
}
