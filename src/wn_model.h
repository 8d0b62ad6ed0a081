/* wn_model.h - the .wnet model file and the training-state file.
 *
 * A model file is self-describing and versioned: magic, format version, then tagged records
 * (network INI text, class names with training counts, input normalisation, free-form metadata,
 * calibration once calibrated, named tensors with shapes), then a CRC-32 of everything before.
 * Unknown record tags are kept and written back unchanged, so later stages can add records.
 * A reader checks magic, version, every length against the file size, and the checksum, and
 * refuses a bad file with a message naming the file and what is wrong. Files are written to
 * PATH.tmp and renamed, so a failed write (full disk) never destroys an existing file.
 *
 * The training state (for --resume) is a separate file in the same container with its own magic:
 * epoch, step, RNG state, best metric, and the optimizer tensors. */
#ifndef WN_MODEL_H
#define WN_MODEL_H

#include <stdint.h>
#include <stdio.h>

#include "wn_err.h"

#define WN_MODEL_VERSION 1

typedef struct wn_named_tensor {
    char *name;       /* owned */
    int ndim;         /* 1..4 */
    int dims[4];
    float *data;      /* host memory, product(dims) floats, owned */
} wn_named_tensor;

typedef struct wn_record {
    uint32_t tag;     /* four ASCII characters, e.g. 'CALB' written as WN_TAG('C','A','L','B') */
    size_t len;
    uint8_t *data;    /* owned */
} wn_record;

#define WN_TAG(a, b, c, d) ((uint32_t)(a) | (uint32_t)(b) << 8 | (uint32_t)(c) << 16 | (uint32_t)(d) << 24)

typedef struct wn_model {
    char *net_ini;          /* network INI text, owned */
    int n_classes;
    char **class_names;     /* (n_classes), owned */
    long *class_counts;     /* (n_classes) training photos per class, owned */
    int in_c, in_h, in_w;   /* input (C, H, W) */
    float mean[3], std[3];  /* normalisation actually used in training */
    char *meta;             /* "key = value" lines: created, epoch, metric..., owned, may be NULL */
    int n_tensors;
    wn_named_tensor *tensors; /* (n_tensors), owned */
    int n_extra;
    wn_record *extra;       /* records of other stages (calibration...), kept verbatim, owned */
} wn_model;

int wn_model_save(const char *path, const wn_model *m, wn_err *e);
/* What the first bytes of a file say it is: WN_FILE_MODEL, WN_FILE_STATE or WN_FILE_OTHER. */
enum { WN_FILE_OTHER = 0, WN_FILE_MODEL = 1, WN_FILE_STATE = 2 };
int wn_model_file_sniff(const uint8_t *head, size_t n);
int wn_model_load(const char *path, wn_model *m, wn_err *e);
void wn_model_free(wn_model *m);
/* Prints the header (everything but tensor values) for `weldnet info`. */
void wn_model_print_info(const wn_model *m, const char *path, FILE *f);
/* Finds a tensor by name, NULL when absent. */
const wn_named_tensor *wn_model_find(const wn_model *m, const char *name);
/* Sets (replacing) or finds an extra record. data is copied. */
void wn_model_set_record(wn_model *m, uint32_t tag, const void *data, size_t len);
const wn_record *wn_model_get_record(const wn_model *m, uint32_t tag);

typedef struct wn_train_state {
    int epoch;              /* epochs completed */
    long step;              /* optimizer steps taken */
    uint64_t rng_state, rng_inc;
    double best_metric;
    int best_epoch;
    char *config_hash;      /* identifies the settings the run used, owned */
    int n_tensors;
    wn_named_tensor *tensors; /* optimizer state: "params", "m", "v"... owned */
} wn_train_state;

int wn_train_state_save(const char *path, const wn_train_state *s, wn_err *e);
int wn_train_state_load(const char *path, wn_train_state *s, wn_err *e);
void wn_train_state_free(wn_train_state *s);

#endif
