/* net_tensors.c - the network's parameters and batchnorm statistics as named tensors
 * ("LAYER.weight", "LAYER.bias", "LAYER.running_mean", "LAYER.running_var"), in layer order,
 * for model files. */
#include <assert.h>
#include <string.h>

#include "net_internal.h"

/* Number of named tensors of layer L. */
static int layer_tensors(const wn_layer *L) {
    return (L->w_count ? 1 : 0) + (L->b_count ? 1 : 0) + (L->s_count ? 2 : 0);
}

int wn_net_tensor_count(const wn_net *net) {
    int n = 0;
    for (int i = 0; i < net->n_layers; i++) n += layer_tensors(&net->layers[i]);
    return n;
}

static void describe(const wn_net *net, const wn_layer *L, int k, wn_tensor_ref *ref) {
    static const char *const names[4] = {"weight", "bias", "running_mean", "running_var"};
    /* k counts the tensors this layer has; map it onto weight, bias, mean, var */
    int slot = -1;
    for (int s = 0, seen = 0; s < 4; s++) {
        int has = s == 0 ? L->w_count > 0 : s == 1 ? L->b_count > 0 : L->s_count > 0;
        if (has && seen++ == k) {
            slot = s;
            break;
        }
    }
    memset(ref, 0, sizeof *ref);
    snprintf(ref->name, sizeof ref->name, "%s.%s", L->def.name, names[slot]);
    size_t c = L->s_count / 2;
    switch (slot) {
    case 0:
        ref->data = net->params + L->w_off;
        ref->count = L->w_count;
        if (L->def.type == WN_LAYER_CONV) {
            wn_shape x = wn_net_in_shape(net, (int)(L - net->layers));
            ref->ndim = 4;
            ref->dims[0] = L->def.filters;
            ref->dims[1] = x.c;
            ref->dims[2] = L->def.kh;
            ref->dims[3] = L->def.kw;
        } else if (L->def.type == WN_LAYER_DENSE) {
            ref->ndim = 2;
            ref->dims[0] = L->out.c;
            ref->dims[1] = (int)(L->w_count / (size_t)L->out.c);
        } else {
            ref->ndim = 1;
            ref->dims[0] = (int)L->w_count;
        }
        break;
    case 1:
        ref->data = net->params + L->b_off;
        ref->count = L->b_count;
        ref->ndim = 1;
        ref->dims[0] = (int)L->b_count;
        break;
    default:
        ref->data = net->state + L->s_off + (slot == 3 ? c : 0);
        ref->count = c;
        ref->ndim = 1;
        ref->dims[0] = (int)c;
        break;
    }
}

void wn_net_tensor(const wn_net *net, int i, wn_tensor_ref *ref) {
    for (int l = 0; l < net->n_layers; l++) {
        int k = layer_tensors(&net->layers[l]);
        if (i < k) {
            describe(net, &net->layers[l], i, ref);
            return;
        }
        i -= k;
    }
    assert(0 && "tensor index out of range");
    memset(ref, 0, sizeof *ref);
}
