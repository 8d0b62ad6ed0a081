/* train_overfit.c - `--overfit-check N`, the first debugging step for a run that does not
 * learn: can the network fit N training photos (every class present), predicting each of them
 * right? No augmentation; the loss is the configured one with the priors of those N photos.
 * Nothing is written. */
#include <stdlib.h>
#include <string.h>

#include "train_internal.h"

/* Passes over the N photos before the check gives up. */
#define WN_OVERFIT_PASSES 300

void wn_overfit_pick(const int32_t *labels, int n_all, int k, int n, uint64_t seed, int *ids) {
    int *count = wn_xcalloc((size_t)k, sizeof(int)), *pos = wn_xcalloc((size_t)k, sizeof(int));
    int **list = wn_xcalloc((size_t)k, sizeof(int *)); // (K) photo indices of each class
    for (int i = 0; i < n_all; i++) count[labels[i]]++;
    for (int c = 0; c < k; c++) list[c] = wn_xmalloc((size_t)(count[c] ? count[c] : 1) * sizeof(int));
    memset(pos, 0, (size_t)k * sizeof(int));
    for (int i = 0; i < n_all; i++) list[labels[i]][pos[labels[i]]++] = i;
    wn_rng rng;
    wn_rng_seed(&rng, seed, 77);
    for (int c = 0; c < k; c++) {
        wn_rng_shuffle(&rng, list[c], count[c]);
        pos[c] = 0;
    }
    int got = 0;
    while (got < n && got < n_all)
        for (int c = 0; c < k && got < n; c++)
            if (pos[c] < count[c]) ids[got++] = list[c][pos[c]++];
    for (int c = 0; c < k; c++) free(list[c]);
    free(list);
    free(count);
    free(pos);
}

int wn_run_overfit_check(wn_run *r, int n, wn_err *e) {
    int k = r->net.n_classes;
    if (n < k)
        return wn_err_set(e, WN_EINPUT, "--overfit-check %d: needs at least %d photos, one per "
                          "class", n, k);
    if (n > r->ctrain.n)
        return wn_err_set(e, WN_EINPUT, "--overfit-check %d: the training set has only %d "
                          "readable photos", n, r->ctrain.n);
    int *ids = wn_xmalloc((size_t)n * sizeof(int));        // (N) cache indices
    int32_t *labels = wn_xmalloc((size_t)n * sizeof(int32_t)); // (N)
    long *counts = wn_xcalloc((size_t)k, sizeof(long));        // (K)
    wn_overfit_pick(r->ctrain.labels, r->ctrain.n, k, n, r->cfg.seed, ids);
    for (int i = 0; i < n; i++) {
        labels[i] = r->ctrain.labels[ids[i]];
        counts[labels[i]]++;
    }
    fprintf(stderr, "overfit check: training on %d photos (", n);
    for (int c = 0; c < k; c++)
        fprintf(stderr, "%s%ld %s", c ? ", " : "", counts[c], r->train.class_names[c]);
    fprintf(stderr, ") with loss %s, up to %d passes, no augmentation\n", wn_loss_name(r->cfg.loss),
            WN_OVERFIT_PASSES);
    wn_sampler smp = {0};
    wn_confusion cm;
    wn_confusion_init(&cm, k);
    int rc = wn_loss_create(&r->loss, &r->cfg, counts, k, r->cfg.batch, &r->be, e);
    if (!rc) rc = wn_sampler_create(&smp, WN_SAMPLER_SHUFFLE, labels, n, k, r->cfg.batch, 1,
                                    r->cfg.seed, e);
    int fitted = 0, pass = 0, right = 0;
    wn_epoch_stats st = {0};
    for (pass = 0; !rc && pass < WN_OVERFIT_PASSES && !fitted; pass++) {
        char label[64];
        snprintf(label, sizeof label, "overfit pass %d", pass + 1);
        rc = wn_run_epoch(r, &smp, ids, pass, 0, label, &st, e);
        double vl;
        if (!rc) rc = wn_run_validate(r, &r->ctrain, ids, n, &cm, &vl, e);
        if (rc) break;
        right = 0;
        for (int c = 0; c < k; c++) right += (int)cm.m[(size_t)c * k + c];
        fitted = right == n;
        if (!r->o->quiet && ((pass + 1) % 25 == 0 || fitted))
            fprintf(stderr, "  pass %3d: training loss %.4f, %d of %d predicted right\n", pass + 1,
                    st.loss, right, n);
    }
    if (!rc && fitted)
        fprintf(stderr, "overfit check passed: the network fits all %d photos after %d passes "
                "(training loss %.4f); it can learn this data, so if full training does not, look "
                "at the loss, the sampler, the learning rate and the validation photos\n", n, pass,
                st.loss);
    else if (!rc)
        rc = wn_err_set(e, WN_ERUNTIME, "overfit check failed: after %d passes the network still "
                        "gets %d of %d photos wrong (training loss %.4f); check the labels (are "
                        "identical photos labelled differently?), try a smaller --lr, or a larger "
                        "network", pass, n - right, n, st.loss);
    if (smp.n) wn_sampler_free(&smp);
    wn_confusion_free(&cm);
    free(ids);
    free(labels);
    free(counts);
    return rc;
}
