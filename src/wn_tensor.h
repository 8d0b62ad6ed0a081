/* wn_tensor.h - 4-D tensor shapes. A tensor is a shape plus a float pointer into backend memory
 * (host memory for the CPU backend, device memory for CUDA); the core library never dereferences
 * a backend pointer itself, it goes through the backend's upload/download. Layout is NCHW;
 * a vector of features is (N, C, 1, 1). */
#ifndef WN_TENSOR_H
#define WN_TENSOR_H

#include <stddef.h>

typedef struct wn_shape {
    int n, c, h, w;
} wn_shape;

typedef struct wn_tensor {
    wn_shape s;
    float *data; /* backend memory, s.n*s.c*s.h*s.w floats; owner documented where it is made */
} wn_tensor;

static inline size_t wn_shape_count(wn_shape s) { return (size_t)s.n * s.c * s.h * s.w; }
/* Elements of one sample (C*H*W). */
static inline size_t wn_shape_sample(wn_shape s) { return (size_t)s.c * s.h * s.w; }

#endif
