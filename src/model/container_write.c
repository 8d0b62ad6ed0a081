/* container_write.c - writes a tagged-record container: header, records packed byte by byte in
 * little-endian order with a running CRC-32, the CRC, then fsync and rename of PATH.tmp over
 * PATH. Any failure removes PATH.tmp and leaves an existing PATH untouched. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "model_internal.h"

/* Writes raw bytes (no CRC) unless a failure happened before. */
static void put_raw(wn_cwriter *w, const void *p, size_t n) {
    if (w->rc || n == 0) return;
    w->rc = wn_fwrite(p, 1, n, w->f, w->path, w->e);
    if (!w->rc) w->written += n;
}

void wn_cw_bytes(wn_cwriter *w, const void *p, size_t n) {
    if (w->rc) return;
    const uint8_t *b = p;
    for (size_t done = 0; done < n;) {
        size_t k = n - done < ((size_t)1 << 30) ? n - done : ((size_t)1 << 30);
        w->crc = (uint32_t)crc32(w->crc, b + done, (uInt)k);
        done += k;
    }
    put_raw(w, p, n);
}

void wn_cw_u32(wn_cwriter *w, uint32_t v) {
    uint8_t b[4];
    wn_put_u32(b, v);
    wn_cw_bytes(w, b, 4);
}

void wn_cw_u64(wn_cwriter *w, uint64_t v) {
    uint8_t b[8];
    wn_put_u64(b, v);
    wn_cw_bytes(w, b, 8);
}

void wn_cw_f32(wn_cwriter *w, float v) {
    uint32_t bits;
    memcpy(&bits, &v, 4);
    wn_cw_u32(w, bits);
}

void wn_cw_floats(wn_cwriter *w, const float *p, size_t n) {
    enum { CHUNK = 16384 };
    uint8_t buf[CHUNK * 4];
    while (n && !w->rc) {
        size_t k = n < CHUNK ? n : CHUNK;
        for (size_t i = 0; i < k; i++) {
            uint32_t bits;
            memcpy(&bits, &p[i], 4);
            wn_put_u32(buf + 4 * i, bits);
        }
        wn_cw_bytes(w, buf, 4 * k);
        p += k;
        n -= k;
    }
}

void wn_cw_record(wn_cwriter *w, uint32_t tag, uint64_t len) {
    wn_cw_u32(w, tag);
    wn_cw_u64(w, len);
}

int wn_cw_open(wn_cwriter *w, const char *path, int kind, uint32_t n_records, uint64_t payload,
               wn_err *e) {
    memset(w, 0, sizeof *w);
    w->path = path;
    w->e = e;
    if (payload > WN_FILE_MAX_BYTES - WN_CONTAINER_MIN)
        return w->rc = wn_err_set(e, WN_ERUNTIME, "%s: cannot save: the file would be %llu bytes, "
                                  "over the format's limit of %llu bytes", path,
                                  (unsigned long long)(payload + WN_CONTAINER_MIN),
                                  (unsigned long long)WN_FILE_MAX_BYTES);
    w->expect = WN_CONTAINER_HEADER + payload;
    size_t n = strlen(path);
    w->tmp = wn_xmalloc(n + 5);
    memcpy(w->tmp, path, n);
    memcpy(w->tmp + n, ".tmp", 5);
    w->f = fopen(w->tmp, "wb");
    if (!w->f) {
        int err = errno;
        free(w->tmp);
        w->tmp = NULL;
        return w->rc = wn_err_set(e, WN_ERUNTIME, "%s: cannot open for writing: %s", path,
                                  strerror(err));
    }
    w->crc = (uint32_t)crc32(0L, Z_NULL, 0);
    wn_cw_bytes(w, kind == WN_KIND_MODEL ? WN_MAGIC_MODEL : WN_MAGIC_STATE, 8);
    wn_cw_u32(w, WN_MODEL_VERSION);
    wn_cw_u32(w, n_records);
    wn_cw_u64(w, payload);
    return w->rc;
}

int wn_cw_finish(wn_cwriter *w) {
    if (!w->f) return w->rc ? w->rc : WN_ERUNTIME; /* wn_cw_open failed and released */
    if (!w->rc && w->written != w->expect)
        w->rc = wn_err_set(w->e, WN_ERUNTIME, "%s: internal error: wrote %llu bytes of records "
                           "and header, declared %llu", w->path, (unsigned long long)w->written,
                           (unsigned long long)w->expect);
    if (!w->rc) {
        uint8_t b[4];
        wn_put_u32(b, w->crc);
        put_raw(w, b, 4);
    }
    if (!w->rc && fflush(w->f) != 0)
        w->rc = wn_err_set(w->e, WN_ERUNTIME, "%s: write failed: %s", w->path, strerror(errno));
    /* data on disk before the rename, so a crash never leaves a renamed but empty file */
    if (!w->rc && fsync(fileno(w->f)) != 0 && errno != EINVAL)
        w->rc = wn_err_set(w->e, WN_ERUNTIME, "%s: write failed: %s", w->path, strerror(errno));
    if (w->rc) {
        fclose(w->f);
    } else {
        w->rc = wn_fclose(w->f, w->path, w->e);
    }
    w->f = NULL;
    if (!w->rc && rename(w->tmp, w->path) != 0)
        w->rc = wn_err_set(w->e, WN_ERUNTIME, "%s: cannot replace the file with %s: %s", w->path,
                           w->tmp, strerror(errno));
    if (w->rc) remove(w->tmp);
    free(w->tmp);
    w->tmp = NULL;
    return w->rc;
}
