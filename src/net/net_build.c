/* net_build.c - instantiates a network definition on a backend: resolves inputs, computes every
 * layer's output shape and parameter block, and makes the three parameter allocations (params,
 * grads, batchnorm state). Also the op descriptors derived from a layer, and wn_net_free. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "net_internal.h"

/* Largest number of values one layer may produce per photo (the ops take int sizes). */
#define WN_NET_MAX_SAMPLE ((size_t)INT_MAX / 2)

wn_shape wn_net_in_shape(const wn_net *net, int l) {
    int in = net->layers[l].in;
    if (in >= 0) return net->layers[in].out;
    wn_shape s = {1, net->def.in_c, net->def.in_h, net->def.in_w};
    return s;
}

void wn_net_conv_desc(const wn_net *net, int l, int n, wn_conv_desc *d) {
    const wn_layer *L = &net->layers[l];
    wn_shape x = wn_net_in_shape(net, l);
    *d = (wn_conv_desc){.n = n, .c = x.c, .h = x.h, .w = x.w, .oc = L->def.filters,
                        .kh = L->def.kh, .kw = L->def.kw, .sh = L->def.sh, .sw = L->def.sw,
                        .ph = L->def.ph, .pw = L->def.pw, .oh = L->out.h, .ow = L->out.w};
}

void wn_net_pool_desc(const wn_net *net, int l, int n, wn_pool_desc *d) {
    const wn_layer *L = &net->layers[l];
    wn_shape x = wn_net_in_shape(net, l);
    *d = (wn_pool_desc){.mode = L->def.type == WN_LAYER_MAXPOOL ? WN_POOL_MAX : WN_POOL_AVG,
                        .n = n, .c = x.c, .h = x.h, .w = x.w, .kh = L->def.kh, .kw = L->def.kw,
                        .sh = L->def.sh, .sw = L->def.sw, .ph = L->def.ph, .pw = L->def.pw,
                        .oh = L->out.h, .ow = L->out.w};
    if (L->def.type == WN_LAYER_GAP) { /* one window over the whole map */
        d->kh = d->sh = x.h;
        d->kw = d->sw = x.w;
        d->ph = d->pw = 0;
    }
}

static const char *layer_name(const wn_net *net, int i) {
    return i < 0 ? "input" : net->layers[i].def.name;
}

/* "5" for a square window, "5x3" otherwise. */
static void window_text(char *buf, size_t n, int h, int w) {
    if (h == w)
        snprintf(buf, n, "%d", h);
    else
        snprintf(buf, n, "%dx%d", h, w);
}

/* Output shape of a convolution or pooling window, or an error when it would be empty. */
static int window_out(const wn_net *net, int i, wn_shape x, wn_shape *y, wn_err *e) {
    const wn_layer_def *d = &net->layers[i].def;
    if (x.h + 2 * d->ph < d->kh || x.w + 2 * d->pw < d->kw) {
        char k[32], p[48] = "";
        window_text(k, sizeof k, d->kh, d->kw);
        if (d->ph || d->pw) {
            char pv[32];
            window_text(pv, sizeof pv, d->ph, d->pw);
            snprintf(p, sizeof p, ", pad %s", pv);
        }
        return wn_err_set(e, WN_EINPUT,
                          "%s line %d: layer %s: output would be empty (input %dx%d, kernel %s%s)",
                          net->def.source, d->line, d->name, x.h, x.w, k, p);
    }
    y->h = (x.h + 2 * d->ph - d->kh) / d->sh + 1;
    y->w = (x.w + 2 * d->pw - d->kw) / d->sw + 1;
    return WN_OK;
}

/* Shapes, parameter blocks and offsets of every layer. */
static int plan(wn_net *net, wn_err *e) {
    const char *src = net->def.source;
    size_t np = 0, ns = 0;
    for (int i = 0; i < net->n_layers; i++) {
        wn_layer *L = &net->layers[i];
        const wn_layer_def *d = &L->def;
        wn_shape x = wn_net_in_shape(net, i), y = x;
        size_t in_count = wn_shape_sample(x);
        int rc = WN_OK;
        L->w_count = L->b_count = L->s_count = 0;
        switch (d->type) {
        case WN_LAYER_CONV:
            rc = window_out(net, i, x, &y, e);
            y.c = d->filters;
            L->w_count = (size_t)d->filters * x.c * d->kh * d->kw;
            L->b_count = d->bias ? (size_t)d->filters : 0;
            break;
        case WN_LAYER_MAXPOOL:
        case WN_LAYER_AVGPOOL:
            rc = window_out(net, i, x, &y, e);
            break;
        case WN_LAYER_GAP:
            y.h = y.w = 1;
            break;
        case WN_LAYER_DENSE:
            y.c = d->units ? d->units : net->n_classes;
            y.h = y.w = 1;
            L->w_count = (size_t)y.c * in_count;
            L->b_count = d->bias ? (size_t)y.c : 0;
            break;
        case WN_LAYER_BATCHNORM:
            L->w_count = L->b_count = (size_t)x.c;
            L->s_count = 2 * (size_t)x.c;
            break;
        case WN_LAYER_ADD: {
            wn_shape o = {1, net->def.in_c, net->def.in_h, net->def.in_w};
            if (L->other >= 0) o = net->layers[L->other].out;
            if (o.c != x.c || o.h != x.h || o.w != x.w)
                rc = wn_err_set(e, WN_EINPUT,
                                "%s line %d: layer %s: cannot add %s (%d x %d x %d) and %s "
                                "(%d x %d x %d): the shapes differ",
                                src, d->line, d->name, layer_name(net, L->in), x.c, x.h, x.w,
                                layer_name(net, L->other), o.c, o.h, o.w);
            break;
        }
        default: /* relu, leaky, dropout: same shape */
            break;
        }
        if (rc) return rc;
        if (wn_shape_sample(y) > WN_NET_MAX_SAMPLE)
            return wn_err_set(e, WN_EINPUT,
                              "%s line %d: layer %s: output of %d x %d x %d values per photo is "
                              "too large",
                              src, d->line, d->name, y.c, y.h, y.w);
        L->out = y;
        L->w_off = np;
        np += L->w_count;
        L->b_off = np;
        np += L->b_count;
        L->s_off = ns;
        ns += L->s_count;
    }
    const wn_layer *last = &net->layers[net->n_layers - 1];
    if (last->out.c != net->n_classes || last->out.h != 1 || last->out.w != 1)
        return wn_err_set(e, WN_EINPUT,
                          "%s line %d: layer %s: the last layer must give one score per class "
                          "(%d x 1 x 1) but gives %d x %d x %d; end the network with a dense layer "
                          "with 'units = classes'",
                          src, last->def.line, last->def.name, net->n_classes, last->out.c,
                          last->out.h, last->out.w);
    net->n_params = np;
    net->n_state = ns;
    return WN_OK;
}

int wn_net_create(const wn_netdef *def, int n_classes, wn_backend *be, wn_net *net, wn_err *e) {
    memset(net, 0, sizeof *net);
    if (n_classes < 1 || def->n_layers < 1)
        return wn_err_set(e, WN_EINPUT, "%s: a network needs at least one layer and one class "
                          "(got %d layers, %d classes)", def->source ? def->source : "network",
                          def->n_layers, n_classes);
    wn_netdef_copy(&net->def, def);
    net->n_classes = n_classes;
    net->n_layers = def->n_layers;
    net->layers = wn_xcalloc((size_t)def->n_layers, sizeof *net->layers);
    int *idx = wn_xcalloc(2 * (size_t)def->n_layers, sizeof *idx);
    int rc = wn_net_resolve(&net->def, NULL, NULL, idx, idx + def->n_layers, e);
    for (int i = 0; i < net->n_layers && !rc; i++) {
        net->layers[i].def = def->layers[i];
        net->layers[i].in = idx[i];
        net->layers[i].other = idx[def->n_layers + i];
    }
    free(idx);
    if (!rc) rc = plan(net, e);
    if (!rc) wn_net_mark_inplace(net);
    if (!rc) {
        net->be = be;
        /* at least one value each, so that an empty block still has an address */
        size_t np = net->n_params ? net->n_params : 1, ns = net->n_state ? net->n_state : 1;
        net->params = wn_balloc(be, np, "parameters", e);                          // (n_params)
        net->grads = net->params ? wn_balloc(be, np, "gradients", e) : NULL;       // (n_params)
        net->state = net->grads ? wn_balloc(be, ns, "batchnorm statistics", e) : NULL; // (n_state)
        if (!net->state) rc = WN_ERUNTIME;
    }
    if (rc) wn_net_free(net);
    return rc;
}

void wn_net_free(wn_net *net) {
    if (!net) return;
    wn_net_release(net);
    if (net->be) {
        void *ctx = net->be->ctx;
        if (net->params) net->be->ops->free(ctx, net->params);
        if (net->grads) net->be->ops->free(ctx, net->grads);
        if (net->state) net->be->ops->free(ctx, net->state);
    }
    free(net->layers);
    wn_netdef_free(&net->def);
    memset(net, 0, sizeof *net);
}
