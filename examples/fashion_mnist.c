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

/* One gzip'ed IDX file of the data set as a tensor (nn_idx_load_mem reads the IDX layout). */
static int read_idx(const char *dir, const char *name, nn_tensor *t) {
    char path[1024];
    const char *err;
    size_t len;
    unsigned char *buf;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    buf = gunzip_file(path, &len, &err);
    if (!buf) {
        fprintf(stderr, "fashion_mnist: %s: %s\n", path, err);
        fprintf(stderr, "Install the data set with:  sudo apt-get install dataset-fashion-mnist\n"
                        "or give the folder that holds the four .gz files as the first argument.\n");
        return 1;
    }
    if (nn_idx_load_mem(buf, len, t) != NN_OK) {
        fprintf(stderr, "fashion_mnist: %s: %s\n", path, nn_error());
        free(buf);
        return 1;
    }
    free(buf);
    return 0;
}

/* images (n, 28, 28) scaled to [0, 1] and labels (n) as a data set */
static int load_split(const char *dir, const char *images, const char *labels, nn_dataset *d) {
    nn_tensor x, y;
    int64_t i;
    int r = 1;
    if (read_idx(dir, images, &x)) return 1;
    if (read_idx(dir, labels, &y)) { nn_tensor_free(&x); return 1; }
    for (i = 0; i < nn_tensor_numel(&x); i++) x.data[i] /= 255.0f;
    if (x.ndim != 3 || x.shape[1] * x.shape[2] != 784) fprintf(stderr, "fashion_mnist: %s: not 28x28 images\n", images);
    else if (nn_dataset_from_tensors(&x, &y, d) != NN_OK) fprintf(stderr, "fashion_mnist: %s\n", nn_error());
    else r = 0;
    nn_tensor_free(&x);
    nn_tensor_free(&y);
    return r;
}

int main(int argc, char **argv) {
    const char *dir = argc > 1 ? argv[1] : "/usr/share/datasets/fashion-mnist";
    const int epochs = argc > 2 ? atoi(argv[2]) : 5;
    float out[10 * 8], loss, acc;
    nn_model m;
    nn_compile_config cc;
    nn_fit_config fc;
    nn_dataset train, test;
    int h, i;

    if (load_split(dir, "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", &train)) return 1;
    if (load_split(dir, "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz", &test)) return 1;
    printf("fashion-mnist: %ld training, %ld test images; MLP 784-256-128-10, Adam, batch 64, %d epochs, %d threads\n",
           (long)train.n, (long)test.n, epochs, nn_get_threads());

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
    fc = nn_fit_defaults();
    fc.epochs = epochs;
    fc.batch_size = 64;
    if (nn_fit(&m, &train, &test, &fc) != NN_OK) { fprintf(stderr, "%s\n", nn_error()); return 1; }
    nn_evaluate(&m, &test, &loss, &acc);
    printf("test loss: %.4f\ntest accuracy: %.1f%%\n", loss, 100.0 * acc);
    nn_predict(&m, test.x, 8, out);
    for (i = 0; i < 8; i++)
        printf("  test image %d: predicted %-11s true %s\n", i, class_names[nn_argmax(out + 10 * i, 10)],
               class_names[test.labels[i]]);
    nn_model_free(&m);
    nn_dataset_free(&train);
    nn_dataset_free(&test);
    return 0;
}
