/* calib_hash.c - the calibration set's fingerprint stored in the model (set_hash): FNV-1a 64-bit
 * of the photo paths (relative to the set's root), sorted and joined by '\n'. */
#include <stdlib.h>
#include <string.h>

#include "wn_calibrate.h"

#define FNV_OFFSET 0xcbf29ce484222325ull
#define FNV_PRIME 0x100000001b3ull

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

void wn_calib_hash_paths(char *const *paths /* (N) */, long n, const char *root, char out[17]) {
    size_t rl = root ? strlen(root) : 0;
    while (rl > 1 && root[rl - 1] == '/') rl--; /* "calib/" and "calib" are one root */
    const char **p = wn_xmalloc(sizeof *p * (size_t)(n > 0 ? n : 1)); /* (N) relative paths */
    for (long i = 0; i < n; i++) {
        const char *s = paths[i];
        if (rl && !strncmp(s, root, rl) && s[rl] == '/') s += rl + 1;
        else if (rl == 1 && root[0] == '/' && s[0] == '/') s += 1;
        p[i] = s;
    }
    qsort(p, (size_t)n, sizeof *p, cmp_str);
    uint64_t h = FNV_OFFSET;
    for (long i = 0; i < n; i++) {
        if (i) h = (h ^ (unsigned char)'\n') * FNV_PRIME;
        for (const unsigned char *c = (const unsigned char *)p[i]; *c; c++)
            h = (h ^ *c) * FNV_PRIME;
    }
    snprintf(out, 17, "%016llx", (unsigned long long)h);
    free(p);
}
