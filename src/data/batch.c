/* batch.c - minibatch assembly from the decoded cache: normalisation ((pix/255 - mean)/std per
 * channel, through a 256-entry table per channel) with optional random crop of the zero-padded
 * photo, random horizontal flip, random rotation and zoom (batch_warp.c) and Cutout (a square set
 * to 0 after normalisation). Per photo the draws are, in this order: dy, dx (when crop_pad > 0),
 * the flip (when flip), the angle (when rotate > 0), the zoom (when zoom > 0), then the square's
 * centre row and column (when cutout > 0), so runs are reproducible from the rng state (and runs
 * without rotation, zoom or Cutout draw exactly as they did before these existed). */
#include <assert.h>
#include <stdlib.h>

#include "data_internal.h"

/* dst (C, H, W) = the photo src (C, H, W) through the tables lut (C, 256), shifted by the crop
 * offset (dy, dx) of the zero-padded photo and mirrored when flip. Output (r, q) reads padded
 * (r + dy, q' + dx), i.e. photo (r + dy - pad, q' + dx - pad), with q' = W-1-q when flipped;
 * outside the photo it reads a zero pixel. */
static void place(float *dst, const uint8_t *src, const float *lut, int C, int H, int W, int pad,
                  int dy, int dx, int flip) {
    size_t plane = (size_t)H * W;
    for (int c = 0; c < C; c++) {
        const float *l = lut + c * 256;
        const uint8_t *sp = src + c * plane;
        float *dp = dst + c * plane;
        if (!pad && !flip) {
            for (size_t k = 0; k < plane; k++) dp[k] = l[sp[k]];
            continue;
        }
        for (int r = 0; r < H; r++) {
            int sr = r + dy - pad;
            if (sr < 0 || sr >= H) {
                for (int q = 0; q < W; q++) dp[(size_t)r * W + q] = l[0];
                continue;
            }
            for (int q = 0; q < W; q++) {
                int sq = (flip ? W - 1 - q : q) + dx - pad;
                dp[(size_t)r * W + q] = (sq >= 0 && sq < W) ? l[sp[(size_t)sr * W + sq]] : l[0];
            }
        }
    }
}

/* Sets the size x size square whose centre is (cy, cx) (rows cy - size/2 .. cy - size/2 + size - 1,
 * clipped to the photo) to 0 in every channel of x (C, H, W). */
static void cutout_square(float *x, int C, int H, int W, int size, int cy, int cx) {
    int r0 = cy - size / 2, q0 = cx - size / 2;
    int r1 = r0 + size, q1 = q0 + size;
    if (r0 < 0) r0 = 0;
    if (q0 < 0) q0 = 0;
    if (r1 > H) r1 = H;
    if (q1 > W) q1 = W;
    for (int c = 0; c < C; c++)
        for (int r = r0; r < r1; r++)
            for (int q = q0; q < q1; q++) x[((size_t)c * H + r) * W + q] = 0.0f;
}

void wn_batch_table(int C, const float *mean, const float *std, float *lut) {
    for (int c = 0; c < C; c++) {
        float s = std[c] > 0 ? std[c] : 1.0f;
        for (int v = 0; v < 256; v++) lut[c * 256 + v] = ((float)v / 255.0f - mean[c]) / s;
    }
}

void wn_batch_fill(const wn_cache *cache, const int *ids, int count, const float *mean,
                   const float *std, const wn_augment *aug, wn_rng *rng, float *x, int32_t *y) {
    int C = cache->c, H = cache->h, W = cache->w;
    size_t per = (size_t)C * H * W;
    float *lut = wn_xmalloc((size_t)(C > 0 ? C : 1) * 256 * sizeof(float)); /* (C, 256) */
    wn_batch_table(C, mean, std, lut);
    int pad = aug && aug->crop_pad > 0 ? aug->crop_pad : 0;
    int flip_on = aug && aug->flip;
    int cut = aug && aug->cutout > 0 ? aug->cutout : 0;
    double rot = aug && aug->rotate > 0 ? aug->rotate : 0, zr = aug && aug->zoom > 0 ? aug->zoom : 0;
    assert(!(pad || flip_on || cut || rot > 0 || zr > 0) || rng);
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
        if (rot > 0 || zr > 0) {
            double angle = rot > 0 ? (2.0 * wn_rng_uniform(rng) - 1.0) * rot : 0.0;
            double zoom = zr > 0 ? 1.0 + (2.0 * wn_rng_uniform(rng) - 1.0) * zr : 1.0;
            wn_batch_warp(dst, src, mean, std, C, H, W, pad, dy, dx, flip, angle, zoom);
        } else {
            place(dst, src, lut, C, H, W, pad, dy, dx, flip);
        }
        if (cut) {
            int cy = (int)wn_rng_below(rng, (uint32_t)H);
            int cx = (int)wn_rng_below(rng, (uint32_t)W);
            cutout_square(dst, C, H, W, cut, cy, cx);
        }
    }
    free(lut);
}
