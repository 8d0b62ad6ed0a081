/* train_mixup.c - mixup (Zhang et al. 2018, mixup = ALPHA, --mixup): every training batch is
 * blended with a shuffled copy of itself, x_i <- lam*x_i + (1-lam)*x_perm(i), and trained on
 * lam*loss(y_i) + (1-lam)*loss(y_perm(i)), with one lam ~ Beta(ALPHA, ALPHA) per batch. The
 * draws come from a generator of their own, seeded by the run's seed, the epoch and the batch,
 * so they do not disturb the augmentation's generator and a resumed run draws the same. */
#include <math.h>
#include <string.h>

#include "wn_train.h"

/* Gamma(a, 1) by Marsaglia and Tsang (2000); a < 1 through Gamma(a + 1) * U^(1/a). */
static double gamma_draw(wn_rng *r, double a) {
    if (a < 1) {
        double u = (wn_rng_u32(r) + 0.5) / 4294967296.0;
        return gamma_draw(r, a + 1) * pow(u, 1.0 / a);
    }
    double d = a - 1.0 / 3.0, c = 1.0 / sqrt(9.0 * d);
    for (;;) {
        double z = wn_rng_normal(r), v = 1 + c * z;
        if (v <= 0) continue;
        v = v * v * v;
        double u = (wn_rng_u32(r) + 0.5) / 4294967296.0;
        if (log(u) < 0.5 * z * z + d - d * v + d * log(v)) return d * v;
    }
}

double wn_mixup_beta(wn_rng *r, double alpha) {
    double a = gamma_draw(r, alpha), b = gamma_draw(r, alpha);
    return a + b > 0 ? a / (a + b) : 0.5;
}

float wn_mixup_batch(float *x, const int32_t *y, int32_t *y2, int m, size_t sample, double alpha,
                     uint64_t seed, int epoch, int batch, float *tmp, int *perm) {
    wn_rng r;
    wn_rng_seed(&r, seed ^ 0x6d69787570ull, ((uint64_t)epoch << 32) ^ (uint64_t)batch);
    float lam = (float)wn_mixup_beta(&r, alpha);
    for (int i = 0; i < m; i++) perm[i] = i;
    for (int i = m - 1; i > 0; i--) { /* Fisher-Yates */
        int j = (int)wn_rng_below(&r, (uint32_t)(i + 1));
        int t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
    memcpy(tmp, x, (size_t)m * sample * sizeof(float));
    for (int i = 0; i < m; i++) {
        const float *a = tmp + (size_t)i * sample, *b = tmp + (size_t)perm[i] * sample;
        float *o = x + (size_t)i * sample;
        for (size_t q = 0; q < sample; q++) o[q] = lam * a[q] + (1 - lam) * b[q];
        y2[i] = y[perm[i]];
    }
    return lam;
}
