/* Trains the interop networks (tests/interop_models.h) briefly on the digits and saves them
   as tests/ref/nnh_{mlp,cnn}.safetensors, for tools/interop.py to load into PyTorch.
   Run by tools/make_interop.sh. */
#define NN_IMPLEMENTATION
#include "../nn.h"
#include "../tests/interop_models.h"
#include <stdio.h>

static int train_save(nn_model *m, const nn_dataset *d, const char *path) {
    nn_compile_config cc = nn_compile_defaults();
    nn_fit_config fc = nn_fit_defaults();
    cc.optimizer = nn_adam(3e-3f);
    cc.max_batch = 32;
    fc.epochs = 2; fc.batch_size = 32; fc.verbose = 0;
    if (nn_model_compile(m, &cc) || nn_fit(m, d, NULL, &fc) || nn_save(m, path)) {
        fprintf(stderr, "%s: %s\n", path, nn_error());
        return 1;
    }
    nn_model_free(m);
    return 0;
}

/* the sequence models: 50 Adam steps on a fixed pattern of ids (the next id is the id + 3) */
static int train_seq_save(nn_model *m, const char *path) {
    nn_compile_config cc = nn_compile_defaults();
    float x[8 * 6];
    int32_t y[8 * 6];
    int i;
    cc.optimizer = nn_adam(1e-2f);
    cc.max_batch = 8;
    for (i = 0; i < 48; i++) { x[i] = (float)((i * 7) % 11); y[i] = ((i * 7) % 11 + 3) % 11; }
    if (nn_model_compile(m, &cc)) { fprintf(stderr, "%s: %s\n", path, nn_error()); return 1; }
    for (i = 0; i < 50; i++)
        if (nn_train_step(m, x, y, NULL, 8, 1e-2f, NULL)) { fprintf(stderr, "%s: %s\n", path, nn_error()); return 1; }
    if (nn_save(m, path)) { fprintf(stderr, "%s: %s\n", path, nn_error()); return 1; }
    nn_model_free(m);
    return 0;
}

int main(void) {
    nn_dataset d;
    nn_model m;
    int64_t i;
    if (nn_csv_load("data/digits.csv", -1, &d)) { fprintf(stderr, "%s\n", nn_error()); return 1; }
    for (i = 0; i < d.n * d.features; i++) ((float *)(uintptr_t)d.x)[i] /= 16.0f;
    d = nn_dataset_slice(&d, 0, 600); /* (the full block is freed at exit) */
    interop_mlp(&m);
    if (train_save(&m, &d, "tests/ref/nnh_mlp.safetensors")) return 1;
    interop_cnn(&m);
    if (train_save(&m, &d, "tests/ref/nnh_cnn.safetensors")) return 1;
    interop_gpt(&m);
    if (train_seq_save(&m, "tests/ref/nnh_gpt.safetensors")) return 1;
    interop_lstm(&m);
    if (train_seq_save(&m, "tests/ref/nnh_lstm.safetensors")) return 1;
    return 0;
}
