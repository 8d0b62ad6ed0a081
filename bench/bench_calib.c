/* bench_calib.c - times the pooled calibration of 10 million scores (validation, radix sort, the
 * whole trade-off curve, the certified choice and its intervals) as scikit-learn's peer does with
 * precision_recall_curve on np.random.rand(10_000_000) with 2% defects; median of 3 runs. Then
 * the stage's whole decision on the same photos as (N, 2) probabilities (wn_calib_decide:
 * threshold-moving with priors, accuracy before/after, the curve, the certified choice, the
 * recount with the shared auto-pass rule and every interval), also median of 3.
 *
 * Usage: bench_calib [N]   (default 10000000) */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "wn_calib.h"
#include "wn_calibrate.h"
#include "wn_rng.h"

static double seconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv) {
    long n = argc > 1 ? atol(argv[1]) : 10000000L;
    if (n < 1) {
        fprintf(stderr, "usage: bench_calib [N]\n");
        return 2;
    }
    float *scores = wn_xmalloc(sizeof *scores * (size_t)n); /* (N) */
    int *labels = wn_xmalloc(sizeof *labels * (size_t)n);   /* (N) */
    wn_rng r;
    wn_rng_seed(&r, 42, 1);
    for (long i = 0; i < n; i++) {
        /* a 53-bit uniform rounded to float, like np.random.rand cast to float32 */
        uint64_t hi = wn_rng_u32(&r) >> 5, lo = wn_rng_u32(&r) >> 6;
        scores[i] = (float)((double)(hi * 67108864ull + lo) * (1.0 / 9007199254740992.0));
        labels[i] = wn_rng_uniform(&r) < 0.02f;
    }
    double times[3], first = 0; /* (3) seconds of each run */
    long points = 0;
    wn_calib_pooled res;
    for (int run = 0; run < 3; run++) {
        wn_err e = {0};
        double t0 = seconds();
        int rc =
            wn_calib_pooled_run(&res, scores, labels, n, 2, 0.95, 0.95, WN_CALIB_CERTIFIED, &e);
        times[run] = seconds() - t0;
        if (run == 0) first = times[0];
        if (rc) {
            fprintf(stderr, "bench_calib: %s\n", e.msg);
            return rc;
        }
        points = res.curve.n_points;
        if (run < 2) wn_calib_pooled_free(&res);
    }
    qsort(times, 3, sizeof times[0], cmp_double);
    char summary[512];
    wn_calib_summary(summary, sizeof summary, &res);
    printf("curve: %ld points from %ld scores (%ld defects); %s\n", points, n, res.curve.n_defect,
           summary);
    printf("runs: first %.3f s; sorted %.3f %.3f %.3f s\n", first, times[0], times[1], times[2]);
    printf("weldnet calibrate %ldM scores: %.2f s\n", n / 1000000, times[1]);
    wn_calib_pooled_free(&res);

    /* the stage's decision: (N, 2) probabilities, threshold-moving by priors (0.98, 0.02) */
    wn_calib_set set = {.k = 2, .n = n, .labels = labels, .has_priors = 1};
    char *names[2] = {"ok", "defect"};
    float priors[2] = {0.98f, 0.02f};
    set.names = names;
    set.priors = priors;
    set.source = "bench";
    set.probs = wn_xmalloc(sizeof *set.probs * (size_t)n * 2); /* (N, 2) */
    for (long i = 0; i < n; i++) {
        set.probs[2 * i] = 1.0f - scores[i];
        set.probs[2 * i + 1] = scores[i];
    }
    double target[2] = {0.95, 0};
    for (int run = 0; run < 3; run++) {
        wn_calib_result dr;
        wn_err e = {0};
        double t0 = seconds();
        int rc = wn_calib_decide(&set, WN_CALMODE_POOLED, WN_CALIB_CERTIFIED, 0.95, target, 0, &dr, &e);
        times[run] = seconds() - t0;
        if (rc) {
            fprintf(stderr, "bench_calib: %s\n", e.msg);
            return rc;
        }
        wn_calib_result_free(&dr);
    }
    qsort(times, 3, sizeof times[0], cmp_double);
    printf("weldnet decision with threshold-moving, %ldM photos x 2 classes: %.2f s (median of 3)\n",
           n / 1000000, times[1]);
    free(set.probs);
    free(scores);
    free(labels);
    return 0;
}
