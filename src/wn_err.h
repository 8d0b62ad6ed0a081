/* wn_err.h - status codes and error messages shared by every library function.
 *
 * Library functions return an int status (WN_OK, WN_EINPUT or WN_ERUNTIME) and, on failure,
 * fill a caller-owned wn_err with a message that names the file (and line or key) and what is
 * wrong. Only main() turns a status into an exit code: the status values ARE the exit codes
 * (0 success, 1 runtime failure, 2 usage or input error). */
#ifndef WN_ERR_H
#define WN_ERR_H

#include <stdarg.h>
#include <stdio.h>

enum { WN_OK = 0, WN_ERUNTIME = 1, WN_EINPUT = 2 };

typedef struct wn_err {
    int code;       /* last status set, WN_OK when clear */
    char msg[1024]; /* human-readable message, "" when clear */
} wn_err;

/* Sets e (when not NULL) to code and a printf-style message; returns code. */
int wn_err_set(wn_err *e, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Prefixes the existing message with "context: " (e.g. a file name); returns e->code. */
int wn_err_prefix(wn_err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void wn_err_clear(wn_err *e);

/* Checked stdio helpers: return WN_OK or set e with the path and strerror(errno). */
FILE *wn_fopen(const char *path, const char *mode, wn_err *e);
int wn_fwrite(const void *p, size_t size, size_t n, FILE *f, const char *path, wn_err *e);
int wn_fread(void *p, size_t size, size_t n, FILE *f, const char *path, wn_err *e);
/* fflush + fsync-free close with error check (a full disk shows up here). */
int wn_fclose(FILE *f, const char *path, wn_err *e);

/* Reads a whole file into a malloc'ed buffer (caller frees); refuses files over max_bytes. */
int wn_read_file(const char *path, size_t max_bytes, unsigned char **buf, size_t *len, wn_err *e);

/* malloc/calloc that abort with a message on exhaustion (programmer-sized allocations only;
 * sizes derived from input must be checked against limits before calling). */
void *wn_xmalloc(size_t n);
void *wn_xcalloc(size_t n, size_t size);
void *wn_xrealloc(void *p, size_t n);
char *wn_xstrdup(const char *s);

#endif
