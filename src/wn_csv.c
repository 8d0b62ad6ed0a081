/* wn_csv.c - wn_csv_feed_buffer (wn_csv.h): libcsv fed line by line, tracking the line each row
 * starts on (a quoted field may span lines), with path and line in every syntax error. */
#include <csv.h>
#include <string.h>

#include "wn_csv.h"

typedef struct feed_state {
    const wn_csv_feed *f;
    int between_rows; /* no field of the next row seen yet */
} feed_state;

static void row_cb(int term, void *data) {
    feed_state *s = data;
    s->f->on_row(term, s->f->data);
    s->between_rows = 1;
}

static void field_cb(void *field, size_t len, void *data) {
    feed_state *s = data;
    s->f->on_field(field, len, s->f->data);
}

static int is_blank(const unsigned char *s, size_t len) {
    for (size_t i = 0; i < len; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n') return 0;
    return 1;
}

int wn_csv_feed_buffer(const wn_csv_feed *f, const unsigned char *buf, size_t len, wn_err *e) {
    struct csv_parser p;
    if (csv_init(&p, CSV_STRICT | CSV_STRICT_FINI) != 0)
        return wn_err_set(e, WN_ERUNTIME, "%s: cannot start the CSV parser", f->path);
    feed_state s = {f, 1};
    size_t pos = 0;
    if (len >= 3 && buf[0] == 0xEF && buf[1] == 0xBB && buf[2] == 0xBF) pos = 3; /* UTF-8 BOM */
    long lineno = 0;
    int rc = WN_OK;
    while (pos < len && !*f->failed) {
        const unsigned char *nl = memchr(buf + pos, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - (buf + pos)) + 1 : len - pos;
        lineno++;
        if (s.between_rows && !is_blank(buf + pos, n)) {
            *f->line = lineno;
            s.between_rows = 0;
        }
        if (csv_parse(&p, buf + pos, n, field_cb, row_cb, &s) != n && !*f->failed) {
            *f->failed = 1;
            rc = wn_err_set(e, WN_EINPUT, "%s line %ld: CSV parse error (%s)", f->path, lineno,
                            csv_strerror(csv_error(&p)));
        }
        pos += n;
    }
    if (!*f->failed && csv_fini(&p, field_cb, row_cb, &s) != 0 && !*f->failed) {
        *f->failed = 1;
        rc = wn_err_set(e, WN_EINPUT, "%s line %ld: CSV parse error (%s: a quoted field is not closed)",
                        f->path, *f->line, csv_strerror(csv_error(&p)));
    }
    csv_free(&p);
    if (*f->failed && rc == WN_OK) rc = WN_EINPUT;
    return rc;
}
