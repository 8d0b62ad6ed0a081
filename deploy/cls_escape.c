/* cls_escape.c - the reversible escaping of names and text in the report: control bytes, DEL,
 * '%', bytes outside valid UTF-8 (and chosen separators) become %XX, so that every row stays one
 * line of valid UTF-8 and the exact bytes of a file name can be recovered. */
#include <stdlib.h>
#include <string.h>

#include "wn_classify.h"

/* Length (2..4) of the valid UTF-8 sequence starting at s (n bytes left), 0 when invalid
 * (overlong forms, surrogates and code points over U+10FFFF are invalid). */
static int utf8_len(const unsigned char *s, size_t n) {
    unsigned c = s[0];
    int len;
    unsigned min;
    if (c >= 0xC2 && c <= 0xDF) len = 2, min = 0x80;
    else if (c >= 0xE0 && c <= 0xEF) len = 3, min = 0x800;
    else if (c >= 0xF0 && c <= 0xF4) len = 4, min = 0x10000;
    else return 0;
    if ((size_t)len > n) return 0;
    unsigned cp = c & (0x7Fu >> len);
    for (int i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80) return 0;
        cp = cp << 6 | (s[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
    return len;
}

char *wn_cls_escape(const char *raw, size_t len, const char *extra) {
    static const char hex[] = "0123456789ABCDEF";
    const unsigned char *s = (const unsigned char *)raw;
    char *out = wn_xmalloc(3 * len + 1), *o = out;
    for (size_t i = 0; i < len;) {
        unsigned c = s[i];
        int n = 1, esc = 0;
        if (c < 0x20 || c == 0x7F || c == '%' || (extra && c && strchr(extra, (int)c))) esc = 1;
        else if (c >= 0x80 && !(n = utf8_len(s + i, len - i))) n = 1, esc = 1;
        if (esc) {
            *o++ = '%';
            *o++ = hex[c >> 4];
            *o++ = hex[c & 15];
        } else {
            memcpy(o, s + i, (size_t)n);
            o += n;
        }
        i += (size_t)n;
    }
    *o = '\0';
    return out;
}

static int hexval(int c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

int wn_cls_unescape(const char *s, size_t len, char **out, size_t *out_len, wn_err *e) {
    char *o = wn_xmalloc(len + 1);
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] != '%') {
            o[n++] = s[i];
            continue;
        }
        int hi = i + 2 < len ? hexval((unsigned char)s[i + 1]) : -1;
        int lo = i + 2 < len ? hexval((unsigned char)s[i + 2]) : -1;
        if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
            free(o);
            *out = NULL;
            return wn_err_set(e, WN_EINPUT, "bad escape '%.3s' at byte %zu of '%.*s'", s + i, i,
                              (int)(len > 200 ? 200 : len), s);
        }
        o[n++] = (char)(hi << 4 | lo);
        i += 2;
    }
    o[n] = '\0';
    *out = o;
    if (out_len) *out_len = n;
    return WN_OK;
}
