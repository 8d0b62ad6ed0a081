/* wn_text.c - the snprintf-like text builder and the shortest exact number format (wn_text.h). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "wn_text.h"

void wn_text_printf(wn_text *t, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    size_t room = t->len < t->cap ? t->cap - t->len : 0;
    int w = vsnprintf(room ? t->buf + t->len : NULL, room, fmt, ap);
    va_end(ap);
    if (w > 0) t->len += (size_t)w;
}

size_t wn_text_finish(wn_text *t) {
    if (t->cap > 0 && t->len >= t->cap) t->buf[t->cap - 1] = '\0';
    return t->len;
}

const char *wn_format_num(char buf[32], double v) {
    for (int prec = 15; prec <= 17; prec++) { /* the shortest text that reads back exactly */
        snprintf(buf, 32, "%.*g", prec, v);
        if (strtod(buf, NULL) == v || prec == 17) break;
    }
    return buf;
}

const char *wn_format_float(char buf[32], float v) {
    for (int prec = 6; prec <= 9; prec++) {
        snprintf(buf, 32, "%.*g", prec, (double)v);
        if ((float)strtod(buf, NULL) == v || prec == 9) break;
    }
    return buf;
}
