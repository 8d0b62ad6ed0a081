/* data_internal.h - helpers shared by the data set readers in src/data/ (folder scan, CSV
 * manifest, dataset finishing); not part of the public API (see wn_data.h). */
#ifndef WN_DATA_INTERNAL_H
#define WN_DATA_INTERNAL_H

#include "wn_data.h"

/* Distinct class names a data set may hold (a label column pointing at the wrong column would
 * otherwise make one class per photo). */
#define WN_DATA_MAX_CLASSES 1000

/* Collects (path, class) pairs while a folder or manifest is read, then builds the wn_dataset. */
typedef struct wn_ds_builder {
    wn_sample *items;             /* (n) label = index into names (or into fixed) */
    int n, cap;
    char **names;                 /* (n_names) discovered class names, first-seen order, owned */
    int n_names, cap_names, last_hit;
    const char *const *fixed;     /* (n_fixed) the model's class list, or NULL; not owned */
    int n_fixed;
} wn_ds_builder;

void wn_dsb_init(wn_ds_builder *b, const char *const *fixed, int n_fixed);
void wn_dsb_free(wn_ds_builder *b);
/* Index of class name: with a fixed list its index there or -1 when absent; otherwise the
 * discovered index, adding the name when new, or -2 when WN_DATA_MAX_CLASSES are exceeded. */
int wn_dsb_class(wn_ds_builder *b, const char *name);
/* Appends a sample; takes ownership of path. Fails (and frees path) past INT_MAX photos. */
int wn_dsb_add(wn_ds_builder *b, char *path, int label, const char *source, wn_err *e);
/* Writes "a, b, c" (the class list) into buf for messages. */
void wn_dsb_class_list(const wn_ds_builder *b, char *buf, size_t n);
/* Builds ds (class order: fixed list, or strcmp order with ok_class first; items sorted by
 * path) and empties b. */
void wn_dsb_finish(wn_ds_builder *b, const char *ok_class, const char *source, wn_dataset *ds);

/* Readers behind wn_dataset_open; b is initialised by the caller and freed by it. */
int wn_data_read_dir(const char *dir, wn_ds_builder *b, wn_err *e);
int wn_data_read_manifest(const char *path, wn_ds_builder *b, wn_err *e);

/* 1 when name ends in .jpg, .jpeg or .png (any case). */
int wn_data_is_photo_name(const char *name);
/* dir + "/" + name, malloc'ed (no doubled slash when dir ends in '/'). */
char *wn_data_join(const char *dir, const char *name);

/* batch_warp.c: dst (C, H, W) = the photo src (C, H, W), shifted by the crop offset (dy, dx) of
 * the photo zero-padded by pad, mirrored when flip, rotated by angle_deg and zoomed by zoom (> 0;
 * above 1 enlarges) about its centre, sampled bilinearly with black outside, normalised with
 * mean (C) and std (C). Output (r, q) reads the photo at (cy, cx) + R(angle)/zoom . (r - cy,
 * q' - cx) + (dy - pad, dx - pad), q' = W-1-q when flipped, (cy, cx) = ((H-1)/2, (W-1)/2). */
void wn_batch_warp(float *dst, const uint8_t *src, const float *mean, const float *std, int C,
                   int H, int W, int pad, int dy, int dx, int flip, double angle_deg, double zoom);

/* Storage of the decoded cache: malloc'ed when bytes <= mem_limit, else an unlinked temporary
 * file in cache_dir (NULL: $TMPDIR or /tmp) grown with posix_fallocate and mapped. */
typedef struct wn_cache_store {
    uint8_t *pix;   /* (bytes) */
    size_t bytes;   /* usable size */
    size_t map_len; /* length mapped (mapped only) */
    int mapped;
    int fd;         /* the cache file while building, -1 otherwise */
} wn_cache_store;

int wn_cache_store_alloc(size_t bytes, size_t mem_limit, const char *cache_dir, wn_cache_store *s,
                         wn_err *e);
/* Shrinks to bytes (releasing the rest of the memory or file) and closes the file. */
void wn_cache_store_shrink(wn_cache_store *s, size_t bytes);
/* Releases the storage (pix with its usable size; mapped says munmap or free). */
void wn_cache_store_release(uint8_t *pix, size_t bytes, int mapped);

#endif
