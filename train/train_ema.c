/* train_ema.c - an exponential moving average of the weights (ema = DECAY, --ema): after every
 * optimizer step the shadow copy moves towards the weights, shadow = d*shadow + (1-d)*weights,
 * with d = min(DECAY, (1 + step) / (10 + step)) so that the first steps do not tie the average
 * to the random initialisation; the batchnorm running statistics are averaged alike. Validation,
 * the best model and the plots use the shadow (swapped in and out around them); training and the
 * saved training state keep the weights themselves, with the shadow beside them for --resume.
 * Backend memory and ops only (copy, axpy), so it runs where the net runs. */
#include <string.h>

#include "wn_train.h"

int wn_ema_create(wn_ema *a, double decay, wn_net *net, wn_err *e) {
    memset(a, 0, sizeof *a);
    if (!(decay > 0)) return WN_OK;
    a->decay = decay;
    a->net = net;
    size_t most = net->n_params > net->n_state ? net->n_params : net->n_state;
    a->w = wn_balloc(net->be, net->n_params, "weight average", e); // (n_params)
    if (!a->w) return WN_ERUNTIME;
    if (net->n_state) {
        a->s = wn_balloc(net->be, net->n_state, "statistics average", e); // (n_state)
        if (!a->s) return WN_ERUNTIME;
    }
    a->tmp = wn_balloc(net->be, most, "weight average swap", e); // (max(n_params, n_state))
    if (!a->tmp) return WN_ERUNTIME;
    wn_ema_reset(a);
    return WN_OK;
}

void wn_ema_reset(wn_ema *a) {
    if (!a->w) return;
    const wn_backend *be = a->net->be;
    be->ops->copy(be->ctx, a->w, a->net->params, a->net->n_params * sizeof(float));
    if (a->s) be->ops->copy(be->ctx, a->s, a->net->state, a->net->n_state * sizeof(float));
}

double wn_ema_decay_at(double decay, long step) {
    double warm = (1.0 + (double)step) / (10.0 + (double)step);
    return warm < decay ? warm : decay;
}

/* avg = d*avg + (1-d)*x, as avg += -(1-d)*avg, then avg += (1-d)*x */
static void move(const wn_backend *be, size_t n, float *avg, const float *x, double d) {
    be->ops->axpy(be->ctx, n, (float)-(1.0 - d), avg, avg);
    be->ops->axpy(be->ctx, n, (float)(1.0 - d), x, avg);
}

void wn_ema_update(wn_ema *a, long step) {
    if (!a->w) return;
    const wn_backend *be = a->net->be;
    double d = wn_ema_decay_at(a->decay, step);
    move(be, a->net->n_params, a->w, a->net->params, d);
    if (a->s) move(be, a->net->n_state, a->s, a->net->state, d);
}

static void exchange(const wn_backend *be, float *x, float *y, float *tmp, size_t n) {
    size_t bytes = n * sizeof(float);
    be->ops->copy(be->ctx, tmp, x, bytes);
    be->ops->copy(be->ctx, x, y, bytes);
    be->ops->copy(be->ctx, y, tmp, bytes);
}

void wn_ema_swap(wn_ema *a) {
    if (!a->w) return;
    const wn_backend *be = a->net->be;
    exchange(be, a->net->params, a->w, a->tmp, a->net->n_params);
    if (a->s) exchange(be, a->net->state, a->s, a->tmp, a->net->n_state);
    a->swapped = !a->swapped;
}

void wn_ema_free(wn_ema *a) {
    if (!a->net) return;
    const wn_backend *be = a->net->be;
    if (a->w) be->ops->free(be->ctx, a->w);
    if (a->s) be->ops->free(be->ctx, a->s);
    if (a->tmp) be->ops->free(be->ctx, a->tmp);
    memset(a, 0, sizeof *a);
}
