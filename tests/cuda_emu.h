/* tests/cuda_emu.h - a host stand-in for the parts of the CUDA runtime and cuBLAS that
   nn_cuda.h calls, so that nn_cuda.h's logic (the arena mirror, pointer translation, the data
   path, every kernel's index arithmetic, the row-major-over-column-major GEMM calls) runs and
   is tested on machines without a GPU. Include it before nn_cuda.h in a file that is NOT
   built by nvcc; each kernel grid then runs as one loop on the calling thread.

   It checks what a GPU would not forgive: copies name the right direction (device memory is
   tracked), freed memory is not used, and cuBLAS's column-major contract is computed from its
   documentation, independently of nn.h's GEMM. Streams and events are synchronous here, so
   races between streams are NOT exercised: that needs a GPU.

   Test hooks: nn_emu_devices (0: behave as a machine without a driver), nn_emu_fail_malloc
   (the n-th cudaMalloc from now fails; 0: none), nn_emu_fail_launch (the n-th
   cudaGetLastError from now reports a launch failure). */
#ifndef NN_CUDA_EMU_H
#define NN_CUDA_EMU_H
#define NN_CUDA_EMULATED 1
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <assert.h>

typedef enum cudaError {
    cudaSuccess = 0,
    cudaErrorMemoryAllocation = 2,
    cudaErrorInsufficientDriver = 35,
    cudaErrorLaunchFailure = 719
} cudaError_t;
typedef enum cudaMemcpyKind {
    cudaMemcpyHostToHost = 0, cudaMemcpyHostToDevice = 1, cudaMemcpyDeviceToHost = 2, cudaMemcpyDeviceToDevice = 3
} cudaMemcpyKind;
typedef struct nn__emu_stream *cudaStream_t;
typedef struct nn__emu_event *cudaEvent_t;
#define cudaStreamNonBlocking 1u
#define cudaEventDisableTiming 2u

typedef enum cublasStatus {
    CUBLAS_STATUS_SUCCESS = 0, CUBLAS_STATUS_NOT_INITIALIZED = 1, CUBLAS_STATUS_ALLOC_FAILED = 3,
    CUBLAS_STATUS_INVALID_VALUE = 7, CUBLAS_STATUS_ARCH_MISMATCH = 8, CUBLAS_STATUS_EXECUTION_FAILED = 13,
    CUBLAS_STATUS_INTERNAL_ERROR = 14, CUBLAS_STATUS_NOT_SUPPORTED = 15
} cublasStatus_t;
typedef enum cublasOperation { CUBLAS_OP_N = 0, CUBLAS_OP_T = 1 } cublasOperation_t;
typedef enum cublasMath { CUBLAS_DEFAULT_MATH = 0, CUBLAS_TF32_TENSOR_OP_MATH = 3 } cublasMath_t;
typedef struct nn__emu_blas *cublasHandle_t;

static int nn_emu_devices = 1;
static int nn_emu_fail_malloc = 0;
static int nn_emu_fail_launch = 0;
static cudaError_t nn__emu_last = cudaSuccess;

/* live device allocations, to check copy directions and use after free */
#define NN__EMU_MAX 256
static struct { char *p; size_t n; } nn__emu_blocks[NN__EMU_MAX];
static long nn__emu_live = 0; /* device blocks not yet freed (a leak check for the tests) */

static int nn__emu_on_device(const void *p, size_t n) {
    const char *q = (const char *)p;
    int i;
    for (i = 0; i < NN__EMU_MAX; i++)
        if (nn__emu_blocks[i].p && q >= nn__emu_blocks[i].p && q + n <= nn__emu_blocks[i].p + nn__emu_blocks[i].n) return 1;
    return 0;
}
static cudaError_t nn__emu_alloc(void **p, size_t n) {
    int i;
    if (nn_emu_fail_malloc > 0 && --nn_emu_fail_malloc == 0) return nn__emu_last = cudaErrorMemoryAllocation;
    for (i = 0; i < NN__EMU_MAX; i++)
        if (!nn__emu_blocks[i].p) {
            nn__emu_blocks[i].p = (char *)malloc(n ? n : 1);
            if (!nn__emu_blocks[i].p) return cudaErrorMemoryAllocation;
            nn__emu_blocks[i].n = n;
            memset(nn__emu_blocks[i].p, 0xff, n); /* device memory starts as garbage (NaN floats) */
            *p = nn__emu_blocks[i].p;
            nn__emu_live++;
            return cudaSuccess;
        }
    return cudaErrorMemoryAllocation;
}
static cudaError_t nn__emu_free(void *p) {
    int i;
    if (!p) return cudaSuccess;
    for (i = 0; i < NN__EMU_MAX; i++)
        if (nn__emu_blocks[i].p == (char *)p) {
            free(p);
            nn__emu_blocks[i].p = NULL;
            nn__emu_live--;
            return cudaSuccess;
        }
    assert(!"cudaFree of a pointer that is not a device allocation");
    return cudaErrorLaunchFailure;
}

static const char *cudaGetErrorString(cudaError_t e) {
    switch (e) {
    case cudaSuccess: return "no error";
    case cudaErrorMemoryAllocation: return "out of memory";
    case cudaErrorInsufficientDriver: return "CUDA driver version is insufficient for CUDA runtime version";
    case cudaErrorLaunchFailure: return "unspecified launch failure";
    }
    return "unknown error";
}
static cudaError_t cudaGetLastError(void) {
    cudaError_t e = nn__emu_last;
    if (nn_emu_fail_launch > 0 && --nn_emu_fail_launch == 0) e = cudaErrorLaunchFailure;
    nn__emu_last = cudaSuccess;
    return e;
}
static cudaError_t cudaGetDeviceCount(int *n) {
    *n = 0;
    if (!nn_emu_devices) return nn__emu_last = cudaErrorInsufficientDriver;
    *n = nn_emu_devices;
    return cudaSuccess;
}
static cudaError_t cudaSetDevice(int d) { return d >= 0 && d < nn_emu_devices ? cudaSuccess : cudaErrorInsufficientDriver; }
static cudaError_t cudaStreamCreateWithFlags(cudaStream_t *s, unsigned f) {
    (void)f;
    *s = (cudaStream_t)malloc(1);
    return cudaSuccess;
}
static cudaError_t cudaStreamDestroy(cudaStream_t s) { free(s); return cudaSuccess; }
static cudaError_t cudaStreamSynchronize(cudaStream_t s) { (void)s; return cudaSuccess; }
static cudaError_t cudaStreamWaitEvent(cudaStream_t s, cudaEvent_t e, unsigned f) { (void)s; (void)e; (void)f; return cudaSuccess; }
static cudaError_t cudaEventCreateWithFlags(cudaEvent_t *e, unsigned f) {
    (void)f;
    *e = (cudaEvent_t)malloc(1);
    return cudaSuccess;
}
static cudaError_t cudaEventRecord(cudaEvent_t e, cudaStream_t s) { (void)e; (void)s; return cudaSuccess; }
static cudaError_t cudaEventSynchronize(cudaEvent_t e) { (void)e; return cudaSuccess; }
static cudaError_t cudaEventDestroy(cudaEvent_t e) { free(e); return cudaSuccess; }
static cudaError_t cudaMalloc(void **p, size_t n) { return nn__emu_alloc(p, n); }
static cudaError_t cudaFree(void *p) { return nn__emu_free(p); }
static cudaError_t cudaMallocHost(void **p, size_t n) { *p = malloc(n ? n : 1); return *p ? cudaSuccess : cudaErrorMemoryAllocation; }
static cudaError_t cudaFreeHost(void *p) { free(p); return cudaSuccess; }
static cudaError_t cudaMemGetInfo(size_t *free_b, size_t *total) {
    *free_b = (size_t)1 << 30;
    *total = (size_t)2 << 30;
    return cudaSuccess;
}
static cudaError_t cudaMemcpyAsync(void *dst, const void *src, size_t n, cudaMemcpyKind k, cudaStream_t s) {
    (void)s;
    assert(nn__emu_on_device(dst, n) == (k == cudaMemcpyHostToDevice || k == cudaMemcpyDeviceToDevice));
    assert(nn__emu_on_device(src, n) == (k == cudaMemcpyDeviceToHost || k == cudaMemcpyDeviceToDevice));
    memmove(dst, src, n);
    return cudaSuccess;
}
static cudaError_t cudaMemsetAsync(void *p, int v, size_t n, cudaStream_t s) {
    (void)s;
    assert(nn__emu_on_device(p, n));
    memset(p, v, n);
    return cudaSuccess;
}

static cublasStatus_t cublasCreate(cublasHandle_t *h) {
    if (!nn_emu_devices) return CUBLAS_STATUS_NOT_INITIALIZED;
    *h = (cublasHandle_t)malloc(1);
    return CUBLAS_STATUS_SUCCESS;
}
static cublasStatus_t cublasDestroy(cublasHandle_t h) { free(h); return CUBLAS_STATUS_SUCCESS; }
static cublasStatus_t cublasSetStream(cublasHandle_t h, cudaStream_t s) { (void)h; (void)s; return CUBLAS_STATUS_SUCCESS; }
static cublasStatus_t cublasSetMathMode(cublasHandle_t h, cublasMath_t m) { (void)h; (void)m; return CUBLAS_STATUS_SUCCESS; }
/* column-major, as documented: C (m x n) = alpha op(A) op(B) + beta C, op(A) m x k, op(B) k x n,
   element (i, j) of a matrix X with leading dimension ldx at X[i + j * ldx]; beta == 0 does
   not read C */
static cublasStatus_t cublasSgemmStridedBatched(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m, int n,
                                                int k, const float *alpha, const float *A, int lda, long long sA,
                                                const float *B, int ldb, long long sB, const float *beta, float *C,
                                                int ldc, long long sC, int batch) {
    int b, i, j, p;
    (void)h;
    if (m < 0 || n < 0 || k < 0 || batch < 0 || lda < (ta == CUBLAS_OP_N ? m : k) || ldb < (tb == CUBLAS_OP_N ? k : n) ||
        ldc < m || lda < 1 || ldb < 1 || ldc < 1)
        return CUBLAS_STATUS_INVALID_VALUE;
    for (b = 0; b < batch; b++) {
        const float *Ab = A + b * sA, *Bb = B + b * sB;
        float *Cb = C + b * sC;
        assert(nn__emu_on_device(Cb, sizeof(float)));
        for (j = 0; j < n; j++)
            for (i = 0; i < m; i++) {
                double s = 0.0;
                for (p = 0; p < k; p++) {
                    const float a = ta == CUBLAS_OP_N ? Ab[i + (int64_t)p * lda] : Ab[p + (int64_t)i * lda];
                    const float v = tb == CUBLAS_OP_N ? Bb[p + (int64_t)j * ldb] : Bb[j + (int64_t)p * ldb];
                    s += (double)a * v;
                }
                Cb[i + (int64_t)j * ldc] = (float)(*alpha * s + (*beta != 0.0f ? *beta * Cb[i + (int64_t)j * ldc] : 0.0f));
            }
    }
    return CUBLAS_STATUS_SUCCESS;
}
static cublasStatus_t cublasSgemm(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k,
                                  const float *alpha, const float *A, int lda, const float *B, int ldb, const float *beta,
                                  float *C, int ldc) {
    return cublasSgemmStridedBatched(h, ta, tb, m, n, k, alpha, A, lda, 0, B, ldb, 0, beta, C, ldc, 0, 1);
}
#endif /* NN_CUDA_EMU_H */
