/* bench/infer NET: inference speed of a benchmark network on Fashion-MNIST test images:
     infer NET batch1_us=<median latency of one image, microseconds> batch256_ips=<images/s> threads=N
   Batch 1 runs single-threaded by design (the library does not start threads for tiny work).
   Weights are the initial ones: the arithmetic, and so the time, does not depend on them. */
#include "common.h" /* first: it sets _POSIX_C_SOURCE */
#define NN_IMPLEMENTATION
#include "../nn.h"
#include "fashion.h"
#include "models.h"

int main(int argc, char **argv) {
    const char *name = argc > 1 ? argv[1] : "mlp-784-128-10";
    float *x;
    double t1[2001], t256[41];
    long n = fashion_read("t10k-images-idx3-ubyte.gz", &x, NULL);
    nn_model m;
    nn_compile_config cc = nn_compile_defaults();
    nn_tensor out;
    int i, reps1 = 2001, reps256 = 21;
    volatile float sink = 0;
    nn_model_init(&m, NULL);
    if (build_net(&m, name) < 0) { fprintf(stderr, "unknown network '%s'\n", name); return 2; }
    cc.max_batch = 256;
    cc.inference_only = 1;
    if (nn_model_compile(&m, &cc) != NN_OK) { fprintf(stderr, "%s\n", nn_error()); return 1; }
    if (strncmp(name, "mlp", 3)) { reps1 = 201; reps256 = 11; }
    for (i = 0; i < 100; i++) nn_forward(&m, x + 784 * (i % n), 1, &out); /* warm-up */
    for (i = 0; i < reps1; i++) {
        double a = now_s();
        nn_forward(&m, x + 784 * (i % n), 1, &out);
        t1[i] = now_s() - a;
        sink += out.data[0];
    }
    for (i = 0; i < reps256; i++) {
        double a = now_s();
        nn_forward(&m, x + 784 * (256 * i % (n - 256)), 256, &out);
        t256[i] = now_s() - a;
        sink += out.data[0];
    }
    printf("infer %s batch1_us=%.2f batch256_ips=%.0f threads=%d\n", name, 1e6 * median(t1, reps1),
           256.0 / median(t256, reps256), nn_get_threads());
    nn_model_free(&m);
    free(x);
    return sink == 12345.0f;
}
