/* wn_outguard.c - refusing output paths that would destroy a photo, a model, a training state
 * or an input of the same run (wn_outguard.h). */
#include "wn_outguard.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "wn_image.h"
#include "wn_model.h"

int wn_outguard_check(const char *path, const char *what, int may, wn_err *e) {
    if (!path) return WN_OK;
    struct stat st;
    if (stat(path, &st) != 0) return WN_OK; /* does not exist (or cannot be seen): opening says */
    if (S_ISDIR(st.st_mode))
        return wn_err_set(e, WN_EINPUT, "%s: is a folder, not a file for %s", path, what);
    if (!S_ISREG(st.st_mode)) return WN_OK; /* a FIFO or /dev/null: writing to it destroys nothing */
    uint8_t head[8] = {0};
    size_t n = 0;
    FILE *f = fopen(path, "rb");
    if (f) {
        n = fread(head, 1, sizeof head, f);
        fclose(f);
    }
    const char *kind = NULL;
    int fmt = wn_image_format(head, n), file = wn_model_file_sniff(head, n);
    if (fmt == WN_FMT_JPEG) kind = "a JPEG photo";
    else if (fmt == WN_FMT_PNG && !(may & WN_OUT_MAY_REPLACE_PNG)) kind = "a PNG photo";
    else if (file == WN_FILE_MODEL && !(may & WN_OUT_MAY_REPLACE_MODEL))
        kind = "a weldnet model";
    else if (file == WN_FILE_STATE && !(may & WN_OUT_MAY_REPLACE_STATE))
        kind = "a weldnet training state";
    if (kind)
        return wn_err_set(e, WN_EINPUT, "%s: is %s; refusing to overwrite it with %s (give another "
                                        "file name)",
                          path, kind, what);
    return WN_OK;
}

/* A path that does not exist (yet): its folder's identity and its last component. 0 when the
 * folder cannot be seen either. */
static int parent_of(const char *path, struct stat *dir, const char **base) {
    const char *slash = strrchr(path, '/');
    *base = slash ? slash + 1 : path;
    if (!slash) return stat(".", dir) == 0;
    size_t n = slash == path ? 1 : (size_t)(slash - path);
    char *d = wn_xmalloc(n + 1);
    memcpy(d, path, n);
    d[n] = '\0';
    int ok = stat(d, dir) == 0;
    free(d);
    return ok;
}

int wn_same_file(const char *a, const char *b) {
    if (!a || !b) return 0;
    struct stat sa, sb;
    int ea = stat(a, &sa) == 0, eb = stat(b, &sb) == 0;
    if (ea && eb) return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
    if (ea || eb) return 0;
    const char *ba, *bb; /* neither exists: the same name in the same folder? */
    if (!parent_of(a, &sa, &ba) || !parent_of(b, &sb, &bb)) return strcmp(a, b) == 0;
    return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino && strcmp(ba, bb) == 0;
}

int wn_outguard_distinct(const char *out, const char *out_what, const char *other,
                         const char *other_what, wn_err *e) {
    if (!wn_same_file(out, other)) return WN_OK;
    if (!strcmp(out, other))
        return wn_err_set(e, WN_EINPUT, "%s: named both as %s and as %s", out, out_what, other_what);
    return wn_err_set(e, WN_EINPUT, "%s (%s) and %s (%s) are the same file", out, out_what, other,
                      other_what);
}
