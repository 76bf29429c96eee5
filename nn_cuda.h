/* nn_cuda.h - the CUDA backend for nn.h: the same models, trained and run on an NVIDIA GPU.

   USE
     In ONE .cu file, after nn.h's implementation (the two must share a translation unit):

         #define NN_IMPLEMENTATION
         #define NN_CUDA_IMPLEMENTATION
         #include "nn.h"
         #include "nn_cuda.h"

     and build it with nvcc, linking cuBLAS:

         nvcc -O2 -Xcompiler -fopenmp model.cu -o model -lcublas

     Other files (C or C++) include "nn.h" then "nn_cuda.h" for the declarations. A program
     written for the CPU changes by one call, after nn_model_compile or nn_load:

         if (nn_cuda_attach(&m, NULL) != NN_OK)
             fprintf(stderr, "on the CPU: %s\n", nn_error());   // no GPU: nothing else changes

     nn_fit, nn_evaluate, nn_predict, nn_forward, nn_train_step, nn_save, nn_quantize work
     as before. Parameters, activations, gradients and optimizer state stay in GPU memory for
     the whole of nn_fit; only the loss and accuracy sums come back (once per epoch, or per
     batch when a progress bar or callback shows them). A data set that fits in GPU memory is
     uploaded once per nn_fit; a larger one goes batch by batch from pinned buffers on a copy
     stream that overlaps the previous batch's compute. Saving brings the state back first, so a
     file written from the GPU loads on the CPU and the reverse. nn_cuda_detach brings it all
     back to the CPU; nn_model_free releases the GPU memory.

   DESIGN
     nn.h's backend table (nn_backend) is the whole interface: the model's arena gets a mirror
     of the same size on the device, and every pointer nn.h passes (always into the arena) is
     translated by its offset. GEMM is cuBLAS (FP32; TF32 tensor cores only when
     nn_cuda_config.tf32 is set). Convolution is im2col into a (C*KH*KW, images*OH*OW)
     column block for a chunk of images, then one strided-batched GEMM over the groups; the
     backward pass recomputes the columns and runs col2im as a gather. Everything else is a
     kernel of this file. Every kernel is a grid-stride loop over independent outputs and
     every reduction has a fixed order (per-plane partial sums, then a serial sum over them):
     no atomics, so a run is deterministic on a given GPU. The dropout mask is nn.h's
     nn_dropout_keep, so masks equal the CPU's.

     The kernels' loop shape is also what lets tests/cuda_emu.h (a host stand-in for the CUDA
     runtime and cuBLAS, used by the tests on machines without a GPU) run this file on the
     CPU: there, each grid is one thread running the loop to the end.

   LICENSE: MIT, as nn.h. */
#ifndef NN_CUDA_H
#define NN_CUDA_H
#ifndef NN_H_INCLUDED
#error "include nn.h before nn_cuda.h"
#endif

#ifdef __cplusplus
extern "C" {
#endif

typedef struct nn_cuda_config {
    int device;              /* CUDA device ordinal (default 0) */
    int tf32;                /* nonzero: cuBLAS may use TF32 tensor cores (about 1e-3 relative
                                error in products; faster). Default 0: IEEE FP32 */
    size_t resident_max;     /* a data set up to this many bytes is uploaded once per fit;
                                0 (default): up to half of the device's free memory */
    size_t workspace_max;    /* bytes for convolution columns (default 256 MiB); a chunk of
                                images that fits is convolved at once (at least one image) */
} nn_cuda_config;

NNDEF nn_cuda_config nn_cuda_defaults(void);
/* Number of usable CUDA devices; 0 when there is no GPU or driver (nn_error() says why). */
NNDEF int nn_cuda_device_count(void);
/* Move a compiled (or loaded) model to the GPU (cfg may be NULL). On failure (no GPU, no
   driver, not enough memory, a borrowed model) the model stays on the CPU, unchanged and
   usable, and the result and nn_error() say why. Attaching an attached model re-attaches. */
NNDEF nn_result nn_cuda_attach(nn_model *m, const nn_cuda_config *cfg);
/* Bring the state back to the host arena and continue on the CPU. */
NNDEF nn_result nn_cuda_detach(nn_model *m);
/* 1 when the model runs on the GPU. */
NNDEF int nn_cuda_active(const nn_model *m);

#ifdef __cplusplus
}
#endif
#endif /* NN_CUDA_H */

/* ======================================================================================== */
#ifdef NN_CUDA_IMPLEMENTATION
#ifndef NN_CUDA_IMPLEMENTATION_DONE
#define NN_CUDA_IMPLEMENTATION_DONE
#ifndef NN_IMPLEMENTATION
#error "NN_CUDA_IMPLEMENTATION needs NN_IMPLEMENTATION in the same file"
#endif

#ifndef NN_CUDA_EMULATED /* tests/cuda_emu.h defines it, with its own stand-ins */
#include <cuda_runtime.h>
#include <cublas_v2.h>
#endif

/* >>cuda-launch: kernels are grid-stride loops; the emulation runs each grid as one loop */
#ifdef __CUDACC__
#define NN__CU_KERNEL static __global__ void
#define NN__CU_DEV static __device__ __forceinline__
#define NN__CU_FOR(i, n) \
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < (n); i += (int64_t)blockDim.x * gridDim.x)
#define NN__CU_LAUNCH(k, n, st) k<<<nn__cu_grid(n), 256, 0, (st)>>>
#else
#define NN__CU_KERNEL static void
#define NN__CU_DEV static inline
#define NN__CU_FOR(i, n) for (int64_t i = 0; i < (n); i++)
#define NN__CU_LAUNCH(k, n, st) k
#endif

#ifdef __CUDACC__
static unsigned nn__cu_grid(int64_t n) {
    const int64_t b = (n + 255) / 256;
    return (unsigned)(b < 1 ? 1 : b > 16384 ? 16384 : b);
}
#endif

/* >>cuda-state: one per attached model -------------------------------------------------- */
typedef struct nn__cuda {
    nn_backend table;             /* the model's backend points here */
    nn_model *m;
    nn_cuda_config cfg;
    char *host, *dev;             /* the host arena and its device mirror */
    size_t bytes;
    cudaStream_t stream, copy;    /* compute; uploads of streamed batches */
    cublasHandle_t blas;
    float *ws;                    /* convolution columns, then the (OC, images*P) block */
    int64_t ws_floats;
    double *red;                  /* partial sums of the reductions */
    int64_t red_doubles;
    /* the data path: a resident copy of each slot's set, or streamed batches */
    struct {
        const float *x, *t;
        const int32_t *lab;
        int64_t n, F, T;
        float *dx, *dt;           /* device copies (resident), or NULL (streamed) */
        int32_t *dlab;
    } data[2];
    unsigned char *pin[2], *din[2]; /* pinned host / device batch buffers: x | targets | labels | rows */
    size_t pin_bytes;
    cudaEvent_t used[2];          /* the compute stream is done with buffer k */
    cudaEvent_t copied[2];        /* buffer k's upload finished */
    int k;                        /* the buffer the next batch takes */
    nn_result err;                /* the first failure, sticky */
    char msg[256];
} nn__cuda;

static nn_result nn__cu_fail(nn__cuda *c, nn_result code, const char *what, const char *why) {
    if (c && c->err != NN_OK) return c->err;
    nn__fail(code, "nn_cuda: %s failed: %s", what, why);
    if (c) {
        c->err = code;
        memcpy(c->msg, nn_error(), sizeof c->msg - 1);
        c->msg[sizeof c->msg - 1] = 0;
    }
    return code;
}
static int nn__cu_rt(nn__cuda *c, cudaError_t e, const char *what) {
    if (e == cudaSuccess) return 0;
    cudaGetLastError(); /* reported here: do not report it again at the next check */
    nn__cu_fail(c, NN_ERR_DEVICE, what, cudaGetErrorString(e));
    return 1;
}
static const char *nn__cu_blas_str(cublasStatus_t s) {
    switch (s) {
    case CUBLAS_STATUS_SUCCESS: return "CUBLAS_STATUS_SUCCESS";
    case CUBLAS_STATUS_NOT_INITIALIZED: return "CUBLAS_STATUS_NOT_INITIALIZED";
    case CUBLAS_STATUS_ALLOC_FAILED: return "CUBLAS_STATUS_ALLOC_FAILED";
    case CUBLAS_STATUS_INVALID_VALUE: return "CUBLAS_STATUS_INVALID_VALUE";
    case CUBLAS_STATUS_ARCH_MISMATCH: return "CUBLAS_STATUS_ARCH_MISMATCH";
    case CUBLAS_STATUS_EXECUTION_FAILED: return "CUBLAS_STATUS_EXECUTION_FAILED";
    case CUBLAS_STATUS_INTERNAL_ERROR: return "CUBLAS_STATUS_INTERNAL_ERROR";
    case CUBLAS_STATUS_NOT_SUPPORTED: return "CUBLAS_STATUS_NOT_SUPPORTED";
    default: return "a cuBLAS error";
    }
}
static int nn__cu_blas(nn__cuda *c, cublasStatus_t s, const char *what) {
    if (s == CUBLAS_STATUS_SUCCESS) return 0;
    nn__cu_fail(c, NN_ERR_DEVICE, what, nn__cu_blas_str(s));
    return 1;
}
#define NN__CU_RT(c, call) nn__cu_rt((c), (call), #call)
/* launch k over n outputs (nothing when n is 0), then name it if the launch failed */
#define NN__CU_RUN(c, k, n, args) do { \
        if ((c)->err == NN_OK && (n) > 0) { NN__CU_LAUNCH(k, (n), (c)->stream) args; NN__CU_RT((c), cudaGetLastError()); } \
    } while (0)

/* an arena pointer's twin on the device */
static void *nn__cu_d(const nn__cuda *c, const void *p) {
    const char *q = (const char *)p;
    if (!p) return NULL;
    NN_ASSERT(q >= c->host && q < c->host + c->bytes);
    return c->dev + (q - c->host);
}
#define NN__D(c, p) ((float *)nn__cu_d((c), (p)))
#define NN__DC(c, p) ((const float *)nn__cu_d((c), (p)))

/* >>cuda-kernels --------------------------------------------------------------------------- */
NN__CU_DEV float nn__cu_act(int kind, float alpha, float x) {
    switch (kind) {
    case NN_ACT_RELU: return x > 0.0f ? x : 0.0f;
    case NN_ACT_LEAKY_RELU: return x > 0.0f ? x : alpha * x;
    case NN_ACT_SIGMOID: return 1.0f / (1.0f + expf(-x));
    case NN_ACT_TANH: return tanhf(x);
    default: return 0.5f * x * (1.0f + erff(x * 0.70710678118654752f)); /* GELU */
    }
}
/* d(act)/dx times dy, from the forward input x and output y */
NN__CU_DEV float nn__cu_dact(int kind, float alpha, float x, float y, float dy) {
    switch (kind) {
    case NN_ACT_RELU: return x > 0.0f ? dy : 0.0f;
    case NN_ACT_LEAKY_RELU: return x > 0.0f ? dy : alpha * dy;
    case NN_ACT_SIGMOID: return dy * y * (1.0f - y);
    case NN_ACT_TANH: return dy * (1.0f - y * y);
    default:
        return dy * (0.5f * (1.0f + erff(x * 0.70710678118654752f)) + x * 0.39894228040143268f * expf(-0.5f * x * x));
    }
}
NN__CU_KERNEL nn__k_act_fwd(int kind, float alpha, float *y, const float *x, int64_t n) {
    NN__CU_FOR(i, n) y[i] = nn__cu_act(kind, alpha, x[i]);
}
NN__CU_KERNEL nn__k_act_bwd(int acc, int kind, float alpha, float *dx, const float *x, const float *y, const float *dy,
                            int64_t n) {
    NN__CU_FOR(i, n) {
        const float g = nn__cu_dact(kind, alpha, x[i], y[i], dy[i]);
        dx[i] = acc ? dx[i] + g : g;
    }
}
/* the GEMM's epilogue: C += bias (if any); R = C's ReLU as nn.h's (if R) */
NN__CU_KERNEL nn__k_bias_rows(float *C, int64_t ldc, const float *bias, float *R, int64_t M, int64_t N) {
    NN__CU_FOR(i, M * N) {
        const int64_t o = (i / N) * ldc + i % N;
        const float v = bias ? C[o] + bias[i % N] : C[o];
        if (bias) C[o] = v;
        if (R) R[o] = nn__cu_act(NN_ACT_RELU, 0.0f, v);
    }
}
NN__CU_KERNEL nn__k_softmax_fwd(float *y, const float *x, int64_t rows, int64_t cols) {
    NN__CU_FOR(r, rows) nn__softmax_row(y + r * cols, x + r * cols, cols);
}
NN__CU_KERNEL nn__k_softmax_bwd(float *dx, const float *y, const float *dy, int64_t rows, int64_t cols) {
    NN__CU_FOR(r, rows) nn__softmax_row_backward(dx + r * cols, y + r * cols, dy + r * cols, cols);
}
NN__CU_KERNEL nn__k_dropout(int backward, float *y, const float *x, int64_t n, float p, uint64_t key) {
    const float scale = 1.0f / (1.0f - p);
    NN__CU_FOR(i, n) {
        const int keep = nn_dropout_keep(key, i, p);
        if (backward) { if (keep) y[i] += x[i] * scale; }
        else y[i] = keep ? x[i] * scale : 0.0f;
    }
}
NN__CU_KERNEL nn__k_copy2d(int acc, int64_t rows, int64_t cols, float *dst, int64_t ldd, const float *src, int64_t lds) {
    NN__CU_FOR(i, rows * cols) {
        const int64_t r = i / cols, q = i % cols;
        dst[r * ldd + q] = (acc ? dst[r * ldd + q] : 0.0f) + src[r * lds + q];
    }
}
/* column sums, each column's rows in order (as the CPU adds them) */
NN__CU_KERNEL nn__k_sum_rows(float *dst, const float *src, int64_t rows, int64_t cols) {
    NN__CU_FOR(j, cols) {
        float s = src[j];
        int64_t r;
        for (r = 1; r < rows; r++) s += src[r * cols + j];
        dst[j] = s;
    }
}
/* per (n, c) plane of x (N, C, L): op 0 sum x; 1 sum (x - mean[c])^2; 2 sum x * (x2 - mean[c]) * inv[c].
   part[c * N + n], so that the second stage reads each channel's partials in a row */
NN__CU_KERNEL nn__k_plane_sum(double *part, const float *x, const float *x2, const float *mean, const float *inv,
                              int64_t N, int64_t C, int64_t L, int op) {
    NN__CU_FOR(t, N * C) {
        const int64_t n = t / C, c = t % C;
        const float *xp = x + t * L;
        double s = 0.0;
        int64_t i;
        if (op == 0) for (i = 0; i < L; i++) s += xp[i];
        else if (op == 1) for (i = 0; i < L; i++) s += ((double)xp[i] - mean[c]) * ((double)xp[i] - mean[c]);
        else for (i = 0; i < L; i++) s += (double)xp[i] * (x2[t * L + i] - mean[c]) * inv[c];
        part[c * N + n] = s;
    }
}
NN__CU_KERNEL nn__k_part_sum(double *out, const double *part, int64_t C, int64_t N) {
    NN__CU_FOR(c, C) {
        double s = 0.0;
        int64_t n;
        for (n = 0; n < N; n++) s += part[c * N + n];
        out[c] = s;
    }
}
NN__CU_KERNEL nn__k_to_float(float *dst, const double *src, int64_t n) {
    NN__CU_FOR(i, n) dst[i] = (float)src[i];
}
NN__CU_KERNEL nn__k_bn_mean(float *mean, const double *s, int64_t C, int64_t M) {
    NN__CU_FOR(c, C) mean[c] = (float)(s[c] / (double)M);
}
NN__CU_KERNEL nn__k_bn_finish(float *saved, float *rm, float *rv, const double *ss, int64_t C, int64_t M, float momentum,
                              float eps) {
    NN__CU_FOR(c, C) {
        const double var = ss[c] / (double)M;
        saved[C + c] = (float)(1.0 / sqrt(var + (double)eps));
        rm[c] = (1.0f - momentum) * rm[c] + momentum * saved[c];
        rv[c] = (1.0f - momentum) * rv[c] + momentum * (float)(M > 1 ? ss[c] / (double)(M - 1) : var);
    }
}
/* y = x * scale + shift per channel: batch statistics (saved) when training, else running */
NN__CU_KERNEL nn__k_bn_apply(float *y, const float *x, const float *gamma, const float *beta, const float *saved,
                             const float *rm, const float *rv, float eps, int training, int64_t N, int64_t C, int64_t L) {
    NN__CU_FOR(i, N * C * L) {
        const int64_t c = (i / L) % C;
        const float mean = training ? saved[c] : rm[c], inv = training ? saved[C + c] : 1.0f / sqrtf(rv[c] + eps);
        const float scale = gamma[c] * inv;
        y[i] = x[i] * scale + (beta[c] - mean * scale);
    }
}
NN__CU_KERNEL nn__k_bn_dx(float *dx, const float *dy, const float *x, const float *gamma, const float *saved,
                          const double *sdy, const double *sdyx, int64_t N, int64_t C, int64_t L) {
    NN__CU_FOR(i, N * C * L) {
        const int64_t c = (i / L) % C, M = N * L;
        const float mean = saved[c], inv = saved[C + c];
        const float k = gamma[c] * inv / (float)M, a = (float)sdy[c], b = (float)sdyx[c];
        dx[i] += k * ((float)M * dy[i] - a - (x[i] - mean) * inv * b);
    }
}
/* columns (C*KH*KW, nb*P) of images n0 .. n0+nb-1 */
NN__CU_KERNEL nn__k_im2col(float *col, const float *x, nn_conv2d_desc d, int64_t n0, int64_t nb) {
    const int64_t P = d.OH * d.OW, Q = nb * P;
    NN__CU_FOR(i, d.C * d.KH * d.KW * Q) {
        const int64_t r = i / Q, q = i % Q, img = q / P, p = q % P;
        const int64_t c = r / (d.KH * d.KW), kh = (r / d.KW) % d.KH, kw = r % d.KW;
        const int64_t ih = (p / d.OW) * d.SH - d.PH + kh * d.DH, iw = (p % d.OW) * d.SW - d.PW + kw * d.DW;
        col[i] = ih >= 0 && ih < d.H && iw >= 0 && iw < d.W ? x[(((n0 + img) * d.C + c) * d.H + ih) * d.W + iw] : 0.0f;
    }
}
/* dx += the columns' contributions, gathered per input element */
NN__CU_KERNEL nn__k_col2im(float *dx, const float *col, nn_conv2d_desc d, int64_t n0, int64_t nb) {
    const int64_t P = d.OH * d.OW, Q = nb * P;
    NN__CU_FOR(i, nb * d.C * d.H * d.W) {
        const int64_t iw = i % d.W, ih = (i / d.W) % d.H, c = (i / (d.W * d.H)) % d.C, img = i / (d.W * d.H * d.C);
        float s = 0.0f;
        int64_t kh, kw;
        for (kh = 0; kh < d.KH; kh++) {
            const int64_t th = ih + d.PH - kh * d.DH;
            if (th < 0 || th % d.SH || th / d.SH >= d.OH) continue;
            for (kw = 0; kw < d.KW; kw++) {
                const int64_t tw = iw + d.PW - kw * d.DW;
                if (tw < 0 || tw % d.SW || tw / d.SW >= d.OW) continue;
                s += col[((c * d.KH + kh) * d.KW + kw) * Q + img * P + (th / d.SH) * d.OW + tw / d.SW];
            }
        }
        dx[(n0 * d.C) * d.H * d.W + i] += s;
    }
}
/* (OC, nb*P) <-> (nb, OC, P) of images n0.. ; forward adds the bias */
NN__CU_KERNEL nn__k_cnp_to_nchw(float *y, const float *t, const float *b, int64_t OC, int64_t P, int64_t n0, int64_t nb) {
    NN__CU_FOR(i, nb * OC * P) {
        const int64_t p = i % P, oc = (i / P) % OC, img = i / (P * OC);
        y[n0 * OC * P + i] = t[oc * nb * P + img * P + p] + (b ? b[oc] : 0.0f);
    }
}
NN__CU_KERNEL nn__k_nchw_to_cnp(float *t, const float *y, int64_t OC, int64_t P, int64_t n0, int64_t nb) {
    NN__CU_FOR(i, nb * OC * P) {
        const int64_t p = i % P, oc = (i / P) % OC, img = i / (P * OC);
        t[oc * nb * P + img * P + p] = y[n0 * OC * P + i];
    }
}
NN__CU_KERNEL nn__k_pool_fwd(nn_pool2d_desc d, int64_t N, float *y, const float *x) {
    NN__CU_FOR(i, N * d.C * d.OH * d.OW) {
        const int64_t ow = i % d.OW, oh = (i / d.OW) % d.OH, t = i / (d.OW * d.OH);
        const float *xc = x + t * d.H * d.W;
        if (d.kind == NN_POOL_MAX) {
            const int64_t b = nn__pool_argmax(&d, xc, oh, ow);
            y[i] = b >= 0 ? xc[b] : -INFINITY;
        } else {
            int64_t h0, h1, w0, w1, cnt, h, w;
            float s = 0.0f;
            nn__pool_window(&d, oh, ow, &h0, &h1, &w0, &w1, &cnt);
            for (h = h0; h < h1; h++) for (w = w0; w < w1; w++) s += xc[h * d.W + w];
            y[i] = s / (float)cnt;
        }
    }
}
/* dx += per input element, over the windows that hold it */
NN__CU_KERNEL nn__k_pool_bwd(int acc, nn_pool2d_desc d, int64_t N, float *dx, const float *x, const float *dy) {
    NN__CU_FOR(i, N * d.C * d.H * d.W) {
        const int64_t iw = i % d.W, ih = (i / d.W) % d.H, t = i / (d.W * d.H);
        const float *xc = x + t * d.H * d.W, *g = dy + t * d.OH * d.OW;
        /* windows oh with oh*SH - PH <= ih < oh*SH - PH + KH */
        const int64_t ohlo = ih + d.PH - d.KH + 1 > 0 ? (ih + d.PH - d.KH + 1 + d.SH - 1) / d.SH : 0;
        const int64_t owlo = iw + d.PW - d.KW + 1 > 0 ? (iw + d.PW - d.KW + 1 + d.SW - 1) / d.SW : 0;
        const int64_t ohhi = (ih + d.PH) / d.SH < d.OH - 1 ? (ih + d.PH) / d.SH : d.OH - 1;
        const int64_t owhi = (iw + d.PW) / d.SW < d.OW - 1 ? (iw + d.PW) / d.SW : d.OW - 1;
        float s = 0.0f;
        int64_t oh, ow;
        for (oh = ohlo; oh <= ohhi; oh++)
            for (ow = owlo; ow <= owhi; ow++) {
                if (d.kind == NN_POOL_MAX) {
                    if (nn__pool_argmax(&d, xc, oh, ow) == ih * d.W + iw) s += g[oh * d.OW + ow];
                } else {
                    int64_t h0, h1, w0, w1, cnt;
                    nn__pool_window(&d, oh, ow, &h0, &h1, &w0, &w1, &cnt);
                    s += g[oh * d.OW + ow] / (float)cnt;
                }
            }
        dx[i] = acc ? dx[i] + s : s;
    }
}
/* per row: the loss sum and dout (nn.h's nn__loss_row, when the loss is defined for what is
   given), and the correct predictions (nn__correct_row) */
NN__CU_KERNEL nn__k_loss_rows(int kind, const float *out, const int32_t *labels, const int32_t *lab_loss,
                              const float *targets, int64_t B, int64_t C, int has_loss, float *dout, double *row_loss,
                              double *row_correct) {
    NN__CU_FOR(i, B) {
        const float *t = targets ? targets + i * C : NULL;
        row_loss[i] = has_loss ? nn__loss_row((nn_loss)kind, out + i * C, lab_loss ? lab_loss + i : NULL, t, B, C,
                                              dout ? dout + i * C : NULL) : 0.0;
        row_correct[i] = (double)nn__correct_row((nn_loss)kind, out + i * C, labels ? labels + i : NULL, t, C);
    }
}
/* stats += (mean loss * B, correct, judged), the rows summed in order */
NN__CU_KERNEL nn__k_loss_total(int kind, const double *row_loss, const double *row_correct, int64_t B, int64_t C,
                               int has_loss, double judged, double *stats) {
    NN__CU_FOR(z, 1) {
        double total = 0.0, correct = 0.0;
        int64_t i;
        for (i = 0; i < B; i++) { total += row_loss[i]; correct += row_correct[i]; }
        if (has_loss) {
            const float mean = kind == NN_LOSS_MSE || kind == NN_LOSS_BCE ? (float)(total / (double)(B * C))
                                                                          : (float)(total / (double)B);
            stats[0] += (double)mean * (double)B;
        }
        (void)z;
        stats[1] += correct;
        stats[2] += judged;
    }
}
NN__CU_KERNEL nn__k_sumsq_part(double *part, const float *g, int64_t n, int64_t chunk) {
    NN__CU_FOR(k, (n + chunk - 1) / chunk) {
        const int64_t hi = (k + 1) * chunk < n ? (k + 1) * chunk : n;
        double s = 0.0;
        int64_t i;
        for (i = k * chunk; i < hi; i++) s += (double)g[i] * g[i];
        part[k] = s;
    }
}
/* torch.nn.utils.clip_grad_norm_: scale by max_norm / (norm + 1e-6) when that is < 1 */
NN__CU_KERNEL nn__k_clip_coef(float *coef, const double *part, int64_t nparts, float clip) {
    NN__CU_FOR(z, 1) {
        double ss = 0.0;
        int64_t k;
        for (k = 0; k < nparts; k++) ss += part[k];
        coef[z] = clip / ((float)sqrt(ss) + 1e-6f);
    }
}
NN__CU_KERNEL nn__k_clip(float *g, const float *coef, int64_t n) {
    const float k = coef[0];
    if (k < 1.0f) NN__CU_FOR(i, n) g[i] *= k;
}
NN__CU_KERNEL nn__k_sgd(float *p, const float *g, float *s1, int64_t n, float lr, float wd, float mom, int nesterov) {
    NN__CU_FOR(i, n) {
        const float d = g[i] + wd * p[i];
        if (mom == 0.0f) p[i] -= lr * d;
        else if (!nesterov) { s1[i] = mom * s1[i] + d; p[i] -= lr * s1[i]; }
        else { s1[i] = mom * s1[i] + d; p[i] -= lr * (d + mom * s1[i]); }
    }
}
NN__CU_KERNEL nn__k_adam(float *p, const float *g, float *s1, float *s2, int64_t n, float l2, float decay, float b1,
                         float b2, float step_size, float bc2_sqrt, float eps) {
    NN__CU_FOR(i, n) {
        const float d = g[i] + l2 * p[i];
        s1[i] = s1[i] * b1 + (1.0f - b1) * d;
        s2[i] = s2[i] * b2 + (1.0f - b2) * d * d;
        p[i] = p[i] * decay;
        p[i] += -step_size * (s1[i] / (sqrtf(s2[i]) / bc2_sqrt + eps));
    }
}
NN__CU_KERNEL nn__k_rmsprop(float *p, const float *g, float *s1, float *s2, int64_t n, float lr, float wd, float a,
                            float eps, float mom) {
    NN__CU_FOR(i, n) {
        const float d = g[i] + wd * p[i];
        s2[i] = s2[i] * a + (1.0f - a) * d * d;
        if (mom > 0.0f) { s1[i] = s1[i] * mom + d / (sqrtf(s2[i]) + eps); p[i] += -lr * s1[i]; }
        else p[i] += -lr * (d / (sqrtf(s2[i]) + eps));
    }
}
/* rows[i] of a resident (n, F) float matrix / int32 vector into row i of dst */
NN__CU_KERNEL nn__k_gather(float *dst, const float *src, const int64_t *rows, int64_t n, int64_t F) {
    NN__CU_FOR(i, n * F) dst[i] = src[rows[i / F] * F + i % F];
}
NN__CU_KERNEL nn__k_gather_i(int32_t *dst, const int32_t *src, const int64_t *rows, int64_t n) {
    NN__CU_FOR(i, n) dst[i] = src[rows[i]];
}

/* >>cuda-ops: the backend table's entries ------------------------------------------------- */
/* row-major C = alpha op(A) op(B) + beta C for `batch` matrices sA, sB, sC floats apart: as
   cuBLAS is column-major, it computes C^T = op(B)^T op(A)^T on the same memory */
static void nn__cu_sgemm(nn__cuda *c, int ta, int tb, int64_t M, int64_t N, int64_t K, float alpha, const float *A,
                         int64_t lda, int64_t sA, const float *B, int64_t ldb, int64_t sB, float beta, float *C,
                         int64_t ldc, int64_t sC, int64_t batch) {
    const cublasOperation_t oa = ta ? CUBLAS_OP_T : CUBLAS_OP_N, ob = tb ? CUBLAS_OP_T : CUBLAS_OP_N;
    if (c->err != NN_OK || M == 0 || N == 0 || batch == 0) return;
    if (M > INT32_MAX || N > INT32_MAX || K > INT32_MAX || lda > INT32_MAX || ldb > INT32_MAX || ldc > INT32_MAX) {
        nn__cu_fail(c, NN_ERR_UNSUPPORTED, "cublasSgemm", "a dimension is past 2^31");
        return;
    }
    if (batch == 1)
        nn__cu_blas(c, cublasSgemm(c->blas, ob, oa, (int)N, (int)M, (int)K, &alpha, B, (int)ldb, A, (int)lda, &beta, C,
                                   (int)ldc), "cublasSgemm");
    else
        nn__cu_blas(c, cublasSgemmStridedBatched(c->blas, ob, oa, (int)N, (int)M, (int)K, &alpha, B, (int)ldb, sB, A,
                                                 (int)lda, sA, &beta, C, (int)ldc, sC, (int)batch),
                    "cublasSgemmStridedBatched");
}

static void nn__cu_gemm(void *ctx, int ta, int tb, int64_t M, int64_t N, int64_t K, float alpha, const float *A,
                        int64_t lda, const float *B, int64_t ldb, float beta, float *C, int64_t ldc, const float *bias,
                        float *relu, float *ws, int64_t ws_floats) {
    nn__cuda *c = (nn__cuda *)ctx;
    float *dC = NN__D(c, C);
    (void)ws; (void)ws_floats;
    nn__cu_sgemm(c, ta, tb, M, N, K, alpha, NN__DC(c, A), lda, 0, NN__DC(c, B), ldb, 0, beta, dC, ldc, 0, 1);
    if (bias || relu)
        NN__CU_RUN(c, nn__k_bias_rows, M * N, (dC, ldc, bias ? NN__DC(c, bias) : NULL, relu ? NN__D(c, relu) : NULL, M, N));
}

/* images per convolution chunk: as many as the workspace holds, at least one */
static int64_t nn__cu_conv_chunk(const nn_conv2d_desc *d, int64_t floats) {
    const int64_t per = (d->C * d->KH * d->KW + d->OC) * d->OH * d->OW;
    return floats / per < 1 ? 1 : floats / per;
}

static void nn__cu_conv_forward(void *ctx, const nn_conv2d_desc *d, int64_t N, float *y, const float *x, const float *w,
                                const float *b, float *ws) {
    nn__cuda *c = (nn__cuda *)ctx;
    const int64_t P = d->OH * d->OW, G = d->G, OCg = d->OC / G, CKg = d->C / G * d->KH * d->KW;
    const int64_t chunk = nn__cu_conv_chunk(d, c->ws_floats);
    const float *dx = NN__DC(c, x), *dw = NN__DC(c, w), *db = NN__DC(c, b);
    float *dy = NN__D(c, y);
    int64_t n0;
    (void)ws;
    for (n0 = 0; n0 < N; n0 += chunk) {
        const int64_t nb = N - n0 < chunk ? N - n0 : chunk, Q = nb * P;
        float *col = c->ws, *t = c->ws + d->C * d->KH * d->KW * Q;
        NN__CU_RUN(c, nn__k_im2col, d->C * d->KH * d->KW * Q, (col, dx, *d, n0, nb));
        /* per group g: t_g (OCg, Q) = w_g (OCg, CKg) col_g (CKg, Q) */
        nn__cu_sgemm(c, 0, 0, OCg, Q, CKg, 1.0f, dw, CKg, OCg * CKg, col, Q, CKg * Q, 0.0f, t, Q, OCg * Q, G);
        NN__CU_RUN(c, nn__k_cnp_to_nchw, nb * d->OC * P, (dy, t, db, d->OC, P, n0, nb));
    }
}

/* out (C) = sums over n and l of x (N, C, L), by planes then channels */
static void nn__cu_channel_sums(nn__cuda *c, double *out, const float *x, const float *x2, const float *mean,
                                const float *inv, int64_t N, int64_t C, int64_t L, int op) {
    double *part = out + C;
    NN__CU_RUN(c, nn__k_plane_sum, N * C, (part, x, x2, mean, inv, N, C, L, op));
    NN__CU_RUN(c, nn__k_part_sum, C, (out, part, C, N));
}

static void nn__cu_conv_backward(void *ctx, const nn_conv2d_desc *d, int64_t N, float *dx, float *dw, float *db,
                                 const float *dy, const float *x, const float *w, float *ws) {
    nn__cuda *c = (nn__cuda *)ctx;
    const int64_t P = d->OH * d->OW, G = d->G, OCg = d->OC / G, CKg = d->C / G * d->KH * d->KW;
    const int64_t chunk = nn__cu_conv_chunk(d, c->ws_floats);
    const float *ddy = NN__DC(c, dy), *dxin = NN__DC(c, x), *dwt = NN__DC(c, w);
    float *ddx = NN__D(c, dx), *ddw = NN__D(c, dw);
    int64_t n0;
    (void)ws;
    if (db) { /* sums of dy per output channel */
        nn__cu_channel_sums(c, c->red, ddy, NULL, NULL, NULL, N, d->OC, P, 0);
        NN__CU_RUN(c, nn__k_to_float, d->OC, (NN__D(c, db), c->red, d->OC));
    }
    for (n0 = 0; n0 < N; n0 += chunk) {
        const int64_t nb = N - n0 < chunk ? N - n0 : chunk, Q = nb * P;
        float *col = c->ws, *t = c->ws + d->C * d->KH * d->KW * Q;
        NN__CU_RUN(c, nn__k_nchw_to_cnp, nb * d->OC * P, (t, ddy, d->OC, P, n0, nb));
        NN__CU_RUN(c, nn__k_im2col, d->C * d->KH * d->KW * Q, (col, dxin, *d, n0, nb));
        /* dw_g (OCg, CKg) (+)= t_g (OCg, Q) col_g^T */
        nn__cu_sgemm(c, 0, 1, OCg, CKg, Q, 1.0f, t, Q, OCg * Q, col, Q, CKg * Q, n0 ? 1.0f : 0.0f, ddw, CKg, OCg * CKg, G);
        if (ddx) { /* col_g (CKg, Q) = w_g^T t_g, then dx += col2im */
            nn__cu_sgemm(c, 1, 0, CKg, Q, OCg, 1.0f, dwt, CKg, OCg * CKg, t, Q, OCg * Q, 0.0f, col, Q, CKg * Q, G);
            NN__CU_RUN(c, nn__k_col2im, nb * d->C * d->H * d->W, (ddx, col, *d, n0, nb));
        }
    }
}

static void nn__cu_pool_forward(void *ctx, const nn_pool2d_desc *d, int64_t N, float *y, const float *x) {
    nn__cuda *c = (nn__cuda *)ctx;
    NN__CU_RUN(c, nn__k_pool_fwd, N * d->C * d->OH * d->OW, (*d, N, NN__D(c, y), NN__DC(c, x)));
}
static void nn__cu_pool_backward(void *ctx, int acc, const nn_pool2d_desc *d, int64_t N, float *dx, const float *x,
                                 const float *dy) {
    nn__cuda *c = (nn__cuda *)ctx;
    NN__CU_RUN(c, nn__k_pool_bwd, N * d->C * d->H * d->W, (acc, *d, N, NN__D(c, dx), NN__DC(c, x), NN__DC(c, dy)));
}

static void nn__cu_bn_forward(void *ctx, int64_t N, int64_t C, int64_t L, float *y, const float *x, const float *gamma,
                              const float *beta, float *rm, float *rv, float *saved, float momentum, float eps,
                              int training) {
    nn__cuda *c = (nn__cuda *)ctx;
    const float *dx = NN__DC(c, x);
    float *dsaved = NN__D(c, saved), *drm = NN__D(c, rm), *drv = NN__D(c, rv);
    if (training) {
        nn__cu_channel_sums(c, c->red, dx, NULL, NULL, NULL, N, C, L, 0);
        NN__CU_RUN(c, nn__k_bn_mean, C, (dsaved, c->red, C, N * L));
        nn__cu_channel_sums(c, c->red, dx, NULL, dsaved, NULL, N, C, L, 1);
        NN__CU_RUN(c, nn__k_bn_finish, C, (dsaved, drm, drv, c->red, C, N * L, momentum, eps));
    }
    NN__CU_RUN(c, nn__k_bn_apply, N * C * L,
               (NN__D(c, y), dx, NN__DC(c, gamma), NN__DC(c, beta), dsaved, drm, drv, eps, training, N, C, L));
}
static void nn__cu_bn_backward(void *ctx, int64_t N, int64_t C, int64_t L, float *dx, float *dgamma, float *dbeta,
                               const float *dy, const float *x, const float *gamma, const float *saved) {
    nn__cuda *c = (nn__cuda *)ctx;
    const float *ddy = NN__DC(c, dy), *dxin = NN__DC(c, x), *dsaved = NN__DC(c, saved);
    double *sdy = c->red + N * C + C, *sdyx = sdy + C; /* past the partials of the sums below */
    nn__cu_channel_sums(c, c->red, ddy, NULL, NULL, NULL, N, C, L, 0);
    NN__CU_RT(c, cudaMemcpyAsync(sdy, c->red, sizeof(double) * (size_t)C, cudaMemcpyDeviceToDevice, c->stream));
    nn__cu_channel_sums(c, c->red, ddy, dxin, dsaved, dsaved + C, N, C, L, 2);
    NN__CU_RT(c, cudaMemcpyAsync(sdyx, c->red, sizeof(double) * (size_t)C, cudaMemcpyDeviceToDevice, c->stream));
    NN__CU_RUN(c, nn__k_to_float, C, (NN__D(c, dgamma), sdyx, C));
    NN__CU_RUN(c, nn__k_to_float, C, (NN__D(c, dbeta), sdy, C));
    if (dx)
        NN__CU_RUN(c, nn__k_bn_dx, N * C * L,
                   (NN__D(c, dx), ddy, dxin, NN__DC(c, gamma), dsaved, sdy, sdyx, N, C, L));
}

static void nn__cu_act_forward(void *ctx, nn_act kind, float alpha, float *y, const float *x, int64_t n) {
    nn__cuda *c = (nn__cuda *)ctx;
    NN__CU_RUN(c, nn__k_act_fwd, n, ((int)kind, alpha, NN__D(c, y), NN__DC(c, x), n));
}
static void nn__cu_act_backward(void *ctx, int acc, nn_act kind, float alpha, float *dx, const float *x, const float *y,
                                const float *dy, int64_t n) {
    nn__cuda *c = (nn__cuda *)ctx;
    NN__CU_RUN(c, nn__k_act_bwd, n, (acc, (int)kind, alpha, NN__D(c, dx), NN__DC(c, x), NN__DC(c, y), NN__DC(c, dy), n));
}
static void nn__cu_softmax_forward(void *ctx, float *y, const float *x, int64_t rows, int64_t cols) {
    nn__cuda *c = (nn__cuda *)ctx;
    NN__CU_RUN(c, nn__k_softmax_fwd, rows, (NN__D(c, y), NN__DC(c, x), rows, cols));
}
static void nn__cu_softmax_backward(void *ctx, float *dx, const float *y, const float *dy, int64_t rows, int64_t cols) {
    nn__cuda *c = (nn__cuda *)ctx;
    NN__CU_RUN(c, nn__k_softmax_bwd, rows, (NN__D(c, dx), NN__DC(c, y), NN__DC(c, dy), rows, cols));
}
static void nn__cu_dropout(void *ctx, int backward, float *y, const float *x, int64_t n, float p, uint64_t key) {
    nn__cuda *c = (nn__cuda *)ctx;
    NN__CU_RUN(c, nn__k_dropout, n, (backward, NN__D(c, y), NN__DC(c, x), n, p, key));
}
static void nn__cu_copy2d(void *ctx, int accumulate, int64_t rows, int64_t cols, float *dst, int64_t ldd,
                          const float *src, int64_t lds) {
    nn__cuda *c = (nn__cuda *)ctx;
    NN__CU_RUN(c, nn__k_copy2d, rows * cols, (accumulate, rows, cols, NN__D(c, dst), ldd, NN__DC(c, src), lds));
}
static void nn__cu_zero(void *ctx, float *p, int64_t n) {
    nn__cuda *c = (nn__cuda *)ctx;
    if (c->err == NN_OK && n > 0)
        NN__CU_RT(c, cudaMemsetAsync(NN__D(c, p), 0, sizeof(float) * (size_t)n, c->stream));
}
static void nn__cu_sum_rows(void *ctx, float *dst, const float *src, int64_t rows, int64_t cols) {
    nn__cuda *c = (nn__cuda *)ctx;
    NN__CU_RUN(c, nn__k_sum_rows, cols, (NN__D(c, dst), NN__DC(c, src), rows, cols));
}
static void nn__cu_loss(void *ctx, nn_loss kind, const float *out, const int32_t *labels, const float *targets,
                        int64_t B, int64_t C, float *dout, double *stats) {
    nn__cuda *c = (nn__cuda *)ctx;
    const int32_t *lab = nn__loss_labels(kind, labels, targets);
    const int32_t *dlab = (const int32_t *)nn__cu_d(c, labels), *dlab_loss = (const int32_t *)nn__cu_d(c, lab);
    const int has_loss = nn__loss_defined(kind, lab, targets);
    NN__CU_RUN(c, nn__k_loss_rows, B,
               ((int)kind, NN__DC(c, out), dlab, dlab_loss, NN__DC(c, targets), B, C, has_loss, NN__D(c, dout), c->red,
                c->red + B));
    NN__CU_RUN(c, nn__k_loss_total, 1,
               ((int)kind, c->red, c->red + B, B, C, has_loss, (double)nn__judged(kind, labels, targets, B, C),
                (double *)nn__cu_d(c, stats)));
}
static void nn__cu_optimizer_step(void *ctx, const nn_optimizer *o, float lr, int64_t t, float *p, float *g, float *s1,
                                  float *s2, int64_t n) {
    nn__cuda *c = (nn__cuda *)ctx;
    float *dp = NN__D(c, p), *dg = NN__D(c, g), *d1 = NN__D(c, s1), *d2 = NN__D(c, s2);
    const float wd = o->weight_decay;
    if (o->clip_norm > 0.0f) {
        const int64_t chunk = 4096, parts = (n + chunk - 1) / chunk;
        float *coef = (float *)(void *)(c->red + parts);
        NN__CU_RUN(c, nn__k_sumsq_part, parts, (c->red, dg, n, chunk));
        NN__CU_RUN(c, nn__k_clip_coef, 1, (coef, c->red, parts, o->clip_norm));
        NN__CU_RUN(c, nn__k_clip, n, (dg, coef, n));
    }
    switch (o->type) {
    case NN_OPT_SGD: NN__CU_RUN(c, nn__k_sgd, n, (dp, dg, d1, n, lr, wd, o->momentum, o->nesterov)); break;
    case NN_OPT_ADAM:
    case NN_OPT_ADAMW: { /* the step's scalars as nn_optimizer_step computes them */
        const float step_size = (float)(lr / (1.0 - pow((double)o->beta1, (double)t)));
        const float bc2_sqrt = (float)sqrt(1.0 - pow((double)o->beta2, (double)t));
        const float l2 = o->type == NN_OPT_ADAM ? wd : 0.0f, decay = o->type == NN_OPT_ADAMW ? 1.0f - lr * wd : 1.0f;
        NN__CU_RUN(c, nn__k_adam, n, (dp, dg, d1, d2, n, l2, decay, o->beta1, o->beta2, step_size, bc2_sqrt, o->eps));
        break;
    }
    default: NN__CU_RUN(c, nn__k_rmsprop, n, (dp, dg, d1, d2, n, lr, wd, o->alpha, o->eps, o->momentum)); break;
    }
}

/* >>cuda-data: the arena between host and device, data sets into the staging ------------- */
static void nn__cu_sync(void *ctx, void *p, size_t bytes, int to_device) {
    nn__cuda *c = (nn__cuda *)ctx;
    if (c->err != NN_OK) return;
    if (to_device) /* from pageable memory: the host may reuse p when this returns */
        NN__CU_RT(c, cudaMemcpyAsync(nn__cu_d(c, p), p, bytes, cudaMemcpyHostToDevice, c->stream));
    else if (!NN__CU_RT(c, cudaMemcpyAsync(p, nn__cu_d(c, p), bytes, cudaMemcpyDeviceToHost, c->stream)))
        NN__CU_RT(c, cudaStreamSynchronize(c->stream));
}

/* drop a slot's device copies (the set is then streamed) */
static void nn__cu_data_free(nn__cuda *c, int slot) {
    cudaFree(c->data[slot].dx);
    cudaFree(c->data[slot].dt);
    cudaFree(c->data[slot].dlab);
    c->data[slot].dx = c->data[slot].dt = NULL;
    c->data[slot].dlab = NULL;
}

static nn_result nn__cu_data_begin(void *ctx, int slot, const float *x, const int32_t *labels, const float *targets,
                                   int64_t n, int64_t F, int64_t T) {
    nn__cuda *c = (nn__cuda *)ctx;
    const size_t bytes = sizeof(float) * (size_t)(n * F) + (targets ? sizeof(float) * (size_t)(n * T) : 0) +
                         (labels ? sizeof(int32_t) * (size_t)n : 0);
    size_t free_b = 0, total_b = 0, limit = c->cfg.resident_max;
    if (c->err != NN_OK) return c->err;
    nn__cu_data_free(c, slot);
    c->data[slot].x = x; c->data[slot].t = targets; c->data[slot].lab = labels;
    c->data[slot].n = n; c->data[slot].F = F; c->data[slot].T = T;
    if (!limit) {
        if (NN__CU_RT(c, cudaMemGetInfo(&free_b, &total_b))) return c->err;
        limit = free_b / 2;
    }
    if (bytes > limit) return NN_OK; /* streamed, batch by batch */
    if (cudaMalloc((void **)&c->data[slot].dx, sizeof(float) * (size_t)(n * F)) != cudaSuccess ||
        (targets && cudaMalloc((void **)&c->data[slot].dt, sizeof(float) * (size_t)(n * T)) != cudaSuccess) ||
        (labels && cudaMalloc((void **)&c->data[slot].dlab, sizeof(int32_t) * (size_t)n) != cudaSuccess)) {
        cudaGetLastError(); /* not fatal: stream it instead */
        nn__cu_data_free(c, slot);
        return NN_OK;
    }
    NN__CU_RT(c, cudaMemcpyAsync(c->data[slot].dx, x, sizeof(float) * (size_t)(n * F), cudaMemcpyHostToDevice, c->stream));
    if (targets)
        NN__CU_RT(c, cudaMemcpyAsync(c->data[slot].dt, targets, sizeof(float) * (size_t)(n * T), cudaMemcpyHostToDevice,
                                     c->stream));
    if (labels)
        NN__CU_RT(c, cudaMemcpyAsync(c->data[slot].dlab, labels, sizeof(int32_t) * (size_t)n, cudaMemcpyHostToDevice,
                                     c->stream));
    return c->err;
}

static void nn__cu_data_end(void *ctx, int slot) {
    nn__cuda *c = (nn__cuda *)ctx;
    if (c->data[slot].dx) cudaStreamSynchronize(c->stream); /* nothing still reads the copy */
    nn__cu_data_free(c, slot);
}

/* one batch into the staging: a gather kernel over the resident copy, or rows gathered on the
   host into pinned buffer k, uploaded on the copy stream while the compute stream runs the
   previous batch, then copied into the staging in stream order */
static void nn__cu_data_rows(void *ctx, int slot, const int64_t *rows, int64_t lo, int64_t n, float *x, int32_t *labels,
                             float *targets) {
    nn__cuda *c = (nn__cuda *)ctx;
    const int k = c->k;
    const int64_t F = c->data[slot].F, T = c->data[slot].T, B = c->m->config.max_batch;
    const size_t off_t = sizeof(float) * (size_t)(B * F), off_l = off_t + sizeof(float) * (size_t)(B * T);
    const size_t off_r = (off_l + sizeof(int32_t) * (size_t)B + 7) / 8 * 8;
    float *px = (float *)(void *)c->pin[k], *pt = (float *)(void *)(c->pin[k] + off_t);
    int32_t *pl = (int32_t *)(void *)(c->pin[k] + off_l);
    int64_t *pr = (int64_t *)(void *)(c->pin[k] + off_r);
    int64_t i;
    if (c->err != NN_OK) return;
    c->k ^= 1;
    /* buffer k was last used two batches ago: wait until the device is done with it */
    if (NN__CU_RT(c, cudaEventSynchronize(c->used[k]))) return;
    if (c->data[slot].dx) { /* resident */
        const int64_t *drows = (const int64_t *)(void *)(c->din[k] + off_r);
        for (i = 0; i < n; i++) pr[i] = rows ? rows[i] : lo + i;
        NN__CU_RT(c, cudaMemcpyAsync(c->din[k] + off_r, pr, sizeof(int64_t) * (size_t)n, cudaMemcpyHostToDevice,
                                     c->stream));
        NN__CU_RUN(c, nn__k_gather, n * F, (NN__D(c, x), c->data[slot].dx, drows, n, F));
        if (targets) NN__CU_RUN(c, nn__k_gather, n * T, (NN__D(c, targets), c->data[slot].dt, drows, n, T));
        if (labels)
            NN__CU_RUN(c, nn__k_gather_i, n, ((int32_t *)nn__cu_d(c, labels), c->data[slot].dlab, drows, n));
    } else { /* streamed */
        for (i = 0; i < n; i++) {
            const int64_t r = rows ? rows[i] : lo + i;
            memcpy(px + i * F, c->data[slot].x + r * F, sizeof(float) * (size_t)F);
            if (targets) memcpy(pt + i * T, c->data[slot].t + r * T, sizeof(float) * (size_t)T);
            if (labels) pl[i] = c->data[slot].lab[r];
        }
        NN__CU_RT(c, cudaMemcpyAsync(c->din[k], px, sizeof(float) * (size_t)(n * F), cudaMemcpyHostToDevice, c->copy));
        if (targets)
            NN__CU_RT(c, cudaMemcpyAsync(c->din[k] + off_t, pt, sizeof(float) * (size_t)(n * T), cudaMemcpyHostToDevice,
                                         c->copy));
        if (labels)
            NN__CU_RT(c, cudaMemcpyAsync(c->din[k] + off_l, pl, sizeof(int32_t) * (size_t)n, cudaMemcpyHostToDevice,
                                         c->copy));
        NN__CU_RT(c, cudaEventRecord(c->copied[k], c->copy));
        NN__CU_RT(c, cudaStreamWaitEvent(c->stream, c->copied[k], 0));
        NN__CU_RT(c, cudaMemcpyAsync(nn__cu_d(c, x), c->din[k], sizeof(float) * (size_t)(n * F), cudaMemcpyDeviceToDevice,
                                     c->stream));
        if (targets)
            NN__CU_RT(c, cudaMemcpyAsync(nn__cu_d(c, targets), c->din[k] + off_t, sizeof(float) * (size_t)(n * T),
                                         cudaMemcpyDeviceToDevice, c->stream));
        if (labels)
            NN__CU_RT(c, cudaMemcpyAsync(nn__cu_d(c, labels), c->din[k] + off_l, sizeof(int32_t) * (size_t)n,
                                         cudaMemcpyDeviceToDevice, c->stream));
    }
    NN__CU_RT(c, cudaEventRecord(c->used[k], c->stream));
}

static nn_result nn__cu_status(void *ctx) {
    nn__cuda *c = (nn__cuda *)ctx;
    if (c->err == NN_OK) nn__cu_rt(c, cudaGetLastError(), "a kernel launch");
    if (c->err != NN_OK) return nn__fail(c->err, "%s", c->msg);
    return NN_OK;
}

static void nn__cu_release(void *ctx) {
    nn__cuda *c = (nn__cuda *)ctx;
    nn_allocator al;
    int k;
    if (!c) return;
    if (c->stream) cudaStreamSynchronize(c->stream);
    nn__cu_data_free(c, 0);
    nn__cu_data_free(c, 1);
    for (k = 0; k < 2; k++) {
        if (c->pin[k]) cudaFreeHost(c->pin[k]);
        cudaFree(c->din[k]);
        if (c->used[k]) cudaEventDestroy(c->used[k]);
        if (c->copied[k]) cudaEventDestroy(c->copied[k]);
    }
    cudaFree(c->ws);
    cudaFree(c->red);
    cudaFree(c->dev);
    if (c->blas) cublasDestroy(c->blas);
    if (c->stream) cudaStreamDestroy(c->stream);
    if (c->copy) cudaStreamDestroy(c->copy);
    al = c->m->allocator;
    al.free(c, al.user);
}

/* >>cuda-api --------------------------------------------------------------------------------- */
NNDEF nn_cuda_config nn_cuda_defaults(void) {
    nn_cuda_config c;
    memset(&c, 0, sizeof c);
    c.workspace_max = (size_t)256 << 20;
    return c;
}

NNDEF int nn_cuda_device_count(void) {
    int n = 0;
    const cudaError_t e = cudaGetDeviceCount(&n);
    if (e != cudaSuccess) {
        cudaGetLastError();
        nn__fail(NN_ERR_UNSUPPORTED, "nn_cuda: no CUDA device: cudaGetDeviceCount: %s", cudaGetErrorString(e));
        return 0;
    }
    if (n == 0) nn__fail(NN_ERR_UNSUPPORTED, "nn_cuda: no CUDA device: cudaGetDeviceCount found none");
    return n;
}

NNDEF int nn_cuda_active(const nn_model *m) {
    return m && m->backend && m->backend->release == nn__cu_release;
}

NNDEF nn_result nn_cuda_detach(nn_model *m) {
    nn_result r;
    if (!nn_cuda_active(m)) return NN_OK;
    nn__pull(m, m->mem, m->mem_bytes);
    r = nn__device_status(m);
    m->backend->release(m->backend->ctx);
    m->backend = nn_backend_cpu();
    nn__plan_steps(m);
    return r;
}

/* nn_cuda.h's row of each layer type (nn.h's >>layer-table): whether it runs here, and the
   device workspace its steps need beyond the model's arena: convolution columns (ws, floats)
   and reduction partials (red, doubles). A type whose row is {0, NULL} is refused by
   nn_cuda_attach; the rows are in nn_layer_type's order, one for each type (checked below). */
typedef struct nn__cu_layer {
    int runs;
    void (*plan)(const nn_model *m, const nn_layer *l, const nn_cuda_config *cfg, int64_t *ws, int64_t *red);
} nn__cu_layer;
static void nn__cu_plan_conv(const nn_model *m, const nn_layer *l, const nn_cuda_config *cfg, int64_t *ws, int64_t *red) {
    const nn_conv2d_desc *d = &l->cfg.conv.d;
    const int64_t B = m->config.max_batch, per = (d->C * d->KH * d->KW + d->OC) * d->OH * d->OW;
    int64_t nb = (int64_t)(cfg->workspace_max / sizeof(float)) / per;
    nb = nb < 1 ? 1 : nb > B ? B : nb;
    if (*ws < nb * per) *ws = nb * per;
    if (*red < B * d->OC + d->OC) *red = B * d->OC + d->OC;
}
static void nn__cu_plan_bn(const nn_model *m, const nn_layer *l, const nn_cuda_config *cfg, int64_t *ws, int64_t *red) {
    const int64_t B = m->config.max_batch, C = m->layers[l->inputs[0]].shape[0];
    (void)cfg; (void)ws;
    if (*red < B * C + 3 * C) *red = B * C + 3 * C;
}
static const nn__cu_layer nn__cu_layers[] = {
    {1, NULL},             /* input */
    {1, NULL},             /* dense */
    {1, NULL},             /* activation */
    {1, NULL},             /* softmax */
    {1, NULL},             /* dropout */
    {1, NULL},             /* add */
    {1, NULL},             /* concat */
    {1, NULL},             /* flatten */
    {1, nn__cu_plan_conv}, /* conv2d */
    {1, NULL},             /* pool2d */
    {1, nn__cu_plan_bn},   /* batchnorm */
    {1, NULL},             /* reshape */
    {0, NULL},             /* embedding (not yet: refused) */
    {0, NULL},             /* layernorm (not yet: refused) */
    {0, NULL},             /* pos_embedding (not yet: refused) */
    {0, NULL},             /* attention (not yet: refused) */
    {0, NULL},             /* tied_dense (not yet: refused) */
    {0, NULL},             /* mul (not yet: refused) */
    {0, NULL},             /* lstm (not yet: refused) */
    {0, NULL},             /* gru (not yet: refused) */
};
typedef char nn__cu_layers_match[(sizeof nn__cu_layers / sizeof nn__cu_layers[0] == NN_LAYER_COUNT) ? 1 : -1];

/* the workspace the model's layers need: convolution chunks (floats) and reductions (doubles) */
static void nn__cu_plan(const nn_model *m, const nn_cuda_config *cfg, int64_t *ws, int64_t *red) {
    const int64_t B = m->config.max_batch;
    int i;
    *ws = 0;
    *red = 16 + 2 * B + (m->n_train + 4095) / 4096 + 8;
    for (i = 1; i < m->n_layers; i++)
        if (nn__cu_layers[m->layers[i].type].plan) nn__cu_layers[m->layers[i].type].plan(m, &m->layers[i], cfg, ws, red);
}

NNDEF nn_result nn_cuda_attach(nn_model *m, const nn_cuda_config *cfg) {
    nn__cuda *c;
    nn_result r;
    int64_t F, T, B;
    int k;
    if (!m) return nn__fail(NN_ERR_INVALID_ARG, "nn_cuda_attach: model is NULL");
    if (!m->compiled) return nn__fail(NN_ERR_STATE, "nn_cuda_attach: the model is not compiled (call nn_model_compile)");
    if (m->borrowed)
        return nn__fail(NN_ERR_UNSUPPORTED, "nn_cuda_attach: the model borrows its weights from a buffer; load it with "
                        "borrow = 0 to move it to the GPU");
    if ((r = nn_cuda_detach(m)) != NN_OK) return r;
    for (k = 1; k < m->n_layers; k++)
        if (!nn__cu_layers[m->layers[k].type].runs)
            return nn__fail(NN_ERR_UNSUPPORTED, "nn_cuda_attach: layer %d (%s) has no CUDA implementation; the model stays "
                            "on the CPU", k, nn__layer_name(m->layers[k].type));
    if (nn_cuda_device_count() < 1) return NN_ERR_UNSUPPORTED; /* nn_error() says why */
    c = (nn__cuda *)m->allocator.alloc(sizeof *c, m->allocator.user);
    if (!c) return nn__fail(NN_ERR_OUT_OF_MEMORY, "nn_cuda_attach: no memory for the backend state");
    memset(c, 0, sizeof *c);
    c->m = m;
    c->cfg = cfg ? *cfg : nn_cuda_defaults();
    if (!c->cfg.workspace_max) c->cfg.workspace_max = nn_cuda_defaults().workspace_max;
    c->host = (char *)m->mem;
    c->bytes = m->mem_bytes;
    B = m->config.max_batch;
    F = m->layers[0].size;
    T = m->layers[m->n_layers - 1].size;
    nn__cu_plan(m, &c->cfg, &c->ws_floats, &c->red_doubles);
    c->pin_bytes = (sizeof(float) * (size_t)(B * (F + T)) + sizeof(int32_t) * (size_t)B + 7) / 8 * 8 +
                   sizeof(int64_t) * (size_t)B; /* x | targets | labels | rows, as nn__cu_data_rows lays them */
    if (!NN__CU_RT(c, cudaSetDevice(c->cfg.device)) &&
        !NN__CU_RT(c, cudaStreamCreateWithFlags(&c->stream, cudaStreamNonBlocking)) &&
        !NN__CU_RT(c, cudaStreamCreateWithFlags(&c->copy, cudaStreamNonBlocking)) &&
        !nn__cu_blas(c, cublasCreate(&c->blas), "cublasCreate") &&
        !nn__cu_blas(c, cublasSetStream(c->blas, c->stream), "cublasSetStream") &&
        !nn__cu_blas(c, cublasSetMathMode(c->blas, c->cfg.tf32 ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH),
                     "cublasSetMathMode") &&
        !NN__CU_RT(c, cudaMalloc((void **)&c->dev, c->bytes)) &&
        !NN__CU_RT(c, cudaMalloc((void **)&c->ws, sizeof(float) * (size_t)(c->ws_floats > 0 ? c->ws_floats : 1))) &&
        !NN__CU_RT(c, cudaMalloc((void **)&c->red, sizeof(double) * (size_t)c->red_doubles))) {
        for (k = 0; k < 2 && c->err == NN_OK; k++) {
            if (NN__CU_RT(c, cudaMallocHost((void **)&c->pin[k], c->pin_bytes)) ||
                NN__CU_RT(c, cudaMalloc((void **)&c->din[k], c->pin_bytes)) ||
                NN__CU_RT(c, cudaEventCreateWithFlags(&c->used[k], cudaEventDisableTiming)) ||
                NN__CU_RT(c, cudaEventCreateWithFlags(&c->copied[k], cudaEventDisableTiming)))
                break;
            NN__CU_RT(c, cudaEventRecord(c->used[k], c->stream));
        }
        if (c->err == NN_OK &&
            !NN__CU_RT(c, cudaMemcpyAsync(c->dev, c->host, c->bytes, cudaMemcpyHostToDevice, c->stream)))
            NN__CU_RT(c, cudaStreamSynchronize(c->stream));
    }
    if (c->err != NN_OK) {
        char msg[256];
        r = c->err;
        memcpy(msg, c->msg, sizeof msg);
        nn__cu_release(c);
        return nn__fail(r, "%s; the model stays on the CPU", msg);
    }
    memset(&c->table, 0, sizeof c->table); /* what is not filled here is refused, not run on the CPU */
    c->table.name = "cuda";
    c->table.ctx = c;
    c->table.gemm = nn__cu_gemm;
    c->table.conv2d_forward = nn__cu_conv_forward;
    c->table.conv2d_backward = nn__cu_conv_backward;
    c->table.pool2d_forward = nn__cu_pool_forward;
    c->table.pool2d_backward = nn__cu_pool_backward;
    /* (no fused pooling entries: nn.h then takes the two above) */
    c->table.batchnorm_forward = nn__cu_bn_forward;
    c->table.batchnorm_backward = nn__cu_bn_backward;
    c->table.act_forward = nn__cu_act_forward;
    c->table.act_backward = nn__cu_act_backward;
    c->table.softmax_forward = nn__cu_softmax_forward;
    c->table.softmax_backward = nn__cu_softmax_backward;
    c->table.dropout = nn__cu_dropout;
    c->table.copy2d = nn__cu_copy2d;
    c->table.zero = nn__cu_zero;
    c->table.sum_rows = nn__cu_sum_rows;
    c->table.loss = nn__cu_loss;
    c->table.optimizer_step = nn__cu_optimizer_step;
    c->table.sync = nn__cu_sync;
    c->table.data_begin = nn__cu_data_begin;
    c->table.data_rows = nn__cu_data_rows;
    c->table.data_end = nn__cu_data_end;
    c->table.status = nn__cu_status;
    c->table.release = nn__cu_release;
    if ((r = nn__check_backend(m, &c->table, "nn_cuda_attach")) != NN_OK) {
        char msg[320];
        memcpy(msg, nn_error(), sizeof msg);
        nn__cu_release(c);
        return nn__fail(r, "%s; the model stays on the CPU", msg);
    }
    m->backend = &c->table;
    nn__plan_steps(m); /* the fused steps this table has */
    return NN_OK;
}

#endif /* NN_CUDA_IMPLEMENTATION_DONE */
#endif /* NN_CUDA_IMPLEMENTATION */
