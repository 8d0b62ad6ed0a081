/* test_photos.h - photo fixtures in memory for the tests: a growable byte buffer, a PNG of any
 * libpng colour type, depth, palette, transparency and interlacing from given rows, and a JPEG of
 * any input and stored colour space (grey, RGB, CMYK, YCCK), baseline or progressive. Used by
 * test_image.c (the decoders) and test_deploy_util.h (photo folders for classify). */
#ifndef WN_TEST_PHOTOS_H
#define WN_TEST_PHOTOS_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
#include <png.h>

typedef struct {
    uint8_t *p;
    size_t n, cap;
} tp_buf;

static inline void tp_put(tp_buf *b, const void *d, size_t n) {
    if (b->n + n > b->cap) {
        b->cap = (b->n + n) * 2;
        b->p = realloc(b->p, b->cap);
        if (!b->p) abort();
    }
    memcpy(b->p + b->n, d, n);
    b->n += n;
}

static inline void tp_png_write_fn(png_structp png, png_bytep d, size_t n) {
    tp_put(png_get_io_ptr(png), d, n);
}
static inline void tp_png_flush_fn(png_structp png) { (void)png; }

/* A PNG in memory; data holds h rows of stride bytes in libpng's packed layout (16-bit samples
 * big-endian, sub-byte samples packed MSB first). */
static inline tp_buf tp_png(int w, int h, int type, int depth, const uint8_t *data, size_t stride,
                            const png_color *pal, int npal, const png_byte *trans, int ntrans,
                            const png_color_16 *trans_col, int interlace) {
    tp_buf b = {0};
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(png);
    if (setjmp(png_jmpbuf(png))) {
        fprintf(stderr, "fixture PNG failed\n");
        abort();
    }
    png_set_write_fn(png, &b, tp_png_write_fn, tp_png_flush_fn);
    png_set_IHDR(png, info, (png_uint_32)w, (png_uint_32)h, depth, type,
                 interlace ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
                 PNG_FILTER_TYPE_DEFAULT);
    if (pal) png_set_PLTE(png, info, pal, npal);
    if (trans || trans_col) png_set_tRNS(png, info, trans, ntrans, trans_col);
    png_write_info(png, info);
    png_bytep *rows = malloc(sizeof *rows * (size_t)h);
    for (int y = 0; y < h; y++) rows[y] = (png_bytep)(data + (size_t)y * stride);
    png_write_image(png, rows);
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    free(rows);
    return b;
}

/* A JPEG in memory from (H, W, comps) pixels in in_cs, stored as jpeg_cs (JCS_UNKNOWN: the
 * default for in_cs); progressive when asked. */
static inline tp_buf tp_jpeg(int w, int h, int comps, J_COLOR_SPACE in_cs, const uint8_t *pix,
                             int quality, int progressive, J_COLOR_SPACE jpeg_cs) {
    struct jpeg_compress_struct c;
    struct jpeg_error_mgr jerr;
    c.err = jpeg_std_error(&jerr);
    jpeg_create_compress(&c);
    unsigned char *out = NULL;
    unsigned long outlen = 0;
    jpeg_mem_dest(&c, &out, &outlen);
    c.image_width = (JDIMENSION)w;
    c.image_height = (JDIMENSION)h;
    c.input_components = comps;
    c.in_color_space = in_cs;
    jpeg_set_defaults(&c);
    if (jpeg_cs != JCS_UNKNOWN) jpeg_set_colorspace(&c, jpeg_cs);
    jpeg_set_quality(&c, quality, TRUE);
    if (progressive) jpeg_simple_progression(&c);
    jpeg_start_compress(&c, TRUE);
    while (c.next_scanline < c.image_height) {
        JSAMPROW r = (JSAMPROW)(pix + (size_t)c.next_scanline * w * comps);
        jpeg_write_scanlines(&c, &r, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    tp_buf b = {0};
    tp_put(&b, out, outlen);
    free(out);
    return b;
}

#endif
