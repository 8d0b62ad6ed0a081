/* container_read.c - reads a tagged-record container whole and checks it before anything is
 * decoded: magic (telling a model from a training state), format version, the payload length
 * against the file size, the CRC-32, then every record header against the bytes that remain. */
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "model_internal.h"

_Static_assert(sizeof(size_t) >= 8, "the model container needs a 64-bit size_t");

static const char *kind_name(int kind) {
    return kind == WN_KIND_MODEL ? "weldnet model file" : "weldnet training-state file";
}

int wn_model_file_sniff(const uint8_t *head, size_t n) {
    if (n >= 8 && !memcmp(head, WN_MAGIC_MODEL, 8)) return WN_FILE_MODEL;
    if (n >= 8 && !memcmp(head, WN_MAGIC_STATE, 8)) return WN_FILE_STATE;
    return WN_FILE_OTHER;
}

static int check_magic(const char *path, int kind, const uint8_t *b, size_t n, wn_err *e) {
    const char *want = kind == WN_KIND_MODEL ? WN_MAGIC_MODEL : WN_MAGIC_STATE;
    const char *other = kind == WN_KIND_MODEL ? WN_MAGIC_STATE : WN_MAGIC_MODEL;
    if (n == 0) return wn_err_set(e, WN_EINPUT, "%s: empty file, not a %s", path, kind_name(kind));
    if (n < 8) {
        if (!memcmp(b, want, n))
            return wn_err_set(e, WN_EINPUT, "%s: truncated: the file is %zu bytes, shorter than "
                              "the %d-byte header", path, n, WN_CONTAINER_HEADER);
        return wn_err_set(e, WN_EINPUT, "%s: not a %s (only %zu bytes)", path, kind_name(kind), n);
    }
    if (!memcmp(b, want, 8)) return WN_OK;
    if (!memcmp(b, other, 8))
        return wn_err_set(e, WN_EINPUT, "%s: %s", path,
                          kind == WN_KIND_MODEL ? "this is a training-state file, not a model"
                                                : "this is a model file, not a training state");
    return wn_err_set(e, WN_EINPUT, "%s: not a %s (wrong magic bytes)", path, kind_name(kind));
}

static int check_header(const char *path, const uint8_t *b, size_t n, uint32_t *version,
                        uint64_t *payload, wn_err *e) {
    if (n < WN_CONTAINER_MIN)
        return wn_err_set(e, WN_EINPUT, "%s: truncated: the file is %zu bytes, shorter than the "
                          "%d-byte header and checksum", path, n, WN_CONTAINER_MIN);
    *version = wn_get_u32(b + 8);
    if (*version == 0)
        return wn_err_set(e, WN_EINPUT, "%s: unsupported format version 0", path);
    if (*version > WN_MODEL_VERSION)
        return wn_err_set(e, WN_EINPUT, "%s: written by a newer weldnet (format %u, this reads up "
                          "to %d)", path, *version, WN_MODEL_VERSION);
    *payload = wn_get_u64(b + 16);
    uint64_t room = n - WN_CONTAINER_MIN;
    if (*payload > room)
        return wn_err_set(e, WN_EINPUT, "%s: truncated: the file is %zu bytes but its header "
                          "claims %llu bytes of records, and only %llu remain before the checksum",
                          path, n, (unsigned long long)*payload, (unsigned long long)room);
    if (*payload < room)
        return wn_err_set(e, WN_EINPUT, "%s: %llu unexpected bytes after the checksum (the header "
                          "claims %llu bytes of records)", path,
                          (unsigned long long)(room - *payload), (unsigned long long)*payload);
    uint32_t stored = wn_get_u32(b + n - 4);
    uint32_t crc = (uint32_t)crc32(0L, Z_NULL, 0);
    for (size_t done = 0; done < n - 4;) {
        size_t k = n - 4 - done < ((size_t)1 << 30) ? n - 4 - done : ((size_t)1 << 30);
        crc = (uint32_t)crc32(crc, b + done, (uInt)k);
        done += k;
    }
    if (crc != stored)
        return wn_err_set(e, WN_EINPUT, "%s: checksum mismatch: the file is corrupt (stored "
                          "CRC-32 %08x, computed %08x)", path, stored, crc);
    return WN_OK;
}

/* Splits the payload into records, checking each header and length before using it. */
static int split_records(const char *path, wn_container *c, wn_err *e) {
    uint32_t count = wn_get_u32(c->buf + 12);
    size_t end = c->size - 4, pos = WN_CONTAINER_HEADER;
    /* each record takes at least its 12-byte header, so the count is bounded by the payload */
    if (count > (end - pos) / WN_RECORD_HEADER)
        return wn_err_set(e, WN_EINPUT, "%s: the header claims %u records but %zu bytes of "
                          "records hold at most %zu", path, count, end - pos,
                          (end - pos) / WN_RECORD_HEADER);
    c->recs = wn_xcalloc(count, sizeof(wn_crec));
    for (uint32_t i = 0; i < count; i++) {
        size_t left = end - pos;
        if (left < WN_RECORD_HEADER)
            return wn_err_set(e, WN_EINPUT, "%s: the header claims %u records but the records "
                              "end after %u (at byte %zu)%s", path, count, i, pos,
                              left ? ", followed by a partial record header" : "");
        uint32_t tag = wn_get_u32(c->buf + pos);
        uint64_t len = wn_get_u64(c->buf + pos + 4);
        char tb[16];
        if (!wn_tag_valid(tag))
            return wn_err_set(e, WN_EINPUT, "%s: record %u at byte %zu has an invalid tag %s "
                              "(four printable ASCII characters expected)", path, i, pos,
                              wn_tag_text(tag, tb));
        left -= WN_RECORD_HEADER;
        if (len > left)
            return wn_err_set(e, WN_EINPUT, "%s: truncated: record %u ('%s') at byte %zu claims "
                              "%llu bytes but only %zu remain", path, i, wn_tag_text(tag, tb), pos,
                              (unsigned long long)len, left);
        c->recs[i].tag = tag;
        c->recs[i].off = pos;
        c->recs[i].len = (size_t)len;
        c->recs[i].data = c->buf + pos + WN_RECORD_HEADER;
        c->n_records = (int)i + 1;
        pos += WN_RECORD_HEADER + (size_t)len;
    }
    if (pos != end)
        return wn_err_set(e, WN_EINPUT, "%s: the header claims %u records but %zu bytes are left "
                          "after the last one", path, count, end - pos);
    return WN_OK;
}

int wn_container_read(const char *path, int kind, wn_container *c, wn_err *e) {
    memset(c, 0, sizeof *c);
    uint8_t *buf;
    size_t n;
    int rc = wn_read_file(path, (size_t)WN_FILE_MAX_BYTES, &buf, &n, e);
    if (rc) return rc;
    c->buf = buf;
    c->size = n;
    uint64_t payload = 0;
    rc = check_magic(path, kind, buf, n, e);
    if (!rc) rc = check_header(path, buf, n, &c->version, &payload, e);
    if (!rc) rc = split_records(path, c, e);
    if (rc) wn_container_free(c);
    return rc;
}

void wn_container_free(wn_container *c) {
    free(c->buf);
    free(c->recs);
    memset(c, 0, sizeof *c);
}
