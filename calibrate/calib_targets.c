/* calib_targets.c - per-class values from the command line: --target-recall ("0.95", or with
 * --per-class "bag=0.99,sandal=0.9" with an optional bare default) and --priors
 * ("ok=0.8,bag=0.1,sandal=0.1"). Errors name the option, the item and what is wrong. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "wn_calibrate.h"

/* One item of a comma list: name (may be empty: a bare value) and the value text. */
typedef struct item {
    char name[256], value[64];
} item;

static int split_item(const char *opt, const char *text, const char *s, size_t len, item *it,
                      wn_err *e) {
    const char *eq = memchr(s, '=', len);
    size_t nlen = eq ? (size_t)(eq - s) : 0, vlen = eq ? len - nlen - 1 : len;
    const char *v = eq ? eq + 1 : s;
    while (nlen && s[0] == ' ') s++, nlen--;
    while (nlen && s[nlen - 1] == ' ') nlen--;
    while (vlen && v[0] == ' ') v++, vlen--;
    while (vlen && v[vlen - 1] == ' ') vlen--;
    if (eq && nlen == 0)
        return wn_err_set(e, WN_EINPUT, "%s '%s': an item has '=' but no class name", opt, text);
    if (vlen == 0)
        return wn_err_set(e, WN_EINPUT, "%s '%s': an item has no value", opt, text);
    if (nlen >= sizeof it->name || vlen >= sizeof it->value)
        return wn_err_set(e, WN_EINPUT, "%s '%s': an item is too long", opt, text);
    memcpy(it->name, s, nlen);
    it->name[nlen] = '\0';
    memcpy(it->value, v, vlen);
    it->value[vlen] = '\0';
    return WN_OK;
}

/* Splits text on ',' into items (caller frees *items). */
static int split_list(const char *opt, const char *text, item **items, int *n, wn_err *e) {
    *items = NULL;
    *n = 0;
    if (!text || !text[0]) return wn_err_set(e, WN_EINPUT, "%s: empty value", opt);
    int cap = 1;
    for (const char *p = text; *p; p++) cap += *p == ',';
    *items = wn_xcalloc((size_t)cap, sizeof **items);
    const char *s = text;
    for (;;) {
        const char *comma = strchr(s, ',');
        size_t len = comma ? (size_t)(comma - s) : strlen(s);
        int rc = split_item(opt, text, s, len, &(*items)[*n], e);
        if (rc) return rc;
        (*n)++;
        if (!comma) break;
        s = comma + 1;
    }
    return WN_OK;
}

static int parse_number(const char *opt, const char *text, const item *it, double *v, wn_err *e) {
    char *end;
    *v = strtod(it->value, &end);
    if (end == it->value || *end || isnan(*v))
        return wn_err_set(e, WN_EINPUT, "%s '%s': '%s' is not a number", opt, text, it->value);
    return WN_OK;
}

static int class_index(int k, char *const *names, const char *name) {
    for (int j = 0; j < k; j++)
        if (!strcmp(names[j], name)) return j;
    return -1;
}

static void class_list(int k, char *const *names, int from, char *buf, size_t cap) {
    size_t used = 0;
    buf[0] = '\0';
    for (int j = from; j < k && used + 1 < cap; j++) {
        int w = snprintf(buf + used, cap - used, "%s%s", j > from ? ", " : "", names[j]);
        if (w < 0) break;
        used += (size_t)w;
    }
}

int wn_calib_parse_targets(const char *text, int per_class, int k, char *const *names,
                           double *target /* (K) */, wn_err *e) {
    static const char opt[] = "--target-recall";
    item *it;
    int n, rc = split_list(opt, text, &it, &n, e);
    double dflt = NAN;
    char list[600];
    for (int i = 0; i < n && !rc; i++) {
        double v;
        if ((rc = parse_number(opt, text, &it[i], &v, e))) break;
        if (!(v > 0.0 && v <= 1.0)) {
            rc = wn_err_set(e, WN_EINPUT, "%s '%s': target recall %g is outside (0, 1]", opt, text,
                            v);
            break;
        }
        if (!it[i].name[0]) {
            if (!isnan(dflt)) {
                rc = wn_err_set(e, WN_EINPUT, "%s '%s': more than one value without a class name",
                                opt, text);
                break;
            }
            dflt = v;
            continue;
        }
        if (!per_class) {
            rc = wn_err_set(e, WN_EINPUT,
                            "%s '%s': targets for named classes (NAME=T) need --per-class; without "
                            "it give one number",
                            opt, text);
            break;
        }
        if (!names) continue;
        int j = class_index(k, names, it[i].name);
        if (j == 0) {
            rc = wn_err_set(e, WN_EINPUT,
                            "%s '%s': '%s' is the ok class; targets are for the defect classes",
                            opt, text, it[i].name);
        } else if (j < 0) {
            class_list(k, names, 1, list, sizeof list);
            rc = wn_err_set(e, WN_EINPUT, "%s '%s': no defect class '%s' (the defect classes: %s)",
                            opt, text, it[i].name, list);
        } else {
            for (int p = 0; p < i && !rc; p++)
                if (!strcmp(it[p].name, it[i].name))
                    rc = wn_err_set(e, WN_EINPUT, "%s '%s': class '%s' is given twice", opt, text,
                                    it[i].name);
            if (!rc) target[j] = v;
        }
    }
    if (!rc && names) {
        if (!per_class) {
            for (int j = 0; j < k; j++) target[j] = 0.0;
            target[0] = dflt;
        } else {
            target[0] = 0.0;
            for (int j = 1; j < k && !rc; j++) {
                int named = 0;
                for (int i = 0; i < n; i++) named |= !strcmp(it[i].name, names[j]);
                if (!named) {
                    if (isnan(dflt))
                        rc = wn_err_set(e, WN_EINPUT,
                                        "%s '%s': no target for defect class '%s' (give %s=T, or "
                                        "one number for the classes not named)",
                                        opt, text, names[j], names[j]);
                    else
                        target[j] = dflt;
                }
            }
        }
    }
    free(it);
    return rc;
}

int wn_calib_parse_priors(const char *text, int k, char *const *names, float *priors /* (K) */,
                          wn_err *e) {
    static const char opt[] = "--priors";
    item *it;
    int n, rc = split_list(opt, text, &it, &n, e);
    double *v = wn_xcalloc((size_t)k, sizeof *v); /* (K) */
    int *seen = wn_xcalloc((size_t)k, sizeof *seen); /* (K) */
    double sum = 0.0;
    char list[600];
    class_list(k, names, 0, list, sizeof list);
    for (int i = 0; i < n && !rc; i++) {
        double x;
        if (!it[i].name[0]) {
            rc = wn_err_set(e, WN_EINPUT, "%s '%s': every item must be NAME=P (the classes: %s)",
                            opt, text, list);
            break;
        }
        if ((rc = parse_number(opt, text, &it[i], &x, e))) break;
        int j = class_index(k, names, it[i].name);
        if (j < 0)
            rc = wn_err_set(e, WN_EINPUT, "%s '%s': no class '%s' (the classes: %s)", opt, text,
                            it[i].name, list);
        else if (seen[j]++)
            rc = wn_err_set(e, WN_EINPUT, "%s '%s': class '%s' is given twice", opt, text,
                            it[i].name);
        else if (!(x >= 0.0 && isfinite(x)))
            rc = wn_err_set(e, WN_EINPUT, "%s '%s': prior %g of '%s' must be finite and >= 0", opt,
                            text, x, it[i].name);
        else
            v[j] = x, sum += x;
    }
    for (int j = 0; j < k && !rc; j++)
        if (!seen[j])
            rc = wn_err_set(e, WN_EINPUT, "%s '%s': no prior for class '%s' (every class needs one)",
                            opt, text, names[j]);
    if (!rc && !(sum > 0.0)) rc = wn_err_set(e, WN_EINPUT, "%s '%s': every prior is zero", opt, text);
    for (int j = 0; j < k && !rc; j++) priors[j] = (float)(v[j] / sum);
    free(v);
    free(seen);
    free(it);
    return rc;
}
