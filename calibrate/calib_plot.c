/* calib_plot.c - the trade-off plot: defect recall against automation along the pooled curve
 * (thinned to a few thousand points, which a 800 px wide plot cannot tell from all of them), the
 * decision reached marked, and the pooled target as a dashed line. */
#include <math.h>
#include <stdlib.h>

#include "wn_calibrate.h"
#include "plot/wn_plot.h"

#define PLOT_POINTS 4000

int wn_calib_write_plot(const char *path, const wn_calib_result *r, wn_err *e) {
    const wn_calib_curve *c = &r->pooled.curve;
    long n = c->n_points, m = n <= PLOT_POINTS ? n : PLOT_POINTS;
    double *x = wn_xmalloc(sizeof *x * (size_t)m), *y = wn_xmalloc(sizeof *y * (size_t)m); /* (M) */
    for (long i = 0; i < m; i++) {
        long p = m == n ? i : (long)((double)i * (double)(n - 1) / (double)(m - 1));
        wn_calib_point pt = wn_calib_curve_point(c, p);
        x[i] = pt.automation;
        y[i] = pt.recall;
    }
    double low = r->recall; /* show the curve from a little below the decision up to recall 1 */
    if (r->mode == WN_CALMODE_POOLED) low = fmin(low, r->target[0]);
    for (int j = 1; j < r->k && r->mode == WN_CALMODE_PERCLASS; j++) low = fmin(low, r->target[j]);
    double ymin = fmax(0.0, floor(10.0 * (low - 0.1)) / 10.0);
    char mark[160], hline[64];
    if (r->mode == WN_CALMODE_POOLED)
        snprintf(mark, sizeof mark, "threshold %.3g: recall %.1f%%, automation %.1f%%",
                 (double)r->threshold[0], 100.0 * r->recall, 100.0 * r->automation);
    else
        snprintf(mark, sizeof mark, "per-class thresholds: recall %.1f%%, automation %.1f%%",
                 100.0 * r->recall, 100.0 * r->automation);
    snprintf(hline, sizeof hline, "target %.1f%%", 100.0 * r->target[0]);
    wn_series series = {.name = "pooled threshold", .n = (int)m, .x = x, .y = y};
    wn_chart chart = {
        .title = "defect recall against automation (calibration set)",
        .xlabel = "automation: share of photos auto-passed",
        .ylabel = "defect recall",
        .n_series = 1,
        .series = &series,
        .xmin = 0.0,
        .xmax = 1.0,
        .ymin = ymin,
        .ymax = 1.0 + 0.01 * (1.0 - ymin),
        .has_mark = 1,
        .mark_x = r->automation,
        .mark_y = r->recall,
        .mark_label = mark,
        .has_hline = r->mode == WN_CALMODE_POOLED,
        .hline = r->target[0],
        .hline_label = hline,
    };
    int rc = wn_plot_chart_png(path, &chart, e);
    free(x);
    free(y);
    return rc;
}
