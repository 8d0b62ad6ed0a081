/* wn_backend.h - the backend table: every numeric operation the network needs, behind an opaque
 * context. The CPU backend (src/cpu/) is the readable reference and is always built; the CUDA
 * backend (gpu/) implements the same table. All float/int pointers passed to ops are backend
 * memory obtained from ops->alloc; host data moves only through upload/download (and
 * upload_async/upload_fence from host_alloc memory).
 *
 * Conventions for every op:
 *  - layout NCHW; shapes are given explicitly (descriptors below);
 *  - forward ops overwrite their output; backward ops OVERWRITE dx, dw, db (they never
 *    accumulate) unless the name says accumulate;
 *  - a NULL gradient pointer means "not needed" (e.g. dx of the first layer);
 *  - ops cannot fail on valid arguments (assert on programmer errors); only alloc/upload/download
 *    and the feeding ops (host_alloc, upload_async, upload_fence) return a status (or NULL). */
#ifndef WN_BACKEND_H
#define WN_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#include "wn_err.h"

typedef struct wn_conv_desc {
    int n, c, h, w;          /* input (N, C, H, W) */
    int oc, kh, kw;          /* filters (OC, C, KH, KW) */
    int sh, sw, ph, pw;      /* stride and zero padding */
    int oh, ow;              /* output (N, OC, OH, OW), oh = (h + 2ph - kh)/sh + 1 */
} wn_conv_desc;

enum { WN_POOL_MAX = 0, WN_POOL_AVG = 1 };

typedef struct wn_pool_desc {
    int mode;                /* WN_POOL_MAX or WN_POOL_AVG (average counts padding as zeros,
                                divides by kh*kw, like PyTorch count_include_pad=True) */
    int n, c, h, w;          /* input (N, C, H, W) */
    int kh, kw, sh, sw, ph, pw;
    int oh, ow;              /* output (N, C, OH, OW); padded cells never win a max */
} wn_pool_desc;

enum { WN_ACT_RELU = 0, WN_ACT_LEAKY = 1 };

typedef struct wn_backend_ops {
    const char *name; /* "cpu", "cuda" */
    void (*destroy)(void *ctx); /* frees the context and everything it owns */

    /* ---- memory ---- */
    void *(*alloc)(void *ctx, size_t bytes); /* zero-filled; NULL on exhaustion */
    void (*free)(void *ctx, void *p);
    int (*upload)(void *ctx, void *dst, const void *host_src, size_t bytes, wn_err *e);
    int (*download)(void *ctx, void *host_dst, const void *src, size_t bytes, wn_err *e);
    void (*copy)(void *ctx, void *dst, const void *src, size_t bytes); /* device to device */
    void (*fill)(void *ctx, float *x, size_t n, float v);
    void (*axpy)(void *ctx, size_t n, float a, const float *x, float *y); /* y += a*x */
    void (*add)(void *ctx, size_t n, const float *a, const float *b, float *y); /* y = a+b */
    /* sum of x_i^2 over x (n), accumulated in double in an order that depends on n only (the same
     * value every run); waits for queued work on the GPU */
    double (*sumsq)(void *ctx, size_t n, const float *x);
    void (*sync)(void *ctx); /* wait for queued work, copies included (no-op on the CPU) */
    /* y (N, C, HW) = table[c * 256 + x] for each byte x (N, C, HW) of channel c; table (C, 256).
     * Turns 8-bit photos into normalised floats on the backend (classify uploads bytes, a
     * quarter of the floats); with the table of wn_batch_fill the values are its bits. */
    void (*lookup_u8)(void *ctx, int n, int c, size_t hw, const uint8_t *x, const float *table,
                      float *y);

    /* ---- convolution: x (N,C,H,W), w (OC,C,KH,KW), b (OC) or NULL, y (N,OC,OH,OW) ---- */
    void (*conv_forward)(void *ctx, const wn_conv_desc *d, const float *x, const float *w,
                         const float *b, float *y);
    /* dy (N,OC,OH,OW) -> dx (N,C,H,W) or NULL, dw (OC,C,KH,KW), db (OC) or NULL */
    void (*conv_backward)(void *ctx, const wn_conv_desc *d, const float *x, const float *w,
                          const float *dy, float *dx, float *dw, float *db);

    /* ---- pooling: x (N,C,H,W) -> y (N,C,OH,OW); backward recomputes max positions from x ---- */
    void (*pool_forward)(void *ctx, const wn_pool_desc *d, const float *x, float *y);
    void (*pool_backward)(void *ctx, const wn_pool_desc *d, const float *x, const float *y,
                          const float *dy, float *dx);

    /* ---- dense: x (N,IN), w (OUT,IN), b (OUT) or NULL, y (N,OUT) ---- */
    void (*dense_forward)(void *ctx, int n, int in, int out, const float *x, const float *w,
                          const float *b, float *y);
    void (*dense_backward)(void *ctx, int n, int in, int out, const float *x, const float *w,
                           const float *dy, float *dx, float *dw, float *db);

    /* ---- activations, elementwise over count values; alpha is the leaky slope ---- */
    void (*act_forward)(void *ctx, int kind, float alpha, size_t count, const float *x, float *y);
    /* x: the forward input, or the output in its place (the same signs for alpha >= 0; the net
     * engine computes activations in place). dx may alias dy, y may alias x. */
    void (*act_backward)(void *ctx, int kind, float alpha, size_t count, const float *x,
                         const float *dy, float *dx);

    /* ---- dropout (inverted): mask[i] = (u(seed,i) >= rate) / (1-rate), y = x*mask ---- */
    void (*dropout_forward)(void *ctx, size_t count, float rate, uint64_t seed, const float *x,
                            float *y, float *mask);
    void (*dropout_backward)(void *ctx, size_t count, const float *mask, const float *dy, float *dx);

    /* ---- batch normalisation over (N, HW) per channel; x, y (N,C,HW); per-channel (C) vectors.
     * train: uses batch statistics (biased variance for normalising), writes save_mean and
     * save_invstd = 1/sqrt(var+eps), updates running stats with
     * run = (1-momentum)*run + momentum*batch (unbiased variance for run_var), like PyTorch. */
    void (*bn_forward_train)(void *ctx, int n, int c, int hw, const float *x, const float *gamma,
                             const float *beta, float momentum, float eps, float *run_mean,
                             float *run_var, float *save_mean, float *save_invstd, float *y);
    void (*bn_forward_eval)(void *ctx, int n, int c, int hw, const float *x, const float *gamma,
                            const float *beta, const float *run_mean, const float *run_var,
                            float eps, float *y);
    void (*bn_backward)(void *ctx, int n, int c, int hw, const float *x, const float *gamma,
                        const float *save_mean, const float *save_invstd, const float *dy,
                        float *dx, float *dgamma, float *dbeta);

    /* ---- softmax and cross entropy: logits (N,K), labels (N) int32, probs (N,K).
     * z_ij = logits_ij + (offset ? offset_j : 0); p = softmax(z);
     * loss = sum_i weight_i * -log p_i,label_i  (weight NULL means weight_i = 1/N);
     * dlogits_ij = weight_i * (p_ij - [j == label_i])  (dlogits may be NULL);
     * returns the loss (accumulated in double) through *loss_out (host pointer, may be NULL). */
    void (*softmax_xent)(void *ctx, int n, int k, const float *logits, const int32_t *labels,
                         const float *weight, const float *offset, float *probs, float *dlogits,
                         double *loss_out);
    void (*softmax)(void *ctx, int n, int k, const float *logits, float *probs);

    /* ---- optimizer updates over count parameters ----
     * SGD (PyTorch semantics): g' = g + wd*w; v = momentum*v + g'; step = nesterov ? g' +
     * momentum*v : v; w -= lr*step. */
    void (*sgd_update)(void *ctx, size_t count, float *w, const float *g, float *v, float lr,
                       float momentum, int nesterov, float wd);
    /* Adam (decoupled=0: L2 wd added to g) / AdamW (decoupled=1: w -= lr*wd*w), bias-corrected
     * with step t >= 1, like torch.optim.Adam/AdamW. */
    void (*adam_update)(void *ctx, size_t count, float *w, const float *g, float *m, float *v,
                        float lr, float beta1, float beta2, float eps, float wd, int decoupled,
                        int t);

    /* ---- focal loss (Lin et al. 2017) on the softmax: logits (N,K), labels (N) int32 (required),
     * weight (N) or NULL, offset (K) or NULL, probs (N,K) or NULL, dlogits (N,K) or NULL.
     * z_ij = logits_ij + (offset ? offset_j : 0); p = softmax(z); t = label_i;
     * q_i = 1 - p_it, computed as the sum of p_ij over j != t (exact near p_it = 1);
     * loss = sum_i weight_i * -(q_i^gamma) * log p_it  (weight NULL means weight_i = 1/N);
     * dlogits_ij = weight_i * c_i * (p_ij - [j == t]) with
     *   c_i = q_i^gamma - gamma * q_i^(gamma-1) * p_it * log p_it
     *   (the second term is 0 when gamma = 0 or q_i = 0, so nothing is ever inf or NaN);
     * gamma >= 0; gamma = 0 gives softmax_xent exactly. Each row in double, max-subtracted;
     * the loss is accumulated in double and returned through *loss_out (host, may be NULL). */
    void (*focal_xent)(void *ctx, int n, int k, const float *logits, const int32_t *labels,
                       const float *weight, const float *offset, float gamma, float *probs,
                       float *dlogits, double *loss_out);

    /* ---- feeding: page-locked host memory and uploads that overlap compute ----
     * host_alloc: host memory the backend can copy from asynchronously (cudaHostAlloc on the
     * GPU, 64-byte aligned malloc on the CPU), any thread may read and write it; contents are
     * undefined (not zero-filled); NULL on exhaustion. host_free(NULL) does nothing. */
    void *(*host_alloc)(void *ctx, size_t bytes);
    void (*host_free)(void *ctx, void *p);
    /* upload_async: queues a copy of bytes from host_src (host_alloc memory) to dst (backend
     * memory) on the backend's copy queue and returns without waiting for it. The copy starts
     * after every op queued before this call has finished (so dst may be a buffer that earlier
     * ops still read), and runs alongside the ops queued after it. Until the next upload_fence:
     * no op may read or write dst, and the host must not write or free host_src. Returns a
     * status (WN_ERUNTIME with the library's message when the copy cannot be queued). The CPU
     * backend copies at once. */
    int (*upload_async)(void *ctx, void *dst, const void *host_src, size_t bytes, wn_err *e);
    /* upload_fence: waits on the host until every upload_async queued before it has completed;
     * then their host buffers may be reused or freed, and every op (and download) queued after
     * the fence sees the data. Returns a status (a failed copy). sync implies a fence. */
    int (*upload_fence)(void *ctx, wn_err *e);

    /* ---- bf16 activation storage (the CUDA backend with bf16 math) ----
     * act_bf16: 1 when this context stores the network's activations in bf16, 0 when in fp32
     * (always 0 on the CPU, whose alloc_bf16 returns NULL and whose cast copies). alloc_bf16: zero-filled backend memory for count bf16 values (2 bytes
     * each, passed around as float * like any backend memory), NULL on exhaustion and whenever
     * act_bf16 is 0; free releases it. The ops recognise it by address: an ACTIVATION argument (the x, y, dy and dx of
     * conv, pool, dense, act, dropout and batchnorm; a, b, y of add; x, y of axpy) may point
     * into it, and the op then reads and writes bf16 values there (round to nearest even; the
     * arithmetic stays fp32). All activation arguments of one call are of one type; weights,
     * their gradients, masks and statistics are always fp32. Pointer arithmetic into bf16
     * memory is in 2-byte elements, and copy takes its bytes.
     * cast: y (n) = x (n), each in the type of its memory (exact widening, or rounding to
     * nearest even into bf16; a plain copy between two fp32 buffers). */
    int (*act_bf16)(void *ctx);
    void *(*alloc_bf16)(void *ctx, size_t count);
    void (*cast)(void *ctx, size_t n, const float *x, float *y);
} wn_backend_ops;

typedef struct wn_backend {
    const wn_backend_ops *ops;
    void *ctx; /* owned by the backend; freed by wn_backend_free */
} wn_backend;

enum { WN_DEVICE_AUTO = 0, WN_DEVICE_CPU = 1, WN_DEVICE_CUDA = 2 };
/* Convolution math on the GPU. FAST: TF32 tensor cores allowed (PyTorch's default; training
 * uses it). STRICT: fp32 multiply-adds only, so scores agree with the CPU backend's to rounding
 * (calibrate and classify use it: a threshold chosen on CPU scores then means the same on the
 * GPU). BF16: mixed precision (train --precision bf16): convolutions and dense products take
 * bf16 inputs with fp32 accumulation, weights and everything else stay fp32. The CPU backend
 * computes in fp32 whatever the math. */
enum { WN_MATH_FAST = 0, WN_MATH_STRICT = 1, WN_MATH_BF16 = 2 };

/* Parses "auto", "cpu" or "cuda" into WN_DEVICE_*; returns -1 for anything else. */
int wn_device_parse(const char *s);
/* Creates a backend. AUTO uses CUDA when the build has it and a GPU is present, else says once
 * (on stderr, unless quiet) that it uses the CPU. CUDA without a GPU fails with a clear error.
 * threads: CPU threads (0 = all cores). */
int wn_backend_create(int device, int threads, int quiet, wn_backend *out, wn_err *e);
/* The same with the convolution math (WN_MATH_*); wn_backend_create is WN_MATH_FAST. */
int wn_backend_create_math(int device, int threads, int quiet, int math, wn_backend *out,
                           wn_err *e);
void wn_backend_free(wn_backend *b);
/* One line naming the backend for people: "cpu", or "cuda: NAME (sm_XY), MATH" with MATH
 * "TF32 convolutions", "strict fp32" or "bf16 mixed precision" (then ", activations stored in
 * bf16" when it stores them so). */
void wn_backend_describe(const wn_backend *b, char *out, size_t n);

/* The CPU backend directly (tests use it as the reference). */
int wn_cpu_backend_create(int threads, wn_backend *out, wn_err *e);

/* Convenience: allocate count floats or fail with a message naming what. */
float *wn_balloc(wn_backend *b, size_t count, const char *what, wn_err *e);

#endif
