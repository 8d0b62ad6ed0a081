/* test_gpu_classify.c - `weldnet classify` on the CUDA backend against the CPU backend: the same
 * folder of PNG and JPEG photos (grey and RGB, some unreadable), two models of different inputs
 * (28x28 grey and 16x12 RGB, the latter with a batchnorm that classify folds into its
 * convolution), batch sizes 1 and 7, through wn_classify_run with
 * device = cuda and device = cpu. The reports must list the same photos in the same order with
 * the same errors; every calibrated probability within 1e-4 + 1e-3*|p| of the CPU's (classify
 * runs the GPU's convolutions in strict fp32 by default), or within 5e-3 + 1e-2*|p| with --tf32
 * (TF32 convolutions, as PyTorch's); a decision may differ only for a photo whose pooled score
 * lies within that tolerance of a threshold; the thresholds are chosen from the CPU's scores so
 * that both decisions occur. Also: a GPU batch larger than the number of photos, the report of
 * batch 1 against that of batch 7 on the GPU (the same tolerance: cuDNN may choose another
 * algorithm per batch size), and that wn_backend_create_math sets the context's TF32 and bf16
 * switches (and wn_backend_describe names them).
 * Exits 77 (skipped) without a GPU. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "test_deploy_util.h"
#include "wn_cuda.h"
#include "wn_decide.h"
#include "wn_image.h"

static char g_tmp[512], g_data[600];
static const double ATOL = 1e-4, RTOL = 1e-3;       /* strict fp32 (the default) */
static const double ATOL_TF32 = 5e-3, RTOL_TF32 = 1e-2; /* --tf32 */
static int g_tf32;                                   /* the runs' wn_cls_options.tf32 */

static const char *tpath(const char *name) { return wn_test_path(g_tmp, name); }

static void make_photos(void) {
    snprintf(g_data, sizeof g_data, "%s/data", g_tmp);
    mkdir(g_data, 0755);
    char name[800];
    for (int i = 0; i < 23; i++) {
        if (i % 3 == 1) { /* JPEG: grey, RGB, progressive */
            tp_buf b = tdu_jpeg(40 + 6 * i, 30 + 4 * i, i % 2 ? 3 : 1, i % 5 == 4);
            snprintf(name, sizeof name, "%s/j%02d.jpg", g_data, i);
            tdu_save(name, b.p, b.n);
            free(b.p);
            continue;
        }
        int w = 18 + (i * 7) % 29, h = 14 + (i * 5) % 31, ch = i % 2 ? 3 : 1;
        uint8_t *pix = malloc((size_t)w * h * ch); /* (H, W, ch) */
        uint32_t seed = 7u + (uint32_t)i;
        for (int k = 0; k < w * h * ch; k++) {
            seed = seed * 1664525u + 1013904223u;
            pix[k] = (uint8_t)((seed >> 25) + (k % (w * ch)) * (i % 4));
        }
        snprintf(name, sizeof name, "%s/p%02d.png", g_data, i);
        wn_err e = {0};
        CHECK(wn_png_write(name, w, h, ch, pix, &e) == WN_OK);
        free(pix);
    }
    snprintf(name, sizeof name, "%s/broken.png", g_data); /* a PNG signature and nothing else */
    tdu_save(name, "\x89PNG\r\n\x1a\n", 8);
}

static int classify(const char *const *models, int n_models, const char *report, int batch,
                    int device, double threshold) {
    const char *dirs[1] = {g_data};
    wn_cls_options o;
    tdu_options(&o, models, n_models, dirs, report, batch, 2);
    o.device = device;
    o.threshold = threshold;
    o.tf32 = g_tf32;
    wn_err e = {0};
    int rc = wn_classify_run(&o, &e);
    if (rc) fprintf(stderr, "classify (%s, batch %d): %s\n", device == WN_DEVICE_CUDA ? "cuda" : "cpu",
                    batch, e.msg);
    return rc;
}

static int cmp_float(const void *a, const void *b) {
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

/* The median pooled score of column block `first` (k columns) over the readable rows. */
static float median_score(const tdu_report *t, int first, int k) {
    float *s = malloc((size_t)t->n * sizeof(float));
    int n = 0;
    for (int r = 0; r < t->n; r++)
        if (t->decision[r] != WN_CLS_ERROR) s[n++] = wn_calib_pooled_score(t->p + (size_t)r * t->n_p + first, k);
    qsort(s, (size_t)n, sizeof(float), cmp_float);
    float m = n ? s[n / 2] : 0.5f;
    free(s);
    return m;
}

/* GPU report g against CPU report c; thr[i]: model i's pooled threshold, its columns from
 * first[i], k[i] of them. atol/rtol: probability tolerance. Returns the number of decisions
 * that differ (all near a threshold, else the test fails). */
static int compare(const tdu_report *c, const tdu_report *g, int n_models, const int *first,
                   const int *k, const float *thr, double atol, double rtol, const char *what) {
    CHECK_MSG(c->n == g->n && c->n_p == g->n_p, "%s: %d rows / %d columns against the CPU's %d / %d", what,
              g->n, g->n_p, c->n, c->n_p);
    if (c->n != g->n || c->n_p != g->n_p) return 0;
    int bad_p = 0, flips = 0, bad_flips = 0, passes = 0, reviews = 0;
    for (int r = 0; r < c->n; r++) {
        CHECK_MSG(!strcmp(c->path[r], g->path[r]), "%s: row %d is %s, the CPU's %s", what, r, g->path[r], c->path[r]);
        CHECK_MSG(!strcmp(c->error[r], g->error[r]), "%s: %s: error '%s', the CPU's '%s'", what, c->path[r],
                  g->error[r], c->error[r]);
        if (c->decision[r] == WN_CLS_ERROR || g->decision[r] == WN_CLS_ERROR) {
            CHECK_MSG(c->decision[r] == g->decision[r], "%s: %s: error on one backend only", what, c->path[r]);
            continue;
        }
        passes += c->decision[r] == WN_CLS_PASS;
        reviews += c->decision[r] == WN_CLS_REVIEW;
        for (int j = 0; j < c->n_p; j++) {
            double a = g->p[(size_t)r * g->n_p + j], b = c->p[(size_t)r * c->n_p + j];
            if (!(fabs(a - b) <= atol + rtol * fabs(b))) {
                if (bad_p++ < 5) printf("  MISMATCH %s: %s column %d: gpu %.7g cpu %.7g\n", what, c->path[r], j, a, b);
            }
        }
        if (c->decision[r] != g->decision[r]) {
            flips++;
            int near = 0;
            for (int i = 0; i < n_models; i++) {
                float s = wn_calib_pooled_score(c->p + (size_t)r * c->n_p + first[i], k[i]);
                near |= fabs((double)s - thr[i]) <= atol + rtol * fabs((double)thr[i]);
            }
            if (!near) bad_flips++, printf("  MISMATCH %s: %s: decision differs far from a threshold\n", what, c->path[r]);
        }
    }
    printf("%s: %d photos, %d probabilities off, %d decisions differ (near a threshold), CPU %d pass / %d review\n",
           what, c->n, bad_p, flips, passes, reviews);
    CHECK_MSG(bad_p == 0, "%s: %d probabilities outside the tolerance", what, bad_p);
    CHECK_MSG(bad_flips == 0, "%s: %d decisions differ away from a threshold", what, bad_flips);
    CHECK_MSG(passes > 0 && reviews > 0, "%s: the CPU run should both pass and review photos", what);
    return flips;
}

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    wn_backend gpu;
    wn_err e = {0};
    if (wn_cuda_backend_create(&gpu, &e) != WN_OK) {
        printf("skipped: %s\n", e.msg);
        return 77;
    }
    wn_backend_free(&gpu);
    for (int math = WN_MATH_FAST; math <= WN_MATH_BF16; math++) {
        wn_cuda_stats st;
        CHECK(wn_backend_create_math(WN_DEVICE_CUDA, 1, 1, math, &gpu, &e) == WN_OK);
        CHECK(wn_cuda_stats_get(&gpu, &st, &e) == WN_OK);
        CHECK_MSG(st.tf32 == (math != WN_MATH_STRICT), "math %d: the context's tf32 is %d", math, st.tf32);
        CHECK_MSG(st.bf16 == (math == WN_MATH_BF16), "math %d: the context's bf16 is %d", math, st.bf16);
        CHECK_MSG(st.bf16_store == (math == WN_MATH_BF16), "math %d: bf16 activation storage %d",
                  math, st.bf16_store);
        CHECK_MSG(gpu.ops->act_bf16(gpu.ctx) == st.bf16_store, "math %d: act_bf16 says %d", math,
                  gpu.ops->act_bf16(gpu.ctx));
        char what[320];
        const char *want = math == WN_MATH_BF16   ? "bf16 mixed precision, activations stored in bf16"
                           : math == WN_MATH_FAST ? "TF32 convolutions"
                                                  : "strict fp32";
        wn_backend_describe(&gpu, what, sizeof what);
        CHECK_MSG(!strncmp(what, "cuda: ", 6) && strstr(what, want), "math %d: described as '%s'",
                  math, what);
        wn_backend_free(&gpu);
    }
    snprintf(g_tmp, sizeof g_tmp, "%s", wn_test_tmpdir("test_gpu_classify"));
    make_photos();

    char *names[3] = {"ok", "scratch", "dent"};
    long counts[3] = {80, 12, 8};
    char *ma = strdup(tpath("grey.wnet")), *mb = strdup(tpath("rgb.wnet"));
    CHECK(tdu_make_model_ini(ma, NULL, 3, names, counts, 0, 11) == 0);
    /* the RGB model has a batchnorm after a bias-free convolution: classify folds it into the
     * convolution on both backends (the GPU's conv then adds the folded bias) */
    CHECK(tdu_make_model_ini(mb, "[net]\nwidth = 16\nheight = 12\nchannels = 3\nmean = 0.5,0.4,0.3\n"
                                 "std = 0.25,0.2,0.3\n[conv1]\ntype = conv\nfilters = 4\nsize = 3\n"
                                 "stride = 2\nbias = 0\n[bn1]\ntype = batchnorm\n[relu1]\ntype = relu\n"
                                 "[fc]\ntype = dense\nunits = classes\n",
                             2, names, counts, 0, 12) == 0);

    /* thresholds at the CPU's median score, so that both decisions occur */
    const char *one_a[1] = {ma}, *one_b[1] = {mb};
    tdu_report t;
    float thr[2];
    CHECK(classify(one_a, 1, tpath("probe_a.csv"), 7, WN_DEVICE_CPU, 1.0) == WN_OK);
    CHECK(tdu_report_read(tpath("probe_a.csv"), &t) == 0);
    thr[0] = median_score(&t, 0, 3);
    tdu_report_free(&t);
    CHECK(classify(one_b, 1, tpath("probe_b.csv"), 7, WN_DEVICE_CPU, 1.0) == WN_OK);
    CHECK(tdu_report_read(tpath("probe_b.csv"), &t) == 0);
    thr[1] = median_score(&t, 0, 2);
    tdu_report_free(&t);

    /* one model (threshold thr[0]); both models need one --threshold: use each alone, then the
     * pair at thr[0] (the RGB model's decisions then mostly pass) */
    int first1[1] = {0}, k1[1] = {3};
    const int batches[2] = {7, 1};
    tdu_report cpu, g7, g1;
    CHECK(classify(one_a, 1, tpath("cpu_a.csv"), 7, WN_DEVICE_CPU, thr[0]) == WN_OK);
    CHECK(tdu_report_read(tpath("cpu_a.csv"), &cpu) == 0);
    for (int b = 0; b < 2; b++) {
        char rep[32], what[64];
        snprintf(rep, sizeof rep, "gpu_a_%d.csv", batches[b]);
        snprintf(what, sizeof what, "grey model, batch %d", batches[b]);
        CHECK(classify(one_a, 1, tpath(rep), batches[b], WN_DEVICE_CUDA, thr[0]) == WN_OK);
        CHECK(tdu_report_read(tpath(rep), b ? &g1 : &g7) == 0);
        compare(&cpu, b ? &g1 : &g7, 1, first1, k1, thr, ATOL, RTOL, what);
    }
    /* the GPU's batch size changes its results no more than the backend does (cuDNN may pick
     * another algorithm for another batch size, so not bit for bit) */
    compare(&g7, &g1, 1, first1, k1, thr, ATOL, RTOL, "grey model, gpu batch 1 vs 7");
    tdu_report_free(&cpu);
    tdu_report_free(&g7);
    tdu_report_free(&g1);

    int k1b[1] = {2};
    CHECK(classify(one_b, 1, tpath("cpu_b.csv"), 5, WN_DEVICE_CPU, thr[1]) == WN_OK);
    CHECK(classify(one_b, 1, tpath("gpu_b.csv"), 64, WN_DEVICE_CUDA, thr[1]) == WN_OK);
    CHECK(tdu_report_read(tpath("cpu_b.csv"), &cpu) == 0);
    CHECK(tdu_report_read(tpath("gpu_b.csv"), &g7) == 0);
    compare(&cpu, &g7, 1, first1, k1b, thr + 1, ATOL, RTOL, "RGB model, gpu batch 64 (> photos)");
    tdu_report_free(&cpu);
    tdu_report_free(&g7);

    /* two models of different inputs in one pass */
    const char *two[2] = {ma, mb};
    int first2[2] = {0, 3}, k2[2] = {3, 2};
    float thr2[2] = {thr[0], thr[0]};
    CHECK(classify(two, 2, tpath("cpu_ab.csv"), 7, WN_DEVICE_CPU, thr[0]) == WN_OK);
    CHECK(classify(two, 2, tpath("gpu_ab.csv"), 7, WN_DEVICE_CUDA, thr[0]) == WN_OK);
    CHECK(tdu_report_read(tpath("cpu_ab.csv"), &cpu) == 0);
    CHECK(tdu_report_read(tpath("gpu_ab.csv"), &g7) == 0);
    compare(&cpu, &g7, 2, first2, k2, thr2, ATOL, RTOL, "two models, batch 7");
    tdu_report_free(&cpu);
    tdu_report_free(&g7);

    /* --tf32: the same within the TF32 tolerance */
    g_tf32 = 1;
    CHECK(classify(one_a, 1, tpath("cpu_t.csv"), 7, WN_DEVICE_CPU, thr[0]) == WN_OK);
    CHECK(classify(one_a, 1, tpath("gpu_t.csv"), 7, WN_DEVICE_CUDA, thr[0]) == WN_OK);
    CHECK(tdu_report_read(tpath("cpu_t.csv"), &cpu) == 0);
    CHECK(tdu_report_read(tpath("gpu_t.csv"), &g7) == 0);
    compare(&cpu, &g7, 1, first1, k1, thr, ATOL_TF32, RTOL_TF32, "grey model, --tf32, batch 7");
    tdu_report_free(&cpu);
    tdu_report_free(&g7);
    free(ma);
    free(mb);
    return wn_test_done();
}
