/* model_internal.h - declarations shared by the files of src/model/ only: the tagged-record
 * container (little-endian byte packing, CRC-32, atomic PATH.tmp + rename writer, checked whole-file
 * reader), a bounds-checked cursor for decoding one record, the 'TENS' record codec and the checks
 * on names and tensors shared by the model and the training state. Not part of the library's
 * interface; the byte layout is documented in docs/MODEL_FORMAT.md. */
#ifndef WN_MODEL_INTERNAL_H
#define WN_MODEL_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "wn_model.h"

#define WN_MAGIC_MODEL "WNETMODL"
#define WN_MAGIC_STATE "WNETSTAT"
#define WN_CONTAINER_HEADER 24 /* magic 8, version 4, record count 4, payload length 8 */
#define WN_CONTAINER_MIN 28    /* header + CRC-32 */
#define WN_RECORD_HEADER 12    /* tag 4, length 8 */
#define WN_FILE_MAX_BYTES ((uint64_t)4 << 30) /* whole file, both kinds */
#define WN_MAX_CLASSES 1000
#define WN_MAX_INPUT_SIDE 100000

/* Record tags with a meaning in this version (file byte order: the four characters in order). */
#define WN_TAG_NETI WN_TAG('N', 'E', 'T', 'I')
#define WN_TAG_CLAS WN_TAG('C', 'L', 'A', 'S')
#define WN_TAG_INPT WN_TAG('I', 'N', 'P', 'T')
#define WN_TAG_META WN_TAG('M', 'E', 'T', 'A')
#define WN_TAG_TENS WN_TAG('T', 'E', 'N', 'S')
#define WN_TAG_CALB WN_TAG('C', 'A', 'L', 'B')
#define WN_TAG_EPOC WN_TAG('E', 'P', 'O', 'C')
#define WN_TAG_STEP WN_TAG('S', 'T', 'E', 'P')
#define WN_TAG_RNGS WN_TAG('R', 'N', 'G', 'S')
#define WN_TAG_BEST WN_TAG('B', 'E', 'S', 'T')
#define WN_TAG_CFGH WN_TAG('C', 'F', 'G', 'H')

enum wn_file_kind { WN_KIND_MODEL, WN_KIND_STATE };

/* ---- container reader ------------------------------------------------------------------- */

typedef struct wn_crec {
    uint32_t tag;
    size_t off;          /* file offset of the record's header */
    size_t len;          /* bytes of content */
    const uint8_t *data; /* content, points into wn_container.buf */
} wn_crec;

typedef struct wn_container {
    uint8_t *buf;        /* the whole file, owned */
    size_t size;
    uint32_t version;
    int n_records;
    wn_crec *recs;       /* (n_records), owned */
} wn_container;

/* Reads PATH whole and checks magic (of `kind`), version, payload length, CRC-32 and every record
 * header against the remaining bytes. On failure c is left empty (nothing to free) and e says
 * "PATH: what is wrong" with WN_EINPUT. */
int wn_container_read(const char *path, int kind, wn_container *c, wn_err *e);
void wn_container_free(wn_container *c);

/* ---- container writer: every call after a failure is a no-op; wn_cw_finish reports ---- */

typedef struct wn_cwriter {
    FILE *f;
    const char *path;  /* the final path, named in messages */
    char *tmp;         /* PATH.tmp, owned */
    uint32_t crc;
    uint64_t written;  /* bytes written so far (header included) */
    uint64_t expect;   /* header + declared payload */
    int rc;
    wn_err *e;
} wn_cwriter;

/* Opens PATH.tmp and writes the header; payload = sum over records of 12 + content length. */
int wn_cw_open(wn_cwriter *w, const char *path, int kind, uint32_t n_records, uint64_t payload,
               wn_err *e);
void wn_cw_bytes(wn_cwriter *w, const void *p, size_t n);
void wn_cw_u32(wn_cwriter *w, uint32_t v);
void wn_cw_u64(wn_cwriter *w, uint64_t v);
void wn_cw_f32(wn_cwriter *w, float v);
void wn_cw_floats(wn_cwriter *w, const float *p, size_t n);
void wn_cw_record(wn_cwriter *w, uint32_t tag, uint64_t len);
/* Writes the CRC, flushes, fsyncs, closes and renames PATH.tmp over PATH; on any failure (here
 * or earlier) removes PATH.tmp, leaves PATH untouched and returns WN_ERUNTIME. Always releases w. */
int wn_cw_finish(wn_cwriter *w);

/* ---- record cursor: bounds-checked little-endian decoding with messages ------------------ */

typedef struct wn_cur {
    const uint8_t *p;
    size_t len, pos;
    size_t base;      /* file offset of p[0] */
    const char *path;
    char what[64];    /* "record 'CLAS' at byte 40" */
    wn_err *e;
} wn_cur;

void wn_cur_init(wn_cur *c, const wn_crec *r, const char *path, wn_err *e);
/* "PATH: truncated: FIELD in WHAT at byte B claims N bytes but only M remain" when short. */
int wn_cur_need(wn_cur *c, uint64_t n, const char *field);
int wn_cur_u32(wn_cur *c, const char *field, uint32_t *v);
int wn_cur_u64(wn_cur *c, const char *field, uint64_t *v);
int wn_cur_f32(wn_cur *c, const char *field, float *v);
/* A u32 length then that many bytes, returned NUL-terminated and owned. Refuses an empty string
 * when !allow_empty, and a newline or carriage return when !allow_newline; NUL always. */
int wn_cur_str(wn_cur *c, const char *field, int allow_empty, int allow_newline, char **out);
/* The rest of the record as text (NETI, META, CFGH), refusing NUL bytes. */
int wn_cur_text(wn_cur *c, const char *field, char **out);
/* Refuses bytes left over in the record. */
int wn_cur_end(wn_cur *c);
/* Sets "PATH: WHAT: message" with WN_EINPUT. */
int wn_cur_fail(wn_cur *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- shared pieces ---------------------------------------------------------------------- */

/* Little-endian packing. */
void wn_put_u32(uint8_t *p, uint32_t v);
void wn_put_u64(uint8_t *p, uint64_t v);
uint32_t wn_get_u32(const uint8_t *p);
uint64_t wn_get_u64(const uint8_t *p);

/* Four printable ASCII characters (0x20..0x7e)? */
int wn_tag_valid(uint32_t tag);
/* The tag as text: "CALB", or "0x..." when not printable. */
const char *wn_tag_text(uint32_t tag, char buf[16]);

/* Elements of a tensor whose shape passed wn_tensors_check. */
uint64_t wn_tensor_elems(const wn_named_tensor *t);
/* Content length of the tensor's 'TENS' record. */
uint64_t wn_tensor_record_len(const wn_named_tensor *t);
void wn_cw_tensor(wn_cwriter *w, const wn_named_tensor *t);
/* Decodes one 'TENS' record into t (zeroed first; freeable on failure). */
int wn_tensor_parse(wn_cur *c, wn_named_tensor *t);
/* Checks names (non-empty, one line, unique), ndim 1..4, dims > 0, size limit, data present.
 * ctx starts the message ("PATH" or "PATH: cannot save"); code is the status to set. */
int wn_tensors_check(const wn_named_tensor *t, int n, const char *ctx, int code, wn_err *e);
void wn_tensors_free(wn_named_tensor *t, int n);
/* Index of a name that repeats an earlier one, -1 when all differ (O(n log n)). */
int wn_names_repeat(char *const *names, int n);
/* Non-empty, no newline or carriage return? */
int wn_name_ok(const char *s);

#endif
