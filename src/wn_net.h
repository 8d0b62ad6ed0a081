/* wn_net.h - the network: its definition parsed from the INI language (see samples/nets/ and
 * docs/NETWORK_INI.md) and its instance on a backend (parameters, activations, forward and
 * backward passes).
 *
 * INI language (inih; lines under 200 characters; every section name unique):
 *   [net]      width, height, channels, mean, std (comma lists, one per channel, or
 *              "mean = auto" / "std = auto": computed from the training photos)
 *   [train]    training settings: kept as raw key/value pairs, interpreted by train/
 *   [NAME]     one layer, with "type = conv|maxpool|avgpool|gap|dense|relu|leaky|dropout|
 *              batchnorm|add"; "input = LAYER" takes another layer's output (default: the previous
 *              layer; "input" is the network input); an add layer sums its input and "from = LAYER".
 *   conv:      filters, size (or size_h/size_w), stride (1), pad (0), bias (1)
 *   maxpool/avgpool: size, stride (= size), pad (0)   (stride_h/_w, pad_h/_w also accepted)
 *   dense:     units (or "units = classes": the number of classes); flattens (C,H,W) input
 *   leaky:     alpha (0.01);  dropout: rate (0.5);  batchnorm: momentum (0.1), eps (1e-5)
 * Unknown sections and keys and out-of-range values are input errors naming file, line, section
 * and key. Every layer but the last must feed a later one. Full reference: docs/NETWORK_INI.md. */
#ifndef WN_NET_H
#define WN_NET_H

#include <stdint.h>
#include <stdio.h>

#include "wn_backend.h"
#include "wn_err.h"
#include "wn_tensor.h"

enum {
    WN_LAYER_CONV, WN_LAYER_MAXPOOL, WN_LAYER_AVGPOOL, WN_LAYER_GAP, WN_LAYER_DENSE,
    WN_LAYER_RELU, WN_LAYER_LEAKY, WN_LAYER_DROPOUT, WN_LAYER_BATCHNORM, WN_LAYER_ADD,
    WN_LAYER_NTYPES
};

#define WN_NAME_MAX 64

typedef struct wn_layer_def {
    char name[WN_NAME_MAX];  /* section name */
    int type;                /* WN_LAYER_* */
    char input[WN_NAME_MAX]; /* "" = previous layer, "input" = network input */
    char from[WN_NAME_MAX];  /* add: second operand */
    int filters;             /* conv */
    int kh, kw, sh, sw, ph, pw; /* conv and pooling */
    int bias;                /* conv/dense: 1 = has a bias */
    int units;               /* dense; 0 = number of classes */
    float alpha;             /* leaky */
    float rate;              /* dropout */
    float momentum, eps;     /* batchnorm */
    int line;                /* INI line of the section header, for messages */
} wn_layer_def;

typedef struct wn_kv {
    char *key, *value; /* owned */
    int line;
} wn_kv;

typedef struct wn_netdef {
    char *source;            /* file name for messages, owned */
    char *ini_text;          /* the whole INI text as read, owned (stored in model files) */
    int in_c, in_h, in_w;    /* input (C, H, W) */
    float mean[3], std[3];   /* per-channel normalisation of pixels scaled to [0,1] */
    int norm_auto;           /* mean/std = auto: computed from the training photos */
    int n_layers;
    wn_layer_def *layers;    /* (n_layers), file order, which is also execution order */
    int n_train;
    wn_kv *train;            /* (n_train) raw [train] pairs, for train/ to interpret */
} wn_netdef;

/* On failure def is left zeroed (nothing to free). */
int wn_netdef_parse_file(const char *path, wn_netdef *def, wn_err *e);
/* Parses INI text (e.g. from a model file); name is used in messages. */
int wn_netdef_parse_string(const char *text, const char *name, wn_netdef *def, wn_err *e);
void wn_netdef_free(wn_netdef *def);

/* One layer of an instantiated network. */
typedef struct wn_layer {
    wn_layer_def def;
    int in;                  /* index of the input layer, -1 = network input */
    int other;               /* add: index of the second operand, -1 = network input */
    wn_shape out;            /* output shape with n = 1 (per sample) */
    size_t w_off, w_count;   /* weights (conv: (OC,C,KH,KW); dense: (OUT,IN); bn: gamma (C)) in params */
    size_t b_off, b_count;   /* bias (OC) / beta (C) in params; b_count 0 = none */
    size_t s_off, s_count;   /* bn running mean then running var (2C) in state */
    int frozen;              /* 1: parameters are not updated */
    int inplace;             /* 1: a relu/leaky whose y and dy are its input layer's (see
                              * net_reserve.c): computed in place, like PyTorch's inplace=True;
                              * also a folded batchnorm (its y is its convolution's) */
    int folded;              /* batchnorm: merged into the convolution before it (net_fold.c);
                              * computes nothing */
    int fold_bias;           /* conv: a batchnorm was folded into it; its bias is then the
                              * (OC) values at params + fb_off */
    size_t fb_off;
    float *y, *dy;           /* (N, out) activations and their gradient, backend memory */
    float *aux;              /* dropout mask (N, out), or bn save_mean/save_invstd (2C) */
} wn_layer;

typedef struct wn_net {
    wn_netdef def;           /* owned copy */
    int n_classes;
    int n_layers;
    wn_layer *layers;        /* (n_layers) */
    wn_backend *be;          /* not owned */
    size_t n_params, n_state;
    float *params;           /* (n_params) every trainable parameter, backend memory */
    float *grads;            /* (n_params) their gradients */
    float *state;            /* (n_state) batchnorm running statistics */
    int batch;               /* batch size the activation buffers hold, 0 = none yet */
    int n_folded;            /* batchnorm layers folded into convolutions: inference only */
    int training_buffers;    /* 1: dy/aux buffers for backward are allocated */
    /* activation storage, one backend allocation per role; the layers' y, dy and aux point
     * into these (owned by the net, managed by wn_net_reserve) */
    float *act_mem;          /* every layer's y */
    float *grad_mem;         /* every layer's dy, then the scratch buffer */
    float *aux_mem;          /* every layer's aux */
    float *scratch;          /* (scratch_n) inside grad_mem, after the gradients: backward ops
                                write here when a dy already holds another consumer's part */
    size_t scratch_n;        /* batch * largest output with two or more consumers (0: none) */
    /* bf16 activation storage (the backend's act_bf16, decided when the buffers are made): every
     * layer's y and dy and the scratch are bf16 (2-byte elements, see wn_backend.h), the
     * network input is cast into in_lp before the first layer, and the last layer's output is
     * cast into the fp32 logits that wn_net_forward returns; dlogits is cast into the last dy */
    int lp;                  /* 1: bf16 storage; 0: fp32 (every CPU run) */
    float *in_lp;            /* (N, in_c, in_h, in_w) bf16, inside act_mem; NULL without lp */
    float *logits;           /* (N, n_classes) fp32, own allocation; NULL without lp */
} wn_net;

/* Resolves layers (names, inputs, shapes, parameter counts) and allocates params/grads/state on
 * the backend. Errors (shape that does not fit, unknown input name, add of different shapes)
 * name the file, line and layer. def is copied. */
int wn_net_create(const wn_netdef *def, int n_classes, wn_backend *be, wn_net *net, wn_err *e);
void wn_net_free(wn_net *net);

/* Prints one line per layer: name, type, output shape (C x H x W), parameter count; then the
 * total. */
void wn_net_print(const wn_net *net, FILE *f);

/* PyTorch-default initialisation: weights and biases U(-1/sqrt(fan_in), 1/sqrt(fan_in));
 * batchnorm gamma 1, beta 0, running mean 0, var 1. Seeded. */
int wn_net_init(wn_net *net, uint64_t seed, wn_err *e);

/* For inference only (classify, calibrate), before wn_net_reserve: merges every batchnorm
 * layer whose input is a convolution feeding nothing else into that convolution's weights and
 * bias (evaluation-mode statistics), so the batchnorm computes nothing (net_fold.c). The outputs
 * agree with the unfolded network's to rounding. The number folded goes to *n_folded (may be
 * NULL). Afterwards the network cannot train (wn_net_reserve refuses training buffers). */
int wn_net_fold_batchnorm(wn_net *net, int *n_folded, wn_err *e);

/* Allocates activation buffers for batches of up to batch photos (training adds gradients).
 * Buffers only grow: a smaller batch, or training = 0 after training buffers exist, keeps them. */
int wn_net_reserve(wn_net *net, int batch, int training, wn_err *e);

/* Forward pass on n <= batch photos x (N, in_c, in_h, in_w) backend memory. training selects
 * batch statistics and dropout (seeded with seed). Returns the logits (N, n_classes), backend
 * memory owned by the net. */
const float *wn_net_forward(wn_net *net, int n, const float *x, int training, uint64_t seed);
/* Backward pass from dlogits (N, n_classes) after a training forward; overwrites net->grads
 * (no accumulation across calls), except those of frozen layers, which are left untouched. */
void wn_net_backward(wn_net *net, int n, const float *x, const float *dlogits);

/* Named tensors: "LAYER.weight", "LAYER.bias", "LAYER.running_mean", "LAYER.running_var".
 * Each call of wn_net_tensor(net, i, ...) describes tensor i < wn_net_tensor_count(net). */
typedef struct wn_tensor_ref {
    char name[WN_NAME_MAX + 16];
    int ndim, dims[4];
    size_t count;
    float *data;             /* backend memory inside params or state */
} wn_tensor_ref;
int wn_net_tensor_count(const wn_net *net);
void wn_net_tensor(const wn_net *net, int i, wn_tensor_ref *ref);

#endif
