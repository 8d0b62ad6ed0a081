/* train_optim.c - the optimizer: moment buffers on the backend and one update per step over
 * every parameter block of the non-frozen layers (the runs of wn_net_trainable_runs). */
#include <stdlib.h>
#include <string.h>

#include "wn_train.h"

int wn_optim_create(wn_optim *o, const wn_train_cfg *cfg, wn_net *net, wn_err *e) {
    memset(o, 0, sizeof *o);
    o->cfg = cfg;
    o->net = net;
    o->v = wn_balloc(net->be, net->n_params, "optimizer state", e); // (n_params)
    if (!o->v) return WN_ERUNTIME;
    if (cfg->optimizer != WN_OPT_SGD) {
        o->m = wn_balloc(net->be, net->n_params, "optimizer state", e); // (n_params)
        if (!o->m) return WN_ERUNTIME;
    }
    return WN_OK;
}

static void update(wn_optim *o, size_t off, size_t count, float lr) {
    const wn_train_cfg *c = o->cfg;
    wn_backend *be = o->net->be;
    float *w = o->net->params + off, *g = o->net->grads + off;
    if (c->optimizer == WN_OPT_SGD)
        be->ops->sgd_update(be->ctx, count, w, g, o->v + off, lr, (float)c->momentum, c->nesterov,
                            (float)c->weight_decay);
    else
        be->ops->adam_update(be->ctx, count, w, g, o->m + off, o->v + off, lr, (float)c->beta1,
                             (float)c->beta2, (float)c->eps, (float)c->weight_decay,
                             c->optimizer == WN_OPT_ADAMW, (int)o->step);
}

void wn_net_trainable_runs(const wn_net *net, wn_span_fn fn, void *u) {
    /* contiguous runs of non-frozen parameters are passed in one call */
    size_t run_start = 0, run_end = 0;
    for (int i = 0; i < net->n_layers; i++) {
        const wn_layer *l = &net->layers[i];
        size_t blocks[2][2] = {{l->w_off, l->w_count}, {l->b_off, l->b_count}};
        for (int b = 0; b < 2; b++) {
            if (!blocks[b][1]) continue;
            if (l->frozen) continue;
            if (blocks[b][0] == run_end) {
                run_end += blocks[b][1];
            } else {
                if (run_end > run_start) fn(u, run_start, run_end - run_start);
                run_start = blocks[b][0];
                run_end = run_start + blocks[b][1];
            }
        }
    }
    if (run_end > run_start) fn(u, run_start, run_end - run_start);
}

typedef struct step_args {
    wn_optim *o;
    float lr;
} step_args;

static void update_span(void *u, size_t off, size_t count) {
    step_args *a = u;
    update(a->o, off, count, a->lr);
}

void wn_optim_step(wn_optim *o, double lr) {
    o->step++;
    step_args a = {o, (float)lr};
    wn_net_trainable_runs(o->net, update_span, &a);
}

void wn_optim_free(wn_optim *o) {
    if (!o->net) return;
    wn_backend *be = o->net->be;
    if (o->m) be->ops->free(be->ctx, o->m);
    if (o->v) be->ops->free(be->ctx, o->v);
    memset(o, 0, sizeof *o);
}
