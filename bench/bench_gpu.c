/* bench_gpu.c - GPU throughput of weldnet's CUDA backend on synthetic input, for comparison with
 * ../shared/bench/torch_speed.py (same work: batch 256 at 224x224, 2 classes, SGD momentum 0.9
 * for training, a forward pass for inference):
 *   train/infer ResNet-18 (samples/nets/resnet18.ini) and AlexNet (bench/nets/alexnet_torchvision.ini;
 *   inference with batchnorm folded into the convolutions, as classify runs it)
 *   images/s, fp32 (cuDNN convolutions with TF32 like PyTorch's default; --strict for FMA only)
 *   and bf16 (mixed precision: bf16 convolutions and dense products, fp32 weights, loss and
 *   everything else, like torch.autocast(dtype=torch.bfloat16); --precision picks one),
 *   and the device memory in use at the end (the backend's own peak, and the device-wide figure
 *   of cudaMemGetInfo, which includes the CUDA context);
 *   the small net (samples/nets/fmnist_small.ini, 28x28 grey, batch 128, Adam) on the GPU and on
 *   the CPU backend with 2 threads (the "20x faster than the 2-core CPU").
 * Convolution algorithms are timed once per shape (like torch_speed.py's cudnn.benchmark), only
 * deterministic ones by default; --heuristic measures weldnet's default choice instead.
 * Timing: warm-up steps first (cuDNN algorithm search, allocations), then the host clock around
 * N steps with a sync before and after; no per-step synchronisation (the loss is not read), as
 * in the PyTorch script. Prints one line per figure and writes them as JSON (--json FILE) with
 * torch_speed.py's keys. Usage: bench_gpu [--json F] [--root DIR] [--only LIST] [--strict]
 *   [--precision fp32|bf16|both (both)] [--nchw (bf16 convolutions on NCHW copies; key suffix
 *   /nchw)] [--fp32-storage (bf16 products on fp32 activations between layers, the layout
 *   before bf16 storage; key suffix /f32store)]
 *   [--iters N] [--nondeterministic] [--heuristic] [--cpu]; LIST is a comma list of resnet18, alexnet, small. Exit 1 without a GPU
 *   (--cpu: everything on the CPU backend, to check the benchmark itself). */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "wn_backend.h"
#include "wn_cuda.h"
#include "wn_net.h"
#include "wn_rng.h"

typedef struct result {
    char key[96];
    double value;
} result;

typedef struct bench {
    const char *root;
    int strict, iters, cpu, nondet, heuristic; /* cpu: run everything on the CPU backend (to check the benchmark) */
    int bf16;      /* the precision of the current figures (gpu_backend) */
    int nchw;      /* bf16 convolutions on NCHW copies instead of NHWC (opts.nhwc = 0) */
    int f32store;  /* bf16 with fp32 activation storage (opts.bf16_store = 0) */
    int precs;     /* bit 0: fp32 figures, bit 1: bf16 figures */
    result res[64];
    int n_res;
} bench;

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}

static void record(bench *b, const char *key, double v, const char *unit) {
    printf("%-44s %12.1f %s\n", key, v, unit);
    fflush(stdout);
    if (b->n_res < 64) {
        snprintf(b->res[b->n_res].key, sizeof b->res[b->n_res].key, "%s", key);
        b->res[b->n_res].value = v;
        b->n_res++;
    }
}

static void die(const char *what, const wn_err *e) {
    fprintf(stderr, "bench_gpu: %s: %s\n", what, e->msg);
    exit(1);
}

typedef struct model {
    wn_net net;
    float *x, *p, *g, *v, *m; /* x (B, C, H, W); p, g (B, K); v, m (n_params) */
    int32_t *y;               /* (B) */
    int batch, k, sample;
} model;

/* train: 0 = inference buffers only; 1 = training with SGD; 2 = training with Adam */
static void model_open(model *md, wn_backend *be, const char *ini, int batch, int train) {
    const int adam = train == 2;
    wn_err e = {0};
    wn_netdef def;
    memset(md, 0, sizeof *md);
    if (wn_netdef_parse_file(ini, &def, &e)) die(ini, &e);
    md->k = 2;
    md->batch = batch;
    md->sample = def.in_c * def.in_h * def.in_w;
    /* inference runs the network as classify does: batchnorm folded into its convolutions */
    if (wn_net_create(&def, md->k, be, &md->net, &e) || wn_net_init(&md->net, 1, &e) ||
        (!train && wn_net_fold_batchnorm(&md->net, NULL, &e)) ||
        wn_net_reserve(&md->net, batch, train > 0, &e))
        die(ini, &e);
    wn_netdef_free(&def);
    size_t nx = (size_t)batch * md->sample;
    md->x = wn_balloc(be, nx, "input", &e);
    md->p = wn_balloc(be, (size_t)batch * md->k, "probs", &e);
    md->g = wn_balloc(be, (size_t)batch * md->k, "dlogits", &e);
    md->v = train ? wn_balloc(be, md->net.n_params, "momentum", &e) : NULL;
    md->m = adam ? wn_balloc(be, md->net.n_params, "adam m", &e) : NULL;
    md->y = be->ops->alloc(be->ctx, (size_t)batch * sizeof(int32_t));
    if (!md->x || !md->p || !md->g || (train && !md->v) || (adam && !md->m) || !md->y)
        die("alloc", &e);
    /* synthetic input: standard normal pixels, labels 0/1 (like torch.randn / randint) */
    float *xh = malloc(nx * sizeof(float));
    int32_t *yh = malloc((size_t)batch * sizeof(int32_t));
    wn_rng r;
    wn_rng_seed(&r, 5, 1);
    for (size_t i = 0; i < nx; i++) xh[i] = wn_rng_normal(&r);
    for (int i = 0; i < batch; i++) yh[i] = (int32_t)wn_rng_below(&r, (uint32_t)md->k);
    if (be->ops->upload(be->ctx, md->x, xh, nx * sizeof(float), &e) ||
        be->ops->upload(be->ctx, md->y, yh, (size_t)batch * sizeof(int32_t), &e))
        die("upload", &e);
    free(xh);
    free(yh);
}

static void model_close(model *md, wn_backend *be) {
    void *bufs[] = {md->x, md->p, md->g, md->v, md->m, md->y};
    for (int i = 0; i < 6; i++)
        if (bufs[i]) be->ops->free(be->ctx, bufs[i]);
    wn_net_free(&md->net);
}

/* One training step: forward, softmax cross entropy, backward, optimizer. */
static void train_step(model *md, wn_backend *be, long t, double *loss) {
    const wn_backend_ops *o = be->ops;
    const float *logits = wn_net_forward(&md->net, md->batch, md->x, 1, (uint64_t)t);
    o->softmax_xent(be->ctx, md->batch, md->k, logits, md->y, NULL, NULL, NULL, md->g, loss);
    wn_net_backward(&md->net, md->batch, md->x, md->g);
    size_t np = md->net.n_params;
    if (md->m)
        o->adam_update(be->ctx, np, md->net.params, md->net.grads, md->m, md->v, 1e-3f, 0.9f,
                       0.999f, 1e-8f, 0, 0, (int)t + 1);
    else
        o->sgd_update(be->ctx, np, md->net.params, md->net.grads, md->v, 0.01f, 0.9f, 0, 0);
}

/* images/s of iters steps after warm steps; train or infer */
static double timed(model *md, wn_backend *be, int train, int warm, int iters) {
    double loss = 0;
    for (int i = 0; i < warm; i++) {
        if (train)
            train_step(md, be, i, i == warm - 1 ? &loss : NULL);
        else
            wn_net_forward(&md->net, md->batch, md->x, 0, 0);
    }
    if (train && !isfinite(loss)) fprintf(stderr, "bench_gpu: warning: warm-up loss %g\n", loss);
    be->ops->sync(be->ctx);
    double t0 = now();
    for (int i = 0; i < iters; i++) {
        if (train)
            train_step(md, be, warm + i, NULL);
        else
            wn_net_forward(&md->net, md->batch, md->x, 0, 0);
    }
    be->ops->sync(be->ctx);
    return (double)md->batch * iters / (now() - t0);
}

static void memory_figures(bench *b, wn_backend *be, const char *prefix) {
    wn_cuda_stats s;
    wn_err e = {0};
    if (wn_cuda_stats_get(be, &s, &e)) return;
    char key[96];
    snprintf(key, sizeof key, "%s/backend_peak_MiB", prefix);
    record(b, key, s.peak_bytes / 1048576.0, "MiB");
    snprintf(key, sizeof key, "%s/device_used_MiB", prefix);
    record(b, key, (s.device_total - s.device_free) / 1048576.0, "MiB");
}

static wn_backend gpu_backend(const bench *b) {
    wn_backend be;
    wn_err e = {0};
    if (b->cpu) {
        if (wn_cpu_backend_create(0, &be, &e)) die("CPU backend", &e);
        return be;
    }
    wn_cuda_opts o;
    wn_cuda_opts_default(&o);
    o.tf32 = !b->strict;
    o.bf16 = b->bf16;
    o.nhwc = !b->nchw;
    o.bf16_store = !b->f32store;
    o.deterministic = !b->nondet;
    o.find = !b->heuristic; /* timed algorithms, like torch_speed.py's cudnn.benchmark = True */
    o.verbose = getenv("WN_BENCH_VERBOSE") != NULL;
    if (wn_cuda_backend_create_opts(&o, &be, &e)) die("CUDA backend", &e);
    return be;
}

static void bench_big(bench *b, const char *name, const char *ini) {
    char path[4096], key[96];
    snprintf(path, sizeof path, "%s/%s", b->root, ini);
    char prec[32];
    snprintf(prec, sizeof prec, "%s%s%s%s%s",
             b->cpu ? "cpu" : b->bf16 ? "bf16" : b->strict ? "fp32strict" : "fp32",
             b->bf16 && b->nchw ? "/nchw" : "", b->bf16 && b->f32store ? "/f32store" : "",
             b->nondet ? "/nondet" : "",
             b->heuristic ? "/heuristic" : "");
    for (int train = 1; train >= 0; train--) {
        wn_backend be = gpu_backend(b); /* a fresh backend per figure: its own memory peak */
        model md;
        model_open(&md, &be, path, 256, train);
        int iters = train ? b->iters : b->iters * 3 / 2;
        double ips = timed(&md, &be, train, 5, iters);
        snprintf(key, sizeof key, "%s/%s/224/b256/%s", train ? "train" : "infer", name, prec);
        record(b, key, ips, "images/s");
        memory_figures(b, &be, key);
        model_close(&md, &be);
        wn_backend_free(&be);
    }
}

static void bench_small(bench *b) {
    char path[4096];
    snprintf(path, sizeof path, "%s/samples/nets/fmnist_small.ini", b->root);
    wn_backend be = gpu_backend(b);
    model md;
    model_open(&md, &be, path, 128, 2);
    double gpu = timed(&md, &be, 1, 5, b->cpu ? 3 : 200);
    record(b, "train/fmnist_small/28/b128/gpu", gpu, "images/s");
    model_close(&md, &be);
    wn_backend_free(&be);
    wn_err e = {0};
    if (wn_cpu_backend_create(2, &be, &e)) die("CPU backend", &e);
    model_open(&md, &be, path, 128, 2);
    double cpu = timed(&md, &be, 1, 1, 6);
    record(b, "train/fmnist_small/28/b128/cpu2", cpu, "images/s");
    record(b, "train/fmnist_small/gpu_over_cpu2", gpu / cpu, "x");
    model_close(&md, &be);
    wn_backend_free(&be);
}

static int write_json(const bench *b, const char *path) {
    FILE *f = fopen(path, "w");
    if (!f) {
        perror(path);
        return 1;
    }
    fprintf(f, "{\n");
    for (int i = 0; i < b->n_res; i++)
        fprintf(f, "  \"%s\": %.6g%s\n", b->res[i].key, b->res[i].value, i + 1 < b->n_res ? "," : "");
    fprintf(f, "}\n");
    if (fclose(f) != 0) {
        perror(path);
        return 1;
    }
    return 0;
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0); /* lines survive an abort or a time limit */
    bench b = {.root = ".", .iters = 20, .precs = 3};
    const char *json = NULL, *only = "resnet18,alexnet,small";
    static const struct option opts[] = {{"json", required_argument, 0, 'j'},
                                         {"root", required_argument, 0, 'r'},
                                         {"only", required_argument, 0, 'o'},
                                         {"iters", required_argument, 0, 'i'},
                                         {"strict", no_argument, 0, 's'},
                                         {"precision", required_argument, 0, 'p'},
                                         {"nchw", no_argument, 0, 'w'},
                                         {"fp32-storage", no_argument, 0, 'f'},
                                         {"cpu", no_argument, 0, 'c'},
                                         {"nondeterministic", no_argument, 0, 'n'},
                                         {"heuristic", no_argument, 0, 'e'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'j': json = optarg; break;
        case 'r': b.root = optarg; break;
        case 'o': only = optarg; break;
        case 'i': b.iters = atoi(optarg) > 0 ? atoi(optarg) : 20; break;
        case 's': b.strict = 1; break;
        case 'w': b.nchw = 1; break;
        case 'f': b.f32store = 1; break;
        case 'p':
            b.precs = !strcmp(optarg, "fp32") ? 1 : !strcmp(optarg, "bf16") ? 2
                    : !strcmp(optarg, "both") ? 3 : 0;
            if (!b.precs) {
                fprintf(stderr, "bench_gpu: --precision '%s': expected fp32, bf16 or both\n", optarg);
                return 2;
            }
            break;
        case 'c': b.cpu = 1; break;
        case 'n': b.nondet = 1; break;
        case 'e': b.heuristic = 1; break;
        default:
            printf("usage: bench_gpu [--json FILE (none)] [--root DIR (.)] [--only "
                   "resnet18,alexnet,small] [--iters N (20)] [--strict (TF32 off)] [--precision "
                   "fp32|bf16|both (both; the small net: fp32)] [--nchw (bf16 convolutions on NCHW "
                   "copies)] [--fp32-storage (bf16 products on fp32 activations)] [--nondeterministic "
                   "(allow cuDNN's non-deterministic algorithms, like PyTorch)] [--heuristic "
                   "(cuDNN's heuristic choice, weldnet's default, instead of timing)] [--cpu (check the "
                   "benchmark on the CPU backend)]\n");
            return c == 'h' ? 0 : 2;
        }
    }
    wn_backend probe = gpu_backend(&b);
    wn_cuda_stats s;
    wn_err e = {0};
    if (!wn_cuda_stats_get(&probe, &s, &e))
        printf("GPU %s (sm_%d%d, %d SMs, %.1f GiB), cuDNN %d, cuBLAS %d, CUDA runtime %d, driver %d%s%s%s\n",
               s.device_name, s.cc_major, s.cc_minor, s.sm_count, s.device_total / 1073741824.0,
               s.cudnn_version, s.cublas_version, s.runtime_version, s.driver_version,
               b.strict ? ", strict fp32" : ", TF32 convolutions",
               b.nondet ? ", non-deterministic algorithms allowed" : ", deterministic algorithms",
               b.heuristic ? ", cuDNN's heuristic choice" : ", timed choice");
    wn_backend_free(&probe);
    for (int bf16 = 0; bf16 < 2; bf16++) {
        if (!(b.precs >> bf16 & 1) || (bf16 && b.cpu)) continue; /* the CPU computes in fp32 */
        b.bf16 = bf16;
        if (strstr(only, "resnet18")) bench_big(&b, "resnet18", "samples/nets/resnet18.ini");
        if (strstr(only, "alexnet")) bench_big(&b, "alexnet", "bench/nets/alexnet_torchvision.ini");
    }
    b.bf16 = 0;
    if (strstr(only, "small")) bench_small(&b);
    return json ? write_json(&b, json) : 0;
}
