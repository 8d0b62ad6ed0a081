/* wn_progress.h - a progress bar for long work on stderr: done/total, items per second and the
 * estimated time left. On a terminal it redraws one line (at most ~10 times a second); otherwise
 * (logs, CI) it prints a plain line every ~10% so logs stay short. */
#ifndef WN_PROGRESS_H
#define WN_PROGRESS_H

#include <stdio.h>

typedef struct wn_progress {
    FILE *f;
    const char *label;   /* e.g. "epoch 3/15", not owned */
    const char *unit;    /* e.g. "img", not owned */
    long total, done;
    double t_start, t_last;
    int tty, quiet, last_decile;
    char extra[96];      /* text shown after the figures (e.g. running loss) */
} wn_progress;

/* Wall-clock seconds (monotonic). */
double wn_now(void);
void wn_progress_start(wn_progress *p, const char *label, const char *unit, long total, int quiet);
/* Sets done and redraws when due; extra may be NULL. */
void wn_progress_update(wn_progress *p, long done, const char *extra);
/* Clears the line on a terminal (the caller prints its own summary). Returns elapsed seconds. */
double wn_progress_end(wn_progress *p);
/* Formats seconds as "1h02m", "3m05s" or "12.3s". */
const char *wn_format_duration(double s, char *buf, size_t n);

#endif
