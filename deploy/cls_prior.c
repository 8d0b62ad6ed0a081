/* cls_prior.c - prior-shift estimation by the EM method of Saerens, Latinne and Decaestecker
 * (2002, "Adjusting the outputs of a classifier to new a priori probabilities"), on the
 * calibrated posteriors of the classified photos. Those posteriors have the training priors
 * divided out, so their base priors are uniform: the E-step re-weights each row by the current
 * estimate pi (q_ij = p_ij pi_j / sum_l p_il pi_l), the M-step sets pi_j = mean_i q_ij. Over
 * the spill file the E-step streams the rows in chunks, so memory stays bounded. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "wn_classify.h"

#define CHUNK_ROWS 4096

/* Adds sum_i q_ij into acc (K) for n rows; returns the rows used (a row of zeros is left out). */
static long estep(const float *p, long n, int stride, int k, const double *pi, double *acc) {
    long used = 0;
    for (long i = 0; i < n; i++) {
        const float *row = p + (size_t)i * (size_t)stride;
        double s = 0;
        for (int j = 0; j < k; j++) s += (double)row[j] * pi[j];
        if (!(s > 0)) continue;
        for (int j = 0; j < k; j++) acc[j] += (double)row[j] * pi[j] / s;
        used++;
    }
    return used;
}

/* pi <- acc / used; returns the largest change. */
static double mstep(double *pi, const double *acc, long used, int k) {
    double d = 0;
    for (int j = 0; j < k; j++) {
        double v = used ? acc[j] / (double)used : pi[j];
        d = fmax(d, fabs(v - pi[j]));
        pi[j] = v;
    }
    return d;
}

static void start(const double *init, int k, double *pi) {
    double s = 0;
    for (int j = 0; j < k; j++) s += init ? fmax(init[j], 0) : 1;
    for (int j = 0; j < k; j++) pi[j] = s > 0 ? (init ? fmax(init[j], 0) : 1) / s : 1.0 / k;
}

int wn_cls_prior_em_mem(const float *p, long n, int stride, int k, const double *init,
                        double tol, int max_iter, double *est) {
    double *acc = wn_xcalloc((size_t)k, sizeof(double)); /* (K) */
    start(init, k, est);
    int it = 0;
    while (it < max_iter) {
        memset(acc, 0, (size_t)k * sizeof *acc);
        long used = estep(p, n, stride, k, est, acc);
        it++;
        if (mstep(est, acc, used, k) < tol) break;
    }
    free(acc);
    return it;
}

int wn_cls_prior_em_spill(wn_cls_tally *t, int off, int k, const double *init, double tol,
                          int max_iter, double *est, int *iterations, wn_err *e) {
    const int P = t->L->n_p;
    start(init, k, est);
    *iterations = 0;
    if (!t->spill || t->spilled == 0) return WN_OK;
    if (fflush(t->spill) != 0)
        return wn_err_set(e, WN_ERUNTIME, "prior shift: cannot write the temporary file: %s",
                          strerror(errno));
    float *buf = wn_xmalloc((size_t)CHUNK_ROWS * P * sizeof(float)); /* (CHUNK_ROWS, P) */
    double *acc = wn_xcalloc((size_t)k, sizeof(double));              /* (K) */
    int rc = WN_OK;
    while (*iterations < max_iter) {
        memset(acc, 0, (size_t)k * sizeof *acc);
        rewind(t->spill);
        long used = 0, left = t->spilled;
        while (left > 0) {
            long m = left < CHUNK_ROWS ? left : CHUNK_ROWS;
            if (fread(buf, sizeof(float) * (size_t)P, (size_t)m, t->spill) != (size_t)m) {
                rc = wn_err_set(e, WN_ERUNTIME, "prior shift: cannot read the temporary file");
                goto done;
            }
            used += estep(buf + off, m, P, k, est, acc);
            left -= m;
        }
        ++*iterations;
        if (mstep(est, acc, used, k) < tol) break;
    }
done:
    fseek(t->spill, 0, SEEK_END);
    free(buf);
    free(acc);
    return rc;
}
