/* wn_train.h - the train stage: training settings (defaults < [train] in the INI < command
 * line), the optimizer and learning-rate schedule, and the training run itself. */
#ifndef WN_TRAIN_H
#define WN_TRAIN_H

#include <stdint.h>
#include <stdio.h>

#include "wn_err.h"
#include "wn_net.h"

enum { WN_OPT_SGD, WN_OPT_ADAM, WN_OPT_ADAMW };
enum { WN_SCHED_NONE, WN_SCHED_STEP, WN_SCHED_COSINE };
enum { WN_SELECT_BALANCED, WN_SELECT_ACCURACY, WN_SELECT_LOSS };
enum { WN_SRC_DEFAULT, WN_SRC_INI, WN_SRC_CLI };

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
    int crop, flip;              /* augmentation: random crop padding, horizontal flip */
    int threads;                 /* CPU threads, 0 = all cores */
    int select;                  /* metric that picks the best checkpoint: WN_SELECT_* */
    int patience;                /* early stopping after N epochs without improvement (0 = off) */
    unsigned char src[32];       /* where each setting came from, WN_SRC_*, by key index */
} wn_train_cfg;

void wn_train_cfg_defaults(wn_train_cfg *c);
/* Sets one setting by key from text. where names the origin for messages ("net.ini line 7",
 * "--lr"). Unknown keys and bad values are WN_EINPUT naming where, key, value, allowed range. */
int wn_train_cfg_set(wn_train_cfg *c, const char *key, const char *value, const char *where,
                     int src, wn_err *e);
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
/* One update of every non-frozen parameter with learning rate lr. */
void wn_optim_step(wn_optim *o, double lr);
void wn_optim_free(wn_optim *o);

/* Everything `weldnet train` was asked to do. */
typedef struct wn_train_opts {
    const char *config, *data, *val, *out, *log, *state, *ok_class, *cache_dir;
    int resume, strict, quiet, device;
    double cache_mem_mb;
    int n_set;
    const char *set_key[64], *set_val[64], *set_where[64]; /* command-line overrides */
} wn_train_opts;

int wn_train_run(const wn_train_opts *o, wn_err *e);
/* `weldnet train ...` entry point: returns the exit code. */
int wn_train_main(int argc, char **argv);

#endif
