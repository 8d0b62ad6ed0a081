/* train_loop.c - `weldnet train`: reads the photo sets, builds the network, trains epoch by
 * epoch with progress, validates every epoch, keeps the best checkpoint, writes the training
 * log CSV and the training state that --resume continues from. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "wn_data.h"
#include "wn_metrics.h"
#include "wn_model.h"
#include "wn_modelnet.h"
#include "wn_progress.h"
#include "wn_train.h"

typedef struct run {
    const wn_train_opts *o;
    wn_train_cfg cfg;
    wn_netdef def;
    wn_backend be;
    wn_dataset train, val;
    wn_cache ctrain, cval;
    float mean[3], std[3];
    long *counts;               /* (K) training photos per class */
    wn_net net;
    wn_optim opt;
    wn_rng rng;
    int start_epoch, best_epoch;
    double best_metric;
    char state_path[4096], log_path[4096];
    FILE *log;
} run;

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

static void derive_path(char *dst, size_t n, const char *out, const char *suffix) {
    const char *dot = strrchr(out, '.');
    const char *slash = strrchr(out, '/');
    size_t stem = (dot && (!slash || dot > slash)) ? (size_t)(dot - out) : strlen(out);
    snprintf(dst, n, "%.*s%s", (int)stem, out, suffix);
}

static int open_data(run *r, wn_err *e) {
    const wn_train_opts *o = r->o;
    int rc = wn_dataset_open(o->data, NULL, 0, o->ok_class, &r->train, e);
    if (rc) return rc;
    if (o->val) {
        rc = wn_dataset_open(o->val, (const char *const *)r->train.class_names, r->train.n_classes,
                             o->ok_class, &r->val, e);
        if (rc) return rc;
    } else {
        wn_dataset all = r->train;
        wn_dataset_split(&all, r->cfg.val_split, r->cfg.seed, &r->train, &r->val);
        wn_dataset_free(&all);
    }
    if (r->train.n_classes < 2)
        return wn_err_set(e, WN_EINPUT, "%s: training needs at least 2 classes, found %d", o->data,
                          r->train.n_classes);
    return WN_OK;
}

static void print_counts(run *r) {
    int k = r->train.n_classes;
    long *cv = wn_xcalloc(k, sizeof(long));
    r->counts = wn_xcalloc(k, sizeof(long));
    wn_dataset_counts(&r->train, r->counts);
    wn_dataset_counts(&r->val, cv);
    fprintf(stderr, "data: %d training photos (%s), %d validation photos (%s)\n", r->train.n,
            r->o->data, r->val.n, r->o->val ? r->o->val : "stratified split");
    fprintf(stderr, "  %-20s %8s %7s %8s %7s\n", "class", "train", "share", "val", "share");
    for (int j = 0; j < k; j++)
        fprintf(stderr, "  %-20.20s %8ld %6.2f%% %8ld %6.2f%%\n", r->train.class_names[j],
                r->counts[j], 100.0 * r->counts[j] / (r->train.n ? r->train.n : 1), cv[j],
                100.0 * cv[j] / (r->val.n ? r->val.n : 1));
    free(cv);
}

static int build_caches(run *r, wn_err *e) {
    const wn_train_opts *o = r->o;
    size_t mem = (size_t)(o->cache_mem_mb * 1024 * 1024);
    int c = r->def.in_c, h = r->def.in_h, w = r->def.in_w;
    int rc = wn_cache_build(&r->train, c, h, w, r->cfg.threads, o->strict, mem, o->cache_dir,
                            !o->quiet, &r->ctrain, e);
    if (rc) return rc;
    rc = wn_cache_build(&r->val, c, h, w, r->cfg.threads, o->strict, mem, o->cache_dir, !o->quiet,
                        &r->cval, e);
    if (rc) return rc;
    int bad = r->ctrain.n_bad + r->cval.n_bad;
    if (bad) {
        fprintf(stderr, "warning: %d unreadable photo%s skipped (--strict makes this fatal):\n", bad,
                bad == 1 ? "" : "s");
        for (int i = 0; i < r->ctrain.n_bad; i++) fprintf(stderr, "  %s\n", r->ctrain.bad[i]);
        for (int i = 0; i < r->cval.n_bad; i++) fprintf(stderr, "  %s\n", r->cval.bad[i]);
    }
    if (r->cval.n == 0)
        return wn_err_set(e, WN_EINPUT, "no readable validation photos");
    /* class counts as actually trained on (unreadable photos excluded) */
    memset(r->counts, 0, r->train.n_classes * sizeof(long));
    for (int i = 0; i < r->ctrain.n; i++) r->counts[r->ctrain.labels[i]]++;
    if (r->def.norm_auto) {
        wn_cache_stats(&r->ctrain, r->mean, r->std);
        for (int ch = 0; ch < c; ch++)
            if (r->std[ch] < 1e-6f) r->std[ch] = 1;
        fprintf(stderr, "normalisation from the training photos: mean");
        for (int ch = 0; ch < c; ch++) fprintf(stderr, " %.4f", r->mean[ch]);
        fprintf(stderr, ", std");
        for (int ch = 0; ch < c; ch++) fprintf(stderr, " %.4f", r->std[ch]);
        fprintf(stderr, "\n");
    } else {
        memcpy(r->mean, r->def.mean, sizeof r->mean);
        memcpy(r->std, r->def.std, sizeof r->std);
    }
    for (int ch = c; ch < 3; ch++) {
        r->mean[ch] = r->mean[0];
        r->std[ch] = r->std[0];
    }
    return WN_OK;
}

static uint64_t fnv1a(uint64_t h, const char *s) {
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
    return h;
}

static void config_hash(run *r, char *buf, size_t n) {
    uint64_t h = fnv1a(0xcbf29ce484222325ull, r->def.ini_text ? r->def.ini_text : "");
    for (int j = 0; j < r->train.n_classes; j++) h = fnv1a(h, r->train.class_names[j]);
    snprintf(buf, n, "%016llx", (unsigned long long)h);
}

static int save_state(run *r, int epoch, wn_err *e) {
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
    struct { const char *name; float *p; size_t n; } parts[] = {
        {"params", r->net.params, r->net.n_params}, {"state", r->net.state, r->net.n_state},
        {"m", r->opt.m, r->net.n_params}, {"v", r->opt.v, r->net.n_params}};
    wn_named_tensor t[4];
    int nt = 0, rc = WN_OK;
    for (int i = 0; i < 4; i++) {
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

static int load_state(run *r, wn_err *e) {
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
    struct { const char *name; float *p; size_t n; } parts[] = {
        {"params", r->net.params, r->net.n_params}, {"state", r->net.state, r->net.n_state},
        {"m", r->opt.m, r->net.n_params}, {"v", r->opt.v, r->net.n_params}};
    for (int i = 0; i < 4 && !rc; i++) {
        if (!parts[i].p || !parts[i].n) continue;
        const wn_named_tensor *t = NULL;
        for (int j = 0; j < s.n_tensors; j++)
            if (!strcmp(s.tensors[j].name, parts[i].name)) t = &s.tensors[j];
        if (!t || t->ndim != 1 || (size_t)t->dims[0] != parts[i].n)
            rc = wn_err_set(e, WN_EINPUT, "%s: tensor '%s' is missing or of the wrong size (was the optimizer changed?)",
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

static void log_header(FILE *f) {
    fprintf(f, "epoch,lr,train_loss,train_accuracy,val_loss,val_accuracy,val_balanced_accuracy,"
               "images_per_s,seconds,best\n");
}

static double select_value(int select, double loss, double acc, double bal) {
    return select == WN_SELECT_LOSS ? -loss : select == WN_SELECT_ACCURACY ? acc : bal;
}

static int save_best(run *r, int epoch, double vloss, double vacc, double vbal, wn_err *e) {
    char meta[4096], created[64];
    time_t now = time(NULL);
    strftime(created, sizeof created, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
    int n = snprintf(meta, sizeof meta,
                     "created = %s\nweldnet = %s\nepoch = %d\nval_loss = %.6f\nval_accuracy = %.6f\n"
                     "val_balanced_accuracy = %.6f\ntrain_data = %s\n",
                     created, WN_VERSION, epoch, vloss, vacc, vbal, r->o->data);
    wn_train_cfg_format(&r->cfg, meta + n, sizeof meta - n);
    wn_model m;
    int rc = wn_model_from_net(&r->net, r->train.class_names, r->counts, r->mean, r->std, meta, &m, e);
    if (!rc) rc = wn_model_save(r->o->out, &m, e);
    wn_model_free(&m);
    return rc;
}

static int train_epoch(run *r, int epoch, double *loss_out, double *acc_out, double *ips, wn_err *e) {
    wn_backend *be = &r->be;
    const wn_backend_ops *ops = be->ops;
    int k = r->net.n_classes, bs = r->cfg.batch, n = r->ctrain.n;
    size_t sample = (size_t)r->ctrain.c * r->ctrain.h * r->ctrain.w;
    int *order = wn_xmalloc((size_t)n * sizeof(int));
    for (int i = 0; i < n; i++) order[i] = i;
    wn_rng_shuffle(&r->rng, order, n);
    float *xh = wn_xmalloc((size_t)bs * sample * sizeof(float)); // (B, C, H, W)
    int32_t *yh = wn_xmalloc((size_t)bs * sizeof(int32_t));      // (B)
    float *ph = wn_xmalloc((size_t)bs * k * sizeof(float));      // (B, K)
    float *xd = wn_balloc(be, (size_t)bs * sample, "input batch", e);
    int32_t *yd = ops->alloc(be->ctx, (size_t)bs * sizeof(int32_t));
    float *pd = wn_balloc(be, (size_t)bs * k, "probabilities", e);
    float *gd = wn_balloc(be, (size_t)bs * k, "logit gradients", e);
    wn_augment aug = {r->cfg.crop, r->cfg.flip};
    int use_aug = aug.crop_pad > 0 || aug.flip;
    int rc = (xd && yd && pd && gd) ? WN_OK : wn_err_set(e, WN_ERUNTIME, "out of %s memory", ops->name);
    double total = 0;
    long right = 0;
    char label[64], extra[64];
    snprintf(label, sizeof label, "epoch %d/%d", epoch + 1, r->cfg.epochs);
    wn_progress pr;
    wn_progress_start(&pr, label, "img", n, r->o->quiet);
    int batches = (n + bs - 1) / bs;
    for (int b = 0; b < batches && !rc; b++) {
        int s = b * bs, m = n - s < bs ? n - s : bs;
        wn_batch_fill(&r->ctrain, order + s, m, r->mean, r->std, use_aug ? &aug : NULL, &r->rng, xh, yh);
        if ((rc = ops->upload(be->ctx, xd, xh, (size_t)m * sample * sizeof(float), e))) break;
        if ((rc = ops->upload(be->ctx, yd, yh, (size_t)m * sizeof(int32_t), e))) break;
        uint64_t seed = r->cfg.seed * 0x9E3779B97F4A7C15ull + (uint64_t)r->opt.step;
        const float *logits = wn_net_forward(&r->net, m, xd, 1, seed); // (m, K)
        double l = 0;
        ops->softmax_xent(be->ctx, m, k, logits, yd, NULL, NULL, pd, gd, &l);
        if (!isfinite(l)) {
            rc = wn_err_set(e, WN_ERUNTIME,
                            "epoch %d batch %d: the loss is %g; training diverged (try a smaller --lr)",
                            epoch + 1, b + 1, l);
            break;
        }
        wn_net_backward(&r->net, m, xd, gd);
        wn_optim_step(&r->opt, wn_train_lr(&r->cfg, epoch + (double)b / batches));
        if ((rc = ops->download(be->ctx, ph, pd, (size_t)m * k * sizeof(float), e))) break;
        for (int i = 0; i < m; i++) {
            int best = 0;
            for (int j = 1; j < k; j++)
                if (ph[i * k + j] > ph[i * k + best]) best = j;
            right += best == yh[i];
        }
        total += l * m;
        snprintf(extra, sizeof extra, "loss %.4f", total / (s + m));
        wn_progress_update(&pr, s + m, extra);
    }
    double secs = wn_progress_end(&pr);
    *loss_out = n ? total / n : 0;
    *acc_out = n ? (double)right / n : 0;
    *ips = secs > 0 ? n / secs : 0;
    ops->free(be->ctx, xd);
    ops->free(be->ctx, yd);
    ops->free(be->ctx, pd);
    ops->free(be->ctx, gd);
    free(xh);
    free(yh);
    free(ph);
    free(order);
    return rc;
}

static int validate(run *r, wn_confusion *cm, double *loss, wn_err *e) {
    int k = r->net.n_classes, n = r->cval.n;
    float *probs = wn_xmalloc((size_t)n * k * sizeof(float)); // (N, K)
    int *labels = wn_xmalloc((size_t)n * sizeof(int));
    int rc = wn_predict_cache(&r->net, &r->cval, NULL, n, r->cfg.batch, r->mean, r->std, probs, loss, e);
    if (!rc) {
        for (int i = 0; i < n; i++) labels[i] = r->cval.labels[i];
        wn_confusion_reset(cm);
        wn_confusion_add_probs(cm, n, probs, labels);
    }
    free(probs);
    free(labels);
    /* the next training forward needs the training buffers again */
    if (!rc) rc = wn_net_reserve(&r->net, r->cfg.batch, 1, e);
    return rc;
}

static int setup(run *r, wn_err *e) {
    const wn_train_opts *o = r->o;
    int rc = wn_netdef_parse_file(o->config, &r->def, e);
    if (rc) return rc;
    wn_train_cfg_defaults(&r->cfg);
    if ((rc = wn_train_cfg_apply_ini(&r->cfg, &r->def, e))) return rc;
    for (int i = 0; i < o->n_set; i++)
        if ((rc = wn_train_cfg_set(&r->cfg, o->set_key[i], o->set_val[i], o->set_where[i], WN_SRC_CLI, e)))
            return rc;
    if (!o->quiet) wn_train_cfg_print(&r->cfg, stderr);
    snprintf(r->state_path, sizeof r->state_path, "%s", o->state ? o->state : "");
    if (!o->state) derive_path(r->state_path, sizeof r->state_path, o->out, ".state");
    if (o->log)
        snprintf(r->log_path, sizeof r->log_path, "%s", o->log);
    else
        derive_path(r->log_path, sizeof r->log_path, o->out, ".log.csv");
    if ((rc = check_writable(o->out, e)) || (rc = check_writable(r->state_path, e))) return rc;
    r->log = wn_fopen(r->log_path, o->resume ? "ab" : "wb", e);
    if (!r->log) return WN_EINPUT;
    if (!o->resume) log_header(r->log);
    if ((rc = wn_backend_create(o->device, r->cfg.threads, o->quiet, &r->be, e))) return rc;
    if ((rc = open_data(r, e))) return rc;
    print_counts(r);
    if ((rc = build_caches(r, e))) return rc;
    if ((rc = wn_net_create(&r->def, r->train.n_classes, &r->be, &r->net, e))) return rc;
    if (!o->quiet) wn_net_print(&r->net, stderr);
    if ((rc = wn_net_init(&r->net, r->cfg.seed, e))) return rc;
    if ((rc = wn_net_reserve(&r->net, r->cfg.batch, 1, e))) return rc;
    if ((rc = wn_optim_create(&r->opt, &r->cfg, &r->net, e))) return rc;
    wn_rng_seed(&r->rng, r->cfg.seed, 1);
    r->best_metric = -INFINITY;
    r->best_epoch = 0;
    if (o->resume && (rc = load_state(r, e))) return rc;
    return WN_OK;
}

static int loop(run *r, wn_err *e) {
    wn_confusion cm;
    wn_confusion_init(&cm, r->net.n_classes);
    int rc = WN_OK, stale = 0;
    if (r->start_epoch >= r->cfg.epochs)
        fprintf(stderr, "nothing to do: %d of %d epochs already done (raise --epochs to continue)\n",
                r->start_epoch, r->cfg.epochs);
    for (int ep = r->start_epoch; ep < r->cfg.epochs && !rc; ep++) {
        double t0 = wn_now(), tl, ta, ips, vl;
        if ((rc = train_epoch(r, ep, &tl, &ta, &ips, e))) break;
        if ((rc = validate(r, &cm, &vl, e))) break;
        double va = wn_metric_accuracy(&cm), vb = wn_metric_balanced_accuracy(&cm);
        double score = select_value(r->cfg.select, vl, va, vb);
        int better = score > r->best_metric;
        if (better) {
            r->best_metric = score;
            r->best_epoch = ep + 1;
            stale = 0;
            if ((rc = save_best(r, ep + 1, vl, va, vb, e))) break;
        } else {
            stale++;
        }
        double secs = wn_now() - t0;
        double lr = wn_train_lr(&r->cfg, ep + 1 - 1e-9);
        fprintf(stderr,
                "epoch %3d/%d  loss %.4f  acc %.4f | val loss %.4f  acc %.4f  balanced %.4f | "
                "%.0f img/s  %.1fs%s\n",
                ep + 1, r->cfg.epochs, tl, ta, vl, va, vb, ips, secs, better ? "  * best, saved" : "");
        fprintf(r->log, "%d,%.6g,%.6f,%.6f,%.6f,%.6f,%.6f,%.1f,%.2f,%d\n", ep + 1, lr, tl, ta, vl,
                va, vb, ips, secs, better);
        if (fflush(r->log) != 0)
            rc = wn_err_set(e, WN_ERUNTIME, "%s: write failed", r->log_path);
        if (!rc) rc = save_state(r, ep + 1, e);
        if (!rc && r->cfg.patience > 0 && stale >= r->cfg.patience) {
            fprintf(stderr, "early stop: no improvement for %d epochs\n", stale);
            break;
        }
    }
    if (!rc && r->best_epoch > 0) {
        fprintf(stderr, "best epoch %d (%s %.4f); model in %s\n", r->best_epoch,
                r->cfg.select == WN_SELECT_LOSS ? "val loss" :
                r->cfg.select == WN_SELECT_ACCURACY ? "val accuracy" : "val balanced accuracy",
                r->cfg.select == WN_SELECT_LOSS ? -r->best_metric : r->best_metric, r->o->out);
        fprintf(stderr, "validation confusion matrix, last epoch:\n");
        wn_confusion_print(&cm, r->train.class_names, stderr);
    }
    wn_confusion_free(&cm);
    return rc;
}

int wn_train_run(const wn_train_opts *o, wn_err *e) {
    run *r = wn_xcalloc(1, sizeof *r);
    r->o = o;
    int rc = setup(r, e);
    if (!rc) rc = loop(r, e);
    if (r->log) {
        wn_err le = {0};
        int lrc = wn_fclose(r->log, r->log_path, &le);
        if (lrc && !rc) rc = wn_err_set(e, lrc, "%s", le.msg);
    }
    wn_optim_free(&r->opt);
    if (r->net.be) wn_net_free(&r->net);
    wn_cache_free(&r->ctrain);
    wn_cache_free(&r->cval);
    wn_dataset_free(&r->train);
    wn_dataset_free(&r->val);
    wn_netdef_free(&r->def);
    wn_backend_free(&r->be);
    free(r->counts);
    free(r);
    return rc;
}
