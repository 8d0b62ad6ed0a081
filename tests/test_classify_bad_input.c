/* test_classify_bad_input.c - wn_classify_run over a folder of every kind of bad input the issue
 * lists: truncated and corrupt JPEG and PNG, zero-byte files, non-images, CMYK and progressive
 * JPEGs, 16-bit and palette PNGs, enormous dimensions, unreadable permissions (skipped as root,
 * where permissions do not apply), link loops, names with commas, quotes, newlines, '%' and
 * non-UTF-8 bytes, a photo without a photo name (recognised by content), a FIFO. Every photo
 * must appear exactly once with the right decision and a reason, the names must come back
 * byte for byte, rows must be sorted; a model of the wrong kind and a full disk are refused. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "test_deploy_util.h"

static char g_photos[512];

static const char *at(const char *name) { return wn_test_path(g_photos, name); }

typedef struct expect {
    const char *name;
    int decision;     /* -1: pass or review; WN_CLS_ERROR: error; -2: not in the report */
    const char *why;  /* substring of the error text */
} expect;

static int run(const char *model, const char *report, const char *summary, wn_err *e) {
    const char *models[1] = {model}, *dirs[1] = {g_photos};
    wn_cls_options o;
    tdu_options(&o, models, 1, dirs, report, 4, 2);
    o.summary = summary;
    return wn_classify_run(&o, e);
}

int main(void) {
    const char *tmp = wn_test_tmpdir("test_classify_bad_input");
    snprintf(g_photos, sizeof g_photos, "%s/photos", tmp);
    CHECK(mkdir(g_photos, 0755) == 0);
    char model[600], report[600], summary[600];
    snprintf(model, sizeof model, "%s/m.wnet", tmp);
    snprintf(report, sizeof report, "%s/r.csv", tmp);
    snprintf(summary, sizeof summary, "%s/r.summary.txt", tmp);
    char *names[3] = {"ok", "scratch", "dent"};
    long counts[3] = {80, 10, 10};
    CHECK(tdu_make_model(model, 3, names, counts, 0.5f, 7) == 0);

    /* good photos of every supported kind */
    tp_buf b;
    b = tdu_png(40, 30, PNG_COLOR_TYPE_GRAY, 8), tdu_save(at("grey.png"), b.p, b.n), free(b.p);
    b = tdu_png(40, 30, PNG_COLOR_TYPE_RGB, 16), tdu_save(at("rgb16.png"), b.p, b.n), free(b.p);
    b = tdu_png(40, 30, PNG_COLOR_TYPE_PALETTE, 8), tdu_save(at("palette.png"), b.p, b.n), free(b.p);
    b = tdu_png(40, 30, PNG_COLOR_TYPE_RGBA, 8), tdu_save(at("scan0001"), b.p, b.n), free(b.p);
    b = tdu_jpeg(64, 48, 4, 0), tdu_save(at("cmyk.jpg"), b.p, b.n), free(b.p);
    b = tdu_jpeg(640, 480, 3, 1), tdu_save(at("progressive.JPEG"), b.p, b.n), free(b.p);
    tp_buf j = tdu_jpeg(64, 48, 3, 0), p = tdu_png(64, 48, PNG_COLOR_TYPE_RGB, 8);
    tdu_save(at("rgb.jpg"), j.p, j.n);
    /* names that a CSV or a terminal could break on */
    tdu_save(at("comma, and space.jpg"), j.p, j.n);
    tdu_save(at("quote\"d.jpg"), j.p, j.n);
    tdu_save(at("new\nline.png"), p.p, p.n);
    tdu_save(at("bytes\xff\xfe\x80.png"), p.p, p.n);
    tdu_save(at("percent%41.png"), p.p, p.n);
    tdu_save(at("caf\xc3\xa9.png"), p.p, p.n);
    /* broken photos */
    tdu_save(at("half.jpg"), j.p, j.n / 2);
    tdu_save(at("half.png"), p.p, p.n / 2);
    tp_buf g = {0};
    tp_put(&g, j.p, 3);
    for (int i = 0; i < 200; i++) tp_put(&g, &(uint8_t){(uint8_t)(i * 37)}, 1);
    tdu_save(at("garbage.jpg"), g.p, g.n);
    free(g.p);
    tp_buf f = {0};
    tp_put(&f, p.p, p.n);
    f.p[p.n - 20] ^= 0x5A; /* inside the IDAT data or its CRC */
    tdu_save(at("flipped.png"), f.p, f.n);
    free(f.p);
    tdu_save(at("zero.jpg"), "", 0);
    tdu_save(at("zero-no-name"), "", 0);
    tdu_save(at("text.png"), "this is not a photo\n", 20);
    tdu_save(at("notes.txt"), "a note\n", 7);
    tdu_save(at(".hidden.jpg"), j.p, j.n);
    /* enormous dimensions in the header (PNG with a valid IHDR CRC, JPEG SOF) */
    tp_buf h = {0};
    tp_put(&h, p.p, p.n);
    uint8_t dims[8] = {0x00, 0x01, 0x86, 0xA0, 0x00, 0x01, 0x86, 0xA0}; /* 100000 x 100000 */
    memcpy(h.p + 16, dims, 8);
    uLong crc = crc32(0, h.p + 12, 17);
    uint8_t c4[4] = {(uint8_t)(crc >> 24), (uint8_t)(crc >> 16), (uint8_t)(crc >> 8), (uint8_t)crc};
    memcpy(h.p + 29, c4, 4);
    tdu_save(at("huge.png"), h.p, h.n);
    free(h.p);
    tp_buf hj = {0};
    tp_put(&hj, j.p, j.n);
    for (size_t o = 2; o + 9 < hj.n; o++)
        if (hj.p[o] == 0xFF && hj.p[o + 1] == 0xC0) {
            hj.p[o + 5] = 0xFD, hj.p[o + 6] = 0xE8, hj.p[o + 7] = 0xFD, hj.p[o + 8] = 0xE8;
            break;
        }
    tdu_save(at("huge.jpg"), hj.p, hj.n);
    free(hj.p);
    /* links: a loop of folders, a link to itself, a dangling link; a FIFO named like a photo */
    CHECK(mkdir(at("sub"), 0755) == 0);
    tdu_save(at("sub/inner.png"), p.p, p.n);
    CHECK(symlink("..", at("sub/loop")) == 0);
    CHECK(symlink("self.jpg", at("self.jpg")) == 0);
    CHECK(symlink("missing.png", at("dangling.png")) == 0);
    CHECK(mkfifo(at("fifo.jpg"), 0644) == 0);
    /* unreadable permissions: root reads everything, so the case only runs for other users */
    int as_root = geteuid() == 0;
    tdu_save(at("locked.png"), p.p, p.n);
    CHECK(chmod(at("locked.png"), 0000) == 0);
    if (as_root) printf("running as root: the unreadable-file case is skipped\n");
    free(j.p);
    free(p.p);

    expect want[] = {
        {"grey.png", -1, NULL}, {"rgb16.png", -1, NULL}, {"palette.png", -1, NULL},
        {"scan0001", -1, NULL}, {"cmyk.jpg", -1, NULL}, {"progressive.JPEG", -1, NULL},
        {"rgb.jpg", -1, NULL}, {"comma, and space.jpg", -1, NULL}, {"quote\"d.jpg", -1, NULL},
        {"new\nline.png", -1, NULL}, {"bytes\xff\xfe\x80.png", -1, NULL},
        {"percent%41.png", -1, NULL}, {"caf\xc3\xa9.png", -1, NULL}, {"sub/inner.png", -1, NULL},
        {"half.jpg", WN_CLS_ERROR, "JPEG"}, {"half.png", WN_CLS_ERROR, "PNG"},
        {"garbage.jpg", WN_CLS_ERROR, "JPEG"}, {"flipped.png", WN_CLS_ERROR, "PNG"},
        {"zero.jpg", WN_CLS_ERROR, "empty file"}, {"text.png", WN_CLS_ERROR, "not a JPEG or PNG"},
        {"huge.png", WN_CLS_ERROR, "100000 x 100000"}, {"huge.jpg", WN_CLS_ERROR, "65000 x 65000"},
        {"self.jpg", WN_CLS_ERROR, "link"}, {"dangling.png", WN_CLS_ERROR, "link"},
        {"locked.png", as_root ? -1 : WN_CLS_ERROR, as_root ? NULL : "ermission"},
        {"zero-no-name", -2, NULL}, {"notes.txt", -2, NULL}, {".hidden.jpg", -2, NULL},
        {"fifo.jpg", -2, NULL}, {"sub/loop/grey.png", -2, NULL},
    };
    int n_want = (int)(sizeof want / sizeof want[0]);

    wn_err e = {0};
    int rc = run(model, report, summary, &e);
    CHECK_MSG(rc == WN_OK, "%s", e.msg);
    tdu_report t;
    CHECK(tdu_report_read(report, &t) == 0);
    int in_report = 0;
    for (int i = 0; i < n_want; i++) {
        int r = tdu_report_find(&t, at(want[i].name));
        if (want[i].decision == -2) {
            CHECK_MSG(r == -1, "%s should not be in the report", want[i].name);
            continue;
        }
        in_report++;
        CHECK_MSG(r >= 0, "%s is in the report %s", want[i].name, r == -1 ? "no time" : "twice");
        if (r < 0) continue;
        if (want[i].decision == WN_CLS_ERROR) {
            CHECK_MSG(t.decision[r] == WN_CLS_ERROR, "%s: decision %d", want[i].name, t.decision[r]);
            CHECK_MSG(strstr(t.error[r], want[i].why) != NULL, "%s: error '%s' lacks '%s'",
                      want[i].name, t.error[r], want[i].why);
        } else {
            CHECK_MSG(t.decision[r] != WN_CLS_ERROR, "%s: error %s", want[i].name, t.error[r]);
            CHECK(t.error[r][0] == '\0');
            float s = 0;
            for (int q = 0; q < t.n_p; q++) s += t.p[(size_t)r * t.n_p + q];
            CHECK_CLOSE(s, 1.0, 1e-4, 0);
            CHECK((t.decision[r] == WN_CLS_REVIEW) == (t.defects[r][0] != '\0'));
        }
    }
    CHECK_MSG(t.n == in_report, "%d rows, %d expected", t.n, in_report);
    for (int i = 1; i < t.n; i++) CHECK(strcmp(t.path[i - 1], t.path[i]) < 0);
    /* the escaped error text keeps every row one line: no raw newline in the whole file */
    unsigned char *buf;
    size_t len;
    CHECK(wn_read_file(report, 1 << 24, &buf, &len, &e) == WN_OK);
    long lines = 0;
    for (size_t i = 0; i < len; i++) lines += buf[i] == '\n';
    CHECK(lines == t.n + 1);
    CHECK(memmem(buf, len, "new%0Aline.png", 14) != NULL);
    CHECK(memmem(buf, len, "bytes%FF%FE%80.png", 18) != NULL);
    CHECK(memmem(buf, len, "percent%2541.png", 16) != NULL);
    CHECK(memmem(buf, len, "caf\xc3\xa9.png", 9) != NULL);
    CHECK(memmem(buf, len, "/quote\"\"d.jpg\"", 14) != NULL);
    free(buf);
    tdu_report_free(&t);
    CHECK(wn_read_file(summary, 1 << 20, &buf, &len, &e) == WN_OK);
    buf[len - 1] = '\0';
    CHECK(strstr((char *)buf, "not_photos = 2\n") != NULL);
    CHECK(strstr((char *)buf, "folders_revisited = 1\n") != NULL);
    free(buf);

    /* a model file of the wrong kind, and a file that is no model at all */
    const char *bad_models[2] = {at("grey.png"), report};
    for (int i = 0; i < 2; i++) {
        wn_err e2 = {0};
        CHECK(run(bad_models[i], report, summary, &e2) == WN_EINPUT);
        CHECK_MSG(strstr(e2.msg, bad_models[i]) != NULL, "%s", e2.msg);
    }
    /* an uncalibrated model without --threshold */
    char raw[600];
    snprintf(raw, sizeof raw, "%s/raw.wnet", tmp);
    CHECK(tdu_make_model(raw, 3, names, counts, 0, 7) == 0);
    wn_err e3 = {0};
    CHECK(run(raw, report, summary, &e3) == WN_EINPUT && strstr(e3.msg, "not calibrated"));
    /* a full disk while the report is written */
    wn_err e4 = {0};
    CHECK(run(model, "/dev/full", summary, &e4) == WN_ERUNTIME);
    CHECK_MSG(strstr(e4.msg, "/dev/full") && strstr(e4.msg, "No space left"), "%s", e4.msg);
    chmod(at("locked.png"), 0644);
    return wn_test_done();
}
