/* wn_decide.h - the decision rule that calibration and deployment share: threshold-moving
 * (divide the softmax outputs by the training class priors and renormalise), the pooled defect
 * score, and the auto-pass test under a threshold vector.
 *
 * Class 0 is the ok class, classes 1..K-1 are defect classes. A threshold vector t (K): t[0] is
 * a threshold on the pooled score (sum of the defect probabilities = 1 - P(ok)) and t[j], j >= 1,
 * a threshold on P(class j). A photo is AUTO-PASSED when pooled < t[0] AND P_j < t[j] for every
 * defect class j (strict: s < t); +inf disables a threshold. Otherwise it goes to REVIEW. */
#ifndef WN_DECIDE_H
#define WN_DECIDE_H

#include "wn_err.h"

/* Priors below this are treated as this value: a class the training set never showed would
 * otherwise divide by zero. */
#define WN_CALIB_PRIOR_FLOOR 1e-6

/* out[i][j] = (probs[i][j] / prior[j]) / sum_l (probs[i][l] / prior[l]), in double per row.
 * out may equal probs (in place). Priors must be finite and >= 0 with a positive sum (they need
 * not sum to 1; only their ratios matter); zero priors are raised to WN_CALIB_PRIOR_FLOOR.
 * WN_EINPUT names a bad prior, or a row whose divided probabilities are all zero or not finite. */
int wn_calib_divide_priors(const float *probs /* (N, K) */, float *out /* (N, K) */, long n, int k,
                           const float *priors /* (K) */, wn_err *e);
/* The pooled defect score of one photo: sum of the defect probabilities row[1..K-1], summed in
 * double (equal to 1 - P(ok) for a normalised row, without the cancellation near P(ok) = 1).
 * Calibration and deployment must both use this function. */
float wn_calib_pooled_score(const float *row /* (K) */, int k);
/* scores[i] = wn_calib_pooled_score(probs + i*K). */
void wn_calib_pooled_scores(const float *probs /* (N, K) */, long n, int k,
                            float *scores /* (N) */);
/* 1 when the photo is auto-passed under thresholds t (K): pooled < t[0] and row[j] < t[j] for
 * j = 1..K-1 (see the top of this file); 0 when it goes to review. */
int wn_calib_autopass(const float *row /* (K) */, int k, const float *t /* (K) */);

#endif
