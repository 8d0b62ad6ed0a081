/* wn_train.h - the train stage: training settings (defaults < [train] in the INI < command
 * line), the optimizer and learning-rate schedule, the losses and samplers for imbalanced data,
 * the data report, the collapse detector, transfer and freezing, plots, and the training run. */
#ifndef WN_TRAIN_H
#define WN_TRAIN_H

#include <stdint.h>
#include <stdio.h>

#include "wn_err.h"
#include "wn_metrics.h"
#include "wn_model.h"
#include "wn_net.h"
#include "wn_rng.h"

enum { WN_OPT_SGD, WN_OPT_ADAM, WN_OPT_ADAMW };
enum { WN_SCHED_NONE, WN_SCHED_STEP, WN_SCHED_COSINE };
enum { WN_SELECT_BALANCED, WN_SELECT_ACCURACY, WN_SELECT_LOSS, WN_SELECT_LAST };
enum { WN_SRC_DEFAULT, WN_SRC_INI, WN_SRC_CLI };
enum { WN_LOSS_CE, WN_LOSS_BAYESIAN, WN_LOSS_WEIGHTED, WN_LOSS_LOGIT_ADJUSTED, WN_LOSS_FOCAL };
enum { WN_PRIOR_BATCH, WN_PRIOR_TRAIN };
enum { WN_PREC_FP32, WN_PREC_BF16 };
enum { WN_SAMPLER_SHUFFLE, WN_SAMPLER_STRATIFIED, WN_SAMPLER_BALANCED, WN_SAMPLER_UNDERSAMPLE,
       WN_SAMPLER_OVERSAMPLE };
#define WN_TRAIN_MAX_KEYS 64

typedef struct wn_train_cfg {
    int epochs, batch;
    int optimizer;               /* WN_OPT_* */
    double lr, momentum, weight_decay, beta1, beta2, eps;
    int nesterov;
    int schedule;                /* WN_SCHED_* */
    int step_size;               /* epochs between step decays (0 = epochs/3) */
    double gamma;                /* step decay factor */
    double warmup;               /* linear warm-up length in epochs (0 = none) */
    uint64_t seed;
    double val_split;            /* share of train sent to validation when no --val */
    int crop, flip, cutout;      /* augmentation: random crop padding, horizontal flip, Cutout side */
    double rotate, zoom;         /* augmentation: rotation range (degrees), zoom range (fraction) */
    double ema;                  /* weight average decay (0 = off), train_ema.c */
    double mixup;                /* mixup Beta(alpha, alpha) parameter (0 = off), train_mixup.c */
    double sam;                  /* sharpness-aware minimisation radius (0 = off), train_sam.c */
    int threads;                 /* CPU threads, 0 = all cores */
    int precision;               /* WN_PREC_*: GPU arithmetic of convolutions and dense layers */
    int select;                  /* metric that picks the best checkpoint: WN_SELECT_* */
    int patience;                /* early stopping after N epochs without improvement (0 = off) */
    int loss;                    /* WN_LOSS_* */
    int prior;                   /* bayesian loss: priors of the minibatch or the training set */
    double tau;                  /* logit-adjusted loss: logits + tau * log(prior) */
    double focal_gamma;          /* focal loss exponent */
    int sampler;                 /* WN_SAMPLER_* */
    double target_ratio;         /* undersample/oversample: largest/smallest class count after */
    char freeze[64];             /* freeze layers up to and including this one ("" = none) */
    int plots;                   /* write PNG plots of the log and the confusion matrix (0/1) */
    unsigned char src[WN_TRAIN_MAX_KEYS]; /* where each setting came from, WN_SRC_*, by key */
} wn_train_cfg;

void wn_train_cfg_defaults(wn_train_cfg *c);
/* Sets one setting by key from text. where names the origin for messages ("net.ini line 7",
 * "--lr"). Unknown keys and bad values are WN_EINPUT naming where, key, value, allowed range. */
int wn_train_cfg_set(wn_train_cfg *c, const char *key, const char *value, const char *where,
                     int src, wn_err *e);
/* Where the setting key came from (WN_SRC_*; WN_SRC_DEFAULT for an unknown key). */
int wn_train_cfg_source(const wn_train_cfg *c, const char *key);
/* Applies the [train] pairs of a parsed network file. */
int wn_train_cfg_apply_ini(wn_train_cfg *c, const wn_netdef *def, wn_err *e);
/* Prints the effective settings, marking those from the INI and the command line. */
void wn_train_cfg_print(const wn_train_cfg *c, FILE *f);
/* Formats the settings as "key = value" lines into buf (for model metadata and the state hash). */
void wn_train_cfg_format(const wn_train_cfg *c, char *buf, size_t n);

/* Learning rate for the given fractional epoch (epoch + batch/batches). */
double wn_train_lr(const wn_train_cfg *c, double epoch_pos);

/* The optimizer: its moment buffers (backend memory, one allocation per role) and step count. */
typedef struct wn_optim {
    const wn_train_cfg *cfg;
    wn_net *net;
    float *m, *v;                /* (n_params) first/second moment (SGD uses v for velocity) */
    long step;
} wn_optim;

int wn_optim_create(wn_optim *o, const wn_train_cfg *cfg, wn_net *net, wn_err *e);
/* Calls fn(u, off, count) for each maximal contiguous run [off, off+count) of net->params
 * that belongs to non-frozen layers, in order. */
typedef void (*wn_span_fn)(void *u, size_t off, size_t count);
void wn_net_trainable_runs(const wn_net *net, wn_span_fn fn, void *u);
/* One update of every non-frozen parameter with learning rate lr. */
void wn_optim_step(wn_optim *o, double lr);
void wn_optim_free(wn_optim *o);

/* The weight average of train_ema.c (ema = DECAY): shadow copies of the parameters and of the
 * batchnorm statistics, backend memory. Inactive (every call a no-op) when decay is 0. */
typedef struct wn_ema {
    double decay;
    wn_net *net;                 /* not owned */
    float *w, *s;                /* (n_params), (n_state) the averages; NULL when inactive */
    float *tmp;                  /* (max(n_params, n_state)) swap scratch */
    int swapped;                 /* 1 while the averages sit in the net */
} wn_ema;

/* Allocates the averages and starts them at the net's current values (decay 0: inactive). */
int wn_ema_create(wn_ema *a, double decay, wn_net *net, wn_err *e);
/* Restarts the averages at the net's current values. */
void wn_ema_reset(wn_ema *a);
/* The decay used after optimizer step `step` (1, 2, ...): min(decay, (1 + step)/(10 + step)). */
double wn_ema_decay_at(double decay, long step);
/* Moves the averages towards the net's values after optimizer step `step`. */
void wn_ema_update(wn_ema *a, long step);
/* Exchanges the net's values and the averages (twice restores both). */
void wn_ema_swap(wn_ema *a);
void wn_ema_free(wn_ema *a);

/* Sharpness-aware minimisation (train_sam.c, sam = RHO; Foret et al. 2021): after a batch's
 * gradient g, the trainable weights move to w + RHO * g / ||g|| (the 2-norm over all of them),
 * the batch's gradient is computed again there, and the weights return to w before the
 * optimizer steps with that second gradient. The batchnorm running statistics are put back
 * after the second pass, so each batch moves them once. Backend memory. Inactive when rho 0. */
typedef struct wn_sam {
    double rho;
    wn_net *net;                 /* not owned */
    float *w, *s;                /* (n_params), (n_state) saved weights and statistics */
    double scale;                /* rho / ||g|| of the current ascent (0: none) */
} wn_sam;

int wn_sam_create(wn_sam *s, double rho, wn_net *net, wn_err *e);
/* Saves the weights and statistics and moves the trainable weights along net->grads. Returns
 * 1 when it did, 0 when the gradient norm is 0 or not finite (nothing changed: the caller then
 * skips the second pass). */
int wn_sam_ascend(wn_sam *s);
/* Puts back what wn_sam_ascend saved (after the second backward pass). */
void wn_sam_restore(wn_sam *s);
void wn_sam_free(wn_sam *s);

/* ---- losses (train_loss.c): the host side of each loss, the backend computes it ----
 * Every loss is a softmax loss over the logits z (N, K) of a minibatch of m photos:
 *   ce              -1/m sum_i log p(y_i|x_i)
 *   bayesian        -1/(K m) sum_i log p(y_i|x_i) / pi(y_i), pi = minibatch priors (prior =
 *                   batch) or training priors (prior = train): weight_i = 1/(K m pi(y_i))
 *   weighted        sum_i w(y_i) * -log p(y_i|x_i) / sum_i w(y_i), w(c) = 1/pi_train(c)
 *                   normalised to mean 1 over the classes (PyTorch's weighted mean)
 *   logit-adjusted  ce on z + tau * log pi_train (Menon et al. 2021)
 *   focal           -1/m sum_i (1 - p(y_i|x_i))^gamma log p(y_i|x_i) (backend focal_xent) */
typedef struct wn_loss {
    int kind, prior, k, batch;   /* WN_LOSS_*, WN_PRIOR_*, classes, largest minibatch */
    double tau, gamma;
    double *train_prior;         /* (K) training class shares, owned */
    float *w_host, *off_host;    /* (batch) per-sample weights, (K) logit offsets, owned */
    float *w_dev, *off_dev;      /* the same on the backend, owned */
    float *w2_host, *w2_dev;     /* (batch) mixup: the partner labels' weights, host and backend */
    int use_w, use_off;          /* which of the two the loss passes to the backend */
    wn_backend *be;              /* not owned */
} wn_loss;

/* counts (K): training photos per class (a class without photos gets a tiny prior so nothing is
 * ever infinite). The focal loss needs a backend with focal_xent (WN_EINPUT otherwise). */
int wn_loss_create(wn_loss *l, const wn_train_cfg *c, const long *counts, int k, int batch,
                   wn_backend *be, wn_err *e);
/* Per-sample weights w (m) of the loss for a minibatch with host labels (m); returns 0 (and
 * leaves w alone) when the loss uses the default 1/m. A class absent from the batch never gets
 * a weight, so nothing is divided by a zero prior. */
int wn_loss_weights(int kind, int prior, int k, int m, const int32_t *labels,
                    const double *train_prior, float *w);
/* Per-class logit offsets off (K); returns 0 when the loss has none. */
int wn_loss_offsets(int kind, double tau, int k, const double *train_prior, float *off);
/* The loss of one minibatch: logits (m, K) and labels_dev (m) on the backend, labels (m) on the
 * host; writes probs (m, K) and dlogits (m, K) (backend) and the loss value. */
int wn_loss_batch(wn_loss *l, int m, const int32_t *labels, const float *logits,
                  const int32_t *labels_dev, float *probs, float *dlogits, double *loss,
                  wn_err *e);
/* The mixup loss lam * loss(labels) + (1 - lam) * loss(labels2) on the same logits (the
 * weights of each term scaled by lam and 1 - lam): probs (m, K) of the logits, dlogits (m, K) the
 * sum of both gradients (the second computed in gtmp (m, K), backend), the loss their sum.
 * Needs the loss created with mixup > 0. */
int wn_loss_batch_mix(wn_loss *l, int m, const int32_t *labels, const int32_t *labels2, float lam,
                      const float *logits, const int32_t *labels_dev, const int32_t *labels2_dev,
                      float *probs, float *dlogits, float *gtmp, double *loss, wn_err *e);
void wn_loss_free(wn_loss *l);

/* ---- mixup (train_mixup.c) ---- */
/* One draw of Beta(alpha, alpha), alpha > 0. */
double wn_mixup_beta(wn_rng *r, double alpha);
/* Mixes the host batch x (m, sample) with a permutation of itself and sets y2 (m) to the
 * partners' labels (y (m) unchanged); lam and the permutation come from a generator seeded by
 * (seed, epoch, batch). tmp (m, sample) and perm (m) are scratch. Returns lam. */
float wn_mixup_batch(float *x, const int32_t *y, int32_t *y2, int m, size_t sample, double alpha,
                     uint64_t seed, int epoch, int batch, float *tmp, int *perm);
/* The class shares that the softmax of a network trained with this loss and sampler assumes
 * (its "output priors"), which calibration divides out (threshold-moving). drawn (K): photos
 * of each class per epoch (the sampler's per_epoch), counts (K): training photos per class;
 * rho = drawn shares, pi = training shares, then out (K) = normalised
 *   ce, focal              rho        (what the network saw)
 *   bayesian, prior=batch  uniform    (every class weighs the same in every batch)
 *   bayesian prior=train,  rho / pi
 *   weighted
 *   logit-adjusted         rho * pi^-tau  (the raw logits, without the training offsets)
 * A class never drawn gets 0. */
void wn_loss_output_priors(int kind, int prior, double tau, int k, const long *drawn,
                           const long *counts, double *out);
/* The name of a loss kind ("ce", "bayesian", ...). */
const char *wn_loss_name(int kind);

/* ---- samplers (train_sampler.c): the photos of each epoch, in minibatch order ----
 *   shuffle      every photo once, in a seeded random order
 *   stratified   every photo once; each minibatch holds the training class shares, rounded
 *                with a carry (each slot goes to the class furthest behind its share), so a
 *                class of 2.5 photos per batch gets 2 or 3 and exactly its count per epoch
 *   balanced     as many photos as the training set; each minibatch holds an equal share of
 *                every class (rare classes repeat, common ones are walked through)
 *   undersample  each class cut to at most target_ratio x the smallest class, a fresh draw each
 *                epoch (so over epochs every photo is used), shuffled
 *   oversample   each class raised to at least the largest class / target_ratio by repetition,
 *                shuffled
 * Each class's photos are drawn from an endless sequence of seeded permutations of the class,
 * and the number drawn per epoch is fixed, so the state of a sampler at the start of epoch E is
 * a function of (seed, E) alone: a resumed run restores it from the epoch number, and the
 * shuffles that do use the run's generator (passed in) are restored with it. */
typedef struct wn_sampler {
    int kind, n, k, batch;
    uint64_t seed;
    int *count;                  /* (K) photos per class */
    int **ids;                   /* (K) lists of each class's photo indices, owned */
    int **perm;                  /* (K) the current permutation of each class, owned */
    int64_t *perm_round;         /* (K) which permutation perm holds (-1 = none) */
    long *per_epoch;             /* (K) photos drawn from each class per epoch */
    double *share;               /* (K) target share per minibatch (stratified, balanced) */
    int epoch_len;               /* photos per epoch */
} wn_sampler;

/* labels (n): the class of each photo 0..n-1. target_ratio >= 1 (undersample, oversample).
 * On failure nothing is left to free. */
int wn_sampler_create(wn_sampler *s, int kind, const int32_t *labels, int n, int k, int batch,
                      double target_ratio, uint64_t seed, wn_err *e);
/* Fills order (epoch_len) with the photo indices of epoch `epoch` (0-based), minibatch after
 * minibatch of s->batch. rng: the run's generator (shuffle, undersample, oversample). */
void wn_sampler_epoch(wn_sampler *s, int epoch, wn_rng *rng, int *order);
void wn_sampler_free(wn_sampler *s);
const char *wn_sampler_name(int kind);

/* ---- the data report (train_report.c) ---- */
typedef struct wn_imbalance {
    int majority;                /* largest training class */
    double majority_acc;         /* accuracy of always answering it (its training share) */
    double uniform_acc;          /* accuracy of uniform guessing, 1/K */
    double advantage;            /* (majority_acc - uniform) / (1 - uniform): 0 balanced, 1 all */
    double ratio;                /* largest / smallest training class (inf when one is empty) */
    int dangerous;               /* advantage >= WN_DANGEROUS_ADVANTAGE */
    int mismatch;                /* first class whose train and val shares differ > 1.5x, or -1 */
    double mismatch_factor;      /* that factor (inf when the class is missing from one side) */
} wn_imbalance;
/* The prior classifier counts as much better than uniform guessing when it removes at least
 * half of uniform guessing's error (binary: a majority of 75% or more). */
#define WN_DANGEROUS_ADVANTAGE 0.5
#define WN_SHARE_MISMATCH 1.5
/* train, val (K) photo counts; val may be NULL. */
void wn_imbalance_measure(int k, const long *train, const long *val, wn_imbalance *im);
/* Prints counts and shares of train and val, the prior classifier against uniform guessing and
 * the warnings; returns the number of warnings printed. */
int wn_data_report(FILE *f, int k, char *const *names, const long *train, const long *val,
                   const char *train_src, const char *val_src);

/* ---- the collapse detector (train_collapse.c) ---- */
#define WN_COLLAPSE_SHARE 0.99
/* A model has collapsed into a constant classifier when WN_COLLAPSE_SHARE or more of the
 * validation predictions fall in one class while the other classes that have validation photos
 * are recalled less than half the time on average (so a good model on a validation set that is
 * itself 99% one class stays quiet). Returns 1 and sets *cls, *share when it has. */
int wn_collapse_check(const wn_confusion *cm, int *cls, double *share);
/* The plain warning: names the class, its share of the predictions and its training prior, and
 * suggests the bayesian loss or the stratified sampler; when the class is not the largest one
 * (majority 0), it says that the imbalance is over-corrected (e.g. too large a tau). */
void wn_collapse_warn(FILE *f, int epoch, const char *name, double share, double prior,
                      int majority);

/* ---- transfer (train_transfer.c) ---- */
/* Copies into net every layer of model m whose tensors all exist in m under the same names with
 * the same shapes; prints which layers were copied and which kept their fresh initialisation
 * and why. WN_EINPUT (naming path) when no layer matches. */
int wn_transfer_init(wn_net *net, const wn_model *m, const char *path, FILE *f, wn_err *e);
/* Freezes layers 0..LAYER (file order); WN_EINPUT naming where when LAYER is not a layer.
 * Returns the number of frozen layers through *n_frozen (may be NULL). */
int wn_freeze_upto(wn_net *net, const char *layer, const char *where, int *n_frozen, wn_err *e);

/* ---- plots (train_plot.c): PNG files beside the model ---- */
/* Reads the training log CSV and draws PREFIX.loss.png (training and validation loss per
 * epoch) and PREFIX.accuracy.png (validation balanced accuracy, accuracy and macro F1 per
 * epoch, the best epoch marked). */
int wn_train_plot_log(const char *log_path, const char *prefix, wn_err *e);
/* PREFIX.confusion.png: the confusion matrix cm under a title. */
int wn_train_plot_confusion(const char *prefix, const char *title, const wn_confusion *cm,
                            char *const *names, wn_err *e);

/* Everything `weldnet train` was asked to do. */
typedef struct wn_train_opts {
    const char *config, *data, *val, *out, *log, *state, *ok_class, *cache_dir;
    const char *init;            /* --init: model whose matching layers start the network */
    int overfit_check;           /* --overfit-check N: fit N photos and report (0 = off) */
    int resume, strict, quiet, device;
    double cache_mem_mb;
    int n_set;
    const char *set_key[64], *set_val[64], *set_where[64]; /* command-line overrides */
} wn_train_opts;

int wn_train_run(const wn_train_opts *o, wn_err *e);
/* `weldnet train ...` entry point: returns the exit code. */
int wn_train_main(int argc, char **argv);

#endif
