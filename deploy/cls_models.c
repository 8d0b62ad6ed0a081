/* cls_models.c - the models of one classify run: loads and checks each model file (a file of
 * another kind, an uncalibrated model without --threshold), takes its calibration (the priors
 * to divide out and the thresholds), names it (file stem, CRC-32 of the file), builds its net on
 * the shared backend, and runs batched inference on photos of the pipeline's ring: gather the
 * photos' bytes into page-locked memory (host_alloc), upload them (upload_async and its fence;
 * a quarter of the floats' size), normalise on the backend (lookup_u8 through the training
 * normalisation's table, the same bits as wn_batch_fill), forward, softmax, divide by the priors
 * (wn_decide.h). */
#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>

#include "wn_calibration.h"
#include "wn_classify.h"
#include "wn_decide.h"
#include "wn_modelnet.h"

#define MAX_MODELS 64
#define MAX_BATCH 4096
#define MAX_MODEL_BYTES ((size_t)4 << 30)

char *wn_cls_model_stem(const char *path) {
    const char *b = strrchr(path, '/');
    b = b ? b + 1 : path;
    size_t n = strlen(b);
    if (n > 5 && !strcmp(b + n - 5, ".wnet")) n -= 5;
    char *s = wn_xmalloc(n + 1);
    memcpy(s, b, n);
    s[n] = '\0';
    return s;
}

/* FNV-1a (64 bits) of the whole file, folded to 32 bits. (Not a CRC-32: the model file ends in
 * its own CRC-32, so the CRC-32 of the whole file is the same constant for every model.) */
static int file_hash(const char *path, unsigned long *hash, wn_err *e) {
    unsigned char *buf;
    size_t len;
    int rc = wn_read_file(path, MAX_MODEL_BYTES, &buf, &len, e);
    if (rc) return rc;
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < len; i++) {
        h ^= buf[i];
        h *= 0x100000001b3ull;
    }
    free(buf);
    *hash = (unsigned long)((h ^ (h >> 32)) & 0xffffffffu);
    return WN_OK;
}

int wn_cls_model_shares(const wn_model *m, const char *path, double *shares, wn_err *e) {
    int k = m->n_classes;
    float *pr = wn_xcalloc((size_t)k, sizeof(float)); /* (K) */
    (void)path, (void)e;
    wn_model_priors(m, pr); /* the shares of the training photos, whatever the loss divided out */
    double sum = 0;
    for (int j = 0; j < k; j++) sum += pr[j];
    for (int j = 0; j < k; j++) shares[j] = sum > 0 ? pr[j] / sum : 1.0 / k;
    free(pr);
    return WN_OK;
}

/* Label unique among the first i models: "stem", else "stem_2", "stem_3"... */
static char *unique_label(const wn_cls_models *ms, int i, const char *path) {
    char *s = wn_cls_model_stem(path);
    for (int v = 2;; v++) {
        int clash = 0;
        for (int j = 0; j < i; j++) clash |= !strcmp(ms->m[j].label, s);
        if (!clash) return s;
        size_t n = strlen(s) + 16;
        char *t = wn_xmalloc(n);
        char *base = wn_cls_model_stem(path);
        snprintf(t, n, "%s_%d", base, v);
        free(base);
        free(s);
        s = t;
    }
}

/* Priors and thresholds: the calibration's, or the training shares and --threshold. */
static int take_decision_rule(wn_cls_model *m, double threshold, wn_err *e) {
    int k = m->k;
    m->priors = wn_xcalloc((size_t)k, sizeof(float));
    m->thr = wn_xcalloc((size_t)k, sizeof(float));
    if (wn_model_is_calibrated(&m->m)) {
        wn_calibration cal;
        int rc = wn_model_get_calibration(&m->m, m->path, &cal, e);
        if (rc) return rc;
        memcpy(m->priors, cal.priors, (size_t)k * sizeof(float));
        memcpy(m->thr, cal.threshold, (size_t)k * sizeof(float));
        wn_calibration_free(&cal);
        m->calibrated = 1;
        return WN_OK;
    }
    if (isnan(threshold))
        return wn_err_set(e, WN_EINPUT,
                          "%s: not calibrated: run weldnet calibrate on it first, or give "
                          "--threshold T (a pooled defect-score threshold for uncalibrated models)",
                          m->path);
    wn_model_output_priors(&m->m, m->priors);
    m->thr[0] = (float)threshold;
    for (int j = 1; j < k; j++) m->thr[j] = INFINITY;
    return WN_OK;
}

static int load_one(wn_cls_models *ms, int i, const char *path, double threshold, wn_err *e) {
    wn_cls_model *m = &ms->m[i];
    m->path = wn_xstrdup(path);
    int rc = wn_model_load(path, &m->m, e);
    if (rc) return rc;
    m->k = m->m.n_classes;
    if (m->k < 2)
        return wn_err_set(e, WN_EINPUT, "%s: the model has %d class: need an ok class and a defect class",
                          path, m->k);
    if ((rc = take_decision_rule(m, threshold, e))) return rc;
    unsigned long hash = 0;
    if ((rc = file_hash(path, &hash, e))) return rc;
    m->label = unique_label(ms, i, path);
    size_t n = strlen(m->label) + 48;
    m->id = wn_xmalloc(n);
    if (m->calibrated) snprintf(m->id, n, "%s-%08lx", m->label, hash);
    else snprintf(m->id, n, "%s-%08lx@t=%.6g", m->label, hash, threshold);
    if ((rc = wn_net_for_inference(&m->m, path, &ms->be, &m->net, e))) return rc;
    if ((rc = wn_net_reserve(&m->net, ms->batch, 0, e))) return wn_err_prefix(e, "%s", path);
    const wn_netdef *d = &m->net.def;
    int s = 0;
    while (s < ms->n_specs && !(ms->spec[s].c == d->in_c && ms->spec[s].h == d->in_h &&
                                ms->spec[s].w == d->in_w))
        s++;
    if (s == ms->n_specs) ms->spec[ms->n_specs++] = (wn_cls_spec){d->in_c, d->in_h, d->in_w};
    m->spec = s;
    size_t per = (size_t)d->in_c * (size_t)d->in_h * (size_t)d->in_w;
    /* page-locked on the GPU (one DMA copy per batch, no staging through pageable memory) */
    size_t xbytes = (size_t)ms->batch * per;
    m->x_host = ms->be.ops->host_alloc(ms->be.ctx, xbytes);
    if (!m->x_host)
        return wn_err_set(e, WN_ERUNTIME, "%s: out of host memory allocating the %zu-byte input batch",
                          path, xbytes);
    m->probs = wn_xmalloc((size_t)ms->batch * (size_t)m->k * sizeof(float));
    m->u8_dev = ms->be.ops->alloc(ms->be.ctx, xbytes);
    m->x_dev = wn_balloc(&ms->be, (size_t)ms->batch * per, "input batch", e);
    m->p_dev = wn_balloc(&ms->be, (size_t)ms->batch * (size_t)m->k, "probabilities", e);
    m->lut_dev = wn_balloc(&ms->be, (size_t)d->in_c * 256, "normalisation table", e);
    if (!m->u8_dev && m->x_dev && m->p_dev && m->lut_dev)
        wn_err_set(e, WN_ERUNTIME, "out of %s memory (input bytes)", ms->be.ops->name);
    if (!m->u8_dev || !m->x_dev || !m->p_dev || !m->lut_dev) return WN_ERUNTIME;
    float lut[3 * 256]; /* (C, 256); C is 1 or 3 (wn_netdef) */
    assert(d->in_c >= 1 && d->in_c <= 3);
    wn_batch_table(d->in_c, m->m.mean, m->m.std, lut);
    rc = ms->be.ops->upload(ms->be.ctx, m->lut_dev, lut, (size_t)d->in_c * 256 * sizeof(float), e);
    return rc ? wn_err_prefix(e, "%s", path) : WN_OK;
}

int wn_cls_models_load(wn_cls_models *ms, const char *const *paths, int n, double threshold,
                       int device, int math, int infer_threads, int batch, int quiet, wn_err *e) {
    memset(ms, 0, sizeof *ms);
    if (n < 1) return wn_err_set(e, WN_EINPUT, "no model given (--model FILE)");
    if (n > MAX_MODELS) return wn_err_set(e, WN_EINPUT, "%d models: at most %d", n, MAX_MODELS);
    if (batch < 1 || batch > MAX_BATCH)
        return wn_err_set(e, WN_EINPUT, "--batch %d: must be 1 to %d", batch, MAX_BATCH);
    if (!isnan(threshold) && !(threshold > 0 && threshold <= 1))
        return wn_err_set(e, WN_EINPUT, "--threshold %g: must be in (0, 1]", threshold);
    int rc = wn_backend_create_math(device, infer_threads, quiet, math, &ms->be, e);
    if (rc) return rc;
    ms->batch = batch;
    ms->m = wn_xcalloc((size_t)n, sizeof *ms->m);
    ms->spec = wn_xcalloc((size_t)n, sizeof *ms->spec);
    size_t ids_len = 1;
    for (int i = 0; i < n && rc == WN_OK; i++) {
        ms->n = i + 1;
        rc = load_one(ms, i, paths[i], threshold, e);
        if (rc == WN_OK) ids_len += strlen(ms->m[i].id) + 1;
    }
    if (rc) {
        wn_cls_models_free(ms);
        return rc;
    }
    ms->ids = wn_xcalloc(ids_len, 1);
    for (int i = 0; i < n; i++) {
        if (i) strcat(ms->ids, ";");
        strcat(ms->ids, ms->m[i].id);
    }
    return WN_OK;
}

void wn_cls_models_layout(const wn_cls_models *ms, wn_cls_layout *L) {
    char **labels = wn_xcalloc((size_t)ms->n, sizeof(char *));        /* (M) views */
    int *k = wn_xcalloc((size_t)ms->n, sizeof(int));                  /* (M) */
    char *const **classes = wn_xcalloc((size_t)ms->n, sizeof(char **)); /* (M) views */
    for (int i = 0; i < ms->n; i++) {
        labels[i] = ms->m[i].label;
        k[i] = ms->m[i].k;
        classes[i] = ms->m[i].m.class_names;
    }
    wn_cls_layout_make(L, ms->n, labels, k, classes);
    free(labels);
    free(k);
    free(classes);
}

int wn_cls_models_infer(wn_cls_models *ms, int mi, const uint8_t *pix, int ring, const int *ids,
                        int n, wn_err *e) {
    wn_cls_model *m = &ms->m[mi];
    const wn_cls_spec *s = &ms->spec[m->spec];
    const wn_backend_ops *ops = ms->be.ops;
    void *ctx = ms->be.ctx;
    size_t per = (size_t)s->c * (size_t)s->h * (size_t)s->w;
    /* gather the ring slots (pix (ring, C, H, W)) into the batch, one copy per run of
     * consecutive slots */
    for (int i = 0; i < n;) {
        int j = i + 1;
        assert(ids[i] >= 0 && ids[i] < ring);
        while (j < n && ids[j] == ids[j - 1] + 1) j++;
        memcpy(m->x_host + (size_t)i * per, pix + (size_t)ids[i] * per, (size_t)(j - i) * per);
        i = j;
    }
    int rc = ops->upload_async(ctx, m->u8_dev, m->x_host, (size_t)n * per, e);
    if (rc == WN_OK) rc = ops->upload_fence(ctx, e);
    if (rc) return wn_err_prefix(e, "%s", m->path);
    ops->lookup_u8(ctx, n, s->c, (size_t)s->h * (size_t)s->w, m->u8_dev, m->lut_dev, m->x_dev);
    const float *logits = wn_net_forward(&m->net, n, m->x_dev, 0, 0); /* (n, K) */
    ops->softmax(ctx, n, m->k, logits, m->p_dev);
    rc = ops->download(ctx, m->probs, m->p_dev, (size_t)n * (size_t)m->k * sizeof(float), e);
    if (rc) return rc;
    rc = wn_calib_divide_priors(m->probs, m->probs, n, m->k, m->priors, e);
    return rc ? wn_err_prefix(e, "%s", m->path) : WN_OK;
}

void wn_cls_models_free(wn_cls_models *ms) {
    for (int i = 0; i < ms->n; i++) {
        wn_cls_model *m = &ms->m[i];
        if (m->x_dev) ms->be.ops->free(ms->be.ctx, m->x_dev);
        if (m->p_dev) ms->be.ops->free(ms->be.ctx, m->p_dev);
        if (m->u8_dev) ms->be.ops->free(ms->be.ctx, m->u8_dev);
        if (m->lut_dev) ms->be.ops->free(ms->be.ctx, m->lut_dev);
        if (m->net.be) wn_net_free(&m->net);
        wn_model_free(&m->m);
        free(m->path);
        free(m->label);
        free(m->id);
        free(m->priors);
        free(m->thr);
        if (m->x_host) ms->be.ops->host_free(ms->be.ctx, m->x_host);
        free(m->probs);
    }
    free(ms->m);
    free(ms->spec);
    free(ms->ids);
    if (ms->be.ops) wn_backend_free(&ms->be);
    memset(ms, 0, sizeof *ms);
}
