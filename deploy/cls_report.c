/* cls_report.c - writes the CSV audit report through libcsv: the header row and one row per
 * photo (every string field quoted, probabilities as plain numbers with 6 significant digits in
 * the C locale, paths escaped so that each row is one line). */
#include <csv.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "wn_classify.h"

const char *const wn_cls_decision_name[3] = {"pass", "review", "error"};

float wn_cls_round(float p) {
    if (isnan(p)) return p;
    char b[32];
    snprintf(b, sizeof b, "%.6g", (double)p);
    return strtof(b, NULL);
}

static int put_str(FILE *f, const char *s, int comma) {
    if (comma && fputc(',', f) == EOF) return -1;
    return csv_fwrite(f, s, strlen(s)) == 0 ? 0 : -1;
}

int wn_cls_write_header(FILE *f, const wn_cls_layout *L) {
    for (int i = 0; i < L->n_cols; i++)
        if (put_str(f, L->col[i], i > 0)) return -1;
    return fputc('\n', f) == EOF ? -1 : 0;
}

int wn_cls_write_row(FILE *f, const wn_cls_layout *L, const wn_cls_row *r) {
    char *path = wn_cls_escape(r->path, strlen(r->path), NULL);
    int bad = put_str(f, path, 0);
    free(path);
    bad = bad || put_str(f, wn_cls_decision_name[r->decision], 1) || put_str(f, r->defects, 1) ||
          put_str(f, r->truth, 1);
    for (int q = 0; q < L->n_p && !bad; q++) {
        if (isnan(r->p[q])) bad = fputc(',', f) == EOF;
        else bad = fprintf(f, ",%.6g", (double)r->p[q]) < 0;
    }
    bad = bad || put_str(f, r->models, 1) || put_str(f, r->error, 1) || fputc('\n', f) == EOF;
    return bad ? -1 : 0;
}
