/* calib_ini.c - the thresholds as an INI file for other frameworks (`calibrate --scores`), in the
 * subset Debian's inih reads: unique section names, "key = value" lines under 200 bytes, no
 * value that an inline ';' comment could cut. docs/CALIBRATE.md describes the keys. */
#include <math.h>
#include <string.h>

#include "wn_calibrate.h"
#include "wn_text.h"

#define INI_LINE_MAX 199 /* Debian's inih: INI_MAX_LINE 200, including the newline */
#define INI_NAME_MAX 150

/* A value inih gives back unchanged: short, no blanks at the ends, no comment characters. */
static int ini_safe(const char *s, size_t max) {
    size_t n = strlen(s);
    if (n == 0 || n > max || s[0] == ' ' || s[0] == '\t' || s[n - 1] == ' ' || s[n - 1] == '\t')
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch < 0x20 || ch == 0x7f || ch == ';' || ch == '#') return 0;
    }
    return 1;
}

static void put_num(FILE *f, const char *key, double v) {
    char buf[32];
    fprintf(f, "%s = %s\n", key, wn_format_num(buf, v));
}

int wn_calib_write_ini(const char *path, const wn_calibration *c, char *const *names,
                       int divide, wn_err *e) {
    for (int j = 0; j < c->k; j++)
        if (!ini_safe(names[j], INI_NAME_MAX))
            return wn_err_set(e, WN_EINPUT,
                              "%s: class name '%.60s%s' cannot be written to the thresholds INI "
                              "(at most %d bytes, no ';' or '#', no control characters, no blanks "
                              "at either end)",
                              path, names[j], strlen(names[j]) > 60 ? "..." : "", INI_NAME_MAX);
    wn_calib_file o;
    int rc = wn_calib_file_open(&o, path, e);
    if (rc) return rc;
    FILE *f = o.f;
    fprintf(f, "; weldnet calibrate: decision thresholds (docs/CALIBRATE.md)\n"
               "; p = the probabilities, divided by the priors and renormalised when\n"
               "; divide_by_priors = yes. A photo is auto-passed when p[class1] + ... +\n"
               "; p[classK-1] < pooled_threshold and p[classJ] < threshold of every defect\n"
               "; class J; otherwise it goes to review. inf = no threshold.\n");
    fprintf(f, "[calibration]\nversion = %d\n", WN_CALIBRATION_VERSION);
    fprintf(f, "mode = %s\n", c->mode == WN_CALMODE_PERCLASS ? "per-class" : "pooled");
    fprintf(f, "rule = %s\n", c->rule == WN_CALRULE_CERTIFIED ? "certified" : "point");
    put_num(f, "confidence", c->confidence);
    fprintf(f, "classes = %d\n", c->k);
    fprintf(f, "divide_by_priors = %s\n", divide ? "yes" : "no");
    put_num(f, "pooled_threshold", c->threshold[0]);
    put_num(f, "pooled_target", c->target[0]);
    fprintf(f, "n_photos = %ld\nn_defect = %ld\n", c->n_photos, c->n_defect);
    put_num(f, "recall", c->recall);
    put_num(f, "recall_lower", c->recall_lower);
    put_num(f, "automation", c->automation);
    fprintf(f, "set_hash = %s\ndate = %s\n", c->set_hash, c->date);
    if (c->source && ini_safe(c->source, INI_LINE_MAX - 10)) fprintf(f, "source = %s\n", c->source);
    for (int j = 0; j < c->k; j++) {
        fprintf(f, "\n[class%d]\nname = %s\n", j, names[j]);
        put_num(f, "prior", c->priors[j]);
        if (j == 0) continue; /* the ok class has no threshold of its own */
        put_num(f, "threshold", c->threshold[j]);
        put_num(f, "target", c->target[j]);
    }
    return wn_calib_file_close(&o, 1, e);
}
