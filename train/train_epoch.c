/* train_epoch.c - one training epoch and the evaluation-mode validation pass into a confusion
 * matrix. The epoch's minibatches are assembled and augmented on the host by the prefetch thread
 * (train_prefetch.c) into page-locked buffers; batch b+1 is uploaded (upload_async) into the
 * other of two device buffers while batch b computes: forward, loss on the backend, the
 * predictions downloaded before the backward pass is queued (so the host never waits for it),
 * backward (with sam, a second forward and backward at the ascended weights, train_sam.c),
 * optimizer step with the scheduled learning rate. Same numbers as the sequential loop:
 * the producer draws the augmentation in batch order and hands the generator back. With mixup,
 * each batch is blended on the host (train_mixup.c) before its upload, its partner labels
 * uploaded beside it. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "train_internal.h"
#include "wn_modelnet.h"
#include "wn_progress.h"

/* Queues the upload of a prefetched batch into the device buffers x (B, C, H, W), y (B). */
static int upload_batch(wn_backend *be, float *x, int32_t *y, const wn_prefetch_batch *pb,
                        size_t sample, wn_err *e) {
    int rc = be->ops->upload_async(be->ctx, x, pb->x, (size_t)pb->m * sample * sizeof(float), e);
    if (!rc) rc = be->ops->upload_async(be->ctx, y, pb->y, (size_t)pb->m * sizeof(int32_t), e);
    return rc;
}

/* Mixup state of an epoch: per device-buffer parity the partner labels (host, pinned; device)
 * and the batch's lam. */
typedef struct mix_state {
    int on;
    double alpha;
    uint64_t seed;
    int32_t *y2h[2], *y2d[2]; /* each (B) */
    float lam[2];
    float *tmp;               /* (B, C, H, W) host scratch */
    int *perm;                /* (B) */
    float *g2;                /* (B, K) backend: the second term's logit gradients */
} mix_state;

static int mix_open(mix_state *ms, wn_backend *be, const wn_train_cfg *c, int augment, int bs,
                    size_t sample, int k, wn_err *e) {
    memset(ms, 0, sizeof *ms);
    if (!augment || !(c->mixup > 0)) return WN_OK;
    ms->on = 1;
    ms->alpha = c->mixup;
    ms->seed = c->seed;
    for (int i = 0; i < 2; i++) {
        ms->y2h[i] = be->ops->host_alloc(be->ctx, (size_t)bs * sizeof(int32_t));
        ms->y2d[i] = be->ops->alloc(be->ctx, (size_t)bs * sizeof(int32_t));
        if (!ms->y2h[i] || !ms->y2d[i]) return wn_err_set(e, WN_ERUNTIME, "out of memory for mixup labels");
    }
    ms->tmp = wn_xmalloc((size_t)bs * sample * sizeof(float));
    ms->perm = wn_xmalloc((size_t)bs * sizeof(int));
    ms->g2 = wn_balloc(be, (size_t)bs * k, "mixup logit gradients", e);
    return ms->g2 ? WN_OK : WN_ERUNTIME;
}

/* Blends batch b (host, before its upload) and queues the upload of its partner labels. */
static int mix_prepare(mix_state *ms, wn_backend *be, wn_prefetch_batch *pb, size_t sample, int epoch,
                       int b, wn_err *e) {
    if (!ms->on) return WN_OK;
    int p = b & 1;
    ms->lam[p] = wn_mixup_batch(pb->x, pb->y, ms->y2h[p], pb->m, sample, ms->alpha, ms->seed, epoch, b,
                                ms->tmp, ms->perm);
    return be->ops->upload_async(be->ctx, ms->y2d[p], ms->y2h[p], (size_t)pb->m * sizeof(int32_t), e);
}

static void mix_close(mix_state *ms, wn_backend *be) {
    for (int i = 0; i < 2; i++) {
        if (ms->y2h[i]) be->ops->host_free(be->ctx, ms->y2h[i]);
        if (ms->y2d[i]) be->ops->free(be->ctx, ms->y2d[i]);
    }
    if (ms->g2) be->ops->free(be->ctx, ms->g2);
    free(ms->tmp);
    free(ms->perm);
    memset(ms, 0, sizeof *ms);
}

/* Forward pass of batch b (m photos in x (m, C, H, W), labels y on the backend and yh on the
 * host) in training mode, and its loss: probabilities into pd (m, K), logit gradients into gd
 * (m, K), the batch's mean loss into *l. A loss that is not finite stops the run. */
static int batch_gradient(wn_run *r, const mix_state *mix, int epoch, int b, int m, const float *x,
                          const int32_t *y, const int32_t *yh, uint64_t seed, float *pd, float *gd,
                          double *l, wn_err *e) {
    const float *logits = wn_net_forward(&r->net, m, x, 1, seed); // (m, K)
    int rc;
    if (mix->on)
        rc = wn_loss_batch_mix(&r->loss, m, yh, mix->y2h[b & 1], mix->lam[b & 1], logits, y,
                               mix->y2d[b & 1], pd, gd, mix->g2, l, e);
    else
        rc = wn_loss_batch(&r->loss, m, yh, logits, y, pd, gd, l, e);
    if (!rc && !isfinite(*l))
        rc = wn_err_set(e, WN_ERUNTIME,
                        "epoch %d batch %d: the loss is %g; training diverged (try a smaller --lr%s)",
                        epoch + 1, b + 1, *l, r->sam.w ? " or --sam" : "");
    return rc;
}

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
    int32_t *yh = wn_xmalloc((size_t)bs * sizeof(int32_t));      // (B)
    float *ph = wn_xmalloc((size_t)bs * k * sizeof(float));      // (B, K)
    float *xd[2];   /* two device input buffers: batch b computes in xd[b & 1] */
    int32_t *yd[2];
    for (int i = 0; i < 2; i++) {
        xd[i] = wn_balloc(be, (size_t)bs * sample, "input batch", e);          // (B, C, H, W)
        yd[i] = ops->alloc(be->ctx, (size_t)bs * sizeof(int32_t));            // (B)
    }
    float *pd = wn_balloc(be, (size_t)bs * k, "probabilities", e);      // (B, K)
    float *gd = wn_balloc(be, (size_t)bs * k, "logit gradients", e);    // (B, K)
    wn_augment aug = {r->cfg.crop, r->cfg.flip, r->cfg.cutout, r->cfg.rotate, r->cfg.zoom};
    int use_aug = augment && (aug.crop_pad > 0 || aug.flip || aug.cutout > 0 || aug.rotate > 0 ||
                              aug.zoom > 0);
    wn_fill_cache src = {&r->ctrain, r->mean, r->std, use_aug ? &aug : NULL};
    int rc = (xd[0] && xd[1] && yd[0] && yd[1] && pd && gd)
                 ? WN_OK
                 : wn_err_set(e, WN_ERUNTIME, "out of %s memory", ops->name);
    mix_state mix;
    if (!rc) rc = mix_open(&mix, be, &r->cfg, augment, bs, sample, k, e);
    else memset(&mix, 0, sizeof mix);
    double total = 0;
    long right = 0;
    char extra[64];
    wn_progress pr;
    wn_progress_start(&pr, label, "img", n, r->o->quiet);
    int batches = (n + bs - 1) / bs, used = 0;
    /* the producer owns r->rng from here to wn_prefetch_finish (nothing else draws from it) */
    wn_prefetch *pf = NULL;
    wn_prefetch_batch *cur = NULL;
    if (!rc)
        rc = wn_prefetch_start(&pf, be, order, n, bs, sample, wn_fill_from_cache, &src, &r->rng, e);
    if (!rc && batches > 0 && !(rc = wn_prefetch_next(pf, &cur, e)) &&
        !(rc = mix_prepare(&mix, be, cur, sample, epoch, 0, e)))
        rc = upload_batch(be, xd[0], yd[0], cur, sample, e);
    for (int b = 0; b < batches && !rc; b++) {
        int s = b * bs, m = cur->m;
        float *x = xd[b & 1];
        int32_t *y = yd[b & 1];
        /* batch b is on the device; its host buffers go back to the producer */
        if ((rc = ops->upload_fence(be->ctx, e))) break;
        memcpy(yh, cur->y, (size_t)m * sizeof(int32_t));
        wn_prefetch_release(pf);
        /* batch b+1 uploads into the other buffers while batch b computes */
        if (b + 1 < batches) {
            if ((rc = wn_prefetch_next(pf, &cur, e))) break;
            if ((rc = mix_prepare(&mix, be, cur, sample, epoch, b + 1, e))) break;
            if ((rc = upload_batch(be, xd[(b + 1) & 1], yd[(b + 1) & 1], cur, sample, e))) break;
        }
        used = b + 1;
        uint64_t seed = r->cfg.seed * 0x9E3779B97F4A7C15ull + (uint64_t)r->opt.step;
        double l = 0;
        if ((rc = batch_gradient(r, &mix, epoch, b, m, x, y, yh, seed, pd, gd, &l, e))) break;
        /* the loss op has waited for the forward pass: the predictions are ready, and reading
         * them now does not wait for the backward pass queued next */
        if ((rc = ops->download(be->ctx, ph, pd, (size_t)m * k * sizeof(float), e))) break;
        wn_net_backward(&r->net, m, x, gd);
        if (wn_sam_ascend(&r->sam)) {
            /* the batch again, at the weights RHO along its gradient: the step uses this one */
            double l2 = 0;
            rc = batch_gradient(r, &mix, epoch, b, m, x, y, yh, seed, pd, gd, &l2, e);
            if (!rc) wn_net_backward(&r->net, m, x, gd);
            wn_sam_restore(&r->sam);
            if (rc) break;
        }
        wn_optim_step(&r->opt, wn_train_lr(&r->cfg, epoch + (double)b / batches));
        wn_ema_update(&r->ema, r->opt.step);
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
    if (pf) {
        /* no upload may still read the ring when it is freed */
        wn_err fe = {0};
        int frc = ops->upload_fence(be->ctx, &fe);
        if (frc && !rc) rc = wn_err_set(e, frc, "%s", fe.msg);
        wn_prefetch_finish(pf, used, &r->rng);
    }
    double secs = wn_progress_end(&pr);
    st->loss = n ? total / n : 0;
    st->accuracy = n ? (double)right / n : 0;
    st->images_per_s = secs > 0 ? n / secs : 0;
    for (int i = 0; i < 2; i++) {
        if (xd[i]) ops->free(be->ctx, xd[i]);
        if (yd[i]) ops->free(be->ctx, yd[i]);
    }
    mix_close(&mix, be);
    if (pd) ops->free(be->ctx, pd);
    if (gd) ops->free(be->ctx, gd);
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
