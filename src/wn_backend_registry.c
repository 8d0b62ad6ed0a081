/* wn_backend_registry.c - picks a backend at run time. The only file with #ifdef WN_HAVE_CUDA. */
#include <stdlib.h>
#include <string.h>

#include "wn_backend.h"
#ifdef WN_HAVE_CUDA
#include "wn_cuda.h"
#endif

#ifdef WN_HAVE_CUDA
/* gpu/: returns WN_ERUNTIME with a message when no usable GPU is present. */
int wn_cuda_backend_create_math(int math, wn_backend *out, wn_err *e);
#endif

int wn_device_parse(const char *s) {
    if (!strcmp(s, "auto")) return WN_DEVICE_AUTO;
    if (!strcmp(s, "cpu")) return WN_DEVICE_CPU;
    if (!strcmp(s, "cuda")) return WN_DEVICE_CUDA;
    return -1;
}

int wn_backend_create(int device, int threads, int quiet, wn_backend *out, wn_err *e) {
    return wn_backend_create_math(device, threads, quiet, WN_MATH_FAST, out, e);
}

int wn_backend_create_math(int device, int threads, int quiet, int math, wn_backend *out,
                           wn_err *e) {
    memset(out, 0, sizeof *out);
    if (device == WN_DEVICE_CPU) return wn_cpu_backend_create(threads, out, e);
#ifdef WN_HAVE_CUDA
    wn_err cuda_err = {0};
    if (wn_cuda_backend_create_math(math, out, &cuda_err) == WN_OK) return WN_OK;
    if (device == WN_DEVICE_CUDA)
        return wn_err_set(e, WN_ERUNTIME, "--device cuda: %s", cuda_err.msg);
    if (!quiet) fprintf(stderr, "weldnet: no usable GPU (%s); using the CPU\n", cuda_err.msg);
#else
    if (device == WN_DEVICE_CUDA)
        return wn_err_set(e, WN_ERUNTIME,
                          "--device cuda: this weldnet was built without the CUDA backend "
                          "(nvcc and cuDNN were not found at build time); use --device cpu");
    if (!quiet) fprintf(stderr, "weldnet: built without CUDA; using the CPU\n");
    (void)math;
#endif
    return wn_cpu_backend_create(threads, out, e);
}

void wn_backend_describe(const wn_backend *b, char *out, size_t n) {
    snprintf(out, n, "%s", b && b->ops ? b->ops->name : "none");
#ifdef WN_HAVE_CUDA
    wn_cuda_stats s;
    wn_err e = {0};
    if (b && b->ops && !strcmp(b->ops->name, "cuda") && wn_cuda_stats_get(b, &s, &e) == WN_OK)
        snprintf(out, n, "cuda: %s (sm_%d%d), %s%s", s.device_name, s.cc_major, s.cc_minor,
                 s.bf16 ? "bf16 mixed precision" : s.tf32 ? "TF32 convolutions" : "strict fp32",
                 s.bf16_store ? ", activations stored in bf16" : "");
#endif
}

void wn_backend_free(wn_backend *b) {
    if (b && b->ops && b->ctx) b->ops->destroy(b->ctx);
    if (b) memset(b, 0, sizeof *b);
}

float *wn_balloc(wn_backend *b, size_t count, const char *what, wn_err *e) {
    float *p = b->ops->alloc(b->ctx, count * sizeof(float));
    if (!p)
        wn_err_set(e, WN_ERUNTIME, "out of %s memory allocating %s (%zu values)", b->ops->name,
                   what, count);
    return p;
}
