/* train_sam.c - sharpness-aware minimisation (sam = RHO, Foret et al. 2021): the ascent to
 * w + RHO * g / ||g|| before a batch's second gradient, and the way back. Only the trainable
 * runs of the parameters (wn_net_trainable_runs) move and count in the norm; the saved
 * weights and batchnorm statistics are backend copies, so it runs where the net runs. */
#include <math.h>
#include <string.h>

#include "wn_train.h"

int wn_sam_create(wn_sam *s, double rho, wn_net *net, wn_err *e) {
    memset(s, 0, sizeof *s);
    s->rho = rho;
    s->net = net;
    if (!(rho > 0)) return WN_OK;
    s->w = wn_balloc(net->be, net->n_params, "sharpness-aware weights", e); // (n_params)
    if (!s->w) return WN_ERUNTIME;
    if (net->n_state) {
        s->s = wn_balloc(net->be, net->n_state, "sharpness-aware statistics", e); // (n_state)
        if (!s->s) return WN_ERUNTIME;
    }
    return WN_OK;
}

typedef struct span_sum {
    const wn_net *net;
    double sum;
} span_sum;

static void add_sumsq(void *u, size_t off, size_t count) {
    span_sum *a = u;
    wn_backend *be = a->net->be;
    a->sum += be->ops->sumsq(be->ctx, count, a->net->grads + off);
}

static void step_along(void *u, size_t off, size_t count) {
    const wn_sam *s = u;
    wn_backend *be = s->net->be;
    be->ops->axpy(be->ctx, count, (float)s->scale, s->net->grads + off, s->net->params + off);
}

int wn_sam_ascend(wn_sam *s) {
    s->scale = 0;
    if (!s->w) return 0;
    wn_net *net = s->net;
    wn_backend *be = net->be;
    span_sum a = {net, 0};
    wn_net_trainable_runs(net, add_sumsq, &a);
    double norm = sqrt(a.sum);
    if (!(norm > 0) || !isfinite(norm)) return 0;
    s->scale = s->rho / norm;
    be->ops->copy(be->ctx, s->w, net->params, net->n_params * sizeof(float));
    if (s->s) be->ops->copy(be->ctx, s->s, net->state, net->n_state * sizeof(float));
    wn_net_trainable_runs(net, step_along, s);
    return 1;
}

void wn_sam_restore(wn_sam *s) {
    if (!s->scale) return;
    wn_net *net = s->net;
    wn_backend *be = net->be;
    be->ops->copy(be->ctx, net->params, s->w, net->n_params * sizeof(float));
    if (s->s) be->ops->copy(be->ctx, net->state, s->s, net->n_state * sizeof(float));
    s->scale = 0;
}

void wn_sam_free(wn_sam *s) {
    if (!s->net) return;
    wn_backend *be = s->net->be;
    if (s->w) be->ops->free(be->ctx, s->w);
    if (s->s) be->ops->free(be->ctx, s->s);
    memset(s, 0, sizeof *s);
}
