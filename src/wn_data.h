/* wn_data.h - labelled photo sets: a folder with one subfolder per class (searched recursively)
 * or a CSV manifest (path,label); stratified splits; the decoded cache (each photo decoded once
 * per run, on all cores); and minibatch assembly with augmentation and normalisation.
 *
 * Class order: class names sorted by strcmp, then the ok class (default name "ok") moved to
 * index 0 when present. A model's class list, when given, fixes the order instead. */
#ifndef WN_DATA_H
#define WN_DATA_H

#include <stddef.h>
#include <stdint.h>

#include "wn_err.h"
#include "wn_rng.h"

typedef struct wn_sample {
    char *path; /* owned */
    int label;  /* index into class_names */
} wn_sample;

typedef struct wn_dataset {
    int n;               /* number of samples */
    wn_sample *items;    /* (n), sorted by path for determinism */
    int n_classes;
    char **class_names;  /* (n_classes), owned */
    char *source;        /* folder or manifest path it came from, owned */
} wn_dataset;

/* Opens a folder of class subfolders or, when path is a regular file, a CSV manifest with a
 * header row "path,label" (relative paths are relative to the manifest's folder).
 * classes: NULL to discover the classes (then ok_class, default "ok" when NULL, goes first), or
 * a fixed list of n_fixed names; a folder or label outside a fixed list is an input error.
 * Errors (each names the file/folder): missing folder, no class subfolders, an empty class
 * folder, a manifest without header/columns, a label not among the classes, no photos. */
int wn_dataset_open(const char *path, const char *const *classes, int n_fixed,
                    const char *ok_class, wn_dataset *ds, wn_err *e);
void wn_dataset_free(wn_dataset *ds);

/* Per-class counts into counts (n_classes). */
void wn_dataset_counts(const wn_dataset *ds, long *counts);

/* Stratified split: within each class, a seeded shuffle sends round(frac*count) photos to val
 * (at least 1 when the class has 2 or more). train and val receive deep copies (free both). */
void wn_dataset_split(const wn_dataset *ds, double val_frac, uint64_t seed, wn_dataset *train,
                      wn_dataset *val);

/* The decoded cache: every photo resized to (C, H, W) uint8, decoded once. Unreadable photos are
 * listed (path and reason) and left out, unless strict, where the first one is fatal. Large
 * caches (over mem_limit bytes) live in an unlinked file under cache_dir (NULL: $TMPDIR or /tmp),
 * mapped into memory, so a full disk is reported as such. */
typedef struct wn_cache {
    int n, c, h, w;      /* n photos that decoded */
    uint8_t *pix;        /* (N, C, H, W) */
    int32_t *labels;     /* (N) */
    int *index;          /* (N) index of each cached photo in the dataset */
    int n_bad;           /* photos left out */
    char **bad;          /* (n_bad) "path: reason", owned */
    size_t bytes;        /* size of pix */
    int mapped;          /* pix is an mmap of a file */
} wn_cache;

/* threads: decoding threads (0 = all cores). progress: print a progress line on stderr. */
int wn_cache_build(const wn_dataset *ds, int c, int h, int w, int threads, int strict,
                   size_t mem_limit, const char *cache_dir, int progress, wn_cache *cache,
                   wn_err *e);
void wn_cache_free(wn_cache *cache);

/* Per-channel mean and standard deviation of the cached pixels scaled to [0, 1]. */
void wn_cache_stats(const wn_cache *cache, float *mean, float *std);

/* Augmentation applied while a batch is assembled (training only). */
typedef struct wn_augment {
    int crop_pad; /* random crop: pad each side by crop_pad zeros, crop back to H x W (0 = off) */
    int flip;     /* random horizontal flip with probability 0.5 */
    int cutout;   /* Cutout (DeVries and Taylor 2017): a cutout x cutout square at a random centre
                   * (clipped at the borders) set to 0 after normalisation, i.e. to the mean
                   * (0 = off) */
    double rotate; /* random rotation about the centre, uniform in [-rotate, rotate] degrees
                    * (0 = off) */
    double zoom;   /* random zoom about the centre, factor uniform in [1 - zoom, 1 + zoom]
                    * (0 = off; < 1). Rotation and zoom sample bilinearly, black outside */
} wn_augment;

/* lut (C, 256): the normalised value (v/255 - mean[c])/std[c] of every byte v of channel c (std
 * 0 counts as 1), the table wn_batch_fill uses; for the backends' lookup_u8. */
void wn_batch_table(int C, const float *mean, const float *std, float *lut);

/* Fills x (count, C, H, W) with normalised floats ((pix/255 - mean)/std per channel) and y
 * (count) with labels, for the cached photos ids[0..count). aug may be NULL (no augmentation);
 * rng is used only when aug is active. Host memory. */
void wn_batch_fill(const wn_cache *cache, const int *ids, int count, const float *mean,
                   const float *std, const wn_augment *aug, wn_rng *rng, float *x, int32_t *y);

#endif
