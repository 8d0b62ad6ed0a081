/* plot_chart.c - line charts of wn_plot.h: nice 1-2-5 tick values and their labels, axis ranges
 * (automatic with a margin, or fixed), grid, named series with a fixed palette and markers, a
 * legend placed where it hides the least of the data, dashed reference lines, a highlighted
 * point with its annotation, title and axis labels; then PNG output. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "wn_plot.h"

/* Values beyond this magnitude are skipped like infinities (their differences overflow). */
#define USABLE_MAX 1e300

static const wn_rgb WHITE = {255, 255, 255}, INK = {20, 20, 20}, GRID = {228, 228, 228},
                    FRAME = {90, 90, 90}, REF = {110, 110, 110}, BORDER = {190, 190, 190};

/* Distinguishable on white (Tableau 10 without its grey and olive). */
static const wn_rgb palette[8] = {{31, 119, 180},  {255, 127, 14}, {44, 160, 44},   {214, 39, 40},
                                  {148, 103, 189}, {140, 86, 75},  {227, 119, 194}, {23, 190, 207}};

wn_rgb wn_plot_color(int i) {
    int n = (int)(sizeof palette / sizeof palette[0]);
    return palette[((i % n) + n) % n];
}

/* ---- ticks ---- */

/* m * 10^e computed so that decimal steps are as exact as doubles allow (0.2 * 3 = 0.6). */
static double scaled(double m, int e) { return e < 0 ? m / pow(10, -e) : m * pow(10, e); }

int wn_plot_ticks(double lo, double hi, int max_ticks, wn_ticks *t) {
    memset(t, 0, sizeof *t);
    if (!isfinite(lo) || !isfinite(hi) || !(hi > lo) || !isfinite(hi - lo)) return 0;
    if (max_ticks < 2) max_ticks = 2;
    if (max_ticks > WN_TICKS_MAX) max_ticks = WN_TICKS_MAX;
    double unit = (hi - lo) / max_ticks;
    if (!(unit > 1e-300)) return 0;
    static const int mult[3] = {1, 2, 5};
    int e = (int)floor(log10(unit)) - 1; /* the first candidates are too small */
    for (int round = 0; round < 8; round++, e++)
        for (int i = 0; i < 3; i++) {
            double step = scaled(mult[i], e), qlo = lo / step, qhi = hi / step;
            double k0 = ceil(qlo - 1e-9 * fmax(1, fabs(qlo)));
            double k1 = floor(qhi + 1e-9 * fmax(1, fabs(qhi)));
            if (k1 - k0 + 1 > max_ticks) continue;
            t->step = step;
            for (double k = k0; k <= k1; k++) t->v[t->n++] = scaled(k * mult[i], e);
            return t->n;
        }
    return 0;
}

void wn_plot_tick_label(double v, double step, char *buf, int cap) {
    if (cap < 1) return;
    if (!isfinite(v) || !isfinite(step) || !(step > 0)) {
        snprintf(buf, (size_t)cap, "%g", v);
        return;
    }
    if (fabs(v) < step * 1e-6) v = 0; /* rounding residue and -0 print as "0" */
    int es = (int)floor(log10(step) + 1e-9);
    if (step >= 1e-4 && fabs(v) < 1e7) {
        snprintf(buf, (size_t)cap, "%.*f", es < 0 ? -es : 0, v);
        return;
    }
    int ev = v != 0 ? (int)floor(log10(fabs(v)) + 1e-9) : es, digits = ev - es + 1;
    digits = digits < 1 ? 1 : digits > 17 ? 17 : digits;
    snprintf(buf, (size_t)cap, "%.*g", digits, v);
}

/* ---- ranges and layout ---- */

typedef struct axis {
    double lo, hi; /* value range mapped onto the plot area */
    wn_ticks t;
} axis;

typedef struct layout {
    int ts;       /* text scale */
    int fh;       /* text height */
    wn_rect plot; /* inside the frame */
    axis x, y;
} layout;

static int usable(double v) { return isfinite(v) && fabs(v) <= USABLE_MAX; }

static double point_x(const wn_series *s, int j) { return s->x ? s->x[j] : j + 1.0; }

/* Pixel position of value v on an axis; the y axis grows upwards. */
static double map_x(const layout *L, double v) {
    return L->plot.x + (v - L->x.lo) / (L->x.hi - L->x.lo) * (L->plot.w - 1);
}
static double map_y(const layout *L, double v) {
    return L->plot.y + L->plot.h - 1 - (v - L->y.lo) / (L->y.hi - L->y.lo) * (L->plot.h - 1);
}

/* The range of one axis: fixed bounds where given, otherwise the data (plus reference line
 * and mark) with a 4% margin; a zero span is widened. */
static void axis_range(const wn_chart *c, int is_y, double *lo_out, double *hi_out) {
    double dlo = INFINITY, dhi = -INFINITY;
    for (int i = 0; i < c->n_series; i++) {
        const wn_series *s = &c->series[i];
        for (int j = 0; j < s->n; j++) {
            double x = point_x(s, j), y = s->y[j];
            if (!usable(x) || !usable(y)) continue;
            double v = is_y ? y : x;
            dlo = fmin(dlo, v);
            dhi = fmax(dhi, v);
        }
    }
    if (c->has_mark && usable(c->mark_x) && usable(c->mark_y)) {
        dlo = fmin(dlo, is_y ? c->mark_y : c->mark_x);
        dhi = fmax(dhi, is_y ? c->mark_y : c->mark_x);
    }
    int has_ref = is_y ? c->has_hline : c->has_vline;
    double ref = is_y ? c->hline : c->vline;
    if (has_ref && usable(ref)) {
        dlo = fmin(dlo, ref);
        dhi = fmax(dhi, ref);
    }
    if (dlo > dhi) dlo = 0, dhi = 1; /* no data */
    double fmin_ = is_y ? c->ymin : c->xmin, fmax_ = is_y ? c->ymax : c->xmax;
    int lo_set = usable(fmin_), hi_set = usable(fmax_);
    if (lo_set && hi_set && !(fmin_ < fmax_)) lo_set = hi_set = 0;
    double lo = lo_set ? fmin_ : dlo, hi = hi_set ? fmax_ : dhi, span = hi - lo;
    if (span > 1e-12 * fmax(fabs(lo), fabs(hi))) {
        if (!lo_set) lo -= 0.04 * span;
        if (!hi_set) hi += 0.04 * span;
    } else { /* all values equal, or a single bound above all data: give a span */
        double m = lo_set ? lo : hi_set ? hi : 0.5 * (lo + hi);
        double d = fabs(m) > 1e-200 ? 0.1 * fabs(m) : 1; /* (near) zero: +-1 */
        if (lo_set && !hi_set)
            lo = m, hi = m + 2 * d;
        else if (hi_set && !lo_set)
            lo = m - 2 * d, hi = m;
        else
            lo = m - d, hi = m + d;
    }
    *lo_out = lo;
    *hi_out = hi;
}

static int widest_label(const wn_ticks *t, int ts) {
    int w = 0;
    char buf[64];
    for (int i = 0; i < t->n; i++) {
        wn_plot_tick_label(t->v[i], t->step, buf, sizeof buf);
        int lw = wn_font_width(buf, ts);
        w = lw > w ? lw : w;
    }
    return w;
}

static int has_text(const char *s) { return s && *s; }

/* Margins from the text sizes: y ticks first (they set the left margin), then x ticks. */
static void make_layout(const wn_chart *c, int w, int h, layout *L) {
    memset(L, 0, sizeof *L);
    L->ts = (w >= 600 && h >= 360) ? 2 : 1;
    L->fh = wn_font_height(L->ts);
    int pad = 4 * L->ts, tick = 3 * L->ts;
    int top = has_text(c->title) ? 2 * pad + L->fh + pad : 3 * pad;
    int bottom = tick + pad + L->fh + (has_text(c->xlabel) ? pad + L->fh : 0) + 2 * pad;
    int left0 = 2 * pad + (has_text(c->ylabel) ? L->fh + pad : 0) + tick + pad;
    int right = 4 * pad;
    int plot_h = h - top - bottom;
    axis_range(c, 1, &L->y.lo, &L->y.hi);
    int ny = plot_h / (3 * L->fh);
    wn_plot_ticks(L->y.lo, L->y.hi, ny < 2 ? 2 : ny > 10 ? 10 : ny, &L->y.t);
    int left = left0 + widest_label(&L->y.t, L->ts);
    if (left > w / 3) left = w / 3; /* absurdly long labels get clipped, not the plot */
    L->plot = (wn_rect){left, top, w - left - right, plot_h};
    axis_range(c, 0, &L->x.lo, &L->x.hi);
    for (int pass = 0; pass < 2; pass++) {
        for (int nx = 10; nx >= 2; nx--) { /* as many x ticks as fit with room between labels */
            wn_plot_ticks(L->x.lo, L->x.hi, nx, &L->x.t);
            if (L->x.t.n * (widest_label(&L->x.t, L->ts) + 3 * L->fh) <= L->plot.w) break;
        }
        /* narrow the plot once when the last x label would stick out of the canvas */
        char buf[64];
        if (L->x.t.n < 1) break;
        wn_plot_tick_label(L->x.t.v[L->x.t.n - 1], L->x.t.step, buf, sizeof buf);
        int end = (int)lround(map_x(L, L->x.t.v[L->x.t.n - 1])) + wn_font_width(buf, L->ts) / 2;
        if (end <= w - pad) break;
        L->plot.w -= end - (w - pad);
    }
}

/* ---- drawing ---- */

static void draw_grid(wn_canvas *cv, const layout *L) {
    const wn_rect *p = &L->plot;
    int tick = 3 * L->ts, pad = 4 * L->ts;
    char buf[64];
    for (int i = 0; i < L->x.t.n; i++) {
        int px = (int)lround(map_x(L, L->x.t.v[i]));
        if (px < p->x || px >= p->x + p->w) continue;
        wn_canvas_fill_rect(cv, (wn_rect){px, p->y, 1, p->h}, GRID);
        wn_canvas_fill_rect(cv, (wn_rect){px, p->y + p->h, 1, tick}, FRAME);
        wn_plot_tick_label(L->x.t.v[i], L->x.t.step, buf, sizeof buf);
        wn_canvas_text(cv, px - wn_font_width(buf, L->ts) / 2, p->y + p->h + tick + pad, buf, L->ts,
                       INK);
    }
    for (int i = 0; i < L->y.t.n; i++) {
        int py = (int)lround(map_y(L, L->y.t.v[i]));
        if (py < p->y || py >= p->y + p->h) continue;
        wn_canvas_fill_rect(cv, (wn_rect){p->x, py, p->w, 1}, GRID);
        wn_canvas_fill_rect(cv, (wn_rect){p->x - tick, py, tick, 1}, FRAME);
        wn_plot_tick_label(L->y.t.v[i], L->y.t.step, buf, sizeof buf);
        wn_canvas_text(cv, p->x - tick - pad - wn_font_width(buf, L->ts), py - L->fh / 2 + L->ts,
                       buf, L->ts, INK);
    }
}

/* Counts drawn pixels (neither background nor grid) in r: what a box there would hide. */
static long hidden(const wn_canvas *cv, wn_rect r) {
    long n = 0;
    for (int y = r.y; y < r.y + r.h; y++)
        for (int x = r.x; x < r.x + r.w; x++) {
            wn_rgb p = wn_canvas_get(cv, x, y);
            if (memcmp(&p, &WHITE, 3) != 0 && memcmp(&p, &GRID, 3) != 0) n++;
        }
    return n;
}

/* A text box: white, bordered, with its text. */
static void label_box(wn_canvas *cv, wn_rect r, const char *s, int ts, wn_rgb ink) {
    wn_canvas_fill_rect(cv, r, WHITE);
    wn_canvas_rect(cv, r, 1, BORDER);
    wn_canvas_text(cv, r.x + 3 * ts, r.y + 3 * ts, s, ts, ink);
}

/* Dashed reference lines with their labels (above the line at the right end, or below it near
 * the top; right of the line at the top, or left of it near the right edge). Lines outside a
 * fixed range are left out. */
static void draw_reflines(wn_canvas *cv, const wn_chart *c, const layout *L) {
    const wn_rect *p = &L->plot;
    int ts = L->ts;
    double t = 0.75 * ts + 0.25;
    char buf[256];
    double y = c->has_hline && usable(c->hline) ? map_y(L, c->hline) : NAN;
    if (y >= p->y && y <= p->y + p->h - 1) {
        wn_canvas_dash(cv, p->x, y, p->x + p->w - 1, y, t, 4 * ts, 3 * ts, REF);
        wn_font_fit(c->hline_label, ts, p->w / 2, buf, sizeof buf);
        int ty = (int)lround(y) - L->fh - 2 * ts;
        if (ty < p->y + ts) ty = (int)lround(y) + 3 * ts;
        wn_canvas_text(cv, p->x + p->w - 3 * ts - wn_font_width(buf, ts), ty, buf, ts, REF);
    }
    double x = c->has_vline && usable(c->vline) ? map_x(L, c->vline) : NAN;
    if (x >= p->x && x <= p->x + p->w - 1) {
        wn_canvas_dash(cv, x, p->y, x, p->y + p->h - 1, t, 4 * ts, 3 * ts, REF);
        wn_font_fit(c->vline_label, ts, p->w / 2, buf, sizeof buf);
        int tx = (int)lround(x) + 3 * ts;
        if (tx + wn_font_width(buf, ts) > p->x + p->w) /* no room on the right */
            tx = (int)lround(x) - 3 * ts - wn_font_width(buf, ts);
        wn_canvas_text(cv, tx, p->y + 3 * ts, buf, ts, REF);
    }
}

/* Whether every point of s gets a marker: when it has few drawn points. */
static int marks_all(const wn_series *s) {
    int n = 0;
    for (int j = 0; j < s->n; j++) n += usable(point_x(s, j)) && usable(s->y[j]);
    return n <= 40;
}

/* One series: a polyline broken at skipped points; markers on every point when there are few,
 * otherwise only on points with no drawn neighbour (so a lone point still shows). */
static void draw_series(wn_canvas *cv, const wn_series *s, int i, const layout *L) {
    wn_rgb col = wn_plot_color(i);
    double t = 1.0 + 0.5 * L->ts, r = 1.5 + 1.5 * L->ts;
    int all_marks = marks_all(s);
    for (int j = 0, prev = 0; j < s->n; j++) {
        double x = point_x(s, j), y = s->y[j];
        if (!usable(x) || !usable(y)) {
            prev = 0;
            continue;
        }
        if (prev)
            wn_canvas_line(cv, map_x(L, point_x(s, j - 1)), map_y(L, s->y[j - 1]), map_x(L, x),
                           map_y(L, y), t, col);
        int next = j + 1 < s->n && usable(point_x(s, j + 1)) && usable(s->y[j + 1]);
        if (all_marks || (!prev && !next))
            wn_canvas_marker(cv, map_x(L, x), map_y(L, y), i % 4, r, col);
        prev = 1;
    }
}

/* The marked point: a ring and a dot, and its label in a box on the side that hides least. */
static void draw_mark(wn_canvas *cv, const wn_chart *c, const layout *L) {
    if (!c->has_mark || !usable(c->mark_x) || !usable(c->mark_y)) return;
    double x = map_x(L, c->mark_x), y = map_y(L, c->mark_y);
    const wn_rect *p = &L->plot;
    int ts = L->ts;
    wn_canvas_circle(cv, x, y, 5.0 * ts, 1.0 * ts, INK);
    wn_canvas_disc(cv, x, y, 1.5 * ts, INK);
    char buf[256];
    wn_font_fit(c->mark_label, ts, p->w - 12 * ts, buf, sizeof buf);
    if (!*buf || !(x >= p->x && x < p->x + p->w && y >= p->y && y < p->y + p->h)) return;
    int bw = wn_font_width(buf, ts) + 6 * ts, bh = L->fh + 5 * ts, off = 8 * ts;
    int ix = (int)lround(x), iy = (int)lround(y);
    wn_rect best = {0}, cand[4] = {{ix + off, iy - off - bh, bw, bh},
                                   {ix - off - bw, iy - off - bh, bw, bh},
                                   {ix + off, iy + off, bw, bh},
                                   {ix - off - bw, iy + off, bw, bh}};
    long best_score = -1;
    for (int k = 0; k < 4; k++) {
        wn_rect r = cand[k]; /* keep the box inside the plot area */
        if (r.x + r.w > p->x + p->w) r.x = p->x + p->w - r.w;
        if (r.x < p->x) r.x = p->x;
        if (r.y + r.h > p->y + p->h) r.y = p->y + p->h - r.h;
        if (r.y < p->y) r.y = p->y;
        int covers = ix >= r.x - 2 && ix < r.x + r.w + 2 && iy >= r.y - 2 && iy < r.y + r.h + 2;
        long score = hidden(cv, r) + (covers ? 1000000 : 0);
        if (best_score < 0 || score < best_score) best_score = score, best = r;
    }
    label_box(cv, best, buf, ts, INK);
}

/* The text of legend row i of rows: the series name (shortened to max_w), "series N" when it
 * has none, or "+N more" on the last row when not all series fit. */
static void legend_text(const wn_chart *c, int i, int rows, int ts, int max_w, char *buf, int cap) {
    if (rows < c->n_series && i == rows - 1)
        snprintf(buf, (size_t)cap, "+%d more", c->n_series - i);
    else if (has_text(c->series[i].name))
        wn_font_fit(c->series[i].name, ts, max_w, buf, cap);
    else
        snprintf(buf, (size_t)cap, "series %d", i + 1);
}

/* The legend: a box with one row per series (line, marker, name) in the corner of the plot
 * area where it hides the fewest drawn pixels. Rows that do not fit end in "+N more". */
static void draw_legend(wn_canvas *cv, const wn_chart *c, const layout *L) {
    if (c->n_series < 1) return;
    int named = 0;
    for (int i = 0; i < c->n_series; i++) named |= has_text(c->series[i].name);
    if (!named) return;
    const wn_rect *p = &L->plot;
    int ts = L->ts, row = L->fh + 3 * ts, sw = 8 * L->fh / 3, pad = 4 * ts;
    int rows = c->n_series, fit = (p->h - 4 * pad) / row;
    if (fit < 1) return;
    if (rows > fit) rows = fit; /* the last row then says how many are left out */
    int max_name = 2 * p->w / 3 - sw - 3 * pad, text_w = 0;
    char buf[256];
    for (int i = 0; i < rows; i++) {
        legend_text(c, i, rows, ts, max_name, buf, sizeof buf);
        int w = wn_font_width(buf, ts);
        text_w = w > text_w ? w : text_w;
    }
    int bw = 3 * pad + sw + text_w, bh = rows * row + 2 * pad - 3 * ts, m = 2 * pad;
    wn_rect cand[4] = {{p->x + p->w - m - bw, p->y + m, bw, bh},
                       {p->x + m, p->y + m, bw, bh},
                       {p->x + p->w - m - bw, p->y + p->h - m - bh, bw, bh},
                       {p->x + m, p->y + p->h - m - bh, bw, bh}};
    wn_rect box = cand[0];
    long best = -1;
    for (int k = 0; k < 4; k++) {
        long score = hidden(cv, cand[k]);
        if (best < 0 || score < best) best = score, box = cand[k];
    }
    wn_canvas_fill_rect(cv, box, WHITE);
    wn_canvas_rect(cv, box, 1, BORDER);
    for (int i = 0; i < rows; i++) {
        int ty = box.y + pad + i * row;
        double cy = ty + L->fh / 2.0 - ts;
        if (!(rows < c->n_series && i == rows - 1)) { /* a swatch like the series' line */
            wn_rgb col = wn_plot_color(i);
            wn_canvas_line(cv, box.x + pad, cy, box.x + pad + sw, cy, 1.0 + 0.5 * ts, col);
            if (marks_all(&c->series[i]))
                wn_canvas_marker(cv, box.x + pad + sw / 2.0, cy, i % 4, 1.5 + 1.5 * ts, col);
        }
        legend_text(c, i, rows, ts, max_name, buf, sizeof buf);
        wn_canvas_text(cv, box.x + 2 * pad + sw, ty, buf, ts, INK);
    }
}

static void draw_labels(wn_canvas *cv, const wn_chart *c, const layout *L) {
    const wn_rect *p = &L->plot;
    int ts = L->ts, pad = 4 * ts;
    char buf[512];
    if (has_text(c->title)) {
        wn_font_fit(c->title, ts, cv->w - 4 * pad, buf, sizeof buf);
        wn_canvas_text(cv, (cv->w - wn_font_width(buf, ts)) / 2, 2 * pad, buf, ts, INK);
    }
    if (has_text(c->xlabel)) {
        wn_font_fit(c->xlabel, ts, p->w, buf, sizeof buf);
        wn_canvas_text(cv, p->x + (p->w - wn_font_width(buf, ts)) / 2,
                       p->y + p->h + 3 * ts + 2 * pad + L->fh, buf, ts, INK);
    }
    if (has_text(c->ylabel)) {
        wn_font_fit(c->ylabel, ts, p->h, buf, sizeof buf);
        wn_canvas_text_up(cv, 2 * pad, p->y + (p->h - wn_font_width(buf, ts)) / 2, buf, ts, INK);
    }
}

static int check_chart(const wn_chart *c, int *w, int *h, wn_err *e) {
    if (!c) return wn_err_set(e, WN_EINPUT, "plot: no chart given");
    *w = c->width ? c->width : 800;
    *h = c->height ? c->height : 500;
    if (*w < 160 || *h < 160 || *w > WN_CANVAS_MAX_SIDE || *h > WN_CANVAS_MAX_SIDE)
        return wn_err_set(e, WN_EINPUT, "plot: chart size %d x %d is outside 160..%d", *w, *h,
                          WN_CANVAS_MAX_SIDE);
    if (c->n_series < 0 || (c->n_series > 0 && !c->series))
        return wn_err_set(e, WN_EINPUT, "plot: bad series list (%d series)", c->n_series);
    for (int i = 0; i < c->n_series; i++) {
        if (c->series[i].n < 0)
            return wn_err_set(e, WN_EINPUT, "plot: series %d has %d points", i + 1, c->series[i].n);
        if (c->series[i].n > 0 && !c->series[i].y)
            return wn_err_set(e, WN_EINPUT, "plot: series %d has %d points but no y values", i + 1,
                              c->series[i].n);
    }
    return WN_OK;
}

int wn_plot_chart_render(const wn_chart *c, wn_canvas *cv, wn_rect *plot_area, wn_err *e) {
    int w = 0, h = 0;
    memset(cv, 0, sizeof *cv);
    if (check_chart(c, &w, &h, e) != WN_OK) return WN_EINPUT;
    if (wn_canvas_create(cv, w, h, WHITE, e) != WN_OK) return WN_EINPUT;
    layout L;
    make_layout(c, w, h, &L);
    if (plot_area) *plot_area = L.plot;
    draw_grid(cv, &L);
    wn_canvas_clip(cv, L.plot);
    draw_reflines(cv, c, &L);
    for (int i = 0; i < c->n_series; i++) draw_series(cv, &c->series[i], i, &L);
    draw_mark(cv, c, &L);
    draw_legend(cv, c, &L);
    wn_canvas_unclip(cv);
    wn_rect frame = {L.plot.x - 1, L.plot.y - 1, L.plot.w + 2, L.plot.h + 2};
    wn_canvas_rect(cv, frame, 1, FRAME);
    draw_labels(cv, c, &L);
    return WN_OK;
}

int wn_plot_chart_png(const char *path, const wn_chart *c, wn_err *e) {
    if (!path || !*path) return wn_err_set(e, WN_EINPUT, "plot: no output path given");
    wn_canvas cv;
    int rc = wn_plot_chart_render(c, &cv, NULL, e);
    if (rc != WN_OK) return wn_err_prefix(e, "%s", path);
    rc = wn_canvas_write_png(&cv, path, e);
    wn_canvas_free(&cv);
    return rc;
}
