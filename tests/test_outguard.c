/* test_outguard.c - wn_outguard.h: an output path is refused when it names a JPEG or PNG photo
 * (by content, whatever its extension), a weldnet model or training state (unless allowed), or a
 * folder; allowed when it does not exist, or holds text, nothing, or is /dev/null. wn_same_file
 * sees through "./", hard and symbolic links, also for files that do not exist yet, and tells
 * different files apart; the messages name the path, what it is and which output. */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "wn_outguard.h"
#include "wn_test.h"

static const char *g_dir;

static const char *put(const char *name, const void *bytes, size_t n) {
    const char *p = wn_test_path(g_dir, name);
    FILE *f = fopen(p, "wb");
    fwrite(bytes, 1, n, f);
    fclose(f);
    return p;
}

/* wn_outguard_check's status for path with flags may; the message into msg. */
static int check(const char *path, int may, char *msg, size_t cap) {
    wn_err e = {0};
    int rc = wn_outguard_check(path, "the report", may, &e);
    snprintf(msg, cap, "%s", e.msg);
    return rc;
}

int main(void) {
    g_dir = wn_test_tmpdir("test_outguard");
    char p_jpg[600], p_png[600], p_model[600], p_state[600], p_csv[600], p_empty[600];
    snprintf(p_jpg, sizeof p_jpg, "%s", put("photo.csv", "\xff\xd8\xff\xe0\0\x10JFIF", 10));
    snprintf(p_png, sizeof p_png, "%s", put("photo.txt", "\x89PNG\r\n\x1a\n\0\0", 10));
    snprintf(p_model, sizeof p_model, "%s", put("m.csv", "WNETMODL\1\0\0\0", 12));
    snprintf(p_state, sizeof p_state, "%s", put("s.csv", "WNETSTAT\1\0\0\0", 12));
    snprintf(p_csv, sizeof p_csv, "%s", put("old.csv", "\"path\",\"decision\"\n", 19));
    snprintf(p_empty, sizeof p_empty, "%s", put("empty.csv", "", 0));
    char msg[1100];

    /* refused by content, whatever the name says */
    CHECK(check(p_jpg, 0, msg, sizeof msg) == WN_EINPUT);
    CHECK_MSG(strstr(msg, p_jpg) && strstr(msg, "JPEG photo") && strstr(msg, "the report"), "%s", msg);
    CHECK(check(p_jpg, WN_OUT_MAY_REPLACE_PNG | WN_OUT_MAY_REPLACE_MODEL | WN_OUT_MAY_REPLACE_STATE,
                msg, sizeof msg) == WN_EINPUT);
    CHECK(check(p_png, 0, msg, sizeof msg) == WN_EINPUT);
    CHECK_MSG(strstr(msg, "PNG photo"), "%s", msg);
    CHECK(check(p_png, WN_OUT_MAY_REPLACE_PNG, msg, sizeof msg) == WN_OK);
    CHECK(check(p_model, 0, msg, sizeof msg) == WN_EINPUT);
    CHECK_MSG(strstr(msg, "weldnet model"), "%s", msg);
    CHECK(check(p_model, WN_OUT_MAY_REPLACE_STATE, msg, sizeof msg) == WN_EINPUT);
    CHECK(check(p_model, WN_OUT_MAY_REPLACE_MODEL, msg, sizeof msg) == WN_OK);
    CHECK(check(p_state, 0, msg, sizeof msg) == WN_EINPUT);
    CHECK_MSG(strstr(msg, "training state"), "%s", msg);
    CHECK(check(p_state, WN_OUT_MAY_REPLACE_MODEL, msg, sizeof msg) == WN_EINPUT);
    CHECK(check(p_state, WN_OUT_MAY_REPLACE_STATE, msg, sizeof msg) == WN_OK);
    CHECK(check(g_dir, 0, msg, sizeof msg) == WN_EINPUT);
    CHECK_MSG(strstr(msg, "folder"), "%s", msg);
    /* allowed: text, empty, absent, a device */
    CHECK(check(p_csv, 0, msg, sizeof msg) == WN_OK);
    CHECK(check(p_empty, 0, msg, sizeof msg) == WN_OK);
    CHECK(check(wn_test_path(g_dir, "new.csv"), 0, msg, sizeof msg) == WN_OK);
    CHECK(check("/dev/null", 0, msg, sizeof msg) == WN_OK);
    CHECK(check(NULL, 0, msg, sizeof msg) == WN_OK);

    /* the same file through other spellings */
    char dotted[700], hard[600], soft[600], missing[600];
    CHECK(chdir(g_dir) == 0);
    snprintf(dotted, sizeof dotted, "./old.csv");
    snprintf(hard, sizeof hard, "%s", wn_test_path(g_dir, "hard.csv"));
    snprintf(soft, sizeof soft, "%s", wn_test_path(g_dir, "soft.csv"));
    snprintf(missing, sizeof missing, "%s", wn_test_path(g_dir, "missing.csv"));
    unlink(hard);
    unlink(soft);
    CHECK(link(p_csv, hard) == 0);
    CHECK(symlink(p_csv, soft) == 0);
    CHECK(wn_same_file(p_csv, dotted) == 1);
    CHECK(wn_same_file(p_csv, hard) == 1);
    CHECK(wn_same_file(soft, p_csv) == 1);
    CHECK(wn_same_file(p_csv, p_empty) == 0);
    CHECK(wn_same_file(p_csv, missing) == 0);
    CHECK(wn_same_file(missing, missing) == 1);
    CHECK(wn_same_file("./missing.csv", missing) == 1); /* neither exists: same folder and name */
    CHECK(wn_same_file("missing.csv", "./missing.csv") == 1);
    CHECK(wn_same_file("missing.csv", "other.csv") == 0);
    CHECK(wn_same_file("missing.csv", "/missing.csv") == 0);
    CHECK(wn_same_file(NULL, p_csv) == 0);
    wn_err e = {0};
    CHECK(wn_outguard_distinct(dotted, "the summary", p_csv, "the report", &e) == WN_EINPUT);
    CHECK_MSG(strstr(e.msg, "./old.csv (the summary)") && strstr(e.msg, "(the report) are the same file"),
              "%s", e.msg);
    CHECK(wn_outguard_distinct(missing, "the summary", missing, "the report", &e) == WN_EINPUT);
    CHECK_MSG(strstr(e.msg, "named both as the summary and as the report"), "%s", e.msg);
    CHECK(wn_outguard_distinct(p_csv, "the summary", p_empty, "the report", &e) == WN_OK);
    CHECK(wn_outguard_distinct(p_csv, "the summary", NULL, "the report", &e) == WN_OK);
    return wn_test_done();
}
