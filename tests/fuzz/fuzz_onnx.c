/* libFuzzer target: the ONNX reader (nn_onnx_load_mem), then what a loaded model is used for:
   a forward pass, saving it (which must load back), a training step. Built and run by
   tests/fuzz.sh; seeds: tests/fuzz/corpus/onnx (the models tools/make_onnx.py exports). */
#define NN_IMPLEMENTATION
#include "../../nn.h"
#include "../../nn_onnx.h"
#include <stdlib.h>
#include <stdio.h>

static void die(const char *what) { fprintf(stderr, "%s: %s\n", what, nn_error()); abort(); }

/* refuse the big allocations a hostile graph asks for, so they fail cleanly */
static void *cap_alloc(size_t n, void *u) { (void)u; return n > ((size_t)64 << 20) ? NULL : malloc(n); }
static void cap_free(void *p, void *u) { (void)u; free(p); }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static float x[1 << 16], out[1 << 14], target[1 << 14];
    nn_allocator al;
    nn_onnx_config oc = nn_onnx_defaults();
    nn_model m;
    al.alloc = cap_alloc; al.free = cap_free; al.user = NULL;
    oc.allocator = &al;
    oc.compile.max_batch = 2;
    oc.compile.loss = NN_LOSS_MSE;
    if (nn_onnx_load_mem(&m, data, size, &oc) != NN_OK) return 0;
    if (nn_model_input_size(&m) <= (int64_t)(sizeof x / sizeof x[0]) && nn_model_output_size(&m) <= (int64_t)(sizeof out / sizeof out[0]) &&
        m.mem_bytes <= ((size_t)8 << 20)) {
        size_t n = 0;
        float loss;
        if (nn_predict(&m, x, 1, out) != NN_OK) die("predict"); /* (zeros: valid token ids too) */
        if (nn_save_mem(&m, 0, NULL, 0, &n) != NN_OK) die("save");
        {
            unsigned char *buf = (unsigned char *)malloc(n);
            nn_model back;
            nn_load_config lc = nn_load_defaults();
            lc.inference_only = 1;
            if (nn_save_mem(&m, 0, buf, n, &n) != NN_OK || nn_load_mem(&back, buf, n, &lc) != NN_OK) die("save and load back");
            nn_model_free(&back);
            free(buf);
        }
        if (nn_train_step(&m, x, NULL, target, 1, 0.01f, &loss) != NN_OK) die("train");
    }
    nn_model_free(&m);
    return 0;
}
