/* test_data.c - tests of wn_data.h: folder scan (class order, nesting, hidden files, symlink
 * loops, fixed class lists), CSV manifests, every input error, the stratified split, the decoded
 * cache (pixels, channels, bad photos, threads, mmap storage), stats and batch assembly. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "data/data_internal.h"
#include "wn_data.h"
#include "wn_image.h"
#include "wn_test.h"

/* ---------- helpers ---------- */

static char *xpath(const char *dir, const char *name) {
    return wn_xstrdup(wn_test_path(dir, name));
}

static void mkdir_p(const char *dir, const char *rel) {
    char *p = xpath(dir, rel);
    for (char *s = p + 1; *s; s++)
        if (*s == '/') {
            *s = '\0';
            mkdir(p, 0755);
            *s = '/';
        }
    mkdir(p, 0755);
    free(p);
}

/* Writes a w x h PNG with c channels; pixel (y, x, k) = f(y, x, k). */
typedef int (*pix_fn)(int y, int x, int k);
static void write_png(const char *dir, const char *rel, int w, int h, int c, pix_fn f) {
    uint8_t *pix = malloc((size_t)w * h * c); /* (H, W, C) */
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            for (int k = 0; k < c; k++) pix[((size_t)y * w + x) * c + k] = (uint8_t)f(y, x, k);
    wn_err e;
    wn_err_clear(&e);
    char *p = xpath(dir, rel);
    int rc = wn_png_write(p, w, h, c, pix, &e);
    CHECK_MSG(rc == WN_OK, "wn_png_write %s: %s", p, e.msg);
    free(p);
    free(pix);
}

static void write_text(const char *dir, const char *rel, const char *text) {
    char *p = xpath(dir, rel);
    CHECK(wn_test_write_file(p, text, strlen(text)) == 0);
    free(p);
}

static int f_const_rgb(int y, int x, int k) { (void)y, (void)x; return k == 0 ? 10 : k == 1 ? 200 : 30; }
static int f_grey77(int y, int x, int k) { (void)y, (void)x, (void)k; return 77; }
static int f_halves(int y, int x, int k) { (void)y, (void)k; return x < 4 ? 0 : 255; }
static int f_any(int y, int x, int k) { return (y * 31 + x * 7 + k * 50) & 255; }

static int has(const char *msg, const char *part) { return strstr(msg, part) != NULL; }

static int find_path(const wn_dataset *ds, const char *path) {
    for (int i = 0; i < ds->n; i++)
        if (strcmp(ds->items[i].path, path) == 0) return i;
    return -1;
}

/* Opens expecting failure; checks the message holds every given part. */
static void expect_open_error(const char *path, const char *const *classes, int n_fixed,
                              const char *part1, const char *part2) {
    wn_dataset ds;
    wn_err e;
    wn_err_clear(&e);
    int rc = wn_dataset_open(path, classes, n_fixed, NULL, &ds, &e);
    CHECK_MSG(rc == WN_EINPUT, "%s: expected an input error, got %d (%s)", path, rc, e.msg);
    CHECK_MSG(has(e.msg, part1), "message '%s' lacks '%s'", e.msg, part1);
    if (part2) CHECK_MSG(has(e.msg, part2), "message '%s' lacks '%s'", e.msg, part2);
    CHECK(ds.n == 0 && ds.items == NULL && ds.class_names == NULL);
    wn_dataset_free(&ds);
}

/* ---------- folder ---------- */

static void test_folder(const char *tmp) {
    char *root = xpath(tmp, "photos");
    mkdir_p(root, "ok/sub/deeper");
    mkdir_p(root, "ok/.hiddendir");
    mkdir_p(root, "no_clamp");
    mkdir_p(root, "porosity");
    mkdir_p(root, ".cache");
    write_png(root, "ok/a.png", 4, 4, 3, f_any);
    write_png(root, "ok/B.PNG", 4, 4, 3, f_any);
    write_png(root, "ok/sub/c.png", 4, 4, 1, f_any);
    write_png(root, "ok/sub/deeper/d.Jpg", 4, 4, 3, f_any);
    write_png(root, "ok/.hidden.png", 4, 4, 3, f_any);
    write_png(root, "ok/.hiddendir/x.png", 4, 4, 3, f_any);
    write_text(root, "ok/notes.txt", "not a photo");
    write_png(root, "no_clamp/x.jpeg", 4, 4, 3, f_any);
    write_png(root, "no_clamp/y.JPEG", 4, 4, 3, f_any);
    write_png(root, "porosity/p1.png", 4, 4, 3, f_any);
    write_png(root, ".cache/z.png", 4, 4, 3, f_any);
    write_text(root, "README.txt", "loose file at the top");
    char *loop = xpath(root, "ok/sub/loop"), *dangling = xpath(root, "ok/dangling.txt");
    CHECK(symlink("..", loop) == 0);            /* ok/sub/loop -> ok: a loop */
    CHECK(symlink("nowhere", dangling) == 0);   /* dangling, not a photo name */

    wn_dataset ds;
    wn_err e;
    wn_err_clear(&e);
    int rc = wn_dataset_open(root, NULL, 0, NULL, &ds, &e);
    CHECK_MSG(rc == WN_OK, "%s", e.msg);
    if (rc != WN_OK) return;
    CHECK(ds.n == 7);
    CHECK(ds.n_classes == 3);
    if (ds.n_classes == 3) {
        CHECK(strcmp(ds.class_names[0], "ok") == 0);
        CHECK(strcmp(ds.class_names[1], "no_clamp") == 0);
        CHECK(strcmp(ds.class_names[2], "porosity") == 0);
        long counts[3];
        wn_dataset_counts(&ds, counts);
        CHECK(counts[0] == 4 && counts[1] == 2 && counts[2] == 1);
    }
    CHECK(strcmp(ds.source, root) == 0);
    for (int i = 1; i < ds.n; i++) CHECK(strcmp(ds.items[i - 1].path, ds.items[i].path) < 0);
    char *deep = xpath(root, "ok/sub/deeper/d.Jpg"), *upper = xpath(root, "ok/B.PNG");
    int i_deep = find_path(&ds, deep), i_up = find_path(&ds, upper);
    CHECK(i_deep >= 0 && i_up >= 0);
    if (i_deep >= 0) CHECK(ds.items[i_deep].label == 0);
    for (int i = 0; i < ds.n; i++) {
        CHECK(!has(ds.items[i].path, "/."));
        CHECK(!has(ds.items[i].path, "loop"));
    }
    int first_nc = find_path(&ds, wn_test_path(root, "no_clamp/x.jpeg"));
    CHECK(first_nc >= 0 && ds.items[first_nc].label == 1);
    wn_dataset_free(&ds);
    CHECK(ds.n == 0 && ds.items == NULL);

    /* another ok class name moves that class first; an absent one leaves strcmp order */
    rc = wn_dataset_open(root, NULL, 0, "porosity", &ds, &e);
    CHECK(rc == WN_OK && ds.n_classes == 3);
    if (rc == WN_OK) {
        CHECK(strcmp(ds.class_names[0], "porosity") == 0);
        CHECK(strcmp(ds.class_names[1], "no_clamp") == 0);
        CHECK(strcmp(ds.class_names[2], "ok") == 0);
        CHECK(ds.items[find_path(&ds, deep)].label == 2);
    }
    wn_dataset_free(&ds);
    rc = wn_dataset_open(root, NULL, 0, "good", &ds, &e);
    CHECK(rc == WN_OK && strcmp(ds.class_names[0], "no_clamp") == 0);
    wn_dataset_free(&ds);

    /* a trailing slash gives the same paths */
    char *slashed = xpath(root, "");
    rc = wn_dataset_open(slashed, NULL, 0, NULL, &ds, &e);
    CHECK(rc == WN_OK && ds.n == 7 && find_path(&ds, deep) >= 0);
    wn_dataset_free(&ds);

    /* fixed class list: the model's order, a missing class folder counts 0 */
    const char *fixed[] = {"porosity", "crack", "ok", "no_clamp"};
    rc = wn_dataset_open(root, fixed, 4, NULL, &ds, &e);
    CHECK_MSG(rc == WN_OK, "%s", e.msg);
    if (rc == WN_OK) {
        CHECK(ds.n_classes == 4 && ds.n == 7);
        for (int k = 0; k < 4; k++) CHECK(strcmp(ds.class_names[k], fixed[k]) == 0);
        long counts[4];
        wn_dataset_counts(&ds, counts);
        CHECK(counts[0] == 1 && counts[1] == 0 && counts[2] == 4 && counts[3] == 2);
        CHECK(ds.items[find_path(&ds, deep)].label == 2);
    }
    wn_dataset_free(&ds);
    /* a folder outside the list is an error naming it */
    const char *two[] = {"ok", "no_clamp"};
    char *por = xpath(root, "porosity");
    expect_open_error(root, two, 2, por, "not one of the model's classes: ok, no_clamp");

    free(root);
    free(loop);
    free(dangling);
    free(deep);
    free(upper);
    free(slashed);
    free(por);
}

/* Linked class folders and linked photos are followed; a folder reached twice counts once. */
static void test_links(const char *tmp) {
    char *root = xpath(tmp, "linked"), *outside = xpath(tmp, "outside");
    mkdir_p(root, "ok");
    mkdir_p(outside, "sub");
    write_png(root, "ok/a.png", 2, 2, 1, f_any);
    write_png(outside, "d1.png", 2, 2, 1, f_any);
    write_png(outside, "sub/d2.png", 2, 2, 1, f_any);
    char *cls = xpath(root, "crack"), *lnk = xpath(root, "ok/b.png"), *back = xpath(outside, "again");
    CHECK(symlink(outside, cls) == 0);                    /* a class folder elsewhere */
    CHECK(symlink(wn_test_path(outside, "d1.png"), lnk) == 0); /* a linked photo */
    CHECK(symlink(outside, back) == 0);                   /* outside/again -> outside */
    wn_dataset ds;
    wn_err e;
    int rc = wn_dataset_open(root, NULL, 0, NULL, &ds, &e);
    CHECK_MSG(rc == WN_OK, "%s", e.msg);
    if (rc == WN_OK) {
        long counts[2];
        CHECK(ds.n_classes == 2 && strcmp(ds.class_names[0], "ok") == 0);
        wn_dataset_counts(&ds, counts);
        CHECK(counts[0] == 2 && counts[1] == 2);
        CHECK(find_path(&ds, wn_test_path(root, "crack/sub/d2.png")) >= 0);
    }
    wn_dataset_free(&ds);
    free(root), free(outside), free(cls), free(lnk), free(back);
}

static void test_folder_errors(const char *tmp) {
    char *missing = xpath(tmp, "no_such_folder");
    expect_open_error(missing, NULL, 0, missing, "no such");
    free(missing);

    char *photo = xpath(tmp, "single.png");
    write_png(tmp, "single.png", 2, 2, 1, f_any);
    expect_open_error(photo, NULL, 0, photo, "not a folder");
    free(photo);

    char *empty = xpath(tmp, "empty");
    mkdir_p(tmp, "empty");
    write_png(empty, "loose.png", 2, 2, 1, f_any); /* photos directly inside do not make classes */
    expect_open_error(empty, NULL, 0, empty, "no class subfolders");
    free(empty);

    char *root = xpath(tmp, "one_empty");
    mkdir_p(root, "ok");
    mkdir_p(root, "no_clamp/sub");
    write_png(root, "ok/a.png", 2, 2, 1, f_any);
    write_text(root, "no_clamp/readme.txt", "x");
    write_png(root, "no_clamp/sub/.hidden.png", 2, 2, 1, f_any);
    char *nc = xpath(root, "no_clamp");
    char want[4200];
    snprintf(want, sizeof want, "%s: class folder holds no photos (.jpg, .jpeg, .png)", nc);
    expect_open_error(root, NULL, 0, want, NULL);
    free(nc);
    free(root);

    /* bad fixed lists */
    char *ok_root = xpath(tmp, "photos");
    const char *dup[] = {"ok", "ok"};
    expect_open_error(ok_root, dup, 2, "twice", NULL);
    expect_open_error(ok_root, dup, 0, "empty", NULL);
    free(ok_root);
    expect_open_error("", NULL, 0, "no data folder", NULL);
}

/* ---------- manifest ---------- */

static void test_manifest(const char *tmp) {
    char *dir = xpath(tmp, "man");
    mkdir_p(tmp, "man");
    char csv[2048];
    snprintf(csv, sizeof csv,
             "\xEF\xBB\xBF" "label,note,path\r\n"
             "no_clamp,\"a note, with comma\",\"img, 1.png\"\r\n"
             "ok,x,sub/b.png\r\n"
             "\r\n"
             "ok,\"multi\nline \"\"note\"\"\",\"say \"\"hi\"\".png\"\r\n"
             "porosity,,%s/abs.png\r\n"
             "ok,y,c.png",
             tmp);
    write_text(dir, "manifest.csv", csv);
    char *man = xpath(dir, "manifest.csv");
    wn_dataset ds;
    wn_err e;
    wn_err_clear(&e);
    int rc = wn_dataset_open(man, NULL, 0, NULL, &ds, &e);
    CHECK_MSG(rc == WN_OK, "%s", e.msg);
    CHECK(ds.n == 5 && ds.n_classes == 3);
    if (rc == WN_OK && ds.n == 5 && ds.n_classes == 3) {
        CHECK(strcmp(ds.class_names[0], "ok") == 0);
        CHECK(strcmp(ds.class_names[1], "no_clamp") == 0);
        CHECK(strcmp(ds.class_names[2], "porosity") == 0);
        char *p1 = xpath(dir, "img, 1.png"), *p2 = xpath(dir, "say \"hi\".png");
        char *p3 = xpath(tmp, "abs.png"), *p4 = xpath(dir, "sub/b.png");
        int i1 = find_path(&ds, p1), i2 = find_path(&ds, p2), i3 = find_path(&ds, p3),
            i4 = find_path(&ds, p4);
        CHECK(i1 >= 0 && i2 >= 0 && i3 >= 0 && i4 >= 0);
        if (i1 >= 0) CHECK(ds.items[i1].label == 1);
        if (i2 >= 0) CHECK(ds.items[i2].label == 0);
        if (i3 >= 0) CHECK(ds.items[i3].label == 2);
        for (int i = 1; i < ds.n; i++) CHECK(strcmp(ds.items[i - 1].path, ds.items[i].path) < 0);
        CHECK(strcmp(ds.source, man) == 0);
        free(p1), free(p2), free(p3), free(p4);
    }
    wn_dataset_free(&ds);

    /* fixed list and a manifest given by a relative name (paths stay relative) */
    const char *fixed[] = {"ok", "no_clamp", "porosity", "crack"};
    rc = wn_dataset_open(man, fixed, 4, NULL, &ds, &e);
    CHECK_MSG(rc == WN_OK && ds.n_classes == 4 && ds.n == 5, "%s", e.msg);
    wn_dataset_free(&ds);
    char cwd[4096];
    if (getcwd(cwd, sizeof cwd) && chdir(dir) == 0) {
        rc = wn_dataset_open("manifest.csv", NULL, 0, NULL, &ds, &e);
        CHECK(rc == WN_OK && find_path(&ds, "sub/b.png") >= 0);
        wn_dataset_free(&ds);
        CHECK(chdir(cwd) == 0);
    }
    free(man);
    free(dir);
}

/* Writes a manifest and expects an error naming it, the line and the problem. */
static void bad_manifest(const char *tmp, const char *name, const char *text,
                         const char *const *fixed, int n_fixed, int line, const char *problem) {
    write_text(tmp, name, text);
    char *p = xpath(tmp, name);
    char want[4200];
    if (line > 0)
        snprintf(want, sizeof want, "%s line %d: ", p, line);
    else
        snprintf(want, sizeof want, "%s: ", p);
    expect_open_error(p, fixed, n_fixed, want, problem);
    free(p);
}

static void test_manifest_errors(const char *tmp) {
    bad_manifest(tmp, "m1.csv", "path,class\na.png,ok\n", NULL, 0, 1, "no 'label' column");
    bad_manifest(tmp, "m2.csv", "file,label\na.png,ok\n", NULL, 0, 1, "no 'path' column");
    bad_manifest(tmp, "m3.csv", "path,label\na.png,ok\nb.png\n", NULL, 0, 3, "row has 1 field");
    bad_manifest(tmp, "m4.csv", "path,label\n\"\",ok\n", NULL, 0, 2, "empty path");
    bad_manifest(tmp, "m5.csv", "path,label\na.png,ok\nb.png,\n", NULL, 0, 3, "empty label");
    const char *fixed[] = {"ok", "no_clamp"};
    bad_manifest(tmp, "manifest.csv",
                 "path,label\na,ok\nb,ok\nc,no_clamp\n\"d\ne\",ok\ng,foo\n", fixed, 2, 7,
                 "label 'foo' is not one of the model's classes: ok, no_clamp");
    bad_manifest(tmp, "m6.csv", "path,label\na.png,ok\nb\"x\".png,ok\n", NULL, 0, 3, "parse error");
    bad_manifest(tmp, "m7.csv", "path,label\na.png,ok\n\"b.png,ok\n", NULL, 0, 3, "parse error");
    bad_manifest(tmp, "m8.csv", "path,label\n", NULL, 0, 0, "lists no photos");
    bad_manifest(tmp, "m9.csv", "", NULL, 0, 0, "empty manifest");
    bad_manifest(tmp, "m10.csv", "path,label\na.png,ok\nb.png,ok\na.png,no\n", NULL, 0, 4,
                 "already listed on line 2");
    bad_manifest(tmp, "m12.csv", " path , label ,x\na.png,ok\n\"b.png\"\n", NULL, 0, 3, "row has 1 field");
    bad_manifest(tmp, "m11.csv", "path,label,Path\na.png,ok,x\n", NULL, 0, 1, "twice");
}

/* ---------- split ---------- */

static void make_ds(wn_dataset *ds, const int *per_class, int k) {
    memset(ds, 0, sizeof *ds);
    int n = 0;
    for (int c = 0; c < k; c++) n += per_class[c];
    ds->n = n;
    ds->n_classes = k;
    ds->items = wn_xcalloc((size_t)n, sizeof(wn_sample));
    ds->class_names = wn_xcalloc((size_t)k, sizeof(char *));
    ds->source = wn_xstrdup("made/up");
    char buf[64];
    for (int c = 0; c < k; c++) {
        snprintf(buf, sizeof buf, "class%d", c);
        ds->class_names[c] = wn_xstrdup(buf);
    }
    /* interleave the classes so the split must really stratify */
    int i = 0, left[8];
    memcpy(left, per_class, (size_t)k * sizeof(int));
    while (i < n)
        for (int c = 0; c < k; c++)
            if (left[c] > 0) {
                snprintf(buf, sizeof buf, "p/%06d.png", i);
                ds->items[i].path = wn_xstrdup(buf);
                ds->items[i++].label = c;
                left[c]--;
            }
}

static int same_split(const wn_dataset *a, const wn_dataset *b) {
    if (a->n != b->n) return 0;
    for (int i = 0; i < a->n; i++)
        if (strcmp(a->items[i].path, b->items[i].path) || a->items[i].label != b->items[i].label)
            return 0;
    return 1;
}

static void test_split(void) {
    const int per[] = {100, 10, 1, 2, 3};
    wn_dataset ds;
    make_ds(&ds, per, 5);
    wn_dataset tr, va, tr2, va2, tr3, va3;
    wn_dataset_split(&ds, 0.2, 42, &tr, &va);
    long ct[5], cv[5];
    wn_dataset_counts(&tr, ct);
    wn_dataset_counts(&va, cv);
    CHECK(cv[0] == 20 && cv[1] == 2 && cv[2] == 0 && cv[3] == 1 && cv[4] == 1);
    for (int k = 0; k < 5; k++) CHECK(ct[k] + cv[k] == per[k]);
    CHECK(tr.n + va.n == ds.n);
    CHECK(tr.n_classes == 5 && va.n_classes == 5 && strcmp(va.class_names[4], "class4") == 0);
    CHECK(tr.class_names[0] != ds.class_names[0] && strcmp(tr.source, "made/up") == 0);
    /* disjoint, and together every photo once, each in dataset (path) order */
    int both = 0;
    for (int i = 0; i < va.n; i++) {
        CHECK(find_path(&ds, va.items[i].path) >= 0);
        if (find_path(&tr, va.items[i].path) >= 0) both++;
        if (i) CHECK(strcmp(va.items[i - 1].path, va.items[i].path) < 0);
        CHECK(va.items[i].path != ds.items[find_path(&ds, va.items[i].path)].path);
    }
    CHECK(both == 0);
    for (int i = 1; i < tr.n; i++) CHECK(strcmp(tr.items[i - 1].path, tr.items[i].path) < 0);
    /* deterministic for a seed, different for another */
    wn_dataset_split(&ds, 0.2, 42, &tr2, &va2);
    CHECK(same_split(&tr, &tr2) && same_split(&va, &va2));
    wn_dataset_split(&ds, 0.2, 43, &tr3, &va3);
    CHECK(!same_split(&va, &va3));
    wn_dataset_free(&tr2), wn_dataset_free(&va2), wn_dataset_free(&tr3), wn_dataset_free(&va3);
    wn_dataset_free(&tr), wn_dataset_free(&va);

    /* large fraction still leaves one for training; zero sends none */
    wn_dataset_split(&ds, 0.99, 1, &tr, &va);
    wn_dataset_counts(&tr, ct);
    CHECK(ct[0] == 1 && ct[1] == 1 && ct[2] == 1 && ct[3] == 1 && ct[4] == 1);
    wn_dataset_free(&tr), wn_dataset_free(&va);
    wn_dataset_split(&ds, 0.0, 1, &tr, &va);
    CHECK(tr.n == ds.n && va.n == 0);
    wn_dataset_free(&tr), wn_dataset_free(&va);
    /* the input may be one of the outputs */
    wn_dataset all = ds;
    wn_dataset_split(&all, 0.5, 7, &ds, &va);
    CHECK(ds.n + va.n == all.n);
    wn_dataset_free(&all);
    wn_dataset_free(&ds), wn_dataset_free(&va);
}

/* ---------- cache ---------- */

static int same_cache(const wn_cache *a, const wn_cache *b) {
    return a->n == b->n && a->bytes == b->bytes && memcmp(a->pix, b->pix, a->bytes) == 0 &&
           memcmp(a->labels, b->labels, (size_t)a->n * sizeof(int32_t)) == 0 &&
           memcmp(a->index, b->index, (size_t)a->n * sizeof(int)) == 0;
}

static void test_cache(const char *tmp) {
    char *root = xpath(tmp, "cache");
    mkdir_p(root, "ok");
    mkdir_p(root, "no_clamp");
    write_png(root, "ok/const.png", 8, 6, 3, f_const_rgb);
    write_png(root, "ok/grey.png", 5, 7, 1, f_grey77);
    write_png(root, "no_clamp/two.png", 8, 8, 3, f_halves);
    write_text(root, "ok/zero.png", "");
    write_text(root, "ok/text.png", "this is not a photo at all\n");
    { /* a truncated PNG: half of a real one */
        write_png(root, "no_clamp/full.tmp", 16, 16, 3, f_any);
        uint8_t *buf = NULL;
        size_t len = 0;
        wn_err e;
        char *full = xpath(root, "no_clamp/full.tmp");
        CHECK(wn_read_file(full, 1 << 20, &buf, &len, &e) == WN_OK);
        char *tr = xpath(root, "no_clamp/trunc.png");
        CHECK(wn_test_write_file(tr, buf, len / 2) == 0);
        free(buf), free(full), free(tr);
    }
    wn_dataset ds;
    wn_err e;
    wn_err_clear(&e);
    int rc = wn_dataset_open(root, NULL, 0, NULL, &ds, &e);
    CHECK_MSG(rc == WN_OK && ds.n == 6, "%s", e.msg);
    if (rc != WN_OK) return;
    /* dataset order: no_clamp/trunc, no_clamp/two, ok/const, ok/grey, ok/text, ok/zero */
    wn_cache c1, c2, cm, cg;
    rc = wn_cache_build(&ds, 3, 4, 4, 1, 0, (size_t)1 << 30, NULL, 0, &c1, &e);
    CHECK_MSG(rc == WN_OK, "%s", e.msg);
    CHECK(c1.n == 3 && c1.n_bad == 3 && c1.c == 3 && c1.h == 4 && c1.w == 4 && !c1.mapped);
    CHECK(c1.bytes == 3 * 48);
    if (rc == WN_OK && c1.n == 3 && c1.n_bad == 3) {
        CHECK(c1.index[0] == 1 && c1.index[1] == 2 && c1.index[2] == 3);
        CHECK(c1.labels[0] == 1 && c1.labels[1] == 0 && c1.labels[2] == 0);
        const char *bad_names[] = {"no_clamp/trunc.png", "ok/text.png", "ok/zero.png"};
        for (int i = 0; i < 3; i++) {
            const char *p = wn_test_path(root, bad_names[i]);
            size_t lp = strlen(p);
            CHECK_MSG(strncmp(c1.bad[i], p, lp) == 0 && c1.bad[i][lp] == ':', "%s", c1.bad[i]);
            CHECK_MSG(strstr(c1.bad[i] + lp, p) == NULL, "path doubled: %s", c1.bad[i]);
        }
        /* the 2-colour photo: left half black, right half white, in every channel */
        const uint8_t *two = c1.pix; /* (3, 4, 4) */
        int ok_two = 1;
        for (int k = 0; k < 3; k++)
            for (int y = 0; y < 4; y++)
                for (int x = 0; x < 4; x++)
                    if (two[(k * 4 + y) * 4 + x] != (x < 2 ? 0 : 255)) ok_two = 0;
        CHECK(ok_two);
        /* constant colour stays constant after resizing, channel by channel */
        const uint8_t *cst = c1.pix + 48;
        int ok_c = 1;
        for (int k = 0; k < 3; k++)
            for (int j = 0; j < 16; j++) ok_c &= cst[k * 16 + j] == (k == 0 ? 10 : k == 1 ? 200 : 30);
        CHECK(ok_c);
        /* a grey photo is replicated into the three channels */
        const uint8_t *g = c1.pix + 96;
        int ok_g = 1;
        for (int j = 0; j < 48; j++) ok_g &= g[j] == 77;
        CHECK(ok_g);

        /* stats on the known pixels: channel 0 = {0,255 halves; 10; 77} */
        float mean[3], sd[3];
        wn_cache_stats(&c1, mean, sd);
        double v0[3] = {0.5, 10 / 255.0, 77 / 255.0}; /* per-photo channel-0 means */
        double m0 = (v0[0] + v0[1] + v0[2]) / 3;
        double var0 = (8 * (0 - m0) * (0 - m0) + 8 * (1 - m0) * (1 - m0) +
                       16 * (v0[1] - m0) * (v0[1] - m0) + 16 * (v0[2] - m0) * (v0[2] - m0)) / 48;
        CHECK_CLOSE(mean[0], m0, 1e-6, 0);
        CHECK_CLOSE(sd[0], sqrt(var0), 1e-6, 0);
        CHECK_CLOSE(mean[1], (0.5 + 200 / 255.0 + 77 / 255.0) / 3, 1e-6, 0);
    }
    /* two threads, and the file-backed (mmap) storage, give identical caches */
    rc = wn_cache_build(&ds, 3, 4, 4, 2, 0, (size_t)1 << 30, NULL, 0, &c2, &e);
    CHECK(rc == WN_OK && same_cache(&c1, &c2) && c2.n_bad == 3);
    rc = wn_cache_build(&ds, 3, 4, 4, 0, 0, 0, tmp, 1, &cm, &e);
    CHECK_MSG(rc == WN_OK, "%s", e.msg);
    CHECK(rc == WN_OK && cm.mapped && same_cache(&c1, &cm));
    for (int i = 0; rc == WN_OK && i < 3; i++) CHECK(strcmp(cm.bad[i], c1.bad[i]) == 0);
    /* grey: one channel, RGB photos by luma, grey photo as is */
    rc = wn_cache_build(&ds, 1, 4, 4, 2, 0, (size_t)1 << 30, NULL, 0, &cg, &e);
    CHECK(rc == WN_OK && cg.n == 3 && cg.c == 1 && cg.bytes == 48);
    if (rc == WN_OK && cg.n == 3) {
        int ok_g = 1;
        for (int j = 0; j < 16; j++) ok_g &= cg.pix[32 + j] == 77;
        CHECK(ok_g);
        CHECK(cg.pix[0] == 0 && cg.pix[3] == 255);
        int lo = cg.pix[16], uniform = 1; /* constant colour: one grey level, a plausible luma */
        for (int j = 0; j < 16; j++) uniform &= cg.pix[16 + j] == lo;
        CHECK_MSG(uniform && lo > 110 && lo < 150, "grey level %d", lo);
    }
    wn_cache_free(&c1), wn_cache_free(&c2), wn_cache_free(&cm), wn_cache_free(&cg);
    CHECK(c1.pix == NULL && c1.n == 0);

    /* strict: the first unreadable photo (dataset order) is the error */
    wn_cache cs;
    rc = wn_cache_build(&ds, 3, 4, 4, 2, 1, (size_t)1 << 30, NULL, 0, &cs, &e);
    const char *first = wn_test_path(root, "no_clamp/trunc.png");
    CHECK_MSG(rc != WN_OK && strncmp(e.msg, first, strlen(first)) == 0, "%s", e.msg);
    CHECK(cs.pix == NULL && cs.bad == NULL);
    wn_cache_free(&cs);
    rc = wn_cache_build(&ds, 3, 4, 4, 1, 1, 0, tmp, 0, &cs, &e); /* strict, mapped */
    CHECK(rc != WN_OK && has(e.msg, first));
    wn_cache_free(&cs);

    /* a cache folder that does not exist is named */
    char *nodir = xpath(tmp, "no_such_cache_dir");
    rc = wn_cache_build(&ds, 3, 4, 4, 1, 0, 0, nodir, 0, &cs, &e);
    CHECK_MSG(rc == WN_ERUNTIME && has(e.msg, nodir), "%s", e.msg);
    wn_cache_free(&cs);
    free(nodir);
    /* bad shapes */
    CHECK(wn_cache_build(&ds, 2, 4, 4, 1, 0, 1 << 20, NULL, 0, &cs, &e) == WN_EINPUT);
    CHECK(wn_cache_build(&ds, 3, 0, 4, 1, 0, 1 << 20, NULL, 0, &cs, &e) == WN_EINPUT);
    wn_dataset_free(&ds);

    /* every photo unreadable */
    char *allbad = xpath(tmp, "allbad");
    mkdir_p(allbad, "ok");
    write_text(allbad, "ok/a.png", "");
    write_text(allbad, "ok/b.jpg", "nope");
    rc = wn_dataset_open(allbad, NULL, 0, NULL, &ds, &e);
    CHECK(rc == WN_OK && ds.n == 2);
    rc = wn_cache_build(&ds, 3, 4, 4, 2, 0, (size_t)1 << 30, NULL, 0, &cs, &e);
    char want[4200];
    snprintf(want, sizeof want, "no readable photos in %s", allbad);
    CHECK_MSG(rc == WN_EINPUT && has(e.msg, want), "%s", e.msg);
    CHECK(cs.pix == NULL && cs.n_bad == 0);
    wn_dataset_free(&ds);
    free(allbad);
    free(root);
}

/* ---------- stats and batches on a hand-made cache ---------- */

#define HC 2
#define HH 5
#define HW 6

/* Two photos (2, 5, 6) with distinct non-zero values. */
static void make_cache(wn_cache *c, uint8_t *pix, int32_t *labels, int *index) {
    memset(c, 0, sizeof *c);
    c->n = 2, c->c = HC, c->h = HH, c->w = HW;
    for (int i = 0; i < 2 * HC * HH * HW; i++) pix[i] = (uint8_t)(1 + i);
    labels[0] = 3, labels[1] = 1;
    index[0] = 0, index[1] = 1;
    c->pix = pix, c->labels = labels, c->index = index;
    c->bytes = 2 * HC * HH * HW;
}

/* Expected normalised output for offsets (dy, dx) and flip, by the definition. */
static float expect_px(const wn_cache *c, int id, int ch, int r, int q, int pad, int dy, int dx,
                       int flip, const float *mean, const float *sd) {
    int qq = flip ? HW - 1 - q : q;
    int sr = r + dy - pad, sq = qq + dx - pad;
    int v = (sr >= 0 && sr < HH && sq >= 0 && sq < HW) ? c->pix[((id * HC + ch) * HH + sr) * HW + sq] : 0;
    return ((float)v / 255.0f - mean[ch]) / sd[ch];
}

static int matches(const wn_cache *c, int id, const float *x, int pad, int dy, int dx, int flip,
                   const float *mean, const float *sd) {
    for (int ch = 0; ch < HC; ch++)
        for (int r = 0; r < HH; r++)
            for (int q = 0; q < HW; q++)
                if (x[(ch * HH + r) * HW + q] != expect_px(c, id, ch, r, q, pad, dy, dx, flip, mean, sd))
                    return 0;
    return 1;
}

static void test_stats_batch(void) {
    uint8_t pix[2 * HC * HH * HW]; /* (2, C, H, W) */
    int32_t labels[2];
    int index[2];
    wn_cache c;
    make_cache(&c, pix, labels, index);
    float mean[HC], sd[HC];
    wn_cache_stats(&c, mean, sd);
    for (int ch = 0; ch < HC; ch++) {
        double s = 0, s2 = 0;
        for (int i = 0; i < 2; i++)
            for (int k = 0; k < HH * HW; k++) s += pix[(i * HC + ch) * HH * HW + k] / 255.0;
        double m = s / (2 * HH * HW);
        for (int i = 0; i < 2; i++)
            for (int k = 0; k < HH * HW; k++) {
                double d = pix[(i * HC + ch) * HH * HW + k] / 255.0 - m;
                s2 += d * d;
            }
        CHECK_CLOSE(mean[ch], m, 1e-7, 1e-6);
        CHECK_CLOSE(sd[ch], sqrt(s2 / (2 * HH * HW)), 1e-7, 1e-6);
    }

    /* plain normalisation is exact */
    const float nm[HC] = {0.25f, 0.5f}, ns[HC] = {0.5f, 0.2f};
    int ids[3] = {1, 0, 1};
    float x[3 * HC * HH * HW]; /* (3, C, H, W) */
    int32_t y[3];
    wn_batch_fill(&c, ids, 3, nm, ns, NULL, NULL, x, y);
    CHECK(y[0] == 1 && y[1] == 3 && y[2] == 1);
    int exact = 1;
    for (int i = 0; i < 3; i++) exact &= matches(&c, ids[i], x + i * HC * HH * HW, 0, 0, 0, 0, nm, ns);
    CHECK(exact);
    wn_augment off = {0, 0, 0, 0, 0};
    float x2[3 * HC * HH * HW];
    wn_batch_fill(&c, ids, 3, nm, ns, &off, NULL, x2, y);
    CHECK(memcmp(x, x2, sizeof x) == 0);

    /* crop + flip: every offset and both flips appear, each output is exactly one of them */
    const int pad = 2, side = 2 * pad + 1;
    wn_augment aug = {pad, 1, 0, 0, 0};
    wn_rng rng;
    wn_rng_seed(&rng, 9, 1);
    int seen[5][5][2] = {{{0}}}, unexplained = 0, centred_ok = 1;
    for (int t = 0; t < 1500; t++) {
        int id = t & 1;
        float xa[HC * HH * HW];
        wn_batch_fill(&c, &id, 1, nm, ns, &aug, &rng, xa, y);
        int found = 0;
        for (int dy = 0; dy < side && !found; dy++)
            for (int dx = 0; dx < side && !found; dx++)
                for (int f = 0; f < 2 && !found; f++)
                    if (matches(&c, id, xa, pad, dy, dx, f, nm, ns)) {
                        seen[dy][dx][f]++;
                        found = 1;
                        if (dy == pad && dx == pad && !f)
                            centred_ok &= memcmp(xa, x + (id == 1 ? 0 : 1) * HC * HH * HW,
                                                 sizeof xa) == 0;
                    }
        if (!found) unexplained++;
    }
    CHECK(unexplained == 0);
    CHECK(centred_ok);
    int all = 1, flips = 0;
    for (int dy = 0; dy < side; dy++)
        for (int dx = 0; dx < side; dx++) {
            all &= seen[dy][dx][0] > 0 && seen[dy][dx][1] > 0;
            flips += seen[dy][dx][1];
        }
    CHECK(all);
    CHECK(flips > 600 && flips < 900);
    CHECK(seen[pad][pad][0] > 0); /* the centred crop keeps the image (checked above) */

    /* (matches() reads a zero pixel outside the photo: padding is normalised black) */

    /* flip only: exact mirror or unchanged */
    wn_augment fl = {0, 1, 0, 0, 0};
    int mirrored = 0, same = 0, other = 0;
    for (int t = 0; t < 200; t++) {
        int id = 0;
        float xa[HC * HH * HW];
        wn_batch_fill(&c, &id, 1, nm, ns, &fl, &rng, xa, y);
        if (matches(&c, 0, xa, 0, 0, 0, 1, nm, ns)) mirrored++;
        else if (matches(&c, 0, xa, 0, 0, 0, 0, nm, ns)) same++;
        else other++;
    }
    CHECK(mirrored > 50 && same > 50 && other == 0);

    /* Cutout 3 (alone, then after crop + flip): each output is the photo without Cutout (drawn
     * from a copy of the generator, which Cutout's two later draws do not disturb) with exactly
     * the clipped 3x3 square of one centre set to 0 in every channel, and every centre occurs.
     * (No normalised pixel of this cache is 0: v/255 - 0.25 and - 0.5 never vanish.) */
    for (int with_crop = 0; with_crop < 2; with_crop++) {
        enum { CUT = 3 };
        wn_augment cu = {with_crop ? pad : 0, with_crop, CUT, 0, 0}, base = {with_crop ? pad : 0, with_crop, 0, 0, 0};
        int centres[HH][HW] = {{0}}, bad = 0;
        for (int t = 0; t < 1200; t++) {
            int id = t & 1;
            float xa[HC * HH * HW], xb[HC * HH * HW];
            wn_rng before = rng;
            wn_batch_fill(&c, &id, 1, nm, ns, &cu, &rng, xa, y);
            wn_batch_fill(&c, &id, 1, nm, ns, &base, &before, xb, y);
            int found = -1;
            for (int cy = 0; cy < HH && found < 0; cy++)
                for (int cx = 0; cx < HW && found < 0; cx++) {
                    int ok = 1;
                    for (int ch = 0; ch < HC; ch++)
                        for (int r = 0; r < HH; r++)
                            for (int q = 0; q < HW; q++) {
                                int in = r >= cy - CUT / 2 && r < cy - CUT / 2 + CUT && q >= cx - CUT / 2 &&
                                         q < cx - CUT / 2 + CUT;
                                float v = xa[(ch * HH + r) * HW + q], w = xb[(ch * HH + r) * HW + q];
                                ok &= in ? v == 0.0f : v == w;
                            }
                    if (ok) found = cy * HW + cx;
                }
            if (found < 0) bad++;
            else centres[found / HW][found % HW]++;
        }
        CHECK_MSG(bad == 0, "cutout (crop %d): %d outputs are not the photo with one square cut out", with_crop, bad);
        int every = 1;
        for (int r = 0; r < HH; r++)
            for (int q = 0; q < HW; q++) every &= centres[r][q] > 0;
        CHECK_MSG(every, "cutout (crop %d): not every centre occurred", with_crop);
    }

    /* reproducible for a seed */
    float xa[3 * HC * HH * HW], xb[3 * HC * HH * HW], xc[3 * HC * HH * HW];
    wn_rng r1, r2, r3;
    wn_rng_seed(&r1, 5, 0), wn_rng_seed(&r2, 5, 0), wn_rng_seed(&r3, 6, 0);
    int differs = 0;
    for (int t = 0; t < 10; t++) {
        wn_batch_fill(&c, ids, 3, nm, ns, &aug, &r1, xa, y);
        wn_batch_fill(&c, ids, 3, nm, ns, &aug, &r2, xb, y);
        wn_batch_fill(&c, ids, 3, nm, ns, &aug, &r3, xc, y);
        CHECK(memcmp(xa, xb, sizeof xa) == 0);
        differs |= memcmp(xa, xc, sizeof xa) != 0;
    }
    CHECK(differs);
}

/* The rotation and zoom warp (batch_warp.c) against its definition, and its draws in
 * wn_batch_fill. */
static void test_warp(void) {
    uint8_t pix[2 * HC * HH * HW]; /* (2, C, H, W) */
    int32_t labels[2], y[1];
    int index[2];
    wn_cache c;
    make_cache(&c, pix, labels, index);
    float nm[HC] = {0.25f, 0.5f}, ns[HC] = {0.5f, 2.0f};
    float xa[HC * HH * HW], xb[HC * HH * HW];

    /* angle 0, zoom 1: exactly the plain crop and flip, every offset */
    int exact = 1;
    for (int dy = 0; dy <= 4; dy++)
        for (int dx = 0; dx <= 4; dx++)
            for (int f = 0; f < 2; f++) {
                wn_batch_warp(xa, pix + HC * HH * HW, nm, ns, HC, HH, HW, 2, dy, dx, f, 0.0, 1.0);
                exact &= matches(&c, 1, xa, 2, dy, dx, f, nm, ns);
            }
    CHECK_MSG(exact, "warp with angle 0 and zoom 1 differs from the crop and flip");

    /* 90 degrees on a square photo: out(r, q) = photo(q, W-1-r); -90: photo(W-1-q, r) */
    enum { S = 5 };
    uint8_t sq[S * S];
    for (int i = 0; i < S * S; i++) sq[i] = (uint8_t)(7 * i + 3);
    float m1[1] = {0.0f}, s1[1] = {1.0f}, o[S * S];
    double worst = 0;
    for (int sign = -1; sign <= 1; sign += 2) {
        wn_batch_warp(o, sq, m1, s1, 1, S, S, 0, 0, 0, 0, 90.0 * sign, 1.0);
        for (int r = 0; r < S; r++)
            for (int q = 0; q < S; q++) {
                int sr = sign > 0 ? q : S - 1 - q, sc = sign > 0 ? S - 1 - r : r;
                double d = fabs(o[r * S + q] - sq[sr * S + sc] / 255.0);
                if (d > worst) worst = d;
            }
    }
    CHECK_MSG(worst < 1e-5, "90-degree rotation: max error %g", worst);

    /* zoom 2 about the centre (2, 2): out(2, 2) = photo(2, 2), out(2, 3) = photo(2, 2.5), the
     * mean of two neighbours, out(0, 0) = photo(1, 1); zoom 0.5: out(0, 0) reads photo(-2, -2),
     * black, and the centre is kept */
    wn_batch_warp(o, sq, m1, s1, 1, S, S, 0, 0, 0, 0, 0.0, 2.0);
    CHECK_CLOSE(o[2 * S + 2], sq[2 * S + 2] / 255.0, 1e-6, 0);
    CHECK_CLOSE(o[2 * S + 3], (sq[2 * S + 2] + sq[2 * S + 3]) / 2.0 / 255.0, 1e-6, 0);
    CHECK_CLOSE(o[0], sq[1 * S + 1] / 255.0, 1e-6, 0);
    wn_batch_warp(o, sq, m1, s1, 1, S, S, 0, 0, 0, 0, 0.0, 0.5);
    CHECK_CLOSE(o[0], 0.0, 0, 0);
    CHECK_CLOSE(o[2 * S + 2], sq[2 * S + 2] / 255.0, 1e-6, 0);
    /* a 30-degree turn of a constant photo keeps the middle constant (normalised) */
    uint8_t flat[S * S];
    memset(flat, 200, sizeof flat);
    wn_batch_warp(o, flat, nm, ns, 1, S, S, 0, 0, 0, 0, 30.0, 1.0);
    CHECK_CLOSE(o[2 * S + 2], (200 / 255.0 - 0.25) / 0.5, 1e-5, 0);
    CHECK_CLOSE(o[1 * S + 2], (200 / 255.0 - 0.25) / 0.5, 1e-5, 0);

    /* wn_batch_fill draws crop, flip, angle, zoom, then Cutout: each output is the warp with
     * the draws replayed from a copy of the generator; angles and zooms cover their ranges */
    wn_augment aug = {2, 1, 0, 15.0, 0.1};
    wn_rng rng;
    wn_rng_seed(&rng, 21, 3);
    int bad = 0, differs = 0;
    double amin = 1e9, amax = -1e9, zmin = 1e9, zmax = -1e9;
    for (int t = 0; t < 400; t++) {
        int id = t & 1;
        wn_rng rep = rng;
        wn_batch_fill(&c, &id, 1, nm, ns, &aug, &rng, xa, y);
        int dy = (int)wn_rng_below(&rep, 5), dx = (int)wn_rng_below(&rep, 5);
        int f = (int)(wn_rng_u32(&rep) >> 31);
        double a = (2.0 * wn_rng_uniform(&rep) - 1.0) * 15.0;
        double z = 1.0 + (2.0 * wn_rng_uniform(&rep) - 1.0) * 0.1;
        wn_batch_warp(xb, pix + id * HC * HH * HW, nm, ns, HC, HH, HW, 2, dy, dx, f, a, z);
        bad += memcmp(xa, xb, sizeof xa) != 0;
        bad += memcmp(&rep, &rng, sizeof rep) != 0;
        differs += !matches(&c, id, xa, 2, dy, dx, f, nm, ns);
        amin = fmin(amin, a), amax = fmax(amax, a), zmin = fmin(zmin, z), zmax = fmax(zmax, z);
    }
    CHECK_MSG(bad == 0, "%d batches differ from the replayed warp", bad);
    CHECK(differs > 350); /* the warp changes nearly every photo */
    CHECK(amin < -14 && amax > 14 && amin >= -15 && amax <= 15);
    CHECK(zmin < 0.91 && zmax > 1.09 && zmin >= 0.9 && zmax <= 1.1);
}

int main(void) {
    const char *tmp0 = wn_test_tmpdir("test_data");
    char *tmp = wn_xstrdup(tmp0);
    test_folder(tmp);
    test_links(tmp);
    test_folder_errors(tmp);
    test_manifest(tmp);
    test_manifest_errors(tmp);
    test_split();
    test_cache(tmp);
    test_stats_batch();
    test_warp();
    free(tmp);
    return wn_test_done();
}
