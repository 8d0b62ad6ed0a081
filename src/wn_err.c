/* wn_err.c - error messages, checked stdio and allocation helpers. */
#include "wn_err.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int wn_err_set(wn_err *e, int code, const char *fmt, ...) {
    if (!e) return code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
    e->code = code;
    return code;
}

int wn_err_prefix(wn_err *e, const char *fmt, ...) {
    if (!e) return WN_ERUNTIME;
    char pre[512], old[sizeof e->msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(pre, sizeof pre, fmt, ap);
    va_end(ap);
    memcpy(old, e->msg, sizeof old);
    snprintf(e->msg, sizeof e->msg, "%s: %s", pre, old);
    return e->code;
}

void wn_err_clear(wn_err *e) {
    if (!e) return;
    e->code = WN_OK;
    e->msg[0] = '\0';
}

FILE *wn_fopen(const char *path, const char *mode, wn_err *e) {
    FILE *f = fopen(path, mode);
    if (!f)
        wn_err_set(e, mode[0] == 'r' ? WN_EINPUT : WN_ERUNTIME, "%s: cannot open for %s: %s", path,
                   mode[0] == 'r' ? "reading" : "writing", strerror(errno));
    return f;
}

int wn_fwrite(const void *p, size_t size, size_t n, FILE *f, const char *path, wn_err *e) {
    if (n == 0 || fwrite(p, size, n, f) == n) return WN_OK;
    return wn_err_set(e, WN_ERUNTIME, "%s: write failed: %s", path, strerror(errno));
}

int wn_fread(void *p, size_t size, size_t n, FILE *f, const char *path, wn_err *e) {
    if (n == 0 || fread(p, size, n, f) == n) return WN_OK;
    if (ferror(f)) return wn_err_set(e, WN_EINPUT, "%s: read failed: %s", path, strerror(errno));
    return wn_err_set(e, WN_EINPUT, "%s: file is truncated", path);
}

int wn_fclose(FILE *f, const char *path, wn_err *e) {
    int bad = fflush(f) != 0 || ferror(f);
    int err = errno;
    if (fclose(f) != 0 && !bad) {
        bad = 1;
        err = errno;
    }
    if (bad) return wn_err_set(e, WN_ERUNTIME, "%s: write failed: %s", path, strerror(err));
    return WN_OK;
}

int wn_read_file(const char *path, size_t max_bytes, unsigned char **buf, size_t *len, wn_err *e) {
    *buf = NULL;
    *len = 0;
    FILE *f = wn_fopen(path, "rb", e);
    if (!f) return WN_EINPUT;
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        fclose(f);
        return wn_err_set(e, WN_EINPUT, "%s: not a regular file", path);
    }
    if ((size_t)st.st_size > max_bytes) {
        fclose(f);
        return wn_err_set(e, WN_EINPUT, "%s: file of %lld bytes is over the limit of %zu bytes", path,
                          (long long)st.st_size, max_bytes);
    }
    size_t n = (size_t)st.st_size;
    unsigned char *b = wn_xmalloc(n ? n : 1);
    int rc = wn_fread(b, 1, n, f, path, e);
    fclose(f);
    if (rc) {
        free(b);
        return rc;
    }
    *buf = b;
    *len = n;
    return WN_OK;
}

static void *oom(size_t n) {
    fprintf(stderr, "weldnet: out of memory allocating %zu bytes\n", n);
    abort();
}

void *wn_xmalloc(size_t n) {
    void *p = malloc(n ? n : 1);
    return p ? p : oom(n);
}

void *wn_xcalloc(size_t n, size_t size) {
    void *p = calloc(n ? n : 1, size ? size : 1);
    return p ? p : oom(n * size);
}

void *wn_xrealloc(void *p, size_t n) {
    void *q = realloc(p, n ? n : 1);
    return q ? q : oom(n);
}

char *wn_xstrdup(const char *s) {
    size_t n = strlen(s) + 1;
    return memcpy(wn_xmalloc(n), s, n);
}
