/* train_data.c - the photos of a training run: opens the training and validation sets (or a
 * stratified split), decodes them into caches, prints the data report on what was actually
 * read, and sets the input normalisation. */
#include <stdlib.h>
#include <string.h>

#include "train_internal.h"

int wn_run_open_data(wn_run *r, wn_err *e) {
    const wn_train_opts *o = r->o;
    int rc = wn_dataset_open(o->data, NULL, 0, o->ok_class, &r->train, e);
    if (rc) return rc;
    if (o->val) {
        rc = wn_dataset_open(o->val, (const char *const *)r->train.class_names, r->train.n_classes,
                             o->ok_class, &r->val, e);
        if (rc) return rc;
    } else {
        wn_dataset all = r->train;
        wn_dataset_split(&all, r->cfg.val_split, r->cfg.seed, &r->train, &r->val);
        wn_dataset_free(&all);
    }
    if (r->train.n_classes < 2)
        return wn_err_set(e, WN_EINPUT, "%s: training needs at least 2 classes, found %d", o->data,
                          r->train.n_classes);
    return WN_OK;
}

static void set_normalisation(wn_run *r) {
    int c = r->def.in_c;
    if (r->def.norm_auto) {
        wn_cache_stats(&r->ctrain, r->mean, r->std);
        for (int ch = 0; ch < c; ch++)
            if (r->std[ch] < 1e-6f) r->std[ch] = 1;
        fprintf(stderr, "normalisation from the training photos: mean");
        for (int ch = 0; ch < c; ch++) fprintf(stderr, " %.4f", r->mean[ch]);
        fprintf(stderr, ", std");
        for (int ch = 0; ch < c; ch++) fprintf(stderr, " %.4f", r->std[ch]);
        fprintf(stderr, "\n");
    } else {
        memcpy(r->mean, r->def.mean, sizeof r->mean);
        memcpy(r->std, r->def.std, sizeof r->std);
    }
    for (int ch = c; ch < 3; ch++) {
        r->mean[ch] = r->mean[0];
        r->std[ch] = r->std[0];
    }
}

int wn_run_build_caches(wn_run *r, wn_err *e) {
    const wn_train_opts *o = r->o;
    size_t mem = (size_t)(o->cache_mem_mb * 1024 * 1024);
    int c = r->def.in_c, h = r->def.in_h, w = r->def.in_w, k = r->train.n_classes;
    int rc = wn_cache_build(&r->train, c, h, w, r->cfg.threads, o->strict, mem, o->cache_dir,
                            !o->quiet, &r->ctrain, e);
    if (rc) return rc;
    rc = wn_cache_build(&r->val, c, h, w, r->cfg.threads, o->strict, mem, o->cache_dir, !o->quiet,
                        &r->cval, e);
    if (rc) return rc;
    int bad = r->ctrain.n_bad + r->cval.n_bad;
    if (bad) {
        fprintf(stderr, "warning: %d unreadable photo%s skipped (--strict makes this fatal):\n", bad,
                bad == 1 ? "" : "s");
        for (int i = 0; i < r->ctrain.n_bad; i++) fprintf(stderr, "  %s\n", r->ctrain.bad[i]);
        for (int i = 0; i < r->cval.n_bad; i++) fprintf(stderr, "  %s\n", r->cval.bad[i]);
    }
    if (r->cval.n == 0) return wn_err_set(e, WN_EINPUT, "no readable validation photos");
    /* class counts as actually trained on (unreadable photos excluded) */
    r->counts = wn_xcalloc((size_t)k, sizeof(long));
    r->val_counts = wn_xcalloc((size_t)k, sizeof(long));
    for (int i = 0; i < r->ctrain.n; i++) r->counts[r->ctrain.labels[i]]++;
    for (int i = 0; i < r->cval.n; i++) r->val_counts[r->cval.labels[i]]++;
    wn_data_report(stderr, k, r->train.class_names, r->counts, r->val_counts, o->data,
                   o->val ? o->val : "stratified split of the training photos");
    for (int j = 0; j < k; j++)
        if (!r->counts[j])
            return wn_err_set(e, WN_EINPUT, "%s: class '%s' has no readable training photo",
                              o->data, r->train.class_names[j]);
    set_normalisation(r);
    return WN_OK;
}
