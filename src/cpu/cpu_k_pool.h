/* cpu_k_pool.h - max and average pooling kernels for one (H, W) plane, forward and backward
 * (see cpu_real.h for how this is compiled as float and as double).
 *
 * Max: only cells inside the input compete (padding never wins); the first maximum in row-major
 * window order wins, and backward recomputes that position from x. Average: padding counts as
 * zeros and every window divides by KH*KW (PyTorch count_include_pad=True). */
#ifndef WN_CPU_K_POOL_H
#define WN_CPU_K_POOL_H

#include <math.h>
#include <string.h>

#include "cpu_real.h"
#include "wn_backend.h"

/* The 2x2 stride-2 unpadded max pool, the common case, gets straight-line code. */
static inline int k_pool_is_max2(const wn_pool_desc *d) {
    return d->mode == WN_POOL_MAX && d->kh == 2 && d->kw == 2 && d->sh == 2 && d->sw == 2 &&
           d->ph == 0 && d->pw == 0;
}

/* Window of output (oh, ow) clipped to the input: rows [*h0, *h1), columns [*w0, *w1). */
static inline void k_pool_window(const wn_pool_desc *d, int oh, int ow, int *h0, int *h1, int *w0,
                                 int *w1) {
    int hs = oh * d->sh - d->ph, ws = ow * d->sw - d->pw;
    *h0 = hs < 0 ? 0 : hs;
    *w0 = ws < 0 ? 0 : ws;
    *h1 = hs + d->kh < d->h ? hs + d->kh : d->h;
    *w1 = ws + d->kw < d->w ? ws + d->kw : d->w;
}

/* Index (into the plane) of the window's first maximum, -1 when the window holds no input cell. */
static inline int k_pool_argmax(const wn_pool_desc *d, const wn_real *x, int oh, int ow) {
    int h0, h1, w0, w1, best = -1;
    k_pool_window(d, oh, ow, &h0, &h1, &w0, &w1);
    wn_real m = 0;
    for (int h = h0; h < h1; h++)
        for (int w = w0; w < w1; w++) {
            wn_real v = x[h * d->w + w];
            if (best < 0 || v > m) {
                m = v;
                best = h * d->w + w;
            }
        }
    return best;
}

/* x (H,W) -> y (OH,OW) */
static inline void k_pool_forward_plane(const wn_pool_desc *d, const wn_real *x, wn_real *y) {
    const int W = d->w, OH = d->oh, OW = d->ow;
    if (k_pool_is_max2(d)) {
        for (int oh = 0; oh < OH; oh++) {
            const wn_real *r0 = x + (size_t)(2 * oh) * W, *r1 = r0 + W;
            wn_real *yr = y + (size_t)oh * OW;
            for (int ow = 0; ow < OW; ow++) {
                wn_real a = r0[2 * ow], b = r0[2 * ow + 1], c = r1[2 * ow], e = r1[2 * ow + 1];
                wn_real m0 = b > a ? b : a, m1 = e > c ? e : c;
                yr[ow] = m1 > m0 ? m1 : m0;
            }
        }
        return;
    }
    const wn_real inv = (wn_real)1 / (wn_real)(d->kh * d->kw);
    for (int oh = 0; oh < OH; oh++)
        for (int ow = 0; ow < OW; ow++) {
            if (d->mode == WN_POOL_MAX) {
                int i = k_pool_argmax(d, x, oh, ow);
                y[oh * OW + ow] = i < 0 ? 0 : x[i];
            } else {
                int h0, h1, w0, w1;
                k_pool_window(d, oh, ow, &h0, &h1, &w0, &w1);
                wn_real s = 0;
                for (int h = h0; h < h1; h++)
                    for (int w = w0; w < w1; w++) s += x[h * W + w];
                y[oh * OW + ow] = s * inv;
            }
        }
}

/* x (H,W), dy (OH,OW) -> dx (H,W), overwritten. */
static inline void k_pool_backward_plane(const wn_pool_desc *d, const wn_real *x,
                                         const wn_real *dy, wn_real *dx) {
    const int H = d->h, W = d->w, OH = d->oh, OW = d->ow;
    if (k_pool_is_max2(d)) {
        for (int oh = 0; oh < OH; oh++) {
            const wn_real *r0 = x + (size_t)(2 * oh) * W, *r1 = r0 + W;
            wn_real *d0 = dx + (size_t)(2 * oh) * W, *d1 = d0 + W;
            const wn_real *g = dy + (size_t)oh * OW;
            for (int ow = 0; ow < OW; ow++) {
                /* branch-free first maximum (same tie rule as k_pool_argmax) */
                int j = 2 * ow;
                wn_real a = r0[j], b = r0[j + 1], c = r1[j], e = r1[j + 1];
                wn_real m0 = b > a ? b : a, m1 = e > c ? e : c, m = m1 > m0 ? m1 : m0;
                int fa = a == m, fb = !fa & (b == m), fc = !(fa | fb) & (c == m);
                int fe = !(fa | fb | fc);
                wn_real gv = g[ow];
                d0[j] = fa ? gv : 0;
                d0[j + 1] = fb ? gv : 0;
                d1[j] = fc ? gv : 0;
                d1[j + 1] = fe ? gv : 0;
            }
            if (W > 2 * OW) d0[W - 1] = d1[W - 1] = 0;
        }
        if (H > 2 * OH) memset(dx + (size_t)2 * OH * W, 0, sizeof(wn_real) * (H - 2 * OH) * W);
        return;
    }
    memset(dx, 0, sizeof(wn_real) * (size_t)H * W);
    const wn_real inv = (wn_real)1 / (wn_real)(d->kh * d->kw);
    for (int oh = 0; oh < OH; oh++)
        for (int ow = 0; ow < OW; ow++) {
            wn_real g = dy[oh * OW + ow];
            if (d->mode == WN_POOL_MAX) {
                int i = k_pool_argmax(d, x, oh, ow);
                if (i >= 0) dx[i] += g;
            } else {
                int h0, h1, w0, w1;
                k_pool_window(d, oh, ow, &h0, &h1, &w0, &w1);
                for (int h = h0; h < h1; h++)
                    for (int w = w0; w < w1; w++) dx[h * W + w] += g * inv;
            }
        }
}

#endif
