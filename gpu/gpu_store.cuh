/* gpu_store.cuh - typed loads and stores for the kernels templated on the storage type of the
 * activations they touch: float (fp32 storage) or uint16_t (bf16 storage, alloc_bf16), so that
 * one kernel body serves both. Loads widen to float exactly, stores round to nearest even
 * (src/wn_bf16.h, the host's definition); the arithmetic between them is fp32 either way.
 * Included by the .cu files of gpu/ only. */
#ifndef WN_GPU_STORE_CUH
#define WN_GPU_STORE_CUH

#include <stdint.h>

#include "wn_bf16.h"

static inline __device__ float wn_ld(const float *p, size_t i) { return p[i]; }
static inline __device__ float wn_ld(const uint16_t *p, size_t i) { return wn_bf16_to_float(p[i]); }
static inline __device__ void wn_st(float *p, size_t i, float v) { p[i] = v; }
static inline __device__ void wn_st(uint16_t *p, size_t i, float v) { p[i] = wn_bf16_from_float(v); }

#endif
