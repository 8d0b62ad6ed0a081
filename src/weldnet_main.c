/* weldnet_main.c - the weldnet executable: dispatches subcommands and turns their status into
 * the exit code (0 success, 1 runtime failure, 2 usage or input error). */
#include <stdio.h>
#include <string.h>

#include "wn_calibrate.h"
#include "wn_classify.h"
#include "wn_err.h"
#include "wn_model.h"
#include "wn_train.h"

static int info_main(int argc, char **argv) {
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        printf("usage: weldnet info MODEL.wnet...\n"
               "Prints the header of each model file: input, normalisation, classes with training\n"
               "counts, metadata, calibration, network definition and tensors.\n");
        return argc < 2 ? WN_EINPUT : WN_OK;
    }
    int worst = WN_OK;
    for (int i = 1; i < argc; i++) {
        wn_model m;
        wn_err e = {0};
        int rc = wn_model_load(argv[i], &m, &e);
        if (rc) {
            fprintf(stderr, "weldnet info: error: %s\n", e.msg);
            if (rc > worst) worst = rc;
            continue;
        }
        wn_model_print_info(&m, argv[i], stdout);
        wn_model_free(&m);
    }
    return worst;
}

static void usage(FILE *f) {
    fprintf(f, "weldnet %s - train, calibrate and run image classifiers for imbalanced inspection photos\n"
               "\n"
               "usage: weldnet COMMAND [OPTIONS]\n"
               "\n"
               "commands:\n"
               "  train     train a network on a labelled photo set\n"
               "  calibrate choose the decision thresholds for a target defect recall\n"
               "  classify  decide pass/review for folders of photos, with a CSV audit report\n"
               "  merge     combine the reports of classify --shard runs into one\n"
               "  info      print the header of a model file\n"
               "\n"
               "'weldnet COMMAND --help' lists a command's options and defaults.\n",
            WN_VERSION);
}

int main(int argc, char **argv) {
    if (argc < 2) {
        usage(stderr);
        return WN_EINPUT;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
        usage(stdout);
        return WN_OK;
    }
    if (!strcmp(cmd, "--version")) {
        printf("weldnet %s\n", WN_VERSION);
        return WN_OK;
    }
    if (!strcmp(cmd, "train")) return wn_train_main(argc - 1, argv + 1);
    if (!strcmp(cmd, "calibrate")) return wn_calibrate_main(argc - 1, argv + 1);
    if (!strcmp(cmd, "info")) return info_main(argc - 1, argv + 1);
    if (!strcmp(cmd, "classify")) return wn_classify_main(argc - 1, argv + 1);
    if (!strcmp(cmd, "merge")) return wn_merge_main(argc - 1, argv + 1);
    fprintf(stderr, "weldnet: unknown command '%s' (see weldnet --help)\n", cmd);
    return WN_EINPUT;
}
