/* cpu_k_dense.h - fully connected layer kernels over row ranges, so that callers can split the
 * work (see cpu_real.h for how this is compiled as float and as double).
 * Shapes: x (N,IN), w (OUT,IN), b (OUT), y and dy (N,OUT). */
#ifndef WN_CPU_K_DENSE_H
#define WN_CPU_K_DENSE_H

#include "cpu_real.h"

/* Rows [n0, n1) of y = x * w^T + b (b may be NULL). */
static inline void k_dense_forward_rows(int n0, int n1, int in, int out, const wn_real *x,
                                        const wn_real *w, const wn_real *b, wn_real *y) {
    if (n1 <= n0) return;
    wn_real *yr = y + (size_t)n0 * out; // (n1-n0, OUT)
    k_gemm(0, 1, n1 - n0, out, in, 1, x + (size_t)n0 * in, in, w, in, 0, yr, out);
    if (b)
        for (int i = 0; i < n1 - n0; i++)
            for (int o = 0; o < out; o++) yr[(size_t)i * out + o] += b[o];
}

/* Rows [n0, n1) of dx = dy * w (overwritten). */
static inline void k_dense_backward_dx_rows(int n0, int n1, int in, int out, const wn_real *w,
                                            const wn_real *dy, wn_real *dx) {
    if (n1 <= n0) return;
    k_gemm(0, 0, n1 - n0, in, out, 1, dy + (size_t)n0 * out, out, w, in, 0, dx + (size_t)n0 * in,
           in);
}

/* Output units [o0, o1): dw rows = dy^T * x and db = column sums of dy (overwritten; either may
 * be NULL). */
static inline void k_dense_backward_dw_rows(int o0, int o1, int n, int in, int out,
                                            const wn_real *x, const wn_real *dy, wn_real *dw,
                                            wn_real *db) {
    if (o1 <= o0) return;
    if (dw) k_gemm(1, 0, o1 - o0, in, n, 1, dy + o0, out, x, in, 0, dw + (size_t)o0 * in, in);
    if (db) {
        for (int o = o0; o < o1; o++) db[o] = 0;
        for (int i = 0; i < n; i++)
            for (int o = o0; o < o1; o++) db[o] += dy[(size_t)i * out + o];
    }
}

#endif
