/* cpu_k_norm.h - batch normalisation kernels for one channel of x (N,C,HW) (see cpu_real.h for
 * how this is compiled as float and as double). Statistics are accumulated in double.
 * gamma NULL means 1 and beta NULL means 0. */
#ifndef WN_CPU_K_NORM_H
#define WN_CPU_K_NORM_H

#include <math.h>

#include "cpu_real.h"

/* Training forward of channel ch: batch mean and biased variance normalise x; save_mean and
 * save_invstd (C) receive them; running stats (C) move by momentum, with the unbiased variance. */
static inline void k_bn_train_channel(int n, int c, int hw, int ch, const wn_real *x,
                                      const wn_real *gamma, const wn_real *beta, double momentum,
                                      double eps, wn_real *run_mean, wn_real *run_var,
                                      wn_real *save_mean, wn_real *save_invstd, wn_real *y) {
    const double m = (double)n * hw;
    double s = 0;
    for (int i = 0; i < n; i++) {
        const wn_real *xp = x + ((size_t)i * c + ch) * hw; // (HW)
        for (int j = 0; j < hw; j++) s += xp[j];
    }
    const double mean = s / m;
    double ss = 0;
    for (int i = 0; i < n; i++) {
        const wn_real *xp = x + ((size_t)i * c + ch) * hw; // (HW)
        for (int j = 0; j < hw; j++) {
            double t = xp[j] - mean;
            ss += t * t;
        }
    }
    const double var = ss / m, invstd = 1.0 / sqrt(var + eps);
    const double g = gamma ? gamma[ch] : 1, bt = beta ? beta[ch] : 0;
    const wn_real scale = (wn_real)(g * invstd), shift = (wn_real)bt, mu = (wn_real)mean;
    for (int i = 0; i < n; i++) {
        const wn_real *xp = x + ((size_t)i * c + ch) * hw; // (HW)
        wn_real *yp = y + ((size_t)i * c + ch) * hw;       // (HW)
        for (int j = 0; j < hw; j++) yp[j] = (xp[j] - mu) * scale + shift;
    }
    if (save_mean) save_mean[ch] = (wn_real)mean;
    if (save_invstd) save_invstd[ch] = (wn_real)invstd;
    if (run_mean) run_mean[ch] = (wn_real)((1 - momentum) * run_mean[ch] + momentum * mean);
    if (run_var) {
        double unbiased = m > 1 ? ss / (m - 1) : var;
        run_var[ch] = (wn_real)((1 - momentum) * run_var[ch] + momentum * unbiased);
    }
}

/* Inference forward of channel ch with the running statistics. */
static inline void k_bn_eval_channel(int n, int c, int hw, int ch, const wn_real *x,
                                     const wn_real *gamma, const wn_real *beta,
                                     const wn_real *run_mean, const wn_real *run_var, double eps,
                                     wn_real *y) {
    const double g = gamma ? gamma[ch] : 1, bt = beta ? beta[ch] : 0;
    const double invstd = 1.0 / sqrt((double)run_var[ch] + eps);
    const wn_real scale = (wn_real)(g * invstd), shift = (wn_real)bt, mu = run_mean[ch];
    for (int i = 0; i < n; i++) {
        const wn_real *xp = x + ((size_t)i * c + ch) * hw; // (HW)
        wn_real *yp = y + ((size_t)i * c + ch) * hw;       // (HW)
        for (int j = 0; j < hw; j++) yp[j] = (xp[j] - mu) * scale + shift;
    }
}

/* Backward of channel ch after a training forward: with xhat = (x - mean) * invstd and M = N*HW,
 * dbeta = sum dy, dgamma = sum dy*xhat, dx = gamma*invstd/M * (M*dy - dbeta - xhat*dgamma).
 * dx, dgamma, dbeta are overwritten; each may be NULL. */
static inline void k_bn_backward_channel(int n, int c, int hw, int ch, const wn_real *x,
                                         const wn_real *gamma, const wn_real *save_mean,
                                         const wn_real *save_invstd, const wn_real *dy,
                                         wn_real *dx, wn_real *dgamma, wn_real *dbeta) {
    const double m = (double)n * hw, mean = save_mean[ch], invstd = save_invstd[ch];
    double sdy = 0, sdyx = 0;
    for (int i = 0; i < n; i++) {
        const wn_real *xp = x + ((size_t)i * c + ch) * hw;   // (HW)
        const wn_real *gp = dy + ((size_t)i * c + ch) * hw;  // (HW)
        for (int j = 0; j < hw; j++) {
            sdy += gp[j];
            sdyx += gp[j] * ((xp[j] - mean) * invstd);
        }
    }
    if (dbeta) dbeta[ch] = (wn_real)sdy;
    if (dgamma) dgamma[ch] = (wn_real)sdyx;
    if (!dx) return;
    const double g = gamma ? gamma[ch] : 1, k = g * invstd;
    /* dx = k*dy - k*sdy/M - k*invstd*sdyx/M * (x - mean) = a*dy + b*(x - mean) + c0 */
    const wn_real a = (wn_real)k, b = (wn_real)(-k * invstd * sdyx / m),
                  c0 = (wn_real)(-k * sdy / m), mu = (wn_real)mean;
    for (int i = 0; i < n; i++) {
        const wn_real *xp = x + ((size_t)i * c + ch) * hw;   // (HW)
        const wn_real *gp = dy + ((size_t)i * c + ch) * hw;  // (HW)
        wn_real *dp = dx + ((size_t)i * c + ch) * hw;        // (HW)
        for (int j = 0; j < hw; j++) dp[j] = a * gp[j] + b * (xp[j] - mu) + c0;
    }
}

#endif
