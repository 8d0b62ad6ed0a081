/* netdef_parse.c - reads network INI text with inih into raw sections (wn_nd_raw), then hands
 * them to netdef_layers.c. inih (Debian: 200-character lines, no section callback, no line
 * numbers) is driven through ini_parse_stream with our own line reader, which counts lines,
 * checks line length and section headers (so empty and duplicate sections are seen) and strips
 * leading blanks (so that an indented line is never taken as a continuation). Also frees and
 * copies definitions. */
#include <ini.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "net_internal.h"

/* Network INI files are small; anything bigger is not one. */
#define WN_NET_MAX_BYTES ((size_t)1 << 20)

static const char cannot_parse[] =
    "cannot parse (lines must be under 200 characters, keys as key = value)";

typedef struct reader_state {
    const char *text; /* whole INI text, not owned */
    size_t len, pos;
    int line; /* number of the line last handed to inih */
    int cur; /* index of the current section in raw, -1 before the first */
    wn_nd_raw *raw;
    wn_err *e;
    int failed; /* e holds the first error; stop reading */
} reader_state;

static int fail(reader_state *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(reader_state *r, const char *fmt, ...) {
    if (r->failed) return 0;
    char what[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    wn_err_set(r->e, WN_EINPUT, "%s line %d: %s", r->raw->source, r->line, what);
    r->failed = 1;
    return 0;
}

/* A "[name]" line (s starts with '['); records the section or fails. */
static void section_header(reader_state *r, const char *s) {
    const char *close = strchr(s, ']');
    if (!close) {
        fail(r, "cannot parse: a section header needs a closing ']'");
        return;
    }
    const char *rest = close + 1;
    while (*rest == ' ' || *rest == '\t') rest++;
    if (*rest && *rest != ';' && *rest != '#') {
        fail(r, "cannot parse: unexpected text after ']'");
        return;
    }
    char name[256];
    size_t n = (size_t)(close - s - 1);
    if (n >= sizeof name) n = sizeof name - 1;
    memcpy(name, s + 1, n);
    name[n] = '\0';
    if (!wn_nd_name_ok(name)) {
        fail(r, "section name '%s' is not allowed (1 to %d letters, digits, '_' or '-')", name,
             WN_NET_NAME_LEN);
        return;
    }
    wn_nd_raw *raw = r->raw;
    for (int i = 0; i < raw->n_sections; i++)
        if (!strcmp(raw->sections[i].name, name)) {
            fail(r, "duplicate section [%s] (first at line %d); every section name must be unique",
                 name, raw->sections[i].line);
            return;
        }
    if (raw->n_sections == raw->cap_sections) {
        raw->cap_sections = raw->cap_sections ? 2 * raw->cap_sections : 16;
        raw->sections = wn_xrealloc(raw->sections, raw->cap_sections * sizeof *raw->sections);
    }
    wn_nd_section *sec = &raw->sections[raw->n_sections];
    memset(sec, 0, sizeof *sec);
    strcpy(sec->name, name);
    sec->line = r->line;
    sec->kv0 = raw->n_kv;
    r->cur = raw->n_sections++;
}

/* fgets-like: hands inih the next line, left-stripped, or NULL at the end or after an error. */
static char *read_line(char *str, int num, void *stream) {
    reader_state *r = stream;
    if (r->failed || r->pos >= r->len) return NULL;
    const char *s = r->text + r->pos;
    const char *nl = memchr(s, '\n', r->len - r->pos);
    size_t len = nl ? (size_t)(nl - s) : r->len - r->pos;
    r->pos += len + (nl ? 1 : 0);
    r->line++;
    if (len && s[len - 1] == '\r') len--;
    if (r->line == 1 && len >= 3 && !memcmp(s, "\xEF\xBB\xBF", 3)) { /* UTF-8 byte order mark */
        s += 3;
        len -= 3;
    }
    /* the line goes to inih without its newline: num - 1 characters fit */
    if (len + 1 > (size_t)num) {
        fail(r, "%s: this line has %zu characters", cannot_parse, len);
        return NULL;
    }
    while (len && (*s == ' ' || *s == '\t')) {
        s++;
        len--;
    }
    memcpy(str, s, len);
    str[len] = '\0';
    if (str[0] == '[')
        section_header(r, str);
    else if (len && str[0] != ';' && str[0] != '#' && !strpbrk(str, "=:"))
        fail(r, "%s", cannot_parse);
    return r->failed ? NULL : str;
}

/* inih's callback, once per key. */
static int on_key(void *user, const char *section, const char *key, const char *value) {
    reader_state *r = user;
    (void)section; /* the reader tracks the current section, with its line */
    if (r->failed) return 0;
    wn_nd_raw *raw = r->raw;
    if (r->cur < 0) return fail(r, "key '%s' comes before any [section]", key);
    wn_nd_section *sec = &raw->sections[r->cur];
    for (int i = sec->kv0; i < sec->kv0 + sec->n_kv; i++)
        if (!strcmp(raw->kv[i].key, key)) {
            return fail(r, "[%s] key '%s' is given twice (first at line %d)", sec->name, key,
                        raw->kv[i].line);
        }
    if (raw->n_kv == raw->cap_kv) {
        raw->cap_kv = raw->cap_kv ? 2 * raw->cap_kv : 64;
        raw->kv = wn_xrealloc(raw->kv, raw->cap_kv * sizeof *raw->kv);
    }
    wn_kv *kv = &raw->kv[raw->n_kv++];
    kv->key = wn_xstrdup(key);
    kv->value = wn_xstrdup(value);
    kv->line = r->line;
    sec->n_kv++;
    return 1;
}

void wn_nd_raw_free(wn_nd_raw *raw) {
    for (int i = 0; i < raw->n_kv; i++) {
        free(raw->kv[i].key);
        free(raw->kv[i].value);
    }
    free(raw->kv);
    free(raw->sections);
    memset(raw, 0, sizeof *raw);
}

/* Parses text of len bytes (not necessarily NUL-terminated) into def. */
static int parse_text(const char *text, size_t len, const char *name, wn_netdef *def, wn_err *e) {
    memset(def, 0, sizeof *def);
    if (memchr(text, '\0', len))
        return wn_err_set(e, WN_EINPUT, "%s: not a text file (it contains a NUL byte)", name);
    wn_nd_raw raw = {.source = name};
    reader_state r = {.text = text, .len = len, .cur = -1, .raw = &raw, .e = e};
    int rc = ini_parse_stream(read_line, &r, on_key, &r);
    if (r.failed) {
        rc = e ? e->code : WN_EINPUT;
    } else if (rc == -2) {
        rc = wn_err_set(e, WN_ERUNTIME, "%s: out of memory reading the network INI", name);
    } else if (rc != 0) {
        rc = wn_err_set(e, WN_EINPUT, "%s line %d: %s", name, rc, cannot_parse);
    } else {
        def->source = wn_xstrdup(name);
        def->ini_text = wn_xmalloc(len + 1);
        memcpy(def->ini_text, text, len);
        def->ini_text[len] = '\0';
        rc = wn_nd_interpret(&raw, def, e);
    }
    wn_nd_raw_free(&raw);
    if (rc) wn_netdef_free(def);
    return rc;
}

int wn_netdef_parse_file(const char *path, wn_netdef *def, wn_err *e) {
    memset(def, 0, sizeof *def);
    unsigned char *buf;
    size_t len;
    int rc = wn_read_file(path, WN_NET_MAX_BYTES, &buf, &len, e);
    if (rc) return rc;
    rc = parse_text((const char *)buf, len, path, def, e);
    free(buf);
    return rc;
}

int wn_netdef_parse_string(const char *text, const char *name, wn_netdef *def, wn_err *e) {
    return parse_text(text, strlen(text), name, def, e);
}

void wn_netdef_free(wn_netdef *def) {
    if (!def) return;
    free(def->source);
    free(def->ini_text);
    free(def->layers);
    for (int i = 0; i < def->n_train; i++) {
        free(def->train[i].key);
        free(def->train[i].value);
    }
    free(def->train);
    memset(def, 0, sizeof *def);
}

void wn_netdef_copy(wn_netdef *dst, const wn_netdef *src) {
    *dst = *src;
    dst->source = wn_xstrdup(src->source ? src->source : "");
    dst->ini_text = src->ini_text ? wn_xstrdup(src->ini_text) : NULL;
    dst->layers = wn_xcalloc((size_t)src->n_layers, sizeof *dst->layers);
    if (src->n_layers)
        memcpy(dst->layers, src->layers, (size_t)src->n_layers * sizeof *dst->layers);
    dst->train = wn_xcalloc((size_t)src->n_train, sizeof *dst->train);
    for (int i = 0; i < src->n_train; i++) {
        dst->train[i].key = wn_xstrdup(src->train[i].key);
        dst->train[i].value = wn_xstrdup(src->train[i].value);
        dst->train[i].line = src->train[i].line;
    }
}
