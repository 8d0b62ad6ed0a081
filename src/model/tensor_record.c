/* tensor_record.c - the 'TENS' record shared by model and training-state files (name, shape,
 * float32 values), and the checks on names and tensors that both the writer and the reader apply,
 * so that every file written can be read back. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "model_internal.h"

#define WN_NAME_MAX 4096

int wn_name_ok(const char *s) {
    if (!s || !*s) return 0;
    size_t n = strcspn(s, "\n\r");
    return s[n] == '\0' && n <= WN_NAME_MAX;
}

static int cmp_name(const void *a, const void *b) {
    return strcmp(**(char *const *const *)a, **(char *const *const *)b);
}

int wn_names_repeat(char *const *names, int n) {
    if (n < 2) return -1;
    char *const **order = wn_xmalloc((size_t)n * sizeof *order);
    for (int i = 0; i < n; i++) order[i] = &names[i];
    qsort(order, (size_t)n, sizeof *order, cmp_name);
    int found = -1;
    for (int i = 1; i < n && found < 0; i++)
        if (!strcmp(*order[i - 1], *order[i])) {
            /* report the later of the two in file order */
            ptrdiff_t a = order[i - 1] - names, b = order[i] - names;
            found = (int)(a > b ? a : b);
        }
    free(order);
    return found;
}

uint64_t wn_tensor_elems(const wn_named_tensor *t) {
    uint64_t n = 1;
    for (int d = 0; d < t->ndim; d++) n *= (uint64_t)t->dims[d];
    return n;
}

uint64_t wn_tensor_record_len(const wn_named_tensor *t) {
    return 4 + strlen(t->name) + 4 + 4 * (uint64_t)t->ndim + 4 * wn_tensor_elems(t);
}

void wn_cw_tensor(wn_cwriter *w, const wn_named_tensor *t) {
    size_t n = strlen(t->name);
    wn_cw_record(w, WN_TAG_TENS, wn_tensor_record_len(t));
    wn_cw_u32(w, (uint32_t)n);
    wn_cw_bytes(w, t->name, n);
    wn_cw_u32(w, (uint32_t)t->ndim);
    for (int d = 0; d < t->ndim; d++) wn_cw_u32(w, (uint32_t)t->dims[d]);
    wn_cw_floats(w, t->data, (size_t)wn_tensor_elems(t));
}

static void shape_text(const wn_named_tensor *t, char *buf, size_t n) {
    size_t k = 0;
    buf[0] = '\0';
    for (int d = 0; d < t->ndim && k < n; d++)
        k += (size_t)snprintf(buf + k, n - k, d ? "x%d" : "%d", t->dims[d]);
}

int wn_tensor_parse(wn_cur *c, wn_named_tensor *t) {
    memset(t, 0, sizeof *t);
    uint32_t ndim;
    if (wn_cur_str(c, "tensor name", 0, 0, &t->name)) return WN_EINPUT;
    if (wn_cur_u32(c, "dimension count", &ndim)) return WN_EINPUT;
    if (ndim < 1 || ndim > 4)
        return wn_cur_fail(c, "tensor '%s' has %u dimensions (allowed: 1 to 4)", t->name, ndim);
    uint64_t count = 1;
    for (uint32_t d = 0; d < ndim; d++) {
        uint32_t v;
        if (wn_cur_u32(c, "tensor dimension", &v)) return WN_EINPUT;
        if (v == 0 || v > INT_MAX)
            return wn_cur_fail(c, "tensor '%s' dimension %u is %u (allowed: 1 to %d)", t->name, d,
                               v, INT_MAX);
        t->dims[d] = (int)v;
        t->ndim = (int)d + 1;
        /* count <= len/4 < 2^62 before this product and v < 2^31: no overflow */
        count *= v;
        if (count > c->len / 4)
            return wn_cur_fail(c, "tensor '%s' has a shape that holds more values than the "
                               "record's %zu bytes", t->name, c->len);
    }
    size_t left = c->len - c->pos;
    if (count * 4 != left) {
        char shape[64];
        shape_text(t, shape, sizeof shape);
        return wn_cur_fail(c, "tensor '%s' of shape %s (%llu values) needs %llu bytes of data but "
                           "the record holds %zu", t->name, shape, (unsigned long long)count,
                           (unsigned long long)(count * 4), left);
    }
    t->data = wn_xmalloc((size_t)count * sizeof(float));
    const uint8_t *p = c->p + c->pos;
    for (size_t i = 0; i < (size_t)count; i++) {
        uint32_t bits = wn_get_u32(p + 4 * i);
        memcpy(&t->data[i], &bits, 4);
    }
    c->pos += (size_t)count * 4;
    return WN_OK;
}

int wn_tensors_check(const wn_named_tensor *t, int n, const char *ctx, int code, wn_err *e) {
    if (n < 0 || (n > 0 && !t))
        return wn_err_set(e, code, "%s: tensor list of %d entries is missing", ctx, n);
    for (int i = 0; i < n; i++) {
        if (!wn_name_ok(t[i].name))
            return wn_err_set(e, code, "%s: tensor %d has an empty, multi-line or over-long name",
                              ctx, i);
        if (t[i].ndim < 1 || t[i].ndim > 4)
            return wn_err_set(e, code, "%s: tensor '%s' has %d dimensions (allowed: 1 to 4)", ctx,
                              t[i].name, t[i].ndim);
        uint64_t elems = 1;
        for (int d = 0; d < t[i].ndim; d++) {
            if (t[i].dims[d] < 1)
                return wn_err_set(e, code, "%s: tensor '%s' dimension %d is %d (must be positive)",
                                  ctx, t[i].name, d, t[i].dims[d]);
            /* elems <= 2^30 before and dims < 2^31: no overflow */
            elems *= (uint64_t)t[i].dims[d];
            if (elems > WN_FILE_MAX_BYTES / 4)
                return wn_err_set(e, code, "%s: tensor '%s' is too large for the file format",
                                  ctx, t[i].name);
        }
        if (!t[i].data)
            return wn_err_set(e, code, "%s: tensor '%s' has no data", ctx, t[i].name);
    }
    char **names = wn_xmalloc((size_t)(n ? n : 1) * sizeof *names);
    for (int i = 0; i < n; i++) names[i] = t[i].name;
    int rep = wn_names_repeat(names, n);
    free(names);
    if (rep >= 0)
        return wn_err_set(e, code, "%s: tensor name '%s' appears more than once", ctx,
                          t[rep].name);
    return WN_OK;
}

void wn_tensors_free(wn_named_tensor *t, int n) {
    if (!t) return;
    for (int i = 0; i < n; i++) {
        free(t[i].name);
        free(t[i].data);
    }
    free(t);
}
