/* bench/cuda: nn_cuda.h on a GPU (make bench-cuda builds it with nvcc and runs it).
     train NET batch=B epoch_s=<median s/epoch> img_s=<images/s> acc=<test accuracy> device=cuda
       for the Fashion-MNIST MLP (784-128-10, SGD 0.1) and CNN (32/64 channels, Adam 1e-3) of
       bench/train, at batch 64 and 512 (data in file order, as bench/train and torch_ref.py);
     gemm MxNxK nn_tflops=<through the backend table> cublas_tflops=<plain cublasSgemm> ratio=
       for the same call (row-major C = A B^T, the dense layer's forward), median of 20.
   Usage: bench_cuda [epochs_mlp epochs_cnn] (default 5 and 2, as bench/train). */
#include "common.h" /* first: it sets _POSIX_C_SOURCE */
#define NN_IMPLEMENTATION
#define NN_CUDA_IMPLEMENTATION
#include "../nn.h"
#include "../nn_cuda.h"
#include "fashion.h"
#include "models.h"

static int train(const char *name, int64_t batch, int epochs, const nn_dataset *tr, const nn_dataset *te) {
    nn_model m;
    nn_compile_config cc = nn_compile_defaults();
    nn_fit_config fc = nn_fit_defaults();
    float acc = 0.0f;
    double s;
    nn_model_init(&m, NULL);
    build_net(&m, name);
    cc = bench_config(name, batch);
    cc.seed = 1;
    if (nn_model_compile(&m, &cc) != NN_OK || nn_cuda_attach(&m, NULL) != NN_OK) {
        fprintf(stderr, "%s: %s\n", name, nn_error());
        return 1;
    }
    fc.epochs = epochs;
    fc.batch_size = batch;
    fc.shuffle = 0;
    fc.verbose = 0;
    fc.callback = on_epoch;
    n_times = 0;
    t_last = now_s();
    if (nn_fit(&m, tr, NULL, &fc) != NN_OK || nn_evaluate(&m, te, NULL, &acc) != NN_OK) {
        fprintf(stderr, "%s: %s\n", name, nn_error());
        return 1;
    }
    s = median(times, n_times);
    printf("train %s batch=%lld epoch_s=%.3f img_s=%.0f acc=%.4f epochs=%d device=cuda\n", name, (long long)batch, s,
           (double)tr->n / s, (double)acc, epochs);
    fflush(stdout);
    nn_model_free(&m);
    return 0;
}

static double event_ms(cudaEvent_t a, cudaEvent_t b) {
    float ms = 0.0f;
    cudaEventSynchronize(b);
    cudaEventElapsedTime(&ms, a, b);
    return (double)ms;
}

/* y (M, N) = x (M, K) W^T through the model's backend, and through cublasSgemm directly */
static int gemm(int64_t M, int64_t N, int64_t K) {
    nn_model m;
    nn_compile_config cc = nn_compile_defaults();
    nn__cuda *c;
    const nn_layer *l;
    cudaEvent_t e0, e1;
    double nn_ms[20], cb_ms[20], flop = 2.0 * (double)M * (double)N * (double)K;
    const float one = 1.0f, zero = 0.0f;
    int r;
    nn_model_init(&m, NULL);
    nn_dense_ex(&m, nn_input(&m, K), N, 0, NN_INIT_GLOROT_UNIFORM);
    cc.max_batch = M;
    cc.inference_only = 1;
    if (nn_model_compile(&m, &cc) != NN_OK || nn_cuda_attach(&m, NULL) != NN_OK) {
        fprintf(stderr, "gemm: %s\n", nn_error());
        return 1;
    }
    c = (nn__cuda *)m.backend->ctx;
    l = &m.layers[1];
    cudaEventCreate(&e0);
    cudaEventCreate(&e1);
    for (r = -2; r < 20; r++) { /* two warm-up calls */
        cudaEventRecord(e0, c->stream);
        m.backend->gemm(c, 0, 1, M, N, K, 1.0f, m.x_stage, K, l->w, K, 0.0f, l->y, N, NULL, NULL, NULL, 0);
        cudaEventRecord(e1, c->stream);
        if (r >= 0) nn_ms[r] = event_ms(e0, e1);
        cudaEventRecord(e0, c->stream);
        cublasSgemm(c->blas, CUBLAS_OP_T, CUBLAS_OP_N, (int)N, (int)M, (int)K, &one, NN__DC(c, l->w), (int)K,
                    NN__DC(c, m.x_stage), (int)K, &zero, NN__D(c, l->y), (int)N);
        cudaEventRecord(e1, c->stream);
        if (r >= 0) cb_ms[r] = event_ms(e0, e1);
    }
    if (nn__device_status(&m) != NN_OK) { fprintf(stderr, "gemm: %s\n", nn_error()); return 1; }
    {
        const double a = flop / (median(nn_ms, 20) * 1e-3) * 1e-12, b = flop / (median(cb_ms, 20) * 1e-3) * 1e-12;
        printf("gemm %lldx%lldx%lld nn_tflops=%.2f cublas_tflops=%.2f ratio=%.3f\n", (long long)M, (long long)N,
               (long long)K, a, b, a / b);
    }
    cudaEventDestroy(e0);
    cudaEventDestroy(e1);
    nn_model_free(&m);
    return 0;
}

int main(int argc, char **argv) {
    const int e_mlp = argc > 1 ? atoi(argv[1]) : 5, e_cnn = argc > 2 ? atoi(argv[2]) : 2;
    static const int64_t shapes[][3] = {{512, 512, 512}, {1024, 1024, 1024}, {2048, 2048, 2048}, {4096, 4096, 4096},
                                        {64, 128, 784}, {512, 128, 784}, {512, 1024, 3136}};
    float *xtr, *xte;
    int32_t *ytr, *yte;
    long ntr, nte;
    nn_dataset tr, te;
    int fails = 0;
    size_t i;
    if (nn_cuda_device_count() < 1) {
        printf("bench_cuda: no GPU: %s\n", nn_error());
        return 0;
    }
    for (i = 0; i < sizeof shapes / sizeof shapes[0]; i++) fails |= gemm(shapes[i][0], shapes[i][1], shapes[i][2]);
    ntr = fashion_read("train-images-idx3-ubyte.gz", &xtr, NULL);
    fashion_read("train-labels-idx1-ubyte.gz", NULL, &ytr);
    nte = fashion_read("t10k-images-idx3-ubyte.gz", &xte, NULL);
    fashion_read("t10k-labels-idx1-ubyte.gz", NULL, &yte);
    tr = nn_dataset_make(xtr, ntr, 784, ytr);
    te = nn_dataset_make(xte, nte, 784, yte);
    fails |= train("mlp-784-128-10", 64, e_mlp, &tr, &te);
    fails |= train("mlp-784-128-10", 512, e_mlp, &tr, &te);
    fails |= train("cnn-32-64", 64, e_cnn, &tr, &te);
    fails |= train("cnn-32-64", 512, e_cnn, &tr, &te);
    return fails;
}
