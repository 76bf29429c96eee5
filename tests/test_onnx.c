/* nn_onnx.h: ONNX files exported by PyTorch load and give PyTorch's outputs (references:
   tools/make_onnx.py); a loaded model trains, saves, loads back and quantizes like any other;
   hand-written files check the wire format's forms (packed and unpacked repeated fields, typed
   and raw data) and the refusals (truncation, wrong wire types, lengths past the end, huge
   dims, cycles, unsupported operators, external data). */
#define NN_IMPLEMENTATION
#include "../nn.h"
#include "../nn_onnx.h"
#include "test.h"

#define REF "tests/ref/onnx/"

/* ---- a protobuf writer for hand-made files ---- */
typedef struct pbw { unsigned char b[4096]; size_t n; } pbw;
static void w_byte(pbw *w, unsigned v) { if (w->n < sizeof w->b) w->b[w->n++] = (unsigned char)v; }
static void w_varint(pbw *w, uint64_t v) { while (v >= 0x80) { w_byte(w, (unsigned)(v & 0x7f) | 0x80); v >>= 7; } w_byte(w, (unsigned)v); }
static void w_key(pbw *w, unsigned field, unsigned wire) { w_varint(w, (uint64_t)field << 3 | wire); }
static void w_bytes(pbw *w, unsigned field, const void *p, size_t n) {
    w_key(w, field, 2); w_varint(w, n);
    if (w->n + n <= sizeof w->b) { memcpy(w->b + w->n, p, n); w->n += n; }
}
static void w_str(pbw *w, unsigned field, const char *s) { w_bytes(w, field, s, strlen(s)); }
static void w_msg(pbw *w, unsigned field, const pbw *m) { w_bytes(w, field, m->b, m->n); }
static void w_int(pbw *w, unsigned field, uint64_t v) { w_key(w, field, 0); w_varint(w, v); }
static void w_f32(pbw *w, unsigned field, float f) {
    uint32_t u; int k;
    memcpy(&u, &f, 4);
    w_key(w, field, 5);
    for (k = 0; k < 4; k++) w_byte(w, (u >> (8 * k)) & 0xff);
}
static void w_le32(unsigned char *p, float f) { uint32_t u; int k; memcpy(&u, &f, 4); for (k = 0; k < 4; k++) p[k] = (unsigned char)(u >> (8 * k)); }

/* a float tensor (TensorProto) of nv values in one of three forms: 0 raw_data, 1 packed
   float_data, 2 unpacked float_data (one field per element); dims unpacked when form is 2 */
static void w_tensor(pbw *w, const char *name, int ndim, const int64_t *dims, const float *v, int64_t n, int form) {
    pbw t = {{0}, 0}, d = {{0}, 0};
    int64_t i;
    int k;
    if (form == 2) for (k = 0; k < ndim; k++) w_int(&t, 1, (uint64_t)dims[k]);
    else { for (k = 0; k < ndim; k++) w_varint(&d, (uint64_t)dims[k]); w_msg(&t, 1, &d); }
    w_int(&t, 2, 1);
    w_str(&t, 8, name);
    if (form == 0) {
        unsigned char raw[1024];
        for (i = 0; i < n; i++) w_le32(raw + 4 * i, v[i]);
        w_bytes(&t, 9, raw, (size_t)(4 * n));
    } else if (form == 1) {
        pbw p = {{0}, 0};
        for (i = 0; i < n; i++) { unsigned char b4[4]; w_le32(b4, v[i]); memcpy(p.b + p.n, b4, 4); p.n += 4; }
        w_msg(&t, 4, &p);
    } else {
        for (i = 0; i < n; i++) w_f32(&t, 4, v[i]);
    }
    w_msg(w, 5, &t);
}
/* a ValueInfoProto: float tensor (N, d) with a symbolic N */
static void w_value(pbw *w, unsigned field, const char *name, int64_t d) {
    pbw vi = {{0}, 0}, tp = {{0}, 0}, tt = {{0}, 0}, sh = {{0}, 0}, dm = {{0}, 0}, dn = {{0}, 0};
    w_str(&dn, 2, "n");
    w_msg(&sh, 1, &dn);
    w_int(&dm, 1, (uint64_t)d);
    w_msg(&sh, 1, &dm);
    w_int(&tt, 1, 1);
    w_msg(&tt, 2, &sh);
    w_msg(&tp, 1, &tt);
    w_str(&vi, 1, name);
    w_msg(&vi, 2, &tp);
    w_msg(w, field, &vi);
}
static void w_node(pbw *g, const char *op, const char *name, const char *in0, const char *in1, const char *in2,
                   const char *out, int trans_b) {
    pbw nd = {{0}, 0};
    w_str(&nd, 1, in0);
    if (in1) w_str(&nd, 1, in1);
    if (in2) w_str(&nd, 1, in2);
    w_str(&nd, 2, out);
    w_str(&nd, 3, name);
    w_str(&nd, 4, op);
    if (trans_b) { pbw a = {{0}, 0}; w_str(&a, 1, "transB"); w_int(&a, 3, 1); w_int(&a, 20, 2); w_msg(&nd, 5, &a); }
    w_msg(g, 1, &nd);
}
/* the model: ModelProto { ir_version 7, opset_import { version 13 }, graph } */
static void w_model(pbw *m, const pbw *g) {
    pbw op = {{0}, 0};
    w_int(m, 1, 7);
    w_int(&op, 2, 13);
    w_msg(m, 8, &op);
    w_msg(m, 7, g);
}

/* Gemm(x (N, 3), W (2, 3), B (2)) transB -> Relu -> y, in the given tensor form */
static const float GW[6] = {0.5f, -1.0f, 0.25f, 2.0f, 0.0f, -0.75f}, GB[2] = {0.1f, -0.2f};
static void gemm_model(pbw *m, int form, const char *op2) {
    pbw g = {{0}, 0};
    const int64_t wd[2] = {2, 3}, bd[1] = {2};
    memset(m, 0, sizeof *m);
    w_node(&g, "Gemm", "fc", "x", "W", "B", "h", 1);
    w_node(&g, op2, "act", "h", NULL, NULL, "y", 0);
    w_str(&g, 2, "hand");
    w_tensor(&g, "W", 2, wd, GW, 6, form);
    w_tensor(&g, "B", 1, bd, GB, 2, form == 1 ? 2 : form);
    w_value(&g, 11, "x", 3);
    w_value(&g, 12, "y", 2);
    w_model(m, &g);
}

static float *load_npy(const char *path, int64_t *n) {
    nn_tensor t;
    float *p;
    if (nn_npy_load(path, &t) != NN_OK) { CHECK_MSG(0, "%s: %s", path, nn_error()); return NULL; }
    *n = nn_tensor_numel(&t);
    p = (float *)malloc(sizeof(float) * (size_t)*n);
    memcpy(p, t.data, sizeof(float) * (size_t)*n);
    nn_tensor_free(&t);
    return p;
}

/* a model file's outputs against PyTorch's (max |difference| <= 1e-5) */
static void check_ref(const char *name) {
    char path[256];
    nn_model m;
    int64_t nx, ny, rows, i;
    float *x, *y, *out;
    double worst = 0;
    snprintf(path, sizeof path, REF "%s.onnx", name);
    if (nn_onnx_load(&m, path, NULL) != NN_OK) { CHECK_MSG(0, "%s: %s", name, nn_error()); return; }
    snprintf(path, sizeof path, REF "%s_x.npy", name);
    x = load_npy(path, &nx);
    snprintf(path, sizeof path, REF "%s_y.npy", name);
    y = load_npy(path, &ny);
    if (!x || !y) { free(x); free(y); nn_model_free(&m); return; }
    rows = nx / nn_model_input_size(&m);
    CHECK(rows * nn_model_input_size(&m) == nx && rows * nn_model_output_size(&m) == ny);
    out = (float *)malloc(sizeof(float) * (size_t)ny);
    CHECK_OK(nn_predict(&m, x, rows, out));
    for (i = 0; i < ny; i++) if (fabs(out[i] - y[i]) > worst) worst = fabs(out[i] - y[i]);
    CHECK_MSG(worst <= 1e-5, "%s: largest difference from PyTorch %.3g", name, worst);
    printf("  %-10s %2d layers, %lld rows: max |nn.h - torch| = %.2g\n", name, m.n_layers, (long long)rows, worst);
    free(x); free(y); free(out);
    nn_model_free(&m);
}

/* a loaded model is an nn.h model: it trains, saves and loads back, quantizes */
static void check_use(void) {
    nn_model m, back;
    nn_onnx_config oc = nn_onnx_defaults();
    int64_t nx, ny, i;
    float *x = load_npy(REF "cnn_x.npy", &nx), *y = load_npy(REF "cnn_y.npy", &ny);
    float out[64], out2[64], first = 0, loss = 0, target[30] = {0};
    unsigned char *buf;
    size_t size;
    if (!x || !y) { free(x); free(y); return; }
    oc.compile.loss = NN_LOSS_MSE; oc.compile.optimizer.type = NN_OPT_ADAM;
    target[1] = target[14] = target[27] = 1; /* (the CNN ends in a softmax: one-hot targets) */
    if (nn_onnx_load(&m, REF "cnn.onnx", &oc) != NN_OK) { CHECK_MSG(0, "%s", nn_error()); free(x); free(y); return; }
    CHECK(m.grads != NULL);
    for (i = 0; i < 30; i++) {
        CHECK_OK(nn_train_step(&m, x, NULL, target, 3, 1e-2f, &loss));
        if (i == 0) first = loss;
    }
    CHECK_MSG(loss < 0.5f * first, "fine-tuning the CNN: loss %.4f -> %.4f", first, loss);
    CHECK_OK(nn_predict(&m, x, 3, out));
    CHECK(fabs(out[0] - y[0]) > 1e-4 || fabs(out[1] - y[1]) > 1e-4); /* it changed */
    CHECK_OK(nn_save_mem(&m, 0, NULL, 0, &size));
    buf = (unsigned char *)malloc(size);
    CHECK_OK(nn_save_mem(&m, 0, buf, size, &size));
    CHECK_OK(nn_load_mem(&back, buf, size, NULL));
    CHECK_OK(nn_predict(&back, x, 3, out2));
    CHECK(memcmp(out, out2, sizeof(float) * 30) == 0);
    nn_model_free(&back);
    free(buf);
    nn_model_free(&m);
    {   /* the GPT from ONNX samples with nn_generate (its attention layers take the KV cache) */
        int32_t ids[10] = {1, 5, 2};
        int k, inside = 1;
        CHECK_OK(nn_onnx_load(&m, REF "gpt.onnx", NULL));
        CHECK_OK(nn_generate(&m, ids, 3, 7, 0.8f, 5, 42));
        for (k = 0; k < 10; k++) inside &= ids[k] >= 0 && ids[k] < 13;
        CHECK(inside);
        nn_model_free(&m);
    }
    {   /* int8: the MLP (dense, batchnorm folded, tanh, leaky relu, sigmoid) */
        nn_qmodel q;
        float qo[64], fo[64];
        double worst = 0;
        int64_t n;
        float *mx = load_npy(REF "mlp_x.npy", &n);
        CHECK_OK(nn_onnx_load(&m, REF "mlp.onnx", NULL));
        CHECK_OK(nn_quantize(&m, mx, 5, NULL, &q));
        CHECK_OK(nn_predict(&m, mx, 5, fo));
        CHECK_OK(nn_qpredict(&q, mx, 5, qo));
        for (i = 0; i < 25; i++) if (fabs(qo[i] - fo[i]) > worst) worst = fabs(qo[i] - fo[i]);
        CHECK_MSG(worst < 0.03, "int8 MLP from ONNX: largest difference from float %.3g", worst);
        printf("  int8 MLP from ONNX: max |int8 - float| = %.3g\n", worst);
        nn_qmodel_free(&q);
        nn_model_free(&m);
        free(mx);
    }
    free(x); free(y);
}

/* hand-made files: the wire format's forms, and the refusals */
static void check_wire(void) {
    pbw f;
    nn_model m;
    float x[6] = {1, 2, 3, -1, 0.5f, 4}, out[2][4], want[4];
    int form, r, i;
    size_t cut;
    for (i = 0; i < 4; i++) { /* relu(x W^T + b) */
        const float *xr = x + 3 * (i / 2);
        const float s = xr[0] * GW[3 * (i % 2)] + xr[1] * GW[3 * (i % 2) + 1] + xr[2] * GW[3 * (i % 2) + 2] + GB[i % 2];
        want[i] = s > 0 ? s : 0;
    }
    for (form = 0; form < 3; form++) {
        gemm_model(&f, form, "Relu");
        r = nn_onnx_load_mem(&m, f.b, f.n, NULL);
        CHECK_MSG(r == NN_OK, "form %d: %s", form, nn_error());
        if (r != NN_OK) continue;
        CHECK_OK(nn_predict(&m, x, 2, out[0]));
        for (i = 0; i < 4; i++) CHECK_NEAR(out[0][i], want[i], 1e-6);
        nn_model_free(&m);
    }
    /* every truncation fails cleanly (the model is left freed) */
    gemm_model(&f, 0, "Relu");
    for (cut = 0; cut < f.n; cut++) {
        r = nn_onnx_load_mem(&m, f.b, cut, NULL);
        if (r == NN_OK) nn_model_free(&m);
        CHECK_MSG(r != NN_OK, "a file cut at %u of %u bytes loaded", (unsigned)cut, (unsigned)f.n);
    }
    CHECK_ERR(nn_onnx_load_mem(&m, f.b, f.n - 3, NULL), NN_ERR_FORMAT, "ONNX");
    /* an unsupported operator is named, with its node */
    gemm_model(&f, 0, "Softplus");
    CHECK_ERR(nn_onnx_load_mem(&m, f.b, f.n, NULL), NN_ERR_UNSUPPORTED, "Softplus");
    CHECK_ERR(nn_onnx_load_mem(&m, f.b, f.n, NULL), NN_ERR_UNSUPPORTED, "\"act\"");
    {   /* a wrong wire type: the graph field as a varint */
        pbw g = {{0}, 0};
        w_int(&g, 1, 7);
        w_int(&g, 7, 5);
        CHECK_ERR(nn_onnx_load_mem(&m, g.b, g.n, NULL), NN_ERR_FORMAT, "no graph");
    }
    {   /* a length past the end */
        const unsigned char bad[] = {0x3a, 0x40, 0x0a, 0x02};
        CHECK_ERR(nn_onnx_load_mem(&m, bad, sizeof bad, NULL), NN_ERR_FORMAT, "malformed");
    }
    {   /* a group wire type (3) */
        const unsigned char bad[] = {0x0b, 0x0c};
        CHECK_ERR(nn_onnx_load_mem(&m, bad, sizeof bad, NULL), NN_ERR_FORMAT, "malformed");
    }
    {   /* huge dims: 2^30 x 2^30 with 24 bytes of data */
        pbw g = {{0}, 0}, mm = {{0}, 0};
        const int64_t wd[2] = {(int64_t)1 << 30, (int64_t)1 << 30}, bd[1] = {2};
        w_node(&g, "Gemm", "fc", "x", "W", "B", "y", 1);
        w_tensor(&g, "W", 2, wd, GW, 6, 0);
        w_tensor(&g, "B", 1, bd, GB, 2, 0);
        w_value(&g, 11, "x", 3);
        w_value(&g, 12, "y", 2);
        w_model(&mm, &g);
        CHECK_ERR(nn_onnx_load_mem(&m, mm.b, mm.n, NULL), NN_ERR_FORMAT, "2^31");
    }
    {   /* raw_data of the wrong length */
        pbw g = {{0}, 0}, mm = {{0}, 0};
        const int64_t wd[2] = {2, 4}, bd[1] = {2};
        w_node(&g, "Gemm", "fc", "x", "W", "B", "y", 1);
        w_tensor(&g, "W", 2, wd, GW, 6, 0); /* (8 elements said, 6 written) */
        w_tensor(&g, "B", 1, bd, GB, 2, 0);
        w_value(&g, 11, "x", 3);
        w_value(&g, 12, "y", 2);
        w_model(&mm, &g);
        CHECK_ERR(nn_onnx_load_mem(&m, mm.b, mm.n, NULL), NN_ERR_FORMAT, "raw_data length");
    }
    {   /* a cycle: a reads b, b reads a */
        pbw g = {{0}, 0}, mm = {{0}, 0};
        w_node(&g, "Add", "first", "x", "b", NULL, "a", 0);
        w_node(&g, "Relu", "second", "a", NULL, NULL, "b", 0);
        w_node(&g, "Relu", "third", "b", NULL, NULL, "y", 0);
        w_value(&g, 11, "x", 3);
        w_value(&g, 12, "y", 3);
        w_model(&mm, &g);
        CHECK_ERR(nn_onnx_load_mem(&m, mm.b, mm.n, NULL), NN_ERR_FORMAT, "no earlier node writes");
        CHECK_ERR(nn_onnx_load_mem(&m, mm.b, mm.n, NULL), NN_ERR_FORMAT, "\"first\"");
    }
    {   /* external data is refused, and says what to do */
        pbw g = {{0}, 0}, mm = {{0}, 0}, t = {{0}, 0}, d = {{0}, 0};
        const int64_t bd[1] = {2};
        w_node(&g, "Gemm", "fc", "x", "W", "B", "y", 1);
        w_varint(&d, 2); w_varint(&d, 3);
        w_msg(&t, 1, &d); w_int(&t, 2, 1); w_str(&t, 8, "W"); w_int(&t, 14, 1);
        w_msg(&g, 5, &t);
        w_tensor(&g, "B", 1, bd, GB, 2, 0);
        w_value(&g, 11, "x", 3);
        w_value(&g, 12, "y", 2);
        w_model(&mm, &g);
        CHECK_ERR(nn_onnx_load_mem(&m, mm.b, mm.n, NULL), NN_ERR_UNSUPPORTED, "external data");
    }
    {   /* two inputs */
        pbw g = {{0}, 0}, mm = {{0}, 0};
        w_node(&g, "Add", "sum", "x", "z", NULL, "y", 0);
        w_value(&g, 11, "x", 3);
        w_value(&g, 11, "z", 3);
        w_value(&g, 12, "y", 3);
        w_model(&mm, &g);
        CHECK_ERR(nn_onnx_load_mem(&m, mm.b, mm.n, NULL), NN_ERR_UNSUPPORTED, "2 inputs");
    }
    {   /* an input without a name (the fuzzer's find: empty names compared as memory) */
        pbw g = {{0}, 0}, mm = {{0}, 0};
        w_node(&g, "Relu", "act", "", NULL, NULL, "y", 0);
        w_value(&g, 11, "", 3);
        w_value(&g, 12, "y", 3);
        w_model(&mm, &g);
        CHECK_ERR(nn_onnx_load_mem(&m, mm.b, mm.n, NULL), NN_ERR_FORMAT, "no name");
    }
    CHECK_ERR(nn_onnx_load_mem(&m, "\x1f\x8b\x08\x00", 4, NULL), NN_ERR_FORMAT, "gzip");
    CHECK_ERR(nn_onnx_load_mem(&m, "", 0, NULL), NN_ERR_FORMAT, "no graph");
    CHECK_ERR(nn_onnx_load(&m, "tests/ref/onnx/missing.onnx", NULL), NN_ERR_IO, "cannot open");
    CHECK_ERR(nn_onnx_load_mem(NULL, f.b, f.n, NULL), NN_ERR_INVALID_ARG, "NULL");
    {   /* a reference model's every prefix: a clean failure each time (the sanitizer build runs this) */
        size_t size;
        unsigned char *b = t_read_file(REF "rnn.onnx", &size);
        int loaded = 0;
        CHECK(b != NULL);
        for (cut = 0; b && cut < size; cut += 7) {
            if (nn_onnx_load_mem(&m, b, cut, NULL) == NN_OK) { loaded++; nn_model_free(&m); }
        }
        CHECK(loaded == 0);
        free(b);
    }
}

int main(void) {
    const char *models[] = {"mlp", "cnn", "seq", "rnn", "lstm_last", "gpt", "kws_dscnn"};
    size_t i;
    for (i = 0; i < sizeof models / sizeof models[0]; i++) check_ref(models[i]);
    check_use();
    check_wire();
    return t_summary("test_onnx");
}
