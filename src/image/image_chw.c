/* image_chw.c - wn_image_decode_chw: an in-memory photo to the planar (C, H, W) input of a
 * network (decode with a DCT-scaling hint of w x h, resize the whole photo, planar copy);
 * wn_image_load_chw reads a file and calls it. */
#include <string.h>

#include "wn_image.h"

int wn_image_decode_chw(const uint8_t *buf, size_t len, const char *name, int want_c, int w, int h,
                        uint8_t *chw /* (C, H, W) */, wn_err *e) {
    if (w <= 0 || h <= 0 || w > WN_IMAGE_MAX_SIDE || h > WN_IMAGE_MAX_SIDE)
        return wn_err_set(e, WN_EINPUT, "%s: cannot load to a size of %d x %d", name, w, h);
    wn_image img;
    int rc = wn_image_decode(buf, len, name, want_c, w, h, &img, e);
    if (rc) return rc;
    if (img.w != w || img.h != h) {
        wn_image sized;
        wn_image_resize(&img, w, h, &sized);
        wn_image_free(&img);
        img = sized;
    }
    const size_t plane = (size_t)w * (size_t)h;
    const int c = img.c;
    for (int k = 0; k < c; k++) {
        const uint8_t *src = img.pix + k; /* (H, W, C) */
        uint8_t *dst = chw + (size_t)k * plane;
        for (size_t i = 0; i < plane; i++) dst[i] = src[i * (size_t)c];
    }
    wn_image_free(&img);
    return WN_OK;
}
