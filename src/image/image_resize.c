/* image_resize.c - wn_image_resize: separable resampling, one axis at a time. An axis that
 * shrinks uses area averaging (a box filter with fractional coverage at the box edges); an axis
 * that grows uses bilinear interpolation with half-pixel centres (align_corners = false, as PIL
 * and OpenCV), clamped at the borders; an axis that keeps its size is copied. */
#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "image_internal.h"

/* For one axis: output pixel i takes src[first[i] + t] * weight[i * taps + t], t < count[i]. */
typedef struct {
    int taps;
    int *first, *count;
    float *weight;
} axis_map;

static void axis_map_make(axis_map *m, int in, int out) {
    if (out < in) {
        const double s = (double)in / out;
        m->taps = (int)ceil(s) + 1;
    } else {
        m->taps = 2;
    }
    m->first = wn_xmalloc(sizeof(int) * (size_t)out);
    m->count = wn_xmalloc(sizeof(int) * (size_t)out);
    m->weight = wn_xcalloc((size_t)out * (size_t)m->taps, sizeof(float));
    for (int i = 0; i < out; i++) {
        float *wt = m->weight + (size_t)i * m->taps;
        if (out < in) { /* area: output pixel i covers [i*s, (i+1)*s) of the input */
            const double s = (double)in / out;
            const double x0 = i * s, x1 = (i + 1) * s;
            int a = (int)floor(x0), b = (int)ceil(x1);
            if (b > in) b = in;
            if (b - a > m->taps) b = a + m->taps;
            int n = 0;
            double sum = 0;
            for (int k = a; k < b; k++) {
                double cover = fmin(k + 1.0, x1) - fmax((double)k, x0);
                if (cover < 0) cover = 0;
                wt[n++] = (float)cover;
                sum += cover;
            }
            for (int t = 0; t < n; t++) wt[t] = (float)(wt[t] / sum);
            m->first[i] = a;
            m->count[i] = n;
        } else if (out > in) { /* bilinear, half-pixel centres */
            double x = (i + 0.5) * in / out - 0.5;
            if (x < 0) x = 0;
            if (x > in - 1) x = in - 1;
            int a = (int)floor(x);
            if (a > in - 2) a = in - 2 < 0 ? 0 : in - 2;
            double f = x - a;
            m->first[i] = a;
            if (in == 1) {
                m->count[i] = 1;
                wt[0] = 1.0f;
            } else {
                m->count[i] = 2;
                wt[0] = (float)(1.0 - f);
                wt[1] = (float)f;
            }
        } else {
            m->first[i] = i;
            m->count[i] = 1;
            wt[0] = 1.0f;
        }
    }
}

static void axis_map_free(axis_map *m) {
    free(m->first);
    free(m->count);
    free(m->weight);
}

static inline uint8_t to_u8(float v) {
    v += 0.5f;
    if (v <= 0.0f) return 0;
    if (v >= 255.0f) return 255;
    return (uint8_t)v;
}

/* One row of (sw, c) floats resampled along x into (w, c) uint8. */
static void resize_row(const float *in, int c, const axis_map *mx, int w, uint8_t *out) {
    for (int x = 0; x < w; x++) {
        const float *wt = mx->weight + (size_t)x * mx->taps;
        const float *p = in + (size_t)mx->first[x] * c;
        const int n = mx->count[x];
        if (c == 3) {
            float a0 = 0.0f, a1 = 0.0f, a2 = 0.0f;
            for (int t = 0; t < n; t++, p += 3) {
                a0 += wt[t] * p[0];
                a1 += wt[t] * p[1];
                a2 += wt[t] * p[2];
            }
            out[0] = to_u8(a0);
            out[1] = to_u8(a1);
            out[2] = to_u8(a2);
            out += 3;
        } else if (c == 1) {
            float a = 0.0f;
            for (int t = 0; t < n; t++) a += wt[t] * p[t];
            *out++ = to_u8(a);
        } else {
            for (int k = 0; k < c; k++) {
                float a = 0.0f;
                for (int t = 0; t < n; t++) a += wt[t] * p[(size_t)t * c + k];
                *out++ = to_u8(a);
            }
        }
    }
}

/* Streams output rows: each is first the weighted sum of its source rows (the vertical pass,
 * over whole rows, which vectorises), then resampled along x. No full-size intermediate. */
void wn_image_resize(const wn_image *src, int w, int h, wn_image *dst) {
    assert(src && src->pix && src->w > 0 && src->h > 0 && src->c > 0 && w > 0 && h > 0);
    const int c = src->c, sw = src->w, sh = src->h;
    dst->w = w;
    dst->h = h;
    dst->c = c;
    dst->pix = wn_xmalloc((size_t)w * (size_t)h * (size_t)c);
    if (w == sw && h == sh) {
        memcpy(dst->pix, src->pix, (size_t)w * (size_t)h * (size_t)c);
        return;
    }
    axis_map mx, my;
    axis_map_make(&mx, sw, w);
    axis_map_make(&my, sh, h);
    const size_t srow = (size_t)sw * (size_t)c, drow = (size_t)w * (size_t)c;
    float *acc = wn_xmalloc(sizeof(float) * srow); /* (sw, c) */
    for (int y = 0; y < h; y++) {
        const float *wt = my.weight + (size_t)y * my.taps;
        const int n = my.count[y];
        const uint8_t *r0 = src->pix + (size_t)my.first[y] * srow;
        const float w0 = wt[0];
        for (size_t i = 0; i < srow; i++) acc[i] = w0 * (float)r0[i];
        for (int t = 1; t < n; t++) {
            const uint8_t *r = r0 + (size_t)t * srow;
            const float wgt = wt[t];
            for (size_t i = 0; i < srow; i++) acc[i] += wgt * (float)r[i];
        }
        resize_row(acc, c, &mx, w, dst->pix + (size_t)y * drow);
    }
    free(acc);
    axis_map_free(&mx);
    axis_map_free(&my);
}
