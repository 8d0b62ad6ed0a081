/* test_train_settings.c - training settings (validation, precedence, messages), learning-rate
 * schedules against their formulas, and the metrics used for validation. */
#include <math.h>
#include <string.h>

#include "wn_metrics.h"
#include "wn_test.h"
#include "wn_train.h"

static void test_settings(void) {
    wn_train_cfg c;
    wn_err e = {0};
    wn_train_cfg_defaults(&c);
    CHECK(c.epochs == 15 && c.batch == 128 && c.optimizer == WN_OPT_ADAM);
    CHECK(wn_train_cfg_set(&c, "lr", "0.01", "x.ini line 3", WN_SRC_INI, &e) == WN_OK);
    CHECK_CLOSE(c.lr, 0.01, 0, 1e-12);
    CHECK(wn_train_cfg_set(&c, "optimizer", "sgd", "--optimizer", WN_SRC_CLI, &e) == WN_OK);
    CHECK(c.optimizer == WN_OPT_SGD);
    CHECK(wn_train_cfg_set(&c, "schedule", "cosine", "w", WN_SRC_CLI, &e) == WN_OK && c.schedule == WN_SCHED_COSINE);
    CHECK(wn_train_cfg_set(&c, "seed", "18446744073709551615", "w", WN_SRC_CLI, &e) == WN_OK);
    CHECK(c.seed == UINT64_MAX);

    struct { const char *k, *v, *want; } bad[] = {
        {"lr", "-1", "x.ini line 9: [train] lr = '-1'"},
        {"lr", "abc", "expected a number"},
        {"lr", "nan", "expected a number"},
        {"epochs", "0", "from 1 to"},
        {"epochs", "3x", "whole number"},
        {"batch", "1e3", "whole number"},
        {"optimizer", "rmsprop", "sgd|adam|adamw"},
        {"flip", "2", "from 0 to 1"},
        {"rotate", "181", "from 0 to 180"},
        {"rotate", "-5", "from 0 to 180"},
        {"zoom", "1", "from 0 to 0.9"},
        {"seed", "-4", "non-negative"},
        {"learning_rate", "1", "unknown key 'learning_rate'"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        wn_err_clear(&e);
        int rc = wn_train_cfg_set(&c, bad[i].k, bad[i].v, "x.ini line 9", WN_SRC_INI, &e);
        CHECK_MSG(rc == WN_EINPUT && strstr(e.msg, bad[i].want) && strstr(e.msg, "x.ini line 9"),
                  "%s=%s -> rc %d '%s'", bad[i].k, bad[i].v, rc, e.msg);
    }
    /* a failed set leaves the old value */
    CHECK_CLOSE(c.lr, 0.01, 0, 1e-12);
}

static void test_schedules(void) {
    wn_train_cfg c;
    wn_train_cfg_defaults(&c);
    c.lr = 0.1;
    c.epochs = 10;
    CHECK_CLOSE(wn_train_lr(&c, 0), 0.1, 0, 1e-12);
    CHECK_CLOSE(wn_train_lr(&c, 9.9), 0.1, 0, 1e-12);
    c.schedule = WN_SCHED_STEP;
    c.step_size = 4;
    c.gamma = 0.5;
    CHECK_CLOSE(wn_train_lr(&c, 3.99), 0.1, 0, 1e-12);
    CHECK_CLOSE(wn_train_lr(&c, 4.0), 0.05, 0, 1e-12);
    CHECK_CLOSE(wn_train_lr(&c, 8.5), 0.025, 0, 1e-12);
    c.step_size = 0; /* epochs/3 = 3 */
    CHECK_CLOSE(wn_train_lr(&c, 3.0), 0.05, 0, 1e-12);
    c.schedule = WN_SCHED_COSINE;
    CHECK_CLOSE(wn_train_lr(&c, 0), 0.1, 0, 1e-12);
    CHECK_CLOSE(wn_train_lr(&c, 5), 0.05, 0, 1e-9);
    CHECK_CLOSE(wn_train_lr(&c, 10), 0.0, 1e-12, 0);
    CHECK_CLOSE(wn_train_lr(&c, 2.5), 0.05 * (1 + cos(M_PI * 0.25)), 0, 1e-9);
    c.warmup = 2; /* linear warm-up, then cosine over the remaining 8 epochs */
    CHECK_CLOSE(wn_train_lr(&c, 1.0), 0.05, 0, 1e-6);
    CHECK_CLOSE(wn_train_lr(&c, 2.0), 0.1, 0, 1e-6);
    CHECK_CLOSE(wn_train_lr(&c, 6.0), 0.05, 0, 1e-6);
    CHECK(wn_train_lr(&c, 0.0) >= 0 && wn_train_lr(&c, 0.0) < 1e-6);
}

static void test_metrics(void) {
    wn_confusion cm;
    wn_confusion_init(&cm, 3);
    /* truth 0: 8 right, 2 as class 1; truth 1: 1 right, 1 as 0; truth 2: none */
    for (int i = 0; i < 8; i++) wn_confusion_add(&cm, 0, 0);
    for (int i = 0; i < 2; i++) wn_confusion_add(&cm, 0, 1);
    wn_confusion_add(&cm, 1, 1);
    wn_confusion_add(&cm, 1, 0);
    CHECK_CLOSE(wn_metric_accuracy(&cm), 9.0 / 12, 0, 1e-12);
    CHECK_CLOSE(wn_metric_recall(&cm, 0), 0.8, 0, 1e-12);
    CHECK_CLOSE(wn_metric_recall(&cm, 1), 0.5, 0, 1e-12);
    CHECK(wn_metric_recall(&cm, 2) < 0);
    CHECK_CLOSE(wn_metric_balanced_accuracy(&cm), 0.65, 0, 1e-12);
    CHECK_CLOSE(wn_metric_precision(&cm, 0), 8.0 / 9, 0, 1e-12);
    CHECK_CLOSE(wn_metric_precision(&cm, 1), 1.0 / 3, 0, 1e-12);
    double f0 = 2 * (8.0 / 9) * 0.8 / (8.0 / 9 + 0.8), f1 = 2 * (1.0 / 3) * 0.5 / (1.0 / 3 + 0.5);
    CHECK_CLOSE(wn_metric_macro_f1(&cm), (f0 + f1) / 2, 0, 1e-12);
    /* a constant classifier: accuracy high, balanced accuracy 1/K of the present classes */
    wn_confusion_reset(&cm);
    for (int i = 0; i < 98; i++) wn_confusion_add(&cm, 0, 0);
    for (int i = 0; i < 2; i++) wn_confusion_add(&cm, 1, 0);
    CHECK_CLOSE(wn_metric_accuracy(&cm), 0.98, 0, 1e-12);
    CHECK_CLOSE(wn_metric_balanced_accuracy(&cm), 0.5, 0, 1e-12);
    /* probabilities: argmax, first on ties */
    float p[3 * 3] = {0.2f, 0.5f, 0.3f, 0.4f, 0.4f, 0.2f, 0.1f, 0.1f, 0.8f};
    int y[3] = {1, 1, 2};
    wn_confusion_reset(&cm);
    wn_confusion_add_probs(&cm, 3, p, y);
    CHECK(cm.m[1 * 3 + 1] == 1 && cm.m[1 * 3 + 0] == 1 && cm.m[2 * 3 + 2] == 1 && cm.n == 3);
    wn_confusion_free(&cm);
}

int main(void) {
    test_settings();
    test_schedules();
    test_metrics();
    return wn_test_done();
}
