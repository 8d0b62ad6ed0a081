/* png_write.c - wn_png_write: writes an 8-bit grey, RGB or RGBA PNG through libpng with every
 * write checked (a failed fwrite or close, e.g. a full disk, is an error naming the path). */
#include <errno.h>
#include <png.h>
#include <stdio.h>
#include <string.h>

#include "wn_image.h"

typedef struct {
    FILE *f;
    int write_errno; /* errno of the first failed fwrite, 0 when none failed */
    char msg[256];   /* libpng's error message */
} png_wctx;

static void pw_write(png_structp png, png_bytep data, size_t n) {
    png_wctx *c = png_get_io_ptr(png);
    if (fwrite(data, 1, n, c->f) != n) {
        c->write_errno = errno ? errno : EIO;
        png_error(png, "write failed");
    }
}

static void pw_flush(png_structp png) { (void)png; } /* wn_fclose flushes and checks */

static void pw_error(png_structp png, png_const_charp msg) {
    png_wctx *c = png_get_error_ptr(png);
    snprintf(c->msg, sizeof c->msg, "%s", msg ? msg : "libpng error");
    png_longjmp(png, 1);
}

static void pw_warning(png_structp png, png_const_charp msg) {
    (void)png;
    (void)msg;
}

int wn_png_write(const char *path, int w, int h, int c, const uint8_t *pix, wn_err *e) {
    if (w <= 0 || h <= 0 || w > WN_IMAGE_MAX_SIDE || h > WN_IMAGE_MAX_SIDE || !pix ||
        (c != 1 && c != 3 && c != 4))
        return wn_err_set(e, WN_EINPUT, "%s: cannot write PNG of %d x %d x %d", path, w, h, c);
    png_wctx ctx = {0};
    FILE *f = wn_fopen(path, "wb", e);
    if (!f) return WN_ERUNTIME;
    ctx.f = f;
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &ctx, pw_error, pw_warning);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!png || !info) {
        png_destroy_write_struct(&png, &info);
        fclose(f);
        return wn_err_set(e, WN_ERUNTIME, "%s: cannot write PNG: out of memory", path);
    }
    /* png, info and f are not modified after setjmp, so they need not be volatile. */
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        fclose(f);
        if (ctx.write_errno)
            return wn_err_set(e, WN_ERUNTIME, "%s: write failed: %s", path,
                              strerror(ctx.write_errno));
        return wn_err_set(e, WN_ERUNTIME, "%s: cannot write PNG: %s", path, ctx.msg);
    }
    png_set_write_fn(png, &ctx, pw_write, pw_flush);
    int type = c == 1 ? PNG_COLOR_TYPE_GRAY : c == 3 ? PNG_COLOR_TYPE_RGB : PNG_COLOR_TYPE_RGBA;
    png_set_IHDR(png, info, (png_uint_32)w, (png_uint_32)h, 8, type, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    size_t stride = (size_t)w * (size_t)c;
    for (int y = 0; y < h; y++) png_write_row(png, (png_const_bytep)(pix + (size_t)y * stride));
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    return wn_fclose(f, path, e);
}
