/* batch.c - minibatch assembly from the decoded cache: normalisation ((pix/255 - mean)/std per
 * channel, through a 256-entry table per channel) with optional random crop of the zero-padded
 * photo and random horizontal flip. Per photo the draws are, in this order: dy, dx (when
 * crop_pad > 0), then the flip (when flip), so runs are reproducible from the rng state. */
#include <assert.h>
#include <stdlib.h>

#include "wn_data.h"

void wn_batch_fill(const wn_cache *cache, const int *ids, int count, const float *mean,
                   const float *std, const wn_augment *aug, wn_rng *rng, float *x, int32_t *y) {
    int C = cache->c, H = cache->h, W = cache->w;
    size_t plane = (size_t)H * W, per = (size_t)C * plane;
    float *lut = wn_xmalloc((size_t)(C > 0 ? C : 1) * 256 * sizeof(float)); /* (C, 256) */
    for (int c = 0; c < C; c++) {
        float s = std[c] > 0 ? std[c] : 1.0f;
        for (int v = 0; v < 256; v++) lut[c * 256 + v] = ((float)v / 255.0f - mean[c]) / s;
    }
    int pad = aug && aug->crop_pad > 0 ? aug->crop_pad : 0;
    int flip_on = aug && aug->flip;
    assert(!(pad || flip_on) || rng);
    for (int i = 0; i < count; i++) {
        int id = ids[i];
        assert(id >= 0 && id < cache->n);
        const uint8_t *src = cache->pix + (size_t)id * per; /* (C, H, W) */
        float *dst = x + (size_t)i * per;                   /* (C, H, W) */
        if (y) y[i] = cache->labels[id];
        int dy = pad, dx = pad, flip = 0;
        if (pad) {
            dy = (int)wn_rng_below(rng, (uint32_t)(2 * pad + 1));
            dx = (int)wn_rng_below(rng, (uint32_t)(2 * pad + 1));
        }
        if (flip_on) flip = (int)(wn_rng_u32(rng) >> 31);
        if (!pad && !flip) {
            for (int c = 0; c < C; c++) {
                const float *l = lut + c * 256;
                for (size_t k = 0; k < plane; k++) dst[c * plane + k] = l[src[c * plane + k]];
            }
            continue;
        }
        /* output (r, q) reads padded (r + dy, q' + dx), i.e. photo (r + dy - pad, q' + dx - pad),
         * with q' = W-1-q when flipped; outside the photo it reads a zero pixel */
        for (int c = 0; c < C; c++) {
            const float *l = lut + c * 256;
            const uint8_t *sp = src + c * plane;
            float *dp = dst + c * plane;
            for (int r = 0; r < H; r++) {
                int sr = r + dy - pad;
                if (sr < 0 || sr >= H) {
                    for (int q = 0; q < W; q++) dp[(size_t)r * W + q] = l[0];
                    continue;
                }
                for (int q = 0; q < W; q++) {
                    int sq = (flip ? W - 1 - q : q) + dx - pad;
                    dp[(size_t)r * W + q] = (sr >= 0 && sr < H && sq >= 0 && sq < W)
                                                ? l[sp[(size_t)sr * W + sq]]
                                                : l[0];
                }
            }
        }
    }
    free(lut);
}
