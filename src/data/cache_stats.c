/* cache_stats.c - per-channel mean and population standard deviation of the cached pixels scaled
 * to [0, 1], from exact per-channel histograms, finished in double. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "wn_data.h"

void wn_cache_stats(const wn_cache *cache, float *mean, float *std) {
    int c = cache->c;
    size_t plane = (size_t)cache->h * (size_t)cache->w;
    uint64_t *hist = wn_xcalloc((size_t)(c > 0 ? c : 1) * 256, sizeof(uint64_t)); /* (C, 256) */
    for (int i = 0; i < cache->n; i++)
        for (int ch = 0; ch < c; ch++) {
            const uint8_t *p = cache->pix + ((size_t)i * c + ch) * plane; /* (H, W) */
            uint64_t *h = hist + (size_t)ch * 256;
            for (size_t k = 0; k < plane; k++) h[p[k]]++;
        }
    for (int ch = 0; ch < c; ch++) {
        const uint64_t *h = hist + (size_t)ch * 256;
        double count = 0, sum = 0;
        for (int v = 0; v < 256; v++) {
            count += (double)h[v];
            sum += (double)h[v] * (v / 255.0);
        }
        if (count == 0) {
            mean[ch] = 0;
            std[ch] = 1;
            continue;
        }
        double m = sum / count, var = 0;
        for (int v = 0; v < 256; v++) {
            double d = v / 255.0 - m;
            var += (double)h[v] * d * d;
        }
        mean[ch] = (float)m;
        std[ch] = (float)sqrt(var / count);
    }
    free(hist);
}
