/* test_sampler.c - the minibatch samplers (train/train_sampler.c): class proportions of the
 * minibatches over many batches (stratified with its carry, balanced shares, the per-epoch
 * counts of under- and oversampling at a target ratio), each epoch's coverage of the photos,
 * seeding, and that a sampler started fresh at epoch E (as after --resume) gives exactly the
 * epochs of one that ran from the start. Also the photo pick of --overfit-check. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "train_internal.h"
#include "wn_test.h"

/* labels: counts[c] photos of class c, interleaved in a fixed scrambled order */
static int32_t *make_labels(int k, const int *counts, int *n_out) {
    int n = 0;
    for (int c = 0; c < k; c++) n += counts[c];
    int32_t *y = malloc(sizeof(int32_t) * n);
    int at = 0;
    for (int c = 0; c < k; c++)
        for (int i = 0; i < counts[c]; i++) y[at++] = c;
    wn_rng r;
    wn_rng_seed(&r, 99, 1);
    for (int i = n - 1; i > 0; i--) {
        int j = (int)wn_rng_below(&r, (uint32_t)(i + 1));
        int32_t t = y[i];
        y[i] = y[j];
        y[j] = t;
    }
    *n_out = n;
    return y;
}

/* order (len) uses every photo 0..n-1 exactly once */
static int is_permutation(const int *order, int len, int n) {
    if (len != n) return 0;
    char *seen = calloc(n, 1);
    int ok = 1;
    for (int i = 0; i < len && ok; i++) {
        ok = order[i] >= 0 && order[i] < n && !seen[order[i]];
        if (ok) seen[order[i]] = 1;
    }
    free(seen);
    return ok;
}

static void test_stratified(void) {
    /* the paper's 98%: 6000 ok + 122 defects, batch 128 -> 2.55 defects per batch */
    int counts[2] = {6000, 122}, n;
    int32_t *y = make_labels(2, counts, &n);
    wn_sampler s;
    wn_err e = {0};
    CHECK(wn_sampler_create(&s, WN_SAMPLER_STRATIFIED, y, n, 2, 128, 1, 7, &e) == WN_OK);
    CHECK(s.epoch_len == n);
    int *order = malloc(sizeof(int) * n), *prev = malloc(sizeof(int) * n);
    wn_rng rng;
    wn_rng_seed(&rng, 1, 1);
    for (int ep = 0; ep < 3; ep++) {
        wn_sampler_epoch(&s, ep, &rng, order);
        CHECK_MSG(is_permutation(order, s.epoch_len, n), "stratified epoch %d covers every photo once", ep);
        long cum = 0;
        int batches = (n + 127) / 128, ok_counts = 1, ok_carry = 1;
        for (int b = 0; b < batches; b++) {
            int m = n - b * 128 < 128 ? n - b * 128 : 128, d = 0;
            for (int i = 0; i < m; i++) d += y[order[b * 128 + i]] == 1;
            cum += d;
            /* full batches hold 2 or 3 defects; the cumulative count tracks the rate to 1 */
            if (m == 128 && (d < 2 || d > 3)) ok_counts = 0;
            if (fabs(cum - 122.0 * (b * 128 + m) / n) > 1.0) ok_carry = 0;
        }
        CHECK_MSG(ok_counts, "epoch %d: every full batch holds 2 or 3 of the 122 defects", ep);
        CHECK_MSG(ok_carry, "epoch %d: defects so far within 1 of the training rate", ep);
        CHECK(cum == 122);
        if (ep) CHECK(memcmp(order, prev, sizeof(int) * n) != 0); /* a new order each epoch */
        memcpy(prev, order, sizeof(int) * n);
    }
    wn_sampler_free(&s);
    free(y);

    /* a very rare class: 5 in 1005 at batch 32 (0.16 per batch) still appears at its rate */
    int c3[3] = {800, 200, 5};
    y = make_labels(3, c3, &n);
    CHECK(wn_sampler_create(&s, WN_SAMPLER_STRATIFIED, y, n, 3, 32, 1, 3, &e) == WN_OK);
    order = realloc(order, sizeof(int) * n);
    wn_sampler_epoch(&s, 0, &rng, order);
    int batches = (n + 31) / 32, with_rare = 0, max_rare = 0, gaps_ok = 1, last = -100;
    for (int b = 0; b < batches; b++) {
        int m = n - b * 32 < 32 ? n - b * 32 : 32, d = 0;
        for (int i = 0; i < m; i++) d += y[order[b * 32 + i]] == 2;
        with_rare += d > 0;
        if (d > max_rare) max_rare = d;
        if (d) {
            if (last >= 0 && b - last < 4) gaps_ok = 0; /* spread out, every ~6.3 batches */
            last = b;
        }
    }
    CHECK_MSG(with_rare == 5 && max_rare == 1 && gaps_ok,
              "rare class spread over 5 batches (got %d, max %d per batch)", with_rare, max_rare);
    wn_sampler_free(&s);
    free(y);
    free(order);
    free(prev);
}

static void test_balanced(void) {
    int counts[3] = {900, 90, 10}, n;
    int32_t *y = make_labels(3, counts, &n);
    wn_sampler s;
    wn_err e = {0};
    CHECK(wn_sampler_create(&s, WN_SAMPLER_BALANCED, y, n, 3, 30, 1, 5, &e) == WN_OK);
    CHECK(s.epoch_len == n);
    int *order = malloc(sizeof(int) * n);
    long *uses = calloc(n, sizeof(long));
    wn_rng rng;
    wn_rng_seed(&rng, 1, 1);
    long per_class[3] = {0, 0, 0};
    int ok_batches = 1;
    const int epochs = 20;
    for (int ep = 0; ep < epochs; ep++) {
        wn_sampler_epoch(&s, ep, &rng, order);
        for (int b = 0; b < n / 30; b++) {
            int d[3] = {0, 0, 0};
            for (int i = 0; i < 30; i++) d[y[order[b * 30 + i]]]++;
            if (d[0] != 10 || d[1] != 10 || d[2] != 10) ok_batches = 0;
        }
        for (int i = 0; i < n; i++) {
            per_class[y[order[i]]]++;
            uses[order[i]]++;
        }
    }
    CHECK_MSG(ok_batches, "balanced: every batch of 30 holds 10 of each of 3 classes");
    /* 1000 photos per epoch: 334 + 333 + 333 (the carry starts afresh each epoch) */
    for (int c = 0; c < 3; c++)
        CHECK_MSG(labs(per_class[c] - epochs * 1000 / 3) <= epochs, "class %d: %ld photos over %d epochs",
                  c, per_class[c], epochs);
    /* the rare photos repeat evenly (each class sequence is a chain of permutations): over 20
     * epochs class 2's 10 photos are each used 6666/10 = 666 or 667 times */
    long lo = 1L << 40, hi = 0;
    for (int i = 0; i < n; i++)
        if (y[i] == 2) lo = uses[i] < lo ? uses[i] : lo, hi = uses[i] > hi ? uses[i] : hi;
    CHECK_MSG(hi - lo <= 1, "rare photos used evenly (%ld..%ld)", lo, hi);
    /* the common class is walked through: 333 per epoch, so its first 2 epochs repeat nothing */
    wn_sampler_free(&s);
    CHECK(wn_sampler_create(&s, WN_SAMPLER_BALANCED, y, n, 3, 30, 1, 5, &e) == WN_OK);
    char *seen = calloc(n, 1);
    int repeat = 0;
    for (int ep = 0; ep < 2; ep++) {
        wn_sampler_epoch(&s, ep, &rng, order);
        for (int i = 0; i < n; i++)
            if (y[order[i]] == 0) repeat |= seen[order[i]]++;
    }
    CHECK_MSG(!repeat, "the majority class repeats no photo before all were drawn");
    free(seen);
    wn_sampler_free(&s);
    free(uses);
    free(order);
    free(y);
}

static void count_epoch(const wn_sampler *s, const int32_t *y, const int *order, long *cnt) {
    memset(cnt, 0, sizeof(long) * s->k);
    for (int i = 0; i < s->epoch_len; i++) cnt[y[order[i]]]++;
}

static void test_under_over(void) {
    int counts[3] = {1000, 200, 50}, n;
    int32_t *y = make_labels(3, counts, &n);
    wn_sampler s;
    wn_err e = {0};
    wn_rng rng;
    wn_rng_seed(&rng, 1, 1);
    long cnt[3];
    /* undersample to ratio 2: at most 100 of each; over 10 epochs all 1000 majority photos */
    CHECK(wn_sampler_create(&s, WN_SAMPLER_UNDERSAMPLE, y, n, 3, 32, 2.0, 11, &e) == WN_OK);
    CHECK(s.epoch_len == 250);
    int *order = malloc(sizeof(int) * n * 4);
    char *seen = calloc(n, 1);
    int covered = 0, dup = 0;
    for (int ep = 0; ep < 10; ep++) {
        wn_sampler_epoch(&s, ep, &rng, order);
        count_epoch(&s, y, order, cnt);
        CHECK(cnt[0] == 100 && cnt[1] == 100 && cnt[2] == 50);
        char *in_epoch = calloc(n, 1);
        for (int i = 0; i < s.epoch_len; i++) {
            dup |= in_epoch[order[i]]++;
            if (y[order[i]] == 0 && !seen[order[i]]++) covered++;
        }
        free(in_epoch);
    }
    CHECK_MSG(!dup && covered == 1000, "undersampling: no repeat within an epoch, all %d majority "
              "photos used over 10 epochs (got %d)", 1000, covered);
    wn_sampler_free(&s);
    /* undersample at ratio 3: 150 of the majority, 150 of the middle class, all 50 rare */
    CHECK(wn_sampler_create(&s, WN_SAMPLER_UNDERSAMPLE, y, n, 3, 32, 3.0, 11, &e) == WN_OK);
    wn_sampler_epoch(&s, 0, &rng, order);
    count_epoch(&s, y, order, cnt);
    CHECK(cnt[0] == 150 && cnt[1] == 150 && cnt[2] == 50);
    CHECK(cnt[0] / (double)cnt[2] <= 3.0);
    wn_sampler_free(&s);
    /* oversample to ratio 4: every class at least 250, majority untouched */
    CHECK(wn_sampler_create(&s, WN_SAMPLER_OVERSAMPLE, y, n, 3, 32, 4.0, 11, &e) == WN_OK);
    wn_sampler_epoch(&s, 0, &rng, order);
    count_epoch(&s, y, order, cnt);
    CHECK(cnt[0] == 1000 && cnt[1] == 250 && cnt[2] == 250);
    CHECK(s.epoch_len == 1500);
    wn_sampler_free(&s);
    /* oversample to ratio 1: fully balanced */
    CHECK(wn_sampler_create(&s, WN_SAMPLER_OVERSAMPLE, y, n, 3, 32, 1.0, 11, &e) == WN_OK);
    wn_sampler_epoch(&s, 0, &rng, order);
    count_epoch(&s, y, order, cnt);
    CHECK(cnt[0] == 1000 && cnt[1] == 1000 && cnt[2] == 1000);
    /* oversampled photos repeat evenly: the 50 rare photos 20 times each */
    long *uses = calloc(n, sizeof(long));
    for (int i = 0; i < s.epoch_len; i++) uses[order[i]]++;
    int even = 1;
    for (int i = 0; i < n; i++)
        if (y[i] == 2 && uses[i] != 20) even = 0;
    CHECK(even);
    free(uses);
    wn_sampler_free(&s);

    /* seeded: the same seed gives the same epoch, another seed another one */
    wn_sampler a, b;
    int *oa = malloc(sizeof(int) * n), *ob = malloc(sizeof(int) * n);
    wn_rng ra, rb;
    CHECK(wn_sampler_create(&a, WN_SAMPLER_UNDERSAMPLE, y, n, 3, 32, 2.0, 11, &e) == WN_OK);
    CHECK(wn_sampler_create(&b, WN_SAMPLER_UNDERSAMPLE, y, n, 3, 32, 2.0, 11, &e) == WN_OK);
    wn_rng_seed(&ra, 4, 1), wn_rng_seed(&rb, 4, 1);
    wn_sampler_epoch(&a, 3, &ra, oa), wn_sampler_epoch(&b, 3, &rb, ob);
    CHECK(!memcmp(oa, ob, sizeof(int) * a.epoch_len));
    wn_sampler_free(&b);
    CHECK(wn_sampler_create(&b, WN_SAMPLER_UNDERSAMPLE, y, n, 3, 32, 2.0, 12, &e) == WN_OK);
    wn_rng_seed(&ra, 4, 1), wn_rng_seed(&rb, 4, 1);
    wn_sampler_epoch(&a, 3, &ra, oa), wn_sampler_epoch(&b, 3, &rb, ob);
    CHECK(memcmp(oa, ob, sizeof(int) * a.epoch_len) != 0);
    wn_sampler_free(&a), wn_sampler_free(&b);
    free(oa), free(ob), free(order), free(seen), free(y);
}

/* Every sampler: epochs 2 and 3 of a fresh sampler (as after --resume, with the generator
 * restored) equal epochs 2 and 3 of one that ran epochs 0..3. */
static void test_resume(void) {
    int counts[3] = {300, 40, 7}, n;
    int32_t *y = make_labels(3, counts, &n);
    for (int kind = WN_SAMPLER_SHUFFLE; kind <= WN_SAMPLER_OVERSAMPLE; kind++) {
        wn_sampler a, b;
        wn_err e = {0};
        CHECK(wn_sampler_create(&a, kind, y, n, 3, 16, 2.0, 21, &e) == WN_OK);
        CHECK(wn_sampler_create(&b, kind, y, n, 3, 16, 2.0, 21, &e) == WN_OK);
        int len = a.epoch_len, same = 1;
        int *oa = malloc(sizeof(int) * len), *ob = malloc(sizeof(int) * len);
        wn_rng ra, rb;
        wn_rng_seed(&ra, 8, 1);
        for (int ep = 0; ep < 4; ep++) {
            if (ep == 2) rb = ra; /* the state file holds the generator */
            wn_sampler_epoch(&a, ep, &ra, oa);
            if (ep >= 2) {
                wn_sampler_epoch(&b, ep, &rb, ob);
                same &= !memcmp(oa, ob, sizeof(int) * len);
            }
        }
        CHECK_MSG(same && ra.state == rb.state, "sampler %s restarts at epoch 2 exactly",
                  wn_sampler_name(kind));
        free(oa), free(ob);
        wn_sampler_free(&a), wn_sampler_free(&b);
    }
    free(y);
}

static void test_errors_and_pick(void) {
    int counts[2] = {5, 3}, n;
    int32_t *y = make_labels(2, counts, &n);
    wn_sampler s;
    wn_err e = {0};
    CHECK(wn_sampler_create(&s, WN_SAMPLER_OVERSAMPLE, y, n, 2, 4, 0.5, 1, &e) == WN_EINPUT);
    CHECK(strstr(e.msg, "target_ratio") != NULL);
    y[3] = 2;
    CHECK(wn_sampler_create(&s, WN_SAMPLER_STRATIFIED, y, n, 2, 4, 1, 1, &e) == WN_EINPUT);
    CHECK(strstr(e.msg, "label 2") != NULL);
    CHECK(wn_sampler_create(&s, WN_SAMPLER_STRATIFIED, y, 0, 2, 4, 1, 1, &e) == WN_EINPUT);
    free(y);

    /* the overfit check's pick: every class present, round robin, no repeats, seeded */
    int c3[3] = {50, 4, 1};
    y = make_labels(3, c3, &n);
    int ids[10], again[10], cnt[3] = {0, 0, 0};
    wn_overfit_pick(y, n, 3, 10, 5, ids);
    wn_overfit_pick(y, n, 3, 10, 5, again);
    CHECK(!memcmp(ids, again, sizeof ids));
    for (int i = 0; i < 10; i++) cnt[y[ids[i]]]++;
    CHECK(cnt[0] == 5 && cnt[1] == 4 && cnt[2] == 1);
    char seen[64] = {0};
    int dup = 0;
    for (int i = 0; i < 10; i++) dup |= seen[ids[i]]++;
    CHECK(!dup);
    free(y);
}

int main(void) {
    test_stratified();
    test_balanced();
    test_under_over();
    test_resume();
    test_errors_and_pick();
    return wn_test_done();
}
