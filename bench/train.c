/* bench/train NET [epochs]: trains one benchmark network on Fashion-MNIST (batch 64, data in
   file order so that bench/torch_ref.py sees the same batches) and prints
     train NET epoch_s=<median seconds per epoch> acc=<test accuracy> rss_mb=<peak RSS> threads=N
   NET: mlp-784-128-10 (SGD 0.1), mlp-784-256-128-10, cnn-32-64, lenet5 (Adam 1e-3). */
#include "common.h" /* first: it sets _POSIX_C_SOURCE */
#define NN_IMPLEMENTATION
#include "../nn.h"
#include "fashion.h"
#include "models.h"

int main(int argc, char **argv) {
    const char *name = argc > 1 ? argv[1] : "mlp-784-128-10";
    const int cnn = !strncmp(name, "cnn", 3) || !strncmp(name, "lenet", 5);
    const int epochs = argc > 2 ? atoi(argv[2]) : cnn ? 2 : 5;
    float *xtr, *xte, acc;
    int32_t *ytr, *yte;
    long ntr = fashion_read("train-images-idx3-ubyte.gz", &xtr, NULL), nte;
    nn_model m;
    nn_compile_config cc = bench_config(name, 64);
    nn_fit_config fc = nn_fit_defaults();
    nn_dataset train, test;
    fashion_read("train-labels-idx1-ubyte.gz", NULL, &ytr);
    nte = fashion_read("t10k-images-idx3-ubyte.gz", &xte, NULL);
    fashion_read("t10k-labels-idx1-ubyte.gz", NULL, &yte);
    nn_model_init(&m, NULL);
    if (build_net(&m, name) < 0) { fprintf(stderr, "unknown network '%s'\n", name); return 2; }
    cc.seed = 1;
    if (nn_model_compile(&m, &cc) != NN_OK) { fprintf(stderr, "%s\n", nn_error()); return 1; }
    train = nn_dataset_make(xtr, ntr, 784, ytr);
    test = nn_dataset_make(xte, nte, 784, yte);
    fc = bench_fit_config(epochs);
    if (nn_fit(&m, &train, NULL, &fc) != NN_OK) { fprintf(stderr, "%s\n", nn_error()); return 1; }
    nn_evaluate(&m, &test, NULL, &acc);
    printf("train %s epoch_s=%.3f acc=%.4f rss_mb=%.0f threads=%d epochs=%d\n", name, median(times, n_times), acc,
           peak_rss_mb(), nn_get_threads(), epochs);
    nn_model_free(&m);
    return 0;
}
