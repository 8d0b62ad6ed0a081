/* test_gpu_table.c - the CUDA backend's ops table (static data, checked without a GPU): every
 * entry of wn_backend_ops is set, its name is "cuda", and it has as many entries as the CPU
 * backend's table, so an op appended to src/wn_backend.h cannot be forgotten on the GPU. Then,
 * without a GPU, creating the backend must fail with a clear message and leave nothing behind;
 * with one, it must succeed and report the device. */
#include <stdint.h>
#include <string.h>

#include "wn_backend.h"
#include "wn_cuda.h"
#include "wn_test.h"

/* The function pointers of a table, in declaration order (after the name). */
enum { N_ENTRIES = (sizeof(wn_backend_ops) - sizeof(const char *)) / sizeof(void (*)(void)) };

static int count_set(const wn_backend_ops *t, int *first_null) {
    void (*fn[N_ENTRIES])(void);
    memcpy(fn, (const char *)t + sizeof(const char *), sizeof fn);
    int set = 0;
    *first_null = -1;
    for (int i = 0; i < N_ENTRIES; i++) {
        if (fn[i])
            set++;
        else if (*first_null < 0)
            *first_null = i;
    }
    return set;
}

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0); /* lines survive an abort or a time limit */
    const wn_backend_ops *g = wn_cuda_backend_ops();
    CHECK(g != NULL);
    CHECK(g->name && !strcmp(g->name, "cuda"));
    CHECK_MSG(offsetof(wn_backend_ops, destroy) == sizeof(const char *),
              "wn_backend_ops must start with the name, then only function pointers");
    int null_at = -1, set = count_set(g, &null_at);
    CHECK_MSG(set == N_ENTRIES, "CUDA ops table: entry %d (counting after the name) of %d is NULL",
              null_at, N_ENTRIES);

    wn_backend cpu;
    wn_err e = {0};
    CHECK(wn_cpu_backend_create(1, &cpu, &e) == WN_OK);
    int cpu_null = -1;
    CHECK_MSG(count_set(cpu.ops, &cpu_null) == N_ENTRIES, "CPU table entry %d is NULL", cpu_null);
    wn_backend_free(&cpu);

    wn_backend b;
    wn_err ce = {0};
    int rc = wn_cuda_backend_create(&b, &ce);
    if (rc == WN_OK) {
        wn_cuda_stats s;
        CHECK(wn_cuda_stats_get(&b, &s, &ce) == WN_OK);
        CHECK(s.sm_count > 0 && s.device_total > 0);
        printf("GPU present: %s (sm_%d%d, %d SMs, %.1f GiB), cuDNN %d, cuBLAS %d\n", s.device_name,
               s.cc_major, s.cc_minor, s.sm_count, s.device_total / 1073741824.0, s.cudnn_version,
               s.cublas_version);
        CHECK(b.ops == g);
        wn_backend_free(&b);
    } else {
        printf("no GPU: %s\n", ce.msg);
        CHECK(rc == WN_ERUNTIME);
        CHECK(strstr(ce.msg, "GPU") != NULL);
        CHECK(b.ops == NULL && b.ctx == NULL);
        /* the registry turns that into the CPU for auto and an error for cuda */
        wn_err re = {0};
        CHECK(wn_backend_create(WN_DEVICE_CUDA, 1, 1, &b, &re) == WN_ERUNTIME);
        CHECK(strstr(re.msg, "--device cuda") != NULL);
        CHECK(wn_backend_create(WN_DEVICE_AUTO, 1, 1, &b, &re) == WN_OK);
        CHECK(b.ops && !strcmp(b.ops->name, "cpu"));
        wn_backend_free(&b);
    }
    /* statistics refuse a backend that is not CUDA */
    CHECK(wn_cpu_backend_create(1, &cpu, &e) == WN_OK);
    wn_cuda_stats s;
    CHECK(wn_cuda_stats_get(&cpu, &s, &e) == WN_EINPUT);
    wn_backend_free(&cpu);
    return wn_test_done();
}
