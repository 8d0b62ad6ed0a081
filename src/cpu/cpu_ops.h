/* cpu_ops.h - the float CPU implementations of every wn_backend_ops entry (semantics in
 * wn_backend.h), one group per file: cpu_backend.c (memory, table), cpu_conv.c, cpu_pool.c,
 * cpu_dense.c, cpu_act.c (activations, dropout), cpu_norm.c, cpu_loss.c, cpu_optim.c.
 * ctx is a wn_cpu_ctx (cpu_ctx.h). Internal to src/cpu. */
#ifndef WN_CPU_OPS_H
#define WN_CPU_OPS_H

#include <stddef.h>
#include <stdint.h>

#include "wn_backend.h"

/* Elementwise work below this many values runs on one thread. */
#define WN_CPU_ELEM_GRAIN ((size_t)32768)

void wn_cpu_fill(void *ctx, float *x, size_t n, float v);
void wn_cpu_axpy(void *ctx, size_t n, float a, const float *x, float *y);
double wn_cpu_sumsq(void *ctx, size_t n, const float *x);
void wn_cpu_add(void *ctx, size_t n, const float *a, const float *b, float *y);
void wn_cpu_lookup_u8(void *ctx, int n, int c, size_t hw, const uint8_t *x, const float *table,
                      float *y);

void wn_cpu_conv_forward(void *ctx, const wn_conv_desc *d, const float *x, const float *w,
                         const float *b, float *y);
void wn_cpu_conv_backward(void *ctx, const wn_conv_desc *d, const float *x, const float *w,
                          const float *dy, float *dx, float *dw, float *db);

void wn_cpu_pool_forward(void *ctx, const wn_pool_desc *d, const float *x, float *y);
void wn_cpu_pool_backward(void *ctx, const wn_pool_desc *d, const float *x, const float *y,
                          const float *dy, float *dx);

void wn_cpu_dense_forward(void *ctx, int n, int in, int out, const float *x, const float *w,
                          const float *b, float *y);
void wn_cpu_dense_backward(void *ctx, int n, int in, int out, const float *x, const float *w,
                           const float *dy, float *dx, float *dw, float *db);

void wn_cpu_act_forward(void *ctx, int kind, float alpha, size_t count, const float *x, float *y);
void wn_cpu_act_backward(void *ctx, int kind, float alpha, size_t count, const float *x,
                         const float *dy, float *dx);
void wn_cpu_dropout_forward(void *ctx, size_t count, float rate, uint64_t seed, const float *x,
                            float *y, float *mask);
void wn_cpu_dropout_backward(void *ctx, size_t count, const float *mask, const float *dy,
                             float *dx);

void wn_cpu_bn_forward_train(void *ctx, int n, int c, int hw, const float *x, const float *gamma,
                             const float *beta, float momentum, float eps, float *run_mean,
                             float *run_var, float *save_mean, float *save_invstd, float *y);
void wn_cpu_bn_forward_eval(void *ctx, int n, int c, int hw, const float *x, const float *gamma,
                            const float *beta, const float *run_mean, const float *run_var,
                            float eps, float *y);
void wn_cpu_bn_backward(void *ctx, int n, int c, int hw, const float *x, const float *gamma,
                        const float *save_mean, const float *save_invstd, const float *dy,
                        float *dx, float *dgamma, float *dbeta);

void wn_cpu_softmax_xent(void *ctx, int n, int k, const float *logits, const int32_t *labels,
                         const float *weight, const float *offset, float *probs, float *dlogits,
                         double *loss_out);
void wn_cpu_softmax(void *ctx, int n, int k, const float *logits, float *probs);
void wn_cpu_focal_xent(void *ctx, int n, int k, const float *logits, const int32_t *labels,
                       const float *weight, const float *offset, float gamma, float *probs,
                       float *dlogits, double *loss_out);

void wn_cpu_sgd_update(void *ctx, size_t count, float *w, const float *g, float *v, float lr,
                       float momentum, int nesterov, float wd);
void wn_cpu_adam_update(void *ctx, size_t count, float *w, const float *g, float *m, float *v,
                        float lr, float beta1, float beta2, float eps, float wd, int decoupled,
                        int t);

#endif
