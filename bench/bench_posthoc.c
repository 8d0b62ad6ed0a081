/* bench_posthoc.c - weldnet's "CE / priors" figure for bench/imbalance.sh: scores a model on a
 * labelled photo folder by balanced accuracy twice, with the plain argmax of its softmax and
 * after dividing the softmax by the model's training priors (threshold-moving, a post-hoc
 * correction, not training). Prints one line: "argmax X prior_divided Y".
 * Usage: bench_posthoc MODEL.wnet PHOTO_DIR [THREADS] */
#include <stdio.h>
#include <stdlib.h>

#include "wn_data.h"
#include "wn_metrics.h"
#include "wn_modelnet.h"

static int run(const char *model_path, const char *dir, int threads, wn_err *e) {
    wn_model m;
    int rc = wn_model_load(model_path, &m, e);
    if (rc) return rc;
    wn_backend be;
    wn_net net = {0};
    wn_dataset ds = {0};
    wn_cache cache = {0};
    float *probs = NULL;
    int *labels = NULL;
    if ((rc = wn_cpu_backend_create(threads, &be, e))) goto out_model;
    if ((rc = wn_net_from_model(&m, model_path, &be, &net, e))) goto out_be;
    if ((rc = wn_dataset_open(dir, (const char *const *)m.class_names, m.n_classes, m.class_names[0],
                              &ds, e)))
        goto out_net;
    if ((rc = wn_cache_build(&ds, m.in_c, m.in_h, m.in_w, threads, 1, (size_t)1 << 31, NULL, 0,
                             &cache, e)))
        goto out_ds;
    int k = m.n_classes, n = cache.n;
    probs = malloc(sizeof(float) * (size_t)n * k); // (N, K)
    labels = malloc(sizeof(int) * (size_t)n);       // (N)
    if ((rc = wn_predict_cache(&net, &cache, NULL, n, 256, m.mean, m.std, probs, NULL, e))) goto out_cache;
    double total = 0, ba[2];
    for (int j = 0; j < k; j++) total += (double)m.class_counts[j];
    for (int i = 0; i < n; i++) labels[i] = cache.labels[i];
    for (int pass = 0; pass < 2; pass++) {
        if (pass == 1)
            for (int i = 0; i < n; i++)
                for (int j = 0; j < k; j++) /* argmax of p/prior (renormalising changes nothing) */
                    probs[(size_t)i * k + j] /= (float)((m.class_counts[j] > 0 ? m.class_counts[j] : 0.5) / total);
        wn_confusion cm;
        wn_confusion_init(&cm, k);
        wn_confusion_add_probs(&cm, n, probs, labels);
        ba[pass] = wn_metric_balanced_accuracy(&cm);
        wn_confusion_free(&cm);
    }
    printf("argmax %.6f prior_divided %.6f\n", ba[0], ba[1]);
out_cache:
    free(probs);
    free(labels);
    wn_cache_free(&cache);
out_ds:
    wn_dataset_free(&ds);
out_net:
    wn_net_free(&net);
out_be:
    wn_backend_free(&be);
out_model:
    wn_model_free(&m);
    return rc;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: bench_posthoc MODEL.wnet PHOTO_DIR [THREADS]\n");
        return 2;
    }
    wn_err e = {0};
    int rc = run(argv[1], argv[2], argc > 3 ? atoi(argv[3]) : 0, &e);
    if (rc) fprintf(stderr, "bench_posthoc: %s\n", e.msg);
    return rc;
}
