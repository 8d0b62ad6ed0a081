/* net_reserve.c - the activation buffers of a network: one backend allocation for every layer's
 * output y, one for the gradients dy (plus a scratch buffer used when gradients accumulate) and
 * one for the auxiliary data (dropout masks, batchnorm saved statistics). Buffers grow, never
 * shrink: a smaller batch reuses them.
 *
 * In place: a relu or leaky relu (alpha >= 0) whose input layer feeds nothing else and does not
 * read its own output in its backward pass (conv, dense, batchnorm, add, dropout; not pooling,
 * whose backward finds the maxima in its output's windows) takes that layer's y and dy as its
 * own: forward overwrites the input with the output, backward the output gradient with the input
 * gradient. Its backward reads the output where the input was, which gives the same result,
 * since y > 0 exactly when x > 0 for alpha >= 0. This saves one activation and one gradient
 * buffer per such layer (about a quarter of ResNet-18's activation memory). An add does the
 * same with its first input under the same conditions (a residual block's last batchnorm,
 * whose output nothing else reads: y = y_in + y_other written over y_in, the gradient of the
 * sum being the gradient of y_in), like PyTorch's `out += identity`; its second input stays.
 *
 * Gradients: the dy buffers share memory where the backward pass never needs two of them at
 * once (plan_gradients), so the gradient block is the largest set of simultaneously live
 * gradients, not the sum of all of them.
 *
 * Storage type: when the backend stores activations in bf16 (act_bf16, the GPU's
 * --precision bf16), the output and gradient blocks come from alloc_bf16 and every slice is
 * counted in 2-byte elements (net->lp); the block of outputs then also holds a bf16 copy of the
 * network input, and the fp32 logits get an allocation of their own (wn_net.h). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net_internal.h"

/* Layer slices start on 64-byte boundaries: values rounded up to 16 fp32 ones, or for the
 * activation blocks in bf16 storage (esize 2) to 32 bf16 ones. */
static size_t round16(size_t n) { return (n + 15) / 16 * 16; }
static size_t esize(const wn_net *net) { return net->lp ? 2 : sizeof(float); }
static size_t slice(const wn_net *net, size_t n) {
    size_t per = 64 / esize(net);
    return (n + per - 1) / per * per;
}
/* The element at offset off of an activation block (in the block's element size). */
static float *at(const wn_net *net, float *block, size_t off) {
    return (float *)((char *)block + off * esize(net));
}

/* An activation block of count values in the net's storage type, or NULL with a message. */
static float *block_alloc(wn_net *net, size_t count, const char *what, wn_err *e) {
    if (!net->lp) return wn_balloc(net->be, count, what, e);
    float *p = net->be->ops->alloc_bf16(net->be->ctx, count ? count : 1);
    if (!p)
        wn_err_set(e, WN_ERUNTIME, "out of %s memory for the %s (%zu bf16 values, %.1f MB)",
                   net->be->ops->name, what, count, count * 2.0 / 1e6);
    return p;
}

static size_t aux_count(const wn_layer *L, int batch) {
    if (L->def.type == WN_LAYER_DROPOUT) return (size_t)batch * wn_shape_sample(L->out);
    if (L->def.type == WN_LAYER_BATCHNORM) return 2 * (size_t)L->out.c; /* save_mean, save_invstd */
    return 0;
}

static int reads_own_output(int type) {
    return type == WN_LAYER_MAXPOOL || type == WN_LAYER_AVGPOOL || type == WN_LAYER_GAP ||
           type == WN_LAYER_RELU || type == WN_LAYER_LEAKY;
}

void wn_net_mark_inplace(wn_net *net) {
    int nl = net->n_layers;
    int *uses = wn_xcalloc((size_t)nl, sizeof *uses); /* (n_layers) consumers of each output */
    for (int i = 0; i < nl; i++) {
        const wn_layer *L = &net->layers[i];
        if (L->in >= 0) uses[L->in]++;
        if (L->def.type == WN_LAYER_ADD && L->other >= 0) uses[L->other]++;
    }
    for (int i = 0; i < nl; i++) {
        wn_layer *L = &net->layers[i];
        int type = L->def.type, j = L->in;
        int act = type == WN_LAYER_RELU || (type == WN_LAYER_LEAKY && L->def.alpha >= 0);
        L->inplace = L->folded || ((act || type == WN_LAYER_ADD) && j >= 0 && uses[j] == 1 &&
                                   !reads_own_output(net->layers[j].def.type));
    }
    free(uses);
}

static void free_block(wn_net *net, float **p) {
    if (*p) net->be->ops->free(net->be->ctx, *p);
    *p = NULL;
}

static int backend_lp(const wn_net *net) {
    return net->be->ops->act_bf16 && net->be->ops->act_bf16(net->be->ctx);
}

static void release_training(wn_net *net) {
    if (!net->be) return;
    free_block(net, &net->grad_mem);
    free_block(net, &net->aux_mem);
    for (int i = 0; i < net->n_layers; i++) net->layers[i].dy = net->layers[i].aux = NULL;
    net->scratch = NULL;
    net->scratch_n = 0;
    net->training_buffers = 0;
}

void wn_net_release(wn_net *net) {
    if (!net->be) return;
    release_training(net);
    free_block(net, &net->act_mem);
    free_block(net, &net->logits);
    for (int i = 0; i < net->n_layers; i++) net->layers[i].y = NULL;
    net->in_lp = NULL;
    net->batch = 0;
    net->lp = 0;
}

/* Values of layer i's own buffer (0 for a layer computed in place). */
static size_t own(const wn_net *net, const wn_layer *L, int batch) {
    return L->inplace ? 0 : slice(net, (size_t)batch * wn_shape_sample(L->out));
}

static int alloc_outputs(wn_net *net, int batch, wn_err *e) {
    net->lp = backend_lp(net);
    size_t total = 0, in_n = (size_t)batch * net->def.in_c * net->def.in_h * net->def.in_w;
    for (int i = 0; i < net->n_layers; i++) total += own(net, &net->layers[i], batch);
    if (net->lp) total += slice(net, in_n); /* the bf16 copy of the input, last */
    net->act_mem = block_alloc(net, total, "activations", e); // (sum of N * layer output)
    if (!net->act_mem) return WN_ERUNTIME;
    if (net->lp) {
        net->logits = wn_balloc(net->be, (size_t)batch * net->n_classes, "logits", e); // (N, K)
        if (!net->logits) return WN_ERUNTIME;
    }
    size_t off = 0;
    for (int i = 0; i < net->n_layers; i++) {
        wn_layer *L = &net->layers[i];
        L->y = L->inplace ? net->layers[L->in].y : at(net, net->act_mem, off); // (N, C, H, W) of i
        off += own(net, L, batch);
    }
    net->in_lp = net->lp ? at(net, net->act_mem, off) : NULL; // (N, in_c, in_h, in_w) bf16
    net->batch = batch;
    return WN_OK;
}

/* Offsets of the gradient buffers in grad_mem (values; SIZE_MAX for a layer in place, which
 * uses its input's), and the values they need. The backward pass runs from the last layer to the
 * first: layer j's dy is first written by the backward of its last consumer (or, for the last
 * layer, by the loss) and last read by j's own backward, so it is live for the layer indices
 * [j, end(j)], end(j) = its highest consumer (through a layer in place, that layer's). Two
 * buffers share memory only when those intervals are disjoint: first fit, largest first. */
static size_t plan_gradients(const wn_net *net, int batch, size_t *off) {
    /* (offsets and sizes in the block's elements: slice() rounds them to 64 bytes) */
    int nl = net->n_layers;
    int *end = wn_xmalloc((size_t)nl * sizeof *end);    /* (n_layers) */
    size_t *size = wn_xmalloc((size_t)nl * sizeof *size); /* (n_layers) */
    int *order = wn_xmalloc((size_t)nl * sizeof *order);  /* (n_layers) owners, largest first */
    for (int i = 0; i < nl; i++) end[i] = i;
    for (int i = 0; i < nl; i++) {
        const wn_layer *L = &net->layers[i];
        if (L->in >= 0 && end[L->in] < i) end[L->in] = i;
        if (L->def.type == WN_LAYER_ADD && L->other >= 0 && end[L->other] < i) end[L->other] = i;
    }
    /* a layer in place lives in its input's buffer: that buffer lives until the layer's end */
    for (int i = nl - 1; i >= 0; i--)
        if (net->layers[i].inplace && end[net->layers[i].in] < end[i]) end[net->layers[i].in] = end[i];
    int n_own = 0;
    for (int i = 0; i < nl; i++) {
        size[i] = slice(net, (size_t)batch * wn_shape_sample(net->layers[i].out));
        off[i] = SIZE_MAX;
        if (!net->layers[i].inplace) order[n_own++] = i;
    }
    for (int a = 1; a < n_own; a++) /* insertion sort: largest first, then by index */
        for (int b = a; b > 0 && (size[order[b]] > size[order[b - 1]] ||
                                  (size[order[b]] == size[order[b - 1]] && order[b] < order[b - 1])); b--) {
            int t = order[b];
            order[b] = order[b - 1];
            order[b - 1] = t;
        }
    size_t total = 0;
    for (int a = 0; a < n_own; a++) {
        int i = order[a];
        size_t at = 0;
        for (int moved = 1; moved;) { /* the lowest offset clear of every live, placed buffer */
            moved = 0;
            for (int b = 0; b < a; b++) {
                int j = order[b];
                int live = !(end[j] < i || end[i] < j);
                if (live && at < off[j] + size[j] && off[j] < at + size[i]) {
                    at = off[j] + size[j];
                    moved = 1;
                }
            }
        }
        off[i] = at;
        if (at + size[i] > total) total = at + size[i];
    }
    free(end);
    free(size);
    free(order);
    return total;
}

/* Values of the largest output that feeds more than one layer (0 when none does): the scratch
 * buffer receives such a layer's input gradient from its second and later consumers before it
 * is added into its dy, so it needs to hold no more than that. */
static size_t largest_fan_out(const wn_net *net, int batch) {
    int nl = net->n_layers;
    size_t largest = 0;
    int *uses = wn_xcalloc((size_t)nl, sizeof *uses); /* (n_layers) */
    for (int i = 0; i < nl; i++) {
        const wn_layer *L = &net->layers[i];
        if (L->in >= 0) uses[L->in]++;
        if (L->def.type == WN_LAYER_ADD && L->other >= 0) uses[L->other]++;
    }
    for (int i = 0; i < nl; i++) {
        size_t n = (size_t)batch * wn_shape_sample(net->layers[i].out);
        if (uses[i] > 1 && n > largest) largest = n;
    }
    free(uses);
    return largest;
}

static int alloc_training(wn_net *net, int batch, wn_err *e) {
    size_t aux = 0;
    for (int i = 0; i < net->n_layers; i++) aux += round16(aux_count(&net->layers[i], batch));
    size_t largest = largest_fan_out(net, batch); /* 0: no gradient ever accumulates */
    size_t *goff = wn_xmalloc((size_t)net->n_layers * sizeof *goff); /* (n_layers) */
    size_t total = plan_gradients(net, batch, goff);
    net->grad_mem = block_alloc(net, total + largest, "activation gradients", e);
    net->aux_mem = net->grad_mem ? wn_balloc(net->be, aux ? aux : 1, "dropout masks", e) : NULL;
    if (!net->aux_mem) {
        free(goff);
        release_training(net);
        return WN_ERUNTIME;
    }
    size_t aoff = 0;
    for (int i = 0; i < net->n_layers; i++) {
        wn_layer *L = &net->layers[i];
        L->dy = L->inplace ? net->layers[L->in].dy : at(net, net->grad_mem, goff[i]); // (N, C, H, W) of i
        size_t a = aux_count(L, batch);
        L->aux = a ? net->aux_mem + aoff : NULL; // dropout (N, C, H, W) or bn (2, C)
        aoff += round16(a);
    }
    free(goff);
    net->scratch = at(net, net->grad_mem, total); // (N * largest fanned-out output), or empty
    net->scratch_n = largest;
    net->training_buffers = 1;
    return WN_OK;
}

int wn_net_reserve(wn_net *net, int batch, int training, wn_err *e) {
    if (batch < 1) return wn_err_set(e, WN_EINPUT, "batch size %d: it must be at least 1", batch);
    if (training && net->n_folded)
        return wn_err_set(e, WN_EINPUT, "a network with batchnorm folded into its convolutions "
                                        "runs inference only");
    int rc = WN_OK;
    if (batch > net->batch) {
        training = training || net->training_buffers;
        wn_net_release(net);
        rc = alloc_outputs(net, batch, e);
    }
    if (!rc && training && !net->training_buffers) rc = alloc_training(net, net->batch, e);
    if (rc) {
        wn_net_release(net);
        wn_err_prefix(e, "network for batches of %d photos", batch);
    }
    return rc;
}
