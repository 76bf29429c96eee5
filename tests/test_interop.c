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
static float refbuf[8][512];
static int nref;
static const float *ref_tensor(nn__st *st, const char *name, int64_t numel) {
    const nn__st_entry *e = nn__st_find(st, name);
    CHECK_MSG(e && e->dtype == NN__DT_F32 && e->numel == numel && numel <= 512 && nref < 8, "reference tensor %s", name);
    if (!e || numel > 512 || nref == 8) return NULL;
    nn__convert(refbuf[nref], st->data + e->begin, e->dtype, numel, 1); /* little-endian on any host */
    return refbuf[nref++];
}

static void compare(nn_model *m, const float *x, const float *want, const char *what) {
    float out[5 * 10];
    double worst = 0;
    int i;
    CHECK_OK(nn_predict(m, x, 5, out));
    for (i = 0; i < 50; i++) if (fabs(out[i] - want[i]) > worst) worst = fabs(out[i] - want[i]);
    CHECK_MSG(worst <= 1e-5, "%s: largest difference from PyTorch %.3g", what, worst);
    printf("  %-40s max |nn.h - torch| = %.2g\n", what, worst);
}

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

    al.free(st.mem, al.user);
    free(ref);
    return t_summary("test_interop");
}
