/* wn_text.h - building text into a caller's buffer the snprintf way (cut at the capacity, the
 * full length counted), and numbers written as the shortest decimal that reads back exactly.
 * Used by the calibration record, calibrate's summaries and its CSV and INI outputs. */
#ifndef WN_TEXT_H
#define WN_TEXT_H

#include <stddef.h>

typedef struct wn_text {
    char *buf;  /* caller's buffer (may be NULL when cap is 0) */
    size_t cap; /* its size */
    size_t len; /* length the full text needs so far */
} wn_text;

/* Appends printf-style; text past cap is dropped but counted. */
void wn_text_printf(wn_text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* NUL-terminates (when cap > 0) and returns the full length. */
size_t wn_text_finish(wn_text *t);

/* v as the shortest of %.15g, %.16g, %.17g that strtod reads back exactly ("inf" for +inf), into
 * buf; returns buf. A float written so reads back as the same value in double and in float. */
const char *wn_format_num(char buf[32], double v);
/* The same for a float: the shortest of %.6g .. %.9g that (float)strtod reads back exactly. */
const char *wn_format_float(char buf[32], float v);

#endif
