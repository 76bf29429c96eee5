/* cc -std=c99 -O2 -march=native -fopenmp examples/charlm.c -lm -o charlm && ./charlm
   charlm: a character-level GPT trained on a text, then sampled (nanoGPT's CPU configuration of
   its Shakespeare example: 4 layers, 4 heads, 128 wide, context 64, batch 12, no dropout, AdamW
   lr 1e-3 with 100 warm-up steps and cosine decay to 1e-4, betas 0.9 / 0.99, weight decay 0.1,
   gradients clipped to norm 1, 2,000 iterations). The text is data/kjv.txt (1 MB of the King
   James Bible); the first 90% trains, the last 10% is the validation split.

     ./charlm [text [iterations [gpt|gpt-lean|lstm [model.safetensors]]]]

   gpt-lean: the same GPT compiled with nn_compile_config.recompute (the GELUs' outputs and
   attention's probabilities recomputed in backward rather than kept: the same numbers, less
   memory, a slower step). lstm: a two-layer LSTM (hidden 256) over 128-wide character
   embeddings instead, PyTorch's default initializations, the same training loop.

   It prints the training loss every 100 iterations, the validation loss (over every window of
   the split: the same number each run, not a sample) every 500 and at the end, the median time
   per iteration, then 400 characters sampled from the trained model (nn_generate).
   bench/torch_ref.py trains the same models in PyTorch (--only train charlm-gpt, charlm-lstm). */
#define _POSIX_C_SOURCE 199309L /* clock_gettime */
#define NN_IMPLEMENTATION
#include "../nn.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <time.h>
#if defined(__unix__) || defined(__APPLE__)
#include <sys/resource.h>
static double peak_rss_mb(void) { struct rusage u; getrusage(RUSAGE_SELF, &u); return u.ru_maxrss / 1024.0; }
#else
static double peak_rss_mb(void) { return 0.0; }
#endif

enum { LAYERS = 4, HEADS = 4, WIDTH = 128, CTX = 64, BATCH = 12 };

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}
static uint64_t rng = 1337;
static uint64_t next_u64(void) { /* splitmix64 */
    uint64_t z = (rng += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}
static double uniform(void) { return (double)(next_u64() >> 11) * (1.0 / 9007199254740992.0); }
static float normal(float std) { return (float)(std * sqrt(-2.0 * log(1.0 - uniform())) * cos(6.283185307179586 * uniform())); }
static int cmp_double(const void *a, const void *b) { double x = *(const double *)a, y = *(const double *)b; return (x > y) - (x < y); }

/* nanoGPT's learning rate: linear warm-up, then cosine decay to min_lr */
static float lr_at(int it, int iters) {
    const float lr = 1e-3f, min_lr = 1e-4f;
    const int warmup = 100;
    if (it < warmup) return lr * (float)(it + 1) / (float)(warmup + 1);
    if (it > iters) return min_lr;
    return min_lr + 0.5f * (1.0f + cosf(3.14159265f * (float)(it - warmup) / (float)(iters - warmup))) * (lr - min_lr);
}

/* the GPT: token and position embeddings, LAYERS pre-norm blocks (attention, then a 4x MLP with
   GELU, each added to the stream), a final layernorm, logits from the token embedding (tied);
   no biases in the projections, as nanoGPT's bias=False (its layernorms then have none either;
   ours have one, starting at zero, as bench/torch_ref.py's nn.LayerNorm has).
   proj[]: the layers whose weights nanoGPT initializes with std 0.02 / sqrt(2 LAYERS). */
static int build_lstm(nn_model *m, int vocab) {
    int h = nn_embedding(m, nn_input_seq(m, CTX, 0), vocab, 128);
    h = nn_lstm(m, nn_lstm(m, h, 256, 1), 256, 1);
    return nn_dense_ex(m, h, vocab, 1, NN_INIT_TORCH);
}
static int build(nn_model *m, int vocab, int *proj) {
    int x = nn_input_seq(m, CTX, 0), e, h, k;
    e = nn_embedding_ex(m, x, vocab, WIDTH, 0.02f);
    h = nn_pos_embedding(m, e, 0.02f);
    for (k = 0; k < LAYERS; k++) {
        const int a = nn_attention_ex(m, nn_layernorm(m, h, 1e-5f), HEADS, 1, 0, 0.0f, NN_INIT_TORCH);
        int f = nn_dense_ex(m, nn_layernorm(m, (h = nn_add(m, h, a)), 1e-5f), 4 * WIDTH, 0, NN_INIT_TORCH);
        f = nn_dense_ex(m, nn_gelu(m, f), WIDTH, 0, NN_INIT_TORCH);
        h = nn_add(m, h, f);
        proj[2 * k] = a;
        proj[2 * k + 1] = f;
    }
    return nn_dense_tied(m, nn_layernorm(m, h, 1e-5f), e);
}
/* nanoGPT's initialization: every weight N(0, 0.02), the output projections N(0, 0.02/sqrt(2L)) */
static void init_like_nanogpt(nn_model *m, const int *proj) {
    const float std2 = 0.02f / sqrtf(2.0f * LAYERS);
    int i, k;
    int64_t j;
    for (i = 1; i < m->n_layers; i++) {
        nn_layer *l = &m->layers[i];
        int is_proj = 0;
        for (k = 0; k < 2 * LAYERS; k++) is_proj |= proj[k] == i;
        if (l->type == NN_LAYER_DENSE)
            for (j = 0; j < l->n_params; j++) l->w[j] = normal(is_proj ? std2 : 0.02f);
        if (l->type == NN_LAYER_ATTENTION) /* c_attn (3C x C), then c_proj (C x C) */
            for (j = 0; j < l->n_params; j++) l->w[j] = normal(j < 3 * WIDTH * WIDTH ? 0.02f : std2);
    }
}

/* mean cross-entropy of next-character prediction over every window of ids[0..n) (stride CTX),
   by the float model, or by its int8 form q when given */
static double eval_loss(nn_model *m, nn_qmodel *q, const float *ids, const int32_t *next, int64_t n) {
    static float x[BATCH * CTX], logits[BATCH * CTX * 256];
    static int32_t y[BATCH * CTX];
    const int64_t V = nn_model_output_size(m) / CTX;
    const int64_t windows = (n - 1) / CTX;
    double total = 0.0;
    int64_t w, b, i;
    for (w = 0; w < windows; w += BATCH) {
        const int64_t nb = windows - w < BATCH ? windows - w : BATCH;
        for (b = 0; b < nb; b++) {
            memcpy(x + b * CTX, ids + (w + b) * CTX, sizeof(float) * CTX);
            memcpy(y + b * CTX, next + (w + b) * CTX, sizeof(int32_t) * CTX);
        }
        if ((q ? nn_qpredict(q, x, nb, logits) : nn_predict(m, x, nb, logits)) != NN_OK) { fprintf(stderr, "%s\n", nn_error()); exit(1); }
        for (i = 0; i < nb * CTX; i++) { /* log-sum-exp of the row minus the target's logit */
            const float *r = logits + i * V;
            float mx = r[0];
            double s = 0.0;
            int64_t c;
            for (c = 1; c < V; c++) if (r[c] > mx) mx = r[c];
            for (c = 0; c < V; c++) s += exp((double)(r[c] - mx));
            total += log(s) + mx - r[y[i]];
        }
    }
    return total / (double)(windows * CTX);
}

int main(int argc, char **argv) {
    const char *path = argc > 1 ? argv[1] : "data/kjv.txt";
    const int iters = argc > 2 ? atoi(argv[2]) : 2000;
    const int lstm = argc > 3 && strcmp(argv[3], "lstm") == 0, lean = argc > 3 && strcmp(argv[3], "gpt-lean") == 0;
    static float x[BATCH * CTX];
    static int32_t y[BATCH * CTX];
    unsigned char *text;
    float *ids;
    int32_t *next;
    double *times;
    char chars[256];
    int code[256], vocab = 0, proj[2 * LAYERS], it, k;
    long size;
    int64_t n, n_train, i;
    nn_model m;
    nn_compile_config cc = nn_compile_defaults();
    FILE *f = fopen(path, "rb");
    if (!f) { fprintf(stderr, "charlm: cannot open %s\n", path); return 1; }
    fseek(f, 0, SEEK_END);
    size = ftell(f);
    fseek(f, 0, SEEK_SET);
    text = (unsigned char *)malloc((size_t)size + 1);
    if (!text || fread(text, 1, (size_t)size, f) != (size_t)size || size < 10 * CTX) { fprintf(stderr, "charlm: cannot read %s\n", path); return 1; }
    fclose(f);
    /* the vocabulary: the bytes that occur, in byte order (as nanoGPT's sorted(set(text))) */
    for (k = 0; k < 256; k++) code[k] = -1;
    for (i = 0; i < size; i++) code[text[i]] = 0;
    for (k = 0; k < 256; k++) if (code[k] == 0) { chars[vocab] = (char)k; code[k] = vocab++; }
    n = size;
    ids = (float *)malloc(sizeof(float) * (size_t)n);
    next = (int32_t *)malloc(sizeof(int32_t) * (size_t)n);
    times = (double *)malloc(sizeof(double) * (size_t)(iters > 0 ? iters : 1));
    if (!ids || !next || !times) return 1;
    for (i = 0; i < n; i++) { ids[i] = (float)code[text[i]]; next[i] = i + 1 < n ? code[text[i + 1]] : 0; }
    n_train = n * 9 / 10;
    printf("text %s: %ld bytes, vocab %d, train %lld, val %lld\n", path, size, vocab, (long long)n_train, (long long)(n - n_train));

    nn_model_init(&m, NULL);
    if (lstm) build_lstm(&m, vocab);
    else build(&m, vocab, proj);
    cc.loss = NN_LOSS_XENT;
    cc.optimizer = nn_adamw(1e-3f, 0.1f);
    cc.optimizer.beta2 = 0.99f;
    cc.optimizer.clip_norm = 1.0f;
    cc.max_batch = BATCH;
    cc.seed = 1337;
    cc.recompute = lean;
    if (nn_model_compile(&m, &cc) != NN_OK) { fprintf(stderr, "%s\n", nn_error()); return 1; }
    if (!lstm) init_like_nanogpt(&m, proj);
    printf("model: %d layers, %lld parameters, threads %d\n", m.n_layers, (long long)m.n_params, nn_get_threads());

    for (it = 0; it < iters; it++) {
        float loss;
        double t0;
        for (k = 0; k < BATCH; k++) { /* nanoGPT's get_batch: random windows of the training split */
            const int64_t at = (int64_t)(next_u64() % (uint64_t)(n_train - CTX));
            memcpy(x + k * CTX, ids + at, sizeof(float) * CTX);
            memcpy(y + k * CTX, next + at, sizeof(int32_t) * CTX);
        }
        t0 = now_s();
        if (nn_train_step(&m, x, y, NULL, BATCH, lr_at(it, iters), &loss) != NN_OK) { fprintf(stderr, "%s\n", nn_error()); return 1; }
        times[it] = now_s() - t0;
        if (it % 100 == 0) printf("iter %d loss %.4f (%.1f ms)\n", it, loss, 1e3 * times[it]);
        if ((it + 1) % 500 == 0 && it + 1 < iters)
            printf("iter %d val loss %.4f\n", it + 1, eval_loss(&m, NULL, ids + n_train, next + n_train, n - n_train));
    }
    qsort(times, (size_t)(iters > 0 ? iters : 1), sizeof(double), cmp_double);
    {
        const double vl = eval_loss(&m, NULL, ids + n_train, next + n_train, n - n_train);
        nn_qmodel q;
        nn_quant_config qc = nn_quant_defaults();
        printf("train charlm-%s iter_ms=%.2f val_loss=%.4f rss_mb=%.1f threads=%d iters=%d params=%lld\n", lstm ? "lstm" : lean ? "gpt-lean" : "gpt",
               iters > 0 ? 1e3 * times[iters / 2] : 0.0, vl, peak_rss_mb(), nn_get_threads(), iters, (long long)m.n_params);
        /* int8 (dense and embedding weights; layernorm, attention and the LSTM stay float) */
        qc.max_batch = 1; /* (its memory as an application that samples holds it) */
        if (nn_quantize(&m, NULL, 0, &qc, &q) != NN_OK) { fprintf(stderr, "%s\n", nn_error()); return 1; }
        printf("int8 val_loss=%.4f (float %.4f), int8 model %.2f MB with its activations at batch 1 (float parameters alone %.2f MB)\n",
               eval_loss(&m, &q, ids + n_train, next + n_train, n - n_train), vl, q.mem_bytes / 1e6, 4e-6 * (double)m.n_params);
        nn_qmodel_free(&q);
    }
    if (argc > 4 && nn_save(&m, argv[4]) != NN_OK) fprintf(stderr, "%s\n", nn_error());

    /* sampling (nanoGPT's sample.py settings: temperature 0.8, top 200): a newline as the prompt,
       400 characters, each one step through the model with the attention's keys and values kept */
    printf("--- sample ---\n");
    {
        static int32_t out[1 + 400];
        double t0 = now_s();
        out[0] = code['\n'];
        if (nn_generate(&m, out, 1, 400, 0.8f, 200, 7) != NN_OK) { fprintf(stderr, "%s\n", nn_error()); return 1; }
        t0 = now_s() - t0;
        for (k = 1; k <= 400; k++) putchar(chars[out[k]]);
        printf("\n--- %.1f us a character\n", 1e6 * t0 / 400);
    }
    nn_model_free(&m);
    free(text); free(ids); free(next); free(times);
    return 0;
}
