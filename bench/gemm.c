/* bench/gemm: SGEMM GFLOP/s of nn.h against OpenBLAS (cblas_sgemm) and oneDNN (dnnl_sgemm)
   in the same process, for square sizes and the shapes of the benchmark networks, with 1 and
   2 threads. Each figure is the median of repeats after a warm-up. Built by `make bench`. */
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

/* median GFLOP/s over repeats filling about 0.3 s */
static double measure(void (*f)(const shape *, const float *, const float *, float *), const shape *s,
                      const float *A, const float *B, float *C) {
    double t[41], flop = 2.0 * (double)s->M * (double)s->N * (double)s->K, t0;
    int reps, r, inner, i;
    f(s, A, B, C); /* warm-up */
    t0 = now_s();
    f(s, A, B, C);
    t0 = now_s() - t0;
    inner = t0 < 1e-3 ? (int)(1e-3 / (t0 + 1e-9)) + 1 : 1;
    reps = (int)(0.3 / (t0 * inner + 1e-9));
    reps = reps < 5 ? 5 : reps > 41 ? 41 : reps;
    for (r = 0; r < reps; r++) {
        double a = now_s();
        for (i = 0; i < inner; i++) f(s, A, B, C);
        t[r] = (now_s() - a) / inner;
    }
    return flop / median(t, reps) / 1e9;
}

int main(void) {
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
    const int nshapes = (int)(sizeof shapes / sizeof shapes[0]);
    float *A = (float *)malloc(sizeof(float) * 2048 * 4096), *B = (float *)malloc(sizeof(float) * 2048 * 4096);
    float *C = (float *)malloc(sizeof(float) * 2048 * 2048);
    int i, th;
    for (i = 0; i < 2048 * 4096; i++) { A[i] = (float)(i % 17) / 17.0f - 0.5f; B[i] = (float)(i % 13) / 13.0f - 0.5f; }
    ws = (float *)malloc(sizeof(float) * (size_t)nn_gemm_workspace_floats());
    note_env("bench/gemm");
    printf("# GFLOP/s, median of repeats; ratio = nn / reference\n");
    for (th = 1; th <= 2; th++) {
        omp_set_num_threads(th);
#ifdef HAVE_OPENBLAS
        openblas_set_num_threads(th);
#endif
        for (i = 0; i < nshapes; i++) {
            const shape *s = &shapes[i];
            double g = measure(run_nn, s, A, B, C), ob = 0, dn = 0;
#ifdef HAVE_OPENBLAS
            ob = measure(run_openblas, s, A, B, C);
#endif
#ifdef HAVE_DNNL
            dn = measure(run_dnnl, s, A, B, C);
#endif
            printf("gemm %-14s M=%-4lld N=%-4lld K=%-4lld ta=%d tb=%d threads=%d nn=%.1f", s->what, (long long)s->M,
                   (long long)s->N, (long long)s->K, s->ta, s->tb, th, g);
            if (ob > 0) printf(" openblas=%.1f", ob);
            if (dn > 0) printf(" onednn=%.1f", dn);
            if (ob > 0) printf(" vs_openblas=%.2f", g / ob);
            if (dn > 0) printf(" vs_onednn=%.2f", g / dn);
            printf("\n");
            fflush(stdout);
        }
    }
    free(A); free(B); free(C); free(ws);
    return 0;
}
