/* bench/quant NET [epochs]: int8 against float for a benchmark network on Fashion-MNIST:
   trains it (as bench/train does), quantizes it (calibrated on 1000 training images), and
   prints test accuracy, file size, batch-1 latency (median, single-threaded) and batch-256
   throughput of both (float images in: nn_forward against nn_qpredict, which quantizes them), and
   of the same model quantized with 7- and 6-bit weights (nn_quant_config.weight_bits 7: in
   [-64, 64]; 6: in [-32, 32]):
     quant NET float_acc= int8_acc= float_bytes= int8_bytes= float_us= int8_us= float_ips= int8_ips=
           w7_acc= w7_us= w7_ips= w6_acc= w6_us= w6_ips=
           x1=int8,w7,w6 x256=int8,w7,w6 (speed-ups over float at batch 1 and 256) */
#include "common.h" /* first: it sets _POSIX_C_SOURCE */
#define NN_IMPLEMENTATION
#include "../nn.h"
#include "fashion.h"
#include "models.h"

/* median seconds per call of float (nn_forward) and each int8 model (nn_qpredict: float images
   in, float probabilities out, the input's quantization included) on batches of b, taken in
   turn each repetition, so that a noisy machine's drift falls on all of them alike; each timed
   call follows an untimed one of the same model (its weights back in cache, as in a loop);
   ratio: each int8 model's speed-up over float, the median of the repetitions' ratios */
static void time_all(nn_model *m, nn_qmodel **qs, int nq, const float *x, int64_t n, int64_t b, int reps, float *out, double *med,
                     double *ratio) {
    static double t[4][201], r[201];
    nn_tensor o;
    int i, k;
    for (i = 0; i < reps; i++)
        for (k = 0; k <= nq; k++) {
            const float *xi = x + 784 * (i * b % (n - b));
            int r;
            double a = 0;
            for (r = 0; r < 2; r++) {
                a = now_s();
                if (k == 0) nn_forward(m, xi, b, &o);
                else nn_qpredict(qs[k - 1], xi, b, out);
            }
            t[k][i] = now_s() - a;
        }
    for (k = 0; k <= nq; k++) {
        med[k] = median(t[k], reps);
        if (k == 0) continue;
        for (i = 0; i < reps; i++) r[i] = t[0][i] / t[k][i];
        ratio[k - 1] = median(r, reps);
    }
}

int main(int argc, char **argv) {
    const char *name = argc > 1 ? argv[1] : "mlp-784-128-10";
    const int cnn = strncmp(name, "mlp", 3) != 0, epochs = argc > 2 ? atoi(argv[2]) : cnn ? 2 : 5;
    float *xtr, *xte, acc_f;
    int32_t *ytr, *yte;
    long ntr = fashion_read("train-images-idx3-ubyte.gz", &xtr, NULL), nte = fashion_read("t10k-images-idx3-ubyte.gz", &xte, NULL);
    nn_model m;
    nn_qmodel q, q7, q6;
    nn_quant_config qc = nn_quant_defaults();
    nn_compile_config cc = nn_compile_defaults();
    nn_fit_config fc = nn_fit_defaults();
    nn_dataset train, test;
    uint8_t *xq;
    float qout[256 * 10];
    size_t fbytes, qbytes;
    int64_t i, right = 0, right7 = 0, right6 = 0;
    const int reps1 = cnn ? 51 : 201, reps256 = cnn ? 11 : 51;
    fashion_read("train-labels-idx1-ubyte.gz", NULL, &ytr);
    fashion_read("t10k-labels-idx1-ubyte.gz", NULL, &yte);
    nn_model_init(&m, NULL);
    if (build_net(&m, name) < 0) { fprintf(stderr, "unknown network '%s'\n", name); return 2; }
    cc = bench_config(name, 256);
    if (nn_model_compile(&m, &cc) != NN_OK) { fprintf(stderr, "%s\n", nn_error()); return 1; }
    train = nn_dataset_make(xtr, ntr, 784, ytr);
    test = nn_dataset_make(xte, nte, 784, yte);
    fc.epochs = epochs; fc.batch_size = 64; fc.shuffle = 0; fc.verbose = 0;
    if (nn_fit(&m, &train, NULL, &fc) != NN_OK) { fprintf(stderr, "%s\n", nn_error()); return 1; }
    nn_evaluate(&m, &test, NULL, &acc_f);
    qc.max_batch = 256;
    if (nn_quantize(&m, xtr, 1000, &qc, &q) != NN_OK) { fprintf(stderr, "%s\n", nn_error()); return 1; }
    qc.weight_bits = 7;
    if (nn_quantize(&m, xtr, 1000, &qc, &q7) != NN_OK) { fprintf(stderr, "%s\n", nn_error()); return 1; }
    qc.weight_bits = 6;
    if (nn_quantize(&m, xtr, 1000, &qc, &q6) != NN_OK) { fprintf(stderr, "%s\n", nn_error()); return 1; }
    xq = (uint8_t *)malloc((size_t)nte * 784);
    nn__quantize(xte, nte * 784, q.q[0].scale, q.q[0].zero, xq);
    for (i = 0; i < nte; i += 256) {
        const int64_t b = nte - i < 256 ? nte - i : 256;
        int64_t k;
        nn_qforward(&q, xq + 784 * i, b, NULL);
        for (k = 0; k < b; k++) right += nn_qargmax(&q, k) == yte[i + k];
        nn_qforward(&q7, xq + 784 * i, b, NULL);
        for (k = 0; k < b; k++) right7 += nn_qargmax(&q7, k) == yte[i + k];
        nn_qforward(&q6, xq + 784 * i, b, NULL);
        for (k = 0; k < b; k++) right6 += nn_qargmax(&q6, k) == yte[i + k];
    }
    nn_save_mem(&m, 0, NULL, 0, &fbytes);
    nn_qsave_mem(&q, NULL, 0, &qbytes);
    {
        nn_qmodel *qs[3];
        double t1[4], t256[4], x1[3], x256[3];
        qs[0] = &q; qs[1] = &q7; qs[2] = &q6;
        nn_set_threads(1); /* batch 1 is single-threaded anyway; int8 always is */
        time_all(&m, qs, 3, xte, nte, 1, 20, qout, t1, x1); /* (warm-up) */
        time_all(&m, qs, 3, xte, nte, 1, reps1, qout, t1, x1);
        time_all(&m, qs, 3, xte, nte, 256, reps256, qout, t256, x256);
        printf("quant %s float_acc=%.4f int8_acc=%.4f float_bytes=%lu int8_bytes=%lu float_us=%.2f int8_us=%.2f "
               "float_ips=%.0f int8_ips=%.0f w7_acc=%.4f w7_us=%.2f w7_ips=%.0f w6_acc=%.4f w6_us=%.2f w6_ips=%.0f "
               "x1=%.2f,%.2f,%.2f x256=%.2f,%.2f,%.2f (1 thread)\n", name, acc_f,
               (double)right / (double)nte, (unsigned long)fbytes, (unsigned long)qbytes, 1e6 * t1[0], 1e6 * t1[1],
               256 / t256[0], 256 / t256[1], (double)right7 / (double)nte, 1e6 * t1[2], 256 / t256[2],
               (double)right6 / (double)nte, 1e6 * t1[3], 256 / t256[3], x1[0], x1[1], x1[2], x256[0], x256[1], x256[2]);
    }
    nn_qmodel_free(&q);
    nn_qmodel_free(&q7);
    nn_qmodel_free(&q6);
    nn_model_free(&m);
    free(xq); free(xtr); free(xte); free(ytr); free(yte);
    return 0;
}
