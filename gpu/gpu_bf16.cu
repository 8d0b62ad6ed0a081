/* gpu_bf16.cu - the conversions of the bf16 mixed precision (opts.bf16): fp32 to bf16 (round to
 * nearest even, src/wn_bf16.h, the host's definition) for the inputs of convolutions and dense
 * products, and bf16 back for cuDNN's bf16 outputs, with the convolution bias added in fp32 on
 * the way (one pass instead of a conversion and a cudnnAddTensor). With bf16 activation storage
 * (opts.bf16_store) the same kernels read or write bf16 storage instead of fp32 (templated on
 * the storage type, gpu_store.cuh), and serve the cast op. Flat grid-stride kernels, and for
 * opts.nhwc the same conversions fused with the layout change NCHW <-> NHWC (a transpose of
 * each photo's (C, HW) matrix through 32x32 tiles in shared memory, so that reads and writes
 * are both coalesced). Also the bias gradient of a bf16 dy (cuDNN's and cuBLAS's take fp32). */
#include "gpu_ctx.h"
#include "gpu_store.cuh"

__global__ void k_to_bf16(size_t n, const float *x, uint16_t *y) { // x, y (n)
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n;
         i += (size_t)gridDim.x * blockDim.x)
        y[i] = wn_bf16_from_float(x[i]);
}

/* y = x + (b ? b[i / hw % C] : 0) in y's type; x, y (n) = (N, C, hw), b (C) or NULL */
template <typename TI, typename TO>
__global__ void k_convert(size_t n, size_t hw, int C, const TI *x, const float *b, TO *y) {
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n;
         i += (size_t)gridDim.x * blockDim.x) {
        float v = wn_ld(x, i);
        wn_st(y, i, b ? __fadd_rn(v, b[i / hw % (size_t)C]) : v);
    }
}

enum { TILE = 32, ROWS = WN_GPU_BLOCK / TILE }; /* a block of 256 threads: 32 x 8 */

/* y (N, HW, C) = bf16 of x (N, C, HW); grid (HW tiles, C tiles, photos: see tiles()) */
template <typename TI>
__global__ void k_to_bf16_nhwc(int N, int C, int HW, const TI *x, uint16_t *y) {
    __shared__ float tile[TILE][TILE + 1];
    const int tx = threadIdx.x % TILE, ty = threadIdx.x / TILE;
    const int p0 = blockIdx.x * TILE, c0 = blockIdx.y * TILE;
    for (int n = blockIdx.z; n < N; n += gridDim.z) {
        for (int j = ty; j < TILE; j += ROWS) {
            int ch = c0 + j, p = p0 + tx;
            if (ch < C && p < HW) tile[j][tx] = wn_ld(x, ((size_t)n * C + ch) * HW + p);
        }
        __syncthreads();
        for (int j = ty; j < TILE; j += ROWS) {
            int p = p0 + j, ch = c0 + tx;
            if (p < HW && ch < C) y[((size_t)n * HW + p) * C + ch] = wn_bf16_from_float(tile[tx][j]);
        }
        __syncthreads();
    }
}

/* y (N, C, HW) = x (N, HW, C) + (b ? b[c] : 0) in y's type; grid as k_to_bf16_nhwc */
template <typename TO>
__global__ void k_from_bf16_nhwc(int N, int C, int HW, const uint16_t *x, const float *b, TO *y) {
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
                wn_st(y, ((size_t)n * C + ch) * HW + p, b ? __fadd_rn(v, b[ch]) : v);
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

/* db[ch] = sum of dy (N, C, hw) over N and hw for channel blockIdx.x, in double: each thread
 * strides over the channel's values, then a fixed tree adds the threads (the same order every
 * run). */
__global__ void k_bias_grad_bf16(int N, int C, int hw, const uint16_t *dy, float *db) {
    __shared__ double part[WN_GPU_BLOCK];
    const int ch = blockIdx.x;
    const size_t m = (size_t)N * hw;
    double s = 0;
    for (size_t j = threadIdx.x; j < m; j += blockDim.x) {
        size_t i = j / hw, k = j - i * hw;
        s += (double)wn_ld(dy, (i * C + ch) * hw + k);
    }
    part[threadIdx.x] = s;
    __syncthreads();
    for (int w = WN_GPU_BLOCK / 2; w > 0; w >>= 1) {
        if ((int)threadIdx.x < w) part[threadIdx.x] += part[threadIdx.x + w];
        __syncthreads();
    }
    if (threadIdx.x == 0) db[ch] = (float)part[0];
}

static void check_channels(int channels) {
    if ((channels + TILE - 1) / TILE > 65535)
        WN_GPU_FAIL("bf16 NHWC conversion of %d channels: more than the grid allows", channels);
}

extern "C" void wn_gpu_to_bf16_nhwc(wn_gpu_ctx *c, int n, int channels, int hw, const void *x,
                                    int x_lp, uint16_t *y) {
    if (n <= 0 || channels <= 0 || hw <= 0) return;
    check_channels(channels);
    const dim3 g = tiles(c, n, channels, hw);
    if (x_lp)
        k_to_bf16_nhwc<uint16_t><<<g, WN_GPU_BLOCK, 0, c->stream>>>(n, channels, hw,
                                                                   (const uint16_t *)x, y);
    else
        k_to_bf16_nhwc<float><<<g, WN_GPU_BLOCK, 0, c->stream>>>(n, channels, hw,
                                                                (const float *)x, y);
    WN_LAUNCH_CHECK("to-bf16 NHWC kernel");
}

extern "C" void wn_gpu_from_bf16_nhwc(wn_gpu_ctx *c, int n, int channels, int hw,
                                      const uint16_t *x, const float *b, void *y, int y_lp) {
    if (n <= 0 || channels <= 0 || hw <= 0) return;
    check_channels(channels);
    const dim3 g = tiles(c, n, channels, hw);
    if (y_lp)
        k_from_bf16_nhwc<uint16_t><<<g, WN_GPU_BLOCK, 0, c->stream>>>(n, channels, hw, x, b,
                                                                     (uint16_t *)y);
    else
        k_from_bf16_nhwc<float><<<g, WN_GPU_BLOCK, 0, c->stream>>>(n, channels, hw, x, b,
                                                                  (float *)y);
    WN_LAUNCH_CHECK("from-bf16 NHWC kernel");
}

extern "C" void wn_gpu_to_bf16(wn_gpu_ctx *c, size_t n, const float *x, uint16_t *y) {
    if (!n) return;
    k_to_bf16<<<wn_gpu_grid(c, n), WN_GPU_BLOCK, 0, c->stream>>>(n, x, y);
    WN_LAUNCH_CHECK("fp32-to-bf16 kernel");
}

template <typename TI, typename TO>
static void convert(wn_gpu_ctx *c, size_t n, size_t hw, int channels, const void *x,
                    const float *b, void *y) {
    k_convert<TI, TO><<<wn_gpu_grid(c, n), WN_GPU_BLOCK, 0, c->stream>>>(
        n, hw ? hw : 1, channels, (const TI *)x, b, (TO *)y);
    WN_LAUNCH_CHECK("conversion kernel");
}

extern "C" void wn_gpu_convert(wn_gpu_ctx *c, size_t n, size_t hw, int channels, const void *x,
                               int x_lp, const float *b, void *y, int y_lp) {
    if (!n) return;
    if (x_lp && y_lp)
        convert<uint16_t, uint16_t>(c, n, hw, channels, x, b, y);
    else if (x_lp)
        convert<uint16_t, float>(c, n, hw, channels, x, b, y);
    else if (y_lp)
        convert<float, uint16_t>(c, n, hw, channels, x, b, y);
    else
        convert<float, float>(c, n, hw, channels, x, b, y);
}

extern "C" void wn_gpu_bias_grad_bf16(wn_gpu_ctx *c, int n, int channels, int hw,
                                      const uint16_t *dy, float *db) {
    if (channels <= 0) return;
    if (n <= 0 || hw <= 0) { /* an empty sum */
        WN_CUDA_CHECK(cudaMemsetAsync(db, 0, (size_t)channels * sizeof(float), c->stream));
        return;
    }
    k_bias_grad_bf16<<<channels, WN_GPU_BLOCK, 0, c->stream>>>(n, channels, hw, dy, db);
    WN_LAUNCH_CHECK("bf16 bias gradient kernel");
}

extern "C" uint16_t *wn_gpu_bf16_buf(wn_gpu_ctx *c, int i, size_t n) {
    static const char *const what[WN_GPU_BF16_BUFS] = {"bf16 buffer 0", "bf16 buffer 1",
                                                       "bf16 buffer 2"};
    return (uint16_t *)wn_gpu_buf_reserve(c, &c->bf16[i], n * sizeof(uint16_t), what[i]);
}

extern "C" const uint16_t *wn_gpu_bf16_of(wn_gpu_ctx *c, int i, size_t n, const void *x,
                                          int x_lp) {
    if (x_lp) return (const uint16_t *)x;
    uint16_t *y = wn_gpu_bf16_buf(c, i, n);
    wn_gpu_to_bf16(c, n, (const float *)x, y);
    return y;
}
