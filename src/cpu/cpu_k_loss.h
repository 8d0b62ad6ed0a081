/* cpu_k_loss.h - softmax and softmax cross entropy over rows of logits (N,K) (see cpu_real.h for
 * how this is compiled as float and as double). Each row is computed in double with the maximum
 * subtracted before exponentiation, so large logits never overflow. */
#ifndef WN_CPU_K_LOSS_H
#define WN_CPU_K_LOSS_H

#include <assert.h>
#include <math.h>
#include <stdint.h>

#include "cpu_real.h"

/* Rows [n0, n1) of n: z = logits + offset (offset (K) may be NULL), probs = softmax(z) (may be
 * NULL), dlogits = w_i * (p - onehot(label)) (may be NULL), where w_i = weight[i] or 1/n when
 * weight is NULL. labels (N) may be NULL only when dlogits is NULL. Returns sum_i w_i * -log p. */
static inline double k_softmax_xent_rows(int n0, int n1, int n, int k, const wn_real *logits,
                                         const int32_t *labels, const wn_real *weight,
                                         const wn_real *offset, wn_real *probs, wn_real *dlogits) {
    double loss = 0;
    for (int i = n0; i < n1; i++) {
        const wn_real *z = logits + (size_t)i * k; // (K)
        double mx = -INFINITY;
        for (int j = 0; j < k; j++) {
            double v = (double)z[j] + (offset ? (double)offset[j] : 0.0);
            if (v > mx) mx = v;
        }
        double s = 0;
        for (int j = 0; j < k; j++) s += exp((double)z[j] + (offset ? (double)offset[j] : 0.0) - mx);
        const double logs = log(s);
        const double wi = weight ? (double)weight[i] : 1.0 / n;
        int label = -1;
        if (labels) {
            label = labels[i];
            assert(label >= 0 && label < k);
            double zl = (double)z[label] + (offset ? (double)offset[label] : 0.0);
            loss += wi * (logs + mx - zl);
        }
        for (int j = 0; j < k; j++) {
            if (!probs && !dlogits) break;
            double p = exp((double)z[j] + (offset ? (double)offset[j] : 0.0) - mx - logs);
            if (probs) probs[(size_t)i * k + j] = (wn_real)p;
            if (dlogits) dlogits[(size_t)i * k + j] = (wn_real)(wi * (p - (j == label ? 1.0 : 0.0)));
        }
    }
    return loss;
}

#endif
