/* cpu_k_conv.h - convolution kernels for one image: im2col / col2im and the GEMMs of the forward
 * and backward passes (see cpu_real.h for how this is compiled as float and as double).
 *
 * Shapes (one image): x (C,H,W), w (OC,C,KH,KW) seen as (OC, CKK), col (CKK, OH*OW),
 * y and dy (OC, OH*OW). A 1x1 stride-1 pad-0 convolution uses x itself as col. */
#ifndef WN_CPU_K_CONV_H
#define WN_CPU_K_CONV_H

#include <string.h>

#include "cpu_real.h"
#include "wn_backend.h"

static inline int k_conv_is_1x1(const wn_conv_desc *d) {
    return d->kh == 1 && d->kw == 1 && d->sh == 1 && d->sw == 1 && d->ph == 0 && d->pw == 0;
}

/* Values in one image's column matrix (CKK * OH*OW). */
static inline size_t k_conv_col_count(const wn_conv_desc *d) {
    return (size_t)d->c * d->kh * d->kw * d->oh * d->ow;
}

/* Range [*o0, *o1) of output columns whose input column o*s - p + k lies inside [0, len). */
static inline void k_conv_valid_range(int len, int out, int s, int p, int k, int *o0, int *o1) {
    int lo = p - k; /* need o*s >= lo */
    int a = lo <= 0 ? 0 : (lo + s - 1) / s;
    int hi = len - 1 + p - k; /* need o*s <= hi */
    int b = hi < 0 ? 0 : hi / s + 1;
    if (b > out) b = out;
    if (a > out) a = out;
    if (b < a) b = a;
    *o0 = a;
    *o1 = b;
}

/* Stride-1 convolutions whose output rows are as wide as the input ("same" width) let one
 * kernel tap's whole column row come from one contiguous stretch of the input plane: output cell
 * (oh, ow) reads input index (oh - ph + ki) * W + ow + (kj - pw). The stretch is clipped to the
 * plane; cells whose column falls in the padding wrap onto a neighbouring input row there and are
 * fixed up (zeroed) separately. */
static inline int k_conv_rows_line_up(const wn_conv_desc *d) {
    return d->sw == 1 && d->ow == d->w;
}

/* For tap (ki, kj) and output rows [oh0, oh1) (inside the input): *src is the input index of
 * output cell (oh0, 0), which may lie before the plane; of the *len cells of those rows, those
 * in [*lo, *hi) fall inside the plane (the others are padding columns). */
static inline void k_conv_tap_span(const wn_conv_desc *d, int ki, int kj, int oh0, int oh1,
                                   long *src, long *len, long *lo, long *hi) {
    *src = (long)(oh0 * d->sh - d->ph + ki) * d->w + (kj - d->pw);
    *len = (long)(oh1 - oh0) * d->ow;
    long a = *src < 0 ? -*src : 0, b = (long)d->h * d->w - *src;
    if (a > *len) a = *len;
    if (b > *len) b = *len;
    if (b < a) b = a;
    *lo = a;
    *hi = b;
}

/* x (C,H,W) -> col (C*KH*KW, OH*OW); padded cells are zero. */
static inline void k_im2col(const wn_conv_desc *d, const wn_real *x, wn_real *col) {
    const int H = d->h, W = d->w, OH = d->oh, OW = d->ow, KH = d->kh, KW = d->kw;
    const int sh = d->sh, sw = d->sw, ph = d->ph, pw = d->pw;
    for (int c = 0; c < d->c; c++) {
        const wn_real *xc = x + (size_t)c * H * W; // (H, W)
        for (int ki = 0; ki < KH; ki++) {
            int oh0, oh1;
            k_conv_valid_range(H, OH, sh, ph, ki, &oh0, &oh1);
            for (int kj = 0; kj < KW; kj++) {
                wn_real *row = col + ((size_t)(c * KH + ki) * KW + kj) * OH * OW; // (OH, OW)
                int ow0, ow1;
                k_conv_valid_range(W, OW, sw, pw, kj, &ow0, &ow1);
                if (oh0 > 0) memset(row, 0, sizeof(wn_real) * oh0 * OW);
                if (k_conv_rows_line_up(d) && sh == 1 && oh1 > oh0) {
                    long src, len, lo, hi;
                    k_conv_tap_span(d, ki, kj, oh0, oh1, &src, &len, &lo, &hi);
                    wn_real *out = row + (size_t)oh0 * OW;
                    for (long i = 0; i < lo; i++) out[i] = 0;
                    if (hi > lo) memcpy(out + lo, xc + src + lo, sizeof(wn_real) * (size_t)(hi - lo));
                    for (long i = hi; i < len; i++) out[i] = 0;
                    for (int oh = oh0; oh < oh1; oh++) {
                        wn_real *o = row + (size_t)oh * OW;
                        for (int ow = 0; ow < ow0; ow++) o[ow] = 0;
                        for (int ow = ow1; ow < OW; ow++) o[ow] = 0;
                    }
                    if (oh1 < OH)
                        memset(row + (size_t)oh1 * OW, 0, sizeof(wn_real) * (OH - oh1) * OW);
                    continue;
                }
                for (int oh = oh0; oh < oh1; oh++) {
                    wn_real *out = row + (size_t)oh * OW;
                    const wn_real *xr = xc + (size_t)(oh * sh - ph + ki) * W + (kj - pw);
                    for (int ow = 0; ow < ow0; ow++) out[ow] = 0;
                    if (sw == 1)
                        for (int ow = ow0; ow < ow1; ow++) out[ow] = xr[ow];
                    else
                        for (int ow = ow0; ow < ow1; ow++) out[ow] = xr[(size_t)ow * sw];
                    for (int ow = ow1; ow < OW; ow++) out[ow] = 0;
                }
                if (oh1 < OH) memset(row + (size_t)oh1 * OW, 0, sizeof(wn_real) * (OH - oh1) * OW);
            }
        }
    }
}

/* col (C*KH*KW, OH*OW) -> dx (C,H,W): overwrites dx with the sum of every column entry that
 * came from each input cell (the adjoint of k_im2col). col's entries for padded cells may be
 * overwritten with zeros. */
static inline void k_col2im(const wn_conv_desc *d, wn_real *col, wn_real *dx) {
    const int H = d->h, W = d->w, OH = d->oh, OW = d->ow, KH = d->kh, KW = d->kw;
    const int sh = d->sh, sw = d->sw, ph = d->ph, pw = d->pw;
    memset(dx, 0, sizeof(wn_real) * (size_t)d->c * H * W);
    for (int c = 0; c < d->c; c++) {
        wn_real *xc = dx + (size_t)c * H * W; // (H, W)
        for (int ki = 0; ki < KH; ki++) {
            int oh0, oh1;
            k_conv_valid_range(H, OH, sh, ph, ki, &oh0, &oh1);
            for (int kj = 0; kj < KW; kj++) {
                wn_real *row = col + ((size_t)(c * KH + ki) * KW + kj) * OH * OW; // (OH, OW)
                int ow0, ow1;
                k_conv_valid_range(W, OW, sw, pw, kj, &ow0, &ow1);
                if (k_conv_rows_line_up(d) && sh == 1 && oh1 > oh0) {
                    long src, len, lo, hi;
                    k_conv_tap_span(d, ki, kj, oh0, oh1, &src, &len, &lo, &hi);
                    wn_real *in = row + (size_t)oh0 * OW;
                    for (int oh = oh0; oh < oh1; oh++) { /* padded cells must add nothing */
                        wn_real *o = row + (size_t)oh * OW;
                        for (int ow = 0; ow < ow0; ow++) o[ow] = 0;
                        for (int ow = ow1; ow < OW; ow++) o[ow] = 0;
                    }
                    for (long i = lo; i < hi; i++) xc[src + i] += in[i];
                    continue;
                }
                for (int oh = oh0; oh < oh1; oh++) {
                    const wn_real *in = row + (size_t)oh * OW;
                    wn_real *xr = xc + (size_t)(oh * sh - ph + ki) * W + (kj - pw);
                    if (sw == 1)
                        for (int ow = ow0; ow < ow1; ow++) xr[ow] += in[ow];
                    else
                        for (int ow = ow0; ow < ow1; ow++) xr[(size_t)ow * sw] += in[ow];
                }
            }
        }
    }
}

/* One image: x (C,H,W), w (OC,CKK), b (OC) or NULL -> y (OC,OH*OW); col is scratch of
 * k_conv_col_count values (unused for 1x1). */
static inline void k_conv_forward_image(const wn_conv_desc *d, const wn_real *x, const wn_real *w,
                                        const wn_real *b, wn_real *y, wn_real *col) {
    const int ckk = d->c * d->kh * d->kw, ohw = d->oh * d->ow;
    const wn_real *src = x; // (CKK, OH*OW)
    if (!k_conv_is_1x1(d)) {
        k_im2col(d, x, col);
        src = col;
    }
    k_gemm(0, 0, d->oc, ohw, ckk, 1, w, ckk, src, ohw, 0, y, ohw);
    if (b)
        for (int o = 0; o < d->oc; o++) {
            wn_real *yo = y + (size_t)o * ohw, bo = b[o];
            for (int i = 0; i < ohw; i++) yo[i] += bo;
        }
}

/* One image's share of the backward pass. x (C,H,W), w (OC,CKK), dy (OC,OH*OW).
 * dw (OC,CKK) = beta*dw + dy * col^T and db (OC) = beta*db + row sums of dy (each may be NULL);
 * dx (C,H,W) is overwritten (may be NULL). col is scratch of k_conv_col_count values. */
static inline void k_conv_backward_image(const wn_conv_desc *d, const wn_real *x, const wn_real *w,
                                         const wn_real *dy, wn_real *dx, wn_real *dw, wn_real *db,
                                         wn_real beta, wn_real *col) {
    const int ckk = d->c * d->kh * d->kw, ohw = d->oh * d->ow;
    const int is1x1 = k_conv_is_1x1(d);
    if (dw) {
        const wn_real *src = x; // (CKK, OH*OW)
        if (!is1x1) {
            k_im2col(d, x, col);
            src = col;
        }
        k_gemm(0, 1, d->oc, ckk, ohw, 1, dy, ohw, src, ohw, beta, dw, ckk);
    }
    if (db)
        for (int o = 0; o < d->oc; o++) {
            wn_real s = k_sum(dy + (size_t)o * ohw, (size_t)ohw);
            db[o] = beta != 0 ? db[o] + s : s;
        }
    if (dx) {
        if (is1x1) {
            k_gemm(1, 0, ckk, ohw, d->oc, 1, w, ckk, dy, ohw, 0, dx, ohw);
        } else {
            k_gemm(1, 0, ckk, ohw, d->oc, 1, w, ckk, dy, ohw, 0, col, ohw);
            k_col2im(d, col, dx);
        }
    }
}

#endif
