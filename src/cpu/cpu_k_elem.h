/* cpu_k_elem.h - elementwise kernels over index ranges [i0, i1): activations, inverted dropout
 * and the residual sum (see cpu_real.h for how this is compiled as float and as double).
 * Every kernel allows its output to alias its input. */
#ifndef WN_CPU_K_ELEM_H
#define WN_CPU_K_ELEM_H

#include <stdint.h>

#include "cpu_real.h"
#include "wn_backend.h"
#include "wn_rng.h"

/* y = relu(x) or leaky(x) = x > 0 ? x : alpha*x */
static inline void k_act_forward(int kind, wn_real alpha, size_t i0, size_t i1, const wn_real *x,
                                 wn_real *y) {
    if (kind == WN_ACT_RELU)
        for (size_t i = i0; i < i1; i++) y[i] = x[i] > 0 ? x[i] : 0;
    else
        for (size_t i = i0; i < i1; i++) y[i] = x[i] > 0 ? x[i] : alpha * x[i];
}

/* dx = dy * act'(x), with the derivative at 0 taken from the left (0 or alpha), like PyTorch. */
static inline void k_act_backward(int kind, wn_real alpha, size_t i0, size_t i1, const wn_real *x,
                                  const wn_real *dy, wn_real *dx) {
    if (kind == WN_ACT_RELU)
        for (size_t i = i0; i < i1; i++) dx[i] = x[i] > 0 ? dy[i] : 0;
    else
        for (size_t i = i0; i < i1; i++) dx[i] = x[i] > 0 ? dy[i] : alpha * dy[i];
}

/* mask[i] = (wn_hash_uniform(seed, i) >= rate) / (1 - rate), y = x * mask (mask may be NULL).
 * The comparison is done in float so that every backend draws the same mask. */
static inline void k_dropout_forward(size_t i0, size_t i1, float rate, uint64_t seed,
                                     const wn_real *x, wn_real *y, wn_real *mask) {
    const wn_real keep = rate < 1 ? (wn_real)(1.0 / (1.0 - (double)rate)) : 0;
    for (size_t i = i0; i < i1; i++) {
        wn_real m = wn_hash_uniform(seed, i) >= rate ? keep : 0;
        if (mask) mask[i] = m;
        y[i] = x[i] * m;
    }
}

static inline void k_dropout_backward(size_t i0, size_t i1, const wn_real *mask,
                                      const wn_real *dy, wn_real *dx) {
    for (size_t i = i0; i < i1; i++) dx[i] = dy[i] * mask[i];
}

/* y = a + b */
static inline void k_add(size_t i0, size_t i1, const wn_real *a, const wn_real *b, wn_real *y) {
    for (size_t i = i0; i < i1; i++) y[i] = a[i] + b[i];
}

#endif
