/* net_internal.h - declarations shared by the files of src/net/ only: the raw sections collected
 * while inih reads a network INI, the value parsers with their messages, the layer key tables,
 * layer name resolution and the activation layout. Not part of the library's interface. */
#ifndef WN_NET_INTERNAL_H
#define WN_NET_INTERNAL_H

#include <stddef.h>

#include "wn_net.h"

/* Longest section name: inih keeps 49 characters, we leave room to spare. */
#define WN_NET_NAME_LEN 48

/* One [section] as written: its name, header line and its key/value pairs (file order). */
typedef struct wn_nd_section {
    char name[WN_NET_NAME_LEN + 1];
    int line; /* line of the [name] header */
    int kv0, n_kv; /* range in wn_nd_raw.kv */
} wn_nd_section;

/* Everything read from the INI text before it is interpreted. */
typedef struct wn_nd_raw {
    const char *source; /* name used in messages, not owned */
    int n_sections, cap_sections;
    wn_nd_section *sections; /* (n_sections), owned */
    int n_kv, cap_kv;
    wn_kv *kv; /* (n_kv), owned, grouped by section */
} wn_nd_raw;

void wn_nd_raw_free(wn_nd_raw *raw);

/* net_reserve.c: sets layers[i].inplace for the activations computed in place. */
void wn_net_mark_inplace(wn_net *net);

/* netdef_values.c: number parsing for the INI language. Each sets e to
 * "SOURCE line N: [SECTION] KEY = VALUE: <problem> (<allowed range>)" on failure. */
typedef struct wn_nd_where {
    const char *source, *section;
    const wn_kv *kv;
} wn_nd_where;
int wn_nd_int(const wn_nd_where *w, long lo, long hi, int *out, wn_err *e);
/* lo/hi inclusive unless lo_open/hi_open. */
int wn_nd_float(const wn_nd_where *w, double lo, int lo_open, double hi, int hi_open, float *out,
                wn_err *e);
/* A comma list of 1..max floats in [lo, hi] (lo exclusive when lo_open); returns the count in *n.
 */
int wn_nd_float_list(const wn_nd_where *w, int max, double lo, int lo_open, double hi, float *out,
                     int *n, wn_err *e);
/* A layer name: letters, digits, '_' and '-', at most WN_NET_NAME_LEN characters. */
int wn_nd_name_ok(const char *s);

/* netdef_layers.c: interprets the raw sections ([net], [train], layers) into def. */
int wn_nd_interpret(const wn_nd_raw *raw, wn_netdef *def, wn_err *e);
/* "conv", "maxpool", ... for WN_LAYER_*. */
const char *wn_layer_type_name(int type);

/* net_resolve.c: resolves every layer's input/from names to earlier layer indices (-1 = the
 * network input) and checks that every layer but the last is used. in_line/from_line give the
 * line of each layer's input/from key for messages (NULL: the section's header line). in and
 * other are (n_layers) outputs. */
int wn_net_resolve(const wn_netdef *def, const int *in_line, const int *from_line, int *in,
                   int *other, wn_err *e);

/* netdef_parse.c: deep copy of a definition (dst is overwritten). */
void wn_netdef_copy(wn_netdef *dst, const wn_netdef *src);

/* net_build.c: the descriptors the backend ops take, for layer l at batch size n. */
void wn_net_conv_desc(const wn_net *net, int l, int n, wn_conv_desc *d);
void wn_net_pool_desc(const wn_net *net, int l, int n, wn_pool_desc *d);
/* The shape (n = 1) of layer l's input (l's "in" or the network input). */
wn_shape wn_net_in_shape(const wn_net *net, int l);

/* net_reserve.c: frees every activation buffer. */
void wn_net_release(wn_net *net);

#endif
