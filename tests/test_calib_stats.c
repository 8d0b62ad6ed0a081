/* test_calib_stats.c - the statistics behind calibration: the binomial CDF against exact sums and
 * reference values (scipy), the certified allowed misses k* for known cases, the incomplete beta
 * against closed forms, Clopper-Pearson intervals against known values, and a simulation showing
 * that the certified rule reaches the target recall with the promised confidence (and that the
 * point-estimate rule does not, so the simulation can fail), also where the rule is tight (n = 59:
 * one miss more breaks it) and with tied scores. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "wn_calib.h"
#include "wn_rng.h"
#include "wn_test.h"

static double seconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* P(X <= k) by the direct sum of C(n, i) p^i q^(n-i) in long double. */
static long double exact_cdf(long k, long n, long double p) {
    long double sum = 0, c = 1; /* c = C(n, i) */
    for (long i = 0; i <= k && i <= n; i++) {
        if (i > 0) c = c * (long double)(n - i + 1) / (long double)i;
        sum += c * powl(p, (long double)i) * powl(1 - p, (long double)(n - i));
    }
    return sum;
}

static void test_binom_cdf(void) {
    const double ps[] = {0.001, 0.01, 0.05, 0.3, 0.5, 0.77, 0.95};
    int bad = 0, checks = 0;
    for (long n = 1; n <= 60; n++)
        for (size_t ip = 0; ip < sizeof ps / sizeof ps[0]; ip++)
            for (long k = -1; k <= n + 1; k++) {
                long double want = k < 0 ? 0 : exact_cdf(k, n, ps[ip]);
                double got = wn_calib_binom_cdf(k, n, ps[ip]);
                checks++;
                if (!(fabs(got - (double)want) <= 1e-300 + 1e-11 * (double)want)) {
                    if (bad++ < 5)
                        fprintf(stderr, "BinomCDF(%ld; %ld, %g) = %.17g, exact %.17Lg\n", k, n,
                                ps[ip], got, want);
                }
            }
    CHECK_MSG(bad == 0, "%d of %d small-n CDF values differ from the exact sums", bad, checks);
    CHECK_CLOSE(wn_calib_binom_cdf(1, 100, 0.05), 0.037081209327355036, 0, 1e-12);
    CHECK_CLOSE(wn_calib_binom_cdf(2, 100, 0.05), 0.1182629811851204, 0, 1e-12);
    CHECK(wn_calib_binom_cdf(0, 59, 0.05) <= 0.05 && wn_calib_binom_cdf(0, 58, 0.05) > 0.05);
    /* n = 1e7 (scipy's values): lgamma loses ~1e-8 relative at this size */
    const long n = 10000000;
    const struct {
        long k;
        double cdf;
    } big[] = {
        {498000, 0.0018492332764086634}, {498866, 0.04998220525215988},
        {499000, 0.07346410840182287},   {500000, 0.5003762500273896},
        {500500, 0.7661739697862255},
    };
    for (size_t i = 0; i < sizeof big / sizeof big[0]; i++) {
        CHECK_CLOSE(wn_calib_binom_cdf(big[i].k, n, 0.05), big[i].cdf, 0, 1e-6);
        /* an independent route: P(X <= k) = I_{1-p}(n - k, k + 1) */
        CHECK_CLOSE(wn_calib_betai((double)(n - big[i].k), (double)big[i].k + 1.0, 0.95),
                    big[i].cdf, 0, 1e-6);
    }
    /* far tails stay finite in log space */
    CHECK_CLOSE(wn_calib_binom_logcdf(0, n, 0.05), (double)n * log(0.95), 0, 1e-9);
    CHECK(wn_calib_binom_cdf(0, n, 0.05) == 0.0 && isfinite(wn_calib_binom_logcdf(10, n, 0.05)));
    CHECK(wn_calib_binom_cdf(n - 1, n, 0.05) == 1.0);
    CHECK(wn_calib_binom_cdf(-1, n, 0.05) == 0.0 && wn_calib_binom_cdf(n, n, 0.05) == 1.0);
    CHECK(wn_calib_binom_cdf(0, 10, 0.0) == 1.0 && wn_calib_binom_cdf(9, 10, 1.0) == 0.0);
}

static void test_certified_k(void) {
    CHECK(wn_calib_certified_allowed(59, 0.95, 0.95) == 0);
    CHECK(wn_calib_certified_allowed(58, 0.95, 0.95) == -1);
    CHECK(wn_calib_certified_allowed(1, 0.95, 0.95) == -1);
    CHECK(wn_calib_certified_allowed(100, 0.95, 0.95) == 1);
    CHECK(wn_calib_certified_n_needed(0.95, 0.95) == 59);
    CHECK(wn_calib_certified_n_needed(0.99, 0.95) == 299);
    CHECK(wn_calib_certified_n_needed(0.9, 0.9) == 22);
    CHECK(wn_calib_certified_n_needed(1.0, 0.95) == -1);
    CHECK(wn_calib_certified_allowed(1000000, 1.0, 0.95) == -1);
    /* scipy: the largest k with binom.cdf(k, n, 1 - target) <= 1 - c */
    CHECK(wn_calib_certified_allowed(412, 0.95, 0.95) == 13);
    CHECK(wn_calib_certified_allowed(1000, 0.95, 0.95) == 38);
    CHECK(wn_calib_certified_allowed(5000, 0.9, 0.99) == 450);
    CHECK(wn_calib_certified_allowed(1000000, 0.99, 0.95) == 9836);
    double t0 = seconds();
    CHECK(wn_calib_certified_allowed(10000000, 0.95, 0.95) == 498866);
    double dt = seconds() - t0;
    CHECK_MSG(dt < 1.0, "k* for n = 1e7 took %.3f s", dt);
    printf("k* for n = 1e7 (target 0.95, confidence 0.95): %.1f ms\n", 1e3 * dt);

    /* the definition, k* nondecreasing in n, never above the point rule */
    int bad = 0;
    long prev = -1;
    for (long n = 1; n <= 3000; n++) {
        long k = wn_calib_certified_allowed(n, 0.95, 0.95);
        if (k >= 0) bad += !(wn_calib_binom_cdf(k, n, 0.05) <= 0.05);
        bad += !(wn_calib_binom_cdf(k + 1, n, 0.05) > 0.05);
        bad += k < prev || k > wn_calib_point_allowed(n, 0.95) || (k < 0) != (n < 59);
        prev = k;
    }
    CHECK_MSG(bad == 0, "%d violations of the k* definition for n = 1..3000", bad);

    wn_calib_budget b;
    wn_err e = {0};
    CHECK(wn_calib_budget_make(&b, 40, 0.95, 0.95, WN_CALIB_CERTIFIED, &e) == WN_OK);
    CHECK(!b.certifiable && b.allowed == -1 && b.n_needed == 59);
    CHECK(wn_calib_budget_refuse(&b, "defect photos", &e) == WN_EINPUT);
    CHECK_MSG(strcmp(e.msg, "cannot certify recall >= 95% with 95% confidence from 40 defect "
                            "photos: at least 59 are needed (the uncertified point estimate is "
                            "available)") == 0,
              "%s", e.msg);
    CHECK(wn_calib_budget_make(&b, 40, 0.95, 0.95, WN_CALIB_POINT, &e) == WN_OK);
    CHECK(b.certifiable && b.allowed == 2);
    CHECK(wn_calib_budget_make(&b, 0, 0.95, 0.95, WN_CALIB_POINT, &e) == WN_EINPUT &&
          strstr(e.msg, "no defect photos"));
    CHECK(wn_calib_budget_make(&b, 10, 0.95, 0.95, 7, &e) == WN_EINPUT && strstr(e.msg, "rule"));
}

static void test_betai(void) {
    const double xs[] = {1e-9, 0.01, 0.2, 0.5, 0.8, 0.99};
    for (size_t i = 0; i < sizeof xs / sizeof xs[0]; i++) {
        double x = xs[i];
        CHECK_CLOSE(wn_calib_betai(1, 1, x), x, 0, 1e-13);
        CHECK_CLOSE(wn_calib_betai(3.5, 1, x), pow(x, 3.5), 0, 1e-12);
        CHECK_CLOSE(wn_calib_betai(1, 7, x), -expm1(7 * log1p(-x)), 0, 1e-12);
        CHECK_CLOSE(wn_calib_betai(2.5, 40, x), 1.0 - wn_calib_betai(40, 2.5, 1.0 - x), 1e-14,
                    1e-10);
    }
    const double ys[] = {1e-12, 0.025, 0.5, 0.975, 1.0 - 1e-9};
    for (size_t i = 0; i < sizeof ys / sizeof ys[0]; i++) {
        double x = wn_calib_betai_inv(2.5, 40, ys[i]);
        CHECK_CLOSE(wn_calib_betai(2.5, 40, x), ys[i], 1e-15, 1e-9);
    }
    CHECK(wn_calib_betai(2, 3, 0) == 0 && wn_calib_betai(2, 3, 1) == 1);
    /* I_x(k+1, n-k) = P(Binomial(n, x) >= k+1) */
    CHECK_CLOSE(wn_calib_betai(3, 18, 0.1), 1.0 - wn_calib_binom_cdf(2, 20, 0.1), 0, 1e-12);
}

static void test_clopper_pearson(void) {
    const struct {
        long x, n;
        double c, lo, hi;
    } known[] = {
        {0, 10, 0.95, 0.0, 0.3084971078187608},
        {5, 10, 0.95, 0.18708602844739855, 0.8129139715526015},
        {10, 10, 0.95, 0.6915028921812392, 1.0},
        {50, 100, 0.95, 0.39832112950330106, 0.6016788704966989},
        {394, 412, 0.95, 0.9318291701504785, 0.9739045984840434},
        {3, 20, 0.9, 0.04216940788577861, 0.3436638043142818},
        {1, 1000000, 0.95, 2.53178076637942e-08, 5.571630655166939e-06},
        {999990, 1000000, 0.95, 0.9999816097211087, 0.9999952046012225},
        {190000, 199885, 0.95, 0.9495870288777498, 0.9514930065571781},
        {490000, 10000000, 0.95, 0.04886628665273826, 0.04913397454307846},
    };
    wn_err e = {0};
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) {
        wn_calib_interval ci;
        CHECK(wn_calib_clopper_pearson(known[i].x, known[i].n, known[i].c, &ci, &e) == WN_OK);
        CHECK_CLOSE(ci.lo, known[i].lo, 1e-15, 1e-7);
        CHECK_CLOSE(ci.hi, known[i].hi, 1e-15, 1e-7);
        /* the defining tails */
        double tail = 0.5 * (1.0 - known[i].c);
        long x = known[i].x, n = known[i].n;
        if (x < n) CHECK_CLOSE(wn_calib_binom_cdf(x, n, ci.hi), tail, 0, 1e-6);
        if (x > 0) CHECK_CLOSE(1.0 - wn_calib_binom_cdf(x - 1, n, ci.lo), tail, 0, 1e-6);
    }
    wn_calib_interval ci;
    CHECK(wn_calib_clopper_pearson(11, 10, 0.95, &ci, &e) == WN_EINPUT);
    CHECK(wn_calib_clopper_pearson(0, 0, 0.95, &ci, &e) == WN_EINPUT);
    CHECK(wn_calib_clopper_pearson(1, 10, 1.0, &ci, &e) == WN_EINPUT &&
          strstr(e.msg, "confidence"));
}

/* Draws calibration sets from known score distributions, chooses the threshold, and counts the
 * draws whose TRUE recall reaches the target. Defect scores: U(0,1) (true miss rate of t is t)
 * or max of two uniforms (Beta(2,1): t^2); on the 2^-24 grid of wn_rng_uniform these are exact
 * for grid thresholds. Ok scores: min of two uniforms (they sit lower). */
static double simulate(int rule, long n_def, long n_ok, double target, double conf, int beta21,
                       int draws, uint64_t seed) {
    wn_rng r;
    wn_rng_seed(&r, seed, 1);
    long n = n_def + n_ok;
    float *s = malloc(sizeof *s * (size_t)n); /* (N) */
    int *y = malloc(sizeof *y * (size_t)n);   /* (N) */
    int reached = 0;
    for (int d = 0; d < draws; d++) {
        for (long i = 0; i < n; i++) {
            float u = wn_rng_uniform(&r), v = wn_rng_uniform(&r);
            y[i] = i < n_def;
            s[i] = y[i] ? (beta21 ? fmaxf(u, v) : u) : fminf(u, v);
        }
        wn_calib_pooled res;
        wn_err e = {0};
        int rc = wn_calib_pooled_run(&res, s, y, n, 2, target, conf, rule, &e);
        CHECK_MSG(rc == WN_OK, "%s", e.msg);
        if (rc == WN_OK) {
            double t = res.point.threshold;
            double miss = isinf(t) ? 1.0 : beta21 ? t * t : t;
            reached += 1.0 - miss >= target;
        }
        wn_calib_pooled_free(&res);
    }
    free(s);
    free(y);
    return (double)reached / draws;
}

static void test_simulation(void) {
    const int draws = 2000;
    struct {
        long n_def, n_ok;
        double target, conf;
        int beta21;
    } cfg[] = {
        {100, 300, 0.95, 0.95, 0},
        {300, 700, 0.90, 0.90, 1},
    };
    for (size_t i = 0; i < sizeof cfg / sizeof cfg[0]; i++) {
        double c = cfg[i].conf, slack = 3.0 * sqrt(c * (1.0 - c) / draws);
        double cert = simulate(WN_CALIB_CERTIFIED, cfg[i].n_def, cfg[i].n_ok, cfg[i].target, c,
                               cfg[i].beta21, draws, 100 + i);
        double point = simulate(WN_CALIB_POINT, cfg[i].n_def, cfg[i].n_ok, cfg[i].target, c,
                                cfg[i].beta21, draws, 200 + i);
        printf("simulation n = %ld defects, target %.2f, confidence %.2f, %s scores, %d draws: "
               "true recall >= target in %.1f%% (certified rule), %.1f%% (point estimate); "
               "bound %.1f%%\n",
               cfg[i].n_def, cfg[i].target, c, cfg[i].beta21 ? "Beta(2,1)" : "uniform", draws,
               100 * cert, 100 * point, 100 * (c - slack));
        CHECK_MSG(cert >= c - slack,
                  "certified rule reached the target in %.3f of draws, want >= %.3f", cert,
                  c - slack);
        /* the same check fails for the point estimate: the simulation has teeth */
        CHECK_MSG(point < c - slack - 0.2, "point estimate reached the target in %.3f of draws",
                  point);
    }
}

/* The certified rule where it is tight and where scores tie. Defect scores on L levels
 * (s = floor(L u) / L: the true miss rate of a grid threshold m/L is m/L) or continuous; ok
 * scores below. extra = 0 uses k*, extra = 1 allows one miss more than k* (which must fail the
 * promise at n = 59, so the check can fail). */
static double simulate_budget(long n_def, long n_ok, double target, double conf, int levels,
                              long extra, int draws, uint64_t seed) {
    wn_rng r;
    wn_rng_seed(&r, seed, 3);
    long n = n_def + n_ok;
    float *s = malloc(sizeof *s * (size_t)n); /* (N) */
    int *y = malloc(sizeof *y * (size_t)n);   /* (N) */
    long k = wn_calib_certified_allowed(n_def, target, conf) + extra;
    int reached = 0;
    for (int d = 0; d < draws; d++) {
        for (long i = 0; i < n; i++) {
            float u = wn_rng_uniform(&r);
            y[i] = i < n_def;
            if (!y[i]) u *= wn_rng_uniform(&r);
            s[i] = levels ? floorf(u * (float)levels) / (float)levels : u;
        }
        wn_calib_curve c;
        wn_err e = {0};
        CHECK(wn_calib_curve_build(&c, s, y, n, 2, &e) == WN_OK);
        float t = c.threshold[wn_calib_curve_choose(&c, k)];
        double miss = isinf(t) ? 1.0 : levels ? round((double)t * levels) / levels : (double)t;
        reached += 1.0 - miss >= target - 1e-12;
        wn_calib_curve_free(&c);
    }
    free(s);
    free(y);
    return (double)reached / draws;
}

static void test_simulation_edges(void) {
    const int draws = 3000;
    double c = 0.95, slack = 3.0 * sqrt(c * (1.0 - c) / draws);
    /* n = 59: k* = 0, P(true recall >= 0.95) = 1 - 0.95^59 = 0.9515, just above c */
    double tight = simulate_budget(59, 200, 0.95, c, 0, 0, draws, 11);
    double loose = simulate_budget(59, 200, 0.95, c, 0, 1, draws, 12);
    /* ties: 200 defect scores on 400 levels (a quarter share a level; k* = 4 at 0.95 / 0.95) */
    double ties = simulate_budget(200, 400, 0.95, c, 400, 0, draws, 13);
    printf("simulation, %d draws: n = 59 continuous: %.1f%% with k* (exact 95.15%%), %.1f%% with "
           "k* + 1; n = 200 on 400 tied levels: %.1f%%; bound %.1f%%\n",
           draws, 100 * tight, 100 * loose, 100 * ties, 100 * (c - slack));
    CHECK_MSG(tight >= c - slack, "n = 59: %.3f", tight);
    CHECK_MSG(fabs(tight - 0.9515) < 3.0 * sqrt(0.9515 * 0.0485 / draws),
              "n = 59: %.3f, theory 0.9515", tight);
    CHECK_MSG(loose < c - slack, "one miss more than k* must break the promise: %.3f", loose);
    CHECK_MSG(ties >= c - slack, "tied scores: %.3f", ties);
}

int main(void) {
    test_binom_cdf();
    test_certified_k();
    test_betai();
    test_clopper_pearson();
    test_simulation();
    test_simulation_edges();
    return wn_test_done();
}
