/* train_cli.c - the command line of `weldnet train`: options, help with defaults, and the
 * mapping of option values onto training settings (command line > INI > defaults). */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "wn_backend.h"
#include "wn_train.h"

static void usage(FILE *f) {
    fprintf(f,
        "usage: weldnet train --config NET.ini --data DIR|MANIFEST.csv --out MODEL.wnet [options]\n"
        "\n"
        "Trains the network of NET.ini on a labelled photo set: a folder with one subfolder per\n"
        "class (the folder 'ok' is the ok class) or a CSV manifest with columns path,label.\n"
        "\n"
        "required:\n"
        "  -c, --config FILE     network and [train] settings (see docs/NETWORK_INI.md)\n"
        "  -d, --data PATH       training photos: class folders or manifest CSV\n"
        "  -o, --out FILE        best model (highest validation balanced accuracy by default;\n"
        "                        not needed with --overfit-check)\n"
        "options (defaults in brackets; each overrides the INI's [train] key of the same name):\n"
        "      --val PATH        validation photos [stratified split of --data, see --val-split]\n"
        "      --epochs N        [15]            --batch N      [128]\n"
        "      --optimizer NAME  sgd|adam|adamw [adam]\n"
        "      --lr X            [0.001]         --momentum X   [0.9]   --nesterov 0|1 [0]\n"
        "      --weight-decay X  [0]             --schedule none|step|cosine [none]\n"
        "      --warmup EPOCHS   [0]             --seed N       [1]\n"
        "      --val-split F     [0.1]           --crop PIXELS  [0 = off]  --flip 0|1 [0]\n"
        "      --rotate DEG      rotate every training photo by a random angle in [-DEG, DEG]\n"
        "                        about its centre, e.g. 10 [0 = off]\n"
        "      --zoom F          zoom by a random factor in [1-F, 1+F], e.g. 0.1 [0 = off]\n"
        "      --cutout PIXELS   Cutout: a square of this side at a random centre set to the\n"
        "                        mean, every training photo [0 = off]\n"
        "      --mixup ALPHA     mixup: blend each batch with a shuffled copy of itself,\n"
        "                        weight Beta(ALPHA, ALPHA), e.g. 0.2 [0 = off]\n"
        "      --ema DECAY       validate and save a moving average of the weights, e.g.\n"
        "                        0.999 (see docs/TRAINING.md) [0 = off]\n"
        "      --sam RHO         sharpness-aware minimisation: each batch's gradient is taken\n"
        "                        again RHO away along it, e.g. 0.05; twice the compute [0 = off]\n"
        "      --select METRIC   balanced_accuracy|accuracy|loss|last [balanced_accuracy]\n"
        "      --patience N      early stop after N epochs without improvement [0 = off]\n"
        "imbalanced data (see docs/TRAINING.md):\n"
        "      --loss NAME       ce|bayesian|weighted|logit-adjusted|focal [ce]\n"
        "      --prior P         bayesian loss priors: batch|train [batch]\n"
        "      --tau X           logit-adjusted: logits + tau*log(prior) [1]\n"
        "      --focal-gamma X   focal loss exponent [2]\n"
        "      --sampler NAME    shuffle|stratified|balanced|undersample|oversample [shuffle]\n"
        "      --target-ratio X  under/oversample: largest/smallest class after [1]\n"
        "      --overfit-check N train on N photos (every class present), report whether the\n"
        "                        network fits them (exit 1 when not); writes nothing [off]\n"
        "transfer and outputs:\n"
        "      --init FILE       start from the layers of FILE.wnet that match by name and shape\n"
        "      --freeze LAYER    do not update the layers up to and including LAYER [none]\n"
        "      --plots 0|1       PNG plots: OUT.loss.png, OUT.accuracy.png, OUT.confusion.png [1]\n"
        "other:\n"
        "      --set KEY=VALUE   any other [train] key (step_size, gamma, beta1, beta2, eps)\n"
        "      --threads N       CPU threads [0 = all cores]\n"
        "      --device D        auto|cpu|cuda [auto]\n"
        "      --precision P     fp32|bf16: GPU arithmetic; bf16 is mixed precision (bf16\n"
        "                        convolutions and dense layers, fp32 weights and loss) [fp32]\n"
        "      --ok-class NAME   name of the ok class folder [ok]\n"
        "      --log FILE        training log CSV [OUT without .wnet + .log.csv]\n"
        "      --state FILE      training state for --resume [OUT without .wnet + .state]\n"
        "      --resume          continue the run recorded in the state file\n"
        "      --strict          an unreadable photo stops training [listed and skipped]\n"
        "      --cache-dir DIR   folder for a decoded cache too large for memory [$TMPDIR]\n"
        "      --cache-mem MB    decoded photos kept in memory up to this size [2048]\n"
        "  -q, --quiet           no progress bars or settings printout\n"
        "  -h, --help            this help\n"
        "exit codes: 0 success, 1 runtime failure, 2 usage or input error\n");
}

/* Options that map 1:1 onto [train] keys. */
static const struct {
    const char *opt, *key;
} MAPPED[] = {{"epochs", "epochs"},     {"batch", "batch"},       {"optimizer", "optimizer"},
              {"lr", "lr"},             {"momentum", "momentum"}, {"nesterov", "nesterov"},
              {"weight-decay", "weight_decay"}, {"schedule", "schedule"}, {"warmup", "warmup"},
              {"seed", "seed"},         {"val-split", "val_split"}, {"crop", "crop"}, {"cutout", "cutout"}, {"rotate", "rotate"}, {"zoom", "zoom"}, {"ema", "ema"}, {"mixup", "mixup"}, {"sam", "sam"},
              {"flip", "flip"},         {"select", "select"},     {"patience", "patience"},
              {"threads", "threads"},   {"loss", "loss"},         {"prior", "prior"},
              {"tau", "tau"},           {"focal-gamma", "focal_gamma"}, {"sampler", "sampler"},
              {"target-ratio", "target_ratio"}, {"freeze", "freeze"}, {"plots", "plots"},
              {"precision", "precision"}};
#define NMAPPED ((int)(sizeof MAPPED / sizeof MAPPED[0]))

int wn_train_main(int argc, char **argv) {
    enum { O_VAL = 256, O_LOG, O_STATE, O_RESUME, O_STRICT, O_DEVICE, O_OK, O_CACHEDIR,
           O_CACHEMEM, O_SET, O_INIT, O_OVERFIT, O_MAPPED };
    struct option lo[NMAPPED + 24];
    int n = 0;
    struct option fixed[] = {
        {"config", required_argument, 0, 'c'}, {"data", required_argument, 0, 'd'},
        {"out", required_argument, 0, 'o'},    {"val", required_argument, 0, O_VAL},
        {"log", required_argument, 0, O_LOG},  {"state", required_argument, 0, O_STATE},
        {"resume", no_argument, 0, O_RESUME},  {"strict", no_argument, 0, O_STRICT},
        {"device", required_argument, 0, O_DEVICE}, {"ok-class", required_argument, 0, O_OK},
        {"cache-dir", required_argument, 0, O_CACHEDIR},
        {"cache-mem", required_argument, 0, O_CACHEMEM}, {"set", required_argument, 0, O_SET},
        {"init", required_argument, 0, O_INIT}, {"overfit-check", required_argument, 0, O_OVERFIT},
        {"quiet", no_argument, 0, 'q'},        {"help", no_argument, 0, 'h'}};
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++) lo[n++] = fixed[i];
    for (int i = 0; i < NMAPPED; i++) lo[n++] = (struct option){MAPPED[i].opt, required_argument, 0, O_MAPPED + i};
    lo[n] = (struct option){0, 0, 0, 0};

    wn_train_opts o;
    memset(&o, 0, sizeof o);
    o.cache_mem_mb = 2048;
    o.device = WN_DEVICE_AUTO;
    static char setbuf[64][256], where[64][64];
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "c:d:o:qh", lo, NULL)) != -1) {
        if (o.n_set >= 64 && (c == O_SET || c >= O_MAPPED)) {
            fprintf(stderr, "weldnet train: too many settings on the command line\n");
            return WN_EINPUT;
        }
        switch (c) {
        case 'c': o.config = optarg; break;
        case 'd': o.data = optarg; break;
        case 'o': o.out = optarg; break;
        case O_VAL: o.val = optarg; break;
        case O_LOG: o.log = optarg; break;
        case O_STATE: o.state = optarg; break;
        case O_RESUME: o.resume = 1; break;
        case O_STRICT: o.strict = 1; break;
        case O_OK: o.ok_class = optarg; break;
        case O_CACHEDIR: o.cache_dir = optarg; break;
        case O_CACHEMEM: {
            char *end;
            o.cache_mem_mb = strtod(optarg, &end);
            if (*end || end == optarg || o.cache_mem_mb < 0) {
                fprintf(stderr, "weldnet train: --cache-mem '%s': expected megabytes >= 0\n", optarg);
                return WN_EINPUT;
            }
            break;
        }
        case O_INIT: o.init = optarg; break;
        case O_OVERFIT: {
            char *end;
            errno = 0;
            long v = strtol(optarg, &end, 10);
            if (*end || end == optarg || errno || v < 1 || v > 1000000) {
                fprintf(stderr, "weldnet train: --overfit-check '%s': expected a number of photos "
                        "from 1 to 1000000\n", optarg);
                return WN_EINPUT;
            }
            o.overfit_check = (int)v;
            break;
        }
        case O_DEVICE:
            o.device = wn_device_parse(optarg);
            if (o.device < 0) {
                fprintf(stderr, "weldnet train: --device '%s': expected auto, cpu or cuda\n", optarg);
                return WN_EINPUT;
            }
            break;
        case O_SET: {
            const char *eq = strchr(optarg, '=');
            if (!eq || eq == optarg) {
                fprintf(stderr, "weldnet train: --set '%s': expected KEY=VALUE\n", optarg);
                return WN_EINPUT;
            }
            snprintf(setbuf[o.n_set], sizeof setbuf[0], "%.*s", (int)(eq - optarg), optarg);
            o.set_key[o.n_set] = setbuf[o.n_set];
            o.set_val[o.n_set] = eq + 1;
            o.set_where[o.n_set] = "--set";
            o.n_set++;
            break;
        }
        case 'q': o.quiet = 1; break;
        case 'h': usage(stdout); return 0;
        default:
            if (c >= O_MAPPED && c < O_MAPPED + NMAPPED) {
                int i = c - O_MAPPED;
                snprintf(where[o.n_set], sizeof where[0], "--%s", MAPPED[i].opt);
                o.set_key[o.n_set] = MAPPED[i].key;
                o.set_val[o.n_set] = optarg;
                o.set_where[o.n_set] = where[o.n_set];
                o.n_set++;
                break;
            }
            fprintf(stderr, "weldnet train: see 'weldnet train --help'\n");
            return WN_EINPUT;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "weldnet train: unexpected argument '%s' (see --help)\n", argv[optind]);
        return WN_EINPUT;
    }
    if (!o.config || !o.data || (!o.out && !o.overfit_check)) {
        fprintf(stderr, "weldnet train: --config, --data and --out are required (see --help)\n");
        return WN_EINPUT;
    }
    if (o.overfit_check && o.resume) {
        fprintf(stderr, "weldnet train: --overfit-check writes nothing, so it cannot --resume\n");
        return WN_EINPUT;
    }
    wn_err e = {0};
    int rc = wn_train_run(&o, &e);
    if (rc) fprintf(stderr, "weldnet train: error: %s\n", e.msg);
    return rc;
}
