/* calib_input.c - refusing bad calibration input with a message that names the photo: NaN or
 * infinite scores, labels out of range, probability rows that are not distributions. */
#include <math.h>

#include "wn_calib.h"

int wn_calib_check_scores(const float *scores /* (N) */, long n, wn_err *e) {
    for (long i = 0; i < n; i++) {
        float s = scores[i];
        if (isnan(s)) return wn_err_set(e, WN_EINPUT, "score of photo %ld is NaN", i);
        if (isinf(s)) return wn_err_set(e, WN_EINPUT, "score of photo %ld is infinite", i);
    }
    return WN_OK;
}

int wn_calib_check_labels(const int *labels /* (N) */, long n, int n_classes, wn_err *e) {
    if (n_classes < 2)
        return wn_err_set(e, WN_EINPUT,
                          "%d classes: calibration needs the ok class and at least "
                          "one defect class",
                          n_classes);
    for (long i = 0; i < n; i++)
        if (labels[i] < 0 || labels[i] >= n_classes)
            return wn_err_set(e, WN_EINPUT, "label of photo %ld is %d: labels must be 0 (ok) to %d",
                              i, labels[i], n_classes - 1);
    return WN_OK;
}

int wn_calib_check_probs(const float *probs /* (N, K) */, long n, int k, double tol, wn_err *e) {
    if (k < 2)
        return wn_err_set(e, WN_EINPUT,
                          "%d classes: calibration needs the ok class and at least "
                          "one defect class",
                          k);
    for (long i = 0; i < n; i++) {
        const float *row = probs + (size_t)i * (size_t)k;
        double sum = 0.0;
        for (int j = 0; j < k; j++) {
            float p = row[j];
            if (isnan(p))
                return wn_err_set(e, WN_EINPUT, "probability of class %d for photo %ld is NaN", j,
                                  i);
            if (!(p >= 0.0f && p <= 1.0f))
                return wn_err_set(e, WN_EINPUT,
                                  "probability of class %d for photo %ld is %g, outside [0, 1]", j,
                                  i, (double)p);
            sum += p;
        }
        if (!(fabs(sum - 1.0) <= tol))
            return wn_err_set(e, WN_EINPUT,
                              "probabilities of photo %ld sum to %.6g, not 1 (tolerance %g)", i,
                              sum, tol);
    }
    return WN_OK;
}
