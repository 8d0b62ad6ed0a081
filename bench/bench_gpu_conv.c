/* bench_gpu_conv.c - measurement first for issue 6's bf16 and NHWC items: how long cuDNN takes
 * for ResNet-18's convolutions at batch 256 (224x224 input), by data type and layout, before any
 * of weldnet's engine is changed for them. Configurations: fp32 NCHW with TF32 tensor-core math
 * allowed (what weldnet trains with today), fp32 NHWC, bf16 NCHW and bf16 NHWC (bf16 data, fp32
 * accumulation, tensor-core math). For each layer shape and direction (forward, backward data,
 * backward filter) every algorithm is timed by cudnnFind*AlgorithmEx on the call's own buffers
 * (like PyTorch's cudnn.benchmark); the fastest that succeeds is then timed again with CUDA
 * events (median of --iters runs). Prints per-layer milliseconds and the totals of one training
 * step (forward + backward filter for every layer, backward data for every layer but the stem)
 * and one inference pass, as images/s of the convolutions alone, beside PyTorch's whole-step
 * figures from issue 6: a configuration whose convolutions alone take longer than PyTorch's
 * whole step cannot reach the goal, whatever the rest of the engine does.
 * Usage: bench_gpu_conv [--batch N] [--iters N] [--only LIST] [--json FILE]
 *   LIST: a comma list of fp32_nchw, fp32_nhwc, bf16_nchw, bf16_nhwc (default all).
 * Exit 1 without a GPU; a configuration cuDNN does not support prints "n/a" with its status. */
#include <cuda_runtime_api.h>
#include <cudnn.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct layer {
    const char *name;
    int c, h, w, oc, k, s, p, count; /* input (C, H, W), OC filters of k x k, stride, pad; times in the net */
} layer;

/* torchvision's ResNet-18 at 224x224 (samples/nets/resnet18.ini) */
static const layer LAYERS[] = {
    {"conv1 7x7/2", 3, 224, 224, 64, 7, 2, 3, 1},
    {"layer1 3x3", 64, 56, 56, 64, 3, 1, 1, 4},
    {"layer2 3x3/2", 64, 56, 56, 128, 3, 2, 1, 1},
    {"layer2 3x3", 128, 28, 28, 128, 3, 1, 1, 3},
    {"layer2 down 1x1/2", 64, 56, 56, 128, 1, 2, 0, 1},
    {"layer3 3x3/2", 128, 28, 28, 256, 3, 2, 1, 1},
    {"layer3 3x3", 256, 14, 14, 256, 3, 1, 1, 3},
    {"layer3 down 1x1/2", 128, 28, 28, 256, 1, 2, 0, 1},
    {"layer4 3x3/2", 256, 14, 14, 512, 3, 2, 1, 1},
    {"layer4 3x3", 512, 7, 7, 512, 3, 1, 1, 3},
    {"layer4 down 1x1/2", 256, 14, 14, 512, 1, 2, 0, 1},
};
enum { N_LAYERS = sizeof LAYERS / sizeof LAYERS[0], N_DIRS = 3, MAX_PERF = 16 };
static const char *DIR_NAME[N_DIRS] = {"fwd", "bwd data", "bwd filter"};

typedef struct config {
    const char *key;
    cudnnDataType_t type;
    cudnnTensorFormat_t format;
    cudnnMathType_t math;
    size_t elem; /* bytes per value */
} config;

static const config CONFIGS[] = {
    {"fp32_nchw", CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW, CUDNN_DEFAULT_MATH, 4},
    {"fp32_nhwc", CUDNN_DATA_FLOAT, CUDNN_TENSOR_NHWC, CUDNN_DEFAULT_MATH, 4},
    {"bf16_nchw", CUDNN_DATA_BFLOAT16, CUDNN_TENSOR_NCHW, CUDNN_TENSOR_OP_MATH, 2},
    {"bf16_nhwc", CUDNN_DATA_BFLOAT16, CUDNN_TENSOR_NHWC, CUDNN_TENSOR_OP_MATH, 2},
};
enum { N_CONFIGS = sizeof CONFIGS / sizeof CONFIGS[0] };

/* PyTorch 2.11 eager on the H100, images/s at batch 256 (issue 6's table) */
static const double TORCH_TRAIN_BF16 = 12043, TORCH_TRAIN_COMPILED_BF16 = 16161,
                    TORCH_TRAIN_FP32 = 4904, TORCH_INFER_BF16 = 35592;

#define CUDA_OK(call)                                                                              \
    do {                                                                                           \
        cudaError_t s_ = (call);                                                                   \
        if (s_ != cudaSuccess) {                                                                   \
            fprintf(stderr, "bench_gpu_conv: %s: %s\n", #call, cudaGetErrorString(s_));            \
            exit(1);                                                                               \
        }                                                                                          \
    } while (0)
#define CUDNN_OK(call)                                                                             \
    do {                                                                                           \
        cudnnStatus_t s_ = (call);                                                                 \
        if (s_ != CUDNN_STATUS_SUCCESS) {                                                          \
            fprintf(stderr, "bench_gpu_conv: %s: %s\n", #call, cudnnGetErrorString(s_));           \
            exit(1);                                                                               \
        }                                                                                          \
    } while (0)

typedef struct bench {
    cudnnHandle_t h;
    cudnnTensorDescriptor_t tx, ty;
    cudnnFilterDescriptor_t fw;
    cudnnConvolutionDescriptor_t cv;
    void *x, *y, *w, *ws; /* device buffers, each big enough for every layer in fp32 */
    size_t ws_size;
    cudaEvent_t e0, e1;
    int iters;
} bench;

/* Runs direction dir once with algorithm algo; returns cuDNN's status. */
static cudnnStatus_t run_once(bench *b, int dir, int algo, size_t ws) {
    const float one = 1, zero = 0;
    if (dir == 0)
        return cudnnConvolutionForward(b->h, &one, b->tx, b->x, b->fw, b->w, b->cv,
                                       (cudnnConvolutionFwdAlgo_t)algo, b->ws, ws, &zero, b->ty, b->y);
    if (dir == 1)
        return cudnnConvolutionBackwardData(b->h, &one, b->fw, b->w, b->ty, b->y, b->cv,
                                            (cudnnConvolutionBwdDataAlgo_t)algo, b->ws, ws, &zero,
                                            b->tx, b->x);
    return cudnnConvolutionBackwardFilter(b->h, &one, b->tx, b->x, b->ty, b->y, b->cv,
                                          (cudnnConvolutionBwdFilterAlgo_t)algo, b->ws, ws, &zero,
                                          b->fw, b->w);
}

static int cmp_float(const void *a, const void *b) {
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

/* The fastest algorithm of direction dir (descriptors set): ms (median of iters), or -1 with
 * the status in *why when none works. */
static double time_dir(bench *b, int dir, cudnnStatus_t *why) {
    int got = 0, algo[MAX_PERF];
    size_t mem[MAX_PERF];
    cudnnStatus_t st[MAX_PERF];
    cudnnStatus_t s;
    if (dir == 0) {
        cudnnConvolutionFwdAlgoPerf_t p[MAX_PERF];
        s = cudnnFindConvolutionForwardAlgorithmEx(b->h, b->tx, b->x, b->fw, b->w, b->cv, b->ty, b->y,
                                                   MAX_PERF, &got, p, b->ws, b->ws_size);
        for (int i = 0; i < got; i++) algo[i] = p[i].algo, mem[i] = p[i].memory, st[i] = p[i].status;
    } else if (dir == 1) {
        cudnnConvolutionBwdDataAlgoPerf_t p[MAX_PERF];
        s = cudnnFindConvolutionBackwardDataAlgorithmEx(b->h, b->fw, b->w, b->ty, b->y, b->cv, b->tx,
                                                        b->x, MAX_PERF, &got, p, b->ws, b->ws_size);
        for (int i = 0; i < got; i++) algo[i] = p[i].algo, mem[i] = p[i].memory, st[i] = p[i].status;
    } else {
        cudnnConvolutionBwdFilterAlgoPerf_t p[MAX_PERF];
        s = cudnnFindConvolutionBackwardFilterAlgorithmEx(b->h, b->tx, b->x, b->ty, b->y, b->cv, b->fw,
                                                          b->w, MAX_PERF, &got, p, b->ws, b->ws_size);
        for (int i = 0; i < got; i++) algo[i] = p[i].algo, mem[i] = p[i].memory, st[i] = p[i].status;
    }
    *why = s;
    if (s != CUDNN_STATUS_SUCCESS) return -1;
    int pick = -1; /* Find lists the fastest first */
    for (int i = 0; i < got && pick < 0; i++)
        if (st[i] == CUDNN_STATUS_SUCCESS && mem[i] <= b->ws_size) pick = i;
    if (pick < 0) {
        *why = got ? st[0] : CUDNN_STATUS_NOT_SUPPORTED;
        return -1;
    }
    float t[64];
    int n = b->iters < 64 ? b->iters : 64;
    if ((s = run_once(b, dir, algo[pick], mem[pick])) != CUDNN_STATUS_SUCCESS) { /* warm-up */
        *why = s;
        return -1;
    }
    for (int i = 0; i < n; i++) {
        CUDA_OK(cudaEventRecord(b->e0, 0));
        run_once(b, dir, algo[pick], mem[pick]);
        CUDA_OK(cudaEventRecord(b->e1, 0));
        CUDA_OK(cudaEventSynchronize(b->e1));
        CUDA_OK(cudaEventElapsedTime(&t[i], b->e0, b->e1));
    }
    qsort(t, (size_t)n, sizeof t[0], cmp_float);
    return t[n / 2];
}

/* ms[l][dir] for one configuration; -1 where it does not run (the status printed once). */
static int time_config(bench *b, const config *cf, int batch, double ms[N_LAYERS][N_DIRS]) {
    int ok = 1;
    for (int l = 0; l < N_LAYERS; l++) {
        const layer *L = &LAYERS[l];
        int oh = (L->h + 2 * L->p - L->k) / L->s + 1, ow = (L->w + 2 * L->p - L->k) / L->s + 1;
        for (int d = 0; d < N_DIRS; d++) ms[l][d] = -1;
        cudnnStatus_t s = cudnnSetTensor4dDescriptor(b->tx, cf->format, cf->type, batch, L->c, L->h, L->w);
        if (s == CUDNN_STATUS_SUCCESS)
            s = cudnnSetTensor4dDescriptor(b->ty, cf->format, cf->type, batch, L->oc, oh, ow);
        if (s == CUDNN_STATUS_SUCCESS)
            s = cudnnSetFilter4dDescriptor(b->fw, cf->type, cf->format, L->oc, L->c, L->k, L->k);
        if (s == CUDNN_STATUS_SUCCESS)
            s = cudnnSetConvolution2dDescriptor(b->cv, L->p, L->p, L->s, L->s, 1, 1,
                                                CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT);
        if (s == CUDNN_STATUS_SUCCESS) s = cudnnSetConvolutionMathType(b->cv, cf->math);
        for (int d = 0; d < N_DIRS && s == CUDNN_STATUS_SUCCESS; d++) {
            if (d == 1 && l == 0) continue; /* the stem's input needs no gradient */
            cudnnStatus_t why;
            ms[l][d] = time_dir(b, d, &why);
            if (ms[l][d] < 0) {
                printf("  %s %s %s: n/a (%s)\n", cf->key, L->name, DIR_NAME[d], cudnnGetErrorString(why));
                ok = 0;
            }
        }
        if (s != CUDNN_STATUS_SUCCESS) {
            printf("  %s %s: n/a (%s)\n", cf->key, L->name, cudnnGetErrorString(s));
            ok = 0;
        }
    }
    return ok;
}

static int wanted(const char *only, const char *key) {
    if (!only) return 1;
    size_t n = strlen(key);
    for (const char *p = only; (p = strstr(p, key)); p += n)
        if ((p == only || p[-1] == ',') && (p[n] == ',' || p[n] == '\0')) return 1;
    return 0;
}

int main(int argc, char **argv) {
    int batch = 256, iters = 5;
    const char *only = NULL, *json = NULL;
    static const struct option opts[] = {{"batch", required_argument, NULL, 'b'},
                                         {"iters", required_argument, NULL, 'i'},
                                         {"only", required_argument, NULL, 'o'},
                                         {"json", required_argument, NULL, 'j'},
                                         {NULL, 0, NULL, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == 'b') batch = atoi(optarg);
        else if (c == 'i') iters = atoi(optarg);
        else if (c == 'o') only = optarg;
        else if (c == 'j') json = optarg;
        else {
            fprintf(stderr, "usage: bench_gpu_conv [--batch N] [--iters N] [--only LIST] [--json FILE]\n");
            return 2;
        }
    }
    if (batch < 1 || iters < 1) {
        fprintf(stderr, "bench_gpu_conv: --batch and --iters must be positive\n");
        return 2;
    }
    int devices = 0;
    if (cudaGetDeviceCount(&devices) != cudaSuccess || devices < 1) {
        fprintf(stderr, "bench_gpu_conv: no CUDA GPU\n");
        return 1;
    }
    struct cudaDeviceProp prop;
    CUDA_OK(cudaGetDeviceProperties(&prop, 0));
    bench b = {.iters = iters};
    CUDNN_OK(cudnnCreate(&b.h));
    CUDNN_OK(cudnnCreateTensorDescriptor(&b.tx));
    CUDNN_OK(cudnnCreateTensorDescriptor(&b.ty));
    CUDNN_OK(cudnnCreateFilterDescriptor(&b.fw));
    CUDNN_OK(cudnnCreateConvolutionDescriptor(&b.cv));
    CUDA_OK(cudaEventCreate(&b.e0));
    CUDA_OK(cudaEventCreate(&b.e1));
    size_t xmax = 0, ymax = 0, wmax = 0;
    for (int l = 0; l < N_LAYERS; l++) {
        const layer *L = &LAYERS[l];
        int oh = (L->h + 2 * L->p - L->k) / L->s + 1, ow = (L->w + 2 * L->p - L->k) / L->s + 1;
        size_t xs = (size_t)batch * L->c * L->h * L->w, ys = (size_t)batch * L->oc * oh * ow,
               wsz = (size_t)L->oc * L->c * L->k * L->k;
        if (xs > xmax) xmax = xs;
        if (ys > ymax) ymax = ys;
        if (wsz > wmax) wmax = wsz;
    }
    size_t free_b = 0, total_b = 0; /* workspace: a quarter of the free memory, at most 2 GiB */
    CUDA_OK(cudaMemGetInfo(&free_b, &total_b));
    b.ws_size = free_b / 4 < ((size_t)2 << 30) ? free_b / 4 : ((size_t)2 << 30);
    CUDA_OK(cudaMalloc(&b.x, xmax * 4));
    CUDA_OK(cudaMalloc(&b.y, ymax * 4));
    CUDA_OK(cudaMalloc(&b.w, wmax * 4));
    CUDA_OK(cudaMalloc(&b.ws, b.ws_size));
    /* small values in every format: 0x3C00 repeated is 0.0078 in bf16 and a small fp32 */
    CUDA_OK(cudaMemset(b.x, 0x3C, xmax * 4));
    CUDA_OK(cudaMemset(b.y, 0x3C, ymax * 4));
    CUDA_OK(cudaMemset(b.w, 0x3C, wmax * 4));
    printf("bench_gpu_conv: %s, cuDNN %zu, ResNet-18 convolutions at batch %d, 224x224; median of %d "
           "runs of the fastest algorithm cudnnFind lists\n",
           prop.name, cudnnGetVersion(), batch, iters);
    FILE *jf = json ? fopen(json, "w") : NULL;
    if (json && !jf) {
        fprintf(stderr, "bench_gpu_conv: %s: cannot write\n", json);
        return 1;
    }
    if (jf) fprintf(jf, "{\n  \"batch\": %d", batch);
    static double ms[N_CONFIGS][N_LAYERS][N_DIRS];
    double train_ms[N_CONFIGS], infer_ms[N_CONFIGS];
    int done[N_CONFIGS] = {0};
    for (int k = 0; k < N_CONFIGS; k++) {
        if (!wanted(only, CONFIGS[k].key)) continue;
        int ok = time_config(&b, &CONFIGS[k], batch, ms[k]);
        train_ms[k] = infer_ms[k] = 0;
        for (int l = 0; l < N_LAYERS; l++)
            for (int d = 0; d < N_DIRS; d++) {
                if (d == 1 && l == 0) continue;
                double v = ms[k][l][d] * LAYERS[l].count;
                train_ms[k] += v;
                if (d == 0) infer_ms[k] += v;
            }
        done[k] = ok ? 1 : -1;
    }
    printf("\n%-22s", "ms per call");
    for (int k = 0; k < N_CONFIGS; k++)
        if (done[k]) printf(" | %-26s", CONFIGS[k].key);
    printf("\n%-22s", "layer (x times)");
    for (int k = 0; k < N_CONFIGS; k++)
        if (done[k]) printf(" | %8s %8s %8s", "fwd", "bwdD", "bwdF");
    printf("\n");
    for (int l = 0; l < N_LAYERS; l++) {
        char nm[48];
        snprintf(nm, sizeof nm, "%s (x%d)", LAYERS[l].name, LAYERS[l].count);
        printf("%-22s", nm);
        for (int k = 0; k < N_CONFIGS; k++) {
            if (!done[k]) continue;
            printf(" |");
            for (int d = 0; d < N_DIRS; d++) {
                if (ms[k][l][d] < 0) printf(" %8s", d == 1 && l == 0 ? "-" : "n/a");
                else printf(" %8.3f", ms[k][l][d]);
            }
        }
        printf("\n");
    }
    printf("\nconvolutions alone, whole net (ResNet-18, batch %d):\n", batch);
    for (int k = 0; k < N_CONFIGS; k++) {
        if (!done[k]) continue;
        if (done[k] < 0) {
            printf("  %-10s incomplete (some shapes not supported, see above)\n", CONFIGS[k].key);
            continue;
        }
        double tr = batch / (train_ms[k] / 1000), inf = batch / (infer_ms[k] / 1000);
        int bf16 = CONFIGS[k].type == CUDNN_DATA_BFLOAT16;
        printf("  %-10s training step %8.2f ms = %8.0f images/s (PyTorch's whole step, %s: %.0f",
               CONFIGS[k].key, train_ms[k], tr, bf16 ? "bf16 eager" : "fp32 eager",
               bf16 ? TORCH_TRAIN_BF16 : TORCH_TRAIN_FP32);
        if (bf16) printf(", compiled %.0f", TORCH_TRAIN_COMPILED_BF16);
        printf("); inference %7.2f ms = %8.0f images/s", infer_ms[k], inf);
        if (bf16) printf(" (PyTorch's whole pass, bf16: %.0f)", TORCH_INFER_BF16);
        printf("\n");
        if (jf)
            fprintf(jf, ",\n  \"conv_train_images_per_s.%s\": %.1f,\n  \"conv_infer_images_per_s.%s\": %.1f",
                    CONFIGS[k].key, tr, CONFIGS[k].key, inf);
    }
    if (jf) {
        fprintf(jf, "\n}\n");
        fclose(jf);
    }
    cudaFree(b.x);
    cudaFree(b.y);
    cudaFree(b.w);
    cudaFree(b.ws);
    cudnnDestroyConvolutionDescriptor(b.cv);
    cudnnDestroyFilterDescriptor(b.fw);
    cudnnDestroyTensorDescriptor(b.tx);
    cudnnDestroyTensorDescriptor(b.ty);
    cudnnDestroy(b.h);
    return 0;
}
