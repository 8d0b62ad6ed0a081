/* test_image.c - tests for wn_image.h: PNG writing, PNG and JPEG decoding of every supported
 * kind (fixtures made here with libpng/libjpeg), DCT-domain scaling, resizing, planar loading,
 * and refusal of bad input (empty, foreign, truncated, corrupt, absurdly large, missing files)
 * with a message naming the file; a mutation loop and a two-thread run check it never crashes. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jpeglib.h>
#include <png.h>
#include <zlib.h>

#include "test_photos.h"
#include "wn_image.h"
#include "wn_test.h"

static const char *g_dir; /* this test's temporary directory */

/* ---- fixture builders -------------------------------------------------------------------- */

static tp_buf make_jpeg(int w, int h, int comps, J_COLOR_SPACE in_cs, const uint8_t *pix,
                        int quality, int progressive) {
    return tp_jpeg(w, h, comps, in_cs, pix, quality, progressive,
                   in_cs == JCS_CMYK ? JCS_CMYK : JCS_UNKNOWN);
}

static const char *save(const char *name, const tp_buf *b) {
    const char *p = wn_test_path(g_dir, name);
    if (wn_test_write_file(p, b->p, b->n) != 0) {
        fprintf(stderr, "cannot write %s\n", p);
        abort();
    }
    return p;
}

static double mean_abs_err(const uint8_t *a, const uint8_t *b, size_t n) {
    double s = 0;
    for (size_t i = 0; i < n; i++) s += abs((int)a[i] - (int)b[i]);
    return s / (double)n;
}

static uint8_t luma(int r, int g, int b) { return (uint8_t)((299 * r + 587 * g + 114 * b + 500) / 1000); }

/* Smooth (H, W, 3) test pattern. */
static uint8_t *gradient_rgb(int w, int h) {
    uint8_t *p = malloc((size_t)w * h * 3);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            uint8_t *q = p + ((size_t)y * w + x) * 3;
            q[0] = (uint8_t)(x * 255 / (w - 1));
            q[1] = (uint8_t)(y * 255 / (h - 1));
            q[2] = (uint8_t)(255 - (x + y) * 255 / (w + h - 2));
        }
    return p;
}

/* ---- PNG writing --------------------------------------------------------------------------- */

static void test_png_write(void) {
    wn_err e = {0};
    wn_image img;
    uint8_t rgba[5 * 4 * 4];
    for (int i = 0; i < 80; i++) rgba[i] = (uint8_t)(i * 13 + 7);
    for (int c = 1; c <= 4; c++) {
        if (c == 2) continue;
        char name[32];
        snprintf(name, sizeof name, "w%d.png", c);
        const char *p = wn_test_path(g_dir, name);
        CHECK(wn_png_write(p, 5, 4, c, rgba, &e) == WN_OK);
        CHECK(wn_image_load(p, c == 1 ? 1 : 3, 0, 0, &img, &e) == WN_OK);
        CHECK(img.w == 5 && img.h == 4 && img.c == (c == 1 ? 1 : 3));
        int ok = 1;
        for (int i = 0; i < 20 && img.pix; i++)
            for (int k = 0; k < img.c; k++) {
                int v = rgba[i * c + k];
                if (c == 4) v = (v * rgba[i * 4 + 3] + 127) / 255; /* composited over black */
                if (img.pix[i * img.c + k] != v) ok = 0;
            }
        CHECK_MSG(ok, "round trip of a %d-channel PNG", c);
        wn_image_free(&img);
    }
    /* failures name the path */
    CHECK(wn_png_write("/nonexistent-dir/x.png", 5, 4, 3, rgba, &e) != WN_OK);
    CHECK(strstr(e.msg, "/nonexistent-dir/x.png") != NULL);
    CHECK(wn_png_write(g_dir, 5, 4, 3, rgba, &e) != WN_OK); /* a directory */
    CHECK(strstr(e.msg, g_dir) != NULL);
    CHECK(wn_png_write(wn_test_path(g_dir, "bad.png"), 5, 4, 2, rgba, &e) == WN_EINPUT);
    CHECK(wn_png_write(wn_test_path(g_dir, "bad.png"), 0, 4, 3, rgba, &e) == WN_EINPUT);
    struct stat st;
    if (stat("/dev/full", &st) == 0) { /* a full disk */
        CHECK(wn_png_write("/dev/full", 5, 4, 3, rgba, &e) == WN_ERUNTIME);
        CHECK(strstr(e.msg, "/dev/full") != NULL);
    }
}

/* ---- PNG decoding ---------------------------------------------------------------------------- */

static int decode_png_mem(const tp_buf *b, int want_c, wn_image *img) {
    wn_err e = {0};
    int rc = wn_image_decode(b->p, b->n, "mem.png", want_c, 0, 0, img, &e);
    if (rc) fprintf(stderr, "decode failed: %s\n", e.msg);
    return rc;
}

static void test_png_decode(void) {
    enum { W = 7, H = 5 };
    wn_image img;
    uint8_t data[W * H * 8];

    /* grey 8-bit, exact, and replicated to RGB */
    for (int i = 0; i < W * H; i++) data[i] = (uint8_t)(i * 7);
    tp_buf b = tp_png(W, H, PNG_COLOR_TYPE_GRAY, 8, data, W, NULL, 0, NULL, 0, NULL, 0);
    save("grey.png", &b);
    CHECK(decode_png_mem(&b, 1, &img) == WN_OK && img.w == W && img.h == H && img.c == 1);
    CHECK(img.pix && memcmp(img.pix, data, W * H) == 0);
    wn_image_free(&img);
    CHECK(decode_png_mem(&b, 3, &img) == WN_OK && img.c == 3);
    int ok = 1;
    for (int i = 0; i < W * H && img.pix; i++)
        for (int k = 0; k < 3; k++) ok &= img.pix[i * 3 + k] == data[i];
    CHECK_MSG(ok, "grey PNG replicated to RGB");
    wn_image_free(&img);
    free(b.p);

    /* grey + alpha: composited over black */
    for (int i = 0; i < W * H; i++) {
        data[2 * i] = (uint8_t)(200 - i);
        data[2 * i + 1] = (uint8_t)(i * 7);
    }
    b = tp_png(W, H, PNG_COLOR_TYPE_GRAY_ALPHA, 8, data, W * 2, NULL, 0, NULL, 0, NULL, 0);
    save("ga.png", &b);
    CHECK(decode_png_mem(&b, 1, &img) == WN_OK && img.c == 1);
    ok = 1;
    for (int i = 0; i < W * H && img.pix; i++)
        ok &= img.pix[i] == (data[2 * i] * data[2 * i + 1] + 127) / 255;
    CHECK_MSG(ok, "grey+alpha PNG");
    wn_image_free(&img);
    free(b.p);

    /* RGB exact, and to grey by luma */
    for (int i = 0; i < W * H * 3; i++) data[i] = (uint8_t)(i * 11 + 3);
    b = tp_png(W, H, PNG_COLOR_TYPE_RGB, 8, data, W * 3, NULL, 0, NULL, 0, NULL, 0);
    save("rgb.png", &b);
    CHECK(decode_png_mem(&b, 3, &img) == WN_OK && img.c == 3);
    CHECK(img.pix && memcmp(img.pix, data, W * H * 3) == 0);
    wn_image_free(&img);
    CHECK(decode_png_mem(&b, 1, &img) == WN_OK && img.c == 1);
    ok = 1;
    for (int i = 0; i < W * H && img.pix; i++)
        ok &= img.pix[i] == luma(data[3 * i], data[3 * i + 1], data[3 * i + 2]);
    CHECK_MSG(ok, "RGB PNG to grey by luma");
    wn_image_free(&img);
    free(b.p);

    /* RGB interlaced (Adam7) */
    b = tp_png(W, H, PNG_COLOR_TYPE_RGB, 8, data, W * 3, NULL, 0, NULL, 0, NULL, 1);
    save("adam7.png", &b);
    CHECK(decode_png_mem(&b, 3, &img) == WN_OK);
    CHECK(img.pix && memcmp(img.pix, data, W * H * 3) == 0);
    wn_image_free(&img);
    free(b.p);

    /* RGBA */
    for (int i = 0; i < W * H * 4; i++) data[i] = (uint8_t)(i * 29 + 1);
    b = tp_png(W, H, PNG_COLOR_TYPE_RGB_ALPHA, 8, data, W * 4, NULL, 0, NULL, 0, NULL, 0);
    save("rgba.png", &b);
    CHECK(decode_png_mem(&b, 3, &img) == WN_OK && img.c == 3);
    ok = 1;
    for (int i = 0; i < W * H && img.pix; i++)
        for (int k = 0; k < 3; k++)
            ok &= img.pix[3 * i + k] == (data[4 * i + k] * data[4 * i + 3] + 127) / 255;
    CHECK_MSG(ok, "RGBA PNG composited over black");
    wn_image_free(&img);
    free(b.p);

    /* palette with tRNS (entry 1 fully transparent, entry 2 half) */
    png_color pal[4] = {{10, 20, 30}, {200, 100, 50}, {255, 255, 255}, {0, 128, 255}};
    png_byte trans[3] = {255, 0, 128};
    for (int i = 0; i < W * H; i++) data[i] = (uint8_t)(i % 4);
    b = tp_png(W, H, PNG_COLOR_TYPE_PALETTE, 8, data, W, pal, 4, trans, 3, NULL, 0);
    save("pal.png", &b);
    CHECK(decode_png_mem(&b, 3, &img) == WN_OK && img.c == 3);
    ok = 1;
    for (int i = 0; i < W * H && img.pix; i++) {
        const png_color *p = &pal[i % 4];
        int a = i % 4 < 3 ? trans[i % 4] : 255;
        ok &= img.pix[3 * i] == (p->red * a + 127) / 255 &&
              img.pix[3 * i + 1] == (p->green * a + 127) / 255 &&
              img.pix[3 * i + 2] == (p->blue * a + 127) / 255;
    }
    CHECK_MSG(ok, "palette PNG with tRNS");
    wn_image_free(&img);
    free(b.p);

    /* 16-bit grey and RGB: scaled to 8 bits (v * 255 / 65535, rounded) */
    uint16_t v16[W * H * 3];
    for (int i = 0; i < W * H * 3; i++) {
        v16[i] = (uint16_t)((i * 37 % 256) * 257 + (i % 3 == 0 ? 100 : 0));
        data[2 * i] = (uint8_t)(v16[i] >> 8);
        data[2 * i + 1] = (uint8_t)(v16[i] & 255);
    }
    b = tp_png(W, H, PNG_COLOR_TYPE_GRAY, 16, data, W * 2, NULL, 0, NULL, 0, NULL, 0);
    save("g16.png", &b);
    CHECK(decode_png_mem(&b, 1, &img) == WN_OK && img.c == 1);
    ok = 1;
    for (int i = 0; i < W * H && img.pix; i++) ok &= abs(img.pix[i] - (int)(v16[i] / 257.0 + 0.5)) <= 0;
    CHECK_MSG(ok, "16-bit grey PNG");
    wn_image_free(&img);
    free(b.p);
    b = tp_png(W, H, PNG_COLOR_TYPE_RGB, 16, data, W * 6, NULL, 0, NULL, 0, NULL, 0);
    save("rgb16.png", &b);
    CHECK(decode_png_mem(&b, 3, &img) == WN_OK && img.c == 3);
    ok = 1;
    for (int i = 0; i < W * H * 3 && img.pix; i++) ok &= img.pix[i] == (int)(v16[i] / 257.0 + 0.5);
    CHECK_MSG(ok, "16-bit RGB PNG");
    wn_image_free(&img);
    free(b.p);

    /* 1-bit grey: a checkerboard, expanded to 0/255; with tRNS on value 0 (transparent black) */
    uint8_t bits[H * 1];
    for (int y = 0; y < H; y++) {
        uint8_t r = 0;
        for (int x = 0; x < W; x++)
            if ((x + y) % 2) r |= (uint8_t)(0x80 >> x);
        bits[y] = r;
    }
    b = tp_png(W, H, PNG_COLOR_TYPE_GRAY, 1, bits, 1, NULL, 0, NULL, 0, NULL, 0);
    save("g1.png", &b);
    CHECK(decode_png_mem(&b, 1, &img) == WN_OK && img.w == W && img.h == H);
    ok = 1;
    for (int y = 0; y < H && img.pix; y++)
        for (int x = 0; x < W; x++) ok &= img.pix[y * W + x] == ((x + y) % 2 ? 255 : 0);
    CHECK_MSG(ok, "1-bit grey PNG");
    wn_image_free(&img);
    free(b.p);
    png_color_16 tcol = {0};
    tcol.gray = 1; /* white pixels transparent: composited to black */
    b = tp_png(W, H, PNG_COLOR_TYPE_GRAY, 1, bits, 1, NULL, 0, NULL, 0, &tcol, 0);
    save("g1t.png", &b);
    CHECK(decode_png_mem(&b, 1, &img) == WN_OK);
    ok = 1;
    for (int i = 0; i < W * H && img.pix; i++) ok &= img.pix[i] == 0;
    CHECK_MSG(ok, "1-bit grey PNG with tRNS");
    wn_image_free(&img);
    free(b.p);
}

/* ---- JPEG decoding --------------------------------------------------------------------------- */

static void test_jpeg_decode(void) {
    enum { W = 64, H = 48 };
    wn_err e = {0};
    wn_image img;
    uint8_t *rgb = gradient_rgb(W, H);
    uint8_t grey[W * H];
    for (int i = 0; i < W * H; i++) grey[i] = luma(rgb[3 * i], rgb[3 * i + 1], rgb[3 * i + 2]);

    /* grey */
    tp_buf b = make_jpeg(W, H, 1, JCS_GRAYSCALE, grey, 95, 0);
    save("g.jpg", &b);
    CHECK(wn_image_decode(b.p, b.n, "g.jpg", 1, 0, 0, &img, &e) == WN_OK);
    CHECK(img.w == W && img.h == H && img.c == 1);
    if (img.pix) CHECK_MSG(mean_abs_err(img.pix, grey, W * H) < 1.5, "grey JPEG mae %.2f", mean_abs_err(img.pix, grey, W * H));
    wn_image_free(&img);
    CHECK(wn_image_decode(b.p, b.n, "g.jpg", 3, 0, 0, &img, &e) == WN_OK && img.c == 3);
    int ok = 1;
    for (int i = 0; i < W * H && img.pix; i++)
        ok &= img.pix[3 * i] == img.pix[3 * i + 1] && img.pix[3 * i] == img.pix[3 * i + 2];
    CHECK_MSG(ok, "grey JPEG replicated to RGB");
    wn_image_free(&img);
    free(b.p);

    /* RGB baseline and progressive, as RGB and as grey */
    for (int prog = 0; prog <= 1; prog++) {
        b = make_jpeg(W, H, 3, JCS_RGB, rgb, 95, prog);
        save(prog ? "prog.jpg" : "rgb.jpg", &b);
        CHECK(wn_image_decode(b.p, b.n, "c.jpg", 3, 0, 0, &img, &e) == WN_OK);
        CHECK(img.w == W && img.h == H && img.c == 3);
        if (img.pix) {
            double m = mean_abs_err(img.pix, rgb, W * H * 3);
            CHECK_MSG(m < 2.0, "RGB JPEG (progressive %d) mae %.2f", prog, m);
        }
        wn_image_free(&img);
        CHECK(wn_image_decode(b.p, b.n, "c.jpg", 1, 0, 0, &img, &e) == WN_OK && img.c == 1);
        if (img.pix) {
            double m = mean_abs_err(img.pix, grey, W * H);
            CHECK_MSG(m < 2.0, "RGB JPEG (progressive %d) as grey mae %.2f", prog, m);
        }
        wn_image_free(&img);
        free(b.p);
    }

    /* CMYK, written with an Adobe marker: inverted ink, so R = C*K/255 etc. */
    uint8_t *cmyk = malloc((size_t)W * H * 4), *want = malloc((size_t)W * H * 3);
    for (int i = 0; i < W * H; i++) {
        int k = 155 + (i % W) * 100 / (W - 1);
        for (int c = 0; c < 3; c++) cmyk[4 * i + c] = rgb[3 * i + c];
        cmyk[4 * i + 3] = (uint8_t)k;
        for (int c = 0; c < 3; c++) want[3 * i + c] = (uint8_t)((rgb[3 * i + c] * k + 127) / 255);
    }
    b = make_jpeg(W, H, 4, JCS_CMYK, cmyk, 95, 0);
    save("cmyk.jpg", &b);
    CHECK(wn_image_decode(b.p, b.n, "k.jpg", 3, 0, 0, &img, &e) == WN_OK);
    CHECK(img.w == W && img.h == H && img.c == 3);
    if (img.pix) {
        double m = mean_abs_err(img.pix, want, W * H * 3);
        CHECK_MSG(m < 2.5, "CMYK JPEG mae %.2f", m);
    }
    wn_image_free(&img);
    CHECK(wn_image_decode(b.p, b.n, "k.jpg", 1, 0, 0, &img, &e) == WN_OK && img.c == 1);
    wn_image_free(&img);
    free(b.p);
    /* YCCK (Adobe transform 2): libjpeg turns it back into the same inverted CMYK */
    b = tp_jpeg(W, H, 4, JCS_CMYK, cmyk, 95, 1, JCS_YCCK);
    save("ycck.jpg", &b);
    CHECK(wn_image_decode(b.p, b.n, "y.jpg", 3, 0, 0, &img, &e) == WN_OK);
    CHECK(img.w == W && img.h == H && img.c == 3);
    if (img.pix) {
        double m = mean_abs_err(img.pix, want, W * H * 3);
        CHECK_MSG(m < 2.5, "YCCK JPEG mae %.2f", m);
    }
    wn_image_free(&img);
    free(b.p);
    free(cmyk);
    free(want);
    free(rgb);
}

/* DCT scaling: denominator 8, 4, 2 or 1, the largest whose ceil(side/denom) still covers the
 * hint in both sides. */
static void test_jpeg_scaling(void) {
    static const struct {
        int w, h, hw, hh, ow, oh;
    } cases[] = {
        {1600, 1200, 224, 224, 400, 300},   /* 1/8 gives 200x150 < 224: 1/4 */
        {1600, 1200, 200, 150, 200, 150},   /* exactly 1/8 */
        {1600, 1200, 201, 150, 400, 300},   /* one pixel more: 1/4 */
        {1600, 1200, 400, 301, 800, 600},   /* 1/2 */
        {1600, 1200, 801, 600, 1600, 1200}, /* full size */
        {1600, 1200, 0, 0, 1600, 1200},     /* no hint */
        {1600, 1200, 3000, 3000, 1600, 1200},
        {1601, 1199, 201, 150, 201, 150}, /* ceil(1601/8) = 201, ceil(1199/8) = 150 */
        {1601, 1199, 202, 150, 401, 300},
    };
    wn_err e = {0};
    for (int s = 0; s < 2; s++) {
        int w = s ? 1601 : 1600, h = s ? 1199 : 1200;
        uint8_t *g = malloc((size_t)w * h);
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) g[(size_t)y * w + x] = (uint8_t)((x / 4 + y / 4) & 255);
        tp_buf b = make_jpeg(w, h, 1, JCS_GRAYSCALE, g, 50, 0);
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
            if (cases[i].w != w || cases[i].h != h) continue;
            wn_image img;
            int rc = wn_image_decode(b.p, b.n, "big.jpg", 1, cases[i].hw, cases[i].hh, &img, &e);
            CHECK_MSG(rc == WN_OK && img.w == cases[i].ow && img.h == cases[i].oh,
                      "%dx%d hint %dx%d: got %dx%d, want %dx%d", w, h, cases[i].hw, cases[i].hh,
                      img.w, img.h, cases[i].ow, cases[i].oh);
            wn_image_free(&img);
        }
        free(b.p);
        free(g);
    }
}

/* ---- resizing -------------------------------------------------------------------------------- */

static double cover(int k, int x, double s) { /* share of source pixel k inside output pixel x */
    double a = k > x * s ? k : x * s, b = k + 1 < (x + 1) * s ? k + 1 : (x + 1) * s;
    return b > a ? b - a : 0;
}

static void test_resize(void) {
    wn_image src = {0}, dst = {0};
    /* constant stays constant: shrink, enlarge, mixed, same */
    static const int sizes[][4] = {{37, 23, 5, 7}, {5, 7, 37, 23}, {10, 3, 4, 9}, {6, 6, 6, 6}, {1, 1, 9, 4}};
    for (int s = 0; s < 5; s++) {
        for (int v = 0; v <= 255; v += 85) {
            src.w = sizes[s][0];
            src.h = sizes[s][1];
            src.c = 3;
            src.pix = malloc((size_t)src.w * src.h * 3);
            memset(src.pix, v, (size_t)src.w * src.h * 3);
            wn_image_resize(&src, sizes[s][2], sizes[s][3], &dst);
            CHECK(dst.w == sizes[s][2] && dst.h == sizes[s][3] && dst.c == 3);
            int ok = 1;
            for (int i = 0; i < dst.w * dst.h * 3; i++) ok &= dst.pix[i] == v;
            CHECK_MSG(ok, "constant %d through %dx%d -> %dx%d", v, sizes[s][0], sizes[s][1], sizes[s][2], sizes[s][3]);
            wn_image_free(&dst);
            free(src.pix);
        }
    }
    /* 2x2 -> 1x1 is the average */
    uint8_t four[4] = {10, 20, 30, 40};
    src = (wn_image){2, 2, 1, four};
    wn_image_resize(&src, 1, 1, &dst);
    CHECK(dst.w == 1 && dst.h == 1 && dst.pix[0] == 25);
    wn_image_free(&dst);
    /* integer shrink is the block mean; fractional shrink weighs the edge pixels by coverage */
    uint8_t g[12 * 9];
    for (int i = 0; i < 12 * 9; i++) g[i] = (uint8_t)((i * 97) % 251);
    src = (wn_image){12, 9, 1, g};
    wn_image_resize(&src, 4, 3, &dst);
    int ok = 1;
    for (int y = 0; y < 3; y++)
        for (int x = 0; x < 4; x++) {
            int sum = 0;
            for (int j = 0; j < 3; j++)
                for (int i = 0; i < 3; i++) sum += g[(y * 3 + j) * 12 + x * 3 + i];
            ok &= dst.pix[y * 4 + x] == (int)(sum / 9.0 + 0.5);
        }
    CHECK_MSG(ok, "12x9 -> 4x3 block means");
    wn_image_free(&dst);
    wn_image_resize(&src, 5, 4, &dst);
    ok = 1;
    double sx = 12 / 5.0, sy = 9 / 4.0;
    for (int y = 0; y < 4; y++)
        for (int x = 0; x < 5; x++) {
            double acc = 0;
            for (int j = 0; j < 9; j++)
                for (int i = 0; i < 12; i++) acc += g[j * 12 + i] * cover(i, x, sx) * cover(j, y, sy);
            acc /= sx * sy;
            ok &= abs(dst.pix[y * 5 + x] - (int)(acc + 0.5)) <= 1;
        }
    CHECK_MSG(ok, "12x9 -> 5x4 area average");
    wn_image_free(&dst);
    /* bilinear, half-pixel centres: 2 -> 4 of {0, 100} is {0, 25, 75, 100} */
    uint8_t two[2] = {0, 100};
    src = (wn_image){2, 1, 1, two};
    wn_image_resize(&src, 4, 1, &dst);
    CHECK(dst.pix[0] == 0 && dst.pix[1] == 25 && dst.pix[2] == 75 && dst.pix[3] == 100);
    wn_image_free(&dst);
    /* bilinear upscale of a ramp is monotone along x and constant along y */
    uint8_t ramp[5 * 3];
    for (int y = 0; y < 3; y++)
        for (int x = 0; x < 5; x++) ramp[y * 5 + x] = (uint8_t)(x * 60);
    src = (wn_image){5, 3, 1, ramp};
    wn_image_resize(&src, 23, 11, &dst);
    ok = dst.pix[0] == 0 && dst.pix[22] == 240;
    for (int y = 0; y < 11; y++)
        for (int x = 0; x < 23; x++) {
            if (x > 0) ok &= dst.pix[y * 23 + x] >= dst.pix[y * 23 + x - 1];
            ok &= dst.pix[y * 23 + x] == dst.pix[x];
        }
    CHECK_MSG(ok, "bilinear ramp upscale monotone");
    wn_image_free(&dst);
    /* a large shrink keeps the mean */
    int big_w = 1000, big_h = 700;
    uint8_t *bp = malloc((size_t)big_w * big_h * 3);
    long long sum = 0;
    for (size_t i = 0; i < (size_t)big_w * big_h * 3; i++) {
        bp[i] = (uint8_t)((i * 2654435761u) >> 24);
        sum += bp[i];
    }
    src = (wn_image){big_w, big_h, 3, bp};
    wn_image_resize(&src, 224, 224, &dst);
    long long dsum = 0;
    for (int i = 0; i < 224 * 224 * 3; i++) dsum += dst.pix[i];
    CHECK_CLOSE(dsum / (224.0 * 224 * 3), sum / ((double)big_w * big_h * 3), 0.5, 0);
    wn_image_free(&dst);
    free(bp);
}

/* ---- planar loading ------------------------------------------------------------------------ */

static void test_load_chw(void) {
    wn_err e = {0};
    enum { W = 8, H = 6 };
    uint8_t rgb[W * H * 3];
    for (int i = 0; i < W * H * 3; i++) rgb[i] = (uint8_t)(i * 5);
    const char *p = wn_test_path(g_dir, "chw.png");
    CHECK(wn_png_write(p, W, H, 3, rgb, &e) == WN_OK);
    uint8_t chw[3 * W * H];
    /* same size: a pure transpose */
    CHECK(wn_image_load_chw(p, 3, W, H, chw, &e) == WN_OK);
    int ok = 1;
    for (int k = 0; k < 3; k++)
        for (int i = 0; i < W * H; i++) ok &= chw[k * W * H + i] == rgb[i * 3 + k];
    CHECK_MSG(ok, "CHW transpose");
    /* half size: 2x2 block means per plane */
    CHECK(wn_image_load_chw(p, 3, W / 2, H / 2, chw, &e) == WN_OK);
    ok = 1;
    for (int k = 0; k < 3; k++)
        for (int y = 0; y < H / 2; y++)
            for (int x = 0; x < W / 2; x++) {
                int s = 0;
                for (int j = 0; j < 2; j++)
                    for (int i = 0; i < 2; i++) s += rgb[((2 * y + j) * W + 2 * x + i) * 3 + k];
                ok &= chw[k * (W / 2) * (H / 2) + y * (W / 2) + x] == (int)(s / 4.0 + 0.5);
            }
    CHECK_MSG(ok, "CHW half size");
    /* a JPEG through DCT scaling then resize to exactly 30x20, grey */
    uint8_t *g = gradient_rgb(320, 240);
    tp_buf b = make_jpeg(320, 240, 3, JCS_RGB, g, 90, 0);
    const char *jp = save("chw.jpg", &b);
    uint8_t *out = malloc(30 * 20);
    CHECK(wn_image_load_chw(jp, 1, 30, 20, out, &e) == WN_OK);
    /* left to right the grey rises with red and falls with blue; check corners roughly */
    uint8_t *ref = malloc(30 * 20);
    for (int y = 0; y < 20; y++)
        for (int x = 0; x < 30; x++) {
            double r = 0, gg = 0, bb = 0;
            for (int j = 0; j < 12; j++)
                for (int i = 0; i < 10; i++) {
                    const uint8_t *q = g + ((size_t)(y * 12 + j) * 320 + x * 32 / 3 + i) * 3;
                    r += q[0], gg += q[1], bb += q[2];
                }
            ref[y * 30 + x] = luma((int)(r / 120), (int)(gg / 120), (int)(bb / 120));
        }
    CHECK_MSG(mean_abs_err(out, ref, 600) < 3, "JPEG CHW grey mae %.2f", mean_abs_err(out, ref, 600));
    CHECK(wn_image_load_chw(jp, 3, 0, 20, out, &e) == WN_EINPUT);
    free(ref);
    free(out);
    free(b.p);
    free(g);
}

/* ---- bad input ------------------------------------------------------------------------------- */

/* The load must fail with a message naming the file and, when given, containing what. */
static void expect_bad(const char *path, const char *what) {
    wn_err e = {0};
    wn_image img;
    int rc = wn_image_load(path, 3, 0, 0, &img, &e);
    if (getenv("WN_TEST_VERBOSE")) printf("%s\n", e.msg);
    CHECK_MSG(rc != WN_OK, "%s loaded", path);
    CHECK_MSG(strncmp(e.msg, path, strlen(path)) == 0, "message does not start with %s: %s", path, e.msg);
    if (what) CHECK_MSG(strstr(e.msg, what) != NULL, "'%s' not in: %s", what, e.msg);
    CHECK(img.pix == NULL);
    uint8_t chw[3 * 4 * 4];
    wn_err e2 = {0};
    CHECK(wn_image_load_chw(path, 3, 4, 4, chw, &e2) != WN_OK && strstr(e2.msg, path) != NULL);
}

static uint32_t be32(const uint8_t *p) { return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]; }
static void put_be32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8), p[3] = (uint8_t)v;
}

/* Offset of the first chunk of a type in a PNG, or 0. */
static size_t png_chunk(const tp_buf *b, const char *type) {
    for (size_t o = 8; o + 12 <= b->n; o += 12 + be32(b->p + o))
        if (memcmp(b->p + o + 4, type, 4) == 0) return o;
    return 0;
}

static void test_bad_input(void) {
    expect_bad(save("empty.jpg", &(tp_buf){0}), "empty file");
    uint8_t junk[300];
    for (int i = 0; i < 300; i++) junk[i] = (uint8_t)((i * 2654435761u) >> 13);
    expect_bad(save("random.jpg", &(tp_buf){junk, 300, 300}), "not a JPEG or PNG file");
    const char *text = "hello, this is not a picture\n";
    expect_bad(save("text.png", &(tp_buf){(uint8_t *)text, strlen(text), 0}), "not a JPEG or PNG file");
    expect_bad(wn_test_path(g_dir, "missing.png"), NULL);
    expect_bad(g_dir, NULL);
    uint8_t soi[3] = {0xFF, 0xD8, 0xFF};
    expect_bad(save("soi.jpg", &(tp_buf){soi, 3, 3}), "JPEG");
    static const uint8_t sig[8] = {0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A};
    expect_bad(save("sig.png", &(tp_buf){(uint8_t *)sig, 8, 8}), "truncated PNG");

    /* JPEG: truncated in half, garbage after SOI, damaged entropy data, absurd SOF */
    uint8_t *rgb = gradient_rgb(64, 48);
    tp_buf j = make_jpeg(64, 48, 3, JCS_RGB, rgb, 90, 0);
    expect_bad(save("half.jpg", &(tp_buf){j.p, j.n / 2, 0}), "truncated or corrupt JPEG");
    expect_bad(save("cut.jpg", &(tp_buf){j.p, j.n * 3 / 4, 0}), "Premature end of JPEG file");
    expect_bad(save("noeoi.jpg", &(tp_buf){j.p, j.n - 2, 0}), "truncated or corrupt JPEG");
    tp_buf g = {0};
    tp_put(&g, soi, 3);
    tp_put(&g, junk, sizeof junk);
    expect_bad(save("garbage.jpg", &g), "JPEG");
    free(g.p);
    size_t sos = 0;
    for (size_t o = 2; o + 1 < j.n; o++)
        if (j.p[o] == 0xFF && j.p[o + 1] == 0xDA) {
            sos = o;
            break;
        }
    CHECK(sos > 0);
    tp_buf d = {0};
    tp_put(&d, j.p, j.n);
    size_t mid = sos + (j.n - sos) / 2;
    memset(d.p + mid, 0xFF, 40); /* fill bytes then a stray marker in the scan */
    d.p[mid + 40] = 0xD3;
    expect_bad(save("huff.jpg", &d), "JPEG");
    free(d.p);
    tp_buf big = {0};
    tp_put(&big, j.p, j.n);
    size_t sof = 0;
    for (size_t o = 2; o + 9 < big.n; o++)
        if (big.p[o] == 0xFF && big.p[o + 1] == 0xC0) {
            sof = o;
            break;
        }
    CHECK(sof > 0);
    big.p[sof + 5] = 0xFD, big.p[sof + 6] = 0xE8; /* height 65000 */
    big.p[sof + 7] = 0xFD, big.p[sof + 8] = 0xE8; /* width 65000 */
    expect_bad(save("huge.jpg", &big), "65000 x 65000");
    free(big.p);

    /* PNG: truncated, a flipped IDAT byte, a flipped IDAT CRC, a bad ancillary CRC, absurd IHDR */
    tp_buf p = tp_png(64, 48, PNG_COLOR_TYPE_RGB, 8, rgb, 64 * 3, NULL, 0, NULL, 0, NULL, 0);
    expect_bad(save("half.png", &(tp_buf){p.p, p.n / 2, 0}), "truncated PNG (read past end of file)");
    expect_bad(save("noiend.png", &(tp_buf){p.p, p.n - 12, 0}), "truncated PNG");
    size_t idat = png_chunk(&p, "IDAT");
    CHECK(idat > 0);
    tp_buf f = {0};
    tp_put(&f, p.p, p.n);
    f.p[idat + 8 + be32(f.p + idat) / 2] ^= 0x5A;
    expect_bad(save("flip.png", &f), "corrupt PNG");
    memcpy(f.p, p.p, p.n);
    f.p[idat + 8 + be32(f.p + idat)] ^= 0x01; /* the CRC itself */
    expect_bad(save("crc.png", &f), "CRC");
    free(f.p);
    /* a tEXt chunk with a wrong CRC before IDAT */
    tp_buf t = {0};
    tp_put(&t, p.p, idat);
    uint8_t text_chunk[12 + 9] = {0, 0, 0, 9, 't', 'E', 'X', 't', 'k', 'e', 'y', 0, 'v', 'a', 'l', 'u', 'e'};
    put_be32(text_chunk + 17, (uint32_t)crc32(0, text_chunk + 4, 13) ^ 1u);
    tp_put(&t, text_chunk, sizeof text_chunk);
    tp_put(&t, p.p + idat, p.n - idat);
    expect_bad(save("textcrc.png", &t), "CRC");
    free(t.p);
    tp_buf h = {0};
    tp_put(&h, p.p, p.n);
    put_be32(h.p + 16, 100000);
    put_be32(h.p + 20, 100000);
    put_be32(h.p + 29, (uint32_t)crc32(0, h.p + 12, 17));
    expect_bad(save("huge.png", &h), "100000 x 100000");
    put_be32(h.p + 16, 20000); /* each side fine, 400M pixels in all */
    put_be32(h.p + 20, 20000);
    put_be32(h.p + 29, (uint32_t)crc32(0, h.p + 12, 17));
    expect_bad(save("huge2.png", &h), "20000 x 20000");
    free(h.p);

    /* mutations: every truncation and many byte changes of a small PNG and a progressive JPEG
     * must either decode to a sane image or fail with the name, never crash */
    free(p.p);
    free(j.p);
    uint8_t *small = gradient_rgb(16, 16);
    tp_buf files[2] = {tp_png(16, 16, PNG_COLOR_TYPE_RGB, 8, small, 48, NULL, 0, NULL, 0, NULL, 1),
                     make_jpeg(16, 16, 3, JCS_RGB, small, 80, 1)};
    uint32_t seed = 12345;
    int bad_msgs = 0, bad_imgs = 0;
    for (int fi = 0; fi < 2; fi++) {
        tp_buf *src = &files[fi];
        uint8_t *m = malloc(src->n);
        for (size_t cut = 0; cut < src->n + 400; cut++) {
            size_t n = src->n;
            memcpy(m, src->p, n);
            if (cut < src->n) {
                n = cut;
            } else {
                for (int k = 0; k < 1 + (int)(cut % 3); k++) {
                    seed = seed * 1664525u + 1013904223u;
                    size_t at = 2 + (seed >> 8) % (n - 2);
                    m[at] = (uint8_t)(seed >> 3);
                }
            }
            wn_err e = {0};
            wn_image img;
            int rc = wn_image_decode(n ? m : NULL, n, "mut", 3, 0, 0, &img, &e);
            if (rc) bad_msgs += strncmp(e.msg, "mut: ", 5) != 0;
            else bad_imgs += !(img.w > 0 && img.h > 0 && img.c == 3 && img.pix);
            wn_image_free(&img);
        }
        free(m);
        free(src->p);
    }
    CHECK(bad_msgs == 0);
    CHECK(bad_imgs == 0);
    free(small);
    free(rgb);
}

/* ---- threads --------------------------------------------------------------------------------- */

typedef struct {
    const tp_buf *jpg, *png;
    int failures;
} thread_arg;

static void *decode_many(void *p) {
    thread_arg *a = p;
    for (int i = 0; i < 20; i++) {
        wn_err e = {0};
        wn_image x, y;
        if (wn_image_decode(a->jpg->p, a->jpg->n, "t.jpg", 3, 32, 24, &x, &e) != WN_OK) a->failures++;
        if (wn_image_decode(a->png->p, a->png->n, "t.png", 1, 0, 0, &y, &e) != WN_OK) a->failures++;
        wn_image_free(&x);
        wn_image_free(&y);
        tp_buf half = {a->jpg->p, a->jpg->n / 2, 0};
        if (wn_image_decode(half.p, half.n, "t.jpg", 3, 0, 0, &x, &e) == WN_OK) a->failures++;
        wn_image_free(&x);
    }
    return NULL;
}

static void test_threads(void) {
    uint8_t *rgb = gradient_rgb(128, 96);
    tp_buf j = make_jpeg(128, 96, 3, JCS_RGB, rgb, 90, 1);
    tp_buf p = tp_png(128, 96, PNG_COLOR_TYPE_RGB, 8, rgb, 128 * 3, NULL, 0, NULL, 0, NULL, 0);
    pthread_t t[2];
    thread_arg a[2] = {{&j, &p, 0}, {&j, &p, 0}};
    for (int i = 0; i < 2; i++) CHECK(pthread_create(&t[i], NULL, decode_many, &a[i]) == 0);
    for (int i = 0; i < 2; i++) pthread_join(t[i], NULL);
    CHECK(a[0].failures == 0 && a[1].failures == 0);
    free(j.p);
    free(p.p);
    free(rgb);
}

int main(void) {
    g_dir = wn_test_tmpdir("test_image");
    CHECK(wn_image_format((const uint8_t *)"\xFF\xD8\xFF\xE0", 4) == WN_FMT_JPEG);
    CHECK(wn_image_format((const uint8_t *)"\x89PNG\r\n\x1A\n", 8) == WN_FMT_PNG);
    CHECK(wn_image_format((const uint8_t *)"\x89PNG", 4) == WN_FMT_UNKNOWN);
    CHECK(wn_image_format(NULL, 0) == WN_FMT_UNKNOWN);
    test_png_write();
    test_png_decode();
    test_jpeg_decode();
    test_jpeg_scaling();
    test_resize();
    test_load_chw();
    test_bad_input();
    test_threads();
    return wn_test_done();
}
