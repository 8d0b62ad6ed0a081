/* wn_plot.h - raster plots written as PNG files, with no plotting library: an RGB canvas with
 * anti-aliased drawing (plot_canvas.c), an embedded 5x8 bitmap font (plot_font.c), line charts
 * with nice ticks, legend and a marked point (plot_chart.c) and confusion-matrix heatmaps
 * (plot_heatmap.c).
 *
 * Coordinates are pixels with (0, 0) the top-left pixel; in the float drawing calls the integer
 * coordinates are pixel centres, so a 1 px line from (10, 20) to (50, 20) covers exactly the
 * pixels x = 10..50 of row 20. Every drawing call clips to the canvas (and to its clip
 * rectangle), so any coordinates, however far outside or non-finite, are safe. */
#ifndef WN_PLOT_H
#define WN_PLOT_H

#include <stdint.h>

#include "wn_err.h"

typedef struct wn_rgb {
    uint8_t r, g, b;
} wn_rgb;

typedef struct wn_rect {
    int x, y, w, h; /* top-left corner and size in pixels */
} wn_rect;

/* ---- canvas (plot_canvas.c) ---- */

/* Canvases (and so plots) are at most WN_CANVAS_MAX_SIDE pixels on a side. */
#define WN_CANVAS_MAX_SIDE 8192

typedef struct wn_canvas {
    int w, h;
    uint8_t *pix; /* (H, W, 3) RGB, malloc'ed, owned by the canvas */
    wn_rect clip; /* drawing is limited to this rectangle (the whole canvas after create) */
} wn_canvas;

enum { WN_MARK_CIRCLE = 0, WN_MARK_SQUARE, WN_MARK_DIAMOND, WN_MARK_TRIANGLE, WN_MARK_COUNT };

/* Allocates a w x h canvas filled with bg; WN_EINPUT when a side is outside 1..MAX_SIDE. */
int wn_canvas_create(wn_canvas *cv, int w, int h, wn_rgb bg, wn_err *e);
void wn_canvas_free(wn_canvas *cv);
/* Limits drawing to r intersected with the canvas; wn_canvas_unclip restores the whole canvas. */
void wn_canvas_clip(wn_canvas *cv, wn_rect r);
void wn_canvas_unclip(wn_canvas *cv);
/* The pixel at (x, y); black outside the canvas. */
wn_rgb wn_canvas_get(const wn_canvas *cv, int x, int y);
/* Mixes colour c into pixel (x, y) with weight a in [0, 1] (1 = replace). */
void wn_canvas_blend(wn_canvas *cv, int x, int y, wn_rgb c, double a);
/* Axis-aligned crisp rectangles: filled, and an outline t pixels thick drawn inside r. */
void wn_canvas_fill_rect(wn_canvas *cv, wn_rect r, wn_rgb c);
void wn_canvas_rect(wn_canvas *cv, wn_rect r, int t, wn_rgb c);
/* Anti-aliased line of thickness t with round ends. */
void wn_canvas_line(wn_canvas *cv, double x0, double y0, double x1, double y1, double t, wn_rgb c);
/* Dashed line: dash pixels drawn, gap pixels skipped, from (x0, y0). */
void wn_canvas_dash(wn_canvas *cv, double x0, double y0, double x1, double y1, double t,
                    double dash, double gap, wn_rgb c);
/* Anti-aliased filled disc, and ring of thickness t, of radius r around (cx, cy). */
void wn_canvas_disc(wn_canvas *cv, double cx, double cy, double r, wn_rgb c);
void wn_canvas_circle(wn_canvas *cv, double cx, double cy, double r, double t, wn_rgb c);
/* Filled marker (WN_MARK_*) of half-size r around (cx, cy). */
void wn_canvas_marker(wn_canvas *cv, double cx, double cy, int shape, double r, wn_rgb c);
/* Writes the canvas as an RGB PNG (wn_png_write); errors name the path. */
int wn_canvas_write_png(const wn_canvas *cv, const char *path, wn_err *e);

/* ---- font (plot_font.c): ASCII 32..126 in 5x8 cells (7 rows + 1 descender row), integer scale;
 * any other byte is drawn as '?', once per UTF-8 character. ---- */

/* Size of the box s occupies at scale: width = glyphs * 6 * scale - scale (0 for ""),
 * height = 8 * scale. The box is tight: drawn pixels never leave it. */
int wn_font_width(const char *s, int scale);
int wn_font_height(int scale);
/* Draws s with its box's top-left at (x, y). */
void wn_canvas_text(wn_canvas *cv, int x, int y, const char *s, int scale, wn_rgb c);
/* Draws s turned 90 degrees counter-clockwise (read bottom to top) with its box's top-left at
 * (x, y); the box is wn_font_height wide and wn_font_width tall. */
void wn_canvas_text_up(wn_canvas *cv, int x, int y, const char *s, int scale, wn_rgb c);
/* Copies s into out (cap bytes), shortened with "..." so that it is at most max_w pixels wide
 * at scale (an empty string when not even "..." fits). */
void wn_font_fit(const char *s, int scale, int max_w, char *out, int cap);

/* ---- ticks (plot_chart.c) ---- */

#define WN_TICKS_MAX 32

typedef struct wn_ticks {
    int n;                  /* number of ticks, 0..WN_TICKS_MAX */
    double step;            /* 1, 2 or 5 times a power of ten */
    double v[WN_TICKS_MAX]; /* (n) the multiples of step in [lo, hi], ascending */
} wn_ticks;

/* Chooses the smallest "nice" step (1, 2 or 5 x 10^k) that puts at most max_ticks (2..32)
 * multiples of the step in [lo, hi] and fills t; returns t->n. lo < hi, both finite, required
 * (otherwise t->n = 0). */
int wn_plot_ticks(double lo, double hi, int max_ticks, wn_ticks *t);
/* Formats tick value v with as many digits as step needs ("0.2", "15", "2e-06"). */
void wn_plot_tick_label(double v, double step, char *buf, int cap);

/* ---- line chart (plot_chart.c) ---- */

typedef struct wn_series {
    const char *name;    /* legend entry; NULL: "series N" */
    int n;               /* number of points, >= 0 */
    const double *x, *y; /* (n) each; x NULL: x = 1, 2, ..., n (epochs) */
} wn_series;

/* A zero-initialised chart (plus series) is valid: 800 x 500, automatic ranges, no mark, no
 * reference lines. Non-finite values and values beyond +-1e300 are skipped: a line breaks at a
 * skipped point, and a point with no drawn neighbour is shown as a marker. */
typedef struct wn_chart {
    const char *title, *xlabel, *ylabel; /* NULL or "" to leave out */
    int n_series;
    const wn_series *series; /* (n_series) */
    /* Axis ranges: a finite bound is used as given, NAN (or 0 and 0, or min >= max) is
     * automatic (data range with a small margin). */
    double xmin, xmax, ymin, ymax;
    int has_mark; /* highlight the point (mark_x, mark_y) with mark_label beside it */
    double mark_x, mark_y;
    const char *mark_label;
    int has_hline, has_vline; /* dashed reference lines at y = hline and x = vline */
    double hline, vline;
    const char *hline_label, *vline_label; /* NULL or "" for none */
    int width, height;                     /* 0: 800 x 500; otherwise 160..WN_CANVAS_MAX_SIDE */
} wn_chart;

/* The fixed palette of series colours (i wraps around); series i also uses marker i % 4. */
wn_rgb wn_plot_color(int i);
/* Renders the chart into a new canvas (caller frees with wn_canvas_free); plot_area (may be
 * NULL) receives the rectangle inside the axes. WN_EINPUT for an invalid chart. */
int wn_plot_chart_render(const wn_chart *c, wn_canvas *cv, wn_rect *plot_area, wn_err *e);
/* Renders and writes the chart as PNG to path. */
int wn_plot_chart_png(const char *path, const wn_chart *c, wn_err *e);

/* ---- confusion matrix heatmap (plot_heatmap.c) ---- */

#define WN_CONFUSION_MAX_K 100

typedef struct wn_confusion_layout {
    int w, h;   /* canvas size */
    int x0, y0; /* top-left of cell (0, 0); cell (i, j) = row i (truth), column j (predicted) */
    int cell;   /* cell side in pixels */
} wn_confusion_layout;

/* The geometry wn_plot_confusion_render uses for k classes (1..WN_CONFUSION_MAX_K) with these
 * names (all zero for a bad k). */
void wn_plot_confusion_layout(int k, char *const *names, wn_confusion_layout *l);
/* Renders a k x k confusion matrix m (row = true class, column = predicted; counts >= 0) into
 * a new canvas (caller frees): cells shaded by row-normalised value, each with its count (1.2k
 * style when the exact number does not fit); names (k, may be NULL; NULL entries show the
 * index) label rows and columns. The heading is title, or "true \ predicted" when title is
 * NULL or ""; with a title, "true \ predicted" is written in the corner. WN_EINPUT for k
 * outside 1..WN_CONFUSION_MAX_K or a negative count. */
int wn_plot_confusion_render(const char *title, int k, const long *m, char *const *names,
                             wn_canvas *cv, wn_err *e);
int wn_plot_confusion_png(const char *path, const char *title, int k, const long *m,
                          char *const *names, wn_err *e);

#endif
