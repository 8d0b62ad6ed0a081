/* calib_files.c - how the calibrate stage writes its text outputs: the default paths derived from
 * --out, files written to PATH.tmp and renamed into place only when every write succeeded, and
 * CSV fields through libcsv (strings quoted, numbers in the C locale). */
#include <csv.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "wn_calibrate.h"
#include "wn_text.h"

static void derive(char *dst, size_t cap, const char *out, const char *suffix) {
    const char *dot = strrchr(out, '.'), *slash = strrchr(out, '/');
    size_t stem = (dot && (!slash || dot > slash) && dot != out && dot[-1] != '/')
                      ? (size_t)(dot - out)
                      : strlen(out);
    snprintf(dst, cap, "%.*s%s", (int)stem, out, suffix);
}

void wn_calib_paths(const char *out, const char *curve, const char *plot, const char *report,
                    char *curve_out, char *plot_out, char *report_out, size_t cap) {
    if (curve) snprintf(curve_out, cap, "%s", curve);
    else derive(curve_out, cap, out, ".curve.csv");
    if (plot) snprintf(plot_out, cap, "%s", plot);
    else derive(plot_out, cap, out, ".curve.png");
    if (report) snprintf(report_out, cap, "%s", report);
    else derive(report_out, cap, out, ".report.csv");
}

int wn_calib_file_open(wn_calib_file *o, const char *path, wn_err *e) {
    memset(o, 0, sizeof *o);
    o->path = wn_xstrdup(path);
    size_t n = strlen(path) + 5;
    o->tmp = wn_xmalloc(n);
    snprintf(o->tmp, n, "%s.tmp", path);
    o->f = fopen(o->tmp, "wb");
    if (!o->f) {
        int err = errno;
        free(o->path);
        free(o->tmp);
        memset(o, 0, sizeof *o);
        return wn_err_set(e, WN_EINPUT, "%s: cannot write: %s", path, strerror(err));
    }
    return WN_OK;
}

int wn_calib_file_close(wn_calib_file *o, int commit, wn_err *e) {
    int rc = WN_OK;
    if (o->f) {
        int bad = ferror(o->f);
        rc = wn_fclose(o->f, o->tmp, e);
        if (!rc && bad) rc = wn_err_set(e, WN_ERUNTIME, "%s: write failed", o->tmp);
        if (!rc && commit && rename(o->tmp, o->path) != 0)
            rc = wn_err_set(e, WN_ERUNTIME, "%s: cannot rename to %s: %s", o->tmp, o->path,
                            strerror(errno));
        if (rc || !commit) unlink(o->tmp);
    }
    free(o->path);
    free(o->tmp);
    memset(o, 0, sizeof *o);
    return rc;
}

static void sep(FILE *f, int first) {
    if (!first) fputc(',', f);
}

void wn_calib_csv_str(FILE *f, int first, const char *s) {
    sep(f, first);
    csv_fwrite(f, s, strlen(s));
}

void wn_calib_csv_num(FILE *f, int first, double v) {
    char buf[32];
    sep(f, first);
    fputs(wn_format_num(buf, v), f);
}

void wn_calib_csv_long(FILE *f, int first, long v) {
    sep(f, first);
    fprintf(f, "%ld", v);
}

void wn_calib_csv_empty(FILE *f, int first) { sep(f, first); }

void wn_calib_csv_end(FILE *f) { fputc('\n', f); }
