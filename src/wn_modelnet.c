/* wn_modelnet.c - network <-> model file conversion and batched evaluation-mode inference. */
#include "wn_modelnet.h"

#include <stdlib.h>
#include <string.h>

static int download_tensor(const wn_net *net, int i, wn_named_tensor *t, wn_err *e) {
    wn_tensor_ref r;
    wn_net_tensor(net, i, &r);
    t->name = wn_xstrdup(r.name);
    t->ndim = r.ndim;
    for (int d = 0; d < 4; d++) t->dims[d] = d < r.ndim ? r.dims[d] : 0;
    t->data = wn_xmalloc(r.count * sizeof(float));
    return net->be->ops->download(net->be->ctx, t->data, r.data, r.count * sizeof(float), e);
}

int wn_model_from_net(const wn_net *net, char *const *class_names, const long *class_counts,
                      const float *mean, const float *std, const char *meta, wn_model *m,
                      wn_err *e) {
    memset(m, 0, sizeof *m);
    if (net->n_folded) /* its convolutions hold merged batchnorm values, not the model's */
        return wn_err_set(e, WN_ERUNTIME, "a network with batchnorm folded for inference cannot "
                                          "be saved as a model");
    m->net_ini = wn_xstrdup(net->def.ini_text ? net->def.ini_text : "");
    m->n_classes = net->n_classes;
    m->class_names = wn_xcalloc(net->n_classes, sizeof(char *));
    m->class_counts = wn_xcalloc(net->n_classes, sizeof(long));
    for (int j = 0; j < net->n_classes; j++) {
        m->class_names[j] = wn_xstrdup(class_names[j]);
        m->class_counts[j] = class_counts ? class_counts[j] : 0;
    }
    m->in_c = net->def.in_c;
    m->in_h = net->def.in_h;
    m->in_w = net->def.in_w;
    for (int c = 0; c < 3; c++) {
        m->mean[c] = mean[c < net->def.in_c ? c : 0];
        m->std[c] = std[c < net->def.in_c ? c : 0];
    }
    m->meta = meta ? wn_xstrdup(meta) : NULL;
    int n = wn_net_tensor_count(net);
    m->tensors = wn_xcalloc(n, sizeof(wn_named_tensor));
    for (int i = 0; i < n; i++) {
        m->n_tensors = i + 1;
        if (download_tensor(net, i, &m->tensors[i], e)) return e ? e->code : WN_ERUNTIME;
    }
    return WN_OK;
}

int wn_net_load_tensors(wn_net *net, const wn_model *m, const char *path, wn_err *e) {
    int n = wn_net_tensor_count(net);
    for (int i = 0; i < n; i++) {
        wn_tensor_ref r;
        wn_net_tensor(net, i, &r);
        const wn_named_tensor *t = wn_model_find(m, r.name);
        if (!t) return wn_err_set(e, WN_EINPUT, "%s: tensor %s is missing", path, r.name);
        int same = t->ndim == r.ndim;
        for (int d = 0; same && d < r.ndim; d++) same = t->dims[d] == r.dims[d];
        if (!same)
            return wn_err_set(e, WN_EINPUT, "%s: tensor %s has a shape that does not match the network",
                              path, r.name);
        int rc = net->be->ops->upload(net->be->ctx, r.data, t->data, r.count * sizeof(float), e);
        if (rc) return rc;
    }
    return WN_OK;
}

int wn_net_from_model(const wn_model *m, const char *path, wn_backend *be, wn_net *net,
                      wn_err *e) {
    wn_netdef def;
    int rc = wn_netdef_parse_string(m->net_ini, path, &def, e);
    if (rc) return rc;
    /* the normalisation actually used in training overrides "auto" in the INI */
    for (int c = 0; c < 3; c++) {
        def.mean[c] = m->mean[c];
        def.std[c] = m->std[c];
    }
    def.norm_auto = 0;
    rc = wn_net_create(&def, m->n_classes, be, net, e);
    wn_netdef_free(&def);
    if (rc) return wn_err_prefix(e, "%s", path);
    rc = wn_net_load_tensors(net, m, path, e);
    if (rc) wn_net_free(net);
    return rc;
}

int wn_net_for_inference(const wn_model *m, const char *path, wn_backend *be, wn_net *net,
                         wn_err *e) {
    int rc = wn_net_from_model(m, path, be, net, e);
    if (rc) return rc;
    if ((rc = wn_net_fold_batchnorm(net, NULL, e))) {
        wn_net_free(net);
        return wn_err_prefix(e, "%s", path);
    }
    return WN_OK;
}

int wn_predict_cache(wn_net *net, const wn_cache *cache, const int *ids, int count, int batch,
                     const float *mean, const float *std, float *probs, double *loss, wn_err *e) {
    const wn_backend_ops *ops = net->be->ops;
    void *ctx = net->be->ctx;
    int k = net->n_classes;
    size_t sample = (size_t)cache->c * cache->h * cache->w;
    int rc = wn_net_reserve(net, batch, 0, e);
    if (rc) return rc;
    float *xh = wn_xmalloc((size_t)batch * sample * sizeof(float)); // (B, C, H, W) host
    int32_t *yh = wn_xmalloc((size_t)batch * sizeof(int32_t));      // (B) host
    int *bid = wn_xmalloc((size_t)batch * sizeof(int));
    float *xd = wn_balloc(net->be, (size_t)batch * sample, "input batch", e); // (B, C, H, W)
    int32_t *yd = ops->alloc(ctx, (size_t)batch * sizeof(int32_t));          // (B)
    float *pd = wn_balloc(net->be, (size_t)batch * k, "probabilities", e);    // (B, K)
    double total = 0;
    if (!xd || !yd || !pd) {
        rc = wn_err_set(e, WN_ERUNTIME, "out of %s memory for inference", ops->name);
        goto done;
    }
    for (int s = 0; s < count; s += batch) {
        int n = count - s < batch ? count - s : batch;
        for (int i = 0; i < n; i++) bid[i] = ids ? ids[s + i] : s + i;
        wn_batch_fill(cache, bid, n, mean, std, NULL, NULL, xh, yh);
        if ((rc = ops->upload(ctx, xd, xh, (size_t)n * sample * sizeof(float), e))) goto done;
        if ((rc = ops->upload(ctx, yd, yh, (size_t)n * sizeof(int32_t), e))) goto done;
        const float *logits = wn_net_forward(net, n, xd, 0, 0); // (n, K)
        double l = 0;
        ops->softmax_xent(ctx, n, k, logits, yd, NULL, NULL, pd, NULL, &l);
        total += l * n;
        if ((rc = ops->download(ctx, probs + (size_t)s * k, pd, (size_t)n * k * sizeof(float), e)))
            goto done;
    }
    if (loss) *loss = count ? total / count : 0;
done:
    if (xd) ops->free(ctx, xd);
    if (yd) ops->free(ctx, yd);
    if (pd) ops->free(ctx, pd);
    free(xh);
    free(yh);
    free(bid);
    return rc;
}
