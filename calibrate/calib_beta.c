/* calib_beta.c - the regularized incomplete beta function I_x(a, b) by Lentz's continued fraction
 * (the betacf / betai scheme of Numerical Recipes, written for double precision and large a, b),
 * its inverse by bisection, and the exact Clopper-Pearson interval built on it. */
#include <float.h>
#include <math.h>

#include "wn_calib.h"

#define BETA_TINY 1e-300

/* Continued fraction for I_x(a, b) * B(a, b) * a / (x^a (1-x)^b); converges fast for
 * x < (a + 1) / (a + b + 2), in O(sqrt(max(a, b))) iterations at worst. */
static double betacf(double a, double b, double x) {
    double qab = a + b, qap = a + 1.0, qam = a - 1.0;
    double c = 1.0, d = 1.0 - qab * x / qap;
    if (fabs(d) < BETA_TINY) d = BETA_TINY;
    d = 1.0 / d;
    double h = d;
    long maxit = 1000 + (long)(100.0 * sqrt(fmax(a, b)));
    for (long m = 1; m <= maxit; m++) {
        double dm = (double)m, m2 = 2.0 * dm;
        double aa = dm * (b - dm) * x / ((qam + m2) * (a + m2));
        d = 1.0 + aa * d;
        if (fabs(d) < BETA_TINY) d = BETA_TINY;
        c = 1.0 + aa / c;
        if (fabs(c) < BETA_TINY) c = BETA_TINY;
        d = 1.0 / d;
        h *= d * c;
        aa = -(a + dm) * (qab + dm) * x / ((a + m2) * (qap + m2));
        d = 1.0 + aa * d;
        if (fabs(d) < BETA_TINY) d = BETA_TINY;
        c = 1.0 + aa / c;
        if (fabs(c) < BETA_TINY) c = BETA_TINY;
        d = 1.0 / d;
        double del = d * c;
        h *= del;
        if (fabs(del - 1.0) < 1e-16) break;
    }
    return h;
}

double wn_calib_betai(double a, double b, double x) {
    if (!(x > 0.0)) return 0.0;
    if (!(x < 1.0)) return 1.0;
    double lbt = lgamma(a + b) - lgamma(a) - lgamma(b) + a * log(x) + b * log1p(-x);
    if (x < (a + 1.0) / (a + b + 2.0)) return exp(lbt) * betacf(a, b, x) / a;
    return 1.0 - exp(lbt) * betacf(b, a, 1.0 - x) / b;
}

double wn_calib_betai_inv(double a, double b, double y) {
    if (!(y > 0.0)) return 0.0;
    if (!(y < 1.0)) return 1.0;
    double lo = 0.0, hi = 1.0; /* I_lo < y <= I_hi; I_x(a, b) increases with x */
    for (int it = 0; it < 400; it++) {
        double mid = 0.5 * (lo + hi);
        if (mid <= lo || mid >= hi) break;
        if (wn_calib_betai(a, b, mid) < y)
            lo = mid;
        else
            hi = mid;
        if (hi - lo <= 2.0 * DBL_EPSILON * hi) break;
    }
    return 0.5 * (lo + hi);
}

int wn_calib_clopper_pearson(long x, long n, double confidence, wn_calib_interval *ci, wn_err *e) {
    ci->lo = 0.0;
    ci->hi = 1.0;
    int rc = wn_calib_check_confidence(confidence, e);
    if (rc) return rc;
    if (n < 1 || x < 0 || x > n)
        return wn_err_set(e, WN_EINPUT, "Clopper-Pearson interval of %ld out of %ld is undefined",
                          x, n);
    double tail = 0.5 * (1.0 - confidence), dx = (double)x, dn = (double)n;
    if (x > 0) ci->lo = wn_calib_betai_inv(dx, dn - dx + 1.0, tail);
    if (x < n) ci->hi = wn_calib_betai_inv(dx + 1.0, dn - dx, 1.0 - tail);
    return WN_OK;
}
