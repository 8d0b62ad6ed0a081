/* wn_cuda.h - the CUDA backend's public entry points (gpu/): creation with options, the ops
 * table itself, and memory/device statistics. Includes no CUDA header, so any C file (the
 * registry, tests, benchmarks) may include it; it exists only in builds with the CUDA backend.
 * The backend implements every op of wn_backend_ops (semantics in src/wn_backend.h). */
#ifndef WN_CUDA_H
#define WN_CUDA_H

#include <stddef.h>

#include "wn_backend.h"

typedef struct wn_cuda_opts {
    int device;           /* CUDA device ordinal [0] */
    int tf32;             /* 1: cuDNN convolutions may use TF32 tensor cores, like PyTorch's default
                             (torch.backends.cudnn.allow_tf32); 0: strict fp32 (FMA only) [1] */
    int bf16;             /* 1: mixed precision (--precision bf16): convolutions and dense
                             products round their fp32 inputs to bf16 and run on bf16 tensor
                             cores with fp32 accumulation; their outputs, the weights (the fp32
                             master copy), every other op and the loss stay fp32 [0] */
    int bf16_store;       /* with bf16: the network's activations and their gradients are
                             stored in bf16 between layers (alloc_bf16; act_bf16 says 1), as
                             PyTorch's autocast keeps them, halving their memory and traffic;
                             0: fp32 storage, each bf16 op rounding copies of its inputs [1] */
    int nhwc;             /* with bf16: the convolutions' bf16 copies are NHWC (the layout of
                             cuDNN's tensor-core kernels and of PyTorch's channels_last), made
                             by conversions that also transpose; 0: NCHW [1] */
    int find;             /* 1: time every cuDNN convolution algorithm once per shape
                             (cudnnFind*AlgorithmEx, like PyTorch's cudnn.benchmark); 0: take
                             cuDNN's heuristic (cudnnGet*_v7), the same choice in every process,
                             so that a run and its resumed continuation compute alike [0] */
    int deterministic;    /* 1: only convolution algorithms that cuDNN reports deterministic (no
                             atomics), so a process repeats its results bit for bit [1] */
    size_t ws_limit;      /* most workspace bytes one convolution algorithm may use; 0 = the
                             default (a quarter of the free memory at creation, at most 2 GiB) */
    int pool_cudnn;       /* 1: pooling forward through cuDNN; 0: the backend's own kernels,
                             which give the CPU backend's bits exactly [1] */
    int verbose;          /* 1: print each convolution algorithm choice on stderr [0] */
} wn_cuda_opts;

/* Fills o with the defaults shown above. */
void wn_cuda_opts_default(wn_cuda_opts *o);

/* Creates the CUDA backend on o's device (o NULL = defaults). Fails with WN_ERUNTIME and a message
 * when there is no usable GPU (no driver, no device, kernels not built for this GPU, cuDNN or
 * cuBLAS unusable); nothing is left allocated then. */
int wn_cuda_backend_create_opts(const wn_cuda_opts *o, wn_backend *out, wn_err *e);
/* The same with the defaults. */
int wn_cuda_backend_create(wn_backend *out, wn_err *e);
/* The defaults with the math of WN_MATH_* (the registry calls this, for wn_backend_create_math):
 * FAST tf32 = 1, STRICT tf32 = 0, BF16 bf16 = 1. */
int wn_cuda_backend_create_math(int math, wn_backend *out, wn_err *e);

/* The ops table (static data: usable without a GPU, e.g. to check that no entry is NULL). */
const wn_backend_ops *wn_cuda_backend_ops(void);

typedef struct wn_cuda_stats {
    char device_name[256];
    int cc_major, cc_minor;   /* compute capability */
    int sm_count;
    size_t bytes_in_use;      /* device memory the backend holds now: allocations, workspace,
                                 scratch */
    size_t peak_bytes;        /* the most it held at once since creation (or the last reset) */
    size_t workspace_bytes;   /* of which the cuDNN workspace */
    size_t device_total, device_free; /* cudaMemGetInfo now (every process on the device) */
    int conv_algos;           /* cached convolution algorithm choices */
    int tf32;                 /* the context's opts.tf32: convolutions may use TF32 */
    int bf16;                 /* the context's opts.bf16: bf16 convolutions and dense products */
    int bf16_store;           /* activations stored in bf16 (opts.bf16 && opts.bf16_store) */
    int cudnn_version, cublas_version, runtime_version, driver_version;
} wn_cuda_stats;

/* Statistics of a CUDA backend; WN_EINPUT when b is not one. */
int wn_cuda_stats_get(const wn_backend *b, wn_cuda_stats *s, wn_err *e);
/* Restarts peak_bytes from bytes_in_use. */
void wn_cuda_stats_reset_peak(const wn_backend *b);

#endif
