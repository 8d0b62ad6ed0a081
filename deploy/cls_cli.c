/* cls_cli.c - `weldnet classify`: command-line options (getopt_long), SIGINT/SIGTERM turned
 * into a clean stop (every written row stays complete), and the run. */
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wn_classify.h"

#define MAX_MODEL_ARGS 64

static volatile sig_atomic_t g_stop; /* set by the signal handler only */

static void on_signal(int sig) {
    (void)sig;
    g_stop = 1;
}

static void usage(FILE *f) {
    fprintf(f,
            "usage: weldnet classify --model MODEL.wnet [--model ...] --report REPORT.csv [options] PHOTO_DIR...\n"
            "Classifies every JPEG and PNG photo under the folders (recursively, recognised by content)\n"
            "with calibrated models and writes one CSV row per photo: pass, review (with the suspected\n"
            "defects) or error. A photo is auto-passed only when every model passes it.\n"
            "\n"
            "  -m, --model FILE       calibrated model; repeat for several inspection tasks (required)\n"
            "  -r, --report FILE      the CSV audit report (required)\n"
            "      --summary FILE     summary file (default: REPORT without .csv + .summary.txt)\n"
            "      --misses FILE      audit: the missed defects (default: REPORT without .csv + .misses.csv)\n"
            "      --labels FILE      audit: ground-truth manifest CSV with columns path,label\n"
            "                         (default: the class folders, when the photo folders have them)\n"
            "      --threshold T      pooled defect-score threshold in (0, 1] for models that are not\n"
            "                         calibrated (default: none, such models are refused)\n"
            "      --resume           continue an interrupted report after its last complete row\n"
            "      --shard I/N        classify shard I of N, 1 <= I <= N (default 1/1: every photo)\n"
            "  -j, --threads N        decoding threads (default 0 = all cores)\n"
            "      --infer-threads N  CPU inference threads (default 0 = all cores)\n"
            "  -b, --batch N          photos per inference batch (default 64)\n"
            "      --device D         auto, cpu or cuda (default auto)\n"
            "      --tf32             let GPU convolutions use TF32: faster, but scores differ from\n"
            "                         a CPU calibration's by up to ~1e-3 (default: strict fp32)\n"
            "      --shift-warn F     warn when a class share differs from training by this factor\n"
            "                         or more (default 2)\n"
            "  -q, --quiet            no settings, progress or summary on the terminal\n"
            "  -h, --help             this text\n"
            "\n"
            "Exit codes: 0 done (unreadable photos are rows with decision error), 1 runtime failure\n"
            "(e.g. disk full, interrupted), 2 usage or input error. See docs/CLASSIFY.md.\n");
}

static int parse_int(const char *s, const char *opt, int lo, int hi, int *out, wn_err *e) {
    char *end;
    long v = strtol(s, &end, 10);
    if (end == s || *end || v < lo || v > hi)
        return wn_err_set(e, WN_EINPUT, "%s '%s': expected an integer from %d to %d", opt, s, lo, hi);
    *out = (int)v;
    return WN_OK;
}

static int parse_double(const char *s, const char *opt, double *out, wn_err *e) {
    char *end;
    double v = strtod(s, &end);
    if (end == s || *end || !isfinite(v))
        return wn_err_set(e, WN_EINPUT, "%s '%s': expected a number", opt, s);
    *out = v;
    return WN_OK;
}

static int parse_args(int argc, char **argv, wn_cls_options *o, const char **models, int *help,
                      wn_err *e) {
    enum { O_SUMMARY = 256, O_MISSES, O_LABELS, O_THRESHOLD, O_RESUME, O_SHARD, O_INFER,
           O_DEVICE, O_SHIFT, O_TF32 };
    static const struct option opts[] = {
        {"model", required_argument, NULL, 'm'},       {"report", required_argument, NULL, 'r'},
        {"summary", required_argument, NULL, O_SUMMARY}, {"misses", required_argument, NULL, O_MISSES},
        {"labels", required_argument, NULL, O_LABELS}, {"threshold", required_argument, NULL, O_THRESHOLD},
        {"resume", no_argument, NULL, O_RESUME},       {"shard", required_argument, NULL, O_SHARD},
        {"threads", required_argument, NULL, 'j'},     {"infer-threads", required_argument, NULL, O_INFER},
        {"batch", required_argument, NULL, 'b'},       {"device", required_argument, NULL, O_DEVICE},
        {"shift-warn", required_argument, NULL, O_SHIFT}, {"quiet", no_argument, NULL, 'q'},
        {"tf32", no_argument, NULL, O_TF32},
        {"help", no_argument, NULL, 'h'},              {NULL, 0, NULL, 0}};
    optind = 1;
    opterr = 0;
    int c, rc = WN_OK;
    while (rc == WN_OK && (c = getopt_long(argc, argv, ":m:r:j:b:qh", opts, NULL)) != -1) {
        switch (c) {
        case 'm':
            if (o->n_models == MAX_MODEL_ARGS)
                rc = wn_err_set(e, WN_EINPUT, "more than %d --model options", MAX_MODEL_ARGS);
            else models[o->n_models++] = optarg;
            break;
        case 'r': o->report = optarg; break;
        case O_SUMMARY: o->summary = optarg; break;
        case O_MISSES: o->misses = optarg; break;
        case O_LABELS: o->labels = optarg; break;
        case O_THRESHOLD: rc = parse_double(optarg, "--threshold", &o->threshold, e); break;
        case O_RESUME: o->resume = 1; break;
        case O_SHARD: rc = wn_cls_shard_parse(optarg, &o->shard_i, &o->shard_n, e); break;
        case 'j': rc = parse_int(optarg, "--threads", 0, 256, &o->threads, e); break;
        case O_INFER: rc = parse_int(optarg, "--infer-threads", 0, 256, &o->infer_threads, e); break;
        case 'b': rc = parse_int(optarg, "--batch", 1, 4096, &o->batch, e); break;
        case O_DEVICE:
            o->device = wn_device_parse(optarg);
            if (o->device < 0) rc = wn_err_set(e, WN_EINPUT, "--device '%s': use auto, cpu or cuda", optarg);
            break;
        case O_TF32: o->tf32 = 1; break;
        case O_SHIFT: rc = parse_double(optarg, "--shift-warn", &o->shift_warn, e); break;
        case 'q': o->quiet = 1; break;
        case 'h': *help = 1; return WN_OK;
        case ':': rc = wn_err_set(e, WN_EINPUT, "option %s needs a value", argv[optind - 1]); break;
        default: rc = wn_err_set(e, WN_EINPUT, "unknown option %s (see --help)", argv[optind - 1]); break;
        }
    }
    if (rc) return rc;
    o->models = models;
    o->dirs = (const char *const *)argv + optind;
    o->n_dirs = argc - optind;
    if (o->n_models == 0) return wn_err_set(e, WN_EINPUT, "no --model given (see --help)");
    if (!o->report) return wn_err_set(e, WN_EINPUT, "no --report given (see --help)");
    if (o->n_dirs == 0) return wn_err_set(e, WN_EINPUT, "no photo folders given (see --help)");
    return WN_OK;
}

int wn_classify_main(int argc, char **argv) {
    wn_cls_options o;
    wn_cls_options_default(&o);
    const char *models[MAX_MODEL_ARGS];
    int help = 0;
    wn_err e = {0};
    int rc = parse_args(argc, argv, &o, models, &help, &e);
    if (help) {
        usage(stdout);
        return WN_OK;
    }
    if (rc) {
        fprintf(stderr, "weldnet classify: error: %s\n", e.msg);
        return rc;
    }
    struct sigaction sa, old_int, old_term;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    g_stop = 0;
    o.stop = &g_stop;
    rc = wn_classify_run(&o, &e);
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    if (rc) fprintf(stderr, "weldnet classify: error: %s\n", e.msg);
    return rc;
}
