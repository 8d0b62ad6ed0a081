/* wn_modelnet.h - moves a network between the backend and a model file: builds a wn_model
 * (host tensors) from a wn_net, and a wn_net from a wn_model, checking every tensor's presence
 * and shape. Also the shared inference helper that turns cached photos into probabilities. */
#ifndef WN_MODELNET_H
#define WN_MODELNET_H

#include "wn_data.h"
#include "wn_model.h"
#include "wn_net.h"

/* Fills m with the net's INI text and tensors (downloaded), class names and training counts,
 * input spec and normalisation. meta may be NULL. m must be zeroed; free with wn_model_free. */
int wn_model_from_net(const wn_net *net, char *const *class_names, const long *class_counts,
                      const float *mean, const float *std, const char *meta, wn_model *m,
                      wn_err *e);

/* Builds a net on be from a model file's INI and uploads every tensor. path names the file in
 * messages. */
int wn_net_from_model(const wn_model *m, const char *path, wn_backend *be, wn_net *net,
                      wn_err *e);
/* The network of a model for inference (classify, calibrate): wn_net_from_model, then its
 * batchnorm layers folded into the convolutions before them (wn_net_fold_batchnorm), one pass
 * over the activations fewer per pair. Both stages use this, so the scores calibrate chooses
 * thresholds on are the ones classify computes. */
int wn_net_for_inference(const wn_model *m, const char *path, wn_backend *be, wn_net *net,
                         wn_err *e);

/* Uploads the model's tensors into net by name; every net tensor must be present with the
 * same shape. */
int wn_net_load_tensors(wn_net *net, const wn_model *m, const char *path, wn_err *e);

/* Evaluation-mode probabilities for count cached photos ids (NULL = 0..count-1): probs
 * (count, K) host memory, caller-owned. x_host/x_dev scratch is managed inside. Also adds the
 * mean cross-entropy loss into *loss when loss is not NULL. */
int wn_predict_cache(wn_net *net, const wn_cache *cache, const int *ids, int count, int batch,
                     const float *mean, const float *std, float *probs, double *loss, wn_err *e);

#endif
