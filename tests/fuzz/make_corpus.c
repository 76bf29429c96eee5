/* Writes the fuzzers' seed corpora (valid files) into tests/fuzz/corpus/: small models and
   checkpoints with every layer type, IDX files of each element type, .npy files, CSV text.
   cc -std=c99 -O2 tests/fuzz/make_corpus.c -lm -o build/make_corpus && ./build/make_corpus
   (run from the repository root; the corpus is committed). */
#define NN_IMPLEMENTATION
#include "../../nn.h"
#include <stdio.h>

#define DIR "tests/fuzz/corpus/"

static void put(const char *path, const void *p, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(p, 1, n, f) != n) { fprintf(stderr, "cannot write %s\n", path); return; }
    fclose(f);
}

/* every layer type, small: the fuzzer mutates its architecture text and tensors */
static void all_layers(nn_model *m) {
    int x, a, b, h;
    nn_conv2d_desc d;
    int64_t shape[3] = {4, 2, 2};
    nn_model_init(m, NULL);
    x = nn_input_image(m, 2, 4, 4);
    a = nn_batchnorm(m, nn_conv2d(m, x, 2, 3, 1, 1), 0.1f, 1e-5f);
    memset(&d, 0, sizeof d);
    d.OC = 2; d.KH = 1; d.KW = 3; d.SH = 1; d.SW = 1; d.PH = 0; d.PW = 1; d.DH = d.DW = 1; d.G = 2;
    b = nn_tanh(m, nn_conv2d_ex(m, x, &d, 0, NN_INIT_HE_NORMAL));
    h = nn_concat(m, nn_add(m, a, b), a);
    h = nn_reshape(m, nn_avgpool2d(m, nn_maxpool2d(m, h, 2, 2, 0), 1, 1, 0), 3, shape);
    a = nn_global_avgpool(m, h);
    h = nn_concat(m, nn_flatten(m, h), a);
    h = nn_dropout(m, nn_gelu(m, nn_dense(m, h, 5)), 0.1f);
    h = nn_leaky_relu(m, nn_batchnorm(m, h, 0.1f, 1e-3f), 0.1f);
    nn_softmax(m, nn_sigmoid(m, nn_dense(m, h, 3)));
}

int main(void) {
    nn_model m;
    nn_compile_config cc = nn_compile_defaults();
    float x[16 * 32];
    int32_t y[16];
    int i;
    size_t n;
    static unsigned char buf[1 << 16];
    for (i = 0; i < 16 * 32; i++) x[i] = (float)((i * 37) % 17) / 8.0f - 1.0f;
    for (i = 0; i < 16; i++) y[i] = i % 3;
    all_layers(&m);
    cc.optimizer = nn_sgd(0.1f, 0.9f, 1);
    cc.max_batch = 4;
    if (nn_model_compile(&m, &cc)) { fprintf(stderr, "%s\n", nn_error()); return 1; }
    {
        nn_dataset d = nn_dataset_make(x, 16, 32, y);
        nn_fit_config fc = nn_fit_defaults();
        fc.epochs = 1; fc.batch_size = 3; fc.verbose = 0;
        nn_fit(&m, &d, NULL, &fc);
    }
    nn_save_mem(&m, 0, buf, sizeof buf, &n); put(DIR "model/all_layers.safetensors", buf, n);
    nn_save_mem(&m, 1, buf, sizeof buf, &n); put(DIR "model/all_layers_checkpoint.safetensors", buf, n);
    nn_model_free(&m);
    {   /* an int8 model with every layer type int8 runs */
        nn_model f;
        nn_qmodel q;
        nn_conv2d_desc d;
        int a, b, h;
        nn_model_init(&f, NULL);
        h = nn_input_image(&f, 1, 4, 4);
        a = nn_relu(&f, nn_batchnorm(&f, nn_conv2d(&f, h, 2, 3, 1, 1), 0.1f, 1e-5f));
        memset(&d, 0, sizeof d);
        d.OC = 2; d.KH = d.KW = 3; d.SH = d.SW = 1; d.PH = d.PW = 1; d.DH = d.DW = 1; d.G = 2;
        b = nn_tanh(&f, nn_conv2d_ex(&f, a, &d, 1, NN_INIT_HE_UNIFORM));
        h = nn_concat(&f, nn_maxpool2d(&f, nn_add(&f, a, b), 2, 2, 0), nn_avgpool2d(&f, b, 3, 2, 1));
        h = nn_concat(&f, nn_dropout(&f, nn_flatten(&f, h), 0.1f), nn_global_avgpool(&f, h));
        nn_softmax(&f, nn_dense(&f, nn_gelu(&f, nn_dense(&f, h, 4)), 3));
        cc = nn_compile_defaults();
        cc.max_batch = 4;
        nn_model_compile(&f, &cc);
        if (nn_quantize(&f, x, 16, NULL, &q) == NN_OK) {
            nn_qsave_mem(&q, buf, sizeof buf, &n); put(DIR "model/int8_all_layers.safetensors", buf, n);
            nn_qmodel_free(&q);
        } else fprintf(stderr, "quantize: %s\n", nn_error());
        nn_model_free(&f);
    }
    {   /* a tiny dense model: short enough for the fuzzer to change every byte */
        int h;
        nn_model_init(&m, NULL);
        h = nn_input(&m, 3);
        nn_dense(&m, nn_relu(&m, nn_dense(&m, h, 2)), 2);
        cc = nn_compile_defaults();
        cc.loss = NN_LOSS_MSE;
        nn_model_compile(&m, &cc);
        nn_save_mem(&m, 1, buf, sizeof buf, &n); put(DIR "model/tiny_checkpoint.safetensors", buf, n);
        nn_model_free(&m);
    }
    {   /* IDX: each element type */
        static const unsigned char types[6] = {0x08, 0x09, 0x0B, 0x0C, 0x0D, 0x0E};
        static const int sizes[6] = {1, 1, 2, 4, 4, 8};
        for (i = 0; i < 6; i++) {
            unsigned char f[4 + 12 + 24 * 8];
            char path[64];
            int k, nb = 4 * 3 * 2 * sizes[i];
            f[0] = f[1] = 0; f[2] = types[i]; f[3] = 3;
            memset(f + 4, 0, 12);
            f[7] = 4; f[11] = 3; f[15] = 2;
            for (k = 0; k < nb; k++) f[16 + k] = (unsigned char)(k * 29);
            if (types[i] == 0x0D) for (k = 0; k < nb; k += 4) { f[16 + k] = 0x3F; f[17 + k] = (unsigned char)k; }
            sprintf(path, DIR "idx/t%02x.idx", types[i]);
            put(path, f, (size_t)(16 + nb));
        }
    }
    {   /* npy */
        int64_t shape[3] = {2, 3, 4};
        nn_tensor t = nn_tensor_view(x, 3, shape);
        nn_npy_save_mem(&t, buf, sizeof buf, &n); put(DIR "npy/f4_3d.npy", buf, n);
        t.ndim = 1; t.shape[0] = 5;
        nn_npy_save_mem(&t, buf, sizeof buf, &n); put(DIR "npy/f4_1d.npy", buf, n);
        {
            const char *hd[3] = {"{'descr': '|u1', 'fortran_order': False, 'shape': (2, 3), }",
                                 "{'descr': '<i8', 'fortran_order': False, 'shape': (3,), }",
                                 "{'descr': '>f8', 'fortran_order': False, 'shape': (), }"};
            const char *names[3] = {DIR "npy/u1.npy", DIR "npy/i8.npy", DIR "npy/f8_be_scalar.npy"};
            const int nbytes[3] = {6, 24, 8};
            for (i = 0; i < 3; i++) {
                memset(buf, ' ', 128);
                memcpy(buf, "\x93NUMPY\x01\x00\x76\x00", 10);
                memcpy(buf + 10, hd[i], strlen(hd[i]));
                buf[127] = '\n';
                memset(buf + 128, 0x41, (size_t)nbytes[i]);
                put(names[i], buf, (size_t)(128 + nbytes[i]));
            }
        }
    }
    {
        const char *c1 = "sepal,petal,label\n5.1,3.5,0\n4.9,3.0,1\n\n6.2,-1e-3,2\n";
        const char *c2 = "a,b,c\r\n1,2,3\r\n4,5,6\r\n";
        put(DIR "csv/small.csv", c1, strlen(c1));
        put(DIR "csv/crlf.csv", c2, strlen(c2));
    }
    return 0;
}
