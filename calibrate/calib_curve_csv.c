/* calib_curve_csv.c - the whole pooled trade-off curve as CSV: one row per candidate threshold
 * (ascending, the last +inf) with the recall, automation and precision it gives on the
 * calibration set and its misses and auto-passed photos. */
#include <stdio.h>

#include "wn_calibrate.h"

int wn_calib_write_curve(const char *path, const wn_calib_curve *c, wn_err *e) {
    wn_calib_file o;
    int rc = wn_calib_file_open(&o, path, e);
    if (rc) return rc;
    static const char *const cols[] = {"threshold", "recall", "automation",
                                       "precision", "misses", "passed"};
    for (int i = 0; i < 6; i++) wn_calib_csv_str(o.f, i == 0, cols[i]);
    wn_calib_csv_end(o.f);
    for (long i = 0; i < c->n_points && !ferror(o.f); i++) {
        wn_calib_point p = wn_calib_curve_point(c, i);
        wn_calib_csv_num(o.f, 1, (double)p.threshold);
        fprintf(o.f, ",%.9g,%.9g,%.9g,%ld,%ld\n", p.recall, p.automation, p.precision, p.misses,
                p.passed);
    }
    return wn_calib_file_close(&o, 1, e);
}
