/* test_gpu_parity.c - every op of the backend table on the CUDA backend against the CPU backend
 * (the reference) on fresh random inputs (never zeros), outputs poisoned with NaN before each op
 * so that an element left unwritten fails. Each comparison passes when
 *   |gpu - cpu| <= atol + rtol * |cpu|   for every element, with atol = a * rms(cpu),
 * and prints one line (op, case, count, max error, where, tolerance, the largest fraction of
 * its tolerance an element's error takes) and the first mismatches with their (n, c, h, w)
 * indices, so one run on a GPU machine tells everything.
 *
 * Covered: memory (zero-filled alloc, alloc(0), exhaustion gives NULL, round trips at odd
 * offsets, copy, fill, axpy, add, sumsq, lookup_u8, sync, a failing upload returns a status),
 * feeding (pinned host_alloc, upload_async ordered after earlier ops and before ops after
 * upload_fence, in-order copies, host buffers reusable after the fence, sync implies a fence),
 * convolution forward and backward (odd sizes, strides, padding, 1x1, 7x7, 11x11, batch 1, with
 * and without bias, NULL gradients), pooling (max with ties, average counting padding, global,
 * windows without input cells), dense, ReLU and leaky ReLU (zeros, in place), dropout
 * (bit-identical masks), batch norm (train, eval, backward, NULL gamma/beta/gradients, m = 1, a
 * far-off mean), softmax cross entropy and focal loss (weights, offsets, large logits, NULL
 * outputs), softmax, SGD and Adam/AdamW over several steps; a bad label aborts with a message
 * (checked in a child process). Bf16 activation storage: act_bf16 on every pass's context (1 only
 * with bf16 math and bf16_store) and on the CPU (0); alloc_bf16 (NULL on the CPU, zero-filled on
 * the GPU, NULL for 2^59 values); cast between fp32 and bf16 at odd offsets against
 * wn_bf16_from_float bit for bit (ties, subnormals, overflow, NaN, infinities, random bit
 * patterns), bf16 to fp32 of every bf16 value, both copies, the CPU's copy; add, axpy and copy at
 * offsets counted in 2-byte elements; fp32 buffers made after bf16 ones are freed compute as
 * fp32; an op with mixed storage aborts with a message (a child).
 * Passes: strict fp32 (cuDNN FMA math, timed deterministic algorithms), then TF32 convolutions
 * with non-deterministic algorithms allowed (PyTorch's default), bf16 mixed precision on fp32
 * activations in NHWC and NCHW (convolutions and dense products against the CPU on the
 * bf16-rounded inputs, and exact values where the rounding decides: a tie that bf16 rounds to
 * even), bf16 mixed precision with the activations (the x, y, dy, dx of conv, pool, dense, act,
 * dropout and batch norm, and add and axpy) in bf16 storage, in NHWC (every op) and NCHW
 * (convolutions): the CPU computes in fp32 on the same bf16 values, an output stored in bf16 is
 * allowed the one rounding more it carries, and the results of activations, pooling, dropout, add
 * and axpy must be the CPU's value rounded to bf16 bit for bit; heuristic algorithms, and the own
 * pooling kernels, each with its tolerance.
 * Without a GPU it exits 77 (skipped). Tolerances are the constants below. */
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "wn_backend.h"
#include "wn_bf16.h"
#include "wn_cuda.h"
#include "wn_rng.h"
#include "wn_test.h"

/* Tolerances: a (times the rms of the reference) and rtol. */
#define TOL_EXACT 1e-6, 1e-6   /* elementwise ops, optimizers, own pooling: the same expressions */
#define TOL_STATS 1e-5, 1e-5   /* batch norm, softmax: double statistics, float outputs */
#define TOL_GEMM 1e-4, 1e-4    /* cuBLAS / cuDNN fp32 against OpenBLAS: another summation order */
#define TOL_TF32 6e-3, 6e-3    /* TF32 tensor cores (10-bit mantissa inputs) */

static wn_backend CPU, GPU;
static wn_rng R;
static const char *PASS = "fp32";   /* the current pass, for messages */
static double CONV_A = 1e-4, CONV_R = 1e-4;
static double POOL_A = 1e-5, POOL_R = 1e-5; /* cuDNN's average pooling sums in its own order */
static double GEMM_A = 1e-4, GEMM_R = 1e-4; /* dense products */
static double BIAS_A = 1e-4, BIAS_R = 1e-4; /* conv and dense bias gradients */
/* The bf16 pass: the CPU side of the inputs of convolutions and dense products holds their bf16
 * rounding (the GPU side keeps the fp32 values and must round them itself), so the CPU computes
 * what bf16 products with fp32 accumulation give; conv outputs are bf16 (CONV_A/R about one bf16
 * rounding), dense outputs fp32 (GEMM_A/R), bias gradients from fp32 dy against the CPU's from the
 * rounded dy (BIAS_A/R). */
static int BF16 = 0, NHWC = 1; /* NHWC: the bf16 convolutions' layout (opts.nhwc) */
/* The bf16 storage passes (LP = 1, with BF16 = 1 and opts.bf16_store = 1): the activation buffers
 * of the tests (a_rand, a_levels, a_poison: the x, y, dy, dx of the ops) are bf16 storage on the
 * GPU (alloc_bf16), and their host copy and CPU side hold the same bf16 values, so the CPU computes
 * in fp32 on exactly what the GPU holds. An output in bf16 storage carries one rounding more than
 * the CPU's fp32 result (the GPU rounds its fp32 result when it stores it): compare() gives it at
 * least LP_A, LP_R; elementwise results whose fp32 arithmetic is the CPU's own must be the CPU's
 * value rounded to bf16, bit for bit (compare_st). */
static int LP = 0;
static double LP_A = 0, LP_R = 0;
static int verbose = 1;

/* ---------------------------------------------------------------- buffers on both backends */

typedef struct buf {
    size_t n;
    float *h;      /* host copy of what was uploaded (inputs) */
    float *c, *g;  /* CPU and GPU memory */
    int lp;        /* the GPU side is bf16 storage (alloc_bf16, 2-byte elements), the others fp32 */
} buf;

static void *xmalloc(size_t n) {
    void *p = malloc(n ? n : 1);
    if (!p) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    return p;
}

static void put(wn_backend *b, void *dst, const void *src, size_t bytes) {
    wn_err e = {0};
    if (b->ops->upload(b->ctx, dst, src, bytes, &e) != WN_OK) {
        fprintf(stderr, "upload to %s failed: %s\n", b->ops->name, e.msg);
        exit(1);
    }
}

static void get(wn_backend *b, void *dst, const void *src, size_t bytes) {
    wn_err e = {0};
    if (b->ops->download(b->ctx, dst, src, bytes, &e) != WN_OK) {
        fprintf(stderr, "download from %s failed: %s\n", b->ops->name, e.msg);
        exit(1);
    }
}

static void *balloc(wn_backend *b, size_t bytes) {
    void *p = b->ops->alloc(b->ctx, bytes ? bytes : 4);
    if (!p) {
        fprintf(stderr, "%s alloc of %zu bytes failed\n", b->ops->name, bytes);
        exit(1);
    }
    return p;
}

static buf b_host(const float *h, size_t n) {
    buf b = {n, xmalloc(n * sizeof(float)), balloc(&CPU, n * sizeof(float)),
             balloc(&GPU, n * sizeof(float)), 0};
    memcpy(b.h, h, n * sizeof(float));
    put(&CPU, b.c, b.h, n * sizeof(float));
    put(&GPU, b.g, b.h, n * sizeof(float));
    return b;
}

/* b_host, or with lp the GPU side in bf16 storage (alloc_bf16) holding the bf16 of h (n), and the
 * host copy and the CPU side holding the same values as floats (wn_bf16_round of h). */
static buf b_store(const float *h, size_t n, int lp) {
    if (!lp) return b_host(h, n);
    buf b = {n, xmalloc(n * sizeof(float)), balloc(&CPU, n * sizeof(float)),
             GPU.ops->alloc_bf16(GPU.ctx, n ? n : 2), 1};
    if (!b.g) {
        fprintf(stderr, "%s alloc_bf16 of %zu values failed\n", GPU.ops->name, n);
        exit(1);
    }
    uint16_t *bits = xmalloc(n * sizeof(uint16_t));
    for (size_t i = 0; i < n; i++) {
        bits[i] = wn_bf16_from_float(h[i]);
        b.h[i] = wn_bf16_to_float(bits[i]);
    }
    put(&CPU, b.c, b.h, n * sizeof(float));
    put(&GPU, b.g, bits, n * sizeof(uint16_t));
    free(bits);
    return b;
}

/* Uniform in [lo, hi), nonzero (their bf16 roundings too). */
static buf rand_store(size_t n, float lo, float hi, int lp) {
    float *h = xmalloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++) {
        float v = lo + (hi - lo) * wn_rng_uniform(&R);
        h[i] = v != 0 ? v : 0.5f * (lo + hi) + 1e-3f;
    }
    buf b = b_store(h, n, lp);
    free(h);
    return b;
}

/* Values from a few levels (lots of ties, exact zeros): levels k*step + lo, k < nlev. */
static buf levels_store(size_t n, int nlev, float lo, float step, int lp) {
    float *h = xmalloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++) h[i] = lo + step * (float)wn_rng_below(&R, (uint32_t)nlev);
    buf b = b_store(h, n, lp);
    free(h);
    return b;
}

/* Output buffer: NaN on both sides (0x7fc0 in bf16 storage), so an element neither backend writes
 * shows. */
static buf poison_store(size_t n, int lp) {
    float *h = xmalloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++) h[i] = NAN;
    buf b = b_store(h, n, lp);
    free(h);
    return b;
}

/* fp32 buffers on both sides: weights, their gradients, masks, statistics, and every buffer of
 * the passes without bf16 storage. */
static buf b_rand(size_t n, float lo, float hi) { return rand_store(n, lo, hi, 0); }
static buf b_poison(size_t n) { return poison_store(n, 0); }

/* Activation buffers (the x, y, dy, dx of the ops): bf16 storage on the GPU when LP is set, else
 * fp32 like b_rand and b_poison (the same draws from R). */
static buf a_rand(size_t n, float lo, float hi) { return rand_store(n, lo, hi, LP); }
static buf a_levels(size_t n, int nlev, float lo, float step) {
    return levels_store(n, nlev, lo, step, LP);
}
static buf a_poison(size_t n) { return poison_store(n, LP); }

/* The GPU side of b from element k on (elements of 2 bytes in bf16 storage). */
static float *g_at(const buf *b, size_t k) {
    return b->lp ? (float *)((uint16_t *)b->g + k) : b->g + k;
}

/* The GPU side of b (n) as floats in g (bf16 storage downloaded as bf16 and widened, exact). */
static void get_gpu(const buf *b, float *g) {
    if (!b->lp) {
        get(&GPU, g, b->g, b->n * sizeof(float));
        return;
    }
    uint16_t *bits = xmalloc(b->n * sizeof(uint16_t));
    get(&GPU, bits, b->g, b->n * sizeof(uint16_t));
    for (size_t i = 0; i < b->n; i++) g[i] = wn_bf16_to_float(bits[i]);
    free(bits);
}

static void b_free(buf *b) {
    free(b->h);
    CPU.ops->free(CPU.ctx, b->c);
    GPU.ops->free(GPU.ctx, b->g);
    memset(b, 0, sizeof *b);
}

/* Frees every buffer of the list: FREE_BUFS(&a, &b, ...). */
static void b_free_list(buf *const *list, size_t n) {
    for (size_t i = 0; i < n; i++) b_free(list[i]);
}
#define FREE_BUFS(...)                                                                     \
    b_free_list((buf *const[]){__VA_ARGS__}, sizeof((buf *const[]){__VA_ARGS__}) / sizeof(buf *))

/* With BF16: the CPU side of b becomes the bf16 rounding of b's values. */
static void cpu_side_bf16(buf *b) {
    if (!BF16) return;
    float *t = xmalloc(b->n * sizeof(float));
    for (size_t i = 0; i < b->n; i++) t[i] = wn_bf16_round(b->h[i]);
    put(&CPU, b->c, t, b->n * sizeof(float));
    free(t);
}

/* With b in bf16 storage: the CPU side of b becomes its bf16 rounding, which the GPU side holds
 * after an op that stored the CPU's fp32 result rounded (compare_st), so that a later op reading
 * b starts from the same values on both sides. */
static void cpu_side_stored(buf *b) {
    if (!b->lp) return;
    float *t = xmalloc(b->n * sizeof(float));
    get(&CPU, t, b->c, b->n * sizeof(float));
    for (size_t i = 0; i < b->n; i++) t[i] = wn_bf16_round(t[i]);
    put(&CPU, b->c, t, b->n * sizeof(float));
    free(t);
}

/* ---------------------------------------------------------------- comparison */

/* Index i of a (d0, d1, d2, d3) array as text. */
static void index_text(char *s, size_t len, size_t i, const int *dims) {
    if (!dims) {
        snprintf(s, len, "[%zu]", i);
        return;
    }
    size_t d3 = (size_t)dims[3], d2 = (size_t)dims[2], d1 = (size_t)dims[1];
    snprintf(s, len, "[%zu,%zu,%zu,%zu]", i / (d1 * d2 * d3), i / (d2 * d3) % d1, i / d3 % d2,
             i % d3);
}

/* Downloads b from both backends and compares GPU against CPU; dims (4) or NULL for flat. With b
 * in bf16 storage a and rtol are at least LP_A and LP_R (one rounding more on the GPU). */
static void compare(const char *op, const char *what, const buf *b, const int *dims, double a,
                    double rtol) {
    float *c = xmalloc(b->n * sizeof(float)), *g = xmalloc(b->n * sizeof(float));
    get(&CPU, c, b->c, b->n * sizeof(float));
    get_gpu(b, g);
    if (b->lp && a < LP_A) a = LP_A;
    if (b->lp && rtol < LP_R) rtol = LP_R;
    double ss = 0;
    size_t finite = 0;
    for (size_t i = 0; i < b->n; i++)
        if (isfinite(c[i])) ss += (double)c[i] * c[i], finite++;
    const double rms = finite ? sqrt(ss / finite) : 0, atol = a * (rms > 0 ? rms : 1);
    size_t bad = 0, worst = 0, exact = 0;
    double err = 0, use = 0; /* the largest |d| and the largest |d| / tolerance */
    for (size_t i = 0; i < b->n; i++) {
        double d = fabs((double)g[i] - (double)c[i]), tol = atol + rtol * fabs((double)c[i]);
        int ok = isfinite(c[i]) && isfinite(g[i]) && d <= tol;
        if (!memcmp(&c[i], &g[i], sizeof(float))) exact++;
        if (isnan(d)) d = INFINITY; /* a NaN on either side is the worst error */
        if (d > err) err = d, worst = i;
        if (tol > 0 ? d / tol > use : d > 0) use = tol > 0 ? d / tol : INFINITY;
        if (!ok) {
            if (bad < 5) {
                char ix[96];
                index_text(ix, sizeof ix, i, dims);
                fprintf(stderr, "  MISMATCH %s %s [%s] %s: gpu %.9g cpu %.9g (|d| %.3g > %.3g)\n",
                        op, what, PASS, ix, (double)g[i], (double)c[i], d,
                        atol + rtol * fabs((double)c[i]));
            }
            bad++;
        }
    }
    char ix[96];
    index_text(ix, sizeof ix, worst, dims);
    if (verbose || bad)
        printf("%-5s %-26s %-34s n=%-9zu max|d| %.3g at %s (atol %.2g rtol %.1g, |d| <= %.2g of "
               "it) bit-equal %.1f%%%s\n",
               PASS, op, what, b->n, err, ix, atol, rtol, use,
               b->n ? 100.0 * exact / b->n : 100.0, bad ? "  FAIL" : "");
    CHECK_MSG(bad == 0, "%s %s [%s]: %zu of %zu elements outside tolerance", op, what, PASS, bad,
              b->n);
    free(c);
    free(g);
}

/* Exact equality (dropout masks); with b in bf16 storage, to the CPU's values rounded to bf16. */
static void compare_exact(const char *op, const char *what, const buf *b) {
    float *c = xmalloc(b->n * sizeof(float)), *g = xmalloc(b->n * sizeof(float));
    get(&CPU, c, b->c, b->n * sizeof(float));
    get_gpu(b, g);
    if (b->lp)
        for (size_t i = 0; i < b->n; i++) c[i] = wn_bf16_round(c[i]);
    size_t bad = 0, first = 0;
    for (size_t i = 0; i < b->n; i++)
        if (memcmp(&c[i], &g[i], sizeof(float))) {
            if (!bad) first = i;
            bad++;
        }
    printf("%-5s %-26s %-34s n=%-9zu %s%s", PASS, op, what, b->n,
           bad ? "DIFFERENT" : "bit-identical", b->lp ? " to bf16 of cpu" : "");
    if (bad) printf(" (%zu differ; first at %zu: gpu %.9g cpu %.9g)", bad, first, g[first], c[first]);
    printf("\n");
    CHECK_MSG(bad == 0, "%s %s [%s]: %zu of %zu differ", op, what, PASS, bad, b->n);
    free(c);
    free(g);
}

/* An elementwise result whose fp32 arithmetic is the CPU's own (activations, dropout, the own
 * pooling kernels, add, axpy): in fp32 storage within (a, rtol), as the passes before bf16
 * storage check it; in bf16 storage the CPU's value rounded to bf16, bit for bit (the GPU rounds
 * the same fp32 value once, to nearest even, when it stores it). */
static void compare_st(const char *op, const char *what, const buf *b, const int *dims, double a,
                       double rtol) {
    if (b->lp)
        compare_exact(op, what, b);
    else
        compare(op, what, b, dims, a, rtol);
}

/* ---------------------------------------------------------------- memory ops */

static void test_memory(void) {
    const wn_backend_ops *o = GPU.ops;
    size_t sizes[] = {1, 3, 4096, (1u << 20) + 5};
    for (size_t k = 0; k < sizeof sizes / sizeof *sizes; k++) {
        for (int rep = 0; rep < 2; rep++) {
            unsigned char *p = o->alloc(GPU.ctx, sizes[k]);
            CHECK(p != NULL);
            unsigned char *h = xmalloc(sizes[k]);
            memset(h, 0x5A, sizes[k]);
            get(&GPU, h, p, sizes[k]);
            size_t nz = 0;
            for (size_t i = 0; i < sizes[k]; i++) nz += h[i] != 0;
            CHECK_MSG(nz == 0, "alloc(%zu): %zu bytes not zero", sizes[k], nz);
            memset(h, 0xAB, sizes[k]); /* dirty it so the next round may see reused memory */
            put(&GPU, p, h, sizes[k]);
            o->free(GPU.ctx, p);
            free(h);
        }
    }
    void *z = o->alloc(GPU.ctx, 0);
    CHECK_MSG(z != NULL, "alloc(0) gives a valid pointer, like the CPU backend");
    o->free(GPU.ctx, z);
    o->free(GPU.ctx, NULL);
    CHECK_MSG(o->alloc(GPU.ctx, (size_t)1 << 60) == NULL, "alloc of 2^60 bytes returns NULL");
    /* round trips at odd offsets, copy, fill, axpy, add */
    const size_t n = 100003;
    buf a = b_rand(n, -2, 2), bb = b_rand(n, -2, 2), y = b_poison(n);
    float *h = xmalloc(n * sizeof(float));
    get(&GPU, h + 3, a.g + 5, (n - 8) * sizeof(float));
    CHECK_MSG(!memcmp(h + 3, a.h + 5, (n - 8) * sizeof(float)), "download at an offset");
    o->copy(GPU.ctx, y.g + 1, a.g + 2, (n - 3) * sizeof(float));
    CPU.ops->copy(CPU.ctx, y.c + 1, a.c + 2, (n - 3) * sizeof(float));
    o->copy(GPU.ctx, y.g, a.g, sizeof(float));
    CPU.ops->copy(CPU.ctx, y.c, a.c, sizeof(float));
    o->copy(GPU.ctx, y.g + n - 2, a.g, 2 * sizeof(float));
    CPU.ops->copy(CPU.ctx, y.c + n - 2, a.c, 2 * sizeof(float));
    compare("copy", "offsets", &y, NULL, 0, 0);
    size_t fills[] = {1, 7, n};
    for (int k = 0; k < 3; k++) {
        o->fill(GPU.ctx, y.g, fills[k], -1.25f);
        CPU.ops->fill(CPU.ctx, y.c, fills[k], -1.25f);
        compare("fill", fills[k] == n ? "whole" : "prefix", &y, NULL, 0, 0);
    }
    o->axpy(GPU.ctx, n, 0.37f, a.g, bb.g);
    CPU.ops->axpy(CPU.ctx, n, 0.37f, a.c, bb.c);
    compare("axpy", "y += 0.37 x", &bb, NULL, TOL_EXACT);
    o->add(GPU.ctx, n, a.g, bb.g, y.g);
    CPU.ops->add(CPU.ctx, n, a.c, bb.c, y.c);
    compare("add", "y = a + b", &y, NULL, TOL_EXACT);
    o->add(GPU.ctx, n - 1, y.g, a.g, y.g);
    CPU.ops->add(CPU.ctx, n - 1, y.c, a.c, y.c);
    compare("add", "in place, n-1", &y, NULL, TOL_EXACT);
    /* sumsq: one value per size, against the CPU's (both in double; orders differ) and repeatable */
    size_t sq[] = {0, 1, 255, 257, 70000, n - 1};
    for (int k = 0; k < 6; k++) {
        double g = o->sumsq(GPU.ctx, sq[k], a.g + 1), c = CPU.ops->sumsq(CPU.ctx, sq[k], a.c + 1);
        double g2 = o->sumsq(GPU.ctx, sq[k], a.g + 1);
        CHECK_MSG(fabs(g - c) <= 1e-12 * c + (sq[k] ? 0 : 1e-300),
                  "sumsq of %zu values: GPU %.17g, CPU %.17g", sq[k], g, c);
        CHECK_MSG(g == g2, "sumsq of %zu values repeats: %.17g then %.17g", sq[k], g, g2);
        CHECK_MSG(sq[k] || g == 0, "sumsq of nothing is 0 (got %g)", g);
    }
    o->sync(GPU.ctx);
    free(h);
    FREE_BUFS(&a, &bb, &y);

    /* lookup_u8: 3 photos of 3 channels of 37 x 41 bytes (every value) through a table */
    {
        enum { LN = 3, LC = 3, LHW = 37 * 41 };
        const size_t ln = (size_t)LN * LC * LHW;
        uint8_t *px = xmalloc(ln);
        for (size_t i = 0; i < ln; i++) px[i] = (uint8_t)(i < 256 ? i : wn_rng_below(&R, 256));
        uint8_t *xc = balloc(&CPU, ln), *xg = balloc(&GPU, ln);
        put(&CPU, xc, px, ln);
        put(&GPU, xg, px, ln);
        buf t = b_rand((size_t)LC * 256, -3, 3), ly = b_poison(ln);
        o->lookup_u8(GPU.ctx, LN, LC, LHW, xg, t.g, ly.g);
        CPU.ops->lookup_u8(CPU.ctx, LN, LC, LHW, xc, t.c, ly.c);
        compare_exact("lookup_u8", "3 x 3 x 37 x 41 bytes", &ly);
        o->free(GPU.ctx, xg);
        CPU.ops->free(CPU.ctx, xc);
        free(px);
        FREE_BUFS(&t, &ly);
    }
}

/* ---------------------------------------------------------------- feeding */

/* host_alloc/host_free, upload_async and upload_fence on both backends: the data arrives, the
 * copy waits for an earlier op that still reads its destination, copies run in order, the host
 * buffer may be rewritten after the fence without changing what arrived, ops after the fence
 * see the data, and sync implies a fence. */
static void put_async(wn_backend *b, void *dst, const void *src, size_t bytes) {
    wn_err e = {0};
    if (b->ops->upload_async(b->ctx, dst, src, bytes, &e) != WN_OK) {
        fprintf(stderr, "upload_async to %s failed: %s\n", b->ops->name, e.msg);
        exit(1);
    }
}

static void fence(wn_backend *b) {
    wn_err e = {0};
    int rc = b->ops->upload_fence(b->ctx, &e);
    CHECK_MSG(rc == WN_OK, "%s upload_fence: %s", b->ops->name, e.msg);
}

static void test_feeding(void) {
    const size_t n = 65537;
    wn_backend *be[2] = {&CPU, &GPU};
    float *h[2][2];
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 2; j++) {
            h[i][j] = be[i]->ops->host_alloc(be[i]->ctx, n * sizeof(float)); // (n)
            CHECK_MSG(h[i][j] != NULL, "%s host_alloc of %zu floats", be[i]->ops->name, n);
        }
    void *z = GPU.ops->host_alloc(GPU.ctx, 0);
    CHECK_MSG(z != NULL, "host_alloc(0) gives a valid pointer");
    GPU.ops->host_free(GPU.ctx, z);
    GPU.ops->host_free(GPU.ctx, NULL);
    CHECK_MSG(GPU.ops->host_alloc(GPU.ctx, (size_t)1 << 60) == NULL,
              "host_alloc of 2^60 bytes returns NULL");
    buf a = b_rand(n, -2, 2), y = b_rand(n, -1, 1), old = b_poison(n), d = b_poison(n);
    float *v0 = xmalloc(n * sizeof(float)), *v1 = xmalloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++) {
        v0[i] = 0.25f + wn_rng_uniform(&R);
        v1[i] = -0.5f - wn_rng_uniform(&R);
    }
    for (int i = 0; i < 2; i++) {
        wn_backend *b = be[i];
        float *yb = i ? y.g : y.c, *ob = i ? old.g : old.c, *ab = i ? a.g : a.c, *db = i ? d.g : d.c;
        memcpy(h[i][0], v0, n * sizeof(float));
        memcpy(h[i][1], v1, n * sizeof(float));
        /* an op queued before the upload still reads the destination: it sees the old y */
        b->ops->copy(b->ctx, ob, yb, n * sizeof(float));
        put_async(b, yb, h[i][0], n * sizeof(float));
        /* two copies into one destination arrive in order: d ends up v1 */
        put_async(b, db, h[i][0], n * sizeof(float));
        put_async(b, db, h[i][1], n * sizeof(float));
        fence(b);
        fence(b); /* a second fence has nothing to wait for */
        /* after the fence the host buffers are free again: rewriting them changes nothing */
        memset(h[i][0], 0xFF, n * sizeof(float));
        memset(h[i][1], 0xFF, n * sizeof(float));
        b->ops->axpy(b->ctx, n, 0.5f, yb, ab); /* an op after the fence sees the upload */
    }
    compare_exact("upload_async", "earlier op reads old data", &old);
    compare_exact("upload_async", "arrived (ops after fence)", &y);
    compare_exact("upload_async", "two copies, in order", &d);
    compare("upload_async", "axpy after the fence", &a, NULL, TOL_EXACT);
    float *back = xmalloc(n * sizeof(float));
    get(&GPU, back, y.g, n * sizeof(float));
    CHECK_MSG(!memcmp(back, v0, n * sizeof(float)), "upload_async: the GPU holds the host data");
    /* sync implies a fence; a partial upload at an offset */
    memcpy(h[1][0], v1, n * sizeof(float));
    put_async(&GPU, y.g + 3, h[1][0] + 1, (n - 5) * sizeof(float));
    GPU.ops->sync(GPU.ctx);
    memset(h[1][0], 0, n * sizeof(float));
    get(&GPU, back, y.g, n * sizeof(float));
    CHECK_MSG(!memcmp(back + 3, v1 + 1, (n - 5) * sizeof(float)) && !memcmp(back, v0, 3 * sizeof(float)),
              "upload_async at an offset, completed by sync");
    wn_err e = {0};
    CHECK_MSG(GPU.ops->upload_async(GPU.ctx, y.g, h[1][0], 0, &e) == WN_OK, "an empty upload_async");
    fence(&GPU);
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 2; j++) be[i]->ops->host_free(be[i]->ctx, h[i][j]);
    free(v0);
    free(v1);
    free(back);
    FREE_BUFS(&a, &y, &old, &d);
}

/* A failing upload returns a status with a message (run last: the context may be unusable). */
static void test_bad_upload(void) {
    float h[4] = {1, 2, 3, 4};
    wn_err e = {0};
    int rc = GPU.ops->upload(GPU.ctx, NULL, h, sizeof h, &e);
    printf("upload to NULL: rc %d, \"%s\"\n", rc, e.msg);
    CHECK(rc == WN_ERUNTIME);
    CHECK(strstr(e.msg, "upload") != NULL);
    float *p = GPU.ops->host_alloc(GPU.ctx, sizeof h);
    CHECK(p != NULL);
    memcpy(p, h, sizeof h);
    wn_err ea = {0};
    rc = GPU.ops->upload_async(GPU.ctx, NULL, p, sizeof h, &ea);
    printf("upload_async to NULL: rc %d, \"%s\"\n", rc, ea.msg);
    CHECK(rc == WN_ERUNTIME);
    CHECK(strstr(ea.msg, "asynchronous upload") != NULL);
    GPU.ops->host_free(GPU.ctx, p);
}

/* ---------------------------------------------------------------- convolution */

/* s: n c h w oc kh kw sh sw ph pw */
static void conv_case(const int s[11]) {
    wn_conv_desc d = {.n = s[0], .c = s[1], .h = s[2], .w = s[3], .oc = s[4], .kh = s[5],
                      .kw = s[6], .sh = s[7], .sw = s[8], .ph = s[9], .pw = s[10]};
    d.oh = (d.h + 2 * d.ph - d.kh) / d.sh + 1;
    d.ow = (d.w + 2 * d.pw - d.kw) / d.sw + 1;
    char tag[96];
    snprintf(tag, sizeof tag, "%dx%dx%dx%d k%dx%d s%dx%d p%dx%d oc%d", d.n, d.c, d.h, d.w, d.kh,
             d.kw, d.sh, d.sw, d.ph, d.pw, d.oc);
    const size_t nx = (size_t)d.n * d.c * d.h * d.w, nw = (size_t)d.oc * d.c * d.kh * d.kw,
                 ny = (size_t)d.n * d.oc * d.oh * d.ow;
    const int xd[4] = {d.n, d.c, d.h, d.w}, wd[4] = {d.oc, d.c, d.kh, d.kw},
              yd[4] = {d.n, d.oc, d.oh, d.ow}, bd[4] = {1, 1, 1, d.oc};
    buf x = a_rand(nx, -1, 1), w = b_rand(nw, -0.5f, 0.5f), b = b_rand((size_t)d.oc, -1, 1);
    cpu_side_bf16(&x);
    cpu_side_bf16(&w);
    for (int bias = 0; bias < 2; bias++) {
        buf y = a_poison(ny);
        CPU.ops->conv_forward(CPU.ctx, &d, x.c, w.c, bias ? b.c : NULL, y.c);
        GPU.ops->conv_forward(GPU.ctx, &d, x.g, w.g, bias ? b.g : NULL, y.g);
        compare(bias ? "conv_forward (bias)" : "conv_forward", tag, &y, yd, CONV_A, CONV_R);
        b_free(&y);
    }
    buf dy = a_rand(ny, -1, 1);
    cpu_side_bf16(&dy);
    buf dx = a_poison(nx), dw = b_poison(nw), db = b_poison((size_t)d.oc);
    CPU.ops->conv_backward(CPU.ctx, &d, x.c, w.c, dy.c, dx.c, dw.c, db.c);
    GPU.ops->conv_backward(GPU.ctx, &d, x.g, w.g, dy.g, dx.g, dw.g, db.g);
    compare("conv_backward dx", tag, &dx, xd, CONV_A, CONV_R);
    compare("conv_backward dw", tag, &dw, wd, CONV_A, CONV_R);
    compare("conv_backward db", tag, &db, bd, BIAS_A, BIAS_R);
    /* NULL gradients: only dw; only dx (the untouched ones keep their poison on both sides) */
    buf dw2 = b_poison(nw), dx2 = a_poison(nx);
    CPU.ops->conv_backward(CPU.ctx, &d, x.c, w.c, dy.c, NULL, dw2.c, NULL);
    GPU.ops->conv_backward(GPU.ctx, &d, x.g, w.g, dy.g, NULL, dw2.g, NULL);
    compare("conv_backward dw only", tag, &dw2, wd, CONV_A, CONV_R);
    CPU.ops->conv_backward(CPU.ctx, &d, x.c, w.c, dy.c, dx2.c, NULL, NULL);
    GPU.ops->conv_backward(GPU.ctx, &d, x.g, w.g, dy.g, dx2.g, NULL, NULL);
    compare("conv_backward dx only", tag, &dx2, xd, CONV_A, CONV_R);
    FREE_BUFS(&dw2, &dx2, &x, &w, &b, &dy, &dx, &dw, &db);
}

static void test_conv(int full) {
    static const int cases[][11] = {
        /* n  c   h   w  oc kh kw sh sw ph pw */
        {1, 3, 7, 9, 5, 3, 3, 1, 1, 1, 1},      /* batch 1, odd sizes, "same" */
        {2, 4, 13, 11, 6, 1, 1, 1, 1, 0, 0},    /* 1x1 */
        {4, 8, 9, 9, 16, 1, 1, 2, 2, 0, 0},     /* 1x1 stride 2 (ResNet downsample) */
        {3, 3, 31, 29, 8, 7, 7, 2, 2, 3, 3},    /* 7x7/2 pad 3 (ResNet stem) */
        {2, 5, 10, 10, 7, 3, 3, 2, 2, 1, 1},    /* 3x3/2 */
        {2, 3, 9, 8, 4, 3, 5, 2, 1, 0, 2},      /* rectangular kernel, mixed stride/pad */
        {2, 3, 35, 35, 8, 11, 11, 4, 4, 2, 2},  /* 11x11/4 (AlexNet conv1) */
        {5, 2, 5, 5, 3, 5, 5, 1, 1, 2, 2},      /* kernel as large as the input */
        {1, 1, 1, 1, 3, 1, 1, 1, 1, 0, 0},      /* 1x1x1x1 */
        {8, 64, 14, 14, 64, 3, 3, 1, 1, 1, 1},  /* enough work for tensor-core algorithms */
        {16, 32, 28, 28, 32, 3, 3, 1, 1, 1, 1}, /* Fashion-MNIST sized */
    };
    int n = (int)(sizeof cases / sizeof *cases);
    for (int i = 0; i < n; i++)
        if (full || i % 3 == 0 || i == n - 2) conv_case(cases[i]);
}

/* ---------------------------------------------------------------- pooling */

/* s: mode n c h w kh kw sh sw ph pw; ties: input from 3 levels incl. 0 */
static void pool_case(const int s[11], int ties) {
    wn_pool_desc d = {.mode = s[0], .n = s[1], .c = s[2], .h = s[3], .w = s[4], .kh = s[5],
                      .kw = s[6], .sh = s[7], .sw = s[8], .ph = s[9], .pw = s[10]};
    d.oh = (d.h + 2 * d.ph - d.kh) / d.sh + 1;
    d.ow = (d.w + 2 * d.pw - d.kw) / d.sw + 1;
    char tag[112];
    snprintf(tag, sizeof tag, "%s %dx%dx%dx%d k%dx%d s%dx%d p%dx%d%s",
             d.mode == WN_POOL_MAX ? "max" : "avg", d.n, d.c, d.h, d.w, d.kh, d.kw, d.sh, d.sw,
             d.ph, d.pw, ties ? " ties" : "");
    const size_t nx = (size_t)d.n * d.c * d.h * d.w, ny = (size_t)d.n * d.c * d.oh * d.ow;
    const int xd[4] = {d.n, d.c, d.h, d.w}, yd[4] = {d.n, d.c, d.oh, d.ow};
    buf x = ties ? a_levels(nx, 3, 0, 0.5f) : a_rand(nx, -1, 1);
    buf y = a_poison(ny), dy = a_rand(ny, -1, 1), dx = a_poison(nx);
    CPU.ops->pool_forward(CPU.ctx, &d, x.c, y.c);
    GPU.ops->pool_forward(GPU.ctx, &d, x.g, y.g);
    compare_st("pool_forward", tag, &y, yd, POOL_A, POOL_R); /* bf16 storage: own kernels */
    CPU.ops->pool_backward(CPU.ctx, &d, x.c, y.c, dy.c, dx.c);
    GPU.ops->pool_backward(GPU.ctx, &d, x.g, y.g, dy.g, dx.g);
    compare_st("pool_backward", tag, &dx, xd, TOL_EXACT);
    FREE_BUFS(&x, &y, &dy, &dx);
}

static void test_pool(void) {
    enum { M = WN_POOL_MAX, A = WN_POOL_AVG };
    static const int cases[][11] = {
        /* mode n c h w kh kw sh sw ph pw */
        {M, 2, 3, 8, 8, 2, 2, 2, 2, 0, 0},      /* 2x2/2 */
        {M, 3, 2, 9, 7, 2, 2, 2, 2, 0, 0},      /* 2x2/2 odd sizes: last row/col unused */
        {M, 2, 4, 15, 15, 3, 3, 2, 2, 1, 1},    /* 3x3/2 pad 1 (ResNet) */
        {M, 1, 3, 27, 27, 3, 3, 2, 2, 0, 0},    /* 3x3/2 (AlexNet), batch 1 */
        {M, 2, 2, 7, 10, 2, 3, 1, 2, 1, 1},     /* rectangular, overlapping */
        {M, 2, 2, 5, 6, 2, 2, 1, 1, 2, 2},      /* pad = window: windows without input cells */
        {A, 2, 3, 8, 8, 2, 2, 2, 2, 0, 0},      /* avg 2x2/2 */
        {A, 2, 3, 9, 11, 3, 3, 1, 1, 1, 1},     /* avg 3x3/1 pad 1: padding counts */
        {A, 2, 5, 7, 7, 7, 7, 7, 7, 0, 0},      /* global average (gap) 7x7 */
        {A, 3, 4, 13, 17, 13, 17, 13, 17, 0, 0}, /* global average, odd */
        {A, 1, 2, 6, 5, 3, 2, 2, 2, 1, 1},      /* avg rectangular with padding */
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        pool_case(cases[i], 0);
        if (cases[i][0] == M) pool_case(cases[i], 1);
    }
}

/* ---------------------------------------------------------------- dense */

static void dense_case(int n, int in, int out) {
    char tag[64];
    snprintf(tag, sizeof tag, "n%d in%d out%d", n, in, out);
    buf x = a_rand((size_t)n * in, -1, 1), w = b_rand((size_t)out * in, -0.5f, 0.5f);
    buf b = b_rand((size_t)out, -1, 1), dy = a_rand((size_t)n * out, -1, 1);
    cpu_side_bf16(&x);
    cpu_side_bf16(&w);
    cpu_side_bf16(&dy);
    const int yd[4] = {1, 1, n, out}, xd[4] = {1, 1, n, in}, wd[4] = {1, 1, out, in};
    for (int bias = 0; bias < 2; bias++) {
        buf y = a_poison((size_t)n * out);
        CPU.ops->dense_forward(CPU.ctx, n, in, out, x.c, w.c, bias ? b.c : NULL, y.c);
        GPU.ops->dense_forward(GPU.ctx, n, in, out, x.g, w.g, bias ? b.g : NULL, y.g);
        compare(bias ? "dense_forward (bias)" : "dense_forward", tag, &y, yd, GEMM_A, GEMM_R);
        b_free(&y);
    }
    buf dx = a_poison((size_t)n * in), dw = b_poison((size_t)out * in), db = b_poison((size_t)out);
    CPU.ops->dense_backward(CPU.ctx, n, in, out, x.c, w.c, dy.c, dx.c, dw.c, db.c);
    GPU.ops->dense_backward(GPU.ctx, n, in, out, x.g, w.g, dy.g, dx.g, dw.g, db.g);
    compare("dense_backward dx", tag, &dx, xd, GEMM_A, GEMM_R);
    compare("dense_backward dw", tag, &dw, wd, GEMM_A, GEMM_R);
    compare("dense_backward db", tag, &db, NULL, BIAS_A, BIAS_R);
    buf dw2 = b_poison((size_t)out * in);
    CPU.ops->dense_backward(CPU.ctx, n, in, out, x.c, w.c, dy.c, NULL, dw2.c, NULL);
    GPU.ops->dense_backward(GPU.ctx, n, in, out, x.g, w.g, dy.g, NULL, dw2.g, NULL);
    compare("dense_backward dw only", tag, &dw2, wd, GEMM_A, GEMM_R);
    FREE_BUFS(&dw2, &x, &w, &b, &dy, &dx, &dw, &db);
}

static void test_dense(void) {
    dense_case(1, 5, 3);
    dense_case(7, 33, 17);
    dense_case(3, 1, 1);
    dense_case(64, 512, 10);
    dense_case(128, 1152, 256);
    dense_case(256, 9216, 64);
}

/* ---------------------------------------------------------------- bf16 rounding */

/* Every element of the GPU side of b equals want (the CPU side is not used). */
static void expect_all(const char *op, const buf *b, float want) {
    float *g = xmalloc(b->n * sizeof(float));
    get(&GPU, g, b->g, b->n * sizeof(float));
    size_t bad = 0, first = 0;
    for (size_t i = 0; i < b->n; i++)
        if (g[i] != want && !bad++) first = i;
    printf("%-5s %-26s %-34s n=%-9zu %s (want %.9g, [%zu] = %.9g)\n", PASS, op, "bf16 ties", b->n,
           bad ? "WRONG" : "exact", (double)want, first, (double)g[first]);
    CHECK_MSG(bad == 0, "%s [%s]: %zu of %zu values are not %.9g (first [%zu] = %.9g)", op, PASS,
              bad, b->n, (double)want, first, (double)g[first]);
    free(g);
}

static buf b_const(size_t n, float v) {
    float *h = xmalloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++) h[i] = v;
    buf b = b_host(h, n);
    free(h);
    return b;
}

/* Values where the rounding decides: x = 1 + 3*2^-9 rounds up to 1 + 2^-7, w = dy = 1 + 2^-8 (a
 * tie) round to even, 1. So with bf16 inputs a 1x1 convolution over 8 channels gives exactly
 * 8 * (1 + 2^-7) (fp32 would give 8.09...), dx exactly 4 (4 filters), dw the bf16 of 18 * x
 * (2 photos of 3x3), and the bias gradient, summed from the fp32 dy, 18 * (1 + 2^-8); a dense
 * layer (3 x 8 -> 2) the same in fp32 output. */
static void test_bf16_ties(void) {
    const float xv = 1 + 3.0f / 512, tie = 1 + 1.0f / 256, xr = 1 + 1.0f / 128;
    CHECK(wn_bf16_round(xv) == xr && wn_bf16_round(tie) == 1.0f);
    wn_conv_desc d = {.n = 2, .c = 8, .h = 3, .w = 3, .oc = 4, .kh = 1, .kw = 1, .sh = 1, .sw = 1,
                      .oh = 3, .ow = 3};
    buf x = b_const(2 * 8 * 9, xv), w = b_const(4 * 8, tie), b = b_const(4, 0.25f);
    buf dy = b_const(2 * 4 * 9, tie), y = b_poison(2 * 4 * 9), dx = b_poison(2 * 8 * 9);
    buf dw = b_poison(4 * 8), db = b_poison(4);
    GPU.ops->conv_forward(GPU.ctx, &d, x.g, w.g, b.g, y.g);
    expect_all("conv_forward (bias)", &y, 8 * xr + 0.25f);
    GPU.ops->conv_backward(GPU.ctx, &d, x.g, w.g, dy.g, dx.g, dw.g, db.g);
    expect_all("conv_backward dx", &dx, 4);
    expect_all("conv_backward dw", &dw, wn_bf16_round(18 * xr));
    expect_all("conv_backward db", &db, 18 * tie);
    FREE_BUFS(&x, &w, &b, &dy, &y, &dx, &dw, &db);
    buf fx = b_const(3 * 8, xv), fw = b_const(2 * 8, tie), fb = b_const(2, 0.25f);
    buf fdy = b_const(3 * 2, tie), fy = b_poison(3 * 2), fdx = b_poison(3 * 8);
    buf fdw = b_poison(2 * 8), fdb = b_poison(2);
    GPU.ops->dense_forward(GPU.ctx, 3, 8, 2, fx.g, fw.g, fb.g, fy.g);
    expect_all("dense_forward (bias)", &fy, 8 * xr + 0.25f);
    GPU.ops->dense_backward(GPU.ctx, 3, 8, 2, fx.g, fw.g, fdy.g, fdx.g, fdw.g, fdb.g);
    expect_all("dense_backward dx", &fdx, 2);
    expect_all("dense_backward dw", &fdw, 3 * xr);
    expect_all("dense_backward db", &fdb, 3 * tie);
    FREE_BUFS(&fx, &fw, &fb, &fdy, &fy, &fdx, &fdw, &fdb);
}

/* ---------------------------------------------------------------- bf16 activation storage */

/* act_bf16 says 1 exactly on a context with bf16 math and bf16 storage (the bf16 storage passes),
 * 0 on the others (fp32 and tf32 contexts keep opts.bf16_store at its default, 1); the CPU
 * always says 0. */
static void check_act_bf16(void) {
    const int want = BF16 && LP, got = GPU.ops->act_bf16(GPU.ctx);
    printf("%-5s %-26s %d (opts.bf16 %d, opts.bf16_store %d)\n", PASS, "act_bf16", got, BF16,
           BF16 ? LP : 1);
    CHECK_MSG(got == want, "act_bf16 [%s] is %d, want %d", PASS, got, want);
    CHECK_MSG(CPU.ops->act_bf16(CPU.ctx) == 0, "the CPU's act_bf16 is 0");
}

/* alloc_bf16: NULL on the CPU (no bf16 storage); on the GPU zero-filled memory of count 2-byte
 * values (counts 1, 3, 4097, 2^20 + 5, twice each, dirtied in between so that reused memory
 * would show), NULL for 2^59 values (2^60 bytes), and freed by free. */
static void test_alloc_bf16(void) {
    CHECK_MSG(CPU.ops->alloc_bf16(CPU.ctx, 16) == NULL, "the CPU's alloc_bf16 returns NULL");
    CHECK_MSG(CPU.ops->alloc_bf16(CPU.ctx, 0) == NULL, "the CPU's alloc_bf16(0) returns NULL");
    const size_t counts[] = {1, 3, 4097, (1u << 20) + 5};
    for (size_t k = 0; k < sizeof counts / sizeof *counts; k++)
        for (int rep = 0; rep < 2; rep++) {
            const size_t bytes = 2 * counts[k];
            unsigned char *p = GPU.ops->alloc_bf16(GPU.ctx, counts[k]); // (count) bf16
            CHECK_MSG(p != NULL, "alloc_bf16(%zu)", counts[k]);
            if (!p) continue;
            unsigned char *h = xmalloc(bytes);
            memset(h, 0x5A, bytes);
            get(&GPU, h, p, bytes);
            size_t nz = 0;
            for (size_t i = 0; i < bytes; i++) nz += h[i] != 0;
            CHECK_MSG(nz == 0, "alloc_bf16(%zu): %zu of %zu bytes not zero", counts[k], nz, bytes);
            memset(h, 0xAB, bytes);
            put(&GPU, p, h, bytes);
            GPU.ops->free(GPU.ctx, p);
            free(h);
        }
    CHECK_MSG(GPU.ops->alloc_bf16(GPU.ctx, (size_t)1 << 59) == NULL,
              "alloc_bf16 of 2^59 values returns NULL");
    printf("%-5s %-26s zero-filled, 2^59 values give NULL, the CPU's NULL\n", PASS, "alloc_bf16");
}

/* The fp32 test values of cast: every rounding case of wn_bf16_from_float, then random bit
 * patterns (all exponents, NaNs and infinities among them); v (n), n > 40. */
static void cast_values(float *v, size_t n) {
    static const uint32_t special[] = {
        0x3f808000u, /* 1 + 2^-8: a tie, to even 1 */
        0x3f80c000u, /* 1 + 3*2^-9: rounds up to 1 + 2^-7 */
        0x3f818000u, /* 1 + 3*2^-8: a tie, to even 1 + 2^-6 */
        0x3f808001u, /* just above a tie: up */
        0x3f807fffu, /* just below a tie: down */
        0xbf808000u, /* -(1 + 2^-8): a tie, to even -1 */
        0xbf80c000u, /* -(1 + 3*2^-9): away from zero, -(1 + 2^-7) */
        0x3f800000u, /* 1 */
        0x00000000u, /* +0 */
        0x80000000u, /* -0 */
        0x00000001u, /* the smallest subnormal: 0 */
        0x00008000u, /* a subnormal tie: to even 0 */
        0x00018000u, /* a subnormal tie: to even 2^-132 */
        0x007fffffu, /* the largest subnormal: up to 2^-126 */
        0x00800000u, /* 2^-126 */
        0x7f7fffffu, /* FLT_MAX: overflows to +inf */
        0x7f7f7fffu, /* below the last bf16 tie: the largest bf16 */
        0x7f7f8000u, /* the tie above the largest bf16: to even, +inf */
        0xff7fffffu, /* -FLT_MAX: -inf */
        0x7f800000u, /* +inf */
        0xff800000u, /* -inf */
        0x7fc00000u, /* quiet NaN */
        0xffc00000u, /* negative quiet NaN */
        0x7f800001u, /* signalling NaN with a low payload: stays NaN (quiet) */
        0xff800001u, /* negative signalling NaN */
        0x7fbfffffu, /* signalling NaN with every payload bit: not rounded into inf */
        0x7fffffffu, /* NaN with every bit */
        0x3eaaaaabu, /* 1/3 */
        0x40490fdbu, /* pi */
        0xc2c80000u, /* -100 */
        0x4b800001u, /* 2^24 + 2: down */
        0x477fffffu, /* just below 2^16: up to 2^16 */
    };
    const size_t ns = sizeof special / sizeof *special;
    for (size_t i = 0; i < n; i++) {
        uint32_t u = i < ns ? special[i] : wn_rng_u32(&R);
        memcpy(&v[i], &u, sizeof u);
    }
}

/* cast between the storage types on the GPU, at odd offsets (pointer plus k elements of each
 * one's type), against the host definitions bit for bit: fp32 to bf16 is wn_bf16_from_float
 * (nearest, ties to even; NaN quiet; overflow to inf), bf16 to fp32 widens every one of the 65536
 * bf16 values exactly, bf16 to bf16 and fp32 to fp32 copy; the elements outside the range keep
 * their zeros. On the CPU cast copies fp32. */
static void test_cast(void) {
    enum { NF = 1 << 18, NB = 1 << 16 };
    float *v = xmalloc(NF * sizeof(float)), *f = xmalloc(NF * sizeof(float));
    uint16_t *hy = xmalloc(NF * sizeof(uint16_t)), *hb = xmalloc(NB * sizeof(uint16_t));
    uint16_t *hz = xmalloc(NF * sizeof(uint16_t));
    cast_values(v, NF);
    float *xf = balloc(&GPU, NF * sizeof(float));  // (NF) fp32: v
    float *wf = balloc(&GPU, NF * sizeof(float));  // (NF) fp32
    float *yb = GPU.ops->alloc_bf16(GPU.ctx, NF); // (NF) bf16
    float *zb = GPU.ops->alloc_bf16(GPU.ctx, NF); // (NF) bf16
    CHECK(yb && zb);
    if (!yb || !zb) exit(1);
    put(&GPU, xf, v, NF * sizeof(float));
    /* fp32 -> bf16: y[1 + i] = bf16 of v[3 + i] for i < NF - 4; y[0], y[NF - 3..] stay 0 */
    GPU.ops->cast(GPU.ctx, NF - 4, xf + 3, (float *)((uint16_t *)yb + 1));
    get(&GPU, hy, yb, NF * sizeof(uint16_t));
    size_t bad = 0, first = 0;
    uint32_t in = 0;
    uint16_t want = 0;
    for (size_t i = 0; i < NF; i++) {
        uint16_t w = i >= 1 && i < NF - 3 ? wn_bf16_from_float(v[i + 2]) : 0;
        if (hy[i] != w && !bad++) {
            first = i;
            want = w;
            in = i >= 1 && i < NF - 3 ? wn_float_bits(v[i + 2]) : 0;
        }
    }
    printf("%-5s %-26s %-34s n=%-9d %s\n", PASS, "cast", "fp32 -> bf16, offsets 3 -> 1", NF - 4,
           bad ? "WRONG" : "bit-identical to wn_bf16_from_float");
    CHECK_MSG(bad == 0, "cast fp32 -> bf16: %zu of %d wrong, first [%zu] = %#06x for %#010x, "
              "want %#06x", bad, NF, first, hy[first], in, want);
    /* bf16 -> fp32 of every bf16 value b[i] = i (NB) put at z + 5: w[2 + i] = float of b[i] */
    for (size_t i = 0; i < NB; i++) hb[i] = (uint16_t)i;
    put(&GPU, (uint16_t *)zb + 5, hb, NB * sizeof(uint16_t));
    GPU.ops->cast(GPU.ctx, NB, (float *)((uint16_t *)zb + 5), wf + 2);
    get(&GPU, f, wf, (NB + 4) * sizeof(float));
    bad = 0;
    for (size_t i = 0; i < NB + 4; i++) {
        uint32_t w = i >= 2 && i < NB + 2 ? (uint32_t)(i - 2) << 16 : 0;
        if (wn_float_bits(f[i]) != w && !bad++) first = i;
    }
    printf("%-5s %-26s %-34s n=%-9d %s\n", PASS, "cast", "bf16 -> fp32, every value, 5 -> 2", NB,
           bad ? "WRONG" : "exact");
    CHECK_MSG(bad == 0, "cast bf16 -> fp32: %zu of %d wrong, first [%zu] = %#010x", bad, NB, first,
              wn_float_bits(f[first]));
    /* bf16 -> bf16: z[7 + i] = y[2 + i] for i < NF - 9; z's last two stay 0 */
    GPU.ops->cast(GPU.ctx, NF - 9, (float *)((uint16_t *)yb + 2), (float *)((uint16_t *)zb + 7));
    get(&GPU, hz, zb, NF * sizeof(uint16_t));
    int ok_b = !memcmp(hz + 7, hy + 2, (NF - 9) * sizeof(uint16_t)) && !hz[NF - 2] && !hz[NF - 1];
    /* fp32 -> fp32: w[1 + i] = x[4 + i] for i < NF - 6 */
    GPU.ops->cast(GPU.ctx, NF - 6, xf + 4, wf + 1);
    get(&GPU, f, wf, NF * sizeof(float));
    int ok_f = !memcmp(f + 1, v + 4, (NF - 6) * sizeof(float));
    printf("%-5s %-26s %-34s %s, %s\n", PASS, "cast", "same type, at offsets",
           ok_b ? "bf16 -> bf16 copies" : "bf16 -> bf16 WRONG",
           ok_f ? "fp32 -> fp32 copies" : "fp32 -> fp32 WRONG");
    CHECK_MSG(ok_b, "cast bf16 -> bf16 copies the bits");
    CHECK_MSG(ok_f, "cast fp32 -> fp32 copies the bits");
    /* the CPU: a copy of fp32 values, NaNs and all: c[2 + i] = v[1 + i] for i < NF - 3 */
    float *cx = balloc(&CPU, NF * sizeof(float)), *cy = balloc(&CPU, NF * sizeof(float));
    put(&CPU, cx, v, NF * sizeof(float));
    CPU.ops->cast(CPU.ctx, NF - 3, cx + 1, cy + 2);
    get(&CPU, f, cy, NF * sizeof(float));
    CHECK_MSG(!memcmp(f + 2, v + 1, (NF - 3) * sizeof(float)) && !wn_float_bits(f[0]) &&
                  !wn_float_bits(f[NF - 1]),
              "the CPU's cast copies fp32");
    GPU.ops->free(GPU.ctx, xf);
    GPU.ops->free(GPU.ctx, wf);
    GPU.ops->free(GPU.ctx, yb);
    GPU.ops->free(GPU.ctx, zb);
    CPU.ops->free(CPU.ctx, cx);
    CPU.ops->free(CPU.ctx, cy);
    free(v);
    free(f);
    free(hy);
    free(hb);
    free(hz);
}

/* add, axpy and copy on activation buffers (bf16 storage in the bf16 storage passes), at
 * offsets counted in elements of the storage type (g_at), in place too; then a freed bf16 region
 * is fp32 memory again: fp32 buffers of the same sizes made after it compute as fp32. */
static void test_elem_st(void) {
    const size_t n = 100003;
    buf a = a_rand(n, -2, 2), b = a_rand(n, -2, 2), y = a_poison(n);
    CPU.ops->add(CPU.ctx, n, a.c, b.c, y.c);
    GPU.ops->add(GPU.ctx, n, a.g, b.g, y.g);
    compare_st("add", "y = a + b", &y, NULL, TOL_EXACT);
    CPU.ops->add(CPU.ctx, n - 3, a.c + 1, b.c + 2, y.c + 3);
    GPU.ops->add(GPU.ctx, n - 3, g_at(&a, 1), g_at(&b, 2), g_at(&y, 3));
    compare_st("add", "offsets 1, 2 -> 3", &y, NULL, TOL_EXACT);
    cpu_side_stored(&y); /* y is read next */
    CPU.ops->add(CPU.ctx, n - 1, y.c, a.c, y.c);
    GPU.ops->add(GPU.ctx, n - 1, y.g, a.g, y.g);
    compare_st("add", "in place, n-1", &y, NULL, TOL_EXACT);
    CPU.ops->axpy(CPU.ctx, n, 0.37f, a.c, b.c);
    GPU.ops->axpy(GPU.ctx, n, 0.37f, a.g, b.g);
    compare_st("axpy", "y += 0.37 x", &b, NULL, TOL_EXACT);
    cpu_side_stored(&b); /* b is read next */
    CPU.ops->axpy(CPU.ctx, n - 7, -1.5f, a.c + 7, b.c + 2);
    GPU.ops->axpy(GPU.ctx, n - 7, -1.5f, g_at(&a, 7), g_at(&b, 2));
    compare_st("axpy", "offsets 7 -> 2, y += -1.5 x", &b, NULL, TOL_EXACT);
    /* copy takes bytes: n - 5 elements of the storage type, from a + 4 to y + 1 */
    const size_t es = a.lp ? sizeof(uint16_t) : sizeof(float);
    CPU.ops->copy(CPU.ctx, y.c + 1, a.c + 4, (n - 5) * sizeof(float));
    GPU.ops->copy(GPU.ctx, g_at(&y, 1), g_at(&a, 4), (n - 5) * es);
    compare_exact("copy", "offsets 4 -> 1", &y);
    const uintptr_t old[3] = {(uintptr_t)a.g, (uintptr_t)b.g, (uintptr_t)y.g};
    FREE_BUFS(&a, &b, &y);
    buf fa = b_rand(n, -2, 2), fb = b_rand(n, -2, 2), fy = b_poison(n);
    int reused = 0;
    for (int i = 0; i < 3; i++)
        reused |= (uintptr_t)fa.g == old[i] || (uintptr_t)fb.g == old[i] ||
                  (uintptr_t)fy.g == old[i];
    CPU.ops->add(CPU.ctx, n, fa.c, fb.c, fy.c);
    GPU.ops->add(GPU.ctx, n, fa.g, fb.g, fy.g);
    compare("add", reused ? "fp32 after free (address reused)" : "fp32 after free", &fy, NULL,
            TOL_EXACT);
    FREE_BUFS(&fa, &fb, &fy);
}

/* ---------------------------------------------------------------- activations, dropout */

static void test_act(void) {
    const size_t n = 300007;
    for (int kind = 0; kind < 2; kind++) {
        const char *name = kind == WN_ACT_RELU ? "relu" : "leaky 0.1";
        float alpha = kind == WN_ACT_RELU ? 0 : 0.1f;
        buf x = a_levels(n, 9, -1, 0.25f); /* includes exact zeros: the kink */
        buf y = a_poison(n), dy = a_rand(n, -1, 1), dx = a_poison(n);
        CPU.ops->act_forward(CPU.ctx, kind, alpha, n, x.c, y.c);
        GPU.ops->act_forward(GPU.ctx, kind, alpha, n, x.g, y.g);
        compare_st("act_forward", name, &y, NULL, TOL_EXACT);
        CPU.ops->act_backward(CPU.ctx, kind, alpha, n, x.c, dy.c, dx.c);
        GPU.ops->act_backward(GPU.ctx, kind, alpha, n, x.g, dy.g, dx.g);
        compare_st("act_backward", name, &dx, NULL, TOL_EXACT);
        CPU.ops->act_forward(CPU.ctx, kind, alpha, n, x.c, x.c);
        GPU.ops->act_forward(GPU.ctx, kind, alpha, n, x.g, x.g);
        compare_st("act_forward in place", name, &x, NULL, TOL_EXACT);
        FREE_BUFS(&x, &y, &dy, &dx);
    }
}

static void test_dropout(void) {
    const size_t n = 1000003;
    const float rates[] = {0.0f, 0.1f, 0.5f, 0.9f, 1.0f};
    for (int r = 0; r < 5; r++) {
        char tag[64];
        snprintf(tag, sizeof tag, "rate %.1f", rates[r]);
        uint64_t seed = 0x1234567890ABCDEFull * (uint64_t)(r + 1);
        /* x, y, dy, dx, y2 activations (in bf16 storage compared with the CPU's value rounded
         * to bf16, bit for bit); the mask m fp32, bit-identical in every pass */
        buf x = a_rand(n, -1, 1), y = a_poison(n), m = b_poison(n), dy = a_rand(n, -1, 1),
            dx = a_poison(n), y2 = a_poison(n);
        CPU.ops->dropout_forward(CPU.ctx, n, rates[r], seed, x.c, y.c, m.c);
        GPU.ops->dropout_forward(GPU.ctx, n, rates[r], seed, x.g, y.g, m.g);
        compare_exact("dropout_forward mask", tag, &m);
        compare_exact("dropout_forward y", tag, &y);
        CPU.ops->dropout_forward(CPU.ctx, n, rates[r], seed, x.c, y2.c, NULL);
        GPU.ops->dropout_forward(GPU.ctx, n, rates[r], seed, x.g, y2.g, NULL);
        compare_exact("dropout_forward y, no mask", tag, &y2);
        CPU.ops->dropout_backward(CPU.ctx, n, m.c, dy.c, dx.c);
        GPU.ops->dropout_backward(GPU.ctx, n, m.g, dy.g, dx.g);
        compare_exact("dropout_backward", tag, &dx);
        FREE_BUFS(&x, &y, &m, &dy, &dx, &y2);
    }
}

/* ---------------------------------------------------------------- batch normalisation */

static void bn_case(int n, int c, int hw, float offset, int affine) {
    char tag[80];
    snprintf(tag, sizeof tag, "n%d c%d hw%d mean~%g%s", n, c, hw, offset, affine ? "" : " no affine");
    const size_t nx = (size_t)n * c * hw;
    const int xd[4] = {n, c, 1, hw};
    buf x = a_rand(nx, offset - 1.5f, offset + 2.5f);
    buf gamma = b_rand((size_t)c, 0.5f, 1.5f), beta = b_rand((size_t)c, -1, 1);
    buf rm = b_rand((size_t)c, -1, 1), rv = b_rand((size_t)c, 0.5f, 2);
    buf y = a_poison(nx), sm = b_poison((size_t)c), si = b_poison((size_t)c);
    const float *gc = affine ? gamma.c : NULL, *gg = affine ? gamma.g : NULL;
    const float *bc = affine ? beta.c : NULL, *bg = affine ? beta.g : NULL;
    CPU.ops->bn_forward_train(CPU.ctx, n, c, hw, x.c, gc, bc, 0.1f, 1e-5f, rm.c, rv.c, sm.c, si.c, y.c);
    GPU.ops->bn_forward_train(GPU.ctx, n, c, hw, x.g, gg, bg, 0.1f, 1e-5f, rm.g, rv.g, sm.g, si.g, y.g);
    compare("bn_forward_train y", tag, &y, xd, TOL_STATS);
    compare("bn_forward_train save_mean", tag, &sm, NULL, TOL_STATS);
    compare("bn_forward_train save_invstd", tag, &si, NULL, TOL_STATS);
    compare("bn_forward_train run_mean", tag, &rm, NULL, TOL_STATS);
    compare("bn_forward_train run_var", tag, &rv, NULL, TOL_STATS);
    buf ye = a_poison(nx);
    CPU.ops->bn_forward_eval(CPU.ctx, n, c, hw, x.c, gc, bc, rm.c, rv.c, 1e-5f, ye.c);
    GPU.ops->bn_forward_eval(GPU.ctx, n, c, hw, x.g, gg, bg, rm.g, rv.g, 1e-5f, ye.g);
    compare("bn_forward_eval", tag, &ye, xd, TOL_STATS);
    buf dy = a_rand(nx, -1, 1), dx = a_poison(nx), dg = b_poison((size_t)c), dbt = b_poison((size_t)c);
    CPU.ops->bn_backward(CPU.ctx, n, c, hw, x.c, gc, sm.c, si.c, dy.c, dx.c, dg.c, dbt.c);
    GPU.ops->bn_backward(GPU.ctx, n, c, hw, x.g, gg, sm.g, si.g, dy.g, dx.g, dg.g, dbt.g);
    compare("bn_backward dx", tag, &dx, xd, TOL_STATS);
    compare("bn_backward dgamma", tag, &dg, NULL, TOL_STATS);
    compare("bn_backward dbeta", tag, &dbt, NULL, TOL_STATS);
    buf dx2 = a_poison(nx), dg2 = b_poison((size_t)c);
    CPU.ops->bn_backward(CPU.ctx, n, c, hw, x.c, gc, sm.c, si.c, dy.c, dx2.c, NULL, NULL);
    GPU.ops->bn_backward(GPU.ctx, n, c, hw, x.g, gg, sm.g, si.g, dy.g, dx2.g, NULL, NULL);
    compare("bn_backward dx only", tag, &dx2, xd, TOL_STATS);
    CPU.ops->bn_backward(CPU.ctx, n, c, hw, x.c, gc, sm.c, si.c, dy.c, NULL, dg2.c, NULL);
    GPU.ops->bn_backward(GPU.ctx, n, c, hw, x.g, gg, sm.g, si.g, dy.g, NULL, dg2.g, NULL);
    compare("bn_backward dgamma only", tag, &dg2, NULL, TOL_STATS);
    FREE_BUFS(&x, &gamma, &beta, &rm, &rv, &y, &sm, &si, &ye, &dy, &dx, &dg, &dbt, &dx2, &dg2);
}

static void test_bn(void) {
    bn_case(1, 3, 1, 0, 1);        /* one value per channel: variance 0, unbiased = biased */
    bn_case(2, 5, 7, 0, 1);
    bn_case(3, 7, 1, 0.5f, 0);     /* hw 1, no gamma/beta */
    bn_case(4, 16, 49, 0, 1);
    bn_case(2, 3, 5000, 100, 1);   /* mean far from zero */
    bn_case(8, 64, 3136, 0.3f, 1); /* many chunks per channel */
}

/* ---------------------------------------------------------------- losses */

typedef struct ibuf {
    int32_t *c, *g;
} ibuf;

static ibuf labels_for(int n, int k) {
    int32_t *h = xmalloc((size_t)n * sizeof(int32_t));
    for (int i = 0; i < n; i++) h[i] = (int32_t)wn_rng_below(&R, (uint32_t)k);
    ibuf l = {balloc(&CPU, (size_t)n * 4), balloc(&GPU, (size_t)n * 4)};
    put(&CPU, l.c, h, (size_t)n * 4);
    put(&GPU, l.g, h, (size_t)n * 4);
    free(h);
    return l;
}

static void ibuf_free(ibuf *l) {
    CPU.ops->free(CPU.ctx, l->c);
    GPU.ops->free(GPU.ctx, l->g);
}

static void check_loss(const char *op, const char *tag, double lc, double lg) {
    double d = fabs(lc - lg), tol = 1e-9 * fabs(lc) + 1e-12;
    printf("%-5s %-26s %-34s loss cpu %.12g gpu %.12g |d| %.3g%s\n", PASS, op, tag, lc, lg, d,
           d <= tol ? "" : "  FAIL");
    CHECK_MSG(d <= tol, "%s %s: loss %.12g vs %.12g", op, tag, lg, lc);
}

/* focal: gamma >= 0, else softmax cross entropy */
static void loss_case(int n, int k, float scale, int weighted, int offset, float gamma) {
    char tag[96];
    snprintf(tag, sizeof tag, "n%d k%d |z|<%g%s%s", n, k, scale, weighted ? " weights" : "",
             offset ? " offsets" : "");
    if (gamma >= 0) snprintf(tag + strlen(tag), sizeof tag - strlen(tag), " gamma %g", gamma);
    const char *op = gamma >= 0 ? "focal_xent" : "softmax_xent";
    const int pd[4] = {1, 1, n, k};
    buf z = b_rand((size_t)n * k, -scale, scale), w = b_rand((size_t)n, 0.1f, 2);
    buf off = b_rand((size_t)k, -2, 2);
    ibuf l = labels_for(n, k);
    buf p = b_poison((size_t)n * k), g = b_poison((size_t)n * k);
    double lc = NAN, lg = NAN;
    const float *wc = weighted ? w.c : NULL, *wg = weighted ? w.g : NULL;
    const float *oc = offset ? off.c : NULL, *og = offset ? off.g : NULL;
    if (gamma >= 0) {
        CPU.ops->focal_xent(CPU.ctx, n, k, z.c, l.c, wc, oc, gamma, p.c, g.c, &lc);
        GPU.ops->focal_xent(GPU.ctx, n, k, z.g, l.g, wg, og, gamma, p.g, g.g, &lg);
    } else {
        CPU.ops->softmax_xent(CPU.ctx, n, k, z.c, l.c, wc, oc, p.c, g.c, &lc);
        GPU.ops->softmax_xent(GPU.ctx, n, k, z.g, l.g, wg, og, p.g, g.g, &lg);
    }
    check_loss(op, tag, lc, lg);
    char t2[128];
    snprintf(t2, sizeof t2, "%s probs", tag);
    compare(op, t2, &p, pd, TOL_STATS);
    snprintf(t2, sizeof t2, "%s dlogits", tag);
    compare(op, t2, &g, pd, TOL_STATS);
    /* NULL outputs: loss only, then dlogits without probs and without the loss */
    double lc2 = NAN, lg2 = NAN;
    buf g2 = b_poison((size_t)n * k);
    if (gamma >= 0) {
        CPU.ops->focal_xent(CPU.ctx, n, k, z.c, l.c, wc, oc, gamma, NULL, NULL, &lc2);
        GPU.ops->focal_xent(GPU.ctx, n, k, z.g, l.g, wg, og, gamma, NULL, NULL, &lg2);
        CPU.ops->focal_xent(CPU.ctx, n, k, z.c, l.c, wc, oc, gamma, NULL, g2.c, NULL);
        GPU.ops->focal_xent(GPU.ctx, n, k, z.g, l.g, wg, og, gamma, NULL, g2.g, NULL);
    } else {
        CPU.ops->softmax_xent(CPU.ctx, n, k, z.c, l.c, wc, oc, NULL, NULL, &lc2);
        GPU.ops->softmax_xent(GPU.ctx, n, k, z.g, l.g, wg, og, NULL, NULL, &lg2);
        CPU.ops->softmax_xent(CPU.ctx, n, k, z.c, l.c, wc, oc, NULL, g2.c, NULL);
        GPU.ops->softmax_xent(GPU.ctx, n, k, z.g, l.g, wg, og, NULL, g2.g, NULL);
    }
    snprintf(t2, sizeof t2, "%s loss only", tag);
    check_loss(op, t2, lc2, lg2);
    snprintf(t2, sizeof t2, "%s dlogits only", tag);
    compare(op, t2, &g2, pd, TOL_STATS);
    FREE_BUFS(&g2, &z, &w, &off, &p, &g);
    ibuf_free(&l);
}

static void test_losses(void) {
    const int shapes[][2] = {{1, 1}, {3, 2}, {7, 10}, {64, 1000}, {256, 3}, {33, 37}};
    for (int s = 0; s < 6; s++) {
        int n = shapes[s][0], k = shapes[s][1];
        loss_case(n, k, 3, 0, 0, -1);
        loss_case(n, k, 3, 1, 1, -1);
        loss_case(n, k, 3, s & 1, !(s & 1), 2.0f);
    }
    loss_case(16, 5, 80, 1, 0, -1);    /* large logits: no overflow */
    loss_case(16, 5, 80, 0, 1, 2.0f);
    loss_case(40, 4, 4, 1, 1, 0.0f);   /* gamma 0 = cross entropy */
    loss_case(40, 4, 4, 0, 0, 0.5f);
    loss_case(40, 4, 4, 1, 0, 5.0f);
    const int n = 50, k = 9, pd[4] = {1, 1, n, k};
    buf z = b_rand((size_t)n * k, -5, 5), p = b_poison((size_t)n * k);
    CPU.ops->softmax(CPU.ctx, n, k, z.c, p.c);
    GPU.ops->softmax(GPU.ctx, n, k, z.g, p.g);
    compare("softmax", "n50 k9", &p, pd, TOL_STATS);
    b_free(&z);
    b_free(&p);
}

/* ---------------------------------------------------------------- optimizers */

static void test_optim(void) {
    const size_t sizes[] = {1, 1000, (1u << 20) + 3};
    for (int s = 0; s < 3; s++) {
        size_t n = sizes[s];
        for (int variant = 0; variant < 4; variant++) { /* SGD: plain, momentum, nesterov+wd, v NULL */
            char tag[64];
            static const char *names[] = {"momentum 0", "momentum 0.9", "nesterov wd 1e-4",
                                          "no buffer"};
            snprintf(tag, sizeof tag, "n%zu %s", n, names[variant]);
            float mu = variant == 0 || variant == 3 ? 0 : 0.9f, wd = variant == 2 ? 1e-4f : 0;
            buf w = b_rand(n, -1, 1), v = b_rand(n, -0.1f, 0.1f);
            for (int step = 0; step < 3; step++) {
                buf g = b_rand(n, -1, 1);
                CPU.ops->sgd_update(CPU.ctx, n, w.c, g.c, variant == 3 ? NULL : v.c, 0.05f, mu,
                                    variant == 2, wd);
                GPU.ops->sgd_update(GPU.ctx, n, w.g, g.g, variant == 3 ? NULL : v.g, 0.05f, mu,
                                    variant == 2, wd);
                b_free(&g);
            }
            compare("sgd_update w (3 steps)", tag, &w, NULL, TOL_EXACT);
            compare("sgd_update v (3 steps)", tag, &v, NULL, TOL_EXACT);
            b_free(&w);
            b_free(&v);
        }
        for (int decoupled = 0; decoupled < 2; decoupled++) {
            char tag[64];
            snprintf(tag, sizeof tag, "n%zu %s wd 0.01", n, decoupled ? "AdamW" : "Adam");
            buf w = b_rand(n, -1, 1), m = b_rand(n, -0.1f, 0.1f), v = b_rand(n, 0.001f, 0.01f);
            for (int t = 1; t <= 3; t++) {
                buf g = b_rand(n, -1, 1);
                CPU.ops->adam_update(CPU.ctx, n, w.c, g.c, m.c, v.c, 1e-3f, 0.9f, 0.999f, 1e-8f,
                                     0.01f, decoupled, t);
                GPU.ops->adam_update(GPU.ctx, n, w.g, g.g, m.g, v.g, 1e-3f, 0.9f, 0.999f, 1e-8f,
                                     0.01f, decoupled, t);
                b_free(&g);
            }
            compare("adam_update w (3 steps)", tag, &w, NULL, TOL_EXACT);
            compare("adam_update m (3 steps)", tag, &m, NULL, TOL_EXACT);
            compare("adam_update v (3 steps)", tag, &v, NULL, TOL_EXACT);
            FREE_BUFS(&w, &m, &v);
        }
    }
}

/* ------------------------------------------------- a bad label, mixed storage, in a child */

/* Child mode: a label outside [0, K) must abort with a message naming it. */
static int child_bad_label(void) {
    wn_err e = {0};
    if (wn_cuda_backend_create(&GPU, &e) != WN_OK) return 77;
    float z[6] = {1, 2, 3, 4, 5, 6};
    int32_t lab[2] = {1, 7};
    float *zg = balloc(&GPU, sizeof z);
    int32_t *lg = balloc(&GPU, sizeof lab);
    put(&GPU, zg, z, sizeof z);
    put(&GPU, lg, lab, sizeof lab);
    double loss = 0;
    GPU.ops->softmax_xent(GPU.ctx, 2, 3, zg, lg, NULL, NULL, NULL, NULL, &loss);
    printf("softmax_xent returned %g: it should have aborted\n", loss);
    return 0;
}

/* Child mode: an op whose activation arguments are of mixed storage (x fp32, y bf16) must abort
 * with a message saying so, on a context with bf16 math and bf16 storage. */
static int child_mixed_storage(void) {
    wn_err e = {0};
    wn_cuda_opts o;
    wn_cuda_opts_default(&o);
    o.bf16 = 1;
    o.bf16_store = 1;
    if (wn_cuda_backend_create_opts(&o, &GPU, &e) != WN_OK) return 77;
    float x[8] = {-1, 2, -3, 4, -5, 6, -7, 8};
    float *xg = balloc(&GPU, sizeof x);             // (8) fp32
    float *yg = GPU.ops->alloc_bf16(GPU.ctx, 8);    // (8) bf16
    if (!yg) return 1;
    put(&GPU, xg, x, sizeof x);
    GPU.ops->act_forward(GPU.ctx, WN_ACT_RELU, 0, 8, xg, yg);
    GPU.ops->sync(GPU.ctx);
    printf("act_forward of fp32 x into bf16 y returned: it should have aborted\n");
    return 0;
}

/* Runs this program with flag in a child; its output (stdout and stderr) goes to out (cap).
 * Returns 1 when the child stopped with a failure (an abort, or a nonzero exit), 0 when it
 * exited 0, -1 when it could not be run. */
static int run_child(const char *flag, char *out, size_t cap) {
    char cmd[4200], exe[4096];
    out[0] = 0;
    ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
    CHECK(len > 0);
    if (len <= 0) return -1;
    exe[len] = 0;
    snprintf(cmd, sizeof cmd, "'%s' %s 2>&1", exe, flag);
    FILE *p = popen(cmd, "r");
    CHECK(p != NULL);
    if (!p) return -1;
    size_t got = fread(out, 1, cap - 1, p);
    out[got] = 0;
    int st = pclose(p);
    int died = st != -1 && WIFEXITED(st) && WEXITSTATUS(st) != 0; /* sh reports the signal */
    printf("child %s: status %d, output: %s", flag, st, out);
    return died || (st != -1 && WIFSIGNALED(st));
}

static void test_bad_label(void) {
    char out[8192];
    int aborted = run_child("--child-bad-label", out, sizeof out);
    CHECK_MSG(aborted == 1, "a label outside [0, K) must stop the program");
    CHECK_MSG(strstr(out, "label 7 in row 1, outside [0, 3)") != NULL,
              "the message names the label, the row and K");
}

static void test_mixed_storage(void) {
    char out[8192];
    int aborted = run_child("--child-mixed-storage", out, sizeof out);
    CHECK_MSG(aborted == 1, "an op with fp32 x and bf16 y must stop the program");
    CHECK_MSG(strstr(out, "mixed storage") != NULL && strstr(out, "activation forward") != NULL,
              "the message says mixed storage and names the op");
}

/* ---------------------------------------------------------------- table coverage */

/* Entries of wn_backend_ops this test exercises (all of them when it was written). */
enum { KNOWN_ENTRIES = 37 };

static void test_coverage(void) {
    int entries = (int)((sizeof(wn_backend_ops) - sizeof(const char *)) / sizeof(void (*)(void)));
    CHECK_MSG(entries == KNOWN_ENTRIES,
              "wn_backend_ops has %d entries and this test exercises %d: give the new op a parity "
              "test here", entries, KNOWN_ENTRIES);
}

/* ---------------------------------------------------------------- passes */

static int make_gpu(int tf32, int find, int pool_cudnn, int deterministic, wn_err *e) {
    wn_cuda_opts o;
    wn_cuda_opts_default(&o);
    o.tf32 = tf32;
    o.bf16 = BF16;
    if (BF16) o.bf16_store = LP; /* without bf16 math it stays at its default, 1 */
    o.nhwc = NHWC;
    o.deterministic = deterministic;
    o.find = find;
    o.pool_cudnn = pool_cudnn;
    o.verbose = getenv("WN_TEST_VERBOSE") != NULL;
    return wn_cuda_backend_create_opts(&o, &GPU, e);
}

static void report_device(void) {
    wn_cuda_stats s;
    wn_err e = {0};
    if (wn_cuda_stats_get(&GPU, &s, &e) != WN_OK) return;
    printf("GPU %s sm_%d%d, %d SMs, %.1f GiB; cuDNN %d, cuBLAS %d, runtime %d, driver %d\n",
           s.device_name, s.cc_major, s.cc_minor, s.sm_count, s.device_total / 1073741824.0,
           s.cudnn_version, s.cublas_version, s.runtime_version, s.driver_version);
}

static void report_memory(void) {
    wn_cuda_stats s;
    wn_err e = {0};
    if (wn_cuda_stats_get(&GPU, &s, &e) != WN_OK) return;
    printf("[%s] backend memory: %zu bytes in use (workspace %zu), peak %zu, %d conv algorithms "
           "cached\n", PASS, s.bytes_in_use, s.workspace_bytes, s.peak_bytes, s.conv_algos);
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0); /* lines survive an abort or a time limit */
    if (argc > 1 && !strcmp(argv[1], "--child-bad-label")) return child_bad_label();
    if (argc > 1 && !strcmp(argv[1], "--child-mixed-storage")) return child_mixed_storage();
    wn_err e = {0};
    if (make_gpu(0, 1, 1, 1, &e) != WN_OK) {
        printf("skipped: %s\n", e.msg);
        return 77;
    }
    if (wn_cpu_backend_create(2, &CPU, &e) != WN_OK) {
        fprintf(stderr, "%s\n", e.msg);
        return 1;
    }
    wn_rng_seed(&R, 20261201, 7);
    report_device();
    test_coverage();

    PASS = "fp32"; /* strict fp32: FMA convolutions, timed algorithms, cuDNN pooling */
    check_act_bf16();
    test_memory();
    test_feeding();
    test_conv(1);
    test_pool();
    test_dense();
    test_act();
    test_dropout();
    test_bn();
    test_losses();
    test_optim();
    report_memory();
    wn_backend_free(&GPU);

    PASS = "tf32"; /* PyTorch's default for convolutions, non-deterministic algorithms allowed */
    CONV_A = 6e-3;
    CONV_R = 6e-3;
    CHECK(make_gpu(1, 1, 1, 0, &e) == WN_OK);
    check_act_bf16();
    test_conv(1);
    report_memory();
    wn_backend_free(&GPU);

    PASS = "bf16"; /* mixed precision: bf16 convolutions and dense products, timed algorithms */
    BF16 = 1;
    CONV_A = CONV_R = 8e-3;  /* bf16 outputs: one rounding (at most 2^-8 relative) and change */
    GEMM_A = GEMM_R = 2e-4;  /* fp32 outputs of exact bf16 products, another summation order */
    BIAS_A = BIAS_R = 4e-3;  /* fp32 dy on the GPU, its bf16 rounding on the CPU */
    CHECK(make_gpu(1, 1, 1, 1, &e) == WN_OK); /* activations in fp32 (opts.bf16_store = 0) */
    check_act_bf16();
    test_bf16_ties();
    test_conv(1);
    test_dense();
    report_memory();
    wn_backend_free(&GPU);
    PASS = "bf16c"; /* the same with the bf16 copies in NCHW (opts.nhwc = 0) */
    NHWC = 0;
    CHECK(make_gpu(1, 1, 1, 1, &e) == WN_OK);
    check_act_bf16();
    test_bf16_ties();
    test_conv(0);
    wn_backend_free(&GPU);
    NHWC = 1;

    PASS = "bf16s"; /* bf16 math with the activations stored in bf16 (opts.bf16_store), NHWC */
    LP = 1;
    /* Conv outputs keep the bf16 pass's CONV_A/R (cuDNN's outputs are bf16 there too; the bias
     * adds a second rounding to y, 2 * 2^-8 in all, within 8e-3); the fp32 dense dw keeps
     * GEMM_A/R (cuBLAS's order against OpenBLAS's). LP_A/R, for dense y and dx and batch norm
     * y and dx stored in bf16: one rounding to nearest moves a value by at most 2^-8 of it
     * (3.9e-3), and 5e-3 leaves room for the fp32 differences below it (GEMM_A/R, TOL_STATS).
     * BIAS_A/R: both sides sum the same bf16 dy, the GPU in double (an own kernel, not a
     * library's), the CPU in float: 8e-8 relative measured (an ulp), so 1e-6 instead of the bf16
     * pass's 4e-3 (from fp32 dy on the GPU). The fp32 batch norm statistics and dgamma, dbeta keep
     * TOL_STATS (the same double sums of the same values: equal bits measured). */
    LP_A = LP_R = 5e-3;
    BIAS_A = BIAS_R = 1e-6;
    CHECK(make_gpu(1, 1, 1, 1, &e) == WN_OK);
    check_act_bf16();
    test_alloc_bf16();
    test_cast();
    test_elem_st();
    test_conv(0);
    test_pool();
    test_dense();
    test_act();
    test_dropout();
    test_bn();
    report_memory();
    wn_backend_free(&GPU);
    PASS = "bf16sc"; /* the same with NCHW: cuDNN reads and writes the bf16 storage itself */
    NHWC = 0;
    CHECK(make_gpu(1, 1, 1, 1, &e) == WN_OK);
    check_act_bf16();
    test_conv(0);
    wn_backend_free(&GPU);
    NHWC = 1;
    LP = 0;
    LP_A = LP_R = 0;
    BF16 = 0;
    GEMM_A = GEMM_R = BIAS_A = BIAS_R = 1e-4;

    PASS = "heur"; /* cuDNN's heuristic instead of timing, strict fp32 */
    CONV_A = 1e-4;
    CONV_R = 1e-4;
    CHECK(make_gpu(0, 0, 1, 1, &e) == WN_OK);
    check_act_bf16();
    test_conv(0);
    wn_backend_free(&GPU);

    PASS = "own"; /* the own pooling kernels: the CPU's bits */
    POOL_A = POOL_R = 1e-6;
    CHECK(make_gpu(0, 1, 0, 1, &e) == WN_OK);
    check_act_bf16();
    test_pool();
    test_bad_upload();
    wn_backend_free(&GPU);

    test_bad_label();
    test_mixed_storage();
    wn_backend_free(&CPU);
    return wn_test_done();
}
