/* wn_calibration.h - the calibration a model file carries once `weldnet calibrate` has run: the
 * priors divided out (threshold-moving), the decision thresholds (the rule of wn_decide.h), the
 * recall targets and how they were met, and where the calibration set came from. `calibrate`
 * writes it, `classify` and `info` read it.
 *
 * Stored in the model file as the record 'CALB': UTF-8 text, one "key = value" line per field,
 * numbers in the C locale (docs/MODEL_FORMAT.md lists the keys). A reader refuses unknown keys,
 * missing keys, a class count that differs from the model's, and malformed numbers, naming the
 * file and the key. */
#ifndef WN_CALIBRATION_H
#define WN_CALIBRATION_H

#include <stddef.h>

#include "wn_err.h"
#include "wn_model.h"

#define WN_CALIBRATION_VERSION 1

enum { WN_CALMODE_POOLED = 0, WN_CALMODE_PERCLASS = 1 };
enum { WN_CALRULE_POINT = 0, WN_CALRULE_CERTIFIED = 1 }; /* = WN_CALIB_POINT / _CERTIFIED */

typedef struct wn_calibration {
    int k;                 /* classes (= the model's), class 0 is the ok class */
    int mode;              /* WN_CALMODE_*: one pooled threshold, or one threshold per defect class */
    int rule;              /* WN_CALRULE_*: point estimate on the set, or certified at confidence */
    double confidence;     /* in (0, 1): the certified rule's and the reported intervals' level */
    float *priors;         /* (K) owned: the training priors divided out before deciding */
    float *threshold;      /* (K) owned: the decision thresholds t (wn_decide.h; +inf = unused) */
    double *target;        /* (K) owned: target[0] the pooled recall target (pooled mode);
                              target[j] the recall target of defect class j (per-class mode) */
    long n_photos;         /* calibration photos used */
    long n_defect;         /* of which defect photos */
    double recall;         /* defect recall achieved on the calibration set */
    double recall_lower;   /* its lower bound: certified bound, or the Clopper-Pearson lower end */
    double automation;     /* automation rate achieved on the calibration set */
    char set_hash[17];     /* 16 hex digits: hash of the calibration set's sorted file list */
    char date[32];         /* ISO 8601 UTC, when the calibration ran */
    char *source;          /* calibration set (folder, manifest or scores file), owned, may be NULL */
} wn_calibration;

/* Zeroes c and allocates its (K) arrays: priors 1/K, thresholds +inf, targets 0. */
void wn_calibration_init(wn_calibration *c, int k);
void wn_calibration_free(wn_calibration *c);

/* Text of the record into buf (snprintf-like: returns the length the full text needs). */
size_t wn_calibration_format(const wn_calibration *c, char *buf, size_t cap);
/* Parses record text of len bytes for a model of k classes; path names the file in messages.
 * On failure c is left freeable. */
int wn_calibration_parse(const char *text, size_t len, int k, const char *path, wn_calibration *c,
                         wn_err *e);

/* 1 when the model carries a calibration record. */
int wn_model_is_calibrated(const wn_model *m);
/* Stores c in the model as its 'CALB' record (replacing any earlier one). WN_EINPUT when c's
 * class count differs from the model's or a value is out of range. */
int wn_model_set_calibration(wn_model *m, const wn_calibration *c, wn_err *e);
/* Reads the model's calibration. WN_EINPUT "PATH: not calibrated (run weldnet calibrate first)"
 * when absent, or what is wrong with the record. */
int wn_model_get_calibration(const wn_model *m, const char *path, wn_calibration *c, wn_err *e);

/* Priors from the model's training class counts: counts / total (K) into priors; uniform when
 * the counts are all zero. */
void wn_model_priors(const wn_model *m, float *priors /* (K) */);
/* The class shares the model's softmax outputs assume, which threshold-moving divides out: the
 * metadata's output_priors (written by weldnet train from its loss and sampler: uniform for the
 * bayesian loss, the training shares for ce) when present and valid, returning 1; else the
 * training priors of wn_model_priors, returning 0 (models trained before that key existed). */
int wn_model_output_priors(const wn_model *m, float *priors /* (K) */);

#endif
