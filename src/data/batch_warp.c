/* batch_warp.c - the geometric augmentation of one training photo: random crop offset and
 * horizontal flip combined with a rotation and a zoom about the photo's centre, sampled
 * bilinearly (outside the photo the pixel is black, like the crop's zero padding), then
 * normalised ((v/255 - mean)/std per channel). With angle 0 and zoom 1 it gives exactly the
 * plain crop and flip of batch.c. */
#include <math.h>

#include "data_internal.h"

/* Pixel (r, q) of plane p (H, W) as a float, 0 outside the photo. */
static float px(const uint8_t *p, int H, int W, int r, int q) {
    return (r >= 0 && r < H && q >= 0 && q < W) ? (float)p[(size_t)r * W + q] : 0.0f;
}

void wn_batch_warp(float *dst, const uint8_t *src, const float *mean, const float *std, int C,
                   int H, int W, int pad, int dy, int dx, int flip, double angle_deg,
                   double zoom) {
    const double pi = 3.14159265358979323846;
    double a = angle_deg * pi / 180.0;
    double cs = cos(a) / zoom, sn = sin(a) / zoom;
    double cy = (H - 1) * 0.5, cx = (W - 1) * 0.5;
    size_t plane = (size_t)H * W;
    for (int c = 0; c < C; c++) {
        const uint8_t *sp = src + c * plane; /* (H, W) */
        float *dp = dst + c * plane;         /* (H, W) */
        float m = mean[c], s = std[c] > 0 ? std[c] : 1.0f;
        for (int r = 0; r < H; r++) {
            double u = r - cy;
            for (int q = 0; q < W; q++) {
                double v = (flip ? W - 1 - q : q) - cx;
                /* source position: the inverse rotation and zoom about the centre, then the
                 * crop offset; exactly integral when angle = 0 and zoom = 1 */
                double sr = cy + cs * u + sn * v + (dy - pad);
                double sq = cx - sn * u + cs * v + (dx - pad);
                double fr = floor(sr), fq = floor(sq);
                int r0 = (int)fr, q0 = (int)fq;
                float wr = (float)(sr - fr), wq = (float)(sq - fq);
                float top = px(sp, H, W, r0, q0), bot = px(sp, H, W, r0 + 1, q0);
                if (wq != 0.0f) {
                    top += wq * (px(sp, H, W, r0, q0 + 1) - top);
                    bot += wq * (px(sp, H, W, r0 + 1, q0 + 1) - bot);
                }
                float val = wr != 0.0f ? top + wr * (bot - top) : top;
                dp[(size_t)r * W + q] = (val / 255.0f - m) / s;
            }
        }
    }
}
