/* train_collapse.c - the collapse detector: a model that answers one class for (nearly) every
 * validation photo has become a constant classifier, the usual failure of plain cross entropy
 * on imbalanced photos; the warning says so plainly and says what to try. */
#include "wn_train.h"

int wn_collapse_check(const wn_confusion *cm, int *cls, double *share) {
    if (cm->k < 2) return 0;
    long total = 0, best_n = -1;
    int best = 0;
    for (int j = 0; j < cm->k; j++) {
        long col = 0;
        for (int i = 0; i < cm->k; i++) col += cm->m[(size_t)i * cm->k + j];
        total += col;
        if (col > best_n) best_n = col, best = j;
    }
    if (total == 0 || (double)best_n / total < WN_COLLAPSE_SHARE) return 0;
    /* the other classes with validation photos must be mostly missed */
    double recall = 0;
    int others = 0;
    for (int j = 0; j < cm->k; j++) {
        double r = wn_metric_recall(cm, j);
        if (j == best || r < 0) continue;
        recall += r;
        others++;
    }
    if (others == 0 || recall / others >= 0.5) return 0; /* nothing to judge, or fine */
    if (cls) *cls = best;
    if (share) *share = (double)best_n / total;
    return 1;
}

void wn_collapse_warn(FILE *f, int epoch, const char *name, double share, double prior,
                      int majority) {
    fprintf(f, "warning: epoch %d: the model is acting as a constant classifier: %.1f%% of the "
            "validation photos are predicted '%s' (training prior %.1f%%); %s\n",
            epoch, 100 * share, name, 100 * prior,
            majority ? "try --loss bayesian or --sampler stratified"
                     : "that is not the largest class, so the imbalance is over-corrected: "
                       "lower --tau, or try --loss bayesian or --sampler stratified");
}
