/* test_train_log.c - the training log CSV (train/train_log.c) and its plots (train_plot.c):
 * rows written and read back through libcsv with class names that need quoting, empty recall
 * fields, a missing-column log of an older run, a file that is not CSV; the loss, accuracy and
 * confusion PNGs decode to the expected size, the best epoch is marked, and a single-epoch log
 * still plots. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "train_internal.h"
#include "wn_image.h"
#include "wn_test.h"

static int png_size(const char *path, int *w, int *h) {
    wn_image im;
    wn_err e = {0};
    if (wn_image_load(path, 3, 0, 0, &im, &e) != WN_OK) return 0;
    *w = im.w, *h = im.h;
    free(im.pix);
    return 1;
}

static void test_roundtrip(const char *dir) {
    const char *path = wn_test_path(dir, "run.log.csv");
    wn_err e = {0};
    FILE *f = wn_fopen(path, "wb", &e);
    CHECK(f != NULL);
    char *names[3] = {"ok", "crack, long", "say \"pore\""};
    CHECK(wn_log_header(f, 3, names, path, &e) == WN_OK);
    for (int ep = 1; ep <= 4; ep++) {
        wn_log_row r = {ep, 1e-3, 1.0 / ep, 0.5 + 0.1 * ep, 2.0 / ep, 0.6, 0.5 + 0.05 * ep, 700, 9.5,
                        ep == 3, 0.4 + 0.05 * ep, ep == 1};
        double recall[3] = {0.9, 0.1 * ep, ep == 2 ? -1 : 0.3};
        CHECK(wn_log_row_write(f, &r, 3, recall, path, &e) == WN_OK);
    }
    CHECK(wn_fclose(f, path, &e) == WN_OK);
    unsigned char *text;
    size_t len;
    CHECK(wn_read_file(path, 1 << 20, &text, &len, &e) == WN_OK);
    CHECK(strstr((char *)text, "\"recall_crack, long\",\"recall_say \"\"pore\"\"\"") != NULL);
    CHECK(strstr((char *)text, "\n2,0.001,0.500000,0.700000,1.000000,0.600000,0.600000,700.0,9.50,0,0.500000,0,0.900000,0.200000,\n") != NULL);
    free(text);

    wn_log_history h;
    CHECK(wn_log_read(path, &h, &e) == WN_OK);
    CHECK(h.n == 4);
    CHECK(h.epoch[3] == 4 && h.best[2] == 1 && h.best[3] == 0);
    CHECK_CLOSE(h.train_loss[1], 0.5, 0, 1e-9);
    CHECK_CLOSE(h.val_bal[3], 0.7, 0, 1e-9);
    CHECK_CLOSE(h.val_f1[0], 0.45, 0, 1e-9);
    wn_log_history_free(&h);

    CHECK(wn_train_plot_log(path, wn_test_path(dir, "run"), &e) == WN_OK);
    int w = 0, ht = 0;
    CHECK(png_size(wn_test_path(dir, "run.loss.png"), &w, &ht) && w == 800 && ht == 500);
    CHECK(png_size(wn_test_path(dir, "run.accuracy.png"), &w, &ht) && w == 800 && ht == 500);

    wn_confusion cm;
    wn_confusion_init(&cm, 3);
    for (int i = 0; i < 9; i++) cm.m[i] = 10 * (i % 4);
    CHECK(wn_train_plot_confusion(wn_test_path(dir, "run"), "validation, epoch 3 (best)", &cm, names, &e) == WN_OK);
    CHECK(png_size(wn_test_path(dir, "run.confusion.png"), &w, &ht) && w > 100 && ht > 100);
    wn_confusion_free(&cm);
}

static void test_odd_logs(const char *dir) {
    wn_err e = {0};
    /* an older log without the macro F1 column; one epoch only */
    const char *old = wn_test_path(dir, "old.log.csv");
    const char *text = "epoch,lr,train_loss,train_accuracy,val_loss,val_accuracy,val_balanced_accuracy,"
                       "images_per_s,seconds,best\n1,0.001,0.5,0.8,0.6,0.7,0.65,100,1,1\n";
    CHECK(wn_test_write_file(old, text, strlen(text)) == 0);
    wn_log_history h;
    CHECK(wn_log_read(old, &h, &e) == WN_OK);
    CHECK(h.n == 1 && isnan(h.val_f1[0]) && h.val_bal[0] == 0.65);
    wn_log_history_free(&h);
    CHECK(wn_train_plot_log(old, wn_test_path(dir, "old"), &e) == WN_OK);
    int w, ht;
    CHECK(png_size(wn_test_path(dir, "old.accuracy.png"), &w, &ht));
    /* a missing log */
    CHECK(wn_log_read(wn_test_path(dir, "missing.csv"), &h, &e) != WN_OK);
    CHECK(strstr(e.msg, "missing.csv") != NULL);
    /* an unwritable plot folder is a clear error */
    CHECK(wn_train_plot_log(old, wn_test_path(dir, "no/such/dir/x"), &e) != WN_OK);
    CHECK(strstr(e.msg, "no/such/dir") != NULL);
}

int main(void) {
    const char *dir = wn_test_tmpdir("train_log");
    char d[4096];
    snprintf(d, sizeof d, "%s", dir);
    test_roundtrip(d);
    test_odd_logs(d);
    return wn_test_done();
}
