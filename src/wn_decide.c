/* wn_decide.c - threshold-moving (divide the softmax outputs by the training class priors and
 * renormalise each row), the pooled defect score, and the one auto-pass rule that calibration
 * and deployment share (wn_decide.h). */
#include <math.h>

#include "wn_decide.h"

int wn_calib_divide_priors(const float *probs /* (N, K) */, float *out /* (N, K) */, long n, int k,
                           const float *priors /* (K) */, wn_err *e) {
    if (k < 1) return wn_err_set(e, WN_EINPUT, "%d classes: nothing to divide", k);
    double psum = 0.0;
    for (int j = 0; j < k; j++) {
        if (!isfinite(priors[j]) || priors[j] < 0.0f)
            return wn_err_set(e, WN_EINPUT,
                              "prior of class %d is %g: priors must be finite and >= 0", j,
                              (double)priors[j]);
        psum += priors[j];
    }
    if (!(psum > 0.0)) return wn_err_set(e, WN_EINPUT, "every class prior is zero");
    for (long i = 0; i < n; i++) {
        const float *row = probs + (size_t)i * (size_t)k;
        float *dst = out + (size_t)i * (size_t)k;
        double sum = 0.0;
        for (int j = 0; j < k; j++) {
            double prior = fmax((double)priors[j], WN_CALIB_PRIOR_FLOOR);
            sum += (double)row[j] / prior;
        }
        if (!(sum > 0.0) || !isfinite(sum))
            return wn_err_set(e, WN_EINPUT,
                              "probabilities of photo %ld divided by the priors sum to %g: cannot "
                              "renormalise",
                              i, sum);
        double inv = 1.0 / sum;
        for (int j = 0; j < k; j++) {
            double prior = fmax((double)priors[j], WN_CALIB_PRIOR_FLOOR);
            dst[j] = (float)((double)row[j] / prior * inv); /* row may alias dst: read first */
        }
    }
    return WN_OK;
}

float wn_calib_pooled_score(const float *row /* (K) */, int k) {
    double s = 0.0;
    for (int j = 1; j < k; j++) s += row[j];
    return (float)s;
}

void wn_calib_pooled_scores(const float *probs /* (N, K) */, long n, int k,
                            float *scores /* (N) */) {
    for (long i = 0; i < n; i++)
        scores[i] = wn_calib_pooled_score(probs + (size_t)i * (size_t)k, k);
}

int wn_calib_autopass(const float *row /* (K) */, int k, const float *t /* (K) */) {
    if (t[0] < INFINITY && !(wn_calib_pooled_score(row, k) < t[0])) return 0;
    for (int j = 1; j < k; j++)
        if (!(row[j] < t[j])) return 0;
    return 1;
}
