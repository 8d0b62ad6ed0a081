/* train_state.c - the training-state file for --resume: the model container with magic
 * "WNETSTAT" and the records 'EPOC', 'STEP', 'RNGS', 'BEST', 'CFGH' and one 'TENS' per optimizer
 * tensor. Unknown records are skipped. The byte layout is in docs/MODEL_FORMAT.md. */
#include <stdlib.h>
#include <string.h>

#include "model_internal.h"

static int state_check(const wn_train_state *s, const char *ctx, int code, wn_err *e) {
    if (s->epoch < 0 || s->step < 0)
        return wn_err_set(e, code, "%s: epoch %d or step %ld is negative", ctx, s->epoch, s->step);
    return wn_tensors_check(s->tensors, s->n_tensors, ctx, code, e);
}

int wn_train_state_save(const char *path, const wn_train_state *s, wn_err *e) {
    char ctx[1100];
    snprintf(ctx, sizeof ctx, "%s: cannot save", path);
    int rc = state_check(s, ctx, WN_ERUNTIME, e);
    if (rc) return rc;
    uint64_t payload = 4 * WN_RECORD_HEADER + 4 + 8 + 16 + 12;
    uint32_t n_records = 4 + (uint32_t)s->n_tensors;
    if (s->config_hash) {
        payload += WN_RECORD_HEADER + strlen(s->config_hash);
        n_records++;
    }
    for (int i = 0; i < s->n_tensors; i++)
        payload += WN_RECORD_HEADER + wn_tensor_record_len(&s->tensors[i]);

    wn_cwriter w;
    uint64_t metric;
    memcpy(&metric, &s->best_metric, 8);
    wn_cw_open(&w, path, WN_KIND_STATE, n_records, payload, e);
    wn_cw_record(&w, WN_TAG_EPOC, 4);
    wn_cw_u32(&w, (uint32_t)s->epoch);
    wn_cw_record(&w, WN_TAG_STEP, 8);
    wn_cw_u64(&w, (uint64_t)s->step);
    wn_cw_record(&w, WN_TAG_RNGS, 16);
    wn_cw_u64(&w, s->rng_state);
    wn_cw_u64(&w, s->rng_inc);
    wn_cw_record(&w, WN_TAG_BEST, 12);
    wn_cw_u64(&w, metric);
    wn_cw_u32(&w, (uint32_t)s->best_epoch);
    if (s->config_hash) {
        wn_cw_record(&w, WN_TAG_CFGH, strlen(s->config_hash));
        wn_cw_bytes(&w, s->config_hash, strlen(s->config_hash));
    }
    for (int i = 0; i < s->n_tensors; i++) wn_cw_tensor(&w, &s->tensors[i]);
    return wn_cw_finish(&w);
}

/* Decodes one of the fixed-size records (index k in the table of parse_records). */
static int parse_fixed(wn_cur *c, int k, wn_train_state *s) {
    static const size_t size[4] = {4, 8, 16, 12};
    if (c->len != size[k]) return wn_cur_fail(c, "%zu bytes (expected %zu)", c->len, size[k]);
    uint32_t u;
    uint64_t v;
    switch (k) {
    case 0:
        wn_cur_u32(c, "epoch", &u);
        s->epoch = (int)(int32_t)u;
        if (s->epoch < 0) return wn_cur_fail(c, "epoch %d is negative", s->epoch);
        break;
    case 1:
        wn_cur_u64(c, "step", &v);
        if ((int64_t)v < 0 || (uint64_t)(long)v != v)
            return wn_cur_fail(c, "step %lld is out of range", (long long)(int64_t)v);
        s->step = (long)v;
        break;
    case 2:
        wn_cur_u64(c, "rng state", &s->rng_state);
        wn_cur_u64(c, "rng increment", &s->rng_inc);
        break;
    default:
        wn_cur_u64(c, "best metric", &v);
        memcpy(&s->best_metric, &v, 8);
        wn_cur_u32(c, "best epoch", &u);
        s->best_epoch = (int)(int32_t)u;
        break;
    }
    return WN_OK;
}

static int parse_records(const wn_container *c, const char *path, wn_train_state *s, wn_err *e) {
    static const uint32_t once[5] = {WN_TAG_EPOC, WN_TAG_STEP, WN_TAG_RNGS, WN_TAG_BEST,
                                     WN_TAG_CFGH};
    int seen[5] = {0, 0, 0, 0, 0}, n_tens = 0;
    char tb[16];
    for (int i = 0; i < c->n_records; i++) {
        int k = 0;
        while (k < 5 && c->recs[i].tag != once[k]) k++;
        if (k < 5 && ++seen[k] > 1)
            return wn_err_set(e, WN_EINPUT, "%s: record '%s' at byte %zu appears a second time "
                              "(allowed once)", path, wn_tag_text(once[k], tb), c->recs[i].off);
        if (c->recs[i].tag == WN_TAG_TENS) n_tens++;
    }
    for (int k = 0; k < 4; k++)
        if (!seen[k])
            return wn_err_set(e, WN_EINPUT, "%s: record '%s' is missing", path,
                              wn_tag_text(once[k], tb));
    s->tensors = n_tens ? wn_xcalloc((size_t)n_tens, sizeof(wn_named_tensor)) : NULL;
    for (int i = 0; i < c->n_records; i++) {
        const wn_crec *r = &c->recs[i];
        wn_cur cur;
        wn_cur_init(&cur, r, path, e);
        int k = 0, rc = WN_OK;
        while (k < 5 && r->tag != once[k]) k++;
        if (k < 4)
            rc = parse_fixed(&cur, k, s);
        else if (k == 4)
            rc = wn_cur_text(&cur, "configuration hash", &s->config_hash);
        else if (r->tag == WN_TAG_TENS)
            rc = wn_tensor_parse(&cur, &s->tensors[s->n_tensors++]);
        else
            cur.pos = cur.len; /* a record of a later version: skipped */
        if (!rc) rc = wn_cur_end(&cur);
        if (rc) return rc;
    }
    return WN_OK;
}

int wn_train_state_load(const char *path, wn_train_state *s, wn_err *e) {
    memset(s, 0, sizeof *s);
    wn_container c;
    int rc = wn_container_read(path, WN_KIND_STATE, &c, e);
    if (rc) return rc;
    rc = parse_records(&c, path, s, e);
    wn_container_free(&c);
    if (!rc) rc = state_check(s, path, WN_EINPUT, e);
    if (rc) wn_train_state_free(s);
    return rc;
}

void wn_train_state_free(wn_train_state *s) {
    if (!s) return;
    free(s->config_hash);
    wn_tensors_free(s->tensors, s->n_tensors);
    memset(s, 0, sizeof *s);
}
