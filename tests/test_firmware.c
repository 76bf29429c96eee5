/* Firmware use: a model loaded from a byte array into a caller's arena runs with no allocation
   at all (counted through the allocator hook), the arena size the planner reports is exact
   (one byte less is refused, naming the size), and training runs in an arena too, giving the
   same bits as on the heap. Built twice: as is, and with NN_NO_MALLOC NN_NO_STDIO
   NN_NO_TRAINING (the inference-only library). */
#define NN_IMPLEMENTATION
#include "../nn.h"
#include "test.h"
#include "interop_models.h"

static long allocs;
static void *count_alloc(size_t n, void *u) { (void)u; allocs++; return malloc(n); }
static void count_free(void *p, void *u) { (void)u; free(p); }
static const nn_allocator counting = {count_alloc, count_free, NULL};

static const unsigned char *file_bytes(const char *path, size_t *size) {
    const unsigned char *b = t_read_file(path, size);
    CHECK_MSG(b != NULL, "cannot read %s (run from the repository root)", path);
    return b;
}

/* Load a model file into an arena of exactly the reported size (at an odd address) and run
   it image by image: zero allocations, outputs equal to the heap-loaded model's. */
static void arena_inference(const char *path, int borrow) {
    size_t size, need = 0, need2 = 0;
    const unsigned char *file = file_bytes(path, &size);
    nn_load_config lc = nn_load_defaults();
    nn_model heap, m;
    unsigned char *block;
    float x[64], a[10], b[10];
    int i, k;
    if (!file) return;
    lc.allocator = &counting;
    lc.borrow = borrow;
    lc.max_batch = 1;
    CHECK_OK(nn_load_mem(&heap, file, size, &lc));
    CHECK_OK(nn_load_mem_arena_bytes(&m, file, size, &lc, &need));
    block = (unsigned char *)malloc(need + 3);
    lc.arena = block + 3;
    lc.arena_bytes = need;
    CHECK_OK(nn_load_mem_arena_bytes(&m, file, size, &lc, &need2)); /* the header parsed in the arena */
    CHECK(need2 == need);
    allocs = 0;
    CHECK_OK(nn_load_mem(&m, file, size, &lc));
    CHECK_MSG(allocs == 0, "%ld allocations while loading into the arena", allocs);
    CHECK(m.borrowed == (borrow && nn__host_le()));
    CHECK((unsigned char *)m.mem == block + 3 && m.mem_bytes <= need);
    for (i = 0; i < 5; i++) {
        nn_tensor out;
        for (k = 0; k < 64; k++) x[k] = (float)((i * 7 + k * 13) % 17) / 16.0f;
        CHECK_OK(nn_forward(&m, x, 1, &out));
        memcpy(a, out.data, sizeof a);
        CHECK_OK(nn_predict(&heap, x, 1, b));
        CHECK(memcmp(a, b, sizeof a) == 0);
    }
    CHECK_MSG(allocs == 0, "%ld allocations while running from the arena", allocs);
    /* a load into the same arena takes it, a failed one too: the model there refuses to run
       until loaded again (it would compute on the other load's bytes) */
    {
        nn_model t;
        CHECK(nn_load_mem(&t, file, size / 2, &lc) != NN_OK);
        CHECK_ERR(nn_predict(&m, x, 1, a), NN_ERR_STATE, "arena was taken");
        CHECK_ERR(nn_forward(&m, x, 1, NULL), NN_ERR_STATE, "load this model again");
        CHECK_OK(nn_load_mem(&m, file, size, &lc));
        CHECK_OK(nn_predict(&m, x, 1, a));
        CHECK_OK(nn_predict(&heap, x, 1, b));
        CHECK(memcmp(a, b, sizeof a) == 0);
    }
    nn_model_free(&m);
    CHECK(allocs == 0);
    /* one byte less is refused, and the message names the size needed */
    lc.arena_bytes = need - 1;
    {
        char want[32];
        sprintf(want, "needs %lu", (unsigned long)need);
        CHECK_ERR(nn_load_mem(&m, file, size, &lc), NN_ERR_OUT_OF_MEMORY, want);
    }
    printf("  %-40s %s: arena %lu bytes (file %lu)\n", path, borrow ? "borrowed" : "copied", (unsigned long)need,
           (unsigned long)size);
    nn_model_free(&heap);
    free(block);
    free((void *)(uintptr_t)file);
}

#ifndef NN_NO_TRAINING
/* Training in an arena: nn_train_step allocates nothing and gives the heap model's bits. */
static void arena_training(void) {
    nn_model a, b;
    nn_compile_config cc = nn_compile_defaults();
    size_t need;
    unsigned char *block;
    float x[8 * 64], loss;
    int32_t y[8];
    int i, step;
    for (i = 0; i < 8 * 64; i++) x[i] = (float)((i * 37) % 29) / 28.0f;
    for (i = 0; i < 8; i++) y[i] = i % 10;
    cc.optimizer = nn_adam(1e-2f);
    cc.max_batch = 8;
    interop_cnn(&a);
    CHECK_OK(nn_model_compile(&a, &cc));
    nn_model_init(&b, &counting);
    interop_cnn(&b);
    b.allocator = counting;
    CHECK_OK(nn_model_arena_bytes(&b, &cc, &need));
    block = (unsigned char *)malloc(need + 1);
    memset(block, 0xff, need + 1); /* compile zeroes the caller's arena; calloc's pages came zero for a */
    cc.arena = block + 1;
    cc.arena_bytes = need - 1;
    CHECK_ERR(nn_model_compile(&b, &cc), NN_ERR_OUT_OF_MEMORY, "needs");
    cc.arena_bytes = need;
    allocs = 0;
    CHECK_OK(nn_model_compile(&b, &cc));
    for (step = 0; step < 6; step++) {
        CHECK_OK(nn_train_step(&a, x, y, NULL, 8, 1e-2f, &loss));
        CHECK_OK(nn_train_step(&b, x, y, NULL, 8, 1e-2f, &loss));
    }
    CHECK_MSG(allocs == 0, "%ld allocations while compiling and training in the arena", allocs);
    CHECK(memcmp(a.params, b.params, sizeof(float) * (size_t)a.n_params) == 0);
    printf("  training the interop CNN, batch 8: arena %lu bytes\n", (unsigned long)need);
    nn_model_free(&a);
    nn_model_free(&b);
    free(block);
}
#endif

#ifndef NN_NO_TRAINING
/* Fine-tuning the last layers on the device: a loaded model with its front frozen trains in
   an arena (no allocation), needs less memory than training everything, leaves the frozen
   weights untouched, and computes the same gradient for the trained layers as a model with
   nothing frozen. */
static void fine_tune(void) {
    size_t size, need_all, need_tail;
    const unsigned char *file = file_bytes("tests/ref/nnh_mlp.safetensors", &size);
    const unsigned char *cnn = NULL;
    nn_load_config lc = nn_load_defaults();
    nn_model all, tail;
    float x[8 * 64], loss_all, loss_tail, before[32 * 64], first = 0, last = 0;
    int32_t y[8];
    unsigned char *arena;
    int i;
    if (!file) return;
    for (i = 0; i < 8 * 64; i++) x[i] = (float)((i * 53) % 31) / 30.0f;
    for (i = 0; i < 8; i++) y[i] = (i * 3) % 10;
    lc.max_batch = 8;
    lc.allocator = &counting;
    CHECK_OK(nn_load_mem_arena_bytes(&all, file, size, &lc, &need_all));
    lc.freeze = 3; /* input, dense 32, relu frozen... through layer 3 (dense 16): only the last dense trains */
    CHECK_OK(nn_load_mem_arena_bytes(&tail, file, size, &lc, &need_tail));
    CHECK_MSG(need_tail < need_all, "fine-tuning arena %lu, training everything %lu", (unsigned long)need_tail,
              (unsigned long)need_all);
    lc.freeze = 0;
    CHECK_OK(nn_load_mem(&all, file, size, &lc));
    lc.freeze = 3;
    arena = (unsigned char *)malloc(need_tail);
    lc.arena = arena;
    lc.arena_bytes = need_tail;
    allocs = 0;
    CHECK_OK(nn_load_mem(&tail, file, size, &lc));
    CHECK(tail.layers[1].dw == NULL && tail.layers[3].dw == NULL && tail.layers[5].dw != NULL);
    CHECK(tail.layers[1].dy == NULL && tail.layers[4].dy == NULL && tail.n_train == tail.n_params - tail.layers[5].param_off);
    CHECK_OK(nn_model_backward(&all, x, y, NULL, 8, &loss_all));
    CHECK_OK(nn_model_backward(&tail, x, y, NULL, 8, &loss_tail));
    CHECK(loss_all == loss_tail);
    CHECK(memcmp(all.layers[5].dw, tail.layers[5].dw, sizeof(float) * (size_t)tail.layers[5].n_params) == 0);
    memcpy(before, tail.layers[1].w, sizeof(float) * 32 * 64);
    for (i = 0; i < 20; i++) {
        float loss;
        CHECK_OK(nn_train_step(&tail, x, y, NULL, 8, 0.05f, &loss));
        if (i == 0) first = loss;
        last = loss;
    }
    CHECK_MSG(allocs == 0, "%ld allocations fine-tuning in the arena", allocs);
    CHECK(memcmp(before, tail.layers[1].w, sizeof(float) * 32 * 64) == 0);
    CHECK_MSG(last < first * 0.5f, "fine-tuning loss %.4f -> %.4f", first, last);
    printf("  fine-tuning the last layer of the MLP, batch 8: arena %lu bytes (all layers: %lu); loss %.3f -> %.3f\n",
           (unsigned long)need_tail, (unsigned long)need_all, first, last);
    /* a checkpoint of it keeps the frozen part frozen and no optimizer state for it */
    {
        size_t n;
        unsigned char *buf;
        nn_model back;
        nn_load_config l2 = nn_load_defaults();
        CHECK_OK(nn_save_mem(&tail, 1, NULL, 0, &n));
        buf = (unsigned char *)malloc(n);
        CHECK_OK(nn_save_mem(&tail, 1, buf, n, &n));
        CHECK_OK(nn_load_mem(&back, buf, n, &l2));
        CHECK(back.layers[1].frozen && back.layers[3].frozen && !back.layers[5].frozen && back.n_train == tail.n_train);
        CHECK(memcmp(back.opt1, tail.opt1, sizeof(float) * (size_t)tail.n_train) == 0);
        nn_model_free(&back);
        free(buf);
    }
    nn_model_free(&all);
    nn_model_free(&tail);
    free(arena);
    (void)cnn;
    free((void *)(uintptr_t)file);
}
#endif

int main(void) {
    nn_set_threads(1);
    arena_inference("tests/ref/nnh_mlp.safetensors", 1);
    arena_inference("tests/ref/nnh_mlp.safetensors", 0);
    arena_inference("tests/ref/nnh_cnn.safetensors", 1);
    arena_inference("tests/ref/nnh_cnn.safetensors", 0);
#ifndef NN_NO_TRAINING
    arena_training();
    fine_tune();
#endif
    return t_summary("test_firmware");
}
