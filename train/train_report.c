/* train_report.c - the data report printed before training: per-class counts and shares of the
 * training and validation photos, the accuracy of always answering the majority class against
 * uniform guessing, and warnings for a dangerous imbalance and for train/validation shares
 * that differ by more than WN_SHARE_MISMATCH for a class. */
#include <math.h>
#include <stdlib.h>

#include "wn_train.h"

static long sum(int k, const long *v) {
    long s = 0;
    for (int j = 0; j < k; j++) s += v[j];
    return s;
}

/* max(a, b) / min(a, b) for two shares, inf when exactly one is 0, 1 when both are. */
static double share_factor(double a, double b) {
    if (a <= 0 && b <= 0) return 1;
    if (a <= 0 || b <= 0) return INFINITY;
    return a > b ? a / b : b / a;
}

void wn_imbalance_measure(int k, const long *train, const long *val, wn_imbalance *im) {
    long nt = sum(k, train), nv = val ? sum(k, val) : 0;
    long cmin = -1;
    im->majority = 0;
    for (int j = 0; j < k; j++) {
        if (train[j] > train[im->majority]) im->majority = j;
        if (cmin < 0 || train[j] < cmin) cmin = train[j];
    }
    im->majority_acc = nt ? (double)train[im->majority] / nt : 0;
    im->uniform_acc = k > 0 ? 1.0 / k : 0;
    im->advantage = k > 1 ? (im->majority_acc - im->uniform_acc) / (1 - im->uniform_acc) : 0;
    im->ratio = cmin > 0 ? (double)train[im->majority] / cmin : INFINITY;
    im->dangerous = k > 1 && im->advantage >= WN_DANGEROUS_ADVANTAGE;
    im->mismatch = -1;
    im->mismatch_factor = 1;
    if (!val || !nt || !nv) return;
    for (int j = 0; j < k; j++) {
        double f = share_factor((double)train[j] / nt, (double)val[j] / nv);
        if (f > WN_SHARE_MISMATCH && f > im->mismatch_factor) {
            im->mismatch = j;
            im->mismatch_factor = f;
        }
    }
}

int wn_data_report(FILE *f, int k, char *const *names, const long *train, const long *val,
                   const char *train_src, const char *val_src) {
    long nt = sum(k, train), nv = val ? sum(k, val) : 0;
    wn_imbalance im;
    wn_imbalance_measure(k, train, val, &im);
    fprintf(f, "data: %ld training photos (%s), %ld validation photos (%s)\n", nt, train_src, nv,
            val_src);
    fprintf(f, "  %-20s %8s %7s %8s %7s\n", "class", "train", "share", "val", "share");
    for (int j = 0; j < k; j++)
        fprintf(f, "  %-20.20s %8ld %6.2f%% %8ld %6.2f%%\n", names[j], train[j],
                100.0 * train[j] / (nt ? nt : 1), val ? val[j] : 0,
                100.0 * (val ? val[j] : 0) / (nv ? nv : 1));
    fprintf(f, "  always answering '%s' is right for %.1f%% of the training photos, uniform "
            "guessing for %.1f%%; largest/smallest class %.1f:1\n",
            names[im.majority], 100 * im.majority_acc, 100 * im.uniform_acc, im.ratio);
    int warnings = 0;
    if (im.dangerous) {
        fprintf(f, "warning: dangerous imbalance: always answering '%s' (%.1f%% right) is much "
                "better than uniform guessing (%.1f%%), so plain cross entropy can settle into a "
                "constant classifier; consider --loss bayesian or --sampler stratified, and judge "
                "the model by balanced accuracy\n",
                names[im.majority], 100 * im.majority_acc, 100 * im.uniform_acc);
        warnings++;
    }
    if (im.mismatch >= 0) {
        fprintf(f, "warning: the training and validation class shares differ by more than %.1fx:",
                WN_SHARE_MISMATCH);
        for (int j = 0, shown = 0; j < k; j++) {
            double st = (double)train[j] / nt, sv = (double)val[j] / nv;
            if (share_factor(st, sv) <= WN_SHARE_MISMATCH) continue;
            fprintf(f, "%s '%s' %.2f%% vs %.2f%%", shown++ ? "," : "", names[j], 100 * st, 100 * sv);
        }
        fprintf(f, "; validation accuracy and loss will not reflect training (judge by balanced "
                "accuracy)%s\n", val[im.mismatch] == 0 || train[im.mismatch] == 0
                ? ", and a class missing on one side cannot be judged at all" : "");
        warnings++;
    }
    return warnings;
}
