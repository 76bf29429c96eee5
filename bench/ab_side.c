/* One side of bench/ab: a benchmark network's training step through the nn.h named by NN_H, with
   the library's functions static (NN_STATIC) and this side's entry points suffixed by AB_SIDE, so
   that two versions of nn.h link into one program. Side a also reads the data. */
#include "common.h" /* first: it sets _POSIX_C_SOURCE */
#define NN_STATIC
#define NN_IMPLEMENTATION
#include NN_H
#include "fashion.h"
#include "models.h"

#define AB_CAT2(a, b) a##b
#define AB_CAT(a, b) AB_CAT2(a, b)

void *AB_CAT(ab_make_, AB_SIDE)(const char *net, int batch);
double AB_CAT(ab_step_, AB_SIDE)(void *m, const float *x, const int32_t *y, int batch);
long AB_CAT(ab_data_, AB_SIDE)(float **x, int32_t **y);

/* the network compiled as bench/train compiles it */
void *AB_CAT(ab_make_, AB_SIDE)(const char *net, int batch) {
    nn_model *m = (nn_model *)calloc(1, sizeof *m);
    nn_compile_config cc = bench_config(net, batch);
    if (!m) return NULL;
    nn_model_init(m, NULL);
    if (build_net(m, net) < 0) { fprintf(stderr, "unknown network '%s'\n", net); exit(2); }
    if (nn_model_compile(m, &cc) != NN_OK) { fprintf(stderr, "%s\n", nn_error()); exit(1); }
    return m;
}

double AB_CAT(ab_step_, AB_SIDE)(void *m, const float *x, const int32_t *y, int batch) {
    nn_model *mm = (nn_model *)m;
    const double t0 = now_s();
    if (nn_train_step(mm, x, y, NULL, batch, mm->config.optimizer.lr, NULL) != NN_OK) { fprintf(stderr, "%s\n", nn_error()); exit(1); }
    return now_s() - t0;
}

long AB_CAT(ab_data_, AB_SIDE)(float **x, int32_t **y) {
    long n = fashion_read("train-images-idx3-ubyte.gz", x, NULL);
    (void)median; /* (common.h's, which bench/ab.c uses) */
    return n == fashion_read("train-labels-idx1-ubyte.gz", NULL, y) ? n : -1;
}
