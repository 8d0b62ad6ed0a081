/* wn_rng.c - PCG32 (O'Neill 2014, XSH-RR variant) and helpers on top of it. */
#include "wn_rng.h"

#include <math.h>

void wn_rng_seed(wn_rng *r, uint64_t seed, uint64_t stream) {
    r->state = 0;
    r->inc = (stream << 1u) | 1u;
    wn_rng_u32(r);
    r->state += seed;
    wn_rng_u32(r);
}

uint32_t wn_rng_u32(wn_rng *r) {
    uint64_t old = r->state;
    r->state = old * 6364136223846793005ull + r->inc;
    uint32_t xorshifted = (uint32_t)(((old >> 18u) ^ old) >> 27u);
    uint32_t rot = (uint32_t)(old >> 59u);
    return (xorshifted >> rot) | (xorshifted << ((-rot) & 31));
}

float wn_rng_uniform(wn_rng *r) { return (float)(wn_rng_u32(r) >> 8) * (1.0f / 16777216.0f); }

uint32_t wn_rng_below(wn_rng *r, uint32_t n) {
    uint32_t threshold = (uint32_t)(-n) % n;
    for (;;) {
        uint32_t x = wn_rng_u32(r);
        if (x >= threshold) return x % n;
    }
}

float wn_rng_normal(wn_rng *r) {
    float u1 = wn_rng_uniform(r), u2 = wn_rng_uniform(r);
    if (u1 < 1e-12f) u1 = 1e-12f;
    return sqrtf(-2.0f * logf(u1)) * cosf(6.2831853071795864f * u2);
}

void wn_rng_shuffle(wn_rng *r, int *a, int n) {
    for (int i = n - 1; i > 0; i--) {
        int j = (int)wn_rng_below(r, (uint32_t)(i + 1));
        int t = a[i];
        a[i] = a[j];
        a[j] = t;
    }
}
