/* record_cursor.c - little-endian packing, record tags as text, and the bounds-checked cursor
 * that decodes one record's content: every length is checked against the bytes that remain in
 * the record before anything is allocated or read. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "model_internal.h"

void wn_put_u32(uint8_t *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}

void wn_put_u64(uint8_t *p, uint64_t v) {
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}

uint32_t wn_get_u32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

uint64_t wn_get_u64(const uint8_t *p) {
    return (uint64_t)wn_get_u32(p) | (uint64_t)wn_get_u32(p + 4) << 32;
}

int wn_tag_valid(uint32_t tag) {
    for (int i = 0; i < 4; i++) {
        unsigned ch = (tag >> (8 * i)) & 0xff;
        if (ch < 0x20 || ch > 0x7e) return 0;
    }
    return 1;
}

const char *wn_tag_text(uint32_t tag, char buf[16]) {
    if (!wn_tag_valid(tag)) {
        snprintf(buf, 16, "0x%08x", tag);
        return buf;
    }
    for (int i = 0; i < 4; i++) buf[i] = (char)((tag >> (8 * i)) & 0xff);
    buf[4] = '\0';
    return buf;
}

void wn_cur_init(wn_cur *c, const wn_crec *r, const char *path, wn_err *e) {
    char tb[16];
    c->p = r->data;
    c->len = r->len;
    c->pos = 0;
    c->base = r->off + WN_RECORD_HEADER;
    c->path = path;
    c->e = e;
    snprintf(c->what, sizeof c->what, "record '%s' at byte %zu", wn_tag_text(r->tag, tb), r->off);
}

int wn_cur_fail(wn_cur *c, const char *fmt, ...) {
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return wn_err_set(c->e, WN_EINPUT, "%s: %s: %s", c->path, c->what, msg);
}

int wn_cur_need(wn_cur *c, uint64_t n, const char *field) {
    size_t left = c->len - c->pos;
    if (n <= left) return WN_OK;
    return wn_err_set(c->e, WN_EINPUT, "%s: truncated: %s in %s (at byte %zu) claims %llu bytes "
                      "but only %zu remain", c->path, field, c->what, c->base + c->pos,
                      (unsigned long long)n, left);
}

int wn_cur_u32(wn_cur *c, const char *field, uint32_t *v) {
    if (wn_cur_need(c, 4, field)) return WN_EINPUT;
    *v = wn_get_u32(c->p + c->pos);
    c->pos += 4;
    return WN_OK;
}

int wn_cur_u64(wn_cur *c, const char *field, uint64_t *v) {
    if (wn_cur_need(c, 8, field)) return WN_EINPUT;
    *v = wn_get_u64(c->p + c->pos);
    c->pos += 8;
    return WN_OK;
}

int wn_cur_f32(wn_cur *c, const char *field, float *v) {
    uint32_t bits;
    if (wn_cur_u32(c, field, &bits)) return WN_EINPUT;
    memcpy(v, &bits, 4);
    return WN_OK;
}

/* Copies n bytes out as a NUL-terminated string, refusing NUL (and newlines unless allowed). */
static int take_text(wn_cur *c, const char *field, size_t n, int allow_newline, char **out) {
    const uint8_t *s = c->p + c->pos;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == 0) return wn_cur_fail(c, "%s contains a NUL byte", field);
        if (!allow_newline && (s[i] == '\n' || s[i] == '\r'))
            return wn_cur_fail(c, "%s contains a line break", field);
    }
    char *t = wn_xmalloc(n + 1);
    memcpy(t, s, n);
    t[n] = '\0';
    c->pos += n;
    *out = t;
    return WN_OK;
}

int wn_cur_str(wn_cur *c, const char *field, int allow_empty, int allow_newline, char **out) {
    uint32_t n;
    *out = NULL;
    if (wn_cur_u32(c, field, &n)) return WN_EINPUT;
    if (n == 0 && !allow_empty) return wn_cur_fail(c, "%s is empty", field);
    if (wn_cur_need(c, n, field)) return WN_EINPUT;
    return take_text(c, field, n, allow_newline, out);
}

int wn_cur_text(wn_cur *c, const char *field, char **out) {
    *out = NULL;
    return take_text(c, field, c->len - c->pos, 1, out);
}

int wn_cur_end(wn_cur *c) {
    if (c->pos == c->len) return WN_OK;
    return wn_cur_fail(c, "%zu unexpected bytes at the end of the record (byte %zu)",
                       c->len - c->pos, c->base + c->pos);
}
