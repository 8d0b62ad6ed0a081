/* bench_net_mem.c - the training memory of the network engine's activation buffers, per network
 * INI and batch size: activations (y), activation gradients (dy) and the accumulation scratch
 * as wn_net_reserve lays them out (relu and add in place, gradients sharing memory where their live
 * ranges do not meet), against one buffer per layer output and gradient (the layout without
 * either). Reserves at batch 1 on the CPU backend and scales (the buffers are linear in the
 * batch, up to a 64-byte rounding per layer), so even ResNet-18 at batch 256 costs nothing.
 *
 *   bench_net_mem [--batch N] NET.ini...     (default batch 256)
 * Weights, their gradients and optimizer moments come on top (printed too). Also the same
 * layout in bf16 storage (the CUDA backend's --precision bf16: 2 bytes per value, plus the bf16
 * copy of the input and the fp32 logits; per-layer rounding aside). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wn_backend.h"
#include "wn_net.h"

static int one(const char *path, int batch) {
    wn_err e = {0};
    wn_backend be;
    wn_netdef d;
    wn_net net;
    if (wn_cpu_backend_create(1, &be, &e)) goto fail;
    if (wn_netdef_parse_file(path, &d, &e)) {
        wn_backend_free(&be);
        goto fail;
    }
    int rc = wn_net_create(&d, 1000, &be, &net, &e);
    wn_netdef_free(&d);
    if (!rc) rc = wn_net_reserve(&net, 1, 1, &e);
    if (rc) {
        wn_backend_free(&be);
        goto fail;
    }
    double all = 0, own = 0, largest = 0;
    int inplace = 0;
    for (int i = 0; i < net.n_layers; i++) {
        double n = (double)wn_shape_sample(net.layers[i].out);
        all += n;
        if (net.layers[i].inplace) inplace++;
        else own += n;
        if (n > largest) largest = n;
    }
    double grads = (double)(net.scratch - net.grad_mem); /* values at batch 1 */
    double scratch = (double)net.scratch_n; /* the largest output whose gradient accumulates */
    double gb = 4.0 * batch / 1e9;
    printf("%s (1000 classes), batch %d: %d layers, %d in place (relu, add)\n", path, batch, net.n_layers, inplace);
    printf("  activations %8.2f GB   gradients %8.2f GB   scratch %6.2f GB   total %8.2f GB\n",
           own * gb, grads * gb, scratch * gb, (own + grads + scratch) * gb);
    printf("  one buffer per output and gradient, and the scratch: %.2f GB (%.2fx)\n",
           (2 * all + largest) * gb, (2 * all + largest) / (own + grads + scratch));
    double in = (double)net.def.in_c * net.def.in_h * net.def.in_w, lg = 2.0 * batch / 1e9;
    printf("  in bf16 storage (--precision bf16 on the GPU): activations %.2f GB (with the input "
           "copy), gradients %.2f GB, scratch %.2f GB, logits %.3f GB, total %.2f GB\n",
           (own + in) * lg, grads * lg, scratch * lg, net.n_classes * gb,
           (own + in + grads + scratch) * lg + net.n_classes * gb);
    printf("  weights %.1f MB, with gradients and Adam moments %.1f MB\n", net.n_params * 4.0 / 1e6,
           net.n_params * 16.0 / 1e6);
    wn_net_free(&net);
    wn_backend_free(&be);
    return 0;
fail:
    fprintf(stderr, "bench_net_mem: %s\n", e.msg);
    return 1;
}

int main(int argc, char **argv) {
    int batch = 256, rc = 0, any = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--batch") && i + 1 < argc) {
            batch = atoi(argv[++i]);
            continue;
        }
        if (batch < 1) {
            fprintf(stderr, "bench_net_mem: --batch must be at least 1\n");
            return 2;
        }
        rc |= one(argv[i], batch);
        any = 1;
    }
    if (!any) {
        fprintf(stderr, "usage: bench_net_mem [--batch N] NET.ini...\n");
        return 2;
    }
    return rc;
}
