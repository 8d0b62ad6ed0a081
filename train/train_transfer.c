/* train_transfer.c - transfer learning: --init copies the layers of another model whose
 * tensors match by name and shape (and says which did and which did not), and freeze = LAYER
 * stops the updates of every layer up to and including LAYER. */
#include <stdlib.h>
#include <string.h>

#include "wn_train.h"

/* Length of the layer part of a tensor name "LAYER.role". */
static size_t layer_len(const char *tensor) {
    const char *dot = strrchr(tensor, '.');
    return dot ? (size_t)(dot - tensor) : strlen(tensor);
}

/* Why tensor r cannot be taken from m (into why), or "" when it can. */
static void mismatch(const wn_model *m, const wn_tensor_ref *r, char *why, size_t n) {
    const wn_named_tensor *t = wn_model_find(m, r->name);
    why[0] = '\0';
    if (!t) {
        snprintf(why, n, "no %s there", r->name);
        return;
    }
    int same = t->ndim == r->ndim;
    for (int d = 0; same && d < r->ndim; d++) same = t->dims[d] == r->dims[d];
    if (same) return;
    char a[64] = "", b[64] = "";
    for (int d = 0; d < t->ndim; d++)
        snprintf(a + strlen(a), sizeof a - strlen(a), "%s%d", d ? "x" : "", t->dims[d]);
    for (int d = 0; d < r->ndim; d++)
        snprintf(b + strlen(b), sizeof b - strlen(b), "%s%d", d ? "x" : "", r->dims[d]);
    snprintf(why, n, "%s is %s there, %s here", r->name, a, b);
}

int wn_transfer_init(wn_net *net, const wn_model *m, const char *path, FILE *f, wn_err *e) {
    int nt = wn_net_tensor_count(net), copied = 0, kept = 0;
    char *done = wn_xcalloc((size_t)(nt ? nt : 1), 1); // (nt) tensor already handled
    char copied_list[2048] = "", kept_list[2048] = "";
    int rc = WN_OK;
    for (int i = 0; i < nt && !rc; i++) {
        if (done[i]) continue;
        wn_tensor_ref r;
        wn_net_tensor(net, i, &r);
        size_t ll = layer_len(r.name);
        char layer[WN_NAME_MAX + 16];
        snprintf(layer, sizeof layer, "%.*s", (int)ll, r.name);
        /* every tensor of this layer must match */
        char why[256] = "";
        for (int j = i; j < nt; j++) {
            wn_tensor_ref q;
            wn_net_tensor(net, j, &q);
            if (layer_len(q.name) != ll || strncmp(q.name, layer, ll)) continue;
            done[j] = 1;
            if (!why[0]) mismatch(m, &q, why, sizeof why);
        }
        if (why[0]) {
            snprintf(kept_list + strlen(kept_list), sizeof kept_list - strlen(kept_list),
                     "%s  %s (%s)", kept ? "\n" : "", layer, why);
            kept++;
            continue;
        }
        for (int j = i; j < nt && !rc; j++) {
            wn_tensor_ref q;
            wn_net_tensor(net, j, &q);
            if (layer_len(q.name) != ll || strncmp(q.name, layer, ll)) continue;
            const wn_named_tensor *t = wn_model_find(m, q.name);
            rc = net->be->ops->upload(net->be->ctx, q.data, t->data, q.count * sizeof(float), e);
        }
        snprintf(copied_list + strlen(copied_list), sizeof copied_list - strlen(copied_list),
                 "%s%s", copied ? ", " : "", layer);
        copied++;
    }
    free(done);
    if (rc) return rc;
    if (!copied)
        return wn_err_set(e, WN_EINPUT, "--init %s: no layer of that model matches this network "
                          "by name and shape:\n%s", path, kept_list);
    fprintf(f, "init from %s: copied %d layer%s: %s\n", path, copied, copied == 1 ? "" : "s",
            copied_list);
    if (kept) fprintf(f, "  kept the fresh initialisation of %d layer%s:\n%s\n", kept,
                      kept == 1 ? "" : "s", kept_list);
    return WN_OK;
}

int wn_freeze_upto(wn_net *net, const char *layer, const char *where, int *n_frozen, wn_err *e) {
    if (n_frozen) *n_frozen = 0;
    if (!layer || !layer[0]) return WN_OK;
    int at = -1;
    for (int i = 0; i < net->n_layers && at < 0; i++)
        if (!strcmp(net->layers[i].def.name, layer)) at = i;
    if (at < 0) {
        char names[1024] = "";
        for (int i = 0; i < net->n_layers; i++)
            snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s", i ? ", " : "",
                     net->layers[i].def.name);
        return wn_err_set(e, WN_EINPUT, "%s: freeze = '%s' is not a layer of the network (layers: "
                          "%s)", where, layer, names);
    }
    for (int i = 0; i <= at; i++) net->layers[i].frozen = 1;
    if (n_frozen) *n_frozen = at + 1;
    return WN_OK;
}
