/* train_loop.c - `weldnet train`: sets a run up (settings, data and its report, network,
 * transfer and freezing, optimizer, loss, sampler, resume), then trains epoch by epoch: each
 * epoch is validated (per-class recall, balanced accuracy, macro F1, confusion matrix, collapse
 * check), logged, plotted, and the best model and the training state are written. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "train_internal.h"
#include "wn_outguard.h"
#include "wn_progress.h"

/* With more classes than this the confusion matrix is printed only at the end. */
#define WN_PRINT_CONFUSION_MAX_K 12

/* Fails early, before hours of training, when an output file cannot be written. */
static int check_writable(const char *path, wn_err *e) {
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "wb");
    if (!f)
        return wn_err_set(e, WN_EINPUT, "%s: cannot write the output file: %s", path, strerror(errno));
    fclose(f);
    unlink(tmp);
    return WN_OK;
}

/* The model, state and log paths: none a photo or a file of the wrong kind (the model may replace
 * a model, the state a state), none the same file as another or as an input. */
static int check_outputs(const wn_train_opts *o, const char *state, const char *log, wn_err *e) {
    const char *out[3] = {o->out, state, log};
    const char *what[3] = {"the model (--out)", "the training state", "the training log"};
    const int may[3] = {WN_OUT_MAY_REPLACE_MODEL, WN_OUT_MAY_REPLACE_STATE, 0};
    const char *in[4] = {o->config, o->data, o->val, o->init};
    const char *in_what[4] = {"the --config file", "the --data photos", "the --val photos",
                              "the --init model"};
    for (int i = 0; i < 3; i++) {
        int rc = wn_outguard_check(out[i], what[i], may[i], e);
        for (int j = 0; j < i && rc == WN_OK; j++)
            rc = wn_outguard_distinct(out[i], what[i], out[j], what[j], e);
        for (int j = 0; j < 4 && rc == WN_OK; j++)
            if (i > 0 || j != 3) /* the new model may replace the --init model (written at the end) */
                rc = wn_outguard_distinct(out[i], what[i], in[j], in_what[j], e);
        if (rc) return rc;
    }
    return WN_OK;
}

static void derive_path(char *dst, size_t n, const char *out, const char *suffix) {
    const char *dot = strrchr(out, '.');
    const char *slash = strrchr(out, '/');
    size_t stem = (dot && (!slash || dot > slash)) ? (size_t)(dot - out) : strlen(out);
    snprintf(dst, n, "%.*s%s", (int)stem, out, suffix);
}

static int settings(wn_run *r, wn_err *e) {
    const wn_train_opts *o = r->o;
    int rc = wn_netdef_parse_file(o->config, &r->def, e);
    if (rc) return rc;
    wn_train_cfg_defaults(&r->cfg);
    if ((rc = wn_train_cfg_apply_ini(&r->cfg, &r->def, e))) return rc;
    for (int i = 0; i < o->n_set; i++)
        if ((rc = wn_train_cfg_set(&r->cfg, o->set_key[i], o->set_val[i], o->set_where[i], WN_SRC_CLI, e)))
            return rc;
    if (!o->quiet) wn_train_cfg_print(&r->cfg, stderr);
    if (o->overfit_check) return WN_OK; /* writes nothing */
    snprintf(r->state_path, sizeof r->state_path, "%s", o->state ? o->state : "");
    if (!o->state) derive_path(r->state_path, sizeof r->state_path, o->out, ".state");
    if (o->log)
        snprintf(r->log_path, sizeof r->log_path, "%s", o->log);
    else
        derive_path(r->log_path, sizeof r->log_path, o->out, ".log.csv");
    derive_path(r->prefix, sizeof r->prefix, o->out, "");
    if ((rc = check_outputs(o, r->state_path, r->log_path, e))) return rc;
    if ((rc = check_writable(o->out, e)) || (rc = check_writable(r->state_path, e)) ||
        (rc = check_writable(r->log_path, e)))
        return rc;
    return WN_OK;
}

/* --init and freeze = LAYER */
static int transfer(wn_run *r, wn_err *e) {
    const wn_train_opts *o = r->o;
    int rc = WN_OK;
    if (o->init) {
        wn_model m;
        if ((rc = wn_model_load(o->init, &m, e))) return wn_err_prefix(e, "--init");
        rc = wn_transfer_init(&r->net, &m, o->init, stderr, e);
        wn_model_free(&m);
        if (rc) return rc;
    }
    if (r->cfg.freeze[0]) {
        int n = 0;
        const char *where = wn_train_cfg_source(&r->cfg, "freeze") == WN_SRC_CLI ? "--freeze" : o->config;
        if ((rc = wn_freeze_upto(&r->net, r->cfg.freeze, where, &n, e))) return rc;
        fprintf(stderr, "frozen: the %d layer%s up to and including '%s' are not updated\n", n,
                n == 1 ? "" : "s", r->cfg.freeze);
    }
    return WN_OK;
}

/* The backend: --device, with the math of precision = fp32|bf16. bf16 is GPU arithmetic: asked
 * of --device cpu it is an input error; when --device auto finds no GPU it is said once. */
static int create_backend(wn_run *r, wn_err *e) {
    const wn_train_opts *o = r->o;
    const int bf16 = r->cfg.precision == WN_PREC_BF16;
    const char *where = wn_train_cfg_source(&r->cfg, "precision") == WN_SRC_CLI ? "--precision"
                                                                               : o->config;
    if (bf16 && o->device == WN_DEVICE_CPU)
        return wn_err_set(e, WN_EINPUT, "%s: precision bf16 is GPU arithmetic; --device cpu "
                          "computes in fp32 (leave precision at fp32, or use --device cuda)",
                          where);
    int rc = wn_backend_create_math(o->device, r->cfg.threads, o->quiet,
                                    bf16 ? WN_MATH_BF16 : WN_MATH_FAST, &r->be, e);
    if (rc) return rc;
    if (bf16 && !strcmp(r->be.ops->name, "cpu"))
        fprintf(stderr, "weldnet: precision bf16 applies to the GPU only; training in fp32 on the "
                "CPU\n");
    if (!o->quiet) {
        char what[320];
        wn_backend_describe(&r->be, what, sizeof what);
        fprintf(stderr, "device: %s\n", what);
    }
    return WN_OK;
}

static int setup(wn_run *r, wn_err *e) {
    const wn_train_opts *o = r->o;
    int rc;
    if ((rc = settings(r, e))) return rc;
    if ((rc = create_backend(r, e))) return rc;
    if ((rc = wn_run_open_data(r, e))) return rc;
    if ((rc = wn_run_build_caches(r, e))) return rc;
    int k = r->train.n_classes;
    if ((rc = wn_net_create(&r->def, k, &r->be, &r->net, e))) return rc;
    if (!o->quiet) wn_net_print(&r->net, stderr);
    if ((rc = wn_net_init(&r->net, r->cfg.seed, e))) return rc;
    if ((rc = transfer(r, e))) return rc;
    if ((rc = wn_net_reserve(&r->net, r->cfg.batch, 1, e))) return rc;
    if ((rc = wn_optim_create(&r->opt, &r->cfg, &r->net, e))) return rc;
    wn_rng_seed(&r->rng, r->cfg.seed, 1);
    if (o->overfit_check) return WN_OK;
    if ((rc = wn_loss_create(&r->loss, &r->cfg, r->counts, k, r->cfg.batch, &r->be, e))) return rc;
    if ((rc = wn_sampler_create(&r->sampler, r->cfg.sampler, r->ctrain.labels, r->ctrain.n, k,
                                r->cfg.batch, r->cfg.target_ratio, r->cfg.seed, e)))
        return rc;
    if ((rc = wn_ema_create(&r->ema, r->cfg.ema, &r->net, e))) return rc;
    if ((rc = wn_sam_create(&r->sam, r->cfg.sam, &r->net, e))) return rc;
    if (r->sam.w)
        fprintf(stderr, "sharpness-aware minimisation: radius %g (two forward and backward passes "
                "per batch)\n", r->cfg.sam);
    if (r->ema.w)
        fprintf(stderr, "weight average: decay %g (min with (1+step)/(10+step)); validation and the "
                "saved model use it\n", r->cfg.ema);
    fprintf(stderr, "loss %s", wn_loss_name(r->cfg.loss));
    if (r->cfg.loss == WN_LOSS_BAYESIAN)
        fprintf(stderr, " (priors of the %s)", r->cfg.prior == WN_PRIOR_BATCH ? "minibatch" : "training set");
    if (r->cfg.loss == WN_LOSS_LOGIT_ADJUSTED) fprintf(stderr, " (tau %g)", r->cfg.tau);
    if (r->cfg.loss == WN_LOSS_FOCAL) fprintf(stderr, " (gamma %g)", r->cfg.focal_gamma);
    fprintf(stderr, ", sampler %s: %d photos per epoch in %d minibatches\n",
            wn_sampler_name(r->cfg.sampler), r->sampler.epoch_len,
            (r->sampler.epoch_len + r->cfg.batch - 1) / r->cfg.batch);
    r->best_metric = -INFINITY;
    r->best_epoch = 0;
    if (o->resume && (rc = wn_run_load_state(r, e))) return rc;
    /* a resumed run appends to its log; a log that is gone starts afresh with its header */
    FILE *had = o->resume ? fopen(r->log_path, "rb") : NULL;
    int fresh = !had || fgetc(had) == EOF;
    if (had) fclose(had);
    r->log = wn_fopen(r->log_path, fresh ? "wb" : "ab", e);
    if (!r->log) return WN_EINPUT;
    if (fresh && (rc = wn_log_header(r->log, k, r->train.class_names, r->log_path, e))) return rc;
    return WN_OK;
}

static double select_value(int select, int epoch, double loss, double acc, double bal) {
    switch (select) {
    case WN_SELECT_LOSS: return -loss;
    case WN_SELECT_ACCURACY: return acc;
    case WN_SELECT_LAST: return epoch;
    default: return bal;
    }
}

static const char *select_name(int select) {
    static const char *names[] = {"val balanced accuracy", "val accuracy", "val loss", "last epoch"};
    return names[select];
}

static void print_recall(const wn_run *r, const wn_confusion *cm, FILE *f) {
    fprintf(f, "          val recall:");
    for (int j = 0; j < cm->k; j++) {
        double rc = wn_metric_recall(cm, j);
        if (rc < 0)
            fprintf(f, " %.16s -", r->train.class_names[j]);
        else
            fprintf(f, " %.16s %.1f%%", r->train.class_names[j], 100 * rc);
    }
    fprintf(f, " | macro F1 %.4f\n", wn_metric_macro_f1(cm));
}

/* A plot that cannot be written is not worth the run: say so once and draw no more. */
static void plot_result(wn_run *r, int rc, wn_err *e) {
    if (!rc) return;
    fprintf(stderr, "warning: plots: %s; training goes on without plots\n", e->msg);
    wn_err_clear(e);
    r->cfg.plots = 0;
}

/* After an epoch: figures, collapse check, log, best model, plots, state. Sets *stop for an
 * early stop. */
static int finish_epoch(wn_run *r, int ep, const wn_epoch_stats *st, const wn_confusion *cm,
                        double vl, double secs, int *stale, int *stop, wn_err *e) {
    int k = cm->k, rc = WN_OK;
    double va = wn_metric_accuracy(cm), vb = wn_metric_balanced_accuracy(cm);
    double score = select_value(r->cfg.select, ep + 1, vl, va, vb);
    int better = score > r->best_metric, cls = 0;
    double share = 0;
    int collapsed = wn_collapse_check(cm, &cls, &share);
    fprintf(stderr,
            "epoch %3d/%d  loss %.4f  acc %.4f | val loss %.4f  acc %.4f  balanced %.4f | "
            "%.0f img/s  %.1fs%s\n",
            ep + 1, r->cfg.epochs, st->loss, st->accuracy, vl, va, vb, st->images_per_s, secs,
            better ? "  * best, saved" : "");
    print_recall(r, cm, stderr);
    if (!r->o->quiet && k <= WN_PRINT_CONFUSION_MAX_K) wn_confusion_print(cm, r->train.class_names, stderr);
    if (collapsed) {
        int largest = 1;
        for (int j = 0; j < k; j++) largest &= r->counts[j] <= r->counts[cls];
        wn_collapse_warn(stderr, ep + 1, r->train.class_names[cls], share,
                         r->loss.train_prior[cls], largest);
    }
    double *recall = wn_xmalloc((size_t)k * sizeof(double)); // (K)
    for (int j = 0; j < k; j++) recall[j] = wn_metric_recall(cm, j);
    wn_log_row row = {ep + 1, wn_train_lr(&r->cfg, ep + 1 - 1e-9), st->loss, st->accuracy, vl,
                      va, vb, st->images_per_s, secs, better, wn_metric_macro_f1(cm), collapsed};
    rc = wn_log_row_write(r->log, &row, k, recall, r->log_path, e);
    free(recall);
    if (!rc && better) {
        r->best_metric = score;
        r->best_epoch = ep + 1;
        *stale = 0;
        rc = wn_run_save_best(r, ep + 1, vl, va, vb, e);
        char title[96];
        snprintf(title, sizeof title, "validation, epoch %d (best)", ep + 1);
        if (!rc && r->cfg.plots)
            plot_result(r, wn_train_plot_confusion(r->prefix, title, cm, r->train.class_names, e), e);
    } else {
        (*stale)++;
    }
    if (!rc && r->cfg.plots) plot_result(r, wn_train_plot_log(r->log_path, r->prefix, e), e);
    if (r->ema.swapped) wn_ema_swap(&r->ema); /* the state holds the weights themselves */
    if (!rc) rc = wn_run_save_state(r, ep + 1, e);
    if (!rc && r->cfg.patience > 0 && *stale >= r->cfg.patience) {
        fprintf(stderr, "early stop: no improvement of the %s for %d epochs\n",
                select_name(r->cfg.select), *stale);
        *stop = 1;
    }
    return rc;
}

static int loop(wn_run *r, wn_err *e) {
    wn_confusion cm;
    wn_confusion_init(&cm, r->net.n_classes);
    int rc = WN_OK, stale = 0, stop = 0, ran = 0;
    if (r->start_epoch >= r->cfg.epochs)
        fprintf(stderr, "nothing to do: %d of %d epochs already done (raise --epochs to continue)\n",
                r->start_epoch, r->cfg.epochs);
    for (int ep = r->start_epoch; ep < r->cfg.epochs && !rc && !stop; ep++) {
        double t0 = wn_now(), vl = 0;
        wn_epoch_stats st;
        char label[64];
        snprintf(label, sizeof label, "epoch %d/%d", ep + 1, r->cfg.epochs);
        if ((rc = wn_run_epoch(r, &r->sampler, NULL, ep, 1, label, &st, e))) break;
        wn_ema_swap(&r->ema); /* validation, the best model and its plots use the average */
        rc = wn_run_validate(r, &r->cval, NULL, r->cval.n, &cm, &vl, e);
        if (!rc) rc = finish_epoch(r, ep, &st, &cm, vl, wn_now() - t0, &stale, &stop, e);
        if (r->ema.swapped) wn_ema_swap(&r->ema);
        ran = 1;
    }
    if (!rc && r->best_epoch > 0) {
        if (r->cfg.select == WN_SELECT_LAST)
            fprintf(stderr, "model of the last epoch, %d, in %s\n", r->best_epoch, r->o->out);
        else
            fprintf(stderr, "best epoch %d (%s %.4f); model in %s\n", r->best_epoch,
                    select_name(r->cfg.select),
                    r->cfg.select == WN_SELECT_LOSS ? -r->best_metric : r->best_metric, r->o->out);
        if (ran && (r->o->quiet || r->net.n_classes > WN_PRINT_CONFUSION_MAX_K)) {
            fprintf(stderr, "validation confusion matrix, last epoch:\n");
            wn_confusion_print(&cm, r->train.class_names, stderr);
        }
        if (r->cfg.plots)
            fprintf(stderr, "plots: %s.loss.png, %s.accuracy.png, %s.confusion.png\n", r->prefix,
                    r->prefix, r->prefix);
    }
    wn_confusion_free(&cm);
    return rc;
}

int wn_train_run(const wn_train_opts *o, wn_err *e) {
    wn_run *r = wn_xcalloc(1, sizeof *r);
    r->o = o;
    int rc = setup(r, e);
    if (!rc) rc = o->overfit_check ? wn_run_overfit_check(r, o->overfit_check, e) : loop(r, e);
    if (r->log) {
        wn_err le = {0};
        int lrc = wn_fclose(r->log, r->log_path, &le);
        if (lrc && !rc) rc = wn_err_set(e, lrc, "%s", le.msg);
    }
    wn_sampler_free(&r->sampler);
    wn_loss_free(&r->loss);
    wn_ema_free(&r->ema);
    wn_sam_free(&r->sam);
    wn_optim_free(&r->opt);
    if (r->net.be) wn_net_free(&r->net);
    wn_cache_free(&r->ctrain);
    wn_cache_free(&r->cval);
    wn_dataset_free(&r->train);
    wn_dataset_free(&r->val);
    wn_netdef_free(&r->def);
    wn_backend_free(&r->be);
    free(r->counts);
    free(r->val_counts);
    free(r);
    return rc;
}
