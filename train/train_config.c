/* train_config.c - training settings: defaults, validation of each key, printing. One table
 * describes every key so the INI, the command line and the printout stay in step. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "wn_train.h"

enum { T_INT, T_DOUBLE, T_BOOL, T_ENUM, T_U64, T_STR };

typedef struct key_def {
    const char *key;
    int type;
    size_t off;
    double lo, hi;         /* inclusive range for numbers */
    const char *choices;   /* T_ENUM: "a|b|c" in enum order */
    const char *help;
} key_def;

#define OFF(f) offsetof(wn_train_cfg, f)
static const key_def KEYS[] = {
    {"epochs", T_INT, OFF(epochs), 1, 100000, NULL, "training epochs"},
    {"batch", T_INT, OFF(batch), 1, 65536, NULL, "photos per minibatch"},
    {"optimizer", T_ENUM, OFF(optimizer), 0, 0, "sgd|adam|adamw", "optimizer"},
    {"lr", T_DOUBLE, OFF(lr), 1e-12, 100, NULL, "learning rate"},
    {"momentum", T_DOUBLE, OFF(momentum), 0, 0.9999, NULL, "SGD momentum"},
    {"nesterov", T_BOOL, OFF(nesterov), 0, 1, NULL, "SGD Nesterov momentum (0/1)"},
    {"weight_decay", T_DOUBLE, OFF(weight_decay), 0, 10, NULL, "weight decay (L2; decoupled for adamw)"},
    {"beta1", T_DOUBLE, OFF(beta1), 0, 0.99999, NULL, "Adam beta1"},
    {"beta2", T_DOUBLE, OFF(beta2), 0, 0.9999999, NULL, "Adam beta2"},
    {"eps", T_DOUBLE, OFF(eps), 1e-30, 1, NULL, "Adam epsilon"},
    {"schedule", T_ENUM, OFF(schedule), 0, 0, "none|step|cosine", "learning-rate schedule"},
    {"step_size", T_INT, OFF(step_size), 0, 100000, NULL, "epochs between step decays (0 = epochs/3)"},
    {"gamma", T_DOUBLE, OFF(gamma), 1e-6, 1, NULL, "step decay factor"},
    {"warmup", T_DOUBLE, OFF(warmup), 0, 100000, NULL, "linear warm-up in epochs"},
    {"seed", T_U64, OFF(seed), 0, 0, NULL, "random seed"},
    {"val_split", T_DOUBLE, OFF(val_split), 0.001, 0.9, NULL, "validation share when no --val"},
    {"crop", T_INT, OFF(crop), 0, 256, NULL, "random-crop padding in pixels (0 = off)"},
    {"flip", T_BOOL, OFF(flip), 0, 1, NULL, "random horizontal flip (0/1)"},
    {"ema", T_DOUBLE, OFF(ema), 0, 0.999999, NULL,
     "validate and save an exponential moving average of the weights with this decay (0 = off)"},
    {"mixup", T_DOUBLE, OFF(mixup), 0, 100, NULL, "mixup: Beta(alpha, alpha) blending of photo pairs (0 = off)"},
    {"sam", T_DOUBLE, OFF(sam), 0, 100, NULL,
     "sharpness-aware minimisation: radius of the ascent step (0 = off; two passes per batch)"},
    {"rotate", T_DOUBLE, OFF(rotate), 0, 180, NULL, "random rotation in [-DEG, DEG] degrees (0 = off)"},
    {"zoom", T_DOUBLE, OFF(zoom), 0, 0.9, NULL, "random zoom by a factor in [1-F, 1+F] (0 = off)"},
    {"cutout", T_INT, OFF(cutout), 0, 4096, NULL, "Cutout: side of the square set to the mean (0 = off)"},
    {"threads", T_INT, OFF(threads), 0, 1024, NULL, "CPU threads (0 = all cores)"},
    {"precision", T_ENUM, OFF(precision), 0, 0, "fp32|bf16",
     "GPU arithmetic: fp32 (TF32 convolutions) or bf16 mixed precision (fp32 weights and loss)"},
    {"select", T_ENUM, OFF(select), 0, 0, "balanced_accuracy|accuracy|loss|last",
     "validation metric that picks the best checkpoint (last: the latest epoch)"},
    {"patience", T_INT, OFF(patience), 0, 100000, NULL, "early stop after N epochs without improvement (0 = off)"},
    {"loss", T_ENUM, OFF(loss), 0, 0, "ce|bayesian|weighted|logit-adjusted|focal", "training loss"},
    {"prior", T_ENUM, OFF(prior), 0, 0, "batch|train", "priors of the bayesian loss"},
    {"tau", T_DOUBLE, OFF(tau), 0, 10, NULL, "logit adjustment: logits + tau*log(prior)"},
    {"focal_gamma", T_DOUBLE, OFF(focal_gamma), 0, 10, NULL, "focal loss exponent"},
    {"sampler", T_ENUM, OFF(sampler), 0, 0, "shuffle|stratified|balanced|undersample|oversample",
     "minibatch sampler"},
    {"target_ratio", T_DOUBLE, OFF(target_ratio), 1, 1e9, NULL,
     "undersample/oversample: largest/smallest class after"},
    {"freeze", T_STR, OFF(freeze), 0, 0, NULL, "freeze layers up to and including this one"},
    {"plots", T_BOOL, OFF(plots), 0, 1, NULL, "PNG plots of the log and confusion matrix (0/1)"},
};
#define NKEYS ((int)(sizeof KEYS / sizeof KEYS[0]))
_Static_assert(NKEYS <= WN_TRAIN_MAX_KEYS, "wn_train_cfg.src holds one entry per key");

void wn_train_cfg_defaults(wn_train_cfg *c) {
    memset(c, 0, sizeof *c);
    c->epochs = 15;
    c->batch = 128;
    c->optimizer = WN_OPT_ADAM;
    c->lr = 1e-3;
    c->momentum = 0.9;
    c->beta1 = 0.9;
    c->beta2 = 0.999;
    c->eps = 1e-8;
    c->schedule = WN_SCHED_NONE;
    c->gamma = 0.1;
    c->seed = 1;
    c->val_split = 0.1;
    c->select = WN_SELECT_BALANCED;
    c->loss = WN_LOSS_CE;
    c->prior = WN_PRIOR_BATCH;
    c->tau = 1.0;
    c->focal_gamma = 2.0;
    c->sampler = WN_SAMPLER_SHUFFLE;
    c->target_ratio = 1.0;
    c->plots = 1;
}

static int enum_index(const char *choices, const char *v) {
    int i = 0;
    const char *p = choices;
    size_t n = strlen(v);
    while (*p) {
        const char *bar = strchr(p, '|');
        size_t len = bar ? (size_t)(bar - p) : strlen(p);
        if (len == n && !strncmp(p, v, n)) return i;
        i++;
        if (!bar) break;
        p = bar + 1;
    }
    return -1;
}

static const char *enum_name(const char *choices, int idx, char *buf, size_t n) {
    const char *p = choices;
    for (int i = 0; i < idx && p; i++) {
        p = strchr(p, '|');
        if (p) p++;
    }
    if (!p) return "?";
    const char *bar = strchr(p, '|');
    size_t len = bar ? (size_t)(bar - p) : strlen(p);
    if (len >= n) len = n - 1;
    memcpy(buf, p, len);
    buf[len] = '\0';
    return buf;
}

int wn_train_cfg_set(wn_train_cfg *c, const char *key, const char *value, const char *where,
                     int src, wn_err *e) {
    int k = 0;
    while (k < NKEYS && strcmp(KEYS[k].key, key)) k++;
    if (k == NKEYS) {
        char known[800] = "";
        for (int i = 0; i < NKEYS; i++) {
            strcat(known, i ? ", " : "");
            strcat(known, KEYS[i].key);
        }
        return wn_err_set(e, WN_EINPUT, "%s: [train] unknown key '%s' (known: %s)", where, key, known);
    }
    const key_def *d = &KEYS[k];
    char *end = NULL;
    void *field = (char *)c + d->off;
    errno = 0;
    switch (d->type) {
    case T_INT:
    case T_BOOL: {
        long v = strtol(value, &end, 10);
        if (end == value || *end || errno || v < d->lo || v > d->hi)
            return wn_err_set(e, WN_EINPUT, "%s: [train] %s = '%s': expected a whole number from %g to %g",
                              where, key, value, d->lo, d->hi);
        *(int *)field = (int)v;
        break;
    }
    case T_U64: {
        if (value[0] == '-') end = (char *)value;
        unsigned long long v = end ? 0 : strtoull(value, &end, 10);
        if (end == value || *end || errno)
            return wn_err_set(e, WN_EINPUT, "%s: [train] %s = '%s': expected a non-negative whole number",
                              where, key, value);
        *(uint64_t *)field = v;
        break;
    }
    case T_DOUBLE: {
        double v = strtod(value, &end);
        if (end == value || *end || errno || !isfinite(v) || v < d->lo || v > d->hi)
            return wn_err_set(e, WN_EINPUT, "%s: [train] %s = '%s': expected a number from %g to %g",
                              where, key, value, d->lo, d->hi);
        *(double *)field = v;
        break;
    }
    case T_ENUM: {
        int v = enum_index(d->choices, value);
        if (v < 0)
            return wn_err_set(e, WN_EINPUT, "%s: [train] %s = '%s': expected one of %s", where, key,
                              value, d->choices);
        *(int *)field = v;
        break;
    }
    case T_STR: {
        /* the only text key is freeze, a layer name: the INI's section-name characters */
        size_t n = strlen(value);
        static const char ok[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-";
        if (n >= sizeof c->freeze || strspn(value, ok) != n)
            return wn_err_set(e, WN_EINPUT,
                              "%s: [train] %s = '%s': expected a layer name (letters, digits, '_' "
                              "or '-', under %zu characters)",
                              where, key, value, sizeof c->freeze);
        memcpy(field, value, n + 1);
        break;
    }
    }
    c->src[k] = (unsigned char)src;
    return WN_OK;
}

int wn_train_cfg_source(const wn_train_cfg *c, const char *key) {
    for (int k = 0; k < NKEYS; k++)
        if (!strcmp(KEYS[k].key, key)) return c->src[k];
    return WN_SRC_DEFAULT;
}

int wn_train_cfg_apply_ini(wn_train_cfg *c, const wn_netdef *def, wn_err *e) {
    for (int i = 0; i < def->n_train; i++) {
        char where[600];
        snprintf(where, sizeof where, "%s line %d", def->source, def->train[i].line);
        int rc = wn_train_cfg_set(c, def->train[i].key, def->train[i].value, where, WN_SRC_INI, e);
        if (rc) return rc;
    }
    return WN_OK;
}

static void format_value(const wn_train_cfg *c, const key_def *d, char *buf, size_t n) {
    const void *field = (const char *)c + d->off;
    switch (d->type) {
    case T_INT:
    case T_BOOL: snprintf(buf, n, "%d", *(const int *)field); break;
    case T_U64: snprintf(buf, n, "%llu", (unsigned long long)*(const uint64_t *)field); break;
    case T_DOUBLE: snprintf(buf, n, "%g", *(const double *)field); break;
    case T_ENUM: enum_name(d->choices, *(const int *)field, buf, n); break;
    case T_STR: snprintf(buf, n, "%s", (const char *)field); break;
    }
}

void wn_train_cfg_print(const wn_train_cfg *c, FILE *f) {
    static const char *src_name[] = {"", "  (ini)", "  (command line)"};
    fprintf(f, "settings:\n");
    for (int k = 0; k < NKEYS; k++) {
        char v[64];
        format_value(c, &KEYS[k], v, sizeof v);
        fprintf(f, "  %-13s %-18s%s\n", KEYS[k].key, v, src_name[c->src[k]]);
    }
}

void wn_train_cfg_format(const wn_train_cfg *c, char *buf, size_t n) {
    size_t used = 0;
    buf[0] = '\0';
    for (int k = 0; k < NKEYS && used < n; k++) {
        char v[64];
        format_value(c, &KEYS[k], v, sizeof v);
        used += snprintf(buf + used, n - used, "train.%s = %s\n", KEYS[k].key, v);
    }
}

double wn_train_lr(const wn_train_cfg *c, double pos) {
    double lr = c->lr;
    if (c->schedule == WN_SCHED_STEP) {
        int step = c->step_size > 0 ? c->step_size : (c->epochs >= 3 ? c->epochs / 3 : 1);
        lr *= pow(c->gamma, floor(pos / step));
    } else if (c->schedule == WN_SCHED_COSINE) {
        double span = c->epochs - c->warmup;
        double t = span > 0 ? (pos - c->warmup) / span : 1;
        if (t < 0) t = 0;
        if (t > 1) t = 1;
        lr *= 0.5 * (1 + cos(M_PI * t));
    }
    if (c->warmup > 0 && pos < c->warmup) lr *= (pos + 1e-9) / c->warmup;
    return lr;
}
