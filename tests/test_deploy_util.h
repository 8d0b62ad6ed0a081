/* test_deploy_util.h - fixtures for the classify tests (each test is its own executable, so the
 * helpers are static): a calibrated model of the tiny network with seeded random weights,
 * photos in memory (JPEG of any colour space, optionally progressive; PNG of any type and
 * depth), and a reader of a whole report into memory. */
#ifndef WN_TEST_DEPLOY_UTIL_H
#define WN_TEST_DEPLOY_UTIL_H

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
#include <png.h>

#include "test_photos.h"
#include "wn_calibration.h"
#include "wn_classify.h"
#include "wn_modelnet.h"
#include "wn_test.h"

#define TINY_NET_RGB16                                                                            \
    "[net]\nwidth = 16\nheight = 12\nchannels = 3\nmean = 0.5,0.4,0.3\nstd = 0.25,0.2,0.3\n"      \
    "[conv1]\ntype = conv\nfilters = 4\nsize = 3\nstride = 2\n[relu1]\ntype = relu\n"            \
    "[fc]\ntype = dense\nunits = classes\n"

#define TINY_NET                                                                                  \
    "[net]\nwidth = 28\nheight = 28\nchannels = 1\nmean = 0.5\nstd = 0.25\n"                     \
    "[conv1]\ntype = conv\nfilters = 4\nsize = 3\nstride = 2\n[relu1]\ntype = relu\n"            \
    "[fc]\ntype = dense\nunits = classes\n"

/* Saves a model of the network ini (TINY_NET when NULL) with k classes (names[k], training counts[k]) and seeded
 * weights; calibrated with a pooled threshold when pooled_thr > 0. Returns 0 on success. */
static inline int tdu_make_model_ini(const char *path, const char *ini, int k, char **names,
                              const long *counts, float pooled_thr, uint64_t seed) {
    wn_err e = {0};
    wn_netdef d;
    wn_backend be;
    wn_net net;
    wn_model m;
    memset(&m, 0, sizeof m);
    if (wn_netdef_parse_string(ini ? ini : TINY_NET, "tiny.ini", &d, &e) ||
        wn_cpu_backend_create(1, &be, &e))
        goto fail;
    if (wn_net_create(&d, k, &be, &net, &e) || wn_net_init(&net, seed, &e)) goto fail;
    if (wn_model_from_net(&net, names, counts, d.mean, d.std, NULL, &m, &e)) goto fail;
    if (pooled_thr > 0) {
        wn_calibration c;
        wn_calibration_init(&c, k);
        wn_model_priors(&m, c.priors);
        c.threshold[0] = pooled_thr;
        c.target[0] = 0.95;
        c.confidence = 0.95;
        c.n_photos = 100;
        c.n_defect = 20;
        c.recall = 0.95;
        c.recall_lower = 0.75;
        c.automation = 0.5;
        strcpy(c.set_hash, "0123456789abcdef");
        strcpy(c.date, "2026-01-01T00:00:00Z");
        int rc = wn_model_set_calibration(&m, &c, &e);
        wn_calibration_free(&c);
        if (rc) goto fail;
    }
    if (wn_model_save(path, &m, &e)) goto fail;
    wn_model_free(&m);
    wn_net_free(&net);
    wn_backend_free(&be);
    wn_netdef_free(&d);
    return 0;
fail:
    fprintf(stderr, "tdu_make_model: %s\n", e.msg);
    return -1;
}

static inline int tdu_make_model(const char *path, int k, char **names, const long *counts,
                          float pooled_thr, uint64_t seed) {
    return tdu_make_model_ini(path, NULL, k, names, counts, pooled_thr, seed);
}

/* Options for a quiet CPU run of models over one folder; the arrays must outlive the run. */
static inline void tdu_options(wn_cls_options *o, const char *const *models, int n_models,
                               const char *const *dir, const char *report, int batch, int threads) {
    wn_cls_options_default(o);
    o->models = models;
    o->n_models = n_models;
    o->dirs = dir;
    o->n_dirs = 1;
    o->report = report;
    o->quiet = 1;
    o->batch = batch;
    o->threads = threads;
    o->device = WN_DEVICE_CPU;
}

/* A w x h PNG of a smooth pattern: type PNG_COLOR_TYPE_*, depth 8 or 16 (palette: 8). */
static inline tp_buf tdu_png(int w, int h, int type, int depth) {
    int ch = type == PNG_COLOR_TYPE_RGB ? 3 : type == PNG_COLOR_TYPE_RGBA ? 4 : 1;
    size_t stride = (size_t)w * ch * (depth / 8);
    uint8_t *data = malloc(stride * (size_t)h); // (H, stride)
    for (int y = 0; y < h; y++)
        for (size_t x = 0; x < stride; x++) data[y * stride + x] = (uint8_t)((x * 7 + y * 13) & 255);
    png_color pal[256];
    for (int i = 0; i < 256; i++) pal[i] = (png_color){(png_byte)i, (png_byte)(255 - i), 128};
    int palette = type == PNG_COLOR_TYPE_PALETTE;
    tp_buf b = tp_png(w, h, type, depth, data, stride, palette ? pal : NULL, palette ? 256 : 0, NULL, 0,
                      NULL, 0);
    free(data);
    return b;
}

/* A w x h JPEG of a smooth pattern, comps 1 (grey), 3 (RGB) or 4 (CMYK, Adobe marker). */
static inline tp_buf tdu_jpeg(int w, int h, int comps, int progressive) {
    uint8_t *pix = malloc((size_t)w * h * comps); // (H, W, comps)
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w * comps; x++) pix[(size_t)y * w * comps + x] = (uint8_t)((x * 3 + y * 5) & 255);
    J_COLOR_SPACE cs = comps == 1 ? JCS_GRAYSCALE : comps == 3 ? JCS_RGB : JCS_CMYK;
    tp_buf b = tp_jpeg(w, h, comps, cs, pix, 90, progressive, comps == 4 ? JCS_CMYK : JCS_UNKNOWN);
    free(pix);
    return b;
}

static inline void tdu_save(const char *path, const void *p, size_t n) {
    if (wn_test_write_file(path, p, n) != 0) {
        fprintf(stderr, "cannot write %s\n", path);
        abort();
    }
}

/* A report read into memory: raw paths, decisions, error texts (escaped), in file order. */
typedef struct tdu_report {
    int n;
    char **path, **error, **defects, **truth;
    int *decision;
    float *p; /* (n, P) */
    int n_p;
    int partial;
} tdu_report;

static inline int tdu_report_read(const char *file, tdu_report *t) {
    memset(t, 0, sizeof *t);
    wn_cls_reader r;
    wn_err e = {0};
    if (wn_cls_reader_open(&r, file, 0, &e)) {
        fprintf(stderr, "%s\n", e.msg);
        return -1;
    }
    t->n_p = r.L.n_p;
    wn_cls_row row;
    int got, cap = 0;
    while ((got = wn_cls_reader_next(&r, &row, &e)) == 1) {
        if (t->n == cap) {
            cap = cap ? 2 * cap : 64;
            t->path = realloc(t->path, cap * sizeof(char *));
            t->error = realloc(t->error, cap * sizeof(char *));
            t->defects = realloc(t->defects, cap * sizeof(char *));
            t->truth = realloc(t->truth, cap * sizeof(char *));
            t->decision = realloc(t->decision, cap * sizeof(int));
            t->p = realloc(t->p, (size_t)cap * t->n_p * sizeof(float));
        }
        t->path[t->n] = strdup(row.path);
        t->error[t->n] = strdup(row.error);
        t->defects[t->n] = strdup(row.defects);
        t->truth[t->n] = strdup(row.truth);
        t->decision[t->n] = row.decision;
        memcpy(t->p + (size_t)t->n * t->n_p, row.p, t->n_p * sizeof(float));
        t->n++;
    }
    t->partial = r.partial;
    wn_cls_reader_close(&r);
    if (got < 0) fprintf(stderr, "%s\n", e.msg);
    return got < 0 ? -1 : 0;
}

static inline int tdu_report_find(const tdu_report *t, const char *path) {
    int hit = -1, count = 0;
    for (int i = 0; i < t->n; i++)
        if (!strcmp(t->path[i], path)) hit = i, count++;
    return count == 1 ? hit : count == 0 ? -1 : -2;
}

static inline void tdu_report_free(tdu_report *t) {
    for (int i = 0; i < t->n; i++) {
        free(t->path[i]);
        free(t->error[i]);
        free(t->defects[i]);
        free(t->truth[i]);
    }
    free(t->path);
    free(t->error);
    free(t->defects);
    free(t->truth);
    free(t->decision);
    free(t->p);
    memset(t, 0, sizeof *t);
}

#endif
