/* nn_mpi.h with nn_cuda.h in one nvcc translation unit: tests/mpi.sh builds it wherever nvcc
   and OpenMPI are (the GPU path of data-parallel training compiles and links), and runs it on 2
   processes: with a GPU each process trains on it (gradients through the host), without one on
   the CPU; either way the processes must end with the same weights.
   nvcc -x cu -O2 tests/test_mpi_cuda.c $(mpicc -showme:compile) $(mpicc -showme:link) -lcublas */
#define NN_IMPLEMENTATION
#define NN_CUDA_IMPLEMENTATION
#include "../nn.h"
#include "../nn_cuda.h"
#include "../nn_mpi.h"
#include <stdio.h>

int main(int argc, char **argv) {
    nn_model m;
    nn_compile_config cc = nn_compile_defaults();
    static float x[256 * 20];
    static int32_t y[256];
    uint64_t h = 1469598103934665603ull, lo, hi;
    int rank, size, i, gpu, ok;
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    for (i = 0; i < 256 * 20; i++) x[i] = (float)((i * 7919) % 101) / 50.0f - 1.0f;
    for (i = 0; i < 256; i++) y[i] = (int32_t)((i * 31) % 5);
    nn_model_init(&m, NULL);
    nn_dense(&m, nn_relu(&m, nn_dense(&m, nn_input(&m, 20), 16)), 5);
    cc.loss = NN_LOSS_XENT;
    cc.max_batch = 64;
    cc.seed = 3 + (uint64_t)rank;
    if (nn_model_compile(&m, &cc) != NN_OK) { fprintf(stderr, "%s\n", nn_error()); return 1; }
    gpu = nn_cuda_attach(&m, NULL) == NN_OK;
    if (nn_mpi_attach(&m, MPI_COMM_WORLD, NULL) != NN_OK) { fprintf(stderr, "%s\n", nn_error()); return 1; }
    for (i = 0; i < 20; i++)
        if (nn_train_step(&m, x + (i % 4) * 64 * 20, y + (i % 4) * 64, NULL, 64, 1e-2f, NULL) != NN_OK) {
            fprintf(stderr, "%s\n", nn_error());
            return 1;
        }
    nn_model_sync(&m, 0);
    for (i = 0; i < m.n_params; i++) { uint32_t u; memcpy(&u, &m.params[i], 4); h = (h ^ u) * 1099511628211ull; }
    lo = hi = h;
    MPI_Allreduce(MPI_IN_PLACE, &lo, 1, MPI_UINT64_T, MPI_MIN, MPI_COMM_WORLD);
    MPI_Allreduce(MPI_IN_PLACE, &hi, 1, MPI_UINT64_T, MPI_MAX, MPI_COMM_WORLD);
    ok = lo == hi;
    if (rank == 0)
        printf("  %d processes on %s: the same weights on all after 20 steps: %s\ntest_mpi_cuda: %d passed, %d failed\n", size,
               gpu ? "GPUs" : "the CPU (no GPU)", ok ? "yes" : "NO", ok, !ok);
    nn_model_free(&m);
    MPI_Finalize();
    return !ok;
}
