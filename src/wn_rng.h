/* wn_rng.h - seeded, reproducible random numbers (PCG32), one generator per owner, no globals.
 * wn_hash_uniform gives a counter-based uniform number so that a GPU kernel can reproduce the
 * CPU's dropout masks exactly from (seed, index). */
#ifndef WN_RNG_H
#define WN_RNG_H

#include <stdint.h>

typedef struct wn_rng {
    uint64_t state, inc;
} wn_rng;

void wn_rng_seed(wn_rng *r, uint64_t seed, uint64_t stream);
uint32_t wn_rng_u32(wn_rng *r);
/* Uniform in [0, 1). */
float wn_rng_uniform(wn_rng *r);
/* Uniform integer in [0, n), unbiased; n > 0. */
uint32_t wn_rng_below(wn_rng *r, uint32_t n);
/* Standard normal (Box-Muller). */
float wn_rng_normal(wn_rng *r);
/* Fisher-Yates shuffle of an int array. */
void wn_rng_shuffle(wn_rng *r, int *a, int n);

/* Compiled by nvcc (gpu/), the hash below is also a device function, so the GPU draws exactly
 * the CPU's dropout masks from one definition. */
#ifdef __CUDACC__
#define WN_HOST_DEVICE __host__ __device__
#else
#define WN_HOST_DEVICE
#endif

/* Stateless uniform in [0,1) from (seed, index): splitmix64 finaliser of seed ^ index. */
static inline WN_HOST_DEVICE float wn_hash_uniform(uint64_t seed, uint64_t index) {
    uint64_t z = seed + 0x9E3779B97F4A7C15ull * (index + 1);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    return (float)(z >> 40) * (1.0f / 16777216.0f);
}

#endif
