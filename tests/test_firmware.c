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

int main(void) {
    nn_set_threads(1);
    arena_inference("tests/ref/nnh_mlp.safetensors", 1);
    arena_inference("tests/ref/nnh_mlp.safetensors", 0);
    arena_inference("tests/ref/nnh_cnn.safetensors", 1);
    arena_inference("tests/ref/nnh_cnn.safetensors", 0);
#ifndef NN_NO_TRAINING
    arena_training();
#endif
    return t_summary("test_firmware");
}
