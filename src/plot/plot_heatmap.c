/* plot_heatmap.c - confusion-matrix heatmaps of wn_plot.h: K x K cells shaded by the row-
 * normalised value (the share of each true class predicted as each class), the count in each
 * cell in a colour that contrasts with its shade, class names on both axes (shortened to fit,
 * columns turned upright when they are wider than a cell), "true \ predicted" in the corner. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "wn_plot.h"

static const wn_rgb WHITE = {255, 255, 255}, INK = {20, 20, 20}, SOFT = {100, 100, 100};
static const char CORNER[] = "true \\ predicted", NOTE[] = "shade = share of the true class (row)";
enum { NAME_CHARS = 16 }; /* class names are shortened to at most this many characters */

/* Sequential white-to-blue shades (ColorBrewer "Blues") at 0, 1/4, 1/2, 3/4 and 1. */
static wn_rgb shade(double v) {
    static const wn_rgb stops[5] = {
        {247, 251, 255}, {198, 219, 239}, {107, 174, 214}, {33, 113, 181}, {8, 48, 107}};
    v = !(v > 0) ? 0 : v > 1 ? 1 : v;
    int i = v >= 1 ? 3 : (int)(v * 4);
    double f = v * 4 - i;
    wn_rgb a = stops[i], b = stops[i + 1];
    return (wn_rgb){(uint8_t)lrint(a.r + (b.r - a.r) * f), (uint8_t)lrint(a.g + (b.g - a.g) * f),
                    (uint8_t)lrint(a.b + (b.b - a.b) * f)};
}

static int luma(wn_rgb c) { return (299 * c.r + 587 * c.g + 114 * c.b) / 1000; }

static int text_scale(int cell) { return cell >= 48 ? 2 : 1; }

/* Name of class i shortened to NAME_CHARS characters (its index when there is no name). */
static void class_name(char *const *names, int i, int ts, char *out, int cap) {
    char idx[16];
    snprintf(idx, sizeof idx, "%d", i);
    const char *s = names && names[i] && names[i][0] ? names[i] : idx;
    wn_font_fit(s, ts, NAME_CHARS * 6 * ts - ts, out, cap);
}

/* Whether the column names are turned upright (some name is wider than a cell). */
static int names_up(int k, char *const *names, int cell, int ts) {
    char buf[128];
    for (int i = 0; i < k; i++) {
        class_name(names, i, ts, buf, sizeof buf);
        if (wn_font_width(buf, ts) > cell - 2 * ts) return 1;
    }
    return 0;
}

void wn_plot_confusion_layout(int k, char *const *names, wn_confusion_layout *l) {
    memset(l, 0, sizeof *l);
    if (k < 1 || k > WN_CONFUSION_MAX_K) return;
    int cell = 560 / k;
    cell = cell < 28 ? 28 : cell > 96 ? 96 : cell;
    int ts = text_scale(cell), fh = wn_font_height(ts), pad = 6 * ts, name_w = 0;
    char buf[128];
    for (int i = 0; i < k; i++) {
        class_name(names, i, ts, buf, sizeof buf);
        int w = wn_font_width(buf, ts);
        name_w = w > name_w ? w : name_w;
    }
    int corner_w = wn_font_width(CORNER, ts);
    int left_w = name_w > corner_w ? name_w : corner_w;
    int top_h = names_up(k, names, cell, ts) ? name_w : fh;
    l->cell = cell;
    l->x0 = 2 * pad + left_w + pad;
    l->y0 = 2 * pad + fh + 2 * pad + top_h + pad; /* title, column names */
    l->w = l->x0 + k * cell + 2 * pad;
    l->h = l->y0 + k * cell + pad + fh + 2 * pad;          /* note under the grid */
    int min_w = l->x0 + wn_font_width(NOTE, ts) + 2 * pad; /* the note starts at x0 */
    if (l->w < min_w) l->w = min_w;
}

/* A count in at most max_w pixels: exact when it fits, else 1.2k / 35M style. */
static void format_count(long v, int ts, int max_w, char *buf, int cap) {
    snprintf(buf, (size_t)cap, "%ld", v);
    if (wn_font_width(buf, ts) <= max_w) return;
    static const char suffix[] = "kMGTPE";
    double x = (double)v;
    int p = -1;
    while (p < 5 && x >= 999.5) x /= 1000, p++;
    if (p < 0) return; /* under 1000 and still too wide: the cell is too small, keep it */
    if (x < 9.95)
        snprintf(buf, (size_t)cap, "%.1f%c", x, suffix[p]);
    else
        snprintf(buf, (size_t)cap, "%.0f%c", x, suffix[p]);
}

int wn_plot_confusion_render(const char *title, int k, const long *m, char *const *names,
                             wn_canvas *cv, wn_err *e) {
    memset(cv, 0, sizeof *cv);
    if (k < 1 || k > WN_CONFUSION_MAX_K)
        return wn_err_set(e, WN_EINPUT, "plot: confusion matrix of %d classes is outside 1..%d", k,
                          WN_CONFUSION_MAX_K);
    if (!m) return wn_err_set(e, WN_EINPUT, "plot: confusion matrix has no counts");
    for (int i = 0; i < k * k; i++)
        if (m[i] < 0)
            return wn_err_set(e, WN_EINPUT, "plot: confusion count [%d][%d] = %ld is negative",
                              i / k, i % k, m[i]);
    wn_confusion_layout l;
    wn_plot_confusion_layout(k, names, &l);
    if (wn_canvas_create(cv, l.w, l.h, WHITE, e) != WN_OK) return WN_EINPUT;
    int cell = l.cell, ts = text_scale(cell), fh = wn_font_height(ts), pad = 6 * ts;
    int up = names_up(k, names, cell, ts);
    char buf[256];

    wn_font_fit(title && *title ? title : CORNER, ts, l.w - 4 * pad, buf, sizeof buf);
    wn_canvas_text(cv, (l.w - wn_font_width(buf, ts)) / 2, 2 * pad, buf, ts, INK);
    if (title && *title) /* the corner, beside the column names, says what rows and columns are */
        wn_canvas_text(cv, l.x0 - pad - wn_font_width(CORNER, ts), l.y0 - pad - fh, CORNER, ts,
                       SOFT);

    for (int i = 0; i < k; i++) {
        class_name(names, i, ts, buf, sizeof buf);
        int nw = wn_font_width(buf, ts), mid = i * cell + (cell - 1) / 2;
        /* row name, right-aligned before the row */
        wn_canvas_text(cv, l.x0 - pad - nw, l.y0 + mid - fh / 2 + ts / 2, buf, ts, INK);
        /* column name, centred above the column (read bottom to top when turned) */
        if (up)
            wn_canvas_text_up(cv, l.x0 + mid - fh / 2 + ts / 2, l.y0 - pad - nw, buf, ts, INK);
        else
            wn_canvas_text(cv, l.x0 + mid - nw / 2, l.y0 - pad - fh, buf, ts, INK);
    }

    for (int i = 0; i < k; i++) {
        double row = 0;
        for (int j = 0; j < k; j++) row += (double)m[(size_t)i * k + j];
        for (int j = 0; j < k; j++) {
            long v = m[(size_t)i * k + j];
            wn_rgb bg = shade(row > 0 ? (double)v / row : 0);
            wn_rect r = {l.x0 + j * cell, l.y0 + i * cell, cell - 1, cell - 1}; /* 1 px gaps */
            wn_canvas_fill_rect(cv, r, bg);
            format_count(v, ts, cell - 4 * ts, buf, sizeof buf);
            wn_canvas_text(cv, r.x + (r.w - wn_font_width(buf, ts) + 1) / 2,
                           r.y + (r.h - 7 * ts + 1) / 2, buf, ts, luma(bg) < 140 ? WHITE : INK);
        }
    }
    wn_canvas_text(cv, l.x0, l.y0 + k * cell + pad, NOTE, ts, SOFT);
    return WN_OK;
}

int wn_plot_confusion_png(const char *path, const char *title, int k, const long *m,
                          char *const *names, wn_err *e) {
    if (!path || !*path) return wn_err_set(e, WN_EINPUT, "plot: no output path given");
    wn_canvas cv;
    if (wn_plot_confusion_render(title, k, m, names, &cv, e) != WN_OK)
        return wn_err_prefix(e, "%s", path);
    int rc = wn_canvas_write_png(&cv, path, e);
    wn_canvas_free(&cv);
    return rc;
}
