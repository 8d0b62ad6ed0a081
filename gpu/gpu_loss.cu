/* gpu_loss.cu - softmax, softmax cross entropy and focal loss with per-sample weights and
 * per-class offsets on the GPU. One warp per row computes in double, like the CPU backend
 * (cpu_k_loss.h): the maximum of z = logits + offset is subtracted before exponentiation,
 * p = softmax(z), cross entropy loss_i = w_i * -log p_i,label, dlogits = w_i * (p - onehot);
 * focal loss (gamma) loss_i = -w_i * q^gamma * log p_t with q = sum of the other classes'
 * p, dlogits = w_i * c * (p - onehot), c = q^gamma - gamma q^(gamma-1) p_t log p_t (the
 * formulas of src/wn_backend.h). The row losses are summed by one
 * block in a fixed order (the same loss for the same input, every run), and a label outside
 * [0, K) is recorded in the context's device error words, which the synchronising ops check. */
#include <assert.h>

#include "gpu_ctx.h"

enum { ROWS_PER_BLOCK = WN_GPU_BLOCK / 32 };

__device__ static double warp_max(double v) {
    for (int o = 16; o > 0; o >>= 1) v = fmax(v, __shfl_xor_sync(0xffffffffu, v, o));
    return v;
}

__device__ static double warp_sum(double v) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

/* logits (N,K), labels (N) or NULL, weight (N) or NULL, offset (K) or NULL; probs, dlogits (N,K)
 * or NULL; row_loss (N) or NULL; err (4) device error words. focal selects the focal loss with
 * gamma (labels required). */
__global__ void k_softmax_xent(int n, int k, const float *logits, const int32_t *labels,
                               const float *weight, const float *offset, int focal, double gamma,
                               float *probs, float *dlogits, double *row_loss, int *err) {
    const int lane = threadIdx.x & 31;
    const int i = blockIdx.x * ROWS_PER_BLOCK + (threadIdx.x >> 5);
    if (i >= n) return; /* whole warps leave together */
    const float *z = logits + (size_t)i * k; // (K)
#define ZV(j) ((double)z[j] + (offset ? (double)offset[j] : 0.0))
    double mx = -INFINITY;
    for (int j = lane; j < k; j += 32) mx = fmax(mx, ZV(j));
    mx = warp_max(mx);
    double s = 0;
    for (int j = lane; j < k; j += 32) s += exp(ZV(j) - mx);
    const double logs = log(warp_sum(s));
    const double wi = weight ? (double)weight[i] : 1.0 / n;
    int label = -1;
    if (labels) {
        label = labels[i];
        if (label < 0 || label >= k) {
            if (lane == 0 && atomicCAS(&err[0], WN_GPU_ERR_NONE, WN_GPU_ERR_LABEL) == WN_GPU_ERR_NONE) {
                err[1] = i;
                err[2] = label;
                err[3] = k;
            }
            label = -1;
        }
    }
    double c = 1, row = 0; /* gradient factor, row loss */
    if (focal && label >= 0) {
        const double logpt = ZV(label) - mx - logs, pt = exp(logpt);
        double q = 0;
        for (int j = lane; j < k; j += 32)
            if (j != label) q += exp(ZV(j) - mx - logs);
        q = warp_sum(q);
        if (q > 1) q = 1;
        const double qg = gamma == 0 ? 1.0 : pow(q, gamma);
        row = wi * -qg * logpt;
        c = qg - ((gamma > 0 && q > 0) ? gamma * pow(q, gamma - 1) * pt * logpt : 0.0);
    } else if (label >= 0) {
        row = wi * (logs + mx - ZV(label));
    }
    if (row_loss && lane == 0) row_loss[i] = row;
    if (!probs && !dlogits) return;
    for (int j = lane; j < k; j += 32) {
        double p = exp(ZV(j) - mx - logs);
        if (probs) probs[(size_t)i * k + j] = (float)p;
        if (dlogits) {
            double g = p - (j == label ? 1.0 : 0.0);
            dlogits[(size_t)i * k + j] = (float)(focal ? wi * c * g : wi * g);
        }
    }
#undef ZV
}

/* row_loss (N) -> *out; one block, fixed order */
__global__ void k_sum_rows(int n, const double *row_loss, double *out) {
    __shared__ double part[WN_GPU_BLOCK];
    double s = 0;
    for (int i = threadIdx.x; i < n; i += blockDim.x) s += row_loss[i];
    part[threadIdx.x] = s;
    __syncthreads();
    for (int w = blockDim.x / 2; w > 0; w >>= 1) {
        if ((int)threadIdx.x < w) part[threadIdx.x] += part[threadIdx.x + w];
        __syncthreads();
    }
    if (threadIdx.x == 0) *out = part[0];
}

static void softmax_rows(wn_gpu_ctx *c, int n, int k, const float *logits, const int32_t *labels,
                         const float *weight, const float *offset, int focal, double gamma,
                         float *probs, float *dlogits, double *loss_out) {
    assert(k >= 1);
    if (n <= 0) {
        if (loss_out) *loss_out = 0;
        return;
    }
    double *row_loss = NULL; // (N)
    if (loss_out)
        row_loss = (double *)wn_gpu_buf_reserve(c, &c->scratch, (size_t)n * sizeof(double),
                                                "softmax scratch");
    unsigned blocks = (unsigned)((n + ROWS_PER_BLOCK - 1) / ROWS_PER_BLOCK);
    k_softmax_xent<<<blocks, WN_GPU_BLOCK, 0, c->stream>>>(
        n, k, logits, labels, weight, offset, focal, gamma, probs, dlogits, row_loss, c->dev_err);
    WN_LAUNCH_CHECK("softmax cross entropy kernel");
    if (!loss_out) return;
    k_sum_rows<<<1, WN_GPU_BLOCK, 0, c->stream>>>(n, row_loss, c->dev_loss);
    WN_LAUNCH_CHECK("loss sum kernel");
    WN_CUDA_CHECK(cudaMemcpyAsync(c->host_loss, c->dev_loss, sizeof(double),
                                  cudaMemcpyDeviceToHost, c->stream));
    wn_gpu_sync_checked(c, "softmax_xent");
    *loss_out = *c->host_loss;
}

extern "C" void wn_gpu_softmax_xent(void *ctx, int n, int k, const float *logits,
                                    const int32_t *labels, const float *weight,
                                    const float *offset, float *probs, float *dlogits,
                                    double *loss_out) {
    assert(labels);
    softmax_rows((wn_gpu_ctx *)ctx, n, k, logits, labels, weight, offset, 0, 0.0, probs, dlogits,
                 loss_out);
}

extern "C" void wn_gpu_focal_xent(void *ctx, int n, int k, const float *logits,
                                  const int32_t *labels, const float *weight, const float *offset,
                                  float gamma, float *probs, float *dlogits, double *loss_out) {
    assert(labels && gamma >= 0);
    softmax_rows((wn_gpu_ctx *)ctx, n, k, logits, labels, weight, offset, 1, (double)gamma, probs,
                 dlogits, loss_out);
}

extern "C" void wn_gpu_softmax(void *ctx, int n, int k, const float *logits, float *probs) {
    softmax_rows((wn_gpu_ctx *)ctx, n, k, logits, NULL, NULL, NULL, 0, 0.0, probs, NULL, NULL);
}
