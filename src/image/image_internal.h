/* image_internal.h - what the files of src/image/ share privately: the two decoders behind
 * wn_image_decode, the dimension check both run on the header before allocating, and the
 * per-pixel channel conversions. Not part of the library's public contract. */
#ifndef WN_IMAGE_INTERNAL_H
#define WN_IMAGE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "wn_image.h"

/* Decoders: buf holds a whole file whose magic bytes were already recognised; want_c is 1 or 3.
 * On failure out is left empty and e says "name: what is wrong". */
int wn_jpeg_decode(const uint8_t *buf, size_t len, const char *name, int want_c, int hint_w,
                   int hint_h, wn_image *out, wn_err *e);
int wn_png_decode(const uint8_t *buf, size_t len, const char *name, int want_c, wn_image *out,
                  wn_err *e);

/* Refuses a w x h photo (as read from its header) over WN_IMAGE_MAX_SIDE per side or
 * WN_IMAGE_MAX_PIXELS in all, or with a zero side; fmt ("JPEG", "PNG") goes in the message. */
int wn_image_check_dims(const char *name, const char *fmt, unsigned long w, unsigned long h,
                        wn_err *e);

/* Grey value of an RGB pixel by the luma weights 0.299, 0.587, 0.114, rounded. */
static inline uint8_t wn_image_luma(unsigned r, unsigned g, unsigned b) {
    return (uint8_t)((299u * r + 587u * g + 114u * b + 500u) / 1000u);
}

#endif
