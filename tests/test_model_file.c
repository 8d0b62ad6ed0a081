/* test_model_file.c - tests of wn_model.h: round trips of models (tensors bit-identical, classes,
 * counts, metadata, extra records) and training states; the lookups; `info` output; refusal of
 * every kind of bad file with WN_EINPUT and a message starting with the path (every truncation,
 * every single bit flip, wrong or swapped magic, newer version, overflowing lengths, crafted
 * structural errors with a valid CRC, empty, missing, directory); a mutation fuzz loop with the
 * CRC fixed up; and failed or refused writes that leave an existing file untouched. */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zlib.h>

#include "wn_model.h"
#include "wn_test.h"

static const char *g_dir; /* this test's temporary directory */

/* ---- helpers ----------------------------------------------------------------------------- */

static char *tpath(const char *name) { return wn_xstrdup(wn_test_path(g_dir, name)); }

static int has(const char *msg, const char *part) { return strstr(msg, part) != NULL; }

/* The message starts with "PATH:". */
static int names_path(const char *msg, const char *path) {
    size_t n = strlen(path);
    return strncmp(msg, path, n) == 0 && msg[n] == ':';
}

static uint8_t *read_all(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    *len = 0;
    if (!f) return NULL;
    uint8_t *b = NULL;
    size_t cap = 0;
    for (;;) {
        b = wn_xrealloc(b, cap + 65536);
        size_t k = fread(b + cap, 1, 65536, f);
        cap += k;
        if (k < 65536) break;
    }
    fclose(f);
    *len = cap;
    return b;
}

static int file_exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

static void put32(uint8_t *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *p, uint64_t v) {
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}

/* Rewrites the trailing CRC-32 so that only structural checks can refuse the bytes. */
static void fix_crc(uint8_t *b, size_t n) {
    if (n < 4) return;
    put32(b + n - 4, (uint32_t)crc32(crc32(0L, Z_NULL, 0), b, (uInt)(n - 4)));
}

static uint64_t rng_next(uint64_t *s) {
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static int model_zeroed(const wn_model *m) {
    static const wn_model zero;
    return memcmp(m, &zero, sizeof zero) == 0;
}

/* Loads expecting WN_EINPUT with the path first and `part` in the message; *m must come back
 * zeroed and freeable. */
static void expect_bad_model(const char *path, const char *part) {
    wn_model m;
    memset(&m, 0xa5, sizeof m); /* a caller's uninitialised struct */
    wn_err e;
    wn_err_clear(&e);
    int rc = wn_model_load(path, &m, &e);
    CHECK_MSG(rc == WN_EINPUT, "%s: expected WN_EINPUT, got %d (%s)", path, rc, e.msg);
    CHECK_MSG(names_path(e.msg, path), "message '%s' does not start with the path", e.msg);
    if (part) CHECK_MSG(has(e.msg, part), "message '%s' lacks '%s'", e.msg, part);
    CHECK(model_zeroed(&m));
    wn_model_free(&m);
}

static void expect_bad_state(const char *path, const char *part) {
    wn_train_state s;
    memset(&s, 0xa5, sizeof s);
    wn_err e;
    wn_err_clear(&e);
    int rc = wn_train_state_load(path, &s, &e);
    CHECK_MSG(rc == WN_EINPUT, "%s: expected WN_EINPUT, got %d (%s)", path, rc, e.msg);
    CHECK_MSG(names_path(e.msg, path), "message '%s' does not start with the path", e.msg);
    if (part) CHECK_MSG(has(e.msg, part), "message '%s' lacks '%s'", e.msg, part);
    CHECK(s.tensors == NULL && s.config_hash == NULL && s.n_tensors == 0);
    wn_train_state_free(&s);
}

/* ---- fixtures ---------------------------------------------------------------------------- */

static void add_tensor(wn_named_tensor *t, const char *name, int ndim, const int *dims,
                       uint64_t *seed) {
    t->name = wn_xstrdup(name);
    t->ndim = ndim;
    size_t n = 1;
    for (int d = 0; d < 4; d++) {
        t->dims[d] = d < ndim ? dims[d] : 0;
        if (d < ndim) n *= (size_t)dims[d];
    }
    t->data = wn_xmalloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++) {
        /* arbitrary bit patterns: NaNs with payloads, infinities, -0, denormals included */
        uint32_t bits = (uint32_t)rng_next(seed);
        if (i == 0) bits = 0x80000000u;        /* -0.0 */
        if (i == 1) bits = 0x7fc12345u;        /* NaN with payload */
        if (i == 2) bits = 0x00000001u;        /* smallest denormal */
        if (i == 3) bits = 0xff800000u;        /* -inf */
        memcpy(&t->data[i], &bits, 4);
    }
}

/* A model with several tensors, three classes, metadata and extra records; `big` adds a
 * tensor of 3000 values (for the write-failure tests). */
static void make_model(wn_model *m, int big, int with_calb) {
    memset(m, 0, sizeof *m);
    uint64_t seed = 0x9e3779b97f4a7c15ull;
    m->net_ini = wn_xstrdup("[net]\nwidth = 48\nheight = 32\nchannels = 3\n\n[conv1]\n"
                            "type = conv\nfilters = 4\n");
    m->n_classes = 3;
    m->class_names = wn_xcalloc(3, sizeof(char *));
    m->class_counts = wn_xcalloc(3, sizeof(long));
    const char *names[3] = {"ok", "crack", "porosit\xc3\xa9 (gas)"};
    long counts[3] = {1200, 200, 100};
    for (int j = 0; j < 3; j++) {
        m->class_names[j] = wn_xstrdup(names[j]);
        m->class_counts[j] = counts[j];
    }
    m->in_c = 3;
    m->in_h = 32;
    m->in_w = 48;
    float mean[3] = {0.485f, 0.456f, 0.406f}, std[3] = {0.229f, 0.224f, 0.225f};
    memcpy(m->mean, mean, sizeof mean);
    memcpy(m->std, std, sizeof std);
    m->meta = wn_xstrdup("created = 2024-05-01T10:00:00Z\nepoch = 12\nval_accuracy = 0.975\n");
    int n = big ? 6 : 5;
    m->tensors = wn_xcalloc((size_t)n, sizeof(wn_named_tensor));
    int d0[4] = {4, 3, 3, 3}, d1[1] = {4}, d2[2] = {3, 36}, d3[3] = {2, 1, 5}, d4[1] = {4},
        d5[2] = {30, 100};
    add_tensor(&m->tensors[0], "conv1.weight", 4, d0, &seed);
    add_tensor(&m->tensors[1], "conv1.bias", 1, d1, &seed);
    add_tensor(&m->tensors[2], "fc.weight", 2, d2, &seed);
    add_tensor(&m->tensors[3], "odd.3d", 3, d3, &seed);
    add_tensor(&m->tensors[4], "bn1.running_var", 1, d4, &seed);
    if (big) add_tensor(&m->tensors[5], "big", 2, d5, &seed);
    m->n_tensors = n;
    if (with_calb) wn_model_set_record(m, WN_TAG('C', 'A', 'L', 'B'), "\x01\x02\x03thresholds", 13);
    wn_model_set_record(m, WN_TAG('Z', 'E', 'R', 'O'), NULL, 0);
    wn_model_set_record(m, WN_TAG('X', 'T', 'R', 'A'), "hello", 5);
}

/* The smallest useful model: 2 classes, one 3-value tensor, one extra record (~240 bytes). */
static void make_small_model(wn_model *m) {
    memset(m, 0, sizeof *m);
    uint64_t seed = 42;
    m->net_ini = wn_xstrdup("[net]\n");
    m->n_classes = 2;
    m->class_names = wn_xcalloc(2, sizeof(char *));
    m->class_counts = wn_xcalloc(2, sizeof(long));
    m->class_names[0] = wn_xstrdup("ok");
    m->class_names[1] = wn_xstrdup("bad");
    m->class_counts[0] = 5;
    m->class_counts[1] = 3;
    m->in_c = 1;
    m->in_h = 8;
    m->in_w = 8;
    m->mean[0] = 0.5f;
    m->std[0] = 0.25f;
    m->meta = wn_xstrdup("epoch = 1\n");
    m->tensors = wn_xcalloc(1, sizeof(wn_named_tensor));
    int d[1] = {3};
    add_tensor(&m->tensors[0], "w", 1, d, &seed);
    m->n_tensors = 1;
    wn_model_set_record(m, WN_TAG('C', 'A', 'L', 'B'), "cal!", 4);
}

static void make_state(wn_train_state *s, const char *hash) {
    memset(s, 0, sizeof *s);
    uint64_t seed = 7;
    s->epoch = 7;
    s->step = 123456789012L;
    s->rng_state = 0xfedcba9876543210ull;
    s->rng_inc = 0x8000000000000001ull;
    s->best_metric = 0.91234567890123;
    s->best_epoch = 5;
    s->config_hash = hash ? wn_xstrdup(hash) : NULL;
    s->n_tensors = 3;
    s->tensors = wn_xcalloc(3, sizeof(wn_named_tensor));
    int d0[1] = {50}, d1[1] = {50}, d2[1] = {7};
    add_tensor(&s->tensors[0], "params", 1, d0, &seed);
    add_tensor(&s->tensors[1], "m", 1, d1, &seed);
    add_tensor(&s->tensors[2], "v", 1, d2, &seed);
}

static int tensors_equal(const wn_named_tensor *a, const wn_named_tensor *b) {
    if (strcmp(a->name, b->name) || a->ndim != b->ndim) return 0;
    size_t n = 1;
    for (int d = 0; d < a->ndim; d++) {
        if (a->dims[d] != b->dims[d]) return 0;
        n *= (size_t)a->dims[d];
    }
    return memcmp(a->data, b->data, n * sizeof(float)) == 0; /* bit-identical */
}

static void check_models_equal(const wn_model *a, const wn_model *b) {
    CHECK(strcmp(a->net_ini, b->net_ini) == 0);
    CHECK(a->n_classes == b->n_classes);
    for (int j = 0; j < a->n_classes && j < b->n_classes; j++) {
        CHECK(strcmp(a->class_names[j], b->class_names[j]) == 0);
        CHECK(a->class_counts[j] == b->class_counts[j]);
    }
    CHECK(a->in_c == b->in_c && a->in_h == b->in_h && a->in_w == b->in_w);
    CHECK(memcmp(a->mean, b->mean, sizeof a->mean) == 0);
    CHECK(memcmp(a->std, b->std, sizeof a->std) == 0);
    CHECK((a->meta == NULL) == (b->meta == NULL));
    if (a->meta && b->meta) CHECK(strcmp(a->meta, b->meta) == 0);
    CHECK(a->n_tensors == b->n_tensors);
    for (int i = 0; i < a->n_tensors && i < b->n_tensors; i++)
        CHECK_MSG(tensors_equal(&a->tensors[i], &b->tensors[i]), "tensor %d differs", i);
    CHECK(a->n_extra == b->n_extra);
    for (int i = 0; i < a->n_extra && i < b->n_extra; i++) {
        CHECK(a->extra[i].tag == b->extra[i].tag);
        CHECK(a->extra[i].len == b->extra[i].len);
        CHECK(a->extra[i].len == 0 || memcmp(a->extra[i].data, b->extra[i].data, a->extra[i].len) == 0);
    }
}

static int save_model(const char *path, const wn_model *m) {
    wn_err e;
    wn_err_clear(&e);
    int rc = wn_model_save(path, m, &e);
    CHECK_MSG(rc == WN_OK, "save %s: %s", path, e.msg);
    return rc;
}

/* ---- round trips ------------------------------------------------------------------------- */

static void test_model_roundtrip(void) {
    wn_model m, back, again;
    make_model(&m, 0, 1);
    char *p1 = tpath("round.wnet"), *p2 = tpath("round2.wnet");
    save_model(p1, &m);
    CHECK(!file_exists(wn_test_path(g_dir, "round.wnet.tmp")));
    wn_err e;
    wn_err_clear(&e);
    memset(&back, 0x5a, sizeof back); /* load must not rely on a zeroed struct */
    int rc = wn_model_load(p1, &back, &e);
    CHECK_MSG(rc == WN_OK, "%s", e.msg);
    if (rc == WN_OK) {
        check_models_equal(&m, &back);
        /* the tag order of the extra records is kept */
        CHECK(back.n_extra == 3 && back.extra[0].tag == WN_TAG('C', 'A', 'L', 'B') &&
              back.extra[1].tag == WN_TAG('Z', 'E', 'R', 'O') &&
              back.extra[2].tag == WN_TAG('X', 'T', 'R', 'A'));
        /* writing what was read gives the same bytes */
        save_model(p2, &back);
        size_t n1, n2;
        uint8_t *b1 = read_all(p1, &n1), *b2 = read_all(p2, &n2);
        CHECK(b1 && b2 && n1 == n2 && memcmp(b1, b2, n1) == 0);
        /* the header as documented in docs/MODEL_FORMAT.md */
        CHECK(n1 > 28 && memcmp(b1, "WNETMODL", 8) == 0);
        CHECK(b1[8] == WN_MODEL_VERSION && b1[9] == 0 && b1[10] == 0 && b1[11] == 0);
        CHECK(b1[12] == 3 + 1 + 5 + 3); /* NETI CLAS INPT, META, 5 TENS, 3 extra */
        uint64_t payload = 0;
        for (int i = 0; i < 8; i++) payload |= (uint64_t)b1[16 + i] << (8 * i);
        CHECK(payload == n1 - 28);
        CHECK(memcmp(b1 + 24, "NETI", 4) == 0);
        free(b1);
        free(b2);
        wn_model_free(&back);
    }
    /* a model without metadata, tensors or extra records */
    wn_model_free(&m);
    make_small_model(&m);
    free(m.meta);
    m.meta = NULL;
    for (int i = 0; i < m.n_tensors; i++) {
        free(m.tensors[i].name);
        free(m.tensors[i].data);
    }
    free(m.tensors);
    m.tensors = NULL;
    m.n_tensors = 0;
    free(m.extra[0].data);
    free(m.extra);
    m.extra = NULL;
    m.n_extra = 0;
    save_model(p1, &m);
    rc = wn_model_load(p1, &again, &e);
    CHECK_MSG(rc == WN_OK, "%s", e.msg);
    if (rc == WN_OK) {
        check_models_equal(&m, &again);
        CHECK(again.meta == NULL && again.tensors == NULL && again.extra == NULL);
        wn_model_free(&again);
    }
    /* net_ini NULL is saved as empty text; empty metadata stays empty (not absent) */
    free(m.net_ini);
    m.net_ini = NULL;
    m.meta = wn_xstrdup("");
    save_model(p1, &m);
    rc = wn_model_load(p1, &again, &e);
    CHECK_MSG(rc == WN_OK, "%s", e.msg);
    if (rc == WN_OK) {
        CHECK(again.net_ini && again.net_ini[0] == '\0');
        CHECK(again.meta && again.meta[0] == '\0');
        wn_model_free(&again);
    }
    wn_model_free(&m);
    free(p1);
    free(p2);
}

static void test_state_roundtrip(void) {
    wn_train_state s, back;
    char *p = tpath("state.wnst");
    wn_err e;
    wn_err_clear(&e);
    for (int variant = 0; variant < 2; variant++) {
        make_state(&s, variant == 0 ? "0123456789abcdef" : NULL);
        if (variant == 1) {
            s.best_metric = -INFINITY;
            s.best_epoch = -1;
            s.epoch = 0;
            s.step = 0;
        }
        int rc = wn_train_state_save(p, &s, &e);
        CHECK_MSG(rc == WN_OK, "%s", e.msg);
        memset(&back, 0x5a, sizeof back);
        rc = wn_train_state_load(p, &back, &e);
        CHECK_MSG(rc == WN_OK, "%s", e.msg);
        if (rc == WN_OK) {
            CHECK(back.epoch == s.epoch && back.step == s.step);
            CHECK(back.rng_state == s.rng_state && back.rng_inc == s.rng_inc);
            CHECK(memcmp(&back.best_metric, &s.best_metric, sizeof(double)) == 0);
            CHECK(back.best_epoch == s.best_epoch);
            if (variant == 0)
                CHECK(back.config_hash && strcmp(back.config_hash, s.config_hash) == 0);
            else
                CHECK(back.config_hash == NULL);
            CHECK(back.n_tensors == s.n_tensors);
            for (int i = 0; i < s.n_tensors && i < back.n_tensors; i++)
                CHECK(tensors_equal(&s.tensors[i], &back.tensors[i]));
            wn_train_state_free(&back);
        }
        wn_train_state_free(&s);
    }
    wn_train_state zero = {0};
    wn_train_state_free(&zero);
    wn_train_state_free(&zero);
    free(p);
}

/* ---- lookups and info --------------------------------------------------------------------- */

static void test_lookups(void) {
    wn_model m;
    make_model(&m, 0, 1);
    const wn_named_tensor *t = wn_model_find(&m, "fc.weight");
    CHECK(t && t->ndim == 2 && t->dims[0] == 3 && t->dims[1] == 36);
    CHECK(wn_model_find(&m, "nope") == NULL);
    CHECK(wn_model_find(&m, "") == NULL);
    uint32_t calb = WN_TAG('C', 'A', 'L', 'B');
    const wn_record *r = wn_model_get_record(&m, calb);
    CHECK(r && r->len == 13 && memcmp(r->data, "\x01\x02\x03thresholds", 13) == 0);
    CHECK(wn_model_get_record(&m, WN_TAG('N', 'O', 'P', 'E')) == NULL);
    /* replacing keeps the position and count; a new tag is appended */
    wn_model_set_record(&m, calb, "new", 3);
    CHECK(m.n_extra == 3 && m.extra[0].tag == calb && m.extra[0].len == 3);
    r = wn_model_get_record(&m, calb);
    CHECK(r && r->len == 3 && memcmp(r->data, "new", 3) == 0);
    wn_model_set_record(&m, WN_TAG('N', 'E', 'W', '1'), "abcdef", 6);
    CHECK(m.n_extra == 4 && m.extra[3].tag == WN_TAG('N', 'E', 'W', '1'));
    /* the data is copied */
    char buf[4] = "xyz";
    wn_model_set_record(&m, WN_TAG('C', 'O', 'P', 'Y'), buf, 4);
    buf[0] = 'Q';
    r = wn_model_get_record(&m, WN_TAG('C', 'O', 'P', 'Y'));
    CHECK(r && r->data[0] == 'x');
    wn_model_free(&m);
    CHECK(model_zeroed(&m));
    wn_model_free(&m); /* twice is fine */
    wn_model zero = {0};
    wn_model_free(&zero);
    wn_model_free(NULL);
    CHECK(wn_model_find(&zero, "x") == NULL && wn_model_get_record(&zero, calb) == NULL);
    /* set_record on a zeroed model */
    wn_model_set_record(&zero, calb, "a", 1);
    CHECK(zero.n_extra == 1 && wn_model_get_record(&zero, calb) != NULL);
    wn_model_free(&zero);
}

static char *info_text(const wn_model *m, const char *path) {
    FILE *f = tmpfile();
    if (!f) return wn_xstrdup("");
    wn_model_print_info(m, path, f);
    long n = ftell(f);
    rewind(f);
    char *s = wn_xmalloc((size_t)n + 1);
    size_t k = fread(s, 1, (size_t)n, f);
    s[k] = '\0';
    fclose(f);
    return s;
}

static void test_info(void) {
    wn_model m, back;
    char *p = tpath("info.wnet");
    wn_err e;
    wn_err_clear(&e);
    for (int calb = 0; calb < 2; calb++) {
        make_model(&m, 0, calb);
        save_model(p, &m);
        int rc = wn_model_load(p, &back, &e);
        CHECK_MSG(rc == WN_OK, "%s", e.msg);
        if (rc) {
            wn_model_free(&m);
            continue;
        }
        char *s = info_text(&back, p);
        struct stat st;
        stat(p, &st);
        char size[64];
        snprintf(size, sizeof size, "file size: %lld bytes", (long long)st.st_size);
        const char *parts[] = {
            "format version: 1", size, "input: 3 x 32 x 48 (C x H x W)", "mean: 0.485 0.456 0.406",
            "std:  0.229 0.224 0.225", "classes: 3", "crack", "porosit\xc3\xa9 (gas)",
            "80.00%", "13.33%", "6.67%", "total photos: 1500", "metadata:",
            "  created = 2024-05-01T10:00:00Z", "  val_accuracy = 0.975", "network:", "  [net]",
            "  type = conv", "tensors: 5", "conv1.weight", "4 x 3 x 3 x 3", "2 x 1 x 5",
            "total parameters: 234", "'XTRA': 5 bytes", "'ZERO': 0 bytes",
            calb ? "calibration: calibrated" : "calibration: not calibrated"};
        for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++)
            CHECK_MSG(has(s, parts[i]), "info lacks '%s':\n%s", parts[i], s);
        free(s);
        wn_model_free(&back);
        wn_model_free(&m);
    }
    free(p);
}

/* ---- refusal of bad files ------------------------------------------------------------------ */

static void test_every_prefix(void) {
    wn_model m;
    make_small_model(&m);
    char *p = tpath("small.wnet"), *q = tpath("prefix.wnet");
    save_model(p, &m);
    wn_model_free(&m);
    size_t n;
    uint8_t *b = read_all(p, &n);
    CHECK(b && n > 100 && n < 400);
    for (size_t k = 0; k < n; k++) {
        CHECK(wn_test_write_file(q, b, k) == 0);
        expect_bad_model(q, k == 0 ? "empty file" : "truncated");
    }
    free(b);
    /* a state file, every prefix too */
    wn_train_state s;
    make_state(&s, "abc");
    wn_err e;
    wn_err_clear(&e);
    CHECK(wn_train_state_save(p, &s, &e) == WN_OK);
    wn_train_state_free(&s);
    b = read_all(p, &n);
    for (size_t k = 0; k < n; k += 1 + k / 64) {
        CHECK(wn_test_write_file(q, b, k) == 0);
        expect_bad_state(q, k == 0 ? "empty file" : "truncated");
    }
    free(b);
    free(p);
    free(q);
}

static void test_every_bit_flip(void) {
    wn_model m;
    make_small_model(&m);
    char *p = tpath("flip.wnet");
    save_model(p, &m);
    wn_model_free(&m);
    size_t n;
    uint8_t *b = read_all(p, &n);
    int checksum = 0;
    for (size_t k = 0; b && k < n; k++)
        for (int bit = 0; bit < 8; bit++) {
            b[k] ^= (uint8_t)(1u << bit);
            CHECK(wn_test_write_file(p, b, n) == 0);
            wn_err e;
            wn_err_clear(&e);
            int rc = wn_model_load(p, &m, &e);
            CHECK_MSG(rc == WN_EINPUT && names_path(e.msg, p), "flip of byte %zu bit %d: rc %d (%s)",
                      k, bit, rc, e.msg);
            checksum += has(e.msg, "checksum mismatch: the file is corrupt");
            CHECK(model_zeroed(&m));
            wn_model_free(&m);
            b[k] ^= (uint8_t)(1u << bit);
        }
    /* everything after the 24-byte header fails the checksum */
    CHECK_MSG((size_t)checksum >= (n - 24) * 8, "%d of %zu flips failed the checksum", checksum,
              n * 8);
    free(b);
    free(p);
}

static void test_header_errors(void) {
    wn_model m;
    make_small_model(&m);
    char *p = tpath("hdr.wnet"), *q = tpath("bad.wnet");
    save_model(p, &m);
    wn_model_free(&m);
    size_t n;
    uint8_t *b = read_all(p, &n), *c = wn_xmalloc(n + 16);

    memcpy(c, b, n);
    memcpy(c, "\x89PNG\r\n\x1a\n", 8);
    wn_test_write_file(q, c, n);
    expect_bad_model(q, "not a weldnet model file");

    wn_test_write_file(q, "hello", 5);
    expect_bad_model(q, "not a weldnet model file");

    /* a newer version, CRC fixed so the version check itself refuses it */
    memcpy(c, b, n);
    put32(c + 8, WN_MODEL_VERSION + 1);
    fix_crc(c, n);
    wn_test_write_file(q, c, n);
    char want[128];
    snprintf(want, sizeof want, "written by a newer weldnet (format %d, this reads up to %d)",
             WN_MODEL_VERSION + 1, WN_MODEL_VERSION);
    expect_bad_model(q, want);
    put32(c + 8, 0xffffffffu);
    fix_crc(c, n);
    wn_test_write_file(q, c, n);
    expect_bad_model(q, "format 4294967295");
    put32(c + 8, 0);
    fix_crc(c, n);
    wn_test_write_file(q, c, n);
    expect_bad_model(q, "unsupported format version 0");

    /* payload length: too large (also overflowing), too small */
    memcpy(c, b, n);
    put64(c + 16, UINT64_MAX);
    fix_crc(c, n);
    wn_test_write_file(q, c, n);
    expect_bad_model(q, "truncated");
    put64(c + 16, n - 28 - 1);
    fix_crc(c, n);
    wn_test_write_file(q, c, n);
    expect_bad_model(q, "unexpected bytes after the checksum");

    /* trailing garbage */
    memcpy(c, b, n);
    memcpy(c + n, "GARBAGE", 7);
    wn_test_write_file(q, c, n + 7);
    expect_bad_model(q, "7 unexpected bytes after the checksum");

    /* a record length that overflows (huge u64) and one a byte too long, CRC fixed */
    memcpy(c, b, n);
    put64(c + 24 + 4, UINT64_MAX - 3);
    fix_crc(c, n);
    wn_test_write_file(q, c, n);
    expect_bad_model(q, "truncated: record 0 ('NETI') at byte 24 claims 18446744073709551612 bytes");
    memcpy(c, b, n);
    c[24 + 4] += 1;
    fix_crc(c, n);
    wn_test_write_file(q, c, n);
    expect_bad_model(q, NULL);

    /* record count: too many for the payload, absurd, too few */
    memcpy(c, b, n);
    put32(c + 12, c[12] + 1u);
    fix_crc(c, n);
    wn_test_write_file(q, c, n);
    expect_bad_model(q, "records but the records end after 6");
    put32(c + 12, 0xffffffffu);
    fix_crc(c, n);
    wn_test_write_file(q, c, n);
    expect_bad_model(q, "records but");
    put32(c + 12, 2);
    fix_crc(c, n);
    wn_test_write_file(q, c, n);
    expect_bad_model(q, "left after the last one");

    /* the checksum itself */
    memcpy(c, b, n);
    c[n - 1] ^= 0x40;
    wn_test_write_file(q, c, n);
    expect_bad_model(q, "checksum mismatch: the file is corrupt");

    /* empty, missing, a directory */
    wn_test_write_file(q, "", 0);
    expect_bad_model(q, "empty file");
    char *missing = tpath("no-such-file.wnet");
    expect_bad_model(missing, "No such file");
    expect_bad_model(g_dir, "not a regular file");

    /* model and state swapped */
    wn_train_state s;
    make_state(&s, "h");
    wn_err e;
    wn_err_clear(&e);
    CHECK(wn_train_state_save(q, &s, &e) == WN_OK);
    wn_train_state_free(&s);
    expect_bad_model(q, "this is a training-state file, not a model");
    expect_bad_state(p, "this is a model file, not a training state");
    wn_test_write_file(q, "garbage!garbage!garbage!garbage!", 32);
    expect_bad_state(q, "not a weldnet training-state file");
    expect_bad_state(missing, "No such file");

    free(missing);
    free(b);
    free(c);
    free(p);
    free(q);
}

/* ---- crafted files: structural errors behind a valid CRC -------------------------------- */

typedef struct {
    uint8_t *p;
    size_t n;
} bytes;

static void b_put(bytes *b, const void *d, size_t n) {
    b->p = wn_xrealloc(b->p, b->n + n + 1);
    if (n) memcpy(b->p + b->n, d, n);
    b->n += n;
}
static void b_u32(bytes *b, uint32_t v) {
    uint8_t t[4];
    put32(t, v);
    b_put(b, t, 4);
}
static void b_u64(bytes *b, uint64_t v) {
    uint8_t t[8];
    put64(t, v);
    b_put(b, t, 8);
}
static void b_f32(bytes *b, float f) {
    uint32_t v;
    memcpy(&v, &f, 4);
    b_u32(b, v);
}
static void b_str(bytes *b, const char *s, size_t n) {
    b_u32(b, (uint32_t)n);
    b_put(b, s, n);
}

typedef struct {
    uint32_t tag;
    bytes c;
} rec;

/* Writes magic, version 1, the records, and a correct CRC. */
static void write_crafted(const char *path, const char *magic, rec *r, int n) {
    bytes f = {0};
    uint64_t payload = 0;
    for (int i = 0; i < n; i++) payload += 12 + r[i].c.n;
    b_put(&f, magic, 8);
    b_u32(&f, 1);
    b_u32(&f, (uint32_t)n);
    b_u64(&f, payload);
    for (int i = 0; i < n; i++) {
        b_u32(&f, r[i].tag);
        b_u64(&f, r[i].c.n);
        b_put(&f, r[i].c.p, r[i].c.n);
    }
    b_u32(&f, 0);
    fix_crc(f.p, f.n);
    CHECK(wn_test_write_file(path, f.p, f.n) == 0);
    free(f.p);
    for (int i = 0; i < n; i++) free(r[i].c.p);
}

#define T_NETI WN_TAG('N', 'E', 'T', 'I')
#define T_CLAS WN_TAG('C', 'L', 'A', 'S')
#define T_INPT WN_TAG('I', 'N', 'P', 'T')
#define T_META WN_TAG('M', 'E', 'T', 'A')
#define T_TENS WN_TAG('T', 'E', 'N', 'S')

static rec r_text(uint32_t tag, const char *s, size_t n) {
    rec r = {tag, {0}};
    b_put(&r.c, s, n);
    return r;
}

/* 'CLAS' with the given names (lengths given so NUL can be embedded). */
static rec r_clas(uint32_t count, const char *const *names, const size_t *lens, int n) {
    rec r = {T_CLAS, {0}};
    b_u32(&r.c, count);
    for (int i = 0; i < n; i++) {
        b_str(&r.c, names[i], lens[i]);
        b_u64(&r.c, 10u + (uint64_t)i);
    }
    return r;
}

static rec r_inpt(uint32_t c, uint32_t h, uint32_t w, float mean0) {
    rec r = {T_INPT, {0}};
    b_u32(&r.c, c);
    b_u32(&r.c, h);
    b_u32(&r.c, w);
    b_f32(&r.c, mean0);
    b_f32(&r.c, 0);
    b_f32(&r.c, 0);
    for (int i = 0; i < 3; i++) b_f32(&r.c, 0.5f);
    return r;
}

/* 'TENS' with ndim dims and `values` floats of data. */
static rec r_tens(const char *name, uint32_t ndim, const uint32_t *dims, size_t values) {
    rec r = {T_TENS, {0}};
    b_str(&r.c, name, strlen(name));
    b_u32(&r.c, ndim);
    for (uint32_t d = 0; d < ndim; d++) b_u32(&r.c, dims[d]);
    for (size_t i = 0; i < values; i++) b_f32(&r.c, (float)i);
    return r;
}

/* The four valid base records, optionally with one of them replaced or dropped. */
enum { B_NETI, B_CLAS, B_INPT, B_TENS, B_N };
static int base_records(rec *r, int replace, rec with, int drop) {
    static const char *const names[2] = {"ok", "bad"};
    static const size_t lens[2] = {2, 3};
    static const uint32_t dims[2] = {2, 3};
    int n = 0;
    for (int k = 0; k < B_N; k++) {
        if (k == drop) continue;
        if (k == replace) {
            r[n++] = with;
            continue;
        }
        r[n++] = k == B_NETI   ? r_text(T_NETI, "[net]\n", 6)
                 : k == B_CLAS ? r_clas(2, names, lens, 2)
                 : k == B_INPT ? r_inpt(3, 16, 16, 0.5f)
                               : r_tens("w", 2, dims, 6);
    }
    return n;
}

static void crafted_case(const char *path, int replace, rec with, int drop, const char *part) {
    rec r[8];
    int n = base_records(r, replace, with, drop);
    write_crafted(path, "WNETMODL", r, n);
    expect_bad_model(path, part);
}

static void test_crafted(void) {
    char *p = tpath("crafted.wnet");
    rec r[12];
    rec none = {0, {0}};
    wn_err e;
    wn_err_clear(&e);
    wn_model m;

    /* the base itself loads, plus an unknown record, an empty META and a 4-d tensor */
    int n = base_records(r, -1, none, -1);
    r[n++] = r_text(WN_TAG('F', 'U', 'T', '1'), "\0\1\2", 3);
    r[n++] = r_text(T_META, "", 0);
    uint32_t d4[4] = {1, 2, 1, 2};
    r[n++] = r_tens("four", 4, d4, 4);
    write_crafted(p, "WNETMODL", r, n);
    int rc = wn_model_load(p, &m, &e);
    CHECK_MSG(rc == WN_OK, "crafted base: %s", e.msg);
    if (rc == WN_OK) {
        CHECK(m.n_classes == 2 && m.class_counts[1] == 11 && m.n_tensors == 2 && m.n_extra == 1);
        CHECK(m.extra[0].len == 3 && m.extra[0].data[2] == 2 && m.meta && !m.meta[0]);
        wn_model_free(&m);
    }

    /* required records missing or repeated */
    crafted_case(p, -1, none, B_NETI, "record 'NETI' (network definition) is missing");
    crafted_case(p, -1, none, B_CLAS, "record 'CLAS' (class names) is missing");
    crafted_case(p, -1, none, B_INPT, "record 'INPT' (input size and normalisation) is missing");
    n = base_records(r, -1, none, -1);
    r[n++] = r_text(T_NETI, "[net]\n", 6);
    write_crafted(p, "WNETMODL", r, n);
    expect_bad_model(p, "record 'NETI' at byte");
    n = base_records(r, -1, none, -1);
    r[n++] = r_text(T_META, "a", 1);
    r[n++] = r_text(T_META, "b", 1);
    write_crafted(p, "WNETMODL", r, n);
    expect_bad_model(p, "appears a second time");

    /* classes */
    const char *nm[3] = {"ok", "bad", "ok"};
    size_t ln[3] = {2, 3, 2};
    crafted_case(p, B_CLAS, r_clas(0, nm, ln, 0), -1, "0 classes (allowed: 1 to 1000)");
    crafted_case(p, B_CLAS, r_clas(1001, nm, ln, 2), -1, "1001 classes");
    crafted_case(p, B_CLAS, r_clas(3, nm, ln, 2), -1, "truncated: class name");
    crafted_case(p, B_CLAS, r_clas(3, nm, ln, 3), -1, "class name 'ok' appears more than once");
    const char *bad1[2] = {"ok", ""};
    size_t bl1[2] = {2, 0};
    crafted_case(p, B_CLAS, r_clas(2, bad1, bl1, 2), -1, "class name is empty");
    const char *bad2[2] = {"ok", "b\nd"};
    size_t bl2[2] = {2, 3};
    crafted_case(p, B_CLAS, r_clas(2, bad2, bl2, 2), -1, "class name contains a line break");
    const char *bad3[2] = {"ok", "b\0d"};
    crafted_case(p, B_CLAS, r_clas(2, bad3, bl2, 2), -1, "class name contains a NUL byte");
    rec big = r_clas(2, nm, ln, 1);
    b_u32(&big.c, 0xffffffffu); /* a name length far beyond the record */
    crafted_case(p, B_CLAS, big, -1, "claims 4294967295 bytes but only 0 remain");
    rec extra = r_clas(2, nm, ln, 2);
    b_put(&extra.c, "!", 1);
    crafted_case(p, B_CLAS, extra, -1, "1 unexpected bytes at the end of the record");
    rec bigcount = r_clas(1, nm, ln, 0);
    b_str(&bigcount.c, "x", 1);
    b_u64(&bigcount.c, UINT64_MAX);
    crafted_case(p, B_CLAS, bigcount, -1, "impossible training count");

    /* input */
    rec shortin = r_inpt(3, 16, 16, 0.5f);
    shortin.c.n -= 1;
    crafted_case(p, B_INPT, shortin, -1, "35 bytes (expected 36)");
    crafted_case(p, B_INPT, r_inpt(4, 16, 16, 0.5f), -1, "out of range");
    crafted_case(p, B_INPT, r_inpt(3, 0, 16, 0.5f), -1, "out of range");
    crafted_case(p, B_INPT, r_inpt(3, 16, 16, NAN), -1, "not a finite number");

    /* tensors */
    uint32_t dz[5] = {2, 3, 1, 1, 1}, d0[2] = {2, 0}, dneg[1] = {0x80000000u};
    crafted_case(p, B_TENS, r_tens("w", 0, dz, 1), -1, "has 0 dimensions (allowed: 1 to 4)");
    crafted_case(p, B_TENS, r_tens("w", 5, dz, 6), -1, "has 5 dimensions (allowed: 1 to 4)");
    crafted_case(p, B_TENS, r_tens("w", 2, d0, 0), -1, "dimension 1 is 0");
    crafted_case(p, B_TENS, r_tens("w", 1, dneg, 0), -1, "dimension 0 is 2147483648");
    crafted_case(p, B_TENS, r_tens("w", 2, dz, 5), -1, "(6 values) needs 24 bytes of data but the record holds 20");
    crafted_case(p, B_TENS, r_tens("w", 2, dz, 7), -1, "needs 24 bytes of data but the record holds 28");
    crafted_case(p, B_TENS, r_tens("", 2, dz, 6), -1, "tensor name is empty");
    crafted_case(p, B_TENS, r_tens("a\nb", 2, dz, 6), -1, "line break");
    uint32_t dhuge[4] = {0x7fffffffu, 0x7fffffffu, 0x7fffffffu, 0x7fffffffu};
    crafted_case(p, B_TENS, r_tens("w", 4, dhuge, 2), -1, "holds more values than the record");
    rec tname = {T_TENS, {0}};
    b_u32(&tname.c, 0xfffffff0u);
    crafted_case(p, B_TENS, tname, -1, "truncated: tensor name");
    rec tcut = {T_TENS, {0}};
    b_str(&tcut.c, "w", 1);
    b_u32(&tcut.c, 3);
    b_u32(&tcut.c, 2);
    crafted_case(p, B_TENS, tcut, -1, "truncated: tensor dimension");
    n = base_records(r, -1, none, -1);
    r[n++] = r_tens("w", 2, dz, 6);
    write_crafted(p, "WNETMODL", r, n);
    expect_bad_model(p, "tensor name 'w' appears more than once");

    /* tags */
    n = base_records(r, -1, none, -1);
    r[n++] = r_text(WN_TAG('\1', 'A', 'B', 'C'), "x", 1);
    write_crafted(p, "WNETMODL", r, n);
    expect_bad_model(p, "invalid tag 0x43424101");
    n = base_records(r, -1, none, -1);
    memcpy(r[0].c.p, "[n\0t]\n", 6);
    write_crafted(p, "WNETMODL", r, n);
    expect_bad_model(p, "network text contains a NUL byte");

    /* a model with only the header (no records) */
    write_crafted(p, "WNETMODL", r, 0);
    expect_bad_model(p, "is missing");

    /* training state */
    rec s[8];
    int ns = 0;
#define T_EPOC WN_TAG('E', 'P', 'O', 'C')
    rec epoc = {T_EPOC, {0}}, step = {WN_TAG('S', 'T', 'E', 'P'), {0}},
        rngs = {WN_TAG('R', 'N', 'G', 'S'), {0}}, best = {WN_TAG('B', 'E', 'S', 'T'), {0}};
    b_u32(&epoc.c, 3);
    b_u64(&step.c, 99);
    b_u64(&rngs.c, 1);
    b_u64(&rngs.c, 3);
    b_u64(&best.c, 0);
    b_u32(&best.c, 2);
    s[ns++] = epoc;
    s[ns++] = step;
    s[ns++] = rngs;
    s[ns++] = best;
    s[ns++] = r_text(WN_TAG('N', 'E', 'W', '!'), "skipped", 7);
    write_crafted(p, "WNETSTAT", s, ns);
    wn_train_state st;
    rc = wn_train_state_load(p, &st, &e);
    CHECK_MSG(rc == WN_OK, "crafted state: %s", e.msg);
    if (rc == WN_OK) {
        CHECK(st.epoch == 3 && st.step == 99 && st.rng_inc == 3 && st.best_epoch == 2);
        CHECK(st.config_hash == NULL && st.n_tensors == 0);
        wn_train_state_free(&st);
    }
    /* missing EPOC */
    rec s2[3] = {{0}};
    b_u64(&s2[0].c, 1);
    s2[0].tag = WN_TAG('S', 'T', 'E', 'P');
    write_crafted(p, "WNETSTAT", s2, 1);
    expect_bad_state(p, "record 'EPOC' is missing");
    /* wrong size and a negative epoch */
    rec s3[4] = {{T_EPOC, {0}}, {0}, {0}, {0}};
    b_u64(&s3[0].c, 1);
    s3[1].tag = WN_TAG('S', 'T', 'E', 'P');
    b_u64(&s3[1].c, 1);
    s3[2].tag = WN_TAG('R', 'N', 'G', 'S');
    b_u64(&s3[2].c, 1);
    b_u64(&s3[2].c, 1);
    s3[3].tag = WN_TAG('B', 'E', 'S', 'T');
    b_u64(&s3[3].c, 1);
    b_u32(&s3[3].c, 1);
    write_crafted(p, "WNETSTAT", s3, 4);
    expect_bad_state(p, "8 bytes (expected 4)");
    rec s4[4] = {{T_EPOC, {0}}, {0}, {0}, {0}};
    b_u32(&s4[0].c, 0xffffffffu);
    s4[1].tag = WN_TAG('S', 'T', 'E', 'P');
    b_u64(&s4[1].c, 1);
    s4[2].tag = WN_TAG('R', 'N', 'G', 'S');
    b_u64(&s4[2].c, 1);
    b_u64(&s4[2].c, 1);
    s4[3].tag = WN_TAG('B', 'E', 'S', 'T');
    b_u64(&s4[3].c, 1);
    b_u32(&s4[3].c, 1);
    write_crafted(p, "WNETSTAT", s4, 4);
    expect_bad_state(p, "epoch -1 is negative");
    free(p);
}

/* ---- fuzz: random mutations with the CRC and payload length fixed up ------------------- */

static void fuzz_one(const char *path, const uint8_t *base, size_t n, uint64_t *seed, int model,
                     int *ok) {
    size_t cap = n + 64;
    uint8_t *b = wn_xmalloc(cap);
    memcpy(b, base, n);
    size_t len = n;
    int ops = 1 + (int)(rng_next(seed) % 4);
    for (int o = 0; o < ops; o++) {
        size_t at = len ? (size_t)(rng_next(seed) % len) : 0;
        switch (rng_next(seed) % 7) {
        case 0: /* flip a bit */
            if (len) b[at] ^= (uint8_t)(1u << (rng_next(seed) % 8));
            break;
        case 1: /* random byte */
            if (len) b[at] = (uint8_t)rng_next(seed);
            break;
        case 2: { /* an interesting u32 */
            static const uint32_t v[] = {0, 1, 2, 4, 5, 0x7f, 0xff, 0xffff, 0x7fffffff,
                                         0x80000000u, 0xffffffffu, 1000, 1001};
            if (at + 4 <= len) put32(b + at, v[rng_next(seed) % (sizeof v / sizeof v[0])]);
            break;
        }
        case 3: /* an interesting u64 (record lengths) */
            if (at + 8 <= len) {
                uint64_t v = rng_next(seed) % 3 == 0 ? UINT64_MAX - rng_next(seed) % 16
                                                     : rng_next(seed) % (len + 16);
                put64(b + at, v);
            }
            break;
        case 4: { /* delete a range */
            size_t k = 1 + (size_t)(rng_next(seed) % 16);
            if (at + k > len) k = len - at;
            memmove(b + at, b + at + k, len - at - k);
            len -= k;
            break;
        }
        case 5: { /* insert random bytes */
            size_t k = 1 + (size_t)(rng_next(seed) % 8);
            if (len + k > cap) break;
            memmove(b + at + k, b + at, len - at);
            for (size_t i = 0; i < k; i++) b[at + i] = (uint8_t)rng_next(seed);
            len += k;
            break;
        }
        default: /* truncate */
            len = at;
            break;
        }
    }
    /* make the header consistent so that the structural checks are reached */
    if (len >= 28) {
        if (rng_next(seed) % 8) put64(b + 16, len - 28);
        if (rng_next(seed) % 16) memcpy(b, model ? "WNETMODL" : "WNETSTAT", 8);
        fix_crc(b, len);
    }
    CHECK(wn_test_write_file(path, b, len) == 0);
    wn_err e;
    wn_err_clear(&e);
    int rc;
    if (model) {
        wn_model m;
        rc = wn_model_load(path, &m, &e);
        if (rc) CHECK(model_zeroed(&m));
        wn_model_free(&m);
    } else {
        wn_train_state s;
        rc = wn_train_state_load(path, &s, &e);
        wn_train_state_free(&s);
    }
    CHECK_MSG(rc == WN_OK || (rc == WN_EINPUT && names_path(e.msg, path)), "rc %d: %s", rc, e.msg);
    *ok += rc == WN_OK;
    free(b);
}

static void test_fuzz(void) {
    wn_model m;
    make_small_model(&m);
    /* two tensors and a few classes, to give the mutations more structure to hit */
    uint64_t seed = 99;
    int d[2] = {2, 2};
    m.tensors = wn_xrealloc(m.tensors, 2 * sizeof(wn_named_tensor));
    add_tensor(&m.tensors[1], "v", 2, d, &seed);
    m.n_tensors = 2;
    char *p = tpath("fuzz-base.wnet"), *q = tpath("fuzz.wnet");
    save_model(p, &m);
    wn_model_free(&m);
    size_t n;
    uint8_t *b = read_all(p, &n);
    int ok = 0;
    seed = 0x1234567;
    for (int i = 0; i < 2000 && b; i++) fuzz_one(q, b, n, &seed, 1, &ok);
    free(b);

    wn_train_state s;
    make_state(&s, "hash");
    s.tensors[0].dims[0] = 3; /* smaller tensors */
    s.tensors[1].dims[0] = 3;
    wn_err e;
    wn_err_clear(&e);
    CHECK(wn_train_state_save(p, &s, &e) == WN_OK);
    wn_train_state_free(&s);
    b = read_all(p, &n);
    int ok_state = 0;
    for (int i = 0; i < 600 && b; i++) fuzz_one(q, b, n, &seed, 0, &ok_state);
    printf("fuzz: %d of 2000 model and %d of 600 state mutations still loaded\n", ok, ok_state);
    free(b);
    free(p);
    free(q);
}

/* ---- writing: refusals and failures leave existing files untouched ----------------------- */

static void expect_save_error(const char *path, const wn_model *m, const char *part) {
    wn_err e;
    wn_err_clear(&e);
    int rc = wn_model_save(path, m, &e);
    CHECK_MSG(rc == WN_ERUNTIME, "%s: expected WN_ERUNTIME, got %d (%s)", path, rc, e.msg);
    CHECK_MSG(names_path(e.msg, path), "message '%s' does not start with the path", e.msg);
    if (part) CHECK_MSG(has(e.msg, part), "message '%s' lacks '%s'", e.msg, part);
}

static int same_file(const char *path, const uint8_t *b, size_t n) {
    size_t k;
    uint8_t *c = read_all(path, &k);
    int same = c && k == n && memcmp(b, c, n) == 0;
    free(c);
    return same;
}

static void test_write_failures(void) {
    wn_model a, bm;
    make_small_model(&a);
    make_model(&bm, 1, 1);
    char *p = tpath("keep.wnet"), *tmp = tpath("keep.wnet.tmp");
    save_model(p, &a);
    size_t n;
    uint8_t *orig = read_all(p, &n);

    /* a folder that does not exist */
    char *missing = tpath("no/such/dir/m.wnet");
    expect_save_error(missing, &bm, "cannot open for writing: No such file or directory");
    CHECK(!file_exists(missing));

    /* a read-only folder (root ignores permissions) */
    if (geteuid() != 0) {
        char *ro = tpath("ro"), *rop = tpath("ro/m.wnet"), *rotmp = tpath("ro/m.wnet.tmp");
        mkdir(ro, 0755);
        save_model(rop, &a);
        chmod(ro, 0555);
        expect_save_error(rop, &bm, "cannot open for writing: Permission denied");
        CHECK(same_file(rop, orig, n));
        CHECK(!file_exists(rotmp));
        chmod(ro, 0755);
        free(ro);
        free(rop);
        free(rotmp);
    } else {
        printf("running as root: read-only folder case skipped\n");
    }

    /* a write that fails part way (file size limit): PATH untouched, PATH.tmp removed */
    struct rlimit old;
    if (getrlimit(RLIMIT_FSIZE, &old) == 0) {
        void (*prev)(int) = signal(SIGXFSZ, SIG_IGN);
        struct rlimit lim = old;
        lim.rlim_cur = 2000; /* bm is ~14 KB */
        if (setrlimit(RLIMIT_FSIZE, &lim) == 0) {
            expect_save_error(p, &bm, "write failed: File too large");
            setrlimit(RLIMIT_FSIZE, &old);
            CHECK(same_file(p, orig, n));
            CHECK(!file_exists(tmp));
        }
        signal(SIGXFSZ, prev);
    }

    /* the path is a directory: rename fails, the folder stays, PATH.tmp is removed */
    char *dirp = tpath("adir"), *dirtmp = tpath("adir.tmp");
    mkdir(dirp, 0755);
    expect_save_error(dirp, &a, "cannot replace the file");
    struct stat st;
    CHECK(stat(dirp, &st) == 0 && S_ISDIR(st.st_mode));
    CHECK(!file_exists(dirtmp));

    /* saving over an existing file replaces it by rename: a reader holding the old file still
     * sees the old bytes, a new open sees the new model; a stale PATH.tmp is harmless */
    CHECK(wn_test_write_file(tmp, "stale", 5) == 0);
    struct stat before, after;
    stat(p, &before);
    FILE *old_f = fopen(p, "rb");
    save_model(p, &bm);
    stat(p, &after);
    CHECK(before.st_ino != after.st_ino);
    CHECK(!file_exists(tmp));
    if (old_f) {
        uint8_t *c = wn_xmalloc(n + 1);
        CHECK(fread(c, 1, n + 1, old_f) == n && memcmp(c, orig, n) == 0);
        free(c);
        fclose(old_f);
    }
    wn_model back;
    wn_err e;
    wn_err_clear(&e);
    int rc = wn_model_load(p, &back, &e);
    CHECK_MSG(rc == WN_OK, "%s", e.msg);
    if (rc == WN_OK) {
        check_models_equal(&bm, &back);
        wn_model_free(&back);
    }

    /* invalid models are refused before anything is written */
    char *q = tpath("refused.wnet");
    int saved_c = a.n_classes;
    a.n_classes = 0;
    expect_save_error(q, &a, "cannot save: 0 classes");
    a.n_classes = saved_c;
    char *saved_name = a.class_names[1];
    a.class_names[1] = "two\nlines";
    expect_save_error(q, &a, "multi-line");
    a.class_names[1] = "ok";
    expect_save_error(q, &a, "class name 'ok' appears more than once");
    a.class_names[1] = saved_name;
    a.class_counts[0] = -1;
    expect_save_error(q, &a, "negative training count");
    a.class_counts[0] = 5;
    a.in_c = 0;
    expect_save_error(q, &a, "out of range");
    a.in_c = 1;
    a.std[2] = INFINITY;
    expect_save_error(q, &a, "not a finite number");
    a.std[2] = 0;
    a.tensors[0].ndim = 0;
    expect_save_error(q, &a, "0 dimensions");
    a.tensors[0].ndim = 5;
    expect_save_error(q, &a, "5 dimensions");
    a.tensors[0].ndim = 1;
    a.tensors[0].dims[0] = -3;
    expect_save_error(q, &a, "dimension 0 is -3");
    a.tensors[0].dims[0] = 3;
    wn_model_set_record(&a, WN_TAG('T', 'E', 'N', 'S'), "x", 1);
    expect_save_error(q, &a, "reserved for the model itself");
    a.extra[a.n_extra - 1].tag = WN_TAG('a', '\n', 'b', 'c');
    expect_save_error(q, &a, "not four printable ASCII characters");
    a.extra[a.n_extra - 1].tag = WN_TAG('O', 'K', 'O', 'K');
    CHECK(!file_exists(q));
    wn_err_clear(&e);
    CHECK(wn_model_save(q, &a, &e) == WN_OK);

    /* training state: missing folder, refusal, and replacement */
    wn_train_state s;
    make_state(&s, "h");
    rc = wn_train_state_save(missing, &s, &e);
    CHECK(rc == WN_ERUNTIME && names_path(e.msg, missing) && has(e.msg, "cannot open for writing"));
    s.epoch = -2;
    rc = wn_train_state_save(q, &s, &e);
    CHECK(rc == WN_ERUNTIME && names_path(e.msg, q) && has(e.msg, "negative"));
    s.epoch = 2;
    free(s.tensors[1].name);
    s.tensors[1].name = wn_xstrdup("params");
    rc = wn_train_state_save(q, &s, &e);
    CHECK(rc == WN_ERUNTIME && has(e.msg, "tensor name 'params' appears more than once"));
    wn_train_state_free(&s);
    expect_bad_state(q, "this is a model file"); /* q untouched by the refused saves */

    free(q);
    free(dirp);
    free(dirtmp);
    free(missing);
    free(orig);
    free(p);
    free(tmp);
    wn_model_free(&a);
    wn_model_free(&bm);
}

int main(void) {
    g_dir = wn_test_tmpdir("test_model_file");
    test_model_roundtrip();
    test_state_roundtrip();
    test_lookups();
    test_info();
    test_every_prefix();
    test_every_bit_flip();
    test_header_errors();
    test_crafted();
    test_fuzz();
    test_write_failures();
    return wn_test_done();
}
