/* model_file.c - the .wnet model file: wn_model_save (checks the model, then writes 'NETI',
 * 'CLAS', 'INPT', 'META', one 'TENS' per tensor and the extra records in order), wn_model_load
 * (decodes and checks every record; a failed load leaves *m zeroed), wn_model_free and the
 * lookups of tensors and extra records. The byte layout is in docs/MODEL_FORMAT.md. */
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model_internal.h"

static int reserved_tag(uint32_t tag) {
    return tag == WN_TAG_NETI || tag == WN_TAG_CLAS || tag == WN_TAG_INPT || tag == WN_TAG_META ||
           tag == WN_TAG_TENS;
}

/* The rules every saved and every loaded model obeys; ctx starts the message. */
static int model_check(const wn_model *m, const char *ctx, int code, wn_err *e) {
    if (m->n_classes < 1 || m->n_classes > WN_MAX_CLASSES)
        return wn_err_set(e, code, "%s: %d classes (allowed: 1 to %d)", ctx, m->n_classes,
                          WN_MAX_CLASSES);
    if (!m->class_names || !m->class_counts)
        return wn_err_set(e, code, "%s: the class names or counts are missing", ctx);
    for (int j = 0; j < m->n_classes; j++) {
        if (!wn_name_ok(m->class_names[j]))
            return wn_err_set(e, code, "%s: class %d has an empty, multi-line or over-long name",
                              ctx, j);
        if (m->class_counts[j] < 0)
            return wn_err_set(e, code, "%s: class '%s' has a negative training count %ld", ctx,
                              m->class_names[j], m->class_counts[j]);
    }
    int rep = wn_names_repeat(m->class_names, m->n_classes);
    if (rep >= 0)
        return wn_err_set(e, code, "%s: class name '%s' appears more than once", ctx,
                          m->class_names[rep]);
    if (m->in_c < 1 || m->in_c > 3 || m->in_h < 1 || m->in_h > WN_MAX_INPUT_SIDE || m->in_w < 1 ||
        m->in_w > WN_MAX_INPUT_SIDE)
        return wn_err_set(e, code, "%s: input %d x %d x %d (C x H x W) is out of range (allowed: "
                          "1 to 3 channels, sides 1 to %d)", ctx, m->in_c, m->in_h, m->in_w,
                          WN_MAX_INPUT_SIDE);
    for (int c = 0; c < 3; c++)
        if (!isfinite(m->mean[c]) || !isfinite(m->std[c]))
            return wn_err_set(e, code, "%s: normalisation channel %d (mean %g, std %g) is not a "
                              "finite number", ctx, c, m->mean[c], m->std[c]);
    int rc = wn_tensors_check(m->tensors, m->n_tensors, ctx, code, e);
    if (rc) return rc;
    if (m->n_extra < 0 || (m->n_extra > 0 && !m->extra))
        return wn_err_set(e, code, "%s: the extra record list is missing", ctx);
    for (int i = 0; i < m->n_extra; i++) {
        char tb[16];
        const wn_record *r = &m->extra[i];
        if (!wn_tag_valid(r->tag) || reserved_tag(r->tag))
            return wn_err_set(e, code, "%s: extra record %d has the tag %s, which is %s", ctx, i,
                              wn_tag_text(r->tag, tb),
                              wn_tag_valid(r->tag) ? "reserved for the model itself"
                                                   : "not four printable ASCII characters");
        if (r->len > 0 && !r->data)
            return wn_err_set(e, code, "%s: extra record '%s' has no data", ctx,
                              wn_tag_text(r->tag, tb));
        if (r->len > WN_FILE_MAX_BYTES)
            return wn_err_set(e, code, "%s: extra record '%s' is too large", ctx,
                              wn_tag_text(r->tag, tb));
    }
    return WN_OK;
}

/* ---- save ---------------------------------------------------------------------------------- */

int wn_model_save(const char *path, const wn_model *m, wn_err *e) {
    char ctx[1100];
    snprintf(ctx, sizeof ctx, "%s: cannot save", path);
    int rc = model_check(m, ctx, WN_ERUNTIME, e);
    if (rc) return rc;
    const char *ini = m->net_ini ? m->net_ini : "";
    uint64_t clas_len = 4;
    for (int j = 0; j < m->n_classes; j++) clas_len += 4 + strlen(m->class_names[j]) + 8;
    uint64_t payload = 3 * WN_RECORD_HEADER + strlen(ini) + clas_len + 36;
    uint32_t n_records = 3;
    if (m->meta) {
        payload += WN_RECORD_HEADER + strlen(m->meta);
        n_records++;
    }
    for (int i = 0; i < m->n_tensors; i++)
        payload += WN_RECORD_HEADER + wn_tensor_record_len(&m->tensors[i]);
    for (int i = 0; i < m->n_extra; i++) payload += WN_RECORD_HEADER + m->extra[i].len;
    n_records += (uint32_t)m->n_tensors + (uint32_t)m->n_extra;

    wn_cwriter w;
    wn_cw_open(&w, path, WN_KIND_MODEL, n_records, payload, e);
    wn_cw_record(&w, WN_TAG_NETI, strlen(ini));
    wn_cw_bytes(&w, ini, strlen(ini));
    wn_cw_record(&w, WN_TAG_CLAS, clas_len);
    wn_cw_u32(&w, (uint32_t)m->n_classes);
    for (int j = 0; j < m->n_classes; j++) {
        size_t n = strlen(m->class_names[j]);
        wn_cw_u32(&w, (uint32_t)n);
        wn_cw_bytes(&w, m->class_names[j], n);
        wn_cw_u64(&w, (uint64_t)m->class_counts[j]);
    }
    wn_cw_record(&w, WN_TAG_INPT, 36);
    wn_cw_u32(&w, (uint32_t)m->in_c);
    wn_cw_u32(&w, (uint32_t)m->in_h);
    wn_cw_u32(&w, (uint32_t)m->in_w);
    for (int c = 0; c < 3; c++) wn_cw_f32(&w, m->mean[c]);
    for (int c = 0; c < 3; c++) wn_cw_f32(&w, m->std[c]);
    if (m->meta) {
        wn_cw_record(&w, WN_TAG_META, strlen(m->meta));
        wn_cw_bytes(&w, m->meta, strlen(m->meta));
    }
    for (int i = 0; i < m->n_tensors; i++) wn_cw_tensor(&w, &m->tensors[i]);
    for (int i = 0; i < m->n_extra; i++) {
        wn_cw_record(&w, m->extra[i].tag, m->extra[i].len);
        wn_cw_bytes(&w, m->extra[i].data, m->extra[i].len);
    }
    return wn_cw_finish(&w);
}

/* ---- load ---------------------------------------------------------------------------------- */

static int parse_classes(wn_cur *c, wn_model *m) {
    uint32_t n;
    if (wn_cur_u32(c, "class count", &n)) return WN_EINPUT;
    if (n < 1 || n > WN_MAX_CLASSES)
        return wn_cur_fail(c, "%u classes (allowed: 1 to %d)", n, WN_MAX_CLASSES);
    m->class_names = wn_xcalloc(n, sizeof(char *));
    m->class_counts = wn_xcalloc(n, sizeof(long));
    m->n_classes = (int)n;
    for (uint32_t j = 0; j < n; j++) {
        uint64_t count;
        if (wn_cur_str(c, "class name", 0, 0, &m->class_names[j])) return WN_EINPUT;
        if (wn_cur_u64(c, "training count", &count)) return WN_EINPUT;
        if (count > (uint64_t)LONG_MAX)
            return wn_cur_fail(c, "class '%s' has an impossible training count %llu",
                               m->class_names[j], (unsigned long long)count);
        m->class_counts[j] = (long)count;
    }
    return WN_OK;
}

static int parse_input(wn_cur *c, wn_model *m) {
    if (c->len != 36) return wn_cur_fail(c, "%zu bytes (expected 36)", c->len);
    uint32_t d[3];
    for (int i = 0; i < 3; i++) wn_cur_u32(c, "input size", &d[i]);
    for (int i = 0; i < 3; i++)
        if (d[i] < 1 || d[i] > WN_MAX_INPUT_SIDE || (i == 0 && d[i] > 3))
            return wn_cur_fail(c, "input %u x %u x %u (C x H x W) is out of range (allowed: 1 to "
                               "3 channels, sides 1 to %d)", d[0], d[1], d[2], WN_MAX_INPUT_SIDE);
    m->in_c = (int)d[0];
    m->in_h = (int)d[1];
    m->in_w = (int)d[2];
    for (int i = 0; i < 3; i++) wn_cur_f32(c, "mean", &m->mean[i]);
    for (int i = 0; i < 3; i++) wn_cur_f32(c, "std", &m->std[i]);
    return WN_OK;
}

static int parse_records(const wn_container *c, const char *path, wn_model *m, wn_err *e) {
    static const uint32_t once[4] = {WN_TAG_NETI, WN_TAG_CLAS, WN_TAG_INPT, WN_TAG_META};
    static const char *const what[3] = {"network definition", "class names",
                                        "input size and normalisation"};
    int seen[4] = {0, 0, 0, 0}, n_tens = 0, n_extra = 0;
    for (int i = 0; i < c->n_records; i++) {
        int k = 0;
        while (k < 4 && c->recs[i].tag != once[k]) k++;
        if (k < 4) {
            if (++seen[k] > 1) {
                char tb[16];
                return wn_err_set(e, WN_EINPUT, "%s: record '%s' at byte %zu appears a second "
                                  "time (allowed once)", path, wn_tag_text(once[k], tb),
                                  c->recs[i].off);
            }
        } else if (c->recs[i].tag == WN_TAG_TENS) {
            n_tens++;
        } else {
            n_extra++;
        }
    }
    for (int k = 0; k < 3; k++)
        if (!seen[k]) {
            char tb[16];
            return wn_err_set(e, WN_EINPUT, "%s: record '%s' (%s) is missing", path,
                              wn_tag_text(once[k], tb), what[k]);
        }
    m->tensors = n_tens ? wn_xcalloc((size_t)n_tens, sizeof(wn_named_tensor)) : NULL;
    m->extra = n_extra ? wn_xcalloc((size_t)n_extra, sizeof(wn_record)) : NULL;
    for (int i = 0; i < c->n_records; i++) {
        const wn_crec *r = &c->recs[i];
        wn_cur cur;
        wn_cur_init(&cur, r, path, e);
        int rc = WN_OK;
        if (r->tag == WN_TAG_NETI) {
            rc = wn_cur_text(&cur, "network text", &m->net_ini);
        } else if (r->tag == WN_TAG_META) {
            rc = wn_cur_text(&cur, "metadata", &m->meta);
        } else if (r->tag == WN_TAG_CLAS) {
            rc = parse_classes(&cur, m);
        } else if (r->tag == WN_TAG_INPT) {
            rc = parse_input(&cur, m);
        } else if (r->tag == WN_TAG_TENS) {
            rc = wn_tensor_parse(&cur, &m->tensors[m->n_tensors++]);
        } else {
            wn_record *x = &m->extra[m->n_extra++];
            x->tag = r->tag;
            x->len = r->len;
            x->data = wn_xmalloc(r->len ? r->len : 1);
            if (r->len) memcpy(x->data, r->data, r->len);
            cur.pos = cur.len;
        }
        if (!rc) rc = wn_cur_end(&cur);
        if (rc) return rc;
    }
    return WN_OK;
}

int wn_model_load(const char *path, wn_model *m, wn_err *e) {
    memset(m, 0, sizeof *m);
    wn_container c;
    int rc = wn_container_read(path, WN_KIND_MODEL, &c, e);
    if (rc) return rc;
    rc = parse_records(&c, path, m, e);
    wn_container_free(&c);
    if (!rc) rc = model_check(m, path, WN_EINPUT, e);
    if (rc) wn_model_free(m);
    return rc;
}

void wn_model_free(wn_model *m) {
    if (!m) return;
    free(m->net_ini);
    if (m->class_names)
        for (int j = 0; j < m->n_classes; j++) free(m->class_names[j]);
    free(m->class_names);
    free(m->class_counts);
    free(m->meta);
    wn_tensors_free(m->tensors, m->n_tensors);
    if (m->extra)
        for (int i = 0; i < m->n_extra; i++) free(m->extra[i].data);
    free(m->extra);
    memset(m, 0, sizeof *m);
}

/* ---- lookups ------------------------------------------------------------------------------- */

const wn_named_tensor *wn_model_find(const wn_model *m, const char *name) {
    if (!m || !name) return NULL;
    for (int i = 0; i < m->n_tensors; i++)
        if (m->tensors[i].name && !strcmp(m->tensors[i].name, name)) return &m->tensors[i];
    return NULL;
}

void wn_model_set_record(wn_model *m, uint32_t tag, const void *data, size_t len) {
    uint8_t *copy = wn_xmalloc(len ? len : 1);
    if (len) memcpy(copy, data, len);
    for (int i = 0; i < m->n_extra; i++)
        if (m->extra[i].tag == tag) {
            free(m->extra[i].data);
            m->extra[i].data = copy;
            m->extra[i].len = len;
            return;
        }
    m->extra = wn_xrealloc(m->extra, (size_t)(m->n_extra + 1) * sizeof(wn_record));
    m->extra[m->n_extra].tag = tag;
    m->extra[m->n_extra].len = len;
    m->extra[m->n_extra].data = copy;
    m->n_extra++;
}

const wn_record *wn_model_get_record(const wn_model *m, uint32_t tag) {
    if (!m) return NULL;
    for (int i = 0; i < m->n_extra; i++)
        if (m->extra[i].tag == tag) return &m->extra[i];
    return NULL;
}
