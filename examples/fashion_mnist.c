/* cc -std=c99 -O2 -march=native -fopenmp examples/fashion_mnist.c -lm -o fashion_mnist && ./fashion_mnist
   Fashion-MNIST (60,000 training and 10,000 test images, 28x28, 10 classes) with an MLP
   784-256-128-10. Reads Debian's dataset-fashion-mnist files (IDX, gzip):
       sudo apt-get install dataset-fashion-mnist
   Usage: ./fashion_mnist [data-dir] [epochs]   (default /usr/share/datasets/fashion-mnist, 5) */
#define NN_IMPLEMENTATION
#include "../nn.h"
#include "gunzip.h"
#include <stdio.h>
#include <stdlib.h>

static const char *class_names[10] = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                      "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"};

static unsigned long be32(const unsigned char *p) {
    return (unsigned long)p[0] << 24 | (unsigned long)p[1] << 16 | (unsigned long)p[2] << 8 | p[3];
}

/* Reads an IDX file: images (magic 0x803, n x 28 x 28) into floats in [0, 1], or labels
   (magic 0x801). Returns the number of items, 0 on error (message printed). */
static long read_idx(const char *dir, const char *name, int images, float **x, int32_t **y) {
    char path[1024];
    const char *err;
    size_t len, i, n, item;
    unsigned char *buf;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    buf = gunzip_file(path, &len, &err);
    if (!buf) {
        fprintf(stderr, "fashion_mnist: %s: %s\n", path, err);
        fprintf(stderr, "Install the data set with:  sudo apt-get install dataset-fashion-mnist\n"
                        "or give the folder that holds the four .gz files as the first argument.\n");
        return 0;
    }
    if (len < 8 || be32(buf) != (images ? 0x803u : 0x801u) || (images && len < 16)) {
        fprintf(stderr, "fashion_mnist: %s: not an IDX %s file\n", path, images ? "image" : "label");
        free(buf);
        return 0;
    }
    n = be32(buf + 4);
    item = images ? be32(buf + 8) * be32(buf + 12) : 1;
    if ((images && item != 784) || len != (images ? 16 : 8) + n * item) {
        fprintf(stderr, "fashion_mnist: %s: unexpected size\n", path);
        free(buf);
        return 0;
    }
    if (images) {
        *x = (float *)malloc(sizeof(float) * n * item);
        for (i = 0; i < n * item; i++) (*x)[i] = buf[16 + i] / 255.0f;
    } else {
        *y = (int32_t *)malloc(sizeof(int32_t) * n);
        for (i = 0; i < n; i++) (*y)[i] = buf[8 + i];
    }
    free(buf);
    return (long)n;
}

int main(int argc, char **argv) {
    const char *dir = argc > 1 ? argv[1] : "/usr/share/datasets/fashion-mnist";
    const int epochs = argc > 2 ? atoi(argv[2]) : 5;
    float *xtr = NULL, *xte = NULL, out[10 * 8], loss, acc;
    int32_t *ytr = NULL, *yte = NULL;
    long ntr, nte, ltr, lte;
    nn_model m;
    nn_compile_config cc;
    nn_fit_config fc;
    nn_dataset train, test;
    int h, i;

    ntr = read_idx(dir, "train-images-idx3-ubyte.gz", 1, &xtr, NULL);
    ltr = ntr ? read_idx(dir, "train-labels-idx1-ubyte.gz", 0, NULL, &ytr) : 0;
    nte = ltr ? read_idx(dir, "t10k-images-idx3-ubyte.gz", 1, &xte, NULL) : 0;
    lte = nte ? read_idx(dir, "t10k-labels-idx1-ubyte.gz", 0, NULL, &yte) : 0;
    if (!lte || ntr != ltr || nte != lte) return 1;
    printf("fashion-mnist: %ld training, %ld test images; MLP 784-256-128-10, Adam, batch 64, %d epochs, %d threads\n",
           ntr, nte, epochs, nn_get_threads());

    nn_model_init(&m, NULL);
    h = nn_input(&m, 784);
    h = nn_dense_ex(&m, h, 256, 1, NN_INIT_HE_UNIFORM);
    h = nn_relu(&m, h);
    h = nn_dense_ex(&m, h, 128, 1, NN_INIT_HE_UNIFORM);
    h = nn_relu(&m, h);
    nn_dense(&m, h, 10);
    cc = nn_compile_defaults();
    cc.optimizer = nn_adam(1e-3f);
    cc.max_batch = 256;
    if (nn_model_compile(&m, &cc) != NN_OK) { fprintf(stderr, "%s\n", nn_error()); return 1; }
    train = nn_dataset_make(xtr, ntr, 784, ytr);
    test = nn_dataset_make(xte, nte, 784, yte);
    fc = nn_fit_defaults();
    fc.epochs = epochs;
    fc.batch_size = 64;
    if (nn_fit(&m, &train, &test, &fc) != NN_OK) { fprintf(stderr, "%s\n", nn_error()); return 1; }
    nn_evaluate(&m, &test, &loss, &acc);
    printf("test loss: %.4f\ntest accuracy: %.1f%%\n", loss, 100.0 * acc);
    nn_predict(&m, xte, 8, out);
    for (i = 0; i < 8; i++)
        printf("  test image %d: predicted %-11s true %s\n", i, class_names[nn_argmax(out + 10 * i, 10)], class_names[yte[i]]);
    nn_model_free(&m);
    free(xtr); free(ytr); free(xte); free(yte);
    return 0;
}
