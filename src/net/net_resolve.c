/* net_resolve.c - turns the layers' "input" and "from" names into indices of earlier layers
 * (-1 = the network input), and checks that every layer but the last feeds a later one. */
#include <string.h>

#include "net_internal.h"

/* Index of the layer that name refers to for layer i; -2 and a message when there is none. */
static int find(const wn_netdef *def, int i, const char *key, const char *name, int line,
                wn_err *e) {
    const char *source = def->source ? def->source : "network";
    const wn_layer_def *l = &def->layers[i];
    if (!name[0]) {
        if (!strcmp(key, "input")) return i - 1;
        wn_err_set(e, WN_EINPUT, "%s line %d: [%s] missing key 'from'", source, line, l->name);
        return -2;
    }
    if (!strcmp(name, "input")) return -1;
    for (int j = 0; j < def->n_layers; j++) {
        if (strcmp(def->layers[j].name, name)) continue;
        if (j < i) return j;
        wn_err_set(e, WN_EINPUT,
                   "%s line %d: [%s] %s = %s: %s; a layer can only take the output of an earlier "
                   "layer (or 'input')",
                   source, line, l->name, key, name,
                   j == i ? "that is the layer itself" : "that layer comes later in the file");
        return -2;
    }
    wn_err_set(e, WN_EINPUT,
               "%s line %d: [%s] %s = %s: there is no layer called '%s' (give the section name of "
               "an earlier layer, or 'input')",
               source, line, l->name, key, name, name);
    return -2;
}

int wn_net_resolve(const wn_netdef *def, const int *in_line, const int *from_line, int *in,
                   int *other, wn_err *e) {
    int n = def->n_layers;
    for (int i = 0; i < n; i++) {
        const wn_layer_def *l = &def->layers[i];
        in[i] = find(def, i, "input", l->input, in_line ? in_line[i] : l->line, e);
        if (in[i] == -2) return WN_EINPUT;
        other[i] = -1;
        if (l->type == WN_LAYER_ADD) {
            other[i] = find(def, i, "from", l->from, from_line ? from_line[i] : l->line, e);
            if (other[i] == -2) return WN_EINPUT;
        }
    }
    for (int j = 0; j + 1 < n; j++) {
        int used = 0;
        for (int i = j + 1; i < n && !used; i++) used = in[i] == j || other[i] == j;
        if (!used)
            return wn_err_set(e, WN_EINPUT,
                              "%s line %d: [%s] its output is not used by any later layer (only "
                              "the last layer, which gives the class scores, may be unused)",
                              def->source ? def->source : "network", def->layers[j].line,
                              def->layers[j].name);
    }
    return WN_OK;
}
