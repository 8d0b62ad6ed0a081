/* cpu_f64.c - the double-precision twins declared in cpu_f64.h: the float backend's kernels
 * (cpu_k_*.h) compiled once more with wn_real = double and run on one thread. */
#define WN_CPU_F64 1

#include "cpu_f64.h"

#include <stdlib.h>

#include "cpu_k_conv.h"
#include "cpu_k_dense.h"
#include "cpu_k_elem.h"
#include "cpu_k_loss.h"
#include "cpu_k_norm.h"
#include "cpu_k_pool.h"
#include "wn_err.h"

void wn_cpu64_conv_forward(const wn_conv_desc *d, const double *x, const double *w,
                           const double *b, double *y) {
    const size_t in_sz = (size_t)d->c * d->h * d->w, out_sz = (size_t)d->oc * d->oh * d->ow;
    double *col = wn_xmalloc(sizeof(double) * (k_conv_col_count(d) + 1)); // (CKK, OH*OW)
    for (int i = 0; i < d->n; i++)
        k_conv_forward_image(d, x + i * in_sz, w, b, y + i * out_sz, col);
    free(col);
}

void wn_cpu64_conv_backward(const wn_conv_desc *d, const double *x, const double *w,
                            const double *dy, double *dx, double *dw, double *db) {
    const size_t in_sz = (size_t)d->c * d->h * d->w, out_sz = (size_t)d->oc * d->oh * d->ow;
    const size_t nw = (size_t)d->oc * d->c * d->kh * d->kw;
    double *col = wn_xmalloc(sizeof(double) * (k_conv_col_count(d) + 1)); // (CKK, OH*OW)
    if (dw)
        for (size_t i = 0; i < nw; i++) dw[i] = 0;
    if (db)
        for (int i = 0; i < d->oc; i++) db[i] = 0;
    for (int i = 0; i < d->n; i++)
        k_conv_backward_image(d, x + i * in_sz, w, dy + i * out_sz, dx ? dx + i * in_sz : NULL, dw,
                              db, i == 0 ? 0.0 : 1.0, col);
    free(col);
}

void wn_cpu64_pool_forward(const wn_pool_desc *d, const double *x, double *y) {
    const size_t in_sz = (size_t)d->h * d->w, out_sz = (size_t)d->oh * d->ow;
    for (size_t p = 0; p < (size_t)d->n * d->c; p++)
        k_pool_forward_plane(d, x + p * in_sz, y + p * out_sz);
}

void wn_cpu64_pool_backward(const wn_pool_desc *d, const double *x, const double *dy,
                            double *dx) {
    const size_t in_sz = (size_t)d->h * d->w, out_sz = (size_t)d->oh * d->ow;
    for (size_t p = 0; p < (size_t)d->n * d->c; p++)
        k_pool_backward_plane(d, x + p * in_sz, dy + p * out_sz, dx + p * in_sz);
}

void wn_cpu64_dense_forward(int n, int in, int out, const double *x, const double *w,
                            const double *b, double *y) {
    k_dense_forward_rows(0, n, in, out, x, w, b, y);
}

void wn_cpu64_dense_backward(int n, int in, int out, const double *x, const double *w,
                             const double *dy, double *dx, double *dw, double *db) {
    if (dx) k_dense_backward_dx_rows(0, n, in, out, w, dy, dx);
    k_dense_backward_dw_rows(0, out, n, in, out, x, dy, dw, db);
}

void wn_cpu64_act_forward(int kind, double alpha, size_t count, const double *x, double *y) {
    k_act_forward(kind, alpha, 0, count, x, y);
}

void wn_cpu64_act_backward(int kind, double alpha, size_t count, const double *x,
                           const double *dy, double *dx) {
    k_act_backward(kind, alpha, 0, count, x, dy, dx);
}

void wn_cpu64_dropout_forward(size_t count, float rate, uint64_t seed, const double *x, double *y,
                              double *mask) {
    k_dropout_forward(0, count, rate, seed, x, y, mask);
}

void wn_cpu64_dropout_backward(size_t count, const double *mask, const double *dy, double *dx) {
    k_dropout_backward(0, count, mask, dy, dx);
}

void wn_cpu64_add(size_t count, const double *a, const double *b, double *y) {
    k_add(0, count, a, b, y);
}

void wn_cpu64_bn_forward_train(int n, int c, int hw, const double *x, const double *gamma,
                               const double *beta, double momentum, double eps, double *run_mean,
                               double *run_var, double *save_mean, double *save_invstd,
                               double *y) {
    for (int ch = 0; ch < c; ch++)
        k_bn_train_channel(n, c, hw, ch, x, gamma, beta, momentum, eps, run_mean, run_var,
                           save_mean, save_invstd, y);
}

void wn_cpu64_bn_forward_eval(int n, int c, int hw, const double *x, const double *gamma,
                              const double *beta, const double *run_mean, const double *run_var,
                              double eps, double *y) {
    for (int ch = 0; ch < c; ch++)
        k_bn_eval_channel(n, c, hw, ch, x, gamma, beta, run_mean, run_var, eps, y);
}

void wn_cpu64_bn_backward(int n, int c, int hw, const double *x, const double *gamma,
                          const double *save_mean, const double *save_invstd, const double *dy,
                          double *dx, double *dgamma, double *dbeta) {
    for (int ch = 0; ch < c; ch++)
        k_bn_backward_channel(n, c, hw, ch, x, gamma, save_mean, save_invstd, dy, dx, dgamma,
                              dbeta);
}

void wn_cpu64_softmax_xent(int n, int k, const double *logits, const int32_t *labels,
                           const double *weight, const double *offset, double *probs,
                           double *dlogits, double *loss_out) {
    double loss = k_softmax_xent_rows(0, n, n, k, logits, labels, weight, offset, probs, dlogits);
    if (loss_out) *loss_out = loss;
}

void wn_cpu64_focal_xent(int n, int k, const double *logits, const int32_t *labels,
                         const double *weight, const double *offset, double gamma, double *probs,
                         double *dlogits, double *loss_out) {
    double loss =
        k_focal_xent_rows(0, n, n, k, logits, labels, weight, offset, gamma, probs, dlogits);
    if (loss_out) *loss_out = loss;
}
