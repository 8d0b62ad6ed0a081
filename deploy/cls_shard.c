/* cls_shard.c - `--shard i/N`: parsing, and the deterministic membership of a photo (FNV-1a hash
 * of its path below the photo folder, modulo N). */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "wn_classify.h"

#define MAX_SHARDS 100000

int wn_cls_shard_parse(const char *s, int *i, int *n, wn_err *e) {
    char *end;
    errno = 0;
    long a = strtol(s, &end, 10);
    if (end == s || *end != '/' || errno)
        return wn_err_set(e, WN_EINPUT, "--shard '%s': expected i/N, e.g. 2/8", s);
    const char *t = end + 1;
    long b = strtol(t, &end, 10);
    if (end == t || *end || errno)
        return wn_err_set(e, WN_EINPUT, "--shard '%s': expected i/N, e.g. 2/8", s);
    if (b < 1 || b > MAX_SHARDS || a < 1 || a > b)
        return wn_err_set(e, WN_EINPUT, "--shard '%s': need 1 <= i <= N <= %d", s, MAX_SHARDS);
    *i = (int)a;
    *n = (int)b;
    return WN_OK;
}

int wn_cls_shard_member(const char *rel, int i, int n) {
    if (n <= 1) return 1;
    uint64_t h = 0xcbf29ce484222325ull;
    for (const unsigned char *p = (const unsigned char *)rel; *p; p++) {
        h ^= *p;
        h *= 0x100000001b3ull;
    }
    h ^= h >> 33; /* mix the high bits into the low ones before the modulo */
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    return (int)(h % (uint64_t)n) == i - 1;
}
