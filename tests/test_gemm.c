/* nn_gemm against a naive double-precision reference: all four transpose forms, odd sizes,
   padded leading dimensions, alpha/beta, and beta = 0 ignoring NaN in C. */
#define NN_IMPLEMENTATION
#include "../nn.h"
#include "test.h"
#include <stdlib.h>

static uint64_t rs = 777;
static float frand(void) { rs = rs * 6364136223846793005ull + 1442695040888963407ull; return (float)((rs >> 40) / 16777216.0) * 2.0f - 1.0f; }

static void one(int ta, int tb, int64_t M, int64_t N, int64_t K, float alpha, float beta) {
    const int64_t lda = (ta ? M : K) + 3, ldb = (tb ? K : N) + 1, ldc = N + 2;
    float *A = (float *)malloc(sizeof(float) * (size_t)(lda * (ta ? K : M) + 1));
    float *B = (float *)malloc(sizeof(float) * (size_t)(ldb * (tb ? N : K) + 1));
    float *C = (float *)malloc(sizeof(float) * (size_t)(ldc * M + 1));
    double *R = (double *)malloc(sizeof(double) * (size_t)(M * N + 1)), worst = 0;
    int64_t i, j, k;
    for (i = 0; i < lda * (ta ? K : M); i++) A[i] = frand();
    for (i = 0; i < ldb * (tb ? N : K); i++) B[i] = frand();
    for (i = 0; i < ldc * M; i++) C[i] = beta == 0.0f ? NAN : frand();
    for (i = 0; i < M; i++)
        for (j = 0; j < N; j++) {
            double s = 0;
            for (k = 0; k < K; k++) s += (double)(ta ? A[k * lda + i] : A[i * lda + k]) * (tb ? B[j * ldb + k] : B[k * ldb + j]);
            R[i * N + j] = alpha * s + (beta == 0.0f ? 0.0 : beta * (double)C[i * ldc + j]);
        }
    nn_gemm(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    for (i = 0; i < M; i++)
        for (j = 0; j < N; j++) {
            double e = fabs(C[i * ldc + j] - R[i * N + j]);
            if (!(e <= worst)) worst = e; /* NaN-safe */
        }
    /* float accumulation error grows like sqrt(K) * eps * |terms| */
    CHECK_MSG(worst <= 1e-5 * (1.0 + sqrt((double)K)) * (fabs(alpha) + 1.0),
              "gemm ta=%d tb=%d %lldx%lldx%lld alpha=%g beta=%g: max error %.3g", ta, tb, (long long)M, (long long)N,
              (long long)K, alpha, beta, worst);
    free(A); free(B); free(C); free(R);
}

/* Each element is summed in one order whatever the thread count: the same bits for 1, 2 and
   3 threads, with several column blocks (N > 1536) and k-slices (K > 800 with AVX-512, 384
   otherwise), and C's rows split
   between threads (A^T.B) or its tiles (the other forms). */
static void threads_same_bits(int ta, int tb, int64_t M, int64_t N, int64_t K) {
    const int64_t lda = ta ? M : K, ldb = tb ? K : N;
    float *A = (float *)malloc(sizeof(float) * (size_t)(M * K)), *B = (float *)malloc(sizeof(float) * (size_t)(K * N));
    float *C1 = (float *)malloc(sizeof(float) * (size_t)(M * N)), *C = (float *)malloc(sizeof(float) * (size_t)(M * N));
    int64_t i, bad = 0;
    const int keep = nn_get_threads();
    int nt;
    for (i = 0; i < M * K; i++) A[i] = frand();
    for (i = 0; i < K * N; i++) B[i] = frand();
    for (i = 0; i < M * N; i++) C1[i] = frand();
    memcpy(C, C1, sizeof(float) * (size_t)(M * N));
    nn_set_threads(1);
    nn_gemm(ta, tb, M, N, K, 1.0f, A, lda, B, ldb, 0.5f, C1, N);
    for (nt = 2; nt <= 3; nt++) {
        float *Cn = (float *)malloc(sizeof(float) * (size_t)(M * N));
        memcpy(Cn, C, sizeof(float) * (size_t)(M * N));
        nn_set_threads(nt);
        nn_gemm(ta, tb, M, N, K, 1.0f, A, lda, B, ldb, 0.5f, Cn, N);
        for (i = 0, bad = 0; i < M * N; i++) bad += memcmp(&Cn[i], &C1[i], sizeof(float)) != 0;
        CHECK_MSG(bad == 0, "gemm ta=%d tb=%d %lldx%lldx%lld: %lld elements differ between 1 and %d threads", ta, tb,
                  (long long)M, (long long)N, (long long)K, (long long)bad, nt);
        free(Cn);
    }
    nn_set_threads(keep);
    free(A); free(B); free(C1); free(C);
}

/* The backend's ReLU epilogue (a dense layer followed by its ReLU): C exactly the plain product
   with its bias, and the ReLU output exactly max(C, 0), through the unpacked loops, the packed
   tiles (edge tiles, several k-slices: the ReLU only after the last) and batch 1, at 1 and 2
   threads. */
static void relu_epilogue(int64_t M, int64_t N, int64_t K, int threads) {
    const nn_backend *be = nn_backend_cpu();
    const int64_t wsf = nn_gemm_workspace_floats();
    float *A = (float *)malloc(sizeof(float) * (size_t)(M * K)), *B = (float *)malloc(sizeof(float) * (size_t)(N * K));
    float *bias = (float *)malloc(sizeof(float) * (size_t)N), *ws = (float *)malloc(sizeof(float) * (size_t)wsf);
    float *C = (float *)malloc(sizeof(float) * (size_t)(M * N)), *R = (float *)malloc(sizeof(float) * (size_t)(M * N));
    float *Y = (float *)malloc(sizeof(float) * (size_t)(M * N));
    int64_t i, bad = 0, zeros = 0;
    const int keep = nn_get_threads();
    nn_set_threads(threads);
    for (i = 0; i < M * K; i++) A[i] = frand();
    for (i = 0; i < N * K; i++) B[i] = frand();
    for (i = 0; i < N; i++) bias[i] = frand();
    for (i = 0; i < M * N; i++) Y[i] = NAN;
    be->gemm(be->ctx, 0, 1, M, N, K, 1.0f, A, K, B, K, 0.0f, R, N, bias, NULL, ws, wsf);
    be->gemm(be->ctx, 0, 1, M, N, K, 1.0f, A, K, B, K, 0.0f, C, N, bias, Y, ws, wsf);
    for (i = 0; i < M * N; i++) {
        const float want = R[i] > 0.0f ? R[i] : 0.0f;
        bad += memcmp(&Y[i], &want, sizeof(float)) != 0 || memcmp(&C[i], &R[i], sizeof(float)) != 0;
        zeros += want == 0.0f;
    }
    CHECK_MSG(bad == 0 && zeros > 0 && zeros < M * N, "relu epilogue %lldx%lldx%lld, %d threads: %lld of %lld differ (%lld zeros)",
              (long long)M, (long long)N, (long long)K, threads, (long long)bad, (long long)(M * N), (long long)zeros);
    nn_set_threads(keep);
    free(A); free(B); free(bias); free(ws); free(C); free(R); free(Y);
}

int main(void) {
    static const int64_t sizes[][3] = {{1, 1, 1}, {1, 7, 3}, {5, 1, 9}, {13, 17, 1}, {7, 13, 33},
                                       {64, 10, 128}, {33, 65, 17}, {130, 67, 257}, {3, 300, 29},
                                       {301, 70, 40}, {263, 37, 403},
                                       /* B packed (16 row blocks, rows of 1024 floats or more), a partial last panel */
                                       {121, 1030, 70},
                                       /* batch 1 and 2 (unpacked rows): N = 8 S + 3 rows, K with a tail */
                                       {1, 75, 50}, {2, 131, 801}};
    int ta, tb;
    size_t s;
    for (ta = 0; ta < 2; ta++)
        for (tb = 0; tb < 2; tb++)
            for (s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
                one(ta, tb, sizes[s][0], sizes[s][1], sizes[s][2], 1.0f, 0.0f);
                one(ta, tb, sizes[s][0], sizes[s][1], sizes[s][2], 0.5f, 1.0f);
                one(ta, tb, sizes[s][0], sizes[s][1], sizes[s][2], -1.5f, 0.25f);
            }
    for (ta = 0; ta < 2; ta++)
        for (tb = 0; tb < 2; tb++) {
            one(ta, tb, 37, 1555, 780, 1.0f, 0.5f);
            one(ta, tb, 37, 1555, 1780, 1.0f, 0.5f); /* several k-slices whatever the slice depth */
            threads_same_bits(ta, tb, 37, 1555, 1780);
            threads_same_bits(ta, tb, 130, 200, 64);
            threads_same_bits(ta, tb, 301, 70, 40); /* row blocks in several tile groups */
            threads_same_bits(ta, tb, 263, 37, 1603); /* packed groups of A, a short last k-slice */
            threads_same_bits(ta, tb, 121, 1600, 850); /* B packed by the threads' shares, two column blocks */
        }
    relu_epilogue(1, 37, 29, 1);     /* batch 1: the unpacked row */
    relu_epilogue(3, 10, 7, 2);      /* tiny: the unpacked loops */
    relu_epilogue(64, 128, 784, 2);  /* the MLP's first layer: packed, one k-slice with AVX-512 */
    relu_epilogue(64, 128, 1700, 2); /* several k-slices: the ReLU after the last only */
    relu_epilogue(67, 45, 403, 1);   /* edge tiles both ways */
    relu_epilogue(67, 45, 403, 2);
    return t_summary("test_gemm");
}
