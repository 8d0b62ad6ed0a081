// emu.h - a host emulation of the part of the CUDA kernel language that gpu/*.cu uses, so that
// the real kernels can run on CPU threads without a GPU (a verification tool, never part of
// weldnet): __global__/__device__ functions become plain functions, threadIdx/blockIdx/blockDim/
// gridDim thread-local or per-launch values, __shared__ a static shared by one block's threads
// (blocks run one after another), __syncthreads a barrier, __shfl_xor_sync an exchange through a
// per-warp buffer and barrier, the _rn intrinsics IEEE operations (compiled without contraction).
// transform.py includes this header after gpu_ctx.h and rewrites the launches; emu_rt.cpp
// implements it. See run.sh.
#pragma once
#include <cuda_runtime_api.h>
#include <cmath>
#include <algorithm>
#include <functional>
#include <cstring>
#undef __global__
#define __global__
#undef __device__
#define __device__
#undef __host__
#define __host__
#undef __shared__
#define __shared__ static
using std::max;
using std::min;
namespace emu {
extern thread_local dim3 tIdx, bIdx;
extern dim3 bDim, gDim;
void launch(dim3 g, dim3 b, std::function<void()> body);
void sync_block();
void warp_exchange(const void *in, void *out, int size, int src_lane);
int atomic_cas(int *p, int cmp, int val);
}
#define threadIdx emu::tIdx
#define blockIdx emu::bIdx
#define blockDim emu::bDim
#define gridDim emu::gDim
inline void __syncthreads() { emu::sync_block(); }
template <class T> T __shfl_xor_sync(unsigned, T v, int o) {
    T r;
    emu::warp_exchange(&v, &r, sizeof(T), (int)(emu::tIdx.x & 31) ^ o);
    return r;
}
static inline float __fadd_rn(float a, float b) { volatile float r = a + b; return r; }
static inline float __fsub_rn(float a, float b) { volatile float r = a - b; return r; }
static inline float __fmul_rn(float a, float b) { volatile float r = a * b; return r; }
static inline float __fdiv_rn(float a, float b) { volatile float r = a / b; return r; }
static inline float __fsqrt_rn(float a) { return sqrtf(a); }
static inline int atomicCAS(int *p, int cmp, int val) { return emu::atomic_cas(p, cmp, val); }
template <class T> cudaError_t cudaFuncGetAttributes(cudaFuncAttributes *a, T *f) {
    return cudaFuncGetAttributes(a, (const void *)f);
}
