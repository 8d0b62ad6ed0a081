/* netdef_values.c - reads the numbers and names of the network INI language: whole numbers,
 * decimal numbers and comma lists, each checked for trailing garbage and range, with a message
 * that names the file, line, section, key, value and the allowed range. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "net_internal.h"

static int bad(const wn_nd_where *w, wn_err *e, const char *problem, const char *range) {
    const char *hint = strchr(w->kv->value, '#') ? " (comments after a value start with ' ;')" : "";
    return wn_err_set(e, WN_EINPUT, "%s line %d: [%s] %s = '%s': %s (%s)%s", w->source, w->kv->line,
                      w->section, w->kv->key, w->kv->value, problem, range, hint);
}

/* "from 1 to 65536", "0 <= x < 1", ... */
static void range_text(char *buf, size_t n, double lo, int lo_open, double hi, int hi_open) {
    if (!lo_open && !hi_open)
        snprintf(buf, n, "allowed: %g to %g", lo, hi);
    else
        snprintf(buf, n, "allowed: %g %s value %s %g", lo,
                 lo_open ? "<" : "<=", hi_open ? "<" : "<=", hi);
}

int wn_nd_int(const wn_nd_where *w, long lo, long hi, int *out, wn_err *e) {
    char range[96];
    snprintf(range, sizeof range, "allowed: whole numbers from %ld to %ld", lo, hi);
    const char *s = w->kv->value;
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (end == s || *end != '\0' || isspace((unsigned char)*s))
        return bad(w, e, "not a whole number", range);
    if (errno == ERANGE || v < lo || v > hi) return bad(w, e, "out of range", range);
    *out = (int)v;
    return WN_OK;
}

static int parse_double(const char *s, const char **end_out, double *v) {
    char *end;
    errno = 0;
    if (isspace((unsigned char)*s)) return 0;
    *v = strtod(s, &end);
    *end_out = end;
    return end != s && errno != ERANGE && isfinite(*v);
}

int wn_nd_float(const wn_nd_where *w, double lo, int lo_open, double hi, int hi_open, float *out,
                wn_err *e) {
    char range[96];
    range_text(range, sizeof range, lo, lo_open, hi, hi_open);
    const char *end;
    double v;
    if (!parse_double(w->kv->value, &end, &v) || *end != '\0')
        return bad(w, e, "not a number", range);
    if (v < lo || v > hi || (lo_open && v == lo) || (hi_open && v == hi))
        return bad(w, e, "out of range", range);
    *out = (float)v;
    return WN_OK;
}

int wn_nd_float_list(const wn_nd_where *w, int max, double lo, int lo_open, double hi, float *out,
                     int *n, wn_err *e) {
    char range[128];
    snprintf(range, sizeof range, "a comma list of 1 to %d numbers, each %s %g and <= %g", max,
             lo_open ? ">" : ">=", lo, hi);
    const char *s = w->kv->value;
    *n = 0;
    for (;;) {
        while (*s == ' ' || *s == '\t') s++;
        const char *end;
        double v;
        if (*n == max) return bad(w, e, "too many values", range);
        if (!parse_double(s, &end, &v)) return bad(w, e, "not a list of numbers", range);
        if (v < lo || v > hi || (lo_open && v == lo)) return bad(w, e, "out of range", range);
        out[(*n)++] = (float)v;
        s = end;
        while (*s == ' ' || *s == '\t') s++;
        if (*s == '\0') return WN_OK;
        if (*s != ',') return bad(w, e, "not a list of numbers", range);
        s++;
    }
}

int wn_nd_name_ok(const char *s) {
    size_t n = strlen(s);
    if (n == 0 || n > WN_NET_NAME_LEN) return 0;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '_' && s[i] != '-') return 0;
    return 1;
}
