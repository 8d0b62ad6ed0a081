/* image_png.c - PNG decoding through libpng from memory: setjmp error handling kept inside this
 * file, size limits checked on the IHDR before any row is allocated, CRC errors treated as
 * errors, every colour type and bit depth expanded to 8-bit grey or RGB. Alpha (an alpha channel
 * or tRNS) is removed by compositing over black: out = colour * alpha / 255, rounded. */
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <png.h>

#include "image_internal.h"

/* Everything the decoding run touches lives here, outside the frame that calls setjmp, so
 * nothing is indeterminate after a longjmp. */
typedef struct {
    png_structp png;
    png_infop info;
    const uint8_t *buf;
    size_t len, pos;
    int want_c;
    int truncated;  /* the reader ran past the end of the buffer */
    char msg[256];  /* libpng's error message */
    uint8_t *pix;   /* output (H, W, want_c), handed to the caller on success */
    uint8_t *rows;  /* decoded rows in libpng's output layout: one row, or all when interlaced */
    png_bytep *ptrs; /* row pointers into rows (interlaced only) */
    png_uint_32 w, h;
} png_job;

enum { RUN_OK = 0, RUN_LIBPNG, RUN_TOO_BIG, RUN_NOMEM };

static void pr_read(png_structp png, png_bytep data, size_t n) {
    png_job *j = png_get_io_ptr(png);
    if (n > j->len - j->pos) {
        j->truncated = 1;
        png_error(png, "read past end of file");
    }
    memcpy(data, j->buf + j->pos, n);
    j->pos += n;
}

static void pr_error(png_structp png, png_const_charp msg) {
    png_job *j = png_get_error_ptr(png);
    snprintf(j->msg, sizeof j->msg, "%s", msg ? msg : "libpng error");
    png_longjmp(png, 1);
}

static void pr_warning(png_structp png, png_const_charp msg) {
    (void)png;
    (void)msg;
}

/* One decoded row of nc channels (1 grey, 2 grey+alpha, 3 RGB, 4 RGBA) to want_c channels. */
static void convert_row(const uint8_t *src, int nc, uint8_t *dst, png_uint_32 w, int want_c) {
    for (png_uint_32 x = 0; x < w; x++, src += nc) {
        unsigned r, g, b;
        if (nc <= 2) {
            r = g = b = src[0];
        } else {
            r = src[0];
            g = src[1];
            b = src[2];
        }
        if (nc == 2 || nc == 4) { /* composite over black */
            unsigned a = src[nc - 1];
            r = (r * a + 127) / 255;
            g = (g * a + 127) / 255;
            b = (b * a + 127) / 255;
        }
        if (want_c == 3) {
            dst[0] = (uint8_t)r;
            dst[1] = (uint8_t)g;
            dst[2] = (uint8_t)b;
            dst += 3;
        } else {
            *dst++ = nc <= 2 ? (uint8_t)r : wn_image_luma(r, g, b);
        }
    }
}

static int png_run(png_job *j) {
    if (setjmp(png_jmpbuf(j->png))) return RUN_LIBPNG;
    png_structp png = j->png;
    png_infop info = j->info;
    png_set_read_fn(png, j, pr_read);
    png_set_user_limits(png, WN_IMAGE_MAX_SIDE, WN_IMAGE_MAX_SIDE);
    png_set_crc_action(png, PNG_CRC_ERROR_QUIT, PNG_CRC_ERROR_QUIT);
    png_read_info(png, info);

    int depth, type, interlace;
    png_get_IHDR(png, info, &j->w, &j->h, &depth, &type, &interlace, NULL, NULL);
    if (wn_image_check_dims("", "", j->w, j->h, NULL)) return RUN_TOO_BIG;

    if (type == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
    if (type == PNG_COLOR_TYPE_GRAY && depth < 8) png_set_expand_gray_1_2_4_to_8(png);
    if (png_get_valid(png, info, PNG_INFO_tRNS)) png_set_tRNS_to_alpha(png);
    if (depth == 16) png_set_scale_16(png);
    int passes = png_set_interlace_handling(png);
    png_read_update_info(png, info);

    const int nc = png_get_channels(png, info);
    const size_t rowbytes = png_get_rowbytes(png, info);
    if (png_get_bit_depth(png, info) != 8 || nc < 1 || nc > 4 || rowbytes != (size_t)j->w * nc) {
        snprintf(j->msg, sizeof j->msg, "unexpected layout after expansion");
        return RUN_LIBPNG;
    }
    const size_t stride = (size_t)j->w * (size_t)j->want_c;
    j->pix = malloc(stride * j->h);
    if (!j->pix) return RUN_NOMEM;
    if (passes > 1) { /* interlaced: libpng needs every row at once */
        j->rows = malloc(rowbytes * j->h);
        j->ptrs = malloc(sizeof *j->ptrs * j->h);
        if (!j->rows || !j->ptrs) return RUN_NOMEM;
        for (png_uint_32 y = 0; y < j->h; y++) j->ptrs[y] = j->rows + y * rowbytes;
        png_read_image(png, j->ptrs);
        for (png_uint_32 y = 0; y < j->h; y++)
            convert_row(j->ptrs[y], nc, j->pix + y * stride, j->w, j->want_c);
    } else {
        j->rows = malloc(rowbytes);
        if (!j->rows) return RUN_NOMEM;
        for (png_uint_32 y = 0; y < j->h; y++) {
            png_read_row(png, j->rows, NULL);
            convert_row(j->rows, nc, j->pix + y * stride, j->w, j->want_c);
        }
    }
    png_read_end(png, NULL); /* checks the rest of the file: CRCs, IEND */
    return RUN_OK;
}

/* Reads the IHDR size straight from the bytes (it must be the first chunk), so that absurd
 * dimensions are refused with the numbers in the message before libpng sees them. */
static int png_precheck(const uint8_t *buf, size_t len, const char *name, wn_err *e) {
    if (len < 24 || memcmp(buf + 12, "IHDR", 4) != 0) return WN_OK; /* libpng will say */
    unsigned long w = ((unsigned long)buf[16] << 24) | ((unsigned long)buf[17] << 16) |
                      ((unsigned long)buf[18] << 8) | buf[19];
    unsigned long h = ((unsigned long)buf[20] << 24) | ((unsigned long)buf[21] << 16) |
                      ((unsigned long)buf[22] << 8) | buf[23];
    if (w == 0 || h == 0) return WN_OK; /* libpng's message for an invalid IHDR */
    return wn_image_check_dims(name, "PNG", w, h, e);
}

int wn_png_decode(const uint8_t *buf, size_t len, const char *name, int want_c, wn_image *out,
                  wn_err *e) {
    memset(out, 0, sizeof *out);
    int rc = png_precheck(buf, len, name, e);
    if (rc) return rc;
    png_job *j = calloc(1, sizeof *j);
    if (!j) return wn_err_set(e, WN_ERUNTIME, "%s: out of memory decoding PNG", name);
    j->buf = buf;
    j->len = len;
    j->want_c = want_c;
    j->png = png_create_read_struct(PNG_LIBPNG_VER_STRING, j, pr_error, pr_warning);
    j->info = j->png ? png_create_info_struct(j->png) : NULL;
    int run = (j->png && j->info) ? png_run(j) : RUN_NOMEM;
    switch (run) {
    case RUN_OK:
        out->w = (int)j->w;
        out->h = (int)j->h;
        out->c = want_c;
        out->pix = j->pix;
        j->pix = NULL;
        rc = WN_OK;
        break;
    case RUN_LIBPNG:
        if (j->truncated)
            rc = wn_err_set(e, WN_EINPUT, "%s: truncated PNG (read past end of file)", name);
        else
            rc = wn_err_set(e, WN_EINPUT, "%s: corrupt PNG: %s", name, j->msg);
        break;
    case RUN_TOO_BIG: rc = wn_image_check_dims(name, "PNG", j->w, j->h, e); break;
    default: rc = wn_err_set(e, WN_ERUNTIME, "%s: out of memory decoding PNG", name); break;
    }
    png_destroy_read_struct(&j->png, &j->info, NULL);
    free(j->pix);
    free(j->rows);
    free(j->ptrs);
    free(j);
    return rc;
}
