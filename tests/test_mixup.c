/* test_mixup.c - the mixup draws and blending of train/train_mixup.c: Beta(alpha, alpha) draws
 * lie in [0, 1] with the distribution's mean 1/2 and variance 1/(4(2 alpha + 1)) (20,000 draws
 * for alpha 0.2, 1 and 4, within 4 standard errors); a mixed batch is, photo by photo, exactly
 * lam * x_i + (1 - lam) * x_j for one partner j per photo, the partners form a permutation and
 * y2 holds their labels; the same (seed, epoch, batch) mixes alike, another batch index does
 * not; a batch of one photo mixes with itself. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "wn_test.h"
#include "wn_train.h"

enum { M = 9, S = 5 };

static void beta_moments(double alpha) {
    wn_rng r;
    wn_rng_seed(&r, 3, 7);
    const int n = 20000;
    double sum = 0, sum2 = 0;
    int inside = 1;
    for (int i = 0; i < n; i++) {
        double v = wn_mixup_beta(&r, alpha);
        inside &= v >= 0 && v <= 1;
        sum += v;
        sum2 += v * v;
    }
    double mean = sum / n, var = sum2 / n - mean * mean, want = 1 / (4 * (2 * alpha + 1));
    CHECK_MSG(inside, "Beta(%g): a draw outside [0, 1]", alpha);
    CHECK_MSG(fabs(mean - 0.5) < 4 * sqrt(want / n), "Beta(%g): mean %.4f", alpha, mean);
    /* 4 standard errors of a sample variance (normal approximation), plus 2e-3 slack */
    CHECK_MSG(fabs(var - want) < 4 * sqrt(2.0 / n) * want + 2e-3, "Beta(%g): variance %.4f, want %.4f", alpha, var,
              want);
}

static void make(float *x, int32_t *y) {
    for (int i = 0; i < M; i++) {
        y[i] = i % 3;
        for (int q = 0; q < S; q++) x[i * S + q] = (float)(i * 10 + q) * 0.37f - 4.0f;
    }
}

int main(void) {
    beta_moments(0.2);
    beta_moments(1.0);
    beta_moments(4.0);

    float x0[M * S], x[M * S], xb[M * S], tmp[M * S];
    int32_t y[M], y2[M], y2b[M];
    int perm[M];
    make(x0, y);
    memcpy(x, x0, sizeof x);
    float lam = wn_mixup_batch(x, y, y2, M, S, 0.4, 11, 2, 5, tmp, perm);
    CHECK(lam >= 0 && lam <= 1);
    int used[M] = {0}, bad = 0;
    for (int i = 0; i < M; i++) {
        int partner = -1;
        for (int j = 0; j < M && partner < 0; j++) {
            int same = 1;
            for (int q = 0; q < S; q++) same &= x[i * S + q] == lam * x0[i * S + q] + (1 - lam) * x0[j * S + q];
            if (same && !used[j]) partner = j;
        }
        if (partner < 0) {
            bad++;
            continue;
        }
        used[partner] = 1;
        CHECK(y2[i] == y[partner]);
    }
    CHECK_MSG(bad == 0, "%d photos are not a blend of themselves and one partner", bad);
    /* the same draw again; another batch differs */
    memcpy(xb, x0, sizeof xb);
    float lam_b = wn_mixup_batch(xb, y, y2b, M, S, 0.4, 11, 2, 5, tmp, perm);
    CHECK(lam_b == lam && memcmp(xb, x, sizeof x) == 0 && memcmp(y2b, y2, sizeof y2) == 0);
    memcpy(xb, x0, sizeof xb);
    float lam_c = wn_mixup_batch(xb, y, y2b, M, S, 0.4, 11, 2, 6, tmp, perm);
    CHECK(lam_c != lam || memcmp(xb, x, sizeof x) != 0);
    /* one photo: its own partner, unchanged but for rounding */
    float one[S], t1[S];
    int32_t y1 = 2, y21 = -1;
    memcpy(one, x0, sizeof one);
    wn_mixup_batch(one, &y1, &y21, 1, S, 0.4, 1, 0, 0, t1, perm);
    CHECK(y21 == 2);
    for (int q = 0; q < S; q++) CHECK_CLOSE(one[q], x0[q], 1e-6, 1e-6);
    return wn_test_done();
}
