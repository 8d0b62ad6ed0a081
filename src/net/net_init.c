/* net_init.c - PyTorch's default initialisation, generated on the host with a seeded PCG32
 * stream per layer (adding a layer does not change the others' values) and uploaded once:
 * conv and dense weights and biases U(-1/sqrt(fan_in), 1/sqrt(fan_in)) (kaiming_uniform with
 * a = sqrt(5)), batchnorm gamma 1, beta 0, running mean 0, running variance 1. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "net_internal.h"
#include "wn_rng.h"

/* p: (count) host */
static void uniform(wn_rng *r, float *p, size_t count, float bound) {
    for (size_t i = 0; i < count; i++) p[i] = (2.0f * wn_rng_uniform(r) - 1.0f) * bound;
}

int wn_net_init(wn_net *net, uint64_t seed, wn_err *e) {
    float *p = wn_xcalloc(net->n_params ? net->n_params : 1, sizeof(float)); // (n_params) host
    float *s = wn_xcalloc(net->n_state ? net->n_state : 1, sizeof(float)); // (n_state) host
    for (int i = 0; i < net->n_layers; i++) {
        const wn_layer *L = &net->layers[i];
        wn_rng r;
        wn_rng_seed(&r, seed, (uint64_t)i + 1);
        if (L->def.type == WN_LAYER_BATCHNORM) {
            for (size_t k = 0; k < L->w_count; k++) p[L->w_off + k] = 1.0f; /* gamma */
            for (size_t k = 0; k < L->s_count / 2; k++) {
                s[L->s_off + k] = 0.0f; /* mean */
                s[L->s_off + L->s_count / 2 + k] = 1.0f; /* var */
            }
        } else if (L->w_count) {
            /* conv: (OC, C, KH, KW), fan_in = C*KH*KW; dense: (OUT, IN), fan_in = IN */
            size_t fan_in = L->w_count / (size_t)L->out.c;
            float bound = 1.0f / sqrtf((float)fan_in);
            uniform(&r, p + L->w_off, L->w_count, bound);
            uniform(&r, p + L->b_off, L->b_count, bound);
        }
    }
    const wn_backend_ops *ops = net->be->ops;
    int rc = ops->upload(net->be->ctx, net->params, p, net->n_params * sizeof(float), e);
    if (!rc) rc = ops->upload(net->be->ctx, net->state, s, net->n_state * sizeof(float), e);
    if (!rc) ops->fill(net->be->ctx, net->grads, net->n_params, 0.0f);
    free(p);
    free(s);
    return rc;
}
