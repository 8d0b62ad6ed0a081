/* wn_metrics.c - confusion matrix and the metrics derived from it. */
#include "wn_metrics.h"

#include <stdlib.h>
#include <string.h>

#include "wn_err.h"

void wn_confusion_init(wn_confusion *c, int k) {
    c->k = k;
    c->m = wn_xcalloc((size_t)k * k, sizeof(long));
    c->loss = 0;
    c->n = 0;
}

void wn_confusion_free(wn_confusion *c) {
    free(c->m);
    memset(c, 0, sizeof *c);
}

void wn_confusion_reset(wn_confusion *c) {
    memset(c->m, 0, (size_t)c->k * c->k * sizeof(long));
    c->loss = 0;
    c->n = 0;
}

void wn_confusion_add(wn_confusion *c, int truth, int pred) {
    c->m[(size_t)truth * c->k + pred]++;
    c->n++;
}

void wn_confusion_add_probs(wn_confusion *c, int n, const float *probs, const int *labels) {
    for (int i = 0; i < n; i++) {
        const float *p = probs + (size_t)i * c->k; // (K)
        int best = 0;
        for (int j = 1; j < c->k; j++)
            if (p[j] > p[best]) best = j;
        wn_confusion_add(c, labels[i], best);
    }
}

static long row_sum(const wn_confusion *c, int j) {
    long s = 0;
    for (int i = 0; i < c->k; i++) s += c->m[(size_t)j * c->k + i];
    return s;
}

static long col_sum(const wn_confusion *c, int j) {
    long s = 0;
    for (int i = 0; i < c->k; i++) s += c->m[(size_t)i * c->k + j];
    return s;
}

double wn_metric_accuracy(const wn_confusion *c) {
    long right = 0, all = 0;
    for (int j = 0; j < c->k; j++) {
        right += c->m[(size_t)j * c->k + j];
        all += row_sum(c, j);
    }
    return all ? (double)right / all : 0.0;
}

double wn_metric_recall(const wn_confusion *c, int j) {
    long r = row_sum(c, j);
    return r ? (double)c->m[(size_t)j * c->k + j] / r : -1.0;
}

double wn_metric_precision(const wn_confusion *c, int j) {
    long s = col_sum(c, j);
    return s ? (double)c->m[(size_t)j * c->k + j] / s : 0.0;
}

double wn_metric_balanced_accuracy(const wn_confusion *c) {
    double s = 0;
    int n = 0;
    for (int j = 0; j < c->k; j++) {
        double r = wn_metric_recall(c, j);
        if (r >= 0) {
            s += r;
            n++;
        }
    }
    return n ? s / n : 0.0;
}

double wn_metric_macro_f1(const wn_confusion *c) {
    double s = 0;
    int n = 0;
    for (int j = 0; j < c->k; j++) {
        double r = wn_metric_recall(c, j);
        if (r < 0) continue;
        double p = wn_metric_precision(c, j);
        s += (p + r > 0) ? 2 * p * r / (p + r) : 0.0;
        n++;
    }
    return n ? s / n : 0.0;
}

void wn_confusion_print(const wn_confusion *c, char *const *names, FILE *f) {
    int wname = 16;
    for (int j = 0; j < c->k; j++)
        if ((int)strlen(names[j]) > wname) wname = (int)strlen(names[j]);
    if (wname > 24) wname = 24;
    fprintf(f, "  %-*s", wname, "true \\ predicted");
    for (int j = 0; j < c->k; j++) fprintf(f, " %10.10s", names[j]);
    fprintf(f, "  recall\n");
    for (int i = 0; i < c->k; i++) {
        fprintf(f, "  %-*.*s", wname, wname, names[i]);
        for (int j = 0; j < c->k; j++) fprintf(f, " %10ld", c->m[(size_t)i * c->k + j]);
        double r = wn_metric_recall(c, i);
        if (r >= 0)
            fprintf(f, "  %6.1f%%\n", 100 * r);
        else
            fprintf(f, "       -\n");
    }
}
