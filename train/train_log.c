/* train_log.c - the training log CSV: one row per epoch with the training and validation
 * figures and each class's validation recall. Written with libcsv (every text field quoted,
 * numbers in the C locale) and read back with libcsv for the plots, so a resumed run's plots
 * cover the whole run. */
#include <csv.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "train_internal.h"

static const char *const FIXED[] = {"epoch", "lr", "train_loss", "train_accuracy", "val_loss",
                                    "val_accuracy", "val_balanced_accuracy", "images_per_s",
                                    "seconds", "best", "val_macro_f1", "collapsed"};
#define NFIXED ((int)(sizeof FIXED / sizeof FIXED[0]))

static int field(FILE *f, const char *s, int first, const char *path, wn_err *e) {
    if ((!first && fputc(',', f) == EOF) || csv_fwrite(f, s, strlen(s)) != 0)
        return wn_err_set(e, WN_ERUNTIME, "%s: write failed", path);
    return WN_OK;
}

int wn_log_header(FILE *f, int k, char *const *names, const char *path, wn_err *e) {
    int rc = WN_OK;
    for (int i = 0; i < NFIXED && !rc; i++) rc = field(f, FIXED[i], i == 0, path, e);
    for (int j = 0; j < k && !rc; j++) {
        char name[300];
        snprintf(name, sizeof name, "recall_%s", names[j]);
        rc = field(f, name, 0, path, e);
    }
    if (!rc && fputc('\n', f) == EOF) rc = wn_err_set(e, WN_ERUNTIME, "%s: write failed", path);
    return rc;
}

int wn_log_row_write(FILE *f, const wn_log_row *w, int k, const double *recall,
                     const char *path, wn_err *e) {
    int bad = fprintf(f, "%d,%.6g,%.6f,%.6f,%.6f,%.6f,%.6f,%.1f,%.2f,%d,%.6f,%d", w->epoch, w->lr,
                      w->train_loss, w->train_acc, w->val_loss, w->val_acc, w->val_bal, w->ips,
                      w->secs, w->best, w->val_f1, w->collapsed) < 0;
    for (int j = 0; j < k && !bad; j++)
        bad = recall[j] < 0 ? fputc(',', f) == EOF : fprintf(f, ",%.6f", recall[j]) < 0;
    if (!bad) bad = fputc('\n', f) == EOF || fflush(f) != 0;
    return bad ? wn_err_set(e, WN_ERUNTIME, "%s: write failed", path) : WN_OK;
}

/* ---- reading ---- */

enum { C_EPOCH, C_TLOSS, C_VLOSS, C_VACC, C_VBAL, C_VF1, C_BEST, C_N };
static const char *const WANT[C_N] = {"epoch", "train_loss", "val_loss", "val_accuracy",
                                      "val_balanced_accuracy", "val_macro_f1", "best"};

typedef struct reader {
    wn_log_history *h;
    int header_done, col, cap;
    int map[64];          /* column -> C_* or -1 */
    double row[C_N];
} reader;

static double **column(wn_log_history *h, int c) {
    double **cols[C_N] = {&h->epoch, &h->train_loss, &h->val_loss, &h->val_acc,
                          &h->val_bal, &h->val_f1, &h->best};
    return cols[c];
}

static void on_field(void *s, size_t len, void *data) {
    reader *r = data;
    int i = r->col++;
    if (!r->header_done) {
        if (i < 64) {
            r->map[i] = -1;
            for (int c = 0; c < C_N; c++)
                if (strlen(WANT[c]) == len && !memcmp(WANT[c], s, len)) r->map[i] = c;
        }
        return;
    }
    if (i >= 64 || r->map[i] < 0) return;
    char *end;
    double v = strtod(s, &end);
    r->row[r->map[i]] = (len && end != (char *)s) ? v : NAN;
}

static void on_row(int ch, void *data) {
    (void)ch;
    reader *r = data;
    if (!r->header_done) {
        for (int i = r->col; i < 64; i++) r->map[i] = -1;
        r->header_done = 1;
    } else {
        wn_log_history *h = r->h;
        if (h->n == r->cap) {
            r->cap = r->cap ? 2 * r->cap : 32;
            for (int c = 0; c < C_N; c++)
                *column(h, c) = wn_xrealloc(*column(h, c), (size_t)r->cap * sizeof(double));
        }
        for (int c = 0; c < C_N; c++) (*column(h, c))[h->n] = r->row[c];
        h->n++;
    }
    r->col = 0;
    for (int c = 0; c < C_N; c++) r->row[c] = NAN;
}

int wn_log_read(const char *path, wn_log_history *h, wn_err *e) {
    memset(h, 0, sizeof *h);
    unsigned char *buf;
    size_t len;
    int rc = wn_read_file(path, (size_t)1 << 30, &buf, &len, e);
    if (rc) return rc;
    struct csv_parser p;
    reader r = {.h = h};
    for (int c = 0; c < C_N; c++) r.row[c] = NAN;
    if (csv_init(&p, CSV_APPEND_NULL) != 0) {
        free(buf);
        return wn_err_set(e, WN_ERUNTIME, "%s: cannot start the CSV parser", path);
    }
    if (csv_parse(&p, buf, len, on_field, on_row, &r) != len)
        rc = wn_err_set(e, WN_EINPUT, "%s: not a valid CSV file: %s", path,
                        csv_strerror(csv_error(&p)));
    if (!rc) csv_fini(&p, on_field, on_row, &r);
    csv_free(&p);
    free(buf);
    if (rc) wn_log_history_free(h);
    return rc;
}

void wn_log_history_free(wn_log_history *h) {
    for (int c = 0; c < C_N; c++) free(*column(h, c));
    memset(h, 0, sizeof *h);
}
