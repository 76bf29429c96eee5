/* nn_mpi.h under mpirun (tests/mpi.sh runs it on 2 and 3 processes): the digits' MLP and a small
   CNN trained data-parallel. After attach every process holds rank 0's weights; after nn_fit
   the same weights on every process, the same bits on a second run, accuracy near a single
   process's; sharded data, nn_train_step, a checkpoint resumed on the same number of processes
   (bit-identical to a straight run) and on fewer (it continues), bad data on one process and a
   checkpoint that cannot be written (every process returns an error). Rank 0 prints the sums
   of every process's checks.
   mpicc -std=c99 -O2 -fopenmp tests/test_mpi.c -lm -o build/test_mpi && mpirun -np 2 build/test_mpi */
#define NN_IMPLEMENTATION
#include "../nn.h"
#include "../nn_mpi.h"
#include "test.h"
#include <signal.h>

#ifndef DATA_DIR
#define DATA_DIR "data/"
#endif

static int rank, size;
static nn_dataset train, val;

static void build(nn_model *m, int cnn, uint64_t seed) {
    nn_compile_config cc = nn_compile_defaults();
    int h;
    nn_model_init(m, NULL);
    h = nn_input(m, 64);
    if (cnn) {
        const int64_t shape[3] = {1, 8, 8};
        h = nn_reshape(m, h, 3, shape);
        h = nn_maxpool2d(m, nn_relu(m, nn_conv2d(m, h, 8, 3, 1, 1)), 2, 2, 0);
        h = nn_flatten(m, h);
    }
    nn_dense(m, nn_relu(m, nn_dense(m, h, 32)), 10);
    cc.loss = NN_LOSS_XENT;
    cc.optimizer = nn_adam(3e-3f);
    cc.max_batch = 64;
    cc.seed = seed;
    if (nn_model_compile(m, &cc) != NN_OK) { fprintf(stderr, "%s\n", nn_error()); exit(1); }
}
static uint64_t hash(const nn_model *m) {
    uint64_t h = 1469598103934665603ull;
    int64_t i;
    for (i = 0; i < m->n_params; i++) { uint32_t u; memcpy(&u, &m->params[i], 4); h = (h ^ u) * 1099511628211ull; }
    return h;
}
/* every process holds the same weights */
static int same_everywhere(const nn_model *m) {
    uint64_t h = hash(m), lo = h, hi = h;
    MPI_Allreduce(MPI_IN_PLACE, &lo, 1, MPI_UINT64_T, MPI_MIN, MPI_COMM_WORLD);
    MPI_Allreduce(MPI_IN_PLACE, &hi, 1, MPI_UINT64_T, MPI_MAX, MPI_COMM_WORLD);
    return lo == hi;
}
static nn_fit_config fit_cfg(int epochs) {
    nn_fit_config fc = nn_fit_defaults();
    fc.epochs = epochs;
    fc.batch_size = 32;
    fc.verbose = 0;
    return fc;
}
static float accuracy(nn_model *m) {
    float acc = 0.0f;
    CHECK_OK(nn_evaluate(m, &val, NULL, &acc));
    return acc;
}

static void test_fit(int cnn) {
    const char *name = cnn ? "cnn" : "mlp";
    nn_model m, one, again;
    nn_fit_config fc = fit_cfg(4);
    uint64_t h;
    float acc1, accN, diff = 0.0f;
    int64_t i;
    build(&m, cnn, 100 + (uint64_t)rank); /* different weights per process until attach */
    CHECK_OK(nn_mpi_attach(&m, MPI_COMM_WORLD, NULL));
    build(&one, cnn, 100);                /* rank 0's initial weights, trained by one process */
    CHECK(hash(&one) == hash(&m));
    CHECK_OK(nn_fit(&m, &train, &val, &fc));
    CHECK(fc.epochs_run == 4 && m.epoch == 4);
    CHECK_MSG(same_everywhere(&m), "%s: the processes' weights differ after nn_fit", name);
    fc = fit_cfg(4);
    CHECK_OK(nn_fit(&one, &train, &val, &fc));
    acc1 = accuracy(&one);
    accN = accuracy(&m);
    CHECK_MSG(fabsf(acc1 - accN) < 0.02f && accN > 0.85f, "%s: accuracy %.4f on %d processes, %.4f on one", name,
              (double)accN, size, (double)acc1);
    CHECK(one.step == m.step);
    for (i = 0; i < m.n_params; i++) if (fabsf(m.params[i] - one.params[i]) > diff) diff = fabsf(m.params[i] - one.params[i]);
    CHECK_MSG(diff < 0.05f, "%s: weights differ from one process's by %g", name, (double)diff);
    h = hash(&m);
    build(&again, cnn, 100 + (uint64_t)rank); /* the run again: the same bits */
    CHECK_OK(nn_mpi_attach(&again, MPI_COMM_WORLD, NULL));
    fc = fit_cfg(4);
    CHECK_OK(nn_fit(&again, &train, &val, &fc));
    CHECK_MSG(hash(&again) == h, "%s: a second run differs", name);
    if (rank == 0)
        printf("  %s: %d processes: val acc %.4f (one process %.4f; weights within %.2g of its), equal on all, a second run "
               "bit-identical\n", name, size, (double)accN, (double)acc1, (double)diff);
    nn_model_free(&again);
    nn_model_free(&one);
    nn_model_free(&m);
}

/* one blocking reduction (bucket_bytes 0) and small buckets: the same training, weights equal
   everywhere */
static void test_buckets(void) {
    nn_model a, b;
    nn_mpi_config mc = nn_mpi_defaults();
    nn_fit_config fc = fit_cfg(2);
    int64_t i;
    float worst = 0.0f;
    build(&a, 1, 7);
    build(&b, 1, 7);
    mc.bucket_bytes = 0;
    CHECK_OK(nn_mpi_attach(&a, MPI_COMM_WORLD, &mc));
    mc.bucket_bytes = 1000; /* (dozens of buckets) */
    CHECK_OK(nn_mpi_attach(&b, MPI_COMM_WORLD, &mc));
    CHECK_OK(nn_fit(&a, &train, NULL, &fc));
    fc = fit_cfg(2);
    CHECK_OK(nn_fit(&b, &train, NULL, &fc));
    CHECK(same_everywhere(&a) && same_everywhere(&b));
    for (i = 0; i < a.n_params; i++) if (fabsf(a.params[i] - b.params[i]) > worst) worst = fabsf(a.params[i] - b.params[i]);
    CHECK_MSG(worst < 1e-3f, "buckets of 1000 bytes and one reduction differ by %g", (double)worst);
    nn_model_free(&a);
    nn_model_free(&b);
}

/* each process holds its own rows; nn_train_step on each process's own batch */
static void test_sharded(void) {
    nn_model m;
    nn_mpi_config mc = nn_mpi_defaults();
    nn_fit_config fc = fit_cfg(4);
    const int64_t from = train.n * rank / size, to = train.n * (rank + 1) / size;
    nn_dataset mine = nn_dataset_slice(&train, from, to - from);
    float loss = 0.0f;
    int k;
    build(&m, 0, 11);
    mc.sharded = 1;
    CHECK_OK(nn_mpi_attach(&m, MPI_COMM_WORLD, &mc));
    fc.batch_size = 32 / size;
    CHECK_OK(nn_fit(&m, &mine, NULL, &fc));
    CHECK_MSG(same_everywhere(&m), "sharded: the processes' weights differ");
    CHECK_MSG(accuracy(&m) > 0.8f, "sharded: accuracy %.4f", (double)accuracy(&m));
    for (k = 0; k < 5; k++) CHECK_OK(nn_train_step(&m, mine.x + 16 * k * 64, mine.labels + 16 * k, NULL, 16, 1e-3f, &loss));
    CHECK(same_everywhere(&m) && loss > 0.0f);
    nn_model_free(&m);
}

/* a checkpoint every epoch (written by rank 0), resumed: on the same processes, bit-identical to
   the straight run; on a communicator of fewer (down to one), it continues to the same epoch */
static void test_checkpoint(const char *path) {
    nn_model m, r;
    nn_fit_config fc = fit_cfg(3);
    nn_load_config lc = nn_load_defaults();
    MPI_Comm fewer;
    float acc;
    build(&m, 0, 21);
    CHECK_OK(nn_mpi_attach(&m, MPI_COMM_WORLD, NULL));
    fc.checkpoint_path = path;
    fc.checkpoint_epochs = 2;
    CHECK_OK(nn_fit(&m, &train, NULL, &fc)); /* (checkpoint at epoch 2, then epoch 3) */
    MPI_Barrier(MPI_COMM_WORLD);
    CHECK_OK(nn_load(&r, path, &lc));
    CHECK(r.epoch == 2);
    CHECK_OK(nn_mpi_attach(&r, MPI_COMM_WORLD, NULL));
    fc = fit_cfg(1);
    CHECK_OK(nn_fit(&r, &train, NULL, &fc));
    CHECK_MSG(hash(&r) == hash(&m) && r.epoch == 3, "resumed on the same processes: not the straight run's bits");
    nn_model_free(&r);
    /* the first size - 1 processes (one, with two) resume; the last one leaves */
    MPI_Comm_split(MPI_COMM_WORLD, rank < size - 1 ? 0 : MPI_UNDEFINED, rank, &fewer);
    if (fewer != MPI_COMM_NULL) {
        CHECK_OK(nn_load(&r, path, &lc));
        CHECK_OK(nn_mpi_attach(&r, fewer, NULL));
        fc = fit_cfg(1);
        CHECK_OK(nn_fit(&r, &train, NULL, &fc));
        acc = accuracy(&r);
        CHECK_MSG(r.epoch == 3 && r.step == m.step && fabsf(acc - accuracy(&m)) < 0.03f,
                  "resumed on %d processes: epoch %d, step %ld, acc %.4f (the straight run %.4f)", size - 1, r.epoch,
                  (long)r.step, (double)acc, (double)accuracy(&m));
        nn_model_free(&r);
        MPI_Comm_free(&fewer);
    }
    nn_model_free(&m);
    MPI_Barrier(MPI_COMM_WORLD);
}

/* one process's data is bad, or rank 0 cannot write its checkpoint: every process returns an
   error (the others NN_ERR_STATE), none hangs */
static void test_failures(void) {
    nn_model m;
    nn_fit_config fc = fit_cfg(1);
    nn_dataset bad = train;
    float *x = (float *)malloc(sizeof(float) * (size_t)(train.n * 64));
    nn_result r;
    build(&m, 0, 31);
    CHECK_OK(nn_mpi_attach(&m, MPI_COMM_WORLD, NULL));
    memcpy(x, train.x, sizeof(float) * (size_t)(train.n * 64));
    if (rank == size - 1) x[5 * 64 + 3] = NAN;
    bad.x = x;
    r = nn_fit(&m, &bad, NULL, &fc);
    if (rank == size - 1) CHECK_ERR(r, NN_ERR_DATA, "is NaN");
    else CHECK_ERR(r, NN_ERR_STATE, "1 of");
    CHECK(m.step == 0);
    fc = fit_cfg(1);
    fc.checkpoint_path = "/nonexistent-dir/ckpt.safetensors";
    fc.checkpoint_epochs = 1;
    r = nn_fit(&m, &train, NULL, &fc);
    if (rank == 0) CHECK(r == NN_ERR_IO);
    else CHECK_ERR(r, NN_ERR_STATE, "rank 0");
    fc = fit_cfg(1); /* and then it trains on */
    CHECK_OK(nn_fit(&m, &train, NULL, &fc));
    CHECK(same_everywhere(&m));
    free(x);
    nn_model_free(&m);
}

/* --die: the last process kills itself in the middle of nn_fit (tests/mpi.sh checks that mpirun
   then ends the job instead of leaving the others waiting in a reduction) */
static int die_cb(const nn_progress *p, void *user) {
    (void)user;
    if (p->batch == 10 && rank == size - 1) raise(SIGKILL);
    return 0;
}
static void die(void) {
    nn_model m;
    nn_fit_config fc = fit_cfg(50);
    build(&m, 0, 1);
    if (nn_mpi_attach(&m, MPI_COMM_WORLD, NULL) != NN_OK) return;
    fc.callback = die_cb;
    nn_fit(&m, &train, NULL, &fc);
    nn_model_free(&m);
}

int main(int argc, char **argv) {
    nn_dataset all;
    char path[64];
    int counts[2];
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    nn_set_threads(1);
    if (nn_csv_load(DATA_DIR "digits.csv", -1, &all) != NN_OK) { fprintf(stderr, "%s\n", nn_error()); MPI_Abort(MPI_COMM_WORLD, 1); }
    train = nn_dataset_slice(&all, 0, 1500);
    val = nn_dataset_slice(&all, 1500, all.n - 1500);
    snprintf(path, sizeof path, "build/test_mpi_%d.ckpt", size);
    if (argc > 1 && strcmp(argv[1], "--die") == 0) { die(); MPI_Finalize(); return 0; }
    test_fit(0);
    test_fit(1);
    test_buckets();
    test_sharded();
    test_checkpoint(path);
    test_failures();
    (void)t_summary; /* (rank 0 prints the sums instead) */
    counts[0] = t_pass; counts[1] = t_fail;
    MPI_Reduce(rank == 0 ? MPI_IN_PLACE : counts, counts, 2, MPI_INT, MPI_SUM, 0, MPI_COMM_WORLD);
    if (rank == 0) { remove(path); printf("  (%d processes)\ntest_mpi: %d passed, %d failed\n", size, counts[0], counts[1]); }
    nn_dataset_free(&all);
    MPI_Finalize();
    return rank == 0 && counts[1] != 0;
}
