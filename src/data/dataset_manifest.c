/* dataset_manifest.c - reads a CSV manifest (libcsv, strict mode): a header row whose columns
 * include path and label (any order, other columns ignored), then one photo per row; relative
 * paths are resolved against the manifest's folder. Errors name the manifest and the line. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "data_internal.h"
#include "wn_csv.h"

/* Manifests over this size are refused (a photo list of millions of rows is far below it). */
#define MAX_MANIFEST_BYTES ((size_t)1 << 30)

typedef struct manifest_ctx {
    const char *path;   /* the manifest, for messages */
    char *dir;          /* its folder ("" when the path has no '/'), owned */
    wn_ds_builder *b;
    wn_err *e;
    int failed;
    long line;          /* physical line where the current row starts */
    int header_done;
    int col_path, col_label, n_header;
    int nf;             /* fields seen in the current row */
    char *f_path, *f_label;      /* the current row's path and label fields, owned */
    char **header;      /* (n_header) header names, owned */
    int cap_header;
    long *lines;        /* (b->n) line of each sample, for duplicate messages */
    int cap_lines;
} manifest_ctx;

static char *dup_field(const void *s, size_t len) {
    char *p = wn_xmalloc(len + 1);
    if (len) memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

static void on_field(void *s, size_t len, void *data) {
    manifest_ctx *m = data;
    if (m->failed) return;
    int i = m->nf++;
    if (!m->header_done) {
        if (m->n_header == m->cap_header) {
            m->cap_header = m->cap_header ? 2 * m->cap_header : 8;
            m->header = wn_xrealloc(m->header, (size_t)m->cap_header * sizeof(char *));
        }
        m->header[m->n_header++] = dup_field(s, len);
    } else if (i == m->col_path) {
        m->f_path = dup_field(s, len);
    } else if (i == m->col_label) {
        m->f_label = dup_field(s, len);
    }
}

static void finish_header(manifest_ctx *m) {
    m->col_path = m->col_label = -1;
    for (int i = 0; i < m->n_header; i++) {
        const char *h = m->header[i];
        int *col = strcasecmp(h, "path") == 0 ? &m->col_path
                   : strcasecmp(h, "label") == 0 ? &m->col_label : NULL;
        if (!col) continue;
        if (*col >= 0) {
            m->failed = 1;
            wn_err_set(m->e, WN_EINPUT, "%s line %ld: the header names column '%s' twice", m->path,
                       m->line, h);
            return;
        }
        *col = i;
    }
    if (m->col_path < 0 || m->col_label < 0) {
        char found[400];
        size_t used = 0;
        found[0] = '\0';
        for (int i = 0; i < m->n_header && used + 1 < sizeof found; i++) {
            int w = snprintf(found + used, sizeof found - used, "%s%s", i ? ", " : "", m->header[i]);
            if (w < 0) break;
            used += (size_t)w;
        }
        m->failed = 1;
        wn_err_set(m->e, WN_EINPUT,
                   "%s line %ld: the header row has no '%s' column (it needs path and label; found: %s)",
                   m->path, m->line, m->col_path < 0 ? "path" : "label", found);
        return;
    }
    m->header_done = 1;
}

static void add_row(manifest_ctx *m) {
    int need = (m->col_path > m->col_label ? m->col_path : m->col_label) + 1;
    if (m->nf < need) {
        m->failed = 1;
        wn_err_set(m->e, WN_EINPUT, "%s line %ld: row has %d field%s, the path and label columns need %d",
                   m->path, m->line, m->nf, m->nf == 1 ? "" : "s", need);
        return;
    }
    if (!m->f_path[0] || !m->f_label[0]) {
        m->failed = 1;
        wn_err_set(m->e, WN_EINPUT, "%s line %ld: empty %s", m->path, m->line,
                   !m->f_path[0] ? "path" : "label");
        return;
    }
    int k = wn_dsb_class(m->b, m->f_label);
    if (k < 0) {
        m->failed = 1;
        if (k == -1) {
            char list[600];
            wn_dsb_class_list(m->b, list, sizeof list);
            wn_err_set(m->e, WN_EINPUT, "%s line %ld: label '%s' is not one of the model's classes: %s",
                       m->path, m->line, m->f_label, list);
        } else {
            wn_err_set(m->e, WN_EINPUT, "%s line %ld: more than %d distinct labels (is the label column right?)",
                       m->path, m->line, WN_DATA_MAX_CLASSES);
        }
        return;
    }
    char *full = (m->f_path[0] == '/' || !m->dir[0]) ? wn_xstrdup(m->f_path)
                                                       : wn_data_join(m->dir, m->f_path);
    int n = m->b->n;
    if (wn_dsb_add(m->b, full, k, m->path, m->e)) {
        m->failed = 1;
        return;
    }
    if (n == m->cap_lines) {
        m->cap_lines = m->cap_lines ? 2 * m->cap_lines : 256;
        m->lines = wn_xrealloc(m->lines, (size_t)m->cap_lines * sizeof(long));
    }
    m->lines[n] = m->line;
}

static void on_row(int c, void *data) {
    manifest_ctx *m = data;
    (void)c;
    if (!m->failed) {
        if (!m->header_done)
            finish_header(m);
        else
            add_row(m);
    }
    free(m->f_path);
    free(m->f_label);
    m->f_path = m->f_label = NULL;
    m->nf = 0;
}

/* (path, line) pairs, sorted by path to find a photo listed twice. */
typedef struct path_line {
    const char *path;
    long line;
} path_line;

static int cmp_pl(const void *a, const void *b) {
    const path_line *x = a, *y = b;
    int c = strcmp(x->path, y->path);
    return c ? c : (x->line > y->line) - (x->line < y->line);
}

static int check_duplicates(manifest_ctx *m) {
    int n = m->b->n;
    path_line *pl = wn_xmalloc((size_t)(n ? n : 1) * sizeof *pl); /* (n) */
    for (int i = 0; i < n; i++) pl[i] = (path_line){m->b->items[i].path, m->lines[i]};
    qsort(pl, (size_t)n, sizeof *pl, cmp_pl);
    int rc = WN_OK;
    for (int i = 1; i < n && rc == WN_OK; i++)
        if (strcmp(pl[i].path, pl[i - 1].path) == 0)
            rc = wn_err_set(m->e, WN_EINPUT, "%s line %ld: photo '%s' is already listed on line %ld",
                            m->path, pl[i].line, pl[i].path, pl[i - 1].line);
    free(pl);
    return rc;
}

int wn_data_read_manifest(const char *path, wn_ds_builder *b, wn_err *e) {
    unsigned char *buf;
    size_t len;
    int rc = wn_read_file(path, MAX_MANIFEST_BYTES, &buf, &len, e);
    if (rc) return rc;

    manifest_ctx m;
    memset(&m, 0, sizeof m);
    m.path = path;
    m.b = b;
    m.e = e;
    const char *slash = strrchr(path, '/');
    m.dir = slash ? dup_field(path, (size_t)(slash - path) + (slash == path)) : wn_xstrdup("");

    wn_csv_feed feed = {path, on_field, on_row, &m, &m.line, &m.failed};
    rc = wn_csv_feed_buffer(&feed, buf, len, e);
    free(buf);
    if (rc == WN_OK && !m.header_done)
        rc = wn_err_set(e, WN_EINPUT, "%s: empty manifest (expected a header row with path and label columns)", path);
    if (rc == WN_OK && b->n == 0)
        rc = wn_err_set(e, WN_EINPUT, "%s: the manifest lists no photos", path);
    if (rc == WN_OK) rc = check_duplicates(&m);
    free(m.f_path);
    free(m.f_label);
    for (int i = 0; i < m.n_header; i++) free(m.header[i]);
    free(m.header);
    free(m.lines);
    free(m.dir);
    return rc;
}
