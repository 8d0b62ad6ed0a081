/* train_internal.h - what the files of the train stage share: the state of one `weldnet train`
 * run and the steps it is made of (data, epochs, checkpoints and resume, log, overfit check).
 * Internal to train/. */
#ifndef WN_TRAIN_INTERNAL_H
#define WN_TRAIN_INTERNAL_H

#include <stdio.h>

#include "wn_data.h"
#include "wn_metrics.h"
#include "wn_train.h"

typedef struct wn_run {
    const wn_train_opts *o;       /* not owned */
    wn_train_cfg cfg;
    wn_netdef def;
    wn_backend be;
    wn_dataset train, val;
    wn_cache ctrain, cval;
    float mean[3], std[3];
    long *counts;                 /* (K) readable training photos per class, owned */
    long *val_counts;             /* (K) readable validation photos per class, owned */
    wn_net net;
    wn_optim opt;
    wn_ema ema;
    wn_sam sam;
    wn_loss loss;
    wn_sampler sampler;
    wn_rng rng;
    int start_epoch, best_epoch;
    double best_metric;
    char state_path[4096], log_path[4096], prefix[4096]; /* prefix: OUT without .wnet */
    FILE *log;
} wn_run;

/* ---- train_data.c ---- */
/* Opens the photo sets (splitting --data when there is no --val). */
int wn_run_open_data(wn_run *r, wn_err *e);
/* Decodes both sets, lists unreadable photos, counts classes, prints the data report and sets
 * the normalisation. A class left without any readable training photo is an input error. */
int wn_run_build_caches(wn_run *r, wn_err *e);

/* ---- train_epoch.c ---- */
typedef struct wn_epoch_stats {
    double loss, accuracy, images_per_s;
} wn_epoch_stats;
/* One epoch of the sampler smp over the cached training photos pool[0..smp->n) (pool NULL:
 * the photo indices themselves), with augmentation when augment; label names the progress. */
int wn_run_epoch(wn_run *r, wn_sampler *smp, const int *pool, int epoch, int augment,
                 const char *label, wn_epoch_stats *st, wn_err *e);
/* Evaluation-mode predictions of count cached photos ids (NULL = all) of cache into cm (reset
 * first), with the mean cross entropy in *loss. */
int wn_run_validate(wn_run *r, const wn_cache *cache, const int *ids, int count,
                    wn_confusion *cm, double *loss, wn_err *e);

/* ---- train_prefetch.c: the batch producer of an epoch (one thread, a ring of host buffers) ---- */
enum { WN_PREFETCH_DEPTH = 3 }; /* batches in the ring: one uploading, up to two made ahead */
/* Fills x (m, C, H, W) and y (m) for the photos ids[0..m), drawing any randomness from rng;
 * returns a status (and sets e) when the batch cannot be made. Runs on the producer thread. */
typedef int (*wn_batch_fill_fn)(void *arg, const int *ids, int m, wn_rng *rng, float *x,
                                int32_t *y, wn_err *e);
/* The training fill: wn_batch_fill from a decoded cache (arg is a wn_fill_cache). */
typedef struct wn_fill_cache {
    const wn_cache *cache;        /* not owned; nothing else is */
    const float *mean, *std;      /* (C) normalisation */
    const wn_augment *aug;        /* NULL: no augmentation */
} wn_fill_cache;
int wn_fill_from_cache(void *arg, const int *ids, int m, wn_rng *rng, float *x, int32_t *y,
                       wn_err *e);
/* One batch of the ring: valid from wn_prefetch_next until its wn_prefetch_release. */
typedef struct wn_prefetch_batch {
    int index, m;                 /* batch number in the epoch (0-based), photos in it */
    float *x;                     /* (batch, C, H, W) host_alloc memory, owned by the prefetcher */
    int32_t *y;                   /* (batch) labels, same owner */
} wn_prefetch_batch;
typedef struct wn_prefetch wn_prefetch;
/* Starts the producer for the epoch order[0..n) (not copied: it must outlive the prefetcher) in
 * batches of `batch` photos (the last one may be partial) of sample floats each. The producer
 * starts from a copy of *rng and owns it until wn_prefetch_finish: nothing else may draw from
 * the caller's generator meanwhile. On failure nothing is left behind. */
int wn_prefetch_start(wn_prefetch **p, wn_backend *be, const int *order, int n, int batch,
                      size_t sample, wn_batch_fill_fn fill, void *fill_arg, const wn_rng *rng,
                      wn_err *e);
/* Waits for the next batch in epoch order. Fails with the producer's error (e) once the batches
 * made before the failure are taken. At most WN_PREFETCH_DEPTH batches may be taken and not
 * released. */
int wn_prefetch_next(wn_prefetch *p, wn_prefetch_batch **batch, wn_err *e);
/* Gives the oldest taken batch's buffers back to the producer: call it when the host memory is
 * no longer read, i.e. after the backend's upload_fence for its upload. */
void wn_prefetch_release(wn_prefetch *p);
/* Stops the producer (at any point of the epoch), joins it, frees the ring (fence any upload
 * from it first) and p, and sets *rng (when not NULL) to the generator's state after the first
 * `used` batches (used <= batches taken): the state the sequential loop would have. */
void wn_prefetch_finish(wn_prefetch *p, int used, wn_rng *rng);

/* ---- train_resume.c ---- */
int wn_run_save_state(wn_run *r, int epoch, wn_err *e);
int wn_run_load_state(wn_run *r, wn_err *e);
/* Writes the best model (atomically) with the epoch's validation figures in its metadata. */
int wn_run_save_best(wn_run *r, int epoch, double vloss, double vacc, double vbal, wn_err *e);

/* ---- train_log.c: the training log CSV ---- */
typedef struct wn_log_row {
    int epoch;
    double lr, train_loss, train_acc, val_loss, val_acc, val_bal, ips, secs;
    int best;
    double val_f1;
    int collapsed;
} wn_log_row;
/* Header: epoch,lr,train_loss,train_accuracy,val_loss,val_accuracy,val_balanced_accuracy,
 * images_per_s,seconds,best,val_macro_f1,collapsed, then recall_CLASS for each class; every
 * field quoted (libcsv). */
int wn_log_header(FILE *f, int k, char *const *names, const char *path, wn_err *e);
/* One row; recall (K), -1 for a class without validation photos (written empty). */
int wn_log_row_write(FILE *f, const wn_log_row *row, int k, const double *recall,
                     const char *path, wn_err *e);
/* The log read back (for the plots): one entry per data row, NAN where a column is missing. */
typedef struct wn_log_history {
    int n;
    double *epoch, *train_loss, *val_loss, *val_acc, *val_bal, *val_f1, *best; /* (n) each */
} wn_log_history;
int wn_log_read(const char *path, wn_log_history *h, wn_err *e);
void wn_log_history_free(wn_log_history *h);

/* ---- train_overfit.c ---- */
/* --overfit-check N: trains on N training photos with every class present (no augmentation)
 * until the network predicts all of them right or the pass limit; prints the verdict. Returns
 * WN_OK when it fits, WN_ERUNTIME (with the verdict in e) when it does not. */
int wn_run_overfit_check(wn_run *r, int n, wn_err *e);
/* The N photos (indices into labels (n_all)) of the overfit check: round robin over the classes,
 * each class in a seeded random order, so every class is present when N >= K. ids (N). */
void wn_overfit_pick(const int32_t *labels, int n_all, int k, int n, uint64_t seed, int *ids);

#endif
