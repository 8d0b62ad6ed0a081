/* test_classify_pipeline.c - wn_classify_run end to end on a labelled folder, against the real
 * thing: the calibrated probabilities equal those of the training code path (wn_cache_build +
 * wn_predict_cache + wn_calib_divide_priors); decisions follow wn_calib_autopass on the written
 * probabilities, for one model and for two models of different inputs (pass only when both
 * pass); the report is byte-identical for any batch size and thread count; the audit counts
 * match a brute-force count of the rows; a --labels manifest overrides the folders; --resume
 * after a cut at any byte gives the uninterrupted report; shards merged give it too; merge and
 * resume refuse inconsistent inputs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test_deploy_util.h"
#include "wn_decide.h"
#include "wn_image.h"

static char g_tmp[512], g_data[600];

static const char *tpath(const char *name) { return wn_test_path(g_tmp, name); }

static void make_photos(void) {
    snprintf(g_data, sizeof g_data, "%s/data", g_tmp);
    const char *cls[3] = {"ok", "scratch", "dent"};
    int count[3] = {30, 9, 7};
    uint32_t seed = 99;
    mkdir(g_data, 0755);
    for (int c = 0; c < 3; c++) {
        char dir[700];
        snprintf(dir, sizeof dir, "%s/%s", g_data, cls[c]);
        mkdir(dir, 0755);
        for (int i = 0; i < count[c]; i++) {
            char name[800];
            int w = 20 + (i * 7) % 30, h = 16 + (i * 5) % 40;
            if (i % 4 == 3) { /* some JPEGs, decoded with DCT scaling */
                tp_buf b = tdu_jpeg(64 + 8 * i, 48 + 4 * i, i % 8 == 3 ? 1 : 3, i % 8 == 7);
                snprintf(name, sizeof name, "%s/p%02d.jpg", dir, i);
                tdu_save(name, b.p, b.n);
                free(b.p);
                continue;
            }
            uint8_t *pix = malloc((size_t)w * h);
            for (int k = 0; k < w * h; k++) {
                seed = seed * 1664525u + 1013904223u;
                pix[k] = (uint8_t)((seed >> 24) / (c + 1) + (k % w) * c * 3);
            }
            snprintf(name, sizeof name, "%s/p%02d.png", dir, i);
            wn_err e = {0};
            CHECK(wn_png_write(name, w, h, 1, pix, &e) == WN_OK);
            free(pix);
        }
    }
}

static int classify(const char *const *models, int n_models, const char *report, int batch,
                    int threads, int resume, int shard_i, int shard_n, const char *labels,
                    wn_err *e) {
    const char *dirs[1] = {g_data};
    wn_cls_options o;
    tdu_options(&o, models, n_models, dirs, report, batch, threads);
    o.resume = resume;
    o.shard_i = shard_i;
    o.shard_n = shard_n;
    o.labels = labels;
    return wn_classify_run(&o, e);
}

static int same_file(const char *a, const char *b) {
    unsigned char *x, *y;
    size_t nx, ny;
    wn_err e = {0};
    if (wn_read_file(a, 1 << 26, &x, &nx, &e) || wn_read_file(b, 1 << 26, &y, &ny, &e)) return 0;
    int same = nx == ny && memcmp(x, y, nx) == 0;
    free(x);
    free(y);
    return same;
}

static char *slurp(const char *path) {
    unsigned char *b;
    size_t n;
    wn_err e = {0};
    if (wn_read_file(path, 1 << 26, &b, &n, &e)) return NULL;
    char *s = realloc(b, n + 1);
    s[n] = '\0';
    return s;
}

/* The probabilities of the training code path for every photo of the folder. */
static void test_reference(const char *model, const char *report, wn_model *m) {
    wn_err e = {0};
    wn_dataset ds;
    CHECK(wn_dataset_open(g_data, (const char *const *)m->class_names, m->n_classes, NULL, &ds, &e) == WN_OK);
    wn_cache cache;
    CHECK(wn_cache_build(&ds, 1, 28, 28, 1, 1, (size_t)1 << 30, NULL, 0, &cache, &e) == WN_OK);
    wn_backend be;
    CHECK(wn_cpu_backend_create(1, &be, &e) == WN_OK);
    wn_net net;
    CHECK(wn_net_from_model(m, model, &be, &net, &e) == WN_OK);
    int k = m->n_classes;
    float *probs = malloc((size_t)cache.n * k * sizeof(float));
    CHECK(wn_predict_cache(&net, &cache, NULL, cache.n, 7, m->mean, m->std, probs, NULL, &e) == WN_OK);
    wn_calibration cal;
    CHECK(wn_model_get_calibration(m, model, &cal, &e) == WN_OK);
    CHECK(wn_calib_divide_priors(probs, probs, cache.n, k, cal.priors, &e) == WN_OK);
    tdu_report t;
    CHECK(tdu_report_read(report, &t) == 0);
    CHECK(t.n == ds.n && cache.n == ds.n);
    int bad = 0, wrong_decision = 0;
    for (int i = 0; i < cache.n; i++) {
        int r = tdu_report_find(&t, ds.items[cache.index[i]].path);
        CHECK(r >= 0);
        if (r < 0) continue;
        const float *row = t.p + (size_t)r * t.n_p;
        for (int j = 0; j < k; j++) {
            double a = row[j], b = probs[(size_t)i * k + j];
            bad += fabs(a - b) > 2e-6 + 1e-5 * fabs(b);
        }
        int pass = wn_calib_autopass(probs + (size_t)i * k, k, cal.threshold);
        wrong_decision += t.decision[r] != (pass ? WN_CLS_PASS : WN_CLS_REVIEW);
        CHECK(!strcmp(t.truth[r], m->class_names[ds.items[cache.index[i]].label]));
    }
    CHECK_MSG(bad == 0, "%d probabilities differ from the training code path", bad);
    CHECK_MSG(wrong_decision == 0, "%d decisions differ from wn_calib_autopass", wrong_decision);
    tdu_report_free(&t);
    wn_calibration_free(&cal);
    free(probs);
    wn_net_free(&net);
    wn_backend_free(&be);
    wn_cache_free(&cache);
    wn_dataset_free(&ds);
}

/* Two models of different inputs: each model's columns equal its single-model run, and a photo
 * passes only when both pass. */
static void test_two_models(const char *ma, const char *mb, const char *ra) {
    wn_err e = {0};
    const char *both[2] = {ma, mb}, *only_b[1] = {mb};
    CHECK(classify(both, 2, tpath("two.csv"), 8, 2, 0, 1, 1, NULL, &e) == WN_OK);
    CHECK(classify(only_b, 1, tpath("b.csv"), 8, 2, 0, 1, 1, NULL, &e) == WN_OK);
    wn_model A, B;
    CHECK(wn_model_load(ma, &A, &e) == WN_OK && wn_model_load(mb, &B, &e) == WN_OK);
    wn_calibration ca, cb;
    CHECK(wn_model_get_calibration(&A, ma, &ca, &e) == WN_OK);
    CHECK(wn_model_get_calibration(&B, mb, &cb, &e) == WN_OK);
    tdu_report t2, ta, tb;
    CHECK(tdu_report_read(tpath("two.csv"), &t2) == 0 && tdu_report_read(ra, &ta) == 0 &&
          tdu_report_read(tpath("b.csv"), &tb) == 0);
    CHECK(t2.n == ta.n && t2.n == tb.n && t2.n_p == 6);
    int mismatch = 0, rule = 0, order = 0, passes = 0, reviews = 0;
    for (int i = 0; i < t2.n; i++) {
        const float *p = t2.p + (size_t)i * 6;
        for (int j = 0; j < 3; j++) {
            mismatch += p[j] != ta.p[(size_t)i * 3 + j];
            mismatch += p[3 + j] != tb.p[(size_t)i * 3 + j];
        }
        int pass = wn_calib_autopass(p, 3, ca.threshold) && wn_calib_autopass(p + 3, 3, cb.threshold);
        rule += t2.decision[i] != (pass ? WN_CLS_PASS : WN_CLS_REVIEW);
        passes += pass;
        reviews += !pass;
        /* defects named as model:class, most probable first */
        double prev = 2;
        for (char *s = t2.defects[i]; *s;) {
            size_t n = strcspn(s, ";");
            char name[128];
            snprintf(name, sizeof name, "%.*s", (int)n, s);
            int col = -1;
            const char *cols[6] = {"a:ok", "a:scratch", "a:dent", "b:ok", "b:scratch", "b:dent"};
            for (int q = 0; q < 6; q++)
                if (!strcmp(name, cols[q])) col = q;
            order += col < 0 || col == 0 || col == 3 || p[col] > prev;
            if (col >= 0) prev = p[col];
            s += n + (s[n] == ';');
        }
    }
    CHECK_MSG(mismatch == 0, "%d probabilities differ from the single-model runs", mismatch);
    CHECK_MSG(rule == 0, "%d decisions break 'pass only when every model passes'", rule);
    CHECK_MSG(order == 0, "%d defect names out of order or unknown", order);
    CHECK_MSG(passes > 0 && reviews > 0, "both decisions should occur (%d pass, %d review)", passes, reviews);
    tdu_report_free(&t2);
    tdu_report_free(&ta);
    tdu_report_free(&tb);
    wn_calibration_free(&ca);
    wn_calibration_free(&cb);
    wn_model_free(&A);
    wn_model_free(&B);
}

/* The audit figures in the summary against a count over the report's rows. */
static void test_audit(const char *report) {
    tdu_report t;
    CHECK(tdu_report_read(report, &t) == 0);
    long defects = 0, missed = 0, passed = 0;
    for (int i = 0; i < t.n; i++) {
        int is_defect = strcmp(t.truth[i], "ok") != 0;
        defects += is_defect;
        missed += is_defect && t.decision[i] == WN_CLS_PASS;
        passed += t.decision[i] == WN_CLS_PASS;
    }
    char want[256];
    char *sum_path = wn_cls_derived_path(report, ".summary.txt");
    char *miss_path = wn_cls_derived_path(report, ".misses.csv");
    char *sum = slurp(sum_path);
    CHECK(sum != NULL);
    snprintf(want, sizeof want, "audit.defect_photos = %ld\naudit.missed = %ld\n", defects, missed);
    CHECK_MSG(sum && strstr(sum, want), "summary lacks %s", want);
    snprintf(want, sizeof want, "\npass = %ld\n", passed);
    CHECK_MSG(sum && strstr(sum, want), "summary lacks %s", want);
    CHECK(sum && strstr(sum, "audit.confusion.scratch.pass = "));
    free(sum);
    tdu_report m;
    CHECK(tdu_report_read(miss_path, &m) == 0);
    free(sum_path);
    free(miss_path);
    CHECK(m.n == missed);
    for (int i = 0; i < m.n; i++) CHECK(m.decision[i] == WN_CLS_PASS && strcmp(m.truth[i], "ok"));
    tdu_report_free(&m);
    tdu_report_free(&t);
}

static void test_labels_manifest(const char *model) {
    FILE *f = fopen(tpath("truth.csv"), "w");
    fprintf(f, "path,label\ndata/ok/p00.png,scratch\ndata/dent/p01.png,ok\n");
    fclose(f);
    wn_err e = {0};
    const char *models[1] = {model};
    CHECK(classify(models, 1, tpath("lab.csv"), 8, 2, 0, 1, 1, tpath("truth.csv"), &e) == WN_OK);
    tdu_report t;
    CHECK(tdu_report_read(tpath("lab.csv"), &t) == 0);
    char a[700], b[700];
    snprintf(a, sizeof a, "%s/ok/p00.png", g_data);
    snprintf(b, sizeof b, "%s/dent/p01.png", g_data);
    int labelled = 0;
    for (int i = 0; i < t.n; i++) {
        if (!strcmp(t.path[i], a)) CHECK(!strcmp(t.truth[i], "scratch"));
        else if (!strcmp(t.path[i], b)) CHECK(!strcmp(t.truth[i], "ok"));
        else CHECK(t.truth[i][0] == '\0');
        labelled += t.truth[i][0] != '\0';
    }
    CHECK(labelled == 2);
    tdu_report_free(&t);
}

static void test_resume(const char *model, const char *full) {
    char *text = slurp(full);
    size_t n = strlen(text);
    const char *models[1] = {model};
    int cuts = 0, ok = 0;
    size_t header = strcspn(text, "\n") + 1;
    size_t at[] = {0, 5, header - 1, header, header + 1};
    for (int step = 0; step < 40; step++) {
        size_t cut = step < 5 ? at[step] : header + (n - header) * (size_t)(step - 5) / 35;
        if (cut > n) cut = n;
        FILE *f = fopen(tpath("cut.csv"), "wb");
        fwrite(text, 1, cut, f);
        fclose(f);
        wn_err e = {0};
        int rc = classify(models, 1, tpath("cut.csv"), 6, 2, 1, 1, 1, NULL, &e);
        CHECK_MSG(rc == WN_OK, "cut at %zu: %s", cut, e.msg);
        cuts++;
        ok += same_file(tpath("cut.csv"), full);
    }
    CHECK_MSG(ok == cuts, "%d of %d resumed reports equal the uninterrupted one", ok, cuts);
    /* the summary of a resumed run covers the whole report */
    char *sp = wn_cls_derived_path(full, ".summary.txt");
    char *a = slurp(sp);
    free(sp);
    char *b = slurp(tpath("cut.summary.txt"));
    const char *keys[] = {"\nphotos = ", "\npass = ", "\nreview = ", "\naudit.missed = "};
    for (int i = 0; i < 4; i++) {
        const char *x = strstr(a, keys[i]), *y = strstr(b, keys[i]);
        CHECK(x && y && strncmp(x, y, strcspn(x + 1, "\n") + 1) == 0);
    }
    free(a);
    free(b);
    /* resuming with another model or another shard is refused */
    wn_err e = {0};
    const char *other[1] = {tpath("b.wnet")};
    CHECK(classify(other, 1, full, 6, 2, 1, 1, 1, NULL, &e) == WN_EINPUT);
    CHECK_MSG(strstr(e.msg, "columns differ") || strstr(e.msg, "models"), "%s", e.msg);
    FILE *f = fopen(tpath("cut.csv"), "wb");
    fwrite(text, 1, n, f);
    fclose(f);
    CHECK(classify(models, 1, tpath("cut.csv"), 6, 2, 1, 2, 3, NULL, &e) == WN_EINPUT);
    CHECK_MSG(strstr(e.msg, "shard 2/3"), "%s", e.msg);
    /* a report that does not exist yet: --resume starts it */
    remove(tpath("new.csv"));
    CHECK(classify(models, 1, tpath("new.csv"), 6, 2, 1, 1, 1, NULL, &e) == WN_OK);
    CHECK_MSG(same_file(tpath("new.csv"), full), "--resume of a missing report = a fresh run");
    /* kept rows that this run could not have written are refused, naming the line, and the
     * report is left as it was: a row's models field edited, two rows swapped */
    size_t r1 = header + strcspn(text + header, "\n") + 1; /* start of the second row */
    size_t r2 = r1 + strcspn(text + r1, "\n") + 1;        /* start of the third row */
    char *edited = wn_xstrdup(text);
    char *models_at = NULL, *last_field = NULL; /* the second row's models field: the one before the last */
    for (char *q = edited + r1; q < edited + r2 - 1; q++)
        if (q[0] == ',' && q[1] == '"') models_at = last_field, last_field = q + 2;
    CHECK(models_at && (size_t)(models_at - edited) < r2);
    if (models_at && (size_t)(models_at - edited) < r2) {
        *models_at = '#';
        f = fopen(tpath("edit.csv"), "wb");
        fwrite(edited, 1, n, f);
        fclose(f);
        CHECK(classify(models, 1, tpath("edit.csv"), 6, 2, 1, 1, 1, NULL, &e) == WN_EINPUT);
        CHECK_MSG(strstr(e.msg, "line 3") && strstr(e.msg, "written by the models"), "%s", e.msg);
        char *after = slurp(tpath("edit.csv"));
        CHECK_MSG(!strcmp(after, edited), "a refused resume left the report alone");
        free(after);
    }
    free(edited);
    edited = wn_xmalloc(n + 1);
    memcpy(edited, text, header);
    memcpy(edited + header, text + r1, r2 - r1);          /* second row first */
    memcpy(edited + header + (r2 - r1), text + header, r1 - header);
    memcpy(edited + r2, text + r2, n - r2 + 1);
    f = fopen(tpath("swap.csv"), "wb");
    fwrite(edited, 1, n, f);
    fclose(f);
    CHECK(classify(models, 1, tpath("swap.csv"), 6, 2, 1, 1, 1, NULL, &e) == WN_EINPUT);
    CHECK_MSG(strstr(e.msg, "line 3") && strstr(e.msg, "not after the row before it"), "%s", e.msg);
    free(edited);
    free(text);
}

static void test_shards(const char *model, const char *full) {
    const char *models[1] = {model};
    char names[3][700];
    const char *inputs[3];
    long rows = 0;
    for (int i = 0; i < 3; i++) {
        snprintf(names[i], sizeof names[i], "%s/shard%d.csv", g_tmp, i + 1);
        inputs[i] = names[i];
        wn_err e = {0};
        CHECK(classify(models, 1, names[i], 5, 2, 0, i + 1, 3, NULL, &e) == WN_OK);
        tdu_report t;
        CHECK(tdu_report_read(names[i], &t) == 0);
        CHECK_MSG(t.n > 0, "shard %d is empty", i + 1);
        rows += t.n;
        tdu_report_free(&t);
    }
    wn_cls_merge_options o = {inputs, 3, tpath("merged.csv"), NULL, NULL, NULL, 0, 2.0, 1};
    wn_err e = {0};
    CHECK_MSG(wn_cls_merge(&o, &e) == WN_OK, "%s", e.msg);
    CHECK_MSG(same_file(tpath("merged.csv"), full), "merged shards differ from one run");
    tdu_report t;
    CHECK(tdu_report_read(full, &t) == 0);
    CHECK(rows == t.n);
    tdu_report_free(&t);
    /* a photo in two inputs, an unfinished shard */
    const char *dup[2] = {names[0], full};
    wn_cls_merge_options od = {dup, 2, tpath("bad.csv"), NULL, NULL, NULL, 0, 2.0, 1};
    CHECK(wn_cls_merge(&od, &e) == WN_EINPUT && strstr(e.msg, "two shard reports"));
    char *text = slurp(names[1]);
    FILE *f = fopen(names[1], "wb");
    fwrite(text, 1, strlen(text) - 3, f);
    fclose(f);
    free(text);
    CHECK(wn_cls_merge(&o, &e) == WN_EINPUT && strstr(e.msg, "did not finish"));
}

int main(void) {
    snprintf(g_tmp, sizeof g_tmp, "%s", wn_test_tmpdir("test_classify_pipeline"));
    make_photos();
    char *names[3] = {"ok", "scratch", "dent"};
    long counts[3] = {60, 25, 15};
    CHECK(tdu_make_model(tpath("a.wnet"), 3, names, counts, 0.85f, 3) == 0);
    CHECK(tdu_make_model_ini(tpath("b.wnet"), TINY_NET_RGB16, 3, names, counts, 0.885f, 11) == 0);
    char *a_wnet = strdup(tpath("a.wnet")), *b_wnet = strdup(tpath("b.wnet"));
    char *a_csv = strdup(tpath("a.csv"));
    wn_err e = {0};
    const char *ma[1] = {a_wnet};
    int rc = classify(ma, 1, a_csv, 5, 2, 0, 1, 1, NULL, &e);
    CHECK_MSG(rc == WN_OK, "%s", e.msg);
    wn_model A;
    CHECK(wn_model_load(a_wnet, &A, &e) == WN_OK);
    test_reference(a_wnet, a_csv, &A);
    wn_model_free(&A);
    /* any number of decoding threads writes the same report; another batch size the same
     * decisions and probabilities up to the backend's summation order */
    CHECK(classify(ma, 1, tpath("a1.csv"), 5, 1, 0, 1, 1, NULL, &e) == WN_OK);
    CHECK(same_file(a_csv, tpath("a1.csv")));
    CHECK(classify(ma, 1, tpath("a64.csv"), 64, 3, 0, 1, 1, NULL, &e) == WN_OK);
    tdu_report t5, t64;
    CHECK(tdu_report_read(a_csv, &t5) == 0 && tdu_report_read(tpath("a64.csv"), &t64) == 0);
    CHECK(t5.n == t64.n);
    int differ = 0, passes = 0;
    for (int i = 0; i < t5.n && i < t64.n; i++) {
        differ += strcmp(t5.path[i], t64.path[i]) || t5.decision[i] != t64.decision[i];
        for (int q = 0; q < 3; q++)
            differ += fabs(t5.p[i * 3 + q] - t64.p[i * 3 + q]) > 1e-5;
        passes += t5.decision[i] == WN_CLS_PASS;
    }
    CHECK_MSG(differ == 0, "%d rows differ between batch 5 and batch 64", differ);
    CHECK_MSG(passes > 0 && passes < t5.n, "%d of %d photos pass: both decisions should occur", passes, t5.n);
    tdu_report_free(&t5);
    tdu_report_free(&t64);
    test_two_models(a_wnet, b_wnet, a_csv);
    test_audit(a_csv);
    test_labels_manifest(a_wnet);
    test_resume(a_wnet, a_csv);
    test_shards(a_wnet, a_csv);
    free(a_wnet);
    free(b_wnet);
    free(a_csv);
    return wn_test_done();
}
