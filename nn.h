/* nn.h - v0.4.0 - neural networks in one C header, training and inference - MIT license (end of file)

   Do this:
       #define NN_IMPLEMENTATION
   before you include this file in *one* C or C++ file to create the implementation.
   Every other file includes it plainly. Build lines:
       cc -std=c99 -O2 prog.c -lm                          (single-threaded, portable)
       cc -std=c99 -O2 -march=native -fopenmp prog.c -lm   (OpenMP threads, AVX2/AVX-512)

   CONTENTS (the declarations, each with its comment, follow this manual in sections named
   ">>api-...": grep -n '^/\* >>api' nn.h)
     1. Example
     2. Tensors and layout
     3. Models: layers, shapes, memory
     4. Training: losses, optimizers, fit
     5. Errors
     6. Threads, SIMD and determinism
     7. Files: models, checkpoints, data
     8. Firmware: arenas, int8, fine-tuning
     9. Configuration macros

   1. EXAMPLE (a complete program: examples/xor.c is this one)

       #define NN_IMPLEMENTATION
       #include "nn.h"
       #include <stdio.h>
       int main(void) {
           float x[8] = {0,0, 0,1, 1,0, 1,1};
           int32_t y[4] = {0, 1, 1, 0};
           nn_model m;
           nn_model_init(&m, NULL);                    // NULL: malloc/free
           int h = nn_input(&m, 2);
           h = nn_dense(&m, h, 8);
           h = nn_tanh(&m, h);
           nn_dense(&m, h, 2);                         // logits for 2 classes
           nn_compile_config cc = nn_compile_defaults();
           cc.loss = NN_LOSS_XENT; cc.optimizer = nn_adam(0.05f); cc.max_batch = 4;
           if (nn_model_compile(&m, &cc)) { fprintf(stderr, "%s\n", nn_error()); return 1; }
           nn_dataset d = nn_dataset_make(x, 4, 2, y);
           nn_fit_config fc = nn_fit_defaults(); fc.epochs = 300; fc.batch_size = 4; fc.verbose = 0;
           nn_fit(&m, &d, NULL, &fc);
           float acc; nn_evaluate(&m, &d, NULL, &acc);
           printf("accuracy %.0f%%\n", 100 * acc);
           nn_model_free(&m);
       }

   2. TENSORS AND LAYOUT
     float32, row-major, contiguous, up to 4 dimensions. Images are NCHW. An nn_tensor is a
     view: a data pointer plus a shape; it never owns memory. Inside a model every layer's
     output is an nn_tensor (N, per-sample shape...) that points into the model's arena;
     Flatten is a view of its input, with no copy.

   3. MODELS
     Layers: input (features) or image input (C, H, W); dense; activations (ReLU, LeakyReLU,
     sigmoid, tanh, GELU); softmax; dropout; add; concat; flatten and reshape (views);
     conv2d (stride, padding, dilation, groups, depthwise); max, average and global average
     pooling; batch normalization (running statistics for inference, as torch's BatchNorm);
     sequences: nn_input_seq (token ids or T x D floats), embedding, position embedding, layer
     normalization, dense on every step, losses per step (see nn_input_seq).
     A model is a flat array of layers in topological order. Each builder call adds one layer,
     names its input layer(s) by index and returns the new layer's index (or a negative
     nn_result). Sequential models are one call per layer; skip connections use nn_add and
     nn_concat, which take two layer indices. Shapes are inferred as each layer is added; a
     mismatch is reported then, naming the layer and both shapes. An error is sticky: later
     builder calls return it and nn_model_compile reports it, so a chain of calls can be
     checked once.
     nn_model_compile plans all memory for a maximum batch size in ONE allocation:
         [ claim | params | buffers | grads | optimizer state (2 slots) | activations |
           activation grads | saved | scratch | staging ]
     (claim: the model's stamp on its block; buffers: the non-trained state, batchnorm's running
     statistics; saved: what backward keeps from forward; scratch: the largest kernel call's
     GEMM packing or im2col; activation grads share memory by lifetime unless keep_layer_grads).
     Parameters are contiguous, so an optimizer step and a checkpoint are single passes. Nothing is allocated inside fit's batch loop,
     nn_forward or nn_predict. nn_fit allocates one index array (for shuffling) when it starts
     and frees it when it returns.
     Who allocates, in one rule: everything a model or an int8 model holds comes from its
     nn_allocator (or the caller's arena); what is handed to the caller to keep, with a free
     function of its own (the tensors and data sets of the CSV, IDX and NumPy readers:
     nn_tensor_free, nn_dataset_free), comes from malloc; the raw kernels allocate nothing,
     except nn_gemm, which mallocs its call's own workspace (nn_gemm_ws takes the caller's).
     Objects are caller-owned transparent structs: do not copy or move an nn_model after
     nn_model_init. Read its fields; change them only through functions.
     Dense weights are stored as PyTorch stores nn.Linear: W is (out, in), y = x W^T + b.

   4. TRAINING
     Losses (reductions are means, as PyTorch's defaults):
       NN_LOSS_MSE    mean over batch and outputs of (y - t)^2              (torch MSELoss)
       NN_LOSS_XENT   softmax cross-entropy from logits, mean over batch; integer labels, or
                      one-hot / probability targets                        (torch CrossEntropyLoss)
       NN_LOSS_BCE    sigmoid + binary cross-entropy from logits, mean over batch and outputs
                                                                           (torch BCEWithLogitsLoss)
       NN_LOSS_HINGE  multi-class hinge, margin 1, integer labels:
                      mean over batch of sum_{j != y} max(0, 1 - x_y + x_j) / C (torch MultiMarginLoss)
     Optimizers follow torch.optim's update rules exactly (checked against PyTorch in tests):
     SGD (momentum, Nesterov), Adam, AdamW (decoupled decay), RMSprop; weight_decay is L2 added to
     the gradient except for AdamW. clip_norm > 0 clips by global norm (torch clip_grad_norm_).
     Schedules: constant, step (x gamma every step_size epochs), cosine (to lr_min over t_max
     epochs), each optionally with linear warm-up over warmup_steps batches.
     nn_fit trains over an in-memory nn_dataset with minibatches (the last partial batch is
     used), reshuffles every epoch, evaluates an optional validation set, fills a per-epoch
     history, draws a progress bar on stderr when it is a terminal (one line per epoch when it
     is not, nothing with verbose = 0) and calls a user callback after every batch and every
     epoch; the callback returns nonzero to stop (early stopping).

   5. ERRORS
     Every call that can fail returns nn_result: NN_OK (0) or a negative code. nn_error()
     returns a message that says what and where ("layer 3 (add): input shapes (10) and (12)
     differ"); nn_result_string() the fixed text of a code. On failure, outputs are untouched.
     User data is checked before training: NaN/Inf features, labels out of range, the wrong
     feature count, an empty set, batch size 0 are errors, never a crash. Misuse of the raw
     kernel functions (nn_gemm, ...) is caught by NN_ASSERT. The library never prints except
     nn_fit's progress (which verbose = 0 turns off) and never exits.

   6. THREADS, SIMD AND DETERMINISM
     Hot loops are OpenMP-parallel when built with -fopenmp (nn_set_threads sets the count)
     and written to vectorize. SGEMM is cache-blocked with register-tiled micro-kernels in
     AVX-512 (8x32) or AVX2+FMA (6x16) intrinsics, chosen at compile time from __AVX512F__ /
     __AVX2__, and a portable C path elsewhere; convolution is im2col + GEMM over chunks of
     images, direct AVX-512 kernels for stride-1 layers with few taps or channels, direct
     loops for depthwise. A training step reaches these kernels and the
     arena only through an nn_backend table (nn_backend_cpu()); nn_cuda.h's nn_cuda_attach
     replaces it with a GPU one that keeps the arena on the device. Loops below
     NN_OMP_MIN_WORK multiply-adds stay serial. Every
     parallel loop writes disjoint outputs and no reduction is split across threads, so results
     do not depend on the thread count: the same seed gives bit-identical weights with 1 or N
     threads. Randomness comes from the library's own seeded generator (splitmix64); dropout
     masks are a hash of (seed, layer, step, element), so they need no stored state.
     What is bit-identical: a training run (same seed, data, batch size and build) at any thread
     count, resumed or not; a row's output for the same batch size. What is not: one row's
     output run alone (batch 1) and inside a larger batch differ in the last bits (up to ~1e-5
     relative: batch 1 takes a dot-product kernel whose sums are grouped differently from the
     batched GEMM's, as in every BLAS); results across builds with different instruction sets
     (AVX-512, AVX2, portable) or compilers; int8 outputs are exact integers everywhere.

   7. FILES
     A model file is a safetensors file (docs/FORMAT.md): the architecture, loss, optimizer and
     compile settings as text in its __metadata__, the weights as float32 tensors named as
     PyTorch names an nn.Sequential's ("0.weight", "0.bias", ...: layer i holds "<i-1>.*").
     nn_save / nn_load / nn_load_mem rebuild and fill a model; nn_load_weights loads by name
     into a model built in C (a PyTorch state_dict, for instance). A checkpoint
     (nn_save_checkpoint, or nn_fit's checkpoint_path every N epochs or steps) adds the
     optimizer state and the training position: training resumed from it is bit-identical to
     training that never stopped, also from the middle of an epoch. Saves are atomic (a
     temporary file, fsync, rename). Loading validates every length, range, dtype, shape and
     value before use and fails with a message, never a crash (the loader is fuzzed).
     nn_load_mem with borrow = 1 uses the weights in place, for a model compiled into the
     program as a const array (tools/nn2c writes one). Readers for IDX, NumPy .npy (and a
     writer) and CSV return owned tensors / data sets.

   8. FIRMWARE
     Every model can live in a caller's arena (nn_compile_config.arena, nn_load_config.arena):
     nothing is allocated, and nn_model_arena_bytes / nn_load_mem_arena_bytes /
     nn_qload_mem_arena_bytes give the exact size from the planner that lays it out (a short
     arena is an error naming the size). nn_quantize makes an int8 model (nn_qmodel) from a
     trained float one: int8 weights per output channel, uint8 activations calibrated on
     sample rows, int32 accumulation, fixed-point requantization; nn_qforward then uses
     integers only. nn_freeze keeps a front part of a model fixed so that fine-tuning the
     last layers needs memory for those alone. NN_NO_TRAINING, NN_NO_MALLOC and NN_NO_STDIO
     make the small inference-only library (README "Firmware"; make cross for a Cortex-M4).

   9. CONFIGURATION MACROS (define before including; those marked * in every file that includes)
     NN_IMPLEMENTATION   emit the implementation in this file
     NN_STATIC *         make every API function static (a private copy per file)
     NNDEF *             linkage of API functions (default extern, or static with NN_STATIC)
     NN_ASSERT(x)        contract checks on kernel functions (default assert from <assert.h>;
                         none with NN_NO_STDIO, where assert would link printf)
     NN_NO_STDIO         no <stdio.h>: no file functions (the _mem ones remain), no progress output
     NN_NO_MALLOC        no default allocator: nn_model_init needs an nn_allocator
     NN_NO_OPENMP        ignore -fopenmp
     NN_NO_SIMD          portable C kernels only (no AVX intrinsics)
     NN_OMP_MIN_WORK     work below which loops run serially (default 65536)
     NN_NO_TRAINING      inference only: no backward pass, optimizers, fit or checkpoints
     NN_INT8_ONLY        int8 models only (nn_qload_mem, nn_qforward): no float layer code is
                         linked (firmware; implies NN_NO_TRAINING); nn_model_compile refuses
     NN_NO_TLS           the error message is a plain global, not thread-local (the default on
                         bare-metal ARM, which has no thread pointer)
     NN_MAX_LAYERS *     layers per model (default 128)

   REVISIONS
     0.4.0  layer types on one table (a block and a row each); sequences: token and float inputs,
            embedding, position embedding, layernorm, causal multi-head attention, tied output
            layer, LSTM, GRU, elementwise product, dense and losses per step; nn_generate with a
            key/value cache
     0.3.0  model files (safetensors) with checkpoints and bit-identical resume, atomic saves,
            loading from memory with borrowed weights, weights by name (PyTorch interop), IDX
            and NumPy readers, CSV from memory; caller arenas with exact sizes, NN_NO_TRAINING,
            int8 quantization and integer-only inference, nn_freeze
     0.2.0  packed SGEMM (AVX-512 / AVX2 / portable), conv2d, pooling, batchnorm, reshape,
            backend table of primitives, NN_INIT_TORCH
     0.1.0  dense networks: layers, losses, optimizers, fit, evaluate, predict
*/
#ifndef NN_H_INCLUDED
#define NN_H_INCLUDED
#if defined(NN_INT8_ONLY) && !defined(NN_NO_TRAINING)
#define NN_NO_TRAINING
#endif

#include <stddef.h>
#include <stdint.h>

#define NN_VERSION_MAJOR 0
#define NN_VERSION_MINOR 4
#define NN_VERSION_PATCH 0
#define NN_VERSION_STRING "0.4.0"

#ifndef NNDEF
#  ifdef NN_STATIC
#    if defined(__GNUC__) || defined(__clang__)
#      define NNDEF static __attribute__((unused))
#    else
#      define NNDEF static
#    endif
#  else
#    define NNDEF extern
#  endif
#endif

#ifndef NN_MAX_LAYERS
#define NN_MAX_LAYERS 128
#endif
#define NN_MAX_DIMS 4   /* N, C, H, W */
#define NN_MAX_INPUTS 2 /* inputs of one layer: add and concat take two */

#ifdef __cplusplus
extern "C" {
#endif

/* >>api-result ---------------------------------------------------------------------------- */
typedef enum nn_result {
    NN_OK = 0,
    NN_ERR_INVALID_ARG = -1,   /* a bad argument: NULL pointer, batch size 0, bad option */
    NN_ERR_SHAPE = -2,         /* shapes do not fit together */
    NN_ERR_OUT_OF_MEMORY = -3, /* the allocator returned NULL, or the model is full */
    NN_ERR_DATA = -4,          /* user data: NaN/Inf, label out of range, wrong width, empty */
    NN_ERR_STATE = -5,         /* called at the wrong time (a layer added after compile, ...) */
    NN_ERR_IO = -6,            /* a file could not be opened or read */
    NN_ERR_FORMAT = -7,        /* a file is malformed */
    NN_ERR_UNSUPPORTED = -8,   /* valid, but not implemented for this case */
    NN_ERR_DEVICE = -9         /* a GPU call failed (nn_cuda.h); the message names the call */
} nn_result;

NNDEF const char *nn_result_string(nn_result r);
/* The message of the last failure in this thread ("" if none). */
NNDEF const char *nn_error(void);

/* >>api-memory ---------------------------------------------------------------------------- */
/* Runtime allocator. A zeroed struct (or NULL where a pointer is taken) means malloc/free. */
typedef struct nn_allocator {
    void *(*alloc)(size_t bytes, void *user);
    void (*free)(void *ptr, void *user);
    void *user;
} nn_allocator;

/* >>api-tensor ---------------------------------------------------------------------------- */
typedef struct nn_tensor {
    float *data;
    int ndim;                    /* 1..NN_MAX_DIMS */
    int64_t shape[NN_MAX_DIMS];  /* shape[0] is the batch N where there is one */
    void *owned;                 /* NULL for a view; set by the readers (nn_tensor_free) */
} nn_tensor;

NNDEF nn_tensor nn_tensor_view(float *data, int ndim, const int64_t *shape);
NNDEF int64_t nn_tensor_numel(const nn_tensor *t);
/* A view of the same data with another shape of the same element count. */
NNDEF nn_result nn_tensor_reshape(const nn_tensor *t, int ndim, const int64_t *shape, nn_tensor *out);

/* >>api-kernels: flat functions on raw arrays, used by the layers ------------------------- */
/* GEMM, row-major: C = alpha * op(A) op(B) + beta * C, op(X) = X or X^T (ta/tb nonzero).
   op(A) is (M, K), op(B) is (K, N), C is (M, N); lda/ldb/ldc are row strides. beta = 0
   ignores C's old contents (NaN included). */
NNDEF void nn_gemm(int ta, int tb, int64_t M, int64_t N, int64_t K, float alpha,
                   const float *A, int64_t lda, const float *B, int64_t ldb,
                   float beta, float *C, int64_t ldc);

/* The same with a bias added to every row of C (bias may be NULL) and a caller-provided
   workspace of nn_gemm_workspace_floats() floats, so that it allocates nothing; nn_gemm
   mallocs the workspace its call needs (none for small products) and frees it (and runs
   unpacked loops under NN_NO_MALLOC): for repeated calls, nn_gemm_ws. */
NNDEF void nn_gemm_ws(int ta, int tb, int64_t M, int64_t N, int64_t K, float alpha,
                      const float *A, int64_t lda, const float *B, int64_t ldb,
                      float beta, float *C, int64_t ldc, const float *bias, float *ws);
NNDEF int64_t nn_gemm_workspace_floats(void);

typedef enum nn_act {
    NN_ACT_RELU = 1,
    NN_ACT_LEAKY_RELU = 2,  /* alpha = negative slope */
    NN_ACT_SIGMOID = 3,
    NN_ACT_TANH = 4,
    NN_ACT_GELU = 5         /* exact, with erf (torch.nn.GELU default) */
} nn_act;
/* y = f(x) over n elements (y and x must not overlap). */
NNDEF void nn_act_forward(nn_act kind, float alpha, float *y, const float *x, int64_t n);
/* dx += f'(x) * dy; x and y are the forward input and output. */
#ifndef NN_NO_TRAINING
NNDEF void nn_act_backward(nn_act kind, float alpha, float *dx, const float *x, const float *y,
                           const float *dy, int64_t n);
#endif

/* Convolution geometry (NCHW). OH = (H + 2*PH - DH*(KH-1) - 1) / SH + 1, likewise OW.
   Weights are (OC, C/G, KH, KW) as torch.nn.Conv2d's; bias (OC). */
typedef struct nn_conv2d_desc {
    int64_t C, H, W;          /* input channels and size */
    int64_t OC, KH, KW;       /* output channels, kernel size */
    int64_t SH, SW, PH, PW, DH, DW; /* stride, zero padding, dilation */
    int64_t G;                /* groups: C and OC divisible by G; G == C is depthwise */
    int64_t OH, OW;           /* output size (filled by nn_conv2d_desc_init) */
    int64_t T;                /* threads the workspace is planned for (nn_conv2d_desc_init: the
                                 current count); the kernels use at most that many */
} nn_conv2d_desc;
/* Fills OH, OW; NN_ERR_SHAPE (with the reason in nn_error()) if the geometry is invalid. */
NNDEF nn_result nn_conv2d_desc_init(nn_conv2d_desc *d);
/* Floats of scratch the two conv kernels need (im2col buffers and GEMM workspace) for d->T
   threads; the kernels use at most d->T threads. Allocate once, reuse for every call. */
NNDEF int64_t nn_conv2d_workspace_floats(const nn_conv2d_desc *d);
/* y (N, OC, OH, OW) = conv(x (N, C, H, W), w) + b (b may be NULL). */
NNDEF void nn_conv2d_forward(const nn_conv2d_desc *d, int64_t N, float *y, const float *x, const float *w,
                             const float *b, float *ws);
/* dw (=), db (=, may be NULL), dx (+=, may be NULL) from dy (N, OC, OH, OW). */
#ifndef NN_NO_TRAINING
NNDEF void nn_conv2d_backward(const nn_conv2d_desc *d, int64_t N, float *dx, float *dw, float *db,
                              const float *dy, const float *x, const float *w, float *ws);
#endif

typedef enum nn_pool_kind { NN_POOL_MAX = 1, NN_POOL_AVG = 2 } nn_pool_kind;
/* Pooling over (N, C, H, W): max pads with -inf, avg counts padding (torch's
   count_include_pad=True); OH = (H + 2*P - K) / S + 1. Global average pooling is K = H, W. */
typedef struct nn_pool2d_desc {
    nn_pool_kind kind;
    int64_t C, H, W, KH, KW, SH, SW, PH, PW, OH, OW;
} nn_pool2d_desc;
NNDEF nn_result nn_pool2d_desc_init(nn_pool2d_desc *d);
NNDEF void nn_pool2d_forward(const nn_pool2d_desc *d, int64_t N, float *y, const float *x);
/* dx += d(pool)/dx * dy; max routes each gradient to the first maximum of its window */
#ifndef NN_NO_TRAINING
NNDEF void nn_pool2d_backward(const nn_pool2d_desc *d, int64_t N, float *dx, const float *x, const float *dy);
#endif

/* Batch normalization over x (N, C, HW): per channel, over N and HW (torch BatchNorm1d/2d).
   Training uses the batch's mean and biased variance, stores (mean, 1/std) in saved (2C) and
   updates running_mean/var with momentum (unbiased variance); inference uses the running
   statistics. */
NNDEF void nn_batchnorm_forward(int64_t N, int64_t C, int64_t HW, float *y, const float *x, const float *gamma,
                                const float *beta, float *running_mean, float *running_var, float *saved,
                                float momentum, float eps, int training);
/* dgamma, dbeta (=); dx (+=, may be NULL) */
#ifndef NN_NO_TRAINING
NNDEF void nn_batchnorm_backward(int64_t N, int64_t C, int64_t HW, float *dx, float *dgamma, float *dbeta,
                                 const float *dy, const float *x, const float *gamma, const float *saved);
#endif

typedef enum nn_loss {
    NN_LOSS_MSE = 1,
    NN_LOSS_XENT = 2,
    NN_LOSS_BCE = 3,
    NN_LOSS_HINGE = 4
} nn_loss;
/* Mean loss of out (B, C) against labels (B) or targets (B, C) (see section 4 for which loss
   takes which; XENT takes either). If dout is not NULL it receives dLoss/dout (assigned). */
NNDEF float nn_loss_compute(nn_loss loss, const float *out, const int32_t *labels,
                            const float *targets, int64_t B, int64_t C, float *dout);

/* >>api-optim ----------------------------------------------------------------------------- */
typedef enum nn_opt_type { NN_OPT_SGD = 1, NN_OPT_ADAM = 2, NN_OPT_ADAMW = 3, NN_OPT_RMSPROP = 4 } nn_opt_type;
typedef enum nn_sched { NN_SCHED_CONSTANT = 0, NN_SCHED_STEP = 1, NN_SCHED_COSINE = 2 } nn_sched;

typedef struct nn_optimizer {
    nn_opt_type type;
    float lr;
    float momentum;      /* SGD, RMSprop */
    int nesterov;        /* SGD */
    float beta1, beta2;  /* Adam, AdamW */
    float alpha;         /* RMSprop smoothing (torch default 0.99) */
    float eps;
    float weight_decay;  /* L2 on the gradient; decoupled for AdamW */
    float clip_norm;     /* > 0: clip gradients to this global L2 norm */
    nn_sched schedule;
    int step_size;       /* NN_SCHED_STEP: epochs between decays */
    float gamma;         /* NN_SCHED_STEP: decay factor */
    int t_max;           /* NN_SCHED_COSINE: epochs to reach lr_min */
    float lr_min;        /* NN_SCHED_COSINE */
    int64_t warmup_steps;/* > 0: lr ramps linearly over this many batches */
} nn_optimizer;

/* torch.optim defaults for each. */
NNDEF nn_optimizer nn_sgd(float lr, float momentum, int nesterov);
NNDEF nn_optimizer nn_adam(float lr);
NNDEF nn_optimizer nn_adamw(float lr, float weight_decay);
NNDEF nn_optimizer nn_rmsprop(float lr);
/* Learning rate of the schedule at an epoch (0-based) and global step (0-based). */
NNDEF float nn_optimizer_lr(const nn_optimizer *o, int epoch, int64_t step);
/* One update of n parameters p with gradients g.
   s1, s2: optimizer state, n floats each, zero before the first step; t: 1-based step. */
#ifndef NN_NO_TRAINING
NNDEF void nn_optimizer_step(const nn_optimizer *o, float lr, int64_t t, float *p, const float *g,
                             float *s1, float *s2, int64_t n);
#endif

/* The dropout mask, shared by every backend so that a mask is the same on the CPU and a GPU:
   element i is kept for key when its splitmix64 hash, as a 24-bit fraction, is >= p. */
#ifdef __CUDACC__
#define NN_HD __host__ __device__
#else
#define NN_HD
#endif
static NN_HD inline uint64_t nn_hash64(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}
static NN_HD inline int nn_dropout_keep(uint64_t key, int64_t i, float p) {
    return (float)(nn_hash64(key + (uint64_t)i * 0x9E3779B97F4A7C15ull) >> 40) * (1.0f / 16777216.0f) >= p;
}

/* >>api-backend: the table of hot operations -------------------------------------------- */
/* A training step reaches arithmetic and the arena's memory only through this table, so a
   second backend (nn_cuda.h) can replace it and keep the arena on a device. Pointers are into
   the model's arena (a device backend translates them to its mirror of it). ctx is the
   backend's own state. The CPU table fills every entry; a device backend also fills the
   device entries at the end, which the CPU leaves NULL. */
typedef struct nn_backend {
    const char *name;
    void *ctx;
    /* ws: ws_floats of scratch (the model plans it per layer; a backend may use less); relu: if
       not NULL, C's ReLU (nn_act_forward's: x > 0 ? x : 0) after the bias is also written there
       (same layout as C) */
    void (*gemm)(void *ctx, int ta, int tb, int64_t M, int64_t N, int64_t K, float alpha,
                 const float *A, int64_t lda, const float *B, int64_t ldb, float beta,
                 float *C, int64_t ldc, const float *bias, float *relu, float *ws, int64_t ws_floats);
    void (*conv2d_forward)(void *ctx, const nn_conv2d_desc *d, int64_t N, float *y, const float *x,
                           const float *w, const float *b, float *ws);
    void (*conv2d_backward)(void *ctx, const nn_conv2d_desc *d, int64_t N, float *dx, float *dw, float *db,
                            const float *dy, const float *x, const float *w, float *ws);
    void (*pool2d_forward)(void *ctx, const nn_pool2d_desc *d, int64_t N, float *y, const float *x);
    /* backward entries add to dx, except act_backward and pool2d_backward with accumulate 0,
       which assign it (the model's plan says when an input gradient has no other writer) */
    void (*pool2d_backward)(void *ctx, int accumulate, const nn_pool2d_desc *d, int64_t N, float *dx, const float *x,
                            const float *dy);
    void (*batchnorm_forward)(void *ctx, int64_t N, int64_t C, int64_t HW, float *y, const float *x,
                              const float *gamma, const float *beta, float *running_mean, float *running_var,
                              float *saved, float momentum, float eps, int training);
    void (*batchnorm_backward)(void *ctx, int64_t N, int64_t C, int64_t HW, float *dx, float *dgamma, float *dbeta,
                               const float *dy, const float *x, const float *gamma, const float *saved);
    void (*act_forward)(void *ctx, nn_act kind, float alpha, float *y, const float *x, int64_t n);
    void (*act_backward)(void *ctx, int accumulate, nn_act kind, float alpha, float *dx, const float *x,
                         const float *y, const float *dy, int64_t n);
    /* y = softmax of each row of x (rows, cols); backward dx += y * (dy - sum(dy * y)) per row */
    void (*softmax_forward)(void *ctx, float *y, const float *x, int64_t rows, int64_t cols);
    void (*softmax_backward)(void *ctx, float *dx, const float *y, const float *dy, int64_t rows, int64_t cols);
    /* element i is kept when nn_dropout_keep(key, i, p): forward y = kept ? x / (1 - p) : 0,
       backward y += kept ? x / (1 - p) : 0 */
    void (*dropout)(void *ctx, int backward, float *y, const float *x, int64_t n, float p, uint64_t key);
    /* dst[r * ldd + c] = (accumulate ? dst[r * ldd + c] : 0) + src[r * lds + c] */
    void (*copy2d)(void *ctx, int accumulate, int64_t rows, int64_t cols, float *dst, int64_t ldd,
                   const float *src, int64_t lds);
    void (*zero)(void *ctx, float *p, int64_t n);
    /* dst (cols) = sum of the rows of src (rows, cols): bias gradients */
    void (*sum_rows)(void *ctx, float *dst, const float *src, int64_t rows, int64_t cols);
    /* The loss of out (B, C) (nn_loss_compute's, XENT from targets when targets is not NULL):
       dout (if not NULL) = its gradient; stats[0] += mean loss * B when the loss is defined
       for what is given, stats[1] += correct predictions, stats[2] += predictions judged
       (argmax against labels, or against one-hot targets for XENT; BCE: sign against
       target > 0.5 per element) */
    void (*loss)(void *ctx, nn_loss kind, const float *out, const int32_t *labels, const float *targets,
                 int64_t B, int64_t C, float *dout, double *stats);
    /* clip g to the global norm o->clip_norm (when > 0), then nn_optimizer_step */
    void (*optimizer_step)(void *ctx, const nn_optimizer *o, float lr, int64_t t, float *p, float *g,
                           float *s1, float *s2, int64_t n);
    /* device entries (NULL on the CPU). sync: bring bytes at p (in the arena) to the device
       (to_device) or back to the host copy. data_begin/data_rows/data_end: a data set's rows
       into the arena's staging (slot 0 training, 1 evaluation; rows NULL: rows lo..lo+n-1),
       the set uploaded once where it fits. status: the first device error, NN_OK if none.
       release: free the device state (nn_model_free calls it). */
    void (*sync)(void *ctx, void *p, size_t bytes, int to_device);
    nn_result (*data_begin)(void *ctx, int slot, const float *x, const int32_t *labels, const float *targets,
                            int64_t n, int64_t features, int64_t n_targets);
    void (*data_rows)(void *ctx, int slot, const int64_t *rows, int64_t lo, int64_t n, float *x,
                      int32_t *labels, float *targets);
    void (*data_end)(void *ctx, int slot);
    nn_result (*status)(void *ctx);
    void (*release)(void *ctx);
    /* optional (NULL: pool2d_forward + act_forward, act_backward + pool2d_backward). For 2x2
       stride-2 max pooling of a ReLU that nothing else reads: y = the pooling of relu(x), and
       idx (a byte per output, the backend's own record) what backward needs besides dy, so
       that it reads neither x nor y */
    void (*maxpool2x2_relu_forward)(void *ctx, const nn_pool2d_desc *d, int64_t N, float *y, uint8_t *idx,
                                    const float *x);
    void (*maxpool2x2_relu_backward)(void *ctx, int accumulate, const nn_pool2d_desc *d, int64_t N, float *dx,
                                     const uint8_t *idx, const float *dy);
    /* optional: conv2d_backward's dw and db, no dx, where its output's gradient is that of such a
       pooling p of its ReLU: dyp and idx as maxpool2x2_relu_forward left them. dy: room for the
       output's gradient, which the backend may rebuild there */
    void (*conv2d_backward_pooled)(void *ctx, const nn_conv2d_desc *d, const nn_pool2d_desc *p, int64_t N, float *dw,
                                   float *db, const uint8_t *idx, const float *dyp, float *dy, const float *x,
                                   float *ws);
    /* optional: such a pooling p of the ReLU of a convolution d that only the ReLU reads, from the
       convolution's input x: y and idx as maxpool2x2_relu_forward makes them from its output,
       which the backend need not write (yc: room for it) */
    void (*conv2d_maxpool2x2_relu_forward)(void *ctx, const nn_conv2d_desc *d, const nn_pool2d_desc *p, int64_t N,
                                           float *yc, float *y, uint8_t *idx, const float *x, const float *w,
                                           const float *b, float *ws);
} nn_backend;
NNDEF const nn_backend *nn_backend_cpu(void);

/* >>api-model ----------------------------------------------------------------------------- */
/* Layer type ids are permanent (model files store them). */
typedef enum nn_layer_type {
    NN_LAYER_INPUT = 0,
    NN_LAYER_DENSE = 1,
    NN_LAYER_ACT = 2,
    NN_LAYER_SOFTMAX = 3,
    NN_LAYER_DROPOUT = 4,
    NN_LAYER_ADD = 5,
    NN_LAYER_CONCAT = 6,
    NN_LAYER_FLATTEN = 7,
    NN_LAYER_CONV2D = 8,
    NN_LAYER_POOL2D = 9,      /* max and average pooling, global average pooling */
    NN_LAYER_BATCHNORM = 10,
    NN_LAYER_RESHAPE = 11,
    NN_LAYER_EMBEDDING = 12,
    NN_LAYER_LAYERNORM = 13,
    NN_LAYER_POSEMB = 14,
    NN_LAYER_ATTENTION = 15,
    NN_LAYER_TIED = 16,
    NN_LAYER_MUL = 17,
    NN_LAYER_LSTM = 18,
    NN_LAYER_GRU = 19,
    NN_LAYER_COUNT
} nn_layer_type;

typedef enum nn_init {
    NN_INIT_GLOROT_UNIFORM = 0,  /* default: Keras's */
    NN_INIT_GLOROT_NORMAL = 1,
    NN_INIT_HE_UNIFORM = 2,
    NN_INIT_HE_NORMAL = 3,
    NN_INIT_ZEROS = 4,
    NN_INIT_TORCH = 5            /* torch.nn.Linear/Conv2d default: weights and bias U(+-1/sqrt(fan_in)) */
} nn_init;

typedef struct nn_layer {
    nn_layer_type type;
    int n_inputs;
    int inputs[NN_MAX_INPUTS];        /* indices of earlier layers */
    int ndim;                         /* per-sample rank, 1..3 */
    int64_t shape[NN_MAX_DIMS - 1];   /* per-sample shape (C), (T, D) or (C, H, W) */
    int64_t size;                     /* per-sample element count */
    int seq;                          /* shape[0] is time steps (from nn_input_seq): a loss is per step */
    union {
        struct { int tokens; int64_t vocab; } input; /* token ids, below vocab (the embeddings' smallest) */
        struct { int64_t units; int bias; nn_init init; } dense;
        struct { nn_act kind; float alpha; } act;
        struct { float p; } dropout;
        struct { nn_conv2d_desc d; int bias; nn_init init; } conv;
        struct { nn_pool2d_desc d; int global; } pool;
        struct { float momentum, eps; } bn;
        struct { int64_t vocab, dim; float std; int tied; } emb; /* (pos_embedding: std); tied: its tied_dense */
        struct { int heads, causal, bias, threads, keep_p; float dropout; nn_init init; } attn;
        struct { int src; } tied;
        struct { int64_t hidden; int sequences, gates; } rnn; /* gates: 4 LSTM, 3 GRU */
        struct { float eps; } ln;
    } cfg;
    int64_t n_params;                 /* parameters: dense W (units, in) then b (units); conv W then b;
                                         batchnorm gamma then beta */
    int64_t param_off;                /* offset of this layer's parameters in the block */
    int64_t n_buffers, buffer_off;    /* state that is saved but not trained: batchnorm running mean, var */
    int64_t n_saved;                  /* floats kept from forward for backward (batchnorm mean, 1/std) */
    int64_t n_keep;                   /* and per sample (attention: q, k, v, probabilities), after them */
    float *buf, *saved;
    int frozen;                       /* nn_freeze: parameters not trained (batchnorm: running statistics used) */
    int need_dy;                      /* set by compile: its output gradient is planned */
    int assign_dy;                    /* set by compile: one writer assigns that gradient (no clearing) */
    int dy_first;                     /* set by compile: the layer whose backward writes that gradient first
                                         (it is cleared just before; 0: before the loss) */
    int recomp;                       /* set by compile with nn_compile_config.recompute: its output is in a
                                         buffer such layers share, recomputed before its reader's
                                         backward (1: >>layer-act), or read by nothing after its
                                         reader's forward (2: nn__plan_model) */
    /* the fused steps, set by compile (nn__plan_steps) and again when the backend changes */
    int fused;                        /* a ReLU computed by its max pooling (1) or by its dense input's GEMM (2);
                                         such a dense layer: the ReLU's index */
    int pool_fwd;                     /* a convolution computed by the step of that pooling (of its ReLU) */
    int pool_bwd;                     /* a convolution whose weight gradient that pooling's gradient gives */
    uint8_t *pool_rec;                /* a pooling of a fused ReLU: the backend's record of its windows */
    /* set by compile (pointers into the arena; views alias their input's) */
    float *w, *dw;                    /* parameters and their gradients */
    float *y, *dy;                    /* output (max_batch, size) and its gradient (NULL: none) */
} nn_layer;

typedef struct nn_compile_config {
    nn_loss loss;
    nn_optimizer optimizer;
    int64_t max_batch;    /* largest batch for fit/evaluate/predict (default 32) */
    uint64_t seed;        /* initial weights, shuffling, dropout */
    int inference_only;   /* nonzero: no gradients or optimizer state are planned */
    int keep_layer_grads; /* nonzero: each layer output's gradient has its own buffer, all of them
                             readable after nn_model_backward (else they share memory by lifetime) */
    int recompute;        /* nonzero: training keeps less and recomputes it in backward, with the
                             same results: the output of a GELU that only the next dense layer reads
                             (one buffer for all such GELUs) and attention's probabilities (no
                             T x T buffers); outputs that only a residual add reads (a dense or
                             attention layer's) share one buffer too. The char GPT's training
                             peak 61 -> 51 MiB, its step 3-12% slower; nn_model_activation
                             recomputes a shared output (its view holds until the next call) */
    void *arena;          /* non-NULL: lay the model out in these arena_bytes (any alignment) and
                             allocate nothing; nn_model_arena_bytes says how many it needs */
    size_t arena_bytes;
} nn_compile_config;

/* Data-parallel training (nn_mpi.h fills this; nn.h itself knows no transport). nn_fit and
   nn_train_step call it on every process in the same order; each process trains some rows of
   every batch. */
typedef struct nn_model nn_model;
typedef struct nn_dist {
    void *ctx;
    int rank, size;
    int sharded;          /* each process holds its own rows (else every one the whole set) */
    /* a step begins: this process trains rows of the batch's global_rows (0: unknown, the
       processes' rows summed) */
    void (*step_begin)(void *ctx, nn_model *m, int64_t rows, int64_t global_rows);
    /* backward has finished m->grads[lo, n_train): they may be sent */
    void (*grads_ready)(void *ctx, nn_model *m, int64_t lo);
    /* m->grads becomes the mean over the global batch, the same on every process; an error
       (on all of them) when any process failed the step (bad: this one did) */
    nn_result (*reduce_grads)(void *ctx, nn_model *m, int64_t global_rows, int bad);
    void (*reduce)(void *ctx, double *v, int n, int max); /* v summed (or its maximum) over all */
    void (*release)(void *ctx, nn_model *m);              /* nn_model_free */
} nn_dist;

struct nn_model {
    int n_layers;
    nn_layer layers[NN_MAX_LAYERS];
    nn_result status;     /* first build error (sticky) */
    nn_allocator allocator;
    /* set by compile */
    int compiled;
    nn_compile_config config;
    void *mem;            /* the one allocation */
    size_t mem_bytes;
    int64_t n_params, n_buffers;
    int64_t train_off, n_train; /* the trained parameters: params[train_off .. + n_train), as grads */
    float *params, *grads, *opt1, *opt2;
    float *buffers;       /* non-trained state (batchnorm running statistics), after params */
    float *scratch;       /* workspace of the largest kernel call (im2col, GEMM packing) */
    int64_t scratch_floats;
    int32_t *labels;      /* staging for a batch's labels */
    float *targets;       /* staging for a batch's targets */
    /* training position */
    uint64_t rng;         /* generator state */
    int64_t step;         /* optimizer steps taken */
    int epoch;            /* epochs completed */
    int training;         /* dropout on */
    uint64_t epoch_rng;   /* generator state before this epoch's shuffle */
    int64_t epoch_batch;  /* batches of the current epoch done (0 between epochs) */
    int64_t fit_batch, fit_rows; /* batch size and rows of the fit that is under way */
    int borrowed;         /* weights are read in place from a loaded buffer (read-only) */
    int own_mem;          /* mem came from the allocator (not the caller's arena) */
    const nn_backend *backend; /* the CPU's, or a device's (nn_cuda_attach) */
    float *x_stage;       /* staging for a batch's inputs */
    double *stats;        /* loss and accuracy sums: [0..2] of fit's epoch, [4..6] of an evaluation */
    const nn_dist *dist;  /* data-parallel training (nn_mpi_attach), or NULL */
    uint64_t stamp;       /* this model's claim on mem (see nn__new_stamp), at *claim */
    const uint64_t *claim;
};

/* Start an empty model. allocator may be NULL (malloc/free). */
NNDEF nn_result nn_model_init(nn_model *m, const nn_allocator *allocator);
/* Free the arena; the model can be initialized again. */
NNDEF void nn_model_free(nn_model *m);

/* Builders: each returns the new layer's index, or a negative nn_result. */
NNDEF int nn_input(nn_model *m, int64_t features);                  /* per-sample (features) */
NNDEF int nn_input_image(nn_model *m, int64_t c, int64_t h, int64_t w); /* per-sample (C, H, W) */
NNDEF int nn_dense(nn_model *m, int in, int64_t units);            /* with bias, Glorot uniform */
NNDEF int nn_dense_ex(nn_model *m, int in, int64_t units, int bias, nn_init init);
NNDEF int nn_activation(nn_model *m, int in, nn_act kind, float alpha);
NNDEF int nn_relu(nn_model *m, int in);
NNDEF int nn_leaky_relu(nn_model *m, int in, float slope);
NNDEF int nn_sigmoid(nn_model *m, int in);
NNDEF int nn_tanh(nn_model *m, int in);
NNDEF int nn_gelu(nn_model *m, int in);
NNDEF int nn_softmax(nn_model *m, int in);                         /* over the features */
NNDEF int nn_dropout(nn_model *m, int in, float p);                /* inverted; off at inference */
NNDEF int nn_add(nn_model *m, int a, int b);                       /* same shapes */
NNDEF int nn_concat(nn_model *m, int a, int b);                    /* along dimension 1 (C) */
NNDEF int nn_flatten(nn_model *m, int in);                         /* a view, no copy */
/* per-sample reshape (a view): the element count must not change */
NNDEF int nn_reshape(nn_model *m, int in, int ndim, const int64_t *shape);
/* 2-D convolution of a (C, H, W) input: square kernel, stride, zero padding; bias, Glorot uniform */
NNDEF int nn_conv2d(nn_model *m, int in, int64_t out_channels, int64_t kernel, int64_t stride, int64_t padding);
/* Full control: d->OC, KH, KW, SH, SW, PH, PW, DH, DW, G are read (C, H, W come from the input). */
NNDEF int nn_conv2d_ex(nn_model *m, int in, const nn_conv2d_desc *d, int bias, nn_init init);
NNDEF int nn_maxpool2d(nn_model *m, int in, int64_t kernel, int64_t stride, int64_t padding);
NNDEF int nn_avgpool2d(nn_model *m, int in, int64_t kernel, int64_t stride, int64_t padding);
/* mean over H and W: (C, H, W) -> (C) */
NNDEF int nn_global_avgpool(nn_model *m, int in);
/* per channel of (C, H, W) or per feature of (C); torch defaults are momentum 0.1, eps 1e-5 */
NNDEF int nn_batchnorm(nn_model *m, int in, float momentum, float eps);

/* Sequences. A sequence input is T steps per sample: token ids (dim 0: a row of T floats holding
   integers, checked on every batch to be below the vocab of the embeddings that read them) or
   T x dim floats. Layers keep the time dimension: their per-sample shape is (T, D), nn_dense
   applies to each step (torch.nn.Linear on the last dimension), and a loss on a sequence output
   (T, C) is per step: labels are (n, T), the mean is over n * T, as torch's cross_entropy on
   (n * T, C). Sequence layers run on the CPU (nn_cuda_attach refuses them). */
NNDEF int nn_input_seq(nn_model *m, int64_t steps, int64_t dim);
/* ids (T) -> (T, dim): rows of a (vocab, dim) table, as torch.nn.Embedding (init N(0, 1)) */
NNDEF int nn_embedding(nn_model *m, int in, int64_t vocab, int64_t dim);
NNDEF int nn_embedding_ex(nn_model *m, int in, int64_t vocab, int64_t dim, float init_std);
/* over the last dimension of (D) or (T, D), with weight and bias, as torch.nn.LayerNorm (eps 1e-5) */
NNDEF int nn_layernorm(nn_model *m, int in, float eps);
/* (T, D) + a learned (T, D) table: a vector per step (GPT's position embedding), init N(0, std) */
NNDEF int nn_pos_embedding(nn_model *m, int in, float init_std);
/* Multi-head self-attention of a (T, C) sequence, as nanoGPT's CausalSelfAttention: a fused
   (3C, C) q/k/v projection ("c_attn"), softmax(q k^T / sqrt(C / heads)) with a causal mask (step
   i attends to steps <= i), dropout p on the probabilities in training, an output projection
   ("c_proj"); biases optional. nn_attention: causal, with biases, no dropout, Glorot init. */
NNDEF int nn_attention(nn_model *m, int in, int heads);
NNDEF int nn_attention_ex(nn_model *m, int in, int heads, int causal, int bias, float dropout, nn_init init);
/* Logits from embedding layer emb's table: y = x E^T over the last dimension, no bias (weight
   tying, GPT's lm_head). The parameters are the embedding's; both uses train them. */
NNDEF int nn_dense_tied(nn_model *m, int in, int emb);
/* a * b elementwise (same shapes) */
NNDEF int nn_mul(nn_model *m, int a, int b);
/* An LSTM over a (T, D) sequence, as torch.nn.LSTM (one layer, batch_first, zero initial state;
   gates i, f, g, o; weight_ih (4H, D), weight_hh (4H, H), bias_ih, bias_hh; init U(+-1/sqrt(H))):
   every step's hidden state (T, hidden) when sequences, else the last (hidden). Stack two for a
   two-layer LSTM. Trained by backpropagation through the T steps. */
NNDEF int nn_lstm(nn_model *m, int in, int64_t hidden, int sequences);
/* A GRU, as torch.nn.GRU (gates r, z, n; the same layout, names and init as nn_lstm's, 3H rows) */
NNDEF int nn_gru(nn_model *m, int in, int64_t hidden, int sequences);

NNDEF nn_compile_config nn_compile_defaults(void);
/* Check the graph, plan and allocate the arena, initialize the weights from the seed. */
NNDEF nn_result nn_model_compile(nn_model *m, const nn_compile_config *cfg);
/* Before compile: freeze layers 1..upto (their parameters are not trained; a frozen
   batchnorm normalizes with its running statistics) to fine-tune the layers after them.
   Frozen layers get no gradients, no optimizer state and no activation gradients. */
NNDEF nn_result nn_freeze(nn_model *m, int upto);
/* The exact arena bytes nn_model_compile would lay this (built, not compiled) model out in,
   for cfg's max_batch, inference_only and the current thread count: the same planner. */
NNDEF nn_result nn_model_arena_bytes(nn_model *m, const nn_compile_config *cfg, size_t *bytes);
/* Per-sample input and output widths. */
NNDEF int64_t nn_model_input_size(const nn_model *m);
NNDEF int64_t nn_model_output_size(const nn_model *m);
/* A layer's output for the last forward pass: (N, per-sample shape...), pointing into the arena
   (recomputed first where compile fused the layer into another: see nn_model_backward; a fused
   first convolution is recomputed from the model input of that pass, which must still be valid,
   as for layer 0, whose output is that input). */
NNDEF nn_result nn_model_activation(const nn_model *m, int layer, int64_t n, nn_tensor *out);
/* With a device backend (nn_cuda.h) the arena's current state is on the device: to_device 0
   copies all of it to the host arena (to read m->grads, layer outputs, ... there), 1 copies the
   host arena to the device (after writing to it). Saving, loading and the calls that return
   outputs do this themselves. Without one it does nothing. */
NNDEF nn_result nn_model_sync(nn_model *m, int to_device);

/* >>api-train ----------------------------------------------------------------------------- */
/* Rows of features plus labels (for XENT, HINGE, accuracy) and/or targets (MSE, BCE, one-hot
   XENT). Borrowed, except when owned != NULL (the readers below set it). */
typedef struct nn_dataset {
    const float *x;          /* (n, features) */
    const int32_t *labels;   /* (n) class indices, or NULL */
    const float *targets;    /* (n, n_targets), or NULL */
    int64_t n, features, n_targets;
    void *owned;             /* one block holding x, labels (and targets), freed by nn_dataset_free */
} nn_dataset;

NNDEF nn_dataset nn_dataset_make(const float *x, int64_t n, int64_t features, const int32_t *labels);
/* Rows [from, from + count) as a view (no copy, owns nothing). */
NNDEF nn_dataset nn_dataset_slice(const nn_dataset *d, int64_t from, int64_t count);
/* Shuffle the rows of a data set the library allocated (nn_csv_load). */
NNDEF nn_result nn_dataset_shuffle(nn_dataset *d, uint64_t seed);
NNDEF void nn_dataset_free(nn_dataset *d);

typedef struct nn_epoch_stats {
    int epoch;             /* 1-based, counting every epoch this model has trained */
    float lr;              /* learning rate at the epoch's start */
    float loss, acc;       /* means over the epoch's training batches; acc NaN if undefined */
    float val_loss, val_acc; /* NaN without a validation set */
    double seconds;
} nn_epoch_stats;

typedef struct nn_progress {
    int epoch, epochs;     /* epoch (1-based) of this fit call's epochs */
    int64_t batch, batches;/* batch (1-based) within the epoch */
    int epoch_end;         /* 1 when called at the end of an epoch (stats filled) */
    float loss, acc;       /* running means over the epoch so far */
    nn_epoch_stats stats;  /* valid when epoch_end */
} nn_progress;

typedef struct nn_fit_config {
    int epochs;
    int64_t batch_size;
    int shuffle;           /* default 1 */
    int verbose;           /* 0 silent; 1 progress bar on a terminal, else a line per epoch (default) */
    int (*callback)(const nn_progress *p, void *user); /* return nonzero to stop: inside an epoch, the
                             model stays at that batch (epoch_batch; m->epoch does not count the
                             epoch), so that a later nn_fit with the same batch size and rows, or a
                             checkpoint saved now, continues it bit-identically */
    void *user;
    nn_epoch_stats *history; /* optional: room for history_cap epochs, filled in order */
    int history_cap;
    int epochs_run;        /* out: epochs completed by this call */
    const char *checkpoint_path; /* with a period below: nn_save_checkpoint there (atomically) */
    int checkpoint_epochs;       /* every this many epochs (0: never) */
    int64_t checkpoint_steps;    /* every this many optimizer steps (0: never) */
} nn_fit_config;

NNDEF nn_fit_config nn_fit_defaults(void);
#ifndef NN_NO_TRAINING
NNDEF nn_result nn_fit(nn_model *m, const nn_dataset *train, const nn_dataset *val, nn_fit_config *cfg);
#endif
/* Mean loss and accuracy over a data set (either out-pointer may be NULL). */
NNDEF nn_result nn_evaluate(nn_model *m, const nn_dataset *d, float *loss, float *acc);
/* Outputs (n, output size) for inputs x (n, input size), in inference mode. A NaN or infinite
   input is NN_ERR_DATA here too (and in nn_forward, nn_qpredict), as in training. */
NNDEF nn_result nn_predict(nn_model *m, const float *x, int64_t n, float *out);
/* Autoregressive sampling from a language model: input token ids (nn_input_seq(m, T, 0)), output
   per-step logits (T, V). ids[0 .. n_prompt) is the prompt (at least one id); n_new ids are
   written after it (ids holds n_prompt + n_new). Each is drawn from softmax(logits / temperature)
   over the top_k largest logits (top_k 0: all of them; temperature 0: the largest, no draw),
   from a generator seeded with seed. The prompt's last T ids run through the model once; then
   each new id runs through one step of every layer, attention reading the keys and values of
   the steps before it where they are (a KV cache), so a token costs O(T) work, not O(T^2). When
   the window is full, its last T/2 ids are run again at once (positions are absolute). Every
   layer must be one that runs step by step (embedding, pos_embedding, layernorm, dense,
   activations, add, dropout, causal attention, tied_dense). Not thread-safe on one model. */
NNDEF nn_result nn_generate(nn_model *m, int32_t *ids, int64_t n_prompt, int64_t n_new, float temperature, int top_k,
                            uint64_t seed);
/* Forward n <= max_batch rows without copying; out views the output in the arena, valid until
   the next call that runs the model. */
NNDEF nn_result nn_forward(nn_model *m, const float *x, int64_t n, nn_tensor *out);
/* One training step on a batch: forward, loss, backward, optimizer. Used by nn_fit. */
#ifndef NN_NO_TRAINING
NNDEF nn_result nn_train_step(nn_model *m, const float *x, const int32_t *labels,
                              const float *targets, int64_t n, float lr, float *loss);
#endif
/* Forward (training mode) + loss + backward on a batch, leaving gradients in m->grads, and the
   gradient of every layer output in layer.dy when the model was compiled with keep_layer_grads
   (else those buffers are shared by lifetime and hold what the last layer to use them left):
   for gradient checks and custom loops. Except a
   ReLU that compile fused into its max pooling (nn_layer.fused == 1): its y and dy hold the
   pooling's scratch (dy: the pooling's record of its windows, which the backward pass reads);
   nn_model_activation recomputes its output. And where that ReLU's input is a convolution that
   nothing else reads, the pooling computes the convolution too (its y is not written where the
   backend fuses the two: nn_model_activation recomputes it from the convolution's input), and
   where that convolution needs no input gradient (a first layer), its dy is not written: its
   weight gradient is taken from the pooling's. */
#ifndef NN_NO_TRAINING
NNDEF nn_result nn_model_backward(nn_model *m, const float *x, const int32_t *labels,
                                  const float *targets, int64_t n, float *loss);
#endif

/* >>api-file: the model file (safetensors), checkpoints, data readers ----------------------- */
/* A model file is a safetensors file (docs/FORMAT.md): the architecture, the loss, optimizer
   and compile settings in its __metadata__, the weights as named float32 tensors, named as a
   PyTorch nn.Sequential's state_dict names them: layer i (counting the input as 0) holds
   "<i-1>.weight", "<i-1>.bias" and for batchnorm "<i-1>.running_mean", "<i-1>.running_var".
   A checkpoint adds the optimizer state ("optimizer.state1.<name>", "optimizer.state2.<name>")
   and the training position (epoch, step, generator state, position within an epoch), so
   that training resumed from it continues bit-identically. */
typedef struct nn_load_config {
    const nn_allocator *allocator; /* NULL: malloc/free */
    int64_t max_batch;             /* 0: the max_batch the model was compiled with */
    int inference_only;            /* no gradients or optimizer state (a checkpoint's are skipped) */
    int borrow;                    /* nn_load_mem: use the weights in place, no copy (implies
                                      inference_only); the buffer must outlive the model. Needs a
                                      little-endian host, float32 tensors and 4-byte alignment;
                                      otherwise the weights are copied. m->borrowed tells. */
    int freeze;                    /* > 0: nn_freeze(m, freeze) before compiling (fine-tuning) */
    void *arena;                   /* nn_load_mem: the model and the parser live in these
                                      arena_bytes; nothing is allocated (nn_load_mem_arena_bytes).
                                      A load takes the arena before it reads the file, so a model
                                      that lived there refuses to run afterwards (NN_ERR_STATE),
                                      even when the load fails: to fall back to the old model if
                                      a new one does not load, load the new one into a second arena */
    size_t arena_bytes;
} nn_load_config;
NNDEF nn_load_config nn_load_defaults(void);

/* Serialize the model (checkpoint = 0) or a checkpoint (1) into buf. With buf NULL or cap too
   small, only *size is set (NN_ERR_INVALID_ARG for a too-small cap). */
NNDEF nn_result nn_save_mem(const nn_model *m, int checkpoint, void *buf, size_t cap, size_t *size);
/* Build, compile and fill m (not initialized before) from a model file or checkpoint in
   memory. Everything is validated before use; on failure m is left freed. */
NNDEF nn_result nn_load_mem(nn_model *m, const void *data, size_t size, const nn_load_config *cfg);
/* The exact bytes of arena nn_load_mem needs for this file and cfg (the same planner). m is
   used as scratch and left empty; the header is parsed in cfg->arena if given, else with the
   allocator. */
NNDEF nn_result nn_load_mem_arena_bytes(nn_model *m, const void *data, size_t size, const nn_load_config *cfg,
                                        size_t *bytes);
/* Load weights by name into a compiled model of the same shapes (for example a PyTorch
   state_dict written as safetensors; "*.num_batches_tracked" and a checkpoint's optimizer
   state are ignored). Nothing is changed unless every tensor is found and valid. */
NNDEF nn_result nn_load_weights_mem(nn_model *m, const void *data, size_t size);

#ifndef NN_NO_STDIO
/* Atomic: written to "<path>.tmp" in the same folder, flushed, fsync'ed, then renamed over
   path; on any failure the previous file is intact and the temporary file is removed. */
NNDEF nn_result nn_save(const nn_model *m, const char *path);
#ifndef NN_NO_TRAINING
NNDEF nn_result nn_save_checkpoint(const nn_model *m, const char *path);
#endif
NNDEF nn_result nn_load(nn_model *m, const char *path, const nn_load_config *cfg);
NNDEF nn_result nn_load_weights(nn_model *m, const char *path);
#endif

/* Data readers. Each returns a float32 tensor that owns its data (free with nn_tensor_free)
   and reports malformed input as NN_ERR_FORMAT naming the problem. */
/* IDX (MNIST family): unsigned/signed byte, int16, int32, float32, float64; up to 4 dims. */
NNDEF nn_result nn_idx_load_mem(const void *data, size_t size, nn_tensor *out);
/* NumPy .npy (versions 1-3, C order): float32, float64, uint8, int32, int64 (either byte order). */
NNDEF nn_result nn_npy_load_mem(const void *data, size_t size, nn_tensor *out);
/* A .npy file (version 1.0, little-endian float32) of t, in memory: same contract as nn_save_mem. */
NNDEF nn_result nn_npy_save_mem(const nn_tensor *t, void *buf, size_t cap, size_t *size);
NNDEF void nn_tensor_free(nn_tensor *t);
/* A data set (which owns its rows) from features x (n, ...) and integer-valued labels y (n). */
NNDEF nn_result nn_dataset_from_tensors(const nn_tensor *x, const nn_tensor *y, nn_dataset *out);
/* CSV text with one header row and numeric columns. label_col (0-based; -1 for the last
   column, or -2 for none) becomes integer labels; the other columns become features. */
NNDEF nn_result nn_csv_load_mem(const char *text, size_t size, int label_col, nn_dataset *out);
#ifndef NN_NO_STDIO
NNDEF nn_result nn_csv_load(const char *path, int label_col, nn_dataset *out);
NNDEF nn_result nn_idx_load(const char *path, nn_tensor *out);
NNDEF nn_result nn_npy_load(const char *path, nn_tensor *out);
NNDEF nn_result nn_npy_save(const char *path, const nn_tensor *t);
#endif

/* >>api-quant: int8 post-training quantization and integer-only inference ----------------- */
/* nn_quantize turns a trained float model into an int8 one: weights symmetric per output
   channel, activations uint8 with a scale and zero point per layer calibrated on sample data
   (real = scale * (q - zero)), int32 accumulation, fixed-point requantization (multiplier and
   shift per channel). nn_qforward runs it on integers only: no float arithmetic at all.
   Supported: dense, conv2d (groups, depthwise), max/avg/global pooling, activations (a
   256-entry table each), add, concat, flatten/reshape, dropout (identity), batchnorm right
   after a dense or conv layer (folded into it), softmax as the last layer (nn_qforward gives
   the logits; argmax is unchanged). A ReLU (or leaky ReLU of slope 0) that alone reads a
   dense, conv or add layer is folded into it: that layer's range is the ReLU's, [0, hi], its
   clamp at zero the ReLU, and the ReLU a view (in the file: view=1, the identity table).
   Sequence models (token input, or any of layernorm, pos_embedding, attention, mul, lstm, gru,
   tied_dense) quantize in a mixed form, as torch's quantize_dynamic: dense, embedding and
   tied_dense layers hold int8 weights (per output channel; an embedding per row), each input
   row of a dense layer is quantized to uint8 with its own range as it arrives, the products
   are integer and the sums scaled back to float; every other layer (layernorm, attention with
   its projections, lstm/gru, activations...) runs its float code on float activations with its
   float weights. No calibration (calib may be NULL). Such a model runs with nn_qpredict (float
   token ids in, float outputs out) and nn_qargmax; nn_qforward and the int8 file refuse it. */
typedef struct nn_qlayer {
    float scale;            /* output activation: real = scale * (q - zero) */
    int32_t zero;           /* 0..255 */
    int view;               /* output is the input's buffer (flatten, reshape, dropout, folded batchnorm) */
    int pooled;             /* activation: its max pooling ran first; max pooling: its convolution
                               computed it (set by each nn_qforward) */
    int64_t n_w, n_ch;      /* dense/conv: weights and output channels */
    const int8_t *w;        /* dense (out, in) or conv (OC, C/G, KH, KW) weights */
    const int32_t *bias;    /* per channel, the input's zero point folded in */
    const int32_t *mult;    /* per channel: y = zero + round(acc * mult / 2^shift) */
    const int32_t *shift;
    int wmax;               /* dense/conv: the largest |weight| (set when quantized or loaded; 64 or
                               less lets AVX2 without VNNI multiply 4 bytes at a time) */
    const float *wscale;    /* per channel weight scale (reference; not used to run) */
    const uint8_t *lut;     /* activation: output for each input value */
    const float *fbias;     /* a mixed model's dense: its float bias per channel */
    int32_t rq[4];          /* add, concat: multiplier and shift for input a, then b */
    uint8_t *y;             /* output (max_batch, size) */
} nn_qlayer;

typedef struct nn_qmodel {
    nn_model g;             /* the layers and shapes (never compiled; holds no memory of its own) */
    nn_qlayer q[NN_MAX_LAYERS];
    int64_t max_batch;
    int softmax_out;        /* the float model ended in softmax (nn_qpredict applies it) */
    int borrowed;           /* weights and tables read in place from a loaded buffer */
    int mixed;              /* a sequence model: float activations, int8 dense and embedding weights;
                               g's layers then point at their float buffers in mem */
    void *mem;              /* one block: tables, activations, scratch */
    size_t mem_bytes;
    int own_mem;
    nn_allocator allocator;
    uint8_t *scratch;       /* conv patches; a mixed model's quantized input rows */
    uint8_t *x_stage;       /* nn_qpredict's quantized input */
    uint64_t stamp;         /* this model's claim on mem (a load into its arena takes it) */
    const uint64_t *claim;
} nn_qmodel;

typedef struct nn_quant_config {
    int64_t max_batch;             /* batch of the quantized model (default: the float model's) */
    const nn_allocator *allocator; /* NULL: malloc/free */
    void *arena;                   /* or lay it out in these bytes (too small: the error says how many it
                                      needs, and the arena is not touched); a model that lived there
                                      refuses to run afterwards */
    size_t arena_bytes;
    int weight_bits;               /* 8 (0: the default): weights in [-127, 127]; 7: in [-64, 64], which
                                      x86 CPUs with AVX2 but no VNNI run about 1.5x as fast (vpmaddubsw
                                      cannot overflow); 6: in [-32, 32], faster again (two products'
                                      sums added in 16 bits); at some accuracy; the file format is the same */
} nn_quant_config;
NNDEF nn_quant_config nn_quant_defaults(void);

/* Quantize a compiled float model, calibrating activation ranges on n rows of calib. */
NNDEF nn_result nn_quantize(nn_model *m, const float *calib, int64_t n, const nn_quant_config *cfg, nn_qmodel *q);
/* Integer-only inference: x (n, input size) already quantized with the input layer's scale
   and zero point (q->q[0]); *out views the last layer's uint8 output in the arena. */
NNDEF nn_result nn_qforward(nn_qmodel *q, const uint8_t *x, int64_t n, const uint8_t **out);
/* Float in, float out: quantizes x, runs nn_qforward, dequantizes (softmax if the float model
   ended in one). Rows go max_batch at a time, each block checked for NaN and infinity as it is
   quantized: on NN_ERR_DATA the blocks before the bad row's are in out. */
NNDEF nn_result nn_qpredict(nn_qmodel *q, const float *x, int64_t n, float *out);
/* Index of the largest output of row i of the last nn_qforward. */
NNDEF int64_t nn_qargmax(const nn_qmodel *q, int64_t i);
NNDEF void nn_qmodel_free(nn_qmodel *q);
/* The same file format: int8 weights, int32 biases and multipliers, uint8 tables, the scales
   in the metadata (docs/FORMAT.md). Loading takes nn_load_config (arena, borrow: the int8
   weights and tables are used in place; they have no byte order). */
NNDEF nn_result nn_qsave_mem(const nn_qmodel *q, void *buf, size_t cap, size_t *size);
NNDEF nn_result nn_qload_mem(nn_qmodel *q, const void *data, size_t size, const nn_load_config *cfg);
NNDEF nn_result nn_qload_mem_arena_bytes(nn_qmodel *q, const void *data, size_t size, const nn_load_config *cfg,
                                         size_t *bytes);
#ifndef NN_NO_STDIO
NNDEF nn_result nn_qsave(const nn_qmodel *q, const char *path);
NNDEF nn_result nn_qload(nn_qmodel *q, const char *path, const nn_load_config *cfg);
#endif

/* >>api-util ------------------------------------------------------------------------------ */
NNDEF void nn_set_threads(int n);   /* no effect without OpenMP */
NNDEF int nn_get_threads(void);
/* Index of the largest of n values (first on ties). */
NNDEF int64_t nn_argmax(const float *x, int64_t n);


#ifdef __cplusplus
}
#endif
#endif /* NN_H_INCLUDED */

/* ========================================================================================== */
/*                                     IMPLEMENTATION                                          */
/* ========================================================================================== */
#ifdef NN_IMPLEMENTATION
#ifndef NN_IMPLEMENTATION_INCLUDED
#define NN_IMPLEMENTATION_INCLUDED
#if defined(__clang__) /* a * b + c as written (clang fuses it into one FMA by default, GCC in C99
                          does not): the scalar formulas give the same bits as their vector forms
                          and as a GCC build; restored to the default at the end */
#pragma STDC FP_CONTRACT OFF
#endif

/* CODE INDEX. Sections in the order data flows; `grep -n '^/\* >>' nn.h` lists their lines.
     >>config, >>platform   configuration macros; OpenMP and SIMD macros, thread-local storage
     >>error, >>memory      nn__fail and the last message; the allocator hook, caller arenas
     >>tensor               nn_tensor views
     >>kernels              GEMM (packing, AVX-512 / AVX2 / portable micro-kernels), activations,
                            softmax, losses on raw arrays
     >>kernels-conv         convolution: -plan (method and workspace), -im2col, -depthwise,
                            -direct (row and lanes kernels), -direct-dw (weight gradients),
                            -winograd, -entry (nn_conv2d_forward/backward); >>kernels-pool
                            (general, 2x2, fused conv+ReLU+pool); >>kernels-bn
     >>kernels-int8         uint8 x int8 dot products, requantization, int8 dense/conv/pool
     >>backend-cpu          the CPU's nn_backend table (every hot operation of a step)
     >>rng, >>optim         splitmix64; torch.optim's update rules over flat arrays
     >>text                 the model file's metadata text: exact floats, key=value words
     >>layers               what layers share; then one >>layer-NAME block per type (shape
                            inference, init, forward, backward, file line, tensors, int8) and
                            >>layer-table, the only place a layer's type is dispatched
     >>model                builders, compile: the arena plan (nn__plan_model), fused steps
     >>net                  forward, loss, backward, optimizer step over the layer array
     >>train                evaluate, fit (shuffling, checkpoints, progress)
     >>data, >>file         data sets and CSV; safetensors model files, checkpoints, IDX, NumPy
     >>quant                int8 quantization, its inference over the layer table, its file
     >>util                 threads */

/* >>config: defaults for the configuration macros ------------------------------------------ */
#include <string.h>
#include <math.h>
#include <stdarg.h>
#ifndef NN_ASSERT
#ifdef NN_NO_STDIO /* (assert prints through stdio: a firmware build would link printf for it) */
#define NN_ASSERT(x) ((void)0)
#else
#include <assert.h>
#define NN_ASSERT(x) assert(x)
#endif
#endif
#ifndef NN_NO_MALLOC
#include <stdlib.h>
#endif
#ifndef NN_NO_STDIO
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <errno.h>
#if defined(__unix__) || defined(__APPLE__)
#include <unistd.h>
#define NN__ISATTY_STDERR() isatty(2)
#else
#define NN__ISATTY_STDERR() 0
#endif
#endif
#ifndef NN_OMP_MIN_WORK
#define NN_OMP_MIN_WORK 65536
#endif
#if !defined(NN_NO_STDIO) && (defined(__unix__) || defined(__APPLE__))
#include <fcntl.h>
#define NN__POSIX_IO 1 /* open/write/fsync for atomic, durable saves */
#else
#define NN__POSIX_IO 0
#endif

/* >>platform: OpenMP, thread-local storage --------------------------------------------------
   Without OpenMP no pragma reaches the compiler, so users see no unknown-pragma warnings either
   way: loops use the macros below, which vanish then, and the regions that need more than a
   loop (a parallel region with barriers: GEMM packing, the convolutions' slots) write
   '#pragma omp' only inside '#if NN__OMP' blocks, with a serial path after '#else'. */
#if defined(_OPENMP) && !defined(NN_NO_OPENMP)
#include <omp.h>
#define NN__OMP 1
#define NN__PRAGMA(x) _Pragma(#x)
/* a false if() still costs ~300 ns (libgomp builds a team of one): paths that run tiny work
   often (batch-1 inference) test the condition outside the construct instead */
#define NN__OMP_FOR_IF(c) NN__PRAGMA(omp parallel for schedule(static) if(c))
/* the same on at most nt threads (a loop whose per-thread scratch was planned for nt) */
#define NN__OMP_FOR_NT(c, nt) NN__PRAGMA(omp parallel for schedule(static) num_threads(nt) if(c))
#else
#define NN__OMP 0
#define NN__OMP_FOR_NT(c, nt)
#define NN__OMP_FOR_IF(c)
#endif

#if (defined(__AVX512F__) || defined(__AVX2__)) && !defined(NN_NO_SIMD)
#include <immintrin.h>
#define NN__PREFETCH_L2(p) _mm_prefetch((const char *)(p), _MM_HINT_T1)
#elif defined(__GNUC__) || defined(__clang__)
#define NN__PREFETCH_L2(p) __builtin_prefetch((p), 0, 2)
#else
#define NN__PREFETCH_L2(p) ((void)(p))
#endif
/* One vector of floats for element-wise loops compilers leave scalar (sqrtf and division may
   set errno): 16 lanes with AVX-512, 8 with AVX2; NN__VF undefined elsewhere. Written once
   over these, a loop keeps the scalar loop's operations and order, so its bits. */
#if defined(__AVX512F__) && !defined(NN_NO_SIMD)
#define NN__VF 16
#define NN__V __m512
#define NN__VLD _mm512_loadu_ps
#define NN__VST _mm512_storeu_ps
#define NN__VSET _mm512_set1_ps
#define NN__VADD _mm512_add_ps
#define NN__VMUL _mm512_mul_ps
#define NN__VDIV _mm512_div_ps
#define NN__VSQRT _mm512_sqrt_ps
#elif defined(__AVX2__) && !defined(NN_NO_SIMD)
#define NN__VF 8
#define NN__V __m256
#define NN__VLD _mm256_loadu_ps
#define NN__VST _mm256_storeu_ps
#define NN__VSET _mm256_set1_ps
#define NN__VADD _mm256_add_ps
#define NN__VMUL _mm256_mul_ps
#define NN__VDIV _mm256_div_ps
#define NN__VSQRT _mm256_sqrt_ps
#endif

#if defined(NN_NO_TLS) || (defined(__arm__) && !defined(__linux__) && !defined(__APPLE__))
#define NN__TLS /* bare metal: one thread and no thread pointer (the error message is global) */
#elif defined(__GNUC__) || defined(__clang__)
#define NN__TLS __thread
#elif defined(_MSC_VER)
#define NN__TLS __declspec(thread)
#else
#define NN__TLS
#endif
#if defined(NN_INT8_ONLY) && (defined(__GNUC__) || defined(__clang__))
#define NN__PRIVATE static __attribute__((unused)) /* (the float layers' code is left unreferenced) */
#else
#define NN__PRIVATE static
#endif
#define NN__ALIGN 64
/* restrict lets -O2 vectorize loops over several arrays without runtime overlap checks */
#ifdef __cplusplus
#define NN__RESTRICT __restrict
#else
#define NN__RESTRICT restrict
#endif
#if defined(__GNUC__) || defined(__clang__)
#define NN__NOINLINE __attribute__((noinline))
#define NN__INLINE __inline__ __attribute__((always_inline)) /* to specialize on a constant argument */
#elif defined(_MSC_VER)
#define NN__NOINLINE __declspec(noinline)
#define NN__INLINE __forceinline
#else
#define NN__NOINLINE
#define NN__INLINE
#endif

/* Sixteen floats: the convolution kernels' vector (their padded rows, channel blocks and tiles
   are laid out by sixteens). One zmm with AVX-512; with AVX2+FMA a pair of ymm taking the same
   operations lane for lane, so one kernel source serves both (NN__V16 undefined elsewhere).
   nn__m16: the first n lanes, for the loads and stores at a row's end. */
#if defined(__AVX512F__) && !defined(NN_NO_SIMD)
#define NN__V16 1
typedef __m512 nn__v16;
typedef __mmask16 nn__m16;
static NN__INLINE nn__v16 nn__v16_ld(const float *p) { return _mm512_loadu_ps(p); }
static NN__INLINE void nn__v16_st(float *p, nn__v16 v) { _mm512_storeu_ps(p, v); }
static NN__INLINE nn__v16 nn__v16_set(float x) { return _mm512_set1_ps(x); }
static NN__INLINE nn__v16 nn__v16_zero(void) { return _mm512_setzero_ps(); }
static NN__INLINE nn__v16 nn__v16_add(nn__v16 a, nn__v16 b) { return _mm512_add_ps(a, b); }
static NN__INLINE nn__v16 nn__v16_sub(nn__v16 a, nn__v16 b) { return _mm512_sub_ps(a, b); }
static NN__INLINE nn__v16 nn__v16_fma(nn__v16 a, nn__v16 b, nn__v16 c) { return _mm512_fmadd_ps(a, b, c); }
static NN__INLINE nn__v16 nn__v16_fnma(nn__v16 a, nn__v16 b, nn__v16 c) { return _mm512_fnmadd_ps(a, b, c); }
static NN__INLINE float nn__v16_sum(nn__v16 a) { return _mm512_reduce_add_ps(a); }
static NN__INLINE nn__m16 nn__m16_first(int64_t n) { return (__mmask16)(n >= 16 ? 0xffffu : (1u << n) - 1u); }
static NN__INLINE nn__v16 nn__v16_ldm(nn__m16 m, const float *p) { return _mm512_maskz_loadu_ps(m, p); }
static NN__INLINE void nn__v16_stm(float *p, nn__m16 m, nn__v16 v) { _mm512_mask_storeu_ps(p, m, v); }
#define NN__V16_KEEP(v) __asm__("" : "+v"(v)) /* (GCC: keep v in a register) */
#define NN__V16_REGS 32 /* nn__v16 registers: the kernels' accumulator counts scale with them */
#elif defined(__AVX2__) && defined(__FMA__) && !defined(NN_NO_SIMD)
#define NN__V16 1
typedef struct nn__v16 { __m256 lo, hi; } nn__v16;
typedef struct nn__m16 { __m256i lo, hi; } nn__m16;
static NN__INLINE nn__v16 nn__v16_2(__m256 lo, __m256 hi) { nn__v16 r; r.lo = lo; r.hi = hi; return r; }
static NN__INLINE nn__v16 nn__v16_ld(const float *p) { return nn__v16_2(_mm256_loadu_ps(p), _mm256_loadu_ps(p + 8)); }
static NN__INLINE void nn__v16_st(float *p, nn__v16 v) { _mm256_storeu_ps(p, v.lo); _mm256_storeu_ps(p + 8, v.hi); }
static NN__INLINE nn__v16 nn__v16_set(float x) { return nn__v16_2(_mm256_set1_ps(x), _mm256_set1_ps(x)); }
static NN__INLINE nn__v16 nn__v16_zero(void) { return nn__v16_2(_mm256_setzero_ps(), _mm256_setzero_ps()); }
static NN__INLINE nn__v16 nn__v16_add(nn__v16 a, nn__v16 b) { return nn__v16_2(_mm256_add_ps(a.lo, b.lo), _mm256_add_ps(a.hi, b.hi)); }
static NN__INLINE nn__v16 nn__v16_sub(nn__v16 a, nn__v16 b) { return nn__v16_2(_mm256_sub_ps(a.lo, b.lo), _mm256_sub_ps(a.hi, b.hi)); }
static NN__INLINE nn__v16 nn__v16_fma(nn__v16 a, nn__v16 b, nn__v16 c) {
    return nn__v16_2(_mm256_fmadd_ps(a.lo, b.lo, c.lo), _mm256_fmadd_ps(a.hi, b.hi, c.hi));
}
static NN__INLINE nn__v16 nn__v16_fnma(nn__v16 a, nn__v16 b, nn__v16 c) {
    return nn__v16_2(_mm256_fnmadd_ps(a.lo, b.lo, c.lo), _mm256_fnmadd_ps(a.hi, b.hi, c.hi));
}
static NN__INLINE float nn__v16_sum(nn__v16 a) {
    const __m256 s = _mm256_add_ps(a.lo, a.hi);
    __m128 q = _mm_add_ps(_mm256_castps256_ps128(s), _mm256_extractf128_ps(s, 1));
    q = _mm_add_ps(q, _mm_movehl_ps(q, q));
    return _mm_cvtss_f32(_mm_add_ss(q, _mm_movehdup_ps(q)));
}
static NN__INLINE nn__m16 nn__m16_first(int64_t n) {
    const __m256i v = _mm256_set1_epi32((int)(n >= 16 ? 16 : n));
    nn__m16 m;
    m.lo = _mm256_cmpgt_epi32(v, _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    m.hi = _mm256_cmpgt_epi32(v, _mm256_setr_epi32(8, 9, 10, 11, 12, 13, 14, 15));
    return m;
}
static NN__INLINE nn__v16 nn__v16_ldm(nn__m16 m, const float *p) {
    return nn__v16_2(_mm256_maskload_ps(p, m.lo), _mm256_maskload_ps(p + 8, m.hi));
}
static NN__INLINE void nn__v16_stm(float *p, nn__m16 m, nn__v16 v) {
    _mm256_maskstore_ps(p, m.lo, v.lo);
    _mm256_maskstore_ps(p + 8, m.hi, v.hi);
}
#define NN__V16_REGS 8 /* (sixteen ymm) */
#define NN__V16_KEEP(v) __asm__("" : "+v"((v).lo), "+v"((v).hi))
#endif

/* for (i = lo; i < hi; i++) body, in blocks of 16 with a constant trip count: GCC's -O2 cost
   model vectorizes those, but no loop that needs a scalar epilogue. Use it in functions whose
   array parameters are restrict (an OpenMP-outlined body loses that, hence NN__SPLIT). */
#define NN__VLOOP(i, lo, hi, body) do { \
    int64_t nn__b_ = (lo); \
    const int64_t nn__e_ = (hi); \
    for (; nn__b_ + 16 <= nn__e_; nn__b_ += 16) { \
        int nn__l_; \
        for (nn__l_ = 0; nn__l_ < 16; nn__l_++) { const int64_t i = nn__b_ + nn__l_; body } \
    } \
    { int64_t i; for (i = nn__b_; i < nn__e_; i++) { body } } \
} while (0)

/* Run stmt over [lo, hi) slices of [0, n): one contiguous slice per thread when cond holds
   (slices start on multiples of 16), else the whole range without entering OpenMP at all. */
#if NN__OMP
#define NN__SPLIT(cond, n, lo, hi, stmt) do { \
    const int64_t nn__n_ = (n); \
    if (cond) { \
        NN__PRAGMA(omp parallel) { \
            const int64_t nn__t_ = omp_get_thread_num(), nn__nt_ = omp_get_num_threads(); \
            const int64_t lo = nn__n_ * nn__t_ / nn__nt_ / 16 * 16; \
            const int64_t hi = nn__t_ + 1 == nn__nt_ ? nn__n_ : nn__n_ * (nn__t_ + 1) / nn__nt_ / 16 * 16; \
            stmt; \
        } \
    } else { const int64_t lo = 0, hi = nn__n_; stmt; } \
} while (0)
#else
#define NN__SPLIT(cond, n, lo, hi, stmt) do { const int64_t lo = 0, hi = (n); (void)(cond); stmt; } while (0)
#endif
#define NN__PI 3.14159265358979323846

/* >>error: the last failure's message, and nn__fail which records it -----------------------
   A tiny formatter (%s %d %l=int64 %u=uint64 %f %%) keeps messages available without <stdio.h>. */
static NN__TLS char nn__err_msg[320];

NN__PRIVATE void nn__vformat(char *out, size_t cap, const char *fmt, va_list ap) {
    size_t n = 0;
    char tmp[48];
#define NN__PUT(ch) do { if (n + 1 < cap) out[n++] = (ch); } while (0)
    for (; *fmt; fmt++) {
        const char *s = tmp;
        if (*fmt != '%') { NN__PUT(*fmt); continue; }
        fmt++;
        if (*fmt == 's') {
            s = va_arg(ap, const char *);
            if (!s) s = "(null)";
        } else if (*fmt == 'd' || *fmt == 'l' || *fmt == 'u') {
            long long v = *fmt == 'd' ? (long long)va_arg(ap, int) : *fmt == 'l' ? (long long)va_arg(ap, int64_t) : 0;
            unsigned long long u = *fmt == 'u' ? (unsigned long long)va_arg(ap, uint64_t)
                                   : v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v;
            int k = 47;
            tmp[k] = 0;
            do { tmp[--k] = (char)('0' + u % 10); u /= 10; } while (u);
            if (v < 0) tmp[--k] = '-';
            s = tmp + k;
        } else if (*fmt == 'f') {
            double v = va_arg(ap, double);
            if (v != v) { s = "nan"; }
            else if (v > 1e15 || v < -1e15) { s = v > 0 ? "inf" : "-inf"; }
            else {
                long long ip; long long frac; int k = 47, d;
                int neg = v < 0;
                if (neg) v = -v;
                ip = (long long)v;
                frac = (long long)((v - (double)ip) * 10000.0 + 0.5);
                if (frac >= 10000) { ip++; frac -= 10000; }
                tmp[k] = 0;
                for (d = 0; d < 4; d++) { tmp[--k] = (char)('0' + frac % 10); frac /= 10; }
                tmp[--k] = '.';
                do { tmp[--k] = (char)('0' + ip % 10); ip /= 10; } while (ip);
                if (neg) tmp[--k] = '-';
                s = tmp + k;
            }
        } else if (*fmt == '%') {
            s = "%";
        } else {
            break;
        }
        while (*s) { NN__PUT(*s); s++; }
    }
#undef NN__PUT
    out[n < cap ? n : cap - 1] = 0;
}

NN__PRIVATE nn_result nn__fail(nn_result code, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    nn__vformat(nn__err_msg, sizeof nn__err_msg, fmt, ap);
    va_end(ap);
    return code;
}

NNDEF const char *nn_error(void) { return nn__err_msg; }

NNDEF const char *nn_result_string(nn_result r) {
    switch (r) {
    case NN_OK: return "ok";
    case NN_ERR_INVALID_ARG: return "invalid argument";
    case NN_ERR_SHAPE: return "shape mismatch";
    case NN_ERR_OUT_OF_MEMORY: return "out of memory";
    case NN_ERR_DATA: return "bad data";
    case NN_ERR_STATE: return "wrong state";
    case NN_ERR_IO: return "i/o error";
    case NN_ERR_FORMAT: return "bad format";
    case NN_ERR_UNSUPPORTED: return "unsupported";
    case NN_ERR_DEVICE: return "device error";
    }
    return "unknown error";
}

/* >>memory: the allocator hook -------------------------------------------------------------- */
#ifndef NN_NO_MALLOC
NN__PRIVATE void *nn__malloc_cb(size_t bytes, void *user) { (void)user; return malloc(bytes); }
NN__PRIVATE void nn__free_cb(void *p, void *user) { (void)user; free(p); }
#endif

/* the allocator of a model that has none (NN_NO_MALLOC, or memory only from arenas) */
NN__PRIVATE void *nn__no_alloc(size_t bytes, void *user) { (void)bytes; (void)user; return NULL; }
NN__PRIVATE void nn__no_free(void *p, void *user) { (void)p; (void)user; }
/* One block handed out once: the loader's parse memory inside a caller's arena. */
typedef struct nn__bump { char *p; size_t left; } nn__bump;
NN__PRIVATE void *nn__bump_alloc(size_t bytes, void *user) {
    nn__bump *b = (nn__bump *)user;
    const size_t pad = (16 - (size_t)((uintptr_t)b->p % 16)) % 16; /* 16-byte aligned, as malloc's */
    char *r;
    if (pad > b->left || bytes > b->left - pad) return NULL;
    r = b->p + pad; b->p = r + bytes; b->left -= pad + bytes;
    return r;
}

NN__PRIVATE nn_result nn__allocator_or_default(const nn_allocator *in, nn_allocator *out, const char *fn) {
    if (in && in->alloc && in->free) { *out = *in; return NN_OK; }
#ifdef NN_NO_MALLOC
    (void)fn; /* memory only from arenas: allocations fail cleanly */
    out->alloc = nn__no_alloc; out->free = nn__no_free; out->user = NULL;
    return NN_OK;
#else
    (void)fn;
    out->alloc = nn__malloc_cb; out->free = nn__free_cb; out->user = NULL;
    return NN_OK;
#endif
}

NN__PRIVATE size_t nn__align_up(size_t v, size_t a) { return (v + a - 1) / a * a; }
NN__PRIVATE char *nn__aligned(void *p, size_t a) { return (char *)p + (a - (size_t)((uintptr_t)p % a)) % a; }

/* A model's claim on its block: the block's first 8 bytes (at its aligned base) hold the stamp
   its model keeps too; every entry point compares them. A compile, quantization or load into
   the same caller's arena replaces the stamp, and a load clears it before it writes anything
   (a failed one too), so a model whose arena was taken refuses to run instead of computing on
   another model's bytes. */
NN__PRIVATE uint64_t nn__new_stamp(const void *owner) {
    static uint64_t n;
    n += 0x9E3779B97F4A7C15ull;
    return (n ^ ((uint64_t)(uintptr_t)owner * 0xBF58476D1CE4E5B9ull)) | 1u;
}
NN__PRIVATE void nn__clear_claim(void *arena, size_t bytes, size_t align) {
    char *b = nn__aligned(arena, align);
    if (arena && bytes >= (size_t)(b - (char *)arena) + 8) memset(b, 0, 8);
}

/* A model's zeroed block: the caller's arena, or the allocator's. From the default allocator it
   comes from calloc, whose fresh pages are zero untouched, so buffers a run never writes (e.g.
   outputs that fused kernels skip) stay out of the resident set. */
NN__PRIVATE nn_result nn__take_zeroed(const nn_allocator *al, void *arena, size_t arena_bytes, size_t bytes,
                                      void **mem, int *own, const char *what, const char *hint) {
    if (arena) {
        if (arena_bytes < bytes)
            return nn__fail(NN_ERR_OUT_OF_MEMORY, "%s: the arena has %l bytes; this model needs %l%s", what,
                            (int64_t)arena_bytes, (int64_t)bytes, hint);
        *mem = arena; *own = 0;
        memset(arena, 0, bytes);
        return NN_OK;
    }
#ifndef NN_NO_MALLOC
    if (al->alloc == nn__malloc_cb) *mem = calloc(1, bytes);
    else
#endif
    if ((*mem = al->alloc(bytes, al->user)) != NULL) memset(*mem, 0, bytes);
    if (!*mem)
        return nn__fail(NN_ERR_OUT_OF_MEMORY, "%s: could not allocate %l bytes%s", what, (int64_t)bytes,
                        al->alloc == nn__no_alloc ? " (no allocator: give nn_model_init one, or the config an arena)" : "");
    *own = 1;
    return NN_OK;
}

/* >>tensor ----------------------------------------------------------------------------------- */
NNDEF nn_tensor nn_tensor_view(float *data, int ndim, const int64_t *shape) {
    nn_tensor t;
    int i;
    memset(&t, 0, sizeof t);
    t.data = data;
    t.ndim = ndim < 0 ? 0 : ndim > NN_MAX_DIMS ? NN_MAX_DIMS : ndim;
    for (i = 0; i < t.ndim; i++) t.shape[i] = shape[i];
    return t;
}

NNDEF int64_t nn_tensor_numel(const nn_tensor *t) {
    int64_t n = 1;
    int i;
    for (i = 0; i < t->ndim; i++) n *= t->shape[i];
    return n;
}

NNDEF nn_result nn_tensor_reshape(const nn_tensor *t, int ndim, const int64_t *shape, nn_tensor *out) {
    nn_tensor v;
    int i;
    if (!t || !shape || !out || ndim < 1 || ndim > NN_MAX_DIMS)
        return nn__fail(NN_ERR_INVALID_ARG, "nn_tensor_reshape: bad arguments (ndim %d)", ndim);
    for (i = 0; i < ndim; i++)
        if (shape[i] < 0) return nn__fail(NN_ERR_SHAPE, "nn_tensor_reshape: negative dimension");
    v = nn_tensor_view(t->data, ndim, shape);
    if (nn_tensor_numel(&v) != nn_tensor_numel(t))
        return nn__fail(NN_ERR_SHAPE, "nn_tensor_reshape: %l elements cannot take a shape of %l",
                        nn_tensor_numel(t), nn_tensor_numel(&v));
    *out = v;
    return NN_OK;
}

/* >>kernels: GEMM, activations, softmax, losses on raw arrays --------------------------------
   Legend: B = batch rows, C = columns (classes/features); GEMM uses M, N, K.
   Parallel loops split over output rows only, each output element summed in a fixed order:
   results are identical for any thread count. */

NN__PRIVATE float nn__dot(const float *a, const float *b, int64_t n) {
    /* 8 independent partial sums: vectorizes without -ffast-math, fixed order */
    float s[8] = {0, 0, 0, 0, 0, 0, 0, 0}, t;
    int64_t k = 0;
    int l;
    for (; k + 8 <= n; k += 8)
        for (l = 0; l < 8; l++) s[l] += a[k + l] * b[k + l];
    t = ((s[0] + s[4]) + (s[1] + s[5])) + ((s[2] + s[6]) + (s[3] + s[7]));
    for (; k < n; k++) t += a[k] * b[k];
    return t;
}

/* y = x > 0 ? x : 0 (NaN gives 0): nn_act_forward's ReLU and the GEMM's ReLU epilogue; y may be x */
NN__PRIVATE void nn__relu_range(float *y, const float *x, int64_t n) { NN__VLOOP(i, 0, n, y[i] = x[i] > 0.0f ? x[i] : 0.0f;); }

/* The unpacked loops: for tiny products, where packing costs more than it saves, and as the
   path of nn_gemm when no workspace can be had (NN_NO_MALLOC). One row i of C: */
NN__PRIVATE void nn__gemm_simple_row(int ta, int tb, int64_t i, int64_t N, int64_t K, float alpha,
                                     const float *A, int64_t lda, const float *B, int64_t ldb,
                                     float beta, float *C, int64_t ldc, const float *bias, float *relu) {
    float *c = C + i * ldc;
    int64_t j, k;
    if (beta == 0.0f) for (j = 0; j < N; j++) c[j] = 0.0f;
    else if (beta != 1.0f) for (j = 0; j < N; j++) c[j] *= beta;
    if (!tb) {
        /* C[i,:] += a_ik * B[k,:]: a row update the compiler vectorizes */
        for (k = 0; k < K; k++) {
            const float a = alpha * (ta ? A[k * lda + i] : A[i * lda + k]);
            const float *b = B + k * ldb;
            for (j = 0; j < N; j++) c[j] += a * b[j];
        }
    } else if (!ta) {
        j = 0;
#if defined(__AVX512F__) && !defined(NN_NO_SIMD)
        /* eight dot products per pass over the row of A (batch-1 inference is this loop), rows
           S apart: each of the eight weight streams runs S rows on in memory, which the hardware
           prefetcher follows; eight adjacent rows are eight streams of one row each that it does
           not (two fifths less time on a 128 x 784 layer from L2). Rows 8S.. are left to the loop below. */
        const int64_t S = N / 8, st = S * ldb;
        const float *a = A + i * lda;
        int64_t jj;
        for (jj = 0; jj < S; jj++) {
            const float *b0 = B + jj * ldb;
            __m512 s[8];
            int64_t kk = 0;
            int q;
            for (q = 0; q < 8; q++) s[q] = _mm512_setzero_ps();
            for (; kk + 16 <= K; kk += 16) {
                const __m512 x = _mm512_loadu_ps(a + kk);
                const float *b = b0 + kk;
                s[0] = _mm512_fmadd_ps(x, _mm512_loadu_ps(b), s[0]);
                s[1] = _mm512_fmadd_ps(x, _mm512_loadu_ps(b + st), s[1]);
                s[2] = _mm512_fmadd_ps(x, _mm512_loadu_ps(b + 2 * st), s[2]);
                s[3] = _mm512_fmadd_ps(x, _mm512_loadu_ps(b + 3 * st), s[3]);
                s[4] = _mm512_fmadd_ps(x, _mm512_loadu_ps(b + 4 * st), s[4]);
                s[5] = _mm512_fmadd_ps(x, _mm512_loadu_ps(b + 5 * st), s[5]);
                s[6] = _mm512_fmadd_ps(x, _mm512_loadu_ps(b + 6 * st), s[6]);
                s[7] = _mm512_fmadd_ps(x, _mm512_loadu_ps(b + 7 * st), s[7]);
            }
            if (kk < K) {
                const __mmask16 mk = (__mmask16)((1u << (K - kk)) - 1u);
                const __m512 x = _mm512_maskz_loadu_ps(mk, a + kk);
                for (q = 0; q < 8; q++) s[q] = _mm512_fmadd_ps(x, _mm512_maskz_loadu_ps(mk, b0 + q * st + kk), s[q]);
            }
            for (q = 0; q < 8; q++) c[jj + q * S] += alpha * _mm512_reduce_add_ps(s[q]);
        }
        j = 8 * S;
#endif
        for (; j < N; j++) c[j] += alpha * nn__dot(A + i * lda, B + j * ldb, K);
    } else {
        for (j = 0; j < N; j++) {
            float s = 0.0f;
            for (k = 0; k < K; k++) s += A[k * lda + i] * B[j * ldb + k];
            c[j] += alpha * s;
        }
    }
    if (bias) for (j = 0; j < N; j++) c[j] += bias[j];
    if (relu) nn__relu_range(relu + i * ldc, c, N);
}
/* batch-1 inference skips the OpenMP construct (see NN__OMP_FOR_IF) */
NN__PRIVATE void nn__gemm_simple(int ta, int tb, int64_t M, int64_t N, int64_t K, float alpha,
                                 const float *A, int64_t lda, const float *B, int64_t ldb,
                                 float beta, float *C, int64_t ldc, const float *bias, float *relu) {
    int64_t i;
    if (M > 1 && M * N * K >= 8 * NN_OMP_MIN_WORK) {
        NN__OMP_FOR_IF(1)
        for (i = 0; i < M; i++) nn__gemm_simple_row(ta, tb, i, N, K, alpha, A, lda, B, ldb, beta, C, ldc, bias, relu);
    } else
        for (i = 0; i < M; i++) nn__gemm_simple_row(ta, tb, i, N, K, alpha, A, lda, B, ldb, beta, C, ldc, bias, relu);
}

/* Blocked GEMM (the BLIS loop nest). C is cut into MR x NR tiles; for each KC-deep slice B
   is packed into NR-wide, k-major panels (a copy for op(B) = B, 8x8 transposes for B^T),
   zero-padded at the edge, while the micro-kernel reads A through (row, column) strides: where
   it lies when M fits one tile group (both transposes of A cost nothing, and only a last
   partial row block is copied, zero-padded), packed a group at a time when it does not. The
   micro-kernel prefetches the C tile it will add to, which the loop over k hides. Loop order
   jc (NC cols) > pc (KC) > tiles; threads share the packed slice and split the tiles, or, when
   all rows of C make one group, each packs its own column panels one at a time (no barriers).
   Each C element is summed over k in the same order whatever the thread count or packing.
   Tiles fill the vector registers: AVX-512 8x32 (16 accumulators), AVX2 6x16 (12). */
#if defined(__AVX512F__) && !defined(NN_NO_SIMD)
#define NN__MR 8
#define NN__NR 32
/* k-slices up to 800 deep: on Zen 5 (2 cores) 384 -> 800 measured 5-20% faster at 2 threads on
   squares 1024-2048, 25-38% on the MLP's first layer (K = 784 in one slice: one packing and
   barrier instead of three) and 7-14% on the CNN's 3136-wide dense layer; 1 thread unchanged */
#define NN__KC 800
#elif defined(__AVX2__) && defined(__FMA__) && !defined(NN_NO_SIMD)
#define NN__MR 6
#define NN__NR 16
#define NN__KC 384
#else
#define NN__MR 4
#define NN__NR 16
#define NN__KC 384
#endif
#define NN__NC 1536
#define NN__GQ 32 /* row blocks of A per tile group: with AVX-512, 32 x 8 rows x KC floats is 800 KB */

/* floats of workspace nn_gemm_ws takes: per thread the partial last row block of A and column
   panel of B (an edge), then one packed slice of B, plus room for 8 threads' packed groups of A
   (nn__gemm_packs_a); nn__gemm_packed_ws gives a call's exact need */
#define NN__GEMM_EDGE ((NN__MR + NN__NR) * NN__KC)
#define NN__GEMM_AGROUP ((int64_t)NN__GQ * NN__MR * NN__KC)
#define NN__GEMM_MAXT 64
#define NN__GEMM_WS ((int64_t)NN__KC * NN__NC + (int64_t)NN__GEMM_MAXT * NN__GEMM_EDGE + 8 * NN__GEMM_AGROUP + 16)

/* B is packed when transposed, or when its rows are long (a new page every k) and many row
   blocks reuse each panel */
NN__PRIVATE int nn__gemm_packs_b(int tb, int64_t M, int64_t ldb) { return tb || ((M + NN__MR - 1) / NN__MR >= 16 && ldb >= 1024); }
/* k-slices of equal depth (a multiple of 8), so that none is a short one of mostly epilogue */
NN__PRIVATE int64_t nn__gemm_kslice(int64_t K) {
    const int64_t nkb = (K + NN__KC - 1) / NN__KC;
    return ((K + nkb - 1) / nkb + 7) / 8 * 8;
}
/* A is packed, a tile group at a time, when there are several groups (M > 256): their rows,
   read in place, would be 8 strided streams and a page each; not for a weight gradient whose
   threads own rows of C (they walk no groups). Packing changes no result, only where A is read. */
NN__PRIVATE int nn__gemm_packs_a(int ta, int64_t M, int nth) {
    const int64_t nq = (M + NN__MR - 1) / NN__MR;
    return nq > NN__GQ && !(ta && nq >= nth);
}
/* Floats of one thread's own workspace for k-slices of depth kb: the zero-padded edges of A
   and B, and with packa a packed group of A. */
NN__PRIVATE int64_t nn__gemm_thread_ws(int64_t kb, int packa) {
    return (NN__MR + NN__NR + (packa ? NN__GQ * NN__MR : 0)) * kb;
}
/* Floats of workspace nn__gemm_packed uses with nth threads: alignment slack, each thread's
   own, then the packed slice of B. */
NN__PRIVATE int64_t nn__gemm_packed_ws(int tb, int64_t M, int64_t N, int64_t K, int64_t ldb, int nth, int packa) {
    const int64_t nc = N < NN__NC ? N : NN__NC, np = (nc + NN__NR - 1) / NN__NR, kb = nn__gemm_kslice(K);
    return 16 + nth * nn__gemm_thread_ws(kb, packa) + (nn__gemm_packs_b(tb, M, ldb) ? np * NN__NR * kb : 0);
}
/* small products (batch-1 inference, tiny layers) and K == 0 skip packing */
NN__PRIVATE int nn__gemm_is_simple(int ta, int tb, int64_t M, int64_t N, int64_t K) {
    return K == 0 || M * N * K < 8192 || (M <= 2 && tb && !ta);
}
/* The most workspace any call with M <= Mmax, K <= Kmax (N, ldb fixed) and at most nth threads
   uses: what the model's planner reserves for a layer's GEMMs at every batch size. */
NN__PRIVATE int64_t nn__gemm_plan(int ta, int tb, int64_t Mmax, int64_t N, int64_t Kmax, int64_t ldb, int nth) {
    const int64_t nc = N < NN__NC ? N : NN__NC, np = (nc + NN__NR - 1) / NN__NR;
    const int64_t kb = (Kmax + 7) / 8 * 8 < NN__KC ? (Kmax + 7) / 8 * 8 : NN__KC;
    if (nn__gemm_is_simple(ta, tb, Mmax, N, Kmax)) return 0; /* then every smaller call is too */
    return 16 + nth * nn__gemm_thread_ws(kb, nn__gemm_packs_a(ta, Mmax, nth)) +
           (nn__gemm_packs_b(tb, Mmax, ldb) ? np * NN__NR * kb : 0);
}

#if (defined(__AVX512F__) || defined(__AVX2__)) && !defined(NN_NO_SIMD)
/* dst[k * ldd + l] = src[l * lds + k] for an 8 x 8 block (rows l, columns k) */
NN__PRIVATE void nn__transpose8(float *dst, int64_t ldd, const float *src, int64_t lds) {
    __m256 r0 = _mm256_loadu_ps(src), r1 = _mm256_loadu_ps(src + lds), r2 = _mm256_loadu_ps(src + 2 * lds);
    __m256 r3 = _mm256_loadu_ps(src + 3 * lds), r4 = _mm256_loadu_ps(src + 4 * lds), r5 = _mm256_loadu_ps(src + 5 * lds);
    __m256 r6 = _mm256_loadu_ps(src + 6 * lds), r7 = _mm256_loadu_ps(src + 7 * lds);
    __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1), t2 = _mm256_unpacklo_ps(r2, r3);
    __m256 t3 = _mm256_unpackhi_ps(r2, r3), t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5);
    __m256 t6 = _mm256_unpacklo_ps(r6, r7), t7 = _mm256_unpackhi_ps(r6, r7);
    r0 = _mm256_shuffle_ps(t0, t2, 0x44); r1 = _mm256_shuffle_ps(t0, t2, 0xEE);
    r2 = _mm256_shuffle_ps(t1, t3, 0x44); r3 = _mm256_shuffle_ps(t1, t3, 0xEE);
    r4 = _mm256_shuffle_ps(t4, t6, 0x44); r5 = _mm256_shuffle_ps(t4, t6, 0xEE);
    r6 = _mm256_shuffle_ps(t5, t7, 0x44); r7 = _mm256_shuffle_ps(t5, t7, 0xEE);
    _mm256_storeu_ps(dst + 0 * ldd, _mm256_permute2f128_ps(r0, r4, 0x20));
    _mm256_storeu_ps(dst + 1 * ldd, _mm256_permute2f128_ps(r1, r5, 0x20));
    _mm256_storeu_ps(dst + 2 * ldd, _mm256_permute2f128_ps(r2, r6, 0x20));
    _mm256_storeu_ps(dst + 3 * ldd, _mm256_permute2f128_ps(r3, r7, 0x20));
    _mm256_storeu_ps(dst + 4 * ldd, _mm256_permute2f128_ps(r0, r4, 0x31));
    _mm256_storeu_ps(dst + 5 * ldd, _mm256_permute2f128_ps(r1, r5, 0x31));
    _mm256_storeu_ps(dst + 6 * ldd, _mm256_permute2f128_ps(r2, r6, 0x31));
    _mm256_storeu_ps(dst + 7 * ldd, _mm256_permute2f128_ps(r3, r7, 0x31));
}
#endif

/* Bp[p][k][0..NR) = op(B)[k0 + k][j0 + p*NR + 0..NR) for panels p0 <= p < p1, zero beyond nc.
   B itself is copied a row of k at a time across the panels: read along its rows, not down
   its columns a page apart (2048^3, 688 x 1536 slices out of cache: 0.6 ms a slice, not 1.3-2.4) */
NN__PRIVATE void nn__pack_b(float *NN__RESTRICT Bp, int tb, const float *NN__RESTRICT B, int64_t ldb, int64_t k0,
                            int64_t j0, int64_t kc, int64_t nc, int64_t p0, int64_t p1) {
    int64_t k, l, p;
    if (!tb) {
        for (k = 0; k < kc; k++)
            for (p = p0; p < p1; p++) {
                const float *src = B + (k0 + k) * ldb + j0 + p * NN__NR;
                const int64_t w = nc - p * NN__NR < NN__NR ? nc - p * NN__NR : NN__NR;
                float *dst = Bp + (p * kc + k) * NN__NR;
                if (w == NN__NR) for (l = 0; l < NN__NR; l++) dst[l] = src[l];
                else { for (l = 0; l < w; l++) dst[l] = src[l]; for (; l < NN__NR; l++) dst[l] = 0.0f; }
            }
        return;
    }
    for (p = p0; p < p1; p++) {
        const int64_t j = j0 + p * NN__NR, w = nc - p * NN__NR < NN__NR ? nc - p * NN__NR : NN__NR;
        float *dst = Bp + p * kc * NN__NR;
        l = 0;
#if (defined(__AVX512F__) || defined(__AVX2__)) && !defined(NN_NO_SIMD)
        /* 8x8 transposes for every full group of 8 rows, scalar for the rest of k */
        for (; l + 8 <= w; l += 8) {
            int64_t kk;
            for (k = 0; k + 8 <= kc; k += 8) nn__transpose8(dst + k * NN__NR + l, NN__NR, B + (j + l) * ldb + k0 + k, ldb);
            for (kk = l; kk < l + 8; kk++) {
                const float *src = B + (j + kk) * ldb + k0;
                int64_t q;
                for (q = k; q < kc; q++) dst[q * NN__NR + kk] = src[q];
            }
        }
#endif
        for (; l < w; l++) {
            const float *src = B + (j + l) * ldb + k0;
            for (k = 0; k < kc; k++) dst[k * NN__NR + l] = src[k];
        }
        if (w < NN__NR) /* the padding, a row of k at a time (column by column: kc strided stores each) */
            for (k = 0; k < kc; k++)
                for (l = w; l < NN__NR; l++) dst[k * NN__NR + l] = 0.0f;
    }
}

/* Ap[k][0..MR) = A(0..MR, k) for k < kc, where A(r, k) is a[r * rs + k * cs]; zero in rows h.. */
NN__PRIVATE void nn__pack_a(float *NN__RESTRICT Ap, const float *NN__RESTRICT a, int64_t rs, int64_t cs, int64_t kc,
                            int64_t h) {
    int64_t k = 0, r;
#if defined(__AVX512F__) && !defined(NN_NO_SIMD) /* NN__MR == 8 */
    if (h == NN__MR && cs == 1) for (; k + 8 <= kc; k += 8) nn__transpose8(Ap + k * NN__MR, NN__MR, a + k, rs);
#endif
    for (; k < kc; k++)
        for (r = 0; r < NN__MR; r++) Ap[k * NN__MR + r] = r < h ? a[r * rs + k * cs] : 0.0f;
}

/* C tile (h x w) = alpha * sum_k A(r, k) B(k, 0..NR) + beta * C (+ bias), where A(r, k) is
   a[r * rs + k * cs] and B(k, j) is b[k * bs + j]. Edge tiles (w < NR) go through a local tile
   and are copied out. */
NN__PRIVATE void nn__ukernel(int64_t kc, const float *a, int64_t rs, int64_t cs, const float *b, int64_t bs, float *C,
                             int64_t ldc, int64_t h, int64_t w, float alpha, float beta, const float *bias) {
#if defined(__AVX512F__) && !defined(NN_NO_SIMD)
    __m512 c0a = _mm512_setzero_ps(), c0b = c0a, c1a = c0a, c1b = c0a, c2a = c0a, c2b = c0a, c3a = c0a, c3b = c0a;
    __m512 c4a = c0a, c4b = c0a, c5a = c0a, c5b = c0a, c6a = c0a, c6b = c0a, c7a = c0a, c7b = c0a;
    __m512 acc[16];
    const float *a0 = a, *a1 = a + rs, *a2 = a + 2 * rs, *a3 = a + 3 * rs, *a4 = a + 4 * rs, *a5 = a + 5 * rs;
    const float *a6 = a + 6 * rs, *a7 = a + 7 * rs;
    int64_t k, o;
    if (beta != 0.0f) /* the tile's rows of C, wanted at the end: fetched while the loop runs */
        for (k = 0; k < h; k++) {
            _mm_prefetch((const char *)(C + k * ldc), _MM_HINT_T0);
            _mm_prefetch((const char *)(C + k * ldc + w - 1), _MM_HINT_T0);
        }
#define NN__ROW(r) x = _mm512_set1_ps(a##r[o]); c##r##a = _mm512_fmadd_ps(x, b0, c##r##a); c##r##b = _mm512_fmadd_ps(x, b1, c##r##b)
#define NN__ROW1(r) c##r##a = _mm512_fmadd_ps(_mm512_set1_ps(a##r[o]), b0, c##r##a)
    if (w <= 16) /* a narrow edge (a 10-class output layer): half the tile is padding */
        for (k = 0, o = 0; k < kc; k++, o += cs, b += bs) {
            const __m512 b0 = _mm512_loadu_ps(b);
            NN__ROW1(0); NN__ROW1(1); NN__ROW1(2); NN__ROW1(3); NN__ROW1(4); NN__ROW1(5); NN__ROW1(6); NN__ROW1(7);
        }
    else
        for (k = 0, o = 0; k < kc; k++, o += cs, b += bs) {
            const __m512 b0 = _mm512_loadu_ps(b), b1 = _mm512_loadu_ps(b + 16);
            __m512 x;
            NN__ROW(0); NN__ROW(1); NN__ROW(2); NN__ROW(3); NN__ROW(4); NN__ROW(5); NN__ROW(6); NN__ROW(7);
        }
#undef NN__ROW
#undef NN__ROW1
    acc[0] = c0a; acc[1] = c0b; acc[2] = c1a; acc[3] = c1b; acc[4] = c2a; acc[5] = c2b; acc[6] = c3a; acc[7] = c3b;
    acc[8] = c4a; acc[9] = c4b; acc[10] = c5a; acc[11] = c5b; acc[12] = c6a; acc[13] = c6b; acc[14] = c7a; acc[15] = c7b;
    if (w == 32) {
        int64_t r;
        const __m512 vb = _mm512_set1_ps(beta), va = _mm512_set1_ps(alpha);
        for (r = 0; r < h; r++) {
            float *c = C + r * ldc;
            __m512 v0 = _mm512_mul_ps(va, acc[2 * r]), v1 = _mm512_mul_ps(va, acc[2 * r + 1]);
            if (beta != 0.0f) { v0 = _mm512_fmadd_ps(vb, _mm512_loadu_ps(c), v0); v1 = _mm512_fmadd_ps(vb, _mm512_loadu_ps(c + 16), v1); }
            if (bias) { v0 = _mm512_add_ps(v0, _mm512_loadu_ps(bias)); v1 = _mm512_add_ps(v1, _mm512_loadu_ps(bias + 16)); }
            _mm512_storeu_ps(c, v0);
            _mm512_storeu_ps(c + 16, v1);
        }
        return;
    }
    {
        float t[8 * 32];
        int64_t r, j;
        for (r = 0; r < 16; r++) _mm512_storeu_ps(t + 16 * r, acc[r]);
#elif defined(__AVX2__) && defined(__FMA__) && !defined(NN_NO_SIMD)
    /* 6 x 16: twelve accumulators, two B vectors and a broadcast fill the 16 ymm registers */
    __m256 c0a = _mm256_setzero_ps(), c0b = c0a, c1a = c0a, c1b = c0a, c2a = c0a, c2b = c0a, c3a = c0a, c3b = c0a;
    __m256 c4a = c0a, c4b = c0a, c5a = c0a, c5b = c0a;
    __m256 acc[12];
    const float *a0 = a, *a1 = a + rs, *a2 = a + 2 * rs, *a3 = a + 3 * rs, *a4 = a + 4 * rs, *a5 = a + 5 * rs;
    int64_t k, o;
    if (beta != 0.0f)
        for (k = 0; k < h; k++) {
            _mm_prefetch((const char *)(C + k * ldc), _MM_HINT_T0);
            _mm_prefetch((const char *)(C + k * ldc + w - 1), _MM_HINT_T0);
        }
#define NN__ROW(r) x = _mm256_broadcast_ss(a##r + o); c##r##a = _mm256_fmadd_ps(x, b0, c##r##a); c##r##b = _mm256_fmadd_ps(x, b1, c##r##b)
#define NN__ROW1(r) c##r##a = _mm256_fmadd_ps(_mm256_broadcast_ss(a##r + o), b0, c##r##a)
    if (w <= 8)
        for (k = 0, o = 0; k < kc; k++, o += cs, b += bs) {
            const __m256 b0 = _mm256_loadu_ps(b);
            NN__ROW1(0); NN__ROW1(1); NN__ROW1(2); NN__ROW1(3); NN__ROW1(4); NN__ROW1(5);
        }
    else
        for (k = 0, o = 0; k < kc; k++, o += cs, b += bs) {
            const __m256 b0 = _mm256_loadu_ps(b), b1 = _mm256_loadu_ps(b + 8);
            __m256 x;
            NN__ROW(0); NN__ROW(1); NN__ROW(2); NN__ROW(3); NN__ROW(4); NN__ROW(5);
        }
#undef NN__ROW
#undef NN__ROW1
    acc[0] = c0a; acc[1] = c0b; acc[2] = c1a; acc[3] = c1b; acc[4] = c2a; acc[5] = c2b;
    acc[6] = c3a; acc[7] = c3b; acc[8] = c4a; acc[9] = c4b; acc[10] = c5a; acc[11] = c5b;
    if (w == 16) {
        int64_t r;
        const __m256 vb = _mm256_set1_ps(beta), va = _mm256_set1_ps(alpha);
        for (r = 0; r < h; r++) {
            float *c = C + r * ldc;
            __m256 v0 = _mm256_mul_ps(va, acc[2 * r]), v1 = _mm256_mul_ps(va, acc[2 * r + 1]);
            if (beta != 0.0f) { v0 = _mm256_fmadd_ps(vb, _mm256_loadu_ps(c), v0); v1 = _mm256_fmadd_ps(vb, _mm256_loadu_ps(c + 8), v1); }
            if (bias) { v0 = _mm256_add_ps(v0, _mm256_loadu_ps(bias)); v1 = _mm256_add_ps(v1, _mm256_loadu_ps(bias + 8)); }
            _mm256_storeu_ps(c, v0);
            _mm256_storeu_ps(c + 8, v1);
        }
        return;
    }
    {
        float t[6 * 16];
        int64_t r, j;
        for (r = 0; r < 12; r++) _mm256_storeu_ps(t + 8 * r, acc[r]);
#else
    float t[NN__MR * NN__NR];
    int64_t k, r, j, o;
    for (r = 0; r < NN__MR * NN__NR; r++) t[r] = 0.0f;
    for (k = 0, o = 0; k < kc; k++, o += cs, b += bs)
        for (r = 0; r < NN__MR; r++) {
            const float x = a[r * rs + o];
            float *tr = t + r * NN__NR;
            for (j = 0; j < NN__NR; j++) tr[j] += x * b[j];
        }
    {
#endif
        for (r = 0; r < h; r++)
            for (j = 0; j < w; j++) {
                float v = alpha * t[r * NN__NR + j];
                if (beta != 0.0f) v += beta * C[r * ldc + j];
                if (bias) v += bias[j];
                C[r * ldc + j] = v;
            }
    }
}

NN__PRIVATE void nn__gemm_packed(int ta, int tb, int64_t M, int64_t N, int64_t K, float alpha,
                                 const float *A, int64_t lda, const float *B, int64_t ldb, float beta, float *C,
                                 int64_t ldc, const float *bias, float *relu, float *ws, int nth, int packa) {
    /* nn__gemm_packed_ws(tb, M, N, K, ldb, nth, packa) floats of ws: each thread's own, then packed B */
    const int64_t kb = nn__gemm_kslice(K), edge_floats = nn__gemm_thread_ws(kb, packa);
    float *edge = (float *)(void *)(((uintptr_t)ws + 63) & ~(uintptr_t)63);
    float *Bp = edge + (int64_t)nth * edge_floats;
    const int64_t rs = ta ? 1 : lda, cs = ta ? lda : 1, nq = (M + NN__MR - 1) / NN__MR, hl = M - (nq - 1) * NN__MR;
    const int pack = nn__gemm_packs_b(tb, M, ldb);
#if NN__OMP
#pragma omp parallel num_threads(nth) if (nth > 1)
#endif
    {
        int64_t jc, pc;
#if NN__OMP
        float *my_a = edge + (int64_t)omp_get_thread_num() * edge_floats;
#else
        float *my_a = edge;
#endif
        float *my_b = my_a + NN__MR * kb; /* a partial last B panel, zero-padded */
        float *my_ag = my_b + NN__NR * kb; /* with packa: the current group of A */
#if NN__OMP
        const int64_t th = omp_get_thread_num(), nt = omp_get_num_threads();
#else
        const int64_t th = 0, nt = 1;
#endif
        const int64_t gq = nq > NN__GQ ? NN__GQ : nq;
        /* A thread owns whole rows of C when it is a weight gradient (A^T.B): the optimizer
           then updates rows this core wrote, and tiles move between caches only once. */
        const int rows = ta && nq >= nt, r_lo = (int)(nq * th / nt), nr = (int)(nq * (th + 1) / nt - r_lo);
        for (jc = 0; jc < N; jc += NN__NC) {
            const int64_t nc = N - jc < NN__NC ? N - jc : NN__NC, np = (nc + NN__NR - 1) / NN__NR;
            /* With one group of rows and packed B, each thread packs the panels it multiplies,
               one at a time into its own panel buffer just before its tiles: the panel is read
               from L1/L2 rather than from a slice that outgrew them (the CNN's 1024 x 3136 layer:
               1.6 MB a thread), and no thread waits for another's packing */
            const int one = !rows && !packa && nq <= NN__GQ; /* one group: tiles go panel by panel */
            const int own = pack && one && (np % nt == 0 || np >= 4 * nt);
            const int64_t t_lo = rows ? 0 : own ? np * th / nt * nq : np * nq * th / nt;
            const int64_t t_hi = rows ? np * nr : own ? np * (th + 1) / nt * nq : np * nq * (th + 1) / nt;
            for (pc = 0; pc < K; pc += kb) {
                const int64_t kc = K - pc < kb ? K - pc : kb;
                const float be = pc == 0 ? beta : 1.0f;
                const float *bi = pc == 0 && bias ? bias + jc : NULL;
                int64_t t, a_slice = -1, b_slice = -1, a_group = -1;
                /* B^T must be packed (8x8 transposes); B itself is read where it lies, unless
                   nn__gemm_packs_b says otherwise */
                if (pack && !own) { /* each thread packs a contiguous share of the panels, then all wait */
                    nn__pack_b(Bp, tb, B, ldb, pc, jc, kc, nc, np * th / nt, np * (th + 1) / nt);
#if NN__OMP
#pragma omp barrier
#endif
                }
                /* tiles in panel-major order within groups of NN__GQ row blocks, so that a thread's
                   tiles share B panels while the group's rows of A stay in L2; a partial last row
                   block (or column panel) reads a zero-padded copy */
                for (t = t_lo; t < t_hi; t++) {
                    const int64_t g = t / (np * gq), gb = g * gq, gs = nq - gb < gq ? nq - gb : gq, u = t - g * np * gq;
                    const int64_t jr = rows ? t / nr : u / gs, ir = rows ? r_lo + t % nr : gb + u % gs;
                    const int64_t w = nc - jr * NN__NR < NN__NR ? nc - jr * NN__NR : NN__NR;
                    const float *ap = A + ir * NN__MR * rs + pc * cs, *bp;
                    int64_t ars = rs, acs = cs, bs;
                    if (own && ir == 0) nn__pack_b(my_b, tb, B, ldb, pc, jc + jr * NN__NR, kc, nc - jr * NN__NR, 0, 1);
                    if (one && (own ? tb : !pack)) {
                        /* the next panel of B (from memory: the CNN's dense weights, just updated
                           by the optimizer), a share per tile, towards L2 while this one computes:
                           it hides part of the memory latency of B^T out of cache (about 9% on the
                           CNN's 64 x 1024 x 3136) */
                        const int last = (jr + 1) * nq >= t_hi;
                        const int64_t k1 = last ? pc + kb : pc, j1 = jc + (last ? t_lo / nq : jr + 1) * NN__NR;
                        const int64_t w1 = nc + jc - j1 < NN__NR ? nc + jc - j1 : NN__NR, kc1 = K - k1 < kb ? K - k1 : kb;
                        int64_t r, o;
                        if (k1 < K && tb) /* rows j1 + r of B, kc1 long */
                            for (r = w1 * ir / nq; r < w1 * (ir + 1) / nq; r++)
                                for (o = 0; o < kc1; o += 16) NN__PREFETCH_L2(B + (j1 + r) * ldb + k1 + o);
                        else if (k1 < K) /* rows k1 + r of B, w1 wide */
                            for (r = kc1 * ir / nq; r < kc1 * (ir + 1) / nq; r++) {
                                NN__PREFETCH_L2(B + (k1 + r) * ldb + j1);
                                NN__PREFETCH_L2(B + (k1 + r) * ldb + j1 + w1 - 1);
                            }
                    }
                    if (packa) { /* the whole group, once per k-slice per thread */
                        if (a_group != g) {
                            int64_t q;
                            for (q = gb; q < gb + gs; q++)
                                nn__pack_a(my_ag + (q - gb) * NN__MR * kc, A + q * NN__MR * rs + pc * cs, rs, cs, kc,
                                           q == nq - 1 ? hl : NN__MR);
                            a_group = g;
                        }
                        ap = my_ag + (ir - gb) * NN__MR * kc; ars = 1; acs = NN__MR;
                    } else if (ir == nq - 1 && hl < NN__MR) {
                        if (a_slice != pc) { nn__pack_a(my_a, ap, rs, cs, kc, hl); a_slice = pc; } /* once per k-slice */
                        ap = my_a; ars = 1; acs = NN__MR;
                    }
                    if (own) { bp = my_b; bs = NN__NR; }
                    else if (pack) { bp = Bp + jr * kc * NN__NR; bs = NN__NR; }
                    else if (w == NN__NR) { bp = B + pc * ldb + jc + jr * NN__NR; bs = ldb; }
                    else {
                        if (b_slice != pc) { nn__pack_b(my_b, 0, B, ldb, pc, jc + jr * NN__NR, kc, w, 0, 1); b_slice = pc; }
                        bp = my_b; bs = NN__NR;
                    }
                    nn__ukernel(kc, ap, ars, acs, bp, bs, C + ir * NN__MR * ldc + jc + jr * NN__NR, ldc,
                                ir == nq - 1 ? hl : NN__MR, w, alpha, be, bi ? bi + jr * NN__NR : NULL);
                    if (relu && pc + kc == K) { /* from the finished tile, while this core has it in L1 */
                        int64_t r, o;
                        for (r = 0; r < (ir == nq - 1 ? hl : NN__MR); r++) {
                            o = (ir * NN__MR + r) * ldc + jc + jr * NN__NR;
                            nn__relu_range(relu + o, C + o, w);
                        }
                    }
                }
#if NN__OMP
                if (!own) {
#pragma omp barrier /* the next slice repacks B */
                }
#endif
            }
        }
    }
}

/* Threads worth using for a product of this size: none below the threshold, and no more
   than there are tiles to share. */
NN__PRIVATE int nn__gemm_threads(int64_t M, int64_t N, int64_t K) {
#if NN__OMP
    const int64_t tiles = ((M + NN__MR - 1) / NN__MR) * ((N + NN__NR - 1) / NN__NR);
    int nth = omp_get_max_threads() < NN__GEMM_MAXT ? omp_get_max_threads() : NN__GEMM_MAXT;
    if (M * N * K < 4 * NN_OMP_MIN_WORK || omp_in_parallel()) return 1;
    if (tiles < nth) nth = (int)tiles;
    return nth < 1 ? 1 : nth;
#else
    (void)M; (void)N; (void)K;
    return 1;
#endif
}

NNDEF int64_t nn_gemm_workspace_floats(void) { return NN__GEMM_WS; }

/* A GEMM with cap floats of workspace: fewer threads, or the unpacked loops, where the
   packed path would need more (the model plans cap with nn__gemm_plan for the thread count of
   compile time; a later nn_set_threads can only cost speed, never overrun). */
NN__PRIVATE void nn__gemm_cap(int ta, int tb, int64_t M, int64_t N, int64_t K, float alpha, const float *A, int64_t lda,
                              const float *B, int64_t ldb, float beta, float *C, int64_t ldc, const float *bias,
                              float *relu, float *ws, int64_t cap) {
    int nth;
    NN_ASSERT(M >= 0 && N >= 0 && K >= 0 && C);
    NN_ASSERT(lda >= (ta ? M : K) && ldb >= (tb ? K : N) && ldc >= N);
    if (M == 0 || N == 0) return;
    nth = ws && !nn__gemm_is_simple(ta, tb, M, N, K) ? nn__gemm_threads(M, N, K) : 0;
    while (nth > 1 && nn__gemm_packed_ws(tb, M, N, K, ldb, nth, 0) > cap) nth--;
    if (nth == 0 || nn__gemm_packed_ws(tb, M, N, K, ldb, nth, 0) > cap)
        nn__gemm_simple(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, bias, relu);
    else /* A packed where it pays and the workspace has room: the same results either way */
        nn__gemm_packed(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, bias, relu, ws, nth,
                        nn__gemm_packs_a(ta, M, nth) && nn__gemm_packed_ws(tb, M, N, K, ldb, nth, 1) <= cap);
}

NNDEF void nn_gemm_ws(int ta, int tb, int64_t M, int64_t N, int64_t K, float alpha,
                      const float *A, int64_t lda, const float *B, int64_t ldb,
                      float beta, float *C, int64_t ldc, const float *bias, float *ws) {
    nn__gemm_cap(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, bias, NULL, ws, NN__GEMM_WS);
}

NNDEF void nn_gemm(int ta, int tb, int64_t M, int64_t N, int64_t K, float alpha,
                   const float *A, int64_t lda, const float *B, int64_t ldb,
                   float beta, float *C, int64_t ldc) {
    float *ws = NULL;
    int64_t need = 0;
#ifndef NN_NO_MALLOC /* this call's workspace, as the model planner sizes it (not the largest any call needs) */
    need = nn__gemm_plan(ta, tb, M, N, K, ldb, nn_get_threads());
    if (need > 0) ws = (float *)malloc(sizeof(float) * (size_t)need);
#endif
    nn__gemm_cap(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, NULL, NULL, ws, ws ? need : 0);
#ifndef NN_NO_MALLOC
    free(ws);
#endif
}

/* GELU's erf and e^x written without calls, branches or float-to-int conversions, so that their
   loops vectorize (libm's erff is a call per element: 20 ns, against 0.4 here). erf: a rational
   approximation on [-4, 4] (erf is +-1 in float outside), within 4.3e-7 of erf; e^x for
   x <= 0: Cody-Waite reduction by ln 2 (rounded in the mantissa of x log2(e) + 1.5 * 2^23),
   a degree-6 polynomial, 2^k from the exponent bits: relative error below 1e-7. */
NN__PRIVATE NN__INLINE float nn__erf(float a) {
    const float x = a > 4.0f ? 4.0f : a < -4.0f ? -4.0f : a, x2 = x * x;
    float p = -2.72614225801306e-10f, q = -1.45660718464996e-05f;
    p = p * x2 + 2.77068142495902e-08f; p = p * x2 - 2.10102402082508e-06f; p = p * x2 - 5.69250639462346e-05f;
    p = p * x2 - 7.34990630326855e-04f; p = p * x2 - 2.95459980854025e-03f; p = p * x2 - 1.60960333262415e-02f;
    q = q * x2 - 2.13374055278905e-04f; q = q * x2 - 1.68282697438203e-03f; q = q * x2 - 7.37332916720468e-03f;
    q = q * x2 - 1.42647390514189e-02f;
    return x * p / q;
}
NN__PRIVATE NN__INLINE float nn__exp_neg(float x) {
    union { uint32_t i; float f; } k2, r2;
    float k, r, p;
    x = x > -87.0f ? (x < 0.0f ? x : 0.0f) : -87.0f; /* (NaN too: the callers' other factor keeps it NaN) */
    r2.f = x * 1.44269504f + 12582912.0f;
    k = r2.f - 12582912.0f;
    r = x - k * 0.693359375f + k * 2.12194440e-4f;
    p = 1.9875691500e-4f; p = p * r + 1.3981999507e-3f; p = p * r + 8.3334519073e-3f; p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f; p = p * r + 5.0000001201e-1f; p = p * r * r + r + 1.0f;
    k2.i = (r2.i - 0x4B400000u + 127u) << 23; /* 2^k: k + 127 (1..127) in the exponent field */
    return p * k2.f;
}

/* nn__erf and nn__exp_neg 8 lanes at a time on AVX2, the same operations in the same order (the
   same bits as the scalar code built without FMA contraction, as -std=c99 builds): GCC -O2 leaves
   their clamps' loops scalar there (a compare under a condition may trap; AVX-512's masks let
   it vectorize them), which made GELU a fifth of a GPT step. min/max operands ordered so NaN goes
   where the scalar ternaries send it. */
#if defined(__AVX2__) && !defined(__AVX512F__) && !defined(NN_NO_SIMD)
#define NN__ACT8 1
#define NN__M8(a, b) _mm256_mul_ps(a, b)
#define NN__A8(a, b) _mm256_add_ps(a, b)
#define NN__C8(c) _mm256_set1_ps(c)
NN__PRIVATE NN__INLINE __m256 nn__erf8(__m256 a) {
    const __m256 x = _mm256_max_ps(NN__C8(-4.0f), _mm256_min_ps(NN__C8(4.0f), a)), x2 = NN__M8(x, x);
    __m256 p = NN__C8(-2.72614225801306e-10f), q = NN__C8(-1.45660718464996e-05f);
    p = NN__A8(NN__M8(p, x2), NN__C8(2.77068142495902e-08f)); p = NN__A8(NN__M8(p, x2), NN__C8(-2.10102402082508e-06f));
    p = NN__A8(NN__M8(p, x2), NN__C8(-5.69250639462346e-05f)); p = NN__A8(NN__M8(p, x2), NN__C8(-7.34990630326855e-04f));
    p = NN__A8(NN__M8(p, x2), NN__C8(-2.95459980854025e-03f)); p = NN__A8(NN__M8(p, x2), NN__C8(-1.60960333262415e-02f));
    q = NN__A8(NN__M8(q, x2), NN__C8(-2.13374055278905e-04f)); q = NN__A8(NN__M8(q, x2), NN__C8(-1.68282697438203e-03f));
    q = NN__A8(NN__M8(q, x2), NN__C8(-7.37332916720468e-03f)); q = NN__A8(NN__M8(q, x2), NN__C8(-1.42647390514189e-02f));
    return _mm256_div_ps(NN__M8(x, p), q);
}
NN__PRIVATE NN__INLINE __m256 nn__exp_neg8(__m256 x) {
    __m256 r2, k, r, p;
    __m256i k2;
    x = _mm256_min_ps(_mm256_max_ps(x, NN__C8(-87.0f)), NN__C8(0.0f)); /* (NaN: -87, as the scalar) */
    r2 = NN__A8(NN__M8(x, NN__C8(1.44269504f)), NN__C8(12582912.0f));
    k = _mm256_sub_ps(r2, NN__C8(12582912.0f));
    r = NN__A8(_mm256_sub_ps(x, NN__M8(k, NN__C8(0.693359375f))), NN__M8(k, NN__C8(2.12194440e-4f)));
    p = NN__C8(1.9875691500e-4f); p = NN__A8(NN__M8(p, r), NN__C8(1.3981999507e-3f));
    p = NN__A8(NN__M8(p, r), NN__C8(8.3334519073e-3f)); p = NN__A8(NN__M8(p, r), NN__C8(4.1665795894e-2f));
    p = NN__A8(NN__M8(p, r), NN__C8(1.6666665459e-1f)); p = NN__A8(NN__M8(p, r), NN__C8(5.0000001201e-1f));
    p = NN__A8(NN__A8(NN__M8(NN__M8(p, r), r), r), NN__C8(1.0f));
    k2 = _mm256_slli_epi32(_mm256_add_epi32(_mm256_sub_epi32(_mm256_castps_si256(r2), _mm256_set1_epi32(0x4B400000)),
                                            _mm256_set1_epi32(127)), 23);
    return NN__M8(p, _mm256_castsi256_ps(k2));
}
/* GELU's output and its gradient (dx (+)= dy * GELU'(x)) over [lo, hi) by 8s; returns where it stopped */
NN__PRIVATE int64_t nn__gelu8(float *NN__RESTRICT y, const float *NN__RESTRICT x, int64_t lo, int64_t hi) {
    for (; lo + 8 <= hi; lo += 8) {
        const __m256 v = _mm256_loadu_ps(x + lo);
        _mm256_storeu_ps(y + lo, NN__M8(NN__M8(NN__C8(0.5f), v), NN__A8(NN__C8(1.0f), nn__erf8(NN__M8(v, NN__C8(0.70710678118654752f))))));
    }
    return lo;
}
#ifndef NN_NO_TRAINING
NN__PRIVATE int64_t nn__gelu_bwd8(int acc, float *NN__RESTRICT dx, const float *NN__RESTRICT x, const float *NN__RESTRICT dy,
                                  int64_t lo, int64_t hi) {
    for (; lo + 8 <= hi; lo += 8) {
        const __m256 v = _mm256_loadu_ps(x + lo);
        const __m256 a = NN__M8(NN__C8(0.5f), NN__A8(NN__C8(1.0f), nn__erf8(NN__M8(v, NN__C8(0.70710678118654752f)))));
        const __m256 b = NN__M8(NN__M8(v, NN__C8(0.39894228040143268f)), nn__exp_neg8(NN__M8(NN__M8(NN__C8(-0.5f), v), v)));
        const __m256 g = NN__M8(_mm256_loadu_ps(dy + lo), NN__A8(a, b));
        _mm256_storeu_ps(dx + lo, acc ? NN__A8(_mm256_loadu_ps(dx + lo), g) : g);
    }
    return lo;
}
#endif
/* nn__sigmoid and nn__tanh (below) 8 lanes at a time, the same operations */
NN__PRIVATE NN__INLINE __m256 nn__sigmoid8(__m256 x) {
    const __m256 neg = _mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_LT_OQ), mx = _mm256_xor_ps(x, NN__C8(-0.0f));
    const __m256 e = nn__exp_neg8(_mm256_blendv_ps(mx, x, neg)), s = _mm256_div_ps(NN__C8(1.0f), NN__A8(NN__C8(1.0f), e));
    return _mm256_blendv_ps(s, NN__M8(e, s), neg);
}
NN__PRIVATE NN__INLINE __m256 nn__tanh8(__m256 x) {
    const __m256 neg = _mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_LT_OQ);
    const __m256 e = nn__exp_neg8(_mm256_blendv_ps(NN__M8(NN__C8(-2.0f), x), NN__M8(NN__C8(2.0f), x), neg));
    const __m256 t = _mm256_div_ps(_mm256_sub_ps(NN__C8(1.0f), e), NN__A8(NN__C8(1.0f), e));
    return _mm256_blendv_ps(t, _mm256_xor_ps(t, NN__C8(-0.0f)), neg);
}
/* y[j] = f(a[j] + b[j]) over [lo, hi) by 8s (f: 0 sigmoid, 1 tanh); returns where it stopped */
NN__PRIVATE int64_t nn__gate8(int f, float *y, const float *a, const float *b, int64_t lo, int64_t hi) { /* (y may be a) */
    for (; lo + 8 <= hi; lo += 8) {
        const __m256 v = b ? NN__A8(_mm256_loadu_ps(a + lo), _mm256_loadu_ps(b + lo)) : _mm256_loadu_ps(a + lo);
        _mm256_storeu_ps(y + lo, f ? nn__tanh8(v) : nn__sigmoid8(v));
    }
    return lo;
}
#undef NN__M8
#undef NN__A8
#undef NN__C8
#endif

/* sigmoid and tanh from nn__exp_neg of -|x| (no overflow, no calls): the recurrent layers' gates */
NN__PRIVATE NN__INLINE float nn__sigmoid(float x) {
    const float e = nn__exp_neg(x < 0.0f ? x : -x), s = 1.0f / (1.0f + e);
    return x < 0.0f ? e * s : s;
}
NN__PRIVATE NN__INLINE float nn__tanh(float x) {
    const float e = nn__exp_neg(x < 0.0f ? 2.0f * x : -2.0f * x), t = (1.0f - e) / (1.0f + e);
    return x < 0.0f ? -t : t;
}

NN__PRIVATE NN__NOINLINE void nn__act_fwd_range(nn_act kind, float alpha, float *NN__RESTRICT y,
                                                const float *NN__RESTRICT x, int64_t lo, int64_t hi) {
    switch (kind) {
    case NN_ACT_RELU: nn__relu_range(y + lo, x + lo, hi - lo); break;
    case NN_ACT_LEAKY_RELU: NN__VLOOP(i, lo, hi, y[i] = x[i] > 0.0f ? x[i] : alpha * x[i];); break;
    case NN_ACT_SIGMOID: NN__VLOOP(i, lo, hi, y[i] = 1.0f / (1.0f + expf(-x[i]));); break;
    case NN_ACT_TANH: NN__VLOOP(i, lo, hi, y[i] = tanhf(x[i]);); break;
    case NN_ACT_GELU:
#ifdef NN__ACT8
        lo = nn__gelu8(y, x, lo, hi);
#endif
        NN__VLOOP(i, lo, hi, y[i] = 0.5f * x[i] * (1.0f + nn__erf(x[i] * 0.70710678118654752f)););
        break;
    default: NN_ASSERT(!"nn_act_forward: unknown activation");
    }
}

#ifndef NN_NO_TRAINING
/* dx (+)= the gradient; dy is read on every lane (a load under the condition would keep the
   ReLU loops scalar) */
#define NN__ACT_BWD(acc, g) do { \
    if (acc) NN__VLOOP(i, lo, hi, const float gi = dy[i]; dx[i] += (g);); \
    else NN__VLOOP(i, lo, hi, const float gi = dy[i]; dx[i] = (g);); \
} while (0)
NN__PRIVATE NN__NOINLINE void nn__act_bwd_range(int acc, nn_act kind, float alpha, float *NN__RESTRICT dx,
                                                const float *NN__RESTRICT x, const float *NN__RESTRICT y,
                                                const float *NN__RESTRICT dy, int64_t lo, int64_t hi) {
    switch (kind) {
    case NN_ACT_RELU: NN__ACT_BWD(acc, x[i] > 0.0f ? gi : 0.0f); break;
    case NN_ACT_LEAKY_RELU: NN__ACT_BWD(acc, x[i] > 0.0f ? gi : alpha * gi); break;
    case NN_ACT_SIGMOID: NN__ACT_BWD(acc, gi * y[i] * (1.0f - y[i])); break;
    case NN_ACT_TANH: NN__ACT_BWD(acc, gi * (1.0f - y[i] * y[i])); break;
    case NN_ACT_GELU: /* d/dx x*Phi(x) = Phi(x) + x*phi(x) */
#ifdef NN__ACT8
        lo = nn__gelu_bwd8(acc, dx, x, dy, lo, hi);
#endif
        NN__ACT_BWD(acc, gi * (0.5f * (1.0f + nn__erf(x[i] * 0.70710678118654752f)) +
                               x[i] * 0.39894228040143268f * nn__exp_neg(-0.5f * x[i] * x[i])));
        break;
    default: NN_ASSERT(!"nn_act_backward: unknown activation");
    }
}
#undef NN__ACT_BWD
#endif /* NN_NO_TRAINING */

/* transcendental activations cost ~10x a max: they go parallel on smaller arrays */
NN__PRIVATE int64_t nn__act_cost(nn_act kind) { return kind == NN_ACT_RELU || kind == NN_ACT_LEAKY_RELU ? 1 : 8; }

NNDEF void nn_act_forward(nn_act kind, float alpha, float *y, const float *x, int64_t n) {
    NN__SPLIT(n * nn__act_cost(kind) >= 4 * NN_OMP_MIN_WORK, n, lo, hi, nn__act_fwd_range(kind, alpha, y, x, lo, hi));
}

#ifndef NN_NO_TRAINING
NN__PRIVATE void nn__act_backward(int acc, nn_act kind, float alpha, float *dx, const float *x, const float *y,
                                  const float *dy, int64_t n) {
    NN__SPLIT(n * nn__act_cost(kind) >= 4 * NN_OMP_MIN_WORK, n, lo, hi,
              nn__act_bwd_range(acc, kind, alpha, dx, x, y, dy, lo, hi));
}
NNDEF void nn_act_backward(nn_act kind, float alpha, float *dx, const float *x, const float *y,
                           const float *dy, int64_t n) {
    nn__act_backward(1, kind, alpha, dx, x, y, dy, n);
}
#endif /* NN_NO_TRAINING */

#ifndef NN_NO_TRAINING
/* the sum of x[0..n): sixteen running sums with AVX-512 (a fixed order either way) */
NN__PRIVATE float nn__sum(const float *x, int64_t n) {
    float s = 0.0f;
    int64_t i = 0;
#if defined(__AVX512F__) && !defined(NN_NO_SIMD)
    __m512 v = _mm512_setzero_ps();
    for (; i + 16 <= n; i += 16) v = _mm512_add_ps(v, _mm512_loadu_ps(x + i));
    s = _mm512_reduce_add_ps(v);
#endif
    for (; i < n; i++) s += x[i];
    return s;
}
#endif /* NN_NO_TRAINING */
/* dst = src */
NN__PRIVATE NN__NOINLINE void nn__copy_range(float *NN__RESTRICT dst, const float *NN__RESTRICT src, int64_t lo, int64_t hi) {
#if defined(__AVX512F__) && !defined(NN_NO_SIMD) /* (GCC turns the loop below into a memcpy call) */
    for (; lo + 16 <= hi; lo += 16) _mm512_storeu_ps(dst + lo, _mm512_loadu_ps(src + lo));
    if (lo < hi) {
        const __mmask16 k = (__mmask16)((1u << (hi - lo)) - 1u);
        _mm512_mask_storeu_ps(dst + lo, k, _mm512_maskz_loadu_ps(k, src + lo));
    }
#else
    NN__VLOOP(i, lo, hi, dst[i] = src[i];);
#endif
}
/* dst += src */
NN__PRIVATE NN__NOINLINE void nn__add_range(float *NN__RESTRICT dst, const float *NN__RESTRICT src, int64_t lo, int64_t hi) {
    NN__VLOOP(i, lo, hi, dst[i] += src[i];);
}
NN__PRIVATE void nn__add_into(float *dst, const float *src, int64_t n) {
    NN__SPLIT(n >= 4 * NN_OMP_MIN_WORK, n, lo, hi, nn__add_range(dst, src, lo, hi));
}
/* dst[lo..hi) = 0 with vector stores: glibc's memset takes "rep stosb" from 2 KB, which on
   this AMD host waits out one line at a time when the lines sit in the other core's cache */
NN__PRIVATE NN__NOINLINE void nn__zero_range(float *dst, int64_t lo, int64_t hi) {
#if defined(__AVX512F__) && !defined(NN_NO_SIMD)
    const __m512 z = _mm512_setzero_ps();
    for (; lo + 16 <= hi; lo += 16) _mm512_storeu_ps(dst + lo, z);
    if (lo < hi) _mm512_mask_storeu_ps(dst + lo, (__mmask16)((1u << (hi - lo)) - 1u), z);
#else
    if (hi > lo) memset(dst + lo, 0, sizeof(float) * (size_t)(hi - lo));
#endif
}

/* one row (shared with nn_cuda.h's kernels): y = softmax(x); dx += y * (dy - sum(dy * y)) */
static NN_HD inline void nn__softmax_row(float *y, const float *x, int64_t C) {
    float mx = x[0], s = 0.0f;
    int64_t j;
    for (j = 1; j < C; j++) mx = x[j] > mx ? x[j] : mx;
    for (j = 0; j < C; j++) { y[j] = expf(x[j] - mx); s += y[j]; }
    for (j = 0; j < C; j++) y[j] /= s;
}
static NN_HD inline void nn__softmax_row_backward(float *dx, const float *y, const float *dy, int64_t C) {
    float s = 0.0f;
    int64_t j;
    for (j = 0; j < C; j++) s += dy[j] * y[j];
    for (j = 0; j < C; j++) dx[j] += y[j] * (dy[j] - s);
}

NN__PRIVATE void nn__softmax_rows(float *y, const float *x, int64_t B, int64_t C) {
    int64_t i;
    if (B * C >= NN_OMP_MIN_WORK / 8) {
        NN__OMP_FOR_IF(1)
        for (i = 0; i < B; i++) nn__softmax_row(y + i * C, x + i * C, C);
    } else
        for (i = 0; i < B; i++) nn__softmax_row(y + i * C, x + i * C, C);
}

/* Host-and-device helpers (nn_cuda.h's kernels call these too, so that the CPU and the GPU
   run the same formulas). */
static NN_HD inline int64_t nn__argmax(const float *x, int64_t n) {
    int64_t i, best = 0;
    for (i = 1; i < n; i++) if (x[i] > x[best]) best = i;
    return best;
}

NNDEF int64_t nn_argmax(const float *x, int64_t n) { return nn__argmax(x, n); }

/* One row x (C) of a loss over a batch of B: its sum (the caller divides) and, when d is not
   NULL, its gradient. label points at the row's class (XENT, HINGE; XENT uses t when label is
   NULL), t at its targets. */
static NN_HD inline double nn__loss_row(nn_loss loss, const float *x, const int32_t *label, const float *t, int64_t B,
                                        int64_t C, float *d) {
    double total = 0.0;
    int64_t j;
    switch (loss) {
    case NN_LOSS_MSE: {
        const float scale = 2.0f / (float)(B * C);
        for (j = 0; j < C; j++) {
            const float e = x[j] - t[j];
            total += (double)e * e;
            if (d) d[j] = scale * e;
        }
        break;
    }
    case NN_LOSS_XENT: {
        /* log-softmax with the max subtracted: stable for any logits; the gradient's softmax
           reuses the exponentials (kept in d) */
        float mx = x[0], s = 0.0f, lse, r;
        for (j = 1; j < C; j++) mx = x[j] > mx ? x[j] : mx;
        if (d) for (j = 0; j < C; j++) { d[j] = expf(x[j] - mx); s += d[j]; }
        else for (j = 0; j < C; j++) s += expf(x[j] - mx);
        lse = mx + logf(s);
        r = 1.0f / s;
        if (label) {
            total += (double)(lse - x[*label]);
            if (d) {
                for (j = 0; j < C; j++) d[j] = d[j] * r / (float)B;
                d[*label] -= 1.0f / (float)B;
            }
        } else {
            float tsum = 0.0f;
            for (j = 0; j < C; j++) { total -= (double)t[j] * (x[j] - lse); tsum += t[j]; }
            if (d) for (j = 0; j < C; j++) d[j] = (d[j] * r * tsum - t[j]) / (float)B;
        }
        break;
    }
    case NN_LOSS_BCE: {
        /* max(x,0) - x*t + log(1 + exp(-|x|)): no overflow for large |x| */
        const float scale = 1.0f / (float)(B * C);
        for (j = 0; j < C; j++) {
            const float v = x[j];
            total += (double)((v > 0.0f ? v : 0.0f) - v * t[j] + log1pf(expf(-fabsf(v))));
            if (d) d[j] = scale * (1.0f / (1.0f + expf(-v)) - t[j]);
        }
        break;
    }
    case NN_LOSS_HINGE: {
        const int32_t y = *label;
        const float scale = 1.0f / (float)(B * C);
        if (d) for (j = 0; j < C; j++) d[j] = 0.0f;
        for (j = 0; j < C; j++) {
            float margin;
            if (j == y) continue;
            margin = 1.0f - x[y] + x[j];
            if (margin > 0.0f) {
                total += (double)margin / (double)C;
                if (d) { d[j] += scale; d[y] -= scale; }
            }
        }
        break;
    }
    }
    return total;
}

/* Correct predictions in row x (C): BCE with targets judges each element's sign against
   target > 0.5; otherwise the argmax against the label, or against the one-hot target (XENT) */
static NN_HD inline int64_t nn__correct_row(nn_loss loss, const float *x, const int32_t *label, const float *t, int64_t C) {
    int64_t j, n = 0;
    if (loss == NN_LOSS_BCE && t) {
        for (j = 0; j < C; j++) n += (x[j] > 0.0f) == (t[j] > 0.5f);
        return n;
    }
    if (label) return nn__argmax(x, C) == *label;
    return t && loss == NN_LOSS_XENT && nn__argmax(x, C) == nn__argmax(t, C);
}

NNDEF float nn_loss_compute(nn_loss loss, const float *out, const int32_t *labels,
                            const float *targets, int64_t B, int64_t C, float *dout) {
    double total = 0.0;
    int64_t i;
    NN_ASSERT(out && B > 0 && C > 0);
    NN_ASSERT(loss >= NN_LOSS_MSE && loss <= NN_LOSS_HINGE);
    for (i = 0; i < B; i++) {
        NN_ASSERT((loss == NN_LOSS_XENT && (labels || targets)) || (loss == NN_LOSS_HINGE ? labels != NULL : targets != NULL));
        NN_ASSERT(!labels || (labels[i] >= 0 && labels[i] < C));
        total += nn__loss_row(loss, out + i * C, labels ? labels + i : NULL, targets ? targets + i * C : NULL, B, C,
                              dout ? dout + i * C : NULL);
    }
    if (loss == NN_LOSS_MSE || loss == NN_LOSS_BCE) return (float)(total / (double)(B * C));
    return (float)(total / (double)B);
}

/* >>kernels-conv: convolution, pooling, batch normalization (NCHW)
   Legend: N batch, C/OC in/out channels, G groups (Cg = C/G, OCg = OC/G), H,W input size,
   OH,OW output size, P = OH*OW, Kg = Cg*KH*KW (the im2col rows of one group).
   Convolution is im2col + GEMM over chunks of images: the columns of several images side by
   side make one large GEMM per chunk and group (W_g (OCg x Kg) . col (Kg x n*P)); depthwise
   convolution (G == C) runs direct loops. The weight gradient accumulates over chunks in
   order, and the chunk size depends on the geometry only, so it does not depend on the
   thread count. */
/* The output gradient given as a 2x2 max pooling's (N, OC, OH/2, OW/2) gradient g and record idx
   (nn__pool2x2_forward's): a convolution whose output only a ReLU fused into that pooling reads
   rebuilds each image's planes in its slot as it needs them (the CNN's first layer: 6.4 MB less
   written and read back per step) */
typedef struct nn__unpool {
    const nn_pool2d_desc *d;
    const uint8_t *idx;
    const float *g;
} nn__unpool;
#ifndef NN_NO_TRAINING
#if defined(NN__V16)
NN__PRIVATE void nn__pool2x2_unpool(const nn_pool2d_desc *d, int64_t n, float *dx, const uint8_t *idx, const float *g);
#endif
#endif

/* >>kernels-conv-plan: geometry, which method a layer takes, workspace, chunks and slots */
NNDEF nn_result nn_conv2d_desc_init(nn_conv2d_desc *d) {
    int64_t eh, ew;
    if (d->C < 1 || d->H < 1 || d->W < 1 || d->OC < 1 || d->KH < 1 || d->KW < 1 || d->SH < 1 || d->SW < 1 ||
        d->PH < 0 || d->PW < 0 || d->DH < 1 || d->DW < 1 || d->G < 1)
        return nn__fail(NN_ERR_INVALID_ARG, "conv2d: sizes, strides and dilations must be >= 1, padding >= 0");
    if (d->C % d->G || d->OC % d->G)
        return nn__fail(NN_ERR_SHAPE, "conv2d: %l input and %l output channels are not divisible by %l groups", d->C, d->OC, d->G);
    eh = d->DH * (d->KH - 1) + 1;
    ew = d->DW * (d->KW - 1) + 1;
    if (d->H + 2 * d->PH < eh || d->W + 2 * d->PW < ew)
        return nn__fail(NN_ERR_SHAPE, "conv2d: the %lx%l kernel (dilated) is larger than the padded %lx%l input", eh, ew,
                        d->H + 2 * d->PH, d->W + 2 * d->PW);
    d->OH = (d->H + 2 * d->PH - eh) / d->SH + 1;
    d->OW = (d->W + 2 * d->PW - ew) / d->SW + 1;
    d->T = nn_get_threads();
    return NN_OK;
}

NN__PRIVATE int nn__conv_is_depthwise(const nn_conv2d_desc *d) { return d->G > 1 && d->G == d->C; }

/* Images per im2col chunk of the forward and input-gradient passes: about 2^14 floats of
   columns, so that they stay in L2 (2^20 measured 1.5-2x slower). Fixed by the geometry alone,
   so that sums do not depend on the batch split or the thread count; at least one image. */
NN__PRIVATE int64_t nn__conv_chunk(const nn_conv2d_desc *d, int64_t N) {
    const int64_t cols = (d->C / d->G) * d->KH * d->KW * d->OH * d->OW, c = ((int64_t)1 << 14) / (cols ? cols : 1);
    /* no more than the batch: a small batch (batch-1 inference) needs a small slot; images
       are independent in these GEMMs, so the chunking does not change any result */
    return c < 1 ? 1 : c > N && N >= 1 ? N : c;
}

/* Per thread: columns (Kg x chunk*P), the chunk's output or output gradient in GEMM layout
   (OCg x chunk*P) and a single-threaded GEMM's edge buffers; then one shared multi-threaded
   GEMM workspace for the weight gradient. */
#ifdef NN__V16
#define NN__CONV_DIRECT 1
/* 5x5 kernels with a multiple of 16 output channels take their weight gradient with the
   output channels in the vector lanes (nn__conv_direct_dw_lanes) */
NN__PRIVATE int nn__conv_dw_lanes(const nn_conv2d_desc *d) { return d->KH == 5 && d->KW == 5 && d->OC % 16 == 0; }
#define NN__DW_GROUP 32 /* input channels per item of that kernel at most: their sums in the slot */
/* Output channels in the vector lanes where they fill them and rows of outputs leave a quarter
   or more of the lanes idle (nn__conv_lanes_px): LeNet-5's second layer, 16 channels of 10-wide
   rows, used 10 of 16 lanes (its forward is a fifth faster this way). Not for fuller rows: the
   outputs' transposition costs more than it saves (the CNN's 28-wide first layer is a sixth slower). */
NN__PRIVATE int nn__conv_lanes(int64_t oc, int64_t ow) {
    const int64_t r = (ow + 15) / 16 * 16;
    return oc % 16 == 0 && 4 * (r - ow) >= r;
}
/* Stride-1 convolutions without dilation or groups run directly, without im2col: sixteen
   output columns by eight output channels in registers, over zero-padded copies of one
   image's planes (rows padded to a multiple of 16 plus the kernel width). The input gradient
   is the same kernel over the padded output gradient with the weights flipped and transposed. */
NN__PRIVATE int nn__conv_direct_geometry(const nn_conv2d_desc *d) {
    return d->SH == 1 && d->SW == 1 && d->DH == 1 && d->DW == 1 && d->G == 1 && d->PH < d->KH && d->PW < d->KW;
}
/* The weight gradient runs direct where im2col's GEMM is small in one dimension (few input
   taps or few output channels), or where it has its lanes kernel: the CNN's 32-to-64-channel
   5x5 layer runs all three passes a fifth to a third faster direct than im2col + GEMM.
   Elsewhere (3x3 layers of 64 channels and more) the direct weight gradient measured 2-3x
   slower than the GEMM. */
NN__PRIVATE int nn__conv_direct_dw_ok(const nn_conv2d_desc *d) {
    return nn__conv_direct_geometry(d) && (d->C * d->KH * d->KW <= 256 || d->OC <= 16 || nn__conv_dw_lanes(d));
}
/* Forward and input gradient run direct also where rows fill the lanes (the row kernel) and the
   kernel is more than 1x1: 3x3 layers of 64-128 channels on 16-56 wide images measured 20-40%
   faster direct (batch 64, 2 threads), while 256-512 channels on 7-8 wide rows (the lanes kernel) and 1x1
   layers of 256 channels measured the same or slower. Their weight gradient keeps the GEMM. */
NN__PRIVATE int nn__conv_is_direct(const nn_conv2d_desc *d) {
    return nn__conv_direct_dw_ok(d) || (nn__conv_direct_geometry(d) && d->KH * d->KW > 1 &&
                                        !nn__conv_lanes(d->OC, d->OW) && !nn__conv_lanes(d->C, d->W));
}
/* padded rows: the output width rounded up to 16, plus the kernel width */
NN__PRIVATE int64_t nn__conv_direct_row(int64_t out_w, int64_t kw) { return (out_w + 15) / 16 * 16 + kw - 1; }
/* one image's padded input planes (the forward pass, the weight gradient) */
NN__PRIVATE int64_t nn__conv_direct_plane(const nn_conv2d_desc *d) {
    return d->C * (d->H + 2 * d->PH) * nn__conv_direct_row(d->OW, d->KW);
}
/* floats of one thread's buffers: the forward's padded input planes, the input gradient's
   padded output-gradient planes and flipped weights, or the weight gradient's sums (the lanes
   kernel's: its transposed output gradients, sums, and the planes it rebuilds from a pooling) */
NN__PRIVATE int64_t nn__conv_direct_ws(const nn_conv2d_desc *d) {
    const int64_t CKK = d->C * d->OC * d->KH * d->KW;
    const int64_t p16 = nn__conv_dw_lanes(d) ? 64 * d->OH * d->OW + NN__DW_GROUP * 25 * 32 : 0;
    /* after the planes: the lanes kernel's weights, outputs and their pooling's room
       (nn__conv_pool_forward), or the row kernel's tile there */
    const int64_t fwd = nn__conv_direct_plane(d) + (nn__conv_lanes(d->OC, d->OW) ?
                        CKK + 16 * d->OH * d->OW + 2 * (d->OH / 2 * (d->OW / 2) + 8) * 16 : d->OC * 2 * d->OW);
    const int64_t dws = d->KH * d->KW * 128 > p16 ? d->KH * d->KW * 128 : p16; /* the weight gradient's */
    const int64_t bwd = d->OC * (d->H + d->KH - 1) * nn__conv_direct_row(d->W, d->KW) + CKK +
                        (nn__conv_lanes(d->C, d->W) ? CKK + 16 * d->H * d->W : 0);
    const int64_t most = fwd > bwd ? fwd : bwd;
    return ((most > dws ? most : dws) + 15) / 16 * 16;
}
/* Winograd F(2x2, 5x5) for a 5x5 stride-1 pass whose channel counts fill the vector lanes, with
   32 or more output channels: 36 products per 2x2 outputs and channel pair instead of 100, the
   channels in the lanes of every transform, per transform point one small GEMM (tiles x C) .
   (C x OC) (nn__wino_forward). Batch 64, 2 threads, against the direct kernels: 1.2-2x faster
   from 16->32 channels up; 16->16
   channels equal on 60x60, 1.7x slower on 8x8, and 32->16 equal: those stay direct. The input
   gradient is such a pass with the channels swapped (nn__wino_dx_desc). */
NN__PRIVATE int nn__conv_wino(const nn_conv2d_desc *d) {
    return d->KH == 5 && d->KW == 5 && nn__conv_direct_geometry(d) && d->C % 16 == 0 && d->OC % 16 == 0 && d->OC >= 32 &&
           d->C < ((int64_t)1 << 24); /* (the weight transform gathers with 32-bit offsets) */
}
#define NN__WINO_TB 14   /* tiles per block: two rows of the GEMM's register tile */
/* the input gradient as a Winograd forward pass: dy padded by 4 - P, channels swapped */
NN__PRIVATE nn_conv2d_desc nn__wino_dx_desc(const nn_conv2d_desc *d) {
    nn_conv2d_desc t = *d;
    t.C = d->OC; t.OC = d->C; t.H = d->OH; t.W = d->OW; t.OH = d->H; t.OW = d->W; t.PH = 4 - d->PH; t.PW = 4 - d->PW;
    return t;
}
/* one thread's floats for a forward pass: the image's padded input (pixels, C), a block's
   transformed inputs (36, TB, C) and products (36, TB, OC), the image's output tiles (pixels, OC)
   and 8 pixels more (its transposition reads past the last row) */
NN__PRIVATE int64_t nn__wino_slot1(const nn_conv2d_desc *d) {
    const int64_t th = (d->OH + 1) / 2, tw = (d->OW + 1) / 2;
    return ((2 * th + 4) * (2 * tw + 4) * d->C + 36 * NN__WINO_TB * (d->C + d->OC) + (4 * th * tw + 8) * d->OC + 15) / 16 * 16;
}
/* the forward pass or the input gradient by Winograd */
NN__PRIVATE int nn__conv_wino_any(const nn_conv2d_desc *d) {
    const nn_conv2d_desc t = nn__wino_dx_desc(d);
    return nn__conv_wino(d) || nn__conv_wino(&t);
}
/* a slot for either pass (the other, if direct, has its buffers in nn__conv_direct_ws) */
NN__PRIVATE int64_t nn__wino_slot(const nn_conv2d_desc *d) {
    const nn_conv2d_desc t = nn__wino_dx_desc(d);
    const int64_t a = nn__wino_slot1(d), b = nn__wino_slot1(&t);
    return a > b ? a : b;
}
#endif

NN__PRIVATE int64_t nn__conv_slot(const nn_conv2d_desc *d, int64_t N) {
    const int64_t kg = (d->C / d->G) * d->KH * d->KW, ocg = d->OC / d->G, cp = nn__conv_chunk(d, N) * d->OH * d->OW;
    const int64_t fwd = nn__gemm_packed_ws(0, ocg, cp, kg, cp, 1, 0), bwd = nn__gemm_packed_ws(0, kg, cp, ocg, cp, 1, 0);
#ifdef NN__CONV_DIRECT
    if (nn__conv_wino_any(d)) { /* its weight gradient (and maybe one other pass) is direct */
        const int64_t a = nn__wino_slot(d), b = nn__conv_direct_ws(d);
        return a > b ? a : b;
    }
    if (nn__conv_is_direct(d)) return nn__conv_direct_ws(d);
#endif
    return ((kg + ocg) * cp + (fwd > bwd ? fwd : bwd) + 15) / 16 * 16;
}

/* Images per chunk of the weight-gradient loop: that GEMM reduces over the chunk's pixels, so
   it takes larger chunks (about 2^17 floats of columns), again fixed by the geometry alone. */
NN__PRIVATE int64_t nn__conv_chunk_dw(const nn_conv2d_desc *d, int64_t N) {
    const int64_t cols = (d->C / d->G) * d->KH * d->KW * d->OH * d->OW, c = ((int64_t)1 << 17) / (cols ? cols : 1);
    /* a batch within one chunk is one chunk whatever the cap: capping changes no result */
    return c < 1 ? 1 : c > N && N >= 1 ? N : c;
}

/* the weight gradient's GEMM (ocg, kg) over up to a dW chunk of pixels, threaded */
NN__PRIVATE int64_t nn__conv_dw_gemm_ws(const nn_conv2d_desc *d, int64_t nmax) {
    const int64_t kg = (d->C / d->G) * d->KH * d->KW, ocg = d->OC / d->G, ld = nn__conv_chunk_dw(d, nmax) * d->OH * d->OW;
    return nn__gemm_plan(0, 1, ocg, kg, ld, ld, d->T > 0 ? (int)d->T : 1);
}
#ifdef NN__CONV_DIRECT
/* the weight gradient of a direct convolution: images per chunk of padded planes (about 2^17
   floats, fixed by the geometry) */
NN__PRIVATE int64_t nn__conv_direct_chunk(const nn_conv2d_desc *d, int64_t N) {
    const int64_t c = ((int64_t)1 << 17) / nn__conv_direct_plane(d);
    return c < 1 ? 1 : c > N && N >= 1 ? N : c;
}
#endif

/* forward only (an inference model), or forward and backward */
NN__PRIVATE int64_t nn__conv_workspace(const nn_conv2d_desc *d, int backward, int64_t nmax) {
    const int64_t kg = (d->C / d->G) * d->KH * d->KW, ocg = d->OC / d->G;
    if (nn__conv_is_depthwise(d)) return 0;
#ifdef NN__CONV_DIRECT
    if (nn__conv_direct_dw_ok(d)) { /* after the slots: the weight gradient's padded planes, or the
                                       Winograd passes' transformed weights */
        const int64_t planes = backward ? nn__conv_direct_chunk(d, nmax) * nn__conv_direct_plane(d) : 0;
        const int64_t u = nn__conv_wino_any(d) ? 36 * d->C * d->OC : 0;
        return (d->T > 0 ? d->T : 1) * nn__conv_slot(d, nmax) + (planes > u ? planes : u);
    }
#endif
    return (d->T > 0 ? d->T : 1) * nn__conv_slot(d, nmax) +
           (backward ? (kg + ocg) * nn__conv_chunk_dw(d, nmax) * d->OH * d->OW + nn__conv_dw_gemm_ws(d, nmax) : 0);
}
NNDEF int64_t nn_conv2d_workspace_floats(const nn_conv2d_desc *d) { return nn__conv_workspace(d, 1, 0); }

/* >>kernels-conv-im2col: im2col / col2im around the GEMM (the general method) */
/* col (Kg, ld): the columns of images n0 .. n0+cn-1 of group g side by side, image j at
   column offset j*P. Parallel over (image, row) pairs. */
NN__PRIVATE void nn__im2col(const nn_conv2d_desc *d, const float *x, int64_t g, int64_t n0, int64_t cn, float *col,
                            int64_t ld) {
    const int64_t cg = d->C / d->G, rows = cg * d->KH * d->KW, P = d->OH * d->OW;
    int64_t t;
    NN__OMP_FOR_IF(cn * rows * P >= 2 * NN_OMP_MIN_WORK)
    for (t = 0; t < cn * rows; t++) {
        const int64_t j = t / rows, r = t % rows;
        const int64_t c = r / (d->KH * d->KW), i = r / d->KW % d->KH, k = r % d->KW;
        const float *xc = x + ((n0 + j) * d->C + g * cg + c) * d->H * d->W;
        float *dst = col + r * ld + j * P;
        int64_t oh, ow;
        for (oh = 0; oh < d->OH; oh++) {
            const int64_t ih = oh * d->SH - d->PH + i * d->DH;
            float *o = dst + oh * d->OW;
            if (ih < 0 || ih >= d->H) { for (ow = 0; ow < d->OW; ow++) o[ow] = 0.0f; continue; }
            if (d->SW == 1) { /* a shifted copy of the input row, zeros where it falls outside */
                const int64_t off = k * d->DW - d->PW;
                const int64_t lo = off < 0 ? -off : 0, hi = d->W - off < d->OW ? d->W - off : d->OW;
                for (ow = 0; ow < lo && ow < d->OW; ow++) o[ow] = 0.0f;
                /* rows are short (tens of floats): a vectorized loop, not a memcpy call */
                if (hi > lo) nn__copy_range(o + lo, xc + ih * d->W + lo + off, 0, hi - lo);
                for (ow = hi > lo ? hi : lo; ow < d->OW; ow++) o[ow] = 0.0f;
                continue;
            }
            for (ow = 0; ow < d->OW; ow++) {
                const int64_t iw = ow * d->SW - d->PW + k * d->DW;
                o[ow] = iw >= 0 && iw < d->W ? xc[ih * d->W + iw] : 0.0f;
            }
        }
    }
}

#ifndef NN_NO_TRAINING
/* dx += col2im(dcol (Kg, ld)) for the images of a chunk; parallel over (image, channel)
   planes, which no two iterations share */
NN__PRIVATE void nn__col2im(const nn_conv2d_desc *d, const float *dcol, int64_t g, int64_t n0, int64_t cn, float *dx,
                            int64_t ld) {
    const int64_t cg = d->C / d->G, P = d->OH * d->OW, kk = d->KH * d->KW;
    int64_t t;
    (void)kk; /* only the OpenMP condition reads it */
    NN__OMP_FOR_IF(cn * cg * kk * P >= 2 * NN_OMP_MIN_WORK)
    for (t = 0; t < cn * cg; t++) {
        const int64_t j = t / cg, c = t % cg;
        float *xc = dx + ((n0 + j) * d->C + g * cg + c) * d->H * d->W;
        int64_t i, k, oh, ow;
        for (i = 0; i < d->KH; i++)
            for (k = 0; k < d->KW; k++) {
                const float *src = dcol + ((c * d->KH + i) * d->KW + k) * ld + j * P;
                for (oh = 0; oh < d->OH; oh++) {
                    const int64_t ih = oh * d->SH - d->PH + i * d->DH;
                    if (ih < 0 || ih >= d->H) continue;
                    if (d->SW == 1) { /* the valid output columns form one range: no test inside */
                        const int64_t off = k * d->DW - d->PW;
                        const int64_t lo = off < 0 ? -off : 0, hi = d->W - off < d->OW ? d->W - off : d->OW;
                        if (hi > lo) nn__add_range(xc + ih * d->W + off + lo, src + oh * d->OW + lo, 0, hi - lo);
                        continue;
                    }
                    for (ow = 0; ow < d->OW; ow++) {
                        const int64_t iw = ow * d->SW - d->PW + k * d->DW;
                        if (iw >= 0 && iw < d->W) xc[ih * d->W + iw] += src[oh * d->OW + ow];
                    }
                }
            }
    }
}
#endif /* NN_NO_TRAINING */

/* >>kernels-conv-depthwise: direct loops for G == C */
/* depthwise: output channel o reads input channel o / (OC / C) */
NN__PRIVATE void nn__dw_forward(const nn_conv2d_desc *d, int64_t N, float *y, const float *x, const float *w, const float *b) {
    const int64_t mult = d->OC / d->C, P = d->OH * d->OW;
    int64_t t;
    NN__OMP_FOR_IF(N * d->OC * P * d->KH * d->KW >= NN_OMP_MIN_WORK)
    for (t = 0; t < N * d->OC; t++) {
        const int64_t n = t / d->OC, o = t % d->OC;
        const float *xc = x + (n * d->C + o / mult) * d->H * d->W, *wo = w + o * d->KH * d->KW;
        float *yo = y + t * P;
        int64_t oh, ow, i, j;
        for (oh = 0; oh < d->OH; oh++)
            for (ow = 0; ow < d->OW; ow++) {
                float s = b ? b[o] : 0.0f;
                for (i = 0; i < d->KH; i++) {
                    const int64_t ih = oh * d->SH - d->PH + i * d->DH;
                    if (ih < 0 || ih >= d->H) continue;
                    for (j = 0; j < d->KW; j++) {
                        const int64_t iw = ow * d->SW - d->PW + j * d->DW;
                        if (iw >= 0 && iw < d->W) s += wo[i * d->KW + j] * xc[ih * d->W + iw];
                    }
                }
                yo[oh * d->OW + ow] = s;
            }
    }
}

#ifndef NN_NO_TRAINING
NN__PRIVATE void nn__dw_backward(const nn_conv2d_desc *d, int64_t N, float *dx, float *dw, float *db,
                                 const float *dy, const float *x, const float *w) {
    const int64_t mult = d->OC / d->C, P = d->OH * d->OW, kk = d->KH * d->KW;
    int64_t o, t;
    /* weight and bias gradients: one output channel per iteration, images in order */
    NN__OMP_FOR_IF(N * d->OC * P * kk >= NN_OMP_MIN_WORK)
    for (o = 0; o < d->OC; o++) {
        float *dwo = dw + o * kk;
        int64_t n, oh, ow, i, j, k;
        float sb = 0.0f;
        for (k = 0; k < kk; k++) dwo[k] = 0.0f;
        for (n = 0; n < N; n++) {
            const float *xc = x + (n * d->C + o / mult) * d->H * d->W, *g = dy + (n * d->OC + o) * P;
            for (oh = 0; oh < d->OH; oh++)
                for (ow = 0; ow < d->OW; ow++) {
                    const float go = g[oh * d->OW + ow];
                    sb += go;
                    for (i = 0; i < d->KH; i++) {
                        const int64_t ih = oh * d->SH - d->PH + i * d->DH;
                        if (ih < 0 || ih >= d->H) continue;
                        for (j = 0; j < d->KW; j++) {
                            const int64_t iw = ow * d->SW - d->PW + j * d->DW;
                            if (iw >= 0 && iw < d->W) dwo[i * d->KW + j] += go * xc[ih * d->W + iw];
                        }
                    }
                }
        }
        if (db) db[o] = sb;
    }
    if (!dx) return;
    /* input gradient: one input plane per iteration, its output channels in order */
    NN__OMP_FOR_IF(N * d->OC * P * kk >= NN_OMP_MIN_WORK)
    for (t = 0; t < N * d->C; t++) {
        const int64_t n = t / d->C, c = t % d->C;
        float *dxc = dx + t * d->H * d->W;
        int64_t q, oh, ow, i, j;
        for (q = 0; q < mult; q++) {
            const int64_t o = c * mult + q;
            const float *g = dy + (n * d->OC + o) * P, *wo = w + o * kk;
            for (oh = 0; oh < d->OH; oh++)
                for (ow = 0; ow < d->OW; ow++) {
                    const float go = g[oh * d->OW + ow];
                    for (i = 0; i < d->KH; i++) {
                        const int64_t ih = oh * d->SH - d->PH + i * d->DH;
                        if (ih < 0 || ih >= d->H) continue;
                        for (j = 0; j < d->KW; j++) {
                            const int64_t iw = ow * d->SW - d->PW + j * d->DW;
                            if (iw >= 0 && iw < d->W) dxc[ih * d->W + iw] += go * wo[i * d->KW + j];
                        }
                    }
                }
        }
    }
}
#endif /* NN_NO_TRAINING */

/* this thread's slot of the conv workspace (per-thread chunks) */
NN__PRIVATE float *nn__conv_my_slot(const nn_conv2d_desc *d, float *ws, int64_t N) {
#if NN__OMP
    return ws + omp_get_thread_num() * nn__conv_slot(d, N);
#else
    (void)d; (void)N;
    return ws;
#endif
}

/* Threads for work split over chunks of images: no more than the workspace has slots for, no
   more than there are chunks, none for small work. */
NN__PRIVATE int nn__conv_threads(const nn_conv2d_desc *d, int64_t nchunks, int64_t work) {
#if NN__OMP
    int64_t t = omp_in_parallel() || work < 4 * NN_OMP_MIN_WORK ? 1 : omp_get_max_threads();
    if (t > d->T) t = d->T;
    if (t > nchunks) t = nchunks;
    return t < 1 ? 1 : (int)t;
#else
    (void)d; (void)nchunks; (void)work;
    return 1;
#endif
}

/* >>kernels-conv-direct: stride-1 direct kernels (row kernel, lanes kernel), no im2col */
#ifdef NN__CONV_DIRECT
/* xp (C, Hp, Wp) = the planes x (C, H, W) at row ph, column pw of zeros */
NN__PRIVATE void nn__conv_pad(float *xp, const float *x, int64_t C, int64_t H, int64_t W, int64_t Hp, int64_t Wp,
                              int64_t ph, int64_t pw) {
    int64_t c, h, w;
    nn__zero_range(xp, 0, C * Hp * Wp);
    for (c = 0; c < C; c++)
        for (h = 0; h < H; h++) { /* (inline: LeNet-5's rows are 10-28 floats, a call each cost more) */
            float *d = xp + (c * Hp + ph + h) * Wp + pw;
            const float *s = x + (c * H + h) * W;
            for (w = 0; w + 16 <= W; w += 16) nn__v16_st(d + w, nn__v16_ld(s + w));
            if (w < W) {
                const nn__m16 m = nn__m16_first(W - w);
                nn__v16_stm(d + w, m, nn__v16_ldm(m, s + w));
            }
        }
}

/* y (OC, OH, OW) (+)= the stride-1 convolution of xp (C, Hp, Wp) with w (OC, C, KH, KW), plus b.
   Rows of xp outside [rlo, rhi) are zero padding: the kernel rows that would read only them
   are skipped (half the input gradient's taps on LeNet-5's second layer). */
/* accumulators within the register file (AVX2's nn__v16 is two of its sixteen registers):
   pixels per run of the lanes kernel, output channels per block of the row kernel */
#define NN__LANES_RUN (NN__V16_REGS >= 32 ? 12 : 6)
#define NN__DIRECT_OB (NN__V16_REGS >= 32 ? 8 : 6)
NN__PRIVATE NN__INLINE void nn__conv_direct_blk(const int nb, int64_t ob, int64_t C, int64_t KH, int64_t KW, int64_t OH,
                                                int64_t OW, const float *xp, int64_t Hp, int64_t Wp, int64_t rlo, int64_t rhi,
                                                const float *w, const float *b, float *y, int accumulate) {
    /* nb accumulators (a constant where this is inlined: the others vanish), ob <= nb of them
       stored; channels past the last compute a copy of it */
    const int64_t KK = KH * KW, CKK = C * KK;
    const float *w0 = w, *w1 = w0 + (ob > 1) * CKK, *w2 = w0 + (ob > 2) * 2 * CKK, *w3 = w0 + (ob > 3) * 3 * CKK;
    const float *w4 = w0 + (ob > 4) * 4 * CKK, *w5 = w0 + (ob > 5) * 5 * CKK, *w6 = w0 + (ob > 6) * 6 * CKK;
    const float *w7 = w0 + (ob > 7) * 7 * CKK;
    int64_t oh, ow, c, kh, kw;
    for (oh = 0; oh < OH; oh++)
        for (ow = 0; ow < OW; ow += 16) {
            const nn__m16 m = nn__m16_first(OW - ow);
            nn__v16 a0 = nn__v16_zero(), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
            float *yr = y + oh * OW + ow;
            const int64_t kh0 = rlo - oh > 0 ? rlo - oh : 0, kh1 = rhi - oh < KH ? rhi - oh : KH;
            for (c = 0; c < C; c++)
                for (kh = kh0; kh < kh1; kh++) {
                    const float *xr = xp + (c * Hp + oh + kh) * Wp + ow;
                    const int64_t wi = c * KK + kh * KW;
                    for (kw = 0; kw < KW; kw++) {
                        const nn__v16 xv = nn__v16_ld(xr + kw);
                        a0 = nn__v16_fma(nn__v16_set(w0[wi + kw]), xv, a0);
                        if (nb > 1) a1 = nn__v16_fma(nn__v16_set(w1[wi + kw]), xv, a1);
                        if (nb > 2) a2 = nn__v16_fma(nn__v16_set(w2[wi + kw]), xv, a2);
                        if (nb > 3) a3 = nn__v16_fma(nn__v16_set(w3[wi + kw]), xv, a3);
                        if (nb > 4) a4 = nn__v16_fma(nn__v16_set(w4[wi + kw]), xv, a4);
                        if (nb > 5) a5 = nn__v16_fma(nn__v16_set(w5[wi + kw]), xv, a5);
                        if (nb > 6) a6 = nn__v16_fma(nn__v16_set(w6[wi + kw]), xv, a6);
                        if (nb > 7) a7 = nn__v16_fma(nn__v16_set(w7[wi + kw]), xv, a7);
                    }
                }
#define NN__CONV_OUT(k, a) do { \
        if (ob > k) { \
            float *yk = yr + k * OH * OW; \
            nn__v16 v = b ? nn__v16_add(a, nn__v16_set(b[k])) : a; \
            if (accumulate) v = nn__v16_add(nn__v16_ldm(m, yk), v); \
            nn__v16_stm(yk, m, v); \
        } } while (0)
            NN__CONV_OUT(0, a0); NN__CONV_OUT(1, a1); NN__CONV_OUT(2, a2); NN__CONV_OUT(3, a3);
            NN__CONV_OUT(4, a4); NN__CONV_OUT(5, a5); NN__CONV_OUT(6, a6); NN__CONV_OUT(7, a7);
#undef NN__CONV_OUT
        }
}
/* n <= nr pixels of a row, nr accumulators (a constant where this is inlined), each 16 output
   channels; xr: the row's first input, wl: the channels' weights (C, KH, KW, 16); t: the pixels'
   outputs (pixel, 16). Pixels past n compute from inputs further along the padded row or the next
   (inside the thread's slot, which holds the weights after the planes), and are not stored. */
NN__PRIVATE NN__INLINE void nn__conv_lanes_px(const int nr, int64_t n, int64_t C, int64_t KH, int64_t KW, const float *xr,
                                              int64_t Hp, int64_t Wp, int64_t kh0, int64_t kh1, const float *wl,
                                              nn__v16 bias, float *t) {
    nn__v16 a0 = bias, a1 = bias, a2 = bias, a3 = bias, a4 = bias, a5 = bias, a6 = bias, a7 = bias, a8 = bias, a9 = bias;
    nn__v16 a10 = bias, a11 = bias;
    int64_t c, kh, kw;
    for (c = 0; c < C; c++)
        for (kh = kh0; kh < kh1; kh++) {
            const float *xk = xr + (c * Hp + kh) * Wp, *wk = wl + (c * KH + kh) * KW * 16;
            for (kw = 0; kw < KW; kw++) {
                const nn__v16 wv = nn__v16_ld(wk + kw * 16);
                const float *x = xk + kw;
                a0 = nn__v16_fma(nn__v16_set(x[0]), wv, a0);
                a1 = nn__v16_fma(nn__v16_set(x[1]), wv, a1);
                a2 = nn__v16_fma(nn__v16_set(x[2]), wv, a2);
                a3 = nn__v16_fma(nn__v16_set(x[3]), wv, a3);
                if (nr > 4) a4 = nn__v16_fma(nn__v16_set(x[4]), wv, a4);
                if (nr > 5) a5 = nn__v16_fma(nn__v16_set(x[5]), wv, a5);
                if (nr > 6) a6 = nn__v16_fma(nn__v16_set(x[6]), wv, a6);
                if (nr > 7) a7 = nn__v16_fma(nn__v16_set(x[7]), wv, a7);
                if (nr > 8) a8 = nn__v16_fma(nn__v16_set(x[8]), wv, a8);
                if (nr > 9) a9 = nn__v16_fma(nn__v16_set(x[9]), wv, a9);
                if (nr > 10) a10 = nn__v16_fma(nn__v16_set(x[10]), wv, a10);
                if (nr > 11) a11 = nn__v16_fma(nn__v16_set(x[11]), wv, a11);
            }
        }
    nn__v16_st(t, a0);
    if (n > 1) nn__v16_st(t + 16, a1);
    if (n > 2) nn__v16_st(t + 32, a2);
    if (n > 3) nn__v16_st(t + 48, a3);
    if (nr > 4 && n > 4) nn__v16_st(t + 64, a4);
    if (nr > 5 && n > 5) nn__v16_st(t + 80, a5);
    if (nr > 6 && n > 6) nn__v16_st(t + 96, a6);
    if (nr > 7 && n > 7) nn__v16_st(t + 112, a7);
    if (nr > 8 && n > 8) nn__v16_st(t + 128, a8);
    if (nr > 9 && n > 9) nn__v16_st(t + 144, a9);
    if (nr > 10 && n > 10) nn__v16_st(t + 160, a10);
    if (nr > 11 && n > 11) nn__v16_st(t + 176, a11);
}
/* wl (OC/16, C, KK, 16) = w (OC, C, KK): sixteen channels' weights of one tap side by side */
NN__PRIVATE void nn__conv_lanes_weights(float *wl, const float *w, int64_t OC, int64_t C, int64_t KK) {
    int64_t o, r;
    for (o = 0; o < OC; o++)
        for (r = 0; r < C * KK; r++) wl[((o / 16 * C * KK) + r) * 16 + o % 16] = w[o * C * KK + r];
}
/* y (16, P) (+)= t (P, 16) */
NN__PRIVATE void nn__conv_lanes_out(float *y, const float *t, int64_t P, int accumulate) {
    float blk[64];
    int64_t p, j, k;
    for (p = 0; p + 8 <= P; p += 8)
        for (j = 0; j < 16; j += 8) {
            if (!accumulate) { nn__transpose8(y + j * P + p, P, t + p * 16 + j, 16); continue; }
            nn__transpose8(blk, 8, t + p * 16 + j, 16);
            for (k = 0; k < 8; k++) {
                float *yk = y + (j + k) * P + p;
                _mm256_storeu_ps(yk, _mm256_add_ps(_mm256_loadu_ps(yk), _mm256_loadu_ps(blk + 8 * k)));
            }
        }
    for (; p < P; p++)
        for (j = 0; j < 16; j++) y[j * P + p] = accumulate ? y[j * P + p] + t[p * 16 + j] : t[p * 16 + j];
}
/* y (OC, OH, OW) (+)= the convolution with 16 output channels in the lanes: rows in runs of at
   most NN__LANES_RUN pixels (even runs: 21 = 11 + 10), every tap one weight load for the run; the
   block's outputs are transposed into y once complete. wl as nn__conv_lanes_weights makes it,
   t: OH * OW * 16 floats. */
#ifndef NN_NO_TRAINING
NN__PRIVATE void nn__pool_hwc(const nn_pool2d_desc *p, int64_t OC, int64_t rowpix, const float *yt, const float *b,
                              float *buf, float *y, uint8_t *idx);
#endif
/* pool: each block's outputs go instead to y and idx by that 2x2 max pooling of their ReLU
   (nn__pool_hwc, through pbuf: nn__conv_pool_forward) */
NN__PRIVATE NN__NOINLINE void nn__conv_lanes_blk(int64_t C, int64_t OC, int64_t KH, int64_t KW, int64_t OH, int64_t OW,
                                                 const float *xp, int64_t Hp, int64_t Wp, int64_t rlo, int64_t rhi,
                                                 const float *wl, float *t, const float *b, float *y, int accumulate,
                                                 const nn_pool2d_desc *pool, float *pbuf, uint8_t *idx) {
    const int64_t nrun = (OW + NN__LANES_RUN - 1) / NN__LANES_RUN, run = (OW + nrun - 1) / nrun;
    int64_t o0, oh, ow;
    for (o0 = 0; o0 < OC; o0 += 16) {
        const nn__v16 bv = b ? nn__v16_ld(b + o0) : nn__v16_zero();
        const float *wb = wl + o0 * C * KH * KW;
        for (oh = 0; oh < OH; oh++) {
            const int64_t kh0 = rlo - oh > 0 ? rlo - oh : 0, kh1 = rhi - oh < KH ? rhi - oh : KH;
            for (ow = 0; ow < OW; ow += run) {
                const int64_t n = OW - ow < run ? OW - ow : run;
                const float *xr = xp + oh * Wp + ow;
                float *tp = t + (oh * OW + ow) * 16;
                if (NN__LANES_RUN > 10 && n > 10) nn__conv_lanes_px(12, n, C, KH, KW, xr, Hp, Wp, kh0, kh1, wb, bv, tp);
                else if (NN__LANES_RUN > 8 && n > 8) nn__conv_lanes_px(10, n, C, KH, KW, xr, Hp, Wp, kh0, kh1, wb, bv, tp);
                else if (NN__LANES_RUN > 6 && n > 6) nn__conv_lanes_px(8, n, C, KH, KW, xr, Hp, Wp, kh0, kh1, wb, bv, tp);
                else if (n > 5) nn__conv_lanes_px(6, n, C, KH, KW, xr, Hp, Wp, kh0, kh1, wb, bv, tp);
                else if (n > 4) nn__conv_lanes_px(5, n, C, KH, KW, xr, Hp, Wp, kh0, kh1, wb, bv, tp);
                else nn__conv_lanes_px(4, n, C, KH, KW, xr, Hp, Wp, kh0, kh1, wb, bv, tp);
            }
        }
#ifndef NN_NO_TRAINING
        if (pool) { /* (t holds the bias already: none added) */
            const int64_t PP = pool->OH * pool->OW;
            nn__pool_hwc(pool, 16, OW, t, NULL, pbuf, y + o0 * PP, idx + o0 * PP);
            continue;
        }
#else
        (void)pool; (void)pbuf; (void)idx;
#endif
        nn__conv_lanes_out(y + o0 * OH * OW, t, OH * OW, accumulate);
    }
}
/* blocks of NN__DIRECT_OB output channels; a last block of 5-6 or 1-4 with as many accumulators
   (LeNet-5's 6 channels would otherwise compute 8) */
NN__PRIVATE NN__NOINLINE void nn__conv_direct(int64_t C, int64_t OC, int64_t KH, int64_t KW, int64_t OH, int64_t OW,
                                              const float *xp, int64_t Hp, int64_t Wp, int64_t rlo, int64_t rhi,
                                              const float *w, const float *b, float *y, int accumulate) {
    int64_t o0;
    for (o0 = 0; o0 < OC; o0 += NN__DIRECT_OB) {
        const int64_t ob = OC - o0 < NN__DIRECT_OB ? OC - o0 : NN__DIRECT_OB, CKK = C * KH * KW;
        const float *wb = w + o0 * CKK, *bb = b ? b + o0 : NULL;
        float *yb = y + o0 * OH * OW;
        if (ob > 6) nn__conv_direct_blk(8, ob, C, KH, KW, OH, OW, xp, Hp, Wp, rlo, rhi, wb, bb, yb, accumulate);
        else if (ob > 4) nn__conv_direct_blk(6, ob, C, KH, KW, OH, OW, xp, Hp, Wp, rlo, rhi, wb, bb, yb, accumulate);
        else nn__conv_direct_blk(4, ob, C, KH, KW, OH, OW, xp, Hp, Wp, rlo, rhi, wb, bb, yb, accumulate);
    }
}

/* the lanes kernel where nn__conv_lanes chooses it, its weights laid out once per thread and
   call (after the padded planes in the slot) */
NN__PRIVATE void nn__conv_direct_any(int64_t C, int64_t OC, int64_t KH, int64_t KW, int64_t OH, int64_t OW, const float *xp,
                                     int64_t Hp, int64_t Wp, int64_t rlo, int64_t rhi, const float *w, const float *wl,
                                     float *t, const float *b, float *y, int accumulate) {
    if (nn__conv_lanes(OC, OW))
        nn__conv_lanes_blk(C, OC, KH, KW, OH, OW, xp, Hp, Wp, rlo, rhi, wl, t, b, y, accumulate, NULL, NULL, NULL);
    else nn__conv_direct(C, OC, KH, KW, OH, OW, xp, Hp, Wp, rlo, rhi, w, b, y, accumulate);
}

NN__PRIVATE void nn__conv_direct_forward(const nn_conv2d_desc *d, int64_t N, float *y, const float *x, const float *w,
                                         const float *b, float *ws) {
    const int64_t Hp = d->H + 2 * d->PH, Wp = nn__conv_direct_row(d->OW, d->KW), KK = d->KH * d->KW;
    const int nth = nn__conv_threads(d, N, N * d->OC * d->OH * d->OW * d->C * KK);
    (void)nth;
#if NN__OMP
#pragma omp parallel num_threads(nth)
#endif
    {
        float *xp = nn__conv_my_slot(d, ws, N), *wl = xp + nn__conv_direct_plane(d), *t = wl + d->OC * d->C * KK;
        int64_t n;
        if (nn__conv_lanes(d->OC, d->OW)) nn__conv_lanes_weights(wl, w, d->OC, d->C, KK);
#if NN__OMP
#pragma omp for schedule(static)
#endif
        for (n = 0; n < N; n++) {
            nn__conv_pad(xp, x + n * d->C * d->H * d->W, d->C, d->H, d->W, Hp, Wp, d->PH, d->PW);
            nn__conv_direct_any(d->C, d->OC, d->KH, d->KW, d->OH, d->OW, xp, Hp, Wp, d->PH, d->PH + d->H, w, wl, t, b,
                                y + n * d->OC * d->OH * d->OW, 0);
        }
    }
}

#ifndef NN_NO_TRAINING
/* dx += the full correlation of dy with the flipped weights: the forward kernel over dy padded
   by (KH-1-PH, KW-1-PW), with weights (C, OC, KH, KW) */
NN__PRIVATE void nn__conv_direct_dx(const nn_conv2d_desc *d, int64_t N, float *dx, const float *dy, const float *w,
                                    float *ws) {
    const int64_t KK = d->KH * d->KW, Hp = d->H + d->KH - 1, Wp = nn__conv_direct_row(d->W, d->KW);
    const int nth = nn__conv_threads(d, N, N * d->OC * d->OH * d->OW * d->C * KK);
    (void)nth;
#if NN__OMP
#pragma omp parallel num_threads(nth)
#endif
    {   /* the flipped weights (C, OC, KH, KW) per thread and call: a few thousand floats */
        float *wt = nn__conv_my_slot(d, ws, N), *dyp = wt + d->C * d->OC * KK, *wl = dyp + d->OC * Hp * Wp;
        float *t = wl + d->C * d->OC * KK;
        int64_t n, c, o, k;
        for (c = 0; c < d->C; c++)
            for (o = 0; o < d->OC; o++)
                for (k = 0; k < KK; k++) wt[(c * d->OC + o) * KK + k] = w[(o * d->C + c) * KK + KK - 1 - k];
        if (nn__conv_lanes(d->C, d->W)) nn__conv_lanes_weights(wl, wt, d->C, d->OC, KK);
#if NN__OMP
#pragma omp for schedule(static)
#endif
        for (n = 0; n < N; n++) {
            nn__conv_pad(dyp, dy + n * d->OC * d->OH * d->OW, d->OC, d->OH, d->OW, Hp, Wp, d->KH - 1 - d->PH,
                         d->KW - 1 - d->PW);
            nn__conv_direct_any(d->OC, d->C, d->KH, d->KW, d->H, d->W, dyp, Hp, Wp, d->KH - 1 - d->PH,
                                d->KH - 1 - d->PH + d->OH, wt, wl, t, NULL, dx + n * d->C * d->H * d->W, 1);
        }
    }
}

/* >>kernels-conv-direct-dw: the direct weight gradients (lanes, 5-wide rows) */
/* The weight gradient of a 5x5 layer with 16k output channels: per (16-channel block, input
   channel) 25 vector sums, one per tap, over the chunk's images and pixels in order, each
   pixel one load of sixteen channels' gradients and 25 broadcast inputs, every lane useful.
   An item (nb = 1 or 2 blocks, up to NN__DW_GROUP input channels) transposes each image's
   gradients to (pixel, channel) in its slot once for its channels, whose sums wait in the slot
   between images; the items of input channel 0 also sum the bias gradient from there (db may
   be NULL). Two blocks share each broadcast input (the taps in two halves: 26 sums in
   registers): one block was bound by the broadcasts (25 per 25 FMAs, 76% of the FMA peak on
   Zen 5 in a loop from L1; two blocks 99%). Pairs where they leave two items per thread. Each
   sum adds the pixels in the same order either way, so the pairing changes no result. */
NN__PRIVATE NN__INLINE void nn__conv_dw_lanes_taps(const int nb, const int k0, const int k1, const float *gt,
                                                   const float *xc, int64_t OH, int64_t OW, int64_t Wp, float *ac) {
    /* the taps k0 .. k1-1 of the first block and of the second, indexed by tap: constant indices
       (every access below is spelled out) keep them in registers */
    nn__v16 s[25], u[25];
    int64_t oh, ow;
#define NN__LTAPS(M) M(0) M(1) M(2) M(3) M(4) M(5) M(6) M(7) M(8) M(9) M(10) M(11) M(12) M(13) M(14) M(15) M(16) \
    M(17) M(18) M(19) M(20) M(21) M(22) M(23) M(24)
#define NN__LLD(k) if ((k) >= k0 && (k) < k1) { \
        s[k] = nn__v16_ld(ac + (k) * 16); if (nb > 1) { u[k] = nn__v16_ld(ac + (25 + (k)) * 16); } }
#define NN__LFMA(k) if ((k) >= k0 && (k) < k1) { const nn__v16 v = nn__v16_set(xr[(k) / 5 * Wp + (k) % 5]); \
        s[k] = nn__v16_fma(g0, v, s[k]); if (nb > 1) { u[k] = nn__v16_fma(g1, v, u[k]); } }
#define NN__LST(k) if ((k) >= k0 && (k) < k1) { \
        nn__v16_st(ac + (k) * 16, s[k]); if (nb > 1) { nn__v16_st(ac + (25 + (k)) * 16, u[k]); } }
    NN__LTAPS(NN__LLD)
    for (oh = 0; oh < OH; oh++)
        for (ow = 0; ow < OW; ow++) {
            const nn__v16 g0 = nn__v16_ld(gt + (oh * OW + ow) * 16 * nb);
            const nn__v16 g1 = nb > 1 ? nn__v16_ld(gt + (oh * OW + ow) * 16 * nb + 16) : g0;
            const float *xr = xc + oh * Wp + ow;
#if defined(__GNUC__) /* broadcast loads: GCC would carry the inputs the next pixel shares, and spill them */
            __asm__("" : "+r"(xr));
#endif
            NN__LTAPS(NN__LFMA)
        }
    NN__LTAPS(NN__LST)
#undef NN__LTAPS
#undef NN__LLD
#undef NN__LFMA
#undef NN__LST
}

NN__PRIVATE void nn__conv_direct_dw_lanes(const nn_conv2d_desc *d, int64_t N, int64_t n0, int64_t cn, float *dw,
                                          float *db, const float *dy, const nn__unpool *up, const float *xp,
                                          float *ws) {
    const int64_t Hp = d->H + 2 * d->PH, Wp = nn__conv_direct_row(d->OW, d->KW), plane = nn__conv_direct_plane(d);
    const int64_t P = d->OH * d->OW, OC = d->OC;
    const int nth = nn__conv_threads(d, OC / 16 * d->C, cn * OC * P * d->C * 25);
    const int nb = NN__V16_REGS >= 32 && OC % 32 == 0 && OC / 32 * d->C >= 2 * nth ? 2 : 1, W16 = 16 * nb;
    const int64_t blocks = OC / W16;
    /* (block, group of input channels) items: each image's output gradients are transposed
       once per item (the CNN's 32-channel layer once per input channel transposed 32 times).
       As few groups as give every thread the same number of equal items (the CNN's: one per
       pair of blocks at 2 threads, where groups of 8 transposed 4 times); else about four per
       thread. The grouping changes no sum's order. */
    int64_t want = (4 * nth + blocks - 1) / blocks, g, groups, gs0, gs, ng, items, t;
    for (g = (nth + blocks - 1) / blocks; g <= d->C; g++) {
        const int64_t s = (d->C + g - 1) / g;
        if (s <= NN__DW_GROUP && d->C % s == 0 && blocks * (d->C / s) % nth == 0) { want = g; break; }
    }
    groups = want < d->C ? want : d->C;
    gs0 = (d->C + groups - 1) / groups;
    gs = gs0 < NN__DW_GROUP ? gs0 : NN__DW_GROUP;
    ng = (d->C + gs - 1) / gs;
    items = blocks * ng;
#if NN__OMP
#pragma omp parallel for schedule(static) num_threads(nth)
#endif
    for (t = 0; t < items; t++) {
        const int64_t o0 = t / ng * W16, c0 = t % ng * gs, c1 = c0 + gs < d->C ? c0 + gs : d->C;
        float *gt = nn__conv_my_slot(d, ws, N), *acc = gt + W16 * P, r[16];
        nn__v16 bs0 = nn__v16_zero(), bs1 = bs0;
        int64_t i, q, k, j, c;
        nn__zero_range(acc, 0, (c1 - c0) * 25 * W16);
        for (i = 0; i < cn; i++) {
            float *gu = acc + NN__DW_GROUP * 25 * 32; /* (the rebuilt planes) */
            const float *g = up ? gu : dy + ((n0 + i) * OC + o0) * P;
            if (up) {
                const int64_t P2 = up->d->OH * up->d->OW, o = ((n0 + i) * OC + o0) * P2;
                nn__pool2x2_unpool(up->d, W16, gu, up->idx + o, up->g + o);
            }
            for (k = 0; k < W16; k += 8) { /* (pixel, channel), 8 x 8 blocks */
                for (q = 0; q + 8 <= P; q += 8) nn__transpose8(gt + q * W16 + k, W16, g + k * P + q, P);
                for (; q < P; q++) for (j = 0; j < 8; j++) gt[q * W16 + k + j] = g[(k + j) * P + q];
            }
            if (db && c0 == 0)
                for (q = 0; q < P; q++) {
                    bs0 = nn__v16_add(bs0, nn__v16_ld(gt + q * W16));
                    if (nb > 1) bs1 = nn__v16_add(bs1, nn__v16_ld(gt + q * W16 + 16));
                }
            for (c = c0; c < c1; c++) { /* the channel's sums in registers over this image */
                const float *xc = xp + i * plane + c * Hp * Wp;
                float *ac = acc + (c - c0) * 25 * W16;
                if (nb > 1) {
                    nn__conv_dw_lanes_taps(2, 0, 13, gt, xc, d->OH, d->OW, Wp, ac);
                    nn__conv_dw_lanes_taps(2, 13, 25, gt, xc, d->OH, d->OW, Wp, ac);
                } else if (NN__V16_REGS >= 32) nn__conv_dw_lanes_taps(1, 0, 25, gt, xc, d->OH, d->OW, Wp, ac);
                else { /* (AVX2: a kernel row's five sums at a time) */
                    nn__conv_dw_lanes_taps(1, 0, 5, gt, xc, d->OH, d->OW, Wp, ac);
                    nn__conv_dw_lanes_taps(1, 5, 10, gt, xc, d->OH, d->OW, Wp, ac);
                    nn__conv_dw_lanes_taps(1, 10, 15, gt, xc, d->OH, d->OW, Wp, ac);
                    nn__conv_dw_lanes_taps(1, 15, 20, gt, xc, d->OH, d->OW, Wp, ac);
                    nn__conv_dw_lanes_taps(1, 20, 25, gt, xc, d->OH, d->OW, Wp, ac);
                }
            }
        }
        for (c = c0; c < c1; c++)
            for (k = 0; k < 25; k++)
                for (j = 0; j < W16; j++) {
                    const float v = acc[((c - c0) * 25 * nb + (j >= 16) * 25 + k) * 16 + j % 16];
                    float *dst = dw + ((o0 + j) * d->C + c) * 25 + k;
                    *dst = n0 ? *dst + v : v;
                }
        if (db && c0 == 0)
            for (k = 0; k < nb; k++) {
                nn__v16_st(r, k ? bs1 : bs0);
                for (j = 0; j < 16; j++) db[o0 + 16 * k + j] = n0 ? db[o0 + 16 * k + j] + r[j] : r[j];
            }
    }
}

/* one thread's taps [t0, t1) of a (channel block, input channel) pair, summed over a chunk of
   images into acc: nb accumulators (a constant where this is inlined), ob <= nb channels real,
   channels past the last read a copy of it, which is not stored */
NN__PRIVATE NN__INLINE void nn__conv_dw_taps(const int nb, int64_t ob, const nn_conv2d_desc *d, int64_t n0, int64_t cn,
                                             int64_t group, int64_t o0, int64_t c, int64_t t0, int64_t t1,
                                             const float *dy, const float *xp, float *acc) {
    const int64_t Hp = d->H + 2 * d->PH, Wp = nn__conv_direct_row(d->OW, d->KW), plane = nn__conv_direct_plane(d);
    const int64_t KK = d->KH * d->KW, P = d->OH * d->OW;
    const int64_t s1 = (ob > 1) * P, s2 = (ob > 2) * 2 * P, s3 = (ob > 3) * 3 * P, s4 = (ob > 4) * 4 * P;
    const int64_t s5 = (ob > 5) * 5 * P, s6 = (ob > 6) * 6 * P, s7 = (ob > 7) * 7 * P;
    int64_t g0, t, i, oh, ow;
    for (g0 = 0; g0 < cn; g0 += group)
        for (t = t0; t < t1; t++) {
            const int64_t kh = t / d->KW % d->KH, kw = t % d->KW;
            float *at = acc + (t % KK) * 128;
            nn__v16 a0 = nn__v16_ld(at), a1 = nn__v16_ld(at + 16), a2 = nn__v16_ld(at + 32);
            nn__v16 a3 = nn__v16_ld(at + 48), a4 = nn__v16_ld(at + 64), a5 = nn__v16_ld(at + 80);
            nn__v16 a6 = nn__v16_ld(at + 96), a7 = nn__v16_ld(at + 112);
            for (i = g0; i < cn && i < g0 + group; i++) {
                const float *g = dy + ((n0 + i) * d->OC + o0) * P, *xc = xp + i * plane + c * Hp * Wp;
                for (oh = 0; oh < d->OH; oh++)
                    for (ow = 0; ow < d->OW; ow += 16) {
                        const nn__m16 m = nn__m16_first(d->OW - ow);
                        const float *gr = g + oh * d->OW + ow;
                        const nn__v16 xv = nn__v16_ld(xc + (oh + kh) * Wp + ow + kw);
                        a0 = nn__v16_fma(nn__v16_ldm(m, gr), xv, a0);
                        if (nb > 1) a1 = nn__v16_fma(nn__v16_ldm(m, gr + s1), xv, a1);
                        if (nb > 2) a2 = nn__v16_fma(nn__v16_ldm(m, gr + s2), xv, a2);
                        if (nb > 3) a3 = nn__v16_fma(nn__v16_ldm(m, gr + s3), xv, a3);
                        if (nb > 4) a4 = nn__v16_fma(nn__v16_ldm(m, gr + s4), xv, a4);
                        if (nb > 5) a5 = nn__v16_fma(nn__v16_ldm(m, gr + s5), xv, a5);
                        if (nb > 6) a6 = nn__v16_fma(nn__v16_ldm(m, gr + s6), xv, a6);
                        if (nb > 7) a7 = nn__v16_fma(nn__v16_ldm(m, gr + s7), xv, a7);
                    }
            }
            nn__v16_st(at, a0); nn__v16_st(at + 16, a1); nn__v16_st(at + 32, a2);
            nn__v16_st(at + 48, a3); nn__v16_st(at + 64, a4); nn__v16_st(at + 80, a5);
            nn__v16_st(at + 96, a6); nn__v16_st(at + 112, a7);
        }
}

/* Images i0 .. i1-1 of a 5-wide kernel's (3-channel block, input channel, kernel row) item
   added to its 15 sums acc (3 channels x 5 taps): each row segment's three output-gradient
   vectors are loaded once for the five taps (nn__conv_dw_taps loads one per FMA, and was
   load-bound on LeNet-5's first layer). ob <= 3 channels real; past the last, a copy of it. */
NN__PRIVATE void nn__conv_dw_row5(int64_t ob, const nn_conv2d_desc *d, int64_t n0, int64_t i0, int64_t i1, int64_t o0,
                                  int64_t c, int64_t kh, const float *dy, const float *xp, float *acc) {
    const int64_t Hp = d->H + 2 * d->PH, Wp = nn__conv_direct_row(d->OW, d->KW), plane = nn__conv_direct_plane(d);
    const int64_t P = d->OH * d->OW, s1 = (ob > 1) * P, s2 = (ob > 2) * 2 * P;
    nn__v16 a00 = nn__v16_ld(acc), a01 = nn__v16_ld(acc + 16), a02 = nn__v16_ld(acc + 32);
    nn__v16 a03 = nn__v16_ld(acc + 48), a04 = nn__v16_ld(acc + 64), a10 = nn__v16_ld(acc + 80);
    nn__v16 a11 = nn__v16_ld(acc + 96), a12 = nn__v16_ld(acc + 112), a13 = nn__v16_ld(acc + 128);
    nn__v16 a14 = nn__v16_ld(acc + 144), a20 = nn__v16_ld(acc + 160), a21 = nn__v16_ld(acc + 176);
    nn__v16 a22 = nn__v16_ld(acc + 192), a23 = nn__v16_ld(acc + 208), a24 = nn__v16_ld(acc + 224);
    int64_t i, oh, ow;
    for (i = i0; i < i1; i++) {
        const float *g = dy + ((n0 + i) * d->OC + o0) * P, *xc = xp + i * plane + (c * Hp + kh) * Wp;
        for (oh = 0; oh < d->OH; oh++)
            for (ow = 0; ow < d->OW; ow += 16) {
                const nn__m16 m = nn__m16_first(d->OW - ow);
                const float *gr = g + oh * d->OW + ow, *xr = xc + oh * Wp + ow;
                const nn__v16 g0 = nn__v16_ldm(m, gr), g1 = nn__v16_ldm(m, gr + s1);
                const nn__v16 g2 = nn__v16_ldm(m, gr + s2);
                nn__v16 xv;
#if defined(__GNUC__) /* one load for three FMAs: GCC would fold it into each (18 loads for 15 FMAs) */
#define NN__TAP5(k, a0, a1, a2) xv = nn__v16_ld(xr + k); NN__V16_KEEP(xv); \
    a0 = nn__v16_fma(g0, xv, a0); a1 = nn__v16_fma(g1, xv, a1); a2 = nn__v16_fma(g2, xv, a2)
#else
#define NN__TAP5(k, a0, a1, a2) xv = nn__v16_ld(xr + k); \
    a0 = nn__v16_fma(g0, xv, a0); a1 = nn__v16_fma(g1, xv, a1); a2 = nn__v16_fma(g2, xv, a2)
#endif
                NN__TAP5(0, a00, a10, a20); NN__TAP5(1, a01, a11, a21); NN__TAP5(2, a02, a12, a22);
                NN__TAP5(3, a03, a13, a23); NN__TAP5(4, a04, a14, a24);
#undef NN__TAP5
            }
    }
    nn__v16_st(acc, a00); nn__v16_st(acc + 16, a01); nn__v16_st(acc + 32, a02);
    nn__v16_st(acc + 48, a03); nn__v16_st(acc + 64, a04); nn__v16_st(acc + 80, a10);
    nn__v16_st(acc + 96, a11); nn__v16_st(acc + 112, a12); nn__v16_st(acc + 128, a13);
    nn__v16_st(acc + 144, a14); nn__v16_st(acc + 160, a20); nn__v16_st(acc + 176, a21);
    nn__v16_st(acc + 192, a22); nn__v16_st(acc + 208, a23); nn__v16_st(acc + 224, a24);
}

/* dw (OC, C, KH, KW) = sum over images and pixels of dy x the shifted input, directly: chunks
   of images padded once, in order; within a chunk, threads take runs of (channel block, input
   channel, kernel tap) items, each summing its outputs over the chunk in a fixed order, so the
   result does not depend on the thread count. An item's eight vector sums live in the thread's
   slot between groups of images: a group's output gradients and input plane stay in L1 while
   every tap of the (channel block, input channel) pair reads them. 5-wide kernels take items of
   (3-channel block, input channel, kernel row) instead (nn__conv_dw_row5), in the same order. */
NN__PRIVATE void nn__conv_direct_dw(const nn_conv2d_desc *d, int64_t N, float *dw, float *db, const float *dy,
                                    const nn__unpool *up, const float *x, float *ws, float *xp) {
    const int64_t Hp = d->H + 2 * d->PH, Wp = nn__conv_direct_row(d->OW, d->KW), plane = nn__conv_direct_plane(d);
    const int64_t KK = d->KH * d->KW, P = d->OH * d->OW, chunk = nn__conv_direct_chunk(d, N);
    const int64_t nob = (d->OC + 7) / 8, items = nob * d->C * KK; /* enough items to balance two threads */
    const int64_t per_img = 8 * P + Hp * Wp, group = per_img < 8192 ? 8192 / per_img : 1;
    int64_t n0;
    for (n0 = 0; n0 < N; n0 += chunk) {
        const int64_t cn = N - n0 < chunk ? N - n0 : chunk;
        const int nth = nn__conv_threads(d, items, cn * d->OC * P * d->C * KK);
        int64_t n;
        (void)nth;
#if NN__OMP
#pragma omp parallel for schedule(static) num_threads(nth)
#endif
        for (n = 0; n < cn; n++)
            nn__conv_pad(xp + n * plane, x + (n0 + n) * d->C * d->H * d->W, d->C, d->H, d->W, Hp, Wp, d->PH, d->PW);
        if (nn__conv_dw_lanes(d)) {
            nn__conv_direct_dw_lanes(d, N, n0, cn, dw, db, dy, up, xp, ws);
            continue;
        }
#if NN__OMP
#pragma omp parallel num_threads(nth)
#endif
        {
#if NN__OMP
            const int64_t th = omp_get_thread_num(), nt = omp_get_num_threads();
#else
            const int64_t th = 0, nt = 1;
#endif
            const int64_t lo = items * th / nt, hi = items * (th + 1) / nt;
            float *acc = nn__conv_my_slot(d, ws, N); /* KK x 8 vectors: the sums of one pair's taps */
            int64_t p0, t, j;
            if (d->KW == 5) { /* (3-channel block, input channel, kernel row) items, as many at a time
                                 as their 15 sums fit in the slot, over groups of images */
                const int64_t it5 = (d->OC + 2) / 3 * d->C * d->KH, ib = KK * 128 / 240;
                const int64_t lo5 = it5 * th / nt, hi5 = it5 * (th + 1) / nt;
                int64_t q0, q, g0;
                for (q0 = lo5; q0 < hi5; q0 += ib) {
                    const int64_t q1 = q0 + ib < hi5 ? q0 + ib : hi5;
                    nn__zero_range(acc, 0, (q1 - q0) * 240);
                    for (g0 = 0; g0 < cn; g0 += group)
                        for (q = q0; q < q1; q++) {
                            const int64_t o0 = q / (d->C * d->KH) * 3, c = q / d->KH % d->C;
                            nn__conv_dw_row5(d->OC - o0 < 3 ? d->OC - o0 : 3, d, n0, g0, g0 + group < cn ? g0 + group : cn,
                                             o0, c, q % d->KH, dy, xp, acc + (q - q0) * 240);
                        }
                    for (q = q0; q < q1; q++) {
                        const int64_t o0 = q / (d->C * d->KH) * 3, c = q / d->KH % d->C, ob = d->OC - o0 < 3 ? d->OC - o0 : 3;
                        for (j = 0; j < ob; j++)
                            for (t = 0; t < 5; t++) {
                                const float r = nn__v16_sum(nn__v16_ld(acc + (q - q0) * 240 + (j * 5 + t) * 16));
                                float *dst = dw + ((o0 + j) * d->C + c) * KK + q % d->KH * 5 + t;
                                *dst = n0 ? *dst + r : r;
                            }
                    }
                }
            } else
            for (p0 = lo / KK; p0 * KK < hi; p0++) { /* (channel block, input channel) pairs */
                const int64_t o0 = p0 / d->C * 8, c = p0 % d->C, t0 = p0 * KK > lo ? p0 * KK : lo;
                const int64_t t1 = (p0 + 1) * KK < hi ? (p0 + 1) * KK : hi;
                const int64_t ob = d->OC - o0 < 8 ? d->OC - o0 : 8;
                nn__zero_range(acc, 0, KK * 128);
                if (ob > 6) nn__conv_dw_taps(8, ob, d, n0, cn, group, o0, c, t0, t1, dy, xp, acc);
                else if (ob > 4) nn__conv_dw_taps(6, ob, d, n0, cn, group, o0, c, t0, t1, dy, xp, acc);
                else nn__conv_dw_taps(4, ob, d, n0, cn, group, o0, c, t0, t1, dy, xp, acc);
                for (t = t0; t < t1; t++)
                    for (j = 0; j < ob; j++) {
                        const float r = nn__v16_sum(nn__v16_ld(acc + (t % KK) * 128 + 16 * j));
                        float *dst = dw + ((o0 + j) * d->C + c) * KK + t % KK;
                        *dst = n0 ? *dst + r : r;
                    }
            }
        }
    }
}
#endif /* NN_NO_TRAINING */

/* >>kernels-conv-winograd: F(2x2, 5x5) for 5x5 stride-1 layers whose channels fill the lanes */
/* Winograd F(2x2, 5x5) with the points 0, 1, -1, 2, -1/2 and infinity: Y = A^T [(G g G^T) . (B^T d B)] A
   for a 6x6 input tile d, a 5x5 kernel g and 2x2 outputs Y. These points measured 35% less
   rounding error (rms, float32, 32 channels) than 0, +-1, +-2; the error is still 1.1-2x the
   direct sum's (test_conv's cases). Transforms run on 16 channels at a time (the images are copied
   with their channels innermost); the 36 points' products are small GEMMs over a block of tiles.
   Images are independent, so results do not depend on the thread count. The weight gradient
   stays direct: by Winograd it measured no faster than the lanes kernel (3.86 vs 3.87 ms on the
   CNN) with up to 8x its error (dw = G^T dU G cancels large terms). */
static const double nn__wino_g[6][5] = {
    {1, 0, 0, 0, 0},
    {-1.0 / 3, -1.0 / 3, -1.0 / 3, -1.0 / 3, -1.0 / 3},
    {1.0 / 3, -1.0 / 3, 1.0 / 3, -1.0 / 3, 1.0 / 3},
    {1.0 / 15, 2.0 / 15, 4.0 / 15, 8.0 / 15, 16.0 / 15},
    {-16.0 / 15, 8.0 / 15, -4.0 / 15, 2.0 / 15, -1.0 / 15},
    {0, 0, 0, 0, 1}};

/* c (R x 16*NV, rows ldc apart) = a (R x K, rows lda apart) . b (K x 16*NV, rows ldb apart): one
   register tile of a point's product; R <= 7 and NV <= 4 are constants where this is inlined */
NN__PRIVATE NN__INLINE void nn__wino_mm(const int R, const int NV, int64_t K, const float *a, int64_t lda, const float *b, int64_t ldb,
                                        float *c, int64_t ldc) {
    const nn__v16 z = nn__v16_zero();
    nn__v16 c00 = z, c01 = z, c02 = z, c03 = z, c10 = z, c11 = z, c12 = z, c13 = z, c20 = z, c21 = z, c22 = z, c23 = z;
    nn__v16 c30 = z, c31 = z, c32 = z, c33 = z, c40 = z, c41 = z, c42 = z, c43 = z, c50 = z, c51 = z, c52 = z, c53 = z;
    nn__v16 c60 = z, c61 = z, c62 = z, c63 = z;
    int64_t k;
#define NN__WMM_FMA(r, x0, x1, x2, x3) if (R > r) { const nn__v16 s = nn__v16_set(a[r * lda + k]); \
        x0 = nn__v16_fma(s, b0, x0); if (NV > 1) { x1 = nn__v16_fma(s, b1, x1); } \
        if (NV > 2) { x2 = nn__v16_fma(s, b2, x2); } if (NV > 3) { x3 = nn__v16_fma(s, b3, x3); } }
#define NN__WMM_ST(r, x0, x1, x2, x3) if (R > r) { float *cr = c + r * ldc; \
        nn__v16_st(cr, x0); if (NV > 1) { nn__v16_st(cr + 16, x1); } \
        if (NV > 2) { nn__v16_st(cr + 32, x2); } if (NV > 3) { nn__v16_st(cr + 48, x3); } }
    for (k = 0; k < K; k++) {
        const float *bk = b + k * ldb;
        const nn__v16 b0 = nn__v16_ld(bk), b1 = NV > 1 ? nn__v16_ld(bk + 16) : z;
        const nn__v16 b2 = NV > 2 ? nn__v16_ld(bk + 32) : z, b3 = NV > 3 ? nn__v16_ld(bk + 48) : z;
        NN__WMM_FMA(0, c00, c01, c02, c03) NN__WMM_FMA(1, c10, c11, c12, c13) NN__WMM_FMA(2, c20, c21, c22, c23)
        NN__WMM_FMA(3, c30, c31, c32, c33) NN__WMM_FMA(4, c40, c41, c42, c43) NN__WMM_FMA(5, c50, c51, c52, c53)
        NN__WMM_FMA(6, c60, c61, c62, c63)
    }
    NN__WMM_ST(0, c00, c01, c02, c03) NN__WMM_ST(1, c10, c11, c12, c13) NN__WMM_ST(2, c20, c21, c22, c23)
    NN__WMM_ST(3, c30, c31, c32, c33) NN__WMM_ST(4, c40, c41, c42, c43) NN__WMM_ST(5, c50, c51, c52, c53)
    NN__WMM_ST(6, c60, c61, c62, c63)
#undef NN__WMM_FMA
#undef NN__WMM_ST
}

/* xt (Hp, Wp, C): the planes x (C, H, W) at row ph, column pw of zeros, channels innermost */
NN__PRIVATE void nn__wino_hwc(float *xt, const float *x, int64_t C, int64_t H, int64_t W, int64_t Hp, int64_t Wp,
                              int64_t ph, int64_t pw) {
    int64_t c, h, w, j;
    nn__zero_range(xt, 0, Hp * Wp * C);
    for (c = 0; c < C; c += 8) /* (C is a multiple of 16) */
        for (h = 0; h < H; h++) {
            const float *xr = x + (c * H + h) * W;
            float *o = xt + ((h + ph) * Wp + pw) * C + c;
            for (w = 0; w + 8 <= W; w += 8) nn__transpose8(o + w * C, C, xr + w, H * W);
            if (w < W && W >= 8) nn__transpose8(o + (W - 8) * C, C, xr + W - 8, H * W); /* (overlapping: copies) */
            else for (; w < W; w++) for (j = 0; j < 8; j++) o[w * C + j] = xr[j * H * W + w];
        }
}

/* o[0..5] (os apart) = B^T s for six vectors s: the rows (1, 3/2, -2, -3/2, 1, 0), (0, -1, -5/2, -1/2, 1, 0),
   (0, 1, 1/2, -5/2, 1, 0), (0, -1/2, -1, 1/2, 1, 0), (0, 2, -1, -2, 1, 0), (0, 1, 3/2, -2, -3/2, 1) */
NN__PRIVATE NN__INLINE void nn__wino_bt(nn__v16 *o, int os, nn__v16 s0, nn__v16 s1, nn__v16 s2, nn__v16 s3, nn__v16 s4,
                                        nn__v16 s5) {
    const nn__v16 h = nn__v16_set(0.5f), one5 = nn__v16_set(1.5f), two = nn__v16_set(2.0f);
    const nn__v16 e = nn__v16_sub(s1, s3), f = nn__v16_sub(s4, s2);
    const nn__v16 X = nn__v16_fnma(one5, s3, f), Y = nn__v16_fma(one5, s2, e);
    o[0] = nn__v16_fma(one5, e, nn__v16_fnma(two, s2, nn__v16_add(s0, s4)));
    o[os] = nn__v16_sub(X, Y);
    o[2 * os] = nn__v16_add(X, Y);
    o[3 * os] = nn__v16_fnma(h, e, f);
    o[4 * os] = nn__v16_fma(two, e, f);
    o[5 * os] = nn__v16_fnma(one5, f, nn__v16_fnma(two, s3, nn__v16_add(s1, s5)));
}

/* A^T's rows: m0 + m1 + m2 + m3 + m4, and m1 - m2 + 2 m3 - m4/2 + m5 */
NN__PRIVATE NN__INLINE nn__v16 nn__wino_at0(nn__v16 m0, nn__v16 m1, nn__v16 m2, nn__v16 m3, nn__v16 m4) {
    return nn__v16_add(nn__v16_add(m0, nn__v16_add(m1, m2)), nn__v16_add(m3, m4));
}
NN__PRIVATE NN__INLINE nn__v16 nn__wino_at1(nn__v16 m1, nn__v16 m2, nn__v16 m3, nn__v16 m4, nn__v16 m5) {
    return nn__v16_add(nn__v16_sub(m1, m2), nn__v16_fnma(nn__v16_set(0.5f), m4, nn__v16_fma(nn__v16_set(2.0f), m3, m5)));
}

/* v (36 vectors vs floats apart, point k = 6i + j) = B^T d B for the tile whose (i, j) input is at
   d + (i*ldi + j)*C: 16 channels */
NN__PRIVATE void nn__wino_in(const float *d, int64_t ldi, int64_t C, float *v, int64_t vs) {
    nn__v16 t[36], u[36];
    int i;
    for (i = 0; i < 6; i++) { /* columns: t[6r + i] = (B^T d)[r][i] */
        const float *di = d + i * C;
        nn__wino_bt(t + i, 6, nn__v16_ld(di), nn__v16_ld(di + ldi * C), nn__v16_ld(di + 2 * ldi * C),
                    nn__v16_ld(di + 3 * ldi * C), nn__v16_ld(di + 4 * ldi * C), nn__v16_ld(di + 5 * ldi * C));
    }
    for (i = 0; i < 6; i++) nn__wino_bt(u + 6 * i, 1, t[6 * i], t[6 * i + 1], t[6 * i + 2], t[6 * i + 3], t[6 * i + 4], t[6 * i + 5]);
    for (i = 0; i < 36; i++) nn__v16_st(v + i * vs, u[i]);
}

/* u (36, ci, co layout: point k at u + k*C*OC + ci*OC + co) = G g G^T for every channel pair of the
   weights (OC, C, 5, 5); flip: the input gradient's, g[i][j] = w[ci][co][4-i][4-j] (channels of d
   already swapped). In double (eight or four output channels a vector): G's thirds and fifteenths round
   once. Over threads by (channel block, input channel): the caller's parallel region. */
NN__PRIVATE void nn__wino_weights(const nn_conv2d_desc *d, const float *w, int flip, float *u) {
    const int64_t C = d->C, OC = d->OC, st = flip ? 25 : C * 25;
#ifdef __AVX512F__ /* eight output channels a vector */
#define NN__WD_N 8
#define NN__WD __m512d
    const __m256i idx = _mm256_mullo_epi32(_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7), _mm256_set1_epi32((int)st));
#define NN__WD_GATHER(p) _mm512_cvtps_pd(_mm256_i32gather_ps((p), idx, 4))
#define NN__WD_ZERO _mm512_setzero_pd
#define NN__WD_FMA _mm512_fmadd_pd
#define NN__WD_SET _mm512_set1_pd
#define NN__WD_ST(p, s) _mm256_storeu_ps((p), _mm512_cvtpd_ps(s))
#else /* AVX2: four */
#define NN__WD_N 4
#define NN__WD __m256d
    const __m128i idx = _mm_mullo_epi32(_mm_setr_epi32(0, 1, 2, 3), _mm_set1_epi32((int)st));
#define NN__WD_GATHER(p) _mm256_cvtps_pd(_mm_i32gather_ps((p), idx, 4))
#define NN__WD_ZERO _mm256_setzero_pd
#define NN__WD_FMA _mm256_fmadd_pd
#define NN__WD_SET _mm256_set1_pd
#define NN__WD_ST(p, s) _mm_storeu_ps((p), _mm256_cvtpd_ps(s))
#endif
    int64_t q;
#if NN__OMP
#pragma omp for schedule(static)
#endif
    for (q = 0; q < OC / NN__WD_N * C; q++) {
        const int64_t co = q / C * NN__WD_N, ci = q % C;
        const float *g0 = flip ? w + (ci * OC + co) * 25 : w + (co * C + ci) * 25;
        NN__WD g[25], t[30];
        int i, j, a;
        for (i = 0; i < 25; i++) g[flip ? 24 - i : i] = NN__WD_GATHER(g0 + i);
        for (a = 0; a < 6; a++)
            for (j = 0; j < 5; j++) {
                NN__WD s = NN__WD_ZERO();
                for (i = 0; i < 5; i++) s = NN__WD_FMA(NN__WD_SET(nn__wino_g[a][i]), g[i * 5 + j], s);
                t[a * 5 + j] = s;
            }
        for (a = 0; a < 6; a++)
            for (i = 0; i < 6; i++) {
                NN__WD s = NN__WD_ZERO();
                for (j = 0; j < 5; j++) s = NN__WD_FMA(t[a * 5 + j], NN__WD_SET(nn__wino_g[i][j]), s);
                NN__WD_ST(u + ((a * 6 + i) * C + ci) * OC + co, s);
            }
    }
#undef NN__WD_N
#undef NN__WD
#undef NN__WD_GATHER
#undef NN__WD_ZERO
#undef NN__WD_FMA
#undef NN__WD_SET
#undef NN__WD_ST
}

/* one block's transformed inputs v (36, TB, C): tiles t0 .. t0+nb-1 of the padded image xt
   (rows of Wp pixels); rows nb .. nr-1 zero (the GEMM's last register tile reads them) */
NN__PRIVATE void nn__wino_in_block(const float *xt, int64_t Wp, int64_t C, int64_t TW, int64_t t0, int64_t nb, int64_t nr,
                                   float *v) {
    int64_t t, cb, k;
    for (t = 0; t < nb; t++) {
        const int64_t th = (t0 + t) / TW, tw = (t0 + t) % TW;
        for (cb = 0; cb < C; cb += 16) nn__wino_in(xt + (2 * th * Wp + 2 * tw) * C + cb, Wp, C, v + t * C + cb, NN__WINO_TB * C);
    }
    for (k = 0; k < 36; k++) nn__zero_range(v + (k * NN__WINO_TB + nb) * C, 0, (nr - nb) * C);
}

/* y (N, OC, OH, OW) (+)= the 5x5 convolution of x with w (or the flipped, transposed weights: the
   input gradient) plus b, by Winograd F(2x2, 5x5); slots: per thread, slot floats apart; u: the
   transformed weights */
/* pool: y is instead that 2x2 max pooling of the ReLU of the output, and idx its record
   (nn__conv_pool_forward) */
NN__PRIVATE void nn__wino_forward(const nn_conv2d_desc *d, int64_t N, float *y, const float *x, const float *w, int flip,
                                  const float *b, float *slots, int64_t slot, float *u, int accumulate,
                                  const nn_pool2d_desc *pool, uint8_t *idx) {
    const int64_t C = d->C, OC = d->OC, TH = (d->OH + 1) / 2, TW = (d->OW + 1) / 2, TT = TH * TW;
    const int64_t Hp = 2 * TH + 4, Wp = 2 * TW + 4, P = d->OH * d->OW, nv = OC / 16;
    const int nth = nn__conv_threads(d, N, N * OC * P * C * 25);
    (void)nth;
#if NN__OMP
#pragma omp parallel num_threads(nth)
#endif
    {
#if NN__OMP
        float *xt = slots + omp_get_thread_num() * slot;
#else
        float *xt = slots;
        (void)slot;
#endif
        float *v = xt + Hp * Wp * C, *m = v + 36 * NN__WINO_TB * C, *yt = m + 36 * NN__WINO_TB * OC;
        int64_t n;
        nn__wino_weights(d, w, flip, u); /* (a barrier ends it) */
#if NN__OMP
#pragma omp for schedule(static)
#endif
        for (n = 0; n < N; n++) {
            int64_t t0, o, oh, ow;
            nn__wino_hwc(xt, x + n * C * d->H * d->W, C, d->H, d->W, Hp, Wp, d->PH, d->PW);
            for (t0 = 0; t0 < TT; t0 += NN__WINO_TB) {
                const int64_t nb = TT - t0 < NN__WINO_TB ? TT - t0 : NN__WINO_TB, nr = (nb + 6) / 7 * 7;
                int64_t k, r0, v0, t, ob;
                nn__wino_in_block(xt, Wp, C, TW, t0, nb, nr, v);
                for (k = 0; k < 36; k++)
                    for (r0 = 0; r0 < nr; r0 += 7)
                        for (v0 = 0; v0 < nv; v0 += 4) {
                            const float *a = v + (k * NN__WINO_TB + r0) * C, *bk = u + k * C * OC + v0 * 16;
                            float *c = m + (k * NN__WINO_TB + r0) * OC + v0 * 16;
#if NN__V16_REGS >= 32
                            if (nv - v0 >= 4) nn__wino_mm(7, 4, C, a, C, bk, OC, c, OC);
                            else if (nv - v0 == 3) nn__wino_mm(7, 3, C, a, C, bk, OC, c, OC);
                            else if (nv - v0 == 2) nn__wino_mm(7, 2, C, a, C, bk, OC, c, OC);
                            else nn__wino_mm(7, 1, C, a, C, bk, OC, c, OC);
#else /* (AVX2: 4 + 3 rows by 16 columns at a time) */
                            int64_t j;
                            for (j = 0; j < 4 && v0 + j < nv; j++) {
                                nn__wino_mm(4, 1, C, a, C, bk + 16 * j, OC, c + 16 * j, OC);
                                nn__wino_mm(3, 1, C, a + 4 * C, C, bk + 16 * j, OC, c + 4 * OC + 16 * j, OC);
                            }
#endif
                        }
                for (t = 0; t < nb; t++) { /* Y = A^T M A into the image's output tiles */
                    const int64_t th = (t0 + t) / TW, tw = (t0 + t) % TW;
                    for (ob = 0; ob < OC; ob += 16) {
                        const float *mt = m + t * OC + ob;
                        nn__v16 f0[6], f1[6];
                        int j;
                        for (j = 0; j < 6; j++) { /* columns: f = A^T M */
                            const nn__v16 m0 = nn__v16_ld(mt + j * NN__WINO_TB * OC);
                            const nn__v16 m1 = nn__v16_ld(mt + (6 + j) * NN__WINO_TB * OC);
                            const nn__v16 m2 = nn__v16_ld(mt + (12 + j) * NN__WINO_TB * OC);
                            const nn__v16 m3 = nn__v16_ld(mt + (18 + j) * NN__WINO_TB * OC);
                            const nn__v16 m4 = nn__v16_ld(mt + (24 + j) * NN__WINO_TB * OC);
                            const nn__v16 m5 = nn__v16_ld(mt + (30 + j) * NN__WINO_TB * OC);
                            f0[j] = nn__wino_at0(m0, m1, m2, m3, m4);
                            f1[j] = nn__wino_at1(m1, m2, m3, m4, m5);
                        }
                        for (j = 0; j < 2; j++) { /* rows: Y[j] = f[j] A */
                            const nn__v16 *f = j ? f1 : f0;
                            float *yo = yt + ((2 * th + j) * 2 * TW + 2 * tw) * OC + ob;
                            nn__v16_st(yo, nn__wino_at0(f[0], f[1], f[2], f[3], f[4]));
                            nn__v16_st(yo + OC, nn__wino_at1(f[1], f[2], f[3], f[4], f[5]));
                        }
                    }
                }
            }
#ifndef NN_NO_TRAINING
            if (pool) { /* (the image's transformed tiles in m are used: its room holds the pooling's) */
                nn__pool_hwc(pool, OC, 2 * TW, yt, b, m, y + n * OC * pool->OH * pool->OW,
                             idx + n * OC * pool->OH * pool->OW);
                continue;
            }
#else
            (void)pool; (void)idx;
#endif
            for (o = 0; o < OC; o += 8) /* (pixels, OC) tiles to the image's planes, with the bias */
                for (oh = 0; oh < d->OH; oh++) {
                    const float *src = yt + oh * 2 * TW * OC + o;
                    float *yo = y + (n * OC + o) * P + oh * d->OW, blk[64];
                    int64_t j;
                    for (ow = 0; ow < d->OW; ow += 8) { /* a last block of fewer pixels reads the
                                                              slot's spare row, stores under a mask */
                        const __m256i m = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)(d->OW - ow)),
                                                             _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
                        nn__transpose8(blk, 8, src + ow * OC, OC);
                        for (j = 0; j < 8; j++) {
                            __m256 r = _mm256_add_ps(_mm256_loadu_ps(blk + 8 * j), _mm256_set1_ps(b ? b[o + j] : 0.0f));
                            if (accumulate) r = _mm256_add_ps(_mm256_maskload_ps(yo + j * P + ow, m), r);
                            _mm256_maskstore_ps(yo + j * P + ow, m, r);
                        }
                    }
                }
        }
    }
}

/* the forward pass by Winograd in the workspace's slots (pool, idx: nn__wino_forward's) */
NN__PRIVATE void nn__wino_conv(const nn_conv2d_desc *d, int64_t N, float *y, const float *x, const float *w,
                               const float *b, float *ws, const nn_pool2d_desc *pool, uint8_t *idx) {
    const int64_t slot = nn__conv_slot(d, N);
    nn__wino_forward(d, N, y, x, w, 0, b, ws, slot, ws + (d->T > 0 ? d->T : 1) * slot, 0, pool, idx);
}
#endif /* NN__CONV_DIRECT */

/* >>kernels-conv-entry: nn_conv2d_forward / backward, which dispatch to the methods above */
/* Forward and input gradient are independent per image: each thread takes whole chunks with
   its own buffers and single-threaded GEMMs, so no barrier falls inside a chunk. */
NNDEF void nn_conv2d_forward(const nn_conv2d_desc *d, int64_t N, float *y, const float *x, const float *w,
                             const float *b, float *ws) {
    const int64_t cg = d->C / d->G, ocg = d->OC / d->G, kg = cg * d->KH * d->KW, P = d->OH * d->OW;
    const int64_t chunk = nn__conv_chunk(d, N), nchunks = (N + chunk - 1) / chunk;
    const int nth = nn__conv_threads(d, nchunks, N * d->OC * P * kg);
    int64_t c;
    (void)nth;
    if (nn__conv_is_depthwise(d)) { nn__dw_forward(d, N, y, x, w, b); return; }
#ifdef NN__CONV_DIRECT
    if (nn__conv_wino(d)) { nn__wino_conv(d, N, y, x, w, b, ws, NULL, NULL); return; }
    if (nn__conv_is_direct(d)) { nn__conv_direct_forward(d, N, y, x, w, b, ws); return; }
#endif
#if NN__OMP
#pragma omp parallel for schedule(static) num_threads(nth)
#endif
    for (c = 0; c < nchunks; c++) {
        float *col = nn__conv_my_slot(d, ws, N);
        float *yt = col + kg * chunk * P, *gws = yt + ocg * chunk * P;
        const int64_t n0 = c * chunk, cn = N - n0 < chunk ? N - n0 : chunk, ld = cn * P;
        int64_t g, t, p;
        for (g = 0; g < d->G; g++) {
            nn__im2col(d, x, g, n0, cn, col, ld);
            if (cn == 1 && d->G == 1) { /* one image: the GEMM layout is NCHW already */
                float *yn = y + n0 * d->OC * P;
                nn__gemm_packed(0, 0, ocg, P, kg, 1.0f, w, kg, col, P, 0.0f, yn, P, NULL, NULL, gws, 1, 0);
                if (b) for (t = 0; t < ocg; t++) for (p = 0; p < P; p++) yn[t * P + p] += b[t];
                continue;
            }
            /* Y' (OCg, cn*P) = W_g (OCg, Kg) . col (Kg, cn*P), then scattered to NCHW with the bias */
            nn__gemm_packed(0, 0, ocg, ld, kg, 1.0f, w + g * ocg * kg, kg, col, ld, 0.0f, yt, ld, NULL, NULL, gws, 1, 0);
            for (t = 0; t < cn * ocg; t++) {
                const int64_t j = t / ocg, o = t % ocg;
                const float bo = b ? b[g * ocg + o] : 0.0f, *src = yt + o * ld + j * P;
                float *dst = y + ((n0 + j) * d->OC + g * ocg + o) * P;
                for (p = 0; p < P; p++) dst[p] = src[p] + bo;
            }
        }
    }
}

#ifndef NN_NO_TRAINING
/* dY' (OCg, cn*P): a chunk's output gradient in GEMM layout; one image without groups is in
   that layout already, so it is returned in place */
NN__PRIVATE const float *nn__conv_dy(const nn_conv2d_desc *d, const float *dy, int64_t g, int64_t n0, int64_t cn,
                                     float *dyt) {
    const int64_t ocg = d->OC / d->G, P = d->OH * d->OW, ld = cn * P;
    int64_t t;
    if (cn == 1 && d->G == 1) return dy + n0 * d->OC * P;
    for (t = 0; t < cn * ocg; t++) {
        const int64_t j = t / ocg, o = t % ocg;
        memcpy(dyt + o * ld + j * P, dy + ((n0 + j) * d->OC + g * ocg + o) * P, sizeof(float) * (size_t)P);
    }
    return dyt;
}

/* up: dy given by a pooling instead (nn__unpool), where nn__conv_unpool_ok */
NN__PRIVATE void nn__conv2d_backward(const nn_conv2d_desc *d, int64_t N, float *dx, float *dw, float *db,
                                     const float *dy, const nn__unpool *up, const float *x, const float *w, float *ws) {
    const int64_t cg = d->C / d->G, ocg = d->OC / d->G, kg = cg * d->KH * d->KW, P = d->OH * d->OW;
    const int64_t chunk = nn__conv_chunk(d, N), nchunks = (N + chunk - 1) / chunk;
    const int nth = nn__conv_threads(d, nchunks, N * d->OC * P * kg);
    const int64_t cdw = nn__conv_chunk_dw(d, N), ndw = (N + cdw - 1) / cdw;
    float *dwcol = ws + (d->T > 0 ? d->T : 1) * nn__conv_slot(d, N), *dwdy = dwcol + kg * cdw * P;
    float *gws_all = dwdy + ocg * cdw * P;
    int64_t c, o;
    (void)nth;
    (void)up; /* (only the direct kernels take it: nn__conv_unpool_ok) */
    if (nn__conv_is_depthwise(d)) { nn__dw_backward(d, N, dx, dw, db, dy, x, w); return; }
#ifdef NN__CONV_DIRECT
    if (nn__conv_direct_dw_ok(d) && nn__conv_dw_lanes(d)) c = 1; /* its weight gradient sums db */
    else
#endif
        c = 0;
    if (db && !c) {
        NN__OMP_FOR_IF(N * d->OC * P >= 4 * NN_OMP_MIN_WORK && d->OC > 1) /* (each channel's sum in one order) */
        for (o = 0; o < d->OC; o++) {
            float s = 0.0f;
            int64_t n;
            for (n = 0; n < N; n++) s += nn__sum(dy + (n * d->OC + o) * P, P);
            db[o] = s;
        }
    }
    /* weight gradient: a sum over images, so chunks in order with the GEMM threaded inside */
#ifdef NN__CONV_DIRECT
    if (nn__conv_direct_dw_ok(d)) nn__conv_direct_dw(d, N, dw, db, dy, up, x, ws, dwcol);
    else
#endif
    for (c = 0; c < ndw; c++) {
        const int64_t n0 = c * cdw, cn = N - n0 < cdw ? N - n0 : cdw, ld = cn * P;
        int64_t g;
        for (g = 0; g < d->G; g++) {
            const float *dyg = nn__conv_dy(d, dy, g, n0, cn, dwdy);
            nn__im2col(d, x, g, n0, cn, dwcol, ld);
            nn__gemm_cap(0, 1, ocg, kg, ld, 1.0f, dyg, ld, dwcol, ld, c == 0 ? 0.0f : 1.0f, dw + g * ocg * kg, kg, NULL,
                         NULL, gws_all, nn__conv_dw_gemm_ws(d, N));
        }
    }
    if (!dx) return;
#ifdef NN__CONV_DIRECT
    {
        const nn_conv2d_desc t = nn__wino_dx_desc(d);
        if (nn__conv_wino(&t)) {
            const int64_t slot = nn__conv_slot(d, N);
            nn__wino_forward(&t, N, dx, dy, w, 1, NULL, ws, slot, ws + (d->T > 0 ? d->T : 1) * slot, 1, NULL, NULL);
            return;
        }
    }
    if (nn__conv_is_direct(d)) { nn__conv_direct_dx(d, N, dx, dy, w, ws); return; }
#endif
    /* input gradient: independent per image, chunks split over threads */
#if NN__OMP
#pragma omp parallel for schedule(static) num_threads(nth)
#endif
    for (c = 0; c < nchunks; c++) {
        float *dcol = nn__conv_my_slot(d, ws, N);
        float *dyt = dcol + kg * chunk * P, *gws = dyt + ocg * chunk * P;
        const int64_t n0 = c * chunk, cn = N - n0 < chunk ? N - n0 : chunk, ld = cn * P;
        int64_t g;
        for (g = 0; g < d->G; g++) {
            const float *dyg = nn__conv_dy(d, dy, g, n0, cn, dyt);
            /* dcol (Kg, cn*P) = W_g^T . dY', then added into the images */
            nn__gemm_packed(1, 0, kg, ld, ocg, 1.0f, w + g * ocg * kg, kg, dyg, ld, 0.0f, dcol, ld, NULL, NULL, gws, 1, 0);
            nn__col2im(d, dcol, g, n0, cn, dx, ld);
        }
    }
}
NNDEF void nn_conv2d_backward(const nn_conv2d_desc *d, int64_t N, float *dx, float *dw, float *db,
                              const float *dy, const float *x, const float *w, float *ws) {
    nn__conv2d_backward(d, N, dx, dw, db, dy, NULL, x, w, ws);
}
/* the weight gradient's lanes kernel rebuilds dy from a pooling's gradient (no input gradient) */
NN__PRIVATE int nn__conv_unpool_ok(const nn_conv2d_desc *d) {
#ifdef NN__CONV_DIRECT
    return !nn__conv_is_depthwise(d) && nn__conv_direct_dw_ok(d) && nn__conv_dw_lanes(d);
#else
    (void)d;
    return 0;
#endif
}
#endif /* NN_NO_TRAINING */

/* >>kernels-pool: general and 2x2 pooling, and the fused convolution + ReLU + 2x2 max pooling */
NNDEF nn_result nn_pool2d_desc_init(nn_pool2d_desc *d) {
    if (d->C < 1 || d->H < 1 || d->W < 1 || d->KH < 1 || d->KW < 1 || d->SH < 1 || d->SW < 1 || d->PH < 0 || d->PW < 0)
        return nn__fail(NN_ERR_INVALID_ARG, "pool2d: sizes and strides must be >= 1, padding >= 0");
    if (2 * d->PH > d->KH || 2 * d->PW > d->KW)
        return nn__fail(NN_ERR_INVALID_ARG, "pool2d: padding %lx%l is more than half the %lx%l kernel", d->PH, d->PW, d->KH, d->KW);
    if (d->H + 2 * d->PH < d->KH || d->W + 2 * d->PW < d->KW)
        return nn__fail(NN_ERR_SHAPE, "pool2d: the %lx%l window is larger than the padded %lx%l input", d->KH, d->KW,
                        d->H + 2 * d->PH, d->W + 2 * d->PW);
    d->OH = (d->H + 2 * d->PH - d->KH) / d->SH + 1;
    d->OW = (d->W + 2 * d->PW - d->KW) / d->SW + 1;
    return NN_OK;
}

/* the window of output (oh, ow) clipped to the image; *count is torch's divisor */
/* the window of output (oh, ow) clipped to the image, and avg's divisor (padding counts);
   host-and-device, shared with nn_cuda.h */
static NN_HD inline void nn__pool_window(const nn_pool2d_desc *d, int64_t oh, int64_t ow, int64_t *h0, int64_t *h1,
                                         int64_t *w0, int64_t *w1, int64_t *count) {
    int64_t hs = oh * d->SH - d->PH, wsr = ow * d->SW - d->PW;
    int64_t he = hs + d->KH < d->H + d->PH ? hs + d->KH : d->H + d->PH;
    int64_t we = wsr + d->KW < d->W + d->PW ? wsr + d->KW : d->W + d->PW;
    *count = (he - hs) * (we - wsr);
    *h0 = hs < 0 ? 0 : hs; *w0 = wsr < 0 ? 0 : wsr;
    *h1 = he > d->H ? d->H : he; *w1 = we > d->W ? d->W : we;
}

/* the first maximum of a window (a NaN counts as one and stays), -1 if the window is empty */
static NN_HD inline int64_t nn__pool_argmax(const nn_pool2d_desc *d, const float *xc, int64_t oh, int64_t ow) {
    int64_t h0, h1, w0, w1, cnt, h, w, best = -1;
    float v = 0.0f;
    nn__pool_window(d, oh, ow, &h0, &h1, &w0, &w1, &cnt);
    for (h = h0; h < h1; h++)
        for (w = w0; w < w1; w++) {
            const float e = xc[h * d->W + w];
            if (best >= 0 && (v != v || !(e > v || e != e))) continue;
            v = e;
            best = h * d->W + w;
        }
    return best;
}

/* 2x2 stride-2 max pooling without padding (most CNNs): the window needs no clipping. The
   first maximum wins ties and NaN propagates, as in the general path and in torch. */
NN__PRIVATE int nn__pool_is_2x2(const nn_pool2d_desc *d) {
    return d->kind == NN_POOL_MAX && d->KH == 2 && d->KW == 2 && d->SH == 2 && d->SW == 2 && d->PH == 0 && d->PW == 0;
}

#if defined(NN__V16)
/* the low bytes of eight int32 (records, 0..7) to dst[0 .. n) */
static inline void nn__u8x8_store(uint8_t *dst, __m256i q, int64_t n) {
    const __m128i w = _mm_packs_epi32(_mm256_castsi256_si128(q), _mm256_extracti128_si256(q, 1));
    const __m128i v = _mm_packus_epi16(w, w);
    if (n >= 8) _mm_storel_epi64((__m128i *)(void *)dst, v);
    else {
        uint8_t t[16];
        _mm_storeu_si128((__m128i *)(void *)t, v);
        memcpy(dst, t, (size_t)n);
    }
}
#endif
#if defined(__AVX512F__) && !defined(NN_NO_SIMD)
/* One vector step of 2x2 stride-2 pooling: n <= 16 outputs whose windows' upper inputs are in
   the halves [r0, r0 + 16) and [r0 + h1, r0 + h1 + 16) (lanes m0, m1), their lower ones at r1 =
   r0 + W likewise; ev/od: each output's left and right input in (half 0, half 1); shift: the
   first output whose inputs are in half 1 is output shift's pair. One row of up to 16 outputs:
   h1 = 16, shift 8. Rows of 8 or fewer outputs go two at a time (pool2 of the CNN, 7 wide: 14
   lanes of 16 instead of 7): h1 = 2W, the next row pair, shift = OW. */
typedef struct nn__p2 {
    int n, shift, rows;
    int64_t h1;
    __mmask16 m0, m1;
    __m512i ev, od;
} nn__p2;
static inline nn__p2 nn__p2_step(const nn_pool2d_desc *d, int64_t oh, int64_t ow) {
    const __m512i j2 = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    nn__p2 s;
    if (d->OW <= 8 && oh + 1 < d->OH) {
        s.n = 2 * (int)d->OW; s.shift = (int)d->OW; s.rows = 2; s.h1 = 2 * d->W;
        s.m0 = s.m1 = (__mmask16)((1u << s.n) - 1u);
        s.ev = _mm512_mask_add_epi32(j2, _mm512_cmpge_epi32_mask(j2, _mm512_set1_epi32(s.n)), j2,
                                     _mm512_set1_epi32(16 - s.n));
    } else {
        s.n = d->OW - ow < 16 ? (int)(d->OW - ow) : 16; s.shift = 8; s.rows = 1; s.h1 = 16;
        s.m0 = (__mmask16)(s.n >= 8 ? 0xffffu : (1u << (2 * s.n)) - 1u);
        s.m1 = (__mmask16)(s.n > 8 ? (1u << (2 * s.n - 16)) - 1u : 0u);
        s.ev = j2;
    }
    s.od = _mm512_add_epi32(s.ev, _mm512_set1_epi32(1));
    return s;
}
/* a plane's steps, made once rather than per vector: a row's first (and middle) chunks, or two
   rows a vector (sa); the same on the last row (sb); a row's last chunk when it takes several (sc) */
typedef struct nn__p2s {
    nn__p2 sa, sb, sc;
} nn__p2s;
static inline void nn__p2_plane(const nn_pool2d_desc *d, nn__p2s *p) {
    p->sa = nn__p2_step(d, 0, 0);
    p->sb = nn__p2_step(d, d->OH - 1, 0);
    p->sc = nn__p2_step(d, d->OH - 1, (d->OW - 1) / 16 * 16);
}
static inline const nn__p2 *nn__p2_pick(const nn_pool2d_desc *d, const nn__p2s *p, int64_t oh, int64_t ow) {
    return ow > 0 && ow + 16 >= d->OW ? &p->sc : oh + 1 < d->OH ? &p->sa : &p->sb;
}
/* the maxima of sixteen windows' candidates v0..v3 (upper left, upper right, lower left, lower
   right), and in sel[q] the windows whose first maximum is candidate q, a NaN counting as the
   largest: the scalar path's nn__max_arg4, sixteen at a time; nn__pool2x2_v16: those of a step's
   windows */
static inline __m512 nn__max4_v16(__m512 v0, __m512 v1, __m512 v2, __m512 v3, __mmask16 *sel) {
    const __m512 mx = _mm512_max_ps(_mm512_max_ps(v0, v1), _mm512_max_ps(v2, v3));
    const __m512 sum = _mm512_add_ps(_mm512_add_ps(v0, v1), _mm512_add_ps(v2, v3));
    __mmask16 c0, c1, c2, c01, c012;
    if (!_mm512_cmp_ps_mask(sum, sum, _CMP_UNORD_Q)) { /* no NaN (inf - inf also goes the long way) */
        c0 = _mm512_cmp_ps_mask(v0, mx, _CMP_EQ_OQ);
        c1 = _mm512_cmp_ps_mask(v1, mx, _CMP_EQ_OQ);
        c2 = _mm512_cmp_ps_mask(v2, mx, _CMP_EQ_OQ);
    } else {
        const __mmask16 n0 = _mm512_cmp_ps_mask(v0, v0, _CMP_UNORD_Q), n1 = _mm512_cmp_ps_mask(v1, v1, _CMP_UNORD_Q);
        const __mmask16 n2 = _mm512_cmp_ps_mask(v2, v2, _CMP_UNORD_Q), n3 = _mm512_cmp_ps_mask(v3, v3, _CMP_UNORD_Q);
        const __mmask16 any = _mm512_kor(_mm512_kor(n0, n1), _mm512_kor(n2, n3));
        /* candidates: the NaNs where a window has one, else the values equal to its maximum;
           the first candidate wins */
        c0 = _mm512_kor(_mm512_kand(any, n0), _mm512_mask_cmp_ps_mask(_mm512_knot(any), v0, mx, _CMP_EQ_OQ));
        c1 = _mm512_kor(_mm512_kand(any, n1), _mm512_mask_cmp_ps_mask(_mm512_knot(any), v1, mx, _CMP_EQ_OQ));
        c2 = _mm512_kor(_mm512_kand(any, n2), _mm512_mask_cmp_ps_mask(_mm512_knot(any), v2, mx, _CMP_EQ_OQ));
    }
    c01 = _mm512_kor(c0, c1);
    c012 = _mm512_kor(c01, c2);
    sel[0] = c0;
    sel[1] = _mm512_kandn(c0, c1);
    sel[2] = _mm512_kandn(c01, c2);
    sel[3] = _mm512_knot(c012);
    return _mm512_mask_mov_ps(_mm512_mask_mov_ps(_mm512_mask_mov_ps(v3, sel[2], v2), sel[1], v1), c0, v0);
}
static inline __m512 nn__pool2x2_v16(const float *r0, const float *r1, const nn__p2 *s, __mmask16 *sel) {
    const __m512 a0 = _mm512_maskz_loadu_ps(s->m0, r0), a1 = _mm512_maskz_loadu_ps(s->m1, r0 + s->h1);
    const __m512 b0 = _mm512_maskz_loadu_ps(s->m0, r1), b1 = _mm512_maskz_loadu_ps(s->m1, r1 + s->h1);
    return nn__max4_v16(_mm512_permutex2var_ps(a0, s->ev, a1), _mm512_permutex2var_ps(a0, s->od, a1),
                        _mm512_permutex2var_ps(b0, s->ev, b1), _mm512_permutex2var_ps(b0, s->od, b1), sel);
}
/* the ReLU of maxima m, and in q their record bytes (nn__pool2x2_forward) */
static inline __m512 nn__pool_rec16(__m512 m, const __mmask16 *sel, __m512i *q) {
    const __mmask16 pos = _mm512_cmp_ps_mask(m, _mm512_setzero_ps(), _CMP_GT_OQ); /* (x > 0 ? x : 0, as nn__relu_range) */
    __m512i r = _mm512_maskz_mov_epi32(sel[1], _mm512_set1_epi32(1));
    r = _mm512_mask_mov_epi32(r, sel[2], _mm512_set1_epi32(2));
    r = _mm512_mask_mov_epi32(r, sel[3], _mm512_set1_epi32(3));
    *q = _mm512_mask_add_epi32(r, _mm512_knot(pos), r, _mm512_set1_epi32(4));
    return _mm512_maskz_mov_ps(pos, m);
}
#ifndef NN_NO_TRAINING
/* dx rows (d0, d1) (and their halves h1 on) += each of a step's outputs' gradient gv at its
   window's first maximum (acc), or = (the other positions get +0.0). Adding -0.0 elsewhere
   leaves every value (signed zeros included) as it was. spill: full-width stores, in address
   order, whose lanes past the row land in rows that are written after (masked loads right
   after stores to the same lines stall this core). */
static inline void nn__pool2x2_back_v16(float *d0, float *d1, __m512 gv, const nn__p2 *s, const __mmask16 *sel, int acc,
                                        int spill) {
    const __m512i il = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
    const __m512i ih = _mm512_add_epi32(il, _mm512_set1_epi32(s->shift));
    const __m512 nz = _mm512_set1_ps(-0.0f), z = _mm512_setzero_ps();
    const __m512 c0 = _mm512_mask_mov_ps(nz, sel[0], gv), c1 = _mm512_mask_mov_ps(nz, sel[1], gv);
    const __m512 c2 = _mm512_mask_mov_ps(nz, sel[2], gv), c3 = _mm512_mask_mov_ps(nz, sel[3], gv);
    const int hi = s->m1 != 0;
    float *e0 = d0 + s->h1, *e1 = d1 + s->h1;
    const __m512 v0 = _mm512_add_ps(acc ? _mm512_maskz_loadu_ps(s->m0, d0) : z, _mm512_permutex2var_ps(c0, il, c1));
    const __m512 v1 = _mm512_add_ps(acc ? _mm512_maskz_loadu_ps(s->m0, d1) : z, _mm512_permutex2var_ps(c2, il, c3));
    const __m512 v2 = _mm512_add_ps(acc && hi ? _mm512_maskz_loadu_ps(s->m1, e0) : z, _mm512_permutex2var_ps(c0, ih, c1));
    const __m512 v3 = _mm512_add_ps(acc && hi ? _mm512_maskz_loadu_ps(s->m1, e1) : z, _mm512_permutex2var_ps(c2, ih, c3));
    if (spill) { /* a store's spilled lanes are overwritten by the next */
        _mm512_storeu_ps(d0, v0);
        if (hi && e0 < d1) _mm512_storeu_ps(e0, v2);
        _mm512_storeu_ps(d1, v1);
        if (hi && e0 > d1) _mm512_storeu_ps(e0, v2);
        if (hi) _mm512_storeu_ps(e1, v3);
        return;
    }
    _mm512_mask_storeu_ps(d0, s->m0, v0);
    _mm512_mask_storeu_ps(d1, s->m0, v1);
    if (hi) { _mm512_mask_storeu_ps(e0, s->m1, v2); _mm512_mask_storeu_ps(e1, s->m1, v3); }
}
#endif /* NN_NO_TRAINING */
#elif !defined(NN__V16)
NN__PRIVATE int nn__max_arg4(const float *v) { /* index of the first maximum (a NaN counts as one) */
    int best = 0, q;
    for (q = 1; q < 4; q++) if (v[q] > v[best] || (v[q] != v[q] && v[best] == v[best])) best = q;
    return best;
}
/* one window's output from its candidates v, and where ic, its ReLU and record byte */
NN__PRIVATE float nn__pool_win(const float *v, uint8_t *ic) {
    const int q = nn__max_arg4(v);
    if (ic) *ic = (uint8_t)(v[q] > 0.0f ? q : q + 4);
    return !ic || v[q] > 0.0f ? v[q] : 0.0f;
}
#else /* AVX2: eight windows a vector, the same comparisons as nn__max_arg4 */
/* the maxima of eight windows' candidates v0..v3 (as nn__max4_v16), and in sel[q] all ones
   where a window's first maximum is candidate q, a NaN counting as the largest */
static inline __m256 nn__max4_v8(__m256 v0, __m256 v1, __m256 v2, __m256 v3, __m256 *sel) {
    const __m256 mx = _mm256_max_ps(_mm256_max_ps(v0, v1), _mm256_max_ps(v2, v3));
    const __m256 sum = _mm256_add_ps(_mm256_add_ps(v0, v1), _mm256_add_ps(v2, v3));
    __m256 c0 = _mm256_cmp_ps(v0, mx, _CMP_EQ_OQ), c1 = _mm256_cmp_ps(v1, mx, _CMP_EQ_OQ);
    __m256 c2 = _mm256_cmp_ps(v2, mx, _CMP_EQ_OQ), c01, c012;
    if (_mm256_movemask_ps(_mm256_cmp_ps(sum, sum, _CMP_UNORD_Q))) { /* windows with a NaN: its first */
        const __m256 n0 = _mm256_cmp_ps(v0, v0, _CMP_UNORD_Q), n1 = _mm256_cmp_ps(v1, v1, _CMP_UNORD_Q);
        const __m256 n2 = _mm256_cmp_ps(v2, v2, _CMP_UNORD_Q), n3 = _mm256_cmp_ps(v3, v3, _CMP_UNORD_Q);
        const __m256 any = _mm256_or_ps(_mm256_or_ps(n0, n1), _mm256_or_ps(n2, n3));
        c0 = _mm256_blendv_ps(c0, n0, any);
        c1 = _mm256_blendv_ps(c1, n1, any);
        c2 = _mm256_blendv_ps(c2, n2, any);
    }
    c01 = _mm256_or_ps(c0, c1);
    c012 = _mm256_or_ps(c01, c2);
    sel[0] = c0;
    sel[1] = _mm256_andnot_ps(c0, c1);
    sel[2] = _mm256_andnot_ps(c01, c2);
    sel[3] = _mm256_andnot_ps(c012, _mm256_castsi256_ps(_mm256_set1_epi32(-1)));
    return _mm256_blendv_ps(_mm256_blendv_ps(_mm256_blendv_ps(v3, v2, sel[2]), v1, sel[1]), v0, c0);
}
/* the ReLU of maxima m, and in q their record (nn__pool_win's bytes, as int32) */
static inline __m256 nn__pool_rec8(__m256 m, const __m256 *sel, __m256i *q) {
    const __m256 pos = _mm256_cmp_ps(m, _mm256_setzero_ps(), _CMP_GT_OQ);
    const __m256i r = _mm256_or_si256(_mm256_and_si256(_mm256_castps_si256(sel[1]), _mm256_set1_epi32(1)),
                                      _mm256_and_si256(_mm256_castps_si256(sel[2]), _mm256_set1_epi32(2)));
    *q = _mm256_or_si256(_mm256_or_si256(r, _mm256_and_si256(_mm256_castps_si256(sel[3]), _mm256_set1_epi32(3))),
                         _mm256_andnot_si256(_mm256_castps_si256(pos), _mm256_set1_epi32(4)));
    return _mm256_and_ps(pos, m);
}
/* the candidates of n <= 8 windows from rows r0, r1 (2n floats each): left and right inputs */
static inline void nn__p2_load8(const float *r0, const float *r1, int64_t n, __m256 *v) {
    const nn__m16 m = nn__m16_first(2 * n);
    const __m256 a0 = n == 8 ? _mm256_loadu_ps(r0) : _mm256_maskload_ps(r0, m.lo);
    const __m256 a1 = n == 8 ? _mm256_loadu_ps(r0 + 8) : _mm256_maskload_ps(r0 + 8, m.hi);
    const __m256 b0 = n == 8 ? _mm256_loadu_ps(r1) : _mm256_maskload_ps(r1, m.lo);
    const __m256 b1 = n == 8 ? _mm256_loadu_ps(r1 + 8) : _mm256_maskload_ps(r1 + 8, m.hi);
#define NN__DEINT(a, b, imm) _mm256_castpd_ps(_mm256_permute4x64_pd( \
        _mm256_castps_pd(_mm256_shuffle_ps(a, b, imm)), _MM_SHUFFLE(3, 1, 2, 0)))
    v[0] = NN__DEINT(a0, a1, _MM_SHUFFLE(2, 0, 2, 0));
    v[1] = NN__DEINT(a0, a1, _MM_SHUFFLE(3, 1, 3, 1));
    v[2] = NN__DEINT(b0, b1, _MM_SHUFFLE(2, 0, 2, 0));
    v[3] = NN__DEINT(b0, b1, _MM_SHUFFLE(3, 1, 3, 1));
#undef NN__DEINT
}
#ifndef NN_NO_TRAINING
/* dx rows d0, d1 (2n floats each) (+)= (load) each of n <= 8 outputs' gradient gv at its window's
   first maximum sel, +0.0 elsewhere (as nn__pool2x2_back_v16) */
static inline void nn__pool2x2_back8(float *d0, float *d1, __m256 gv, const __m256 *sel, int load, int64_t n) {
    const __m256 nz = _mm256_set1_ps(-0.0f);
    const __m256 c0 = _mm256_blendv_ps(nz, gv, sel[0]), c1 = _mm256_blendv_ps(nz, gv, sel[1]);
    const __m256 c2 = _mm256_blendv_ps(nz, gv, sel[2]), c3 = _mm256_blendv_ps(nz, gv, sel[3]);
    const __m256 l0 = _mm256_unpacklo_ps(c0, c1), h0 = _mm256_unpackhi_ps(c0, c1);
    const __m256 l1 = _mm256_unpacklo_ps(c2, c3), h1 = _mm256_unpackhi_ps(c2, c3);
    const __m256 x[4] = {_mm256_permute2f128_ps(l0, h0, 0x20), _mm256_permute2f128_ps(l0, h0, 0x31),
                         _mm256_permute2f128_ps(l1, h1, 0x20), _mm256_permute2f128_ps(l1, h1, 0x31)};
    const nn__m16 m = nn__m16_first(2 * n);
    int k;
    for (k = 0; k < 4; k++) {
        float *p = (k < 2 ? d0 : d1) + 8 * (k % 2);
        const __m256i mk = k % 2 ? m.hi : m.lo;
        const __m256 v = _mm256_add_ps(load ? _mm256_maskload_ps(p, mk) : _mm256_setzero_ps(), x[k]);
        if (n == 8) _mm256_storeu_ps(p, v);
        else _mm256_maskstore_ps(p, mk, v);
    }
}
#endif /* NN_NO_TRAINING */
#endif

/* The 2x2 stride-2 pooling. idx NULL: y = the maxima. Else y = their ReLU (the fused ReLU before
   the pooling: nn__plan_fuse) and idx a byte per output for backward, which then reads neither x
   nor y: the first maximum's place q (0..3: r0[2i], r0[2i+1], r1[2i], r1[2i+1]), plus 4 where the
   output is not positive (its gradient is 0). */
#if defined(__AVX512F__) && !defined(NN_NO_SIMD)
typedef nn__p2s nn__p2plan;
#else
typedef int nn__p2plan;
#endif
NN__PRIVATE void nn__pool2x2_plan(const nn_pool2d_desc *d, nn__p2plan *ps) {
#if defined(__AVX512F__) && !defined(NN_NO_SIMD)
    nn__p2_plane(d, ps);
#else
    (void)d; *ps = 0;
#endif
}
/* Output row oh of a plane (yc, ic: the plane's outputs and record) from input rows r0, r1 = r0 +
   W; returns the rows done (two where a vector takes two rows, which then reads r0 + 2W, r0 +
   3W). Stores may spill past the row onto outputs of the plane that are written later. */
NN__PRIVATE int64_t nn__pool2x2_row(const nn_pool2d_desc *d, const nn__p2plan *ps, int64_t oh, const float *r0,
                                    const float *r1, float *yc, uint8_t *ic) {
    int64_t ow, step = 1;
#if defined(__AVX512F__) && !defined(NN_NO_SIMD)
    for (ow = 0; ow < d->OW; ow += 16) {
        const nn__p2 *s = nn__p2_pick(d, ps, oh, ow);
        const __mmask16 nm = (__mmask16)((1u << s->n) - 1u);
        __mmask16 sel[4];
        __m512 m = nn__pool2x2_v16(r0 + 2 * ow, r1 + 2 * ow, s, sel);
        step = s->rows;
        if (ic) {
            __m512i q;
            m = nn__pool_rec16(m, sel, &q);
            /* a whole 16-byte store where its spill lands on later outputs of the plane (the
               masked narrowing store is microcoded on Zen 4/5: pool1 forward 2x slower) */
            if (oh * d->OW + ow + 16 <= d->OH * d->OW)
                _mm_storeu_si128((__m128i *)(void *)(ic + oh * d->OW + ow), _mm512_cvtepi32_epi8(q));
            else _mm512_mask_cvtepi32_storeu_epi8(ic + oh * d->OW + ow, nm, q);
        }
        /* rows of one vector: lanes past the row land in later rows of the plane */
        if (d->OW <= 16 && oh * d->OW + 16 <= d->OH * d->OW) _mm512_storeu_ps(yc + oh * d->OW, m);
        else _mm512_mask_storeu_ps(yc + oh * d->OW + ow, nm, m);
    }
#elif defined(NN__V16)
    (void)ps;
    for (ow = 0; ow < d->OW; ow += 8) {
        const int64_t n = d->OW - ow < 8 ? d->OW - ow : 8;
        __m256 v[4], sel[4], m;
        nn__p2_load8(r0 + 2 * ow, r1 + 2 * ow, n, v);
        m = nn__max4_v8(v[0], v[1], v[2], v[3], sel);
        if (ic) {
            __m256i q;
            m = nn__pool_rec8(m, sel, &q);
            nn__u8x8_store(ic + oh * d->OW + ow, q, n);
        }
        if (n == 8) _mm256_storeu_ps(yc + oh * d->OW + ow, m);
        else _mm256_maskstore_ps(yc + oh * d->OW + ow, nn__m16_first(n).lo, m);
    }
#else
    (void)ps;
    for (ow = 0; ow < d->OW; ow++) {
        float v[4];
        v[0] = r0[2 * ow]; v[1] = r0[2 * ow + 1]; v[2] = r1[2 * ow]; v[3] = r1[2 * ow + 1];
        yc[oh * d->OW + ow] = nn__pool_win(v, ic ? ic + oh * d->OW + ow : NULL);
    }
#endif
    return step;
}
NN__PRIVATE void nn__pool2x2_forward(const nn_pool2d_desc *d, int64_t N, float *y, uint8_t *idx, const float *x) {
    int64_t t;
    nn__p2plan ps;
    nn__pool2x2_plan(d, &ps);
    NN__OMP_FOR_IF(N * d->C * d->H * d->W >= NN_OMP_MIN_WORK) /* the work is reading x */
    for (t = 0; t < N * d->C; t++) {
        const float *xc = x + t * d->H * d->W;
        float *yc = y + t * d->OH * d->OW;
        uint8_t *ic = idx ? idx + t * d->OH * d->OW : NULL;
        int64_t oh;
        for (oh = 0; oh < d->OH;) oh += nn__pool2x2_row(d, &ps, oh, xc + 2 * oh * d->W, xc + (2 * oh + 1) * d->W, yc, ic);
    }
}

#ifndef NN_NO_TRAINING
/* A convolution, its ReLU and their 2x2 max pooling in one pass (nn__conv_pool_fwd), where the
   convolution takes the row kernel: two rows of outputs at a time into a tile in the thread's
   slot (after the padded planes), pooled from there with its record, so that the convolution's
   output (the CNN's 6.4 MB at batch 64) is neither written nor read back. Each output is the row
   kernel's, and each pooled row the pooling's, so the results are the same bits. p: the pooling
   of (OC, OH, OW); more than 8 outputs a row (one row a vector step). Where it takes the lanes
   kernel (LeNet-5's second layer) or Winograd (the CNN's second), each block of outputs is pooled
   from the kernel's in the slot (nn__pool_hwc) instead of transposed to planes. */
#ifdef NN__CONV_DIRECT
/* Whether nn__conv_pool_forward takes this pair, and how: 1 the row kernel's tiles; 2 Winograd's
   2x2 output tiles, which are the pooling's windows, pooled (nn__pool_hwc) in the room of the
   image's transformed tiles; 3 the lanes kernel's outputs, 16 channels a pixel, pooled likewise
   (room: nn__conv_direct_ws); 0 none */
NN__PRIVATE int nn__conv_pool_ok(const nn_conv2d_desc *d, const nn_pool2d_desc *p) {
    if (!nn__pool_is_2x2(p) || p->C != d->OC || p->H != d->OH || p->W != d->OW || nn__conv_is_depthwise(d)) return 0;
    if (nn__conv_wino(d)) return (p->OH * p->OW + 8) * 2 <= 36 * NN__WINO_TB ? 2 : 0;
    if (!nn__conv_is_direct(d)) return 0;
    return nn__conv_lanes(d->OC, d->OW) ? 3 : p->OW > 8;
}
/* Outputs yt (pixels of rowpix a row, OC channels each) into y (OC, OH/2, OW/2) and idx by the
   2x2 pooling of their ReLU (plus b, or +0 where b is NULL: Winograd's unpooled path adds it so;
   after the ReLU a +0 changes nothing), 16 channels of a window at a time with the pooling's
   comparisons (nn__max4_v16; AVX2: 8 with nn__max4_v8), then transposed to planes through buf
   ((PP + 8) * OC floats twice):
   the outputs, and the records as int32. The same bits as pooling the unpooled path's planes. */
NN__PRIVATE void nn__pool_hwc(const nn_pool2d_desc *p, int64_t OC, int64_t rowpix, const float *yt, const float *b,
                              float *buf, float *y, uint8_t *idx) {
    const int64_t PP = p->OH * p->OW, rs = rowpix * OC;
    float *qb = buf + (PP + 8) * OC; /* (a spare row of pixels after each: the last block reads it) */
    int64_t ph, pw, o, q, j;
    for (ph = 0; ph < p->OH; ph++)
        for (pw = 0; pw < p->OW; pw++) {
            const float *s0 = yt + 2 * ph * rs + 2 * pw * OC;
            float *bo = buf + (ph * p->OW + pw) * OC, *qo = qb + (ph * p->OW + pw) * OC;
#if defined(__AVX512F__)
            for (o = 0; o < OC; o += 16) {
                const __m512 bv = b ? _mm512_loadu_ps(b + o) : _mm512_setzero_ps();
                __mmask16 sel[4];
                __m512i r;
                __m512 mx = nn__max4_v16(_mm512_add_ps(_mm512_loadu_ps(s0 + o), bv), _mm512_add_ps(_mm512_loadu_ps(s0 + o + OC), bv),
                                         _mm512_add_ps(_mm512_loadu_ps(s0 + o + rs), bv),
                                         _mm512_add_ps(_mm512_loadu_ps(s0 + o + rs + OC), bv), sel);
                mx = nn__pool_rec16(mx, sel, &r);
                _mm512_storeu_ps(bo + o, mx);
                _mm512_storeu_si512((void *)(qo + o), r);
            }
#else
            for (o = 0; o < OC; o += 8) {
                const __m256 bv = b ? _mm256_loadu_ps(b + o) : _mm256_setzero_ps();
                __m256 sel[4];
                __m256i r;
                __m256 mx = nn__max4_v8(_mm256_add_ps(_mm256_loadu_ps(s0 + o), bv), _mm256_add_ps(_mm256_loadu_ps(s0 + o + OC), bv),
                                        _mm256_add_ps(_mm256_loadu_ps(s0 + o + rs), bv),
                                        _mm256_add_ps(_mm256_loadu_ps(s0 + o + rs + OC), bv), sel);
                mx = nn__pool_rec8(mx, sel, &r);
                _mm256_storeu_ps(bo + o, mx);
                _mm256_storeu_si256((__m256i *)(void *)(qo + o), r);
            }
#endif
        }
    for (o = 0; o < OC; o += 8)
        for (q = 0; q < PP; q += 8) {
            const __m256i m = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)(PP - q)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
            float blk[64];
            nn__transpose8(blk, 8, buf + q * OC + o, OC);
            for (j = 0; j < 8; j++) _mm256_maskstore_ps(y + (o + j) * PP + q, m, _mm256_loadu_ps(blk + 8 * j));
            nn__transpose8(blk, 8, qb + q * OC + o, OC);
            for (j = 0; j < 8; j++)
                nn__u8x8_store(idx + (o + j) * PP + q, _mm256_castps_si256(_mm256_loadu_ps(blk + 8 * j)), PP - q);
        }
}
NN__PRIVATE void nn__conv_pool_forward(const nn_conv2d_desc *d, const nn_pool2d_desc *p, int64_t N, float *y,
                                       uint8_t *idx, const float *x, const float *w, const float *b, float *ws) {
    const int64_t Hp = d->H + 2 * d->PH, Wp = nn__conv_direct_row(d->OW, d->KW), KK = d->KH * d->KW;
    const int64_t PP = p->OH * p->OW;
    const int nth = nn__conv_threads(d, N, N * d->OC * d->OH * d->OW * d->C * KK);
    nn__p2plan ps;
    (void)nth;
    if (nn__conv_wino(d)) { nn__wino_conv(d, N, y, x, w, b, ws, p, idx); return; }
    nn__pool2x2_plan(p, &ps);
#if NN__OMP
#pragma omp parallel num_threads(nth)
#endif
    {
        float *xp = nn__conv_my_slot(d, ws, N), *tile = xp + nn__conv_direct_plane(d);
        const int lanes = nn__conv_lanes(d->OC, d->OW); /* (the slot's room as nn__conv_direct_forward's) */
        float *t = tile + d->OC * d->C * KK, *pbuf = t + 16 * d->OH * d->OW;
        int64_t n, oh, o;
        if (lanes) nn__conv_lanes_weights(tile, w, d->OC, d->C, KK);
#if NN__OMP
#pragma omp for schedule(static)
#endif
        for (n = 0; n < N; n++) {
            nn__conv_pad(xp, x + n * d->C * d->H * d->W, d->C, d->H, d->W, Hp, Wp, d->PH, d->PW);
            if (lanes) { /* blocks of 16 channels, each pooled from its outputs in the slot */
                nn__conv_lanes_blk(d->C, d->OC, d->KH, d->KW, d->OH, d->OW, xp, Hp, Wp, d->PH, d->PH + d->H, tile, t, b,
                                   y + n * d->OC * PP, 0, p, pbuf, idx + n * d->OC * PP);
                continue;
            }
            for (oh = 0; oh < p->OH; oh++) { /* conv rows 2oh, 2oh + 1: a tile (OC, 2, OW) */
                nn__conv_direct(d->C, d->OC, d->KH, d->KW, 2, d->OW, xp + 2 * oh * Wp, Hp, Wp, d->PH - 2 * oh,
                                d->PH + d->H - 2 * oh, w, b, tile, 0);
                for (o = 0; o < d->OC; o++)
                    (void)nn__pool2x2_row(p, &ps, oh, tile + o * 2 * d->OW, tile + (o * 2 + 1) * d->OW,
                                          y + (n * d->OC + o) * PP, idx + (n * d->OC + o) * PP);
            }
        }
    }
}
#endif
#endif /* NN_NO_TRAINING */

NNDEF void nn_pool2d_forward(const nn_pool2d_desc *d, int64_t N, float *y, const float *x) {
    int64_t t;
    if (nn__pool_is_2x2(d)) { nn__pool2x2_forward(d, N, y, NULL, x); return; }
    NN__OMP_FOR_IF(N * d->C * d->OH * d->OW * d->KH * d->KW >= NN_OMP_MIN_WORK)
    for (t = 0; t < N * d->C; t++) {
        const float *xc = x + t * d->H * d->W;
        float *yc = y + t * d->OH * d->OW;
        int64_t oh, ow, h, w, h0, h1, w0, w1, cnt;
        for (oh = 0; oh < d->OH; oh++)
            for (ow = 0; ow < d->OW; ow++) {
                float v;
                nn__pool_window(d, oh, ow, &h0, &h1, &w0, &w1, &cnt);
                if (d->kind == NN_POOL_MAX) {
                    v = -INFINITY;
                    for (h = h0; h < h1; h++)
                        for (w = w0; w < w1; w++) if (xc[h * d->W + w] > v || xc[h * d->W + w] != xc[h * d->W + w]) v = xc[h * d->W + w];
                } else {
                    v = 0.0f;
                    for (h = h0; h < h1; h++) for (w = w0; w < w1; w++) v += xc[h * d->W + w];
                    v /= (float)cnt;
                }
                yc[oh * d->OW + ow] = v;
            }
    }
}

#ifndef NN_NO_TRAINING
/* one plane of the 2x2 pooling's gradient: dxc (H, W) (+)= g (OH, OW) at the windows' maxima,
   found again in xc, or read from ic (nn__pool2x2_forward's record; xc NULL). acc 0: dxc is
   assigned, cleared first only where windows do not cover it (an odd side). */
NN__PRIVATE void nn__pool2x2_back_plane(int acc, const nn_pool2d_desc *d, const nn__p2plan *ps, float *dxc,
                                        const float *xc, const uint8_t *ic, const float *g) {
    int64_t oh, ow, step = 1;
#if defined(NN__V16)
    const int clear = !acc && (d->H % 2 || d->W % 2);
    if (clear) nn__zero_range(dxc, 0, d->H * d->W);
#else
    if (!acc) nn__zero_range(dxc, 0, d->H * d->W);
#endif
    (void)ps; /* (the AVX-512 steps' plan) */
    for (oh = 0; oh < d->OH; oh += step) {
        const float *r0 = xc ? xc + 2 * oh * d->W : NULL, *r1 = r0 ? r0 + d->W : NULL;
#if defined(NN__V16) && defined(__AVX512F__)
        for (ow = 0; ow < d->OW; ow += 16) {
            const nn__p2 *s = nn__p2_pick(d, ps, oh, ow);
            const int n = s->n;
            __mmask16 sel[4];
            __m512 gv = _mm512_maskz_loadu_ps((__mmask16)((1u << n) - 1u), g + oh * d->OW + ow);
            step = s->rows;
            if (xc) (void)nn__pool2x2_v16(r0 + 2 * ow, r1 + 2 * ow, s, sel);
            else {
                const uint8_t *src = ic + oh * d->OW + ow;
                uint8_t b[16] = {0};
                __m512i q;
                /* (lanes past n read bytes of this plane, which select nothing: gv is 0 there; a copy
                   only at its end, whose small stores the wide load would wait for) */
                if (oh * d->OW + ow + 16 > d->OH * d->OW) { memcpy(b, src, (size_t)n); src = b; }
                q = _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(const void *)src));
                /* a zero (+0.0) at the maximum where the output was not positive, as the unfused
                   ReLU's gradient */
                gv = _mm512_mask_mov_ps(gv, _mm512_cmpge_epi32_mask(q, _mm512_set1_epi32(4)), _mm512_setzero_ps());
                q = _mm512_and_si512(q, _mm512_set1_epi32(3));
                sel[0] = _mm512_cmpeq_epi32_mask(q, _mm512_setzero_si512());
                sel[1] = _mm512_cmpeq_epi32_mask(q, _mm512_set1_epi32(1));
                sel[2] = _mm512_cmpeq_epi32_mask(q, _mm512_set1_epi32(2));
                sel[3] = _mm512_cmpeq_epi32_mask(q, _mm512_set1_epi32(3));
            }
            /* spilling is safe where a row is one chunk, assigned, and the lanes stay in rows of
               this plane that are written after */
            nn__pool2x2_back_v16(dxc + 2 * oh * d->W + 2 * ow, dxc + (2 * oh + 1) * d->W + 2 * ow, gv, s, sel,
                                 acc || clear,
                                 !acc && !clear && d->OW <= 16 &&
                                     (2 * oh + 1) * d->W + (s->m1 ? s->h1 : 0) + 16 <= d->H * d->W);
        }
#elif defined(NN__V16)
        for (ow = 0; ow < d->OW; ow += 8) {
            const int64_t n = d->OW - ow < 8 ? d->OW - ow : 8;
            const float *gp = g + oh * d->OW + ow;
            __m256 gv = n == 8 ? _mm256_loadu_ps(gp) : _mm256_maskload_ps(gp, nn__m16_first(n).lo), sel[4];
            if (xc) {
                __m256 v[4];
                nn__p2_load8(r0 + 2 * ow, r1 + 2 * ow, n, v);
                (void)nn__max4_v8(v[0], v[1], v[2], v[3], sel);
            } else {
                uint8_t bq[8] = {0};
                __m256i q;
                int k;
                memcpy(bq, ic + oh * d->OW + ow, (size_t)n);
                q = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(const void *)bq));
                /* +0.0 at the maximum where the output was not positive, as the unfused ReLU's gradient */
                gv = _mm256_andnot_ps(_mm256_castsi256_ps(_mm256_cmpgt_epi32(q, _mm256_set1_epi32(3))), gv);
                q = _mm256_and_si256(q, _mm256_set1_epi32(3));
                for (k = 0; k < 4; k++) sel[k] = _mm256_castsi256_ps(_mm256_cmpeq_epi32(q, _mm256_set1_epi32(k)));
            }
            nn__pool2x2_back8(dxc + 2 * oh * d->W + 2 * ow, dxc + (2 * oh + 1) * d->W + 2 * ow, gv, sel, acc, n); /* (a cleared plane adds to +0 alike) */
        }
#else
        for (ow = 0; ow < d->OW; ow++) {
            float v[4];
            int q;
            if (xc) {
                v[0] = r0[2 * ow]; v[1] = r0[2 * ow + 1]; v[2] = r1[2 * ow]; v[3] = r1[2 * ow + 1];
                q = nn__max_arg4(v);
            } else q = ic[oh * d->OW + ow];
            dxc[(2 * oh + q % 4 / 2) * d->W + 2 * ow + q % 2] += q < 4 ? g[oh * d->OW + ow] : 0.0f;
        }
#endif
    }
}
#if defined(NN__V16) /* (for the direct convolutions' weight gradient) */
/* n planes' gradients assigned from their record alone, on the calling thread */
NN__PRIVATE void nn__pool2x2_unpool(const nn_pool2d_desc *d, int64_t n, float *dx, const uint8_t *idx, const float *g) {
    int64_t t;
    nn__p2plan ps;
    nn__pool2x2_plan(d, &ps);
    for (t = 0; t < n; t++)
        nn__pool2x2_back_plane(0, d, &ps, dx + t * d->H * d->W, NULL, idx + t * d->OH * d->OW, g + t * d->OH * d->OW);
}
#endif
/* the planes of N images (x NULL: from idx) */
NN__PRIVATE void nn__pool2x2_backward(int acc, const nn_pool2d_desc *d, int64_t N, float *dx, const float *x,
                                      const uint8_t *idx, const float *dy) {
    int64_t t;
    nn__p2plan ps; /* (made once: a small plane's pooling costs little more) */
    nn__pool2x2_plan(d, &ps);
    NN__OMP_FOR_IF(N * d->C * d->H * d->W >= NN_OMP_MIN_WORK)
    for (t = 0; t < N * d->C; t++)
        nn__pool2x2_back_plane(acc, d, &ps, dx + t * d->H * d->W, x ? x + t * d->H * d->W : NULL,
                               idx ? idx + t * d->OH * d->OW : NULL, dy + t * d->OH * d->OW);
}
NN__PRIVATE void nn__pool2d_backward(int acc, const nn_pool2d_desc *d, int64_t N, float *dx, const float *x,
                                     const float *dy) {
    int64_t t;
    if (nn__pool_is_2x2(d)) { nn__pool2x2_backward(acc, d, N, dx, x, NULL, dy); return; }
    NN__OMP_FOR_IF(N * d->C * d->OH * d->OW * d->KH * d->KW >= NN_OMP_MIN_WORK)
    for (t = 0; t < N * d->C; t++) {
        const float *xc = x + t * d->H * d->W, *g = dy + t * d->OH * d->OW;
        float *dxc = dx + t * d->H * d->W;
        int64_t oh, ow, h, w, h0, h1, w0, w1, cnt;
        if (!acc) nn__zero_range(dxc, 0, d->H * d->W);
        for (oh = 0; oh < d->OH; oh++)
            for (ow = 0; ow < d->OW; ow++) {
                if (d->kind == NN_POOL_MAX) { /* the first maximum, as the forward pass chose it */
                    const int64_t best = nn__pool_argmax(d, xc, oh, ow);
                    if (best >= 0) dxc[best] += g[oh * d->OW + ow];
                } else {
                    float s;
                    nn__pool_window(d, oh, ow, &h0, &h1, &w0, &w1, &cnt);
                    s = g[oh * d->OW + ow] / (float)cnt;
                    for (h = h0; h < h1; h++) for (w = w0; w < w1; w++) dxc[h * d->W + w] += s;
                }
            }
    }
}
NNDEF void nn_pool2d_backward(const nn_pool2d_desc *d, int64_t N, float *dx, const float *x, const float *dy) {
    nn__pool2d_backward(1, d, N, dx, x, dy);
}
#endif /* NN_NO_TRAINING */

/* >>kernels-bn: batch normalization */
NNDEF void nn_batchnorm_forward(int64_t N, int64_t C, int64_t HW, float *y, const float *x, const float *gamma,
                                const float *beta, float *running_mean, float *running_var, float *saved,
                                float momentum, float eps, int training) {
    int64_t c;
    NN__OMP_FOR_IF(N * C * HW >= NN_OMP_MIN_WORK)
    for (c = 0; c < C; c++) {
        const int64_t M = N * HW;
        float mean, inv, scale, shift;
        int64_t n, i;
        if (training) {
            double s = 0.0, ss = 0.0, var;
            for (n = 0; n < N; n++) {
                const float *xc = x + (n * C + c) * HW;
                for (i = 0; i < HW; i++) s += xc[i];
            }
            mean = (float)(s / (double)M);
            for (n = 0; n < N; n++) {
                const float *xc = x + (n * C + c) * HW;
                for (i = 0; i < HW; i++) ss += ((double)xc[i] - mean) * ((double)xc[i] - mean);
            }
            var = ss / (double)M;
            inv = (float)(1.0 / sqrt(var + (double)eps));
            saved[c] = mean;
            saved[C + c] = inv;
            running_mean[c] = (1.0f - momentum) * running_mean[c] + momentum * mean;
            running_var[c] = (1.0f - momentum) * running_var[c] + momentum * (float)(M > 1 ? ss / (double)(M - 1) : var);
        } else {
            mean = running_mean[c];
            inv = 1.0f / sqrtf(running_var[c] + eps);
        }
        scale = gamma[c] * inv;
        shift = beta[c] - mean * scale;
        for (n = 0; n < N; n++) {
            const float *xc = x + (n * C + c) * HW;
            float *yc = y + (n * C + c) * HW;
            for (i = 0; i < HW; i++) yc[i] = xc[i] * scale + shift;
        }
    }
}

#ifndef NN_NO_TRAINING
NNDEF void nn_batchnorm_backward(int64_t N, int64_t C, int64_t HW, float *dx, float *dgamma, float *dbeta,
                                 const float *dy, const float *x, const float *gamma, const float *saved) {
    int64_t c;
    NN__OMP_FOR_IF(N * C * HW >= NN_OMP_MIN_WORK)
    for (c = 0; c < C; c++) {
        const int64_t M = N * HW;
        const float mean = saved[c], inv = saved[C + c];
        double sdy = 0.0, sdyx = 0.0;
        int64_t n, i;
        for (n = 0; n < N; n++) {
            const float *xc = x + (n * C + c) * HW, *g = dy + (n * C + c) * HW;
            for (i = 0; i < HW; i++) { sdy += g[i]; sdyx += (double)g[i] * (xc[i] - mean) * inv; }
        }
        dgamma[c] = (float)sdyx;
        dbeta[c] = (float)sdy;
        if (dx) {
            /* dx = gamma / std / M * (M dy - sum(dy) - xhat * sum(dy xhat)) */
            const float k = gamma[c] * inv / (float)M, a = (float)sdy, b = (float)sdyx;
            for (n = 0; n < N; n++) {
                const float *xc = x + (n * C + c) * HW, *g = dy + (n * C + c) * HW;
                float *dxc = dx + (n * C + c) * HW;
                for (i = 0; i < HW; i++) dxc[i] += k * ((float)M * g[i] - a - (xc[i] - mean) * inv * b);
            }
        }
    }
}
#endif /* NN_NO_TRAINING */

/* >>kernels-int8: uint8 x int8 dot products, requantization, the int8 dense, convolution and
   pooling kernels (nn_qforward's). Activations are uint8 with a zero point (so a dot product
   is uint8 x int8, what VNNI's vpdpbusd multiplies); weights are int8 in [-127, 127]. The
   input's zero point is folded into each channel's bias: acc = bias' + sum x*w,
   y = zero + round(acc * mult / 2^shift). */
NN__PRIVATE int32_t nn__qdot(const uint8_t *a, const int8_t *w, int64_t n) {
    int64_t k = 0;
#if defined(__AVX512VNNI__) && defined(__AVX512BW__) && !defined(NN_NO_SIMD)
    __m512i acc = _mm512_setzero_si512();
    for (; k + 64 <= n; k += 64) acc = _mm512_dpbusd_epi32(acc, _mm512_loadu_si512(a + k), _mm512_loadu_si512(w + k));
    if (k < n) {
        const __mmask64 mk = (~(__mmask64)0) >> (64 - (n - k));
        acc = _mm512_dpbusd_epi32(acc, _mm512_maskz_loadu_epi8(mk, a + k), _mm512_maskz_loadu_epi8(mk, w + k));
    }
    return _mm512_reduce_add_epi32(acc);
#elif defined(__AVXVNNI__) && !defined(NN_NO_SIMD)
    __m256i acc = _mm256_setzero_si256();
    __m128i h;
    int32_t s = 0;
    for (; k + 32 <= n; k += 32)
        acc = _mm256_dpbusd_avx_epi32(acc, _mm256_loadu_si256((const __m256i *)(const void *)(a + k)),
                                      _mm256_loadu_si256((const __m256i *)(const void *)(w + k)));
    h = _mm_add_epi32(_mm256_castsi256_si128(acc), _mm256_extracti128_si256(acc, 1));
    h = _mm_add_epi32(h, _mm_shuffle_epi32(h, 0x4E));
    h = _mm_add_epi32(h, _mm_shuffle_epi32(h, 0xB1));
    for (s = _mm_cvtsi128_si32(h); k < n; k++) s += (int32_t)a[k] * w[k];
    return s;
#else
    int32_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    for (; k + 4 <= n; k += 4) {
        s0 += (int32_t)a[k] * w[k]; s1 += (int32_t)a[k + 1] * w[k + 1];
        s2 += (int32_t)a[k + 2] * w[k + 2]; s3 += (int32_t)a[k + 3] * w[k + 3];
    }
    for (; k < n; k++) s0 += (int32_t)a[k] * w[k];
    return s0 + s1 + s2 + s3;
#endif
}
/* round(v * mult / 2^shift), halves away from zero; shifts only non-negative values. The usual
   case (v fits 32 bits, shift > 32) from the product's high word alone: the low word cannot
   carry into the result (it adds less than 2^(32 - shift) <= 1/2 ulp of the high word's
   quotient), and 32-bit cores then do one smull and no 64-bit shifts */
NN__PRIVATE int32_t nn__rq(int64_t v, int32_t mult, int32_t shift) {
    if (shift > 32 && v == (int32_t)v) {
        const int64_t p = (int64_t)(int32_t)v * mult, a = p >= 0 ? p : -p;
        const int32_t q = ((int32_t)(a >> 32) + ((int32_t)1 << (shift - 33))) >> (shift - 32);
        return p >= 0 ? q : -q;
    } else {
        const int64_t p = v * mult, r = (int64_t)1 << (shift - 1);
        return (int32_t)(p >= 0 ? (p + r) >> shift : -((-p + r) >> shift));
    }
}
NN__PRIVATE uint8_t nn__sat_u8(int32_t v) { return (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v); }

/* Many dot products at once: y[r * ldy + o] = sum_k a[r * lda + k] * w[o * ldw + k] for r < nr,
   o < no. One accumulator chain is bound by vpdpbusd's latency, so the VNNI path runs tiles of
   4 channels by 4 rows (or 1 row), 16 (or 4) independent chains, and reduces 4 of them at once
   (out of line: inlined, GCC 12 copies every accumulator twice per iteration of the k loop). */
#if defined(__AVX512VNNI__) && defined(__AVX512BW__) && !defined(NN_NO_SIMD)
NN__PRIVATE NN__NOINLINE __m128i nn__hsum4_epi32(__m512i a, __m512i b, __m512i c, __m512i d) {
    const __m512i ab = _mm512_add_epi32(_mm512_unpacklo_epi32(a, b), _mm512_unpackhi_epi32(a, b));
    const __m512i cd = _mm512_add_epi32(_mm512_unpacklo_epi32(c, d), _mm512_unpackhi_epi32(c, d));
    const __m512i s = _mm512_add_epi32(_mm512_unpacklo_epi64(ab, cd), _mm512_unpackhi_epi64(ab, cd));
    const __m256i h = _mm256_add_epi32(_mm512_castsi512_si256(s), _mm512_extracti64x4_epi64(s, 1));
    return _mm_add_epi32(_mm256_castsi256_si128(h), _mm256_extracti128_si256(h, 1)); /* (a, b, c, d) */
}
#define NN__QLD(p) _mm512_loadu_si512((const void *)(p))
#define NN__QLDM(p) _mm512_maskz_loadu_epi8(m, (const void *)(p))
#define NN__Q1X4(LD)                                                                                        \
    {                                                                                                       \
        const __m512i x0 = LD(a + k);                                                                       \
        c0 = _mm512_dpbusd_epi32(c0, x0, LD(w + k)); c1 = _mm512_dpbusd_epi32(c1, x0, LD(w + ldw + k));    \
        c2 = _mm512_dpbusd_epi32(c2, x0, LD(w + 2 * ldw + k)); c3 = _mm512_dpbusd_epi32(c3, x0, LD(w + 3 * ldw + k)); \
    }
NN__PRIVATE void nn__qdot1x4(const uint8_t *a, const int8_t *w, int64_t ldw, int64_t n, int32_t *y) {
    __m512i c0 = _mm512_setzero_si512(), c1 = c0, c2 = c0, c3 = c0;
    int64_t k = 0;
    for (; k + 64 <= n; k += 64) NN__Q1X4(NN__QLD)
    if (k < n) {
        const __mmask64 m = (~(__mmask64)0) >> (64 - (n - k));
        NN__Q1X4(NN__QLDM)
    }
    _mm_storeu_si128((__m128i *)(void *)y, nn__hsum4_epi32(c0, c1, c2, c3));
}
#define NN__Q4X4(LD)                                                                                        \
    {                                                                                                       \
        const __m512i w0 = LD(w + k), w1 = LD(w + ldw + k), w2 = LD(w + 2 * ldw + k), w3 = LD(w + 3 * ldw + k); \
        __m512i x = LD(a + k);                                                                              \
        c00 = _mm512_dpbusd_epi32(c00, x, w0); c01 = _mm512_dpbusd_epi32(c01, x, w1);                       \
        c02 = _mm512_dpbusd_epi32(c02, x, w2); c03 = _mm512_dpbusd_epi32(c03, x, w3);                       \
        x = LD(a + lda + k);                                                                                \
        c10 = _mm512_dpbusd_epi32(c10, x, w0); c11 = _mm512_dpbusd_epi32(c11, x, w1);                       \
        c12 = _mm512_dpbusd_epi32(c12, x, w2); c13 = _mm512_dpbusd_epi32(c13, x, w3);                       \
        x = LD(a + 2 * lda + k);                                                                            \
        c20 = _mm512_dpbusd_epi32(c20, x, w0); c21 = _mm512_dpbusd_epi32(c21, x, w1);                       \
        c22 = _mm512_dpbusd_epi32(c22, x, w2); c23 = _mm512_dpbusd_epi32(c23, x, w3);                       \
        x = LD(a + 3 * lda + k);                                                                            \
        c30 = _mm512_dpbusd_epi32(c30, x, w0); c31 = _mm512_dpbusd_epi32(c31, x, w1);                       \
        c32 = _mm512_dpbusd_epi32(c32, x, w2); c33 = _mm512_dpbusd_epi32(c33, x, w3);                       \
    }
NN__PRIVATE void nn__qdot4x4(const uint8_t *a, int64_t lda, const int8_t *w, int64_t ldw, int64_t n, int32_t *y, int64_t ldy) {
    __m512i c00 = _mm512_setzero_si512(), c01 = c00, c02 = c00, c03 = c00, c10 = c00, c11 = c00, c12 = c00, c13 = c00;
    __m512i c20 = c00, c21 = c00, c22 = c00, c23 = c00, c30 = c00, c31 = c00, c32 = c00, c33 = c00;
    int64_t k;
    for (k = 0; k < n; k += 64) { /* masked loads: GCC would fold each w load into four vpdpbusd */
        const __mmask64 m = n - k >= 64 ? ~(__mmask64)0 : (~(__mmask64)0) >> (64 - (n - k));
        NN__Q4X4(NN__QLDM)
    }
    _mm_storeu_si128((__m128i *)(void *)y, nn__hsum4_epi32(c00, c01, c02, c03));
    _mm_storeu_si128((__m128i *)(void *)(y + ldy), nn__hsum4_epi32(c10, c11, c12, c13));
    _mm_storeu_si128((__m128i *)(void *)(y + 2 * ldy), nn__hsum4_epi32(c20, c21, c22, c23));
    _mm_storeu_si128((__m128i *)(void *)(y + 3 * ldy), nn__hsum4_epi32(c30, c31, c32, c33));
}
#undef NN__Q1X4
#undef NN__Q4X4
#undef NN__QLD
#undef NN__QLDM
#endif
#if defined(__AVX2__) && !(defined(__AVX512VNNI__) && defined(__AVX512BW__)) && !defined(NN_NO_SIMD)
#define NN__QDOT_AVX2 1
/* AVX2 without VNNI: the bytes widened to 16 bits and multiplied by vpmaddwd (exact: vpmaddubsw
   would saturate 255 x 127 x 2), 2 rows x 4 channels, 8 chains; the same sums as nn__qdot */
NN__PRIVATE __m128i nn__hsum4_avx2(__m256i a, __m256i b, __m256i c, __m256i d) {
    const __m256i s = _mm256_hadd_epi32(_mm256_hadd_epi32(a, b), _mm256_hadd_epi32(c, d));
    return _mm_add_epi32(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1)); /* (a, b, c, d) */
}
/* nn__qtail + r: 32 - r zero bytes, then r of 0xFF (the last r bytes of a 32-byte step kept; of a
   16-byte one from nn__qtail + 16 + r) */
static const uint8_t nn__qtail[64] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                                      255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
                                      255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255};
#define NN__QW16(p) _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(const void *)(p)))
#define NN__QX16(p) _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)(const void *)(p)))
#define NN__Q2X4(A0, A1, W0, W1, W2, W3)                                                                  \
    {                                                                                                   \
        const __m256i w0 = NN__QW16(W0), w1 = NN__QW16(W1), w2 = NN__QW16(W2), w3 = NN__QW16(W3);       \
        __m256i x = NN__QX16(A0);                                                                       \
        c00 = _mm256_add_epi32(c00, _mm256_madd_epi16(x, w0)); c01 = _mm256_add_epi32(c01, _mm256_madd_epi16(x, w1)); \
        c02 = _mm256_add_epi32(c02, _mm256_madd_epi16(x, w2)); c03 = _mm256_add_epi32(c03, _mm256_madd_epi16(x, w3)); \
        if (lda) {                                                                                      \
            x = NN__QX16(A1);                                                                           \
            c10 = _mm256_add_epi32(c10, _mm256_madd_epi16(x, w0)); c11 = _mm256_add_epi32(c11, _mm256_madd_epi16(x, w1)); \
            c12 = _mm256_add_epi32(c12, _mm256_madd_epi16(x, w2)); c13 = _mm256_add_epi32(c13, _mm256_madd_epi16(x, w3)); \
        }                                                                                               \
    }
/* lda 0: one row (y[0..3] only); the last n % 16 bytes by one more step over the last 16,
   those done before zeroed in a (shorter rows through zero-padded copies; not 8 scalar tails:
   convolutions of 25 or 150 taps are mostly tail) */
NN__PRIVATE void nn__qdot2x4(const uint8_t *a, int64_t lda, const int8_t *w, int64_t ldw, int64_t n, int32_t *y, int64_t ldy) {
    __m256i c00 = _mm256_setzero_si256(), c01 = c00, c02 = c00, c03 = c00, c10 = c00, c11 = c00, c12 = c00, c13 = c00;
    int32_t t[8];
    int64_t k = 0, o;
    for (; k + 16 <= n; k += 16) NN__Q2X4(a + k, a + lda + k, w + k, w + ldw + k, w + 2 * ldw + k, w + 3 * ldw + k)
    if (k < n && n >= 16) {
        const __m128i m = _mm_loadu_si128((const __m128i *)(const void *)(nn__qtail + 16 + (n - k)));
        uint8_t ta[2][16];
        _mm_storeu_si128((__m128i *)(void *)ta[0], _mm_and_si128(m, _mm_loadu_si128((const __m128i *)(const void *)(a + n - 16))));
        _mm_storeu_si128((__m128i *)(void *)ta[1], _mm_and_si128(m, _mm_loadu_si128((const __m128i *)(const void *)(a + lda + n - 16))));
        k = n - 16;
        NN__Q2X4(ta[0], ta[1], w + k, w + ldw + k, w + 2 * ldw + k, w + 3 * ldw + k)
    } else if (k < n) {
        uint8_t ta[2][16];
        int8_t tw[4][16];
        const size_t r = (size_t)(n - k);
        memset(ta, 0, sizeof ta); memset(tw, 0, sizeof tw);
        memcpy(ta[0], a + k, r); memcpy(ta[1], a + lda + k, r);
        for (o = 0; o < 4; o++) memcpy(tw[o], w + o * ldw + k, r);
        NN__Q2X4(ta[0], ta[1], tw[0], tw[1], tw[2], tw[3])
    }
    _mm_storeu_si128((__m128i *)(void *)t, nn__hsum4_avx2(c00, c01, c02, c03));
    _mm_storeu_si128((__m128i *)(void *)(t + 4), nn__hsum4_avx2(c10, c11, c12, c13));
    for (o = 0; o < 4; o++) {
        y[o] = t[o];
        if (ldy) y[ldy + o] = t[4 + o];
    }
}
#undef NN__Q2X4
#undef NN__QW16
#undef NN__QX16
/* one row by 4 channels (ldw apart) whose weights all lie in [-64, 64]: 32 bytes a step by
   vpmaddubsw (a pair's sum at most 255 x 64 x 2 < 2^15) and vpmaddwd by ones; two (weights in
   [-32, 32]): two steps' pair sums added in 16 bits first. The last n % 32 bytes by one more
   step over the last 32 (shorter rows through zero-padded copies); the same sums as nn__qdot */
#define NN__QB(x, p) _mm256_maddubs_epi16(x, _mm256_loadu_si256((const __m256i *)(const void *)(p)))
#define NN__QB1(c, p) c = _mm256_add_epi32(c, _mm256_madd_epi16(NN__QB(x, p), one))
#define NN__QB2(c, p) c = _mm256_add_epi32(c, _mm256_madd_epi16(_mm256_add_epi16(NN__QB(x, p), NN__QB(x1, (p) + 32)), one))
NN__PRIVATE void nn__qdot1x4b(const uint8_t *a, const int8_t *w, int64_t ldw, int64_t n, int two, int32_t *y) {
    const __m256i one = _mm256_set1_epi16(1);
    __m256i c0 = _mm256_setzero_si256(), c1 = c0, c2 = c0, c3 = c0;
    int64_t k = 0;
    if (two)
        for (; k + 64 <= n; k += 64) {
            const __m256i x = _mm256_loadu_si256((const __m256i *)(const void *)(a + k));
            const __m256i x1 = _mm256_loadu_si256((const __m256i *)(const void *)(a + k + 32));
            NN__QB2(c0, w + k); NN__QB2(c1, w + ldw + k); NN__QB2(c2, w + 2 * ldw + k); NN__QB2(c3, w + 3 * ldw + k);
        }
    for (; k + 32 <= n; k += 32) {
        const __m256i x = _mm256_loadu_si256((const __m256i *)(const void *)(a + k));
        NN__QB1(c0, w + k); NN__QB1(c1, w + ldw + k); NN__QB1(c2, w + 2 * ldw + k); NN__QB1(c3, w + 3 * ldw + k);
    }
    if (k < n && n >= 32) { /* (the last 32 bytes, those done before zeroed in x) */
        const __m256i x = _mm256_and_si256(_mm256_loadu_si256((const __m256i *)(const void *)(a + n - 32)),
                                           _mm256_loadu_si256((const __m256i *)(const void *)(nn__qtail + (n - k))));
        k = n - 32;
        NN__QB1(c0, w + k); NN__QB1(c1, w + ldw + k); NN__QB1(c2, w + 2 * ldw + k); NN__QB1(c3, w + 3 * ldw + k);
    } else if (k < n) {
        uint8_t ta[32];
        int8_t tw[4][32];
        const size_t r = (size_t)(n - k);
        int o;
        memset(ta, 0, sizeof ta); memset(tw, 0, sizeof tw);
        memcpy(ta, a + k, r);
        for (o = 0; o < 4; o++) memcpy(tw[o], w + o * ldw + k, r);
        {
            const __m256i x = _mm256_loadu_si256((const __m256i *)(const void *)ta);
            NN__QB1(c0, tw[0]); NN__QB1(c1, tw[1]); NN__QB1(c2, tw[2]); NN__QB1(c3, tw[3]);
        }
    }
    _mm_storeu_si128((__m128i *)(void *)y, nn__hsum4_avx2(c0, c1, c2, c3));
}
#undef NN__QB
#undef NN__QB1
#undef NN__QB2
#endif
#if defined(__ARM_FEATURE_DSP) && defined(__GNUC__) && !defined(NN_NO_SIMD)
#define NN__QDOT_DSP 1
/* ARMv7E-M (Cortex-M4, M7): a word of 4 bytes widened to two pairs of 16-bit halves (uxtb16 /
   sxtb16: bytes 0 and 2, and with ror #8 bytes 1 and 3), each pair multiplied and added by one
   smlad: 2 rows x 2 channels, 4 chains, 16 products in 20 instructions; the same sums */
NN__PRIVATE uint32_t nn__ld32(const void *p) { uint32_t v; memcpy(&v, p, 4); return v; }
NN__PRIVATE uint32_t nn__uxtb16(uint32_t x, int odd) {
    uint32_t r;
    if (odd) __asm__("uxtb16 %0, %1, ror #8" : "=r"(r) : "r"(x)); else __asm__("uxtb16 %0, %1" : "=r"(r) : "r"(x));
    return r;
}
NN__PRIVATE uint32_t nn__sxtb16(uint32_t x, int odd) {
    uint32_t r;
    if (odd) __asm__("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(x)); else __asm__("sxtb16 %0, %1" : "=r"(r) : "r"(x));
    return r;
}
NN__PRIVATE int32_t nn__smlad(uint32_t a, uint32_t b, int32_t c) {
    int32_t r;
    __asm__("smlad %0, %1, %2, %3" : "=r"(r) : "r"(a), "r"(b), "r"(c));
    return r;
}
/* rows 1 or 2 (a, a + lda) by channels w, w + ldw: y[0], y[1] (and y[ldy], y[ldy + 1]); n < 2^30
   (int counters: 64-bit ones cost two instructions each on these cores) */
NN__PRIVATE NN__NOINLINE void nn__qdot_dsp(const uint8_t *a, int64_t lda, int rows, const int8_t *w, int64_t ldw, int n,
                              int32_t *y, int64_t ldy) {
    const uint8_t *a1 = rows > 1 ? a + lda : a;
    const int8_t *w1 = w + ldw;
    int32_t c00 = 0, c01 = 0, c10 = 0, c11 = 0;
    int k = 0;
    for (; k + 4 <= n; k += 4) {
        const uint32_t x0 = nn__ld32(a + k), x1 = nn__ld32(a1 + k), v0 = nn__ld32(w + k), v1 = nn__ld32(w1 + k);
        const uint32_t x0e = nn__uxtb16(x0, 0), x0o = nn__uxtb16(x0, 1), x1e = nn__uxtb16(x1, 0), x1o = nn__uxtb16(x1, 1);
        const uint32_t v0e = nn__sxtb16(v0, 0), v0o = nn__sxtb16(v0, 1), v1e = nn__sxtb16(v1, 0), v1o = nn__sxtb16(v1, 1);
        c00 = nn__smlad(x0o, v0o, nn__smlad(x0e, v0e, c00));
        c01 = nn__smlad(x0o, v1o, nn__smlad(x0e, v1e, c01));
        c10 = nn__smlad(x1o, v0o, nn__smlad(x1e, v0e, c10));
        c11 = nn__smlad(x1o, v1o, nn__smlad(x1e, v1e, c11));
    }
    for (; k < n; k++) {
        c00 += (int32_t)a[k] * w[k]; c01 += (int32_t)a[k] * w1[k];
        c10 += (int32_t)a1[k] * w[k]; c11 += (int32_t)a1[k] * w1[k];
    }
    y[0] = c00; y[1] = c01;
    if (rows > 1) { y[ldy] = c10; y[ldy + 1] = c11; }
}
/* one row by 4 channels (a batch-1 dense layer): the row's word widened once, 16 products in 23 */
NN__PRIVATE NN__NOINLINE void nn__qdot1x4_dsp(const uint8_t *a, const int8_t *w, int ldw, int n, int32_t *y) {
    int32_t c0 = 0, c1 = 0, c2 = 0, c3 = 0;
    int k = 0;
    for (; k + 4 <= n; k += 4) { /* (offsets from one pointer: 13 registers hold the loop) */
        const uint32_t x = nn__ld32(a + k), xe = nn__uxtb16(x, 0), xo = nn__uxtb16(x, 1);
        const uint32_t v0 = nn__ld32(w + k), v1 = nn__ld32(w + ldw + k), v2 = nn__ld32(w + 2 * ldw + k), v3 = nn__ld32(w + 3 * ldw + k);
        c0 = nn__smlad(xo, nn__sxtb16(v0, 1), nn__smlad(xe, nn__sxtb16(v0, 0), c0));
        c1 = nn__smlad(xo, nn__sxtb16(v1, 1), nn__smlad(xe, nn__sxtb16(v1, 0), c1));
        c2 = nn__smlad(xo, nn__sxtb16(v2, 1), nn__smlad(xe, nn__sxtb16(v2, 0), c2));
        c3 = nn__smlad(xo, nn__sxtb16(v3, 1), nn__smlad(xe, nn__sxtb16(v3, 0), c3));
    }
    for (; k < n; k++) {
        c0 += (int32_t)a[k] * w[k]; c1 += (int32_t)a[k] * w[ldw + k];
        c2 += (int32_t)a[k] * w[2 * ldw + k]; c3 += (int32_t)a[k] * w[3 * ldw + k];
    }
    y[0] = c0; y[1] = c1; y[2] = c2; y[3] = c3;
}
#endif
NN__PRIVATE void nn__qdots(const uint8_t *a, int64_t lda, int64_t nr, const int8_t *w, int64_t ldw, int64_t no, int64_t n,
                           int32_t *y, int64_t ldy, int wmax) {
    int64_t r = 0, o, i;
    (void)wmax; /* (the largest |weight|: AVX2 multiplies bytes when it is 64 or less) */
    while (r < nr) {
        const int64_t rr = nr - r >= 4 ? 4 : 1;
        o = 0;
#if defined(__AVX512VNNI__) && defined(__AVX512BW__) && !defined(NN_NO_SIMD)
        for (; o + 4 <= no; o += 4) {
            if (rr == 4) nn__qdot4x4(a + r * lda, lda, w + o * ldw, ldw, n, y + r * ldy + o, ldy);
            else nn__qdot1x4(a + r * lda, w + o * ldw, ldw, n, y + r * ldy + o);
        }
#elif defined(NN__QDOT_AVX2)
        for (; o + 4 <= no; o += 4) {
            if (wmax <= 64)
                for (i = 0; i < rr; i++) nn__qdot1x4b(a + (r + i) * lda, w + o * ldw, ldw, n, wmax <= 32, y + (r + i) * ldy + o);
            else if (rr == 4) {
                nn__qdot2x4(a + r * lda, lda, w + o * ldw, ldw, n, y + r * ldy + o, ldy);
                nn__qdot2x4(a + (r + 2) * lda, lda, w + o * ldw, ldw, n, y + (r + 2) * ldy + o, ldy);
            } else nn__qdot2x4(a + r * lda, 0, w + o * ldw, ldw, n, y + r * ldy + o, 0);
        }
        if (o < no && no >= 4) { /* the last 1-3 channels: a tile of the last 4, the new ones kept */
            int32_t t[16];
            const int64_t o4 = no - 4;
            int64_t q;
            if (wmax <= 64)
                for (i = 0; i < rr; i++) nn__qdot1x4b(a + (r + i) * lda, w + o4 * ldw, ldw, n, wmax <= 32, t + i * 4);
            else
                for (i = 0; i < rr; i += 2) nn__qdot2x4(a + (r + i) * lda, rr > 1 ? lda : 0, w + o4 * ldw, ldw, n, t + i * 4, 4);
            for (i = 0; i < rr; i++)
                for (q = o; q < no; q++) y[(r + i) * ldy + q] = t[i * 4 + q - o4];
            o = no;
        }
#elif defined(NN__QDOT_DSP)
        if (rr == 1 && n < ((int64_t)1 << 30))
            for (; o + 4 <= no && ldw < ((int64_t)1 << 28); o += 4) nn__qdot1x4_dsp(a + r * lda, w + o * ldw, (int)ldw, (int)n, y + r * ldy + o);
        for (; o + 2 <= no && n < ((int64_t)1 << 30); o += 2) {
            if (rr == 4) {
                nn__qdot_dsp(a + r * lda, lda, 2, w + o * ldw, ldw, (int)n, y + r * ldy + o, ldy);
                nn__qdot_dsp(a + (r + 2) * lda, lda, 2, w + o * ldw, ldw, (int)n, y + (r + 2) * ldy + o, ldy);
            } else nn__qdot_dsp(a + r * lda, 0, 1, w + o * ldw, ldw, (int)n, y + r * ldy + o, 0);
        }
#endif
        for (; o < no; o++)
            for (i = r; i < r + rr; i++) y[i * ldy + o] = nn__qdot(a + i * lda, w + o * ldw, n);
        r += rr;
    }
}

NN__PRIVATE uint8_t nn__qout(const nn_qlayer *l, int64_t o, int32_t acc) {
    return nn__sat_u8(l->zero + nn__rq((int64_t)l->bias[o] + acc, l->mult[o], l->shift[o]));
}
/* the output positions [*lo, *hi) along one axis whose taps all fall inside the input */
NN__PRIVATE void nn__qinside(int64_t in, int64_t out, int64_t k, int64_t s, int64_t pad, int64_t dil, int *lo, int *hi) {
    const int64_t last = in - 1 - (k - 1) * dil + pad; /* (the largest o * s) */
    const int64_t l = (pad + s - 1) / s, h = last < 0 ? 0 : last / s + 1;
    *lo = (int)(l < out ? l : out);
    *hi = (int)(h < out ? (h > *lo ? h : *lo) : out > *lo ? out : *lo);
}
#if defined(NN__QDOT_AVX2)
/* AVX2 int8 GEMM over many columns (a convolution's pixels, a dense layer's rows of a batch):
   Y (M, N) = W (M, K) X (K, N) in outer-product tiles of 4 rows, no horizontal sums per tap
   (nn__qdot2x4 reduces its chains at every tile, which short convolution rows of 25 taps are
   mostly). X is packed as bytes, 4 taps of a column together ([quad][column][4]). A layer whose
   weights all lie in [-64, 64] (wmax; nn_quant_config.weight_bits 7) multiplies a broadcast quad
   of one row's weights by 8 columns' quads with vpmaddubsw (32 products; a pair's sum is at most
   255 x 64 x 2 < 2^15, so it never saturates) and vpmaddwd by ones (4 x 16 tile; weights in
   [-32, 32], weight_bits 6: two quads' vpmaddubsw added in 16 bits, at most 4 x 255 x 32 < 2^15,
   before one vpmaddwd); any other widens 8 columns' quads to 16 bits in the tile and multiplies
   a broadcast quad of 16-bit weights by vpmaddwd (exact; 4 x 8 tile, the pairs summed when the
   tile ends). Byte weights are read in place wherever a tile's rows lie inside the layer's
   weights. Blocks on the stack (~58 KB): NN__QKC taps of NN__QMB rows (int16 or int8), the same
   taps of NN__QNC columns, the (NN__QMB, NN__QNC) sums, two blocks' tap tables; nn__qconv adds
   16 KB of padded images and 32 KB of pooled sums, nn__qconv_rows (not inlined, never beside
   the GEMM) 36 KB of arrays: an int8 convolution on AVX2 needs ~110 KB of stack (a thread of
   its own should have 256 KB or more).
   Integer sums: the same values as nn__qdots in any order. */
#define NN__QMR 4
#define NN__QMB 64
#define NN__QKC 160
#define NN__QNC 64
#define NN__QXS (NN__QNC + 8) /* (xp's row: 8 columns of slack for whole-vector stores) */
#define NN__QPADB 16384
#define NN__QPLANE 8192 /* (int32 sums of an image, for a pooling taken before requantization) */
typedef struct nn__qsrc {    /* where the columns come from: */
    const nn_conv2d_desc *d; /* a convolution: column n is output pixel n of the image x (a group's
                                channels), padding reads zin; or, d NULL, */
    const uint8_t *x;
    int64_t ld;              /* a dense layer: column n is the row x + n * ld */
    int zin;
    int slack;               /* the image x has NN__QSLACK readable bytes after it (nn__qconv's copy) */
    int64_t istride;         /* a convolution over several images: image i at x + i * istride, its
                                pixels the columns from i * OH * OW on */
    int *tab;                /* a convolution's tap tables for two blocks of taps, kept from image to image
                                (tab[0] and tab[NN__QTAB]: the block each holds, or -1) */
} nn__qsrc;
#define NN__QSLACK 16
#define NN__QTAB (5 + 4 * NN__QKC + 3 * NN__QKC / 4)
NN__PRIVATE int32_t nn__ld32i(const void *p) { int32_t v; memcpy(&v, p, 4); return v; }
NN__PRIVATE long long nn__ld64i(const void *p) { long long v; memcpy(&v, p, 8); return v; }
#define NN__QLD8(p) _mm256_loadu_si256((const __m256i *)(const void *)(p))
#define NN__QST8(p, v) _mm256_storeu_si256((__m256i *)(void *)(p), v)
#define NN__QXW(p) _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)(const void *)(p)))
#if defined(__GNUC__) /* (GCC hoists the tiles' 4 broadcasts and spills a sum through the stack; this keeps each
                         row's work in its place) */
#define NN__QPIN(a, b) __asm__ volatile("" : "+x"(a), "+x"(b))
#else
#define NN__QPIN(a, b) (void)0
#endif
/* acc (4 rows, lda apart; half: 2) += wp (4 rows of int8, ldw apart) x the quads of 16 columns
   in ns segments (each its quads' weights in turn): 8 chains (fresh: acc = the products) */
typedef struct nn__qcols { const uint8_t *x; int64_t qs, nq; } nn__qcols; /* (nq quads, quad j at x + j * qs) */
#define NN__QROWB(r, A, B)                                                                              \
    {                                                                                                   \
        const __m256i w = _mm256_set1_epi32(nn__ld32i(ws + (r) * ldw + 4 * j));                         \
        A = _mm256_add_epi32(A, _mm256_madd_epi16(_mm256_maddubs_epi16(x0, w), one));                   \
        B = _mm256_add_epi32(B, _mm256_madd_epi16(_mm256_maddubs_epi16(x1, w), one));                   \
        NN__QPIN(A, B);                                                                                 \
    }
#define NN__QROWB2(r, A, B)                                                                             \
    {                                                                                                   \
        const __m256i w = _mm256_set1_epi32(nn__ld32i(ws + (r) * ldw + 4 * j));                         \
        const __m256i v = _mm256_set1_epi32(nn__ld32i(ws + (r) * ldw + 4 * j + 4));                     \
        A = _mm256_add_epi32(A, _mm256_madd_epi16(_mm256_add_epi16(_mm256_maddubs_epi16(x0, w), _mm256_maddubs_epi16(y0, v)), one)); \
        B = _mm256_add_epi32(B, _mm256_madd_epi16(_mm256_add_epi16(_mm256_maddubs_epi16(x1, w), _mm256_maddubs_epi16(y1, v)), one)); \
        NN__QPIN(A, B);                                                                                 \
    }
NN__PRIVATE NN__NOINLINE void nn__qtile_b(const int8_t *wp, int64_t ldw, const nn__qcols *seg, int ns, int two, int half, int fresh,
                                         int32_t *acc, int64_t lda) {
    const __m256i one = _mm256_set1_epi16(1);
    __m256i c0a, c0b, c1a, c1b, c2a, c2b, c3a, c3b;
    const int8_t *ws = wp;
    int64_t j;
    if (fresh) c0a = c0b = c1a = c1b = c2a = c2b = c3a = c3b = _mm256_setzero_si256();
    else {
        c0a = NN__QLD8(acc); c0b = NN__QLD8(acc + 8); c1a = NN__QLD8(acc + lda); c1b = NN__QLD8(acc + lda + 8);
        if (!half) {
            c2a = NN__QLD8(acc + 2 * lda); c2b = NN__QLD8(acc + 2 * lda + 8);
            c3a = NN__QLD8(acc + 3 * lda); c3b = NN__QLD8(acc + 3 * lda + 8);
        } else c2a = c2b = c3a = c3b = _mm256_setzero_si256();
    }
    for (; ns > 0; ns--, ws += 4 * seg->nq, seg++) {
        const uint8_t *xp = seg->x;
        const int64_t qs = seg->qs, nq = seg->nq;
        j = 0;
        if (two)
            for (; j + 2 <= nq; j += 2) {
                const __m256i x0 = NN__QLD8(xp + j * qs), x1 = NN__QLD8(xp + j * qs + 32);
                const __m256i y0 = NN__QLD8(xp + (j + 1) * qs), y1 = NN__QLD8(xp + (j + 1) * qs + 32);
                NN__QROWB2(0, c0a, c0b) NN__QROWB2(1, c1a, c1b)
                if (!half) { NN__QROWB2(2, c2a, c2b) NN__QROWB2(3, c3a, c3b) }
            }
        for (; j < nq; j++) {
            const __m256i x0 = NN__QLD8(xp + j * qs), x1 = NN__QLD8(xp + j * qs + 32);
            NN__QROWB(0, c0a, c0b) NN__QROWB(1, c1a, c1b)
            if (!half) { NN__QROWB(2, c2a, c2b) NN__QROWB(3, c3a, c3b) }
        }
    }
    NN__QST8(acc, c0a); NN__QST8(acc + 8, c0b); NN__QST8(acc + lda, c1a); NN__QST8(acc + lda + 8, c1b);
    if (half) return;
    NN__QST8(acc + 2 * lda, c2a); NN__QST8(acc + 2 * lda + 8, c2b);
    NN__QST8(acc + 3 * lda, c3a); NN__QST8(acc + 3 * lda + 8, c3b);
}
#undef NN__QROWB
#undef NN__QROWB2
/* acc (4 rows, lda apart; half: 2) += wp (4 rows of NN__QKC int16) x xp (8 columns), nq quads:
   each chain holds a column's two pairs (summed at the end: hadd leaves columns 0 1 4 5 | 2 3 6 7) */
#define NN__QROWW(r, A, B)                                                                              \
    {                                                                                                   \
        const __m256i w = _mm256_set1_epi64x(nn__ld64i(wp + (r) * NN__QKC + 4 * j));                   \
        A = _mm256_add_epi32(A, _mm256_madd_epi16(w, x0)); B = _mm256_add_epi32(B, _mm256_madd_epi16(w, x1)); \
        NN__QPIN(A, B);                                                                                 \
    }
#define NN__QSUMW(r, A, B)                                                                                \
    {                                                                                                   \
        const __m256i s_ = _mm256_permute4x64_epi64(_mm256_hadd_epi32(A, B), 0xD8);                    \
        NN__QST8(acc + (r) * lda, fresh ? s_ : _mm256_add_epi32(NN__QLD8(acc + (r) * lda), s_));           \
    }
NN__PRIVATE NN__NOINLINE void nn__qtile_w(const int16_t *wp, const uint8_t *xp, int64_t nq, int half, int fresh, int32_t *acc,
                                         int64_t lda) {
    __m256i c0a = _mm256_setzero_si256(), c0b = c0a, c1a = c0a, c1b = c0a, c2a = c0a, c2b = c0a, c3a = c0a, c3b = c0a;
    int64_t j;
    for (j = 0; j < nq; j++) {
        const __m256i x0 = NN__QXW(xp + j * 4 * NN__QXS), x1 = NN__QXW(xp + j * 4 * NN__QXS + 16);
        NN__QROWW(0, c0a, c0b) NN__QROWW(1, c1a, c1b)
        if (!half) { NN__QROWW(2, c2a, c2b) NN__QROWW(3, c3a, c3b) }
    }
    NN__QSUMW(0, c0a, c0b) NN__QSUMW(1, c1a, c1b)
    if (!half) { NN__QSUMW(2, c2a, c2b) NN__QSUMW(3, c3a, c3b) }
}
#undef NN__QROWW
#undef NN__QSUMW
#undef NN__QPIN
/* 8 pixels' bytes of 4 taps (a, b, c, d) as 8 quads: pixel i's a b c d in bytes 4i .. 4i + 3 */
NN__PRIVATE __m256i nn__qquad8(__m128i a, __m128i b, __m128i c, __m128i d) {
    const __m128i ab = _mm_unpacklo_epi8(a, b), cd = _mm_unpacklo_epi8(c, d);
    return _mm256_set_m128i(_mm_unpackhi_epi16(ab, cd), _mm_unpacklo_epi16(ab, cd));
}
/* taps [k0, k0 + kc) of columns [n0, n0 + nc) into xp; the taps up to a multiple of 4 zero; the
   columns past nc (to a multiple of 16) hold anything: the tiles' sums there are never read. A
   convolution's windows inside the image, stride 1: 8 or 16 pixels of four taps at a time
   (their bytes interleaved) */
NN__PRIVATE void nn__qpack_x(const nn__qsrc *s, int64_t k0, int64_t kc, int64_t n0, int64_t nc, uint8_t *xp, int *tab) {
    const int64_t nq = (kc + 3) / 4;
    int64_t j, n, t;
    if (!s->d) { /* 8 rows' quads transposed 8 x 8 (32-bit lanes moved as floats): in place while 8
                    whole quads of 8 rows remain, the rest through tmp (copied, zero-padded) */
        const int64_t nq8 = (nq + 7) / 8 * 8;
        uint32_t tmpw[8 * NN__QKC / 4];
        uint8_t *tmp = (uint8_t *)tmpw;
        int64_t e;
        for (n = 0; n < nc; n += 8) {
            const uint8_t *x = s->x + (n0 + n) * s->ld + k0;
            j = 0;
            if (n + 8 <= nc && s->ld % 4 == 0)
                for (; 4 * (j + 8) <= kc; j += 8)
                    nn__transpose8((float *)(void *)(xp + (j * NN__QXS + n) * 4), NN__QXS, (const float *)(const void *)(x + 4 * j), s->ld / 4);
            if (j == nq) continue;
            for (e = 0; e < 8; e++) {
                uint8_t *d = tmp + e * NN__QKC;
                t = 4 * j;
                if (n + e < nc) { memcpy(d + t, x + e * s->ld + t, (size_t)(kc - t)); t = kc; }
                memset(d + t, 0, (size_t)(4 * nq8 - t));
            }
            for (; j < nq; j += 8)
                nn__transpose8((float *)(void *)(xp + (j * NN__QXS + n) * 4), NN__QXS, (const float *)(const void *)(tmp + 4 * j), NN__QKC / 4);
        }
    } else {
        const nn_conv2d_desc *d = s->d;
        const int H = (int)d->H, W = (int)d->W, OW = (int)d->OW, KHW = (int)(d->KH * d->KW), KW = (int)d->KW;
        const int SH = (int)d->SH, SW = (int)d->SW, PH = (int)d->PH, PW = (int)d->PW, DH = (int)d->DH, DW = (int)d->DW;
        int *off = tab + 1, *tc = off + NN__QKC, *ti = tc + NN__QKC, *tj = ti + NN__QKC, oh_lo, oh_hi, ow_lo, ow_hi, oh, ow, L;
        int *qa = tj + NN__QKC, *qb = qa + NN__QKC / 4, *ql = qb + NN__QKC / 4; /* (whole quads: see below) */
        int *in = ql + NN__QKC / 4; /* (the output rows and columns whose windows are inside) */
        if (tab[0] != (int)k0) { /* (tab[0]: the block the tables hold, or -1) */
            nn__qinside(d->H, d->OH, d->KH, d->SH, d->PH, d->DH, &in[0], &in[1]);
            nn__qinside(d->W, d->OW, d->KW, d->SW, d->PW, d->DW, &in[2], &in[3]);
            int c = (int)k0 / KHW, i = (int)k0 % KHW / KW, jj = (int)k0 % KW; /* tap k0: channel, row, column */
            for (tab[0] = (int)k0, t = 0; t < kc; t++) {
                tc[t] = c * H * W; ti[t] = i * DH; tj[t] = jj * DW; off[t] = tc[t] + ti[t] * W + tj[t];
                if (++jj == KW) { jj = 0; if (++i == KHW / KW) { i = 0; c++; } }
            }
            /* a whole quad's taps as runs of neighbours in x: one run (ql 4: the 8 pixels' quads
               are one 16-byte load, shuffled), two (ql: the first one's length; the second loaded
               from qb, ql bytes early, so that the same shuffle serves) or more (ql 0: 4 loads) */
            for (j = 0; j < kc / 4; j++) {
                int a, runs = 1, l1 = 4;
                for (a = 1; a < 4; a++)
                    if (off[4 * j + a] != off[4 * j + a - 1] + 1) { if (runs++ == 1) l1 = a; }
                qa[j] = off[4 * j]; qb[j] = l1 < 4 ? off[4 * j + l1] - l1 : 0;
                ql[j] = runs == 1 ? 4 : runs == 2 && qb[j] >= 0 ? l1 : 0;
            }
        }
        oh_lo = in[0]; oh_hi = in[1]; ow_lo = in[2]; ow_hi = in[3];
        const __m256i slide = _mm256_setr_epi8(0, 1, 2, 3, 1, 2, 3, 4, 2, 3, 4, 5, 3, 4, 5, 6, 4, 5, 6, 7, 5, 6, 7, 8, 6, 7, 8, 9, 7, 8, 9, 10);
        const __m256i pos = _mm256_set1_epi32(0x03020100); /* (a byte's tap in its quad) */
        __m256i first[4]; /* (first[l]: the bytes of taps below l) */
        for (j = 1; j < 4; j++) first[j] = _mm256_cmpgt_epi8(_mm256_set1_epi8((char)j), pos);
        /* (x: a run's first pixel's window) */
#define NN__QLD(t) _mm_loadl_epi64((const __m128i *)(const void *)(x + off[t]))
#define NN__QTAP(t) ((t) < kc ? NN__QLD(t) : _mm_setzero_si128())
#define NN__QQUAD(j) nn__qquad8(NN__QTAP(4 * (j)), NN__QTAP(4 * (j) + 1), NN__QTAP(4 * (j) + 2), NN__QTAP(4 * (j) + 3))
#define NN__QFULL(j) nn__qquad8(NN__QLD(4 * (j)), NN__QLD(4 * (j) + 1), NN__QLD(4 * (j) + 2), NN__QLD(4 * (j) + 3))
        const int P = (int)(d->OH * d->OW);
        const uint8_t *xi = s->x + (int)n0 / P * s->istride; /* (the image of column n) */
        for (n = 0, oh = (int)n0 % P / OW, ow = (int)n0 % OW; n < nc; n += L) { /* (L pixels a step, within a row) */
            const int ih0 = oh * SH - PH, iw0 = ow * SW - PW;
            if (s->slack && SW == 1 && ow >= ow_lo && ow < ow_hi && oh >= oh_lo && oh < oh_hi) {
                /* L pixels of the row inside, 8 or 16 (where the row and xp's row have them) read
                   from ow: reads past the row's last pixel (the lanes past L) stay in the slack;
                   byte 4q + i of pixel q's quad is byte q + i of a 16-byte load (lanes 4..7 from
                   the same load, broadcast) */
                const int L0 = ow_hi - ow < 16 ? ow_hi - ow : 16, two = L0 > 8 && n + 16 <= NN__QXS;
                const uint8_t *x = xi + ih0 * W + iw0;
#define NN__QSL(o) _mm256_shuffle_epi8(_mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)(const void *)(x + (o)))), slide)
#define NN__QSLB(o) _mm256_blendv_epi8(NN__QSL(qb[j] + (o)), NN__QSL(qa[j] + (o)), first[ql[j]])
                for (j = 0; j < kc / 4; j++) {
                    uint8_t *xq = xp + (j * NN__QXS + n) * 4;
                    if (ql[j] == 4) {
                        NN__QST8(xq, NN__QSL(qa[j]));
                        if (two) NN__QST8(xq + 32, NN__QSL(qa[j] + 8));
                    } else if (ql[j]) {
                        NN__QST8(xq, NN__QSLB(0));
                        if (two) NN__QST8(xq + 32, NN__QSLB(8));
                    } else {
                        NN__QST8(xq, NN__QFULL(j));
                        if (two) { x += 8; NN__QST8(xq + 32, NN__QFULL(j)); x -= 8; }
                    }
                }
                if (j < nq) {
                    NN__QST8(xp + (j * NN__QXS + n) * 4, NN__QQUAD(j));
                    if (two) { x += 8; NN__QST8(xp + (j * NN__QXS + n + 8) * 4, NN__QQUAD(j)); }
                }
#undef NN__QSL
#undef NN__QSLB
                L = two ? L0 : L0 < 8 ? L0 : 8;
                if (L > nc - n) L = (int)(nc - n);
            } else if (SW == 1 && ow_hi - ow_lo >= 8 && ow >= ow_lo && ow < ow_hi && oh >= oh_lo && oh < oh_hi) {
                /* L pixels of the row inside: the 8 from s0 (all inside) read, moved down by ow - s0 */
                const int L0 = ow_hi - ow < 8 ? ow_hi - ow : 8;
                const int s0 = ow + 8 <= ow_hi ? ow : ow_hi - 8;
                const uint8_t *x = xi + ih0 * W + s0 - PW;
                const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
                const __m256i idx = _mm256_add_epi32(lane, _mm256_set1_epi32(ow - s0));
                /* (whole vectors: the lanes past L are later runs' columns, or past nc (see above),
                   the whole quads without the test on kc) */
                if (ow == s0) { /* (the usual case, its own loop) */
                    for (j = 0; j < kc / 4; j++) NN__QST8(xp + (j * NN__QXS + n) * 4, NN__QFULL(j));
                    if (j < nq) NN__QST8(xp + (j * NN__QXS + n) * 4, NN__QQUAD(j));
                } else {
                    for (j = 0; j < kc / 4; j++) NN__QST8(xp + (j * NN__QXS + n) * 4, _mm256_permutevar8x32_epi32(NN__QFULL(j), idx));
                    if (j < nq) NN__QST8(xp + (j * NN__QXS + n) * 4, _mm256_permutevar8x32_epi32(NN__QQUAD(j), idx));
                }
                L = nc - n < L0 ? (int)(nc - n) : L0;
            } else {
                if (ow >= ow_lo && ow < ow_hi && oh >= oh_lo && oh < oh_hi) {
                    const uint8_t *x = xi + ih0 * W + iw0;
                    for (t = 0; t < kc; t++) xp[((t >> 2) * NN__QXS + n) * 4 + (t & 3)] = x[off[t]];
                } else
                    for (t = 0; t < kc; t++) {
                        const int ih = ih0 + ti[t], iw = iw0 + tj[t];
                        xp[((t >> 2) * NN__QXS + n) * 4 + (t & 3)] = ih < 0 || ih >= H || iw < 0 || iw >= W ? (uint8_t)s->zin : xi[tc[t] + ih * W + iw];
                    }
                for (t = kc; t < 4 * nq; t++) xp[((t >> 2) * NN__QXS + n) * 4 + (t & 3)] = 0;
                L = 1;
            }
            if ((ow += L) == OW && (ow = 0, ++oh == (int)d->OH)) { oh = 0; xi += s->istride; } /* (L never passes the row's end) */
        }
#undef NN__QLD
#undef NN__QTAP
#undef NN__QQUAD
#undef NN__QFULL
    }
}
/* int32 lanes to bytes saturated to [0, 255]: 32 (4 x 8 lanes in 3 packs, put in order by one
   permute) or 8 */
NN__PRIVATE void nn__qbytes32(uint8_t *y, __m256i a, __m256i b, __m256i c, __m256i d) {
    const __m256i u = _mm256_packus_epi16(_mm256_packs_epi32(a, b), _mm256_packs_epi32(c, d));
    NN__QST8(y, _mm256_permutevar8x32_epi32(u, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7)));
}
NN__PRIVATE void nn__qbytes8(uint8_t *y, __m256i a) {
    const __m128i h = _mm_packs_epi32(_mm256_castsi256_si128(a), _mm256_extracti128_si256(a, 1));
    _mm_storel_epi64((__m128i *)(void *)y, _mm_packus_epi16(h, h));
}
/* the maxima of 8 2x2 windows of int32, in order: columns 2i, 2i + 1 of rows p and q */
NN__PRIVATE __m256i nn__qpool8(const int32_t *p, const int32_t *q) {
    const __m256 u = _mm256_castsi256_ps(_mm256_max_epi32(NN__QLD8(p), NN__QLD8(q)));
    const __m256 v = _mm256_castsi256_ps(_mm256_max_epi32(NN__QLD8(p + 8), NN__QLD8(q + 8)));
    const __m256i e = _mm256_castps_si256(_mm256_shuffle_ps(u, v, 0x88)), o = _mm256_castps_si256(_mm256_shuffle_ps(u, v, 0xDD));
    return _mm256_permute4x64_epi64(_mm256_max_epi32(e, o), 0xD8); /* (lanes 0 2 4 6 of u, then of v) */
}
/* 8 lanes of zero + nn__rq(bias + acc, mult, shift) in nn__rq's fast case, each lane its own
   constants (r: the rounding bit, cnt: shift - 32): the rounded high half of |v| x mult,
   shifted, the sign put back */
NN__PRIVATE __m256i nn__rq8(__m256i acc, __m256i b, __m256i m, __m256i r, __m256i cnt, __m256i z) {
    const __m256i v = _mm256_add_epi32(acc, b), a = _mm256_abs_epi32(v);
    const __m256i pe = _mm256_mul_epu32(a, m), po = _mm256_mul_epu32(_mm256_srli_epi64(a, 32), _mm256_srli_epi64(m, 32));
    const __m256i hi = _mm256_blend_epi32(_mm256_srli_epi64(pe, 32), po, 0xAA);
    return _mm256_add_epi32(_mm256_sign_epi32(_mm256_srlv_epi32(_mm256_add_epi32(hi, r), cnt), v), z);
}
/* whether bias + sum fits in 32 bits for l's channels [o0, o0 + M) (K taps each) */
NN__PRIVATE int nn__qfit(const nn_qlayer *l, int64_t o0, int64_t M, int64_t K) {
    int64_t r, bmax = 0;
    for (r = 0; r < M; r++) bmax = l->bias[o0 + r] > bmax ? l->bias[o0 + r] : -(int64_t)l->bias[o0 + r] > bmax ? -(int64_t)l->bias[o0 + r] : bmax;
    return K < ((int64_t)1 << 16) && bmax + K * 255 * l->wmax < ((int64_t)1 << 31) - 1;
}
/* nn__rq's fast case, lane by lane (where bias + sum fits in 32 bits; non-decreasing in it) */
NN__PRIVATE int nn__rq_fast(int32_t mult, int32_t shift) { return mult >= 0 && shift > 32 && shift <= 62; }
/* y[i] = saturate(zero + nn__rq(bias + acc[i], mult, shift)) for i < n: 32 and 8 at a time when
   the sums fit in 32 bits (fit), mult >= 0 and shift > 32 (nn__rq's fast case, lane by lane) */
NN__PRIVATE void nn__qreq_row(const int32_t *acc, int64_t n, int fit, int32_t bias, int32_t mult, int32_t shift,
                              int32_t zero, uint8_t *y) {
    int64_t i = 0;
    if (fit && nn__rq_fast(mult, shift)) {
        const __m256i b = _mm256_set1_epi32(bias), m = _mm256_set1_epi32(mult), z = _mm256_set1_epi32(zero);
        const __m256i r = _mm256_set1_epi32((int32_t)1 << (shift - 33)), cnt = _mm256_set1_epi32(shift - 32);
#define NN__QRQ8(k) nn__rq8(NN__QLD8(acc + (k)), b, m, r, cnt, z)
        for (; i + 32 <= n; i += 32) nn__qbytes32(y + i, NN__QRQ8(i), NN__QRQ8(i + 8), NN__QRQ8(i + 16), NN__QRQ8(i + 24));
        for (; i + 8 <= n; i += 8) nn__qbytes8(y + i, NN__QRQ8(i));
#undef NN__QRQ8
    }
    for (; i < n; i++) y[i] = nn__sat_u8(zero + nn__rq((int64_t)bias + acc[i], mult, shift));
}
/* y[i] = saturate(zero + nn__rq(bias[i] + acc[i], mult[i], shift[i])) for i < n (a row's
   channels): 8 at a time where all 8 are in nn__rq's fast case (fit: as nn__qreq_row) */
NN__PRIVATE void nn__qreq_chans(const int32_t *acc, int64_t n, int fit, const int32_t *bias, const int32_t *mult, const int32_t *shift,
                                int32_t zero, uint8_t *y) {
    const __m256i z = _mm256_set1_epi32(zero), one = _mm256_set1_epi32(1), c33 = _mm256_set1_epi32(33), c62 = _mm256_set1_epi32(62);
    int64_t i = 0, k;
    for (; fit && i + 8 <= n; i += 8) {
        const __m256i m = NN__QLD8(mult + i), sh = NN__QLD8(shift + i);
        const __m256i out = _mm256_or_si256(_mm256_or_si256(m, _mm256_cmpgt_epi32(c33, sh)), _mm256_cmpgt_epi32(sh, c62));
        if (_mm256_movemask_ps(_mm256_castsi256_ps(out))) /* (a lane's sign set: mult < 0, shift <= 32 or > 62) */
            for (k = i; k < i + 8; k++) y[k] = nn__sat_u8(zero + nn__rq((int64_t)bias[k] + acc[k], mult[k], shift[k]));
        else
            nn__qbytes8(y + i, nn__rq8(NN__QLD8(acc + i), NN__QLD8(bias + i), m, _mm256_sllv_epi32(one, _mm256_sub_epi32(sh, c33)),
                                       _mm256_sub_epi32(sh, _mm256_set1_epi32(32)), z));
    }
    for (; i < n; i++) y[i] = nn__sat_u8(zero + nn__rq((int64_t)bias[i] + acc[i], mult[i], shift[i]));
}
/* y = the 2x2 max pooling of a channel's (OH, OW) sums s (rows ld apart; OH, OW even), requantized as
   nn__qreq_row in its fast case (the caller's to check: where requantization is non-decreasing,
   pooling first gives the same bytes). A pooled row 8 at a time from its two rows (its last 8
   moved back over done ones); rows under 8 pooled: the rows' maxima first, in place (s
   overwritten; a row of 8 to 14 by two overlapping steps), then the pairs' flat (OW even: no
   pair straddles a row) */
NN__PRIVATE void nn__qreq_pool(int32_t *s, int64_t OH, int64_t OW, int64_t ld, int32_t bias, int32_t mult, int32_t shift,
                               int32_t zero, uint8_t *y) {
    const int64_t OWp = OW / 2, n = OH / 2 * OWp;
    const __m256i b = _mm256_set1_epi32(bias), m = _mm256_set1_epi32(mult), z = _mm256_set1_epi32(zero);
    const __m256i r = _mm256_set1_epi32((int32_t)1 << (shift - 33)), cnt = _mm256_set1_epi32(shift - 32);
    int64_t h, c, k;
    if (OWp >= 8) {
        for (h = 0; h < OH / 2; h++) {
            const int32_t *a = s + 2 * h * ld;
            for (c = 0;; c += 8) {
                if (c + 8 > OWp) c = OWp - 8;
                nn__qbytes8(y + h * OWp + c, nn__rq8(nn__qpool8(a + 2 * c, a + ld + 2 * c), b, m, r, cnt, z));
                if (c + 8 == OWp) break;
            }
        }
        return;
    }
    for (h = 0; h < OH / 2; h++) {
        const int32_t *a = s + 2 * h * ld;
        int32_t *o = s + h * OW; /* (at or below a: no later row's sums written over before read) */
        if (OW >= 8) {
            NN__QST8(o, _mm256_max_epi32(NN__QLD8(a), NN__QLD8(a + ld)));
            NN__QST8(o + OW - 8, _mm256_max_epi32(NN__QLD8(a + OW - 8), NN__QLD8(a + ld + OW - 8))); /* (again over done ones: the same) */
        } else
            for (c = 0; c < OW; c++) o[c] = a[c] > a[ld + c] ? a[c] : a[ld + c];
    }
    for (k = 0; k + 8 <= n; k += 8) nn__qbytes8(y + k, nn__rq8(nn__qpool8(s + 2 * k, s + 2 * k), b, m, r, cnt, z));
    for (; k < n; k++) y[k] = nn__sat_u8(zero + nn__rq((int64_t)bias + (s[2 * k] > s[2 * k + 1] ? s[2 * k] : s[2 * k + 1]), mult, shift));
}
/* y[n * ys + m] = t[m * NN__QNC + n] for m < M, n < N: 8 x 8 bytes at a time */
NN__PRIVATE void nn__qstore_t(const uint8_t *t, int64_t M, int64_t N, uint8_t *y, int64_t ys) {
    int64_t m, n, e;
    for (m = 0; m + 8 <= M; m += 8) {
        for (n = 0; n + 8 <= N; n += 8) {
#define NN__QL(e) _mm_loadl_epi64((const __m128i *)(const void *)(t + (m + (e)) * NN__QNC + n))
            const __m128i a = _mm_unpacklo_epi8(NN__QL(0), NN__QL(1)), b = _mm_unpacklo_epi8(NN__QL(2), NN__QL(3));
            const __m128i c = _mm_unpacklo_epi8(NN__QL(4), NN__QL(5)), d = _mm_unpacklo_epi8(NN__QL(6), NN__QL(7));
#undef NN__QL
            const __m128i ab0 = _mm_unpacklo_epi16(a, b), ab1 = _mm_unpackhi_epi16(a, b);
            const __m128i cd0 = _mm_unpacklo_epi16(c, d), cd1 = _mm_unpackhi_epi16(c, d);
            __m128i r[4];
            r[0] = _mm_unpacklo_epi32(ab0, cd0); r[1] = _mm_unpackhi_epi32(ab0, cd0); /* (columns n, n + 1; n + 2, n + 3) */
            r[2] = _mm_unpacklo_epi32(ab1, cd1); r[3] = _mm_unpackhi_epi32(ab1, cd1);
            for (e = 0; e < 4; e++) {
                _mm_storel_epi64((__m128i *)(void *)(y + (n + 2 * e) * ys + m), r[e]);
                _mm_storel_epi64((__m128i *)(void *)(y + (n + 2 * e + 1) * ys + m), _mm_unpackhi_epi64(r[e], r[e]));
            }
        }
        for (; n < N; n++)
            for (e = 0; e < 8; e++) y[n * ys + m + e] = t[(m + e) * NN__QNC + n];
    }
    for (; m < M; m++)
        for (n = 0; n < N; n++) y[n * ys + m] = t[m * NN__QNC + n];
}
/* the int8 layer l's channels [o0, o0 + M) (weights w, K taps each) over N columns from s:
   channel o0 + m of column n to y[m * ys_o + n * ys_n], or, sums not NULL, its sum (no bias) to
   sums[m * Np + n] (Np: N up to a multiple of 16; M up to one of 4 rows written) */
NN__PRIVATE void nn__qgemm(const nn_qlayer *l, const int8_t *w, int64_t o0, int64_t M, int64_t K, int64_t N, const nn__qsrc *s,
                           uint8_t *y, int64_t ys_o, int64_t ys_n, int32_t *sums) {
    int16_t wp[NN__QMB * NN__QKC];
    __m256i xpv[NN__QKC * NN__QXS / 32], accv[NN__QMB * NN__QNC / 8]; /* (32-byte aligned: no tile's load splits a line) */
    uint8_t *xp = (uint8_t *)xpv;
    int8_t *wb = (int8_t *)wp;
    int32_t *acc = (int32_t *)accv;
    uint8_t yt[NN__QMB * NN__QNC];
    const int bytes = l->wmax <= 64, two = l->wmax <= 32; /* (vpmaddubsw cannot saturate; two quads' pair sums cannot either) */
    const int64_t woff = w - l->w;   /* (w: a group's rows in l->w) */
    int64_t n0, m0, k0, r, t, n, wkey = -1;
    const int fit = nn__qfit(l, o0, M, K);
    const int64_t lda = sums ? (N + 15) / 16 * 16 : NN__QNC;
    for (n0 = 0; n0 < N; n0 += NN__QNC) {
        const int64_t nc = N - n0 < NN__QNC ? N - n0 : NN__QNC;
        for (m0 = 0; m0 < M; m0 += NN__QMB) {
            const int64_t mb = M - m0 < NN__QMB ? M - m0 : NN__QMB, mbp = (mb + NN__QMR - 1) / NN__QMR * NN__QMR;
            int32_t *ac = sums ? sums + m0 * lda + n0 : acc; /* (the tiles' sums: the block's, or in place) */
            for (k0 = 0; k0 < K; k0 += NN__QKC) {
                const int64_t kc = K - k0 < NN__QKC ? K - k0 : NN__QKC, nq = (kc + 3) / 4;
                /* byte rows read in place where a tile's 4 rows of whole quads lie inside l->w: a
                   quad's taps past kc meet zero columns, rows past mb are sums never stored */
                const int64_t in_end = bytes ? (l->n_w - woff - k0 - 4 * nq) / K - m0 - NN__QMR + 2 : 0; /* (tiles r < in_end) */
                nn__qpack_x(s, k0, kc, n0, nc, xp, s->tab ? s->tab + k0 / NN__QKC % 2 * NN__QTAB : NULL);
                if (in_end < mbp && wkey != m0 * K + k0) /* (the rows of the other tiles, once per block) */
                    for (wkey = m0 * K + k0, r = 0; r < mbp; r++) { /* (widened unless bytes); the taps to 4 nq and the rows past M zero */
                        const int8_t *src = w + (m0 + r) * K + k0;
                        t = 0;
                        if (bytes) {
                            if (r < mb) { memcpy(wb + r * NN__QKC, src, (size_t)kc); t = kc; }
                            memset(wb + r * NN__QKC + t, 0, (size_t)(4 * nq - t));
                            continue;
                        }
                        if (r < mb) {
                            for (; t + 16 <= kc; t += 16)
                                NN__QST8(wp + r * NN__QKC + t, _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(const void *)(src + t))));
                            for (; t < kc; t++) wp[r * NN__QKC + t] = src[t];
                        }
                        for (; t < 4 * nq; t++) wp[r * NN__QKC + t] = 0;
                    }
                for (r = 0; r < mbp; r += NN__QMR) {
                    const int half = mb - r <= 2; /* (a last tile of 1 or 2 rows: 6 channels are 4 + 2) */
                    int32_t *ar = ac + r * lda;
                    for (n = 0; n < nc; n += 16) {
                        const nn__qcols cols = {xp + n * 4, 4 * NN__QXS, nq};
                        if (r < in_end) nn__qtile_b(w + (m0 + r) * K + k0, K, &cols, 1, two, half, k0 == 0, ar + n, lda);
                        else if (bytes) nn__qtile_b(wb + r * NN__QKC, NN__QKC, &cols, 1, two, half, k0 == 0, ar + n, lda);
                        else {
                            nn__qtile_w(wp + r * NN__QKC, xp + n * 4, nq, half, k0 == 0, ar + n, lda);
                            nn__qtile_w(wp + r * NN__QKC, xp + (n + 8) * 4, nq, half, k0 == 0, ar + n + 8, lda);
                        }
                    }
                }
            }
            if (sums) continue;
            for (r = 0; r < mb; r++) { /* (a dense layer's channels are the rows' bytes: through yt, transposed) */
                const int64_t o = o0 + m0 + r;
                nn__qreq_row(acc + r * NN__QNC, nc, fit, l->bias[o], l->mult[o], l->shift[o], l->zero,
                             ys_n == 1 ? y + (m0 + r) * ys_o + n0 : yt + r * NN__QNC);
            }
            if (ys_n != 1) nn__qstore_t(yt, mb, nc, y + n0 * ys_n + m0 * ys_o, ys_n);
        }
    }
}
/* c channels of an image x (d's H x W) into the inside of a padded copy (planes of d's padded
   size): each row by 16- or 8-byte moves (the last one back over done bytes), where a memcpy
   call a row cost more than the copy */
NN__PRIVATE void nn__qpad_copy(uint8_t *pad, const uint8_t *x, int64_t c, const nn_conv2d_desc *d) {
    const int64_t W = d->W, Wp = W + 2 * d->PW, Hp = d->H + 2 * d->PH;
    int64_t r, k;
    for (r = 0; r < c * d->H; r++, x += W) {
        uint8_t *y = pad + (r / d->H * Hp + d->PH + r % d->H) * Wp + d->PW;
        if (W >= 16) {
            for (k = 0; k + 16 < W; k += 16) _mm_storeu_si128((__m128i *)(void *)(y + k), _mm_loadu_si128((const __m128i *)(const void *)(x + k)));
            _mm_storeu_si128((__m128i *)(void *)(y + W - 16), _mm_loadu_si128((const __m128i *)(const void *)(x + W - 16)));
        } else if (W >= 8) {
            _mm_storel_epi64((__m128i *)(void *)y, _mm_loadl_epi64((const __m128i *)(const void *)x));
            _mm_storel_epi64((__m128i *)(void *)(y + W - 8), _mm_loadl_epi64((const __m128i *)(const void *)(x + W - 8)));
        } else memcpy(y, x, (size_t)W);
    }
}
/* A convolution of one input channel at stride 1 with kernel rows of 4 to 7 taps (an image
   model's first layer), without im2col: its columns are the padded image's positions (OH rows of
   Wp, the last Wp - OW of each wasted), so that a kernel row's first 4 taps over 16 columns are
   16 consecutive quads of one array (position p: the bytes x[p..p+3]), Wp quads further for each
   row, read in place by the tiles; the rows' other taps in quads of their own arrays (4 taps'
   bytes at each position). The arrays are built once an image, the weights once a call in that
   order. The sums go to a plane (OH rows of Wp a channel), then are requantized into y, or
   pooled 2x2 into yp. Taken where the wasted columns cost the tiles less than packing would:
   (Wp - OW) x channels <= 4 OW (LeNet-5's first layer, 6 channels: its packing took as long as
   its tiles), and where its buffers have room. */
#define NN__QROWS 8192 /* (quads of the position arrays) */
NN__PRIVATE int nn__qrows_fits(const nn_qlayer *l, const nn_conv2d_desc *d) {
    const int64_t Hp = d->H + 2 * d->PH, Wp = d->W + 2 * d->PW, np = (d->OH * Wp + 15) / 16 * 16;
    const int64_t nlq = (d->KH * (d->KW - 4) + 3) / 4; /* (the other taps' quads) */
    return d->C == 1 && d->G == 1 && d->SH == 1 && d->SW == 1 && d->DH == 1 && d->DW == 1 && d->KW >= 4 && d->KW <= 7 &&
           d->KH <= 8 && l->wmax <= 64 && d->OC <= NN__QMB && (Wp - d->OW) * d->OC <= 4 * d->OW && Hp * Wp + 64 <= NN__QPADB &&
           np + (d->KH - 1) * Wp + 8 + nlq * np <= NN__QROWS && (d->OC + 3) / 4 * 4 * np <= NN__QPLANE;
}
NN__PRIVATE NN__NOINLINE void nn__qconv_rows(const nn_qlayer *l, const nn_conv2d_desc *d, const uint8_t *x, int32_t zin, int64_t B, uint8_t *y,
                                uint8_t *yp, uint8_t *pad, int32_t *sums) {
    const int64_t Hp = d->H + 2 * d->PH, Wp = d->W + 2 * d->PW, OH = d->OH, OW = d->OW, KH = d->KH, KW = d->KW, M = d->OC;
    const int64_t np = (OH * Wp + 15) / 16 * 16, nq0 = np + (KH - 1) * Wp + 8, nl = KH * (KW - 4), nlq = (nl + 3) / 4;
    const int64_t Kp = 4 * (KH + nlq), Mp = (M + 3) / 4 * 4, P = OH * OW, Pp = OH / 2 * (OW / 2);
    const int two = l->wmax <= 32, fit = nn__qfit(l, 0, M, KH * KW);
    const __m256i slide = _mm256_setr_epi8(0, 1, 2, 3, 1, 2, 3, 4, 2, 3, 4, 5, 3, 4, 5, 6, 4, 5, 6, 7, 5, 6, 7, 8, 6, 7, 8, 9, 7, 8, 9, 10);
    uint32_t qv[NN__QROWS];
    int8_t wq[NN__QMB * 4 * 14];
    nn__qcols seg[2];
    int64_t n, r, j, i, p, o, oh;
    for (r = 0; r < Mp; r++) /* (taps: each row's first 4, then the others in order, 4 a quad) */
        for (j = 0; j < Kp; j++) {
            const int64_t t = j - 4 * KH, dy = j < 4 * KH ? j / 4 : t / (KW - 4), dx = j < 4 * KH ? j % 4 : 4 + t % (KW - 4);
            wq[r * Kp + j] = r < M && (j < 4 * KH || t < nl) ? l->w[r * KH * KW + dy * KW + dx] : 0;
        }
    memset(pad, zin, (size_t)(Hp * Wp + 64)); /* (slack: the arrays' last 16 columns read past the image) */
    for (n = 0; n < B; n++) {
        nn__qpad_copy(pad, x + n * d->H * d->W, 1, d);
        for (p = 0; p < nq0; p += 8)
            NN__QST8(qv + p, _mm256_shuffle_epi8(_mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)(const void *)(pad + p))), slide));
        for (j = 0; j < nlq; j++) { /* (quad j of the other taps: its 4 offsets, or none) */
            int64_t off[4];
            uint32_t *a = qv + nq0 + j * np;
            for (i = 0; i < 4; i++) off[i] = 4 * j + i < nl ? (4 * j + i) / (KW - 4) * Wp + 4 + (4 * j + i) % (KW - 4) : -1;
#define NN__QTAPP(e) (off[e] >= 0 ? _mm_loadl_epi64((const __m128i *)(const void *)(pad + p + off[e])) : _mm_setzero_si128())
            for (p = 0; p < np; p += 8) NN__QST8(a + p, nn__qquad8(NN__QTAPP(0), NN__QTAPP(1), NN__QTAPP(2), NN__QTAPP(3)));
#undef NN__QTAPP
        }
        for (p = 0; p < np; p += 16) {
            seg[0].x = (const uint8_t *)(qv + p); seg[0].qs = 4 * Wp; seg[0].nq = KH;
            seg[1].x = (const uint8_t *)(qv + nq0 + p); seg[1].qs = 4 * np; seg[1].nq = nlq;
            for (r = 0; r < Mp; r += NN__QMR) nn__qtile_b(wq + r * Kp, Kp, seg, nlq ? 2 : 1, two, M - r <= 2, 1, sums + r * np + p, np);
        }
        for (o = 0; o < M; o++)
            if (yp) nn__qreq_pool(sums + o * np, OH, OW, Wp, l->bias[o], l->mult[o], l->shift[o], l->zero, yp + (n * M + o) * Pp);
            else
                for (oh = 0; oh < OH; oh++)
                    nn__qreq_row(sums + o * np + oh * Wp, OW, fit, l->bias[o], l->mult[o], l->shift[o], l->zero, y + (n * M + o) * P + oh * OW);
    }
}
#undef NN__QLD8
#undef NN__QST8
#undef NN__QXW
#endif
NN__PRIVATE void nn__qdense(const nn_qlayer *l, const uint8_t *x, int64_t in, int64_t B, uint8_t *y) {
    enum { NB = 4, NO = 64 };
    int32_t acc[NB * NO];
    int64_t b, o, i;
#if defined(NN__QDOT_AVX2)
    if (B >= 16) { /* the batch's rows as the columns of one GEMM */
        nn__qsrc s;
        s.d = NULL; s.x = x; s.ld = in; s.zin = 0; s.slack = 0; s.tab = NULL; s.istride = 0;
        nn__qgemm(l, l->w, 0, l->n_ch, in, B, &s, y, 1, l->n_ch, NULL);
        return;
    }
    const int fit = nn__qfit(l, 0, l->n_ch, in);
#endif
    for (b = 0; b < B; b += NB)
        for (o = 0; o < l->n_ch; o += NO) {
            const int64_t nb = B - b < NB ? B - b : (int64_t)NB, no = l->n_ch - o < NO ? l->n_ch - o : (int64_t)NO;
            nn__qdots(x + b * in, in, nb, l->w + o * in, in, no, in, acc, NO, l->wmax);
            for (i = 0; i < nb; i++) {
                uint8_t *yr = y + (b + i) * l->n_ch + o;
                const int32_t *ar = acc + i * NO, *bi = l->bias + o, *mu = l->mult + o, *sh = l->shift + o;
#if defined(NN__QDOT_AVX2)
                nn__qreq_chans(ar, no, fit, bi, mu, sh, l->zero, yr);
#else
                int jj;
                for (jj = 0; jj < (int)no; jj++) yr[jj] = nn__sat_u8(l->zero + nn__rq((int64_t)bi[jj] + ar[jj], mu[jj], sh[jj]));
#endif
            }
        }
}
/* an activation range's uint8 scale and zero point (0 inside it), and the quantization itself */
NN__PRIVATE void nn__qparams(float lo, float hi, float *scale, int32_t *zero) {
    double s;
    if (lo > 0.0f) lo = 0.0f;
    if (hi < 0.0f) hi = 0.0f;
    if (hi - lo < 1e-8f) hi = lo + 1e-8f;
    s = ((double)hi - lo) / 255.0;
    *scale = (float)s;
    *zero = (int32_t)floor(-lo / s + 0.5);
    if (*zero < 0) *zero = 0;
    if (*zero > 255) *zero = 255;
}
/* floor(v / scale + 0.5) + zero clamped to [0, 255], NaN to 0: the division in float, the rest
   in double; the AVX-512 and AVX2 paths give the same bytes 16 and 32 values at a time */
NN__PRIVATE uint8_t nn__quant1(float v, float scale, int32_t zero) {
    const double q = floor(v / scale + 0.5) + zero;
    return (uint8_t)(!(q > 0) ? 0 : q > 255 ? 255 : q);
}
#if defined(__AVX2__) && !defined(__AVX512F__) && !defined(NN_NO_SIMD)
/* nn__quantize's 8 lanes: f (v / scale) to zero + floor(f + 0.5) as int32, f held to [lo, hi] */
NN__PRIVATE __m256i nn__quant8(__m256 f, __m256 half, __m256 lo, __m256 hi, __m256i z) {
    const __m256 r = _mm256_round_ps(f, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    const __m256i tie = _mm256_castps_si256(_mm256_cmp_ps(_mm256_sub_ps(f, r), half, _CMP_EQ_OQ)); /* (-1 there) */
    return _mm256_sub_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(_mm256_min_ps(_mm256_max_ps(r, lo), hi)), z), tie);
}
#endif
NN__PRIVATE void nn__quantize(const float *x, int64_t n, float scale, int32_t zero, uint8_t *y) {
    int64_t k = 0;
#if defined(__AVX512F__) && !defined(NN_NO_SIMD)
    const __m512d half = _mm512_set1_pd(0.5), z = _mm512_set1_pd(zero), lo = _mm512_setzero_pd(), hi = _mm512_set1_pd(255.0);
    for (; k + 16 <= n; k += 16) {
        const __m512 f = _mm512_div_ps(_mm512_loadu_ps(x + k), _mm512_set1_ps(scale));
        __m512d d0 = _mm512_cvtps_pd(_mm512_castps512_ps256(f));
        __m512d d1 = _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(f), 1)));
        d0 = _mm512_add_pd(_mm512_roundscale_pd(_mm512_add_pd(d0, half), _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC), z);
        d1 = _mm512_add_pd(_mm512_roundscale_pd(_mm512_add_pd(d1, half), _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC), z);
        d0 = _mm512_min_pd(_mm512_max_pd(d0, lo), hi); /* max(NaN, 0) is 0 */
        d1 = _mm512_min_pd(_mm512_max_pd(d1, lo), hi);
        _mm_storeu_si128((__m128i *)(void *)(y + k),
                         _mm512_cvtepi32_epi8(_mm512_inserti64x4(_mm512_castsi256_si512(_mm512_cvttpd_epi32(d0)), _mm512_cvttpd_epi32(d1), 1)));
    }
#elif defined(__AVX2__) && !defined(NN_NO_SIMD)
    /* in float: f = v / scale rounded to nearest even, then ties moved up (f - r is exact below
       2^23, and 0 above, where f is whole); held to [-512, 512] (NaN to -512) before it becomes
       an integer, + zero; the packs saturate to [0, 255]: floor(f + 0.5) + zero clamped, as in
       double. 32 at a time. */
    const __m256 lo = _mm256_set1_ps(-512.0f), hi = _mm256_set1_ps(512.0f), half = _mm256_set1_ps(0.5f);
    const __m256 sc = _mm256_set1_ps(scale);
    const __m256i z = _mm256_set1_epi32(zero);
#define NN__QUANT8(p)                                                                                                  \
    nn__quant8(_mm256_div_ps(_mm256_loadu_ps(p), sc), half, lo, hi, z)
    for (; k + 32 <= n; k += 32) nn__qbytes32(y + k, NN__QUANT8(x + k), NN__QUANT8(x + k + 8), NN__QUANT8(x + k + 16), NN__QUANT8(x + k + 24));
    for (; k + 8 <= n; k += 8) nn__qbytes8(y + k, NN__QUANT8(x + k));
#undef NN__QUANT8
#endif
    for (; k < n; k++) y[k] = nn__quant1(x[k], scale, zero);
}

/* Dynamic quantization (a mixed model's dense): y (R, no) = x W^T + b with each float row of x
   quantized to uint8 over its own range as it arrives, integer products, and the sums scaled
   back: y = sx * sw[o] * (acc - zx * sumw[o]) + b[o]. Rows in blocks of 4 (independent: the same
   bits on any thread count); xq holds the quantized rows (R * in bytes). */
NN__PRIVATE void nn__qdense_dyn(const int8_t *w, const float *wsc, const int32_t *sumw, const float *bias, int64_t no,
                                const float *x, int64_t in, int64_t R, uint8_t *xq, float *y) {
    enum { NB = 4, NO = 64 };
    int64_t b;
    NN__OMP_FOR_IF(R * no * in >= NN_OMP_MIN_WORK)
    for (b = 0; b < R; b += NB) {
        const int64_t nb = R - b < NB ? R - b : (int64_t)NB;
        int32_t acc[NB * NO], zx[NB];
        float sx[NB];
        int64_t i, j, k, o;
        for (i = 0; i < nb; i++) {
            const float *r = x + (b + i) * in;
            float lo = 0.0f, hi = 0.0f;
            for (k = 0; k < in; k++) { lo = r[k] < lo ? r[k] : lo; hi = r[k] > hi ? r[k] : hi; }
            nn__qparams(lo, hi, &sx[i], &zx[i]);
            nn__quantize(r, in, sx[i], zx[i], xq + (b + i) * in);
        }
        for (o = 0; o < no; o += NO) {
            const int64_t n = no - o < NO ? no - o : (int64_t)NO;
            nn__qdots(xq + b * in, in, nb, w + o * in, in, n, in, acc, NO, 128); /* (any weights) */
            for (i = 0; i < nb; i++)
                for (j = 0; j < n; j++)
                    y[(b + i) * no + o + j] = sx[i] * wsc[o + j] * (float)(acc[i * NO + j] - zx[i] * sumw[o + j]) +
                                              (bias ? bias[o + j] : 0.0f);
        }
    }
}
/* direct convolution: the patches of NN__QPIX output pixels (padding is the input's zero), then
   their dot products with the group's channels, 4 pixels by 4 channels per tile */
#define NN__QPIX 4
/* (indices in int: the caller checks that one image's fit; 64-bit arithmetic costs 32-bit cores
   several instructions per byte) */
NN__PRIVATE void nn__qpatch(const nn_conv2d_desc *d, const uint8_t *xg, int64_t cg64, int64_t oh, int64_t ow, uint8_t zin,
                            uint8_t *p) {
    const int H = (int)d->H, W = (int)d->W, KH = (int)d->KH, KW = (int)d->KW, DH = (int)d->DH, DW = (int)d->DW;
    const int ih0 = (int)(oh * d->SH - d->PH), iw0 = (int)(ow * d->SW - d->PW), HW = H * W, cg = (int)cg64;
    int c, i, j;
    if (ih0 >= 0 && iw0 >= 0 && ih0 + (KH - 1) * DH < H && iw0 + (KW - 1) * DW < W) { /* inside */
        for (c = 0; c < cg; c++)
            for (i = 0; i < KH; i++) {
                const uint8_t *row = xg + c * HW + (ih0 + i * DH) * W + iw0;
                if (DW == 1) for (j = 0; j < KW; j++) *p++ = row[j];
                else for (j = 0; j < KW; j++) *p++ = row[j * DW];
            }
        return;
    }
    for (c = 0; c < cg; c++)
        for (i = 0; i < KH; i++) {
            const int ih = ih0 + i * DH;
            for (j = 0; j < KW; j++) {
                const int iw = iw0 + j * DW;
                *p++ = ih < 0 || ih >= H || iw < 0 || iw >= W ? zin : xg[c * HW + ih * W + iw];
            }
        }
}
/* depthwise (one input and one output channel per group): direct, no patches; the windows
   inside the image without bounds checks, 3x3 unrolled. Indices within one image in int (the
   caller checks they fit): 32-bit targets pay for int64 arithmetic */
NN__PRIVATE void nn__qconv_dw(const nn_qlayer *l, const nn_conv2d_desc *d, const uint8_t *x, int32_t zin, int64_t B,
                              uint8_t *y) {
    const int H = (int)d->H, W = (int)d->W, OH = (int)d->OH, OW = (int)d->OW, KH = (int)d->KH, KW = (int)d->KW;
    const int SH = (int)d->SH, SW = (int)d->SW, PH = (int)d->PH, PW = (int)d->PW, DH = (int)d->DH, DW = (int)d->DW;
    const int fast3 = KH == 3 && KW == 3 && DH == 1 && DW == 1;
    int oh_lo, oh_hi, ow_lo, ow_hi, oh, ow, i, j;
    int64_t nc;
    nn__qinside(d->H, d->OH, d->KH, d->SH, d->PH, d->DH, &oh_lo, &oh_hi);
    nn__qinside(d->W, d->OW, d->KW, d->SW, d->PW, d->DW, &ow_lo, &ow_hi);
    for (nc = 0; nc < B * d->C; nc++) {
        const int c = (int)(nc % d->C);
        const uint8_t *xc = x + nc * H * W;
        const int8_t *wc = l->w + c * KH * KW;
        uint8_t *yc = y + nc * OH * OW;
        int32_t wsum = 0;
        for (i = 0; i < KH * KW; i++) wsum += wc[i];
        for (oh = 0; oh < OH; oh++) {
            const int ih0 = oh * SH - PH, rows_in = oh >= oh_lo && oh < oh_hi;
            /* the taps of this row inside the image: i in [i0, i1) */
            const int i0 = ih0 >= 0 ? 0 : (-ih0 + DH - 1) / DH, i1 = H - 1 - ih0 < 0 ? 0 : (H - 1 - ih0) / DH + 1 < KH ? (H - 1 - ih0) / DH + 1 : KH;
            for (ow = 0; ow < OW; ow++) {
                const int iw0 = ow * SW - PW;
                int32_t acc = 0;
                if (rows_in && ow >= ow_lo && ow < ow_hi) {
                    const uint8_t *p = xc + ih0 * W + iw0;
                    if (fast3)
                        acc = p[0] * wc[0] + p[1] * wc[1] + p[2] * wc[2] + p[W] * wc[3] + p[W + 1] * wc[4] + p[W + 2] * wc[5] +
                              p[2 * W] * wc[6] + p[2 * W + 1] * wc[7] + p[2 * W + 2] * wc[8];
                    else
                        for (i = 0; i < KH; i++)
                            for (j = 0; j < KW; j++) acc += p[i * DH * W + j * DW] * wc[i * KW + j];
                } else { /* the taps inside, and the zero point times the weights of the others */
                    const int j0 = iw0 >= 0 ? 0 : (-iw0 + DW - 1) / DW;
                    const int j1 = W - 1 - iw0 < 0 ? 0 : (W - 1 - iw0) / DW + 1 < KW ? (W - 1 - iw0) / DW + 1 : KW;
                    int32_t win = 0;
                    for (i = i0; i < i1; i++)
                        for (j = j0; j < j1; j++) {
                            acc += xc[(ih0 + i * DH) * W + iw0 + j * DW] * wc[i * KW + j];
                            win += wc[i * KW + j];
                        }
                    acc += zin * (wsum - win);
                }
                yc[oh * OW + ow] = nn__qout(l, c, acc);
            }
        }
    }
}
/* y = the convolution of x; or, yp not NULL, where nn__qconv can (returns 1), yp = its 2x2
   stride-2 max pooling, taken of the sums before requantization (no y written) */
NN__PRIVATE int nn__qconv(const nn_qlayer *l, const nn_conv2d_desc *d, const uint8_t *x, int32_t zin, int64_t B,
                          uint8_t *y, uint8_t *yp, uint8_t *patch) {
    enum { NO = 64 };
    const int64_t cg = d->C / d->G, ocg = d->OC / d->G, kg = cg * d->KH * d->KW, P = d->OH * d->OW;
    int32_t acc[NN__QPIX * NO];
    int64_t n, g, p0, r, j, o;
    NN_ASSERT(d->C * d->H * d->W < ((int64_t)1 << 30) && kg < ((int64_t)1 << 30)); /* (nn__conv2d_qcheck) */
    (void)yp;
    if (cg == 1 && ocg == 1) {
        nn__qconv_dw(l, d, x, zin, B, y);
        return 0;
    }
#if defined(NN__QDOT_AVX2)
    if (P >= 16) { /* each image's pixels as the columns of one GEMM per group; stride 1 copies the
                      image where it fits, zero-padded and with slack after it, so that every
                      window is inside and packed 8 pixels at once */
        const int64_t Hp = d->H + 2 * d->PH, Wp = d->W + 2 * d->PW;
        const int padded = d->SW == 1 && cg * Hp * Wp + NN__QSLACK <= NN__QPADB;
        nn_conv2d_desc dp = *d;
        uint8_t pad[NN__QPADB];
        int tab[2 * NN__QTAB]; /* (K <= 2 NN__QKC builds them once a call) */
        int32_t sums[NN__QPLANE];
        nn__qsrc s;
        /* pooled: one group, its sums fit, every channel in nn__qreq_row's fast case (pooling
           and requantization then commute), and yp where writing image n's outputs after
           reading (copying) image n cannot reach image n + 1's input: outside x, or at or
           below it with outputs no larger than inputs */
        const uintptr_t xa = (uintptr_t)x, xe = xa + (uintptr_t)(B * d->C * d->H * d->W), pa = (uintptr_t)yp;
        const int64_t Pp = d->OH / 2 * (d->OW / 2), IS = cg * Hp * Wp;
        int64_t nb = 1, i; /* (pooled: the columns of one GEMM are nb images' pixels, as many as
                              the padded copies and the sums have room for) */
        int pool = yp && d->G == 1 && padded && d->OH % 2 == 0 && d->OW % 2 == 0 && (d->OC + 3) / 4 * 4 * ((P + 15) / 16 * 16) <= NN__QPLANE &&
                   nn__qfit(l, 0, d->OC, kg) && (pa >= xe || pa + (uintptr_t)(B * d->OC * Pp) <= xa || (pa <= xa && d->OC * Pp <= d->C * d->H * d->W));
        for (o = 0; o < d->OC && pool; o++) pool = nn__rq_fast(l->mult[o], l->shift[o]);
        if (nn__qrows_fits(l, d)) {
            nn__qconv_rows(l, d, x, zin, B, y, pool ? yp : NULL, pad, sums);
            return pool;
        }
        while (pool && nb < B && (nb + 1) * IS + NN__QSLACK <= NN__QPADB && (d->OC + 3) / 4 * 4 * (((nb + 1) * P + 15) / 16 * 16) <= NN__QPLANE) nb++;
        s.d = d; s.ld = 0; s.zin = zin; s.slack = padded; s.tab = tab; s.istride = IS;
        tab[0] = tab[NN__QTAB] = -1;
        if (padded) {
            dp.H = Hp; dp.W = Wp; dp.PH = dp.PW = 0;
            s.d = &dp; s.x = pad;
            memset(pad, zin, (size_t)(nb * IS + NN__QSLACK));
        }
        for (n = 0; pool && n < B; n += nb) { /* (writing after reading nb images: the same argument as for one) */
            const int64_t k = B - n < nb ? B - n : nb, Np = (k * P + 15) / 16 * 16;
            for (i = 0; i < k; i++) nn__qpad_copy(pad + i * IS, x + (n + i) * d->C * d->H * d->W, cg, d);
            nn__qgemm(l, l->w, 0, d->OC, kg, k * P, &s, NULL, 0, 0, sums);
            for (i = 0; i < k; i++)
                for (o = 0; o < d->OC; o++)
                    nn__qreq_pool(sums + o * Np + i * P, d->OH, d->OW, d->OW, l->bias[o], l->mult[o], l->shift[o], l->zero, yp + ((n + i) * d->OC + o) * Pp);
        }
        for (n = 0; !pool && n < B; n++)
            for (g = 0; g < d->G; g++) {
                const uint8_t *xg = x + (n * d->C + g * cg) * d->H * d->W;
                if (padded) nn__qpad_copy(pad, xg, cg, d);
                else s.x = xg;
                nn__qgemm(l, l->w + g * ocg * kg, g * ocg, ocg, kg, P, &s, y + (n * d->OC + g * ocg) * P, P, 1, NULL);
            }
        return pool;
    }
#endif
    for (n = 0; n < B; n++)
        for (g = 0; g < d->G; g++)
            for (p0 = 0; p0 < P; p0 += NN__QPIX) {
                const int64_t np = P - p0 < NN__QPIX ? P - p0 : NN__QPIX;
                for (r = 0; r < np; r++)
                    nn__qpatch(d, x + (n * d->C + g * cg) * d->H * d->W, cg, (p0 + r) / d->OW, (p0 + r) % d->OW,
                               (uint8_t)zin, patch + r * kg);
                for (o = g * ocg; o < (g + 1) * ocg; o += NO) {
                    const int64_t no = (g + 1) * ocg - o < NO ? (g + 1) * ocg - o : (int64_t)NO;
                    nn__qdots(patch, kg, np, l->w + o * kg, kg, no, kg, acc, NO, l->wmax);
                    for (j = 0; j < no; j++) { /* (a channel's constants once for its pixels; int indices) */
                        const int32_t b = l->bias[o + j], mu = l->mult[o + j], sh = l->shift[o + j], z = l->zero;
                        uint8_t *yo = y + (n * d->OC + o + j) * P + p0;
                        int rr;
                        for (rr = 0; rr < (int)np; rr++) yo[rr] = nn__sat_u8(z + nn__rq((int64_t)b + acc[rr * NO + j], mu, sh));
                    }
                }
            }
    return 0;
}
/* pooling keeps the input's scale and zero point: the max, or the rounded mean (padding
   counts as the zero point, torch's count_include_pad) */
NN__PRIVATE void nn__qpool(const nn_pool2d_desc *d, const uint8_t *x, int32_t zin, int64_t B, uint8_t *y) {
    int64_t pl, oh, ow, i, j;
    if (d->kind == NN_POOL_MAX && d->KH == 2 && d->KW == 2 && d->SH == 2 && d->SW == 2 && d->PH == 0 && d->PW == 0) {
#if defined(__AVX2__) && !defined(NN_NO_SIMD)
        const uint8_t *xe = x + B * d->C * d->H * d->W, *ye = y + B * d->C * d->OH * d->OW;
#endif
        for (pl = 0; pl < B * d->C; pl++) /* (2x2: the usual case, without bounds) */
            for (oh = 0; oh < d->OH; oh++) {
                const uint8_t *r0 = x + (pl * d->H + 2 * oh) * d->W, *r1 = r0 + d->W;
                uint8_t *yo = y + (pl * d->OH + oh) * d->OW;
                ow = 0;
#if defined(__AVX2__) && !defined(NN_NO_SIMD)
                /* a row's last outputs by the 8-wide step too: moved back over outputs done (the same
                   bytes again), or, a row under 8 wide, reading the next rows and writing over the next
                   outputs (written again after) while that stays inside x and y */
                const int64_t tail = d->OW % 8 == 0 ? -1 : d->OW >= 8 ? d->OW - 8 : r1 + 16 <= xe && yo + 8 <= ye ? 0 : -1;
                for (; ow + 16 <= d->OW; ow += 16) { /* the rows' maxima, then each pair's in its 16-bit lane's low byte */
                    const __m256i m = _mm256_max_epu8(_mm256_loadu_si256((const __m256i *)(const void *)(r0 + 2 * ow)),
                                                      _mm256_loadu_si256((const __m256i *)(const void *)(r1 + 2 * ow)));
                    const __m256i p = _mm256_and_si256(_mm256_max_epu8(m, _mm256_srli_epi16(m, 8)), _mm256_set1_epi16(0xFF));
                    const __m128i v = _mm_packus_epi16(_mm256_castsi256_si128(p), _mm256_extracti128_si256(p, 1));
                    _mm_storeu_si128((__m128i *)(void *)(yo + ow), v);
                }
                for (; ow + 8 <= d->OW || (ow < d->OW && tail >= 0); ow += 8) {
                    __m128i m, p;
                    if (ow + 8 > d->OW) ow = tail;
                    m = _mm_max_epu8(_mm_loadu_si128((const __m128i *)(const void *)(r0 + 2 * ow)),
                                     _mm_loadu_si128((const __m128i *)(const void *)(r1 + 2 * ow)));
                    p = _mm_and_si128(_mm_max_epu8(m, _mm_srli_epi16(m, 8)), _mm_set1_epi16(0xFF));
                    _mm_storel_epi64((__m128i *)(void *)(yo + ow), _mm_packus_epi16(p, p));
                }
#endif
                for (; ow < d->OW; ow++) {
                    const uint8_t a = r0[2 * ow] > r0[2 * ow + 1] ? r0[2 * ow] : r0[2 * ow + 1];
                    const uint8_t b = r1[2 * ow] > r1[2 * ow + 1] ? r1[2 * ow] : r1[2 * ow + 1];
                    yo[ow] = a > b ? a : b;
                }
            }
        return;
    }
    for (pl = 0; pl < B * d->C; pl++)
        for (oh = 0; oh < d->OH; oh++)
            for (ow = 0; ow < d->OW; ow++) {
                int32_t best = -1, sum = 0;
                for (i = 0; i < d->KH; i++)
                    for (j = 0; j < d->KW; j++) {
                        const int64_t ih = oh * d->SH - d->PH + i, iw = ow * d->SW - d->PW + j;
                        const int32_t v = ih < 0 || ih >= d->H || iw < 0 || iw >= d->W ? (d->kind == NN_POOL_MAX ? -1 : zin)
                                                                                      : x[(pl * d->H + ih) * d->W + iw];
                        if (v > best) best = v;
                        sum += v;
                    }
                {
                    const int32_t cnt = (int32_t)(d->KH * d->KW);
                    y[(pl * d->OH + oh) * d->OW + ow] = (uint8_t)(d->kind == NN_POOL_MAX ? best : (sum + cnt / 2) / cnt);
                }
            }
}

/* >>backend-cpu: the CPU table of hot operations --------------------------------------------- */
NN__PRIVATE void nn__cpu_gemm(void *ctx, int ta, int tb, int64_t M, int64_t N, int64_t K, float alpha,
                              const float *A, int64_t lda, const float *B, int64_t ldb, float beta,
                              float *C, int64_t ldc, const float *bias, float *relu, float *ws, int64_t ws_floats) {
    (void)ctx;
    nn__gemm_cap(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, bias, relu, ws, ws_floats);
}
NN__PRIVATE void nn__cpu_conv2d_forward(void *ctx, const nn_conv2d_desc *d, int64_t N, float *y, const float *x,
                                        const float *w, const float *b, float *ws) {
    (void)ctx;
    nn_conv2d_forward(d, N, y, x, w, b, ws);
}
#ifndef NN_NO_TRAINING
NN__PRIVATE void nn__cpu_conv2d_backward(void *ctx, const nn_conv2d_desc *d, int64_t N, float *dx, float *dw, float *db,
                                         const float *dy, const float *x, const float *w, float *ws) {
    (void)ctx;
    nn_conv2d_backward(d, N, dx, dw, db, dy, x, w, ws);
}
#endif /* NN_NO_TRAINING */
NN__PRIVATE void nn__cpu_pool2d_forward(void *ctx, const nn_pool2d_desc *d, int64_t N, float *y, const float *x) {
    (void)ctx;
    nn_pool2d_forward(d, N, y, x);
}
#ifndef NN_NO_TRAINING
NN__PRIVATE void nn__cpu_pool2d_backward(void *ctx, int acc, const nn_pool2d_desc *d, int64_t N, float *dx,
                                         const float *x, const float *dy) {
    (void)ctx;
    nn__pool2d_backward(acc, d, N, dx, x, dy);
}
NN__PRIVATE void nn__cpu_maxpool2x2_relu_forward(void *ctx, const nn_pool2d_desc *d, int64_t N, float *y,
                                                 uint8_t *idx, const float *x) {
    (void)ctx;
    nn__pool2x2_forward(d, N, y, idx, x);
}
NN__PRIVATE void nn__cpu_maxpool2x2_relu_backward(void *ctx, int acc, const nn_pool2d_desc *d, int64_t N, float *dx,
                                                  const uint8_t *idx, const float *dy) {
    (void)ctx;
    nn__pool2x2_backward(acc, d, N, dx, NULL, idx, dy);
}
NN__PRIVATE void nn__cpu_conv2d_maxpool2x2_relu_forward(void *ctx, const nn_conv2d_desc *d, const nn_pool2d_desc *p,
                                                        int64_t N, float *yc, float *y, uint8_t *idx, const float *x,
                                                        const float *w, const float *b, float *ws) {
    (void)ctx;
#ifdef NN__CONV_DIRECT
    if (nn__conv_pool_ok(d, p)) { nn__conv_pool_forward(d, p, N, y, idx, x, w, b, ws); return; }
#endif
    nn_conv2d_forward(d, N, yc, x, w, b, ws);
    nn__pool2x2_forward(p, N, y, idx, yc);
}
NN__PRIVATE void nn__cpu_conv2d_backward_pooled(void *ctx, const nn_conv2d_desc *d, const nn_pool2d_desc *p,
                                                int64_t N, float *dw, float *db, const uint8_t *idx, const float *dyp,
                                                float *dy, const float *x, float *ws) {
    (void)ctx;
    if (nn__conv_unpool_ok(d)) {
        nn__unpool u;
        u.d = p; u.idx = idx; u.g = dyp;
        nn__conv2d_backward(d, N, NULL, dw, db, NULL, &u, x, NULL, ws);
        return;
    }
    nn__pool2x2_backward(0, p, N, dy, NULL, idx, dyp);
    nn_conv2d_backward(d, N, NULL, dw, db, dy, x, NULL, ws);
}
#endif /* NN_NO_TRAINING */
NN__PRIVATE void nn__cpu_bn_forward(void *ctx, int64_t N, int64_t C, int64_t HW, float *y, const float *x,
                                    const float *gamma, const float *beta, float *rm, float *rv, float *saved,
                                    float momentum, float eps, int training) {
    (void)ctx;
    nn_batchnorm_forward(N, C, HW, y, x, gamma, beta, rm, rv, saved, momentum, eps, training);
}
#ifndef NN_NO_TRAINING
NN__PRIVATE void nn__cpu_bn_backward(void *ctx, int64_t N, int64_t C, int64_t HW, float *dx, float *dgamma, float *dbeta,
                                     const float *dy, const float *x, const float *gamma, const float *saved) {
    (void)ctx;
    nn_batchnorm_backward(N, C, HW, dx, dgamma, dbeta, dy, x, gamma, saved);
}
#endif /* NN_NO_TRAINING */
NN__PRIVATE void nn__cpu_act_forward(void *ctx, nn_act kind, float alpha, float *y, const float *x, int64_t n) {
    (void)ctx;
    nn_act_forward(kind, alpha, y, x, n);
}
#ifndef NN_NO_TRAINING
NN__PRIVATE void nn__cpu_act_backward(void *ctx, int acc, nn_act kind, float alpha, float *dx, const float *x,
                                      const float *y, const float *dy, int64_t n) {
    (void)ctx;
    nn__act_backward(acc, kind, alpha, dx, x, y, dy, n);
}
#endif /* NN_NO_TRAINING */
NN__PRIVATE void nn__cpu_softmax_forward(void *ctx, float *y, const float *x, int64_t rows, int64_t cols) {
    (void)ctx;
    nn__softmax_rows(y, x, rows, cols);
}
NN__PRIVATE void nn__cpu_dropout(void *ctx, int backward, float *y, const float *x, int64_t n, float p, uint64_t key) {
    const float scale = 1.0f / (1.0f - p);
    int64_t i;
    (void)ctx;
    if (backward) {
        NN__OMP_FOR_IF(n >= NN_OMP_MIN_WORK / 4)
        for (i = 0; i < n; i++) if (nn_dropout_keep(key, i, p)) y[i] += x[i] * scale;
    } else {
        NN__OMP_FOR_IF(n >= NN_OMP_MIN_WORK / 4)
        for (i = 0; i < n; i++) y[i] = nn_dropout_keep(key, i, p) ? x[i] * scale : 0.0f;
    }
}
NN__PRIVATE void nn__cpu_copy2d(void *ctx, int accumulate, int64_t rows, int64_t cols, float *dst, int64_t ldd,
                                const float *src, int64_t lds) {
    int64_t r;
    (void)ctx;
    if (rows == 1 || (ldd == cols && lds == cols)) { /* one contiguous block */
        cols *= rows;
        rows = 1;
    }
    for (r = 0; r < rows; r++) {
        if (accumulate) { nn__add_into(dst + r * ldd, src + r * lds, cols); continue; }
        memcpy(dst + r * ldd, src + r * lds, sizeof(float) * (size_t)cols);
    }
}
NN__PRIVATE void nn__cpu_zero(void *ctx, float *p, int64_t n) {
    (void)ctx;
    /* split as the layers split their batch, so each core clears the rows it writes next */
    NN__SPLIT(n >= NN_OMP_MIN_WORK, n, lo, hi, nn__zero_range(p, lo, hi));
}
/* which labels/targets a loss reads: XENT prefers one-hot targets when both are given */
NN__PRIVATE const int32_t *nn__loss_labels(nn_loss kind, const int32_t *labels, const float *targets) {
    return kind == NN_LOSS_XENT && targets ? NULL : labels;
}
NN__PRIVATE int nn__loss_defined(nn_loss kind, const int32_t *labels, const float *targets) {
    if (kind == NN_LOSS_HINGE) return labels != NULL;
    if (kind == NN_LOSS_XENT) return labels || targets;
    return targets != NULL;
}
/* how many predictions a batch's accuracy judges */
NN__PRIVATE int64_t nn__judged(nn_loss kind, const int32_t *labels, const float *targets, int64_t B, int64_t C) {
    if (kind == NN_LOSS_BCE && targets) return B * C;
    return labels || (targets && kind == NN_LOSS_XENT) ? B : 0;
}
/* correct predictions into stats[1], predictions judged into stats[2] */
NN__PRIVATE void nn__count_correct(nn_loss kind, const float *out, const int32_t *labels, const float *targets,
                                   int64_t B, int64_t C, double *stats) {
    int64_t i, correct = 0;
    for (i = 0; i < B; i++)
        correct += nn__correct_row(kind, out + i * C, labels ? labels + i : NULL, targets ? targets + i * C : NULL, C);
    stats[1] += (double)correct;
    stats[2] += (double)nn__judged(kind, labels, targets, B, C);
}
NN__PRIVATE void nn__cpu_loss(void *ctx, nn_loss kind, const float *out, const int32_t *labels, const float *targets,
                              int64_t B, int64_t C, float *dout, double *stats) {
    const int32_t *lab = nn__loss_labels(kind, labels, targets);
    (void)ctx;
    if (nn__loss_defined(kind, lab, targets))
        stats[0] += (double)nn_loss_compute(kind, out, lab, targets, B, C, dout) * (double)B;
    nn__count_correct(kind, out, labels, targets, B, C, stats);
}
#ifndef NN_NO_TRAINING
NN__PRIVATE void nn__cpu_softmax_backward(void *ctx, float *dx, const float *y, const float *dy, int64_t rows,
                                          int64_t cols) {
    int64_t i;
    (void)ctx;
    for (i = 0; i < rows; i++) nn__softmax_row_backward(dx + i * cols, y + i * cols, dy + i * cols, cols);
}
NN__PRIVATE void nn__cpu_sum_rows(void *ctx, float *dst, const float *src, int64_t rows, int64_t cols) {
    int64_t i;
    (void)ctx;
    memcpy(dst, src, sizeof(float) * (size_t)cols);
    for (i = 1; i < rows; i++) nn__add_range(dst, src + i * cols, 0, cols);
}
NN__PRIVATE void nn__cpu_optimizer_step(void *ctx, const nn_optimizer *o, float lr, int64_t t, float *p, float *g,
                                        float *s1, float *s2, int64_t n) {
    (void)ctx;
    if (o->clip_norm > 0.0f) {
        /* torch.nn.utils.clip_grad_norm_: scale by max_norm / (norm + 1e-6) when that is < 1 */
        double ss = 0.0;
        int64_t i;
        float norm, coef;
        for (i = 0; i < n; i++) ss += (double)g[i] * g[i];
        norm = (float)sqrt(ss);
        coef = o->clip_norm / (norm + 1e-6f);
        if (coef < 1.0f) for (i = 0; i < n; i++) g[i] *= coef;
    }
    nn_optimizer_step(o, lr, t, p, g, s1, s2, n);
}
static const nn_backend nn__backend_cpu = {
    "cpu", NULL, nn__cpu_gemm, nn__cpu_conv2d_forward, nn__cpu_conv2d_backward, nn__cpu_pool2d_forward,
    nn__cpu_pool2d_backward, nn__cpu_bn_forward, nn__cpu_bn_backward, nn__cpu_act_forward, nn__cpu_act_backward,
    nn__cpu_softmax_forward, nn__cpu_softmax_backward, nn__cpu_dropout, nn__cpu_copy2d, nn__cpu_zero, nn__cpu_sum_rows,
    nn__cpu_loss, nn__cpu_optimizer_step, NULL, NULL, NULL, NULL, NULL, NULL, nn__cpu_maxpool2x2_relu_forward,
    nn__cpu_maxpool2x2_relu_backward, nn__cpu_conv2d_backward_pooled, nn__cpu_conv2d_maxpool2x2_relu_forward
};
#elif defined(NN_INT8_ONLY) /* no float kernels at all */
static const nn_backend nn__backend_cpu = {"cpu", NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
                                           NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
                                           NULL, NULL, NULL};
#else /* inference only: no backward entries */
static const nn_backend nn__backend_cpu = {
    "cpu", NULL, nn__cpu_gemm, nn__cpu_conv2d_forward, NULL, nn__cpu_pool2d_forward, NULL, nn__cpu_bn_forward, NULL,
    nn__cpu_act_forward, NULL, nn__cpu_softmax_forward, NULL, nn__cpu_dropout, nn__cpu_copy2d, nn__cpu_zero, NULL,
    nn__cpu_loss, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL
};
#endif
NNDEF const nn_backend *nn_backend_cpu(void) { return &nn__backend_cpu; }

/* >>rng: splitmix64. A stream for init and shuffling; a counter hash for dropout masks. ------ */
NN__PRIVATE uint64_t nn__rng_next(uint64_t *s) { *s += 0x9E3779B97F4A7C15ull; return nn_hash64(*s); }
/* uniform in [0, 1), 24 bits */
NN__PRIVATE float nn__rng_uniform(uint64_t *s) { return (float)(nn__rng_next(s) >> 40) * (1.0f / 16777216.0f); }
NN__PRIVATE float nn__rng_normal(uint64_t *s) {
    const double u1 = ((double)(nn__rng_next(s) >> 11) + 1.0) * (1.0 / 9007199254740992.0); /* (0,1] */
    const double u2 = (double)(nn__rng_next(s) >> 11) * (1.0 / 9007199254740992.0);
    return (float)(sqrt(-2.0 * log(u1)) * cos(2.0 * NN__PI * u2));
}
/* uniform integer in [0, n) */
NN__PRIVATE int64_t nn__rng_below(uint64_t *s, int64_t n) { return (int64_t)(nn__rng_next(s) % (uint64_t)n); }

/* >>optim: torch.optim update rules over flat arrays ---------------------------------------- */
NNDEF nn_optimizer nn_sgd(float lr, float momentum, int nesterov) {
    nn_optimizer o;
    memset(&o, 0, sizeof o);
    o.type = NN_OPT_SGD; o.lr = lr; o.momentum = momentum; o.nesterov = nesterov;
    o.beta1 = 0.9f; o.beta2 = 0.999f; o.alpha = 0.99f; o.eps = 1e-8f; o.gamma = 0.1f;
    return o;
}
NNDEF nn_optimizer nn_adam(float lr) {
    nn_optimizer o = nn_sgd(lr, 0.0f, 0);
    o.type = NN_OPT_ADAM;
    return o;
}
NNDEF nn_optimizer nn_adamw(float lr, float weight_decay) {
    nn_optimizer o = nn_sgd(lr, 0.0f, 0);
    o.type = NN_OPT_ADAMW; o.weight_decay = weight_decay;
    return o;
}
NNDEF nn_optimizer nn_rmsprop(float lr) {
    nn_optimizer o = nn_sgd(lr, 0.0f, 0);
    o.type = NN_OPT_RMSPROP;
    return o;
}

NNDEF float nn_optimizer_lr(const nn_optimizer *o, int epoch, int64_t step) {
    double lr = o->lr;
    if (o->schedule == NN_SCHED_STEP && o->step_size > 0)
        lr *= pow((double)o->gamma, (double)(epoch / o->step_size));
    else if (o->schedule == NN_SCHED_COSINE && o->t_max > 0) {
        const int t = epoch < o->t_max ? epoch : o->t_max;
        lr = o->lr_min + (o->lr - o->lr_min) * (1.0 + cos(NN__PI * t / o->t_max)) / 2.0;
    }
    if (o->warmup_steps > 0 && step < o->warmup_steps)
        lr *= (double)(step + 1) / (double)o->warmup_steps;
    return (float)lr;
}

#ifndef NN_NO_TRAINING
/* the update rules over [lo, hi), one branch-free loop per case so that each vectorizes */
NN__PRIVATE NN__NOINLINE void nn__sgd_range(float *NN__RESTRICT p, const float *NN__RESTRICT g, float *NN__RESTRICT s1,
                                            int64_t lo, int64_t hi, float lr, float wd, float mom, int nesterov) {
    if (mom == 0.0f) NN__VLOOP(i, lo, hi, p[i] -= lr * (g[i] + wd * p[i]););
    else if (!nesterov) NN__VLOOP(i, lo, hi, s1[i] = mom * s1[i] + (g[i] + wd * p[i]); p[i] -= lr * s1[i];);
    else NN__VLOOP(i, lo, hi, const float d = g[i] + wd * p[i]; s1[i] = mom * s1[i] + d; p[i] -= lr * (d + mom * s1[i]););
}

NN__PRIVATE NN__NOINLINE void nn__adam_range(float *NN__RESTRICT p, const float *NN__RESTRICT g, float *NN__RESTRICT s1,
                                             float *NN__RESTRICT s2, int64_t lo, int64_t hi, float l2, float decay,
                                             float b1, float b2, float step_size, float bc2_sqrt, float eps) {
#ifdef NN__VF
    const NN__V vl2 = NN__VSET(l2), vdec = NN__VSET(decay), vb1 = NN__VSET(b1), vb2 = NN__VSET(b2);
    const NN__V v1b1 = NN__VSET(1.0f - b1), v1b2 = NN__VSET(1.0f - b2), vss = NN__VSET(-step_size);
    const NN__V vbc = NN__VSET(bc2_sqrt), veps = NN__VSET(eps);
    for (; lo + NN__VF <= hi; lo += NN__VF) {
        const NN__V P = NN__VLD(p + lo), d = NN__VADD(NN__VLD(g + lo), NN__VMUL(vl2, P));
        const NN__V m = NN__VADD(NN__VMUL(NN__VLD(s1 + lo), vb1), NN__VMUL(v1b1, d));
        const NN__V v = NN__VADD(NN__VMUL(NN__VLD(s2 + lo), vb2), NN__VMUL(NN__VMUL(v1b2, d), d));
        const NN__V den = NN__VADD(NN__VDIV(NN__VSQRT(v), vbc), veps);
        NN__VST(s1 + lo, m);
        NN__VST(s2 + lo, v);
        NN__VST(p + lo, NN__VADD(NN__VMUL(P, vdec), NN__VMUL(vss, NN__VDIV(m, den))));
    }
#endif
    NN__VLOOP(i, lo, hi,
              const float d = g[i] + l2 * p[i];
              s1[i] = s1[i] * b1 + (1.0f - b1) * d;
              s2[i] = s2[i] * b2 + (1.0f - b2) * d * d;
              p[i] = p[i] * decay;
              p[i] += -step_size * (s1[i] / (sqrtf(s2[i]) / bc2_sqrt + eps)););
}

NN__PRIVATE NN__NOINLINE void nn__rmsprop_range(float *NN__RESTRICT p, const float *NN__RESTRICT g, float *NN__RESTRICT s1,
                                                float *NN__RESTRICT s2, int64_t lo, int64_t hi, float lr, float wd,
                                                float a, float eps, float mom) {
#ifdef NN__VF
    const NN__V vwd = NN__VSET(wd), va = NN__VSET(a), v1a = NN__VSET(1.0f - a), veps = NN__VSET(eps);
    const NN__V vlr = NN__VSET(-lr), vmom = NN__VSET(mom);
    for (; lo + NN__VF <= hi; lo += NN__VF) {
        const NN__V P = NN__VLD(p + lo), d = NN__VADD(NN__VLD(g + lo), NN__VMUL(vwd, P));
        const NN__V v = NN__VADD(NN__VMUL(NN__VLD(s2 + lo), va), NN__VMUL(NN__VMUL(v1a, d), d));
        NN__V u = NN__VDIV(d, NN__VADD(NN__VSQRT(v), veps));
        NN__VST(s2 + lo, v);
        if (mom > 0.0f) { u = NN__VADD(NN__VMUL(NN__VLD(s1 + lo), vmom), u); NN__VST(s1 + lo, u); }
        NN__VST(p + lo, NN__VADD(P, NN__VMUL(vlr, u)));
    }
#endif
    if (mom > 0.0f)
        NN__VLOOP(i, lo, hi,
                  const float d = g[i] + wd * p[i];
                  s2[i] = s2[i] * a + (1.0f - a) * d * d;
                  s1[i] = s1[i] * mom + d / (sqrtf(s2[i]) + eps);
                  p[i] += -lr * s1[i];);
    else
        NN__VLOOP(i, lo, hi,
                  const float d = g[i] + wd * p[i];
                  s2[i] = s2[i] * a + (1.0f - a) * d * d;
                  p[i] += -lr * (d / (sqrtf(s2[i]) + eps)););
}

NNDEF void nn_optimizer_step(const nn_optimizer *o, float lr, int64_t t, float *p, const float *g,
                             float *s1, float *s2, int64_t n) {
    const float wd = o->weight_decay;
    /* Adam and RMSprop take a square root and a division per element: four times SGD's cost */
    const int par = n * (o->type == NN_OPT_SGD ? 1 : 4) >= NN_OMP_MIN_WORK;
    NN_ASSERT(t >= 1);
    switch (o->type) {
    case NN_OPT_SGD:
        NN__SPLIT(par, n, lo, hi, nn__sgd_range(p, g, s1, lo, hi, lr, wd, o->momentum, o->nesterov));
        break;
    case NN_OPT_ADAM:
    case NN_OPT_ADAMW: {
        /* torch: step_size = lr / (1 - b1^t); denom = sqrt(v) / sqrt(1 - b2^t) + eps */
        const float step_size = (float)(lr / (1.0 - pow((double)o->beta1, (double)t)));
        const float bc2_sqrt = (float)sqrt(1.0 - pow((double)o->beta2, (double)t));
        const float l2 = o->type == NN_OPT_ADAM ? wd : 0.0f;
        const float decay = o->type == NN_OPT_ADAMW ? 1.0f - lr * wd : 1.0f;
        NN__SPLIT(par, n, lo, hi,
                  nn__adam_range(p, g, s1, s2, lo, hi, l2, decay, o->beta1, o->beta2, step_size, bc2_sqrt, o->eps));
        break;
    }
    case NN_OPT_RMSPROP:
        NN__SPLIT(par, n, lo, hi, nn__rmsprop_range(p, g, s1, s2, lo, hi, lr, wd, o->alpha, o->eps, o->momentum));
        break;
    default: NN_ASSERT(!"nn_optimizer_step: unknown optimizer");
    }
}
#endif /* NN_NO_TRAINING */

/* >>text: numbers and words in the model file's metadata: exact float round trip,
   locale-independent, no <stdio.h> ---------------------------------------------------------- */
NN__PRIVATE void nn__cat(char *dst, size_t cap, const char *s) {
    size_t n = strlen(dst);
    while (*s && n + 1 < cap) dst[n++] = *s++;
    dst[n] = 0;
}
NN__PRIVATE void nn__cat_int(char *dst, size_t cap, int64_t v) {
    char t[24];
    int k = 23;
    uint64_t u = v < 0 ? 0ull - (uint64_t)v : (uint64_t)v;
    t[k] = 0;
    do { t[--k] = (char)('0' + u % 10); u /= 10; } while (u);
    if (v < 0) t[--k] = '-';
    nn__cat(dst, cap, t + k);
}

NN__PRIVATE void nn__cat_shape(char *dst, size_t cap, int ndim, const int64_t *shape) {
    int d;
    nn__cat(dst, cap, "(");
    for (d = 0; d < ndim; d++) { if (d) nn__cat(dst, cap, ", "); nn__cat_int(dst, cap, shape[d]); }
    nn__cat(dst, cap, ")");
}

NN__PRIVATE void nn__cat_float(char *dst, size_t cap, float f) {
    double v = f;
    uint64_t mant;
    int e = 0;
    if (v != v) { nn__cat(dst, cap, "nan"); return; }
    if (v < 0) { nn__cat(dst, cap, "-"); v = -v; }
    if (v > 3.5e38) { nn__cat(dst, cap, "inf"); return; }
    if (v == 0) { nn__cat(dst, cap, "0"); return; }
    /* 9 significant digits identify a float */
    while (v < 1e8) { v *= 10; e--; }
    while (v >= 1e9) { v /= 10; e++; }
    mant = (uint64_t)(v + 0.5);
    if (mant >= 1000000000u) { mant /= 10; e++; }
    while (mant % 10 == 0) { mant /= 10; e++; }
    nn__cat_int(dst, cap, (int64_t)mant);
    if (e) { nn__cat(dst, cap, "e"); nn__cat_int(dst, cap, e); }
}
NN__PRIVATE void nn__cat_u64(char *dst, size_t cap, uint64_t u) {
    char t[24];
    int k = 23;
    t[k] = 0;
    do { t[--k] = (char)('0' + u % 10); u /= 10; } while (u);
    nn__cat(dst, cap, t + k);
}
/* "-"? digits ("." digits)? (e [+-]? digits)?, up to 18 significant digits; 0 on error */
NN__PRIVATE int nn__parse_float(const char *s, const char *end, double *out) {
    uint64_t mant = 0;
    int digits = 0, e = 0, neg = 0, eneg = 0, ev = 0, any = 0;
    double v, p = 1.0;
    if (s < end && *s == '-') { neg = 1; s++; }
    if (end - s == 3 && memcmp(s, "inf", 3) == 0) { volatile double z = 0.0; *out = (neg ? -1.0 : 1.0) / z; return 1; }
    for (; s < end && *s >= '0' && *s <= '9'; s++, any = 1) {
        if (mant == 0 && *s == '0') continue;
        if (digits < 18) { mant = mant * 10 + (uint64_t)(*s - '0'); digits++; } else e++;
    }
    if (s < end && *s == '.') {
        for (s++; s < end && *s >= '0' && *s <= '9'; s++, any = 1) {
            if (digits < 18 && !(mant == 0 && *s == '0')) { mant = mant * 10 + (uint64_t)(*s - '0'); digits++; e--; }
            else if (mant == 0) e--;
        }
    }
    if (!any) return 0;
    if (s < end && (*s == 'e' || *s == 'E')) {
        s++;
        if (s < end && (*s == '-' || *s == '+')) eneg = *s++ == '-';
        if (s == end) return 0;
        for (; s < end && *s >= '0' && *s <= '9'; s++) if (ev < 10000) ev = ev * 10 + (*s - '0');
        e += eneg ? -ev : ev;
    }
    if (s != end) return 0;
    v = (double)mant;
    if (mant && (e > 60 || e < -80)) return 0;
    if (e > 0) { while (e--) p *= 10.0; v *= p; }
    else if (e < 0) { e = -e; while (e > 22) { v /= 1e22; e -= 22; } while (e--) p *= 10.0; v /= p; }
    *out = neg ? -v : v;
    return 1;
}

/* key=value in a line of space-separated words; the value's [begin, end) or 0 */
NN__PRIVATE int nn__kv(const char *line, const char *key, const char **v, const char **vend) {
    const size_t kl = strlen(key);
    const char *p = line;
    while (*p) {
        const char *w = p, *we;
        while (*p && *p != ' ') p++;
        we = p;
        while (*p == ' ') p++;
        if ((size_t)(we - w) > kl && memcmp(w, key, kl) == 0 && w[kl] == '=') { *v = w + kl + 1; *vend = we; return 1; }
    }
    return 0;
}
/* integers a,b,c into out (at most maxn): the count, or -1 */
NN__PRIVATE int nn__kv_ints(const char *line, const char *key, int64_t *out, int maxn) {
    const char *v, *e;
    int n = 0;
    if (!nn__kv(line, key, &v, &e)) return -1;
    while (v < e) {
        int64_t x = 0;
        int neg = 0, d = 0;
        if (n == maxn) return -1;
        if (*v == '-') { neg = 1; v++; }
        for (; v < e && *v >= '0' && *v <= '9'; v++, d++) { if (x > ((int64_t)1 << 50)) return -1; x = x * 10 + (*v - '0'); }
        if (!d) return -1;
        out[n++] = neg ? -x : x;
        if (v < e) { if (*v != ',') return -1; v++; if (v == e) return -1; }
    }
    return n;
}
NN__PRIVATE int nn__kv_int(const char *line, const char *key, int64_t *out) { return nn__kv_ints(line, key, out, 1) == 1; }
NN__PRIVATE int nn__kv_u64(const char *line, const char *key, uint64_t *out) {
    const char *v, *e;
    *out = 0;
    if (!nn__kv(line, key, &v, &e) || v == e) return 0;
    for (; v < e; v++) {
        if (*v < '0' || *v > '9' || *out > (~(uint64_t)0 - 9) / 10) return 0;
        *out = *out * 10 + (uint64_t)(*v - '0');
    }
    return 1;
}
NN__PRIVATE int nn__kv_float(const char *line, const char *key, float *out) {
    const char *v, *e;
    double d;
    if (!nn__kv(line, key, &v, &e) || !nn__parse_float(v, e, &d)) return 0;
    *out = (float)d;
    return 1;
}
NN__PRIVATE int nn__kv_is(const char *line, const char *key, const char *word) {
    const char *v, *e;
    return nn__kv(line, key, &v, &e) && (size_t)(e - v) == strlen(word) && memcmp(v, word, (size_t)(e - v)) == 0;
}
/* index of the word among names, or -1 */
NN__PRIVATE int nn__kv_word(const char *line, const char *key, const char *const *names, int n) {
    int i;
    for (i = 0; i < n; i++) if (names[i] && nn__kv_is(line, key, names[i])) return i;
    return -1;
}

static const char *const nn__act_names[] = {NULL, "relu", "leaky_relu", "sigmoid", "tanh", "gelu"};
static const char *const nn__loss_names[] = {NULL, "mse", "xent", "bce", "hinge"};
static const char *const nn__opt_names[] = {NULL, "sgd", "adam", "adamw", "rmsprop"};
static const char *const nn__pool_names[] = {NULL, "max", "avg"};

/* >>layers: what every layer type shares; its own code is in its >>layer-NAME block below, and
   the rest of the library reaches it only through that block's row of the table (>>layer-table).
   Forward writes l->y (=). Backward accumulates into the inputs' dy (+=) so that an output
   read by several layers sums its gradients, and assigns the parameter gradients (=). A layer
   whose input has no dy (the model input) skips that gradient. */

/* A parameter or buffer tensor of a layer, as the model file names it ("<i-1>.<part>") */
typedef struct nn__tdesc {
    const char *part;                 /* "weight", "bias", "running_mean", ... (PyTorch's names) */
    int ndim;
    int64_t shape[NN_MAX_DIMS];
    int64_t off;                      /* floats from the start of the layer's w (or buf) */
    int buffer;                       /* in buf (saved, not trained) rather than w */
} nn__tdesc;
#define NN__MAX_TENSORS 8

/* Flags of a layer type */
#define NN__L_VIEW 1u    /* its output is its input's storage (y and dy): no memory, no arithmetic */
#define NN__L_ASSIGNS 2u /* its backward can assign its first input's gradient when it is that gradient's only writer */
#define NN__L_NO_IN_BWD 4u  /* its backward reads none of its inputs' values */
#define NN__L_NO_OUT_BWD 8u /* its backward reads not its own output */
#define NN__RECOMPUTE 2  /* the scratch entry's train argument: nn_compile_config.recompute */
/* How the int8 model runs a layer type (nn_quantize); NN__Q_NONE: it cannot */
enum { NN__Q_NONE = 0, NN__Q_VIEW, NN__Q_SAME, NN__Q_WEIGHTS, NN__Q_LUT, NN__Q_RESCALE,
       NN__Q_FLOAT, /* only in a mixed model (nn_quantize of a sequence model), where it runs its float forward */
       NN__Q_TIED };/* int8 through its embedding's table (mixed models only) */
/* The backend entries a layer type's steps call: a backend that lacks one refuses the model */
#define NN__BE_GEMM 0x1u
#define NN__BE_CONV 0x2u     /* conv2d_forward, conv2d_backward */
#define NN__BE_POOL 0x4u     /* pool2d_forward, pool2d_backward */
#define NN__BE_BN 0x8u       /* batchnorm_forward, batchnorm_backward */
#define NN__BE_ACT 0x10u     /* act_forward, act_backward */
#define NN__BE_SOFTMAX 0x20u /* softmax_forward, softmax_backward */
#define NN__BE_DROPOUT 0x40u
#define NN__BE_COPY 0x80u    /* copy2d */
#define NN__BE_SUM 0x100u    /* sum_rows */

typedef struct nn__layer_ops {
    const char *name;         /* in messages and in the model file's architecture lines */
    int n_inputs;             /* 0 for the model's input, else 1 or 2 */
    unsigned flags;           /* NN__L_* */
    uint32_t uses;            /* NN__BE_*: what forward and backward call */
    /* the output shape, n_params, n_buffers and n_saved from the inputs; fails naming the shapes */
    nn_result (*infer)(nn_model *m, nn_layer *l, int idx);
    void (*init)(nn_model *m, nn_layer *l);               /* parameters and buffers, from m->rng */
    /* floats of m->scratch; train: nonzero when training, with NN__RECOMPUTE set when the layer
       should keep less for backward and recompute it (nn_compile_config.recompute) */
    int64_t (*scratch)(nn_layer *l, const nn_model *m, int64_t B, int train);
    void (*fuse)(nn_model *m, int idx);                   /* the fused steps it starts (nn__plan_steps) */
    void (*forward)(nn_model *m, nn_layer *l, int64_t B);
    void (*backward)(nn_model *m, nn_layer *l, int64_t B); /* NULL under NN_NO_TRAINING */
    /* inference on step t of sample 0 only, the steps before it computed (nn_generate; NULL: the
       type cannot: it is not per step) */
    void (*step)(nn_model *m, nn_layer *l, int64_t t);
    /* its words of the architecture line after "name in=...", and the builder call that reads them
       back (the new layer's index or a negative nn_result; *ok = 0: a word is missing) */
    void (*put_arch)(char *t, size_t cap, const nn_layer *l);
    int (*get_arch)(nn_model *m, const char *line, const int64_t *ins, int *ok);
    int (*tensors)(const nn_model *m, const nn_layer *l, nn__tdesc *t); /* in file order; the count */
    int qrole;                /* NN__Q_* */
    const char *(*qcheck)(const nn_model *m, int idx);    /* why int8 cannot run it here (NULL: it can) */
    void (*qtable)(const nn_layer *l, float *y, const float *x, int64_t n); /* NN__Q_LUT: the function tabulated */
    int64_t (*qscratch)(const nn_layer *l);               /* bytes of int8 scratch */
    void (*qforward)(nn_qmodel *q, int idx, int64_t B);
} nn__layer_ops;
NN__PRIVATE const nn__layer_ops *nn__ops(int type); /* (the table, after the blocks) */
#ifdef NN_NO_TRAINING
#define NN__BWD(f) NULL
#else
#define NN__BWD(f) f
#endif
#ifdef NN_INT8_ONLY /* the float steps, the writer and the mixed int8 form: no entry, so the linker drops their code */
#define NN__FLT(f) NULL
#define NN__MIXED(q) 0
#else
#define NN__FLT(f) f
#define NN__MIXED(q) ((q)->mixed)
#endif

NN__PRIVATE const char *nn__shape_str(char *buf, const nn_layer *l) {
    char num[24];
    int i, n = 0;
    buf[n++] = '(';
    for (i = 0; i < l->ndim; i++) {
        int64_t v = l->shape[i];
        int k = 0, j;
        do { num[k++] = (char)('0' + v % 10); v /= 10; } while (v && k < 20);
        if (i) buf[n++] = ',';
        for (j = k - 1; j >= 0; j--) buf[n++] = num[j];
    }
    buf[n++] = ')';
    buf[n] = 0;
    return buf;
}

NN__PRIVATE nn_layer *nn__in(nn_model *m, const nn_layer *l, int k) { return &m->layers[l->inputs[k]]; }
NN__PRIVATE const char *nn__layer_name(int type) { return (unsigned)type < NN_LAYER_COUNT ? nn__ops(type)->name : "?"; }
NN__PRIVATE int nn__is_view(nn_layer_type t) { return (nn__ops(t)->flags & NN__L_VIEW) != 0; }
/* the layer whose output (and gradient) storage a layer's output is: views alias their input */
NN__PRIVATE int nn__owner(const nn_model *m, int i) {
    while (nn__is_view(m->layers[i].type)) i = m->layers[i].inputs[0];
    return i;
}
#ifndef NN_NO_TRAINING
/* whether l assigns (rather than adds to) the gradient of its first input (nn__plan_assign) */
NN__PRIVATE int nn__in_assign(const nn_model *m, const nn_layer *l) { return m->layers[nn__owner(m, l->inputs[0])].assign_dy; }
#endif
NN__PRIVATE int nn__index(const nn_model *m, const nn_layer *l) { return (int)(l - m->layers); }
/* the layers that read layer r's output (an input twice counts twice); *last: the last of them */
NN__PRIVATE int nn__readers(const nn_model *m, int r, int *last) {
    int j, k, n = 0;
    for (j = r + 1; j < m->n_layers; j++)
        for (k = 0; k < m->layers[j].n_inputs; k++)
            if (m->layers[j].inputs[k] == r) { n++; if (last) *last = j; }
    return n;
}

NN__PRIVATE void nn__set_flat(nn_layer *l, int64_t n) { l->ndim = 1; l->shape[0] = n; l->size = n; }
NN__PRIVATE void nn__copy_shape(nn_layer *l, const nn_layer *src) {
    int i;
    l->ndim = src->ndim;
    for (i = 0; i < src->ndim; i++) l->shape[i] = src->shape[i];
    l->size = src->size;
}

/* a count of floats (parameters, kept state) too large for any model: 2^40 (checked in double,
   before the int64 products that could overflow) */
NN__PRIVATE nn_result nn__check_count(double n, int idx, const char *type) {
    return n > 1099511627776.0 ? nn__fail(NN_ERR_INVALID_ARG, "layer %d (%s): too large (%f floats)", idx, type, n) : NN_OK;
}

/* a kernel's geometry check failed: say so again with the layer and its input shape first */
NN__PRIVATE nn_result nn__fail_in_layer(nn_result r, int idx, const nn_layer *a) {
    char why[200], shape[96];
    memcpy(why, nn__err_msg, sizeof why - 1);
    why[sizeof why - 1] = 0;
    return nn__fail(r, "layer %d (%s) on input %s", idx, why, nn__shape_str(shape, a));
}

/* Weights of n_params floats (the first nw of them weights, the rest biases) from the
   initializer, fan-in and fan-out as torch computes them for an (out, in, kh, kw) weight */
NN__PRIVATE void nn__init_weights(nn_model *m, float *w, int64_t n_params, int64_t nw, int64_t in, int64_t out,
                                  nn_init init) {
    const double fan_sum = (double)(in + out);
    double bound = 0.0, std = 0.0;
    int64_t i;
    switch (init) {
    case NN_INIT_GLOROT_UNIFORM: bound = sqrt(6.0 / fan_sum); break;
    case NN_INIT_GLOROT_NORMAL: std = sqrt(2.0 / fan_sum); break;
    case NN_INIT_HE_UNIFORM: bound = sqrt(6.0 / (double)in); break;
    case NN_INIT_HE_NORMAL: std = sqrt(2.0 / (double)in); break;
    case NN_INIT_ZEROS: break;
    case NN_INIT_TORCH: bound = 1.0 / sqrt((double)in); break;
    }
    for (i = 0; i < nw; i++) {
        if (bound > 0.0) w[i] = (float)((2.0 * nn__rng_uniform(&m->rng) - 1.0) * bound);
        else if (std > 0.0) w[i] = (float)(std * nn__rng_normal(&m->rng));
        else w[i] = 0.0f;
    }
    for (i = nw; i < n_params; i++) /* bias: zero, except torch's default init */
        w[i] = init == NN_INIT_TORCH ? (float)((2.0 * nn__rng_uniform(&m->rng) - 1.0) / sqrt((double)in)) : 0.0f;
}

/* one tensor of a layer's list */
NN__PRIVATE void nn__tensor(nn__tdesc *t, const char *part, int ndim, const int64_t *shape, int64_t off, int buffer) {
    int d;
    t->part = part;
    t->ndim = ndim;
    for (d = 0; d < ndim; d++) t->shape[d] = shape[d];
    t->off = off;
    t->buffer = buffer;
}

/* The architecture line's words (docs/FORMAT.md), written with the metadata's exact numbers */
NN__PRIVATE void nn__key_int(char *t, size_t cap, const char *key, int64_t v) {
    nn__cat(t, cap, " "); nn__cat(t, cap, key); nn__cat(t, cap, "="); nn__cat_int(t, cap, v);
}
NN__PRIVATE void nn__key_ints(char *t, size_t cap, const char *key, int n, const int64_t *v) {
    int k;
    nn__cat(t, cap, " "); nn__cat(t, cap, key); nn__cat(t, cap, "=");
    for (k = 0; k < n; k++) { if (k) nn__cat(t, cap, ","); nn__cat_int(t, cap, v[k]); }
}
NN__PRIVATE void nn__key_2(char *t, size_t cap, const char *key, int64_t a, int64_t b) {
    int64_t v[2];
    v[0] = a; v[1] = b;
    nn__key_ints(t, cap, key, 2, v);
}
NN__PRIVATE void nn__key_float(char *t, size_t cap, const char *key, float v) {
    nn__cat(t, cap, " "); nn__cat(t, cap, key); nn__cat(t, cap, "="); nn__cat_float(t, cap, v);
}
NN__PRIVATE void nn__key_word(char *t, size_t cap, const char *key, const char *w) {
    nn__cat(t, cap, " "); nn__cat(t, cap, key); nn__cat(t, cap, "="); nn__cat(t, cap, w);
}
static const char *const nn__init_names[] = {"glorot_uniform", "glorot_normal", "he_uniform", "he_normal", "zeros", "torch"};

/* >>layer-input: the model's input, layer 0; its output is the caller's batch ---------------- */
NN__PRIVATE nn_result nn__input_infer(nn_model *m, nn_layer *l, int idx) { (void)m; (void)l; (void)idx; return NN_OK; }
NN__PRIVATE void nn__input_step(nn_model *m, nn_layer *l, int64_t t) { (void)m; (void)l; (void)t; } /* (the caller's ids) */
NN__PRIVATE void nn__shape_put_arch(char *t, size_t cap, const nn_layer *l) { nn__key_ints(t, cap, "shape", l->ndim, l->shape); }
NN__PRIVATE void nn__input_put_arch(char *t, size_t cap, const nn_layer *l) {
    nn__shape_put_arch(t, cap, l);
    if (l->cfg.input.tokens) nn__key_int(t, cap, "tokens", 1);
}
NN__PRIVATE int nn__input_get_arch(nn_model *m, const char *line, const int64_t *ins, int *ok) {
    int64_t v[3], tokens = 0;
    const char *tv, *te;
    const int nd = nn__kv_ints(line, "shape", v, 3);
    (void)ins;
    if (nn__kv(line, "tokens", &tv, &te) && (!nn__kv_int(line, "tokens", &tokens) || tokens < 0 || tokens > 1)) tokens = -1;
    if (m->n_layers != 0 || nd < 1 || tokens < 0 || (tokens && nd != 1)) { *ok = 0; return NN_ERR_FORMAT; }
    if (tokens || nd == 2) return nn_input_seq(m, v[0], tokens ? 0 : v[1]);
    return nd == 1 ? nn_input(m, v[0]) : nn_input_image(m, v[0], v[1], v[2]);
}

/* >>layer-dense: y = x W^T + b, W (units, in) as torch.nn.Linear's; on (T, D), each step's row --- */
/* the rows of a sample (its steps) and their width */
NN__PRIVATE int64_t nn__rows_of(const nn_layer *a) { return a->ndim == 2 ? a->shape[0] : 1; }
NN__PRIVATE int64_t nn__width_of(const nn_layer *a) { return a->ndim == 2 ? a->shape[1] : a->size; }
NN__PRIVATE nn_result nn__dense_infer(nn_model *m, nn_layer *l, int idx) {
    const nn_layer *a = nn__in(m, l, 0);
    char s1[96];
    if (a->ndim > 2)
        return nn__fail(NN_ERR_SHAPE, "layer %d (dense): input shape %s is not flat; add nn_flatten before it",
                        idx, nn__shape_str(s1, a));
    if (l->cfg.dense.units < 1)
        return nn__fail(NN_ERR_INVALID_ARG, "layer %d (dense): units must be >= 1, got %l", idx, l->cfg.dense.units);
    if (a->ndim == 2) { l->ndim = 2; l->shape[0] = a->shape[0]; l->shape[1] = l->cfg.dense.units; l->size = a->shape[0] * l->cfg.dense.units; }
    else nn__set_flat(l, l->cfg.dense.units);
    l->n_params = l->cfg.dense.units * nn__width_of(a) + (l->cfg.dense.bias ? l->cfg.dense.units : 0);
    return NN_OK;
}
NN__PRIVATE void nn__dense_init(nn_model *m, nn_layer *l) {
    const int64_t in = nn__width_of(nn__in(m, l, 0)), out = l->cfg.dense.units;
    nn__init_weights(m, l->w, l->n_params, out * in, in, out, l->cfg.dense.init);
}
/* the GEMMs' packing, for the largest batch and the threads of now */
NN__PRIVATE int64_t nn__dense_scratch(nn_layer *l, const nn_model *m, int64_t B, int train) {
    const int64_t in = nn__width_of(&m->layers[l->inputs[0]]), out = l->cfg.dense.units;
    const int T = nn_get_threads();
    B *= nn__rows_of(&m->layers[l->inputs[0]]);
    int64_t need = nn__gemm_plan(0, 1, B, out, in, in, T);
    if (train) {
        const int64_t dx = nn__gemm_plan(0, 0, B, in, out, in, T), dw = nn__gemm_plan(1, 0, out, in, B, in, T);
        if (dx > need) need = dx;
        if (dw > need) need = dw;
    }
    return need;
}
/* the bias added in the GEMM's epilogue, and where a ReLU that only this layer feeds is fused
   (its fuse step), that ReLU's output too, from each finished tile */
NN__PRIVATE void nn__dense_fwd(nn_model *m, nn_layer *l, int64_t B) {
    const nn_layer *a = nn__in(m, l, 0);
    const int64_t out = l->cfg.dense.units, in = nn__width_of(a);
    B *= nn__rows_of(a);
    m->backend->gemm(m->backend->ctx, 0, 1, B, out, in, 1.0f, a->y, in, l->w, in, 0.0f, l->y, out,
                     l->cfg.dense.bias ? l->w + out * in : NULL, l->fused ? m->layers[l->fused].y : NULL, m->scratch,
                     m->scratch_floats);
}
#ifndef NN_NO_TRAINING
NN__PRIVATE void nn__dense_bwd(nn_model *m, nn_layer *l, int64_t B) {
    const nn_layer *a = nn__in(m, l, 0);
    const int64_t out = l->cfg.dense.units, in = nn__width_of(a);
    B *= nn__rows_of(a);
    void *ctx = m->backend->ctx;
    if (a->dy)
        m->backend->gemm(ctx, 0, 0, B, in, out, 1.0f, l->dy, out, l->w, in, nn__in_assign(m, l) ? 0.0f : 1.0f, a->dy, in,
                         NULL, NULL, m->scratch, m->scratch_floats);
    m->backend->gemm(ctx, 1, 0, out, in, B, 1.0f, l->dy, out, a->y, in, 0.0f, l->dw, in, NULL, NULL, m->scratch,
                     m->scratch_floats);
    if (l->cfg.dense.bias) m->backend->sum_rows(ctx, l->dw + out * in, l->dy, B, out);
}
#endif
NN__PRIVATE void nn__dense_step(nn_model *m, nn_layer *l, int64_t t) {
    const nn_layer *a = nn__in(m, l, 0);
    const int64_t out = l->cfg.dense.units, in = nn__width_of(a);
    m->backend->gemm(m->backend->ctx, 0, 1, 1, out, in, 1.0f, a->y + t * in, in, l->w, in, 0.0f, l->y + t * out, out,
                     l->cfg.dense.bias ? l->w + out * in : NULL, l->fused ? m->layers[l->fused].y + t * out : NULL,
                     m->scratch, m->scratch_floats);
}
NN__PRIVATE void nn__dense_put_arch(char *t, size_t cap, const nn_layer *l) {
    nn__key_int(t, cap, "units", l->cfg.dense.units);
    nn__key_int(t, cap, "bias", l->cfg.dense.bias);
    nn__key_word(t, cap, "init", nn__init_names[l->cfg.dense.init]);
}
NN__PRIVATE int nn__dense_get_arch(nn_model *m, const char *line, const int64_t *ins, int *ok) {
    int64_t v[2];
    const int init = nn__kv_word(line, "init", nn__init_names, 6);
    *ok = nn__kv_int(line, "units", &v[0]) && nn__kv_int(line, "bias", &v[1]) && init >= 0;
    return *ok ? nn_dense_ex(m, (int)ins[0], v[0], v[1] != 0, (nn_init)init) : NN_ERR_FORMAT;
}
NN__PRIVATE int nn__dense_tensors(const nn_model *m, const nn_layer *l, nn__tdesc *t) {
    int64_t s[2];
    s[0] = l->cfg.dense.units; s[1] = nn__width_of(&m->layers[l->inputs[0]]);
    nn__tensor(&t[0], "weight", 2, s, 0, 0);
    if (!l->cfg.dense.bias) return 1;
    nn__tensor(&t[1], "bias", 1, s, s[0] * s[1], 0);
    return 2;
}
NN__PRIVATE void nn__dense_qforward(nn_qmodel *q, int i, int64_t B) {
    const nn_layer *l = &q->g.layers[i];
    const nn_layer *a = &q->g.layers[l->inputs[0]];
    const nn_qlayer *ql = &q->q[i];
    if (NN__MIXED(q)) /* float rows in, float rows out (the sums of weights in bias) */
        nn__qdense_dyn(ql->w, ql->wscale, ql->bias, ql->fbias, ql->n_ch, a->y, nn__width_of(a), B * nn__rows_of(a),
                       q->scratch, l->y);
    else nn__qdense(ql, q->q[l->inputs[0]].y, nn__width_of(a), B * nn__rows_of(a), ql->y);
}

/* >>layer-act: elementwise activations (nn_act) --------------------------------------------- */
NN__PRIVATE nn_result nn__act_infer(nn_model *m, nn_layer *l, int idx) {
    if (l->cfg.act.kind < NN_ACT_RELU || l->cfg.act.kind > NN_ACT_GELU)
        return nn__fail(NN_ERR_INVALID_ARG, "layer %d (activation): unknown kind %d", idx, (int)l->cfg.act.kind);
    nn__copy_shape(l, nn__in(m, l, 0));
    return NN_OK;
}
/* A ReLU read only by a max pooling is computed by the pooling: max(relu(x)) = relu(max(x)), and
   the first maximum of relu(x) is the first of x wherever the gradient is not zero, so the pooling
   reads the ReLU's input and clamps its four-times smaller output, and backward masks the pooling's
   gradient and scatters it straight into the ReLU's input gradient: two passes over the large
   tensor less each way. The ReLU's own y and dy hold the pooling's unclamped output and masked
   gradient (scratch; nn_model_activation recomputes y); the pooling's fuse step goes further
   (>>layer-pool2d). The results are the same as unfused, bit for bit, except a window holding NaN
   and a positive value (0 here, the value unfused).
   A ReLU whose input is a dense layer that only it reads is computed by that layer's GEMM, which
   writes both outputs from each finished tile: a separate ReLU pass on two threads re-read half
   of the GEMM's output from the other core's cache. */
/* a ReLU that only a max pooling reads (*pool: that pooling) */
NN__PRIVATE int nn__relu_pooled(const nn_model *m, int r, int *pool) {
    const nn_layer *l = &m->layers[r];
    return l->type == NN_LAYER_ACT && l->cfg.act.kind == NN_ACT_RELU && r < m->n_layers - 1 && nn__readers(m, r, pool) == 1 &&
           m->layers[*pool].type == NN_LAYER_POOL2D && m->layers[*pool].cfg.pool.d.kind == NN_POOL_MAX;
}
NN__PRIVATE void nn__act_fuse(nn_model *m, int r) {
    nn_layer *l = &m->layers[r], *in;
    int pool = -1;
    if (l->cfg.act.kind != NN_ACT_RELU) return;
    if (nn__relu_pooled(m, r, &pool))
        l->fused = 1;
    else if ((in = nn__in(m, l, 0))->type == NN_LAYER_DENSE && nn__readers(m, l->inputs[0], NULL) == 1) {
        l->fused = 2;
        in->fused = r;
    }
}
/* With nn_compile_config.recompute, a GELU that only the dense layer right after it reads, in a
   model compiled to train: its own backward needs its input alone, and that dense layer's needs
   the GELU's output again only for its weight gradient. So the output lives in one buffer that
   every such layer shares, and nn__backward recomputes it just before that dense layer's
   backward (the same bits): a transformer's MLP keeps its 4C-wide activations once, not once a
   block. nn_model_activation recomputes it too (its view then holds until the next such call).
   Decided with the scratch sizes (nn__plan_model), as it changes the plan; it needs no scratch. */
NN__PRIVATE int64_t nn__act_scratch(nn_layer *l, const nn_model *m, int64_t B, int train) {
    const int i = nn__index(m, l);
    int r = -1;
    (void)B;
    l->recomp = (train & NN__RECOMPUTE) && l->cfg.act.kind == NN_ACT_GELU && i < m->n_layers - 1 && nn__readers(m, i, &r) == 1 &&
                r == i + 1 && m->layers[r].type == NN_LAYER_DENSE;
    return 0;
}
NN__PRIVATE void nn__act_fwd(nn_model *m, nn_layer *l, int64_t B) {
    const nn_backend *be = m->backend;
    if (!l->fused) be->act_forward(be->ctx, l->cfg.act.kind, l->cfg.act.alpha, l->y, nn__in(m, l, 0)->y, B * l->size);
}
#ifndef NN_NO_TRAINING
NN__PRIVATE void nn__act_bwd(nn_model *m, nn_layer *l, int64_t B) {
    const nn_backend *be = m->backend;
    const nn_layer *a = nn__in(m, l, 0);
    if (a->dy && l->fused != 1)
        be->act_backward(be->ctx, !nn__in_assign(m, l), l->cfg.act.kind, l->cfg.act.alpha, a->dy, a->y, l->y, l->dy,
                         B * l->size);
}
#endif
NN__PRIVATE void nn__act_step(nn_model *m, nn_layer *l, int64_t t) {
    const int64_t D = nn__width_of(l);
    if (!l->fused) m->backend->act_forward(m->backend->ctx, l->cfg.act.kind, l->cfg.act.alpha, l->y + t * D,
                                           nn__in(m, l, 0)->y + t * D, D);
}
NN__PRIVATE void nn__act_put_arch(char *t, size_t cap, const nn_layer *l) {
    nn__key_word(t, cap, "kind", nn__act_names[l->cfg.act.kind]);
    nn__key_float(t, cap, "alpha", l->cfg.act.alpha);
}
NN__PRIVATE int nn__act_get_arch(nn_model *m, const char *line, const int64_t *ins, int *ok) {
    const int kind = nn__kv_word(line, "kind", nn__act_names, 6);
    float alpha = 0.0f;
    *ok = kind > 0 && nn__kv_float(line, "alpha", &alpha);
    return *ok ? nn_activation(m, (int)ins[0], (nn_act)kind, alpha) : NN_ERR_FORMAT;
}
NN__PRIVATE void nn__act_qtable(const nn_layer *l, float *y, const float *x, int64_t n) {
    nn_act_forward(l->cfg.act.kind, l->cfg.act.alpha, y, x, n);
}
/* y[k] = lut[x[k]] for k < n: 8 bytes of x read at once, 8 of y written at once (as arguments,
   not the structs' pointers, which a byte store could alias and so be read again each time) */
NN__PRIVATE void nn__qlut(const uint8_t *lut, const uint8_t *x, int64_t n, uint8_t *y) {
    int64_t k = 0;
    for (; k + 8 <= n; k += 8) {
        uint64_t v, r;
        memcpy(&v, x + k, 8);
#define NN__QL(e) ((uint64_t)lut[(v >> (e)) & 255] << (e))
        r = NN__QL(0) | NN__QL(8) | NN__QL(16) | NN__QL(24) | NN__QL(32) | NN__QL(40) | NN__QL(48) | NN__QL(56);
#undef NN__QL
        memcpy(y + k, &r, 8);
    }
    for (; k < n; k++) y[k] = lut[x[k]];
}
/* An int8 activation that only a max pooling reads, with a non-decreasing table (ReLU, sigmoid,
   tanh, leaky ReLU; checked on the table itself), runs that pooling on its input into its own
   buffer, and the pooling applies the table to the 4x fewer maxima: max(f(x)) = f(max(x)), the
   same bytes. */
NN__PRIVATE void nn__act_qforward(nn_qmodel *q, int i, int64_t B) {
    nn_qlayer *ql = &q->q[i];
    const nn_qlayer *qa = &q->q[q->g.layers[i].inputs[0]];
    int64_t k;
    int pool = 0;
    ql->pooled = i < q->g.n_layers - 1 && nn__readers(&q->g, i, &pool) == 1 && q->g.layers[pool].type == NN_LAYER_POOL2D &&
                 q->g.layers[pool].cfg.pool.d.kind == NN_POOL_MAX;
    for (k = 1; k < 256 && ql->pooled; k++) ql->pooled = ql->lut[k] >= ql->lut[k - 1];
    if (ql->pooled) nn__qpool(&q->g.layers[pool].cfg.pool.d, qa->y, qa->zero, B, ql->y);
    else nn__qlut(ql->lut, qa->y, B * q->g.layers[i].size, ql->y);
}

/* >>layer-softmax: over the features of each row ------------------------------------------------ */
NN__PRIVATE nn_result nn__softmax_infer(nn_model *m, nn_layer *l, int idx) {
    const nn_layer *a = nn__in(m, l, 0);
    char s1[96];
    nn__copy_shape(l, a);
    if (a->ndim != 1) return nn__fail(NN_ERR_SHAPE, "layer %d (softmax): input shape %s is not flat", idx, nn__shape_str(s1, a));
    return NN_OK;
}
NN__PRIVATE void nn__softmax_fwd(nn_model *m, nn_layer *l, int64_t B) {
    m->backend->softmax_forward(m->backend->ctx, l->y, nn__in(m, l, 0)->y, B, l->size);
}
#ifndef NN_NO_TRAINING
NN__PRIVATE void nn__softmax_bwd(nn_model *m, nn_layer *l, int64_t B) {
    const nn_layer *a = nn__in(m, l, 0);
    if (a->dy) m->backend->softmax_backward(m->backend->ctx, a->dy, l->y, l->dy, B, l->size);
}
#endif
NN__PRIVATE int nn__softmax_get_arch(nn_model *m, const char *line, const int64_t *ins, int *ok) {
    (void)line; (void)ok;
    return nn_softmax(m, (int)ins[0]);
}
/* int8: the last layer only, as a view of the logits (nn_qpredict applies it in float) */
NN__PRIVATE const char *nn__softmax_qcheck(const nn_model *m, int i) {
    return i != m->n_layers - 1 ? "is not the last layer" : NULL;
}

/* >>layer-dropout: inverted dropout, a hash mask of (seed, layer, step, element) ---------------- */
NN__PRIVATE nn_result nn__dropout_infer(nn_model *m, nn_layer *l, int idx) {
    if (!(l->cfg.dropout.p >= 0.0f && l->cfg.dropout.p < 1.0f))
        return nn__fail(NN_ERR_INVALID_ARG, "layer %d (dropout): p must be in [0, 1), got %f", idx, (double)l->cfg.dropout.p);
    nn__copy_shape(l, nn__in(m, l, 0));
    return NN_OK;
}
NN__PRIVATE uint64_t nn__dropout_key(const nn_model *m, const nn_layer *l) {
    return nn_hash64(m->config.seed ^ nn_hash64((uint64_t)m->step * 0x100000001B3ull + (uint64_t)nn__index(m, l)));
}
NN__PRIVATE void nn__dropout_fwd(nn_model *m, nn_layer *l, int64_t B) {
    const nn_backend *be = m->backend;
    const nn_layer *a = nn__in(m, l, 0);
    const int64_t n = B * l->size;
    if (!m->training || l->cfg.dropout.p == 0.0f) be->copy2d(be->ctx, 0, 1, n, l->y, n, a->y, n);
    else be->dropout(be->ctx, 0, l->y, a->y, n, l->cfg.dropout.p, nn__dropout_key(m, l));
}
#ifndef NN_NO_TRAINING
NN__PRIVATE void nn__dropout_bwd(nn_model *m, nn_layer *l, int64_t B) {
    const nn_backend *be = m->backend;
    const nn_layer *a = nn__in(m, l, 0);
    const int64_t n = B * l->size;
    if (!a->dy) return;
    if (l->cfg.dropout.p == 0.0f) be->copy2d(be->ctx, 1, 1, n, a->dy, n, l->dy, n);
    else be->dropout(be->ctx, 1, a->dy, l->dy, n, l->cfg.dropout.p, nn__dropout_key(m, l));
}
#endif
NN__PRIVATE void nn__dropout_step(nn_model *m, nn_layer *l, int64_t t) { /* (inference: the identity) */
    const int64_t D = nn__width_of(l);
    m->backend->copy2d(m->backend->ctx, 0, 1, D, l->y + t * D, D, nn__in(m, l, 0)->y + t * D, D);
}
NN__PRIVATE void nn__dropout_put_arch(char *t, size_t cap, const nn_layer *l) { nn__key_float(t, cap, "p", l->cfg.dropout.p); }
NN__PRIVATE int nn__dropout_get_arch(nn_model *m, const char *line, const int64_t *ins, int *ok) {
    float p = 0.0f;
    *ok = nn__kv_float(line, "p", &p);
    return *ok ? nn_dropout(m, (int)ins[0], p) : NN_ERR_FORMAT;
}

/* >>layer-add: a + b, same shapes (skip connections) -------------------------------------------- */
NN__PRIVATE nn_result nn__add_infer(nn_model *m, nn_layer *l, int idx) {
    const nn_layer *a = nn__in(m, l, 0), *b = nn__in(m, l, 1);
    char s1[96], s2[96];
    if (a->ndim != b->ndim || memcmp(a->shape, b->shape, sizeof(int64_t) * (size_t)a->ndim) != 0)
        return nn__fail(NN_ERR_SHAPE, "layer %d (add): input shapes %s (layer %d) and %s (layer %d) differ",
                        idx, nn__shape_str(s1, a), l->inputs[0], nn__shape_str(s2, b), l->inputs[1]);
    nn__copy_shape(l, a);
    return NN_OK;
}
NN__PRIVATE void nn__add_fwd(nn_model *m, nn_layer *l, int64_t B) {
    const nn_backend *be = m->backend;
    const int64_t n = B * l->size;
    be->copy2d(be->ctx, 0, 1, n, l->y, n, nn__in(m, l, 0)->y, n);
    be->copy2d(be->ctx, 1, 1, n, l->y, n, nn__in(m, l, 1)->y, n);
}
#ifndef NN_NO_TRAINING
NN__PRIVATE void nn__add_bwd(nn_model *m, nn_layer *l, int64_t B) {
    const nn_backend *be = m->backend;
    const nn_layer *a = nn__in(m, l, 0), *b = nn__in(m, l, 1);
    const int64_t n = B * l->size;
    if (a->dy) be->copy2d(be->ctx, 1, 1, n, a->dy, n, l->dy, n);
    if (b->dy) be->copy2d(be->ctx, 1, 1, n, b->dy, n, l->dy, n);
}
#endif
NN__PRIVATE void nn__add_step(nn_model *m, nn_layer *l, int64_t t) {
    const nn_backend *be = m->backend;
    const int64_t D = nn__width_of(l);
    be->copy2d(be->ctx, 0, 1, D, l->y + t * D, D, nn__in(m, l, 0)->y + t * D, D);
    be->copy2d(be->ctx, 1, 1, D, l->y + t * D, D, nn__in(m, l, 1)->y + t * D, D);
}
NN__PRIVATE int nn__add_get_arch(nn_model *m, const char *line, const int64_t *ins, int *ok) {
    (void)line; (void)ok;
    return nn_add(m, (int)ins[0], (int)ins[1]);
}
NN__PRIVATE void nn__add_qforward(nn_qmodel *q, int i, int64_t B) {
    const nn_layer *l = &q->g.layers[i];
    const nn_qlayer *ql = &q->q[i], *qa = &q->q[l->inputs[0]], *qb = &q->q[l->inputs[1]];
    int64_t k;
    for (k = 0; k < B * l->size; k++)
        ql->y[k] = nn__sat_u8(ql->zero + nn__rq(qa->y[k] - qa->zero, ql->rq[0], ql->rq[1]) +
                              nn__rq(qb->y[k] - qb->zero, ql->rq[2], ql->rq[3]));
}

/* >>layer-concat: along dimension 1 (features or channels) -------------------------------------- */
NN__PRIVATE nn_result nn__concat_infer(nn_model *m, nn_layer *l, int idx) {
    const nn_layer *a = nn__in(m, l, 0), *b = nn__in(m, l, 1);
    char s1[96], s2[96];
    int i;
    if (a->ndim != b->ndim)
        return nn__fail(NN_ERR_SHAPE, "layer %d (concat): input shapes %s and %s differ in rank",
                        idx, nn__shape_str(s1, a), nn__shape_str(s2, b));
    for (i = 1; i < a->ndim; i++)
        if (a->shape[i] != b->shape[i])
            return nn__fail(NN_ERR_SHAPE, "layer %d (concat): input shapes %s and %s differ beyond dimension 1",
                            idx, nn__shape_str(s1, a), nn__shape_str(s2, b));
    nn__copy_shape(l, a);
    l->shape[0] = a->shape[0] + b->shape[0];
    l->size = a->size + b->size;
    return NN_OK;
}
NN__PRIVATE void nn__concat_fwd(nn_model *m, nn_layer *l, int64_t B) {
    const nn_backend *be = m->backend;
    const nn_layer *a = nn__in(m, l, 0), *b = nn__in(m, l, 1);
    be->copy2d(be->ctx, 0, B, a->size, l->y, l->size, a->y, a->size);
    be->copy2d(be->ctx, 0, B, b->size, l->y + a->size, l->size, b->y, b->size);
}
#ifndef NN_NO_TRAINING
NN__PRIVATE void nn__concat_bwd(nn_model *m, nn_layer *l, int64_t B) {
    const nn_backend *be = m->backend;
    const nn_layer *a = nn__in(m, l, 0), *b = nn__in(m, l, 1);
    if (a->dy) be->copy2d(be->ctx, 1, B, a->size, a->dy, a->size, l->dy, l->size);
    if (b->dy) be->copy2d(be->ctx, 1, B, b->size, b->dy, b->size, l->dy + a->size, l->size);
}
#endif
NN__PRIVATE int nn__concat_get_arch(nn_model *m, const char *line, const int64_t *ins, int *ok) {
    (void)line; (void)ok;
    return nn_concat(m, (int)ins[0], (int)ins[1]);
}
NN__PRIVATE void nn__concat_qforward(nn_qmodel *q, int i, int64_t B) {
    const nn_layer *l = &q->g.layers[i], *a = &q->g.layers[l->inputs[0]], *b = &q->g.layers[l->inputs[1]];
    const nn_qlayer *ql = &q->q[i], *qa = &q->q[l->inputs[0]], *qb = &q->q[l->inputs[1]];
    int64_t r, k;
    for (r = 0; r < B; r++) {
        for (k = 0; k < a->size; k++)
            ql->y[r * l->size + k] = nn__sat_u8(ql->zero + nn__rq(qa->y[r * a->size + k] - qa->zero, ql->rq[0], ql->rq[1]));
        for (k = 0; k < b->size; k++)
            ql->y[r * l->size + a->size + k] =
                nn__sat_u8(ql->zero + nn__rq(qb->y[r * b->size + k] - qb->zero, ql->rq[2], ql->rq[3]));
    }
}

/* >>layer-flatten, >>layer-reshape: views of their input, no copy -------------------------------- */
NN__PRIVATE nn_result nn__flatten_infer(nn_model *m, nn_layer *l, int idx) {
    (void)idx;
    nn__set_flat(l, nn__in(m, l, 0)->size);
    return NN_OK;
}
NN__PRIVATE nn_result nn__reshape_infer(nn_model *m, nn_layer *l, int idx) {
    const nn_layer *a = nn__in(m, l, 0);
    char s1[96], s2[96];
    int64_t n = 1;
    int i;
    for (i = 0; i < l->ndim; i++) n *= l->shape[i];
    if (n != a->size)
        return nn__fail(NN_ERR_SHAPE, "layer %d (reshape): input shape %s has %l elements, the new shape %s has %l",
                        idx, nn__shape_str(s1, a), a->size, nn__shape_str(s2, l), n);
    l->size = n;
    return NN_OK;
}
/* a view follows its input, whose y is the caller's batch for the model input */
NN__PRIVATE void nn__view_fwd(nn_model *m, nn_layer *l, int64_t B) {
    (void)B;
    l->y = nn__in(m, l, 0)->y;
    l->dy = nn__in(m, l, 0)->dy;
}
NN__PRIVATE int nn__flatten_get_arch(nn_model *m, const char *line, const int64_t *ins, int *ok) {
    (void)line; (void)ok;
    return nn_flatten(m, (int)ins[0]);
}
NN__PRIVATE int nn__reshape_get_arch(nn_model *m, const char *line, const int64_t *ins, int *ok) {
    int64_t v[3];
    const int nd = nn__kv_ints(line, "shape", v, 3);
    *ok = nd >= 1;
    return *ok ? nn_reshape(m, (int)ins[0], nd, v) : NN_ERR_FORMAT;
}

/* >>layer-conv2d: 2-D convolution (NCHW), weights (OC, C/G, KH, KW) as torch.nn.Conv2d's -------- */
NN__PRIVATE nn_result nn__conv2d_infer(nn_model *m, nn_layer *l, int idx) {
    const nn_layer *a = nn__in(m, l, 0);
    nn_conv2d_desc *d = &l->cfg.conv.d;
    nn_result r;
    char s1[96];
    if (a->ndim != 3) return nn__fail(NN_ERR_SHAPE, "layer %d (conv2d): input shape %s is not (C, H, W)", idx, nn__shape_str(s1, a));
    d->C = a->shape[0]; d->H = a->shape[1]; d->W = a->shape[2];
    if ((r = nn_conv2d_desc_init(d)) != NN_OK) return nn__fail_in_layer(r, idx, a);
    l->ndim = 3; l->shape[0] = d->OC; l->shape[1] = d->OH; l->shape[2] = d->OW;
    l->size = d->OC * d->OH * d->OW;
    l->n_params = d->OC * (d->C / d->G) * d->KH * d->KW + (l->cfg.conv.bias ? d->OC : 0);
    return NN_OK;
}
NN__PRIVATE void nn__conv2d_init(nn_model *m, nn_layer *l) {
    const nn_conv2d_desc *d = &l->cfg.conv.d;
    const int64_t rf = d->KH * d->KW, in = d->C / d->G * rf;
    nn__init_weights(m, l->w, l->n_params, d->OC * in, in, d->OC * rf, l->cfg.conv.init);
}
NN__PRIVATE int64_t nn__conv2d_scratch(nn_layer *l, const nn_model *m, int64_t B, int train) {
    (void)m;
    l->cfg.conv.d.T = nn_get_threads();
    return nn__conv_workspace(&l->cfg.conv.d, train, B);
}
/* a convolution layer's bias (after its weights), NULL without one */
NN__PRIVATE const float *nn__conv_bias(const nn_layer *l) {
    const nn_conv2d_desc *d = &l->cfg.conv.d;
    return l->cfg.conv.bias ? l->w + d->OC * (d->C / d->G) * d->KH * d->KW : NULL;
}
/* the pooling that computes convolution conv in its own step (>>layer-pool2d's fuse), or NULL */
NN__PRIVATE const nn_layer *nn__conv_pool_fwd(const nn_model *m, const nn_layer *conv) {
    return conv->pool_fwd ? &m->layers[conv->pool_fwd] : NULL;
}
NN__PRIVATE void nn__conv2d_fwd(nn_model *m, nn_layer *l, int64_t B) {
    if (l->pool_fwd) return; /* (its pooling computes it) */
    m->backend->conv2d_forward(m->backend->ctx, &l->cfg.conv.d, B, l->y, nn__in(m, l, 0)->y, l->w, nn__conv_bias(l), m->scratch);
}
#ifndef NN_NO_TRAINING
/* the pooling whose gradient gives conv's weight gradient (conv2d_backward_pooled), or NULL */
NN__PRIVATE nn_layer *nn__conv_pooled(nn_model *m, const nn_layer *conv) {
    return conv->pool_bwd ? &m->layers[conv->pool_bwd] : NULL;
}
NN__PRIVATE void nn__conv2d_bwd(nn_model *m, nn_layer *l, int64_t B) {
    const nn_backend *be = m->backend;
    const nn_conv2d_desc *d = &l->cfg.conv.d;
    const int64_t nw = d->OC * (d->C / d->G) * d->KH * d->KW;
    const nn_layer *a = nn__in(m, l, 0), *pl = nn__conv_pooled(m, l);
    if (pl)
        be->conv2d_backward_pooled(be->ctx, d, &pl->cfg.pool.d, B, l->dw, l->cfg.conv.bias ? l->dw + nw : NULL, pl->pool_rec,
                                   pl->dy, l->dy, a->y, m->scratch);
    else
        be->conv2d_backward(be->ctx, d, B, a->dy, l->dw, l->cfg.conv.bias ? l->dw + nw : NULL, l->dy, a->y, l->w, m->scratch);
}
#endif
NN__PRIVATE void nn__conv2d_put_arch(char *t, size_t cap, const nn_layer *l) {
    const nn_conv2d_desc *d = &l->cfg.conv.d;
    nn__key_int(t, cap, "out", d->OC); nn__key_2(t, cap, "kernel", d->KH, d->KW); nn__key_2(t, cap, "stride", d->SH, d->SW);
    nn__key_2(t, cap, "padding", d->PH, d->PW); nn__key_2(t, cap, "dilation", d->DH, d->DW); nn__key_int(t, cap, "groups", d->G);
    nn__key_int(t, cap, "bias", l->cfg.conv.bias); nn__key_word(t, cap, "init", nn__init_names[l->cfg.conv.init]);
}
NN__PRIVATE int nn__conv2d_get_arch(nn_model *m, const char *line, const int64_t *ins, int *ok) {
    nn_conv2d_desc d;
    int64_t v[3], k2[2], s2[2], p2[2], d2[2];
    const int init = nn__kv_word(line, "init", nn__init_names, 6);
    *ok = nn__kv_int(line, "out", &v[0]) && nn__kv_ints(line, "kernel", k2, 2) == 2 &&
          nn__kv_ints(line, "stride", s2, 2) == 2 && nn__kv_ints(line, "padding", p2, 2) == 2 &&
          nn__kv_ints(line, "dilation", d2, 2) == 2 && nn__kv_int(line, "groups", &v[1]) &&
          nn__kv_int(line, "bias", &v[2]) && init >= 0;
    if (!*ok) return NN_ERR_FORMAT;
    memset(&d, 0, sizeof d);
    d.OC = v[0]; d.KH = k2[0]; d.KW = k2[1]; d.SH = s2[0]; d.SW = s2[1]; d.PH = p2[0]; d.PW = p2[1];
    d.DH = d2[0]; d.DW = d2[1]; d.G = v[1];
    return nn_conv2d_ex(m, (int)ins[0], &d, v[2] != 0, (nn_init)init);
}
NN__PRIVATE int nn__conv2d_tensors(const nn_model *m, const nn_layer *l, nn__tdesc *t) {
    const nn_conv2d_desc *d = &l->cfg.conv.d;
    int64_t s[4];
    (void)m;
    s[0] = d->OC; s[1] = d->C / d->G; s[2] = d->KH; s[3] = d->KW;
    nn__tensor(&t[0], "weight", 4, s, 0, 0);
    if (!l->cfg.conv.bias) return 1;
    nn__tensor(&t[1], "bias", 1, s, s[0] * s[1] * s[2] * s[3], 0);
    return 2;
}
NN__PRIVATE int64_t nn__conv2d_qscratch(const nn_layer *l) {
    const nn_conv2d_desc *d = &l->cfg.conv.d;
    return NN__QPIX * (d->C / d->G) * d->KH * d->KW;
}
/* int8 kernels index one image in int (fast on 32-bit cores) */
NN__PRIVATE const char *nn__conv2d_qcheck(const nn_model *m, int i) {
    const nn_conv2d_desc *d = &m->layers[i].cfg.conv.d;
    const int64_t k = d->C / d->G * d->KH * d->KW;
    return d->C * d->H * d->W >= ((int64_t)1 << 30) || d->OC * d->OH * d->OW >= ((int64_t)1 << 30) || k >= ((int64_t)1 << 30)
               ? "has an image of 2^30 values or more (int8 convolutions index one image in int)" : NULL;
}
/* a 2x2 stride-2 max pooling that alone reads the convolution (through a folded ReLU or not) is
   computed by it where nn__qconv can (the pooling's qforward then has nothing to do) */
NN__PRIVATE void nn__conv2d_qforward(nn_qmodel *q, int i, int64_t B) {
    const nn_layer *l = &q->g.layers[i];
    const nn_qlayer *qa = &q->q[l->inputs[0]];
    int p = -1;
    if (nn__readers(&q->g, i, &p) == 1 && q->g.layers[p].type == NN_LAYER_ACT && q->q[p].view && nn__readers(&q->g, p, &p) != 1) p = -1;
    if (p >= 0 && q->g.layers[p].type == NN_LAYER_POOL2D) {
        const nn_pool2d_desc *pd = &q->g.layers[p].cfg.pool.d;
        const int two = pd->kind == NN_POOL_MAX && pd->KH == 2 && pd->KW == 2 && pd->SH == 2 && pd->SW == 2 && pd->PH == 0 && pd->PW == 0;
        q->q[p].pooled = nn__qconv(&q->q[i], &l->cfg.conv.d, qa->y, qa->zero, B, q->q[i].y, two ? q->q[p].y : NULL, q->scratch);
    } else nn__qconv(&q->q[i], &l->cfg.conv.d, qa->y, qa->zero, B, q->q[i].y, NULL, q->scratch);
}

/* >>layer-pool2d: max and average pooling, global average pooling ------------------------------- */
NN__PRIVATE nn_result nn__pool2d_infer(nn_model *m, nn_layer *l, int idx) {
    const nn_layer *a = nn__in(m, l, 0);
    nn_pool2d_desc *d = &l->cfg.pool.d;
    nn_result r;
    char s1[96];
    if (a->ndim != 3) return nn__fail(NN_ERR_SHAPE, "layer %d (pool2d): input shape %s is not (C, H, W)", idx, nn__shape_str(s1, a));
    d->C = a->shape[0]; d->H = a->shape[1]; d->W = a->shape[2];
    if (l->cfg.pool.global) { d->KH = d->H; d->KW = d->W; d->SH = d->SW = 1; d->PH = d->PW = 0; }
    if ((r = nn_pool2d_desc_init(d)) != NN_OK) return nn__fail_in_layer(r, idx, a);
    if (l->cfg.pool.global) nn__set_flat(l, d->C);
    else { l->ndim = 3; l->shape[0] = d->C; l->shape[1] = d->OH; l->shape[2] = d->OW; l->size = d->C * d->OH * d->OW; }
    return NN_OK;
}
/* The max pooling of a fused ReLU (>>layer-act), with 2x2 windows and a backend that has the
   entries, clamps as it writes and keeps in the ReLU's dy (which that ReLU's backward does not use)
   a byte per output saying where its maximum was and whether it was positive: backward then reads
   that and the gradient, not the 4x larger input and the output (CNN: pooling backward 2.5x
   faster). A convolution before that ReLU which nothing else reads is computed by the pooling
   too (pool_fwd: by the row kernel two rows at a time into a tile pooled from L1, by Winograd
   and the lanes kernel pooling their outputs in the slot, so the CNN's convolutions write and
   re-read no output), and where that convolution needs no input gradient (a first layer), it
   rebuilds its output gradient image by image in cache (pool_bwd). */
NN__PRIVATE void nn__pool2d_fuse(nn_model *m, int p) {
    nn_layer *l = &m->layers[p], *relu = nn__in(m, l, 0), *c;
    const nn_backend *be = m->backend;
    int r = -1;
    if (relu->type != NN_LAYER_ACT || relu->fused != 1 || !relu->dy || !be->maxpool2x2_relu_forward ||
        !be->maxpool2x2_relu_backward || !nn__pool_is_2x2(&l->cfg.pool.d))
        return;
    l->pool_rec = (uint8_t *)(void *)relu->dy;
    c = nn__in(m, relu, 0);
    if (c->type != NN_LAYER_CONV2D || nn__readers(m, relu->inputs[0], &r) != 1) return;
    if (be->conv2d_maxpool2x2_relu_forward) c->pool_fwd = p;
    if (be->conv2d_backward_pooled && c->dy && !nn__in(m, c, 0)->dy) c->pool_bwd = p;
}
NN__PRIVATE void nn__pool2d_fwd(nn_model *m, nn_layer *l, int64_t B) {
    const nn_backend *be = m->backend;
    nn_layer *a = nn__in(m, l, 0);
    nn_layer *c = a->fused == 1 ? nn__in(m, a, 0) : NULL;
    if (l->pool_rec && c->pool_fwd == nn__index(m, l))
        be->conv2d_maxpool2x2_relu_forward(be->ctx, &c->cfg.conv.d, &l->cfg.pool.d, B, c->y, l->y, l->pool_rec,
                                           nn__in(m, c, 0)->y, c->w, nn__conv_bias(c), m->scratch);
    else if (l->pool_rec) be->maxpool2x2_relu_forward(be->ctx, &l->cfg.pool.d, B, l->y, l->pool_rec, c->y);
    else if (c) { /* (the ReLU's buffer holds the unclamped maxima) */
        be->pool2d_forward(be->ctx, &l->cfg.pool.d, B, a->y, c->y);
        be->act_forward(be->ctx, NN_ACT_RELU, 0.0f, l->y, a->y, B * l->size);
    } else be->pool2d_forward(be->ctx, &l->cfg.pool.d, B, l->y, a->y);
}
#ifndef NN_NO_TRAINING
NN__PRIVATE void nn__pool2d_bwd(nn_model *m, nn_layer *l, int64_t B) {
    const nn_backend *be = m->backend;
    nn_layer *a = nn__in(m, l, 0);
    if (a->fused == 1) { /* the gradient where the output is positive, into the ReLU's input */
        nn_layer *p = nn__in(m, a, 0);
        if (!a->dy || !p->dy || p->pool_bwd == nn__index(m, l)) return; /* (conv2d_backward_pooled) */
        if (l->pool_rec) {
            be->maxpool2x2_relu_backward(be->ctx, !nn__in_assign(m, a), &l->cfg.pool.d, B, p->dy, l->pool_rec, l->dy);
            return;
        }
        be->act_backward(be->ctx, 0, NN_ACT_RELU, 0.0f, a->dy, l->y, l->y, l->dy, B * l->size);
        be->pool2d_backward(be->ctx, !nn__in_assign(m, a), &l->cfg.pool.d, B, p->dy, p->y, a->dy);
    } else if (a->dy) be->pool2d_backward(be->ctx, !nn__in_assign(m, l), &l->cfg.pool.d, B, a->dy, a->y, l->dy);
}
#endif
NN__PRIVATE void nn__pool2d_put_arch(char *t, size_t cap, const nn_layer *l) {
    const nn_pool2d_desc *d = &l->cfg.pool.d;
    nn__key_word(t, cap, "kind", nn__pool_names[d->kind]); nn__key_int(t, cap, "global", l->cfg.pool.global);
    nn__key_2(t, cap, "kernel", d->KH, d->KW); nn__key_2(t, cap, "stride", d->SH, d->SW); nn__key_2(t, cap, "padding", d->PH, d->PW);
}
NN__PRIVATE int nn__add_layer(nn_model *m, nn_layer_type type, int n_inputs, int in0, int in1, nn_layer *proto);
NN__PRIVATE nn_layer nn__proto(void);
NN__PRIVATE int nn__pool2d_get_arch(nn_model *m, const char *line, const int64_t *ins, int *ok) {
    const int kind = nn__kv_word(line, "kind", nn__pool_names, 3);
    nn_layer q = nn__proto();
    int64_t g, k2[2], s2[2], p2[2];
    *ok = kind > 0 && nn__kv_int(line, "global", &g) && nn__kv_ints(line, "kernel", k2, 2) == 2 &&
          nn__kv_ints(line, "stride", s2, 2) == 2 && nn__kv_ints(line, "padding", p2, 2) == 2;
    if (!*ok) return NN_ERR_FORMAT;
    q.cfg.pool.d.kind = (nn_pool_kind)kind;
    q.cfg.pool.d.KH = k2[0]; q.cfg.pool.d.KW = k2[1]; q.cfg.pool.d.SH = s2[0]; q.cfg.pool.d.SW = s2[1];
    q.cfg.pool.d.PH = p2[0]; q.cfg.pool.d.PW = p2[1];
    q.cfg.pool.global = g != 0;
    return nn__add_layer(m, NN_LAYER_POOL2D, 1, (int)ins[0], 0, &q);
}
NN__PRIVATE void nn__pool2d_qforward(nn_qmodel *q, int i, int64_t B) {
    const nn_layer *l = &q->g.layers[i];
    const nn_qlayer *qa = &q->q[l->inputs[0]];
    if (q->q[i].pooled) return; /* (>>layer-conv2d computed it) */
    if (q->g.layers[l->inputs[0]].type == NN_LAYER_ACT && qa->pooled) /* (>>layer-act: the maxima are there) */
        nn__qlut(qa->lut, qa->y, B * l->size, q->q[i].y);
    else nn__qpool(&l->cfg.pool.d, qa->y, qa->zero, B, q->q[i].y);
}

/* >>layer-batchnorm: per channel of (C, H, W) or per feature, as torch's BatchNorm1d/2d ------------ */
NN__PRIVATE nn_result nn__batchnorm_infer(nn_model *m, nn_layer *l, int idx) {
    const nn_layer *a = nn__in(m, l, 0);
    if (!(l->cfg.bn.eps > 0.0f) || !(l->cfg.bn.momentum >= 0.0f && l->cfg.bn.momentum <= 1.0f))
        return nn__fail(NN_ERR_INVALID_ARG, "layer %d (batchnorm): need eps > 0 and momentum in [0, 1]", idx);
    nn__copy_shape(l, a);
    l->n_params = 2 * a->shape[0];
    l->n_buffers = 2 * a->shape[0];
    l->n_saved = 2 * a->shape[0];
    return NN_OK;
}
NN__PRIVATE void nn__batchnorm_init(nn_model *m, nn_layer *l) {
    const int64_t C = l->n_params / 2;
    int64_t i;
    (void)m;
    for (i = 0; i < C; i++) { l->w[i] = 1.0f; l->w[C + i] = 0.0f; l->buf[i] = 0.0f; l->buf[C + i] = 1.0f; }
}
NN__PRIVATE void nn__batchnorm_fwd(nn_model *m, nn_layer *l, int64_t B) {
    const nn_layer *a = nn__in(m, l, 0);
    const int64_t C = a->shape[0];
    m->backend->batchnorm_forward(m->backend->ctx, B, C, a->size / C, l->y, a->y, l->w, l->w + C, l->buf, l->buf + C,
                                  l->saved, l->cfg.bn.momentum, l->cfg.bn.eps, m->training && !l->frozen);
}
#ifndef NN_NO_TRAINING
NN__PRIVATE void nn__batchnorm_bwd(nn_model *m, nn_layer *l, int64_t B) {
    const nn_layer *a = nn__in(m, l, 0);
    const int64_t C = a->shape[0];
    m->backend->batchnorm_backward(m->backend->ctx, B, C, a->size / C, a->dy, l->dw, l->dw + C, l->dy, a->y, l->w, l->saved);
}
#endif
NN__PRIVATE void nn__batchnorm_put_arch(char *t, size_t cap, const nn_layer *l) {
    nn__key_float(t, cap, "momentum", l->cfg.bn.momentum);
    nn__key_float(t, cap, "eps", l->cfg.bn.eps);
}
NN__PRIVATE int nn__batchnorm_get_arch(nn_model *m, const char *line, const int64_t *ins, int *ok) {
    float mo = 0.0f, eps = 0.0f;
    *ok = nn__kv_float(line, "momentum", &mo) && nn__kv_float(line, "eps", &eps);
    return *ok ? nn_batchnorm(m, (int)ins[0], mo, eps) : NN_ERR_FORMAT;
}
NN__PRIVATE int nn__batchnorm_tensors(const nn_model *m, const nn_layer *l, nn__tdesc *t) {
    const int64_t C = l->n_params / 2;
    (void)m;
    nn__tensor(&t[0], "weight", 1, &C, 0, 0);
    nn__tensor(&t[1], "bias", 1, &C, C, 0);
    nn__tensor(&t[2], "running_mean", 1, &C, 0, 1);
    nn__tensor(&t[3], "running_var", 1, &C, C, 1);
    return 4;
}
/* int8: folded into the dense or conv layer before it (a view of that layer's output) */
NN__PRIVATE const char *nn__batchnorm_qcheck(const nn_model *m, int i) {
    const int in = m->layers[i].inputs[0];
    if (nn__ops(m->layers[in].type)->qrole != NN__Q_WEIGHTS || nn__readers(m, in, NULL) != 1)
        return "does not follow a dense or conv layer that only it reads, so it cannot be folded";
    return NULL;
}

/* >>layer-embedding: token ids -> rows of a (vocab, dim) table, as torch.nn.Embedding -------- */
NN__PRIVATE nn_result nn__embedding_infer(nn_model *m, nn_layer *l, int idx) {
    nn_layer *a = nn__in(m, l, 0);
    char s1[96];
    if (a->n_inputs != 0 || !a->seq || a->ndim != 1)
        return nn__fail(NN_ERR_SHAPE, "layer %d (embedding): input %s is not the token ids of nn_input_seq(m, T, 0)", idx,
                        nn__shape_str(s1, a));
    if (l->cfg.emb.vocab < 1 || l->cfg.emb.dim < 1 || l->cfg.emb.vocab > 16777216)
        return nn__fail(NN_ERR_INVALID_ARG, "layer %d (embedding): vocab must be in [1, 2^24] and dim >= 1, got %l and %l",
                        idx, l->cfg.emb.vocab, l->cfg.emb.dim);
    if (nn__check_count((double)l->cfg.emb.dim * ((double)l->cfg.emb.vocab + a->shape[0]), idx, "embedding") != NN_OK)
        return NN_ERR_INVALID_ARG;
    l->ndim = 2; l->shape[0] = a->shape[0]; l->shape[1] = l->cfg.emb.dim;
    l->size = a->shape[0] * l->cfg.emb.dim;
    l->n_params = l->cfg.emb.vocab * l->cfg.emb.dim;
    /* the ids the model accepts: below every embedding's vocab (checked on every batch) */
    if (a->cfg.input.vocab == 0 || l->cfg.emb.vocab < a->cfg.input.vocab) a->cfg.input.vocab = l->cfg.emb.vocab;
    return NN_OK;
}
NN__PRIVATE void nn__embedding_init(nn_model *m, nn_layer *l) { /* N(0, std): torch's default is std 1 */
    int64_t i;
    for (i = 0; i < l->n_params; i++) l->w[i] = (float)(l->cfg.emb.std * nn__rng_normal(&m->rng));
}
/* a token's id, or -1 when it is not one (the batch checks make that impossible; this keeps the
   table's reads in bounds whatever a caller passes) */
NN__PRIVATE int64_t nn__token(float v, int64_t vocab) { return v >= 0.0f && v < (float)vocab && v == (float)(int64_t)v ? (int64_t)v : -1; }
NN__PRIVATE void nn__embedding_fwd(nn_model *m, nn_layer *l, int64_t B) {
    const float *ids = nn__in(m, l, 0)->y;
    const int64_t D = l->cfg.emb.dim, n = B * l->shape[0];
    int64_t r;
    NN__OMP_FOR_IF(n * D >= NN_OMP_MIN_WORK)
    for (r = 0; r < n; r++) {
        const int64_t id = nn__token(ids[r], l->cfg.emb.vocab);
        if (id >= 0) memcpy(l->y + r * D, l->w + id * D, sizeof(float) * (size_t)D);
        else memset(l->y + r * D, 0, sizeof(float) * (size_t)D);
    }
}
#ifndef NN_NO_TRAINING
/* dW = the sum of the rows' gradients at their ids, in row order (no thread-dependent sums) */
NN__PRIVATE void nn__embedding_bwd(nn_model *m, nn_layer *l, int64_t B) {
    const float *ids = nn__in(m, l, 0)->y;
    const int64_t D = l->cfg.emb.dim, n = B * l->shape[0];
    int64_t r;
    if (!l->cfg.emb.tied) memset(l->dw, 0, sizeof(float) * (size_t)l->n_params); /* (else its tied_dense assigned it) */
    for (r = 0; r < n; r++) {
        const int64_t id = nn__token(ids[r], l->cfg.emb.vocab);
        if (id >= 0) nn__add_range(l->dw + id * D, l->dy + r * D, 0, D);
    }
}
#endif
NN__PRIVATE void nn__embedding_step(nn_model *m, nn_layer *l, int64_t t) {
    const int64_t D = l->cfg.emb.dim, id = nn__token(nn__in(m, l, 0)->y[t], l->cfg.emb.vocab);
    if (id >= 0) memcpy(l->y + t * D, l->w + id * D, sizeof(float) * (size_t)D);
    else memset(l->y + t * D, 0, sizeof(float) * (size_t)D);
}
NN__PRIVATE void nn__embedding_put_arch(char *t, size_t cap, const nn_layer *l) {
    nn__key_int(t, cap, "vocab", l->cfg.emb.vocab);
    nn__key_int(t, cap, "dim", l->cfg.emb.dim);
    nn__key_float(t, cap, "std", l->cfg.emb.std);
}
NN__PRIVATE int nn__embedding_get_arch(nn_model *m, const char *line, const int64_t *ins, int *ok) {
    int64_t v, d;
    float std = 1.0f;
    *ok = nn__kv_int(line, "vocab", &v) && nn__kv_int(line, "dim", &d) && nn__kv_float(line, "std", &std);
    return *ok ? nn_embedding_ex(m, (int)ins[0], v, d, std) : NN_ERR_FORMAT;
}
NN__PRIVATE int nn__embedding_tensors(const nn_model *m, const nn_layer *l, nn__tdesc *t) {
    int64_t s[2];
    (void)m;
    s[0] = l->cfg.emb.vocab; s[1] = l->cfg.emb.dim;
    nn__tensor(&t[0], "weight", 2, s, 0, 0);
    return 1;
}
/* (mixed models only) int8 rows, a scale per row */
NN__PRIVATE void nn__embedding_qforward(nn_qmodel *q, int i, int64_t B) {
    const nn_layer *l = &q->g.layers[i];
    const nn_qlayer *ql = &q->q[i];
    const float *ids = q->g.layers[l->inputs[0]].y;
    const int64_t D = l->cfg.emb.dim, n = B * l->shape[0];
    int64_t r, k;
    for (r = 0; r < n; r++) {
        const int64_t id = nn__token(ids[r], l->cfg.emb.vocab);
        const int8_t *e = id >= 0 ? ql->w + id * D : NULL;
        for (k = 0; k < D; k++) l->y[r * D + k] = e ? ql->wscale[id] * (float)e[k] : 0.0f;
    }
}

/* >>layer-layernorm: over the last dimension, with a gain and a bias, as torch.nn.LayerNorm -------
   Each row: y = (x - mean) / sqrt(var + eps) * weight + bias (biased variance). Forward keeps each
   row's mean and 1/std (two floats) for backward, which writes the rows' normalized x into the
   scratch for the weight gradient's sums. */
NN__PRIVATE int64_t nn__last_dim(const nn_layer *l) { return l->shape[l->ndim - 1]; }
NN__PRIVATE nn_result nn__layernorm_infer(nn_model *m, nn_layer *l, int idx) {
    const nn_layer *a = nn__in(m, l, 0);
    char s1[96];
    if (a->ndim > 2)
        return nn__fail(NN_ERR_SHAPE, "layer %d (layernorm): input shape %s: it normalizes (D) or (T, D)", idx,
                        nn__shape_str(s1, a));
    if (!(l->cfg.ln.eps > 0.0f)) return nn__fail(NN_ERR_INVALID_ARG, "layer %d (layernorm): eps must be > 0", idx);
    nn__copy_shape(l, a);
    l->n_params = 2 * nn__last_dim(a);
    l->n_keep = 2 * (l->size / nn__last_dim(a));
    return NN_OK;
}
NN__PRIVATE int64_t nn__layernorm_scratch(nn_layer *l, const nn_model *m, int64_t B, int train) {
    (void)m;
    return train ? B * l->size : 0;
}
NN__PRIVATE void nn__layernorm_init(nn_model *m, nn_layer *l) {
    const int64_t D = l->n_params / 2;
    int64_t i;
    (void)m;
    for (i = 0; i < D; i++) { l->w[i] = 1.0f; l->w[D + i] = 0.0f; }
}
#ifndef NN_NO_TRAINING
/* dw[i] += dy[i] xh[i], dw[D + i] += dy[i] */
NN__PRIVATE NN__NOINLINE void nn__ln_sums(float *NN__RESTRICT dw, const float *NN__RESTRICT dy, const float *NN__RESTRICT xh,
                                          int64_t D) {
    NN__VLOOP(i, 0, D, dw[i] += dy[i] * xh[i]; dw[D + i] += dy[i];);
}
#endif
/* a row's mean and 1/std: sixteen float partial sums (a vector), added in double */
NN__PRIVATE NN__NOINLINE void nn__ln_stats(const float *NN__RESTRICT x, int64_t D, float eps, double *mean, double *rstd) {
    float p[16], q[16];
    double s = 0.0, v = 0.0;
    float sf;
    int k;
    for (k = 0; k < 16; k++) p[k] = q[k] = 0.0f;
    NN__VLOOP(i, 0, D, p[i & 15] += x[i];);
    for (k = 0; k < 16; k++) s += p[k];
    s /= (double)D;
    sf = (float)s;
    NN__VLOOP(i, 0, D, q[i & 15] += (x[i] - sf) * (x[i] - sf););
    for (k = 0; k < 16; k++) v += q[k];
    *mean = s;
    *rstd = 1.0 / sqrt(v / (double)D + eps);
}
/* one row; its mean and 1/std into st[0], st[1] */
NN__PRIVATE void nn__layernorm_row(const nn_layer *l, float *y, const float *x, float *st) {
    const int64_t D = l->n_params / 2;
    double mean, rstd;
    int64_t i;
    nn__ln_stats(x, D, l->cfg.ln.eps, &mean, &rstd);
    for (i = 0; i < D; i++) y[i] = (float)((x[i] - mean) * rstd) * l->w[i] + l->w[D + i];
    st[0] = (float)mean;
    st[1] = (float)rstd;
}
NN__PRIVATE void nn__layernorm_fwd(nn_model *m, nn_layer *l, int64_t B) {
    const float *x = nn__in(m, l, 0)->y;
    const int64_t D = l->n_params / 2, n = B * l->size / D;
    int64_t r;
    NN__OMP_FOR_IF(n * D >= NN_OMP_MIN_WORK)
    for (r = 0; r < n; r++) nn__layernorm_row(l, l->y + r * D, x + r * D, l->saved + 2 * r);
}
#ifndef NN_NO_TRAINING
NN__PRIVATE void nn__layernorm_bwd(nn_model *m, nn_layer *l, int64_t B) {
    const nn_layer *a = nn__in(m, l, 0);
    const float *x = a->y, *g = l->w;
    const int64_t D = l->n_params / 2, n = B * l->size / D;
    const int assign = nn__in_assign(m, l);
    int64_t r;
    float *xh = m->scratch; /* the normalized rows */
    NN__OMP_FOR_IF(n * D >= NN_OMP_MIN_WORK)
    for (r = 0; r < n; r++) {
        const float *xr = x + r * D, *dyr = l->dy + r * D, mean = l->saved[2 * r], rstd = l->saved[2 * r + 1];
        float *xhr = xh + r * D;
        double s1 = 0.0, s2 = 0.0;
        int64_t j;
        for (j = 0; j < D; j++) {
            const double dh = (double)dyr[j] * g[j];
            xhr[j] = (xr[j] - mean) * rstd;
            s1 += dh;
            s2 += dh * xhr[j];
        }
        s1 /= (double)D;
        s2 /= (double)D;
        if (!a->dy) continue;
        for (j = 0; j < D; j++) {
            const float v = (float)(rstd * ((double)dyr[j] * g[j] - s1 - xhr[j] * s2));
            a->dy[r * D + j] = assign ? v : a->dy[r * D + j] + v;
        }
    }
    /* dweight, dbias: sums over the rows in order */
    memset(l->dw, 0, sizeof(float) * (size_t)(2 * D));
    for (r = 0; r < n; r++) nn__ln_sums(l->dw, l->dy + r * D, xh + r * D, D);
}
#endif
NN__PRIVATE void nn__layernorm_step(nn_model *m, nn_layer *l, int64_t t) {
    const int64_t D = l->n_params / 2;
    nn__layernorm_row(l, l->y + t * D, nn__in(m, l, 0)->y + t * D, l->saved + 2 * t);
}
NN__PRIVATE void nn__layernorm_put_arch(char *t, size_t cap, const nn_layer *l) { nn__key_float(t, cap, "eps", l->cfg.ln.eps); }
NN__PRIVATE int nn__layernorm_get_arch(nn_model *m, const char *line, const int64_t *ins, int *ok) {
    float eps = 0.0f;
    *ok = nn__kv_float(line, "eps", &eps);
    return *ok ? nn_layernorm(m, (int)ins[0], eps) : NN_ERR_FORMAT;
}
NN__PRIVATE int nn__layernorm_tensors(const nn_model *m, const nn_layer *l, nn__tdesc *t) {
    const int64_t D = l->n_params / 2;
    (void)m;
    nn__tensor(&t[0], "weight", 1, &D, 0, 0);
    nn__tensor(&t[1], "bias", 1, &D, D, 0);
    return 2;
}

/* >>layer-posemb: a learned vector per step added to a (T, D) input (GPT's position embedding,
   torch's nn.Embedding(T, D) indexed by 0..T-1 and added) ------------------------------------- */
NN__PRIVATE nn_result nn__posemb_infer(nn_model *m, nn_layer *l, int idx) {
    const nn_layer *a = nn__in(m, l, 0);
    char s1[96];
    if (a->ndim != 2 || !a->seq)
        return nn__fail(NN_ERR_SHAPE, "layer %d (pos_embedding): input shape %s is not a sequence (T, D)", idx,
                        nn__shape_str(s1, a));
    nn__copy_shape(l, a);
    l->n_params = a->size;
    return NN_OK;
}
NN__PRIVATE void nn__posemb_init(nn_model *m, nn_layer *l) {
    int64_t i;
    for (i = 0; i < l->n_params; i++) l->w[i] = (float)(l->cfg.emb.std * nn__rng_normal(&m->rng));
}
NN__PRIVATE void nn__posemb_fwd(nn_model *m, nn_layer *l, int64_t B) {
    const float *x = nn__in(m, l, 0)->y;
    int64_t b;
    NN__OMP_FOR_IF(B * l->size >= NN_OMP_MIN_WORK)
    for (b = 0; b < B; b++) {
        int64_t i;
        for (i = 0; i < l->size; i++) l->y[b * l->size + i] = x[b * l->size + i] + l->w[i];
    }
}
#ifndef NN_NO_TRAINING
NN__PRIVATE void nn__posemb_bwd(nn_model *m, nn_layer *l, int64_t B) {
    const nn_backend *be = m->backend;
    nn_layer *a = nn__in(m, l, 0);
    int64_t b;
    if (a->dy) be->copy2d(be->ctx, !nn__in_assign(m, l), 1, B * l->size, a->dy, B * l->size, l->dy, B * l->size);
    memcpy(l->dw, l->dy, sizeof(float) * (size_t)l->size); /* the sum over the batch, in order */
    for (b = 1; b < B; b++) nn__add_range(l->dw, l->dy + b * l->size, 0, l->size);
}
#endif
NN__PRIVATE void nn__posemb_step(nn_model *m, nn_layer *l, int64_t t) {
    const int64_t D = l->shape[1];
    const float *x = nn__in(m, l, 0)->y + t * D;
    int64_t i;
    for (i = 0; i < D; i++) l->y[t * D + i] = x[i] + l->w[t * D + i];
}
NN__PRIVATE void nn__posemb_put_arch(char *t, size_t cap, const nn_layer *l) { nn__key_float(t, cap, "std", l->cfg.emb.std); }
NN__PRIVATE int nn__posemb_get_arch(nn_model *m, const char *line, const int64_t *ins, int *ok) {
    float std = 0.0f;
    *ok = nn__kv_float(line, "std", &std);
    return *ok ? nn_pos_embedding(m, (int)ins[0], std) : NN_ERR_FORMAT;
}
NN__PRIVATE int nn__posemb_tensors(const nn_model *m, const nn_layer *l, nn__tdesc *t) {
    (void)m;
    nn__tensor(&t[0], "weight", 2, l->shape, 0, 0);
    return 1;
}

/* >>layer-attention: multi-head self-attention over a (T, C) sequence, as nanoGPT's
   CausalSelfAttention / torch's scaled_dot_product_attention: qkv = x W_attn^T + b (one fused
   (3C, C) projection; q, k, v the three C-wide thirds, head h the h-th hs = C / heads columns of
   each), P = softmax(q k^T / sqrt(hs)) with a causal mask (step i sees steps <= i), dropout on P
   in training, y = (P v, heads side by side) W_proj^T + b. Kept from forward for backward, per
   sample: qkv (T x 3C), P (heads x T x T, the only T x T buffers) and P v (T x C); with
   nn_compile_config.recompute no P: backward recomputes each of its rows as forward made it
   (nn__attn_probs: the same operations, the same bits); inference keeps no P either. Per
   thread: a head's k^T (and v^T in backward) and rows of T floats. Legend: B batch, T steps,
   C width, H heads, hs = C / H. */
/* p[j] = e^(p[j] - mx) for j < n (all <= 0), their sum */
NN__PRIVATE float nn__exp_shift(float *NN__RESTRICT p, int64_t n, float mx) {
    float sum = 0.0f;
    int64_t j;
    NN__VLOOP(i, 0, n, p[i] = nn__exp_neg(p[i] - mx););
    for (j = 0; j < n; j++) sum += p[j];
    return sum;
}
/* s[j] = scale * (a . bt[., j]) for j < n, bt (hs x T) a transposed block: axpys along j (blocks
   of 16, NN__VLOOP, so that -O2 vectorizes them) */
NN__PRIVATE void nn__scores(float *NN__RESTRICT s, const float *NN__RESTRICT a, const float *NN__RESTRICT bt, int64_t hs,
                            int64_t T, int64_t n, float scale) {
    int64_t d;
    NN__VLOOP(j, 0, n, s[j] = 0.0f;);
    for (d = 0; d < hs; d++) {
        const float ad = a[d] * scale;
        const float *NN__RESTRICT r = bt + d * T;
        NN__VLOOP(j, 0, n, s[j] += ad * r[j];);
    }
}
/* y += a x over n floats */
NN__PRIVATE NN__INLINE void nn__axpy(float *NN__RESTRICT y, float a, const float *NN__RESTRICT x, int64_t n) {
    NN__VLOOP(i, 0, n, y[i] += a * x[i];);
}
/* row i of a head's probabilities: pr[j] = softmax over j < n of scale * (q_i . k_j), zero after */
NN__PRIVATE void nn__attn_probs(float *NN__RESTRICT pr, const float *NN__RESTRICT qi, const float *NN__RESTRICT kt, int64_t hs,
                                int64_t T, int64_t n, float scale) {
    float mx = -INFINITY, sum;
    int64_t j;
    nn__scores(pr, qi, kt, hs, T, n, scale);
    for (j = 0; j < n; j++) if (pr[j] > mx) mx = pr[j];
    sum = nn__exp_shift(pr, n, mx);
    for (j = 0; j < n; j++) pr[j] /= sum;
    for (j = n; j < T; j++) pr[j] = 0.0f;
}
NN__PRIVATE int64_t nn__attn_keep(const nn_layer *l) {
    const int64_t T = l->shape[0], C = l->shape[1];
    return T * 3 * C + (l->cfg.attn.keep_p ? l->cfg.attn.heads * T * T : 0) + T * C;
}
NN__PRIVATE nn_result nn__attention_infer(nn_model *m, nn_layer *l, int idx) {
    const nn_layer *a = nn__in(m, l, 0);
    char s1[96];
    int64_t C;
    if (a->ndim != 2) return nn__fail(NN_ERR_SHAPE, "layer %d (attention): input shape %s is not (T, C)", idx, nn__shape_str(s1, a));
    C = a->shape[1];
    if (l->cfg.attn.heads < 1 || C % l->cfg.attn.heads != 0)
        return nn__fail(NN_ERR_INVALID_ARG, "layer %d (attention): %d heads do not divide the width %l", idx, l->cfg.attn.heads, C);
    if (!(l->cfg.attn.dropout >= 0.0f && l->cfg.attn.dropout < 1.0f))
        return nn__fail(NN_ERR_INVALID_ARG, "layer %d (attention): dropout must be in [0, 1)", idx);
    if (nn__check_count(4.0 * C * C + (double)a->shape[0] * (4.0 * C + (double)l->cfg.attn.heads * a->shape[0]), idx,
                        "attention") != NN_OK) return NN_ERR_INVALID_ARG;
    nn__copy_shape(l, a);
    l->n_params = 4 * C * C + (l->cfg.attn.bias ? 4 * C : 0);
    l->n_keep = nn__attn_keep(l);
    return NN_OK;
}
/* the four tensors' offsets in w: c_attn.weight, c_attn.bias, c_proj.weight, c_proj.bias */
NN__PRIVATE void nn__attn_offs(const nn_layer *l, int64_t o[4]) {
    const int64_t C = l->shape[1], b = l->cfg.attn.bias;
    o[0] = 0; o[1] = 3 * C * C; o[2] = o[1] + b * 3 * C; o[3] = o[2] + C * C;
}
NN__PRIVATE void nn__attention_init(nn_model *m, nn_layer *l) {
    const int64_t C = l->shape[1];
    int64_t o[4];
    nn__attn_offs(l, o);
    /* each projection as a dense layer of its shape: weights, then its bias */
    if (l->cfg.attn.bias) {
        float *tmp = l->w + o[2]; /* c_attn's weight and bias are adjacent */
        nn__init_weights(m, l->w, 3 * C * C + 3 * C, 3 * C * C, C, 3 * C, l->cfg.attn.init);
        nn__init_weights(m, tmp, C * C + C, C * C, C, C, l->cfg.attn.init);
    } else {
        nn__init_weights(m, l->w, 3 * C * C, 3 * C * C, C, 3 * C, l->cfg.attn.init);
        nn__init_weights(m, l->w + o[2], C * C, C * C, C, C, l->cfg.attn.init);
    }
}
NN__PRIVATE int64_t nn__attention_scratch(nn_layer *l, const nn_model *m, int64_t B, int train) {
    const int64_t T = l->shape[0], C = l->shape[1], BT = B * T;
    const int th = nn_get_threads();
    int64_t g = nn__gemm_plan(0, 1, BT, 3 * C, C, C, th), k;
    (void)m;
    l->cfg.attn.threads = th; /* (the core's per-thread buffers: it runs on at most these) */
    l->cfg.attn.keep_p = train && !(train & NN__RECOMPUTE); /* (inference needs it for no backward) */
    l->n_keep = nn__attn_keep(l);
    if (!train) return g > th * (C / l->cfg.attn.heads + 1) * T ? g : th * (C / l->cfg.attn.heads + 1) * T;
    k = nn__gemm_plan(1, 0, 3 * C, C, BT, C, th); if (k > g) g = k;
    k = nn__gemm_plan(0, 0, BT, C, 3 * C, C, th); if (k > g) g = k;
    k = nn__gemm_plan(0, 0, BT, C, C, C, th); if (k > g) g = k;
    k = nn__gemm_plan(1, 0, C, C, BT, C, th); if (k > g) g = k;
    if (g < th * (C / l->cfg.attn.heads + 1) * T) g = th * (C / l->cfg.attn.heads + 1) * T; /* (forward's k^T, row) */
    /* dqkv, d(P v), per thread two rows of T and the head's k^T and v^T, the GEMMs' */
    return BT * 4 * C + (int64_t)th * (2 * T + 2 * (C / l->cfg.attn.heads) * T) + g;
}
NN__PRIVATE uint64_t nn__attn_key(const nn_model *m, const nn_layer *l) { return nn__dropout_key(m, l) ^ 0xA77Eull; }
NN__PRIVATE void nn__attention_fwd(nn_model *m, nn_layer *l, int64_t B) {
    const nn_backend *be = m->backend;
    const int64_t T = l->shape[0], C = l->shape[1], H = l->cfg.attn.heads, hs = C / H, BT = B * T;
    const float scale = 1.0f / sqrtf((float)hs), p = m->training ? l->cfg.attn.dropout : 0.0f;
    const uint64_t key = nn__attn_key(m, l);
    const int th = l->cfg.attn.threads > 0 ? l->cfg.attn.threads : 1;
    float *qkv = l->saved, *P = l->cfg.attn.keep_p ? qkv + BT * 3 * C : NULL, *yv = qkv + BT * 3 * C + (P ? B * H * T * T : 0);
    int64_t o[4], bh;
    nn__attn_offs(l, o);
    (void)th; /* (no OpenMP: one thread) */
    be->gemm(be->ctx, 0, 1, BT, 3 * C, C, 1.0f, nn__in(m, l, 0)->y, C, l->w, C, 0.0f, qkv, 3 * C,
             l->cfg.attn.bias ? l->w + o[1] : NULL, NULL, m->scratch, m->scratch_floats);
    NN__OMP_FOR_NT(B * H * T * T * hs >= NN_OMP_MIN_WORK, th)
    for (bh = 0; bh < B * H; bh++) {
        const int64_t b = bh / H, h = bh % H;
        const float *q = qkv + b * T * 3 * C + h * hs, *k = q + C, *v = q + 2 * C;
        float *y = yv + b * T * C + h * hs;
#if NN__OMP
        float *kt = m->scratch + (int64_t)omp_get_thread_num() * (hs + 1) * T;
#else
        float *kt = m->scratch;
#endif
        int64_t i, j, d;
        for (j = 0; j < T; j++) /* k^T: the scores of a row are then axpys along contiguous memory */
            for (d = 0; d < hs; d++) kt[d * T + j] = k[j * 3 * C + d];
        for (i = 0; i < T; i++) {
            const int64_t n = l->cfg.attn.causal ? i + 1 : T;
            float *pr = P ? P + (bh * T + i) * T : kt + hs * T;
            nn__attn_probs(pr, q + i * 3 * C, kt, hs, T, n, scale);
            for (d = 0; d < hs; d++) y[i * C + d] = 0.0f;
            for (j = 0; j < n; j++) {
                const float w = p > 0.0f ? (nn_dropout_keep(key, (bh * T + i) * T + j, p) ? pr[j] / (1.0f - p) : 0.0f) : pr[j];
                nn__axpy(y + i * C, w, v + j * 3 * C, hs);
            }
        }
    }
    be->gemm(be->ctx, 0, 1, BT, C, C, 1.0f, yv, C, l->w + o[2], C, 0.0f, l->y, C,
             l->cfg.attn.bias ? l->w + o[3] : NULL, NULL, m->scratch, m->scratch_floats);
}
#ifndef NN_NO_TRAINING
NN__PRIVATE void nn__attention_bwd(nn_model *m, nn_layer *l, int64_t B) {
    const nn_backend *be = m->backend;
    nn_layer *a = nn__in(m, l, 0);
    const int64_t T = l->shape[0], C = l->shape[1], H = l->cfg.attn.heads, hs = C / H, BT = B * T;
    const float scale = 1.0f / sqrtf((float)hs), p = l->cfg.attn.dropout;
    const uint64_t key = nn__attn_key(m, l);
    const float *qkv = l->saved, *P = l->cfg.attn.keep_p ? qkv + BT * 3 * C : NULL;
    const float *yv = qkv + BT * 3 * C + (P ? B * H * T * T : 0);
    float *dqkv = m->scratch, *dyv = dqkv + BT * 3 * C, *dP0 = dyv + BT * C;
    const int th = l->cfg.attn.threads > 0 ? l->cfg.attn.threads : 1;
    float *ws = dP0 + (int64_t)th * (2 * T + 2 * hs * T);
    const int64_t wsf = m->scratch_floats - (ws - m->scratch);
    int64_t o[4], bh;
    nn__attn_offs(l, o);
    /* the output projection */
    be->gemm(be->ctx, 1, 0, C, C, BT, 1.0f, l->dy, C, yv, C, 0.0f, l->dw + o[2], C, NULL, NULL, ws, wsf);
    if (l->cfg.attn.bias) be->sum_rows(be->ctx, l->dw + o[3], l->dy, BT, C);
    be->gemm(be->ctx, 0, 0, BT, C, C, 1.0f, l->dy, C, l->w + o[2], C, 0.0f, dyv, C, NULL, NULL, ws, wsf);
    /* per (sample, head): dv = P'^T dy, dP' = dy v^T, through dropout and softmax, then dq, dk */
    NN__OMP_FOR_NT(B * H * T * T * hs >= NN_OMP_MIN_WORK, th)
    for (bh = 0; bh < B * H; bh++) {
        const int64_t b = bh / H, h = bh % H;
#if NN__OMP
        float *dp = dP0 + (int64_t)omp_get_thread_num() * (2 * T + 2 * hs * T);
#else
        float *dp = dP0;
#endif
        float *row = dp + T, *vt = row + T, *kt = vt + hs * T;
        const float *q = qkv + b * T * 3 * C + h * hs, *k = q + C, *v = q + 2 * C;
        const float *dy = dyv + b * T * C + h * hs;
        float *dq = dqkv + b * T * 3 * C + h * hs, *dk = dq + C, *dv = dq + 2 * C;
        int64_t i, j, d;
        for (i = 0; i < T; i++)
            for (d = 0; d < hs; d++) dq[i * 3 * C + d] = dk[i * 3 * C + d] = dv[i * 3 * C + d] = 0.0f;
        for (j = 0; j < T; j++)
            for (d = 0; d < hs; d++) { vt[d * T + j] = v[j * 3 * C + d]; if (!P) kt[d * T + j] = k[j * 3 * C + d]; }
        for (i = 0; i < T; i++) {
            const int64_t n = l->cfg.attn.causal ? i + 1 : T;
            const float *pr = P ? P + (bh * T + i) * T : row;
            float s = 0.0f;
            if (!P) nn__attn_probs(row, q + i * 3 * C, kt, hs, T, n, scale); /* (row i of P, as forward) */
            nn__scores(dp, dy + i * C, vt, hs, T, n, 1.0f); /* dP'_ij = dy_i . v_j */
            for (j = 0; j < n; j++) {
                const float keep = p > 0.0f ? (nn_dropout_keep(key, (bh * T + i) * T + j, p) ? 1.0f / (1.0f - p) : 0.0f) : 1.0f;
                nn__axpy(dv + j * 3 * C, pr[j] * keep, dy + i * C, hs);
                dp[j] *= keep;
                s += dp[j] * pr[j];
            }
            for (j = 0; j < n; j++) {
                const float ds = pr[j] * (dp[j] - s) * scale;
                nn__axpy(dq + i * 3 * C, ds, k + j * 3 * C, hs);
                nn__axpy(dk + j * 3 * C, ds, q + i * 3 * C, hs);
            }
        }
    }
    /* the qkv projection */
    be->gemm(be->ctx, 1, 0, 3 * C, C, BT, 1.0f, dqkv, 3 * C, a->y, C, 0.0f, l->dw, C, NULL, NULL, ws, wsf);
    if (l->cfg.attn.bias) be->sum_rows(be->ctx, l->dw + o[1], dqkv, BT, 3 * C);
    if (a->dy)
        be->gemm(be->ctx, 0, 0, BT, C, 3 * C, 1.0f, dqkv, 3 * C, l->w, C, nn__in_assign(m, l) ? 0.0f : 1.0f, a->dy, C,
                 NULL, NULL, ws, wsf);
}
#endif
/* step t of sample 0 with the keys and values of steps < t in place (the forward pass or earlier
   steps left them in qkv): this step's q, k, v, its attention over steps <= t, its projection.
   Laid out as a batch of one. Causal attention only (nn_generate checks). */
NN__PRIVATE void nn__attention_step(nn_model *m, nn_layer *l, int64_t t) {
    const nn_backend *be = m->backend;
    const int64_t T = l->shape[0], C = l->shape[1], H = l->cfg.attn.heads, hs = C / H;
    const float scale = 1.0f / sqrtf((float)hs);
    float *qkv = l->saved, *yv = qkv + T * 3 * C, *pr = m->scratch; /* (a row, after the GEMM) */
    int64_t o[4], h, j;
    nn__attn_offs(l, o);
    be->gemm(be->ctx, 0, 1, 1, 3 * C, C, 1.0f, nn__in(m, l, 0)->y + t * C, C, l->w, C, 0.0f, qkv + t * 3 * C, 3 * C,
             l->cfg.attn.bias ? l->w + o[1] : NULL, NULL, m->scratch, m->scratch_floats);
    for (h = 0; h < H; h++) {
        const float *q = qkv + t * 3 * C + h * hs;
        float *y = yv + t * C + h * hs, mx = -INFINITY, sum = 0.0f;
        int64_t d;
        for (j = 0; j <= t; j++) {
            const float *k = qkv + j * 3 * C + C + h * hs;
            float s = 0.0f;
            for (d = 0; d < hs; d++) s += q[d] * scale * k[d];
            pr[j] = s;
            if (s > mx) mx = s;
        }
        for (j = 0; j <= t; j++) { pr[j] = expf(pr[j] - mx); sum += pr[j]; }
        for (d = 0; d < hs; d++) y[d] = 0.0f;
        for (j = 0; j <= t; j++) nn__axpy(y, pr[j] / sum, qkv + j * 3 * C + 2 * C + h * hs, hs);
    }
    be->gemm(be->ctx, 0, 1, 1, C, C, 1.0f, yv + t * C, C, l->w + o[2], C, 0.0f, l->y + t * C, C,
             l->cfg.attn.bias ? l->w + o[3] : NULL, NULL, m->scratch, m->scratch_floats);
}
NN__PRIVATE void nn__attention_put_arch(char *t, size_t cap, const nn_layer *l) {
    nn__key_int(t, cap, "heads", l->cfg.attn.heads);
    nn__key_int(t, cap, "causal", l->cfg.attn.causal);
    nn__key_int(t, cap, "bias", l->cfg.attn.bias);
    nn__key_float(t, cap, "dropout", l->cfg.attn.dropout);
    nn__key_word(t, cap, "init", nn__init_names[l->cfg.attn.init]);
}
NN__PRIVATE int nn__attention_get_arch(nn_model *m, const char *line, const int64_t *ins, int *ok) {
    int64_t h, c, b;
    float p = 0.0f;
    const int init = nn__kv_word(line, "init", nn__init_names, 6);
    *ok = nn__kv_int(line, "heads", &h) && nn__kv_int(line, "causal", &c) && nn__kv_int(line, "bias", &b) &&
          nn__kv_float(line, "dropout", &p) && init >= 0 && h > 0 && h < 65536;
    return *ok ? nn_attention_ex(m, (int)ins[0], (int)h, c != 0, b != 0, p, (nn_init)init) : NN_ERR_FORMAT;
}
NN__PRIVATE int nn__attention_tensors(const nn_model *m, const nn_layer *l, nn__tdesc *t) {
    const int64_t C = l->shape[1];
    int64_t s[2], o[4];
    int n = 0;
    (void)m;
    nn__attn_offs(l, o);
    s[0] = 3 * C; s[1] = C;
    nn__tensor(&t[n++], "c_attn.weight", 2, s, o[0], 0);
    if (l->cfg.attn.bias) nn__tensor(&t[n++], "c_attn.bias", 1, s, o[1], 0);
    s[0] = C;
    nn__tensor(&t[n++], "c_proj.weight", 2, s, o[2], 0);
    if (l->cfg.attn.bias) nn__tensor(&t[n++], "c_proj.bias", 1, s, o[3], 0);
    return n;
}

/* >>layer-tied: logits from an embedding's own table, y = x E^T (weight tying: GPT's lm_head is
   its wte). The embedding keeps the parameters; this layer's backward assigns their gradient
   (dE = dy^T x) and the embedding's then adds its own (it runs later, in reverse order). --- */
NN__PRIVATE nn_result nn__tied_infer(nn_model *m, nn_layer *l, int idx) {
    const nn_layer *a = nn__in(m, l, 0);
    nn_layer *e;
    char s1[96];
    if (l->cfg.tied.src < 1 || l->cfg.tied.src >= idx || m->layers[l->cfg.tied.src].type != NN_LAYER_EMBEDDING)
        return nn__fail(NN_ERR_INVALID_ARG, "layer %d (tied_dense): layer %d is not an earlier embedding", idx, l->cfg.tied.src);
    e = &m->layers[l->cfg.tied.src];
    if (a->ndim > 2 || nn__width_of(a) != e->cfg.emb.dim)
        return nn__fail(NN_ERR_SHAPE, "layer %d (tied_dense): input shape %s is not (..., %l), the embedding's width", idx,
                        nn__shape_str(s1, a), e->cfg.emb.dim);
    if (e->cfg.emb.tied) return nn__fail(NN_ERR_UNSUPPORTED, "layer %d (tied_dense): embedding %d is tied already", idx, l->cfg.tied.src);
    e->cfg.emb.tied = idx;
    if (a->ndim == 2) { l->ndim = 2; l->shape[0] = a->shape[0]; l->shape[1] = e->cfg.emb.vocab; l->size = a->shape[0] * e->cfg.emb.vocab; }
    else nn__set_flat(l, e->cfg.emb.vocab);
    return NN_OK;
}
NN__PRIVATE int64_t nn__tied_scratch(nn_layer *l, const nn_model *m, int64_t B, int train) {
    const nn_layer *a = &m->layers[l->inputs[0]];
    const int64_t in = nn__width_of(a), out = m->layers[l->cfg.tied.src].cfg.emb.vocab, R = B * nn__rows_of(a);
    const int T = nn_get_threads();
    int64_t need = nn__gemm_plan(0, 1, R, out, in, in, T);
    if (train) {
        const int64_t dx = nn__gemm_plan(0, 0, R, in, out, in, T), dw = nn__gemm_plan(1, 0, out, in, R, in, T);
        if (dx > need) need = dx;
        if (dw > need) need = dw;
    }
    return need;
}
NN__PRIVATE void nn__tied_fwd(nn_model *m, nn_layer *l, int64_t B) {
    const nn_layer *a = nn__in(m, l, 0), *e = &m->layers[l->cfg.tied.src];
    const int64_t in = e->cfg.emb.dim, out = e->cfg.emb.vocab;
    m->backend->gemm(m->backend->ctx, 0, 1, B * nn__rows_of(a), out, in, 1.0f, a->y, in, e->w, in, 0.0f, l->y, out, NULL,
                     NULL, m->scratch, m->scratch_floats);
}
#ifndef NN_NO_TRAINING
NN__PRIVATE void nn__tied_bwd(nn_model *m, nn_layer *l, int64_t B) {
    const nn_layer *a = nn__in(m, l, 0), *e = &m->layers[l->cfg.tied.src];
    const int64_t in = e->cfg.emb.dim, out = e->cfg.emb.vocab, R = B * nn__rows_of(a);
    void *ctx = m->backend->ctx;
    if (a->dy)
        m->backend->gemm(ctx, 0, 0, R, in, out, 1.0f, l->dy, out, e->w, in, nn__in_assign(m, l) ? 0.0f : 1.0f, a->dy, in,
                         NULL, NULL, m->scratch, m->scratch_floats);
    if (e->dw)
        m->backend->gemm(ctx, 1, 0, out, in, R, 1.0f, l->dy, out, a->y, in, 0.0f, e->dw, in, NULL, NULL, m->scratch,
                         m->scratch_floats);
}
#endif
NN__PRIVATE void nn__tied_step(nn_model *m, nn_layer *l, int64_t t) {
    const nn_layer *a = nn__in(m, l, 0), *e = &m->layers[l->cfg.tied.src];
    const int64_t in = e->cfg.emb.dim, out = e->cfg.emb.vocab;
    m->backend->gemm(m->backend->ctx, 0, 1, 1, out, in, 1.0f, a->y + t * in, in, e->w, in, 0.0f, l->y + t * out, out, NULL,
                     NULL, m->scratch, m->scratch_floats);
}
/* (mixed models only) the embedding's int8 rows are this layer's output channels */
NN__PRIVATE void nn__tied_qforward(nn_qmodel *q, int i, int64_t B) {
    const nn_layer *l = &q->g.layers[i], *a = &q->g.layers[l->inputs[0]];
    const nn_qlayer *e = &q->q[l->cfg.tied.src];
    nn__qdense_dyn(e->w, e->wscale, e->bias, NULL, e->n_ch, a->y, nn__width_of(a), B * nn__rows_of(a), q->scratch, l->y);
}
NN__PRIVATE void nn__tied_put_arch(char *t, size_t cap, const nn_layer *l) { nn__key_int(t, cap, "src", l->cfg.tied.src); }
NN__PRIVATE int nn__tied_get_arch(nn_model *m, const char *line, const int64_t *ins, int *ok) {
    int64_t src;
    *ok = nn__kv_int(line, "src", &src) && src >= 0 && src < NN_MAX_LAYERS;
    return *ok ? nn_dense_tied(m, (int)ins[0], (int)src) : NN_ERR_FORMAT;
}

/* >>layer-mul: a * b elementwise, same shapes (gates, GLU-style products) ------------------------ */
NN__PRIVATE nn_result nn__mul_infer(nn_model *m, nn_layer *l, int idx) {
    const nn_layer *a = nn__in(m, l, 0), *b = nn__in(m, l, 1);
    char s1[96], s2[96];
    if (a->ndim != b->ndim || memcmp(a->shape, b->shape, sizeof(int64_t) * (size_t)a->ndim) != 0)
        return nn__fail(NN_ERR_SHAPE, "layer %d (mul): input shapes %s (layer %d) and %s (layer %d) differ",
                        idx, nn__shape_str(s1, a), l->inputs[0], nn__shape_str(s2, b), l->inputs[1]);
    nn__copy_shape(l, a);
    return NN_OK;
}
NN__PRIVATE NN__NOINLINE void nn__mul_range(float *NN__RESTRICT y, const float *NN__RESTRICT a, const float *NN__RESTRICT b,
                                            int64_t n) {
    NN__VLOOP(i, 0, n, y[i] = a[i] * b[i];);
}
NN__PRIVATE void nn__mul_fwd(nn_model *m, nn_layer *l, int64_t B) {
    nn__mul_range(l->y, nn__in(m, l, 0)->y, nn__in(m, l, 1)->y, B * l->size);
}
NN__PRIVATE void nn__mul_step(nn_model *m, nn_layer *l, int64_t t) {
    const int64_t D = nn__width_of(l);
    nn__mul_range(l->y + t * D, nn__in(m, l, 0)->y + t * D, nn__in(m, l, 1)->y + t * D, D);
}
#ifndef NN_NO_TRAINING
/* dx += dy * (the other input) */
NN__PRIVATE NN__NOINLINE void nn__mul_back_range(float *NN__RESTRICT dx, const float *NN__RESTRICT dy,
                                                 const float *NN__RESTRICT o, int64_t n) {
    NN__VLOOP(i, 0, n, dx[i] += dy[i] * o[i];);
}
NN__PRIVATE void nn__mul_bwd(nn_model *m, nn_layer *l, int64_t B) {
    nn_layer *a = nn__in(m, l, 0), *b = nn__in(m, l, 1);
    if (a->dy) nn__mul_back_range(a->dy, l->dy, b->y, B * l->size);
    if (b->dy) nn__mul_back_range(b->dy, l->dy, a->y, B * l->size);
}
#endif
NN__PRIVATE int nn__mul_get_arch(nn_model *m, const char *line, const int64_t *ins, int *ok) {
    (void)line; (void)ok;
    return nn_mul(m, (int)ins[0], (int)ins[1]);
}

/* >>layer-rnn: what the LSTM and the GRU share. cfg.rnn.gates rows of H per gate (LSTM 4: i, f, g,
   o; GRU 3: r, z, n), G = gates x H; parameters weight_ih (G, D), weight_hh (G, H), bias_ih (G),
   bias_hh (G), torch's "_l0" tensors, all initialized U(+-1/sqrt(H)) as torch does; one layer,
   batch_first, zero initial state; every step's h (T, H) or the last (H). Kept per sample and
   step, S = G + 2H floats: the gates after their nonlinearities, two H-vectors of the cell's (LSTM
   c; GRU h W_hn^T + b_hn), then h. Forward runs the input projections of all steps as one GEMM
   into the gates' slots, then the cell step by step; backward through time gives per step the
   gates' gradients with respect to their input projection (dgx) and their recurrent one (dgh: the
   same rows for the LSTM), which the step before receives through W_hh; the weight gradients are
   GEMMs over all steps afterwards. Legend: B batch, T steps, D input width, H hidden. */
NN__PRIVATE nn_result nn__rnn_infer(nn_model *m, nn_layer *l, int idx) {
    const nn_layer *a = nn__in(m, l, 0);
    const int64_t H = l->cfg.rnn.hidden, n = l->cfg.rnn.gates;
    const char *name = nn__layer_name(l->type);
    char s1[96];
    if (a->ndim != 2) return nn__fail(NN_ERR_SHAPE, "layer %d (%s): input shape %s is not (T, D)", idx, name, nn__shape_str(s1, a));
    if (H < 1) return nn__fail(NN_ERR_INVALID_ARG, "layer %d (%s): hidden must be >= 1", idx, name);
    if (nn__check_count((double)n * H * ((double)a->shape[1] + H) + (n + 2.0) * H * a->shape[0], idx, name) != NN_OK)
        return NN_ERR_INVALID_ARG;
    if (l->cfg.rnn.sequences) { l->ndim = 2; l->shape[0] = a->shape[0]; l->shape[1] = H; l->size = a->shape[0] * H; }
    else nn__set_flat(l, H);
    l->n_params = n * H * (a->shape[1] + H) + 2 * n * H;
    l->n_keep = a->shape[0] * (n + 2) * H;
    return NN_OK;
}
/* offsets in w: weight_ih (G, D), weight_hh (G, H), bias_ih (G), bias_hh (G) */
NN__PRIVATE void nn__rnn_offs(const nn_model *m, const nn_layer *l, int64_t o[4]) {
    const int64_t H = l->cfg.rnn.hidden, G = l->cfg.rnn.gates * H, D = m->layers[l->inputs[0]].shape[1];
    o[0] = 0; o[1] = G * D; o[2] = o[1] + G * H; o[3] = o[2] + G;
}
NN__PRIVATE void nn__rnn_init(nn_model *m, nn_layer *l) {
    const double b = 1.0 / sqrt((double)l->cfg.rnn.hidden);
    int64_t i;
    for (i = 0; i < l->n_params; i++) l->w[i] = (float)((2.0 * nn__rng_uniform(&m->rng) - 1.0) * b);
}
NN__PRIVATE int64_t nn__rnn_scratch(nn_layer *l, const nn_model *m, int64_t B, int train) {
    const nn_layer *a = &m->layers[l->inputs[0]];
    const int64_t T = a->shape[0], D = a->shape[1], H = l->cfg.rnn.hidden, G = l->cfg.rnn.gates * H;
    const int th = nn_get_threads();
    int64_t g = nn__gemm_plan(0, 1, B * T, G, D, D, th), k;
    k = nn__gemm_plan(0, 1, B, G, H, H, th); if (k > g) g = k;
    if (!train) return B * G + g; /* (the GRU's recurrent projection of a step) */
    k = nn__gemm_plan(0, 0, B, H, G, H, th); if (k > g) g = k;
    k = nn__gemm_plan(0, 0, B * T, D, G, D, th); if (k > g) g = k;
    k = nn__gemm_plan(1, 0, G, D, B * T, D, th); if (k > g) g = k;
    k = nn__gemm_plan(1, 0, G, H, T, H, th); if (k > g) g = k;
    return 2 * B * T * G + 3 * B * H + B * G + g; /* dgx, dgh, the step's dh and its shares, hp, the GEMMs' */
}
/* the kept state of sample b at step t (S floats, h last) */
NN__PRIVATE float *nn__rnn_at(const nn_layer *l, int64_t b, int64_t t, int64_t T) {
    return l->saved + (b * T + t) * (l->cfg.rnn.gates + 2) * l->cfg.rnn.hidden;
}
/* x W_ih^T + b_ih of every step, into the gates' slots (row stride S) */
NN__PRIVATE void nn__rnn_input_proj(nn_model *m, nn_layer *l, int64_t B, float *ws, int64_t wsf) {
    const nn_layer *a = nn__in(m, l, 0);
    const int64_t D = a->shape[1], H = l->cfg.rnn.hidden, G = l->cfg.rnn.gates * H;
    int64_t o[4];
    nn__rnn_offs(m, l, o);
    m->backend->gemm(m->backend->ctx, 0, 1, B * a->shape[0], G, D, 1.0f, a->y, D, l->w, D, 0.0f, l->saved, G + 2 * H,
                     l->w + o[2], NULL, ws, wsf);
}
/* the output: every step's h, or the last */
NN__PRIVATE void nn__rnn_output(nn_model *m, nn_layer *l, int64_t B) {
    const int64_t T = m->layers[l->inputs[0]].shape[0], H = l->cfg.rnn.hidden, G = l->cfg.rnn.gates * H;
    int64_t b, t;
    for (b = 0; b < B; b++)
        for (t = l->cfg.rnn.sequences ? 0 : T - 1; t < T; t++)
            memcpy(l->y + (l->cfg.rnn.sequences ? (b * T + t) * H : b * H), nn__rnn_at(l, b, t, T) + G + H,
                   sizeof(float) * (size_t)H);
}
#ifndef NN_NO_TRAINING
/* the gradient that reaches step t's h from the layer's output (NULL: none) */
NN__PRIVATE const float *nn__rnn_dy(const nn_layer *l, int64_t b, int64_t t, int64_t T) {
    const int64_t H = l->cfg.rnn.hidden;
    return l->cfg.rnn.sequences ? l->dy + (b * T + t) * H : t == T - 1 ? l->dy + b * H : NULL;
}
/* after the steps: dW_ih = dgx^T x, dW_hh = the sum over samples of dgh[1..T)^T h[0..T-1), the
   biases' sums, dx (+)= dgx W_ih */
NN__PRIVATE void nn__rnn_weight_grads(nn_model *m, nn_layer *l, int64_t B, const float *dgx, const float *dgh, float *ws,
                                      int64_t wsf) {
    const nn_backend *be = m->backend;
    nn_layer *a = nn__in(m, l, 0);
    const int64_t T = a->shape[0], D = a->shape[1], H = l->cfg.rnn.hidden, G = l->cfg.rnn.gates * H;
    int64_t o[4], b, j;
    nn__rnn_offs(m, l, o);
    be->gemm(be->ctx, 1, 0, G, D, B * T, 1.0f, dgx, G, a->y, D, 0.0f, l->dw, D, NULL, NULL, ws, wsf);
    for (j = 0; j < G * H; j++) l->dw[o[1] + j] = 0.0f;
    for (b = 0; b < B && T > 1; b++)
        be->gemm(be->ctx, 1, 0, G, H, T - 1, 1.0f, dgh + (b * T + 1) * G, G, nn__rnn_at(l, b, 0, T) + G + H, G + 2 * H, 1.0f,
                 l->dw + o[1], H, NULL, NULL, ws, wsf);
    be->sum_rows(be->ctx, l->dw + o[2], dgx, B * T, G);
    be->sum_rows(be->ctx, l->dw + o[3], dgh, B * T, G);
    if (a->dy)
        be->gemm(be->ctx, 0, 0, B * T, D, G, 1.0f, dgx, G, l->w, D, nn__in_assign(m, l) ? 0.0f : 1.0f, a->dy, D, NULL, NULL,
                 ws, wsf);
}
#endif
/* step t of sample 0 (a batch of one): its input projection into g (nn_generate) */
NN__PRIVATE void nn__rnn_step_proj(nn_model *m, nn_layer *l, int64_t t, float *g, float *ws, int64_t wsf) {
    const nn_layer *a = nn__in(m, l, 0);
    const int64_t D = a->shape[1], G = l->cfg.rnn.gates * l->cfg.rnn.hidden;
    int64_t o[4];
    nn__rnn_offs(m, l, o);
    m->backend->gemm(m->backend->ctx, 0, 1, 1, G, D, 1.0f, a->y + t * D, D, l->w, D, 0.0f, g, G, l->w + o[2], NULL, ws, wsf);
}
NN__PRIVATE void nn__rnn_put_arch(char *t, size_t cap, const nn_layer *l) {
    nn__key_int(t, cap, "hidden", l->cfg.rnn.hidden);
    nn__key_int(t, cap, "sequences", l->cfg.rnn.sequences);
}
NN__PRIVATE int nn__rnn_tensors(const nn_model *m, const nn_layer *l, nn__tdesc *t) {
    const int64_t G = l->cfg.rnn.gates * l->cfg.rnn.hidden;
    int64_t s[2], o[4];
    nn__rnn_offs(m, l, o);
    s[0] = G; s[1] = m->layers[l->inputs[0]].shape[1];
    nn__tensor(&t[0], "weight_ih_l0", 2, s, o[0], 0);
    s[1] = l->cfg.rnn.hidden;
    nn__tensor(&t[1], "weight_hh_l0", 2, s, o[1], 0);
    nn__tensor(&t[2], "bias_ih_l0", 1, s, o[2], 0);
    nn__tensor(&t[3], "bias_hh_l0", 1, s, o[3], 0);
    return 4;
}

/* >>layer-lstm: the LSTM's cell, as torch.nn.LSTM: gates = x W_ih^T + b_ih + h W_hh^T + b_hh in the
   order i, f, g, o; c = f c + i g; h = o tanh(c) (kept: the gates, c, h) ---------------------- */
/* one step of the cell: g (4H: the gates' sums, less b_hh) -> the gates, then c and h after them;
   cp: the step before's c (NULL: zeros) */
NN__PRIVATE NN__NOINLINE void nn__lstm_cell(float *NN__RESTRICT g, const float *NN__RESTRICT cp, const float *NN__RESTRICT bh,
                                            int64_t H) {
    float *NN__RESTRICT c = g + 4 * H, *NN__RESTRICT h = c + H;
    int64_t j0 = 0, j1 = 2 * H, j2 = 3 * H, j3 = 0;
#ifdef NN__ACT8 /* (GCC -O2 keeps the gates' loops scalar on AVX2) */
    j0 = nn__gate8(0, g, g, bh, 0, 2 * H); j1 = nn__gate8(1, g, g, bh, 2 * H, 3 * H);
    j2 = nn__gate8(0, g, g, bh, 3 * H, 4 * H);
#endif
    /* small loop bodies, so that GCC unrolls and vectorizes each (one loop for all of it stays scalar) */
    NN__VLOOP(j, j0, 2 * H, g[j] = nn__sigmoid(g[j] + bh[j]););
    NN__VLOOP(j, j1, 3 * H, g[j] = nn__tanh(g[j] + bh[j]););
    NN__VLOOP(j, j2, 4 * H, g[j] = nn__sigmoid(g[j] + bh[j]););
    if (cp) NN__VLOOP(j, 0, H, c[j] = g[H + j] * cp[j] + g[j] * g[2 * H + j];);
    else NN__VLOOP(j, 0, H, c[j] = g[j] * g[2 * H + j];);
#ifdef NN__ACT8 /* (tanh(c) into h, then times the output gate) */
    j3 = nn__gate8(1, h, c, NULL, 0, H);
#endif
    NN__VLOOP(j, j3, H, h[j] = nn__tanh(c[j]););
    NN__VLOOP(j, 0, H, h[j] = g[3 * H + j] * h[j];);
}
/* the kept state of sample b at step t: gates (4H), then c (H), h (H) */
NN__PRIVATE void nn__lstm_fwd(nn_model *m, nn_layer *l, int64_t B) {
    const nn_backend *be = m->backend;
    const int64_t T = nn__in(m, l, 0)->shape[0], H = l->cfg.rnn.hidden, G = 4 * H, S = 6 * H;
    int64_t o[4], t, b;
    nn__rnn_offs(m, l, o);
    nn__rnn_input_proj(m, l, B, m->scratch, m->scratch_floats);
    for (t = 0; t < T; t++) {
        if (t > 0) /* + h_{t-1} W_hh^T, each sample's row stride T * S */
            be->gemm(be->ctx, 0, 1, B, G, H, 1.0f, nn__rnn_at(l, 0, t - 1, T) + 5 * H, T * S, l->w + o[1], H, 1.0f,
                     nn__rnn_at(l, 0, t, T), T * S, NULL, NULL, m->scratch, m->scratch_floats);
        for (b = 0; b < B; b++)
            nn__lstm_cell(nn__rnn_at(l, b, t, T), t > 0 ? nn__rnn_at(l, b, t - 1, T) + G : NULL, l->w + o[3], H);
    }
    nn__rnn_output(m, l, B);
}
#ifndef NN_NO_TRAINING
NN__PRIVATE void nn__lstm_bwd(nn_model *m, nn_layer *l, int64_t B) {
    const int64_t T = nn__in(m, l, 0)->shape[0], H = l->cfg.rnn.hidden, G = 4 * H;
    float *dg = m->scratch, *dh = dg + B * T * G, *dc = dh + B * H, *ws = dc + 2 * B * H;
    const int64_t wsf = m->scratch_floats - (ws - m->scratch);
    int64_t o[4], t, b, j;
    nn__rnn_offs(m, l, o);
    memset(dh, 0, sizeof(float) * (size_t)(2 * B * H)); /* dh and dc from the step after */
    for (t = T - 1; t >= 0; t--) {
        for (b = 0; b < B; b++) {
            const float *g = nn__rnn_at(l, b, t, T), *c = g + G, *dy = nn__rnn_dy(l, b, t, T);
            const float *cp = t > 0 ? nn__rnn_at(l, b, t - 1, T) + G : NULL;
            float *d = dg + (b * T + t) * G, *dhb = dh + b * H, *dcb = dc + b * H;
            for (j = 0; j < H; j++) {
                const float i = g[j], f = g[H + j], gg = g[2 * H + j], oo = g[3 * H + j], tc = nn__tanh(c[j]);
                const float hgrad = dhb[j] + (dy ? dy[j] : 0.0f), cgrad = dcb[j] + hgrad * oo * (1.0f - tc * tc);
                d[j] = cgrad * gg * i * (1.0f - i);
                d[H + j] = cp ? cgrad * cp[j] * f * (1.0f - f) : 0.0f;
                d[2 * H + j] = cgrad * i * (1.0f - gg * gg);
                d[3 * H + j] = hgrad * tc * oo * (1.0f - oo);
                dcb[j] = cgrad * f;
            }
        }
        if (t > 0) /* dh_{t-1} = dgates_t W_hh */
            m->backend->gemm(m->backend->ctx, 0, 0, B, H, G, 1.0f, dg + t * G, T * G, l->w + o[1], H, 0.0f, dh, H, NULL, NULL,
                             ws, wsf);
    }
    nn__rnn_weight_grads(m, l, B, dg, dg, ws, wsf); /* (b_ih's and b_hh's gradients are the same) */
}
#endif
NN__PRIVATE void nn__lstm_step(nn_model *m, nn_layer *l, int64_t t) {
    const int64_t T = nn__in(m, l, 0)->shape[0], H = l->cfg.rnn.hidden, G = 4 * H;
    float *g = nn__rnn_at(l, 0, t, T);
    int64_t o[4];
    nn__rnn_offs(m, l, o);
    nn__rnn_step_proj(m, l, t, g, m->scratch, m->scratch_floats);
    if (t > 0) m->backend->gemm(m->backend->ctx, 0, 1, 1, G, H, 1.0f, nn__rnn_at(l, 0, t - 1, T) + 5 * H, H, l->w + o[1], H,
                                1.0f, g, G, NULL, NULL, m->scratch, m->scratch_floats);
    nn__lstm_cell(g, t > 0 ? nn__rnn_at(l, 0, t - 1, T) + G : NULL, l->w + o[3], H);
    if (l->cfg.rnn.sequences) memcpy(l->y + t * H, g + 5 * H, sizeof(float) * (size_t)H);
}
NN__PRIVATE int nn__lstm_get_arch(nn_model *m, const char *line, const int64_t *ins, int *ok) {
    int64_t h, s;
    *ok = nn__kv_int(line, "hidden", &h) && nn__kv_int(line, "sequences", &s);
    return *ok ? nn_lstm(m, (int)ins[0], h, s != 0) : NN_ERR_FORMAT;
}

/* >>layer-gru: the GRU's cell, as torch.nn.GRU: r = s(x W_ir^T + b_ir + h W_hr^T + b_hr), z likewise,
   n = tanh(x W_in^T + b_in + r (h W_hn^T + b_hn)), h = (1 - z) n + z h (kept: r, z, n,
   h W_hn^T + b_hn, h; the gradients of n's input and recurrent parts differ) --------------------- */
/* one step of the cell: g (3H: x W_ih^T + b_ih) -> r, z, n, then h W_hn^T + b_hn and h after them;
   hq: h W_hh^T + b_hh of the step before's h (hprev, NULL: zeros) */
NN__PRIVATE NN__NOINLINE void nn__gru_cell(float *NN__RESTRICT g, const float *NN__RESTRICT hprev,
                                           const float *NN__RESTRICT hq, int64_t H) {
    float *NN__RESTRICT hn = g + 3 * H, *NN__RESTRICT h = hn + H;
    int64_t j0 = 0, j1 = 0;
#ifdef NN__ACT8 /* (as nn__lstm_cell) */
    j0 = nn__gate8(0, g, g, hq, 0, 2 * H);
#endif
    NN__VLOOP(j, j0, 2 * H, g[j] = nn__sigmoid(g[j] + hq[j]););
    NN__VLOOP(j, 0, H, hn[j] = hq[2 * H + j]; g[2 * H + j] = g[2 * H + j] + g[j] * hn[j];);
#ifdef NN__ACT8
    j1 = nn__gate8(1, g + 2 * H, g + 2 * H, NULL, 0, H);
#endif
    NN__VLOOP(j, j1, H, g[2 * H + j] = nn__tanh(g[2 * H + j]););
    if (hprev) NN__VLOOP(j, 0, H, h[j] = (1.0f - g[H + j]) * g[2 * H + j] + g[H + j] * hprev[j];);
    else NN__VLOOP(j, 0, H, h[j] = (1.0f - g[H + j]) * g[2 * H + j];);
}
NN__PRIVATE void nn__gru_fwd(nn_model *m, nn_layer *l, int64_t B) {
    const nn_backend *be = m->backend;
    const int64_t T = nn__in(m, l, 0)->shape[0], H = l->cfg.rnn.hidden, G = 3 * H, S = 5 * H;
    float *hp = m->scratch, *ws = hp + B * G;
    const int64_t wsf = m->scratch_floats - B * G;
    int64_t o[4], t, b;
    nn__rnn_offs(m, l, o);
    nn__rnn_input_proj(m, l, B, ws, wsf);
    for (t = 0; t < T; t++) {
        if (t > 0)
            be->gemm(be->ctx, 0, 1, B, G, H, 1.0f, nn__rnn_at(l, 0, t - 1, T) + 4 * H, T * S, l->w + o[1], H, 0.0f, hp, G,
                     l->w + o[3], NULL, ws, wsf);
        else
            for (b = 0; b < B; b++) memcpy(hp + b * G, l->w + o[3], sizeof(float) * (size_t)G);
        for (b = 0; b < B; b++)
            nn__gru_cell(nn__rnn_at(l, b, t, T), t > 0 ? nn__rnn_at(l, b, t - 1, T) + 4 * H : NULL, hp + b * G, H);
    }
    nn__rnn_output(m, l, B);
}
#ifndef NN_NO_TRAINING
NN__PRIVATE void nn__gru_bwd(nn_model *m, nn_layer *l, int64_t B) {
    const int64_t T = nn__in(m, l, 0)->shape[0], H = l->cfg.rnn.hidden, G = 3 * H;
    float *dgx = m->scratch, *dgh = dgx + B * T * G, *dh = dgh + B * T * G, *dhz = dh + B * H, *ws = dhz + B * H + B * G;
    const int64_t wsf = m->scratch_floats - (ws - m->scratch);
    int64_t o[4], t, b, j;
    nn__rnn_offs(m, l, o);
    memset(dh, 0, sizeof(float) * (size_t)(B * H));
    for (t = T - 1; t >= 0; t--) {
        for (b = 0; b < B; b++) {
            const float *g = nn__rnn_at(l, b, t, T), *hn = g + G, *dy = nn__rnn_dy(l, b, t, T);
            const float *hprev = t > 0 ? nn__rnn_at(l, b, t - 1, T) + 4 * H : NULL;
            float *dx = dgx + (b * T + t) * G, *dr = dgh + (b * T + t) * G, *dhb = dh + b * H, *dzb = dhz + b * H;
            for (j = 0; j < H; j++) {
                const float r = g[j], z = g[H + j], n = g[2 * H + j], hg = dhb[j] + (dy ? dy[j] : 0.0f);
                const float dn = hg * (1.0f - z) * (1.0f - n * n), dzp = hg * ((hprev ? hprev[j] : 0.0f) - n) * z * (1.0f - z);
                const float drp = dn * hn[j] * r * (1.0f - r);
                dx[j] = drp; dx[H + j] = dzp; dx[2 * H + j] = dn;
                dr[j] = drp; dr[H + j] = dzp; dr[2 * H + j] = dn * r;
                dzb[j] = hg * z; /* the direct path to h_{t-1} */
            }
        }
        if (t > 0) { /* dh_{t-1} = h's direct share + the recurrent gates' gradient W_hh */
            memcpy(dh, dhz, sizeof(float) * (size_t)(B * H));
            m->backend->gemm(m->backend->ctx, 0, 0, B, H, G, 1.0f, dgh + t * G, T * G, l->w + o[1], H, 1.0f, dh, H, NULL, NULL,
                             ws, wsf);
        }
    }
    nn__rnn_weight_grads(m, l, B, dgx, dgh, ws, wsf);
}
#endif
NN__PRIVATE void nn__gru_step(nn_model *m, nn_layer *l, int64_t t) {
    const int64_t T = nn__in(m, l, 0)->shape[0], H = l->cfg.rnn.hidden, G = 3 * H;
    float *g = nn__rnn_at(l, 0, t, T), *hp = m->scratch, *ws = hp + G;
    int64_t o[4];
    nn__rnn_offs(m, l, o);
    nn__rnn_step_proj(m, l, t, g, ws, m->scratch_floats - G);
    if (t > 0) m->backend->gemm(m->backend->ctx, 0, 1, 1, G, H, 1.0f, nn__rnn_at(l, 0, t - 1, T) + 4 * H, H, l->w + o[1], H,
                                0.0f, hp, G, l->w + o[3], NULL, ws, m->scratch_floats - G);
    else memcpy(hp, l->w + o[3], sizeof(float) * (size_t)G);
    nn__gru_cell(g, t > 0 ? nn__rnn_at(l, 0, t - 1, T) + 4 * H : NULL, hp, H);
    if (l->cfg.rnn.sequences) memcpy(l->y + t * H, g + 4 * H, sizeof(float) * (size_t)H);
}
NN__PRIVATE int nn__gru_get_arch(nn_model *m, const char *line, const int64_t *ins, int *ok) {
    int64_t h, s;
    *ok = nn__kv_int(line, "hidden", &h) && nn__kv_int(line, "sequences", &s);
    return *ok ? nn_gru(m, (int)ins[0], h, s != 0) : NN_ERR_FORMAT;
}

/* >>layer-table: one row per layer type, indexed by its permanent id. Adding a layer type:
   its id in nn_layer_type, its block above, its row here, its builder in >>model, and a row in
   nn_cuda.h's table (or nn_cuda_attach refuses models that use it); docs/DESIGN.md lists it all.
   Columns: name, inputs, flags, backend entries | infer, init, scratch, fuse, forward, backward, step |
   put_arch, get_arch, tensors | int8 role, qcheck, qtable, qscratch, qforward */
static const nn__layer_ops nn__layer_table[NN_LAYER_COUNT] = {
    {"input", 0, 0, 0,
     nn__input_infer, NULL, NULL, NULL, NULL, NULL, NN__FLT(nn__input_step),
     NN__FLT(nn__input_put_arch), nn__input_get_arch, NULL,
     NN__Q_NONE, NULL, NULL, NULL, NULL},
    {"dense", 1, NN__L_ASSIGNS | NN__L_NO_OUT_BWD, NN__BE_GEMM | NN__BE_SUM,
     nn__dense_infer, NN__FLT(nn__dense_init), NN__FLT(nn__dense_scratch), NULL, NN__FLT(nn__dense_fwd), NN__BWD(nn__dense_bwd), NN__FLT(nn__dense_step),
     NN__FLT(nn__dense_put_arch), nn__dense_get_arch, nn__dense_tensors,
     NN__Q_WEIGHTS, NULL, NULL, NULL, nn__dense_qforward},
    {"activation", 1, NN__L_ASSIGNS, NN__BE_ACT,
     nn__act_infer, NULL, NN__FLT(nn__act_scratch), NN__FLT(nn__act_fuse), NN__FLT(nn__act_fwd), NN__BWD(nn__act_bwd), NN__FLT(nn__act_step),
     NN__FLT(nn__act_put_arch), nn__act_get_arch, NULL,
     NN__Q_LUT, NULL, NN__FLT(nn__act_qtable), NULL, nn__act_qforward},
    {"softmax", 1, 0, NN__BE_SOFTMAX,
     nn__softmax_infer, NULL, NULL, NULL, NN__FLT(nn__softmax_fwd), NN__BWD(nn__softmax_bwd), NULL,
     NULL, nn__softmax_get_arch, NULL,
     NN__Q_VIEW, nn__softmax_qcheck, NULL, NULL, NULL},
    {"dropout", 1, 0, NN__BE_DROPOUT | NN__BE_COPY,
     nn__dropout_infer, NULL, NULL, NULL, NN__FLT(nn__dropout_fwd), NN__BWD(nn__dropout_bwd), NN__FLT(nn__dropout_step),
     NN__FLT(nn__dropout_put_arch), nn__dropout_get_arch, NULL,
     NN__Q_VIEW, NULL, NULL, NULL, NULL},
    {"add", 2, NN__L_NO_IN_BWD, NN__BE_COPY,
     nn__add_infer, NULL, NULL, NULL, NN__FLT(nn__add_fwd), NN__BWD(nn__add_bwd), NN__FLT(nn__add_step),
     NULL, nn__add_get_arch, NULL,
     NN__Q_RESCALE, NULL, NULL, NULL, nn__add_qforward},
    {"concat", 2, 0, NN__BE_COPY,
     nn__concat_infer, NULL, NULL, NULL, NN__FLT(nn__concat_fwd), NN__BWD(nn__concat_bwd), NULL,
     NULL, nn__concat_get_arch, NULL,
     NN__Q_RESCALE, NULL, NULL, NULL, nn__concat_qforward},
    {"flatten", 1, NN__L_VIEW, 0,
     nn__flatten_infer, NULL, NULL, NULL, NN__FLT(nn__view_fwd), NULL, NULL,
     NULL, nn__flatten_get_arch, NULL,
     NN__Q_VIEW, NULL, NULL, NULL, NULL},
    {"conv2d", 1, 0, NN__BE_CONV,
     nn__conv2d_infer, NN__FLT(nn__conv2d_init), NN__FLT(nn__conv2d_scratch), NULL, NN__FLT(nn__conv2d_fwd), NN__BWD(nn__conv2d_bwd), NULL,
     NN__FLT(nn__conv2d_put_arch), nn__conv2d_get_arch, nn__conv2d_tensors,
     NN__Q_WEIGHTS, nn__conv2d_qcheck, NULL, nn__conv2d_qscratch, nn__conv2d_qforward},
    {"pool2d", 1, NN__L_ASSIGNS, NN__BE_POOL | NN__BE_ACT,
     nn__pool2d_infer, NULL, NULL, NN__FLT(nn__pool2d_fuse), NN__FLT(nn__pool2d_fwd), NN__BWD(nn__pool2d_bwd), NULL,
     NN__FLT(nn__pool2d_put_arch), nn__pool2d_get_arch, NULL,
     NN__Q_SAME, NULL, NULL, NULL, nn__pool2d_qforward},
    {"batchnorm", 1, 0, NN__BE_BN,
     nn__batchnorm_infer, NN__FLT(nn__batchnorm_init), NULL, NULL, NN__FLT(nn__batchnorm_fwd), NN__BWD(nn__batchnorm_bwd), NULL,
     NN__FLT(nn__batchnorm_put_arch), nn__batchnorm_get_arch, nn__batchnorm_tensors,
     NN__Q_VIEW, nn__batchnorm_qcheck, NULL, NULL, NULL},
    {"reshape", 1, NN__L_VIEW, 0,
     nn__reshape_infer, NULL, NULL, NULL, NN__FLT(nn__view_fwd), NULL, NULL,
     NN__FLT(nn__shape_put_arch), nn__reshape_get_arch, NULL,
     NN__Q_VIEW, NULL, NULL, NULL, NULL},
    {"embedding", 1, 0, 0,
     nn__embedding_infer, NN__FLT(nn__embedding_init), NULL, NULL, NN__FLT(nn__embedding_fwd), NN__BWD(nn__embedding_bwd), NN__FLT(nn__embedding_step),
     NN__FLT(nn__embedding_put_arch), nn__embedding_get_arch, nn__embedding_tensors,
     NN__Q_WEIGHTS, NULL, NULL, NULL, NN__FLT(nn__embedding_qforward)},
    {"layernorm", 1, NN__L_ASSIGNS, 0,
     nn__layernorm_infer, NN__FLT(nn__layernorm_init), NN__FLT(nn__layernorm_scratch), NULL, NN__FLT(nn__layernorm_fwd), NN__BWD(nn__layernorm_bwd), NN__FLT(nn__layernorm_step),
     NN__FLT(nn__layernorm_put_arch), nn__layernorm_get_arch, nn__layernorm_tensors,
     NN__Q_FLOAT, NULL, NULL, NULL, NULL},
    {"pos_embedding", 1, NN__L_ASSIGNS, NN__BE_COPY,
     nn__posemb_infer, NN__FLT(nn__posemb_init), NULL, NULL, NN__FLT(nn__posemb_fwd), NN__BWD(nn__posemb_bwd), NN__FLT(nn__posemb_step),
     NN__FLT(nn__posemb_put_arch), nn__posemb_get_arch, nn__posemb_tensors,
     NN__Q_FLOAT, NULL, NULL, NULL, NULL},
    {"attention", 1, NN__L_ASSIGNS | NN__L_NO_OUT_BWD, NN__BE_GEMM | NN__BE_SUM,
     nn__attention_infer, NN__FLT(nn__attention_init), NN__FLT(nn__attention_scratch), NULL, NN__FLT(nn__attention_fwd), NN__BWD(nn__attention_bwd), NN__FLT(nn__attention_step),
     NN__FLT(nn__attention_put_arch), nn__attention_get_arch, nn__attention_tensors,
     NN__Q_FLOAT, NULL, NULL, NULL, NULL},
    {"tied_dense", 1, NN__L_ASSIGNS, NN__BE_GEMM,
     nn__tied_infer, NULL, NN__FLT(nn__tied_scratch), NULL, NN__FLT(nn__tied_fwd), NN__BWD(nn__tied_bwd), NN__FLT(nn__tied_step),
     NN__FLT(nn__tied_put_arch), nn__tied_get_arch, NULL,
     NN__Q_TIED, NULL, NULL, NULL, NN__FLT(nn__tied_qforward)},
    {"mul", 2, 0, 0,
     nn__mul_infer, NULL, NULL, NULL, NN__FLT(nn__mul_fwd), NN__BWD(nn__mul_bwd), NN__FLT(nn__mul_step),
     NULL, nn__mul_get_arch, NULL,
     NN__Q_FLOAT, NULL, NULL, NULL, NULL},
    {"lstm", 1, 0, NN__BE_GEMM | NN__BE_SUM,
     nn__rnn_infer, NN__FLT(nn__rnn_init), NN__FLT(nn__rnn_scratch), NULL, NN__FLT(nn__lstm_fwd), NN__BWD(nn__lstm_bwd), NN__FLT(nn__lstm_step),
     NN__FLT(nn__rnn_put_arch), nn__lstm_get_arch, nn__rnn_tensors,
     NN__Q_FLOAT, NULL, NULL, NULL, NULL},
    {"gru", 1, 0, NN__BE_GEMM | NN__BE_SUM,
     nn__rnn_infer, NN__FLT(nn__rnn_init), NN__FLT(nn__rnn_scratch), NULL, NN__FLT(nn__gru_fwd), NN__BWD(nn__gru_bwd), NN__FLT(nn__gru_step),
     NN__FLT(nn__rnn_put_arch), nn__gru_get_arch, nn__rnn_tensors,
     NN__Q_FLOAT, NULL, NULL, NULL, NULL},
};
NN__PRIVATE const nn__layer_ops *nn__ops(int type) { return &nn__layer_table[type]; }

/* A backend's missing entry among those uses names (the backward ones when train), or NULL */
NN__PRIVATE const char *nn__backend_lacks(const nn_backend *be, uint32_t uses, int train) {
#define NN__LACKS(bit, f) if ((uses & (bit)) && !be->f) return #f
#define NN__LACKS_BWD(bit, f) if (train && (uses & (bit)) && !be->f) return #f
    NN__LACKS(NN__BE_GEMM, gemm); NN__LACKS(NN__BE_CONV, conv2d_forward); NN__LACKS_BWD(NN__BE_CONV, conv2d_backward);
    NN__LACKS(NN__BE_POOL, pool2d_forward); NN__LACKS_BWD(NN__BE_POOL, pool2d_backward);
    NN__LACKS(NN__BE_BN, batchnorm_forward); NN__LACKS_BWD(NN__BE_BN, batchnorm_backward);
    NN__LACKS(NN__BE_ACT, act_forward); NN__LACKS_BWD(NN__BE_ACT, act_backward);
    NN__LACKS(NN__BE_SOFTMAX, softmax_forward); NN__LACKS_BWD(NN__BE_SOFTMAX, softmax_backward);
    NN__LACKS(NN__BE_DROPOUT, dropout); NN__LACKS(NN__BE_COPY, copy2d); NN__LACKS_BWD(NN__BE_SUM, sum_rows);
#undef NN__LACKS
#undef NN__LACKS_BWD
    return NULL;
}
/* Can backend be run this model? Every entry its layers' steps call (a device backend starts from
   a zeroed table and fills what it has: nothing falls back to the CPU unseen) */
NN__PRIVATE nn_result nn__check_backend(const nn_model *m, const nn_backend *be, const char *fn) {
    const int train = m->grads != NULL;
    int i;
    const char *lacks = nn__backend_lacks(be, NN__BE_COPY, 0) ? "copy2d" : !be->zero ? "zero" : !be->loss ? "loss"
                        : train && !be->optimizer_step ? "optimizer_step" : NULL;
    if (lacks) return nn__fail(NN_ERR_UNSUPPORTED, "%s: the %s backend has no %s entry", fn, be->name, lacks);
    for (i = 1; i < m->n_layers; i++)
        if ((lacks = nn__backend_lacks(be, nn__ops(m->layers[i].type)->uses, train)) != NULL)
            return nn__fail(NN_ERR_UNSUPPORTED, "%s: layer %d (%s) needs the %s backend's %s entry, which it lacks", fn, i,
                            nn__layer_name(m->layers[i].type), be->name, lacks);
    return NN_OK;
}

/* The fused steps (each type's fuse), decided once at compile and again when the backend
   changes (nn_cuda.h), since some of them need optional backend entries */
NN__PRIVATE void nn__plan_steps(nn_model *m) {
    int i;
    for (i = 0; i < m->n_layers; i++) {
        nn_layer *l = &m->layers[i];
        l->fused = l->pool_fwd = l->pool_bwd = 0;
        l->pool_rec = NULL;
    }
    for (i = 1; i < m->n_layers; i++)
        if (nn__ops(m->layers[i].type)->fuse) nn__ops(m->layers[i].type)->fuse(m, i);
}

/* >>model: building the graph, planning the arena --------------------------------------------- */
NNDEF nn_result nn_model_init(nn_model *m, const nn_allocator *allocator) {
    if (!m) return nn__fail(NN_ERR_INVALID_ARG, "nn_model_init: model is NULL");
    memset(m, 0, sizeof *m);
    if (allocator && allocator->alloc && allocator->free) {
        m->allocator = *allocator;
    } else if (allocator && (allocator->alloc || allocator->free)) {
        return nn__fail(NN_ERR_INVALID_ARG, "nn_model_init: allocator needs both alloc and free");
    } else {
#ifdef NN_NO_MALLOC
        m->allocator.alloc = nn__no_alloc; /* compile then needs an arena (nn_compile_config.arena) */
        m->allocator.free = nn__no_free;
#else
        m->allocator.alloc = nn__malloc_cb;
        m->allocator.free = nn__free_cb;
#endif
    }
    m->backend = nn_backend_cpu();
    return NN_OK;
}

NNDEF void nn_model_free(nn_model *m) {
    if (!m) return;
    if (m->dist && m->dist->release) m->dist->release(m->dist->ctx, m); /* (nn_mpi_detach) */
    m->dist = NULL;
    if (m->backend && m->backend->release) m->backend->release(m->backend->ctx);
    m->backend = nn_backend_cpu();
    if (m->mem && m->own_mem && m->allocator.free) m->allocator.free(m->mem, m->allocator.user);
    m->mem = NULL;
    m->compiled = 0;
    m->params = m->grads = m->opt1 = m->opt2 = m->x_stage = m->targets = NULL;
    m->labels = NULL;
    m->stats = NULL;
}

/* Add a layer after validating its inputs; returns its index or the (sticky) error. */
NN__PRIVATE int nn__add_layer(nn_model *m, nn_layer_type type, int n_inputs, int in0, int in1, nn_layer *proto) {
    nn_layer *l;
    nn_result r;
    int ins[2];
    int k;
    ins[0] = in0; ins[1] = in1;
    if (!m) { nn__fail(NN_ERR_INVALID_ARG, "%s: model is NULL", nn__layer_name(type)); return NN_ERR_INVALID_ARG; }
    if (m->status != NN_OK) return m->status;
    if (m->compiled) /* (not sticky: the compiled model stays good, and later calls report their own errors) */
        return nn__fail(NN_ERR_STATE, "%s: the model is already compiled", nn__layer_name(type));
    if (type != NN_LAYER_INPUT && m->n_layers == 0) {
        m->status = nn__fail(NN_ERR_STATE, "%s: the first layer must be nn_input", nn__layer_name(type));
        return m->status;
    }
    for (k = 0; k < n_inputs; k++) {
        if (ins[k] < 0) {
            m->status = nn__fail(NN_ERR_INVALID_ARG, "layer %d (%s): input %d is %d, not a layer index",
                                 m->n_layers, nn__layer_name(type), k, ins[k]);
            return m->status;
        }
        if (ins[k] >= m->n_layers) {
            m->status = nn__fail(NN_ERR_INVALID_ARG, "layer %d (%s): input %d names layer %d, which does not exist yet",
                                 m->n_layers, nn__layer_name(type), k, ins[k]);
            return m->status;
        }
    }
    if (type == NN_LAYER_INPUT && m->n_layers > 0) {
        m->status = nn__fail(NN_ERR_UNSUPPORTED, "layer %d (input): a model has one input, layer 0", m->n_layers);
        return m->status;
    }
    if (m->n_layers >= NN_MAX_LAYERS) {
        m->status = nn__fail(NN_ERR_OUT_OF_MEMORY, "layer %d (%s): more than NN_MAX_LAYERS (%d) layers",
                             m->n_layers, nn__layer_name(type), NN_MAX_LAYERS);
        return m->status;
    }
    l = &m->layers[m->n_layers];
    *l = *proto;
    l->type = type;
    l->n_inputs = n_inputs;
    for (k = 0; k < n_inputs; k++) l->inputs[k] = ins[k];
    l->n_params = l->n_buffers = l->n_saved = l->n_keep = 0;
    r = nn__ops(type)->infer(m, l, m->n_layers);
    /* a sequence stays one while a layer keeps its steps as the first of two dimensions */
    if (n_inputs > 0) {
        const nn_layer *a = nn__in(m, l, 0);
        l->seq = a->seq && l->ndim == 2 && l->shape[0] == a->shape[0] && !nn__is_view(type);
    }
    if (r != NN_OK) { memset(l, 0, sizeof *l); m->status = r; return r; }
    return m->n_layers++;
}

NN__PRIVATE nn_layer nn__proto(void) { nn_layer l; memset(&l, 0, sizeof l); return l; }

NN__PRIVATE int nn__input_shape(nn_model *m, int ndim, int64_t c, int64_t h, int64_t w) {
    nn_layer p = nn__proto();
    int i;
    p.ndim = ndim; p.shape[0] = c; p.shape[1] = h; p.shape[2] = w;
    p.size = 1;
    for (i = 0; i < ndim; i++) {
        if (p.shape[i] < 1) {
            if (m && m->status == NN_OK)
                m->status = nn__fail(NN_ERR_INVALID_ARG, "input: dimensions must be >= 1, got %l", p.shape[i]);
            return m ? m->status : NN_ERR_INVALID_ARG;
        }
        p.size *= p.shape[i];
    }
    return nn__add_layer(m, NN_LAYER_INPUT, 0, 0, 0, &p);
}
NNDEF int nn_input(nn_model *m, int64_t features) { return nn__input_shape(m, 1, features, 1, 1); }
NNDEF int nn_input_image(nn_model *m, int64_t c, int64_t h, int64_t w) { return nn__input_shape(m, 3, c, h, w); }

NNDEF int nn_dense_ex(nn_model *m, int in, int64_t units, int bias, nn_init init) {
    nn_layer p = nn__proto();
    p.cfg.dense.units = units; p.cfg.dense.bias = bias != 0; p.cfg.dense.init = init;
    if ((unsigned)init > (unsigned)NN_INIT_TORCH) {
        if (m && m->status == NN_OK) m->status = nn__fail(NN_ERR_INVALID_ARG, "dense: unknown initializer %d", (int)init);
        return m ? m->status : NN_ERR_INVALID_ARG;
    }
    return nn__add_layer(m, NN_LAYER_DENSE, 1, in, 0, &p);
}
NNDEF int nn_dense(nn_model *m, int in, int64_t units) { return nn_dense_ex(m, in, units, 1, NN_INIT_GLOROT_UNIFORM); }
NNDEF int nn_activation(nn_model *m, int in, nn_act kind, float alpha) {
    nn_layer p = nn__proto();
    p.cfg.act.kind = kind; p.cfg.act.alpha = alpha;
    return nn__add_layer(m, NN_LAYER_ACT, 1, in, 0, &p);
}
NNDEF int nn_relu(nn_model *m, int in) { return nn_activation(m, in, NN_ACT_RELU, 0.0f); }
NNDEF int nn_leaky_relu(nn_model *m, int in, float slope) { return nn_activation(m, in, NN_ACT_LEAKY_RELU, slope); }
NNDEF int nn_sigmoid(nn_model *m, int in) { return nn_activation(m, in, NN_ACT_SIGMOID, 0.0f); }
NNDEF int nn_tanh(nn_model *m, int in) { return nn_activation(m, in, NN_ACT_TANH, 0.0f); }
NNDEF int nn_gelu(nn_model *m, int in) { return nn_activation(m, in, NN_ACT_GELU, 0.0f); }
NNDEF int nn_softmax(nn_model *m, int in) { nn_layer p = nn__proto(); return nn__add_layer(m, NN_LAYER_SOFTMAX, 1, in, 0, &p); }
NNDEF int nn_dropout(nn_model *m, int in, float p) {
    nn_layer q = nn__proto();
    q.cfg.dropout.p = p;
    return nn__add_layer(m, NN_LAYER_DROPOUT, 1, in, 0, &q);
}
NNDEF int nn_add(nn_model *m, int a, int b) { nn_layer p = nn__proto(); return nn__add_layer(m, NN_LAYER_ADD, 2, a, b, &p); }
NNDEF int nn_concat(nn_model *m, int a, int b) { nn_layer p = nn__proto(); return nn__add_layer(m, NN_LAYER_CONCAT, 2, a, b, &p); }
NNDEF int nn_flatten(nn_model *m, int in) { nn_layer p = nn__proto(); return nn__add_layer(m, NN_LAYER_FLATTEN, 1, in, 0, &p); }
NNDEF int nn_reshape(nn_model *m, int in, int ndim, const int64_t *shape) {
    nn_layer p = nn__proto();
    int i;
    if (ndim < 1 || ndim > NN_MAX_DIMS - 1 || !shape) {
        if (m && m->status == NN_OK) m->status = nn__fail(NN_ERR_INVALID_ARG, "reshape: rank %d (must be 1..3)", ndim);
        return m ? m->status : NN_ERR_INVALID_ARG;
    }
    p.ndim = ndim;
    for (i = 0; i < ndim; i++) p.shape[i] = shape[i];
    return nn__add_layer(m, NN_LAYER_RESHAPE, 1, in, 0, &p);
}
NNDEF int nn_conv2d_ex(nn_model *m, int in, const nn_conv2d_desc *d, int bias, nn_init init) {
    nn_layer p = nn__proto();
    if (!d || (unsigned)init > (unsigned)NN_INIT_TORCH) {
        if (m && m->status == NN_OK) m->status = nn__fail(NN_ERR_INVALID_ARG, "conv2d: no descriptor, or unknown initializer");
        return m ? m->status : NN_ERR_INVALID_ARG;
    }
    p.cfg.conv.d = *d;
    p.cfg.conv.bias = bias != 0;
    p.cfg.conv.init = init;
    return nn__add_layer(m, NN_LAYER_CONV2D, 1, in, 0, &p);
}
NNDEF int nn_conv2d(nn_model *m, int in, int64_t out_channels, int64_t kernel, int64_t stride, int64_t padding) {
    nn_conv2d_desc d;
    memset(&d, 0, sizeof d);
    d.OC = out_channels; d.KH = d.KW = kernel; d.SH = d.SW = stride; d.PH = d.PW = padding;
    d.DH = d.DW = 1; d.G = 1;
    return nn_conv2d_ex(m, in, &d, 1, NN_INIT_GLOROT_UNIFORM);
}
NN__PRIVATE int nn__pool(nn_model *m, int in, nn_pool_kind kind, int64_t k, int64_t s, int64_t pad, int global) {
    nn_layer p = nn__proto();
    p.cfg.pool.d.kind = kind;
    p.cfg.pool.d.KH = p.cfg.pool.d.KW = k;
    p.cfg.pool.d.SH = p.cfg.pool.d.SW = s;
    p.cfg.pool.d.PH = p.cfg.pool.d.PW = pad;
    p.cfg.pool.global = global;
    return nn__add_layer(m, NN_LAYER_POOL2D, 1, in, 0, &p);
}
NNDEF int nn_maxpool2d(nn_model *m, int in, int64_t kernel, int64_t stride, int64_t padding) {
    return nn__pool(m, in, NN_POOL_MAX, kernel, stride, padding, 0);
}
NNDEF int nn_avgpool2d(nn_model *m, int in, int64_t kernel, int64_t stride, int64_t padding) {
    return nn__pool(m, in, NN_POOL_AVG, kernel, stride, padding, 0);
}
NNDEF int nn_global_avgpool(nn_model *m, int in) { return nn__pool(m, in, NN_POOL_AVG, 1, 1, 0, 1); }
NNDEF int nn_batchnorm(nn_model *m, int in, float momentum, float eps) {
    nn_layer p = nn__proto();
    p.cfg.bn.momentum = momentum;
    p.cfg.bn.eps = eps;
    return nn__add_layer(m, NN_LAYER_BATCHNORM, 1, in, 0, &p);
}

NNDEF int nn_input_seq(nn_model *m, int64_t steps, int64_t dim) {
    const int r = dim > 0 ? nn__input_shape(m, 2, steps, dim, 1) : nn__input_shape(m, 1, steps, 1, 1);
    if (r >= 0) { m->layers[r].seq = 1; m->layers[r].cfg.input.tokens = dim <= 0; }
    return r;
}
NNDEF int nn_embedding_ex(nn_model *m, int in, int64_t vocab, int64_t dim, float init_std) {
    nn_layer p = nn__proto();
    p.cfg.emb.vocab = vocab; p.cfg.emb.dim = dim; p.cfg.emb.std = init_std;
    if (!(init_std >= 0.0f && init_std < 1e6f)) {
        if (m && m->status == NN_OK) m->status = nn__fail(NN_ERR_INVALID_ARG, "embedding: init_std must be >= 0");
        return m ? m->status : NN_ERR_INVALID_ARG;
    }
    return nn__add_layer(m, NN_LAYER_EMBEDDING, 1, in, 0, &p);
}
NNDEF int nn_embedding(nn_model *m, int in, int64_t vocab, int64_t dim) { return nn_embedding_ex(m, in, vocab, dim, 1.0f); }
NNDEF int nn_pos_embedding(nn_model *m, int in, float init_std) {
    nn_layer p = nn__proto();
    p.cfg.emb.std = init_std;
    if (!(init_std >= 0.0f && init_std < 1e6f)) {
        if (m && m->status == NN_OK) m->status = nn__fail(NN_ERR_INVALID_ARG, "pos_embedding: init_std must be >= 0");
        return m ? m->status : NN_ERR_INVALID_ARG;
    }
    return nn__add_layer(m, NN_LAYER_POSEMB, 1, in, 0, &p);
}
NNDEF int nn_attention_ex(nn_model *m, int in, int heads, int causal, int bias, float dropout, nn_init init) {
    nn_layer p = nn__proto();
    p.cfg.attn.heads = heads; p.cfg.attn.causal = causal != 0; p.cfg.attn.bias = bias != 0;
    p.cfg.attn.dropout = dropout; p.cfg.attn.init = init;
    if ((unsigned)init > (unsigned)NN_INIT_TORCH) {
        if (m && m->status == NN_OK) m->status = nn__fail(NN_ERR_INVALID_ARG, "attention: unknown initializer %d", (int)init);
        return m ? m->status : NN_ERR_INVALID_ARG;
    }
    return nn__add_layer(m, NN_LAYER_ATTENTION, 1, in, 0, &p);
}
NNDEF int nn_attention(nn_model *m, int in, int heads) {
    return nn_attention_ex(m, in, heads, 1, 1, 0.0f, NN_INIT_GLOROT_UNIFORM);
}
NNDEF int nn_dense_tied(nn_model *m, int in, int emb) {
    nn_layer p = nn__proto();
    p.cfg.tied.src = emb;
    return nn__add_layer(m, NN_LAYER_TIED, 1, in, 0, &p);
}
NNDEF int nn_mul(nn_model *m, int a, int b) { nn_layer p = nn__proto(); return nn__add_layer(m, NN_LAYER_MUL, 2, a, b, &p); }
NNDEF int nn_lstm(nn_model *m, int in, int64_t hidden, int sequences) {
    nn_layer p = nn__proto();
    p.cfg.rnn.hidden = hidden; p.cfg.rnn.sequences = sequences != 0; p.cfg.rnn.gates = 4;
    return nn__add_layer(m, NN_LAYER_LSTM, 1, in, 0, &p);
}
NNDEF int nn_gru(nn_model *m, int in, int64_t hidden, int sequences) {
    nn_layer p = nn__proto();
    p.cfg.rnn.hidden = hidden; p.cfg.rnn.sequences = sequences != 0; p.cfg.rnn.gates = 3;
    return nn__add_layer(m, NN_LAYER_GRU, 1, in, 0, &p);
}
NNDEF int nn_layernorm(nn_model *m, int in, float eps) {
    nn_layer p = nn__proto();
    p.cfg.ln.eps = eps;
    return nn__add_layer(m, NN_LAYER_LAYERNORM, 1, in, 0, &p);
}

NNDEF nn_compile_config nn_compile_defaults(void) {
    nn_compile_config c;
    memset(&c, 0, sizeof c);
    c.loss = NN_LOSS_XENT;
    c.optimizer = nn_adam(1e-3f);
    c.max_batch = 32;
    c.seed = 42;
    return c;
}

NNDEF int64_t nn_model_input_size(const nn_model *m) { return m && m->n_layers ? m->layers[0].size : 0; }
NNDEF int64_t nn_model_output_size(const nn_model *m) { return m && m->n_layers ? m->layers[m->n_layers - 1].size : 0; }

/* Backward adds into input gradients, which are cleared first, so that an output read by
   several layers sums them. An output with exactly one writer of its gradient, when that
   writer can assign (dense: a GEMM with beta 0; activation; pooling; the loss for the model's
   output), skips the clearing: one pass less over every activation of a plain stack. */
NN__PRIVATE void nn__plan_assign(nn_model *m, int o) {
    int j, k, writers = o == nn__owner(m, m->n_layers - 1), assigns = writers;
    for (j = o + 1; j < m->n_layers; j++) {
        const unsigned f = nn__ops(m->layers[j].type)->flags;
        if (f & NN__L_VIEW) continue;
        for (k = 0; k < m->layers[j].n_inputs; k++)
            if (nn__owner(m, m->layers[j].inputs[k]) == o) {
                writers++;
                assigns += (f & NN__L_ASSIGNS) != 0;
            }
    }
    m->layers[o].assign_dy = !nn__is_view(m->layers[o].type) && writers == 1 && assigns == 1;
}

/* Buffers with lifetimes in shared slots: of the slots free now (avail), the smallest that
   holds need floats, else the largest, grown; else a new one. Its index. */
NN__PRIVATE int nn__slot_pick(int64_t *slot_n, int *ns, const unsigned char *avail, int64_t need) {
    int k, best = -1;
    for (k = 0; k < *ns; k++)
        if (avail[k] && (best < 0 || (slot_n[k] >= need ? slot_n[best] < need || slot_n[k] < slot_n[best]
                                                          : slot_n[best] < need && slot_n[k] > slot_n[best])))
            best = k;
    if (best < 0) { best = (*ns)++; slot_n[best] = 0; }
    if (slot_n[best] < need) slot_n[best] = need;
    return best;
}
#ifndef NN_NO_TRAINING
/* The output gradients share slots: backward runs the layers in reverse, and the gradient of
   layer o lives from the backward of its last reader (dy_first, the first to write it; the loss
   for the model's output) down to o's own. A ReLU computed by its max pooling, its input and
   that pooling hand gradients and the pooling's record (in the ReLU's dy, written by forward)
   across those bounds: theirs are never shared. Sets dy_first; off[i] (floats from the
   section's start) when off is given; the section's floats. keep: share none. */
NN__PRIVATE int64_t nn__plan_dy(nn_model *m, int64_t B, int keep, int64_t *off) {
    int64_t slot_n[NN_MAX_LAYERS], total = 0;
    int slot_lo[NN_MAX_LAYERS], slot_of[NN_MAX_LAYERS], hi[NN_MAX_LAYERS], ns = 0, i, k, pool;
    unsigned char avail[NN_MAX_LAYERS];
    const int L = m->n_layers, out = nn__owner(m, L - 1);
    for (i = 0; i < L; i++) { hi[i] = 0; m->layers[i].dy_first = 0; }
    for (i = 1; i < L; i++)
        if (!nn__is_view(m->layers[i].type))
            for (k = 0; k < m->layers[i].n_inputs; k++) {
                const int o = nn__owner(m, m->layers[i].inputs[k]);
                if (hi[o] < i) hi[o] = i;
            }
    for (i = 1; i < L; i++)
        if (nn__relu_pooled(m, i, &pool)) hi[i] = hi[pool] = hi[m->layers[i].inputs[0]] = L + 1; /* (never shared) */
    hi[out] = hi[out] > L ? hi[out] : L;
    for (i = L - 1; i >= 1; i--) {
        nn_layer *l = &m->layers[i];
        if (!l->need_dy || nn__is_view(l->type)) continue;
        if (hi[i] == 0) hi[i] = L; /* (read by no layer: cleared before the loss, as the output's) */
        l->dy_first = hi[i] < L ? hi[i] : 0;
        for (k = 0; k < ns; k++) avail[k] = !keep && hi[i] <= L && slot_lo[k] > hi[i];
        slot_of[i] = nn__slot_pick(slot_n, &ns, avail, (B * l->size + 15) / 16 * 16);
        slot_lo[slot_of[i]] = hi[i] > L ? -1 : i;
    }
    for (k = 0; k < ns; k++) { const int64_t n = slot_n[k]; slot_n[k] = total; total += n; } /* (sizes -> offsets) */
    if (off)
        for (i = 1; i < L; i++)
            off[i] = m->layers[i].need_dy && !nn__is_view(m->layers[i].type) ? slot_n[slot_of[i]] : 0;
    return total;
}
#endif

/* The arena layout: byte offsets of each section from a 64-byte aligned base. The one planner
   behind compile, nn_model_arena_bytes and nn_load_mem_arena_bytes, so sizes are exact. */
typedef struct nn__plan {
    size_t claim, params, bufs, grads, opt1, opt2, acts, dacts, saved, scratch, x, t, lab, stats, bytes;
    int64_t np, nb, scratch_floats, train_off, n_train;
    int train;
} nn__plan;

/* borrow: plan no parameter or buffer sections; the loader points the layers at a file's bytes */
/* floats of the buffer the layers with recomp == k share */
NN__PRIVATE int64_t nn__plan_shared(const nn_model *m, int64_t B, int k) {
    int64_t s = 0;
    int i;
    for (i = 1; i < m->n_layers; i++)
        if (m->layers[i].recomp == k && s < (B * m->layers[i].size + 15) / 16 * 16) s = (B * m->layers[i].size + 15) / 16 * 16;
    return s;
}
NN__PRIVATE nn_result nn__plan_model(nn_model *m, const nn_compile_config *cfg, int borrow, nn__plan *p) {
    nn_compile_config c;
    size_t off = 0;
    int64_t np = 0, nb = 0, ns = 0, acts = 0, scratch = 0, B, out;
    int i, train;
    /* set on every path, failures too: callers that the compiler inlines this into cannot tell
       that they read it only after NN_OK */
    memset(p, 0, sizeof *p);
    if (!m) return nn__fail(NN_ERR_INVALID_ARG, "nn_model_compile: model is NULL");
    if (m->compiled) return nn__fail(NN_ERR_STATE, "nn_model_compile: already compiled");
    if (m->status != NN_OK) return m->status; /* the message of the first build error stands */
    if (m->n_layers < 2) return nn__fail(NN_ERR_STATE, "nn_model_compile: the model needs an input and at least one layer");
    c = cfg ? *cfg : nn_compile_defaults();
    if (c.max_batch < 1) return nn__fail(NN_ERR_INVALID_ARG, "nn_model_compile: max_batch must be >= 1, got %l", c.max_batch);
    if ((int)c.loss < NN_LOSS_MSE || (int)c.loss > NN_LOSS_HINGE)
        return nn__fail(NN_ERR_INVALID_ARG, "nn_model_compile: unknown loss %d", (int)c.loss);
#ifdef NN_NO_TRAINING
    c.inference_only = 1;
#endif
    train = !c.inference_only;
    if (train) {
        const nn_optimizer *o = &c.optimizer;
        if ((int)o->type < NN_OPT_SGD || (int)o->type > NN_OPT_RMSPROP)
            return nn__fail(NN_ERR_INVALID_ARG, "nn_model_compile: unknown optimizer %d (use nn_sgd, nn_adam, ...)", (int)o->type);
        if (!(o->lr >= 0.0f) || !(o->weight_decay >= 0.0f) || !(o->momentum >= 0.0f) || !(o->clip_norm >= 0.0f))
            return nn__fail(NN_ERR_INVALID_ARG, "nn_model_compile: lr, momentum, weight_decay and clip_norm must be >= 0");
        if ((o->type == NN_OPT_ADAM || o->type == NN_OPT_ADAMW) &&
            !(o->beta1 >= 0.0f && o->beta1 < 1.0f && o->beta2 >= 0.0f && o->beta2 < 1.0f))
            return nn__fail(NN_ERR_INVALID_ARG, "nn_model_compile: Adam betas must be in [0, 1)");
        if (o->nesterov && o->momentum <= 0.0f)
            return nn__fail(NN_ERR_INVALID_ARG, "nn_model_compile: Nesterov momentum needs momentum > 0");
    }
    B = c.max_batch;
    /* parameters: each layer's block starts on a 64-byte boundary (16 floats) */
    for (i = 0; i < m->n_layers; i++) {
        nn_layer *l = &m->layers[i];
        l->param_off = np;
        np += (l->n_params + 15) / 16 * 16;
        l->buffer_off = nb;
        nb += l->n_buffers;
        l->recomp = 0;
        /* the scratch section serves the largest kernel call (GEMM packing, im2col), planned
           for the largest batch and the threads of now (and decides what a layer recomputes) */
        if (nn__ops(l->type)->scratch) {
            const int64_t need = nn__ops(l->type)->scratch(l, m, B, train ? 1 | (c.recompute ? NN__RECOMPUTE : 0) : 0);
            if (scratch < need) scratch = need;
        }
        ns += (l->n_saved + B * l->n_keep + 15) / 16 * 16;
        if (train && c.recompute && !l->recomp && i > 0 && i < m->n_layers - 1 && (nn__ops(l->type)->flags & NN__L_NO_OUT_BWD)) {
            /* an output that only the next layer reads, whose backward needs it no more than this
               layer's own does: dead once that layer has run forward (a transformer's attention and
               MLP outputs into the residual adds), so all such share one buffer (not one whose
               input is in it) */
            int r = -1, k, ok = nn__readers(m, i, &r) == 1 && r == i + 1 && (nn__ops(m->layers[r].type)->flags & NN__L_NO_IN_BWD);
            for (k = 0; k < l->n_inputs; k++) ok = ok && m->layers[nn__owner(m, l->inputs[k])].recomp != 2;
            l->recomp = ok ? 2 : 0;
        }
        if (l->n_inputs > 0 && !nn__is_view(l->type) && !l->recomp) acts += (B * l->size + 15) / 16 * 16;
    }
    acts += nn__plan_shared(m, B, 1) + nn__plan_shared(m, B, 2);
    out = m->layers[m->n_layers - 1].size;
    {   /* frozen layers (nn_freeze) are a front part of the model: they keep no gradients and
           no optimizer state, and layers before the first trained one no output gradient, so
           fine-tuning the last layers takes little memory */
        p->train_off = -1;
        m->layers[0].need_dy = 0;
        for (i = 1; i < m->n_layers; i++) {
            nn_layer *l = &m->layers[i];
            int k, upstream = 0;
            for (k = 0; k < l->n_inputs; k++) upstream |= m->layers[l->inputs[k]].need_dy;
            if (l->frozen && l->n_params > 0 && upstream)
                return nn__fail(NN_ERR_UNSUPPORTED, "nn_model_compile: layer %d is frozen but follows a trained layer; "
                                "only a front part of the model can be frozen", i);
            l->need_dy = train && (upstream || (l->n_params > 0 && !l->frozen));
            if (train && l->n_params > 0 && !l->frozen && p->train_off < 0) p->train_off = l->param_off;
        }
        p->n_train = p->train_off < 0 ? 0 : np - p->train_off;
        if (p->train_off < 0) p->train_off = 0;
        if (train && p->n_train == 0)
            return nn__fail(NN_ERR_STATE, "nn_model_compile: every layer with parameters is frozen: nothing to train "
                            "(compile with inference_only)");
        for (i = 1; i < m->n_layers; i++) nn__plan_assign(m, i);
    }
    {
#ifndef NN_NO_TRAINING
        const int64_t dacts = train ? nn__plan_dy(m, B, c.keep_layer_grads, NULL) : 0;
#else
        const int64_t dacts = 0;
#endif
#define NN__SECTION(o, nbytes) do { p->o = off; off = nn__align_up(off + (size_t)(nbytes), NN__ALIGN); } while (0)
    NN__SECTION(claim, 8);
    NN__SECTION(params, borrow ? 0 : sizeof(float) * (size_t)np);
    NN__SECTION(bufs, borrow ? 0 : sizeof(float) * (size_t)nb);
    NN__SECTION(grads, train ? sizeof(float) * (size_t)p->n_train : 0);
    NN__SECTION(opt1, train ? sizeof(float) * (size_t)p->n_train : 0);
    NN__SECTION(opt2, train ? sizeof(float) * (size_t)p->n_train : 0);
    NN__SECTION(acts, sizeof(float) * (size_t)acts);
    NN__SECTION(dacts, sizeof(float) * (size_t)dacts);
    }
    NN__SECTION(saved, sizeof(float) * (size_t)ns);
    NN__SECTION(scratch, sizeof(float) * (size_t)scratch);
    NN__SECTION(x, sizeof(float) * (size_t)(B * m->layers[0].size));
    NN__SECTION(t, sizeof(float) * (size_t)(B * out));
    NN__SECTION(lab, sizeof(int32_t) * (size_t)(B * (m->layers[m->n_layers - 1].seq ? m->layers[m->n_layers - 1].shape[0] : 1)));
    NN__SECTION(stats, sizeof(double) * 8);
#undef NN__SECTION
    p->bytes = off + NN__ALIGN; /* room to align the base */
    p->np = np; p->nb = nb; p->scratch_floats = scratch; p->train = train;
    return NN_OK;
}

NNDEF nn_result nn_model_arena_bytes(nn_model *m, const nn_compile_config *cfg, size_t *bytes) {
    nn__plan p;
    nn_result r;
    if (!bytes) return nn__fail(NN_ERR_INVALID_ARG, "nn_model_arena_bytes: bytes is NULL");
    if ((r = nn__plan_model(m, cfg, 0, &p)) != NN_OK) return r;
    *bytes = p.bytes;
    return NN_OK;
}

NN__PRIVATE nn_result nn__compile(nn_model *m, const nn_compile_config *cfg, int borrow) {
    nn_compile_config c;
    nn__plan p;
    int64_t B;
    int i, train;
    char *base;
    nn_result r;
    if ((r = nn__plan_model(m, cfg, borrow, &p)) != NN_OK) return r;
    c = cfg ? *cfg : nn_compile_defaults();
#ifdef NN_NO_TRAINING
    c.inference_only = 1;
#endif
    train = p.train;
    B = c.max_batch;
    /* c.arena: the caller's memory, no allocation at all */
    if ((r = nn__take_zeroed(&m->allocator, c.arena, c.arena_bytes, p.bytes, &m->mem, &m->own_mem,
                             "nn_model_compile", " (nn_model_arena_bytes)")) != NN_OK) return r;
    m->mem_bytes = p.bytes;
    base = nn__aligned(m->mem, NN__ALIGN);
    m->stamp = nn__new_stamp(m);
    m->claim = (const uint64_t *)(void *)(base + p.claim);
    memcpy(base + p.claim, &m->stamp, 8);
    m->params = borrow ? NULL : (float *)(void *)(base + p.params);
    m->buffers = borrow ? NULL : (float *)(void *)(base + p.bufs);
    m->scratch = (float *)(void *)(base + p.scratch);
    m->scratch_floats = p.scratch_floats;
    m->grads = train ? (float *)(void *)(base + p.grads) : NULL;
    m->opt1 = train ? (float *)(void *)(base + p.opt1) : NULL;
    m->opt2 = train ? (float *)(void *)(base + p.opt2) : NULL;
    m->x_stage = (float *)(void *)(base + p.x);
    m->targets = (float *)(void *)(base + p.t);
    m->labels = (int32_t *)(void *)(base + p.lab);
    m->stats = (double *)(void *)(base + p.stats);
    m->n_params = p.np;
    m->n_buffers = p.nb;
    m->train_off = p.train_off;
    m->n_train = p.n_train;
    m->config = c;
    m->rng = c.seed;
    m->step = 0;
    m->epoch = 0;
    {
        float *ya = (float *)(void *)(base + p.acts), *dya = train ? (float *)(void *)(base + p.dacts) : NULL;
        float *sv = (float *)(void *)(base + p.saved);
        int64_t dy_off[NN_MAX_LAYERS] = {0};
#ifndef NN_NO_TRAINING
        if (train) nn__plan_dy(m, B, c.keep_layer_grads, dy_off);
#endif
        for (i = 0; i < m->n_layers; i++) {
            nn_layer *l = &m->layers[i];
            l->w = borrow ? NULL : m->params + l->param_off;
            l->dw = train && !l->frozen && l->n_params ? m->grads + (l->param_off - m->train_off) : NULL;
            l->buf = borrow ? NULL : m->buffers + l->buffer_off;
            l->saved = sv;
            sv += (l->n_saved + B * l->n_keep + 15) / 16 * 16;
            if (l->n_inputs == 0) { l->y = m->x_stage; l->dy = NULL; }
            else if (nn__is_view(l->type)) { l->y = nn__in(m, l, 0)->y; l->dy = nn__in(m, l, 0)->dy; }
            else {
                if (!l->recomp) { l->y = ya; ya += (B * l->size + 15) / 16 * 16; }
                l->dy = l->need_dy ? dya + dy_off[i] : NULL;
            }
            if (!borrow && nn__ops(l->type)->init) nn__ops(l->type)->init(m, l);
        }
        for (i = 1; i < m->n_layers; i++) /* (the shared buffers last: after every own one) */
            if (m->layers[i].recomp == 1) m->layers[i].y = ya;
        for (i = 1, ya += nn__plan_shared(m, B, 1); i < m->n_layers; i++)
            if (m->layers[i].recomp == 2) m->layers[i].y = ya;
    }
    nn__plan_steps(m);
    m->compiled = 1;
    if ((r = nn__check_backend(m, m->backend, "nn_model_compile")) != NN_OK) { nn_model_free(m); return r; }
    return NN_OK;
}
NNDEF nn_result nn_model_compile(nn_model *m, const nn_compile_config *cfg) {
#ifdef NN_INT8_ONLY
    (void)m; (void)cfg;
    return nn__fail(NN_ERR_UNSUPPORTED, "nn_model_compile: this build has NN_INT8_ONLY (int8 models only: nn_qload_mem)");
#else
    return nn__compile(m, cfg, 0);
#endif
}

NNDEF nn_result nn_freeze(nn_model *m, int upto) {
    int i;
    if (!m) return nn__fail(NN_ERR_INVALID_ARG, "nn_freeze: model is NULL");
    if (m->compiled) return nn__fail(NN_ERR_STATE, "nn_freeze: call it before nn_model_compile (it changes the plan)");
    if (upto >= m->n_layers) return nn__fail(NN_ERR_INVALID_ARG, "nn_freeze: layer %d does not exist", upto);
    for (i = 1; i < m->n_layers; i++) m->layers[i].frozen = i <= upto;
    return NN_OK;
}

/* A device backend holds the arena's state on the device: nn__pull brings a range of it to
   the host arena before the host reads it, nn__push sends what the host wrote. */
NN__PRIVATE void nn__pull(const nn_model *m, const void *p, size_t bytes) {
    if (m->backend->sync && p && bytes) m->backend->sync(m->backend->ctx, (void *)(uintptr_t)p, bytes, 0);
}
NN__PRIVATE void nn__push(const nn_model *m, const void *p, size_t bytes) {
    if (m->backend->sync && p && bytes) m->backend->sync(m->backend->ctx, (void *)(uintptr_t)p, bytes, 1);
}
NN__PRIVATE nn_result nn__device_status(const nn_model *m) {
    return m->backend->status ? m->backend->status(m->backend->ctx) : NN_OK;
}

NNDEF nn_result nn_model_activation(const nn_model *m, int layer, int64_t n, nn_tensor *out) {
    const nn_layer *l;
    int64_t shape[NN_MAX_DIMS];
    int i;
    if (!m || !out || !m->compiled) return nn__fail(NN_ERR_STATE, "nn_model_activation: model not compiled");
    if (layer < 0 || layer >= m->n_layers) return nn__fail(NN_ERR_INVALID_ARG, "nn_model_activation: no layer %d", layer);
    if (n < 1 || n > m->config.max_batch) return nn__fail(NN_ERR_INVALID_ARG, "nn_model_activation: n = %l outside [1, max_batch]", n);
    l = &m->layers[layer];
    shape[0] = n;
    for (i = 0; i < l->ndim; i++) shape[i + 1] = l->shape[i];
    {   /* a convolution computed by its pooling (nn__conv_pool_fwd), first: from its input, the last
           forward pass's (a model input: the caller's batch, which must still be valid) */
        const nn_layer *c = l->fused == 1 ? &m->layers[l->inputs[0]] : l;
        if (nn__conv_pool_fwd(m, c))
            m->backend->conv2d_forward(m->backend->ctx, &c->cfg.conv.d, n, c->y, m->layers[c->inputs[0]].y, c->w,
                                       nn__conv_bias(c), m->scratch);
    }
    if (l->fused == 1) /* (a ReLU whose buffer holds its pooling's scratch: >>layer-act) */
        m->backend->act_forward(m->backend->ctx, NN_ACT_RELU, 0.0f, l->y, m->layers[l->inputs[0]].y, n * l->size);
    if (l->recomp) { /* (an output in a shared buffer: run again, after such an input of its) */
        nn_model *mm = (nn_model *)(uintptr_t)m;
        for (i = 0; i < l->n_inputs; i++)
            if (m->layers[l->inputs[i]].recomp == 1) nn__ops(m->layers[l->inputs[i]].type)->forward(mm, &mm->layers[l->inputs[i]], n);
        nn__ops(l->type)->forward(mm, &mm->layers[layer], n);
    }
    nn__pull(m, l->y, sizeof(float) * (size_t)(n * l->size));
    *out = nn_tensor_view(l->y, l->ndim + 1, shape);
    return NN_OK;
}

/* >>net: forward, backward and the optimizer step over the flat layer array ------------------ */
NNDEF nn_result nn_model_sync(nn_model *m, int to_device) {
    nn_result r;
    if (!m || !m->compiled) return nn__fail(NN_ERR_STATE, "nn_model_sync: the model is not compiled");
    if (to_device) nn__push(m, m->mem, m->mem_bytes);
    else nn__pull(m, m->mem, m->mem_bytes);
    if ((r = nn__device_status(m)) != NN_OK) return r;
    /* borrowed weights live outside the arena (a device backend refuses those models) */
    return NN_OK;
}

/* x: a host batch, or the staging the data path filled (already on the device) */
NN__PRIVATE void nn__forward(nn_model *m, const float *x, int64_t B) {
    int i;
    if (m->backend->sync && x != m->x_stage) { /* the device reads its inputs from the staging */
        const size_t bytes = sizeof(float) * (size_t)(B * m->layers[0].size);
        memcpy(m->x_stage, x, bytes);
        nn__push(m, m->x_stage, bytes);
        x = m->x_stage;
    }
    m->layers[0].y = (float *)(uintptr_t)x; /* borrowed: the input layer is never written */
    for (i = 1; i < m->n_layers; i++) {
        nn_layer *l = &m->layers[i];
        nn__ops(l->type)->forward(m, l, B);
    }
}

/* loss and accuracy of the output for a batch into stats[0..2]; dout when training */
/* the rows a sample's output gives the loss: its steps for a sequence, else 1 */
NN__PRIVATE int64_t nn__out_rows(const nn_model *m) {
    const nn_layer *o = &m->layers[m->n_layers - 1];
    return o->seq ? o->shape[0] : 1;
}
NN__PRIVATE void nn__loss(nn_model *m, const int32_t *labels, const float *targets, int64_t B, float *dout,
                          double *stats) {
    const nn_layer *o = &m->layers[m->n_layers - 1];
    const int64_t C = o->size / nn__out_rows(m);
    B *= nn__out_rows(m);
    if (m->backend->sync) { /* labels and targets reach the device through the staging */
        if (labels && labels != m->labels) {
            memcpy(m->labels, labels, sizeof(int32_t) * (size_t)B);
            nn__push(m, m->labels, sizeof(int32_t) * (size_t)B);
            labels = m->labels;
        }
        if (targets && targets != m->targets) {
            memcpy(m->targets, targets, sizeof(float) * (size_t)(B * C));
            nn__push(m, m->targets, sizeof(float) * (size_t)(B * C));
            targets = m->targets;
        }
    }
    m->backend->loss(m->backend->ctx, m->config.loss, o->y, labels, targets, B, C, dout, stats);
}

/* the sums of stats (a fit's or an evaluation's) on the host */
NN__PRIVATE void nn__read_stats(const nn_model *m, double *stats, double out[3]) {
    nn__pull(m, stats, sizeof(double) * 3);
    out[0] = stats[0]; out[1] = stats[1]; out[2] = stats[2];
}
NN__PRIVATE void nn__zero_stats(const nn_model *m, double *stats) {
    m->backend->zero(m->backend->ctx, (float *)(void *)stats, (int64_t)(sizeof(double) * 3 / sizeof(float)));
}

#ifndef NN_NO_TRAINING
/* the loss's sums go to stats (see nn__loss) */
NN__PRIVATE void nn__backward(nn_model *m, const int32_t *labels, const float *targets, int64_t B, double *stats,
                              const nn_dist *ds) {
    nn_layer *outl = &m->layers[m->n_layers - 1];
    int i, k;
    for (i = 1; i < m->n_layers; i++) {
        nn_layer *l = &m->layers[i];
        if (l->dy && !nn__is_view(l->type) && !l->assign_dy && !l->dy_first) m->backend->zero(m->backend->ctx, l->dy, B * l->size);
    }
    nn__loss(m, labels, targets, B, outl->dy, stats);
    for (i = m->n_layers - 1; i >= 1; i--) {
        nn_layer *l = &m->layers[i];
        if (!l->dy || !nn__ops(l->type)->backward) continue; /* (no dy before the first trained layer) */
        for (k = 0; k < l->n_inputs; k++) { /* the gradients it writes first, in slots shared (nn__plan_dy) */
            nn_layer *a = &m->layers[nn__owner(m, l->inputs[k])];
            if (a->dy && a->dy_first == i && !a->assign_dy) /* (twice for add(h, h): harmless) */
                m->backend->zero(m->backend->ctx, a->dy, B * a->size);
        }
        for (k = 0; k < l->n_inputs; k++) /* (an input kept in a shared buffer: >>layer-act) */
            if (m->layers[l->inputs[k]].recomp == 1) nn__ops(m->layers[l->inputs[k]].type)->forward(m, &m->layers[l->inputs[k]], B);
        nn__ops(l->type)->backward(m, l, B);
        if (ds && l->dw) ds->grads_ready(ds->ctx, m, l->dw - m->grads); /* (layers in reverse: lo only falls) */
    }
}

NN__PRIVATE void nn__clip_and_step(nn_model *m, float lr) {
    m->step++;
    m->backend->optimizer_step(m->backend->ctx, &m->config.optimizer, lr, m->step, m->params + m->train_off, m->grads,
                               m->opt1, m->opt2, m->n_train);
}
#endif /* NN_NO_TRAINING */

/* No infinity or NaN (an exponent of all ones, which the add carries into the top bit): an OR
   reduction of bits, which compilers vectorize (a loop that returns at the first bad value,
   they do not); every training step checks its batch. */
NN__PRIVATE int nn__all_finite(const float *x, int64_t n) {
    uint32_t bad = 0;
    NN__VLOOP(i, 0, n, uint32_t u; memcpy(&u, x + i, 4); bad |= (u & 0x7f800000u) + 0x00800000u;);
    return !(bad & 0x80000000u);
}

/* A token input's values must be ids below the vocab of the embeddings that read them */
NN__PRIVATE nn_result nn__check_tokens(const nn_model *m, const char *fn, const float *x, int64_t n) {
    const nn_layer *in = &m->layers[0];
    int64_t i;
    if (!in->cfg.input.tokens) return NN_OK;
    for (i = 0; i < n * in->size; i++)
        if (nn__token(x[i], in->cfg.input.vocab) < 0)
            return nn__fail(NN_ERR_DATA, "%s: step %l of row %l is %f, not a token id in [0, %l)", fn, i % in->size,
                            i / in->size, (double)x[i], in->cfg.input.vocab);
    return NN_OK;
}

/* Every input of every entry point: finite (else ReLU turns NaN into 0 and the output looks
   fine), and token ids where the input is tokens */
NN__PRIVATE nn_result nn__check_inputs(const nn_model *m, const char *fn, const float *x, int64_t n, int64_t features) {
    int64_t i;
    if (!nn__all_finite(x, n * features))
        for (i = 0; i < n * features; i++)
            if (!(x[i] - x[i] == 0.0f))
                return nn__fail(NN_ERR_DATA, "%s: feature %l of row %l is %s", fn, i % features, i / features,
                                x[i] != x[i] ? "NaN" : "infinite");
    return m ? nn__check_tokens(m, fn, x, n) : NN_OK;
}

/* Check a batch or data set against the model: widths, labels, finiteness. */
NN__PRIVATE nn_result nn__check_rows(const nn_model *m, const char *fn, const float *x, const int32_t *labels,
                                     const float *targets, int64_t n, int64_t features, int64_t n_targets, int need_loss) {
    const int64_t in = nn_model_input_size(m), C = nn_model_output_size(m);
    const nn_loss loss = m->config.loss;
    int64_t i, j;
    nn_result r;
    if (n < 1) return nn__fail(NN_ERR_DATA, "%s: the data set is empty", fn);
    if (!x) return nn__fail(NN_ERR_INVALID_ARG, "%s: x is NULL", fn);
    if (features != in) return nn__fail(NN_ERR_DATA, "%s: rows have %l features, the model's input takes %l", fn, features, in);
    if (need_loss) {
        if ((loss == NN_LOSS_HINGE) && !labels) return nn__fail(NN_ERR_DATA, "%s: the hinge loss needs integer labels", fn);
        if ((loss == NN_LOSS_MSE || loss == NN_LOSS_BCE) && !targets)
            return nn__fail(NN_ERR_DATA, "%s: this loss needs targets (n_targets = %l)", fn, C);
        if (loss == NN_LOSS_XENT && !labels && !targets)
            return nn__fail(NN_ERR_DATA, "%s: cross-entropy needs labels or one-hot targets", fn);
    }
    if (targets && n_targets != C) return nn__fail(NN_ERR_DATA, "%s: rows have %l targets, the model outputs %l", fn, n_targets, C);
    if (labels) { /* (a sequence output: one label per step, classes per step) */
        const int64_t R = nn__out_rows(m), Cr = C / R;
        for (i = 0; i < n * R; i++)
            if (labels[i] < 0 || labels[i] >= Cr)
                return nn__fail(NN_ERR_DATA, "%s: label %d of row %l is outside [0, %l)", fn, (int)labels[i], i / R, Cr);
    }
    if ((r = nn__check_inputs(m, fn, x, n, features)) != NN_OK) return r;
    if (targets && !nn__all_finite(targets, n * n_targets))
        for (j = 0; j < n * n_targets; j++)
            if (!(targets[j] - targets[j] == 0.0f))
                return nn__fail(NN_ERR_DATA, "%s: target %l of row %l is not finite", fn, j % n_targets, j / n_targets);
    return NN_OK;
}

NN__PRIVATE nn_result nn__check_model(const nn_model *m, const char *fn, int need_train) {
    if (!m) return nn__fail(NN_ERR_INVALID_ARG, "%s: model is NULL", fn);
    if (!m->compiled) return nn__fail(NN_ERR_STATE, "%s: the model is not compiled (call nn_model_compile)", fn);
    if (m->claim && !m->backend->sync && *m->claim != m->stamp) /* (a device model's state is on the device) */
        return nn__fail(NN_ERR_STATE, "%s: the model's arena was taken by another compile or load (a failed one too); "
                        "load this model again", fn);
    if (need_train && !m->grads) return nn__fail(NN_ERR_STATE, "%s: the model was compiled inference_only", fn);
    return NN_OK;
}

NN__PRIVATE nn_result nn__check_batch(const nn_model *m, const char *fn, int64_t n) {
    if (n < 1) return nn__fail(NN_ERR_INVALID_ARG, "%s: batch size %l (must be >= 1)", fn, n);
    if (n > m->config.max_batch)
        return nn__fail(NN_ERR_INVALID_ARG, "%s: batch size %l exceeds max_batch %l given to nn_model_compile", fn, n,
                        m->config.max_batch);
    return NN_OK;
}

#ifndef NN_NO_TRAINING
/* With a data-parallel hook (ds), every process goes through step_begin and reduce_grads, the
   ones that failed too (they send no rows) */
NN__PRIVATE nn_result nn__model_backward(nn_model *m, const char *fn, const float *x, const int32_t *labels,
                                         const float *targets, int64_t n, float *loss, const nn_dist *ds) {
    nn_result r, rr;
    double st[3];
    if ((r = nn__check_model(m, fn, 1)) == NN_OK && (r = nn__check_batch(m, fn, n)) == NN_OK)
        r = nn__check_rows(m, fn, x, labels, targets, n, nn_model_input_size(m), nn_model_output_size(m), 1);
    if (ds) ds->step_begin(ds->ctx, m, r == NN_OK ? n : 0, 0);
    if (r == NN_OK) {
        m->training = 1;
        nn__zero_stats(m, m->stats + 4);
        nn__forward(m, x, n);
        nn__backward(m, labels, targets, n, m->stats + 4, ds);
        m->training = 0;
        nn__read_stats(m, m->stats + 4, st);
        r = nn__device_status(m);
        if (loss) *loss = (float)(st[0] / (double)(n * nn__out_rows(m)));
    } else if (ds && m->grads) m->backend->zero(m->backend->ctx, m->grads, m->n_train);
    if (ds && (rr = ds->reduce_grads(ds->ctx, m, 0, r != NN_OK)) != NN_OK && r == NN_OK) r = rr;
    return r;
}
NNDEF nn_result nn_model_backward(nn_model *m, const float *x, const int32_t *labels, const float *targets,
                                  int64_t n, float *loss) {
    return nn__model_backward(m, "nn_model_backward", x, labels, targets, n, loss, NULL);
}

/* (with nn_mpi_attach: each process its own batch, the gradients averaged over all rows) */
NNDEF nn_result nn_train_step(nn_model *m, const float *x, const int32_t *labels, const float *targets,
                              int64_t n, float lr, float *loss) {
    nn_result r = nn__model_backward(m, "nn_train_step", x, labels, targets, n, loss, m ? m->dist : NULL);
    if (r != NN_OK) return r;
    nn__clip_and_step(m, lr);
    return nn__device_status(m);
}
#endif /* NN_NO_TRAINING */

NNDEF nn_result nn_forward(nn_model *m, const float *x, int64_t n, nn_tensor *out) {
    nn_result r;
    const nn_layer *o;
    int64_t shape[NN_MAX_DIMS];
    int i;
    if ((r = nn__check_model(m, "nn_forward", 0)) != NN_OK) return r;
    if ((r = nn__check_batch(m, "nn_forward", n)) != NN_OK) return r;
    if (!x) return nn__fail(NN_ERR_INVALID_ARG, "nn_forward: x is NULL");
    if ((r = nn__check_inputs(m, "nn_forward", x, n, nn_model_input_size(m))) != NN_OK) return r;
    m->training = 0;
    nn__forward(m, x, n);
    o = &m->layers[m->n_layers - 1];
    nn__pull(m, o->y, sizeof(float) * (size_t)(n * o->size));
    if ((r = nn__device_status(m)) != NN_OK) return r;
    if (out) {
        shape[0] = n;
        for (i = 0; i < o->ndim; i++) shape[i + 1] = o->shape[i];
        *out = nn_tensor_view(o->y, o->ndim + 1, shape);
    }
    return NN_OK;
}

NNDEF nn_result nn_predict(nn_model *m, const float *x, int64_t n, float *out) {
    nn_result r;
    int64_t i, in, C;
    if ((r = nn__check_model(m, "nn_predict", 0)) != NN_OK) return r;
    if (n < 1) return nn__fail(NN_ERR_DATA, "nn_predict: n = %l (must be >= 1)", n);
    if (!x || !out) return nn__fail(NN_ERR_INVALID_ARG, "nn_predict: x or out is NULL");
    if ((r = nn__check_inputs(m, "nn_predict", x, n, nn_model_input_size(m))) != NN_OK) return r;
    in = nn_model_input_size(m);
    C = nn_model_output_size(m);
    m->training = 0;
    for (i = 0; i < n; i += m->config.max_batch) {
        const int64_t b = n - i < m->config.max_batch ? n - i : m->config.max_batch;
        nn__forward(m, x + i * in, b);
        nn__pull(m, m->layers[m->n_layers - 1].y, sizeof(float) * (size_t)(b * C));
        if ((r = nn__device_status(m)) != NN_OK) return r;
        memcpy(out + i * C, m->layers[m->n_layers - 1].y, sizeof(float) * (size_t)(b * C));
    }
    return NN_OK;
}

/* nn_generate: the window's ids (the last n of ids[0..len)) through the whole model as a batch of one */
NN__PRIVATE void nn__gen_prime(nn_model *m, const int32_t *ids, int64_t len, int64_t n) {
    const int64_t T = m->layers[0].size;
    int64_t i;
    for (i = 0; i < T; i++) m->x_stage[i] = (float)ids[len - n + (i < n ? i : n - 1)]; /* (padding: causal, unseen) */
    nn__forward(m, m->x_stage, 1);
}
/* a draw from softmax(z / temperature) over the top_k largest of z[0..V); w: V floats of room */
NN__PRIVATE int32_t nn__gen_draw(const float *z, int64_t V, float temperature, int top_k, float *w, uint64_t *rng) {
    int64_t i, best = nn_argmax(z, V);
    float cut = -INFINITY, sum = 0.0f, r;
    if (!(temperature > 0.0f)) return (int32_t)best;
    if (top_k > 0 && top_k < V) { /* the top_k-th largest: selection on a copy */
        int64_t lo = 0, hi = V - 1, k = top_k - 1;
        memcpy(w, z, sizeof(float) * (size_t)V);
        while (lo < hi) {
            const float piv = w[(lo + hi) / 2];
            int64_t a = lo, b = hi;
            while (a <= b) {
                while (w[a] > piv) a++;
                while (w[b] < piv) b--;
                if (a <= b) { const float t = w[a]; w[a] = w[b]; w[b] = t; a++; b--; }
            }
            if (k <= b) hi = b; else if (k >= a) lo = a; else break;
        }
        cut = w[k];
    }
    for (i = 0; i < V; i++) sum += (w[i] = z[i] >= cut ? expf((z[i] - z[best]) / temperature) : 0.0f);
    r = nn__rng_uniform(rng) * sum;
    for (i = 0; i < V - 1; i++) if ((r -= w[i]) < 0.0f && w[i] > 0.0f) break;
    while (w[i] == 0.0f && i > 0) i--; /* (rounding at the end: the last kept id) */
    return (int32_t)i;
}
NNDEF nn_result nn_generate(nn_model *m, int32_t *ids, int64_t n_prompt, int64_t n_new, float temperature, int top_k,
                            uint64_t seed) {
    const nn_layer *o;
    nn_result r;
    int64_t T, V, k, pos, len, i;
    float *w;
    uint64_t rng = seed;
    if ((r = nn__check_model(m, "nn_generate", 0)) != NN_OK) return r;
    if (!ids || n_prompt < 1 || n_new < 0) return nn__fail(NN_ERR_INVALID_ARG, "nn_generate: no ids, an empty prompt or n_new < 0");
    if (!m->layers[0].cfg.input.tokens) return nn__fail(NN_ERR_UNSUPPORTED, "nn_generate: the input is not token ids (nn_input_seq(m, T, 0))");
    if (m->backend->sync) return nn__fail(NN_ERR_UNSUPPORTED, "nn_generate: runs on the CPU (nn_cuda_detach first)");
    o = &m->layers[m->n_layers - 1];
    T = m->layers[0].size;
    if (!o->seq || o->ndim != 2) return nn__fail(NN_ERR_UNSUPPORTED, "nn_generate: the output is not per-step logits (T, V)");
    V = o->shape[1];
    for (k = 1; k < m->n_layers; k++) {
        const nn_layer *l = &m->layers[k];
        if (!nn__ops(l->type)->step || !l->seq || (l->type == NN_LAYER_ATTENTION && !l->cfg.attn.causal))
            return nn__fail(NN_ERR_UNSUPPORTED, "nn_generate: layer %d (%s) does not run step by step", (int)k,
                            nn__layer_name(l->type));
    }
    for (k = 0; k < n_prompt; k++)
        if (ids[k] < 0 || ids[k] >= m->layers[0].cfg.input.vocab)
            return nn__fail(NN_ERR_DATA, "nn_generate: prompt id %l is %d, not in [0, %l)", k, (int)ids[k], m->layers[0].cfg.input.vocab);
    if (!(temperature >= 0.0f) || top_k < 0) return nn__fail(NN_ERR_INVALID_ARG, "nn_generate: temperature < 0 or top_k < 0");
    if (n_new == 0) return NN_OK;
    if (!(w = (float *)m->allocator.alloc(sizeof(float) * (size_t)V, m->allocator.user)))
        return nn__fail(NN_ERR_OUT_OF_MEMORY, "nn_generate: no memory for %l logits", V);
    m->training = 0;
    len = n_prompt;
    pos = len < T ? len : T;
    nn__gen_prime(m, ids, len, pos);
    for (k = 0; k < n_new; k++) {
        const int32_t id = nn__gen_draw(o->y + (pos - 1) * V, V, temperature, top_k, w, &rng);
        ids[len++] = id;
        if (k + 1 == n_new) break;
        if (pos == T) { /* the window is full: its last half again, at once */
            pos = T / 2 > 0 ? T / 2 : 1;
            nn__gen_prime(m, ids, len, pos);
            continue;
        }
        m->x_stage[pos] = (float)id;
        for (i = 1; i < m->n_layers; i++) nn__ops(m->layers[i].type)->step(m, &m->layers[i], pos);
        pos++;
    }
    m->allocator.free(w, m->allocator.user);
    return NN_OK;
}

/* >>train: metrics, evaluate, fit ------------------------------------------------------------ */
NN__PRIVATE float nn__nan(void) { volatile float z = 0.0f; return z / z; }

/* a data set's rows [lo, lo + n) in order, or rows[0..n) of it, as the batch to run: in place
   on the CPU where they are contiguous, else gathered into the staging (by the device
   backend's data path, into its arena) */
NN__PRIVATE void nn__batch(nn_model *m, int slot, const nn_dataset *d, const int64_t *rows, int64_t lo, int64_t n,
                           const float **x, const int32_t **labels, const float **targets) {
    const int64_t in = d->features, C = d->n_targets;
    int64_t i;
    *labels = NULL;
    *targets = NULL;
    if (m->backend->data_rows) {
        m->backend->data_rows(m->backend->ctx, slot, rows, lo, n, m->x_stage, d->labels ? m->labels : NULL,
                              d->targets ? m->targets : NULL);
        *x = m->x_stage;
        if (d->labels) *labels = m->labels;
        if (d->targets) *targets = m->targets;
    } else if (!rows) { /* in order: the batch is contiguous already */
        *x = d->x + lo * in;
        if (d->labels) *labels = d->labels + lo;
        if (d->targets) *targets = d->targets + lo * C;
    } else { /* gather the batch's rows */
        for (i = 0; i < n; i++) {
            const int64_t row = rows[i];
            memcpy(m->x_stage + i * in, d->x + row * in, sizeof(float) * (size_t)in);
            if (d->labels) m->labels[i] = d->labels[row];
            if (d->targets) memcpy(m->targets + i * C, d->targets + row * C, sizeof(float) * (size_t)C);
        }
        *x = m->x_stage;
        if (d->labels) *labels = m->labels;
        if (d->targets) *targets = m->targets;
    }
}

NN__PRIVATE nn_result nn__data_begin(nn_model *m, int slot, const nn_dataset *d) {
    if (!m->backend->data_begin) return NN_OK;
    return m->backend->data_begin(m->backend->ctx, slot, d->x, d->labels, d->targets, d->n, d->features, d->n_targets);
}
NN__PRIVATE void nn__data_end(nn_model *m, int slot) {
    if (m->backend->data_end) m->backend->data_end(m->backend->ctx, slot);
}

/* (ds: each process evaluated its part; the sums are over all of them) */
NN__PRIVATE nn_result nn__eval_rows(nn_model *m, const nn_dataset *d, float *loss, float *acc, const nn_dist *ds) {
    const int64_t B = m->config.max_batch;
    const int has_loss = nn__loss_defined(m->config.loss, nn__loss_labels(m->config.loss, d->labels, d->targets),
                                          d->targets);
    double st[4] = {0.0, 0.0, 0.0, 0.0};
    int64_t i;
    nn_result r;
    if ((r = nn__data_begin(m, 1, d)) != NN_OK) {
        if (ds) ds->reduce(ds->ctx, st, 4, 0); /* (still in the collective) */
        return r;
    }
    m->training = 0;
    nn__zero_stats(m, m->stats + 4);
    for (i = 0; i < d->n; i += B) {
        const int64_t b = d->n - i < B ? d->n - i : B;
        const int32_t *lab;
        const float *x, *tg;
        nn__batch(m, 1, d, NULL, i, b, &x, &lab, &tg);
        nn__forward(m, x, b);
        nn__loss(m, lab, tg, b, NULL, m->stats + 4);
    }
    nn__data_end(m, 1);
    nn__read_stats(m, m->stats + 4, st);
    st[3] = (double)d->n;
    r = nn__device_status(m);
    if (ds) ds->reduce(ds->ctx, st, 4, 0);
    if (r != NN_OK) return r;
    if (loss) *loss = has_loss ? (float)(st[0] / st[3]) : nn__nan();
    if (acc) *acc = st[2] > 0.0 ? (float)(st[1] / st[2]) : nn__nan();
    return NN_OK;
}

/* an nn_dataset has one label (or target row) per row; a sequence output wants one per step */
NN__PRIVATE nn_result nn__check_one_label(const nn_model *m, const char *fn) {
    if (nn__out_rows(m) > 1)
        return nn__fail(NN_ERR_UNSUPPORTED, "%s: the model's output is a sequence (a label per step); train it with "
                        "nn_train_step or nn_model_backward on labels (n, T)", fn);
    return NN_OK;
}
NNDEF nn_result nn_evaluate(nn_model *m, const nn_dataset *d, float *loss, float *acc) {
    nn_result r;
    if ((r = nn__check_model(m, "nn_evaluate", 0)) != NN_OK) return r;
    if (!d) return nn__fail(NN_ERR_INVALID_ARG, "nn_evaluate: data set is NULL");
    if ((r = nn__check_one_label(m, "nn_evaluate")) != NN_OK) return r;
    if ((r = nn__check_rows(m, "nn_evaluate", d->x, d->labels, d->targets, d->n, d->features, d->n_targets, 1)) != NN_OK)
        return r;
    return nn__eval_rows(m, d, loss, acc, NULL);
}

NNDEF nn_fit_config nn_fit_defaults(void) {
    nn_fit_config c;
    memset(&c, 0, sizeof c);
    c.epochs = 10;
    c.batch_size = 32;
    c.shuffle = 1;
    c.verbose = 1;
    return c;
}

#ifndef NN_NO_TRAINING
NN__PRIVATE double nn__now(void) {
#if NN__OMP
    return omp_get_wtime();
#elif !defined(NN_NO_STDIO)
    return (double)clock() / CLOCKS_PER_SEC; /* single-threaded: CPU time is wall time */
#else
    return 0.0;
#endif
}
#endif /* NN_NO_TRAINING */

#ifndef NN_NO_STDIO
#ifndef NN_NO_TRAINING
NN__PRIVATE void nn__print_metric(const char *name, float v) {
    if (v == v) fprintf(stderr, "  %s %.4f", name, (double)v);
}
NN__PRIVATE void nn__print_epoch(const nn_epoch_stats *s, int epoch, int epochs) {
    fprintf(stderr, "epoch %d/%d", epoch, epochs);
    nn__print_metric("loss", s->loss);
    nn__print_metric("acc", s->acc);
    nn__print_metric("val_loss", s->val_loss);
    nn__print_metric("val_acc", s->val_acc);
    fprintf(stderr, "  lr %.3g  %.2fs\n", (double)s->lr, s->seconds);
}
NN__PRIVATE void nn__print_bar(int epoch, int epochs, int64_t b, int64_t nb, float loss, float acc) {
    const int width = 24;
    const int fill = (int)(width * b / nb);
    int k;
    fprintf(stderr, "\repoch %d/%d [", epoch, epochs);
    for (k = 0; k < width; k++) fputc(k < fill ? '=' : k == fill ? '>' : ' ', stderr);
    fprintf(stderr, "] %lld/%lld  loss %.4f", (long long)b, (long long)nb, (double)loss);
    if (acc == acc) fprintf(stderr, "  acc %.4f", (double)acc);
    fflush(stderr);
}
#endif /* NN_NO_TRAINING */
#endif

#ifndef NN_NO_TRAINING
NN__PRIVATE nn_result nn__fit_check(nn_model *m, const nn_dataset *train, const nn_dataset *val, nn_fit_config *cfg) {
    nn_result r;
    if ((r = nn__check_model(m, "nn_fit", 1)) != NN_OK) return r;
    if (!train || !cfg) return nn__fail(NN_ERR_INVALID_ARG, "nn_fit: train and cfg must not be NULL");
    if ((r = nn__check_one_label(m, "nn_fit")) != NN_OK) return r;
    if (cfg->batch_size < 1) return nn__fail(NN_ERR_INVALID_ARG, "nn_fit: batch size %l (must be >= 1)", cfg->batch_size);
    if (cfg->batch_size > m->config.max_batch)
        return nn__fail(NN_ERR_INVALID_ARG, "nn_fit: batch size %l exceeds max_batch %l given to nn_model_compile",
                        cfg->batch_size, m->config.max_batch);
    if (cfg->epochs < 0) return nn__fail(NN_ERR_INVALID_ARG, "nn_fit: epochs = %d", cfg->epochs);
    if (cfg->history_cap < 0 || (cfg->history_cap > 0 && !cfg->history))
        return nn__fail(NN_ERR_INVALID_ARG, "nn_fit: history_cap = %d without a history array", cfg->history_cap);
    if ((r = nn__check_rows(m, "nn_fit (training set)", train->x, train->labels, train->targets, train->n,
                            train->features, train->n_targets, 1)) != NN_OK) return r;
    if (val && (r = nn__check_rows(m, "nn_fit (validation set)", val->x, val->labels, val->targets, val->n,
                                   val->features, val->n_targets, 1)) != NN_OK) return r;
    if (m->epoch_batch > 0 && (m->fit_batch != cfg->batch_size || m->fit_rows != train->n))
        return nn__fail(NN_ERR_STATE, "nn_fit: resuming an epoch stopped after batch %l of a fit with batch size %l over %l rows; "
                        "this fit has batch size %l over %l rows", m->epoch_batch, m->fit_batch, m->fit_rows,
                        cfg->batch_size, train->n);
    if ((cfg->checkpoint_epochs > 0 || cfg->checkpoint_steps > 0) && !cfg->checkpoint_path)
        return nn__fail(NN_ERR_INVALID_ARG, "nn_fit: a checkpoint period without checkpoint_path");
#ifdef NN_NO_STDIO
    if (cfg->checkpoint_epochs > 0 || cfg->checkpoint_steps > 0)
        return nn__fail(NN_ERR_UNSUPPORTED, "nn_fit: checkpoints need files (NN_NO_STDIO is defined)");
#endif
    return NN_OK;
}
/* Data-parallel: every process learns whether any failed (each calls this at the same point);
   the ones that did not get NN_ERR_STATE saying so */
NN__PRIVATE nn_result nn__agree(const nn_model *m, nn_result r, const char *what) {
    double bad = r != NN_OK;
    if (!m || !m->dist) return r;
    m->dist->reduce(m->dist->ctx, &bad, 1, 0);
    if (r == NN_OK && bad > 0.0)
        return nn__fail(NN_ERR_STATE, "nn_fit: %d of %d processes failed (%s)", (int)bad, m->dist->size, what);
    return r;
}
#ifndef NN_NO_STDIO
/* a checkpoint, written by one process (rank 0) of a data-parallel fit */
NN__PRIVATE nn_result nn__fit_checkpoint(nn_model *m, const char *path) {
    nn_result r = !m->dist || m->dist->rank == 0 ? nn_save_checkpoint(m, path) : NN_OK;
    return nn__agree(m, r, "the checkpoint on rank 0");
}
#endif

NNDEF nn_result nn_fit(nn_model *m, const nn_dataset *train, const nn_dataset *val, nn_fit_config *cfg) {
    const nn_dist *ds = m ? m->dist : NULL;
    int64_t *perm = NULL, nb, i;
    int e, stop = 0, bar = 0, verbose;
    nn_result r = nn__fit_check(m, train, val, cfg);
    nn_dataset vpart;
    memset(&vpart, 0, sizeof vpart);
    if (r == NN_OK) {
        cfg->epochs_run = 0;
        perm = (int64_t *)m->allocator.alloc(sizeof(int64_t) * (size_t)train->n, m->allocator.user);
        if (!perm) r = nn__fail(NN_ERR_OUT_OF_MEMORY, "nn_fit: no memory for %l row indices", train->n);
        else if ((r = nn__data_begin(m, 0, train)) != NN_OK) { m->allocator.free(perm, m->allocator.user); perm = NULL; }
    }
    if ((r = nn__agree(m, r, "checks or memory")) != NN_OK) {
        if (perm) { nn__data_end(m, 0); m->allocator.free(perm, m->allocator.user); }
        return r;
    }
    nb = (train->n + cfg->batch_size - 1) / cfg->batch_size;
    if (ds && ds->sharded) { /* as many steps as the largest shard needs */
        double v = (double)nb;
        ds->reduce(ds->ctx, &v, 1, 1);
        nb = (int64_t)v;
    }
    if (val) vpart = *val;
    if (val && ds && !ds->sharded) vpart = nn_dataset_slice(val, val->n * ds->rank / ds->size,
                                                            val->n * (ds->rank + 1) / ds->size - val->n * ds->rank / ds->size);
    verbose = cfg->verbose > 0 && (!ds || ds->rank == 0);
#ifndef NN_NO_STDIO
    bar = verbose && NN__ISATTY_STDERR();
#else
    (void)bar; (void)verbose;
#endif
    for (e = 0; e < cfg->epochs && !stop; e++) {
        nn_epoch_stats st;
        nn_progress pg;
        double t0 = nn__now(), sums[4] = {0.0, 0.0, 0.0, 0.0};
        int64_t seen = 0, b, b0 = m->epoch_batch;
        memset(&st, 0, sizeof st);
        memset(&pg, 0, sizeof pg);
        pg.loss = nn__nan();
        st.lr = nn_optimizer_lr(&m->config.optimizer, m->epoch, m->step);
        /* a resumed epoch (from a checkpoint) replays its shuffle from the generator state
           saved before it, and skips the batches already done */
        if (b0 == 0) m->epoch_rng = m->rng;
        m->rng = m->epoch_rng;
        for (i = 0; i < train->n; i++) perm[i] = i;
        if (cfg->shuffle)
            for (i = train->n - 1; i > 0; i--) { /* Fisher-Yates */
                const int64_t j = nn__rng_below(&m->rng, i + 1), t = perm[i];
                perm[i] = perm[j]; perm[j] = t;
            }
        m->fit_batch = cfg->batch_size;
        m->fit_rows = train->n;
        nn__zero_stats(m, m->stats);
        for (b = b0; b < nb && !stop; b++) {
            const int64_t lo = b * cfg->batch_size;
            const int64_t n = lo >= train->n ? 0 : train->n - lo < cfg->batch_size ? train->n - lo : cfg->batch_size;
            /* this process's rows of the batch: all of them, or its part of the shared batch */
            const int64_t mlo = ds && !ds->sharded ? lo + n * ds->rank / ds->size : lo;
            const int64_t mn = ds && !ds->sharded ? lo + n * (ds->rank + 1) / ds->size - mlo : n;
            const int32_t *lab;
            const float *tg, *xb;
            /* the running loss and accuracy come back from a device only when something shows them */
            const int report = bar || cfg->callback || b + 1 == nb;
            if (ds) ds->step_begin(ds->ctx, m, mn, ds->sharded ? 0 : n);
            if (mn > 0) {
                nn__batch(m, 0, train, cfg->shuffle ? perm + mlo : NULL, mlo, mn, &xb, &lab, &tg);
                m->training = 1;
                nn__forward(m, xb, mn);
                nn__backward(m, lab, tg, mn, m->stats, ds);
                m->training = 0;
            } else m->backend->zero(m->backend->ctx, m->grads, m->n_train); /* (a process with no rows this step) */
            r = nn__device_status(m);
            if (ds) {
                const nn_result rr = ds->reduce_grads(ds->ctx, m, ds->sharded ? 0 : n, r != NN_OK);
                if (r == NN_OK) r = rr;
            }
            if (r != NN_OK) { stop = 2; break; }
            nn__clip_and_step(m, nn_optimizer_lr(&m->config.optimizer, m->epoch, m->step));
            m->epoch_batch = b + 1;
            if (!ds && (r = nn__device_status(m)) != NN_OK) { stop = 2; break; } /* (data-parallel: the next reduction's) */
#ifndef NN_NO_STDIO
            if (cfg->checkpoint_steps > 0 && m->step % cfg->checkpoint_steps == 0 &&
                (r = nn__fit_checkpoint(m, cfg->checkpoint_path)) != NN_OK) { stop = 2; break; }
#endif
            seen += mn;
            if (!report) continue;
            nn__read_stats(m, m->stats, sums);
            sums[3] = (double)seen;
            if (ds && b + 1 == nb) ds->reduce(ds->ctx, sums, 4, 0); /* (the epoch's figures: over all processes) */
            pg.epoch = e + 1; pg.epochs = cfg->epochs; pg.batch = b + 1; pg.batches = nb;
            pg.loss = (float)(sums[0] / sums[3]);
            pg.acc = sums[2] > 0.0 ? (float)(sums[1] / sums[2]) : nn__nan();
#ifndef NN_NO_STDIO
            if (bar && ((b + 1) % (nb / 40 + 1) == 0 || b + 1 == nb)) nn__print_bar(e + 1, cfg->epochs, b + 1, nb, pg.loss, pg.acc);
#endif
            if (cfg->callback && cfg->callback(&pg, cfg->user)) stop = 1;
            if (ds && cfg->callback) { /* a stop anywhere stops every process after this batch */
                double v = stop;
                ds->reduce(ds->ctx, &v, 1, 1);
                stop = v > 0.0;
            }
        }
        if (stop == 2) break; /* a checkpoint or the device failed: r says why */
        if (stop && m->epoch_batch < nb) break; /* stopped inside the epoch: it stays where it is (epoch_batch) */
        st.loss = pg.loss;
        st.acc = sums[3] > 0.0 ? pg.acc : nn__nan();
        st.val_loss = st.val_acc = nn__nan();
        if (val) {
            r = nn__eval_rows(m, &vpart, &st.val_loss, &st.val_acc, ds);
            if ((r = nn__agree(m, r, "validation")) != NN_OK) { stop = 2; break; }
        }
        m->epoch++;
        m->epoch_batch = 0;
#ifndef NN_NO_STDIO
        if (cfg->checkpoint_epochs > 0 && m->epoch % cfg->checkpoint_epochs == 0 &&
            (r = nn__fit_checkpoint(m, cfg->checkpoint_path)) != NN_OK) { stop = 2; break; }
#endif
        st.epoch = m->epoch;
        st.seconds = nn__now() - t0;
        if (e < cfg->history_cap) cfg->history[e] = st;
        cfg->epochs_run = e + 1;
#ifndef NN_NO_STDIO
        if (bar) fprintf(stderr, "\r%90s\r", ""); /* clear the bar before the epoch line */
        if (verbose) nn__print_epoch(&st, e + 1, cfg->epochs);
#endif
        pg.epoch_end = 1;
        pg.stats = st;
        if (cfg->callback && cfg->callback(&pg, cfg->user)) stop = 1;
        if (ds && cfg->callback) {
            double v = stop;
            ds->reduce(ds->ctx, &v, 1, 1);
            stop = v > 0.0;
        }
    }
    nn__data_end(m, 0);
    m->allocator.free(perm, m->allocator.user);
    return stop == 2 ? r : NN_OK;
}
#endif /* NN_NO_TRAINING */

/* >>data: data sets, the CSV reader ------------------------------------------------------------ */
NNDEF nn_dataset nn_dataset_make(const float *x, int64_t n, int64_t features, const int32_t *labels) {
    nn_dataset d;
    memset(&d, 0, sizeof d);
    d.x = x; d.n = n; d.features = features; d.labels = labels;
    return d;
}

NNDEF nn_dataset nn_dataset_slice(const nn_dataset *d, int64_t from, int64_t count) {
    nn_dataset s = *d;
    if (from < 0) from = 0;
    if (from > d->n) from = d->n;
    if (count < 0 || count > d->n - from) count = d->n - from;
    s.x = d->x ? d->x + from * d->features : NULL;
    s.labels = d->labels ? d->labels + from : NULL;
    s.targets = d->targets ? d->targets + from * d->n_targets : NULL;
    s.n = count;
    s.owned = NULL;
    return s;
}

NNDEF nn_result nn_dataset_shuffle(nn_dataset *d, uint64_t seed) {
    float *x, *t;
    int32_t *lab;
    int64_t i, k;
    uint64_t s = seed;
    if (!d || !d->owned) return nn__fail(NN_ERR_INVALID_ARG, "nn_dataset_shuffle: the data set does not own its rows");
    x = (float *)(uintptr_t)d->x;
    t = (float *)(uintptr_t)d->targets;
    lab = (int32_t *)(uintptr_t)d->labels;
    for (i = d->n - 1; i > 0; i--) {
        const int64_t j = nn__rng_below(&s, i + 1);
        for (k = 0; k < d->features; k++) { float v = x[i * d->features + k]; x[i * d->features + k] = x[j * d->features + k]; x[j * d->features + k] = v; }
        for (k = 0; t && k < d->n_targets; k++) { float v = t[i * d->n_targets + k]; t[i * d->n_targets + k] = t[j * d->n_targets + k]; t[j * d->n_targets + k] = v; }
        if (lab) { int32_t v = lab[i]; lab[i] = lab[j]; lab[j] = v; }
    }
    return NN_OK;
}

NNDEF void nn_dataset_free(nn_dataset *d) {
#ifndef NN_NO_MALLOC
    if (d && d->owned) free(d->owned);
#endif
    if (d) memset(d, 0, sizeof *d);
}

/* Parse NUL-terminated CSV text in place (it is modified); name is for messages. */
NN__PRIVATE nn_result nn__csv_parse(char *text, int label_col, nn_dataset *out, const char *path) {
    char *p;
    int64_t cols = 1, rows = 0, r, features, line;
    int lc;
    float *x;
    int32_t *lab;
    void *block;
#ifdef NN_NO_MALLOC
    (void)text; (void)label_col; (void)out; (void)path; (void)p; (void)cols; (void)rows; (void)r; (void)features;
    (void)line; (void)lc; (void)x; (void)lab; (void)block;
    return nn__fail(NN_ERR_UNSUPPORTED, "nn_csv_load: NN_NO_MALLOC is defined");
#else
    /* header: count columns */
    for (p = text; *p && *p != '\n'; p++) if (*p == ',') cols++;
    if (!*p || p == text) { return nn__fail(NN_ERR_FORMAT, "nn_csv_load: '%s' has no header line and rows", path); }
    for (p++; *p; ) { /* count non-empty rows */
        char *e = strchr(p, '\n');
        char *end = e ? e : p + strlen(p);
        char *q = p;
        while (q < end && (*q == ' ' || *q == '\r' || *q == '\t')) q++;
        if (q < end) rows++;
        p = e ? e + 1 : end;
    }
    lc = label_col == -1 ? (int)cols - 1 : label_col;
    if (label_col < -2 || lc >= cols) { return nn__fail(NN_ERR_INVALID_ARG, "nn_csv_load: label column %d, but '%s' has %l columns", label_col, path, cols); }
    if (rows == 0) { return nn__fail(NN_ERR_DATA, "nn_csv_load: '%s' has no data rows", path); }
    features = lc >= 0 ? cols - 1 : cols;
    if (features < 1) { return nn__fail(NN_ERR_FORMAT, "nn_csv_load: '%s' has no feature columns", path); }
    block = malloc(sizeof(float) * (size_t)(rows * features) + sizeof(int32_t) * (size_t)rows + 16);
    if (!block) { return nn__fail(NN_ERR_OUT_OF_MEMORY, "nn_csv_load: no memory for %l rows", rows); }
    x = (float *)block;
    lab = (int32_t *)(void *)(x + rows * features);
    p = strchr(text, '\n') + 1;
    for (r = 0, line = 2; r < rows; line++) {
        char *e = strchr(p, '\n');
        char *end = e ? e : p + strlen(p);
        char *q = p;
        int64_t c, fi = 0;
        while (q < end && (*q == ' ' || *q == '\r' || *q == '\t')) q++;
        if (q == end) { p = e ? e + 1 : end; continue; } /* blank line */
        if (e) *e = 0;
        for (c = 0; c < cols; c++) {
            char *ep;
            double v = strtod(q, &ep);
            if (ep == q) {
                free(block);
                return nn__fail(NN_ERR_FORMAT, "nn_csv_load: %s:%l: column %l (from 0, as label_col) is not a number", path,
                                line, c);
            }
            if (!(v - v == 0.0)) { /* (strtod reads "nan" and "inf": refused here, not later in nn_fit) */
                free(block);
                return nn__fail(NN_ERR_DATA, "nn_csv_load: %s:%l: column %l (from 0, as label_col) is %s", path, line, c,
                                v != v ? "NaN" : "infinite");
            }
            while (*ep == ' ' || *ep == '\r' || *ep == '\t') ep++;
            if (c + 1 < cols ? *ep != ',' : *ep != 0) {
                free(block);
                return nn__fail(NN_ERR_FORMAT, "nn_csv_load: %s:%l: expected %l numeric columns", path, line, cols);
            }
            if (c == lc) {
                if (v != floor(v) || v < 0 || v > 2147483647.0) {
                    free(block);
                    return nn__fail(NN_ERR_DATA, "nn_csv_load: %s:%l: label is not a non-negative integer", path, line);
                }
                lab[r] = (int32_t)v;
            } else {
                x[r * features + fi++] = (float)v;
            }
            q = ep + 1;
        }
        r++;
        p = e ? e + 1 : end;
    }
    memset(out, 0, sizeof *out);
    out->x = x;
    out->labels = lc >= 0 ? lab : NULL;
    out->n = rows;
    out->features = features;
    out->owned = block;
    return NN_OK;
#endif
}

NNDEF nn_result nn_csv_load_mem(const char *src, size_t len, int label_col, nn_dataset *out) {
    nn_allocator al;
    char *text;
    nn_result r;
    if (!src || !out) return nn__fail(NN_ERR_INVALID_ARG, "nn_csv_load_mem: text or out is NULL");
    if (memchr(src, 0, len)) return nn__fail(NN_ERR_FORMAT, "nn_csv_load_mem: the text has a NUL byte (not CSV)");
    if ((r = nn__allocator_or_default(NULL, &al, "nn_csv_load_mem")) != NN_OK) return r;
    if (!(text = (char *)al.alloc(len + 1, al.user))) return nn__fail(NN_ERR_OUT_OF_MEMORY, "nn_csv_load_mem: no memory for %l bytes", (int64_t)len);
    memcpy(text, src, len);
    text[len] = 0;
    r = nn__csv_parse(text, label_col, out, "CSV text");
    al.free(text, al.user);
    return r;
}


/* >>file: the model file (safetensors), checkpoints, IDX and NumPy readers -------------------
   Layout (docs/FORMAT.md): u64 little-endian header length, a JSON header padded with spaces
   to a multiple of 8, then the tensors' bytes, back to back. Bytes are assembled explicitly,
   so big-endian hosts read and write the same files. The parser is a flat state machine over
   the one shape safetensors allows (object of objects): no recursion, every number and range
   checked, so hostile files fail cleanly. */
#define NN__ST_MAX_HEADER ((uint64_t)100 << 20) /* safetensors' own limit */
#define NN__ST_MAX_DIMS 8

NN__PRIVATE int nn__host_le(void) { const uint32_t one = 1; unsigned char c; memcpy(&c, &one, 1); return c == 1; }
NN__PRIVATE uint64_t nn__rd_le(const unsigned char *p, int n) {
    uint64_t v = 0;
    while (n--) v = v << 8 | p[n];
    return v;
}
NN__PRIVATE uint64_t nn__rd_be(const unsigned char *p, int n) {
    uint64_t v = 0;
    int i;
    for (i = 0; i < n; i++) v = v << 8 | p[i];
    return v;
}
NN__PRIVATE void nn__wr_le(unsigned char *p, uint64_t v, int n) { int i; for (i = 0; i < n; i++) { p[i] = (unsigned char)v; v >>= 8; } }
NN__PRIVATE float nn__f32_bits(uint32_t u) { float f; memcpy(&f, &u, 4); return f; }
NN__PRIVATE uint32_t nn__bits_f32(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }
NN__PRIVATE float nn__f16_to_f32(uint32_t h) {
    const uint32_t s = (h & 0x8000u) << 16, e = (h >> 10) & 31, f = h & 0x3ffu;
    if (e == 31) return nn__f32_bits(s | 0x7f800000u | f << 13);
    if (e) return nn__f32_bits(s | (e + 112) << 23 | f << 13);
    return (s ? -1.0f : 1.0f) * (float)f * (1.0f / 16777216.0f); /* subnormal: f * 2^-24 */
}

/* dtypes: safetensors names; the numeric ones convert to float */
enum { NN__DT_F32, NN__DT_F64, NN__DT_F16, NN__DT_BF16, NN__DT_I64, NN__DT_I32, NN__DT_I16, NN__DT_I8, NN__DT_U8,
       NN__DT_BOOL, NN__DT_U16, NN__DT_U32, NN__DT_U64, NN__DT_F8E4, NN__DT_F8E5, NN__DT_COUNT };
static const char *const nn__dt_names[NN__DT_COUNT] = {"F32", "F64", "F16", "BF16", "I64", "I32", "I16", "I8", "U8",
                                                     "BOOL", "U16", "U32", "U64", "F8_E4M3", "F8_E5M2"};
static const int nn__dt_size[NN__DT_COUNT] = {4, 8, 2, 2, 8, 4, 2, 1, 1, 1, 2, 4, 8, 1, 1};

/* element i of little-endian (le) or big-endian data of a dtype, as a double */
NN__PRIVATE double nn__elem(const unsigned char *p, int dt, int64_t i, int le) {
    const int sz = nn__dt_size[dt];
    const uint64_t u = le ? nn__rd_le(p + i * sz, sz) : nn__rd_be(p + i * sz, sz);
    double d;
    switch (dt) {
    case NN__DT_F32: return nn__f32_bits((uint32_t)u);
    case NN__DT_F64: memcpy(&d, &u, 8); return d;
    case NN__DT_F16: return nn__f16_to_f32((uint32_t)u);
    case NN__DT_BF16: return nn__f32_bits((uint32_t)u << 16);
    case NN__DT_I64: return (double)(int64_t)u;
    case NN__DT_I32: return (double)(int32_t)(uint32_t)u;
    case NN__DT_I16: return (double)(int16_t)(uint16_t)u;
    case NN__DT_I8: return (double)(int8_t)(uint8_t)u;
    default: return (double)u; /* unsigned */
    }
}
/* convert n elements to float; the first non-finite value's index, or -1 */
NN__PRIVATE int64_t nn__convert(float *dst, const unsigned char *src, int dt, int64_t n, int le) {
    int64_t i, bad = -1;
    if (dt == NN__DT_F32 && le == nn__host_le()) {
        if (dst) memcpy(dst, src, (size_t)n * 4);
        for (i = 0; i < n; i++) {
            float v;
            memcpy(&v, src + 4 * i, 4);
            if (!(v - v == 0.0f)) return i;
        }
        return -1;
    }
    for (i = 0; i < n; i++) {
        const float v = (float)nn__elem(src, dt, i, le);
        if (dst) dst[i] = v;
        if (bad < 0 && !(v - v == 0.0f)) bad = i;
    }
    return bad;
}

/* ---- the JSON header ---- */
typedef struct nn__st_entry {
    const char *name;       /* decoded, NUL-terminated (in the parse arena) */
    int dtype, ndim, used;
    int64_t shape[NN__ST_MAX_DIMS], numel;
    uint64_t begin, end;    /* within the data section */
} nn__st_entry;

typedef struct nn__st {
    const unsigned char *data; /* the data section */
    uint64_t data_size;
    nn__st_entry *e;
    int64_t n;
    const char *arch, *config, *position, *version, *quant; /* metadata values, or NULL */
    void *mem;
} nn__st;

typedef struct nn__json { const char *p, *end; char *out; } nn__json;

NN__PRIVATE void nn__json_ws(nn__json *j) { while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r')) j->p++; }
NN__PRIVATE int nn__json_eat(nn__json *j, char c) {
    nn__json_ws(j);
    if (j->p < j->end && *j->p == c) { j->p++; return 1; }
    return 0;
}
NN__PRIVATE int nn__hex4(const char *p, uint32_t *v) {
    int i;
    *v = 0;
    for (i = 0; i < 4; i++) {
        const char c = p[i];
        const int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        if (d < 0) return 0;
        *v = *v << 4 | (uint32_t)d;
    }
    return 1;
}
/* a string, decoded to UTF-8 into j->out (which has room: output never exceeds input) */
NN__PRIVATE const char *nn__json_str(nn__json *j) {
    char *s = j->out;
    if (!nn__json_eat(j, '"')) return NULL;
    while (j->p < j->end && *j->p != '"') {
        unsigned char c = (unsigned char)*j->p++;
        if (c < 0x20) return NULL;
        if (c == '\\') {
            uint32_t u, lo;
            if (j->p >= j->end) return NULL;
            c = (unsigned char)*j->p++;
            switch (c) {
            case '"': case '\\': case '/': *j->out++ = (char)c; break;
            case 'b': *j->out++ = '\b'; break;
            case 'f': *j->out++ = '\f'; break;
            case 'n': *j->out++ = '\n'; break;
            case 'r': *j->out++ = '\r'; break;
            case 't': *j->out++ = '\t'; break;
            case 'u':
                if (j->end - j->p < 4 || !nn__hex4(j->p, &u)) return NULL;
                j->p += 4;
                if (u >= 0xD800 && u < 0xDC00) { /* surrogate pair */
                    if (j->end - j->p < 6 || j->p[0] != '\\' || j->p[1] != 'u' || !nn__hex4(j->p + 2, &lo) ||
                        lo < 0xDC00 || lo >= 0xE000) return NULL;
                    j->p += 6;
                    u = 0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00);
                } else if (u >= 0xDC00 && u < 0xE000) return NULL;
                if (u == 0) return NULL; /* names are C strings */
                if (u < 0x80) *j->out++ = (char)u;
                else if (u < 0x800) { *j->out++ = (char)(0xC0 | u >> 6); *j->out++ = (char)(0x80 | (u & 63)); }
                else if (u < 0x10000) { *j->out++ = (char)(0xE0 | u >> 12); *j->out++ = (char)(0x80 | (u >> 6 & 63)); *j->out++ = (char)(0x80 | (u & 63)); }
                else { *j->out++ = (char)(0xF0 | u >> 18); *j->out++ = (char)(0x80 | (u >> 12 & 63));
                       *j->out++ = (char)(0x80 | (u >> 6 & 63)); *j->out++ = (char)(0x80 | (u & 63)); }
                break;
            default: return NULL;
            }
        } else {
            *j->out++ = (char)c;
        }
    }
    if (j->p >= j->end) return NULL;
    j->p++;
    *j->out++ = 0;
    return s;
}
/* a non-negative integer below 2^62 */
NN__PRIVATE int nn__json_uint(nn__json *j, uint64_t *v) {
    int digits = 0;
    nn__json_ws(j);
    *v = 0;
    while (j->p < j->end && *j->p >= '0' && *j->p <= '9') {
        if (*v > ((uint64_t)1 << 62) / 10) return 0;
        *v = *v * 10 + (uint64_t)(*j->p++ - '0');
        digits++;
    }
    if (!digits || (digits > 1 && j->p[-digits] == '0')) return 0;
    return j->p >= j->end || !(*j->p == '.' || *j->p == 'e' || *j->p == 'E');
}
/* [u, u, ...] into v (at most maxn); the count, or -1 */
NN__PRIVATE int nn__json_uints(nn__json *j, uint64_t *v, int maxn) {
    int n = 0;
    if (!nn__json_eat(j, '[')) return -1;
    if (nn__json_eat(j, ']')) return 0;
    do {
        if (n == maxn || !nn__json_uint(j, &v[n])) return -1;
        n++;
    } while (nn__json_eat(j, ','));
    return nn__json_eat(j, ']') ? n : -1;
}

NN__PRIVATE nn_result nn__st_bad(const char *what, int64_t at) {
    return nn__fail(NN_ERR_FORMAT, "model file: %s (header byte %l)", what, at);
}

/* The parser's memory for a header of hlen bytes: entries (an entry takes > 40 header bytes),
   sort indices, shape scratch, decoded strings. */
NN__PRIVATE size_t nn__st_arena_bytes(uint64_t hlen) {
    const size_t cap = (size_t)(hlen / 48 + 1); /* the shortest entry, "":{"dtype":"I8","shape":[],"data_offsets":[0,0]}, */
    return cap * (sizeof(nn__st_entry) + sizeof(int64_t)) + (size_t)hlen + 16;
}

/* Parse and validate the whole file: header length, JSON, dtypes, shapes, byte ranges (inside
   the data, not overlapping, covering it). st->mem is allocated with al; free it after use. */
NN__PRIVATE nn_result nn__st_parse(nn__st *st, const unsigned char *file, size_t size, const nn_allocator *al) {
    uint64_t hlen;
    nn__json j;
    int64_t cap, i, *ord, gap;
    const char *hdr;
    memset(st, 0, sizeof *st);
    if (size < 8) return nn__fail(NN_ERR_FORMAT, "model file: %l bytes, too short for the 8-byte header length", (int64_t)size);
    if (file[0] == 0x1f && file[1] == 0x8b)
        return nn__fail(NN_ERR_FORMAT, "model file: gzip-compressed data (it starts 1f 8b): decompress it first");
    hlen = nn__rd_le(file, 8);
    if (hlen < 2 || hlen > NN__ST_MAX_HEADER || hlen > (uint64_t)size - 8)
        return nn__fail(NN_ERR_FORMAT, "model file: its first 8 bytes give a header length of %u, which %s (not a "
                        "safetensors file?)", hlen, hlen > NN__ST_MAX_HEADER ? "is over 100 MB" : hlen < 2 ? "is too short"
                        : "runs past the end of the file");
    hdr = (const char *)file + 8;
    st->data = file + 8 + hlen;
    st->data_size = (uint64_t)size - 8 - hlen;
    cap = (int64_t)(hlen / 48 + 1);
    st->mem = al->alloc(nn__st_arena_bytes(hlen), al->user);
    if (!st->mem) return nn__fail(NN_ERR_OUT_OF_MEMORY, "model file: no memory to parse a %l-byte header", (int64_t)hlen);
    st->e = (nn__st_entry *)st->mem;
    ord = (int64_t *)(void *)(st->e + cap);
    j.p = hdr; j.end = hdr + hlen; j.out = (char *)(ord + cap);
    if (!nn__json_eat(&j, '{')) return nn__st_bad("the header is not a JSON object", 0);
    if (!nn__json_eat(&j, '}')) do {
        const char *key = nn__json_str(&j);
        const int64_t at = (int64_t)(j.p - hdr);
        if (!key) return nn__st_bad("expected a string key", at);
        if (!nn__json_eat(&j, ':')) return nn__st_bad("expected ':'", at);
        if (!nn__json_eat(&j, '{')) return nn__st_bad("expected an object", at);
        if (strcmp(key, "__metadata__") == 0) {
            if (st->version || st->arch || st->config || st->position) return nn__st_bad("two __metadata__", at);
            if (!nn__json_eat(&j, '}')) do {
                const char *k = nn__json_str(&j), *v;
                if (!k || !nn__json_eat(&j, ':') || !(v = nn__json_str(&j)))
                    return nn__st_bad("__metadata__ must map strings to strings", (int64_t)(j.p - hdr));
                if (strcmp(k, "nn.version") == 0) st->version = v;
                else if (strcmp(k, "nn.arch") == 0) st->arch = v;
                else if (strcmp(k, "nn.config") == 0) st->config = v;
                else if (strcmp(k, "nn.position") == 0) st->position = v;
                else if (strcmp(k, "nn.quant") == 0) st->quant = v;
            } while (nn__json_eat(&j, ','));
            if (!nn__json_eat(&j, '}')) return nn__st_bad("expected '}' after __metadata__", (int64_t)(j.p - hdr));
        } else {
            nn__st_entry *e = &st->e[st->n];
            int seen = 0, k;
            uint64_t off[3], dims[NN__ST_MAX_DIMS];
            if (st->n == cap) return nn__st_bad("too many tensors for the header's size", at);
            memset(e, 0, sizeof *e);
            e->name = key;
            e->dtype = -1;
            if (!nn__json_eat(&j, '}')) do {
                const char *f = nn__json_str(&j);
                if (!f || !nn__json_eat(&j, ':')) return nn__st_bad("expected a field name", (int64_t)(j.p - hdr));
                if (strcmp(f, "dtype") == 0 && !(seen & 1)) {
                    const char *dt = nn__json_str(&j);
                    if (!dt) return nn__st_bad("dtype is not a string", (int64_t)(j.p - hdr));
                    for (k = 0; k < NN__DT_COUNT; k++) if (strcmp(dt, nn__dt_names[k]) == 0) e->dtype = k;
                    if (e->dtype < 0) return nn__fail(NN_ERR_FORMAT, "model file: tensor '%s' has unknown dtype '%s'", key, dt);
                    seen |= 1;
                } else if (strcmp(f, "shape") == 0 && !(seen & 2)) {
                    const int nd = nn__json_uints(&j, dims, NN__ST_MAX_DIMS);
                    if (nd < 0) return nn__fail(NN_ERR_FORMAT, "model file: tensor '%s': shape is not a list of at most %d non-negative integers", key, NN__ST_MAX_DIMS);
                    e->ndim = nd;
                    e->numel = 1;
                    for (k = 0; k < nd; k++) {
                        if (dims[k] > ((uint64_t)1 << 40) || (dims[k] && (uint64_t)e->numel > ((uint64_t)1 << 40) / dims[k]))
                            return nn__fail(NN_ERR_FORMAT, "model file: tensor '%s' is too large", key);
                        e->shape[k] = (int64_t)dims[k];
                        e->numel *= (int64_t)dims[k];
                    }
                    seen |= 2;
                } else if (strcmp(f, "data_offsets") == 0 && !(seen & 4)) {
                    if (nn__json_uints(&j, off, 3) != 2)
                        return nn__fail(NN_ERR_FORMAT, "model file: tensor '%s': data_offsets is not [begin, end]", key);
                    e->begin = off[0]; e->end = off[1];
                    seen |= 4;
                } else {
                    return nn__fail(NN_ERR_FORMAT, "model file: tensor '%s': unexpected or repeated field '%s'", key, f);
                }
            } while (nn__json_eat(&j, ','));
            if (!nn__json_eat(&j, '}')) return nn__st_bad("expected '}' after a tensor", (int64_t)(j.p - hdr));
            if (seen != 7) return nn__fail(NN_ERR_FORMAT, "model file: tensor '%s' lacks dtype, shape or data_offsets", key);
            if (e->begin > e->end || e->end > st->data_size)
                return nn__fail(NN_ERR_FORMAT, "model file: tensor '%s': bytes [%l, %l) are outside the %l-byte data section",
                                key, (int64_t)(e->begin > ((uint64_t)1 << 62) ? 0 : e->begin),
                                (int64_t)(e->end > ((uint64_t)1 << 62) ? 0 : e->end), (int64_t)st->data_size);
            if (e->end - e->begin != (uint64_t)e->numel * (uint64_t)nn__dt_size[e->dtype])
                return nn__fail(NN_ERR_FORMAT, "model file: tensor '%s': %l bytes for %l elements of %s",
                                key, (int64_t)(e->end - e->begin), e->numel, nn__dt_names[e->dtype]);
            for (k = 0; k < st->n; k++)
                if (strcmp(st->e[k].name, key) == 0) return nn__fail(NN_ERR_FORMAT, "model file: tensor '%s' appears twice", key);
            st->n++;
        }
    } while (nn__json_eat(&j, ','));
    if (!nn__json_eat(&j, '}')) return nn__st_bad("expected ',' or '}'", (int64_t)(j.p - hdr));
    nn__json_ws(&j);
    if (j.p != j.end) return nn__st_bad("bytes after the JSON object", (int64_t)(j.p - hdr));
    /* ranges tile the data section: sort by begin (shell sort), then each starts where the last ended */
    for (i = 0; i < st->n; i++) ord[i] = i;
    for (gap = st->n / 2; gap > 0; gap /= 2)
        for (i = gap; i < st->n; i++) {
            const int64_t t = ord[i];
            int64_t k = i;
            while (k >= gap && (st->e[ord[k - gap]].begin > st->e[t].begin ||
                                (st->e[ord[k - gap]].begin == st->e[t].begin && st->e[ord[k - gap]].end > st->e[t].end))) {
                ord[k] = ord[k - gap];
                k -= gap;
            }
            ord[k] = t;
        }
    {
        uint64_t at = 0;
        for (i = 0; i < st->n; i++) {
            const nn__st_entry *e = &st->e[ord[i]];
            if (e->begin != at)
                return nn__fail(NN_ERR_FORMAT, "model file: tensor '%s' starts at byte %l of the data, expected %l (%s)", e->name,
                                (int64_t)e->begin, (int64_t)at, e->begin < at ? "ranges overlap" : "a gap");
            at = e->end;
        }
        if (at != st->data_size)
            return nn__fail(NN_ERR_FORMAT, "model file: the tensors cover %l of the %l data bytes", (int64_t)at, (int64_t)st->data_size);
    }
    return NN_OK;
}

NN__PRIVATE nn__st_entry *nn__st_find(nn__st *st, const char *name) {
    int64_t i;
    for (i = 0; i < st->n; i++) if (strcmp(st->e[i].name, name) == 0) return &st->e[i];
    return NULL;
}

/* ---- the model's tensors, in file order ---- */
typedef struct nn__tref {
    char name[64];
    int ndim;
    int64_t shape[NN_MAX_DIMS], n;
    float *p;             /* where the values live in the model (NULL before compile) */
    int layer;
    int64_t off;          /* floats into the layer's w (or buf) */
    int buffer;           /* a buffer (batchnorm's running statistics: no optimizer state) */
} nn__tref;

/* The k-th parameter/buffer tensor of the model (0-based; layer order, then each layer's list:
   >>layer-table's tensors); 0 when there is none. */
NN__PRIVATE int nn__tensor_at(const nn_model *m, int64_t k, nn__tref *t) {
    int i, j, n, d;
    for (i = 1; i < m->n_layers; i++) {
        const nn_layer *l = &m->layers[i];
        nn__tdesc td[NN__MAX_TENSORS];
        if (!nn__ops(l->type)->tensors) continue;
        n = nn__ops(l->type)->tensors(m, l, td);
        if (k >= n) { k -= n; continue; }
        j = (int)k;
        memset(t, 0, sizeof *t);
        nn__cat_int(t->name, sizeof t->name, i - 1);
        nn__cat(t->name, sizeof t->name, ".");
        nn__cat(t->name, sizeof t->name, td[j].part);
        t->layer = i;
        t->off = td[j].off;
        t->buffer = td[j].buffer;
        t->ndim = td[j].ndim;
        t->n = 1;
        for (d = 0; d < t->ndim; d++) { t->shape[d] = td[j].shape[d]; t->n *= t->shape[d]; }
        t->p = t->buffer ? (l->buf ? l->buf + t->off : NULL) : (l->w ? l->w + t->off : NULL);
        return 1;
    }
    return 0;
}

/* ---- writing ---- */
/* Output: into a buffer (buf, cap), or streamed to a file descriptor / FILE through a
   staging block; len counts every byte, fail records a short buffer or a failed write. */
#ifndef NN_NO_STDIO
#define NN__STAGE 8192
#else
#define NN__STAGE 1 /* nothing streams */
#endif
typedef struct nn__sink {
    unsigned char *buf;
    size_t cap, len;
    int fail;
    int fd;                 /* >= 0: POSIX file descriptor */
#ifndef NN_NO_STDIO
    FILE *f;
#endif
    size_t staged;
    unsigned char stage[NN__STAGE];
} nn__sink;
NN__PRIVATE void nn__sink_init(nn__sink *s, void *buf, size_t cap) {
    s->buf = (unsigned char *)buf; s->cap = cap; s->len = 0; s->fail = 0; s->fd = -1; s->staged = 0;
#ifndef NN_NO_STDIO
    s->f = NULL;
#endif
}
NN__PRIVATE void nn__sink_flush(nn__sink *s) {
    const unsigned char *p = s->stage;
    size_t n = s->staged;
    s->staged = 0;
    if (s->fail) return;
#if NN__POSIX_IO
    if (s->fd >= 0) {
        while (n > 0) {
            const ssize_t w = write(s->fd, p, n);
            if (w <= 0) { s->fail = 1; return; }
            p += w; n -= (size_t)w;
        }
        return;
    }
#endif
#ifndef NN_NO_STDIO
    if (s->f && fwrite(p, 1, n, s->f) != n) s->fail = 1;
#endif
    (void)p; (void)n;
}
NN__PRIVATE int nn__sink_streams(const nn__sink *s) {
#ifndef NN_NO_STDIO
    if (s->f) return 1;
#endif
    return s->fd >= 0;
}
NN__PRIVATE void nn__put(nn__sink *s, const void *p, size_t n) {
    s->len += n;
    if (nn__sink_streams(s)) {
        const unsigned char *c = (const unsigned char *)p;
        while (n > 0) {
            size_t k = sizeof s->stage - s->staged;
            if (k > n) k = n;
            memcpy(s->stage + s->staged, c, k);
            s->staged += k; c += k; n -= k;
            if (s->staged == sizeof s->stage) nn__sink_flush(s);
        }
        return;
    }
    if (s->buf && !s->fail && s->len <= s->cap) memcpy(s->buf + s->len - n, p, n);
    else s->fail = 1;
}
NN__PRIVATE void nn__puts(nn__sink *s, const char *str) { nn__put(s, str, strlen(str)); }
NN__PRIVATE void nn__put_jstr(nn__sink *s, const char *str) { /* a JSON string; our text needs only these escapes */
    nn__puts(s, "\"");
    for (; *str; str++) {
        if (*str == '"' || *str == '\\') { nn__put(s, "\\", 1); nn__put(s, str, 1); }
        else if (*str == '\n') nn__puts(s, "\\n");
        else nn__put(s, str, 1);
    }
    nn__puts(s, "\"");
}
NN__PRIVATE void nn__put_floats(nn__sink *s, const float *p, int64_t n) {
    if (nn__host_le()) { nn__put(s, p, (size_t)n * 4); return; }
    {
        unsigned char b[4];
        int64_t i;
        for (i = 0; i < n; i++) { nn__wr_le(b, nn__bits_f32(p[i]), 4); nn__put(s, b, 4); }
    }
}

/* the architecture: one line per layer, "type in=... key=value ..." (docs/FORMAT.md) */
NN__PRIVATE void nn__put_arch(nn__sink *s, const nn_model *m) {
    int i;
    nn__puts(s, "\"nn.arch\": \"");
    for (i = 0; i < m->n_layers; i++) {
        const nn_layer *l = &m->layers[i];
        int64_t ins[NN_MAX_INPUTS];
        char t[512];
        int k;
        t[0] = 0;
        if (i) nn__cat(t, sizeof t, "\\n");
        nn__cat(t, sizeof t, nn__layer_name(l->type));
        for (k = 0; k < l->n_inputs; k++) ins[k] = l->inputs[k];
        if (l->n_inputs) nn__key_ints(t, sizeof t, "in", l->n_inputs, ins);
        if (nn__ops(l->type)->put_arch) nn__ops(l->type)->put_arch(t, sizeof t, l);
        if (l->frozen && l->n_params) nn__cat(t, sizeof t, " frozen=1");
        nn__puts(s, t);
    }
    nn__puts(s, "\"");
}
NN__PRIVATE void nn__put_config(nn__sink *s, const nn_model *m) {
    const nn_compile_config *c = &m->config;
    const nn_optimizer *o = &c->optimizer;
    static const char *const scheds[] = {"constant", "step", "cosine"};
    char t[640];
    t[0] = 0;
    nn__cat(t, sizeof t, "loss="); nn__cat(t, sizeof t, nn__loss_names[c->loss]);
    nn__key_int(t, sizeof t, "max_batch", c->max_batch);
    nn__cat(t, sizeof t, " seed="); nn__cat_u64(t, sizeof t, c->seed);
    nn__key_word(t, sizeof t, "optimizer", (int)o->type >= NN_OPT_SGD && (int)o->type <= NN_OPT_RMSPROP ? nn__opt_names[o->type] : "none");
    nn__key_float(t, sizeof t, "lr", o->lr); nn__key_float(t, sizeof t, "momentum", o->momentum); nn__key_int(t, sizeof t, "nesterov", o->nesterov);
    nn__key_float(t, sizeof t, "beta1", o->beta1); nn__key_float(t, sizeof t, "beta2", o->beta2); nn__key_float(t, sizeof t, "alpha", o->alpha); nn__key_float(t, sizeof t, "eps", o->eps);
    nn__key_float(t, sizeof t, "weight_decay", o->weight_decay); nn__key_float(t, sizeof t, "clip_norm", o->clip_norm);
    nn__key_word(t, sizeof t, "schedule", scheds[o->schedule]); nn__key_int(t, sizeof t, "step_size", o->step_size); nn__key_float(t, sizeof t, "gamma", o->gamma);
    nn__key_int(t, sizeof t, "t_max", o->t_max); nn__key_float(t, sizeof t, "lr_min", o->lr_min); nn__key_int(t, sizeof t, "warmup_steps", o->warmup_steps);
    nn__puts(s, "\"nn.config\": ");
    nn__put_jstr(s, t);
}
NN__PRIVATE void nn__put_position(nn__sink *s, const nn_model *m) {
    char t[320];
    t[0] = 0;
    nn__cat(t, sizeof t, "epoch="); nn__cat_int(t, sizeof t, m->epoch);
    nn__key_int(t, sizeof t, "step", m->step);
    nn__cat(t, sizeof t, " rng="); nn__cat_u64(t, sizeof t, m->rng);
    nn__cat(t, sizeof t, " epoch_rng="); nn__cat_u64(t, sizeof t, m->epoch_rng);
    nn__key_int(t, sizeof t, "epoch_batch", m->epoch_batch); nn__key_int(t, sizeof t, "fit_batch", m->fit_batch); nn__key_int(t, sizeof t, "fit_rows", m->fit_rows);
    nn__puts(s, "\"nn.position\": ");
    nn__put_jstr(s, t);
}

/* Every tensor of the file in order: the JSON entries into hdr, or the values into data. */
NN__PRIVATE void nn__emit_tensors(nn__sink *hdr, nn__sink *data, const nn_model *m, int checkpoint) {
    nn__tref t;
    int64_t k;
    uint64_t off = 0;
    int st, d;
    for (st = 0; st < (checkpoint ? 3 : 1); st++)
        for (k = 0; nn__tensor_at(m, k, &t); k++) {
            char e[160];
            if (st && (t.buffer || m->layers[t.layer].frozen)) continue; /* no optimizer state */
            if (data) {
                nn__put_floats(data, st == 0 ? t.p : (st == 1 ? m->opt1 : m->opt2) + (t.p - m->params - m->train_off), t.n);
                continue;
            }
            e[0] = 0;
            nn__cat(e, sizeof e, ", \"");
            if (st) nn__cat(e, sizeof e, st == 1 ? "optimizer.state1." : "optimizer.state2.");
            nn__cat(e, sizeof e, t.name);
            nn__cat(e, sizeof e, "\": {\"dtype\": \"F32\", \"shape\": [");
            for (d = 0; d < t.ndim; d++) { if (d) nn__cat(e, sizeof e, ", "); nn__cat_int(e, sizeof e, t.shape[d]); }
            nn__cat(e, sizeof e, "], \"data_offsets\": [");
            nn__cat_int(e, sizeof e, (int64_t)off);
            off += (uint64_t)t.n * 4;
            nn__cat(e, sizeof e, ", ");
            nn__cat_int(e, sizeof e, (int64_t)off);
            nn__cat(e, sizeof e, "]}");
            nn__puts(hdr, e);
        }
}
NN__PRIVATE void nn__emit_header(nn__sink *h, const nn_model *m, int checkpoint) {
    nn__puts(h, "{\"__metadata__\": {\"nn.version\": \"1\", ");
    nn__put_arch(h, m);
    nn__puts(h, ", ");
    nn__put_config(h, m);
    if (checkpoint) { nn__puts(h, ", "); nn__put_position(h, m); }
    nn__puts(h, "}");
    nn__emit_tensors(h, NULL, m, checkpoint);
    nn__puts(h, "}");
}
/* The safetensors framing: the header (emitted twice: measured, then written, padded to 8
   bytes) and the tensors after it. With s->buf NULL (or too small) it only counts s->len. */
NN__PRIVATE void nn__write_st(nn__sink *s, void (*header)(nn__sink *, const void *, int),
                              void (*tensors)(nn__sink *, const void *, int), const void *obj, int arg) {
    nn__sink h;
    unsigned char len8[8];
    size_t hl, start;
    nn__sink_init(&h, NULL, 0);
    header(&h, obj, arg);
    hl = (h.len + 7) / 8 * 8;
    nn__wr_le(len8, hl, 8);
    nn__put(s, len8, 8);
    start = s->len;
    header(s, obj, arg);
    while (s->len - start < hl) nn__put(s, " ", 1);
    tensors(s, obj, arg);
    if (nn__sink_streams(s)) nn__sink_flush(s);
}
NN__PRIVATE void nn__model_header(nn__sink *s, const void *m, int checkpoint) { nn__emit_header(s, (const nn_model *)m, checkpoint); }
NN__PRIVATE void nn__model_tensors(nn__sink *s, const void *m, int checkpoint) { nn__emit_tensors(NULL, s, (const nn_model *)m, checkpoint); }
NN__PRIVATE void nn__write_model(nn__sink *s, const nn_model *m, int checkpoint) {
    nn__pull(m, m->mem, m->mem_bytes); /* a device backend's state, to the host arena */
    nn__write_st(s, nn__model_header, nn__model_tensors, m, checkpoint);
}

/* ---- reading ---- */
NN__PRIVATE nn_result nn__build_arch(nn_model *m, const char *arch) {
    const char *p = arch;
    int i = 0;
    while (*p) {
        char line[512];
        const char *e = strchr(p, '\n');
        const size_t n = e ? (size_t)(e - p) : strlen(p);
        int64_t ins[NN_MAX_INPUTS], v;
        int type, nin, k, r = 0, ok = 1;
        if (n >= sizeof line) return nn__fail(NN_ERR_FORMAT, "model file: architecture line %d is too long", i);
        memcpy(line, p, n);
        line[n] = 0;
        p = e ? e + 1 : p + n;
        for (type = 0; type < NN_LAYER_COUNT; type++) {
            const size_t tl = strlen(nn__layer_name(type));
            if (strncmp(line, nn__layer_name(type), tl) == 0 && (line[tl] == ' ' || line[tl] == 0)) break;
        }
        if (type == NN_LAYER_COUNT) return nn__fail(NN_ERR_FORMAT, "model file: architecture line %d: unknown layer type", i);
        nin = nn__ops(type)->n_inputs;
        for (k = 0; k < NN_MAX_INPUTS; k++) ins[k] = 0;
        if (nin && nn__kv_ints(line, "in", ins, NN_MAX_INPUTS) != nin)
            return nn__fail(NN_ERR_FORMAT, "model file: architecture line %d (%s): 'in' must name %d layer(s)", i, nn__layer_name(type), nin);
        for (k = 0; k < nin; k++)
            if (ins[k] < 0 || ins[k] >= i)
                return nn__fail(NN_ERR_FORMAT, "model file: architecture line %d (%s): input is not an earlier layer", i, nn__layer_name(type));
        r = nn__ops(type)->get_arch(m, line, ins, &ok);
        if (!ok) return nn__fail(NN_ERR_FORMAT, "model file: architecture line %d (%s): a field is missing or malformed", i, nn__layer_name(type));
        if (r >= 0 && nn__kv_int(line, "frozen", &v)) m->layers[r].frozen = v != 0;
        if (r < 0) { /* the builder's own message, with where it came from */
            char why[240];
            memcpy(why, nn__err_msg, sizeof why - 1);
            why[sizeof why - 1] = 0;
            return nn__fail(NN_ERR_FORMAT, "model file: architecture line %d: %s", i, why);
        }
        i++;
    }
    if (i < 2) return nn__fail(NN_ERR_FORMAT, "model file: the architecture has %d layer(s); a model needs an input and a layer", i);
    return NN_OK;
}

/* The compile settings; absent keys keep nn_compile_defaults()'s (and the optimizer's own)
   values, a malformed one is an error. */
NN__PRIVATE nn_result nn__parse_config(const char *t, nn_compile_config *c) {
    static const char *const scheds[] = {"constant", "step", "cosine"};
    static const char *const fkeys[] = {"lr", "momentum", "beta1", "beta2", "alpha", "eps", "weight_decay", "clip_norm",
                                        "gamma", "lr_min"};
    static const char *const ikeys[] = {"max_batch", "nesterov", "step_size", "t_max", "warmup_steps"};
    nn_optimizer *o = &c->optimizer;
    float *fv[10];
    const char *v, *e;
    int64_t iv;
    int w, k;
    *c = nn_compile_defaults();
    if (!t) return NN_OK;
    if (nn__kv(t, "loss", &v, &e)) {
        if ((w = nn__kv_word(t, "loss", nn__loss_names, 5)) <= 0) return nn__fail(NN_ERR_FORMAT, "model file: unknown loss in nn.config");
        c->loss = (nn_loss)w;
    }
    if (nn__kv(t, "optimizer", &v, &e)) {
        w = nn__kv_word(t, "optimizer", nn__opt_names, 5);
        if (w > 0) *o = w == NN_OPT_SGD ? nn_sgd(0.01f, 0.0f, 0) : w == NN_OPT_ADAM ? nn_adam(1e-3f)
                      : w == NN_OPT_ADAMW ? nn_adamw(1e-3f, 0.01f) : nn_rmsprop(0.01f);
        else if (nn__kv_is(t, "optimizer", "none")) memset(o, 0, sizeof *o);
        else return nn__fail(NN_ERR_FORMAT, "model file: unknown optimizer in nn.config");
    }
    fv[0] = &o->lr; fv[1] = &o->momentum; fv[2] = &o->beta1; fv[3] = &o->beta2; fv[4] = &o->alpha; fv[5] = &o->eps;
    fv[6] = &o->weight_decay; fv[7] = &o->clip_norm; fv[8] = &o->gamma; fv[9] = &o->lr_min;
    for (k = 0; k < 10; k++)
        if (nn__kv(t, fkeys[k], &v, &e) && !nn__kv_float(t, fkeys[k], fv[k]))
            return nn__fail(NN_ERR_FORMAT, "model file: nn.config: '%s' is not a number", fkeys[k]);
    for (k = 0; k < 5; k++) {
        if (!nn__kv(t, ikeys[k], &v, &e)) continue;
        if (!nn__kv_int(t, ikeys[k], &iv) || iv < 0 || iv > ((int64_t)1 << 40))
            return nn__fail(NN_ERR_FORMAT, "model file: nn.config: '%s' is not a small non-negative integer", ikeys[k]);
        if (k == 0) c->max_batch = iv;
        else if (k == 1) o->nesterov = (int)iv;
        else if (k == 2) o->step_size = (int)(iv > 1000000000 ? 1000000000 : iv);
        else if (k == 3) o->t_max = (int)(iv > 1000000000 ? 1000000000 : iv);
        else o->warmup_steps = iv;
    }
    if (nn__kv(t, "seed", &v, &e) && !nn__kv_u64(t, "seed", &c->seed))
        return nn__fail(NN_ERR_FORMAT, "model file: nn.config: 'seed' is not an unsigned integer");
    if (nn__kv(t, "schedule", &v, &e)) {
        if ((w = nn__kv_word(t, "schedule", scheds, 3)) < 0) return nn__fail(NN_ERR_FORMAT, "model file: unknown schedule in nn.config");
        o->schedule = (nn_sched)w;
    }
    return NN_OK;
}

/* The training position of a checkpoint. */
NN__PRIVATE nn_result nn__parse_position(const char *t, nn_model *m) {
    int64_t ep, step, eb, fb, fr;
    uint64_t rng, erng;
    if (!nn__kv_int(t, "epoch", &ep) || !nn__kv_int(t, "step", &step) || !nn__kv_u64(t, "rng", &rng) ||
        !nn__kv_u64(t, "epoch_rng", &erng) || !nn__kv_int(t, "epoch_batch", &eb) || !nn__kv_int(t, "fit_batch", &fb) ||
        !nn__kv_int(t, "fit_rows", &fr) || ep < 0 || ep > 2000000000 || step < 0 || eb < 0 || fb < 0 || fr < 0)
        return nn__fail(NN_ERR_FORMAT, "model file: nn.position is incomplete or malformed");
    m->epoch = (int)ep; m->step = step; m->rng = rng; m->epoch_rng = erng;
    m->epoch_batch = eb; m->fit_batch = fb; m->fit_rows = fr;
    return NN_OK;
}

/* Match the file's tensors to the model's (built, compiled or not): every model tensor present
   with its shape, a floating-point dtype and finite values; with state, the optimizer state
   too. Other tensors are an error, except PyTorch's num_batches_tracked and (without state)
   a checkpoint's optimizer state. Marks the entries used. */
NN__PRIVATE nn_result nn__match(const nn_model *m, nn__st *st, int state) {
    nn__tref t;
    int64_t k, i;
    int s, d;
    for (s = 0; s < (state ? 3 : 1); s++)
        for (k = 0; nn__tensor_at(m, k, &t); k++) {
            char nm[96];
            nn__st_entry *e;
            int64_t bad;
            if (s && (t.buffer || m->layers[t.layer].frozen)) continue;
            nm[0] = 0;
            if (s) nn__cat(nm, sizeof nm, s == 1 ? "optimizer.state1." : "optimizer.state2.");
            nn__cat(nm, sizeof nm, t.name);
            if (!(e = nn__st_find(st, nm))) return nn__fail(NN_ERR_FORMAT, "model file: tensor '%s' is missing", nm);
            if (e->ndim != t.ndim) goto shape;
            for (d = 0; d < t.ndim; d++) if (e->shape[d] != t.shape[d]) goto shape;
            if (e->dtype > NN__DT_BF16)
                return nn__fail(NN_ERR_FORMAT, "model file: tensor '%s' is %s; weights must be F32, F64, F16 or BF16", nm,
                                nn__dt_names[e->dtype]);
            if ((bad = nn__convert(NULL, st->data + e->begin, e->dtype, e->numel, 1)) >= 0)
                return nn__fail(NN_ERR_DATA, "model file: tensor '%s' element %l is not finite", nm, bad);
            e->used = 1;
            continue;
        shape: {
                char fa[128], fb[128];
                fa[0] = fb[0] = 0;
                nn__cat_shape(fa, sizeof fa, e->ndim, e->shape);
                nn__cat_shape(fb, sizeof fb, t.ndim, t.shape);
                return nn__fail(NN_ERR_SHAPE, "model file: tensor '%s' has shape %s, layer %d (%s) needs %s", nm, fa, t.layer,
                                nn__layer_name(m->layers[t.layer].type), fb);
            }
        }
    for (i = 0; i < st->n; i++) {
        const char *nm = st->e[i].name;
        const size_t nl = strlen(nm);
        if (st->e[i].used) continue;
        if (nl >= 20 && strcmp(nm + nl - 20, ".num_batches_tracked") == 0) continue;
        if (!state && strncmp(nm, "optimizer.state", 15) == 0) continue;
        return nn__fail(NN_ERR_FORMAT, "model file: tensor '%s' is not part of the model", nm);
    }
    return NN_OK;
}

/* Copy (convert) the matched tensors into the compiled model. */
NN__PRIVATE void nn__fill(nn_model *m, nn__st *st, int state) {
    nn__tref t;
    int64_t k;
    int s;
    for (s = 0; s < (state ? 3 : 1); s++)
        for (k = 0; nn__tensor_at(m, k, &t); k++) {
            char nm[96];
            const nn__st_entry *e;
            float *dst = t.p;
            if (s && (t.buffer || m->layers[t.layer].frozen)) continue;
            nm[0] = 0;
            if (s) { nn__cat(nm, sizeof nm, s == 1 ? "optimizer.state1." : "optimizer.state2."); dst = (s == 1 ? m->opt1 : m->opt2) + (t.p - m->params - m->train_off); }
            nn__cat(nm, sizeof nm, t.name);
            e = nn__st_find(st, nm);
            nn__convert(dst, st->data + e->begin, e->dtype, e->numel, 1);
        }
}

/* Can the weights stay in the file's buffer? float32 on a little-endian host, 4-byte aligned,
   each layer's weight then bias (running mean then var) adjacent, as the layers read them. */
NN__PRIVATE int nn__can_borrow(const nn_model *m, nn__st *st) {
    nn__tref t;
    int64_t k;
    const nn__st_entry *prev = NULL;
    if (!nn__host_le()) return 0;
    for (k = 0; nn__tensor_at(m, k, &t); k++) {
        const nn__st_entry *e = nn__st_find(st, t.name);
        if (!e || e->dtype != NN__DT_F32 || (uintptr_t)(st->data + e->begin) % 4) return 0;
        if (t.off > 0 && (!prev || prev->end != e->begin)) return 0;
        prev = e;
    }
    return 1;
}
NN__PRIVATE void nn__borrow(nn_model *m, nn__st *st) {
    nn__tref t;
    int64_t k;
    for (k = 0; nn__tensor_at(m, k, &t); k++) {
        nn_layer *l = &m->layers[t.layer];
        float *p = (float *)(uintptr_t)(st->data + nn__st_find(st, t.name)->begin);
        if (t.off == 0 && !t.buffer) l->w = p;
        if (t.off == 0 && t.buffer) l->buf = p;
    }
}

NNDEF nn_load_config nn_load_defaults(void) {
    nn_load_config c;
    memset(&c, 0, sizeof c);
    return c;
}

/* nn_load_mem, or (need != NULL) only the arena bytes it would take. With an arena, the parser's
   memory comes from it too: first at its start, then (after compile has laid the model out)
   from the activations section on, which nothing reads before the first forward pass. */
NN__PRIVATE nn_result nn__load(nn_model *m, const void *data, size_t size, const nn_load_config *cfg, size_t *need) {
    nn_load_config lc = cfg ? *cfg : nn_load_defaults();
    nn_compile_config cc;
    nn_allocator al, mal;
    nn__bump bump;
    nn__plan plan;
    nn__st st;
    nn_result r;
    size_t needed = 0;
    int state, borrow;
    if (!m || !data) return nn__fail(NN_ERR_INVALID_ARG, "nn_load_mem: model or data is NULL");
    memset(m, 0, sizeof *m);
    memset(&st, 0, sizeof st);
    if ((r = nn__allocator_or_default(lc.allocator, &mal, "nn_load_mem")) != NN_OK) return r;
    al = mal;
    if (lc.arena) { /* the arena is this load's from here on: its old model's claim goes first */
        nn__clear_claim(lc.arena, lc.arena_bytes, NN__ALIGN);
        bump.p = nn__aligned(lc.arena, NN__ALIGN) + NN__ALIGN;
        bump.left = lc.arena_bytes > (size_t)(bump.p - (char *)lc.arena) ? lc.arena_bytes - (size_t)(bump.p - (char *)lc.arena) : 0;
        al.alloc = nn__bump_alloc; al.free = nn__no_free; al.user = &bump;
    }
    if ((r = nn__st_parse(&st, (const unsigned char *)data, size, &al)) != NN_OK) {
        if (lc.arena && !st.mem && size >= 8)
            r = nn__fail(NN_ERR_OUT_OF_MEMORY, "nn_load_mem: the arena has %l bytes; reading this header takes %l",
                         (int64_t)lc.arena_bytes, (int64_t)(2 * NN__ALIGN + nn__st_arena_bytes(nn__rd_le((const unsigned char *)data, 8))));
        goto done;
    }
    if (!st.arch) {
        r = nn__fail(NN_ERR_FORMAT, "model file: no nn.arch in __metadata__, so not an nn.h model (nn_load_weights_mem reads weights alone)");
        goto done;
    }
    if (st.version && strcmp(st.version, "1") != 0) {
        r = nn__fail(NN_ERR_UNSUPPORTED, "model file: format version '%s' is newer than this nn.h reads (1)", st.version);
        goto done;
    }
    if (st.quant) {
        r = nn__fail(NN_ERR_UNSUPPORTED, "model file: an int8 model (nn.quant): load it with nn_qload_mem");
        goto done;
    }
    if ((r = nn_model_init(m, &mal)) != NN_OK) goto done;
    if ((r = nn__build_arch(m, st.arch)) != NN_OK) goto done;
    if ((r = nn__parse_config(st.config, &cc)) != NN_OK) goto done;
    if (lc.max_batch > 0) cc.max_batch = lc.max_batch;
    if (cc.max_batch < 1 || cc.max_batch > ((int64_t)1 << 24)) {
        r = nn__fail(NN_ERR_FORMAT, "model file: max_batch %l is out of range", cc.max_batch);
        goto done;
    }
    cc.inference_only = lc.inference_only || lc.borrow;
#ifdef NN_NO_TRAINING
    cc.inference_only = 1;
#endif
    if (lc.freeze > 0 && (r = nn_freeze(m, lc.freeze)) != NN_OK) goto done;
    state = st.position && !cc.inference_only;
    if ((r = nn__match(m, &st, state)) != NN_OK) goto done;
    borrow = lc.borrow && nn__can_borrow(m, &st);
    if ((r = nn__plan_model(m, &cc, borrow, &plan)) != NN_OK) goto done;
    needed = plan.bytes;
    if (lc.arena || need) { /* the second parse sits in the activations section and beyond */
        const size_t second = NN__ALIGN + plan.acts + nn__st_arena_bytes(nn__rd_le((const unsigned char *)data, 8));
        if (second > needed) needed = second;
    }
    if (need) { *need = needed; goto done; }
    if (lc.arena && lc.arena_bytes < needed) {
        r = nn__fail(NN_ERR_OUT_OF_MEMORY, "nn_load_mem: the arena has %l bytes; this model needs %l (nn_load_mem_arena_bytes)",
                     (int64_t)lc.arena_bytes, (int64_t)needed);
        goto done;
    }
    cc.arena = lc.arena;
    cc.arena_bytes = lc.arena_bytes;
    if ((r = nn__compile(m, &cc, borrow)) != NN_OK) goto done;
    if (lc.arena) { /* compile zeroed the arena: parse again, past what the weights fill */
        char *base = nn__aligned(m->mem, NN__ALIGN);
        bump.p = base + plan.acts;
        bump.left = lc.arena_bytes - (size_t)(bump.p - (char *)lc.arena);
        if ((r = nn__st_parse(&st, (const unsigned char *)data, size, &al)) != NN_OK) goto done;
    }
    if (borrow) nn__borrow(m, &st);
    else nn__fill(m, &st, state);
    m->borrowed = borrow;
    if (state) r = nn__parse_position(st.position, m);
done:
    if (st.mem && !lc.arena) al.free(st.mem, al.user);
    if ((r != NN_OK || need) && m) { nn_model_free(m); m->n_layers = 0; }
    return r;
}

NNDEF nn_result nn_load_mem(nn_model *m, const void *data, size_t size, const nn_load_config *cfg) {
    return nn__load(m, data, size, cfg, NULL);
}
NNDEF nn_result nn_load_mem_arena_bytes(nn_model *m, const void *data, size_t size, const nn_load_config *cfg,
                                        size_t *bytes) {
    if (!bytes) return nn__fail(NN_ERR_INVALID_ARG, "nn_load_mem_arena_bytes: bytes is NULL");
    return nn__load(m, data, size, cfg, bytes);
}

NNDEF nn_result nn_load_weights_mem(nn_model *m, const void *data, size_t size) {
    nn__st st;
    nn_result r;
    if ((r = nn__check_model(m, "nn_load_weights_mem", 0)) != NN_OK) return r;
    if (!data) return nn__fail(NN_ERR_INVALID_ARG, "nn_load_weights_mem: data is NULL");
    if (m->borrowed) return nn__fail(NN_ERR_STATE, "nn_load_weights_mem: the model's weights are borrowed (read-only)");
    if ((r = nn__st_parse(&st, (const unsigned char *)data, size, &m->allocator)) == NN_OK &&
        (r = nn__match(m, &st, 0)) == NN_OK) {
        nn__pull(m, m->mem, m->mem_bytes); /* a device backend: the rest of its state stands */
        nn__fill(m, &st, 0);
        nn__push(m, m->mem, m->mem_bytes);
    }
    if (st.mem) m->allocator.free(st.mem, m->allocator.user);
    return r;
}

NNDEF nn_result nn_save_mem(const nn_model *m, int checkpoint, void *buf, size_t cap, size_t *size) {
    nn__sink s;
    nn_result r;
    if ((r = nn__check_model(m, "nn_save_mem", 0)) != NN_OK) return r;
    if (!size) return nn__fail(NN_ERR_INVALID_ARG, "nn_save_mem: size is NULL");
    if (checkpoint && (!m->grads || m->borrowed))
        return nn__fail(NN_ERR_STATE, "nn_save_mem: a checkpoint needs a model compiled for training");
    nn__sink_init(&s, buf, buf ? cap : 0);
    nn__write_model(&s, m, checkpoint);
    *size = s.len;
    if (buf && s.fail) return nn__fail(NN_ERR_INVALID_ARG, "nn_save_mem: the file takes %l bytes, the buffer has %l", (int64_t)s.len, (int64_t)cap);
    return NN_OK;
}

/* ---- IDX and NumPy arrays ---- */
NN__PRIVATE nn_result nn__tensor_alloc(nn_tensor *out, int ndim, const int64_t *shape, const char *fn) {
    int64_t n = 1;
    int d;
    memset(out, 0, sizeof *out);
    for (d = 0; d < ndim; d++) n *= shape[d];
#ifdef NN_NO_MALLOC
    (void)n;
    return nn__fail(NN_ERR_UNSUPPORTED, "%s: NN_NO_MALLOC is defined", fn);
#else
    {
        float *p = (float *)malloc(sizeof(float) * (size_t)(n ? n : 1));
        if (!p) return nn__fail(NN_ERR_OUT_OF_MEMORY, "%s: no memory for %l floats", fn, n);
        *out = nn_tensor_view(p, ndim, shape);
        out->owned = p;
    }
    return NN_OK;
#endif
}
NNDEF void nn_tensor_free(nn_tensor *t) {
#ifndef NN_NO_MALLOC
    if (t && t->owned) free(t->owned);
#endif
    if (t) memset(t, 0, sizeof *t);
}

/* n dims of at most 2^40 elements in all; the element count or -1 */
NN__PRIVATE int64_t nn__numel_checked(int nd, const int64_t *shape) {
    int64_t n = 1;
    int d;
    for (d = 0; d < nd; d++) {
        if (shape[d] < 0 || (shape[d] && n > ((int64_t)1 << 40) / shape[d])) return -1;
        n *= shape[d];
    }
    return n;
}

NNDEF nn_result nn_idx_load_mem(const void *data, size_t size, nn_tensor *out) {
    const unsigned char *p = (const unsigned char *)data;
    int64_t shape[NN_MAX_DIMS], n;
    int nd, d, dt;
    nn_result r;
    if (!p || !out) return nn__fail(NN_ERR_INVALID_ARG, "nn_idx_load_mem: data or out is NULL");
    if (size >= 2 && p[0] == 0x1f && p[1] == 0x8b)
        return nn__fail(NN_ERR_FORMAT, "IDX: gzip-compressed data (a .gz file, as MNIST ships): decompress it first "
                        "(gunzip, or in C examples/gunzip.h's gunzip_file, then nn_idx_load_mem)");
    if (size < 4 || p[0] != 0 || p[1] != 0) return nn__fail(NN_ERR_FORMAT, "IDX: no magic number (00 00 type dims)");
    switch (p[2]) {
    case 0x08: dt = NN__DT_U8; break;
    case 0x09: dt = NN__DT_I8; break;
    case 0x0B: dt = NN__DT_I16; break;
    case 0x0C: dt = NN__DT_I32; break;
    case 0x0D: dt = NN__DT_F32; break;
    case 0x0E: dt = NN__DT_F64; break;
    default: return nn__fail(NN_ERR_FORMAT, "IDX: unknown element type %d", (int)p[2]);
    }
    nd = p[3];
    if (nd < 1 || nd > NN_MAX_DIMS) return nn__fail(NN_ERR_FORMAT, "IDX: %d dimensions (1..%d supported)", nd, NN_MAX_DIMS);
    if (size < 4 + 4 * (size_t)nd) return nn__fail(NN_ERR_FORMAT, "IDX: truncated in the dimensions");
    for (d = 0; d < nd; d++) shape[d] = (int64_t)nn__rd_be(p + 4 + 4 * d, 4);
    if ((n = nn__numel_checked(nd, shape)) < 0) return nn__fail(NN_ERR_FORMAT, "IDX: the dimensions are too large");
    if ((uint64_t)(size - 4 - 4 * (size_t)nd) != (uint64_t)n * (uint64_t)nn__dt_size[dt])
        return nn__fail(NN_ERR_FORMAT, "IDX: %l data bytes for %l elements of %d bytes", (int64_t)(size - 4 - 4 * (size_t)nd), n,
                        nn__dt_size[dt]);
    if ((r = nn__tensor_alloc(out, nd, shape, "nn_idx_load_mem")) != NN_OK) return r;
    nn__convert(out->data, p + 4 + 4 * nd, dt, n, 0); /* IDX is big-endian */
    return NN_OK;
}

/* The value of 'key' in a NumPy header dict: the text after "'key':" */
NN__PRIVATE const char *nn__npy_field(const char *h, const char *end, const char *key) {
    const size_t kl = strlen(key);
    const char *p;
    for (p = h; p + kl + 2 < end; p++)
        if ((*p == '\'' || *p == '"') && memcmp(p + 1, key, kl) == 0 && p[kl + 1] == *p) {
            p += kl + 2;
            while (p < end && *p == ' ') p++;
            if (p < end && *p == ':') { p++; while (p < end && *p == ' ') p++; return p; }
            return NULL;
        }
    return NULL;
}

NNDEF nn_result nn_npy_load_mem(const void *data, size_t size, nn_tensor *out) {
    const unsigned char *p = (const unsigned char *)data;
    const char *h, *end, *v;
    size_t hl, off;
    int64_t shape[NN_MAX_DIMS], n;
    int nd = 0, dt = -1, le = 1;
    nn_result r;
    if (!p || !out) return nn__fail(NN_ERR_INVALID_ARG, "nn_npy_load_mem: data or out is NULL");
    if (size < 10 || memcmp(p, "\x93NUMPY", 6) != 0) return nn__fail(NN_ERR_FORMAT, "npy: no magic string");
    if (p[6] < 1 || p[6] > 3) return nn__fail(NN_ERR_FORMAT, "npy: unknown version %d", (int)p[6]);
    if (p[6] == 1) { hl = (size_t)nn__rd_le(p + 8, 2); off = 10; }
    else { if (size < 12) return nn__fail(NN_ERR_FORMAT, "npy: truncated"); hl = (size_t)nn__rd_le(p + 8, 4); off = 12; }
    if (hl > size - off) return nn__fail(NN_ERR_FORMAT, "npy: header length %l past the end of the file", (int64_t)hl);
    h = (const char *)p + off;
    end = h + hl;
    if (!(v = nn__npy_field(h, end, "descr")) || end - v < 5 || (*v != '\'' && *v != '"') || v[4] != *v)
        return nn__fail(NN_ERR_FORMAT, "npy: no 'descr' of the form '<f4'");
    if (v[1] == '>') le = 0;
    else if (v[1] != '<' && v[1] != '|' && v[1] != '=') return nn__fail(NN_ERR_FORMAT, "npy: unknown byte order '%s'", "?");
    if (v[2] == 'f' && v[3] == '4') dt = NN__DT_F32;
    else if (v[2] == 'f' && v[3] == '8') dt = NN__DT_F64;
    else if (v[2] == 'u' && v[3] == '1') dt = NN__DT_U8;
    else if (v[2] == 'i' && v[3] == '4') dt = NN__DT_I32;
    else if (v[2] == 'i' && v[3] == '8') dt = NN__DT_I64;
    else return nn__fail(NN_ERR_UNSUPPORTED, "npy: dtype not supported (float32, float64, uint8, int32, int64 are)");
    if (v[1] == '=' && !nn__host_le()) le = 0;
    if (!(v = nn__npy_field(h, end, "fortran_order"))) return nn__fail(NN_ERR_FORMAT, "npy: no 'fortran_order'");
    if (end - v >= 4 && memcmp(v, "True", 4) == 0) return nn__fail(NN_ERR_UNSUPPORTED, "npy: Fortran order is not supported");
    if (!(end - v >= 5 && memcmp(v, "False", 5) == 0)) return nn__fail(NN_ERR_FORMAT, "npy: 'fortran_order' is not True or False");
    if (!(v = nn__npy_field(h, end, "shape")) || v >= end || *v != '(') return nn__fail(NN_ERR_FORMAT, "npy: no 'shape' tuple");
    for (v++;;) {
        int64_t x = 0;
        int digits = 0;
        while (v < end && *v == ' ') v++;
        if (v < end && *v == ')') break;
        for (; v < end && *v >= '0' && *v <= '9'; v++, digits++) {
            if (x > ((int64_t)1 << 40)) return nn__fail(NN_ERR_FORMAT, "npy: a dimension is too large");
            x = x * 10 + (*v - '0');
        }
        while (v < end && (*v == 'L' || *v == ' ')) v++;
        if (!digits) return nn__fail(NN_ERR_FORMAT, "npy: the shape is not a tuple of integers");
        if (nd == NN_MAX_DIMS) return nn__fail(NN_ERR_UNSUPPORTED, "npy: more than %d dimensions", NN_MAX_DIMS);
        shape[nd++] = x;
        if (v < end && *v == ',') v++;
        else if (!(v < end && *v == ')')) return nn__fail(NN_ERR_FORMAT, "npy: the shape tuple is not closed");
    }
    if (nd == 0) shape[nd++] = 1; /* a scalar */
    if ((n = nn__numel_checked(nd, shape)) < 0) return nn__fail(NN_ERR_FORMAT, "npy: the shape is too large");
    if ((uint64_t)(size - off - hl) != (uint64_t)n * (uint64_t)nn__dt_size[dt])
        return nn__fail(NN_ERR_FORMAT, "npy: %l data bytes for %l elements of %d bytes", (int64_t)(size - off - hl), n, nn__dt_size[dt]);
    if ((r = nn__tensor_alloc(out, nd, shape, "nn_npy_load_mem")) != NN_OK) return r;
    nn__convert(out->data, p + off + hl, dt, n, le);
    return NN_OK;
}

/* version 1.0, '<f4', C order; the header padded with spaces so the data starts at 64 bytes */
NN__PRIVATE void nn__write_npy(nn__sink *s, const nn_tensor *t) {
    char h[256];
    unsigned char pre[10];
    size_t hl;
    int d;
    h[0] = 0;
    nn__cat(h, sizeof h, "{'descr': '<f4', 'fortran_order': False, 'shape': (");
    for (d = 0; d < t->ndim; d++) { if (d) nn__cat(h, sizeof h, ", "); nn__cat_int(h, sizeof h, t->shape[d]); }
    if (t->ndim == 1) nn__cat(h, sizeof h, ","); /* (n,) is Python's 1-tuple */
    nn__cat(h, sizeof h, "), }");
    hl = strlen(h);
    while ((10 + hl + 1) % 64) h[hl++] = ' ';
    h[hl++] = '\n';
    memcpy(pre, "\x93NUMPY\x01\x00", 8);
    nn__wr_le(pre + 8, hl, 2);
    nn__put(s, pre, 10);
    nn__put(s, h, hl);
    nn__put_floats(s, t->data, nn_tensor_numel(t));
    if (nn__sink_streams(s)) nn__sink_flush(s);
}

NNDEF nn_result nn_npy_save_mem(const nn_tensor *t, void *buf, size_t cap, size_t *size) {
    nn__sink s;
    if (!t || !size || !t->data || t->ndim < 1 || t->ndim > NN_MAX_DIMS)
        return nn__fail(NN_ERR_INVALID_ARG, "nn_npy_save_mem: no tensor, no data, or rank outside 1..%d", NN_MAX_DIMS);
    nn__sink_init(&s, buf, buf ? cap : 0);
    nn__write_npy(&s, t);
    *size = s.len;
    if (buf && s.fail) return nn__fail(NN_ERR_INVALID_ARG, "nn_npy_save_mem: the file takes %l bytes, the buffer has %l", (int64_t)s.len, (int64_t)cap);
    return NN_OK;
}

NNDEF nn_result nn_dataset_from_tensors(const nn_tensor *x, const nn_tensor *y, nn_dataset *out) {
    int64_t n, f, i;
    float *xs;
    int32_t *lab;
    if (!x || !out || !x->data || x->ndim < 1) return nn__fail(NN_ERR_INVALID_ARG, "nn_dataset_from_tensors: no features");
    n = x->shape[0];
    f = n ? nn_tensor_numel(x) / n : 0;
    if (n < 1 || f < 1) return nn__fail(NN_ERR_DATA, "nn_dataset_from_tensors: no rows or no features");
    if (y && (!y->data || nn_tensor_numel(y) != n))
        return nn__fail(NN_ERR_SHAPE, "nn_dataset_from_tensors: %l rows of features but %l labels", n, y->data ? nn_tensor_numel(y) : 0);
    if (y)
        for (i = 0; i < n; i++)
            if (!(y->data[i] >= 0.0f && y->data[i] < 2147483520.0f && y->data[i] == (float)(int64_t)y->data[i]))
                return nn__fail(NN_ERR_DATA, "nn_dataset_from_tensors: label %l is not a non-negative integer", i);
#ifdef NN_NO_MALLOC
    (void)xs; (void)lab;
    return nn__fail(NN_ERR_UNSUPPORTED, "nn_dataset_from_tensors: NN_NO_MALLOC is defined");
#else
    xs = (float *)malloc(sizeof(float) * (size_t)(n * f) + sizeof(int32_t) * (size_t)n);
    if (!xs) return nn__fail(NN_ERR_OUT_OF_MEMORY, "nn_dataset_from_tensors: no memory for %l rows", n);
    memcpy(xs, x->data, sizeof(float) * (size_t)(n * f));
    lab = (int32_t *)(void *)(xs + n * f);
    for (i = 0; y && i < n; i++) lab[i] = (int32_t)y->data[i];
    memset(out, 0, sizeof *out);
    out->x = xs; out->n = n; out->features = f; out->labels = y ? lab : NULL; out->owned = xs;
    return NN_OK;
#endif
}

/* ---- files ---- */
#if !defined(NN_NO_STDIO)
/* The whole file into one block from al (size bytes, plus a NUL after them). */
NN__PRIVATE nn_result nn__read_file(const char *path, const nn_allocator *al, unsigned char **data, size_t *size, const char *fn) {
    FILE *f;
    unsigned char *buf = NULL;
    size_t len = 0, cap = 0, got;
    *data = NULL; *size = 0;
    if (!path) return nn__fail(NN_ERR_INVALID_ARG, "%s: path is NULL", fn);
    if (!(f = fopen(path, "rb"))) return nn__fail(NN_ERR_IO, "%s: cannot open '%s'", fn, path);
    for (;;) {
        if (len + 65536 + 1 > cap) {
            const size_t nc = (cap + 65536) * 2;
            unsigned char *nb = (unsigned char *)al->alloc(nc, al->user);
            if (!nb) { if (buf) al->free(buf, al->user); fclose(f); return nn__fail(NN_ERR_OUT_OF_MEMORY, "%s: '%s' is too large", fn, path); }
            if (buf) { memcpy(nb, buf, len); al->free(buf, al->user); }
            buf = nb; cap = nc;
        }
        got = fread(buf + len, 1, 65536, f);
        len += got;
        if (got < 65536) break;
    }
    if (ferror(f)) {
        const int dir =
#ifdef EISDIR
            errno == EISDIR;
#else
            0;
#endif
        al->free(buf, al->user);
        fclose(f);
        return nn__fail(NN_ERR_IO, dir ? "%s: '%s' is a directory, not a file" : "%s: error reading '%s'", fn, path);
    }
    fclose(f);
    buf[len] = 0;
    *data = buf; *size = len;
    return NN_OK;
}

/* Write through sink-filling fill(ctx) to "<path>.tmp", flush and sync, rename over path. */
NN__PRIVATE nn_result nn__save_atomic(const char *path, const char *fn, void (*fill)(nn__sink *, const void *, int),
                                      const void *obj, int arg) {
    char tmp[4096];
    nn__sink s;
    int ok;
    const size_t pl = path ? strlen(path) : 0;
    if (!path || pl == 0 || pl + 5 > sizeof tmp) return nn__fail(NN_ERR_INVALID_ARG, "%s: no path, or a path too long", fn);
    memcpy(tmp, path, pl);
    memcpy(tmp + pl, ".tmp", 5);
    nn__sink_init(&s, NULL, 0);
#if NN__POSIX_IO
    s.fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (s.fd < 0) return nn__fail(NN_ERR_IO, "%s: cannot create '%s'", fn, tmp);
    fill(&s, obj, arg);
    ok = !s.fail && fsync(s.fd) == 0;
    ok = close(s.fd) == 0 && ok;
#else
    s.f = fopen(tmp, "wb");
    if (!s.f) return nn__fail(NN_ERR_IO, "%s: cannot create '%s'", fn, tmp);
    fill(&s, obj, arg);
    ok = !s.fail && fflush(s.f) == 0;
    ok = fclose(s.f) == 0 && ok;
#endif
    if (!ok) {
        remove(tmp);
        return nn__fail(NN_ERR_IO, "%s: writing '%s' failed (disk full?); '%s' is unchanged", fn, tmp, path);
    }
#if defined(_WIN32)
    remove(path); /* rename does not replace on Windows: not atomic there */
#endif
    if (rename(tmp, path) != 0) {
        remove(tmp);
        return nn__fail(NN_ERR_IO, "%s: cannot rename '%s' to '%s'", fn, tmp, path);
    }
#if NN__POSIX_IO
    { /* make the rename itself durable */
        char dir[4096];
        const char *sl = strrchr(path, '/');
        int fd;
        if (sl) { memcpy(dir, path, (size_t)(sl - path) + 1); dir[sl - path + 1] = 0; }
        else { dir[0] = '.'; dir[1] = 0; }
        if ((fd = open(dir, O_RDONLY)) >= 0) { fsync(fd); close(fd); }
    }
#endif
    return NN_OK;
}
NN__PRIVATE void nn__fill_model(nn__sink *s, const void *m, int checkpoint) { nn__write_model(s, (const nn_model *)m, checkpoint); }
NN__PRIVATE void nn__fill_npy(nn__sink *s, const void *t, int unused) { (void)unused; nn__write_npy(s, (const nn_tensor *)t); }

NNDEF nn_result nn_save(const nn_model *m, const char *path) {
    nn_result r = nn__check_model(m, "nn_save", 0);
    return r != NN_OK ? r : nn__save_atomic(path, "nn_save", nn__fill_model, m, 0);
}
#ifndef NN_NO_TRAINING
NNDEF nn_result nn_save_checkpoint(const nn_model *m, const char *path) {
    nn_result r = nn__check_model(m, "nn_save_checkpoint", 1);
    if (r == NN_OK && m->borrowed) r = nn__fail(NN_ERR_STATE, "nn_save_checkpoint: the model's weights are borrowed");
    return r != NN_OK ? r : nn__save_atomic(path, "nn_save_checkpoint", nn__fill_model, m, 1);
}
#endif /* NN_NO_TRAINING */
NNDEF nn_result nn_npy_save(const char *path, const nn_tensor *t) {
    if (!t || !t->data || t->ndim < 1 || t->ndim > NN_MAX_DIMS)
        return nn__fail(NN_ERR_INVALID_ARG, "nn_npy_save: no tensor, no data, or rank outside 1..%d", NN_MAX_DIMS);
    return nn__save_atomic(path, "nn_npy_save", nn__fill_npy, t, 0);
}

NNDEF nn_result nn_load_weights(nn_model *m, const char *path) {
    unsigned char *data;
    size_t size;
    nn_result r;
    if ((r = nn__check_model(m, "nn_load_weights", 0)) != NN_OK) return r;
    if ((r = nn__read_file(path, &m->allocator, &data, &size, "nn_load_weights")) != NN_OK) return r;
    r = nn_load_weights_mem(m, data, size);
    m->allocator.free(data, m->allocator.user);
    return r;
}
NN__PRIVATE nn_result nn__load_array(const char *path, nn_tensor *out, int npy) {
    nn_allocator al;
    unsigned char *data;
    size_t size;
    nn_result r;
    const char *fn = npy ? "nn_npy_load" : "nn_idx_load";
    if (!out) return nn__fail(NN_ERR_INVALID_ARG, "%s: out is NULL", fn);
    if ((r = nn__allocator_or_default(NULL, &al, fn)) != NN_OK) return r;
    if ((r = nn__read_file(path, &al, &data, &size, fn)) != NN_OK) return r;
    r = npy ? nn_npy_load_mem(data, size, out) : nn_idx_load_mem(data, size, out);
    al.free(data, al.user);
    return r;
}
NNDEF nn_result nn_idx_load(const char *path, nn_tensor *out) { return nn__load_array(path, out, 0); }
NNDEF nn_result nn_npy_load(const char *path, nn_tensor *out) { return nn__load_array(path, out, 1); }
NNDEF nn_result nn_csv_load(const char *path, int label_col, nn_dataset *out) {
    nn_allocator al;
    unsigned char *data;
    size_t size;
    nn_result r;
    if (!out) return nn__fail(NN_ERR_INVALID_ARG, "nn_csv_load: out is NULL");
    if ((r = nn__allocator_or_default(NULL, &al, "nn_csv_load")) != NN_OK) return r;
    if ((r = nn__read_file(path, &al, &data, &size, "nn_csv_load")) != NN_OK) return r;
    r = memchr(data, 0, size) ? nn__fail(NN_ERR_FORMAT, "nn_csv_load: '%s' is not text (NUL byte)", path)
                              : nn__csv_parse((char *)data, label_col, out, path);
    al.free(data, al.user);
    return r;
}
#endif /* NN_NO_STDIO */

/* >>quant: int8 post-training quantization (calibration, per-channel weights, batchnorm folded),
   integer-only inference over the layer table, its file --------------------------------- */
NN__PRIVATE void nn__qforward_all(nn_qmodel *q, const uint8_t *x, int64_t B) {
    int i;
    if (q->mixed) { /* x: the float rows; the int8 layers' qforward, the others' float forward */
        q->g.layers[0].y = (float *)(uintptr_t)(const void *)x;
        for (i = 1; i < q->g.n_layers; i++) {
            const nn__layer_ops *ops = nn__ops(q->g.layers[i].type);
            if (ops->qrole == NN__Q_WEIGHTS || ops->qrole == NN__Q_TIED) ops->qforward(q, i, B);
            else ops->forward(&q->g, &q->g.layers[i], B);
        }
        return;
    }
    q->q[0].y = (uint8_t *)(uintptr_t)x; /* borrowed, never written */
    for (i = 1; i < q->g.n_layers; i++) {
        if (q->q[i].view) q->q[i].y = q->q[q->g.layers[i].inputs[0]].y;
        else nn__ops(q->g.layers[i].type)->qforward(q, i, B);
    }
}

NN__PRIVATE nn_result nn__qtaken(const char *fn) {
    return nn__fail(NN_ERR_STATE, "%s: the model's arena was taken by another load or quantization (a failed one "
                    "too); load this model again", fn);
}
NNDEF nn_result nn_qforward(nn_qmodel *q, const uint8_t *x, int64_t n, const uint8_t **out) {
    if (!q || !q->mem || !x) return nn__fail(NN_ERR_INVALID_ARG, "nn_qforward: no model, or x is NULL");
    if (q->claim && *q->claim != q->stamp) return nn__qtaken("nn_qforward");
    if (q->mixed) return nn__fail(NN_ERR_UNSUPPORTED, "nn_qforward: this int8 sequence model takes float input: use nn_qpredict");
    if (n < 1 || n > q->max_batch) return nn__fail(NN_ERR_INVALID_ARG, "nn_qforward: batch %l outside [1, %l]", n, q->max_batch);
    nn__qforward_all(q, x, n);
    if (out) *out = q->q[q->g.n_layers - 1].y;
    return NN_OK;
}

NNDEF int64_t nn_qargmax(const nn_qmodel *q, int64_t i) {
    const int64_t C = q->g.layers[q->g.n_layers - 1].size;
    int64_t k, best = 0;
    if (q->mixed) { /* (the float output; the other's pointer is NULL) */
        const float *f = q->g.layers[q->g.n_layers - 1].y + i * C;
        for (k = 1; k < C; k++) if (f[k] > f[best]) best = k;
    } else {
        const uint8_t *y = q->q[q->g.n_layers - 1].y + i * C;
        for (k = 1; k < C; k++) if (y[k] > y[best]) best = k;
    }
    return best;
}

/* ---- memory: one block, planned the same way for quantize, load and the size query ---- */
NN__PRIVATE int nn__q_has_w(const nn_layer *l) { return nn__ops(l->type)->qrole == NN__Q_WEIGHTS; }
/* a weighted layer's weight tensor (the first of its list: (channels, ...)) and whether a bias follows */
NN__PRIVATE nn__tdesc nn__q_weight(const nn_model *g, const nn_layer *l, int *has_bias) {
    nn__tdesc t[NN__MAX_TENSORS];
    const int n = nn__ops(l->type)->tensors(g, l, t);
    if (has_bias) *has_bias = n > 1;
    return t[0];
}
NN__PRIVATE int64_t nn__q_channels(const nn_model *g, const nn_layer *l) { return nn__q_weight(g, l, NULL).shape[0]; }
NN__PRIVATE int64_t nn__q_weights(const nn_model *g, const nn_layer *l) {
    const nn__tdesc t = nn__q_weight(g, l, NULL);
    int64_t n = 1;
    int d;
    for (d = 0; d < t.ndim; d++) n *= t.shape[d];
    return n;
}
#define NN__QTAKE(ptr, type, count) do { type *p_ = base ? (type *)(void *)(base + off) : NULL; ptr = p_; \
                                         off = nn__align_up(off + sizeof(type) * (size_t)(count), 16); } while (0)
/* A mixed model's block: per int8 layer its weights, sums of weights (in bias), scales and float
   bias; per float layer its parameters and buffers; the outputs in slots reused once their last
   reader has run (inference keeps nothing); one kept-state region, one float scratch (in g)
   and the quantized input rows (q->scratch), each as large as the largest layer's */
NN__PRIVATE size_t nn__qlayout_mixed(nn_qmodel *q, char *base) {
    size_t off = 16; /* (the claim) */
    int64_t fs = 0, bs = 0, ks = 0, B = q->max_batch, slot_n[NN_MAX_LAYERS];
    int slot_free[NN_MAX_LAYERS], slot_of[NN_MAX_LAYERS], last[NN_MAX_LAYERS], ns = 0, i, k, L = q->g.n_layers;
    unsigned char avail[NN_MAX_LAYERS];
    float *slot_at[NN_MAX_LAYERS], *kept;
    for (i = 0; i < L; i++) last[i] = i == L - 1 ? L : 0; /* (the output is read after the last step) */
    for (i = 1; i < L; i++)
        for (k = 0; k < q->g.layers[i].n_inputs; k++) {
            const int o = nn__owner(&q->g, q->g.layers[i].inputs[k]);
            if (last[o] < i) last[o] = i;
        }
    last[nn__owner(&q->g, L - 1)] = L;
    for (i = 1; i < L; i++) {
        if (nn__is_view(q->g.layers[i].type)) continue;
        for (k = 0; k < ns; k++) avail[k] = slot_free[k] < i;
        slot_of[i] = nn__slot_pick(slot_n, &ns, avail, B * q->g.layers[i].size);
        slot_free[slot_of[i]] = last[i];
    }
    for (k = 0; k < ns; k++) NN__QTAKE(slot_at[k], float, slot_n[k]);
    for (i = 0; i < L; i++) {
        nn_layer *l = &q->g.layers[i];
        nn_qlayer *ql = &q->q[i];
        const nn__layer_ops *ops = nn__ops(l->type);
        if (nn__q_has_w(l)) {
            const int64_t ch = nn__q_channels(&q->g, l), nw = nn__q_weights(&q->g, l);
            int8_t *w;
            int32_t *sumw;
            float *ws, *fb;
            NN__QTAKE(w, int8_t, nw); NN__QTAKE(sumw, int32_t, ch); NN__QTAKE(ws, float, ch); NN__QTAKE(fb, float, ch);
            if (base) { ql->w = w; ql->bias = sumw; ql->wscale = ws; ql->fbias = fb; }
            ql->n_ch = ch;
            ql->n_w = nw;
        } else if (l->n_params) {
            NN__QTAKE(l->w, float, l->n_params);
        }
        if (l->n_buffers) NN__QTAKE(l->buf, float, l->n_buffers);
        if (l->n_saved + B * l->n_keep > ks) ks = l->n_saved + B * l->n_keep;
        if (i > 0 && !nn__is_view(l->type)) l->y = slot_at[slot_of[i]];
        if (ops->qrole == NN__Q_WEIGHTS || ops->qrole == NN__Q_TIED) {
            const nn_layer *a = &q->g.layers[l->inputs[0]];
            if (l->type != NN_LAYER_EMBEDDING && B * a->size > bs) bs = B * a->size;
        } else if (i > 0 && ops->scratch) {
            const int64_t n = ops->scratch(l, &q->g, B, 0);
            if (n > fs) fs = n;
        }
    }
    NN__QTAKE(kept, float, ks);
    for (i = 0; i < L; i++) q->g.layers[i].saved = q->g.layers[i].n_saved || q->g.layers[i].n_keep ? kept : NULL;
    NN__QTAKE(q->g.scratch, float, fs);
    q->g.scratch_floats = fs;
    NN__QTAKE(q->scratch, uint8_t, bs);
    return off + 16;
}
/* Lay out (base != NULL) or measure the block: the tables first (weights and lookup tables
   only when not borrowed), then activations and scratch from *act_off on (where a loader in an
   arena parses the file a second time). */
NN__PRIVATE size_t nn__qlayout(nn_qmodel *q, char *base, int borrow, size_t *act_off) {
    size_t off = 16; /* (the claim) */
    int64_t patch = 0;
    int i;
    if (NN__MIXED(q)) return nn__qlayout_mixed(q, base);
    for (i = 0; i < q->g.n_layers; i++) {
        nn_layer *l = &q->g.layers[i];
        nn_qlayer *ql = &q->q[i];
        if (nn__q_has_w(l)) {
            const int64_t ch = nn__q_channels(&q->g, l);
            int8_t *w;
            int32_t *bias, *mult, *shift;
            float *ws;
            if (!borrow) { NN__QTAKE(w, int8_t, nn__q_weights(&q->g, l)); if (base) ql->w = w; }
            NN__QTAKE(bias, int32_t, ch);
            NN__QTAKE(mult, int32_t, ch);
            NN__QTAKE(shift, int32_t, ch);
            NN__QTAKE(ws, float, ch);
            if (base) { ql->bias = bias; ql->mult = mult; ql->shift = shift; ql->wscale = ws; }
            ql->n_ch = ch;
            ql->n_w = nn__q_weights(&q->g, l);
        }
        if (nn__ops(l->type)->qrole == NN__Q_LUT && !borrow) {
            uint8_t *lut;
            NN__QTAKE(lut, uint8_t, 256);
            if (base) ql->lut = lut;
        }
        if (nn__ops(l->type)->qscratch && nn__ops(l->type)->qscratch(l) > patch) patch = nn__ops(l->type)->qscratch(l);
    }
    if (act_off) *act_off = off;
    {   /* the outputs in slots reused once their last reader has run (a view reads through to
           the layer whose buffer it is); the model's output lives to the end */
        int64_t slot_n[NN_MAX_LAYERS];
        int slot_free[NN_MAX_LAYERS], slot_of[NN_MAX_LAYERS], last[NN_MAX_LAYERS], own[NN_MAX_LAYERS], ns = 0, k;
        const int L = q->g.n_layers;
        unsigned char avail[NN_MAX_LAYERS];
        uint8_t *slot_at[NN_MAX_LAYERS];
        for (i = 0; i < L; i++) { own[i] = i > 0 && q->q[i].view ? own[q->g.layers[i].inputs[0]] : i; last[i] = 0; }
        for (i = 1; i < L; i++)
            for (k = 0; k < q->g.layers[i].n_inputs; k++)
                if (last[own[q->g.layers[i].inputs[k]]] < i) last[own[q->g.layers[i].inputs[k]]] = i;
        last[own[L - 1]] = L;
        for (i = 1; i < L; i++) {
            if (q->q[i].view) continue;
            for (k = 0; k < ns; k++) avail[k] = slot_free[k] < i;
            slot_of[i] = nn__slot_pick(slot_n, &ns, avail, q->max_batch * q->g.layers[i].size);
            slot_free[slot_of[i]] = last[i] > i ? last[i] : i; /* (read by none: free after itself) */
        }
        for (k = 0; k < ns; k++) NN__QTAKE(slot_at[k], uint8_t, slot_n[k]);
        for (i = 1; i < L; i++)
            if (!q->q[i].view && base) q->q[i].y = slot_at[slot_of[i]];
    }
    {
        uint8_t *sc, *xs;
        NN__QTAKE(sc, uint8_t, patch);
        NN__QTAKE(xs, uint8_t, q->max_batch * q->g.layers[0].size); /* nn_qpredict's quantized input */
        if (base) { q->scratch = sc; q->x_stage = xs; }
    }
#undef NN__QTAKE
    return off + 16; /* room to align the base */
}
NN__PRIVATE char *nn__qbase(const nn_qmodel *q) { return nn__aligned(q->mem, 16); }
NN__PRIVATE nn_result nn__qalloc(nn_qmodel *q, const nn_allocator *al, void *arena, size_t arena_bytes, int borrow) {
    const size_t bytes = nn__qlayout(q, NULL, borrow, NULL);
    nn_result r;
    if ((r = nn__take_zeroed(al, arena, arena_bytes, bytes, &q->mem, &q->own_mem, "int8 model", "")) != NN_OK) return r;
    q->allocator = *al;
    q->mem_bytes = bytes;
    nn__qlayout(q, nn__qbase(q), borrow, NULL);
    q->stamp = nn__new_stamp(q);
    q->claim = (const uint64_t *)(void *)nn__qbase(q);
    memcpy(nn__qbase(q), &q->stamp, 8);
    return NN_OK;
}
NNDEF void nn_qmodel_free(nn_qmodel *q) {
    if (!q) return;
    if (q->mem && q->own_mem && q->allocator.free) q->allocator.free(q->mem, q->allocator.user);
    q->mem = NULL;
}

/* ---- quantization ---- */
NN__PRIVATE void nn__qmult(double M, int32_t *mult, int32_t *shift) {
    int e = 0;
    int64_t m;
    double f;
    if (!(M > 0.0)) { *mult = 0; *shift = 1; return; }
    f = frexp(M, &e); /* M = f 2^e, f in [0.5, 1) */
    m = (int64_t)floor(f * 2147483648.0 + 0.5);
    if (m == ((int64_t)1 << 31)) { m /= 2; e++; }
    e = 31 - e; /* M = m / 2^e */
    while (e > 62) { m = (m + 1) / 2; e--; }
    if (e < 1) { m = ((int64_t)1 << 31) - 1; e = 1; } /* M >= 2^30: saturate (no real layer gets here) */
    *mult = (int32_t)m;
    *shift = e;
}
NNDEF nn_quant_config nn_quant_defaults(void) {
    nn_quant_config c;
    memset(&c, 0, sizeof c);
    return c;
}

/* one output channel's per weights, scaled by g (a folded batchnorm's), as integers symmetric
   over their range in [-qmax, qmax]: *scale, and the sum of the int8 weights (for the input's
   zero point) */
NN__PRIVATE int64_t nn__qchannel(const float *w, int64_t per, double g, int qmax, int8_t *wq, double *scale) {
    double amax = 0.0, s;
    int64_t k, sum = 0;
    for (k = 0; k < per; k++) if (fabs(w[k] * g) > amax) amax = fabs(w[k] * g);
    s = amax > 0.0 ? amax / qmax : 1.0;
    *scale = s;
    for (k = 0; k < per; k++) {
        const double v = floor(w[k] * g / s + 0.5);
        wq[k] = (int8_t)(v < -qmax ? -qmax : v > qmax ? qmax : v);
        sum += wq[k];
    }
    return sum;
}
NN__PRIVATE int nn__qwmax(const int8_t *w, int64_t n) {
    int m = 0;
    int64_t k;
    for (k = 0; k < n; k++) m = w[k] > m ? w[k] : -w[k] > m ? -w[k] : m;
    return m;
}
/* weight_bits: the largest weight magnitude, or 0 (an error set) */
NN__PRIVATE int nn__qmax_of(const nn_quant_config *qc) {
    if (qc->weight_bits == 0 || qc->weight_bits == 8) return 127;
    if (qc->weight_bits == 7) return 64;
    if (qc->weight_bits == 6) return 32;
    nn__fail(NN_ERR_INVALID_ARG, "nn_quantize: weight_bits is %d (6, 7 or 8)", qc->weight_bits);
    return 0;
}

/* A sequence model's mixed form (see nn_quantize's manual): the graph with its float layers'
   parameters, the int8 layers' tables; no calibration */
NN__PRIVATE nn_result nn__quantize_mixed(nn_model *m, const nn_quant_config *qc, nn_qmodel *q) {
    const int L = m->n_layers, qmax = nn__qmax_of(qc);
    nn_allocator al;
    nn_result r;
    int i;
    memset(q, 0, sizeof *q);
    if (!qmax) return NN_ERR_INVALID_ARG;
    nn__pull(m, m->mem, m->mem_bytes); /* the weights, from a device backend */
    q->mixed = 1;
    q->g.n_layers = L;
    memcpy(q->g.layers, m->layers, sizeof(nn_layer) * (size_t)L);
    for (i = 0; i < L; i++) {
        nn_layer *l = &q->g.layers[i];
        l->w = l->dw = l->y = l->dy = l->buf = l->saved = NULL;
        l->fused = l->pool_fwd = l->pool_bwd = 0; /* every layer runs its own step */
        l->pool_rec = NULL;
    }
    q->g.config = m->config;
    q->g.backend = &nn__backend_cpu;
    q->max_batch = qc->max_batch > 0 ? qc->max_batch : m->config.max_batch;
    q->g.config.max_batch = q->max_batch;
    if ((r = nn__allocator_or_default(qc->allocator, &al, "nn_quantize")) != NN_OK) return r;
    if ((r = nn__qalloc(q, &al, qc->arena, qc->arena_bytes, 0)) != NN_OK) return r;
    for (i = 1; i < L; i++) {
        const nn_layer *l = &m->layers[i];
        nn_layer *g = &q->g.layers[i];
        nn_qlayer *ql = &q->q[i];
        if (nn__q_has_w(l)) {
            const int64_t ch = ql->n_ch, per = ql->n_w / ch;
            int has_bias;
            int64_t o;
            (void)nn__q_weight(m, l, &has_bias);
            for (o = 0; o < ch; o++) {
                double s;
                ((int32_t *)(uintptr_t)ql->bias)[o] = (int32_t)nn__qchannel(l->w + o * per, per, 1.0, qmax, (int8_t *)(uintptr_t)ql->w + o * per, &s);
                ((float *)(uintptr_t)ql->wscale)[o] = (float)s;
                ((float *)(uintptr_t)ql->fbias)[o] = has_bias ? l->w[ch * per + o] : 0.0f;
            }
            ql->wmax = nn__qwmax(ql->w, ql->n_w);
        } else if (l->n_params) memcpy(g->w, l->w, sizeof(float) * (size_t)l->n_params);
        if (l->n_buffers) memcpy(g->buf, l->buf, sizeof(float) * (size_t)l->n_buffers);
    }
    return NN_OK;
}

NNDEF nn_result nn_quantize(nn_model *m, const float *calib, int64_t n, const nn_quant_config *cfg, nn_qmodel *q) {
    nn_quant_config qc = cfg ? *cfg : nn_quant_defaults();
    float lo[NN_MAX_LAYERS], hi[NN_MAX_LAYERS];
    int fold[NN_MAX_LAYERS]; /* (a layer's folded ReLU; -1 for the ReLU) */
    nn_allocator al;
    nn_result r;
    int i, L;
    int64_t b, k;
    int mixed = 0, qmax;
    if (!m || !q) return nn__fail(NN_ERR_INVALID_ARG, "nn_quantize: model or output is NULL");
    if (!(qmax = nn__qmax_of(&qc))) return NN_ERR_INVALID_ARG;
    if (!m->compiled) return nn__fail(NN_ERR_STATE, "nn_quantize: the float model is not compiled");
    L = m->n_layers;
    mixed = m->layers[0].cfg.input.tokens;
    for (i = 1; i < L; i++) mixed |= nn__ops(m->layers[i].type)->qrole >= NN__Q_FLOAT;
    if (mixed) return nn__quantize_mixed(m, &qc, q);
    if (!calib) return nn__fail(NN_ERR_INVALID_ARG, "nn_quantize: the calibration data is NULL");
    if (n < 1) return nn__fail(NN_ERR_DATA, "nn_quantize: no calibration rows");
    memset(q, 0, sizeof *q);
    /* which layers an int8 model can run */
    for (i = 1; i < L; i++) {
        const nn__layer_ops *ops = nn__ops(m->layers[i].type);
        const char *why = ops->qrole == NN__Q_NONE ? "has no int8 form" : ops->qcheck ? ops->qcheck(m, i) : NULL;
        if (why) return nn__fail(NN_ERR_UNSUPPORTED, "nn_quantize: layer %d (%s) %s", i, ops->name, why);
    }
    /* calibration: the range of every layer's output over the sample rows */
    for (i = 0; i < L; i++) { lo[i] = 0.0f; hi[i] = 0.0f; }
    for (b = 0; b < n; b += m->config.max_batch) {
        const int64_t nb = n - b < m->config.max_batch ? n - b : m->config.max_batch;
        if ((r = nn_forward(m, calib + b * m->layers[0].size, nb, NULL)) != NN_OK) return r;
        for (i = 0; i < L; i++) {
            nn_tensor t; /* (recomputed where fusion left the buffer as scratch: nn__plan_fuse) */
            const float *y;
            if ((r = nn_model_activation(m, i, nb, &t)) != NN_OK) return r;
            y = t.data;
            for (k = 0; k < nb * m->layers[i].size; k++) {
                if (!(y[k] - y[k] == 0.0f)) return nn__fail(NN_ERR_DATA, "nn_quantize: layer %d output is not finite on the calibration data", i);
                if (y[k] < lo[i]) lo[i] = y[k];
                if (y[k] > hi[i]) hi[i] = y[k];
            }
        }
    }
    nn__pull(m, m->mem, m->mem_bytes); /* the weights, from a device backend */
    /* the graph */
    q->g.n_layers = L;
    memcpy(q->g.layers, m->layers, sizeof(nn_layer) * (size_t)L);
    for (i = 0; i < L; i++) { q->g.layers[i].w = q->g.layers[i].dw = q->g.layers[i].y = q->g.layers[i].dy = NULL; q->g.layers[i].buf = q->g.layers[i].saved = NULL; }
    q->g.config = m->config;
    q->max_batch = qc.max_batch > 0 ? qc.max_batch : m->config.max_batch;
    q->g.config.max_batch = q->max_batch;
    q->softmax_out = m->layers[L - 1].type == NN_LAYER_SOFTMAX; /* (nn_qpredict's float softmax) */
    /* a ReLU that alone reads a dense or conv layer (its batchnorm folded or not) or an add is
       folded into it: that layer takes the ReLU's range ([0, hi], zero point 0), so the clamp of
       its requantization at 0 is the ReLU, whose table is then the identity: a view (no pass
       over the bytes; one rounding instead of two) */
    for (i = 0; i < L; i++) fold[i] = 0;
    for (i = 1; i < L; i++) {
        const nn_layer *l = &m->layers[i];
        int p = l->inputs[0];
        if (l->type != NN_LAYER_ACT || p == 0 || nn__readers(m, p, NULL) != 1 ||
            !(l->cfg.act.kind == NN_ACT_RELU || (l->cfg.act.kind == NN_ACT_LEAKY_RELU && l->cfg.act.alpha == 0.0f)))
            continue;
        if (nn__ops(m->layers[p].type)->qrole == NN__Q_VIEW && m->layers[p].n_params) p = m->layers[p].inputs[0];
        if (nn__q_has_w(&m->layers[p]) || m->layers[p].type == NN_LAYER_ADD) { fold[p] = i; fold[i] = -1; }
    }
    /* activation parameters, in layer order (views take their input's) */
    nn__qparams(lo[0], hi[0], &q->q[0].scale, &q->q[0].zero);
    for (i = 1; i < L; i++) {
        const nn_layer *l = &m->layers[i];
        nn_qlayer *ql = &q->q[i];
        const nn_qlayer *qa = &q->q[l->inputs[0]];
        int src = i;
        const int role = nn__ops(l->type)->qrole;
        ql->view = role == NN__Q_VIEW || fold[i] < 0;
        if (ql->view || role == NN__Q_SAME) {
            ql->scale = qa->scale; ql->zero = qa->zero;
            continue;
        }
        if (fold[i] > 0) src = fold[i];
        else if (nn__q_has_w(l) && nn__readers(m, i, NULL) == 1) /* calibrated at the batchnorm it absorbs */
            for (k = i + 1; k < L; k++)
                if (m->layers[k].inputs[0] == i && nn__ops(m->layers[k].type)->qrole == NN__Q_VIEW && m->layers[k].n_params) src = (int)k;
        nn__qparams(lo[src], hi[src], &ql->scale, &ql->zero);
    }
    if ((r = nn__allocator_or_default(qc.allocator, &al, "nn_quantize")) != NN_OK) return r;
    if ((r = nn__qalloc(q, &al, qc.arena, qc.arena_bytes, 0)) != NN_OK) return r;
    /* tables, weights, multipliers */
    for (i = 1; i < L; i++) {
        const nn_layer *l = &m->layers[i];
        nn_qlayer *ql = &q->q[i];
        const nn_qlayer *qa = &q->q[l->inputs[0]];
        const int role = nn__ops(l->type)->qrole;
        if (role == NN__Q_LUT) {
            float xs[256], ys[256];
            for (k = 0; k < 256; k++) xs[k] = qa->scale * (float)(k - qa->zero);
            nn__ops(l->type)->qtable(l, ys, xs, 256);
            for (k = 0; k < 256; k++) ((uint8_t *)(uintptr_t)ql->lut)[k] = nn__quant1(ys[k], ql->scale, ql->zero);
            for (k = 0; k < 256 && ql->view; k++)
                if (ql->lut[k] != k) return nn__fail(NN_ERR_STATE, "nn_quantize: layer %d: the folded ReLU's table is not the identity", i);
        } else if (role == NN__Q_RESCALE) {
            const nn_qlayer *qb = &q->q[l->inputs[1]];
            nn__qmult((double)qa->scale / ql->scale, &ql->rq[0], &ql->rq[1]);
            nn__qmult((double)qb->scale / ql->scale, &ql->rq[2], &ql->rq[3]);
        } else if (nn__q_has_w(l)) {
            const int64_t ch = nn__q_channels(m, l), per = nn__q_weights(m, l) / ch;
            int has_bias;
            const nn_layer *bn = NULL;
            int8_t *wq = (int8_t *)(uintptr_t)ql->w;
            int32_t *bias = (int32_t *)(uintptr_t)ql->bias, *mult = (int32_t *)(uintptr_t)ql->mult;
            int32_t *shift = (int32_t *)(uintptr_t)ql->shift;
            float *wsc = (float *)(uintptr_t)ql->wscale;
            int64_t o;
            (void)nn__q_weight(m, l, &has_bias);
            for (k = i + 1; k < L; k++) /* a folded batchnorm (its qcheck): a view with parameters */
                if (nn__ops(m->layers[k].type)->qrole == NN__Q_VIEW && m->layers[k].n_params && m->layers[k].inputs[0] == i)
                    bn = &m->layers[k];
            ql->n_w = ch * per;
            ql->n_ch = ch;
            for (o = 0; o < ch; o++) {
                /* a folded batchnorm scales the channel's weights and shifts its bias */
                double g = 1.0, beta = 0.0, s, bsum;
                int64_t sumw;
                if (bn) {
                    const double inv = 1.0 / sqrt((double)bn->buf[ch + o] + bn->cfg.bn.eps);
                    g = bn->w[o] * inv;
                    beta = bn->w[ch + o] - bn->buf[o] * g;
                }
                sumw = nn__qchannel(l->w + o * per, per, g, qmax, wq + o * per, &s);
                wsc[o] = (float)s;
                bsum = (has_bias ? l->w[ch * per + o] * g : 0.0) + beta;
                bias[o] = (int32_t)floor(bsum / ((double)qa->scale * s) + 0.5) - qa->zero * (int32_t)sumw;
                nn__qmult((double)qa->scale * s / ql->scale, &mult[o], &shift[o]);
            }
            ql->wmax = nn__qwmax(wq, ch * per);
        }
    }
    return NN_OK;
}

NNDEF nn_result nn_qpredict(nn_qmodel *q, const float *x, int64_t n, float *out) {
    const nn_qlayer *qo;
    int64_t i, k, in, C;
    nn_result r;
    if (!q || !q->mem || !x || !out) return nn__fail(NN_ERR_INVALID_ARG, "nn_qpredict: no model, or x or out is NULL");
    if (q->claim && *q->claim != q->stamp) return nn__qtaken("nn_qpredict");
    if (n < 1) return nn__fail(NN_ERR_DATA, "nn_qpredict: n = %l", n);
    in = q->g.layers[0].size;
    C = q->g.layers[q->g.n_layers - 1].size;
    qo = &q->q[q->g.n_layers - 1];
    if (q->mixed) {
        if ((r = nn__check_inputs(&q->g, "nn_qpredict", x, n, in)) != NN_OK) return r;
        for (i = 0; i < n; i += q->max_batch) {
            const int64_t b = n - i < q->max_batch ? n - i : q->max_batch;
            nn__qforward_all(q, (const uint8_t *)(const void *)(x + i * in), b);
            memcpy(out + i * C, q->g.layers[q->g.n_layers - 1].y, sizeof(float) * (size_t)(b * C));
        }
        return NN_OK;
    }
    for (i = 0; i < n; i += q->max_batch) {
        const int64_t b = n - i < q->max_batch ? n - i : q->max_batch;
        uint8_t *xs = q->x_stage;
        for (k = 0; k < b * in; k += 4096) { /* (checked a piece at a time as quantized: one pass over x) */
            const int64_t m = b * in - k < 4096 ? b * in - k : 4096;
            if (!nn__all_finite(x + i * in + k, m)) return nn__check_inputs(NULL, "nn_qpredict", x, n, in);
            nn__quantize(x + i * in + k, m, q->q[0].scale, q->q[0].zero, xs + k);
        }
        if ((r = nn_qforward(q, xs, b, NULL)) != NN_OK) return r;
        for (k = 0; k < b * C; k++) out[i * C + k] = qo->scale * (float)(qo->y[k] - qo->zero);
        if (q->softmax_out) nn__softmax_rows(out + i * C, out + i * C, b, C);
    }
    return NN_OK;
}

/* ---- the int8 file: the float model's names and metadata, plus nn.quant ---- */
NN__PRIVATE void nn__qemit_tensors(nn__sink *hdr, nn__sink *data, const nn_qmodel *q) {
    static const char *const parts[6] = {"weight", "bias", "multiplier", "shift", "weight_scale", "lut"};
    uint64_t off = 0;
    int i, p, d;
    for (i = 1; i < q->g.n_layers; i++) {
        const nn_layer *l = &q->g.layers[i];
        const nn_qlayer *ql = &q->q[i];
        for (p = 0; p < 6; p++) {
            int64_t shape[4], n, esz = p == 0 || p == 5 ? 1 : 4;
            int nd = 1;
            char e[160];
            if (p < 5 ? !nn__q_has_w(l) : nn__ops(l->type)->qrole != NN__Q_LUT) continue;
            if (p == 0) { const nn__tdesc t = nn__q_weight(&q->g, l, NULL); nd = t.ndim; memcpy(shape, t.shape, sizeof shape); }
            else shape[0] = p == 5 ? 256 : ql->n_ch;
            n = 1;
            for (d = 0; d < nd; d++) n *= shape[d];
            if (data) {
                const void *src = p == 0 ? (const void *)ql->w : p == 1 ? (const void *)ql->bias : p == 2 ? (const void *)ql->mult
                                : p == 3 ? (const void *)ql->shift : p == 4 ? (const void *)ql->wscale : (const void *)ql->lut;
                if (esz == 1) nn__put(data, src, (size_t)n);
                else if (p == 4) nn__put_floats(data, (const float *)src, n);
                else {
                    int64_t k;
                    unsigned char b4[4];
                    for (k = 0; k < n; k++) { nn__wr_le(b4, (uint32_t)((const int32_t *)src)[k], 4); nn__put(data, b4, 4); }
                }
                continue;
            }
            e[0] = 0;
            nn__cat(e, sizeof e, ", \"");
            nn__cat_int(e, sizeof e, i - 1);
            nn__cat(e, sizeof e, ".");
            nn__cat(e, sizeof e, parts[p]);
            nn__cat(e, sizeof e, p == 0 ? "\": {\"dtype\": \"I8\"" : p == 5 ? "\": {\"dtype\": \"U8\"" : p == 4 ? "\": {\"dtype\": \"F32\"" : "\": {\"dtype\": \"I32\"");
            nn__cat(e, sizeof e, ", \"shape\": [");
            for (d = 0; d < nd; d++) { if (d) nn__cat(e, sizeof e, ", "); nn__cat_int(e, sizeof e, shape[d]); }
            nn__cat(e, sizeof e, "], \"data_offsets\": [");
            nn__cat_int(e, sizeof e, (int64_t)off);
            off += (uint64_t)(n * esz);
            nn__cat(e, sizeof e, ", ");
            nn__cat_int(e, sizeof e, (int64_t)off);
            nn__cat(e, sizeof e, "]}");
            nn__puts(hdr, e);
        }
    }
}
NN__PRIVATE void nn__qemit_header(nn__sink *h, const nn_qmodel *q) {
    int i, k;
    nn__puts(h, "{\"__metadata__\": {\"nn.version\": \"1\", ");
    nn__put_arch(h, &q->g);
    nn__puts(h, ", ");
    nn__put_config(h, &q->g);
    nn__puts(h, ", \"nn.quant\": \"int8 softmax_out=");
    nn__puts(h, q->softmax_out ? "1" : "0");
    for (i = 0; i < q->g.n_layers; i++) {
        char t[200];
        t[0] = 0;
        nn__cat(t, sizeof t, "\\nscale=");
        nn__cat_float(t, sizeof t, q->q[i].scale);
        nn__cat(t, sizeof t, " zero=");
        nn__cat_int(t, sizeof t, q->q[i].zero);
        nn__cat(t, sizeof t, " view=");
        nn__cat_int(t, sizeof t, q->q[i].view);
        nn__cat(t, sizeof t, " rq=");
        for (k = 0; k < 4; k++) { if (k) nn__cat(t, sizeof t, ","); nn__cat_int(t, sizeof t, q->q[i].rq[k]); }
        nn__puts(h, t);
    }
    nn__puts(h, "\"}");
    nn__qemit_tensors(h, NULL, q);
    nn__puts(h, "}");
}
NN__PRIVATE void nn__qmodel_header(nn__sink *s, const void *q, int unused) { (void)unused; nn__qemit_header(s, (const nn_qmodel *)q); }
NN__PRIVATE void nn__qmodel_tensors(nn__sink *s, const void *q, int unused) { (void)unused; nn__qemit_tensors(NULL, s, (const nn_qmodel *)q); }
NN__PRIVATE void nn__write_qmodel(nn__sink *s, const nn_qmodel *q) { nn__write_st(s, nn__qmodel_header, nn__qmodel_tensors, q, 0); }
NNDEF nn_result nn_qsave_mem(const nn_qmodel *q, void *buf, size_t cap, size_t *size) {
    nn__sink s;
    if (!q || !q->mem || !size) return nn__fail(NN_ERR_INVALID_ARG, "nn_qsave_mem: no model, or size is NULL");
    if (q->mixed) return nn__fail(NN_ERR_UNSUPPORTED, "nn_qsave_mem: an int8 sequence model (float activations) has no file form; save the float model");
#ifdef NN_INT8_ONLY
    return nn__fail(NN_ERR_UNSUPPORTED, "nn_qsave_mem: this build has NN_INT8_ONLY (no writer)");
#endif
    nn__sink_init(&s, buf, buf ? cap : 0);
    nn__write_qmodel(&s, q);
    *size = s.len;
    if (buf && s.fail) return nn__fail(NN_ERR_INVALID_ARG, "nn_qsave_mem: the file takes %l bytes, the buffer has %l", (int64_t)s.len, (int64_t)cap);
    return NN_OK;
}

/* a tensor of the file with this name, dtype and element count, or an error */
NN__PRIVATE nn_result nn__qtensor(nn__st *st, int layer, const char *part, int dtype, int64_t numel, const nn__st_entry **out) {
    char nm[96];
    nm[0] = 0;
    nn__cat_int(nm, sizeof nm, layer - 1);
    nn__cat(nm, sizeof nm, ".");
    nn__cat(nm, sizeof nm, part);
    if (!(*out = nn__st_find(st, nm))) return nn__fail(NN_ERR_FORMAT, "int8 model file: tensor '%s' is missing", nm);
    if ((*out)->dtype != dtype || (*out)->numel != numel)
        return nn__fail(NN_ERR_FORMAT, "int8 model file: tensor '%s' is %s with %l elements; expected %s with %l", nm,
                        nn__dt_names[(*out)->dtype], (*out)->numel, nn__dt_names[dtype], numel);
    ((nn__st_entry *)(uintptr_t)*out)->used = 1;
    return NN_OK;
}

/* check every tensor (with fill: copy or point at it); the parameters of each layer are read first */
NN__PRIVATE nn_result nn__qtables(nn_qmodel *q, nn__st *st, int fill, int borrow) {
    int i;
    int64_t k;
    nn_result r;
    for (i = 1; i < q->g.n_layers; i++) {
        const nn_layer *l = &q->g.layers[i];
        nn_qlayer *ql = &q->q[i];
        const nn__st_entry *e;
        if (nn__q_has_w(l)) {
            const int64_t ch = nn__q_channels(&q->g, l), nw = nn__q_weights(&q->g, l);
            if ((r = nn__qtensor(st, i, "weight", NN__DT_I8, nw, &e)) != NN_OK) return r;
            if (fill) {
                if (borrow) ql->w = (const int8_t *)(st->data + e->begin); else memcpy((void *)(uintptr_t)ql->w, st->data + e->begin, (size_t)nw);
                ql->wmax = nn__qwmax(ql->w, nw);
            }
            if ((r = nn__qtensor(st, i, "bias", NN__DT_I32, ch, &e)) != NN_OK) return r;
            for (k = 0; fill && k < ch; k++) ((int32_t *)(uintptr_t)ql->bias)[k] = (int32_t)(uint32_t)nn__rd_le(st->data + e->begin + 4 * k, 4);
            if ((r = nn__qtensor(st, i, "multiplier", NN__DT_I32, ch, &e)) != NN_OK) return r;
            for (k = 0; k < ch; k++) {
                const int32_t v = (int32_t)(uint32_t)nn__rd_le(st->data + e->begin + 4 * k, 4);
                if (v < 0) return nn__fail(NN_ERR_FORMAT, "int8 model file: layer %d: a negative multiplier", i);
                if (fill) ((int32_t *)(uintptr_t)ql->mult)[k] = v;
            }
            if ((r = nn__qtensor(st, i, "shift", NN__DT_I32, ch, &e)) != NN_OK) return r;
            for (k = 0; k < ch; k++) {
                const int32_t v = (int32_t)(uint32_t)nn__rd_le(st->data + e->begin + 4 * k, 4);
                if (v < 1 || v > 62) return nn__fail(NN_ERR_FORMAT, "int8 model file: layer %d: shift %d outside [1, 62]", i, (int)v);
                if (fill) ((int32_t *)(uintptr_t)ql->shift)[k] = v;
            }
            if ((r = nn__qtensor(st, i, "weight_scale", NN__DT_F32, ch, &e)) != NN_OK) return r;
            if (nn__convert(fill ? (float *)(uintptr_t)ql->wscale : NULL, st->data + e->begin, NN__DT_F32, ch, 1) >= 0)
                return nn__fail(NN_ERR_DATA, "int8 model file: layer %d: a weight scale is not finite", i);
        }
        if (nn__ops(l->type)->qrole == NN__Q_LUT) {
            if ((r = nn__qtensor(st, i, "lut", NN__DT_U8, 256, &e)) != NN_OK) return r;
            for (k = 0; k < 256 && ql->view; k++) /* (a folded ReLU: see nn_quantize) */
                if (st->data[e->begin + k] != k) return nn__fail(NN_ERR_FORMAT, "int8 model file: layer %d is a view but its table is not the identity", i);
            if (fill) { if (borrow) ql->lut = st->data + e->begin; else memcpy((void *)(uintptr_t)ql->lut, st->data + e->begin, 256); }
        }
    }
    for (k = 0; k < st->n; k++)
        if (!st->e[k].used) return nn__fail(NN_ERR_FORMAT, "int8 model file: tensor '%s' is not part of the model", st->e[k].name);
    return NN_OK;
}

/* the per-layer lines of nn.quant */
NN__PRIVATE nn_result nn__qmeta(nn_qmodel *q, const char *text) {
    const char *p = text;
    int i = -1;
    while (*p) {
        char line[256];
        const char *e = strchr(p, '\n');
        const size_t n = e ? (size_t)(e - p) : strlen(p);
        int64_t v[4];
        if (n >= sizeof line) return nn__fail(NN_ERR_FORMAT, "int8 model file: an nn.quant line is too long");
        memcpy(line, p, n);
        line[n] = 0;
        p = e ? e + 1 : p + n;
        if (i < 0) {
            if (strncmp(line, "int8", 4) != 0 || !nn__kv_int(line, "softmax_out", &v[0]))
                return nn__fail(NN_ERR_FORMAT, "int8 model file: nn.quant does not start with 'int8 softmax_out=...'");
            q->softmax_out = v[0] != 0;
        } else {
            nn_qlayer *ql = &q->q[i];
            const nn_layer *l;
            const char *why;
            int viewable, role;
            if (i >= q->g.n_layers) return nn__fail(NN_ERR_FORMAT, "int8 model file: nn.quant has more lines than layers");
            l = &q->g.layers[i];
            if (!nn__kv_float(line, "scale", &ql->scale) || !(ql->scale > 0.0f && ql->scale < 1e30f) ||
                !nn__kv_int(line, "zero", &v[0]) || v[0] < 0 || v[0] > 255 || !nn__kv_int(line, "view", &v[1]) ||
                nn__kv_ints(line, "rq", v, 4) != 4)
                return nn__fail(NN_ERR_FORMAT, "int8 model file: nn.quant line of layer %d is malformed", i);
            nn__kv_int(line, "zero", &v[0]);
            ql->zero = (int32_t)v[0];
            nn__kv_int(line, "view", &v[1]);
            ql->view = v[1] != 0;
            nn__kv_ints(line, "rq", v, 4);
            role = nn__ops(l->type)->qrole;
            viewable = role == NN__Q_VIEW || (role == NN__Q_LUT && ql->view); /* (a folded ReLU: nn__qtables checks its table) */
            if (i > 0 && (role == NN__Q_NONE || ql->view != viewable))
                return nn__fail(NN_ERR_FORMAT, "int8 model file: layer %d (%s) cannot %s", i, nn__layer_name(l->type),
                                ql->view ? "be a view" : "run in int8");
            if (i > 0 && nn__ops(l->type)->qcheck && (why = nn__ops(l->type)->qcheck(&q->g, i)) != NULL)
                return nn__fail(NN_ERR_FORMAT, "int8 model file: layer %d (%s) %s", i, nn__layer_name(l->type), why);
            if (role == NN__Q_RESCALE) {
                if (v[0] < 0 || v[2] < 0 || v[1] < 1 || v[1] > 62 || v[3] < 1 || v[3] > 62 || v[0] > 2147483647 || v[2] > 2147483647)
                    return nn__fail(NN_ERR_FORMAT, "int8 model file: layer %d: bad rescale", i);
                ql->rq[0] = (int32_t)v[0]; ql->rq[1] = (int32_t)v[1]; ql->rq[2] = (int32_t)v[2]; ql->rq[3] = (int32_t)v[3];
            }
        }
        i++;
    }
    if (i != q->g.n_layers) return nn__fail(NN_ERR_FORMAT, "int8 model file: nn.quant has %d layer lines for %d layers", i, q->g.n_layers);
    return NN_OK;
}

NN__PRIVATE nn_result nn__qload(nn_qmodel *q, const void *data, size_t size, const nn_load_config *cfg, size_t *need) {
    nn_load_config lc = cfg ? *cfg : nn_load_defaults();
    nn_compile_config cc;
    nn_allocator al, mal;
    nn__bump bump;
    nn__st st;
    nn_result r;
    size_t act_off, needed;
    if (!q || !data) return nn__fail(NN_ERR_INVALID_ARG, "nn_qload_mem: model or data is NULL");
    memset(q, 0, sizeof *q);
    memset(&st, 0, sizeof st);
    if ((r = nn__allocator_or_default(lc.allocator, &mal, "nn_qload_mem")) != NN_OK) return r;
    al = mal;
    if (lc.arena) { /* the arena is this load's from here on: its old model's claim goes first */
        nn__clear_claim(lc.arena, lc.arena_bytes, 16);
        bump.p = nn__aligned(lc.arena, 16) + 16;
        bump.left = lc.arena_bytes > (size_t)(bump.p - (char *)lc.arena) ? lc.arena_bytes - (size_t)(bump.p - (char *)lc.arena) : 0;
        al.alloc = nn__bump_alloc; al.free = nn__no_free; al.user = &bump;
    }
    if ((r = nn__st_parse(&st, (const unsigned char *)data, size, &al)) != NN_OK) goto done;
    if (!st.arch || !st.quant) { r = nn__fail(NN_ERR_FORMAT, "int8 model file: no nn.arch or nn.quant in __metadata__ (not an int8 nn.h model)"); goto done; }
    if (st.version && strcmp(st.version, "1") != 0) { r = nn__fail(NN_ERR_UNSUPPORTED, "int8 model file: format version '%s' is newer than this nn.h reads (1)", st.version); goto done; }
    if ((r = nn__build_arch(&q->g, st.arch)) != NN_OK) goto done; /* (no nn_model_init: the graph holds no memory) */
    if ((r = nn__parse_config(st.config, &cc)) != NN_OK) goto done;
    q->g.config = cc;
    q->max_batch = lc.max_batch > 0 ? lc.max_batch : cc.max_batch;
    if (q->max_batch < 1 || q->max_batch > ((int64_t)1 << 24)) { r = nn__fail(NN_ERR_FORMAT, "int8 model file: max_batch out of range"); goto done; }
    q->g.config.max_batch = q->max_batch;
    if ((r = nn__qmeta(q, st.quant)) != NN_OK) goto done;
    if ((r = nn__qtables(q, &st, 0, 0)) != NN_OK) goto done;
    needed = nn__qlayout(q, NULL, lc.borrow, &act_off);
    if (lc.arena || need) {
        const size_t second = 16 + act_off + nn__st_arena_bytes(nn__rd_le((const unsigned char *)data, 8));
        if (second > needed) needed = second;
    }
    if (need) { *need = needed; goto done; }
    if (lc.arena && lc.arena_bytes < needed) {
        r = nn__fail(NN_ERR_OUT_OF_MEMORY, "nn_qload_mem: the arena has %l bytes; this model needs %l (nn_qload_mem_arena_bytes)",
                     (int64_t)lc.arena_bytes, (int64_t)needed);
        goto done;
    }
    if ((r = nn__qalloc(q, &mal, lc.arena, lc.arena_bytes, lc.borrow)) != NN_OK) goto done;
    if (lc.arena) { /* the arena was zeroed: parse again where the activations will go */
        bump.p = nn__qbase(q) + act_off;
        bump.left = lc.arena_bytes - (size_t)(bump.p - (char *)lc.arena);
        if ((r = nn__st_parse(&st, (const unsigned char *)data, size, &al)) != NN_OK) goto done;
    }
    q->borrowed = lc.borrow != 0;
    r = nn__qtables(q, &st, 1, lc.borrow);
done:
    if (st.mem && !lc.arena) al.free(st.mem, al.user);
    if ((r != NN_OK || need) && q) nn_qmodel_free(q);
    return r;
}
NNDEF nn_result nn_qload_mem(nn_qmodel *q, const void *data, size_t size, const nn_load_config *cfg) {
    return nn__qload(q, data, size, cfg, NULL);
}
NNDEF nn_result nn_qload_mem_arena_bytes(nn_qmodel *q, const void *data, size_t size, const nn_load_config *cfg, size_t *bytes) {
    if (!bytes) return nn__fail(NN_ERR_INVALID_ARG, "nn_qload_mem_arena_bytes: bytes is NULL");
    return nn__qload(q, data, size, cfg, bytes);
}
#ifndef NN_NO_STDIO
NN__PRIVATE void nn__fill_qmodel(nn__sink *s, const void *q, int unused) { (void)unused; nn__write_qmodel(s, (const nn_qmodel *)q); }
NNDEF nn_result nn_qsave(const nn_qmodel *q, const char *path) {
    if (!q || !q->mem) return nn__fail(NN_ERR_INVALID_ARG, "nn_qsave: no model");
    if (q->mixed) return nn__fail(NN_ERR_UNSUPPORTED, "nn_qsave: an int8 sequence model (float activations) has no file form; save the float model");
    return nn__save_atomic(path, "nn_qsave", nn__fill_qmodel, q, 0);
}
/* nn_load and nn_qload: the whole file into memory, loaded (copied: the bytes are freed) */
NN__PRIVATE nn_result nn__load_path(void *model, size_t model_size, const char *path, const nn_load_config *cfg, int quant) {
    nn_load_config lc = cfg ? *cfg : nn_load_defaults();
    const char *fn = quant ? "nn_qload" : "nn_load";
    nn_allocator al;
    unsigned char *data;
    size_t size;
    nn_result r;
    if (!model) return nn__fail(NN_ERR_INVALID_ARG, "%s: model is NULL", fn);
    memset(model, 0, model_size);
    if ((r = nn__allocator_or_default(lc.allocator, &al, fn)) != NN_OK) return r;
    if ((r = nn__read_file(path, &al, &data, &size, fn)) != NN_OK) return r;
    lc.borrow = 0;
    r = quant ? nn_qload_mem((nn_qmodel *)model, data, size, &lc) : nn_load_mem((nn_model *)model, data, size, &lc);
    al.free(data, al.user);
    return r;
}
NNDEF nn_result nn_load(nn_model *m, const char *path, const nn_load_config *cfg) {
    return nn__load_path(m, sizeof *m, path, cfg, 0);
}
NNDEF nn_result nn_qload(nn_qmodel *q, const char *path, const nn_load_config *cfg) {
    return nn__load_path(q, sizeof *q, path, cfg, 1);
}
#endif

/* >>util ---------------------------------------------------------------------------------------- */
NNDEF void nn_set_threads(int n) {
#if NN__OMP
    if (n > 0) omp_set_num_threads(n);
#else
    (void)n;
#endif
}
NNDEF int nn_get_threads(void) {
#if NN__OMP
    return omp_get_max_threads();
#else
    return 1;
#endif
}

#if defined(__clang__)
#pragma STDC FP_CONTRACT DEFAULT
#endif
#endif /* NN_IMPLEMENTATION_INCLUDED */
#endif /* NN_IMPLEMENTATION */

/*
------------------------------------------------------------------------------
MIT License

Copyright (c) 2026 the nn.h authors

Permission is hereby granted, free of charge, to any person obtaining a copy of
this software and associated documentation files (the "Software"), to deal in
the Software without restriction, including without limitation the rights to
use, copy, modify, merge, publish, distribute, sublicense, and/or sell copies
of the Software, and to permit persons to whom the Software is furnished to do
so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all
copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
SOFTWARE.
------------------------------------------------------------------------------
*/
