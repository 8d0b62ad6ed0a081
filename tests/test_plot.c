/* test_plot.c - tests for wn_plot.h: nice ticks and their labels, exact canvas pixels and safe
 * clipping, text boxes, chart and confusion PNGs re-read with wn_image_load, degenerate inputs
 * and write errors. Also leaves example PNGs in its temp dir (printed) for a look by eye. */
#include <float.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "plot/wn_plot.h"
#include "wn_image.h"
#include "wn_test.h"

static const wn_rgb WHITE = {255, 255, 255}, RED = {200, 0, 0};

static int same(wn_rgb a, wn_rgb b) { return a.r == b.r && a.g == b.g && a.b == b.b; }
static int luma(wn_rgb c) { return (299 * c.r + 587 * c.g + 114 * c.b) / 1000; }

/* ---- ticks ---- */

static void check_ticks(double lo, double hi, int max, int n, double first, double step) {
    wn_ticks t;
    CHECK_MSG(wn_plot_ticks(lo, hi, max, &t) == n, "[%g, %g] max %d: %d ticks", lo, hi, max, t.n);
    CHECK_CLOSE(t.step, step, 0, 1e-12);
    for (int i = 0; i < t.n && i < n; i++)
        CHECK_CLOSE(t.v[i], first + i * step, 1e-15 * step, 1e-12);
}

static void test_ticks(void) {
    check_ticks(0, 1, 8, 6, 0, 0.2);     /* 0, 0.2, ..., 1 */
    check_ticks(0, 7, 8, 8, 0, 1);       /* 0, 1, ..., 7 */
    check_ticks(0, 7, 5, 4, 0, 2);       /* 0, 2, 4, 6 */
    check_ticks(0, 1e-5, 6, 6, 0, 2e-6); /* 0, 2e-6, ..., 1e-5 */
    check_ticks(3e-5, 7e-5, 8, 5, 3e-5, 1e-5);
    check_ticks(-3, -1, 6, 5, -3, 0.5); /* negative range */
    check_ticks(-0.37, 0.81, 7, 6, -0.2, 0.2);
    check_ticks(1000.001, 1000.002, 6, 6, 1000.001, 0.0002);
    check_ticks(-1e299, 1e299, 10, 5, -1e299, 5e298);
    wn_ticks t;
    wn_plot_ticks(-0.37, 0.81, 7, &t);
    CHECK(t.v[1] == 0.0); /* an exact zero, not 1e-17 */
    wn_plot_ticks(0, 1, 8, &t);
    CHECK(t.v[3] == 0.6); /* decimal steps as exact as doubles allow */
    CHECK(wn_plot_ticks(1, 1, 8, &t) == 0);
    CHECK(wn_plot_ticks(2, 1, 8, &t) == 0);
    CHECK(wn_plot_ticks(NAN, 1, 8, &t) == 0);
    CHECK(wn_plot_ticks(0, INFINITY, 8, &t) == 0);

    char buf[64];
    struct {
        double v, step;
        const char *want;
    } cases[] = {
        {0.6, 0.2, "0.6"},
        {15, 5, "15"},
        {0, 0.2, "0.0"},
        {-1e-17, 0.2, "0.0"},
        {-2.5, 0.5, "-2.5"},
        {6e-6, 2e-6, "6e-06"},
        {1.2e-5, 2e-6, "1.2e-05"},
        {2.5e7, 5e6, "2.5e+07"},
        {1000, 200, "1000"},
        {0.0002, 0.0001, "0.0002"},
        {1000.0014, 0.0002, "1000.0014"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        wn_plot_tick_label(cases[i].v, cases[i].step, buf, sizeof buf);
        CHECK_MSG(strcmp(buf, cases[i].want) == 0, "label(%g, %g) = '%s', want '%s'", cases[i].v,
                  cases[i].step, buf, cases[i].want);
    }
}

/* ---- canvas ---- */

/* Pixels that are not white. */
static long inked(const wn_canvas *cv) {
    long n = 0;
    for (int y = 0; y < cv->h; y++)
        for (int x = 0; x < cv->w; x++) n += !same(wn_canvas_get(cv, x, y), WHITE);
    return n;
}

static void test_canvas(void) {
    wn_canvas cv;
    wn_err e = {0};
    CHECK(wn_canvas_create(&cv, 64, 48, WHITE, &e) == WN_OK);

    /* A 1 px horizontal line sets exactly x = 10..50 of row 20, in exactly its colour. */
    wn_canvas_line(&cv, 10, 20, 50, 20, 1, RED);
    int bad = 0;
    for (int y = 0; y < cv.h; y++)
        for (int x = 0; x < cv.w; x++) {
            int on = y == 20 && x >= 10 && x <= 50;
            bad += !same(wn_canvas_get(&cv, x, y), on ? RED : WHITE);
        }
    CHECK_MSG(bad == 0, "%d pixels differ from the expected horizontal line", bad);
    /* and a vertical one, drawn backwards */
    wn_canvas_fill_rect(&cv, (wn_rect){0, 0, 64, 48}, WHITE);
    wn_canvas_line(&cv, 5, 40, 5, 2, 1, RED);
    bad = 0;
    for (int y = 0; y < cv.h; y++)
        for (int x = 0; x < cv.w; x++)
            bad += !same(wn_canvas_get(&cv, x, y), x == 5 && y >= 2 && y <= 40 ? RED : WHITE);
    CHECK(bad == 0);

    /* Crisp rectangles. */
    wn_canvas_fill_rect(&cv, (wn_rect){0, 0, 64, 48}, WHITE);
    wn_canvas_rect(&cv, (wn_rect){4, 6, 10, 8}, 1, RED);
    CHECK(inked(&cv) == 2 * 10 + 2 * 6);
    CHECK(same(wn_canvas_get(&cv, 4, 6), RED) && same(wn_canvas_get(&cv, 13, 13), RED));
    CHECK(same(wn_canvas_get(&cv, 5, 7), WHITE));

    /* Clipping: far, huge, non-finite and negative-size shapes are safe. */
    wn_canvas_fill_rect(&cv, (wn_rect){0, 0, 64, 48}, WHITE);
    wn_canvas_line(&cv, -1e9, -1e9, 1e9, 1e9, 3, RED); /* the diagonal */
    CHECK(same(wn_canvas_get(&cv, 30, 30), RED));
    CHECK(same(wn_canvas_get(&cv, 30, 10), WHITE));
    long before = inked(&cv);
    wn_canvas_line(&cv, NAN, 0, 10, 10, 2, RED);
    wn_canvas_line(&cv, 0, 0, INFINITY, 10, 2, RED);
    wn_canvas_line(&cv, 1e300, 1e300, 2e300, 2e300, 2, RED);
    wn_canvas_line(&cv, -100, -100, -50, 1e6, 5, RED); /* fully left of the canvas */
    wn_canvas_disc(&cv, 1e308, 0, 5, RED);
    wn_canvas_circle(&cv, 0, NAN, 5, 1, RED);
    wn_canvas_marker(&cv, -1e9, 20, WN_MARK_TRIANGLE, 4, RED);
    wn_canvas_fill_rect(&cv, (wn_rect){INT_MAX - 5, INT_MAX - 5, INT_MAX, INT_MAX}, RED);
    wn_canvas_fill_rect(&cv, (wn_rect){INT_MIN, 10, 5, -7}, RED);
    wn_canvas_rect(&cv, (wn_rect){INT_MAX - 5, INT_MAX - 5, INT_MAX, INT_MAX}, 3, RED);
    wn_canvas_rect(&cv, (wn_rect){INT_MIN, INT_MIN, INT_MAX, INT_MAX}, INT_MAX, RED);
    wn_canvas_text(&cv, -100000, -100000, "far away", 3, RED);
    wn_canvas_text(&cv, INT_MAX / 2, 5, "far away", 1, RED);
    wn_canvas_text_up(&cv, 5, INT_MIN / 2, "far away", 1, RED);
    wn_canvas_text(&cv, 5, INT_MAX - 3, "far away", 64, RED);
    wn_canvas_text_up(&cv, INT_MAX - 3, 5, "far away", 64, RED);
    wn_canvas_text_up(&cv, INT_MIN + 3, 5, "far away", 64, RED);
    wn_canvas_blend(&cv, -1, 5, RED, 1);
    wn_canvas_blend(&cv, 64, 48, RED, 1);
    CHECK(inked(&cv) == before);
    wn_canvas_line(&cv, 0, 0, 63, 47, 1e12, RED); /* absurd thickness covers everything */
    CHECK(inked(&cv) == 64 * 48);

    /* A clip rectangle keeps drawing inside it. */
    wn_canvas_fill_rect(&cv, (wn_rect){0, 0, 64, 48}, WHITE);
    wn_canvas_clip(&cv, (wn_rect){100, 100, INT_MAX, INT_MAX}); /* beside the canvas */
    wn_canvas_disc(&cv, 20, 20, 100, RED);
    wn_canvas_text(&cv, 0, 0, "x", 5, RED);
    CHECK(inked(&cv) == 0);
    wn_canvas_clip(&cv, (wn_rect){10, 10, 20, 15});
    wn_canvas_disc(&cv, 20, 20, 100, RED);
    wn_canvas_unclip(&cv);
    CHECK(inked(&cv) == 20 * 15);
    CHECK(same(wn_canvas_get(&cv, 10, 10), RED) && same(wn_canvas_get(&cv, 29, 24), RED));
    CHECK(same(wn_canvas_get(&cv, 30, 24), WHITE) && same(wn_canvas_get(&cv, 9, 10), WHITE));

    /* A dash over an astronomically long line ends at once and leaves gaps. */
    wn_canvas_fill_rect(&cv, (wn_rect){0, 0, 64, 48}, WHITE);
    wn_canvas_dash(&cv, 0, 5, 1e300, 5, 1, 4, 3, RED);
    int on = 0;
    for (int x = 0; x < 64; x++) on += same(wn_canvas_get(&cv, x, 5), RED);
    CHECK_MSG(on > 20 && on < 50, "%d dash pixels", on);
    CHECK(same(wn_canvas_get(&cv, 0, 5), RED) && same(wn_canvas_get(&cv, 3, 5), RED));
    CHECK(same(wn_canvas_get(&cv, 5, 5), WHITE));

    /* Markers: solid at the centre, nothing far off. */
    for (int s = 0; s < WN_MARK_COUNT; s++) {
        wn_canvas_fill_rect(&cv, (wn_rect){0, 0, 64, 48}, WHITE);
        wn_canvas_marker(&cv, 30, 20, s, 5, RED);
        CHECK_MSG(same(wn_canvas_get(&cv, 30, 20), RED), "marker %d", s);
        CHECK(same(wn_canvas_get(&cv, 30, 30), WHITE) && same(wn_canvas_get(&cv, 40, 20), WHITE));
        long n = inked(&cv);
        CHECK_MSG(n > 40 && n < 200, "marker %d covers %ld pixels", s, n);
    }
    wn_canvas_free(&cv);

    CHECK(wn_canvas_create(&cv, 0, 10, WHITE, &e) == WN_EINPUT);
    CHECK(wn_canvas_create(&cv, 10, WN_CANVAS_MAX_SIDE + 1, WHITE, &e) == WN_EINPUT);
    CHECK(cv.pix == NULL);
    wn_canvas_free(&cv);
}

/* ---- font ---- */

/* Draws s at (x, y) (turned when up) and checks: ink inside the measured box, none outside. */
/* tight: s starts and ends with glyphs that ink their outer columns. */
static void check_text_box(const char *s, int scale, int up, int tight) {
    wn_canvas cv;
    CHECK(wn_canvas_create(&cv, 320, 160, WHITE, NULL) == WN_OK);
    int x = 7, y = 9, w = wn_font_width(s, scale), h = wn_font_height(scale);
    if (up) {
        int t = w;
        w = h, h = t;
        wn_canvas_text_up(&cv, x, y, s, scale, RED);
    } else {
        wn_canvas_text(&cv, x, y, s, scale, RED);
    }
    long in = 0, out = 0;
    int first_col = 0, last_col = 0, top_row = 0;
    for (int py = 0; py < cv.h; py++)
        for (int px = 0; px < cv.w; px++) {
            if (same(wn_canvas_get(&cv, px, py), WHITE)) continue;
            int inside = px >= x && px < x + w && py >= y && py < y + h;
            in += inside;
            out += !inside;
            first_col |= px == x;
            last_col |= px == x + w - 1;
            top_row |= py == y;
        }
    CHECK_MSG(in > 0 && out == 0, "'%s' scale %d%s: %ld inked inside, %ld outside", s, scale,
              up ? " up" : "", in, out);
    /* the box is tight on the left and right (the text starts and ends with ink) */
    if (tight) CHECK_MSG(up ? top_row && first_col : first_col && last_col, "'%s' not tight", s);
    wn_canvas_free(&cv);
}

static void test_font(void) {
    CHECK(wn_font_width("", 1) == 0);
    CHECK(wn_font_width(NULL, 1) == 0);
    CHECK(wn_font_width("ab", 1) == 11);
    CHECK(wn_font_width("ab", 3) == 33);
    CHECK(wn_font_height(2) == 16);
    CHECK(wn_font_width("\xc3\x9f", 1) == wn_font_width("?", 1)); /* UTF-8 ß is one glyph */
    check_text_box("Hello, gjy 0.95 [x]", 1, 0, 0);
    check_text_box("Mq|{~}_", 2, 0, 0);
    check_text_box("recall (y)", 2, 1, 0);
    check_text_box("Hag0H", 1, 0, 1);
    check_text_box("H", 3, 1, 1);

    char buf[64];
    wn_font_fit("porosity", 1, 200, buf, sizeof buf);
    CHECK(strcmp(buf, "porosity") == 0);
    wn_font_fit("a very long class name indeed", 1, 60, buf, sizeof buf);
    CHECK(wn_font_width(buf, 1) <= 60 && strlen(buf) > 3 &&
          strcmp(buf + strlen(buf) - 3, "...") == 0);
    CHECK(strncmp(buf, "a very", 6) == 0);
    wn_font_fit("abcdef", 1, 10, buf, sizeof buf);
    CHECK(strcmp(buf, "") == 0);
    wn_font_fit("abcdefghijklmnop", 1, 1000, buf, 8); /* small output buffer */
    CHECK(strlen(buf) == 7 && strcmp(buf, "abcd...") == 0);
    wn_font_fit("\xc3\x9f\xc3\x9f\xc3\x9f\xc3\x9f\xc3\x9f\xc3\x9f", 1, 29, buf,
                sizeof buf); /* 6 x ß */
    CHECK(strcmp(buf, "\xc3\x9f\xc3\x9f...") == 0);
}

/* ---- chart ---- */

/* Whether colour c appears within r of the image (H, W, 3). */
static int has_colour(const wn_image *im, wn_rect r, wn_rgb c) {
    for (int y = r.y; y < r.y + r.h; y++)
        for (int x = r.x; x < r.x + r.w; x++) {
            const uint8_t *p = im->pix + ((size_t)y * im->w + x) * 3;
            if (p[0] == c.r && p[1] == c.g && p[2] == c.b) return 1;
        }
    return 0;
}

static void test_chart_png(const char *dir) {
    double x[11], a[11], b[11];
    for (int i = 0; i <= 10; i++) x[i] = i, a[i] = 0.9 - 0.08 * i, b[i] = 0.1 + 0.05 * i;
    wn_series s[2] = {{"falling", 11, x, a}, {"rising", 11, x, b}};
    /* Fixed ranges, so that the value -> pixel map is known. */
    wn_chart c = {.title = "test chart",
                  .xlabel = "x",
                  .ylabel = "y",
                  .n_series = 2,
                  .series = s,
                  .xmin = 0,
                  .xmax = 10,
                  .ymin = 0,
                  .ymax = 1};
    wn_canvas cv;
    wn_rect area;
    wn_err e = {0};
    CHECK(wn_plot_chart_render(&c, &cv, &area, &e) == WN_OK);
    CHECK(area.w > 500 && area.h > 300 && area.x > 0 && area.y > 0);
    CHECK(area.x + area.w < 800 && area.y + area.h < 500);
    const char *path = wn_test_path(dir, "chart.png");
    CHECK_MSG(wn_plot_chart_png(path, &c, &e) == WN_OK, "%s", e.msg);
    wn_image im = {0};
    CHECK_MSG(wn_image_load(path, 3, 0, 0, &im, &e) == WN_OK, "%s", e.msg);
    CHECK(im.w == 800 && im.h == 500 && im.c == 3);
    if (im.pix && im.w == cv.w && im.h == cv.h)
        CHECK(memcmp(im.pix, cv.pix, (size_t)cv.w * cv.h * 3) == 0); /* PNG is lossless */
    for (int i = 0; i < 2 && im.pix; i++) {
        wn_rgb col = wn_plot_color(i);
        CHECK(has_colour(&im, area, col));
        CHECK(!has_colour(&im, (wn_rect){0, 0, im.w, area.y - 2}, col)); /* not in the title */
        /* on the line at x = 2.5 (between two points, away from the legend) */
        double v = i == 0 ? 0.9 - 0.08 * 2.5 : 0.1 + 0.05 * 2.5;
        int px = (int)lround(area.x + 2.5 / 10 * (area.w - 1));
        int py = (int)lround(area.y + area.h - 1 - v * (area.h - 1));
        CHECK_MSG(has_colour(&im, (wn_rect){px - 1, py - 1, 3, 3}, col), "series %d at (%d, %d)", i,
                  px, py);
    }
    /* grey grid lines (the tick at y = 0.2) and a white background */
    int gy = (int)lround(area.y + area.h - 1 - 0.2 * (area.h - 1));
    wn_rgb g = wn_canvas_get(&cv, area.x + area.w - 20, gy);
    CHECK(g.r == g.g && g.g == g.b && g.r > 150 && g.r < 255);
    CHECK(same(wn_canvas_get(&cv, area.x + area.w - 20, gy + 5), WHITE));
    wn_image_free(&im);
    wn_canvas_free(&cv);
}

/* ---- confusion heatmap ---- */

static void test_confusion_png(const char *dir) {
    long m[9] = {50, 3, 1, 4, 40, 2, 0, 5, 30};  // (3, 3) row = truth
    char *names[3] = {"ok", "crack", "porosity"};
    const char *path = wn_test_path(dir, "confusion3.png");
    wn_err e = {0};
    CHECK_MSG(wn_plot_confusion_png(path, "val, epoch 7", 3, m, names, &e) == WN_OK, "%s", e.msg);
    wn_confusion_layout l;
    wn_plot_confusion_layout(3, names, &l);
    wn_image im = {0};
    CHECK_MSG(wn_image_load(path, 3, 0, 0, &im, &e) == WN_OK, "%s", e.msg);
    CHECK(im.w == l.w && im.h == l.h && im.c == 3);
    if (!im.pix || im.w != l.w || im.h != l.h) return;
    int lum[3][3];
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++) { /* a corner of the cell, away from its number */
            const uint8_t *p =
                im.pix + ((size_t)(l.y0 + i * l.cell + 2) * im.w + l.x0 + j * l.cell + 2) * 3;
            lum[i][j] = luma((wn_rgb){p[0], p[1], p[2]});
        }
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++)
            if (i != j)
                CHECK_MSG(lum[i][i] < lum[i][j], "cell %d,%d: %d vs %d", i, j, lum[i][i],
                          lum[i][j]);
    CHECK(lum[0][0] < 100); /* 50 of 54: dark */
    CHECK(lum[2][0] > 240); /* 0: white-ish */
    /* the count in a dark cell is written in white, in a light cell in dark ink */
    wn_rect dark = {l.x0 + 4, l.y0 + 4, l.cell - 8, l.cell - 8};
    wn_rect light = {l.x0 + 2 * l.cell + 4, l.y0 + 4, l.cell - 8, l.cell - 8};
    int white_text = 0, dark_text = 0;
    for (int y = 0; y < dark.h; y++)
        for (int x = 0; x < dark.w; x++) {
            const uint8_t *p = im.pix + ((size_t)(dark.y + y) * im.w + dark.x + x) * 3;
            white_text |= p[0] == 255 && p[1] == 255 && p[2] == 255;
            const uint8_t *q = im.pix + ((size_t)(light.y + y) * im.w + light.x + x) * 3;
            dark_text |= luma((wn_rgb){q[0], q[1], q[2]}) < 60;
        }
    CHECK(white_text && dark_text);
    wn_image_free(&im);
}

/* ---- degenerate inputs and errors ---- */

/* Renders c (it must work and draw something) and writes it as dir/what.png to look at. */
static void render_ok(const char *dir, const wn_chart *c, const char *what) {
    wn_canvas cv;
    wn_err e = {0};
    int rc = wn_plot_chart_render(c, &cv, NULL, &e);
    CHECK_MSG(rc == WN_OK, "%s: %s", what, e.msg);
    if (rc == WN_OK) CHECK_MSG(inked(&cv) > 100, "%s: blank", what);
    char name[128];
    snprintf(name, sizeof name, "degenerate_%s.png", what);
    for (char *p = name; *p; p++) *p = *p == ' ' || *p == ',' ? '_' : *p;
    if (rc == WN_OK) CHECK(wn_canvas_write_png(&cv, wn_test_path(dir, name), &e) == WN_OK);
    wn_canvas_free(&cv);
}

static void test_degenerate(const char *dir) {
    wn_err e = {0};
    double one = 0.5, xs[6] = {1, 2, NAN, 4, INFINITY, 6},
           ys[6] = {0.3, NAN, 0.4, 0.5, 0.6, -INFINITY};
    double flat[5] = {2, 2, 2, 2, 2}, zeros[5] = {0}, nans[3] = {NAN, NAN, NAN};
    double huge[4] = {1e299, -1e299, 1e308, -DBL_MAX};
    char longname[3000];
    memset(longname, 'W', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';

    wn_chart c = {0};
    render_ok(dir, &c, "no series");
    wn_series s0 = {"empty", 0, NULL, NULL};
    c = (wn_chart){.n_series = 1, .series = &s0};
    render_ok(dir, &c, "empty series");
    wn_series s1 = {"one point", 1, NULL, &one};
    c = (wn_chart){.title = "one", .n_series = 1, .series = &s1};
    render_ok(dir, &c, "one point");
    wn_series sf[2] = {{"flat", 5, NULL, flat}, {"zeros", 5, NULL, zeros}};
    c = (wn_chart){.n_series = 2, .series = sf};
    render_ok(dir, &c, "flat");
    c.n_series = 1;
    render_ok(dir, &c, "flat 2");
    wn_series sz = {"zeros", 5, NULL, zeros};
    c = (wn_chart){.n_series = 1, .series = &sz};
    render_ok(dir, &c, "all zero");
    wn_series sn[3] = {{"gaps", 6, xs, ys}, {"nan", 3, NULL, nans}, {"huge", 4, NULL, huge}};
    c = (wn_chart){.n_series = 3,
                   .series = sn,
                   .has_mark = 1,
                   .mark_x = NAN,
                   .mark_y = 1,
                   .has_hline = 1,
                   .hline = INFINITY,
                   .has_vline = 1,
                   .vline = NAN};
    render_ok(dir, &c, "non-finite");
    c = (wn_chart){.title = longname,
                   .xlabel = longname,
                   .ylabel = longname,
                   .n_series = 1,
                   .series = (wn_series[]){{longname, 5, NULL, flat}},
                   .has_mark = 1,
                   .mark_x = 3,
                   .mark_y = 2,
                   .mark_label = longname,
                   .has_hline = 1,
                   .hline = 2,
                   .hline_label = longname,
                   .has_vline = 1,
                   .vline = 1e6,
                   .vline_label = longname,
                   .width = 160,
                   .height = 160};
    render_ok(dir, &c, "long names, smallest size");
    c = (wn_chart){.n_series = 1, .series = sf, .ymin = 5, .ymax = NAN}; /* bound above data */
    render_ok(dir, &c, "one bound");
    c = (wn_chart){
        .n_series = 1, .series = sf, .ymin = 3, .ymax = 3, .xmin = 1e-300, .xmax = 2e-300};
    render_ok(dir, &c, "equal bounds, tiny range");
    c = (wn_chart){.n_series = 1,
                   .series = sn,
                   .ymin = 0.45,
                   .ymax = 0.46,
                   .has_mark = 1,
                   .mark_x = 1e200,
                   .mark_y = -1e200,
                   .mark_label = "far"};
    render_ok(dir, &c, "data and mark outside fixed range");
    wn_series many[20];
    for (int i = 0; i < 20; i++) many[i] = (wn_series){i % 3 ? "s" : NULL, 3, xs, ys};
    c = (wn_chart){.n_series = 20, .series = many, .width = 300, .height = 200};
    render_ok(dir, &c, "20 series");

    wn_canvas cv;
    c = (wn_chart){.n_series = 1, .series = (wn_series[]){{"bad", -1, NULL, NULL}}};
    CHECK(wn_plot_chart_render(&c, &cv, NULL, &e) == WN_EINPUT);
    c = (wn_chart){.n_series = 1, .series = (wn_series[]){{"bad", 3, xs, NULL}}};
    CHECK(wn_plot_chart_render(&c, &cv, NULL, &e) == WN_EINPUT);
    c = (wn_chart){.n_series = 2, .series = NULL};
    CHECK(wn_plot_chart_render(&c, &cv, NULL, &e) == WN_EINPUT);
    c = (wn_chart){.width = 100};
    CHECK(wn_plot_chart_render(&c, &cv, NULL, &e) == WN_EINPUT);
    CHECK(wn_plot_chart_render(NULL, &cv, NULL, &e) == WN_EINPUT);
    CHECK(cv.pix == NULL);

    /* confusion: K = 1, huge counts, long and missing names, a big K */
    long m1 = 7;
    CHECK(wn_plot_confusion_png(wn_test_path(dir, "k1.png"), NULL, 1, &m1, NULL, &e) == WN_OK);
    long zero1 = 0;
    CHECK(wn_plot_confusion_render("empty", 1, &zero1, NULL, &cv, &e) == WN_OK);
    wn_canvas_free(&cv);
    long big[4] = {LONG_MAX, LONG_MAX, 0, 123456789012L};  // (2, 2)
    char *bn[2] = {longname, NULL};
    CHECK(wn_plot_confusion_render(longname, 2, big, bn, &cv, &e) == WN_OK);
    wn_canvas_free(&cv);
    int k = WN_CONFUSION_MAX_K;
    long *mk = calloc((size_t)k * k, sizeof *mk);  // (K, K)
    for (int i = 0; i < k; i++) mk[(size_t)i * k + i] = 1000000L * (i + 1);
    CHECK(wn_plot_confusion_render(NULL, k, mk, NULL, &cv, &e) == WN_OK);
    CHECK(cv.w <= WN_CANVAS_MAX_SIDE && cv.h <= WN_CANVAS_MAX_SIDE);
    wn_canvas_free(&cv);
    free(mk);
    CHECK(wn_plot_confusion_render(NULL, 0, &m1, NULL, &cv, &e) == WN_EINPUT);
    CHECK(wn_plot_confusion_render(NULL, k + 1, &m1, NULL, &cv, &e) == WN_EINPUT);
    CHECK(wn_plot_confusion_render(NULL, 1, NULL, NULL, &cv, &e) == WN_EINPUT);
    long neg[4] = {1, 2, -3, 4};  // (2, 2)
    CHECK(wn_plot_confusion_render(NULL, 2, neg, NULL, &cv, &e) == WN_EINPUT);
    CHECK(strstr(e.msg, "-3") != NULL);

    /* write errors name the path */
    const char *missing = "/nonexistent-weldnet-dir/sub/plot.png";
    double y2[2] = {1, 2};
    c = (wn_chart){.n_series = 1, .series = (wn_series[]){{"a", 2, NULL, y2}}};
    int rc = wn_plot_chart_png(missing, &c, &e);
    CHECK(rc == WN_ERUNTIME || rc == WN_EINPUT);
    CHECK_MSG(strstr(e.msg, missing) != NULL, "message: %s", e.msg);
    wn_err_clear(&e);
    rc = wn_plot_chart_png("/dev/full", &c, &e); /* a full disk */
    CHECK(rc == WN_ERUNTIME && strstr(e.msg, "/dev/full") != NULL);
    rc = wn_plot_confusion_png(missing, NULL, 1, &m1, NULL, &e);
    CHECK(rc == WN_ERUNTIME || rc == WN_EINPUT);
    CHECK_MSG(strstr(e.msg, missing) != NULL, "message: %s", e.msg);
    c.width = 50; /* a bad chart also names the path */
    CHECK(wn_plot_chart_png(wn_test_path(dir, "bad.png"), &c, &e) == WN_EINPUT);
    CHECK(strstr(e.msg, "bad.png") != NULL);
    CHECK(wn_plot_chart_png(NULL, &c, &e) == WN_EINPUT);
}

/* ---- examples to look at ---- */

static void write_examples(const char *dir) {
    enum { EP = 30 };
    double tl[EP], vl[EP], ba[EP];
    for (int i = 0; i < EP; i++) {
        tl[i] = 1.9 * exp(-i / 7.0) + 0.12;
        vl[i] = 1.8 * exp(-i / 8.0) + 0.25 + (i > 18 ? 0.012 * (i - 18) : 0) + 0.03 * sin(i * 1.7);
        ba[i] = 0.95 - 0.6 * exp(-i / 5.0) + 0.01 * cos(i * 2.3);
    }
    vl[11] = NAN; /* a missing validation */
    wn_series curves[3] = {{"train loss", EP, NULL, tl},
                           {"val loss", EP, NULL, vl},
                           {"balanced accuracy", EP, NULL, ba}};
    wn_chart c = {.title = "training curves: resnet-small on welds-2024",
                  .xlabel = "epoch",
                  .ylabel = "loss / accuracy",
                  .n_series = 3,
                  .series = curves,
                  .ymin = 0,
                  .ymax = NAN,
                  .has_mark = 1,
                  .mark_x = 24,
                  .mark_y = ba[23],
                  .mark_label = "best: epoch 24"};
    wn_err e = {0};
    CHECK_MSG(wn_plot_chart_png(wn_test_path(dir, "example_training.png"), &c, &e) == WN_OK, "%s",
              e.msg);

    enum { NT = 400 };
    double ar[NT], rc[NT];
    for (int i = 0; i < NT; i++) {
        double t = i / (NT - 1.0);
        ar[i] = 0.82 * t;
        rc[i] = 1 - 0.35 * pow(t, 3.0) - 0.02 * t;
    }
    int op = 0;
    for (int i = 0; i < NT; i++)
        if (rc[i] >= 0.95) op = i;
    char label[96];
    snprintf(label, sizeof label, "threshold 0.31: recall %.3f, automation %.3f", rc[op], ar[op]);
    wn_series cal = {"calibration set (n = 1840)", NT, ar, rc};
    wn_chart k = {.title = "defect recall against automation rate",
                  .xlabel = "automation rate",
                  .ylabel = "defect recall",
                  .n_series = 1,
                  .series = &cal,
                  .has_mark = 1,
                  .mark_x = ar[op],
                  .mark_y = rc[op],
                  .mark_label = label,
                  .has_hline = 1,
                  .hline = 0.95,
                  .hline_label = "target recall 0.95"};
    CHECK_MSG(wn_plot_chart_png(wn_test_path(dir, "example_calibration.png"), &k, &e) == WN_OK,
              "%s", e.msg);

    long m[25] = {                        // (5, 5) row = truth
                  9120, 41,  12, 3,  150, /* ok */
                  22,   310, 9,  1,  6,   /* crack */
                  7,    4,   96, 0,  1,   /* porosity */
                  1,    0,   2,  18, 0,   /* lack of fusion */
                  40,   3,   1,  0,  12}; /* undercut */
    char *names[5] = {"ok", "crack", "porosity", "lack-of-fusion-at-root-pass", "undercut"};
    CHECK_MSG(wn_plot_confusion_png(wn_test_path(dir, "example_confusion.png"),
                                    "validation set, epoch 24", 5, m, names, &e) == WN_OK,
              "%s", e.msg);
    printf("examples: %s/example_{training,calibration,confusion}.png\n", dir);
}

int main(void) {
    const char *dir = wn_test_tmpdir("test_plot");
    test_ticks();
    test_canvas();
    test_font();
    test_chart_png(dir);
    test_confusion_png(dir);
    test_degenerate(dir);
    write_examples(dir);
    return wn_test_done();
}
