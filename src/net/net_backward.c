/* net_backward.c - the backward pass: layers in reverse order, each gradient op writing the
 * parameter gradients of its layer and the gradient of its input. A layer whose output feeds
 * several later layers (a residual connection) gets the sum: the first consumer writes its dy,
 * later ones write into the scratch buffer, which is then added (backward ops overwrite).
 * Gradients are only computed where needed: not for the network input, not for frozen layers'
 * parameters, and not for layers with no trainable parameter before them. With bf16
 * activation storage (net->lp) dlogits is cast into the last layer's bf16 dy, and the layers
 * that read the network input read the forward pass's bf16 copy of it. */
#include <assert.h>
#include <stdlib.h>

#include "net_internal.h"

/* need[i] = 1 when layer i's output gradient leads to a trainable parameter. */
static void needed(const wn_net *net, unsigned char *need) {
    for (int i = 0; i < net->n_layers; i++) {
        const wn_layer *L = &net->layers[i];
        need[i] = (L->w_count + L->b_count > 0 && !L->frozen) || (L->in >= 0 && need[L->in]) ||
                  (L->other >= 0 && need[L->other]);
    }
}

/* Adds g (count values) into layer j's dy: a copy for the first contribution. */
/* g: (N, out of j) */
static void contribute(wn_net *net, int j, unsigned char *written, size_t count, const float *g) {
    const wn_backend_ops *ops = net->be->ops;
    float *dy = net->layers[j].dy; // (N, out of j)
    if (written[j])
        ops->axpy(net->be->ctx, count, 1.0f, g, dy);
    else
        ops->copy(net->be->ctx, dy, g, count * (net->lp ? 2 : sizeof(float)));
    written[j] = 1;
}

/* Layer i's backward (its dy is complete); x (N, in_c, in_h, in_w) is the network input; dx
 * (N, in shape of i) is NULL when no input gradient is needed. */
static void layer_backward(wn_net *net, int i, int n, const float *x, float *dx) {
    const wn_backend_ops *ops = net->be->ops;
    void *ctx = net->be->ctx;
    wn_layer *L = &net->layers[i];
    const float *in = L->in < 0 ? x : net->layers[L->in].y; // (N, in shape)
    const float *w = net->params + L->w_off; // (OC, C, KH, KW) conv, (OUT, IN) dense, (C) gamma
    float *dw = L->w_count && !L->frozen ? net->grads + L->w_off : NULL; // like w
    float *db = L->b_count && !L->frozen ? net->grads + L->b_off : NULL; // (OC), (OUT) or (C)
    size_t count = (size_t)n * wn_shape_sample(L->out);
    switch (L->def.type) {
    case WN_LAYER_CONV: {
        wn_conv_desc cd;
        wn_net_conv_desc(net, i, n, &cd);
        ops->conv_backward(ctx, &cd, in, w, L->dy, dx, dw, db);
        break;
    }
    case WN_LAYER_MAXPOOL:
    case WN_LAYER_AVGPOOL:
    case WN_LAYER_GAP: {
        wn_pool_desc pd;
        wn_net_pool_desc(net, i, n, &pd);
        if (dx) ops->pool_backward(ctx, &pd, in, L->y, L->dy, dx);
        break;
    }
    case WN_LAYER_DENSE:
        ops->dense_backward(ctx, n, (int)wn_shape_sample(wn_net_in_shape(net, i)), L->out.c, in, w,
                            L->dy, dx, dw, db);
        break;
    case WN_LAYER_RELU:
        if (dx) ops->act_backward(ctx, WN_ACT_RELU, 0.0f, count, in, L->dy, dx);
        break;
    case WN_LAYER_LEAKY:
        if (dx) ops->act_backward(ctx, WN_ACT_LEAKY, L->def.alpha, count, in, L->dy, dx);
        break;
    case WN_LAYER_DROPOUT:
        if (!dx) break;
        if (L->def.rate > 0)
            ops->dropout_backward(ctx, count, L->aux, L->dy, dx);
        else
            ops->copy(ctx, dx, L->dy, count * (net->lp ? 2 : sizeof(float)));
        break;
    case WN_LAYER_BATCHNORM: {
        int c = L->out.c, hw = L->out.h * L->out.w;
        ops->bn_backward(ctx, n, c, hw, in, w, L->aux, L->aux + c, L->dy, dx, dw, db);
        break;
    }
    default:
        assert(0 && "unknown layer type");
    }
}

/* x (N, in_c, in_h, in_w), dlogits (N, K) */
void wn_net_backward(wn_net *net, int n, const float *x, const float *dlogits) {
    assert(n >= 1 && n <= net->batch && net->training_buffers);
    int nl = net->n_layers, last = nl - 1;
    unsigned char *need = wn_xcalloc((size_t)nl, 1), *written = wn_xcalloc((size_t)nl, 1);
    needed(net, need);
    if (net->lp) x = net->in_lp; /* (N, in) bf16, cast by the forward pass */
    if (need[last] && net->lp) { /* dlogits (N, K) fp32 -> the last dy, bf16 */
        net->be->ops->cast(net->be->ctx, (size_t)n * net->n_classes, dlogits, net->layers[last].dy);
        written[last] = 1;
    } else if (need[last]) {
        contribute(net, last, written, (size_t)n * net->n_classes, dlogits);
    }
    for (int i = last; i >= 0; i--) {
        wn_layer *L = &net->layers[i];
        if (!need[i] || !written[i]) continue;
        size_t count = (size_t)n * wn_shape_sample(L->out);
        if (L->def.type == WN_LAYER_ADD) { /* d(a+b) = dy for both operands; in place, the
                                            * first operand's dy is this dy (the copy is a no-op) */
            if (L->in >= 0 && need[L->in]) contribute(net, L->in, written, count, L->dy);
            if (L->other >= 0 && need[L->other]) contribute(net, L->other, written, count, L->dy);
            continue;
        }
        int j = L->in;
        float *dx = NULL; // (N, out of j)
        if (j >= 0 && need[j]) dx = written[j] ? net->scratch : net->layers[j].dy;
        layer_backward(net, i, n, x, dx);
        if (dx == net->scratch)
            net->be->ops->axpy(net->be->ctx, (size_t)n * wn_shape_sample(net->layers[j].out), 1.0f,
                               net->scratch, net->layers[j].dy);
        if (dx) written[j] = 1;
    }
    free(need);
    free(written);
}
