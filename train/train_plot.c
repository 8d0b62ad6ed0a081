/* train_plot.c - the training log as pictures (src/plot): PREFIX.loss.png with the training and
 * validation loss per epoch, PREFIX.accuracy.png with the validation balanced accuracy,
 * accuracy and macro F1 per epoch and the best epoch marked, and PREFIX.confusion.png with a
 * confusion-matrix heatmap. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "plot/wn_plot.h"
#include "train_internal.h"

int wn_train_plot_log(const char *log_path, const char *prefix, wn_err *e) {
    wn_log_history h;
    int rc = wn_log_read(log_path, &h, e);
    if (rc) return rc;
    char path[4200], mark[64];
    wn_series loss[2] = {{"training loss", h.n, h.epoch, h.train_loss},
                         {"validation loss (cross entropy)", h.n, h.epoch, h.val_loss}};
    wn_chart c = {.title = "loss per epoch", .xlabel = "epoch", .ylabel = "loss",
                  .n_series = 2, .series = loss, .xmin = NAN, .xmax = NAN, .ymin = 0, .ymax = NAN};
    snprintf(path, sizeof path, "%s.loss.png", prefix);
    rc = wn_plot_chart_png(path, &c, e);

    wn_series acc[3] = {{"validation balanced accuracy", h.n, h.epoch, h.val_bal},
                        {"validation accuracy", h.n, h.epoch, h.val_acc},
                        {"validation macro F1", h.n, h.epoch, h.val_f1}};
    wn_chart a = {.title = "validation per epoch", .xlabel = "epoch", .ylabel = "score",
                  .n_series = 3, .series = acc, .xmin = NAN, .xmax = NAN, .ymin = 0, .ymax = 1};
    int best = -1;
    for (int i = 0; i < h.n; i++)
        if (h.best[i] == 1 && isfinite(h.val_bal[i])) best = i;
    if (best >= 0) {
        snprintf(mark, sizeof mark, "best: epoch %.0f, %.3f", h.epoch[best], h.val_bal[best]);
        a.has_mark = 1;
        a.mark_x = h.epoch[best];
        a.mark_y = h.val_bal[best];
        a.mark_label = mark;
    }
    snprintf(path, sizeof path, "%s.accuracy.png", prefix);
    if (!rc) rc = wn_plot_chart_png(path, &a, e);
    wn_log_history_free(&h);
    return rc;
}

int wn_train_plot_confusion(const char *prefix, const char *title, const wn_confusion *cm,
                            char *const *names, wn_err *e) {
    if (cm->k > WN_CONFUSION_MAX_K) return WN_OK; /* too many classes to draw */
    char path[4200];
    snprintf(path, sizeof path, "%s.confusion.png", prefix);
    return wn_plot_confusion_png(path, title, cm->k, cm->m, names, e);
}
