/* cc -std=c99 -O2 examples/iris.c -lm -o iris && ./iris
   Fisher's iris (data/iris.csv): 4 measurements -> 3 species, a 4-16-3 MLP with SGD and
   Nesterov momentum, 105 rows to train and 45 held out.
   Usage: ./iris [path/to/iris.csv] */
#define NN_IMPLEMENTATION
#include "../nn.h"
#include <stdio.h>
#include <math.h>

int main(int argc, char **argv) {
    const char *path = argc > 1 ? argv[1] : "data/iris.csv";
    static const char *species[3] = {"setosa", "versicolor", "virginica"};
    nn_dataset all, train, test;
    nn_model m;
    nn_compile_config cc;
    nn_fit_config fc;
    float *x, loss, acc, out[3];
    int64_t i, j;
    int h;

    if (nn_csv_load(path, -1, &all) != NN_OK) { fprintf(stderr, "iris: %s\n", nn_error()); return 1; }
    nn_dataset_shuffle(&all, 3);
    x = (float *)all.owned;
    for (j = 0; j < 4; j++) { /* standardize each column with the training rows' statistics */
        double s = 0, ss = 0, mean, sd;
        for (i = 0; i < 105; i++) { s += x[i * 4 + j]; ss += (double)x[i * 4 + j] * x[i * 4 + j]; }
        mean = s / 105;
        sd = sqrt(ss / 105 - mean * mean);
        for (i = 0; i < all.n; i++) x[i * 4 + j] = (float)((x[i * 4 + j] - mean) / sd);
    }
    train = nn_dataset_slice(&all, 0, 105);
    test = nn_dataset_slice(&all, 105, 45);

    nn_model_init(&m, NULL);
    h = nn_input(&m, 4);
    h = nn_dense_ex(&m, h, 16, 1, NN_INIT_HE_UNIFORM);
    h = nn_relu(&m, h);
    nn_dense(&m, h, 3);
    cc = nn_compile_defaults();
    cc.optimizer = nn_sgd(0.05f, 0.9f, 1);
    cc.max_batch = 16;
    if (nn_model_compile(&m, &cc) != NN_OK) { fprintf(stderr, "iris: %s\n", nn_error()); return 1; }
    fc = nn_fit_defaults();
    fc.epochs = 150;
    fc.batch_size = 16;
    fc.verbose = 0;
    if (nn_fit(&m, &train, &test, &fc) != NN_OK) { fprintf(stderr, "iris: %s\n", nn_error()); return 1; }
    nn_evaluate(&m, &test, &loss, &acc);
    printf("iris: held-out accuracy %.1f%% (45 rows), loss %.4f\n", 100.0 * acc, loss);
    for (i = 0; i < 5; i++) {
        nn_predict(&m, test.x + 4 * i, 1, out);
        printf("  row %d: predicted %-10s true %s\n", (int)i, species[nn_argmax(out, 3)], species[test.labels[i]]);
    }
    nn_model_free(&m);
    nn_dataset_free(&all);
    return 0;
}
