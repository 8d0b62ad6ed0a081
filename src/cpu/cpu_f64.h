/* cpu_f64.h - double-precision twins of the CPU backend's numeric ops, compiled from the same
 * kernels (cpu_k_*.h) with wn_real = double. For gradient checks and as references in tests
 * only: single-threaded, host pointers, scratch allocated per call. Semantics, shapes and NULL
 * rules are those of the matching wn_backend_ops entry in wn_backend.h. */
#ifndef WN_CPU_F64_H
#define WN_CPU_F64_H

#include <stddef.h>
#include <stdint.h>

#include "wn_backend.h"

/* x (N,C,H,W), w (OC,C,KH,KW), b (OC) or NULL -> y (N,OC,OH,OW) */
void wn_cpu64_conv_forward(const wn_conv_desc *d, const double *x, const double *w,
                           const double *b, double *y);
/* dy (N,OC,OH,OW) -> dx (N,C,H,W), dw (OC,C,KH,KW), db (OC); each may be NULL */
void wn_cpu64_conv_backward(const wn_conv_desc *d, const double *x, const double *w,
                            const double *dy, double *dx, double *dw, double *db);

/* x (N,C,H,W) -> y (N,C,OH,OW); backward dy (N,C,OH,OW) -> dx (N,C,H,W) */
void wn_cpu64_pool_forward(const wn_pool_desc *d, const double *x, double *y);
void wn_cpu64_pool_backward(const wn_pool_desc *d, const double *x, const double *dy, double *dx);

/* x (N,IN), w (OUT,IN), b (OUT) or NULL, y and dy (N,OUT) */
void wn_cpu64_dense_forward(int n, int in, int out, const double *x, const double *w,
                            const double *b, double *y);
void wn_cpu64_dense_backward(int n, int in, int out, const double *x, const double *w,
                             const double *dy, double *dx, double *dw, double *db);

/* elementwise over count values */
void wn_cpu64_act_forward(int kind, double alpha, size_t count, const double *x, double *y);
void wn_cpu64_act_backward(int kind, double alpha, size_t count, const double *x,
                           const double *dy, double *dx);
/* the same mask as the float op for the same (rate, seed): the draw is compared in float */
void wn_cpu64_dropout_forward(size_t count, float rate, uint64_t seed, const double *x, double *y,
                              double *mask);
void wn_cpu64_dropout_backward(size_t count, const double *mask, const double *dy, double *dx);
void wn_cpu64_add(size_t count, const double *a, const double *b, double *y);

/* x, y, dy, dx (N,C,HW); per-channel vectors (C) */
void wn_cpu64_bn_forward_train(int n, int c, int hw, const double *x, const double *gamma,
                               const double *beta, double momentum, double eps, double *run_mean,
                               double *run_var, double *save_mean, double *save_invstd, double *y);
void wn_cpu64_bn_forward_eval(int n, int c, int hw, const double *x, const double *gamma,
                              const double *beta, const double *run_mean, const double *run_var,
                              double eps, double *y);
void wn_cpu64_bn_backward(int n, int c, int hw, const double *x, const double *gamma,
                          const double *save_mean, const double *save_invstd, const double *dy,
                          double *dx, double *dgamma, double *dbeta);

/* logits, probs, dlogits (N,K); labels (N); weight (N) or NULL; offset (K) or NULL */
void wn_cpu64_softmax_xent(int n, int k, const double *logits, const int32_t *labels,
                           const double *weight, const double *offset, double *probs,
                           double *dlogits, double *loss_out);
/* the same shapes and NULL rules; gamma >= 0 (focal_xent in wn_backend.h) */
void wn_cpu64_focal_xent(int n, int k, const double *logits, const int32_t *labels,
                         const double *weight, const double *offset, double gamma, double *probs,
                         double *dlogits, double *loss_out);

#endif
