/* gpu_bf16.cu - the conversions of the bf16 mixed precision (opts.bf16): fp32 to bf16 (round to
 * nearest even, src/wn_bf16.h, the host's definition) for the inputs of convolutions and dense
 * products, and bf16 to fp32 for cuDNN's bf16 outputs, with the convolution bias added in fp32 on
 * the way (one pass instead of a conversion and a cudnnAddTensor). Flat grid-stride kernels, and
 * for opts.nhwc the same conversions fused with the layout change NCHW <-> NHWC (a transpose of
 * each photo's (C, HW) matrix through 32x32 tiles in shared memory, so that reads and writes
 * are both coalesced). */
#include "gpu_ctx.h"
#include "wn_bf16.h"

__global__ void k_to_bf16(size_t n, const float *x, uint16_t *y) { // x, y (n)
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n;
         i += (size_t)gridDim.x * blockDim.x)
        y[i] = wn_bf16_from_float(x[i]);
}

/* y = float(x) + (b ? b[i / hw % C] : 0); x, y (n) = (N, C, hw), b (C) or NULL */
__global__ void k_from_bf16(size_t n, size_t hw, int C, const uint16_t *x, const float *b,
                            float *y) {
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n;
         i += (size_t)gridDim.x * blockDim.x) {
        float v = wn_bf16_to_float(x[i]);
        y[i] = b ? __fadd_rn(v, b[i / hw % (size_t)C]) : v;
    }
}

enum { TILE = 32, ROWS = WN_GPU_BLOCK / TILE }; /* a block of 256 threads: 32 x 8 */

/* y (N, HW, C) = bf16 of x (N, C, HW); grid (HW tiles, C tiles, photos: see tiles()) */
__global__ void k_to_bf16_nhwc(int N, int C, int HW, const float *x, uint16_t *y) {
    __shared__ float tile[TILE][TILE + 1];
    const int tx = threadIdx.x % TILE, ty = threadIdx.x / TILE;
    const int p0 = blockIdx.x * TILE, c0 = blockIdx.y * TILE;
    for (int n = blockIdx.z; n < N; n += gridDim.z) {
        for (int j = ty; j < TILE; j += ROWS) {
            int ch = c0 + j, p = p0 + tx;
            if (ch < C && p < HW) tile[j][tx] = x[((size_t)n * C + ch) * HW + p];
        }
        __syncthreads();
        for (int j = ty; j < TILE; j += ROWS) {
            int p = p0 + j, ch = c0 + tx;
            if (p < HW && ch < C) y[((size_t)n * HW + p) * C + ch] = wn_bf16_from_float(tile[tx][j]);
        }
        __syncthreads();
    }
}

/* y (N, C, HW) = float(x (N, HW, C)) + (b ? b[c] : 0); grid as k_to_bf16_nhwc */
__global__ void k_from_bf16_nhwc(int N, int C, int HW, const uint16_t *x, const float *b,
                                 float *y) {
    __shared__ float tile[TILE][TILE + 1];
    const int tx = threadIdx.x % TILE, ty = threadIdx.x / TILE;
    const int p0 = blockIdx.x * TILE, c0 = blockIdx.y * TILE;
    for (int n = blockIdx.z; n < N; n += gridDim.z) {
        for (int j = ty; j < TILE; j += ROWS) {
            int p = p0 + j, ch = c0 + tx;
            if (p < HW && ch < C) tile[j][tx] = wn_bf16_to_float(x[((size_t)n * HW + p) * C + ch]);
        }
        __syncthreads();
        for (int j = ty; j < TILE; j += ROWS) {
            int ch = c0 + j, p = p0 + tx;
            if (ch < C && p < HW) {
                float v = tile[tx][j];
                y[((size_t)n * C + ch) * HW + p] = b ? __fadd_rn(v, b[ch]) : v;
            }
        }
        __syncthreads();
    }
}

/* Tiles of one photo in x and y; photos in z, as many as give about 16 blocks per SM (like
 * wn_gpu_grid's cap), at most 65535; each block loops over the photos z apart. */
static dim3 tiles(const wn_gpu_ctx *c, int N, int C, int HW) {
    const size_t tx = (size_t)(HW + TILE - 1) / TILE, ty = (size_t)(C + TILE - 1) / TILE;
    size_t z = ((size_t)c->sm_count * 16 + tx * ty - 1) / (tx * ty);
    if (z > (size_t)N) z = (size_t)N;
    if (z > 65535) z = 65535;
    return dim3((unsigned)tx, (unsigned)ty, (unsigned)(z ? z : 1));
}

extern "C" void wn_gpu_to_bf16_nhwc(wn_gpu_ctx *c, int n, int channels, int hw, const float *x,
                                    uint16_t *y) {
    if (n <= 0 || channels <= 0 || hw <= 0) return;
    if ((channels + TILE - 1) / TILE > 65535)
        WN_GPU_FAIL("bf16 NHWC conversion of %d channels: more than the grid allows", channels);
    k_to_bf16_nhwc<<<tiles(c, n, channels, hw), WN_GPU_BLOCK, 0, c->stream>>>(n, channels, hw, x, y);
    WN_LAUNCH_CHECK("fp32-to-bf16 NHWC kernel");
}

extern "C" void wn_gpu_from_bf16_nhwc(wn_gpu_ctx *c, int n, int channels, int hw,
                                      const uint16_t *x, const float *b, float *y) {
    if (n <= 0 || channels <= 0 || hw <= 0) return;
    if ((channels + TILE - 1) / TILE > 65535)
        WN_GPU_FAIL("bf16 NHWC conversion of %d channels: more than the grid allows", channels);
    k_from_bf16_nhwc<<<tiles(c, n, channels, hw), WN_GPU_BLOCK, 0, c->stream>>>(n, channels, hw, x, b,
                                                                             y);
    WN_LAUNCH_CHECK("bf16-to-fp32 NHWC kernel");
}

extern "C" void wn_gpu_to_bf16(wn_gpu_ctx *c, size_t n, const float *x, uint16_t *y) {
    if (!n) return;
    k_to_bf16<<<wn_gpu_grid(c, n), WN_GPU_BLOCK, 0, c->stream>>>(n, x, y);
    WN_LAUNCH_CHECK("fp32-to-bf16 kernel");
}

extern "C" void wn_gpu_from_bf16(wn_gpu_ctx *c, size_t n, size_t hw, int channels,
                                 const uint16_t *x, const float *b, float *y) {
    if (!n) return;
    k_from_bf16<<<wn_gpu_grid(c, n), WN_GPU_BLOCK, 0, c->stream>>>(n, hw ? hw : 1, channels, x,
                                                                    b, y);
    WN_LAUNCH_CHECK("bf16-to-fp32 kernel");
}

extern "C" uint16_t *wn_gpu_bf16_buf(wn_gpu_ctx *c, int i, size_t n) {
    static const char *const what[WN_GPU_BF16_BUFS] = {"bf16 buffer 0", "bf16 buffer 1",
                                                       "bf16 buffer 2"};
    return (uint16_t *)wn_gpu_buf_reserve(c, &c->bf16[i], n * sizeof(uint16_t), what[i]);
}

extern "C" const uint16_t *wn_gpu_bf16_of(wn_gpu_ctx *c, int i, size_t n, const float *x) {
    uint16_t *y = wn_gpu_bf16_buf(c, i, n);
    wn_gpu_to_bf16(c, n, x, y);
    return y;
}
