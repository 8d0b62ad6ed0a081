/* wn_progress.c - terminal-aware progress bar with rate and ETA. */
#include "wn_progress.h"

#include <string.h>
#include <time.h>
#include <unistd.h>

double wn_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

const char *wn_format_duration(double s, char *buf, size_t n) {
    if (s < 0) s = 0;
    if (s < 60)
        snprintf(buf, n, "%.1fs", s);
    else if (s < 3600)
        snprintf(buf, n, "%dm%02ds", (int)(s / 60), (int)s % 60);
    else
        snprintf(buf, n, "%dh%02dm", (int)(s / 3600), ((int)s % 3600) / 60);
    return buf;
}

void wn_progress_start(wn_progress *p, const char *label, const char *unit, long total, int quiet) {
    memset(p, 0, sizeof *p);
    p->f = stderr;
    p->label = label;
    p->unit = unit;
    p->total = total;
    p->quiet = quiet;
    p->tty = isatty(fileno(stderr));
    p->t_start = p->t_last = wn_now();
    p->last_decile = 0;
}

static void draw(wn_progress *p, double now) {
    double el = now - p->t_start;
    double rate = el > 0 ? p->done / el : 0;
    double eta = rate > 0 ? (p->total - p->done) / rate : 0;
    char e1[32], e2[32];
    int width = 24, fill = p->total ? (int)(width * (double)p->done / p->total) : width;
    char bar[32];
    for (int i = 0; i < width; i++) bar[i] = i < fill ? '#' : '.';
    bar[width] = '\0';
    fprintf(p->f, "%s%s [%s] %ld/%ld %.0f %s/s elapsed %s ETA %s%s%s%s", p->tty ? "\r" : "",
            p->label, bar, p->done, p->total, rate, p->unit, wn_format_duration(el, e1, sizeof e1),
            wn_format_duration(eta, e2, sizeof e2), p->extra[0] ? "  " : "", p->extra,
            p->tty ? "\033[K" : "\n");
    fflush(p->f);
}

void wn_progress_update(wn_progress *p, long done, const char *extra) {
    if (p->quiet) return;
    p->done = done;
    if (extra) snprintf(p->extra, sizeof p->extra, "%s", extra);
    double now = wn_now();
    if (p->tty) {
        if (now - p->t_last >= 0.1 || done == p->total) {
            p->t_last = now;
            draw(p, now);
        }
    } else {
        int decile = p->total ? (int)(10.0 * done / p->total) : 10;
        if (decile > p->last_decile && decile < 10 && now - p->t_start > 2.0) {
            p->last_decile = decile;
            draw(p, now);
        }
    }
}

double wn_progress_end(wn_progress *p) {
    double el = wn_now() - p->t_start;
    if (!p->quiet && p->tty) {
        fprintf(p->f, "\r\033[K");
        fflush(p->f);
    }
    return el;
}
