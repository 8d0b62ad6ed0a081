/* calib_binom.c - how many misses a calibration set may have: the binomial CDF in log space, the
 * point-estimate rule (floor((1 - target) n), robust to floating point) and the certified
 * order-statistic rule k* = max{k : BinomCDF(k; n, 1 - target) <= 1 - confidence}.
 *
 * Why the certified rule holds: with continuous defect scores, the chosen threshold never exceeds
 * the (k*+1)-th smallest defect score, whose true miss probability is the (k*+1)-th order
 * statistic U of n uniforms, and P(U > alpha) = P(Binomial(n, alpha) <= k*) <= 1 - confidence. */
#include <float.h>
#include <math.h>

#include "wn_calib.h"

int wn_calib_check_target(double target, wn_err *e) {
    if (!(target > 0.0 && target <= 1.0))
        return wn_err_set(e, WN_EINPUT, "target recall %g is outside (0, 1]", target);
    return WN_OK;
}

int wn_calib_check_confidence(double confidence, wn_err *e) {
    if (!(confidence > 0.0 && confidence < 1.0))
        return wn_err_set(e, WN_EINPUT, "confidence %g is outside (0, 1)", confidence);
    return WN_OK;
}

double wn_calib_binom_logpmf(long k, long n, double p) {
    if (k < 0 || k > n) return -INFINITY;
    if (p <= 0.0) return k == 0 ? 0.0 : -INFINITY;
    if (p >= 1.0) return k == n ? 0.0 : -INFINITY;
    double dn = (double)n, dk = (double)k;
    return lgamma(dn + 1.0) - lgamma(dk + 1.0) - lgamma(dn - dk + 1.0) + dk * log(p) +
           (dn - dk) * log1p(-p);
}

/* log of sum_{j >= 0} prod_{i < j} ratio_i, walking from k towards 0 (down) or n (up); the ratios
 * are below 1 on that side of the mean, so the terms fall and the walk stops once they no longer
 * change the sum. */
static double log_tail_factor(long k, long n, double p, int down) {
    double q = 1.0 - p, sum = 1.0, term = 1.0;
    if (down) {
        for (long i = k; i > 0; i--) {
            term *= ((double)i * q) / ((double)(n - i + 1) * p); /* pmf(i-1) / pmf(i) */
            sum += term;
            if (term < sum * 1e-17) break;
        }
    } else {
        for (long i = k; i < n; i++) {
            term *= ((double)(n - i) * p) / ((double)(i + 1) * q); /* pmf(i+1) / pmf(i) */
            sum += term;
            if (term < sum * 1e-17) break;
        }
    }
    return log(sum);
}

double wn_calib_binom_logcdf(long k, long n, double p) {
    if (k < 0) return -INFINITY;
    if (k >= n) return 0.0;
    if (p <= 0.0) return 0.0;
    if (p >= 1.0) return -INFINITY;
    if ((double)k <= (double)n * p) /* lower tail summed directly, in log space */
        return wn_calib_binom_logpmf(k, n, p) + log_tail_factor(k, n, p, 1);
    double upper = exp(wn_calib_binom_logpmf(k + 1, n, p) + log_tail_factor(k + 1, n, p, 0));
    return log1p(-fmin(upper, 1.0));
}

double wn_calib_binom_cdf(long k, long n, double p) { return exp(wn_calib_binom_logcdf(k, n, p)); }

long wn_calib_point_allowed(long n, double target) {
    if (n <= 0) return 0;
    /* need = ceil(target * n), but a product within rounding error of an integer is that integer
     * (0.95 * 20 = 19 and 0.9 * 10 = 9 must not become 19.000000000000004 -> 20) */
    double x = target * (double)n, r = nearbyint(x);
    long need = fabs(x - r) <= 8.0 * DBL_EPSILON * fmax(x, 1.0) ? (long)r : (long)ceil(x);
    if (need > n) need = n;
    if (need < 0) need = 0;
    return n - need;
}

static int certified_ok(long k, long n, double alpha, double confidence) {
    return wn_calib_binom_cdf(k, n, alpha) <= 1.0 - confidence;
}

long wn_calib_certified_allowed(long n, double target, double confidence) {
    if (n <= 0) return -1;
    double alpha = 1.0 - target;
    if (!certified_ok(0, n, alpha, confidence)) return -1;
    long lo = 0, hi = n; /* CDF(lo) <= 1 - c < CDF(hi) = 1 */
    while (hi - lo > 1) {
        long mid = lo + (hi - lo) / 2;
        if (certified_ok(mid, n, alpha, confidence))
            lo = mid;
        else
            hi = mid;
    }
    return lo;
}

long wn_calib_certified_n_needed(double target, double confidence) {
    double alpha = 1.0 - target;
    if (!(alpha > 0.0)) return -1;
    /* target^n <= 1 - c  <=>  n >= log(1 - c) / log(target); then settle it on the CDF itself */
    double guess = ceil(log1p(-confidence) / log1p(-alpha));
    if (!(guess < 1e15)) return -1;
    long n = guess < 1.0 ? 1 : (long)guess;
    while (!certified_ok(0, n, alpha, confidence)) n++;
    while (n > 1 && certified_ok(0, n - 1, alpha, confidence)) n--;
    return n;
}

int wn_calib_budget_make(wn_calib_budget *b, long n, double target, double confidence, int rule,
                         wn_err *e) {
    *b = (wn_calib_budget){.rule = rule,
                           .target = target,
                           .confidence = confidence,
                           .n = n,
                           .certifiable = 0,
                           .allowed = -1,
                           .n_needed = -1};
    int rc = wn_calib_check_target(target, e);
    if (rc) return rc;
    if ((rc = wn_calib_check_confidence(confidence, e))) return rc;
    if (rule != WN_CALIB_POINT && rule != WN_CALIB_CERTIFIED)
        return wn_err_set(e, WN_EINPUT, "unknown calibration rule %d", rule);
    if (n < 1) return wn_err_set(e, WN_EINPUT, "the calibration set has no defect photos");
    if (rule == WN_CALIB_POINT) {
        b->allowed = wn_calib_point_allowed(n, target);
        b->n_needed = 0;
    } else {
        b->allowed = wn_calib_certified_allowed(n, target, confidence);
        b->n_needed = wn_calib_certified_n_needed(target, confidence);
    }
    b->certifiable = b->allowed >= 0;
    return WN_OK;
}

int wn_calib_budget_refuse(const wn_calib_budget *b, const char *what, wn_err *e) {
    if (b->n_needed < 0)
        return wn_err_set(e, WN_EINPUT,
                          "cannot certify recall >= %g%% with %g%% confidence: no number of %s "
                          "can (the uncertified point estimate is available)",
                          100.0 * b->target, 100.0 * b->confidence, what);
    return wn_err_set(e, WN_EINPUT,
                      "cannot certify recall >= %g%% with %g%% confidence from %ld %s: at least "
                      "%ld are needed (the uncertified point estimate is available)",
                      100.0 * b->target, 100.0 * b->confidence, b->n, what, b->n_needed);
}
