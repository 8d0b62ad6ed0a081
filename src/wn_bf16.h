/* wn_bf16.h - bfloat16 (the upper 16 bits of an IEEE float: 8 exponent bits, 7 stored mantissa
 * bits) conversions, one definition for the host and, compiled by nvcc (gpu/gpu_bf16.cu), the
 * device: float to bf16 rounds to nearest, ties to even (as __float2bfloat16_rn), overflow goes
 * to infinity, a NaN stays a quiet NaN with its sign; bf16 to float is exact. The CUDA backend's
 * --precision bf16 rounds the inputs of convolutions and dense products with it, and the tests
 * round their CPU references with it, so both sides see the same bf16 values. */
#ifndef WN_BF16_H
#define WN_BF16_H

#include <stdint.h>
#include <string.h>

#ifdef __CUDACC__
#define WN_BF16_FN static inline __host__ __device__
#else
#define WN_BF16_FN static inline
#endif

WN_BF16_FN uint32_t wn_float_bits(float f) {
#ifdef __CUDA_ARCH__
    return __float_as_uint(f);
#else
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
#endif
}

WN_BF16_FN float wn_bits_float(uint32_t u) {
#ifdef __CUDA_ARCH__
    return __uint_as_float(u);
#else
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
#endif
}

/* The bf16 nearest to f (ties to even). */
WN_BF16_FN uint16_t wn_bf16_from_float(float f) {
    uint32_t u = wn_float_bits(f);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x0040u); /* NaN: quiet */
    u += 0x7fffu + ((u >> 16) & 1u);
    return (uint16_t)(u >> 16);
}

WN_BF16_FN float wn_bf16_to_float(uint16_t h) { return wn_bits_float((uint32_t)h << 16); }

/* f rounded to the nearest bf16 value, as a float. */
WN_BF16_FN float wn_bf16_round(float f) { return wn_bf16_to_float(wn_bf16_from_float(f)); }

#endif
