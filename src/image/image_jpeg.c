/* image_jpeg.c - JPEG decoding through libjpeg-turbo: an error manager whose setjmp/longjmp
 * stays inside this file, size limits checked on the header before anything is allocated,
 * DCT-domain downscaling to a size hint, grey/RGB output and manual CMYK/YCCK conversion.
 * Any corrupt-data warning (e.g. "Premature end of JPEG file") makes the photo an error. */
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
#include <jerror.h>

#include "image_internal.h"

/* Progressive JPEGs with absurd scan counts are a known way to burn CPU; libjpeg-turbo's
 * TurboJPEG API uses the same limit (TJFLAG_LIMITSCANS). */
#define JPEG_MAX_SCANS 500

typedef struct {
    struct jpeg_error_mgr pub; /* first: cinfo->err points here */
    jmp_buf jmp;
    char msg[JMSG_LENGTH_MAX];  /* the error that ended decoding */
    char warn[JMSG_LENGTH_MAX]; /* the first corrupt-data warning */
    int corrupt;                /* corrupt-data warnings seen */
} jpeg_errmgr;

/* Everything the decoding run touches lives here, outside the frame that calls setjmp, so
 * nothing is indeterminate after a longjmp. */
typedef struct {
    struct jpeg_decompress_struct cinfo;
    jpeg_errmgr err;
    struct jpeg_progress_mgr progress;
    int want_c, hint_w, hint_h;
    int cmyk, inverted; /* decoding through JCS_CMYK; Adobe-style inverted ink values */
    uint8_t *pix;       /* output (H, W, want_c), handed to the caller on success */
    uint8_t *row;       /* one CMYK row (W, 4) */
    unsigned long hdr_w, hdr_h;
} jpeg_job;

enum { RUN_OK = 0, RUN_LIBJPEG, RUN_CORRUPT, RUN_TOO_BIG, RUN_COLOR, RUN_NOMEM };

static void je_error_exit(j_common_ptr cinfo) {
    jpeg_errmgr *m = (jpeg_errmgr *)cinfo->err;
    cinfo->err->format_message(cinfo, m->msg);
    longjmp(m->jmp, 1);
}

static void je_output_message(j_common_ptr cinfo) {
    jpeg_errmgr *m = (jpeg_errmgr *)cinfo->err;
    cinfo->err->format_message(cinfo, m->msg);
}

/* Warnings (level < 0) that do not mean damaged image data; every other warning does. */
static int benign_warning(int code) {
    return code == JWRN_ADOBE_XFORM || code == JWRN_JFIF_MAJOR || code == JWRN_BOGUS_ICC;
}

static void je_emit_message(j_common_ptr cinfo, int level) {
    jpeg_errmgr *m = (jpeg_errmgr *)cinfo->err;
    if (level >= 0) return; /* trace messages */
    cinfo->err->num_warnings++;
    if (benign_warning(cinfo->err->msg_code)) return;
    if (m->corrupt++ == 0) cinfo->err->format_message(cinfo, m->warn);
}

static void je_progress(j_common_ptr cinfo) {
    if (!cinfo->is_decompressor) return;
    j_decompress_ptr d = (j_decompress_ptr)cinfo;
    if (d->input_scan_number > JPEG_MAX_SCANS) {
        jpeg_errmgr *m = (jpeg_errmgr *)cinfo->err;
        snprintf(m->msg, sizeof m->msg, "progressive JPEG with over %d scans", JPEG_MAX_SCANS);
        longjmp(m->jmp, 1);
    }
}

/* Largest denominator in {8, 4, 2, 1} whose scaled size still covers the hint in both sides
 * (libjpeg scales to ceil(side / denom)). */
static unsigned scale_denom_for(unsigned long w, unsigned long h, int hint_w, int hint_h) {
    if (hint_w <= 0 || hint_h <= 0) return 1;
    for (unsigned d = 8; d > 1; d /= 2)
        if ((w + d - 1) / d >= (unsigned long)hint_w && (h + d - 1) / d >= (unsigned long)hint_h)
            return d;
    return 1;
}

/* One CMYK row to RGB or grey. Adobe (Photoshop) CMYK stores inverted ink (255 = no ink), so
 * the channel is C*K/255; plain CMYK is (255-C)*(255-K)/255. */
static void cmyk_row(const uint8_t *src, uint8_t *dst, int w, int want_c, int inverted) {
    for (int x = 0; x < w; x++, src += 4) {
        unsigned c = src[0], m = src[1], y = src[2], k = src[3];
        if (!inverted) {
            c = 255 - c;
            m = 255 - m;
            y = 255 - y;
            k = 255 - k;
        }
        unsigned r = (c * k + 127) / 255, g = (m * k + 127) / 255, b = (y * k + 127) / 255;
        if (want_c == 3) {
            dst[0] = (uint8_t)r;
            dst[1] = (uint8_t)g;
            dst[2] = (uint8_t)b;
            dst += 3;
        } else {
            *dst++ = wn_image_luma(r, g, b);
        }
    }
}

static int jpeg_run(jpeg_job *j, const uint8_t *buf, size_t len) {
    j_decompress_ptr ci = &j->cinfo;
    if (setjmp(j->err.jmp)) return RUN_LIBJPEG;
    jpeg_create_decompress(ci);
    jpeg_mem_src(ci, buf, (unsigned long)len);
    jpeg_read_header(ci, TRUE);
    if (j->err.corrupt) return RUN_CORRUPT;
    j->hdr_w = ci->image_width;
    j->hdr_h = ci->image_height;
    if (wn_image_check_dims("", "", j->hdr_w, j->hdr_h, NULL)) return RUN_TOO_BIG;

    switch (ci->jpeg_color_space) {
    case JCS_GRAYSCALE:
    case JCS_YCbCr:
    case JCS_RGB: ci->out_color_space = j->want_c == 1 ? JCS_GRAYSCALE : JCS_RGB; break;
    case JCS_CMYK:
    case JCS_YCCK:
        ci->out_color_space = JCS_CMYK; /* libjpeg turns YCCK into CMYK */
        j->cmyk = 1;
        j->inverted = ci->saw_Adobe_marker;
        break;
    default: return RUN_COLOR;
    }
    ci->scale_num = 1;
    ci->scale_denom = scale_denom_for(j->hdr_w, j->hdr_h, j->hint_w, j->hint_h);
    ci->dct_method = JDCT_ISLOW;
    j->progress.progress_monitor = je_progress;
    ci->progress = &j->progress;

    jpeg_start_decompress(ci);
    const int w = (int)ci->output_width, h = (int)ci->output_height;
    if (ci->output_components != (j->cmyk ? 4 : j->want_c)) return RUN_COLOR;
    const size_t stride = (size_t)w * (size_t)j->want_c;
    j->pix = malloc(stride * (size_t)h);
    if (j->cmyk) j->row = malloc((size_t)w * 4);
    if (!j->pix || (j->cmyk && !j->row)) return RUN_NOMEM;

    while (ci->output_scanline < ci->output_height) {
        uint8_t *dst = j->pix + (size_t)ci->output_scanline * stride;
        if (j->cmyk) {
            JSAMPROW r = j->row;
            if (jpeg_read_scanlines(ci, &r, 1) != 1) return RUN_CORRUPT;
            cmyk_row(j->row, dst, w, j->want_c, j->inverted);
        } else {
            JSAMPROW rows[8];
            JDIMENSION n = ci->output_height - ci->output_scanline;
            if (n > 8) n = 8;
            for (JDIMENSION i = 0; i < n; i++) rows[i] = dst + i * stride;
            if (jpeg_read_scanlines(ci, rows, n) == 0) return RUN_CORRUPT;
        }
        if (j->err.corrupt) return RUN_CORRUPT;
    }
    jpeg_finish_decompress(ci);
    return j->err.corrupt ? RUN_CORRUPT : RUN_OK;
}

int wn_jpeg_decode(const uint8_t *buf, size_t len, const char *name, int want_c, int hint_w,
                   int hint_h, wn_image *out, wn_err *e) {
    memset(out, 0, sizeof *out);
    jpeg_job *j = calloc(1, sizeof *j);
    if (!j) return wn_err_set(e, WN_ERUNTIME, "%s: out of memory decoding JPEG", name);
    j->want_c = want_c;
    j->hint_w = hint_w;
    j->hint_h = hint_h;
    j->cinfo.err = jpeg_std_error(&j->err.pub);
    j->err.pub.error_exit = je_error_exit;
    j->err.pub.output_message = je_output_message;
    j->err.pub.emit_message = je_emit_message;

    int run = jpeg_run(j, buf, len);
    int rc = WN_OK;
    switch (run) {
    case RUN_OK:
        out->w = (int)j->cinfo.output_width;
        out->h = (int)j->cinfo.output_height;
        out->c = want_c;
        out->pix = j->pix;
        j->pix = NULL;
        break;
    case RUN_LIBJPEG:
        if (j->err.corrupt) /* e.g. the data ran out, then a marker was missing */
            rc = wn_err_set(e, WN_EINPUT, "%s: truncated or corrupt JPEG (%s; %s)", name,
                            j->err.warn, j->err.msg);
        else
            rc = wn_err_set(e, WN_EINPUT, "%s: corrupt JPEG: %s", name, j->err.msg);
        break;
    case RUN_CORRUPT:
        rc = wn_err_set(e, WN_EINPUT, "%s: truncated or corrupt JPEG (%s)", name,
                        j->err.warn[0] ? j->err.warn : "no image data");
        break;
    case RUN_TOO_BIG: rc = wn_image_check_dims(name, "JPEG", j->hdr_w, j->hdr_h, e); break;
    case RUN_COLOR:
        rc = wn_err_set(e, WN_EINPUT, "%s: unsupported JPEG colour space (%d components)", name,
                        j->cinfo.num_components);
        break;
    default: rc = wn_err_set(e, WN_ERUNTIME, "%s: out of memory decoding JPEG", name); break;
    }
    jpeg_destroy_decompress(&j->cinfo);
    free(j->pix);
    free(j->row);
    free(j);
    return rc;
}
