/* wn_metrics.h - classification metrics shared by every stage: the confusion matrix, per-class
 * recall and precision, accuracy, balanced accuracy (mean per-class recall) and macro F1. */
#ifndef WN_METRICS_H
#define WN_METRICS_H

#include <stdio.h>

typedef struct wn_confusion {
    int k;        /* number of classes */
    long *m;      /* (K, K) counts, row = true class, column = predicted class, owned */
    double loss;  /* summed loss of the predictions added, when the caller tracks one */
    long n;       /* predictions added */
} wn_confusion;

void wn_confusion_init(wn_confusion *c, int k);
void wn_confusion_free(wn_confusion *c);
void wn_confusion_reset(wn_confusion *c);
void wn_confusion_add(wn_confusion *c, int truth, int pred);
/* Adds n rows of probabilities probs (N, K): prediction = argmax (first on ties). */
void wn_confusion_add_probs(wn_confusion *c, int n, const float *probs, const int *labels);

double wn_metric_accuracy(const wn_confusion *c);
/* Recall of class j: m[j][j] / row j sum; -1 when the class has no photos. */
double wn_metric_recall(const wn_confusion *c, int j);
double wn_metric_precision(const wn_confusion *c, int j);
/* Mean recall over classes that have photos. */
double wn_metric_balanced_accuracy(const wn_confusion *c);
/* Mean F1 over classes that have photos (F1 = 0 where precision and recall are both 0). */
double wn_metric_macro_f1(const wn_confusion *c);
/* Prints the matrix with class names as a text table. */
void wn_confusion_print(const wn_confusion *c, char *const *names, FILE *f);

#endif
