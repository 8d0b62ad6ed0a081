/* wn_image.h - photo decoding (JPEG via libjpeg-turbo, PNG via libpng), resizing and PNG
 * writing. Formats are recognised by content (magic bytes), not by file extension. Every decoder
 * error (corrupt, truncated, zero-byte, not an image, absurd dimensions) becomes a status and a
 * message naming the file and what is wrong; nothing longjmps out of this module. */
#ifndef WN_IMAGE_H
#define WN_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#include "wn_err.h"

/* Photos with a side over WN_IMAGE_MAX_SIDE or more than WN_IMAGE_MAX_PIXELS pixels are refused
 * from the header, before any pixel buffer is allocated. */
#define WN_IMAGE_MAX_SIDE 65500
#define WN_IMAGE_MAX_PIXELS (200u * 1000u * 1000u)
/* Files over this size are refused before reading. */
#define WN_IMAGE_MAX_FILE_BYTES ((size_t)512 << 20)

enum { WN_FMT_UNKNOWN = 0, WN_FMT_JPEG = 1, WN_FMT_PNG = 2 };

typedef struct wn_image {
    int w, h, c;  /* c = 1 (grey) or 3 (RGB) */
    uint8_t *pix; /* (H, W, C) interleaved, malloc'ed, owned by the image */
} wn_image;

/* Sniffs the format from the first bytes. */
int wn_image_format(const uint8_t *buf, size_t len);

/* Decodes an in-memory JPEG or PNG to want_c channels (1: grey by luma, 3: RGB; grey photos are
 * replicated, alpha is dropped, palette and 16-bit PNGs expanded, CMYK/YCCK JPEGs converted).
 * When hint_w/hint_h > 0 a JPEG is decoded with libjpeg-turbo DCT-domain scaling (1/2, 1/4,
 * 1/8) to the smallest scale that is still at least hint_w x hint_h. name is used in messages. */
int wn_image_decode(const uint8_t *buf, size_t len, const char *name, int want_c, int hint_w,
                    int hint_h, wn_image *out, wn_err *e);

/* Reads and decodes a file (wn_image_decode on its contents). */
int wn_image_load(const char *path, int want_c, int hint_w, int hint_h, wn_image *out, wn_err *e);

/* Resizes src to w x h (same channels): area averaging when shrinking, bilinear when
 * enlarging. dst->pix is newly allocated. */
void wn_image_resize(const wn_image *src, int w, int h, wn_image *dst);

/* Loads, then resizes to exactly w x h with want_c channels, and writes planar (C, H, W) uint8
 * into chw (caller-owned, want_c*h*w bytes). The whole photo is resized (no crop). */
int wn_image_load_chw(const char *path, int want_c, int w, int h, uint8_t *chw, wn_err *e);
/* The same from an in-memory photo (a whole JPEG or PNG file, len bytes), for callers that read
 * a file once and feed several inputs (classify with models of different input sizes). name is
 * used in messages. */
int wn_image_decode_chw(const uint8_t *buf, size_t len, const char *name, int want_c, int w, int h,
                        uint8_t *chw /* (C, H, W) */, wn_err *e);

/* Writes an 8-bit grey (c=1), RGB (c=3) or RGBA (c=4) PNG from (H, W, C) pixels. */
int wn_png_write(const char *path, int w, int h, int c, const uint8_t *pix, wn_err *e);

void wn_image_free(wn_image *img);

#endif
