/* calib_cli.c - the command line of `weldnet calibrate`: options (getopt_long), the help with
 * every default, and the exit code (0 success, 1 runtime failure, 2 usage or input error). */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "wn_backend.h"
#include "wn_calibrate.h"

static void usage(FILE *f) {
    fprintf(f,
        "usage: weldnet calibrate --model MODEL.wnet --data DIR|MANIFEST.csv --out CALIBRATED.wnet\n"
        "                         [--target-recall T] [--confidence C] [options]\n"
        "       weldnet calibrate --scores SCORES.csv --out THRESHOLDS.ini [options]\n"
        "       weldnet calibrate --evaluate --model CALIBRATED.wnet --data DIR|MANIFEST.csv\n"
        "\n"
        "Runs the model over a labelled calibration set kept apart from training, divides the\n"
        "softmax outputs by the training priors (threshold-moving) and chooses the threshold on\n"
        "the defect score with the most photos auto-passed whose defect recall reaches the target,\n"
        "certified with the given confidence (docs/CALIBRATE.md).\n"
        "\n"
        "input (one of):\n"
        "  -m, --model FILE        trained model (weldnet train)\n"
        "  -d, --data PATH         labelled calibration photos: class folders or manifest CSV\n"
        "  -s, --scores FILE       probabilities from another framework: CSV with path, label and\n"
        "                          one probability column per class (the header names the classes)\n"
        "decision (defaults in brackets):\n"
        "  -t, --target-recall T   defect recall to reach, in (0, 1] [0.95]; with --per-class a\n"
        "                          list NAME=T,... (a bare T applies to the classes not named)\n"
        "  -c, --confidence C      probability that the recall target holds, in (0, 1) [0.95]\n"
        "      --uncertified       point estimate: recall >= target on the calibration set only,\n"
        "                          no guarantee [certified: refuse when too few defect photos]\n"
        "      --per-class         one threshold per defect class, every class reaching its target\n"
        "                          [one threshold on the pooled defect score]\n"
        "      --pooled-cap        with --per-class: also search a cap on the pooled score [off]\n"
        "      --priors LIST       with --scores: training priors NAME=P,... to divide out [none:\n"
        "                          the probabilities are used as given]\n"
        "      --ok-class NAME     with --scores: the ok class's column [ok]\n"
        "      --sum-tolerance X   with --scores: how far a row may sum from 1 [0.001]\n"
        "      --evaluate          apply a calibrated model to labelled photos (e.g. the test set)\n"
        "                          and report the recall and automation reached; writes nothing\n"
        "                          but --report\n"
        "outputs:\n"
        "  -o, --out FILE          calibrated model (--model) or thresholds INI (--scores)\n"
        "      --report FILE       report CSV [OUT without its extension + .report.csv]\n"
        "      --curve FILE        trade-off curve CSV [OUT without its extension + .curve.csv]\n"
        "      --plot FILE         recall against automation PNG [OUT without ext. + .curve.png]\n"
        "photos:\n"
        "      --batch N           photos per inference batch [128]\n"
        "      --threads N         CPU threads for decoding and inference [0 = all cores]\n"
        "      --device D          auto|cpu|cuda [auto]\n"
        "      --strict            an unreadable photo stops the run [listed and left out]\n"
        "      --cache-dir DIR     folder for a decoded cache too large for memory [$TMPDIR]\n"
        "      --cache-mem MB      decoded photos kept in memory up to this size [2048]\n"
        "  -q, --quiet             no progress or settings printout (the summary is still printed)\n"
        "  -h, --help              this help\n"
        "exit codes: 0 success, 1 runtime failure, 2 usage or input error (including a set too\n"
        "small to certify the target)\n");
}

static int parse_double(const char *opt, const char *s, double *v) {
    char *end;
    *v = strtod(s, &end);
    if (end == s || *end) {
        fprintf(stderr, "weldnet calibrate: %s '%s': not a number\n", opt, s);
        return WN_EINPUT;
    }
    return WN_OK;
}

static int parse_int(const char *opt, const char *s, int lo, int *v) {
    char *end;
    long x = strtol(s, &end, 10);
    if (end == s || *end || x < lo || x > 1000000) {
        fprintf(stderr, "weldnet calibrate: %s '%s': expected an integer >= %d\n", opt, s, lo);
        return WN_EINPUT;
    }
    *v = (int)x;
    return WN_OK;
}

int wn_calibrate_main(int argc, char **argv) {
    enum { O_UNCERT = 256, O_PERCLASS, O_CAP, O_PRIORS, O_OK, O_SUMTOL, O_EVAL, O_REPORT,
           O_CURVE, O_PLOT, O_BATCH, O_THREADS, O_DEVICE, O_STRICT, O_CACHEDIR, O_CACHEMEM };
    static const struct option lo[] = {
        {"model", required_argument, 0, 'm'},      {"data", required_argument, 0, 'd'},
        {"scores", required_argument, 0, 's'},     {"out", required_argument, 0, 'o'},
        {"target-recall", required_argument, 0, 't'}, {"confidence", required_argument, 0, 'c'},
        {"uncertified", no_argument, 0, O_UNCERT}, {"per-class", no_argument, 0, O_PERCLASS},
        {"pooled-cap", no_argument, 0, O_CAP},     {"priors", required_argument, 0, O_PRIORS},
        {"ok-class", required_argument, 0, O_OK},  {"sum-tolerance", required_argument, 0, O_SUMTOL},
        {"evaluate", no_argument, 0, O_EVAL},      {"report", required_argument, 0, O_REPORT},
        {"curve", required_argument, 0, O_CURVE},  {"plot", required_argument, 0, O_PLOT},
        {"batch", required_argument, 0, O_BATCH},  {"threads", required_argument, 0, O_THREADS},
        {"device", required_argument, 0, O_DEVICE}, {"strict", no_argument, 0, O_STRICT},
        {"cache-dir", required_argument, 0, O_CACHEDIR},
        {"cache-mem", required_argument, 0, O_CACHEMEM},
        {"quiet", no_argument, 0, 'q'},            {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    wn_calib_opts o;
    wn_calib_opts_defaults(&o);
    o.device = WN_DEVICE_AUTO;
    int c, rc = WN_OK;
    optind = 1;
    while (!rc && (c = getopt_long(argc, argv, "m:d:s:o:t:c:qh", lo, NULL)) != -1) {
        switch (c) {
        case 'm': o.model = optarg; break;
        case 'd': o.data = optarg; break;
        case 's': o.scores = optarg; break;
        case 'o': o.out = optarg; break;
        case 't': o.target = optarg; break;
        case 'c': rc = parse_double("--confidence", optarg, &o.confidence); break;
        case O_UNCERT: o.uncertified = 1; break;
        case O_PERCLASS: o.per_class = 1; break;
        case O_CAP: o.pooled_cap = 1; break;
        case O_PRIORS: o.priors = optarg; break;
        case O_OK: o.ok_class = optarg; break;
        case O_SUMTOL: rc = parse_double("--sum-tolerance", optarg, &o.sum_tol); break;
        case O_EVAL: o.evaluate = 1; break;
        case O_REPORT: o.report = optarg; break;
        case O_CURVE: o.curve = optarg; break;
        case O_PLOT: o.plot = optarg; break;
        case O_BATCH: rc = parse_int("--batch", optarg, 1, &o.batch); break;
        case O_THREADS: rc = parse_int("--threads", optarg, 0, &o.threads); break;
        case O_DEVICE:
            o.device = wn_device_parse(optarg);
            if (o.device < 0) {
                fprintf(stderr, "weldnet calibrate: --device '%s': expected auto, cpu or cuda\n",
                        optarg);
                rc = WN_EINPUT;
            }
            break;
        case O_STRICT: o.strict = 1; break;
        case O_CACHEDIR: o.cache_dir = optarg; break;
        case O_CACHEMEM:
            rc = parse_double("--cache-mem", optarg, &o.cache_mem_mb);
            if (!rc && !(o.cache_mem_mb >= 0)) {
                fprintf(stderr, "weldnet calibrate: --cache-mem '%s': expected megabytes >= 0\n",
                        optarg);
                rc = WN_EINPUT;
            }
            break;
        case 'q': o.quiet = 1; break;
        case 'h': usage(stdout); return WN_OK;
        default:
            fprintf(stderr, "weldnet calibrate: see 'weldnet calibrate --help'\n");
            return WN_EINPUT;
        }
    }
    if (rc) return rc;
    if (optind < argc) {
        fprintf(stderr, "weldnet calibrate: unexpected argument '%s' (see --help)\n", argv[optind]);
        return WN_EINPUT;
    }
    wn_err e = {0};
    rc = wn_calibrate_run(&o, &e);
    if (rc) fprintf(stderr, "weldnet calibrate: error: %s\n", e.msg);
    return rc;
}
