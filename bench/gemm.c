/* bench/gemm: SGEMM GFLOP/s of nn.h against OpenBLAS (cblas_sgemm) and oneDNN (dnnl_sgemm)
   in the same process, for square sizes and the shapes of the benchmark networks, with 1 and
   2 threads. The libraries take turns (measure): each figure is a median over rounds of
   medians of repeats after a warm-up, each ratio the median of the rounds'. Built by `make bench`. */
#include "common.h" /* first: it sets _POSIX_C_SOURCE */
#define NN_IMPLEMENTATION
#include "../nn.h"
#include <omp.h>
#ifdef HAVE_OPENBLAS
#include <cblas.h>
#endif
#ifdef HAVE_DNNL
#include <dnnl.h>
#endif

typedef struct { int ta, tb; int64_t M, N, K; const char *what; } shape;

static float *ws;

static void run_nn(const shape *s, const float *A, const float *B, float *C) {
    nn_gemm_ws(s->ta, s->tb, s->M, s->N, s->K, 1.0f, A, s->ta ? s->M : s->K, B, s->tb ? s->K : s->N, 0.0f, C, s->N, NULL, ws);
}
#ifdef HAVE_OPENBLAS
static void run_openblas(const shape *s, const float *A, const float *B, float *C) {
    cblas_sgemm(CblasRowMajor, s->ta ? CblasTrans : CblasNoTrans, s->tb ? CblasTrans : CblasNoTrans, (int)s->M, (int)s->N,
                (int)s->K, 1.0f, A, (int)(s->ta ? s->M : s->K), B, (int)(s->tb ? s->K : s->N), 0.0f, C, (int)s->N);
}
#endif
#ifdef HAVE_DNNL
static void run_dnnl(const shape *s, const float *A, const float *B, float *C) {
    dnnl_sgemm(s->ta ? 'T' : 'N', s->tb ? 'T' : 'N', s->M, s->N, s->K, 1.0f, A, s->ta ? s->M : s->K, B, s->tb ? s->K : s->N,
               0.0f, C, s->N);
}
#endif

typedef void (*gemm_fn)(const shape *, const float *, const float *, float *);

/* Seconds per call, the median of repeats filling about 40 ms, after a warm-up call. */
static double block(gemm_fn f, const shape *s, const float *A, const float *B, float *C) {
    double t[41], t0;
    int reps, r, inner, i;
    f(s, A, B, C); /* warm-up: caches, thread pools */
    t0 = now_s();
    f(s, A, B, C);
    t0 = now_s() - t0;
    inner = t0 < 1e-3 ? (int)(1e-3 / (t0 + 1e-9)) + 1 : 1;
    reps = (int)(0.04 / (t0 * inner + 1e-9));
    reps = reps < 3 ? 3 : reps > 41 ? 41 : reps;
    for (r = 0; r < reps; r++) {
        double a = now_s();
        for (i = 0; i < inner; i++) f(s, A, B, C);
        t[r] = (now_s() - a) / inner;
    }
    return median(t, reps);
}

/* The libraries in turn, ROUNDS rounds of one block each (the order rotating), so that every
   ratio compares blocks taken within a second of each other: this host's speed drifts by a
   fifth over minutes, more than the differences measured. gflops[l]: the median over rounds;
   ratio[l]: the median of the rounds' nn / library ratios. */
#define ROUNDS 7
static void measure(const gemm_fn *fns, const double *settle, int nlib, const shape *s, const float *A, const float *B,
                    float *C, double *gflops, double *ratio) {
    double t[4][ROUNDS], r[ROUNDS];
    const double flop = 2.0 * (double)s->M * (double)s->N * (double)s->K;
    int k, l;
    for (k = 0; k < ROUNDS; k++)
        for (l = 0; l < nlib; l++) {
            const int w = (l + k) % nlib;
            t[w][k] = block(fns[w], s, A, B, C);
            if (settle[w] > 0) { /* until its idle threads stop spinning on the cores */
                struct timespec z;
                z.tv_sec = 0; z.tv_nsec = (long)(settle[w] * 1e9);
                nanosleep(&z, NULL);
            }
        }
    for (l = 0; l < nlib; l++) {
        for (k = 0; k < ROUNDS; k++) r[k] = t[l][k] / t[0][k];
        ratio[l] = median(r, ROUNDS);
    }
    for (l = 0; l < nlib; l++) gflops[l] = flop / median(t[l], ROUNDS) / 1e9; /* (median sorts: ratios first) */
}

int main(int argc, char **argv) {
    static const shape shapes[] = {
        {0, 0, 64, 64, 64, "square"}, {0, 0, 128, 128, 128, "square"}, {0, 0, 256, 256, 256, "square"},
        {0, 0, 512, 512, 512, "square"}, {0, 0, 1024, 1024, 1024, "square"}, {0, 0, 2048, 2048, 2048, "square"},
        /* dense layers of the MLPs: forward Y = X W^T, backward dX = dY W, dW = dY^T X */
        {0, 1, 64, 128, 784, "mlp fwd"}, {0, 0, 64, 784, 128, "mlp dX"}, {1, 0, 128, 784, 64, "mlp dW"},
        {0, 1, 64, 256, 784, "mlp fwd"}, {0, 0, 64, 784, 256, "mlp dX"}, {1, 0, 256, 784, 64, "mlp dW"},
        {0, 1, 256, 128, 784, "mlp fwd"}, {0, 0, 256, 784, 128, "mlp dX"}, {1, 0, 128, 784, 256, "mlp dW"},
        {0, 1, 256, 256, 784, "mlp fwd"}, {0, 0, 256, 784, 256, "mlp dX"}, {1, 0, 256, 784, 256, "mlp dW"},
        {0, 1, 64, 1024, 3136, "cnn fc1 fwd"},
        /* conv as GEMM per image (im2col): W (K_out x C*k*k) . col (C*k*k x H*W) */
        {0, 0, 32, 784, 25, "cnn conv1"}, {0, 0, 64, 196, 800, "cnn conv2"}, {1, 0, 800, 196, 64, "cnn conv2 dcol"}};
    /* "bench_gemm squares": the square sizes only (make bench's AVX2 build) */
    const int nshapes = argc > 1 && !strcmp(argv[1], "squares") ? 6 : (int)(sizeof shapes / sizeof shapes[0]);
    float *A = (float *)malloc(sizeof(float) * 2048 * 4096), *B = (float *)malloc(sizeof(float) * 2048 * 4096);
    float *C = (float *)malloc(sizeof(float) * 2048 * 2048);
    int i, th;
    for (i = 0; i < 2048 * 4096; i++) { A[i] = (float)(i % 17) / 17.0f - 0.5f; B[i] = (float)(i % 13) / 13.0f - 0.5f; }
    ws = (float *)malloc(sizeof(float) * (size_t)nn_gemm_workspace_floats());
    note_env("bench/gemm");
    printf("# GFLOP/s, median of %d rounds (libraries in turn); ratio = nn / reference, median of the rounds' ratios\n", ROUNDS);
    for (th = 1; th <= 2; th++) {
        omp_set_num_threads(th);
#ifdef HAVE_OPENBLAS
        openblas_set_num_threads(th);
#endif
        for (i = 0; i < nshapes; i++) {
            const shape *s = &shapes[i];
            gemm_fn fns[3];
            double g[3], ratio[3], settle[3] = {0, 0, 0};
            int nlib = 0, ob = 0, dn = 0;
            fns[nlib++] = run_nn;
#ifdef HAVE_OPENBLAS
            /* OpenBLAS's threads spin about 2^28 cycles after a call (its THREAD_TIMEOUT), which
               took the cores from the next library's block (oneDNN 4 GFLOP/s at 256^3) */
            ob = nlib; settle[nlib] = th > 1 ? 0.25 : 0; fns[nlib++] = run_openblas;
#endif
#ifdef HAVE_DNNL
            dn = nlib; fns[nlib++] = run_dnnl;
#endif
            measure(fns, settle, nlib, s, A, B, C, g, ratio);
            printf("gemm %-14s M=%-4lld N=%-4lld K=%-4lld ta=%d tb=%d threads=%d nn=%.1f", s->what, (long long)s->M,
                   (long long)s->N, (long long)s->K, s->ta, s->tb, th, g[0]);
            if (ob) printf(" openblas=%.1f", g[ob]);
            if (dn) printf(" onednn=%.1f", g[dn]);
            if (ob) printf(" vs_openblas=%.2f", ratio[ob]);
            if (dn) printf(" vs_onednn=%.2f", ratio[dn]);
            printf("\n");
            fflush(stdout);
        }
    }
    free(A); free(B); free(C); free(ws);
    return 0;
}
