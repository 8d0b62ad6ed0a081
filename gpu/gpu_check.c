/* gpu_check.c - the CUDA backend's failure path: a CUDA, cuDNN or cuBLAS call that fails inside an
 * op (which cannot return a status) prints the file, line, the call and the library's message,
 * then aborts, so no op ever continues on garbage. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "gpu_ctx.h"

void wn_gpu_fail(const char *file, int line, const char *what, const char *why) {
    fprintf(stderr, "weldnet: CUDA backend failure at %s:%d: %s: %s\n", file, line, what, why);
    fflush(stderr);
    abort();
}

void wn_gpu_failf(const char *file, int line, const char *fmt, ...) {
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fprintf(stderr, "weldnet: CUDA backend failure at %s:%d: %s\n", file, line, msg);
    fflush(stderr);
    abort();
}

void wn_gpu_check_cuda(cudaError_t s, const char *what, const char *file, int line) {
    if (s != cudaSuccess) {
        char why[512];
        snprintf(why, sizeof why, "%s (%s)", cudaGetErrorString(s), cudaGetErrorName(s));
        wn_gpu_fail(file, line, what, why);
    }
}

void wn_gpu_check_cudnn(cudnnStatus_t s, const char *what, const char *file, int line) {
    if (s != CUDNN_STATUS_SUCCESS) {
        char why[1024], last[512];
        cudnnGetLastErrorString(last, sizeof last);
        snprintf(why, sizeof why, "%s%s%s", cudnnGetErrorString(s), last[0] ? ": " : "", last);
        wn_gpu_fail(file, line, what, why);
    }
}

void wn_gpu_check_cublas(cublasStatus_t s, const char *what, const char *file, int line) {
    if (s != CUBLAS_STATUS_SUCCESS) {
        char why[512];
        snprintf(why, sizeof why, "%s (%s)", cublasGetStatusString(s), cublasGetStatusName(s));
        wn_gpu_fail(file, line, what, why);
    }
}

unsigned wn_gpu_grid(const wn_gpu_ctx *c, size_t n) {
    size_t blocks = (n + WN_GPU_BLOCK - 1) / WN_GPU_BLOCK;
    size_t cap = (size_t)c->sm_count * 16; /* enough resident blocks; the rest loop */
    if (blocks > cap) blocks = cap;
    return blocks ? (unsigned)blocks : 1u;
}
