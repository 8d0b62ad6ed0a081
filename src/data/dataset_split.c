/* dataset_split.c - stratified train/validation split: within each class a seeded shuffle sends
 * round(frac*count) photos to validation (at least 1 when the class has 2 or more, and at least 1
 * always left for training). Both halves keep the dataset's path order and are deep copies. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "wn_data.h"

/* Copies the classes and source of ds and the items with to_val[i] == want into out. */
static void take(const wn_dataset *ds, const unsigned char *to_val, int want, int count,
                 wn_dataset *out) {
    memset(out, 0, sizeof *out);
    out->n_classes = ds->n_classes;
    out->class_names = wn_xcalloc((size_t)(ds->n_classes ? ds->n_classes : 1), sizeof(char *));
    for (int k = 0; k < ds->n_classes; k++) out->class_names[k] = wn_xstrdup(ds->class_names[k]);
    out->source = wn_xstrdup(ds->source ? ds->source : "");
    out->items = wn_xcalloc((size_t)(count ? count : 1), sizeof(wn_sample));
    for (int i = 0; i < ds->n; i++) {
        if (to_val[i] != want) continue;
        out->items[out->n].path = wn_xstrdup(ds->items[i].path);
        out->items[out->n].label = ds->items[i].label;
        out->n++;
    }
}

void wn_dataset_split(const wn_dataset *ds, double val_frac, uint64_t seed, wn_dataset *train,
                      wn_dataset *val) {
    if (!(val_frac > 0)) val_frac = 0; /* also NaN */
    if (val_frac > 1) val_frac = 1;
    int n = ds->n, k_n = ds->n_classes;
    unsigned char *to_val = wn_xcalloc((size_t)(n ? n : 1), 1);      /* (n) 1 = validation */
    int *idx = wn_xmalloc((size_t)(n ? n : 1) * sizeof(int));        /* (n) grouped by class */
    int *start = wn_xcalloc((size_t)k_n + 2, sizeof(int));           /* (n_classes + 1) */
    for (int i = 0; i < n; i++) {
        int l = ds->items[i].label;
        if (l >= 0 && l < k_n) start[l + 1]++;
    }
    for (int k = 0; k < k_n; k++) start[k + 1] += start[k];
    int *fill = wn_xmalloc(((size_t)k_n + 1) * sizeof(int));         /* (n_classes) */
    memcpy(fill, start, (size_t)k_n * sizeof(int));
    for (int i = 0; i < n; i++) {
        int l = ds->items[i].label;
        if (l >= 0 && l < k_n) idx[fill[l]++] = i; /* dataset order within a class */
    }
    int n_val = 0;
    for (int k = 0; k < k_n && val_frac > 0; k++) {
        int m = start[k + 1] - start[k];
        long want = lround(val_frac * m);
        if (m >= 2 && want < 1) want = 1;
        if (want > m - 1) want = m - 1;
        if (want <= 0) continue;
        wn_rng r;
        wn_rng_seed(&r, seed, 0x5017ull + (uint64_t)k); /* one stream per class */
        wn_rng_shuffle(&r, idx + start[k], m);
        for (long j = 0; j < want; j++) to_val[idx[start[k] + j]] = 1;
        n_val += (int)want;
    }
    free(start);
    free(fill);
    wn_dataset t, v; /* built aside, so ds may be one of the outputs */
    take(ds, to_val, 0, n - n_val, &t);
    take(ds, to_val, 1, n_val, &v);
    free(to_val);
    free(idx);
    *train = t;
    *val = v;
}
