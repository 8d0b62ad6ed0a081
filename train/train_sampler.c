/* train_sampler.c - the minibatch samplers (shuffle, stratified, balanced, undersample,
 * oversample; see wn_train.h). Each class's photos come from an endless sequence of seeded
 * permutations of that class (permutation r of class c is seeded by (seed, c, r)), and every
 * epoch draws a fixed number of photos from each class, so where a class's sequence stands at
 * the start of an epoch follows from the epoch number: nothing but the epoch and the run's
 * generator needs saving for --resume. */
#include <assert.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "wn_train.h"

const char *wn_sampler_name(int kind) {
    static const char *names[] = {"shuffle", "stratified", "balanced", "undersample", "oversample"};
    return kind >= 0 && kind <= WN_SAMPLER_OVERSAMPLE ? names[kind] : "?";
}

/* splitmix64 of (c, round): the stream of class c's permutation number round */
static uint64_t perm_stream(int c, int64_t round) {
    uint64_t z = ((uint64_t)(uint32_t)c << 40) ^ (uint64_t)round;
    z += 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Photo at position pos of class c's endless sequence. */
static int seq_at(wn_sampler *s, int c, int64_t pos) {
    int64_t n = s->count[c], round = pos / n;
    if (s->perm_round[c] != round) {
        memcpy(s->perm[c], s->ids[c], (size_t)n * sizeof(int));
        wn_rng r;
        wn_rng_seed(&r, s->seed, perm_stream(c, round));
        wn_rng_shuffle(&r, s->perm[c], (int)n);
        s->perm_round[c] = round;
    }
    return s->perm[c][pos % n];
}

/* The class of every slot of an epoch for the per-batch samplers: each slot of a minibatch goes
 * to the class furthest behind its share of the photos drawn so far (ties: lower index), and,
 * when limited, only to a class with photos left this epoch. pattern (epoch_len). */
static void batch_pattern(const wn_sampler *s, int limited, int *pattern) {
    long *used = wn_xcalloc((size_t)s->k, sizeof(long)); // (K)
    for (int start = 0; start < s->epoch_len; start += s->batch) {
        int m = s->epoch_len - start < s->batch ? s->epoch_len - start : s->batch;
        double t = (double)start + m;
        for (int slot = 0; slot < m; slot++) {
            int best = -1;
            double bd = -INFINITY;
            for (int c = 0; c < s->k; c++) {
                if (s->share[c] <= 0 || (limited && used[c] >= s->count[c])) continue;
                double d = s->share[c] * t - (double)used[c];
                if (d > bd) bd = d, best = c;
            }
            assert(best >= 0); /* the slots of an epoch never outnumber its photos */
            pattern[start + slot] = best;
            used[best]++;
        }
    }
    free(used);
}

int wn_sampler_create(wn_sampler *s, int kind, const int32_t *labels, int n, int k, int batch,
                      double target_ratio, uint64_t seed, wn_err *e) {
    memset(s, 0, sizeof *s);
    if (n <= 0 || k <= 0 || batch <= 0)
        return wn_err_set(e, WN_EINPUT, "sampler: no photos to sample from");
    if (target_ratio < 1 || !isfinite(target_ratio))
        return wn_err_set(e, WN_EINPUT, "sampler: target_ratio %g must be 1 or more", target_ratio);
    s->kind = kind;
    s->n = n;
    s->k = k;
    s->batch = batch;
    s->seed = seed;
    s->count = wn_xcalloc((size_t)k, sizeof(int));
    s->ids = wn_xcalloc((size_t)k, sizeof(int *));
    s->perm = wn_xcalloc((size_t)k, sizeof(int *));
    s->perm_round = wn_xcalloc((size_t)k, sizeof(int64_t));
    s->per_epoch = wn_xcalloc((size_t)k, sizeof(long));
    s->share = wn_xcalloc((size_t)k, sizeof(double));
    for (int i = 0; i < n; i++) {
        if (labels[i] < 0 || labels[i] >= k) {
            wn_sampler_free(s);
            return wn_err_set(e, WN_EINPUT, "sampler: photo %d has label %d outside 0..%d", i,
                              labels[i], k - 1);
        }
        s->count[labels[i]]++;
    }
    int present = 0, cmin = INT_MAX, cmax = 0;
    for (int c = 0; c < k; c++) {
        s->ids[c] = wn_xmalloc((size_t)(s->count[c] ? s->count[c] : 1) * sizeof(int)); // (n_c)
        s->perm[c] = wn_xmalloc((size_t)(s->count[c] ? s->count[c] : 1) * sizeof(int)); // (n_c)
        s->perm_round[c] = -1;
        if (!s->count[c]) continue;
        present++;
        if (s->count[c] < cmin) cmin = s->count[c];
        if (s->count[c] > cmax) cmax = s->count[c];
    }
    int *fill = wn_xcalloc((size_t)k, sizeof(int));
    for (int i = 0; i < n; i++) s->ids[labels[i]][fill[labels[i]]++] = i;
    free(fill);

    double len = 0;
    for (int c = 0; c < k; c++) {
        long nc = s->count[c], m = nc;
        if (!nc) continue;
        if (kind == WN_SAMPLER_UNDERSAMPLE) {
            double cap = ceil(target_ratio * cmin);
            if (cap < (double)nc) m = (long)cap;
        } else if (kind == WN_SAMPLER_OVERSAMPLE) {
            double floor_n = ceil((double)cmax / target_ratio);
            if (floor_n > (double)nc) m = (long)floor_n;
        }
        s->per_epoch[c] = m;
        s->share[c] = kind == WN_SAMPLER_BALANCED ? 1.0 / present : (double)nc / n;
        len += (double)m;
    }
    if (len > INT_MAX / 2) {
        wn_sampler_free(s);
        return wn_err_set(e, WN_EINPUT, "sampler %s: %.0f photos per epoch is too many (raise "
                          "target_ratio)", wn_sampler_name(kind), len);
    }
    s->epoch_len = (int)len;
    if (kind == WN_SAMPLER_BALANCED) {
        /* as many photos per epoch as the set has; count what each class gets */
        s->epoch_len = n;
        int *pattern = wn_xmalloc((size_t)n * sizeof(int));
        batch_pattern(s, 0, pattern);
        memset(s->per_epoch, 0, (size_t)k * sizeof(long));
        for (int i = 0; i < n; i++) s->per_epoch[pattern[i]]++;
        free(pattern);
    }
    return WN_OK;
}

void wn_sampler_epoch(wn_sampler *s, int epoch, wn_rng *rng, int *order) {
    int k = s->k, len = s->epoch_len;
    if (s->kind == WN_SAMPLER_SHUFFLE) {
        for (int i = 0; i < len; i++) order[i] = i;
        wn_rng_shuffle(rng, order, len);
        return;
    }
    long *used = wn_xcalloc((size_t)k, sizeof(long)); // (K) drawn this epoch
    if (s->kind == WN_SAMPLER_STRATIFIED || s->kind == WN_SAMPLER_BALANCED) {
        int *pattern = wn_xmalloc((size_t)len * sizeof(int)); // (epoch_len) class of each slot
        batch_pattern(s, s->kind == WN_SAMPLER_STRATIFIED, pattern);
        for (int i = 0; i < len; i++) {
            int c = pattern[i];
            order[i] = seq_at(s, c, (int64_t)epoch * s->per_epoch[c] + used[c]++);
        }
        free(pattern);
    } else {
        int at = 0;
        for (int c = 0; c < k; c++)
            for (long j = 0; j < s->per_epoch[c]; j++)
                order[at++] = seq_at(s, c, (int64_t)epoch * s->per_epoch[c] + j);
        wn_rng_shuffle(rng, order, len);
    }
    free(used);
}

void wn_sampler_free(wn_sampler *s) {
    if (s->ids)
        for (int c = 0; c < s->k; c++) free(s->ids[c]);
    if (s->perm)
        for (int c = 0; c < s->k; c++) free(s->perm[c]);
    free(s->ids);
    free(s->perm);
    free(s->count);
    free(s->perm_round);
    free(s->per_epoch);
    free(s->share);
    memset(s, 0, sizeof *s);
}
