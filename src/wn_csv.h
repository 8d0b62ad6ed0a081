/* wn_csv.h - reading a whole CSV file held in memory with libcsv (strict quoting), fed one
 * physical line at a time so that every message can name the line a row starts on; a UTF-8
 * byte-order mark is skipped. Used by the photo manifest reader (src/data/dataset_manifest.c)
 * and calibrate's scores reader (calibrate/calib_scores_csv.c). */
#ifndef WN_CSV_H
#define WN_CSV_H

#include <stddef.h>

#include "wn_err.h"

typedef struct wn_csv_feed {
    const char *path;                                     /* named in messages */
    void (*on_field)(void *field, size_t len, void *data); /* libcsv's callbacks */
    void (*on_row)(int term, void *data);
    void *data;                                           /* passed to both */
    long *line;   /* where to keep the line the current row starts on (1-based), read by them */
    int *failed;  /* the callbacks set *failed = 1 (after filling e) to stop the reading */
} wn_csv_feed;

/* Parses buf (len bytes). Returns WN_OK, WN_EINPUT for a CSV syntax error ("PATH line L: CSV
 * parse error (...)") or when a callback failed (its message stands), WN_ERUNTIME when libcsv
 * cannot start. */
int wn_csv_feed_buffer(const wn_csv_feed *f, const unsigned char *buf, size_t len, wn_err *e);

#endif
