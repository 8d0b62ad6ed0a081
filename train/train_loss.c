/* train_loss.c - the losses of `weldnet train` (formulas in wn_train.h): the host computes the
 * small per-sample weight vector (m) and per-class logit offset vector (K) a loss needs, uploads
 * them, and the backend's softmax_xent or focal_xent op computes the loss and the logit
 * gradients where the logits already are. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "wn_train.h"

void wn_loss_output_priors(int kind, int prior, double tau, int k, const long *drawn,
                           const long *counts, double *out) {
    double nd = 0, nc = 0, sum = 0;
    for (int c = 0; c < k; c++) nd += (double)drawn[c], nc += (double)counts[c];
    for (int c = 0; c < k; c++) {
        double rho = nd > 0 ? (double)drawn[c] / nd : 1.0 / k;   /* the class's share of the epochs */
        double pi = nc > 0 ? (double)counts[c] / nc : 1.0 / k;   /* its share of the training set */
        double q = rho;
        if (rho <= 0 || pi <= 0) q = 0;
        else if (kind == WN_LOSS_BAYESIAN && prior == WN_PRIOR_BATCH) q = 1;
        else if (kind == WN_LOSS_BAYESIAN || kind == WN_LOSS_WEIGHTED) q = rho / pi;
        else if (kind == WN_LOSS_LOGIT_ADJUSTED) q = rho * pow(pi, -tau);
        out[c] = q;
        sum += q;
    }
    for (int c = 0; c < k; c++) out[c] = sum > 0 ? out[c] / sum : 1.0 / k;
}

const char *wn_loss_name(int kind) {
    static const char *names[] = {"ce", "bayesian", "weighted", "logit-adjusted", "focal"};
    return kind >= 0 && kind <= WN_LOSS_FOCAL ? names[kind] : "?";
}

int wn_loss_weights(int kind, int prior, int k, int m, const int32_t *labels,
                    const double *train_prior, float *w) {
    if (m <= 0 || (kind != WN_LOSS_BAYESIAN && kind != WN_LOSS_WEIGHTED)) return 0;
    if (kind == WN_LOSS_BAYESIAN && prior == WN_PRIOR_BATCH) {
        /* pi_batch(c) = count(c)/m, so weight_i = 1/(K m pi(y_i)) = 1/(K count(y_i)); only
         * classes present in the batch are ever divided by */
        long *cnt = wn_xcalloc((size_t)k, sizeof(long)); // (K)
        for (int i = 0; i < m; i++) cnt[labels[i]]++;
        for (int i = 0; i < m; i++) w[i] = (float)(1.0 / ((double)k * (double)cnt[labels[i]]));
        free(cnt);
        return 1;
    }
    if (kind == WN_LOSS_BAYESIAN) {
        for (int i = 0; i < m; i++)
            w[i] = (float)(1.0 / ((double)k * m * train_prior[labels[i]]));
        return 1;
    }
    /* weighted: w(c) = 1/pi(c), normalised to mean 1 over the classes, then divided by the
     * batch's total weight (the weighted mean) */
    double inv_sum = 0, batch_sum = 0;
    for (int c = 0; c < k; c++) inv_sum += 1.0 / train_prior[c];
    for (int i = 0; i < m; i++) batch_sum += (double)k / (train_prior[labels[i]] * inv_sum);
    for (int i = 0; i < m; i++)
        w[i] = (float)((double)k / (train_prior[labels[i]] * inv_sum) / batch_sum);
    return 1;
}

int wn_loss_offsets(int kind, double tau, int k, const double *train_prior, float *off) {
    if (kind != WN_LOSS_LOGIT_ADJUSTED) return 0;
    for (int c = 0; c < k; c++) off[c] = (float)(tau * log(train_prior[c]));
    return 1;
}

int wn_loss_create(wn_loss *l, const wn_train_cfg *c, const long *counts, int k, int batch,
                   wn_backend *be, wn_err *e) {
    memset(l, 0, sizeof *l);
    if (c->loss == WN_LOSS_FOCAL && !be->ops->focal_xent)
        return wn_err_set(e, WN_EINPUT, "loss = focal: the %s backend has no focal loss; use "
                          "--device cpu or another loss", be->ops->name);
    l->kind = c->loss;
    l->prior = c->prior;
    l->k = k;
    l->batch = batch;
    l->tau = c->tau;
    l->gamma = c->focal_gamma;
    l->be = be;
    long total = 0;
    for (int j = 0; j < k; j++) total += counts[j];
    l->train_prior = wn_xcalloc((size_t)k, sizeof(double)); // (K)
    for (int j = 0; j < k; j++) {
        /* a class with no training photo never occurs in a batch; its tiny prior only keeps the
         * class weights and offsets finite */
        double n = counts[j] > 0 ? (double)counts[j] : 0.5;
        l->train_prior[j] = n / (double)(total > 0 ? total : 1);
    }
    l->w_host = wn_xcalloc((size_t)batch, sizeof(float)); // (batch)
    l->off_host = wn_xcalloc((size_t)k, sizeof(float));   // (K)
    l->w_dev = wn_balloc(be, (size_t)batch, "loss weights", e);
    l->off_dev = wn_balloc(be, (size_t)k, "logit offsets", e);
    if (!l->w_dev || !l->off_dev) return WN_ERUNTIME;
    if (c->mixup > 0) {
        l->w2_host = wn_xcalloc((size_t)batch, sizeof(float)); // (batch)
        l->w2_dev = wn_balloc(be, (size_t)batch, "loss weights", e);
        if (!l->w2_dev) return WN_ERUNTIME;
    }
    l->use_off = wn_loss_offsets(l->kind, l->tau, k, l->train_prior, l->off_host);
    if (l->use_off)
        return be->ops->upload(be->ctx, l->off_dev, l->off_host, (size_t)k * sizeof(float), e);
    return WN_OK;
}

int wn_loss_batch(wn_loss *l, int m, const int32_t *labels, const float *logits,
                  const int32_t *labels_dev, float *probs, float *dlogits, double *loss,
                  wn_err *e) {
    const wn_backend_ops *ops = l->be->ops;
    void *ctx = l->be->ctx;
    l->use_w = wn_loss_weights(l->kind, l->prior, l->k, m, labels, l->train_prior, l->w_host);
    if (l->use_w) {
        int rc = ops->upload(ctx, l->w_dev, l->w_host, (size_t)m * sizeof(float), e);
        if (rc) return rc;
    }
    const float *w = l->use_w ? l->w_dev : NULL, *off = l->use_off ? l->off_dev : NULL;
    if (l->kind == WN_LOSS_FOCAL)
        ops->focal_xent(ctx, m, l->k, logits, labels_dev, w, off, (float)l->gamma, probs, dlogits,
                        loss);
    else
        ops->softmax_xent(ctx, m, l->k, logits, labels_dev, w, off, probs, dlogits, loss);
    return WN_OK;
}

/* One term of the mixup loss: the loss's weights for labels (or 1/m) times scale, into w_host
 * and w_dev, then the loss op. */
static void mix_term(wn_loss *l, int m, const int32_t *labels, double scale, float *w_host,
                     float *w_dev, const float *logits, const int32_t *labels_dev, float *probs,
                     float *dlogits, double *loss, int *rc, wn_err *e) {
    const wn_backend_ops *ops = l->be->ops;
    void *ctx = l->be->ctx;
    if (!wn_loss_weights(l->kind, l->prior, l->k, m, labels, l->train_prior, w_host))
        for (int i = 0; i < m; i++) w_host[i] = 1.0f / (float)m;
    for (int i = 0; i < m; i++) w_host[i] = (float)(w_host[i] * scale);
    if ((*rc = ops->upload(ctx, w_dev, w_host, (size_t)m * sizeof(float), e))) return;
    const float *off = l->use_off ? l->off_dev : NULL;
    if (l->kind == WN_LOSS_FOCAL)
        ops->focal_xent(ctx, m, l->k, logits, labels_dev, w_dev, off, (float)l->gamma, probs, dlogits, loss);
    else
        ops->softmax_xent(ctx, m, l->k, logits, labels_dev, w_dev, off, probs, dlogits, loss);
}

int wn_loss_batch_mix(wn_loss *l, int m, const int32_t *labels, const int32_t *labels2, float lam,
                      const float *logits, const int32_t *labels_dev, const int32_t *labels2_dev,
                      float *probs, float *dlogits, float *gtmp, double *loss, wn_err *e) {
    if (!l->w2_dev) return wn_err_set(e, WN_ERUNTIME, "mixup loss of a loss created without mixup");
    double l1 = 0, l2 = 0;
    int rc = WN_OK;
    mix_term(l, m, labels, lam, l->w_host, l->w_dev, logits, labels_dev, probs, dlogits, &l1, &rc, e);
    if (!rc) mix_term(l, m, labels2, 1.0 - lam, l->w2_host, l->w2_dev, logits, labels2_dev, NULL, gtmp,
                      &l2, &rc, e);
    if (rc) return rc;
    l->be->ops->axpy(l->be->ctx, (size_t)m * l->k, 1.0f, gtmp, dlogits);
    *loss = l1 + l2;
    return WN_OK;
}

void wn_loss_free(wn_loss *l) {
    if (l->be) {
        if (l->w2_dev) l->be->ops->free(l->be->ctx, l->w2_dev);
        if (l->w_dev) l->be->ops->free(l->be->ctx, l->w_dev);
        if (l->off_dev) l->be->ops->free(l->be->ctx, l->off_dev);
    }
    free(l->train_prior);
    free(l->w_host);
    free(l->w2_host);
    free(l->off_host);
    memset(l, 0, sizeof *l);
}
