/* net_print.c - the network as a table: one line per layer with its type and settings, its
 * input(s), output shape (C x H x W) and parameter count, then the totals. */
#include <string.h>

#include "net_internal.h"

/* 11689512 -> "11,689,512" */
static const char *thousands(size_t v, char *buf, size_t n) {
    char digits[32];
    int len = snprintf(digits, sizeof digits, "%zu", v), o = 0;
    for (int i = 0; i < len && (size_t)o + 2 < n; i++) {
        if (i && (len - i) % 3 == 0) buf[o++] = ',';
        buf[o++] = digits[i];
    }
    buf[o] = '\0';
    return buf;
}

static void describe(const wn_layer_def *d, char *buf, size_t n) {
    const char *t = wn_layer_type_name(d->type);
    switch (d->type) {
    case WN_LAYER_CONV:
    case WN_LAYER_MAXPOOL:
    case WN_LAYER_AVGPOOL: {
        int len = snprintf(buf, n, "%s %dx%d", t, d->kh, d->kw);
        if (d->sh != 1 || d->sw != 1)
            len += snprintf(buf + len, n - (size_t)len, d->sh == d->sw ? " /%d" : " /%dx%d", d->sh,
                            d->sw);
        if (d->ph || d->pw)
            snprintf(buf + len, n - (size_t)len, d->ph == d->pw ? " pad %d" : " pad %dx%d", d->ph,
                     d->pw);
        break;
    }
    case WN_LAYER_LEAKY:
        snprintf(buf, n, "%s %g", t, d->alpha);
        break;
    case WN_LAYER_DROPOUT:
        snprintf(buf, n, "%s %g", t, d->rate);
        break;
    default:
        snprintf(buf, n, "%s", t);
    }
}

/* Layer i's input column: "conv1", or "bn2 + conv1" for an add. */
static void inputs(const wn_net *net, int i, char *buf, size_t n) {
    const wn_layer *L = &net->layers[i];
    const char *a = L->in < 0 ? "input" : net->layers[L->in].def.name;
    if (L->def.type == WN_LAYER_ADD)
        snprintf(buf, n, "%s + %s", a, L->other < 0 ? "input" : net->layers[L->other].def.name);
    else
        snprintf(buf, n, "%s", a);
}

void wn_net_print(const wn_net *net, FILE *f) {
    char type[96], input[2 * WN_NAME_MAX + 8], shape[64], num[32];
    int wn = 5, wt = 4, wi = 5, ws = 6;
    snprintf(shape, sizeof shape, "%d x %d x %d", net->def.in_c, net->def.in_h, net->def.in_w);
    ws = (int)strlen(shape) > ws ? (int)strlen(shape) : ws;
    for (int i = 0; i < net->n_layers; i++) {
        const wn_layer *L = &net->layers[i];
        describe(&L->def, type, sizeof type);
        inputs(net, i, input, sizeof input);
        snprintf(shape, sizeof shape, "%d x %d x %d", L->out.c, L->out.h, L->out.w);
        int len[4] = {(int)strlen(L->def.name), (int)strlen(type), (int)strlen(input),
                      (int)strlen(shape)};
        int *w[4] = {&wn, &wt, &wi, &ws};
        for (int k = 0; k < 4; k++)
            if (len[k] > *w[k]) *w[k] = len[k];
    }
    fprintf(f, "%-*s  %-*s  %-*s  %-*s  %12s\n", wn, "layer", wt, "type", wi, "input", ws, "output",
            "params");
    snprintf(shape, sizeof shape, "%d x %d x %d", net->def.in_c, net->def.in_h, net->def.in_w);
    fprintf(f, "%-*s  %-*s  %-*s  %s\n", wn, "input", wt, "", wi, "", shape);
    for (int i = 0; i < net->n_layers; i++) {
        const wn_layer *L = &net->layers[i];
        describe(&L->def, type, sizeof type);
        inputs(net, i, input, sizeof input);
        snprintf(shape, sizeof shape, "%d x %d x %d", L->out.c, L->out.h, L->out.w);
        fprintf(f, "%-*s  %-*s  %-*s  %-*s  %12s\n", wn, L->def.name, wt, type, wi, input, ws,
                shape, thousands(L->w_count + L->b_count, num, sizeof num));
    }
    fprintf(f, "total: %s parameters (%.1f MB as float32)",
            thousands(net->n_params, num, sizeof num), (double)net->n_params * 4.0 / 1e6);
    if (net->n_state)
        fprintf(f, ", %s batchnorm statistics", thousands(net->n_state, num, sizeof num));
    fprintf(f, "\n");
}
