/* dataset.c - wn_dataset_open (folder of class subfolders or CSV manifest), counts and free. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "data_internal.h"

/* A fixed class list must be non-empty, with non-empty, distinct names. */
static int check_fixed(const char *const *classes, int n_fixed, wn_err *e) {
    if (n_fixed < 1) return wn_err_set(e, WN_EINPUT, "the model's class list is empty");
    for (int k = 0; k < n_fixed; k++) {
        if (!classes[k] || !classes[k][0])
            return wn_err_set(e, WN_EINPUT, "the model's class list has an empty name (class %d)", k);
        for (int j = 0; j < k; j++)
            if (strcmp(classes[j], classes[k]) == 0)
                return wn_err_set(e, WN_EINPUT, "the model's class list names '%s' twice", classes[k]);
    }
    return WN_OK;
}

int wn_dataset_open(const char *path, const char *const *classes, int n_fixed,
                    const char *ok_class, wn_dataset *ds, wn_err *e) {
    memset(ds, 0, sizeof *ds);
    if (!path || !path[0]) return wn_err_set(e, WN_EINPUT, "no data folder or manifest given");
    if (classes && check_fixed(classes, n_fixed, e)) return WN_EINPUT;
    struct stat st;
    if (stat(path, &st) != 0) {
        if (errno == ENOENT || errno == ENOTDIR)
            return wn_err_set(e, WN_EINPUT, "%s: no such folder or manifest", path);
        return wn_err_set(e, WN_EINPUT, "%s: cannot open: %s", path, strerror(errno));
    }
    wn_ds_builder b;
    wn_dsb_init(&b, classes, n_fixed);
    int rc;
    if (S_ISDIR(st.st_mode)) {
        rc = wn_data_read_dir(path, &b, e);
    } else if (S_ISREG(st.st_mode) && !wn_data_is_photo_name(path)) {
        rc = wn_data_read_manifest(path, &b, e);
    } else {
        rc = wn_err_set(e, WN_EINPUT,
                        "%s: not a folder (expected a folder with one subfolder per class, or a "
                        "CSV manifest with path and label columns)",
                        path);
    }
    if (rc == WN_OK) wn_dsb_finish(&b, ok_class, path, ds);
    wn_dsb_free(&b);
    return rc;
}

void wn_dataset_free(wn_dataset *ds) {
    if (!ds) return;
    for (int i = 0; i < ds->n; i++) free(ds->items[i].path);
    free(ds->items);
    for (int k = 0; k < ds->n_classes; k++) free(ds->class_names[k]);
    free(ds->class_names);
    free(ds->source);
    memset(ds, 0, sizeof *ds);
}

void wn_dataset_counts(const wn_dataset *ds, long *counts) {
    for (int k = 0; k < ds->n_classes; k++) counts[k] = 0;
    for (int i = 0; i < ds->n; i++) {
        int l = ds->items[i].label;
        if (l >= 0 && l < ds->n_classes) counts[l]++;
    }
}
