/* calib_sort.c - sorting scores fast: an order-preserving float -> uint32 key and an LSD radix sort
 * (3 passes of 11 bits) on the keys alone or on 64-bit items keyed by their high 32 bits. Ten
 * million keys sort in tens of milliseconds, where qsort needs over a second. */
#include <string.h>

#include "wn_calib.h"

#define RADIX_BITS 11
#define RADIX_SIZE (1u << RADIX_BITS)
#define RADIX_MASK (RADIX_SIZE - 1u)
#define RADIX_PASSES 3

uint32_t wn_calib_float_key(float f) {
    if (f == 0.0f) f = 0.0f; /* -0.0 == +0.0: one key */
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
}

float wn_calib_key_float(uint32_t key) {
    uint32_t u = (key & 0x80000000u) ? (key & 0x7FFFFFFFu) : ~key;
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* Histograms of the three digits in one read; a pass is needed unless one bucket holds all n. */
static void histograms(const uint32_t *keys /* (N) or NULL */, const uint64_t *items /* (N) */,
                       long n, long hist[RADIX_PASSES][RADIX_SIZE] /* (3, 2048) */,
                       int need[RADIX_PASSES] /* (3) */) {
    memset(hist, 0, sizeof(long) * RADIX_PASSES * RADIX_SIZE);
    for (long i = 0; i < n; i++) {
        uint32_t k = keys ? keys[i] : (uint32_t)(items[i] >> 32);
        hist[0][k & RADIX_MASK]++;
        hist[1][(k >> RADIX_BITS) & RADIX_MASK]++;
        hist[2][k >> (2 * RADIX_BITS)]++;
    }
    for (int p = 0; p < RADIX_PASSES; p++) {
        need[p] = 1;
        long sum = 0;
        for (uint32_t b = 0; b < RADIX_SIZE; b++) {
            long c = hist[p][b];
            if (c == n) need[p] = 0;
            hist[p][b] = sum; /* exclusive prefix sum: first slot of bucket b */
            sum += c;
        }
    }
}

uint32_t *wn_calib_sort_keys(uint32_t *keys /* (N) */, uint32_t *tmp /* (N) */, long n) {
    if (n < 2) return keys;
    long hist[RADIX_PASSES][RADIX_SIZE]; /* (3, 2048) bucket offsets of each pass */
    int need[RADIX_PASSES];              /* (3) */
    histograms(keys, NULL, n, hist, need);
    uint32_t *src = keys, *dst = tmp;
    for (int p = 0; p < RADIX_PASSES; p++) {
        if (!need[p]) continue;
        long *off = hist[p];
        int shift = p * RADIX_BITS;
        for (long i = 0; i < n; i++) {
            uint32_t k = src[i];
            dst[off[(k >> shift) & RADIX_MASK]++] = k;
        }
        uint32_t *t = src;
        src = dst;
        dst = t;
    }
    return src;
}

uint64_t *wn_calib_sort_items(uint64_t *items /* (N) */, uint64_t *tmp /* (N) */, long n) {
    if (n < 2) return items;
    long hist[RADIX_PASSES][RADIX_SIZE]; /* (3, 2048) bucket offsets of each pass */
    int need[RADIX_PASSES];              /* (3) */
    histograms(NULL, items, n, hist, need);
    uint64_t *src = items, *dst = tmp;
    for (int p = 0; p < RADIX_PASSES; p++) {
        if (!need[p]) continue;
        long *off = hist[p];
        int shift = 32 + p * RADIX_BITS;
        for (long i = 0; i < n; i++) {
            uint64_t it = src[i];
            dst[off[(it >> shift) & RADIX_MASK]++] = it;
        }
        uint64_t *t = src;
        src = dst;
        dst = t;
    }
    return src;
}
