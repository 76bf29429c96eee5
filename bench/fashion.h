/* Fashion-MNIST for the benchmarks: Debian's dataset-fashion-mnist (IDX, gzip), read with
   examples/gunzip.h into floats in [0, 1]. */
#ifndef NN_BENCH_FASHION_H
#define NN_BENCH_FASHION_H
#include "../examples/gunzip.h"

#define FASHION_DIR "/usr/share/datasets/fashion-mnist"

/* One gzip'ed IDX file: images scaled to [0, 1] into *x, or labels into *y (malloc'd). */
static long fashion_read(const char *name, float **x, int32_t **y) {
    char path[512];
    const char *err;
    size_t len;
    int64_t i, n;
    unsigned char *b;
    nn_tensor t;
    snprintf(path, sizeof path, "%s/%s", getenv("FASHION_DIR") ? getenv("FASHION_DIR") : FASHION_DIR, name);
    b = gunzip_file(path, &len, &err);
    if (!b) {
        fprintf(stderr, "%s: %s (apt-get install dataset-fashion-mnist, or make bench-deps)\n", path, err);
        exit(2);
    }
    if (nn_idx_load_mem(b, len, &t) != NN_OK) { fprintf(stderr, "%s: %s\n", path, nn_error()); exit(2); }
    free(b);
    n = t.shape[0];
    if (x) {
        for (i = 0; i < nn_tensor_numel(&t); i++) t.data[i] /= 255.0f;
        *x = t.data; /* owned by the tensor: malloc'd, freed with free() */
        return (long)n;
    }
    *y = (int32_t *)malloc(sizeof(int32_t) * (size_t)n);
    for (i = 0; i < n; i++) (*y)[i] = (int32_t)t.data[i];
    nn_tensor_free(&t);
    return (long)n;
}
#endif
