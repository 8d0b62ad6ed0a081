/* cpu_loss.c - softmax, softmax cross entropy and focal loss on the CPU (cpu_k_loss.h); the
 * rows are few, so one thread does them and the loss is accumulated in double. */
#include "cpu_k_loss.h"
#include "cpu_ops.h"

void wn_cpu_softmax_xent(void *ctx, int n, int k, const float *logits, const int32_t *labels,
                         const float *weight, const float *offset, float *probs, float *dlogits,
                         double *loss_out) {
    (void)ctx;
    assert(labels);
    double loss = k_softmax_xent_rows(0, n, n, k, logits, labels, weight, offset, probs, dlogits);
    if (loss_out) *loss_out = loss;
}

void wn_cpu_softmax(void *ctx, int n, int k, const float *logits, float *probs) {
    (void)ctx;
    k_softmax_xent_rows(0, n, n, k, logits, NULL, NULL, NULL, probs, NULL);
}

void wn_cpu_focal_xent(void *ctx, int n, int k, const float *logits, const int32_t *labels,
                       const float *weight, const float *offset, float gamma, float *probs,
                       float *dlogits, double *loss_out) {
    (void)ctx;
    double loss =
        k_focal_xent_rows(0, n, n, k, logits, labels, weight, offset, gamma, probs, dlogits);
    if (loss_out) *loss_out = loss;
}
