/* cls_read.c - reads a classify report back, one line per row (the writer escapes every newline,
 * so a line is a row), each line parsed with libcsv in strict mode; tells complete rows from an
 * incomplete last one (an interrupted write) for resume and merge. */
#include <csv.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "wn_classify.h"

#define MAX_LINE ((size_t)1 << 20)

static void on_field(void *s, size_t len, void *data) {
    wn_cls_reader *r = data;
    if (r->n_field == r->cap_field) {
        r->cap_field = r->cap_field ? 2 * r->cap_field : 32;
        r->foff = wn_xrealloc(r->foff, (size_t)r->cap_field * sizeof *r->foff);
        r->field = wn_xrealloc(r->field, (size_t)r->cap_field * sizeof *r->field);
    }
    if (r->arena_len + len + 1 > r->arena_cap) {
        r->arena_cap = (r->arena_len + len + 1) * 2;
        r->arena = wn_xrealloc(r->arena, r->arena_cap);
    }
    if (len) memcpy(r->arena + r->arena_len, s, len);
    r->arena[r->arena_len + len] = '\0';
    r->foff[r->n_field++] = r->arena_len;
    r->arena_len += len + 1;
}

static void on_row(int c, void *data) {
    (void)c;
    ((wn_cls_reader *)data)->n_rows_parsed++;
}

/* 1: a whole line (ending in '\n') in r->buf with its length in *len; 0: end of file; 2: an
 * incomplete last line; -1: a read error or a line over MAX_LINE. */
static int read_line(wn_cls_reader *r, size_t *len) {
    ssize_t n = getline(&r->buf, &r->cap, r->f);
    if (n < 0) return ferror(r->f) ? -1 : 0;
    *len = (size_t)n;
    if ((size_t)n > MAX_LINE) return -1;
    return r->buf[n - 1] == '\n' ? 1 : 2;
}

/* Splits one line into r->field[0..n_field). */
static int parse_line(wn_cls_reader *r, size_t len, wn_err *e) {
    struct csv_parser *p = r->csv;
    r->arena_len = 0;
    r->n_field = 0;
    r->n_rows_parsed = 0;
    size_t used = csv_parse(p, r->buf, len, on_field, on_row, r);
    int ok = used == len && csv_fini(p, on_field, on_row, r) == 0;
    if (!ok) {
        csv_fini(p, NULL, NULL, NULL);
        return wn_err_set(e, WN_EINPUT, "%s line %ld: malformed CSV (%s)", r->path, r->line,
                          csv_strerror(csv_error(p)));
    }
    if (r->n_rows_parsed != 1)
        return wn_err_set(e, WN_EINPUT, "%s line %ld: %s", r->path, r->line,
                          r->n_rows_parsed ? "more than one row on a line" : "empty line");
    for (int i = 0; i < r->n_field; i++) r->field[i] = r->arena + r->foff[i];
    return WN_OK;
}

int wn_cls_reader_open(wn_cls_reader *r, const char *path, int allow_partial, wn_err *e) {
    memset(r, 0, sizeof *r);
    r->path = wn_xstrdup(path);
    r->csv = wn_xcalloc(1, sizeof(struct csv_parser));
    if (csv_init(r->csv, CSV_STRICT | CSV_STRICT_FINI) != 0) {
        wn_cls_reader_close(r);
        return wn_err_set(e, WN_ERUNTIME, "%s: cannot start the CSV parser", path);
    }
    r->f = wn_fopen(path, "rb", e);
    if (!r->f) {
        int rc = e ? e->code : WN_EINPUT;
        wn_cls_reader_close(r);
        return rc;
    }
    size_t len = 0;
    int got = read_line(r, &len);
    r->line = 1;
    int rc = WN_OK;
    if (got < 0) {
        rc = wn_err_set(e, WN_EINPUT, "%s: cannot read the header row", path);
    } else if (got == 0 || got == 2) {
        if (allow_partial) r->header_partial = 1;
        else rc = wn_err_set(e, WN_EINPUT, "%s: %s", path,
                             got ? "the header row is incomplete" : "empty file, no header row");
    } else if ((rc = parse_line(r, len, e)) == WN_OK &&
               (rc = wn_cls_layout_parse(&r->L, r->field, r->n_field, path, e)) == WN_OK) {
        r->p = wn_xcalloc((size_t)r->L.n_p, sizeof(float));
        r->end_ok = (long long)ftello(r->f);
    }
    if (rc) wn_cls_reader_close(r);
    return rc;
}

int wn_cls_reader_next(wn_cls_reader *r, wn_cls_row *row, wn_err *e) {
    if (r->header_partial || r->partial) return 0;
    size_t len = 0;
    int got = read_line(r, &len);
    if (got == 0) return 0;
    r->line++;
    if (got == 2) {
        r->partial = 1;
        return 0;
    }
    if (got < 0)
        return -wn_err_set(e, WN_EINPUT, "%s line %ld: read error or line over %zu bytes", r->path,
                           r->line, MAX_LINE);
    if (parse_line(r, len, e)) return -WN_EINPUT;
    const wn_cls_layout *L = &r->L;
    if (r->n_field != L->n_cols)
        return -wn_err_set(e, WN_EINPUT, "%s line %ld: %d fields, the header has %d", r->path,
                           r->line, r->n_field, L->n_cols);
    char **f = r->field;
    free(r->raw_path);
    r->raw_path = NULL;
    if (wn_cls_unescape(f[0], strlen(f[0]), &r->raw_path, NULL, e)) {
        wn_err_prefix(e, "%s line %ld: path", r->path, r->line);
        return -WN_EINPUT;
    }
    int d = -1;
    for (int i = 0; i < 3; i++)
        if (!strcmp(f[1], wn_cls_decision_name[i])) d = i;
    if (d < 0 || !f[0][0])
        return -wn_err_set(e, WN_EINPUT, "%s line %ld: %s", r->path, r->line,
                           d < 0 ? "decision is not pass, review or error" : "empty path");
    for (int q = 0; q < L->n_p; q++) {
        const char *s = f[WN_CLS_FIXED_LEAD + q];
        char *end;
        r->p[q] = *s ? strtof(s, &end) : NAN;
        if (*s && (*end || !(r->p[q] >= 0.0f && r->p[q] <= 1.0f)))
            return -wn_err_set(e, WN_EINPUT, "%s line %ld: column %s is '%s', not a probability",
                               r->path, r->line, L->col[WN_CLS_FIXED_LEAD + q], s);
        if (!*s && d != WN_CLS_ERROR)
            return -wn_err_set(e, WN_EINPUT, "%s line %ld: column %s is empty", r->path, r->line,
                               L->col[WN_CLS_FIXED_LEAD + q]);
    }
    row->path = r->raw_path;
    row->decision = d;
    row->defects = f[2];
    row->truth = f[3];
    row->p = r->p;
    row->models = f[WN_CLS_FIXED_LEAD + L->n_p];
    row->error = f[WN_CLS_FIXED_LEAD + L->n_p + 1];
    r->end_ok = (long long)ftello(r->f);
    return 1;
}

void wn_cls_reader_close(wn_cls_reader *r) {
    if (r->f) fclose(r->f);
    if (r->csv) csv_free(r->csv);
    free(r->csv);
    wn_cls_layout_free(&r->L);
    free(r->path);
    free(r->buf);
    free(r->arena);
    free(r->foff);
    free(r->field);
    free(r->raw_path);
    free(r->p);
    memset(r, 0, sizeof *r);
}
