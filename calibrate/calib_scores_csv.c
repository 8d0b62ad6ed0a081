/* calib_scores_csv.c - the calibration set from scores another framework produced: a CSV (libcsv,
 * strict) with the columns path, label and one probability per class, the header naming the
 * classes. Every problem is refused with the file and the line: missing columns, short or long
 * rows, unknown labels, numbers that are not numbers, NaN, probabilities outside [0, 1], rows
 * that do not sum to 1, a photo listed twice. */
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "wn_calibrate.h"
#include "wn_csv.h"

#define MAX_SCORES_BYTES ((size_t)1 << 34) /* 16 GiB: far beyond 10 million rows */
#define MAX_CLASSES 1000                   /* as the model file */

typedef struct sctx {
    const char *path, *ok_name;
    double tol;
    wn_err *e;
    int failed;
    long line;        /* physical line where the current row starts */
    int header_done;
    int nh, cap_h;
    char **header;    /* (NH) header fields */
    int col_path, col_label;
    int *col_class;   /* (NH) class index of each column, -1 for path and label */
    int k;
    char **names;     /* (K) class names, ok first */
    int nf;           /* fields of the current row so far */
    char *f_path, *f_label;
    float *row;       /* (K) the current row's probabilities */
    /* rows read */
    long n, cap;
    float *probs;     /* (CAP, K) */
    int *labels;      /* (CAP) */
    long *lines;      /* (CAP) line of each row */
    size_t *off;      /* (CAP) offset of each path in arena */
    char *arena;      /* the paths, NUL-terminated, back to back */
    size_t used, cap_arena;
} sctx;

static char *dup_field(const void *s, size_t len) {
    char *p = wn_xmalloc(len + 1);
    if (len) memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

__attribute__((format(printf, 2, 3))) static void fail(sctx *c, const char *fmt, ...) {
    if (c->failed) return;
    c->failed = 1;
    char msg[900];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    wn_err_set(c->e, WN_EINPUT, "%s line %ld: %s", c->path, c->line, msg);
}

/* Refuses the input (the first problem wins) and leaves the calling callback. */
#define FAIL(...)                                                                                  \
    do {                                                                                           \
        fail(__VA_ARGS__);                                                                         \
        return;                                                                                    \
    } while (0)

static void header_list(const sctx *c, char *buf, size_t cap) {
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; i < c->nh && used + 1 < cap; i++) {
        int w = snprintf(buf + used, cap - used, "%s%s", i ? ", " : "", c->header[i]);
        if (w < 0) break;
        used += (size_t)w;
    }
}

static void finish_header(sctx *c) {
    char found[400];
    header_list(c, found, sizeof found);
    c->col_path = c->col_label = -1;
    c->col_class = wn_xmalloc(sizeof *c->col_class * (size_t)(c->nh ? c->nh : 1));
    int n_cls = 0, ok_col = -1;
    for (int i = 0; i < c->nh; i++) {
        const char *h = c->header[i];
        for (int p = 0; p < i; p++)
            if (!strcmp(c->header[p], h))
                FAIL(c, "the header names column '%s' twice", h);
        c->col_class[i] = -1;
        if (!strcasecmp(h, "path") && c->col_path < 0) {
            c->col_path = i;
        } else if (!strcasecmp(h, "label") && c->col_label < 0) {
            c->col_label = i;
        } else if (!h[0]) {
            FAIL(c, "column %d of the header is empty (every probability column is named "
                           "after its class)", i + 1);
        } else {
            if (!strcmp(h, c->ok_name)) ok_col = i;
            n_cls++;
        }
    }
    if (c->col_path < 0 || c->col_label < 0)
        FAIL(c, "the header has no '%s' column (it needs path, label and one probability "
                       "column per class; found: %s)",
                    c->col_path < 0 ? "path" : "label", found);
    if (ok_col < 0)
        FAIL(c, "the header has no probability column for the ok class '%s' (--ok-class "
                       "names it; found: %s)", c->ok_name, found);
    if (n_cls < 2)
        FAIL(c, "the header has no probability column for a defect class (it needs the ok "
                       "class and at least one defect class; found: %s)", found);
    if (n_cls > MAX_CLASSES) FAIL(c, "%d classes: at most %d", n_cls, MAX_CLASSES);
    c->k = n_cls;
    c->names = wn_xcalloc((size_t)n_cls, sizeof *c->names);
    c->row = wn_xcalloc((size_t)n_cls, sizeof *c->row);
    int next = 1;
    for (int i = 0; i < c->nh; i++) {
        if (i == c->col_path || i == c->col_label) continue;
        int j = i == ok_col ? 0 : next++;
        c->col_class[i] = j;
        c->names[j] = wn_xstrdup(c->header[i]);
    }
    c->header_done = 1;
}

static void on_field(void *s, size_t len, void *data) {
    sctx *c = data;
    if (c->failed) return;
    int i = c->nf++;
    if (!c->header_done) {
        if (c->nh == c->cap_h) {
            c->cap_h = c->cap_h ? 2 * c->cap_h : 16;
            c->header = wn_xrealloc(c->header, sizeof *c->header * (size_t)c->cap_h);
        }
        c->header[c->nh++] = dup_field(s, len);
        return;
    }
    if (i >= c->nh) return; /* counted; refused at the end of the row */
    if (i == c->col_path) {
        free(c->f_path);
        c->f_path = dup_field(s, len);
        return;
    }
    if (i == c->col_label) {
        free(c->f_label);
        c->f_label = dup_field(s, len);
        return;
    }
    int j = c->col_class[i];
    char num[64];
    const char *name = c->names[j];
    if (len == 0) FAIL(c, "probability of class '%s' is empty", name);
    if (len >= sizeof num) FAIL(c, "probability of class '%s' is not a number", name);
    memcpy(num, s, len);
    num[len] = '\0';
    char *end;
    double v = strtod(num, &end);
    while (*end == ' ') end++;
    if (end == num || *end)
        FAIL(c, "probability of class '%s' is '%s', not a number", name, num);
    if (isnan(v)) FAIL(c, "probability of class '%s' is NaN", name);
    if (!(v >= 0.0 && v <= 1.0))
        FAIL(c, "probability of class '%s' is %g, outside [0, 1]", name, v);
    c->row[j] = (float)v;
}

static void add_row(sctx *c) {
    if (c->nf != c->nh)
        FAIL(c, "row has %d field%s, the header has %d", c->nf, c->nf == 1 ? "" : "s",
                    c->nh);
    if (!c->f_path || !c->f_path[0]) FAIL(c, "empty path");
    if (!c->f_label || !c->f_label[0]) FAIL(c, "empty label");
    int y = -1;
    for (int j = 0; j < c->k && y < 0; j++)
        if (!strcmp(c->names[j], c->f_label)) y = j;
    if (y < 0)
        FAIL(c, "label '%s' has no probability column (the classes are the header's "
                       "columns other than path and label)", c->f_label);
    double sum = 0.0;
    for (int j = 0; j < c->k; j++) sum += c->row[j];
    if (!(fabs(sum - 1.0) <= c->tol))
        FAIL(c, "probabilities sum to %.6g, not 1 (tolerance %g, --sum-tolerance)", sum,
                    c->tol);
    if (c->n == c->cap) {
        c->cap = c->cap ? 2 * c->cap : 1024;
        c->probs = wn_xrealloc(c->probs, sizeof *c->probs * (size_t)c->cap * (size_t)c->k);
        c->labels = wn_xrealloc(c->labels, sizeof *c->labels * (size_t)c->cap);
        c->lines = wn_xrealloc(c->lines, sizeof *c->lines * (size_t)c->cap);
        c->off = wn_xrealloc(c->off, sizeof *c->off * (size_t)c->cap);
    }
    size_t plen = strlen(c->f_path) + 1;
    if (c->used + plen > c->cap_arena) {
        c->cap_arena = 2 * (c->used + plen) + 4096;
        c->arena = wn_xrealloc(c->arena, c->cap_arena);
    }
    memcpy(c->arena + c->used, c->f_path, plen);
    c->off[c->n] = c->used;
    c->used += plen;
    memcpy(c->probs + (size_t)c->n * (size_t)c->k, c->row, sizeof *c->row * (size_t)c->k);
    c->labels[c->n] = y;
    c->lines[c->n] = c->line;
    c->n++;
}

static void on_row(int ch, void *data) {
    sctx *c = data;
    (void)ch;
    if (!c->failed) {
        if (!c->header_done)
            finish_header(c);
        else
            add_row(c);
    }
    free(c->f_path);
    free(c->f_label);
    c->f_path = c->f_label = NULL;
    c->nf = 0;
}

static int cmp_ptr(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Row of the path starting at p in the arena (offsets ascend). */
static long row_of(const sctx *c, const char *p) {
    size_t at = (size_t)(p - c->arena);
    long lo = 0, hi = c->n - 1;
    while (lo < hi) {
        long mid = lo + (hi - lo + 1) / 2;
        if (c->off[mid] <= at) lo = mid;
        else hi = mid - 1;
    }
    return lo;
}

/* Sorted paths: the hash, and a photo listed twice. */
static int finish_paths(sctx *c, wn_calib_set *s) {
    char **p = wn_xmalloc(sizeof *p * (size_t)c->n); /* (N) into the arena */
    for (long i = 0; i < c->n; i++) p[i] = c->arena + c->off[i];
    qsort(p, (size_t)c->n, sizeof *p, cmp_ptr);
    int rc = WN_OK;
    for (long i = 1; i < c->n && !rc; i++)
        if (!strcmp(p[i], p[i - 1])) {
            long a = row_of(c, p[i - 1]), b = row_of(c, p[i]);
            if (a > b) {
                long t = a;
                a = b;
                b = t;
            }
            rc = wn_err_set(c->e, WN_EINPUT, "%s line %ld: photo '%s' is already listed on line %ld",
                            c->path, c->lines[b], p[i], c->lines[a]);
        }
    if (!rc) wn_calib_hash_paths(p, c->n, NULL, s->set_hash);
    free(p);
    return rc;
}

static int parse(sctx *c, const unsigned char *buf, size_t len) {
    wn_csv_feed feed = {c->path, on_field, on_row, c, &c->line, &c->failed};
    return wn_csv_feed_buffer(&feed, buf, len, c->e);
}

int wn_calib_read_scores(const char *path, const char *ok_class, double sum_tol, wn_calib_set *s,
                         wn_err *e) {
    memset(s, 0, sizeof *s);
    unsigned char *buf;
    size_t len;
    int rc = wn_read_file(path, MAX_SCORES_BYTES, &buf, &len, e);
    if (rc) return rc;
    sctx c;
    memset(&c, 0, sizeof c);
    c.path = path;
    c.ok_name = ok_class ? ok_class : "ok";
    c.tol = sum_tol;
    c.e = e;
    rc = parse(&c, buf, len);
    free(buf);
    if (!rc && !c.header_done)
        rc = wn_err_set(e, WN_EINPUT,
                        "%s: empty scores file (expected a header with path, label and one "
                        "probability column per class)", path);
    if (!rc && c.n == 0) rc = wn_err_set(e, WN_EINPUT, "%s: the scores file has no rows", path);
    if (!rc) rc = finish_paths(&c, s);
    if (!rc) {
        s->k = c.k;
        s->names = c.names;
        c.names = NULL;
        s->n = c.n;
        s->probs = c.probs;
        s->labels = c.labels;
        c.probs = NULL;
        c.labels = NULL;
        s->priors = wn_xmalloc(sizeof *s->priors * (size_t)c.k);
        for (int j = 0; j < c.k; j++) s->priors[j] = 1.0f / (float)c.k;
        s->source = wn_xstrdup(path);
    }
    for (int i = 0; i < c.nh; i++) free(c.header[i]);
    free(c.header);
    free(c.col_class);
    for (int j = 0; j < c.k && c.names; j++) free(c.names[j]);
    free(c.names);
    free(c.row);
    free(c.f_path);
    free(c.f_label);
    free(c.probs);
    free(c.labels);
    free(c.lines);
    free(c.off);
    free(c.arena);
    return rc;
}
