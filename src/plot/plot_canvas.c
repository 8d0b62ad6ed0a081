/* plot_canvas.c - the RGB canvas of wn_plot.h: pixels, clipping, crisp rectangles and
 * anti-aliased lines, dashes, discs, rings and markers, and writing the canvas as PNG.
 *
 * Anti-aliasing uses distance coverage: a pixel whose centre lies at signed distance sd from a
 * shape's edge (negative inside) gets coverage clamp(0.5 - sd, 0, 1). Lines are capsules (all
 * points within t/2 of the segment), so a 1 px horizontal line at an integer row covers whole
 * pixels exactly. Segments are clipped in floating point before any conversion to int, so huge
 * or non-finite coordinates are harmless. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "wn_image.h"
#include "wn_plot.h"

/* A thickness or radius above this is treated as this (it already covers any canvas). */
#define MAX_EXTENT (4.0 * WN_CANVAS_MAX_SIDE)

static int imin(int a, int b) { return a < b ? a : b; }
static int imax(int a, int b) { return a > b ? a : b; }
static double clamp01(double v) { return v < 0 ? 0 : v > 1 ? 1 : v; }

int wn_canvas_create(wn_canvas *cv, int w, int h, wn_rgb bg, wn_err *e) {
    memset(cv, 0, sizeof *cv);
    if (w < 1 || h < 1 || w > WN_CANVAS_MAX_SIDE || h > WN_CANVAS_MAX_SIDE)
        return wn_err_set(e, WN_EINPUT, "plot: canvas of %d x %d pixels is outside 1..%d", w, h,
                          WN_CANVAS_MAX_SIDE);
    cv->w = w;
    cv->h = h;
    cv->pix = wn_xmalloc((size_t)w * (size_t)h * 3);  // (H, W, 3)
    cv->clip = (wn_rect){0, 0, w, h};
    size_t n = (size_t)w * (size_t)h;
    for (size_t i = 0; i < n; i++) {
        cv->pix[3 * i] = bg.r;
        cv->pix[3 * i + 1] = bg.g;
        cv->pix[3 * i + 2] = bg.b;
    }
    return WN_OK;
}

void wn_canvas_free(wn_canvas *cv) {
    if (!cv) return;
    free(cv->pix);
    memset(cv, 0, sizeof *cv);
}

void wn_canvas_clip(wn_canvas *cv, wn_rect r) {
    /* Intersect in 64 bits so that r.x + r.w cannot overflow. */
    long long x0 = r.x, y0 = r.y, x1 = (long long)r.x + r.w, y1 = (long long)r.y + r.h;
    if (x0 < 0) x0 = 0;
    if (y0 < 0) y0 = 0;
    if (x1 > cv->w) x1 = cv->w;
    if (y1 > cv->h) y1 = cv->h;
    if (x0 > cv->w) x0 = cv->w;
    if (y0 > cv->h) y0 = cv->h;
    if (x1 < x0) x1 = x0;
    if (y1 < y0) y1 = y0;
    cv->clip = (wn_rect){(int)x0, (int)y0, (int)(x1 - x0), (int)(y1 - y0)};
}

void wn_canvas_unclip(wn_canvas *cv) { cv->clip = (wn_rect){0, 0, cv->w, cv->h}; }

wn_rgb wn_canvas_get(const wn_canvas *cv, int x, int y) {
    if (x < 0 || y < 0 || x >= cv->w || y >= cv->h) return (wn_rgb){0, 0, 0};
    const uint8_t *p = cv->pix + ((size_t)y * (size_t)cv->w + (size_t)x) * 3;
    return (wn_rgb){p[0], p[1], p[2]};
}

static uint8_t mix(uint8_t dst, uint8_t src, double a) {
    return (uint8_t)lrint(dst + (src - dst) * a);
}

void wn_canvas_blend(wn_canvas *cv, int x, int y, wn_rgb c, double a) {
    const wn_rect *k = &cv->clip;
    if (!(a > 0) || x < k->x || y < k->y || x >= k->x + k->w || y >= k->y + k->h) return;
    uint8_t *p = cv->pix + ((size_t)y * (size_t)cv->w + (size_t)x) * 3;
    if (a >= 1) {
        p[0] = c.r;
        p[1] = c.g;
        p[2] = c.b;
        return;
    }
    p[0] = mix(p[0], c.r, a);
    p[1] = mix(p[1], c.g, a);
    p[2] = mix(p[2], c.b, a);
}

/* Fills [x, x + w) x [y, y + h) within the clip rectangle; 64-bit so that no sum overflows. */
static void fill(wn_canvas *cv, long long x, long long y, long long w, long long h, wn_rgb c) {
    const wn_rect *k = &cv->clip;
    long long x0 = x > k->x ? x : k->x, y0 = y > k->y ? y : k->y;
    long long x1 = x + w < k->x + k->w ? x + w : k->x + k->w;
    long long y1 = y + h < k->y + k->h ? y + h : k->y + k->h;
    for (long long py = y0; py < y1; py++) {
        uint8_t *p = cv->pix + ((size_t)py * (size_t)cv->w + (size_t)x0) * 3;
        for (long long px = x0; px < x1; px++, p += 3) {
            p[0] = c.r;
            p[1] = c.g;
            p[2] = c.b;
        }
    }
}

void wn_canvas_fill_rect(wn_canvas *cv, wn_rect r, wn_rgb c) { fill(cv, r.x, r.y, r.w, r.h, c); }

void wn_canvas_rect(wn_canvas *cv, wn_rect r, int t, wn_rgb c) {
    if (t < 1 || r.w < 1 || r.h < 1) return;
    long long tt = t, half_w = r.w / 2 + r.w % 2, half_h = r.h / 2 + r.h % 2;
    tt = tt < half_w ? tt : half_w;
    tt = tt < half_h ? tt : half_h;
    fill(cv, r.x, r.y, r.w, tt, c);                       /* top */
    fill(cv, r.x, (long long)r.y + r.h - tt, r.w, tt, c); /* bottom */
    fill(cv, r.x, r.y, tt, r.h, c);                       /* left */
    fill(cv, (long long)r.x + r.w - tt, r.y, tt, r.h, c); /* right */
}

/* Liang-Barsky: clips the segment p0 + s (p1 - p0), s in [0, 1], to the box [lo, hi]; updates
 * the end points, stores the s of the new start in s0 and returns 0 when nothing is left. */
static int clip_segment(double *x0, double *y0, double *x1, double *y1, double xlo, double ylo,
                        double xhi, double yhi, double *s0) {
    double dx = *x1 - *x0, dy = *y1 - *y0, a = 0, b = 1;
    double p[4] = {-dx, dx, -dy, dy};
    double q[4] = {*x0 - xlo, xhi - *x0, *y0 - ylo, yhi - *y0};
    for (int i = 0; i < 4; i++) {
        if (p[i] == 0) {
            if (q[i] < 0) return 0;
            continue;
        }
        double s = q[i] / p[i];
        if (p[i] < 0) {
            if (s > b) return 0;
            if (s > a) a = s;
        } else {
            if (s < a) return 0;
            if (s < b) b = s;
        }
    }
    double ox = *x0, oy = *y0;
    *x0 = ox + a * dx;
    *y0 = oy + a * dy;
    *x1 = ox + b * dx;
    *y1 = oy + b * dy;
    if (s0) *s0 = a;
    return 1;
}

/* Clips a segment to the clip rectangle grown by pad; 0 when nothing is left or a value is
 * not finite. */
static int clip_to_canvas(const wn_canvas *cv, double *x0, double *y0, double *x1, double *y1,
                          double pad, double *s0) {
    if (!isfinite(*x0) || !isfinite(*y0) || !isfinite(*x1) || !isfinite(*y1)) return 0;
    const wn_rect *k = &cv->clip;
    if (k->w < 1 || k->h < 1) return 0;
    return clip_segment(x0, y0, x1, y1, k->x - pad, k->y - pad, k->x + k->w - 1 + pad,
                        k->y + k->h - 1 + pad, s0);
}

/* Capsule of radius r around the (already clipped) segment: each row visits only the pixels
 * near the segment's infinite line, inside its bounding box. */
static void capsule(wn_canvas *cv, double x0, double y0, double x1, double y1, double r, wn_rgb c) {
    const wn_rect *k = &cv->clip;
    double reach = r + 1, dx = x1 - x0, dy = y1 - y0, len2 = dx * dx + dy * dy, len = sqrt(len2);
    double bx0 = fmin(x0, x1) - reach, bx1 = fmax(x0, x1) + reach;
    int ya = imax(k->y, (int)floor(fmin(y0, y1) - reach));
    int yb = imin(k->y + k->h - 1, (int)ceil(fmax(y0, y1) + reach));
    for (int py = ya; py <= yb; py++) {
        double xa = bx0, xb = bx1;
        if (fabs(dy) > 1e-9) {
            double xc = x0 + dx * (py - y0) / dy, half = reach * len / fabs(dy);
            xa = fmax(xa, xc - half);
            xb = fmin(xb, xc + half);
        }
        int pxa = imax(k->x, (int)floor(xa)), pxb = imin(k->x + k->w - 1, (int)ceil(xb));
        for (int px = pxa; px <= pxb; px++) {
            double s = len2 > 0 ? ((px - x0) * dx + (py - y0) * dy) / len2 : 0;
            s = clamp01(s);
            double d = hypot(px - (x0 + s * dx), py - (y0 + s * dy));
            wn_canvas_blend(cv, px, py, c, clamp01(r + 0.5 - d));
        }
    }
}

void wn_canvas_line(wn_canvas *cv, double x0, double y0, double x1, double y1, double t, wn_rgb c) {
    if (!(t > 0)) return;
    double r = fmin(t, MAX_EXTENT) / 2;
    if (!clip_to_canvas(cv, &x0, &y0, &x1, &y1, r + 2, NULL)) return;
    capsule(cv, x0, y0, x1, y1, r, c);
}

void wn_canvas_dash(wn_canvas *cv, double x0, double y0, double x1, double y1, double t,
                    double dash, double gap, wn_rgb c) {
    if (!(t > 0)) return;
    if (!(dash >= 1) || !(gap >= 1) || !isfinite(dash + gap)) {
        wn_canvas_line(cv, x0, y0, x1, y1, t, c);
        return;
    }
    double r = fmin(t, MAX_EXTENT) / 2, ox = x0, oy = y0, s0 = 0;
    double full = hypot(x1 - x0, y1 - y0);
    if (!clip_to_canvas(cv, &x0, &y0, &x1, &y1, r + 2, &s0)) return;
    double len = hypot(x1 - x0, y1 - y0);
    if (len <= 0) {
        capsule(cv, x0, y0, x0, y0, r, c);
        return;
    }
    double ux = (x1 - x0) / len, uy = (y1 - y0) / len, period = dash + gap;
    /* Keep the dash pattern anchored at the original start (ox, oy). */
    double phase = fmod(isfinite(full) ? s0 * full : hypot(x0 - ox, y0 - oy), period);
    for (double pos = -phase; pos < len; pos += period) {
        double a = fmax(pos, 0), b = fmin(pos + dash, len);
        if (b > a) capsule(cv, x0 + a * ux, y0 + a * uy, x0 + b * ux, y0 + b * uy, r, c);
    }
}

/* Blends c into the pixels near (cx, cy) by the coverage of shape sd(dx, dy, r, t). */
static void fill_sdf(wn_canvas *cv, double cx, double cy, double r, wn_rgb c,
                     double (*sd)(double, double, double, double), double t) {
    if (!isfinite(cx) || !isfinite(cy) || !(r > 0)) return;
    r = fmin(r, MAX_EXTENT);
    const wn_rect *k = &cv->clip;
    double reach = r + t / 2 + 2;
    if (cx + reach < k->x || cy + reach < k->y || cx - reach > k->x + k->w ||
        cy - reach > k->y + k->h)
        return;
    int xa = imax(k->x, (int)floor(cx - reach)), xb = imin(k->x + k->w - 1, (int)ceil(cx + reach));
    int ya = imax(k->y, (int)floor(cy - reach)), yb = imin(k->y + k->h - 1, (int)ceil(cy + reach));
    for (int py = ya; py <= yb; py++)
        for (int px = xa; px <= xb; px++)
            wn_canvas_blend(cv, px, py, c, clamp01(0.5 - sd(px - cx, py - cy, r, t)));
}

/* Signed distances (negative inside) from (dx, dy), relative to the centre, to shapes of
 * half-size r; t is a ring's thickness (unused by the filled shapes). */
static double sd_disc(double dx, double dy, double r, double t) {
    (void)t;
    return hypot(dx, dy) - r;
}
static double sd_ring(double dx, double dy, double r, double t) {
    return fabs(hypot(dx, dy) - r) - t / 2;
}
static double sd_square(double dx, double dy, double r, double t) {
    (void)t;
    return fmax(fabs(dx), fabs(dy)) - r * 0.85;
}
static double sd_diamond(double dx, double dy, double r, double t) {
    (void)t;
    return (fabs(dx) + fabs(dy) - r * 1.25) / sqrt(2.0);
}
/* Upward equilateral triangle (apex at (0, -1.2 r), base at y = 0.6 r): the largest signed
 * distance to its three edge lines. */
static double sd_triangle(double dx, double dy, double r, double t) {
    (void)t;
    double s = 1.2 * r, h = 0.6 * r, hw = (s + h) / sqrt(3.0), len = hypot(hw, s + h);
    double right = (dx * (s + h) - (dy + s) * hw) / len;
    double left = (-dx * (s + h) - (dy + s) * hw) / len;
    return fmax(dy - h, fmax(right, left));
}

void wn_canvas_disc(wn_canvas *cv, double cx, double cy, double r, wn_rgb c) {
    fill_sdf(cv, cx, cy, r, c, sd_disc, 0);
}

void wn_canvas_circle(wn_canvas *cv, double cx, double cy, double r, double t, wn_rgb c) {
    if (!(t > 0)) return;
    fill_sdf(cv, cx, cy, r, c, sd_ring, fmin(t, MAX_EXTENT));
}

void wn_canvas_marker(wn_canvas *cv, double cx, double cy, int shape, double r, wn_rgb c) {
    static double (*const sd[WN_MARK_COUNT])(double, double, double, double) = {
        sd_disc, sd_square, sd_diamond, sd_triangle};
    if (shape < 0 || shape >= WN_MARK_COUNT) shape = WN_MARK_CIRCLE;
    fill_sdf(cv, cx, cy, r, c, sd[shape], 0);
}

int wn_canvas_write_png(const wn_canvas *cv, const char *path, wn_err *e) {
    if (!path || !*path) return wn_err_set(e, WN_EINPUT, "plot: no output path given");
    if (!cv || !cv->pix) return wn_err_set(e, WN_EINPUT, "%s: no canvas to write", path);
    return wn_png_write(path, cv->w, cv->h, 3, cv->pix, e);
}
