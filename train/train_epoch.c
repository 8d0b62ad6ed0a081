/* train_epoch.c - one training epoch (the sampler's minibatches: assemble and augment on the
 * host, upload, forward, loss on the backend, backward, optimizer step with the scheduled
 * learning rate) and the evaluation-mode validation pass into a confusion matrix. */
#include <math.h>
#include <stdlib.h>

#include "train_internal.h"
#include "wn_modelnet.h"
#include "wn_progress.h"

int wn_run_epoch(wn_run *r, wn_sampler *smp, const int *pool, int epoch, int augment,
                 const char *label, wn_epoch_stats *st, wn_err *e) {
    wn_backend *be = &r->be;
    const wn_backend_ops *ops = be->ops;
    int k = r->net.n_classes, bs = r->cfg.batch, n = smp->epoch_len;
    size_t sample = (size_t)r->ctrain.c * r->ctrain.h * r->ctrain.w;
    int *order = wn_xmalloc((size_t)(n ? n : 1) * sizeof(int)); // (epoch_len) sampler indices
    wn_sampler_epoch(smp, epoch, &r->rng, order);
    if (pool)
        for (int i = 0; i < n; i++) order[i] = pool[order[i]];
    float *xh = wn_xmalloc((size_t)bs * sample * sizeof(float)); // (B, C, H, W)
    int32_t *yh = wn_xmalloc((size_t)bs * sizeof(int32_t));      // (B)
    float *ph = wn_xmalloc((size_t)bs * k * sizeof(float));      // (B, K)
    float *xd = wn_balloc(be, (size_t)bs * sample, "input batch", e);   // (B, C, H, W)
    int32_t *yd = ops->alloc(be->ctx, (size_t)bs * sizeof(int32_t));  // (B)
    float *pd = wn_balloc(be, (size_t)bs * k, "probabilities", e);      // (B, K)
    float *gd = wn_balloc(be, (size_t)bs * k, "logit gradients", e);    // (B, K)
    wn_augment aug = {r->cfg.crop, r->cfg.flip};
    int use_aug = augment && (aug.crop_pad > 0 || aug.flip);
    int rc = (xd && yd && pd && gd) ? WN_OK : wn_err_set(e, WN_ERUNTIME, "out of %s memory", ops->name);
    double total = 0;
    long right = 0;
    char extra[64];
    wn_progress pr;
    wn_progress_start(&pr, label, "img", n, r->o->quiet);
    int batches = (n + bs - 1) / bs;
    for (int b = 0; b < batches && !rc; b++) {
        int s = b * bs, m = n - s < bs ? n - s : bs;
        wn_batch_fill(&r->ctrain, order + s, m, r->mean, r->std, use_aug ? &aug : NULL, &r->rng, xh, yh);
        if ((rc = ops->upload(be->ctx, xd, xh, (size_t)m * sample * sizeof(float), e))) break;
        if ((rc = ops->upload(be->ctx, yd, yh, (size_t)m * sizeof(int32_t), e))) break;
        uint64_t seed = r->cfg.seed * 0x9E3779B97F4A7C15ull + (uint64_t)r->opt.step;
        const float *logits = wn_net_forward(&r->net, m, xd, 1, seed); // (m, K)
        double l = 0;
        if ((rc = wn_loss_batch(&r->loss, m, yh, logits, yd, pd, gd, &l, e))) break;
        if (!isfinite(l)) {
            rc = wn_err_set(e, WN_ERUNTIME,
                            "epoch %d batch %d: the loss is %g; training diverged (try a smaller --lr)",
                            epoch + 1, b + 1, l);
            break;
        }
        wn_net_backward(&r->net, m, xd, gd);
        wn_optim_step(&r->opt, wn_train_lr(&r->cfg, epoch + (double)b / batches));
        if ((rc = ops->download(be->ctx, ph, pd, (size_t)m * k * sizeof(float), e))) break;
        for (int i = 0; i < m; i++) {
            int best = 0;
            for (int j = 1; j < k; j++)
                if (ph[i * k + j] > ph[i * k + best]) best = j;
            right += best == yh[i];
        }
        /* l is the batch's loss (a mean over its photos); the epoch's is their photo-weighted mean */
        total += l * m;
        snprintf(extra, sizeof extra, "loss %.4f", total / (s + m));
        wn_progress_update(&pr, s + m, extra);
    }
    double secs = wn_progress_end(&pr);
    st->loss = n ? total / n : 0;
    st->accuracy = n ? (double)right / n : 0;
    st->images_per_s = secs > 0 ? n / secs : 0;
    if (xd) ops->free(be->ctx, xd);
    if (yd) ops->free(be->ctx, yd);
    if (pd) ops->free(be->ctx, pd);
    if (gd) ops->free(be->ctx, gd);
    free(xh);
    free(yh);
    free(ph);
    free(order);
    return rc;
}

int wn_run_validate(wn_run *r, const wn_cache *cache, const int *ids, int count,
                    wn_confusion *cm, double *loss, wn_err *e) {
    int k = r->net.n_classes;
    float *probs = wn_xmalloc((size_t)(count ? count : 1) * k * sizeof(float)); // (N, K)
    int *labels = wn_xmalloc((size_t)(count ? count : 1) * sizeof(int));        // (N)
    int rc = wn_predict_cache(&r->net, cache, ids, count, r->cfg.batch, r->mean, r->std, probs,
                              loss, e);
    if (!rc) {
        for (int i = 0; i < count; i++) labels[i] = cache->labels[ids ? ids[i] : i];
        wn_confusion_reset(cm);
        wn_confusion_add_probs(cm, count, probs, labels);
    }
    free(probs);
    free(labels);
    /* the next training forward needs the training buffers again */
    if (!rc) rc = wn_net_reserve(&r->net, r->cfg.batch, 1, e);
    return rc;
}
