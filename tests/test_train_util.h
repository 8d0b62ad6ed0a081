/* test_train_util.h - a helper the train-stage tests share: what was printed into a tmpfile. */
#ifndef WN_TEST_TRAIN_UTIL_H
#define WN_TEST_TRAIN_UTIL_H

#include <stdio.h>
#include <stdlib.h>

/* Closes f (a tmpfile written so far) and returns what it holds as a string (caller frees). */
static inline char *wn_test_captured(FILE *f) {
    long n = ftell(f);
    char *s = calloc((size_t)(n > 0 ? n : 0) + 1, 1);
    rewind(f);
    if (n > 0 && fread(s, 1, (size_t)n, f) != (size_t)n) s[0] = '\0';
    fclose(f);
    return s;
}

#endif
