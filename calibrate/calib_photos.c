/* calib_photos.c - the calibration set from labelled photos: open the set with the model's class
 * list, decode every photo once (all cores, progress), run the model in evaluation mode over
 * the decoded photos in chunks (progress), and keep probabilities, labels and the set hash. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "wn_backend.h"
#include "wn_calibrate.h"
#include "wn_data.h"
#include "wn_modelnet.h"
#include "wn_progress.h"

void wn_calib_set_free(wn_calib_set *s) {
    if (!s) return;
    for (int j = 0; j < s->k && s->names; j++) free(s->names[j]);
    free(s->names);
    free(s->probs);
    free(s->labels);
    free(s->priors);
    free(s->source);
    memset(s, 0, sizeof *s);
}

/* The folder that photo paths are relative to: the set's folder, or a manifest's folder. */
static char *set_root(const char *source) {
    struct stat st;
    if (stat(source, &st) == 0 && S_ISDIR(st.st_mode)) return wn_xstrdup(source);
    const char *slash = strrchr(source, '/');
    if (!slash) return wn_xstrdup("");
    size_t len = (size_t)(slash - source) + (slash == source);
    char *r = wn_xmalloc(len + 1);
    memcpy(r, source, len);
    r[len] = '\0';
    return r;
}

/* Scores the cached photos in chunks of a few batches, with a progress line. */
static int score(const wn_calib_opts *o, wn_net *net, const wn_cache *cache, const wn_model *m,
                 float *probs /* (N, K) */, wn_err *e) {
    int n = cache->n, k = m->n_classes, batch = o->batch > 0 ? o->batch : 128;
    int *ids = wn_xmalloc(sizeof *ids * (size_t)n); /* (N) */
    for (int i = 0; i < n; i++) ids[i] = i;
    wn_progress p;
    wn_progress_start(&p, "scoring", "img", n, o->quiet);
    int rc = WN_OK, chunk = 8 * batch;
    for (int s = 0; s < n && !rc; s += chunk) {
        int c = n - s < chunk ? n - s : chunk;
        rc = wn_predict_cache(net, cache, ids + s, c, batch, m->mean, m->std,
                              probs + (size_t)s * (size_t)k, NULL, e);
        wn_progress_update(&p, s + c, NULL);
    }
    double secs = wn_progress_end(&p);
    if (!rc && !o->quiet)
        fprintf(stderr, "scored %d photos in %.1f s (%.0f img/s)\n", n, secs,
                secs > 0 ? n / secs : 0.0);
    free(ids);
    return rc;
}

int wn_calib_set_from_photos(const wn_calib_opts *o, const wn_model *m, const char *model_path,
                             wn_calib_set *s, wn_err *e) {
    memset(s, 0, sizeof *s);
    wn_dataset ds;
    wn_cache cache;
    wn_backend be;
    wn_net net;
    memset(&cache, 0, sizeof cache);
    memset(&be, 0, sizeof be);
    memset(&net, 0, sizeof net);
    int k = m->n_classes;
    int rc = wn_dataset_open(o->data, (const char *const *)m->class_names, k, NULL, &ds, e);
    if (rc) return rc;
    if (!o->quiet) fprintf(stderr, "data: %d photos in %s\n", ds.n, o->data);
    size_t mem = (size_t)(o->cache_mem_mb * 1024.0 * 1024.0);
    rc = wn_cache_build(&ds, m->in_c, m->in_h, m->in_w, o->threads, o->strict, mem, o->cache_dir,
                        !o->quiet, &cache, e);
    if (!rc && cache.n_bad) {
        fprintf(stderr, "warning: %d unreadable photo%s left out (--strict makes this fatal):\n",
                cache.n_bad, cache.n_bad == 1 ? "" : "s");
        for (int i = 0; i < cache.n_bad; i++) fprintf(stderr, "  %s\n", cache.bad[i]);
    }
    if (!rc && cache.n == 0) rc = wn_err_set(e, WN_EINPUT, "%s: no readable photos", o->data);
    /* strict fp32 on the GPU: the thresholds are chosen on these scores, and classify (strict
     * by default) must see the same ones on either device */
    if (!rc) rc = wn_backend_create_math(o->device, o->threads, o->quiet, WN_MATH_STRICT, &be, e);
    if (!rc) rc = wn_net_for_inference(m, model_path, &be, &net, e);
    if (!rc) {
        s->k = k;
        s->n = cache.n;
        s->n_bad = cache.n_bad;
        s->names = wn_xcalloc((size_t)k, sizeof *s->names);
        for (int j = 0; j < k; j++) s->names[j] = wn_xstrdup(m->class_names[j]);
        s->probs = wn_xmalloc(sizeof *s->probs * (size_t)cache.n * (size_t)k);
        s->labels = wn_xmalloc(sizeof *s->labels * (size_t)cache.n);
        for (int i = 0; i < cache.n; i++) s->labels[i] = cache.labels[i];
        s->priors = wn_xmalloc(sizeof *s->priors * (size_t)k);
        s->output_priors = wn_model_output_priors(m, s->priors);
        s->has_priors = 1;
        s->source = wn_xstrdup(o->data);
        char **paths = wn_xmalloc(sizeof *paths * (size_t)cache.n); /* (N) not owned */
        for (int i = 0; i < cache.n; i++) paths[i] = ds.items[cache.index[i]].path;
        char *root = set_root(o->data);
        wn_calib_hash_paths(paths, cache.n, root, s->set_hash);
        free(root);
        free(paths);
        rc = score(o, &net, &cache, m, s->probs, e);
    }
    if (net.be) wn_net_free(&net);
    wn_backend_free(&be);
    wn_cache_free(&cache);
    wn_dataset_free(&ds);
    if (rc) wn_calib_set_free(s);
    return rc;
}
