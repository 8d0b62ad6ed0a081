/* netdef_layers.c - interprets the raw sections of a network INI: [net] (input size and
 * normalisation), [train] (kept raw for train/) and one section per layer, checked against the
 * key table of its type (unknown keys, missing keys, ranges, defaults). The language is
 * documented in docs/NETWORK_INI.md. */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "net_internal.h"

static const char *const type_names[WN_LAYER_NTYPES] = {
    "conv", "maxpool", "avgpool", "gap", "dense", "relu", "leaky", "dropout", "batchnorm", "add"};

const char *wn_layer_type_name(int type) {
    return type >= 0 && type < WN_LAYER_NTYPES ? type_names[type] : "?";
}

#define T(x) (1u << WN_LAYER_##x)
#define ALL ((1u << WN_LAYER_NTYPES) - 1)
#define POOL (T(MAXPOOL) | T(AVGPOOL))
#define F(f) offsetof(wn_layer_def, f)
#define NONE ((size_t)-1)

enum { K_TYPE, K_NAME, K_INT, K_FLOAT, K_UNITS };

typedef struct key_spec {
    const char *key;
    unsigned types; /* bit (1 << WN_LAYER_*) per type that accepts the key */
    int kind; /* K_* */
    size_t off1, off2; /* field(s) of wn_layer_def set (off2 NONE: one) */
    double lo, hi; /* range (ints inclusive; floats with the open flags) */
    int lo_open, hi_open;
} key_spec;

/* Order matters only for the "known keys" lists in messages. */
static const key_spec keys[] = {
    {"type", ALL, K_TYPE, NONE, NONE, 0, 0, 0, 0},
    {"input", ALL, K_NAME, F(input), NONE, 0, 0, 0, 0},
    {"from", T(ADD), K_NAME, F(from), NONE, 0, 0, 0, 0},
    {"filters", T(CONV), K_INT, F(filters), NONE, 1, 65536, 0, 0},
    {"units", T(DENSE), K_UNITS, F(units), NONE, 1, 1000000, 0, 0},
    {"size", T(CONV) | POOL, K_INT, F(kh), F(kw), 1, 1000, 0, 0},
    {"size_h", T(CONV) | POOL, K_INT, F(kh), NONE, 1, 1000, 0, 0},
    {"size_w", T(CONV) | POOL, K_INT, F(kw), NONE, 1, 1000, 0, 0},
    {"stride", T(CONV) | POOL, K_INT, F(sh), F(sw), 1, 1000, 0, 0},
    {"stride_h", T(CONV) | POOL, K_INT, F(sh), NONE, 1, 1000, 0, 0},
    {"stride_w", T(CONV) | POOL, K_INT, F(sw), NONE, 1, 1000, 0, 0},
    {"pad", T(CONV) | POOL, K_INT, F(ph), F(pw), 0, 1000, 0, 0},
    {"pad_h", T(CONV) | POOL, K_INT, F(ph), NONE, 0, 1000, 0, 0},
    {"pad_w", T(CONV) | POOL, K_INT, F(pw), NONE, 0, 1000, 0, 0},
    {"bias", T(CONV) | T(DENSE), K_INT, F(bias), NONE, 0, 1, 0, 0},
    {"alpha", T(LEAKY), K_FLOAT, F(alpha), NONE, 0, 1, 0, 0},
    {"rate", T(DROPOUT), K_FLOAT, F(rate), NONE, 0, 1, 0, 1},
    {"momentum", T(BATCHNORM), K_FLOAT, F(momentum), NONE, 0, 1, 1, 0},
    {"eps", T(BATCHNORM), K_FLOAT, F(eps), NONE, 0, 1, 1, 0},
};
enum { N_KEYS = sizeof keys / sizeof keys[0] };

static int key_index(const char *key) {
    for (int k = 0; k < N_KEYS; k++)
        if (!strcmp(keys[k].key, key)) return k;
    return -1;
}

static void known_keys(unsigned type_bit, char *buf, size_t n) {
    buf[0] = '\0';
    for (int k = 0; k < N_KEYS; k++)
        if (keys[k].types & type_bit) {
            size_t used = strlen(buf);
            snprintf(buf + used, n - used, "%s%s", used ? ", " : "", keys[k].key);
        }
}

static void known_types(char *buf, size_t n) {
    buf[0] = '\0';
    for (int t = 0; t < WN_LAYER_NTYPES; t++) {
        size_t used = strlen(buf);
        snprintf(buf + used, n - used, "%s%s", t ? ", " : "", type_names[t]);
    }
}

static void set_defaults(wn_layer_def *l) {
    l->sh = l->sw = 0; /* 0 = not given: conv 1, pooling = size */
    l->bias = 1;
    l->alpha = 0.01f;
    l->rate = 0.5f;
    l->momentum = 0.1f;
    l->eps = 1e-5f;
}

/* Both "size" and one of "size_h"/"size_w" given, or half of a split pair without the whole. */
static int check_pair(const char *source, const wn_nd_section *sec, const char *whole,
                      const unsigned char *given, int required, wn_err *e) {
    char h[16], w[16];
    snprintf(h, sizeof h, "%s_h", whole);
    snprintf(w, sizeof w, "%s_w", whole);
    int g = given[key_index(whole)], gh = given[key_index(h)], gw = given[key_index(w)];
    if (g && (gh || gw))
        return wn_err_set(e, WN_EINPUT, "%s line %d: [%s] give either %s or %s/%s, not both",
                          source, sec->line, sec->name, whole, h, w);
    if (required && !g && !(gh && gw))
        return wn_err_set(e, WN_EINPUT, "%s line %d: [%s] missing key '%s' (or both %s and %s)",
                          source, sec->line, sec->name, whole, h, w);
    return WN_OK;
}

static int set_key(const char *source, const wn_nd_section *sec, const wn_kv *kv, const key_spec *k,
                   wn_layer_def *l, wn_err *e) {
    wn_nd_where where = {source, sec->name, kv};
    char *base = (char *)l;
    if (k->kind == K_NAME) {
        if (!wn_nd_name_ok(kv->value) && strcmp(kv->value, "input"))
            return wn_err_set(e, WN_EINPUT,
                              "%s line %d: [%s] %s = '%s': not a layer name (allowed: the name of "
                              "an earlier layer section, or 'input' for the network input)",
                              source, kv->line, sec->name, kv->key, kv->value);
        snprintf(base + k->off1, WN_NAME_MAX, "%s", kv->value);
        return WN_OK;
    }
    if (k->kind == K_UNITS && !strcmp(kv->value, "classes")) {
        l->units = 0;
        return WN_OK;
    }
    if (k->kind == K_INT || k->kind == K_UNITS) {
        int v;
        int rc = wn_nd_int(&where, (long)k->lo, (long)k->hi, &v, e);
        if (rc) {
            if (k->kind == K_UNITS) /* say that "classes" is also allowed */
                return wn_err_set(e, WN_EINPUT,
                                  "%s line %d: [%s] units = '%s': not a whole number from 1 to %d "
                                  "or 'classes' (the number of classes)",
                                  source, kv->line, sec->name, kv->value, (int)k->hi);
            return rc;
        }
        memcpy(base + k->off1, &v, sizeof v);
        if (k->off2 != NONE) memcpy(base + k->off2, &v, sizeof v);
        return WN_OK;
    }
    float v;
    int rc = wn_nd_float(&where, k->lo, k->lo_open, k->hi, k->hi_open, &v, e);
    if (rc) return rc;
    memcpy(base + k->off1, &v, sizeof v);
    return WN_OK;
}

static int layer_section(const char *source, const wn_nd_raw *raw, const wn_nd_section *sec,
                         wn_layer_def *l, int *in_line, int *from_line, wn_err *e) {
    memset(l, 0, sizeof *l);
    snprintf(l->name, sizeof l->name, "%s", sec->name);
    l->line = sec->line;
    *in_line = *from_line = sec->line;
    char list[512];
    if (!strcmp(sec->name, "input"))
        return wn_err_set(e, WN_EINPUT,
                          "%s line %d: [input] is a reserved name (input = input means the "
                          "network input); call the layer something else",
                          source, sec->line);
    const wn_kv *kv = raw->kv + sec->kv0;
    int type = -1;
    for (int i = 0; i < sec->n_kv; i++) {
        if (strcmp(kv[i].key, "type")) continue;
        for (int t = 0; t < WN_LAYER_NTYPES; t++)
            if (!strcmp(kv[i].value, type_names[t])) type = t;
        if (type < 0) {
            known_types(list, sizeof list);
            return wn_err_set(e, WN_EINPUT,
                              "%s line %d: [%s] type = '%s': unknown layer type (known: %s)",
                              source, kv[i].line, sec->name, kv[i].value, list);
        }
    }
    if (type < 0) {
        known_types(list, sizeof list);
        return wn_err_set(e, WN_EINPUT,
                          "%s line %d: [%s] has no 'type' (every layer section needs one of: %s; "
                          "the only other sections are [net] and [train])",
                          source, sec->line, sec->name, list);
    }
    l->type = type;
    set_defaults(l);
    unsigned char given[N_KEYS] = {0};
    for (int i = 0; i < sec->n_kv; i++) {
        int k = key_index(kv[i].key);
        if (k < 0 || !(keys[k].types & (1u << type))) {
            known_keys(1u << type, list, sizeof list);
            return wn_err_set(e, WN_EINPUT,
                              "%s line %d: [%s] unknown key '%s' for type %s (known: %s)", source,
                              kv[i].line, sec->name, kv[i].key, type_names[type], list);
        }
        given[k] = 1;
        if (keys[k].kind == K_TYPE) continue;
        if (!strcmp(kv[i].key, "input")) *in_line = kv[i].line;
        if (!strcmp(kv[i].key, "from")) *from_line = kv[i].line;
        int rc = set_key(source, sec, &kv[i], &keys[k], l, e);
        if (rc) return rc;
    }
    int spatial = type == WN_LAYER_CONV || type == WN_LAYER_MAXPOOL || type == WN_LAYER_AVGPOOL;
    int rc = WN_OK;
    if (spatial) {
        if ((rc = check_pair(source, sec, "size", given, 1, e)) ||
            (rc = check_pair(source, sec, "stride", given, 0, e)) ||
            (rc = check_pair(source, sec, "pad", given, 0, e)))
            return rc;
        if (!l->sh) l->sh = type == WN_LAYER_CONV ? 1 : l->kh;
        if (!l->sw) l->sw = type == WN_LAYER_CONV ? 1 : l->kw;
    }
    if (type == WN_LAYER_CONV && !given[key_index("filters")])
        return wn_err_set(e, WN_EINPUT,
                          "%s line %d: [%s] missing key 'filters' (a conv layer needs "
                          "filters and size)",
                          source, sec->line, sec->name);
    if (type == WN_LAYER_DENSE && !given[key_index("units")])
        return wn_err_set(e, WN_EINPUT,
                          "%s line %d: [%s] missing key 'units' (a number, or "
                          "'classes' for the output layer)",
                          source, sec->line, sec->name);
    if (type == WN_LAYER_ADD && !given[key_index("from")])
        return wn_err_set(e, WN_EINPUT,
                          "%s line %d: [%s] missing key 'from' (an add layer sums its "
                          "input and the layer named by from)",
                          source, sec->line, sec->name);
    if ((type == WN_LAYER_MAXPOOL || type == WN_LAYER_AVGPOOL) &&
        (2 * l->ph > l->kh || 2 * l->pw > l->kw))
        return wn_err_set(e, WN_EINPUT,
                          "%s line %d: [%s] pad %dx%d is too large for a %dx%d window "
                          "(allowed: at most half the window size)",
                          source, sec->line, sec->name, l->ph, l->pw, l->kh, l->kw);
    return WN_OK;
}

/* [net]: the input (C, H, W) and its normalisation. */
static int net_section(const char *source, const wn_nd_raw *raw, const wn_nd_section *sec,
                       wn_netdef *def, wn_err *e) {
    const wn_kv *kv = raw->kv + sec->kv0;
    const wn_kv *mean = NULL, *std = NULL;
    int *dims[3] = {&def->in_w, &def->in_h, &def->in_c};
    static const char *const dim_keys[3] = {"width", "height", "channels"};
    int given[3] = {0, 0, 0};
    for (int i = 0; i < sec->n_kv; i++) {
        wn_nd_where where = {source, sec->name, &kv[i]};
        int d = -1;
        for (int j = 0; j < 3; j++)
            if (!strcmp(kv[i].key, dim_keys[j])) d = j;
        if (d >= 0) {
            int rc = wn_nd_int(&where, 1, d == 2 ? 3 : 10000, dims[d], e);
            if (rc) return rc;
            if (d == 2 && *dims[d] == 2)
                return wn_err_set(e, WN_EINPUT,
                                  "%s line %d: [net] channels = '2': out of range "
                                  "(allowed: 1 for grey or 3 for colour)",
                                  source, kv[i].line);
            given[d] = 1;
        } else if (!strcmp(kv[i].key, "mean")) {
            mean = &kv[i];
        } else if (!strcmp(kv[i].key, "std")) {
            std = &kv[i];
        } else {
            return wn_err_set(e, WN_EINPUT,
                              "%s line %d: [net] unknown key '%s' (known: width, "
                              "height, channels, mean, std)",
                              source, kv[i].line, kv[i].key);
        }
    }
    for (int j = 0; j < 3; j++)
        if (!given[j])
            return wn_err_set(e, WN_EINPUT,
                              "%s line %d: [net] missing key '%s' (the input needs "
                              "width, height and channels)",
                              source, sec->line, dim_keys[j]);
    int mean_auto = mean && !strcmp(mean->value, "auto");
    int std_auto = std && !strcmp(std->value, "auto");
    if (mean_auto != std_auto)
        return wn_err_set(e, WN_EINPUT,
                          "%s line %d: [net] mean and std must both be 'auto' or "
                          "both be lists",
                          source, (mean_auto ? mean : std)->line);
    def->norm_auto = mean_auto;
    for (int c = 0; c < 3; c++) {
        def->mean[c] = 0.0f;
        def->std[c] = 1.0f;
    }
    if (mean_auto) return WN_OK;
    const wn_kv *lists[2] = {mean, std};
    float *dst[2] = {def->mean, def->std}; // (3) each
    for (int j = 0; j < 2; j++) {
        if (!lists[j]) continue;
        wn_nd_where where = {source, sec->name, lists[j]};
        float v[3];
        int n;
        int rc = j == 0 ? wn_nd_float_list(&where, 3, -1000, 0, 1000, v, &n, e)
                        : wn_nd_float_list(&where, 3, 0, 1, 1000, v, &n, e);
        if (rc) return rc;
        if (n != 1 && n != def->in_c)
            return wn_err_set(e, WN_EINPUT,
                              "%s line %d: [net] %s = '%s': %d values, but channels = "
                              "%d (give 1 value, %d values or auto)",
                              source, lists[j]->line, lists[j]->key, lists[j]->value, n, def->in_c,
                              def->in_c);
        for (int c = 0; c < 3; c++) dst[j][c] = v[n == 1 ? 0 : (c < n ? c : 0)];
    }
    return WN_OK;
}

static void train_section(const wn_nd_raw *raw, const wn_nd_section *sec, wn_netdef *def) {
    def->n_train = sec->n_kv;
    def->train = wn_xcalloc((size_t)sec->n_kv, sizeof *def->train);
    for (int i = 0; i < sec->n_kv; i++) {
        const wn_kv *kv = &raw->kv[sec->kv0 + i];
        def->train[i].key = wn_xstrdup(kv->key);
        def->train[i].value = wn_xstrdup(kv->value);
        def->train[i].line = kv->line;
    }
}

int wn_nd_interpret(const wn_nd_raw *raw, wn_netdef *def, wn_err *e) {
    const char *source = raw->source;
    int n = raw->n_sections, have_net = 0, rc = WN_OK;
    def->layers = wn_xcalloc((size_t)n, sizeof *def->layers);
    int *lines = wn_xcalloc(2 * (size_t)n + 2, sizeof *lines); /* input then from key lines */
    int *idx = wn_xcalloc(2 * (size_t)n + 2, sizeof *idx); /* resolved indices */
    for (int s = 0; s < n && !rc; s++) {
        const wn_nd_section *sec = &raw->sections[s];
        if (!strcmp(sec->name, "net")) {
            have_net = 1;
            rc = net_section(source, raw, sec, def, e);
        } else if (!strcmp(sec->name, "train")) {
            train_section(raw, sec, def);
        } else {
            int i = def->n_layers++;
            rc = layer_section(source, raw, sec, &def->layers[i], &lines[i], &lines[n + i], e);
        }
    }
    if (!rc && !have_net)
        rc = wn_err_set(e, WN_EINPUT,
                        "%s: no [net] section (it gives the input: width, height, "
                        "channels, mean, std)",
                        source);
    if (!rc && def->n_layers == 0)
        rc = wn_err_set(e, WN_EINPUT,
                        "%s: no layer sections (a network needs at least one layer, "
                        "the last one with one output per class)",
                        source);
    if (!rc) rc = wn_net_resolve(def, lines, lines + n, idx, idx + n, e);
    free(lines);
    free(idx);
    return rc;
}
