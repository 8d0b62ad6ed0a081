/* calibration_record.c - the model's calibration (wn_calibration.h) as the text record 'CALB':
 * formatting, strict parsing (unknown, missing, repeated and malformed keys are refused with the
 * file and the key), and storing/reading it in a wn_model. */
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model_internal.h"
#include "wn_calibration.h"
#include "wn_text.h"

void wn_calibration_init(wn_calibration *c, int k) {
    memset(c, 0, sizeof *c);
    c->k = k;
    c->confidence = 0.95;
    c->priors = wn_xcalloc((size_t)k, sizeof(float));
    c->threshold = wn_xcalloc((size_t)k, sizeof(float));
    c->target = wn_xcalloc((size_t)k, sizeof(double));
    for (int j = 0; j < k; j++) {
        c->priors[j] = 1.0f / (float)k;
        c->threshold[j] = INFINITY;
    }
}

void wn_calibration_free(wn_calibration *c) {
    if (!c) return;
    free(c->priors);
    free(c->threshold);
    free(c->target);
    free(c->source);
    memset(c, 0, sizeof *c);
}

/* ---- formatting ------------------------------------------------------------------------- */

static void sb_floats(wn_text *b, const char *key, const float *v, int k) {
    wn_text_printf(b, "%s =", key);
    char num[32];
    for (int j = 0; j < k; j++) wn_text_printf(b, "%s%s", j ? ", " : " ", wn_format_float(num, v[j]));
    wn_text_printf(b, "\n");
}

static void sb_doubles(wn_text *b, const char *key, const double *v, int k) {
    wn_text_printf(b, "%s =", key);
    char num[32];
    for (int j = 0; j < k; j++) wn_text_printf(b, "%s%s", j ? ", " : " ", wn_format_num(num, v[j]));
    wn_text_printf(b, "\n");
}

size_t wn_calibration_format(const wn_calibration *c, char *buf, size_t cap) {
    wn_text b = {buf, cap, 0};
    char num[32];
    if (cap) buf[0] = '\0';
    wn_text_printf(&b, "version = %d\n", WN_CALIBRATION_VERSION);
    wn_text_printf(&b, "mode = %s\n", c->mode == WN_CALMODE_PERCLASS ? "per-class" : "pooled");
    wn_text_printf(&b, "rule = %s\n", c->rule == WN_CALRULE_CERTIFIED ? "certified" : "point");
    wn_text_printf(&b, "confidence = %s\n", wn_format_num(num, c->confidence));
    wn_text_printf(&b, "classes = %d\n", c->k);
    sb_floats(&b, "priors", c->priors, c->k);
    sb_floats(&b, "thresholds", c->threshold, c->k);
    sb_doubles(&b, "targets", c->target, c->k);
    wn_text_printf(&b, "n_photos = %ld\n", c->n_photos);
    wn_text_printf(&b, "n_defect = %ld\n", c->n_defect);
    wn_text_printf(&b, "recall = %s\n", wn_format_num(num, c->recall));
    wn_text_printf(&b, "recall_lower = %s\n", wn_format_num(num, c->recall_lower));
    wn_text_printf(&b, "automation = %s\n", wn_format_num(num, c->automation));
    wn_text_printf(&b, "set_hash = %s\n", c->set_hash);
    wn_text_printf(&b, "date = %s\n", c->date);
    if (c->source) wn_text_printf(&b, "source = %s\n", c->source);
    return wn_text_finish(&b);
}

/* ---- parsing ---------------------------------------------------------------------------- */

enum {
    K_VERSION, K_MODE, K_RULE, K_CONFIDENCE, K_CLASSES, K_PRIORS, K_THRESHOLDS, K_TARGETS,
    K_NPHOTOS, K_NDEFECT, K_RECALL, K_RECALL_LOWER, K_AUTOMATION, K_SET_HASH, K_DATE, K_SOURCE,
    K_COUNT
};
static const char *const KEYS[K_COUNT] = {
    "version", "mode", "rule", "confidence", "classes", "priors", "thresholds", "targets",
    "n_photos", "n_defect", "recall", "recall_lower", "automation", "set_hash", "date", "source"};

typedef struct pctx {
    const char *path;
    const char *key;
    wn_err *e;
} pctx;

static int bad(pctx *p, const char *value, const char *why) {
    return wn_err_set(p->e, WN_EINPUT, "%s: calibration record: key '%s' = '%s': %s", p->path,
                      p->key, value, why);
}

static int parse_double(pctx *p, const char *s, double lo, double hi, double *out) {
    char *end;
    double v = strtod(s, &end);
    while (*end == ' ' || *end == '\t') end++;
    if (end == s || *end || isnan(v)) return bad(p, s, "not a number");
    if (v < lo || v > hi) {
        char why[96];
        snprintf(why, sizeof why, "out of range [%g, %g]", lo, hi);
        return bad(p, s, why);
    }
    *out = v;
    return WN_OK;
}

static int parse_long(pctx *p, const char *s, long *out) {
    char *end;
    long v = strtol(s, &end, 10);
    if (end == s || *end || v < 0) return bad(p, s, "not a count (an integer >= 0)");
    *out = v;
    return WN_OK;
}

/* A comma list of exactly k numbers in [lo, hi] (inf allowed when hi is inf). */
static int parse_list(pctx *p, const char *s, int k, double lo, double hi, double *out) {
    const char *q = s;
    for (int j = 0; j < k; j++) {
        char *end;
        double v = strtod(q, &end);
        if (end == q || isnan(v)) return bad(p, s, "not a comma-separated list of numbers");
        if (v < lo || v > hi) {
            char why[96];
            snprintf(why, sizeof why, "entry %d is %g, out of range [%g, %g]", j + 1, v, lo, hi);
            return bad(p, s, why);
        }
        out[j] = v;
        while (*end == ' ') end++;
        if (j + 1 < k) {
            if (*end != ',') {
                char why[64];
                snprintf(why, sizeof why, "has %d entries, the model has %d classes", j + 1, k);
                return bad(p, s, why);
            }
            end++;
        } else if (*end) {
            char why[64];
            snprintf(why, sizeof why, "has more than %d entries (the model's classes)", k);
            return bad(p, s, why);
        }
        q = end;
    }
    return WN_OK;
}

static char *trim(char *s) {
    while (*s == ' ' || *s == '\t') s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r')) s[--n] = '\0';
    return s;
}

static int parse_value(pctx *p, int key, const char *v, wn_calibration *c, double *tmp) {
    double d;
    int rc = WN_OK;
    switch (key) {
    case K_VERSION:
        if (strcmp(v, "1")) return bad(p, v, "unsupported calibration version (this weldnet reads 1)");
        break;
    case K_MODE:
        if (!strcmp(v, "pooled")) c->mode = WN_CALMODE_POOLED;
        else if (!strcmp(v, "per-class")) c->mode = WN_CALMODE_PERCLASS;
        else return bad(p, v, "expected pooled or per-class");
        break;
    case K_RULE:
        if (!strcmp(v, "point")) c->rule = WN_CALRULE_POINT;
        else if (!strcmp(v, "certified")) c->rule = WN_CALRULE_CERTIFIED;
        else return bad(p, v, "expected point or certified");
        break;
    case K_CONFIDENCE:
        rc = parse_double(p, v, 0, 1, &c->confidence);
        if (!rc && (c->confidence <= 0 || c->confidence >= 1)) rc = bad(p, v, "must be in (0, 1)");
        break;
    case K_CLASSES: {
        long n = 0;
        if ((rc = parse_long(p, v, &n))) return rc;
        if (n != c->k) {
            char why[80];
            snprintf(why, sizeof why, "the model has %d classes", c->k);
            return bad(p, v, why);
        }
        break;
    }
    case K_PRIORS:
        if ((rc = parse_list(p, v, c->k, 0, 1, tmp))) return rc;
        d = 0;
        for (int j = 0; j < c->k; j++) c->priors[j] = (float)tmp[j], d += tmp[j];
        if (!(d > 0)) return bad(p, v, "every prior is zero");
        break;
    case K_THRESHOLDS:
        if ((rc = parse_list(p, v, c->k, -INFINITY, INFINITY, tmp))) return rc;
        for (int j = 0; j < c->k; j++) c->threshold[j] = (float)tmp[j];
        break;
    case K_TARGETS:
        if ((rc = parse_list(p, v, c->k, 0, 1, tmp))) return rc;
        memcpy(c->target, tmp, (size_t)c->k * sizeof(double));
        break;
    case K_NPHOTOS: return parse_long(p, v, &c->n_photos);
    case K_NDEFECT: return parse_long(p, v, &c->n_defect);
    case K_RECALL: return parse_double(p, v, 0, 1, &c->recall);
    case K_RECALL_LOWER: return parse_double(p, v, 0, 1, &c->recall_lower);
    case K_AUTOMATION: return parse_double(p, v, 0, 1, &c->automation);
    case K_SET_HASH:
        if (strlen(v) != 16) return bad(p, v, "expected 16 hexadecimal digits");
        for (int i = 0; i < 16; i++)
            if (!isxdigit((unsigned char)v[i])) return bad(p, v, "expected 16 hexadecimal digits");
        memcpy(c->set_hash, v, 17);
        break;
    case K_DATE:
        if (strlen(v) >= sizeof c->date) return bad(p, v, "too long for a date");
        strcpy(c->date, v);
        break;
    case K_SOURCE:
        free(c->source);
        c->source = wn_xstrdup(v);
        break;
    }
    return rc;
}

int wn_calibration_parse(const char *text, size_t len, int k, const char *path, wn_calibration *c,
                         wn_err *e) {
    wn_calibration_init(c, k);
    char *buf = wn_xmalloc(len + 1);
    memcpy(buf, text, len);
    buf[len] = '\0';
    double *tmp = wn_xcalloc((size_t)k, sizeof(double));
    int seen[K_COUNT] = {0}, rc = WN_OK, line = 0;
    pctx p = {path, "", e};
    char *save = NULL;
    for (char *ln = strtok_r(buf, "\n", &save); ln && !rc; ln = strtok_r(NULL, "\n", &save)) {
        line++;
        char *s = trim(ln);
        if (!*s) continue;
        char *eq = strchr(s, '=');
        if (!eq) {
            rc = wn_err_set(e, WN_EINPUT, "%s: calibration record line %d: expected 'key = value'",
                            path, line);
            break;
        }
        *eq = '\0';
        char *key = trim(s), *val = trim(eq + 1);
        int idx = -1;
        for (int i = 0; i < K_COUNT; i++)
            if (!strcmp(key, KEYS[i])) idx = i;
        if (idx < 0) {
            rc = wn_err_set(e, WN_EINPUT, "%s: calibration record: unknown key '%s'", path, key);
            break;
        }
        if (seen[idx]++) {
            rc = wn_err_set(e, WN_EINPUT, "%s: calibration record: key '%s' given twice", path, key);
            break;
        }
        p.key = KEYS[idx];
        rc = parse_value(&p, idx, val, c, tmp);
    }
    for (int i = 0; i < K_COUNT && !rc; i++)
        if (!seen[i] && i != K_SOURCE)
            rc = wn_err_set(e, WN_EINPUT, "%s: calibration record: key '%s' is missing", path, KEYS[i]);
    if (!rc && c->n_defect > c->n_photos)
        rc = wn_err_set(e, WN_EINPUT, "%s: calibration record: n_defect %ld exceeds n_photos %ld",
                        path, c->n_defect, c->n_photos);
    free(tmp);
    free(buf);
    return rc;
}

/* ---- in the model ----------------------------------------------------------------------- */

int wn_model_is_calibrated(const wn_model *m) { return wn_model_get_record(m, WN_TAG_CALB) != NULL; }

int wn_model_set_calibration(wn_model *m, const wn_calibration *c, wn_err *e) {
    if (c->k != m->n_classes)
        return wn_err_set(e, WN_EINPUT, "calibration for %d classes, the model has %d", c->k,
                          m->n_classes);
    size_t n = wn_calibration_format(c, NULL, 0);
    char *text = wn_xmalloc(n + 1);
    wn_calibration_format(c, text, n + 1);
    /* check what a reader will see before it is stored */
    wn_calibration back;
    int rc = wn_calibration_parse(text, n, c->k, "(calibration to store)", &back, e);
    wn_calibration_free(&back);
    if (!rc) wn_model_set_record(m, WN_TAG_CALB, text, n);
    free(text);
    return rc;
}

int wn_model_get_calibration(const wn_model *m, const char *path, wn_calibration *c, wn_err *e) {
    const wn_record *r = wn_model_get_record(m, WN_TAG_CALB);
    if (!r) {
        wn_calibration_init(c, m->n_classes);
        return wn_err_set(e, WN_EINPUT, "%s: not calibrated (run weldnet calibrate first)", path);
    }
    for (size_t i = 0; i < r->len; i++)
        if (!r->data[i]) {
            wn_calibration_init(c, m->n_classes);
            return wn_err_set(e, WN_EINPUT, "%s: calibration record holds a NUL byte", path);
        }
    return wn_calibration_parse((const char *)r->data, r->len, m->n_classes, path, c, e);
}

void wn_model_priors(const wn_model *m, float *priors /* (K) */) {
    double total = 0;
    for (int j = 0; j < m->n_classes; j++) total += (double)m->class_counts[j];
    for (int j = 0; j < m->n_classes; j++)
        priors[j] = total > 0 ? (float)((double)m->class_counts[j] / total) : 1.0f / (float)m->n_classes;
}

/* The value of "output_priors = a,b,..." in the metadata into priors (K); 0 when absent or not K
 * non-negative numbers with a positive sum. */
static int meta_output_priors(const char *meta, int k, float *priors) {
    static const char key[] = "output_priors";
    for (const char *line = meta; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
        if (strncmp(line, key, sizeof key - 1)) continue;
        const char *p = line + sizeof key - 1;
        while (*p == ' ') p++;
        if (*p++ != '=') continue;
        double sum = 0;
        for (int j = 0; j < k; j++) {
            char *end;
            double v = strtod(p, &end);
            if (end == p || !(v >= 0) || !isfinite(v)) return 0;
            priors[j] = (float)v;
            sum += v;
            p = end;
            while (*p == ' ') p++;
            if (j + 1 < k && *p++ != ',') return 0;
        }
        if (*p && *p != '\n') return 0;
        if (!(sum > 0)) return 0;
        for (int j = 0; j < k; j++) priors[j] = (float)(priors[j] / sum);
        return 1;
    }
    return 0;
}

int wn_model_output_priors(const wn_model *m, float *priors /* (K) */) {
    if (m->meta && meta_output_priors(m->meta, m->n_classes, priors)) return 1;
    wn_model_priors(m, priors);
    return 0;
}
