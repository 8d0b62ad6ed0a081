/* cpu_k_loss.h - softmax, softmax cross entropy and focal loss over rows of logits (N,K) (see
 * cpu_real.h for how this is compiled as float and as double). Each row is computed in double
 * with the maximum subtracted before exponentiation, so large logits never overflow. */
#ifndef WN_CPU_K_LOSS_H
#define WN_CPU_K_LOSS_H

#include <assert.h>
#include <math.h>
#include <stdint.h>

#include "cpu_real.h"

/* z_j + offset_j in double (offset (K) may be NULL). */
static inline double k_zo(const wn_real *z, const wn_real *offset, int j) {
    return (double)z[j] + (offset ? (double)offset[j] : 0.0);
}

/* One row z (K): *mx = max_j (z_j + offset_j); returns log sum_j exp(z_j + offset_j - mx). */
static inline double k_row_logsumexp(int k, const wn_real *z, const wn_real *offset, double *mx) {
    double m = -INFINITY, s = 0;
    for (int j = 0; j < k; j++) {
        double v = k_zo(z, offset, j);
        if (v > m) m = v;
    }
    for (int j = 0; j < k; j++) s += exp(k_zo(z, offset, j) - m);
    *mx = m;
    return log(s);
}

/* One row's outputs: p (K) = softmax into probs (may be NULL) and scale * (p - onehot(label))
 * into dlogits (may be NULL; label -1 = none). */
static inline void k_row_write(int k, const wn_real *z, const wn_real *offset, double mx,
                               double logs, int label, double scale, wn_real *probs,
                               wn_real *dlogits) {
    for (int j = 0; j < k; j++) {
        if (!probs && !dlogits) break;
        double p = exp(k_zo(z, offset, j) - mx - logs);
        if (probs) probs[j] = (wn_real)p;
        if (dlogits) dlogits[j] = (wn_real)(scale * (p - (j == label ? 1.0 : 0.0)));
    }
}

/* Rows [n0, n1) of n: z = logits + offset (offset (K) may be NULL), probs = softmax(z) (may be
 * NULL), dlogits = w_i * (p - onehot(label)) (may be NULL), where w_i = weight[i] or 1/n when
 * weight is NULL. labels (N) may be NULL only when dlogits is NULL. Returns sum_i w_i * -log p. */
static inline double k_softmax_xent_rows(int n0, int n1, int n, int k, const wn_real *logits,
                                         const int32_t *labels, const wn_real *weight,
                                         const wn_real *offset, wn_real *probs, wn_real *dlogits) {
    double loss = 0;
    for (int i = n0; i < n1; i++) {
        const wn_real *z = logits + (size_t)i * k; // (K)
        double mx;
        const double logs = k_row_logsumexp(k, z, offset, &mx);
        const double wi = weight ? (double)weight[i] : 1.0 / n;
        int label = -1;
        if (labels) {
            label = labels[i];
            assert(label >= 0 && label < k);
            loss += wi * (logs + mx - k_zo(z, offset, label));
        }
        k_row_write(k, z, offset, mx, logs, label, wi, probs ? probs + (size_t)i * k : NULL,
                    dlogits ? dlogits + (size_t)i * k : NULL);
    }
    return loss;
}

/* Focal loss over rows [n0, n1) of n (Lin et al. 2017), on z = logits + offset as above:
 * with t = labels[i], log p_t from the log-softmax and q = 1 - p_t summed over the other classes
 * (exact near p_t = 1), loss_i = -q^gamma * log p_t and
 * dlogits = w_i * c * (p - onehot(t)), c = q^gamma - gamma * q^(gamma-1) * p_t * log p_t (the
 * second term taken as 0 when gamma or q is 0). gamma = 0 gives k_softmax_xent_rows exactly.
 * probs and dlogits may be NULL; labels are required. Returns sum_i w_i * loss_i. */
static inline double k_focal_xent_rows(int n0, int n1, int n, int k, const wn_real *logits,
                                       const int32_t *labels, const wn_real *weight,
                                       const wn_real *offset, double gamma, wn_real *probs,
                                       wn_real *dlogits) {
    assert(labels && gamma >= 0);
    double loss = 0;
    for (int i = n0; i < n1; i++) {
        const wn_real *z = logits + (size_t)i * k; // (K)
        const int t = labels[i];
        assert(t >= 0 && t < k);
        double mx;
        const double logs = k_row_logsumexp(k, z, offset, &mx);
        /* -log p_t as softmax_xent computes it, so gamma = 0 matches it bit for bit */
        const double nlogpt = logs + mx - k_zo(z, offset, t);
        const double logpt = -nlogpt, pt = exp(logpt);
        double q = 0;
        for (int j = 0; j < k; j++)
            if (j != t) q += exp(k_zo(z, offset, j) - mx - logs);
        if (q > 1) q = 1;
        const double wi = weight ? (double)weight[i] : 1.0 / n;
        const double qg = gamma == 0 ? 1.0 : pow(q, gamma);
        loss += wi * (qg * nlogpt);
        const double c = qg - ((gamma > 0 && q > 0) ? gamma * pow(q, gamma - 1) * pt * logpt : 0.0);
        k_row_write(k, z, offset, mx, logs, t, wi * c, probs ? probs + (size_t)i * k : NULL,
                    dlogits ? dlogits + (size_t)i * k : NULL);
    }
    return loss;
}

#endif
