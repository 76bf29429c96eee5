/* Weights between PyTorch and nn.h, both ways (references: tools/make_interop.sh).
   PyTorch-written weights load by name into nn.h models of the same layers and give
   PyTorch's outputs; nn.h-trained weights, which PyTorch loaded to compute the reference
   outputs, give the same outputs in nn.h; and saving what was loaded rewrites the file. */
#define NN_IMPLEMENTATION
#include "../nn.h"
#include "test.h"
#include "interop_models.h"
#include <stdlib.h>

#define REF "tests/ref/"


/* a named float32 tensor of the reference file, through the library's own parser */
static float refbuf[16][512];
static int nref;
static const float *ref_tensor(nn__st *st, const char *name, int64_t numel) {
    const nn__st_entry *e = nn__st_find(st, name);
    CHECK_MSG(e && e->dtype == NN__DT_F32 && e->numel == numel && numel <= 512 && nref < 16, "reference tensor %s", name);
    if (!e || numel > 512 || nref == 16) return NULL;
    nn__convert(refbuf[nref], st->data + e->begin, e->dtype, numel, 1); /* little-endian on any host */
    return refbuf[nref++];
}

static void compare_n(nn_model *m, const float *x, const float *want, int n, const char *what) {
    float out[512];
    double worst = 0;
    int i;
    if (!want) return;
    CHECK_OK(nn_predict(m, x, 5, out));
    for (i = 0; i < n; i++) if (fabs(out[i] - want[i]) > worst) worst = fabs(out[i] - want[i]);
    CHECK_MSG(worst <= 1e-5, "%s: largest difference from PyTorch %.3g", what, worst);
    printf("  %-40s max |nn.h - torch| = %.2g\n", what, worst);
}
static void compare(nn_model *m, const float *x, const float *want, const char *what) { compare_n(m, x, want, 50, what); }

int main(void) {
    size_t rsize, size;
    unsigned char *ref = t_read_file(REF "interop_ref.safetensors", &rsize), *file;
    nn_allocator al = {0, 0, 0};
    nn__st st;
    nn_model m;
    const float *x;
    nn_load_config lc = nn_load_defaults();
    CHECK_MSG(ref != NULL, "cannot read " REF "interop_ref.safetensors (run from the repository root)");
    if (!ref) return t_summary("test_interop");
    nn__allocator_or_default(NULL, &al, "test");
    CHECK_OK(nn__st_parse(&st, ref, rsize, &al));
    x = ref_tensor(&st, "x", 5 * 64);
    if (!x) return t_summary("test_interop");

    /* PyTorch -> nn.h: weights alone, into models built in C */
    interop_mlp(&m);
    CHECK_OK(nn_model_compile(&m, NULL));
    CHECK_OK(nn_load_weights(&m, REF "torch_mlp.safetensors"));
    compare(&m, x, ref_tensor(&st, "torch_mlp_out", 50), "PyTorch MLP weights in nn.h");
    nn_model_free(&m);
    interop_cnn(&m);
    CHECK_OK(nn_model_compile(&m, NULL));
    CHECK_OK(nn_load_weights(&m, REF "torch_cnn.safetensors"));
    compare(&m, x, ref_tensor(&st, "torch_cnn_out", 50), "PyTorch CNN weights (batchnorm) in nn.h");
    nn_model_free(&m);

    /* nn.h -> PyTorch: the outputs PyTorch computed from nn.h's files */
    CHECK_OK(nn_load(&m, REF "nnh_mlp.safetensors", NULL));
    compare(&m, x, ref_tensor(&st, "nnh_mlp_out", 50), "nn.h MLP weights in PyTorch");
    file = t_read_file(REF "nnh_mlp.safetensors", &size);
    CHECK(file != NULL);
    if (!file) return t_summary("test_interop");
    {
        unsigned char *again = (unsigned char *)malloc(size);
        size_t n2;
        CHECK_OK(nn_save_mem(&m, 0, again, size, &n2));
        CHECK(n2 == size && memcmp(again, file, size) == 0);
        free(again);
    }
    nn_model_free(&m);
    /* borrowed straight from the bytes, as a model compiled into a program would be */
    lc.borrow = 1;
    CHECK_OK(nn_load_mem(&m, file, size, &lc));
    CHECK(m.borrowed == nn__host_le()); /* big-endian hosts copy */
    compare(&m, x, ref_tensor(&st, "nnh_mlp_out", 50), "nn.h MLP, borrowed from memory");
    nn_model_free(&m);
    free(file);
    CHECK_OK(nn_load(&m, REF "nnh_cnn.safetensors", NULL));
    compare(&m, x, ref_tensor(&st, "nnh_cnn_out", 50), "nn.h CNN weights in PyTorch");
    nn_model_free(&m);

    /* sequence models, both ways: a GPT block with a tied head (nanoGPT's c_attn / c_proj names)
       and an LSTM language model (nn.LSTM's weight_ih_l0 ...), on five rows of six ids */
    {
        const float *ids = ref_tensor(&st, "ids", 30);
        static void (*const build[2])(nn_model *) = {interop_gpt, interop_lstm};
        static const char *const name[2] = {"gpt", "lstm"};
        int k;
        for (k = 0; k < 2 && ids; k++) {
            char path[64], key[32], what[64];
            sprintf(path, REF "torch_%s.safetensors", name[k]);
            sprintf(key, "torch_%s_out", name[k]);
            sprintf(what, "PyTorch %s weights in nn.h", name[k]);
            build[k](&m);
            CHECK_OK(nn_model_compile(&m, NULL));
            CHECK_OK(nn_load_weights(&m, path));
            compare_n(&m, ids, ref_tensor(&st, key, 330), 330, what);
            nn_model_free(&m);
            sprintf(path, REF "nnh_%s.safetensors", name[k]);
            sprintf(key, "nnh_%s_out", name[k]);
            sprintf(what, "nn.h %s weights in PyTorch", name[k]);
            CHECK_OK(nn_load(&m, path, NULL));
            compare_n(&m, ids, ref_tensor(&st, key, 330), 330, what);
            nn_model_free(&m);
        }
    }

    al.free(st.mem, al.user);
    free(ref);
    return t_summary("test_interop");
}
