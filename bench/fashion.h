/* Fashion-MNIST for the benchmarks: Debian's dataset-fashion-mnist (IDX, gzip), read with
   examples/gunzip.h into floats in [0, 1]. */
#ifndef NN_BENCH_FASHION_H
#define NN_BENCH_FASHION_H
#include "../examples/gunzip.h"

#define FASHION_DIR "/usr/share/datasets/fashion-mnist"

static long fashion_read(const char *name, float **x, int32_t **y) {
    char path[512];
    const char *err;
    size_t len, i, n;
    unsigned char *b;
    snprintf(path, sizeof path, "%s/%s", getenv("FASHION_DIR") ? getenv("FASHION_DIR") : FASHION_DIR, name);
    b = gunzip_file(path, &len, &err);
    if (!b) {
        fprintf(stderr, "%s: %s (apt-get install dataset-fashion-mnist, or make bench-deps)\n", path, err);
        exit(2);
    }
    n = (size_t)b[4] << 24 | (size_t)b[5] << 16 | (size_t)b[6] << 8 | b[7];
    if (x) {
        *x = (float *)malloc(sizeof(float) * n * 784);
        for (i = 0; i < n * 784; i++) (*x)[i] = b[16 + i] / 255.0f;
    } else {
        *y = (int32_t *)malloc(sizeof(int32_t) * n);
        for (i = 0; i < n; i++) (*y)[i] = b[8 + i];
    }
    free(b);
    return (long)n;
}
#endif
