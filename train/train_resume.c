/* train_resume.c - what survives between epochs: the training state for --resume (parameters,
 * batchnorm statistics, optimizer moments, the weight average when ema is on, step, epoch, the
 * run's generator, best metric; the
 * samplers need nothing more, see train_sampler.c) and the best model, both written
 * atomically. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "train_internal.h"
#include "wn_modelnet.h"

static uint64_t fnv1a(uint64_t h, const char *s) {
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
    return h;
}

static void config_hash(wn_run *r, char *buf, size_t n) {
    uint64_t h = fnv1a(0xcbf29ce484222325ull, r->def.ini_text ? r->def.ini_text : "");
    for (int j = 0; j < r->train.n_classes; j++) h = fnv1a(h, r->train.class_names[j]);
    snprintf(buf, n, "%016llx", (unsigned long long)h);
}

/* The backend arrays a state holds, by name. */
typedef struct state_part {
    const char *name;
    float *p;
    size_t n;
} state_part;

enum { N_PARTS = 6 };

/* (the weight average's arrays are NULL, so left out, when ema = 0) */
static void state_parts(wn_run *r, state_part parts[N_PARTS]) {
    parts[0] = (state_part){"params", r->net.params, r->net.n_params};
    parts[1] = (state_part){"state", r->net.state, r->net.n_state};
    parts[2] = (state_part){"m", r->opt.m, r->net.n_params};
    parts[3] = (state_part){"v", r->opt.v, r->net.n_params};
    parts[4] = (state_part){"ema_params", r->ema.w, r->net.n_params};
    parts[5] = (state_part){"ema_state", r->ema.s, r->net.n_state};
}

int wn_run_save_state(wn_run *r, int epoch, wn_err *e) {
    wn_backend *be = &r->be;
    wn_train_state s = {0};
    char hash[32];
    config_hash(r, hash, sizeof hash);
    s.epoch = epoch;
    s.step = r->opt.step;
    s.rng_state = r->rng.state;
    s.rng_inc = r->rng.inc;
    s.best_metric = r->best_metric;
    s.best_epoch = r->best_epoch;
    s.config_hash = hash;
    state_part parts[N_PARTS];
    state_parts(r, parts);
    wn_named_tensor t[N_PARTS];
    int nt = 0, rc = WN_OK;
    for (int i = 0; i < N_PARTS; i++) {
        if (!parts[i].p || !parts[i].n) continue;
        t[nt].name = (char *)parts[i].name;
        t[nt].ndim = 1;
        t[nt].dims[0] = (int)parts[i].n;
        t[nt].data = wn_xmalloc(parts[i].n * sizeof(float));
        nt++;
        if (!rc) rc = be->ops->download(be->ctx, t[nt - 1].data, parts[i].p, parts[i].n * sizeof(float), e);
    }
    s.n_tensors = nt;
    s.tensors = t;
    if (!rc) rc = wn_train_state_save(r->state_path, &s, e);
    for (int i = 0; i < nt; i++) free(t[i].data);
    return rc;
}

int wn_run_load_state(wn_run *r, wn_err *e) {
    wn_train_state s = {0};
    int rc = wn_train_state_load(r->state_path, &s, e);
    if (rc) return wn_err_prefix(e, "--resume");
    char hash[32];
    config_hash(r, hash, sizeof hash);
    if (!s.config_hash || strcmp(s.config_hash, hash)) {
        wn_train_state_free(&s);
        return wn_err_set(e, WN_EINPUT,
                          "%s: this training state belongs to a different network or class list; "
                          "resume with the same --config and --data",
                          r->state_path);
    }
    state_part parts[N_PARTS];
    state_parts(r, parts);
    for (int i = 0; i < N_PARTS && !rc; i++) {
        if (!parts[i].p || !parts[i].n) continue;
        const wn_named_tensor *t = NULL;
        for (int j = 0; j < s.n_tensors; j++)
            if (!strcmp(s.tensors[j].name, parts[i].name)) t = &s.tensors[j];
        if (!t || t->ndim != 1 || (size_t)t->dims[0] != parts[i].n)
            rc = wn_err_set(e, WN_EINPUT, "%s: tensor '%s' is missing or of the wrong size (was the optimizer or ema changed?)",
                            r->state_path, parts[i].name);
        else
            rc = r->be.ops->upload(r->be.ctx, parts[i].p, t->data, parts[i].n * sizeof(float), e);
    }
    if (!rc) {
        r->start_epoch = s.epoch;
        r->opt.step = s.step;
        r->rng.state = s.rng_state;
        r->rng.inc = s.rng_inc;
        r->best_metric = s.best_metric;
        r->best_epoch = s.best_epoch;
        fprintf(stderr, "resuming after epoch %d (step %ld, best epoch %d) from %s\n", s.epoch,
                s.step, s.best_epoch, r->state_path);
    }
    wn_train_state_free(&s);
    return rc;
}

int wn_run_save_best(wn_run *r, int epoch, double vloss, double vacc, double vbal, wn_err *e) {
    char meta[8192], created[64];
    time_t now = time(NULL);
    strftime(created, sizeof created, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
    int n = snprintf(meta, sizeof meta,
                     "created = %s\nweldnet = %s\nepoch = %d\nval_loss = %.6f\nval_accuracy = %.6f\n"
                     "val_balanced_accuracy = %.6f\ntrain_data = %s\n",
                     created, WN_VERSION, epoch, vloss, vacc, vbal, r->o->data);
    if (r->o->init && n < (int)sizeof meta)
        n += snprintf(meta + n, sizeof meta - n, "init = %s\n", r->o->init);
    int k = r->train.n_classes;
    double *q = wn_xmalloc((size_t)k * sizeof *q); /* (K) */
    wn_loss_output_priors(r->cfg.loss, r->cfg.prior, r->cfg.tau, k, r->sampler.per_epoch, r->counts, q);
    if (n < (int)sizeof meta) n += snprintf(meta + n, sizeof meta - n, "output_priors =");
    for (int c = 0; c < k && n < (int)sizeof meta; c++)
        n += snprintf(meta + n, sizeof meta - n, "%s%.9g", c ? "," : " ", q[c]);
    if (n < (int)sizeof meta) n += snprintf(meta + n, sizeof meta - n, "\n");
    free(q);
    if (n < (int)sizeof meta) wn_train_cfg_format(&r->cfg, meta + n, sizeof meta - n);
    wn_model m;
    int rc = wn_model_from_net(&r->net, r->train.class_names, r->counts, r->mean, r->std, meta, &m, e);
    if (!rc) rc = wn_model_save(r->o->out, &m, e);
    wn_model_free(&m);
    return rc;
}
