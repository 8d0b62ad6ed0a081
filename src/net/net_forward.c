/* net_forward.c - the forward pass: every layer in file order on the backend ops, in training
 * mode (batchnorm batch statistics, dropout with a per-layer seed) or evaluation mode
 * (batchnorm running statistics, dropout as identity; a batchnorm folded into its convolution
 * for inference, net_fold.c, computes nothing). With bf16 activation storage (net->lp) the
 * input is cast to bf16 first and the logits back to fp32 last. */
#include <assert.h>

#include "net_internal.h"

/* splitmix64 finaliser: decorrelates the per-layer dropout seeds. */
static uint64_t mix64(uint64_t z) {
    z += 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* x (N, in_c, in_h, in_w) -> logits (N, K) */
const float *wn_net_forward(wn_net *net, int n, const float *x, int training, uint64_t seed) {
    assert(n >= 1 && n <= net->batch);
    assert(!training || net->training_buffers);
    const wn_backend_ops *ops = net->be->ops;
    void *ctx = net->be->ctx;
    const size_t esize = net->lp ? 2 : sizeof(float);
    if (net->lp) { /* x (N, in) fp32 -> in_lp bf16 */
        ops->cast(ctx, (size_t)n * net->def.in_c * net->def.in_h * net->def.in_w, x, net->in_lp);
        x = net->in_lp;
    }
    for (int i = 0; i < net->n_layers; i++) {
        wn_layer *L = &net->layers[i];
        const wn_layer_def *d = &L->def;
        const float *in = L->in < 0 ? x : net->layers[L->in].y; // (N, in shape)
        const float *w = net->params + L->w_off; // (OC, C, KH, KW) conv, (OUT, IN) dense, (C) gamma
        const float *b = L->b_count ? net->params + L->b_off : NULL; // (OC), (OUT) or (C) beta
        if (L->fold_bias) b = net->params + L->fb_off; // (OC) the folded batchnorm's bias
        size_t count = (size_t)n * wn_shape_sample(L->out);
        switch (d->type) {
        case WN_LAYER_CONV: {
            wn_conv_desc cd;
            wn_net_conv_desc(net, i, n, &cd);
            ops->conv_forward(ctx, &cd, in, w, b, L->y);
            break;
        }
        case WN_LAYER_MAXPOOL:
        case WN_LAYER_AVGPOOL:
        case WN_LAYER_GAP: {
            wn_pool_desc pd;
            wn_net_pool_desc(net, i, n, &pd);
            ops->pool_forward(ctx, &pd, in, L->y);
            break;
        }
        case WN_LAYER_DENSE:
            ops->dense_forward(ctx, n, (int)wn_shape_sample(wn_net_in_shape(net, i)), L->out.c, in,
                               w, b, L->y);
            break;
        case WN_LAYER_RELU:
            ops->act_forward(ctx, WN_ACT_RELU, 0.0f, count, in, L->y);
            break;
        case WN_LAYER_LEAKY:
            ops->act_forward(ctx, WN_ACT_LEAKY, d->alpha, count, in, L->y);
            break;
        case WN_LAYER_DROPOUT:
            if (training && d->rate > 0)
                ops->dropout_forward(ctx, count, d->rate, mix64(seed ^ mix64((uint64_t)i + 1)), in,
                                     L->y, L->aux);
            else
                ops->copy(ctx, L->y, in, count * esize);
            break;
        case WN_LAYER_BATCHNORM: {
            if (L->folded) { /* merged into its convolution: y is the convolution's */
                assert(!training);
                break;
            }
            int c = L->out.c, hw = L->out.h * L->out.w;
            float *run = net->state + L->s_off; // (2, C): running mean, running var
            if (training)
                ops->bn_forward_train(ctx, n, c, hw, in, w, b, d->momentum, d->eps, run, run + c,
                                      L->aux, L->aux + c, L->y);
            else
                ops->bn_forward_eval(ctx, n, c, hw, in, w, b, run, run + c, d->eps, L->y);
            break;
        }
        case WN_LAYER_ADD: {
            const float *other = L->other < 0 ? x : net->layers[L->other].y; // (N, out)
            ops->add(ctx, count, in, other, L->y);
            break;
        }
        default:
            assert(0 && "unknown layer type");
        }
    }
    const float *out = net->layers[net->n_layers - 1].y; // (N, K)
    if (!net->lp) return out;
    ops->cast(ctx, (size_t)n * net->n_classes, out, net->logits);
    return net->logits;
}
