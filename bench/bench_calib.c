/* bench_calib.c - times the pooled calibration of 10 million scores (validation, radix sort, the
 * whole trade-off curve, the certified choice and its intervals) as scikit-learn's peer does with
 * precision_recall_curve on np.random.rand(10_000_000) with 2% defects; median of 3 runs.
 *
 * Usage: bench_calib [N]   (default 10000000) */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "wn_calib.h"
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
    free(scores);
    free(labels);
    return 0;
}
