/* test_deploy_units.c - the pieces of `weldnet classify` one by one: name escaping (random bytes
 * round-trip, valid UTF-8 kept), shards (a partition, balanced), the folder walk (the same photos
 * as a brute-force listing, in strcmp order of the whole path, links and loops), the report
 * layout (header round-trip), the reader (partial last row, malformed rows), the decision's
 * suspected defects, and the prior-shift EM (recovers known priors; its fixed point is the
 * likelihood maximum found by a grid search; the spill file gives the in-memory result). */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test_deploy_util.h"

static void test_escape(void) {
    uint32_t s = 1;
    int bad = 0;
    for (int round = 0; round < 2000; round++) {
        char raw[64];
        int n = 1 + round % 60;
        for (int i = 0; i < n; i++) {
            s = s * 1664525u + 1013904223u;
            raw[i] = (char)(s >> 24);
            if (!raw[i]) raw[i] = 'x';
        }
        char *esc = wn_cls_escape(raw, (size_t)n, ";:");
        for (char *p = esc; *p; p++) bad += (unsigned char)*p < 0x20 || *p == ';' || *p == ':';
        char *back;
        size_t len;
        wn_err e = {0};
        bad += wn_cls_unescape(esc, strlen(esc), &back, &len, &e) != WN_OK;
        bad += len != (size_t)n || memcmp(back, raw, (size_t)n) != 0;
        free(esc);
        free(back);
    }
    CHECK(bad == 0);
    const char *s1 = "caf\xc3\xa9 a,b \"q\"", *s2 = "\xed\xa0\x80|\xc0\xaf|%";
    char *e1 = wn_cls_escape(s1, strlen(s1), NULL);
    CHECK(!strcmp(e1, "caf\xc3\xa9 a,b \"q\"")); /* valid UTF-8 and CSV characters stay */
    free(e1);
    char *e2 = wn_cls_escape(s2, strlen(s2), NULL); /* surrogate, overlong, '%' */
    CHECK(!strcmp(e2, "%ED%A0%80|%C0%AF|%25"));
    free(e2);
    char *out;
    wn_err e = {0};
    CHECK(wn_cls_unescape("a%4", 3, &out, NULL, &e) == WN_EINPUT && out == NULL);
    CHECK(wn_cls_unescape("a%00", 4, &out, NULL, &e) == WN_EINPUT);
    CHECK(wn_cls_unescape("a%zz", 4, &out, NULL, &e) == WN_EINPUT);
}

static void test_shards(void) {
    int i, n;
    wn_err e = {0};
    CHECK(wn_cls_shard_parse("2/8", &i, &n, &e) == WN_OK && i == 2 && n == 8);
    const char *bad[] = {"0/3", "4/3", "1/0", "1", "a/b", "1/3x", "-1/3", ""};
    for (int k = 0; k < 8; k++) CHECK(wn_cls_shard_parse(bad[k], &i, &n, &e) == WN_EINPUT);
    long count[5] = {0}, twice = 0;
    char rel[64];
    for (int k = 0; k < 20000; k++) {
        snprintf(rel, sizeof rel, "day%03d/cam%d/img_%05d.jpg", k / 1000, k % 3, k);
        int hits = 0;
        for (int s = 1; s <= 5; s++)
            if (wn_cls_shard_member(rel, s, 5)) hits++, count[s - 1]++;
        twice += hits != 1;
        CHECK(wn_cls_shard_member(rel, 1, 1));
    }
    CHECK(twice == 0);
    for (int s = 0; s < 5; s++) CHECK_MSG(count[s] > 3700 && count[s] < 4300, "shard %d: %ld", s, count[s]);
}

/* ---- the walk ---- */

static char **g_list;
static int g_n;

static void brute(const char *dir) {
    DIR *d = opendir(dir);
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.') continue;
        char p[2048];
        snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
        struct stat st;
        lstat(p, &st);
        if (S_ISDIR(st.st_mode)) brute(p);
        else if (S_ISREG(st.st_mode)) g_list[g_n++] = strdup(p);
    }
    closedir(d);
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char **)a, *(char **)b); }

static void touch(const char *root, const char *rel) {
    char p[2048];
    snprintf(p, sizeof p, "%s/%s", root, rel);
    for (char *q = p + strlen(root) + 1; *q; q++)
        if (*q == '/') {
            *q = '\0';
            mkdir(p, 0755);
            *q = '/';
        }
    tdu_save(p, "x", 1);
}

static void test_walk(const char *tmp) {
    char root[600];
    snprintf(root, sizeof root, "%s/tree", tmp);
    mkdir(root, 0755);
    const char *files[] = {"a/x.png", "a/y/z.png", "a-b/c.png", "a.b", "a0/d.jpg", "a b/e.png",
                           "A/f.png", "\xff/g.png", "a/y-/h.png", "a/y.png", "b", "a/.hid/i.png",
                           "deep/1/2/3/4/5/6/7/8/9/j.png", "a-", "a/-", "ab/k.PNG"};
    int nf = (int)(sizeof files / sizeof files[0]);
    for (int i = 0; i < nf; i++) touch(root, files[i]);
    char p[700];
    snprintf(p, sizeof p, "%s/zlink", root);
    CHECK(symlink("a", p) == 0); /* a link to a folder already searched */
    snprintf(p, sizeof p, "%s/a/y/up", root);
    CHECK(symlink("../..", p) == 0); /* a loop */
    g_list = calloc(64, sizeof(char *));
    g_n = 0;
    brute(root);
    qsort(g_list, (size_t)g_n, sizeof(char *), cmp_str);
    wn_walk *w;
    wn_err e = {0};
    const char *roots[1] = {root};
    CHECK(wn_walk_open(roots, 1, &w, &e) == WN_OK);
    wn_walk_item it;
    int k = 0, order = 0, differ = 0;
    char prev[2048] = "";
    while (wn_walk_next(w, &it)) {
        order += k > 0 && strcmp(prev, it.path) >= 0;
        differ += k >= g_n || strcmp(g_list[k], it.path) != 0;
        CHECK(!strncmp(it.path, root, strlen(root)) && it.rel == it.path + strlen(root) + 1);
        snprintf(prev, sizeof prev, "%s", it.path);
        k++;
    }
    CHECK_MSG(k == g_n && differ == 0 && order == 0, "walk: %d items (%d expected), %d differ, %d out of order",
              k, g_n, differ, order);
    CHECK(wn_walk_revisits(w) == 2); /* zlink and the loop */
    wn_walk_free(w);
    for (int i = 0; i < g_n; i++) free(g_list[i]);
    free(g_list);
    /* roots: sorted across folders, duplicates dropped, nesting and missing refused */
    snprintf(p, sizeof p, "%s/a/y/up", root);
    CHECK(unlink(p) == 0);
    char r2[700], r3[700];
    snprintf(r2, sizeof r2, "%s/tree/a/", tmp);
    snprintf(r3, sizeof r3, "%s/tree/a-b", tmp);
    const char *two[2] = {r2, r3};
    CHECK(wn_walk_open(two, 2, &w, &e) == WN_OK);
    CHECK(wn_walk_root_count(w) == 2);
    char last[2048] = "";
    int n = 0, sorted = 1;
    while (wn_walk_next(w, &it)) {
        sorted &= strcmp(last, it.path) < 0;
        snprintf(last, sizeof last, "%s", it.path);
        n++;
    }
    CHECK_MSG(sorted && n == 6, "%d photos", n); /* a-b/c; a/: -, x, y-/h, y.png, y/z */
    wn_walk_free(w);
    const char *same[2] = {r2, r2};
    CHECK(wn_walk_open(same, 2, &w, &e) == WN_OK && wn_walk_root_count(w) == 1);
    wn_walk_free(w);
    const char *nested[2] = {root, r2};
    CHECK(wn_walk_open(nested, 2, &w, &e) == WN_EINPUT && strstr(e.msg, "inside"));
    const char *missing[1] = {"/no/such/folder"};
    CHECK(wn_walk_open(missing, 1, &w, &e) == WN_EINPUT && strstr(e.msg, "/no/such/folder"));
}

/* ---- layout and reader ---- */

static void test_layout_reader(const char *tmp) {
    char *c1[3] = {"ok", "scr:atch", "d;ent"}, *c2[2] = {"good", "torn"};
    char *const *classes[2] = {c1, c2};
    char *labels[2] = {"clamps", "ground.v2"};
    int k[2] = {3, 2};
    wn_cls_layout L, back;
    wn_cls_layout_make(&L, 2, labels, k, classes);
    CHECK(L.n_p == 5 && L.n_cols == 11);
    CHECK(!strcmp(L.col[5], "p:clamps:scr%3Aatch") && !strcmp(L.disp[2], "clamps:d%3Bent"));
    wn_err e = {0};
    CHECK(wn_cls_layout_parse(&back, L.col, L.n_cols, "x.csv", &e) == WN_OK);
    CHECK(wn_cls_layout_same(&L, &back) && back.n_models == 2 && back.k[1] == 2);
    wn_cls_layout_free(&back);
    char path[700];
    snprintf(path, sizeof path, "%s/rows.csv", tmp);
    FILE *f = fopen(path, "w");
    CHECK(wn_cls_write_header(f, &L) == 0);
    float p[5] = {0.5f, 0.25f, 0.25f, 0.9f, 0.1f};
    wn_cls_row r = {"/x/a\n,\"b\xff.jpg", WN_CLS_REVIEW, "clamps:scr%3Aatch", "ok", p, "m1;m2", ""};
    CHECK(wn_cls_write_row(f, &L, &r) == 0);
    float q[5] = {NAN, NAN, NAN, NAN, NAN};
    wn_cls_row r2 = {"/x/b.png", WN_CLS_ERROR, "", "", q, "m1;m2", "truncated PNG"};
    CHECK(wn_cls_write_row(f, &L, &r2) == 0);
    fputs("\"/x/c.png\",\"pass\"", f); /* an interrupted row */
    fclose(f);
    wn_cls_reader rd;
    CHECK(wn_cls_reader_open(&rd, path, 0, &e) == WN_OK);
    wn_cls_row got;
    CHECK(wn_cls_reader_next(&rd, &got, &e) == 1);
    CHECK(!strcmp(got.path, r.path) && got.decision == WN_CLS_REVIEW && got.p[3] == 0.9f);
    CHECK(!strcmp(got.defects, r.defects) && !strcmp(got.models, "m1;m2"));
    CHECK(wn_cls_reader_next(&rd, &got, &e) == 1);
    CHECK(got.decision == WN_CLS_ERROR && isnan(got.p[0]) && !strcmp(got.error, "truncated PNG"));
    long long end = rd.end_ok;
    CHECK(wn_cls_reader_next(&rd, &got, &e) == 0 && rd.partial == 1);
    struct stat st;
    stat(path, &st);
    CHECK(end == (long long)st.st_size - 17);
    wn_cls_reader_close(&rd);
    /* malformed rows name the line */
    const char *bad[] = {"\"/x\",\"pass\",\"\",\"\",0.5,0.5\n", "\"/x\",\"maybe\",\"\",\"\",1,0,0,1,0,\"m\",\"\"\n",
                         "\"/x\",\"pass\",\"\",\"\",1,0,0,7,0,\"m\",\"\"\n", "\"/x%G1\",\"pass\",\"\",\"\",1,0,0,1,0,\"m\",\"\"\n",
                         "\"/x\"x,\"pass\",\"\",\"\",1,0,0,1,0,\"m\",\"\"\n"};
    for (int i = 0; i < 5; i++) {
        f = fopen(path, "w");
        wn_cls_write_header(f, &L);
        fputs(bad[i], f);
        fclose(f);
        CHECK(wn_cls_reader_open(&rd, path, 0, &e) == WN_OK);
        CHECK(wn_cls_reader_next(&rd, &got, &e) == -WN_EINPUT);
        CHECK_MSG(strstr(e.msg, "line 2"), "%s", e.msg);
        wn_cls_reader_close(&rd);
    }
    f = fopen(path, "w");
    fputs("\"path\",\"decision\"\n", f);
    fclose(f);
    CHECK(wn_cls_reader_open(&rd, path, 0, &e) == WN_EINPUT && strstr(e.msg, "not a weldnet classify report"));
    wn_cls_layout_free(&L);
}

/* ---- decisions ---- */

static void test_decide(void) {
    char *c[3] = {"ok", "scratch", "dent"};
    char *const *classes[1] = {c};
    char *labels[1] = {"m"};
    int k[1] = {3};
    wn_cls_layout L;
    wn_cls_layout_make(&L, 1, labels, k, classes);
    float thr_pc[3] = {INFINITY, 0.3f, 0.2f}, thr_pool[3] = {0.4f, INFINITY, INFINITY};
    wn_cls_model m = {0};
    m.k = 3;
    wn_cls_models ms = {0};
    ms.n = 1;
    ms.m = &m;
    struct {
        float *thr, row[3];
        int decision;
        const char *defects;
    } cases[] = {
        {thr_pc, {0.5f, 0.35f, 0.15f}, WN_CLS_REVIEW, "scratch"},
        {thr_pc, {0.5f, 0.1f, 0.4f}, WN_CLS_REVIEW, "dent"},
        {thr_pc, {0.2f, 0.3f, 0.5f}, WN_CLS_REVIEW, "dent;scratch"}, /* 0.3 >= 0.3: at threshold */
        {thr_pc, {0.6f, 0.29f, 0.11f}, WN_CLS_PASS, ""},
        {thr_pool, {0.5f, 0.2f, 0.3f}, WN_CLS_REVIEW, "dent"}, /* pooled decided: top defect */
        {thr_pool, {0.7f, 0.2f, 0.1f}, WN_CLS_PASS, ""},
    };
    for (int i = 0; i < 6; i++) {
        m.thr = cases[i].thr;
        const float *rows[1] = {cases[i].row};
        char d[64];
        int dec = wn_cls_decide(&ms, &L, rows, d, sizeof d);
        CHECK_MSG(dec == cases[i].decision && !strcmp(d, cases[i].defects), "case %d: %d '%s'", i, dec, d);
    }
    wn_cls_layout_free(&L);
}

/* ---- prior shift ---- */

static double normal_pdf(double x, double mu) { return exp(-0.5 * (x - mu) * (x - mu)); }

/* n photos drawn with class shares pi from unit Gaussians at 0, 1.5, 3; their posteriors under
 * uniform priors (what a perfect calibrated model outputs) into p (n, 3). */
static void synth(long n, const double *pi, uint64_t seed, float *p) {
    wn_rng r;
    wn_rng_seed(&r, seed, 1);
    const double mu[3] = {0, 1.5, 3};
    for (long i = 0; i < n; i++) {
        double u = wn_rng_uniform(&r);
        int c = u < pi[0] ? 0 : u < pi[0] + pi[1] ? 1 : 2;
        double a = wn_rng_uniform(&r), b = wn_rng_uniform(&r);
        double x = mu[c] + sqrt(-2 * log(a + 1e-300)) * cos(6.283185307179586 * b);
        double s = 0, l[3];
        for (int j = 0; j < 3; j++) s += l[j] = normal_pdf(x, mu[j]);
        for (int j = 0; j < 3; j++) p[i * 3 + j] = (float)(l[j] / s);
    }
}

static double loglik(const float *p, long n, const double *pi) {
    double L = 0;
    for (long i = 0; i < n; i++) L += log(p[i * 3] * pi[0] + p[i * 3 + 1] * pi[1] + p[i * 3 + 2] * pi[2]);
    return L;
}

static void test_prior(const char *tmp) {
    const double train[3] = {0.8, 0.1, 0.1}, shifted[3] = {0.4, 0.35, 0.25};
    long n = 40000;
    float *p = malloc((size_t)n * 3 * sizeof(float));
    synth(n, shifted, 5, p);
    double est[3];
    int it = wn_cls_prior_em_mem(p, n, 3, 3, train, 1e-9, 5000, est);
    CHECK(it > 1 && it < 5000);
    for (int j = 0; j < 3; j++) CHECK_CLOSE(est[j], shifted[j], 0.02, 0);
    /* no shift: the estimate stays at the training shares */
    synth(n, train, 6, p);
    wn_cls_prior_em_mem(p, n, 3, 3, train, 1e-9, 5000, est);
    for (int j = 0; j < 3; j++) CHECK_CLOSE(est[j], train[j], 0.015, 0);
    /* the EM fixed point is the maximum likelihood estimate: a grid search agrees */
    long m = 3000;
    synth(m, shifted, 7, p);
    wn_cls_prior_em_mem(p, m, 3, 3, NULL, 1e-12, 20000, est);
    double best = -INFINITY, arg[3] = {0};
    for (int a = 1; a < 200; a++)
        for (int b = 1; a + b < 200; b++) {
            double pi[3] = {a / 200.0, b / 200.0, (200 - a - b) / 200.0};
            double L = loglik(p, m, pi);
            if (L > best) best = L, arg[0] = pi[0], arg[1] = pi[1], arg[2] = pi[2];
        }
    CHECK(loglik(p, m, est) >= best - 1e-9);
    for (int j = 0; j < 3; j++) CHECK_CLOSE(est[j], arg[j], 0.006, 0);
    /* the streamed version over a tally's spill file gives the same estimate */
    char *c[3] = {"ok", "scratch", "dent"}, *d[2] = {"good", "torn"};
    char *const *classes[2] = {c, d};
    char *labels[2] = {"a", "b"};
    int k[2] = {3, 2};
    wn_cls_layout L;
    wn_cls_layout_make(&L, 2, labels, k, classes);
    wn_cls_tally t;
    wn_err e = {0};
    CHECK(wn_cls_tally_init(&t, &L, NULL, &e) == WN_OK);
    float row[5];
    for (long i = 0; i < 10000; i++) {
        memcpy(row, p + (i % m) * 3, 3 * sizeof(float));
        row[3] = 0.5f, row[4] = 0.5f;
        wn_cls_row r = {"x", WN_CLS_REVIEW, "a:dent", "", row, "", ""};
        CHECK(wn_cls_tally_add(&t, &r, &e) == WN_OK);
    }
    float *rep = malloc(10000 * 3 * sizeof(float));
    for (long i = 0; i < 10000; i++) memcpy(rep + i * 3, p + (i % m) * 3, 3 * sizeof(float));
    double a[3], b[3];
    int iters;
    wn_cls_prior_em_mem(rep, 10000, 3, 3, train, 1e-9, 5000, a);
    CHECK(wn_cls_prior_em_spill(&t, 0, 3, train, 1e-9, 5000, b, &iters, &e) == WN_OK);
    for (int j = 0; j < 3; j++) CHECK_CLOSE(a[j], b[j], 1e-12, 0);
    CHECK(t.review_by[2] == 10000 && t.rows == 10000);
    wn_cls_tally_free(&t);
    wn_cls_layout_free(&L);
    free(rep);
    free(p);
    (void)tmp;
}

int main(void) {
    const char *tmp = wn_test_tmpdir("test_deploy_units");
    char dir[600];
    snprintf(dir, sizeof dir, "%s", tmp);
    test_escape();
    test_shards();
    test_walk(dir);
    test_layout_reader(dir);
    test_decide();
    test_prior(dir);
    return wn_test_done();
}
