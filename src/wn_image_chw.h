/* wn_image_chw.h - decoding an in-memory photo straight to the planar (C, H, W) uint8 input of a
 * network: the same steps as wn_image_load_chw (DCT-scaled decode to at least w x h, resize of
 * the whole photo, planar copy), for callers that read the file once and feed several inputs
 * (weldnet classify with models of different input sizes). */
#ifndef WN_IMAGE_CHW_H
#define WN_IMAGE_CHW_H

#include <stddef.h>
#include <stdint.h>

#include "wn_err.h"

/* Decodes buf (a whole JPEG or PNG file, len bytes) to want_c channels, resizes to exactly
 * w x h and writes (C, H, W) into chw (caller-owned, want_c*h*w bytes). name is used in
 * messages. Errors as wn_image_decode. */
int wn_image_decode_chw(const uint8_t *buf, size_t len, const char *name, int want_c, int w, int h,
                        uint8_t *chw /* (C, H, W) */, wn_err *e);

#endif
