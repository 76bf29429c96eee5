/* libFuzzer target: the model loaders (nn_load_mem, copied and borrowed, nn_load_weights_mem,
   nn_qload_mem), then what a loaded model is used for: a forward pass, saving it again
   (which must load back), training a step. Built and run by tests/fuzz.sh. */
#define NN_IMPLEMENTATION
#include "../../nn.h"
#include "../interop_models.h"
#include <stdlib.h>

/* refuse the big allocations a hostile architecture asks for, so they fail cleanly */
static void *cap_alloc(size_t n, void *u) { (void)u; return n > ((size_t)64 << 20) ? NULL : malloc(n); }
static void cap_free(void *p, void *u) { (void)u; free(p); }

static void use(nn_model *m) {
    static float x[1 << 16], out[1 << 12];
    size_t size = 0;
    if (nn_model_input_size(m) > (int64_t)(sizeof x / sizeof x[0]) || nn_model_output_size(m) > 4096 ||
        m->mem_bytes > ((size_t)4 << 20))
        return; /* keep each input fast */
    if (nn_predict(m, x, 1, out) != NN_OK) abort();
    if (nn_save_mem(m, 0, NULL, 0, &size) != NN_OK) abort();
    {
        unsigned char *buf = (unsigned char *)malloc(size);
        nn_model back;
        nn_load_config lc = nn_load_defaults();
        if (nn_save_mem(m, 0, buf, size, &size) != NN_OK) abort();
        lc.inference_only = 1;
        if (nn_load_mem(&back, buf, size, &lc) != NN_OK) abort(); /* what we write, we read */
        nn_model_free(&back);
        free(buf);
    }
    if (m->grads) {
        static int32_t label[4096]; /* (zeros: one per output step of a sequence model too) */
        float loss;
        nn_train_step(m, x, m->config.loss == NN_LOSS_XENT || m->config.loss == NN_LOSS_HINGE ? label : NULL,
                      m->config.loss == NN_LOSS_XENT || m->config.loss == NN_LOSS_HINGE ? NULL : out, 1, 0.01f, &loss);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static nn_model fixed;
    static int ready;
    nn_allocator al;
    nn_load_config lc = nn_load_defaults();
    nn_model m;
    al.alloc = cap_alloc; al.free = cap_free; al.user = NULL;
    lc.allocator = &al;
    if (nn_load_mem(&m, data, size, &lc) == NN_OK) { use(&m); nn_model_free(&m); }
    lc.borrow = 1;
    if (nn_load_mem(&m, data, size, &lc) == NN_OK) { use(&m); nn_model_free(&m); }
    if (!ready) { interop_cnn(&fixed); nn_model_compile(&fixed, NULL); ready = 1; }
    nn_load_weights_mem(&fixed, data, size);
    {   /* int8 models: load (copied, borrowed), run, save and load back */
        nn_qmodel q;
        int borrow;
        for (borrow = 0; borrow < 2; borrow++) {
            lc.borrow = borrow;
            lc.max_batch = 1;
            if (nn_qload_mem(&q, data, size, &lc) == NN_OK) {
                static uint8_t x[1 << 16];
                size_t n;
                if (nn_model_input_size(&q.g) <= (int64_t)sizeof x && q.mem_bytes < ((size_t)4 << 20)) {
                    unsigned char *buf;
                    nn_qmodel back;
                    if (nn_qforward(&q, x, 1, NULL) != NN_OK) abort();
                    if (nn_qsave_mem(&q, NULL, 0, &n) != NN_OK) abort();
                    buf = (unsigned char *)malloc(n);
                    if (nn_qsave_mem(&q, buf, n, &n) != NN_OK || nn_qload_mem(&back, buf, n, NULL) != NN_OK) abort();
                    nn_qmodel_free(&back);
                    free(buf);
                }
                nn_qmodel_free(&q);
            }
        }
    }
    return 0;
}
