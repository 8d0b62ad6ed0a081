/* wn_test.h - a tiny test harness: CHECK macros that count failures, helpers for temporary
 * files, and the closing line. A test's main returns wn_test_done(). */
#ifndef WN_TEST_H
#define WN_TEST_H

#include <math.h>
#include <stdio.h>

extern int wn_test_failures, wn_test_checks;

#define CHECK(cond)                                                                        \
    do {                                                                                   \
        wn_test_checks++;                                                                  \
        if (!(cond)) {                                                                     \
            wn_test_failures++;                                                            \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);      \
        }                                                                                  \
    } while (0)

#define CHECK_MSG(cond, ...)                                                               \
    do {                                                                                   \
        wn_test_checks++;                                                                  \
        if (!(cond)) {                                                                     \
            wn_test_failures++;                                                            \
            fprintf(stderr, "%s:%d: CHECK failed: %s: ", __FILE__, __LINE__, #cond);      \
            fprintf(stderr, __VA_ARGS__);                                                  \
            fputc('\n', stderr);                                                           \
        }                                                                                  \
    } while (0)

/* |a - b| <= atol + rtol*|b| */
#define CHECK_CLOSE(a, b, atol, rtol)                                                      \
    CHECK_MSG(fabs((double)(a) - (double)(b)) <= (atol) + (rtol)*fabs((double)(b)),        \
              "%.9g vs %.9g", (double)(a), (double)(b))

/* A fresh temporary directory for this test (under $WN_TEST_TMP or /tmp); returns its path
 * (static storage). wn_test_done removes it when every check passed and names it otherwise. */
const char *wn_test_tmpdir(const char *name);
/* Joins dir and name into a static rotating buffer. */
const char *wn_test_path(const char *dir, const char *name);
/* Writes bytes to a file; returns 0 on success. */
int wn_test_write_file(const char *path, const void *data, size_t len);
/* Prints "N passed, M failed" and returns the exit code. */
int wn_test_done(void);

#endif
