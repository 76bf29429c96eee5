/* bench/mpi NET [epochs [bucket_bytes]]: data-parallel training of a benchmark network on
   Fashion-MNIST with nn_mpi.h (batch 64 in all, shared among the processes; Adam 1e-3 or SGD
   as bench/train), run under mpirun (make bench-mpi: 1 and 2 processes of 1 thread each).
   Rank 0 prints
     mpi NET procs=P threads=T epoch_s=<median seconds per epoch> img_s=<images/s> acc=<test acc>
         comm_ms=<median ms a step spends waiting for its gradients> bucket=<bytes>
   comm_ms is the time from the end of backward to the reduced gradients, the part of the
   reduction that overlap did not hide. */
#include "common.h" /* first: it sets _POSIX_C_SOURCE */
#define NN_IMPLEMENTATION
#include "../nn.h"
#include "../nn_mpi.h"
#include "fashion.h"
#include "models.h"

/* the time a step waits in reduce_grads: nn_mpi's hook, timed around */
static nn_result (*inner_reduce)(void *, nn_model *, int64_t, int);
static void (*inner_begin)(void *, nn_model *, int64_t, int64_t);
static double wait_t[200000], step_t[200000], t_begin;
static int n_wait;
static double gap_t[200000], t_end;
static void timed_begin(void *ctx, nn_model *m, int64_t rows, int64_t global_rows) {
    t_begin = now_s();
    if (n_wait > 0 && n_wait < 200000) gap_t[n_wait] = t_begin - t_end;
    inner_begin(ctx, m, rows, global_rows);
}
static nn_result timed_reduce(void *ctx, nn_model *m, int64_t rows, int bad) {
    const double t0 = now_s();
    const nn_result r = inner_reduce(ctx, m, rows, bad);
    t_end = now_s();
    if (n_wait < 200000) { step_t[n_wait] = t0 - t_begin; wait_t[n_wait++] = t_end - t0; }
    return r;
}

int main(int argc, char **argv) {
    const char *name = argc > 1 ? argv[1] : "mlp-784-256-128-10";
    const int epochs = argc > 2 ? atoi(argv[2]) : 3;
    float *xtr, *xte, acc = 0.0f;
    int32_t *ytr, *yte;
    long ntr, nte;
    int rank, size;
    nn_model m;
    nn_compile_config cc = bench_config(name, 64);
    nn_fit_config fc = nn_fit_defaults();
    nn_mpi_config mc = nn_mpi_defaults();
    nn_dist hooked;
    const nn_dist *orig;
    nn_dataset train, test;
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    if (argc > 3) mc.bucket_bytes = atol(argv[3]);
    ntr = fashion_read("train-images-idx3-ubyte.gz", &xtr, NULL);
    fashion_read("train-labels-idx1-ubyte.gz", NULL, &ytr);
    nte = fashion_read("t10k-images-idx3-ubyte.gz", &xte, NULL);
    fashion_read("t10k-labels-idx1-ubyte.gz", NULL, &yte);
    nn_model_init(&m, NULL);
    if (build_net(&m, name) < 0) { fprintf(stderr, "unknown network '%s'\n", name); return 2; }
    cc.seed = 1;
    if (nn_model_compile(&m, &cc) != NN_OK || nn_mpi_attach(&m, MPI_COMM_WORLD, &mc) != NN_OK) {
        fprintf(stderr, "%s\n", nn_error());
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    orig = m.dist;
    hooked = *m.dist; /* (the same hooks, the wait timed) */
    inner_reduce = hooked.reduce_grads;
    hooked.reduce_grads = timed_reduce;
    inner_begin = hooked.step_begin;
    hooked.step_begin = timed_begin;
    m.dist = &hooked;
    train = nn_dataset_make(xtr, ntr, 784, ytr);
    test = nn_dataset_make(xte, nte, 784, yte);
    fc = bench_fit_config(epochs);
    if (nn_fit(&m, &train, NULL, &fc) != NN_OK) { fprintf(stderr, "%s\n", nn_error()); MPI_Abort(MPI_COMM_WORLD, 1); }
    if (rank == 0) {
        const double es = median(times, n_times);
        nn_evaluate(&m, &test, NULL, &acc);
        printf("mpi %s procs=%d threads=%d epoch_s=%.3f img_s=%.0f acc=%.4f comm_ms=%.3f bucket=%ld fwd_bwd_ms=%.3f gap_ms=%.3f\n", name, size,
               nn_get_threads(), es, (double)ntr / es, acc, 1e3 * median(wait_t, n_wait), (long)mc.bucket_bytes, 1e3 * median(step_t, n_wait), 1e3 * median(gap_t + 1, n_wait - 1));
    }
    m.dist = orig;
    nn_model_free(&m);
    free(xtr); free(ytr); free(xte); free(yte);
    MPI_Finalize();
    return 0;
}
