/* image_decode.c - the front of wn_image.h: sniffs the format from magic bytes, dispatches to
 * the JPEG or PNG decoder, reads files, loads straight into planar CHW, frees images, and holds
 * the header dimension check shared by both decoders. */
#include <stdlib.h>
#include <string.h>

#include "image_internal.h"

int wn_image_format(const uint8_t *buf, size_t len) {
    static const uint8_t png_sig[8] = {0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A};
    if (!buf) return WN_FMT_UNKNOWN;
    if (len >= 3 && buf[0] == 0xFF && buf[1] == 0xD8 && buf[2] == 0xFF) return WN_FMT_JPEG;
    if (len >= 8 && memcmp(buf, png_sig, 8) == 0) return WN_FMT_PNG;
    return WN_FMT_UNKNOWN;
}

int wn_image_check_dims(const char *name, const char *fmt, unsigned long w, unsigned long h,
                        wn_err *e) {
    if (w == 0 || h == 0)
        return wn_err_set(e, WN_EINPUT, "%s: corrupt %s: image of %lu x %lu pixels", name, fmt, w,
                          h);
    if (w > WN_IMAGE_MAX_SIDE || h > WN_IMAGE_MAX_SIDE ||
        (unsigned long long)w * h > (unsigned long long)WN_IMAGE_MAX_PIXELS)
        return wn_err_set(e, WN_EINPUT,
                          "%s: %s of %lu x %lu pixels is too large (limits: %d pixels a side, "
                          "%u pixels in all)",
                          name, fmt, w, h, WN_IMAGE_MAX_SIDE, WN_IMAGE_MAX_PIXELS);
    return WN_OK;
}

int wn_image_decode(const uint8_t *buf, size_t len, const char *name, int want_c, int hint_w,
                    int hint_h, wn_image *out, wn_err *e) {
    memset(out, 0, sizeof *out);
    if (!name) name = "(memory)";
    if (want_c != 1 && want_c != 3)
        return wn_err_set(e, WN_EINPUT, "%s: cannot decode to %d channels (1 or 3)", name, want_c);
    if (!buf || len == 0) return wn_err_set(e, WN_EINPUT, "%s: empty file", name);
    if (len > WN_IMAGE_MAX_FILE_BYTES)
        return wn_err_set(e, WN_EINPUT, "%s: file of %zu bytes is over the limit of %zu bytes",
                          name, len, WN_IMAGE_MAX_FILE_BYTES);
    switch (wn_image_format(buf, len)) {
    case WN_FMT_JPEG: return wn_jpeg_decode(buf, len, name, want_c, hint_w, hint_h, out, e);
    case WN_FMT_PNG: return wn_png_decode(buf, len, name, want_c, out, e);
    default: return wn_err_set(e, WN_EINPUT, "%s: not a JPEG or PNG file", name);
    }
}

int wn_image_load(const char *path, int want_c, int hint_w, int hint_h, wn_image *out, wn_err *e) {
    memset(out, 0, sizeof *out);
    unsigned char *buf = NULL;
    size_t len = 0;
    int rc = wn_read_file(path, WN_IMAGE_MAX_FILE_BYTES, &buf, &len, e);
    if (rc) return rc;
    rc = wn_image_decode(buf, len, path, want_c, hint_w, hint_h, out, e);
    free(buf);
    return rc;
}

int wn_image_load_chw(const char *path, int want_c, int w, int h, uint8_t *chw, wn_err *e) {
    unsigned char *buf = NULL;
    size_t len = 0;
    int rc = wn_read_file(path, WN_IMAGE_MAX_FILE_BYTES, &buf, &len, e);
    if (rc) return rc;
    rc = wn_image_decode_chw(buf, len, path, want_c, w, h, chw, e);
    free(buf);
    return rc;
}

void wn_image_free(wn_image *img) {
    if (!img) return;
    free(img->pix);
    memset(img, 0, sizeof *img);
}
