/* net_fold.c - batchnorm folded into the convolution before it, for inference. In evaluation
 * mode a batchnorm layer is a per-channel affine map, y = (x - mean) * s + beta with
 * s = gamma / sqrt(var + eps), so after a convolution that feeds nothing else it can be merged
 * into that convolution's weights and bias: w' = w * s (per output channel), b' = (b - mean) * s
 * + beta. The batchnorm then computes nothing (its output is the convolution's, like a layer in
 * place) and one pass over the activations is saved per pair (20 in ResNet-18). The merged bias
 * is kept in the batchnorm's beta slot, so the parameter layout does not change. Only for
 * networks that run inference (classify, calibrate): a folded network refuses training
 * buffers, and its parameters are no longer the model's (nothing saves them). */
#include <assert.h>
#include <math.h>
#include <stdlib.h>

#include "net_internal.h"

/* Folds batchnorm layer i into convolution j (host arithmetic in double). */
static int fold_pair(wn_net *net, int j, int i, wn_err *e) {
    const wn_backend_ops *ops = net->be->ops;
    void *ctx = net->be->ctx;
    wn_layer *conv = &net->layers[j], *bn = &net->layers[i];
    int oc = conv->out.c;
    size_t per = conv->w_count / (size_t)oc; /* C * KH * KW weights per output channel */
    float *w = wn_xmalloc(conv->w_count * sizeof(float)); /* (OC, C, KH, KW) */
    float *p = wn_xmalloc((size_t)5 * oc * sizeof(float)); /* (5, OC): b, gamma, beta, mean, var */
    float *b = p, *gamma = p + oc, *beta = p + 2 * oc, *mean = p + 3 * oc, *var = p + 4 * oc;
    int rc = ops->download(ctx, w, net->params + conv->w_off, conv->w_count * sizeof(float), e);
    for (int c = 0; c < oc; c++) b[c] = 0;
    if (!rc && conv->b_count)
        rc = ops->download(ctx, b, net->params + conv->b_off, (size_t)oc * sizeof(float), e);
    if (!rc) rc = ops->download(ctx, gamma, net->params + bn->w_off, (size_t)oc * sizeof(float), e);
    if (!rc) rc = ops->download(ctx, beta, net->params + bn->b_off, (size_t)oc * sizeof(float), e);
    if (!rc) rc = ops->download(ctx, mean, net->state + bn->s_off, (size_t)2 * oc * sizeof(float), e);
    if (!rc) {
        for (int c = 0; c < oc; c++) {
            double s = (double)gamma[c] / sqrt((double)var[c] + (double)bn->def.eps);
            for (size_t q = 0; q < per; q++) w[c * per + q] = (float)(w[c * per + q] * s);
            beta[c] = (float)(((double)b[c] - mean[c]) * s + beta[c]);
        }
        rc = ops->upload(ctx, net->params + conv->w_off, w, conv->w_count * sizeof(float), e);
    }
    if (!rc) rc = ops->upload(ctx, net->params + bn->b_off, beta, (size_t)oc * sizeof(float), e);
    if (!rc) {
        conv->fold_bias = 1;
        conv->fb_off = bn->b_off;
        bn->folded = 1;
    }
    free(w);
    free(p);
    return rc;
}

int wn_net_fold_batchnorm(wn_net *net, int *n_folded, wn_err *e) {
    assert(net->batch == 0 && "fold before the activation buffers are reserved");
    int nl = net->n_layers, n = 0, rc = WN_OK;
    int *uses = wn_xcalloc((size_t)nl, sizeof *uses); /* (n_layers) consumers of each output */
    for (int i = 0; i < nl; i++) {
        const wn_layer *L = &net->layers[i];
        if (L->in >= 0) uses[L->in]++;
        if (L->def.type == WN_LAYER_ADD && L->other >= 0) uses[L->other]++;
    }
    for (int i = 0; i < nl && rc == WN_OK; i++) {
        const wn_layer *L = &net->layers[i];
        int j = L->in;
        if (L->def.type != WN_LAYER_BATCHNORM || L->folded || j < 0 || uses[j] != 1) continue;
        const wn_layer *C = &net->layers[j];
        if (C->def.type != WN_LAYER_CONV || C->fold_bias) continue;
        if ((rc = fold_pair(net, j, i, e)) == WN_OK) n++;
    }
    free(uses);
    if (rc) return wn_err_prefix(e, "folding batchnorm into the convolutions");
    net->n_folded += n;
    if (n) wn_net_mark_inplace(net); /* a folded batchnorm's output is its convolution's */
    if (n_folded) *n_folded = n;
    return WN_OK;
}
