/* int8 post-training quantization: accuracy of an MLP and a CNN on the digits against their
   float models (at most 1 point lost), every quantized layer type against its float layer, the
   dot product (VNNI where compiled for) against plain C, integer-only inference, the file
   round trip (copied, borrowed, in an arena with zero allocations, exact size), bad files. */
#define NN_IMPLEMENTATION
#include "../nn.h"
#include "test.h"

static long allocs;
static void *count_alloc(size_t n, void *u) { (void)u; allocs++; return malloc(n); }
static void count_free(void *p, void *u) { (void)u; free(p); }

static nn_dataset all, train, test;

static float accuracy_float(nn_model *m, const nn_dataset *d) {
    float acc;
    CHECK_OK(nn_evaluate(m, d, NULL, &acc));
    return acc;
}
static float accuracy_int8(nn_qmodel *q, const nn_dataset *d) {
    int64_t i, right = 0, in = d->features;
    uint8_t xs[64 * 64];
    for (i = 0; i < d->n; i += 64) {
        const int64_t b = d->n - i < 64 ? d->n - i : 64;
        int64_t k;
        /* quantize the input once, then integers only */
        for (k = 0; k < b * in; k++) xs[k] = nn__quant1(d->x[i * in + k], q->q[0].scale, q->q[0].zero);
        CHECK_OK(nn_qforward(q, xs, b, NULL));
        for (k = 0; k < b; k++) right += nn_qargmax(q, k) == d->labels[i + k];
    }
    return (float)right / (float)d->n;
}

static void train_model(nn_model *m, int epochs) {
    nn_compile_config cc = nn_compile_defaults();
    nn_fit_config fc = nn_fit_defaults();
    cc.optimizer = nn_adam(2e-3f);
    cc.max_batch = 64;
    cc.seed = 3;
    CHECK_OK(nn_model_compile(m, &cc));
    fc.epochs = epochs; fc.batch_size = 32; fc.verbose = 0;
    CHECK_OK(nn_fit(m, &train, NULL, &fc));
}

/* quantize, compare accuracy, save and load back */
/* weight_bits 7 and 6: every weight in [-64, 64] or [-32, 32] (the layers' wmax says so, and
   so does a loaded copy, whose outputs are the same), accuracy near float's; other values refused */
static void check_wbits(nn_model *m, const char *name, float fa) {
    nn_qmodel q, r;
    nn_quant_config qc = nn_quant_defaults();
    unsigned char *buf;
    size_t size;
    const uint8_t *o1, *o2;
    uint8_t xs[64 * 64];
    int i, bits;
    int64_t k;
    float qa;
    qc.max_batch = 64;
    qc.weight_bits = 5;
    CHECK_ERR(nn_quantize(m, train.x, 500, &qc, &q), NN_ERR_INVALID_ARG, "weight_bits");
    for (bits = 7; bits >= 6; bits--) {
        const int lim = bits == 7 ? 64 : 32;
        int inside = 1, wmax = 0;
        qc.weight_bits = bits;
        CHECK_OK(nn_quantize(m, train.x, 500, &qc, &q));
        for (i = 1; i < q.g.n_layers; i++)
            if (q.q[i].n_ch) {
                int mx = 0;
                for (k = 0; k < q.q[i].n_w; k++) mx = abs(q.q[i].w[k]) > mx ? abs(q.q[i].w[k]) : mx;
                inside &= mx <= lim && mx >= lim - 4 && q.q[i].wmax == mx; /* (the largest of each channel is +-lim) */
                wmax = mx > wmax ? mx : wmax;
            }
        CHECK_MSG(inside, "%s: %d-bit weights out of [-%d, %d] or wmax wrong (largest %d)", name, bits, lim, lim, wmax);
        qa = accuracy_int8(&q, &test);
        printf("  %-26s int8 with %d-bit weights %.2f%%\n", name, bits, 100 * qa);
        CHECK_MSG(qa >= fa - 0.02f, "%s: int8 (%d-bit weights) accuracy %.4f, float %.4f", name, bits, qa, fa);
        CHECK_OK(nn_qsave_mem(&q, NULL, 0, &size));
        buf = (unsigned char *)malloc(size);
        CHECK_OK(nn_qsave_mem(&q, buf, size, &size));
        CHECK_OK(nn_qload_mem(&r, buf, size, NULL));
        for (i = 1; i < q.g.n_layers; i++) CHECK(r.q[i].wmax == q.q[i].wmax);
        for (k = 0; k < 64 * nn_model_input_size(m); k++) xs[k] = nn__quant1(test.x[k], q.q[0].scale, q.q[0].zero);
        CHECK_OK(nn_qforward(&q, xs, 64, &o1));
        CHECK_OK(nn_qforward(&r, xs, 64, &o2));
        CHECK(memcmp(o1, o2, (size_t)(64 * nn_model_output_size(m))) == 0);
        nn_qmodel_free(&r);
        nn_qmodel_free(&q);
        free(buf);
    }
}
static void check_model(nn_model *m, const char *name) {
    nn_qmodel q, r;
    nn_quant_config qc = nn_quant_defaults();
    float fa, qa;
    size_t fsize, qsize, need, fdata, qdata;
    unsigned char *buf;
    qc.max_batch = 64;
    CHECK_OK(nn_quantize(m, train.x, 500, &qc, &q)); /* calibrated on 500 training rows */
    fa = accuracy_float(m, &test);
    qa = accuracy_int8(&q, &test);
    CHECK_MSG(qa >= fa - 0.01f, "%s: int8 accuracy %.4f, float %.4f", name, qa, fa);
    check_wbits(m, name, fa);
    CHECK_OK(nn_save_mem(m, 0, NULL, 0, &fsize));
    CHECK_OK(nn_qsave_mem(&q, NULL, 0, &qsize));
    buf = (unsigned char *)malloc(qsize > fsize ? qsize : fsize);
    CHECK_OK(nn_save_mem(m, 0, buf, fsize, &fsize));
    fdata = fsize - 8 - (size_t)nn__rd_le(buf, 8); /* the tensors, without the header */
    CHECK_OK(nn_qsave_mem(&q, buf, qsize, &qsize));
    qdata = qsize - 8 - (size_t)nn__rd_le(buf, 8);
    printf("  %-26s float %.2f%%, int8 %.2f%%; file %lu -> %lu bytes, tensors %lu -> %lu (%.1fx)\n", name, 100 * fa,
           100 * qa, (unsigned long)fsize, (unsigned long)qsize, (unsigned long)fdata, (unsigned long)qdata,
           (double)fdata / (double)qdata);
    /* exactly: one byte per weight (float: four), then per channel an int32 bias, multiplier
       and shift and a float scale, and a 256-byte table per activation layer */
    {
        size_t expect = 0, wbytes = 0;
        int i;
        for (i = 1; i < q.g.n_layers; i++) {
            if (q.q[i].n_ch) { expect += (size_t)(q.q[i].n_w + 16 * q.q[i].n_ch); wbytes += (size_t)q.q[i].n_w; }
            if (q.g.layers[i].type == NN_LAYER_ACT) expect += 256;
        }
        CHECK(qdata == expect);
        CHECK(wbytes * 4 < fdata && fdata - wbytes * 4 < wbytes); /* the float file is the weights' 4 bytes and a few biases */
    }
    {   /* loaded (copied, borrowed, in an arena): the same integers out */
        nn_load_config lc = nn_load_defaults();
        nn_allocator counting = {count_alloc, count_free, NULL};
        const uint8_t *o1, *o2;
        uint8_t xs[64 * 64];
        int64_t k, C = nn_model_output_size(m);
        unsigned char *arena;
        for (k = 0; k < 64 * nn_model_input_size(m); k++) xs[k] = nn__quant1(test.x[k], q.q[0].scale, q.q[0].zero);
        CHECK_OK(nn_qforward(&q, xs, 64, &o1));
        CHECK_OK(nn_qload_mem(&r, buf, qsize, NULL));
        CHECK_OK(nn_qforward(&r, xs, 64, &o2));
        CHECK(memcmp(o1, o2, (size_t)(64 * C)) == 0);
        nn_qmodel_free(&r);
        lc.borrow = 1;
        lc.max_batch = 1;
        lc.allocator = &counting;
        CHECK_OK(nn_qload_mem_arena_bytes(&r, buf, qsize, &lc, &need));
        arena = (unsigned char *)malloc(need + 1);
        lc.arena = arena + 1;
        lc.arena_bytes = need - 1;
        CHECK_ERR(nn_qload_mem(&r, buf, qsize, &lc), NN_ERR_OUT_OF_MEMORY, "needs");
        lc.arena_bytes = need;
        allocs = 0;
        CHECK_OK(nn_qload_mem(&r, buf, qsize, &lc));
        CHECK(r.borrowed && r.q[1].w != NULL && (const unsigned char *)(const void *)r.q[1].w >= buf &&
              (const unsigned char *)(const void *)r.q[1].w < buf + qsize);
        for (k = 0; k < 8; k++) {
            CHECK_OK(nn_qforward(&r, xs + k * nn_model_input_size(m), 1, &o2));
            CHECK(memcmp(o1 + k * C, o2, (size_t)C) == 0);
        }
        CHECK_MSG(allocs == 0, "%ld allocations loading and running an int8 model in an arena", allocs);
        printf("  %-26s int8 arena for batch 1, weights in place: %lu bytes\n", name, (unsigned long)need);
        /* a load into the same arena takes it, a failed one too: the model there refuses to run
           (it computed garbage on the other load's bytes) until loaded again */
        {
            nn_qmodel t;
            static float fo[4096];
            CHECK(nn_qload_mem(&t, buf, qsize / 2, &lc) != NN_OK);
            CHECK_ERR(nn_qforward(&r, xs, 1, &o2), NN_ERR_STATE, "arena was taken");
            CHECK_ERR(nn_qpredict(&r, test.x, 1, fo), NN_ERR_STATE, "arena was taken");
            CHECK_OK(nn_qload_mem(&t, buf, qsize, &lc));
            CHECK_OK(nn_qforward(&t, xs, 1, &o2));
            CHECK(memcmp(o1, o2, (size_t)C) == 0);
            CHECK_ERR(nn_qforward(&r, xs, 1, &o2), NN_ERR_STATE, "load this model again");
            nn_qmodel_free(&t);
        }
        nn_qmodel_free(&r);
        free(arena);
        /* the float loader refuses it, naming the right one */
        {
            nn_model f;
            CHECK_ERR(nn_load_mem(&f, buf, qsize, NULL), NN_ERR_UNSUPPORTED, "nn_qload_mem");
        }
        /* every truncation fails cleanly */
        for (k = 0; k < (int64_t)qsize; k += 7) {
            nn_qmodel t;
            if (nn_qload_mem(&t, buf, (size_t)k, NULL) == NN_OK) { CHECK(0); nn_qmodel_free(&t); }
        }
    }
    free(buf);
    nn_qmodel_free(&q);
}

/* Every layer type, quantized, against the float model on the same inputs: outputs within a
   few steps of the output scale. */
static void layer_types(void) {
    nn_model m;
    nn_qmodel q;
    nn_compile_config cc = nn_compile_defaults();
    nn_conv2d_desc d;
    float out_f[32 * 3], out_q[32 * 3], worst = 0;
    int x, a, b, h, k;
    nn_model_init(&m, NULL);
    x = nn_input_image(&m, 1, 8, 8);
    a = nn_relu(&m, nn_batchnorm(&m, nn_conv2d(&m, x, 6, 3, 1, 1), 0.1f, 1e-5f));
    memset(&d, 0, sizeof d);
    d.OC = 6; d.KH = d.KW = 3; d.SH = d.SW = 1; d.PH = d.PW = 1; d.DH = d.DW = 1; d.G = 6; /* depthwise */
    b = nn_tanh(&m, nn_conv2d_ex(&m, a, &d, 1, NN_INIT_HE_UNIFORM));
    h = nn_add(&m, a, b);
    h = nn_concat(&m, nn_maxpool2d(&m, h, 2, 2, 0), nn_avgpool2d(&m, b, 3, 2, 1));
    a = nn_global_avgpool(&m, h);
    h = nn_dropout(&m, nn_flatten(&m, h), 0.2f);
    h = nn_concat(&m, h, a);
    h = nn_gelu(&m, nn_dense(&m, h, 12));
    nn_softmax(&m, nn_dense(&m, h, 3));
    cc.max_batch = 32;
    CHECK_OK(nn_model_compile(&m, &cc));
    /* give batchnorm non-trivial statistics */
    for (k = 0; k < 6; k++) { m.layers[2].buf[k] = 0.1f * k; m.layers[2].buf[6 + k] = 0.5f + 0.2f * k; m.layers[2].w[k] = 1.0f + 0.1f * k; }
    CHECK_OK(nn_quantize(&m, train.x, 300, NULL, &q));
    CHECK_OK(nn_predict(&m, test.x, 32, out_f));
    CHECK_OK(nn_qpredict(&q, test.x, 32, out_q));
    for (k = 0; k < 32 * 3; k++) if (fabsf(out_f[k] - out_q[k]) > worst) worst = fabsf(out_f[k] - out_q[k]);
    CHECK_MSG(worst < 0.05f, "every layer type: largest probability difference %.4f", worst);
    printf("  every layer type: largest |p_float - p_int8| = %.4f\n", worst);
    nn_qmodel_free(&q);
    /* what cannot be quantized says so */
    {
        nn_model u;
        nn_model_init(&u, NULL);
        h = nn_input(&u, 64);
        h = nn_batchnorm(&u, h, 0.1f, 1e-5f);
        nn_dense(&u, h, 3);
        CHECK_OK(nn_model_compile(&u, &cc));
        CHECK_ERR(nn_quantize(&u, train.x, 10, NULL, &q), NN_ERR_UNSUPPORTED, "folded");
        nn_model_free(&u);
    }
    nn_model_free(&m);
}

static void dot_product(void) {
    uint8_t a[300];
    int8_t w[300];
    int n, k, bad = 0;
    for (k = 0; k < 300; k++) { a[k] = (uint8_t)((k * 97 + 13) % 256); w[k] = (int8_t)((k * 61 + 7) % 255 - 127); }
    for (n = 0; n <= 300; n += n < 70 ? 1 : 37) {
        int32_t ref = 0;
        for (k = 0; k < n; k++) ref += (int32_t)a[k] * w[k];
        bad += nn__qdot(a, w, n) != ref;
    }
    CHECK_MSG(bad == 0, "%d dot products differ from plain C", bad);
}

/* the tiled dot products (4 channels by 4 or 1 rows with VNNI; on AVX2 16-bit for any weights,
   bytes for weights in [-64, 64] and two steps added in 16 bits for [-32, 32]) for every count
   of rows and channels to 9, lengths around the 32- and 64-byte steps, strides wider than the
   length; weights at the range's ends, inputs at 255 (the pair sums' largest) half the time */
static void dot_tiles(void) {
    static uint8_t a[9 * 140];
    static int8_t w[9 * 140];
    int32_t y[9 * 12];
    const int lens[] = {1, 5, 31, 32, 33, 63, 64, 65, 96, 128, 131};
    const int wmax[] = {128, 64, 32};
    int nr, no, li, r, o, k, bad = 0, m;
    for (m = 0; m < 3; m++) {
        for (k = 0; k < 9 * 140; k++) {
            a[k] = (uint8_t)(k % 2 ? 255 : (k * 193 + 11) % 256);
            w[k] = (int8_t)(k % 3 ? (k % 3 == 1 ? -wmax[m] : wmax[m] - (m == 0)) : (k * 71 + 3) % (2 * wmax[m]) - wmax[m]);
        }
        for (li = 0; li < (int)(sizeof lens / sizeof lens[0]); li++)
            for (nr = 1; nr <= 9; nr++)
                for (no = 1; no <= 9; no++) {
                    const int n = lens[li];
                    nn__qdots(a, 140, nr, w, 139, no, n, y, 12, wmax[m]);
                    for (r = 0; r < nr; r++)
                        for (o = 0; o < no; o++) {
                            int32_t ref = 0;
                            for (k = 0; k < n; k++) ref += (int32_t)a[r * 140 + k] * w[o * 139 + k];
                            bad += y[r * 12 + o] != ref;
                        }
                }
    }
    CHECK_MSG(bad == 0, "%d tiled dot products differ from plain C", bad);
}

/* the input quantization (16 at a time with AVX-512) against the scalar formula, at every
   length to 70, on halves, out-of-range values, infinities and NaN */
static void quantize_input(void) {
    float x[70];
    uint8_t y[70];
    const float scale = 0.0173f;
    const int32_t zero = 37;
    int n, k, bad = 0;
    for (k = 0; k < 70; k++) x[k] = ((float)(k * 37 % 70) - 30.0f + (k % 3 ? 0.5f : 0.0f)) * scale * (k % 5 ? 1.0f : 4.0f);
    x[3] = INFINITY; x[20] = -INFINITY; x[33] = NAN; x[40] = -0.0f; x[50] = 1e30f;
    for (n = 0; n <= 70; n++) {
        memset(y, 0xAA, sizeof y);
        nn__quantize(x, n, scale, zero, y);
        for (k = 0; k < 70; k++) {
            const double q = x[k] != x[k] ? 0 : floor(x[k] / scale + 0.5) + zero;
            bad += y[k] != (k < n ? (uint8_t)(q < 0 ? 0 : q > 255 ? 255 : q) : 0xAA);
        }
    }
    CHECK_MSG(bad == 0, "%d quantized inputs differ from floor(x / scale + 0.5) + zero", bad);
    { /* halves exactly (scale 0.5: x / scale is whole or half), the floats beside them, whole
         numbers past 2^23, and random values, under a few zero points */
        static float v[4096];
        static uint8_t u[4096];
        const float scales[] = {0.5f, 1.0f, 0.0173f, 3e-5f, 0.25f};
        int si, zi;
        for (si = 0; si < 5; si++)
            for (zi = 0; zi < 3; zi++) {
                const int32_t z = zi == 0 ? 0 : zi == 1 ? 128 : 255;
                for (k = 0; k < 4096; k++) {
                    const float h = (float)(k % 700 - 350) * 0.25f; /* (whole, quarter, half) */
                    v[k] = k < 1400 ? h : k < 2100 ? nextafterf(h, k % 2 ? 1e9f : -1e9f)
                         : k < 2200 ? (float)(k - 2150) * 8388608.0f + (k % 2 ? 0.5f : 0.0f)
                         : (float)((int)((unsigned)k * 2654435761u % 80001u) - 40000) / 97.0f;
                    v[k] *= scales[si]; /* (scale 0.5 and 0.25 keep the halves exact) */
                }
                nn__quantize(v, 4096, scales[si], z, u);
                for (k = 0; k < 4096; k++) {
                    const double q = floor(v[k] / scales[si] + 0.5) + z;
                    bad += u[k] != (uint8_t)(q < 0 ? 0 : q > 255 ? 255 : q);
                }
            }
        CHECK_MSG(bad == 0, "%d quantized values (halves, their neighbours) differ from floor(x / scale + 0.5) + zero", bad);
    }
}

/* Calibration reads every layer's output: where compile fused a ReLU into its max pooling or its
   dense layer's GEMM, the buffers that fusion leaves as scratch are recomputed first, so the
   quantized model is the same, byte for byte in its outputs, as an unfused twin's (leaky ReLU of
   slope 0, the same initial weights). */
static void build_fusable(nn_model *m, int leaky) {
    nn_compile_config cc = nn_compile_defaults();
    int h;
    nn_model_init(m, NULL);
    h = nn_input_image(m, 1, 8, 8);
    h = nn_conv2d(m, h, 4, 3, 1, 1);
    h = nn_maxpool2d(m, leaky ? nn_leaky_relu(m, h, 0.0f) : nn_relu(m, h), 2, 2, 0);
    h = nn_dense(m, nn_flatten(m, h), 16);
    h = leaky ? nn_leaky_relu(m, h, 0.0f) : nn_relu(m, h);
    nn_dense(m, h, 10);
    cc.max_batch = 32;
    CHECK_OK(nn_model_compile(m, &cc));
}
static void fused_calibration(void) {
    nn_model a, b;
    nn_qmodel qa, qb;
    float oa[32 * 10], ob[32 * 10];
    int k, bad = 0;
    build_fusable(&a, 0);
    build_fusable(&b, 1);
    CHECK(a.layers[2].fused == 1 && a.layers[6].fused == 2 && !b.layers[2].fused && !b.layers[6].fused);
    CHECK_OK(nn_quantize(&a, train.x, 300, NULL, &qa));
    CHECK_OK(nn_quantize(&b, train.x, 300, NULL, &qb));
    CHECK_OK(nn_qpredict(&qa, test.x, 32, oa));
    CHECK_OK(nn_qpredict(&qb, test.x, 32, ob));
    for (k = 0; k < 32 * 10; k++) bad += oa[k] != ob[k];
    CHECK_MSG(bad == 0, "fused model quantized: %d of %d outputs differ from the unfused twin's", bad, 32 * 10);
    nn_qmodel_free(&qa);
    nn_qmodel_free(&qb);
    nn_model_free(&a);
    nn_model_free(&b);
}

/* the requantization's 32-bit path (v fits 32 bits, shift > 32) against the 64-bit formula:
   random and edge values, every shift, exact halves */
/* A ReLU (or leaky ReLU of slope 0) that alone reads a dense, conv (batchnorm folded or not) or
   add layer is folded into it: the ReLU is a view, that layer's zero point 0, its bytes the
   float ReLU's output to a step; not folded where the input has another reader, or for another
   activation. A file whose view's table is not the identity is refused. */
/* a model that ends in a folded ReLU (kind 0: conv + batchnorm + ReLU, 1: dense + leaky ReLU of
   slope 0, 2: add + ReLU): its output bytes, dequantized, against the float model's, in steps */
static float folded_tail(int kind) {
    nn_model m;
    nn_qmodel q;
    nn_compile_config cc = nn_compile_defaults();
    const uint8_t *o;
    uint8_t xs[16 * 64];
    float f[16 * 256], worst = 0.0f;
    int x, h, k, last;
    nn_model_init(&m, NULL);
    x = nn_input_image(&m, 1, 8, 8);
    h = nn_conv2d(&m, x, 3, 3, 1, 1);
    if (kind == 0) h = nn_relu(&m, nn_batchnorm(&m, h, 0.1f, 1e-5f));
    if (kind == 1) h = nn_leaky_relu(&m, nn_dense(&m, nn_flatten(&m, h), 37), 0.0f);
    if (kind == 2) h = nn_relu(&m, nn_add(&m, h, nn_conv2d(&m, nn_tanh(&m, h), 3, 3, 1, 1)));
    cc.max_batch = 16;
    CHECK_OK(nn_model_compile(&m, &cc));
    if (kind == 0) for (k = 0; k < 3; k++) { m.layers[2].buf[k] = 0.1f * k; m.layers[2].buf[3 + k] = 0.5f + 0.2f * k; }
    CHECK_OK(nn_quantize(&m, train.x, 300, NULL, &q));
    last = q.g.n_layers - 1;
    CHECK(q.q[last].view && q.q[last].zero == 0);
    for (k = 0; k < 16 * 64; k++) xs[k] = nn__quant1(test.x[k], q.q[0].scale, q.q[0].zero);
    CHECK_OK(nn_qforward(&q, xs, 16, &o));
    CHECK_OK(nn_predict(&m, test.x, 16, f));
    for (k = 0; k < 16 * m.layers[last].size; k++) {
        const float e = fabsf(q.q[last].scale * (float)o[k] - f[k]) / q.q[last].scale;
        if (e > worst) worst = e;
    }
    nn_qmodel_free(&q);
    nn_model_free(&m);
    return worst;
}
static void relu_folding(void) {
    nn_model m;
    nn_qmodel q, r;
    nn_compile_config cc = nn_compile_defaults();
    const uint8_t *o1, *o2;
    uint8_t xs[16 * 64];
    unsigned char *buf;
    size_t size;
    int x, c, a1, a2, a3, a4, s1, d1, ad, k, bad = 0;
    nn_model_init(&m, NULL);
    x = nn_input_image(&m, 1, 8, 8);
    c = nn_conv2d(&m, x, 4, 3, 1, 1);
    a1 = nn_relu(&m, nn_batchnorm(&m, c, 0.1f, 1e-5f));               /* conv + batchnorm + ReLU: folded */
    a2 = nn_leaky_relu(&m, nn_conv2d(&m, a1, 4, 3, 1, 1), 0.0f);       /* slope 0: folded */
    ad = nn_add(&m, a1, a2);
    a3 = nn_relu(&m, ad);                                               /* add: folded */
    s1 = nn_sigmoid(&m, nn_conv2d(&m, a3, 4, 3, 1, 1));                 /* not a ReLU */
    d1 = nn_conv2d(&m, s1, 4, 3, 1, 1);
    a4 = nn_relu(&m, d1);                                               /* d1 read twice: not folded */
    nn_dense(&m, nn_flatten(&m, nn_add(&m, a4, d1)), 10);
    cc.max_batch = 16;
    CHECK_OK(nn_model_compile(&m, &cc));
    CHECK_OK(nn_quantize(&m, train.x, 300, NULL, &q));
    CHECK(q.q[a1].view && q.q[a2].view && q.q[a3].view && !q.q[s1].view && !q.q[a4].view);
    CHECK(q.q[c].zero == 0 && q.q[a2 - 1].zero == 0 && q.q[ad].zero == 0);
    for (k = 0; k < 3; k++) {
        const float worst = folded_tail(k);
        CHECK_MSG(worst < 3.0f, "folded ReLU %d: an output %.2f steps from the float model's", k, worst);
    }
    for (k = 0; k < 16 * 64; k++) xs[k] = nn__quant1(test.x[k], q.q[0].scale, q.q[0].zero);
    CHECK_OK(nn_qforward(&q, xs, 16, &o1));
    /* the file: the same bytes back; a view whose table is not the identity refused */
    CHECK_OK(nn_qsave_mem(&q, NULL, 0, &size));
    buf = (unsigned char *)malloc(size);
    CHECK_OK(nn_qsave_mem(&q, buf, size, &size));
    CHECK_OK(nn_qload_mem(&r, buf, size, NULL));
    CHECK(r.q[a1].view && r.q[a3].view && !r.q[a4].view);
    CHECK_OK(nn_qforward(&r, xs, 16, &o2));
    for (k = 0; k < 16 * 10; k++) bad += o1[k] != o2[k];
    CHECK_MSG(bad == 0, "folded ReLUs: %d outputs differ after a save and load", bad);
    nn_qmodel_free(&r);
    ((uint8_t *)(uintptr_t)q.q[a2].lut)[200] = 199;
    CHECK_OK(nn_qsave_mem(&q, buf, size, &size));
    CHECK_ERR(nn_qload_mem(&r, buf, size, NULL), NN_ERR_FORMAT, "identity");
    free(buf);
    nn_qmodel_free(&q);
    nn_model_free(&m);
}

static void requant_paths(void) {
    uint64_t r = 99;
    int k, bad = 0, fast = 0;
    for (k = 0; k < 400000; k++) {
        int64_t v, p, want;
        int32_t mult, shift;
        r = r * 6364136223846793005ull + 1442695040888963407ull;
        shift = 1 + (int32_t)((r >> 33) % 62);
        mult = (int32_t)(((r >> 7) & 0x3fffffff) | 0x40000000);
        switch (k % 5) {
        case 0: v = (int64_t)(int32_t)(r >> 17); break;                    /* any 32-bit value */
        case 1: v = (int64_t)((r >> 40) & 0xffff) - 32768; break;          /* small */
        case 2: v = k & 1 ? INT32_MAX - (int64_t)(k % 7) : INT32_MIN + (int64_t)(k % 7); break;
        case 3: v = (int64_t)(r >> 31) - ((int64_t)1 << 32); break;        /* beyond 32 bits (p within 63) */
        default: v = (int64_t)(int32_t)(r >> 21); mult = 1 << 30; break;    /* powers of two: exact halves */
        }
        p = v * mult;
        if (p > ((int64_t)1 << 62) || p < -((int64_t)1 << 62)) continue; /* (the formula's own range) */
        want = p >= 0 ? (p + ((int64_t)1 << (shift - 1))) >> shift : -((-p + ((int64_t)1 << (shift - 1))) >> shift);
        if (want < INT32_MIN || want > INT32_MAX) continue; /* (outside what requantization produces) */
        fast += shift > 32 && v == (int32_t)v;
        bad += nn__rq(v, mult, shift) != (int32_t)want;
    }
    CHECK_MSG(bad == 0, "%d requantizations differ from the 64-bit formula", bad);
    CHECK(fast > 100000);
}

/* The int8 dense and convolution kernels (nn__qdense, nn__qconv: packed GEMM tiles on AVX2,
   smlad tiles on ARM, dot products elsewhere) against plain C loops, byte for byte: batches
   either side of the GEMM's 16 columns, odd and long rows (several blocks of taps, rows and
   columns), padding, strides, dilation, groups, depthwise, images narrower than 8, a padded
   image too large for the kernel's copy; biases beyond the 32-bit fast path, shifts of 32 and
   below (nn__rq's 64-bit case), outputs saturating at both ends. */
static uint64_t qrng = 12345;
static int32_t qrand(int32_t lo, int32_t hi) {
    qrng = qrng * 6364136223846793005ull + 1442695040888963407ull;
    return (int32_t)(lo + (int64_t)((qrng >> 33) % (uint64_t)((int64_t)hi - lo + 1)));
}
/* mode 1: biases past 32 bits; 2: weights in [-64, 64] (the AVX2 byte kernels), half at +-64
   (a pair's sum at its largest); 4: in [-32, 32] (two quads' pair sums added in 16 bits), half at
   +-32; else all of [-128, 127] */
static void qlayer_random(nn_qlayer *l, int8_t *w, int64_t nw, int32_t *bias, int32_t *mult, int32_t *shift, int64_t ch, int mode) {
    const int big = mode & 1, lim = mode & 4 ? 32 : 64;
    int64_t k;
    l->wmax = 0;
    for (k = 0; k < nw; k++) {
        w[k] = (int8_t)(mode & 6 ? (qrand(0, 1) ? qrand(-lim, lim) : qrand(0, 1) ? lim : -lim) : qrand(-128, 127));
        l->wmax = w[k] > l->wmax ? w[k] : -w[k] > l->wmax ? -w[k] : l->wmax;
    }
    for (k = 0; k < ch; k++) {
        bias[k] = big && k % 3 == 0 ? qrand(-2000000000, 2000000000) : qrand(-300000, 300000);
        mult[k] = qrand(1 << 30, 2147483647);
        shift[k] = k % 7 == 6 ? qrand(20, 32) : qrand(33, 44);
    }
    l->w = w; l->bias = bias; l->mult = mult; l->shift = shift; l->n_ch = ch; l->n_w = nw;
    l->zero = qrand(0, 255);
}
#if defined(NN__QDOT_AVX2)
#define QPOOL_TAKEN 1 /* (nn__qconv takes a pooling where it can) */
#define QPAD_MAX (NN__QPADB - NN__QSLACK)
#define QROWS(l, d) nn__qrows_fits(l, d) /* (the convolution without im2col) */
#define QFIT(l, m, k) nn__qfit(l, 0, m, k)
#else
#define QPOOL_TAKEN 0
#define QPAD_MAX 0
#define QROWS(l, d) 0
#define QFIT(l, m, k) 0
#endif
static uint8_t qref(const nn_qlayer *l, int64_t o, int64_t acc) {
    return nn__sat_u8(l->zero + nn__rq((int64_t)l->bias[o] + acc, l->mult[o], l->shift[o]));
}
/* one output of the int8 convolution, in plain C */
static uint8_t qconv_ref(const nn_conv2d_desc *d, const nn_qlayer *l, const uint8_t *x, int32_t zin, int64_t b, int64_t o,
                         int64_t oh, int64_t ow) {
    const int64_t g = o / (d->OC / d->G);
    int64_t acc = 0, ci, ki, kj;
    for (ci = 0; ci < d->C / d->G; ci++)
        for (ki = 0; ki < d->KH; ki++)
            for (kj = 0; kj < d->KW; kj++) {
                const int64_t ih = oh * d->SH - d->PH + ki * d->DH, iw = ow * d->SW - d->PW + kj * d->DW;
                const int32_t v = ih < 0 || ih >= d->H || iw < 0 || iw >= d->W ? zin : x[((b * d->C + g * (d->C / d->G) + ci) * d->H + ih) * d->W + iw];
                acc += v * l->w[((o * (d->C / d->G) + ci) * d->KH + ki) * d->KW + kj];
            }
    return qref(l, o, acc);
}
static void int8_kernels(void) {
    static int8_t wbuf[600000];
    int8_t *w; /* (each layer's weights end where wbuf does: the sanitizers see a read past them) */
    static uint8_t x[300000], y[300000];
    static int32_t bias[400], mult[400], shift[400];
    /* dense: in, out, batch */
    const int dense[][3] = {{1, 1, 1}, {784, 128, 16}, {784, 10, 17}, {131, 67, 65}, {300, 133, 40}, {7, 5, 200}, {64, 64, 3},
                            {400, 120, 1}, {120, 83, 5}, {161, 9, 18}};
    /* conv: C, H, W, OC, KH, KW, SH, SW, PH, PW, DH, DW, G, batch */
    const int conv[][14] = {{1, 28, 28, 6, 5, 5, 1, 1, 2, 2, 1, 1, 1, 2}, {6, 14, 14, 16, 5, 5, 1, 1, 0, 0, 1, 1, 1, 1},
                            {3, 17, 19, 7, 3, 3, 2, 2, 1, 1, 1, 1, 1, 2}, {4, 9, 23, 8, 3, 5, 1, 1, 2, 1, 2, 1, 2, 1},
                            {16, 6, 6, 70, 3, 3, 1, 1, 1, 1, 1, 1, 1, 2}, {1, 49, 10, 9, 10, 4, 2, 2, 4, 1, 1, 1, 1, 1},
                            {5, 7, 5, 5, 3, 3, 1, 1, 1, 1, 1, 1, 5, 1}, {20, 12, 11, 20, 1, 1, 1, 1, 0, 0, 1, 1, 1, 1},
                            {130, 4, 5, 3, 2, 2, 1, 1, 0, 0, 1, 1, 1, 1}, {40, 20, 20, 6, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1},
                            {2, 3, 40, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1, 3}, {1, 20, 23, 7, 3, 6, 1, 1, 1, 2, 1, 1, 1, 2},
                            {1, 9, 30, 13, 8, 4, 1, 1, 0, 0, 1, 1, 1, 1}, {1, 16, 40, 3, 7, 7, 1, 1, 3, 3, 1, 1, 1, 2}};
    nn_qlayer l;
    int t, mode, bad = 0, cases = 0, rows = 0;
    int64_t k, b, o;
    memset(&l, 0, sizeof l);
    for (mode = 0; mode < 6; mode++)
        for (t = 0; t < (int)(sizeof dense / sizeof dense[0]); t++) {
            const int64_t in = dense[t][0], out = dense[t][1], B = dense[t][2];
            w = wbuf + sizeof wbuf - in * out;
            qlayer_random(&l, w, in * out, bias, mult, shift, out, mode);
            for (k = 0; k < B * in; k++) x[k] = (uint8_t)(qrand(0, 1) ? 255 : qrand(0, 255));
            nn__qdense(&l, x, in, B, y);
            for (b = 0; b < B; b++)
                for (o = 0; o < out; o++) {
                    int64_t acc = 0;
                    for (k = 0; k < in; k++) acc += (int32_t)x[b * in + k] * w[o * in + k];
                    bad += y[b * out + o] != qref(&l, o, acc);
                }
            cases++;
        }
    CHECK_MSG(bad == 0, "int8 dense: %d outputs differ from plain C", bad);
    for (mode = 0; mode < 6; mode++)
        for (t = 0; t < (int)(sizeof conv / sizeof conv[0]); t++) {
            const int *c = conv[t];
            static uint8_t patch[1 << 16];
            nn_conv2d_desc d;
            int64_t kg, oh, ow;
            int32_t zin = qrand(0, 255);
            d.C = c[0]; d.H = c[1]; d.W = c[2]; d.OC = c[3]; d.KH = c[4]; d.KW = c[5]; d.SH = c[6]; d.SW = c[7];
            d.PH = c[8]; d.PW = c[9]; d.DH = c[10]; d.DW = c[11]; d.G = c[12]; d.T = 1;
            CHECK_OK(nn_conv2d_desc_init(&d));
            kg = d.C / d.G * d.KH * d.KW;
            w = wbuf + sizeof wbuf - d.OC * kg;
            qlayer_random(&l, w, d.OC * kg, bias, mult, shift, d.OC, mode);
            for (k = 0; k < c[13] * d.C * d.H * d.W; k++) x[k] = (uint8_t)(qrand(0, 1) ? 255 : qrand(0, 255));
            CHECK(nn__qconv(&l, &d, x, zin, c[13], y, NULL, patch) == 0);
            rows += QROWS(&l, &d);
            for (b = 0; b < c[13]; b++)
                for (o = 0; o < d.OC; o++)
                    for (oh = 0; oh < d.OH; oh++)
                        for (ow = 0; ow < d.OW; ow++) bad += y[((b * d.OC + o) * d.OH + oh) * d.OW + ow] != qconv_ref(&d, &l, x, zin, b, o, oh, ow);
            cases++;
        }
    CHECK_MSG(bad == 0, "int8 convolution: %d outputs differ from plain C", bad);
    CHECK_MSG(!QPOOL_TAKEN || rows >= 16, "%d convolutions without im2col", rows); /* (4 shapes of one channel, 4 modes of 7 or 6 bit weights) */
    { /* the 2x2 max pooling taken of the sums before requantization (nn__qconv's yp), where
         nn__qconv takes it (AVX2: one group, a padded stride-1 image, even sizes, sums in 32 bits,
         every channel in the fast case; not with biases past 32 bits): the plain C outputs'
         maxima; written over the input itself where the outputs are no larger than it */
        const int pc[][14] = {{1, 28, 28, 6, 5, 5, 1, 1, 2, 2, 1, 1, 1, 2}, {6, 14, 14, 16, 5, 5, 1, 1, 0, 0, 1, 1, 1, 3},
                              {16, 6, 6, 70, 3, 3, 1, 1, 1, 1, 1, 1, 1, 2}, {40, 20, 20, 6, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1},
                              {3, 12, 36, 5, 3, 3, 1, 1, 1, 1, 1, 1, 1, 3}, {2, 9, 9, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1, 2},
                              {24, 12, 12, 6, 3, 3, 1, 1, 1, 1, 1, 1, 1, 2}, {2, 16, 16, 3, 3, 3, 1, 1, 1, 1, 1, 1, 1, 2},
                              {1, 20, 22, 5, 5, 5, 1, 1, 2, 2, 1, 1, 1, 2}, {1, 12, 12, 6, 5, 5, 1, 1, 2, 2, 1, 1, 1, 3}};
        static uint8_t xy[300000], yp[100000], patch[1 << 16];
        int pooled = 0, inplace = 0, mbig;
        rows = 0;
        for (t = 0; t < (int)(sizeof pc / sizeof pc[0]); t++)
            for (mode = 0; mode < 6; mode++)
                for (mbig = 0; mbig < 2; mbig++) { /* (mbig: yp is the input) */
                    const int *c = pc[t];
                    nn_conv2d_desc d;
                    int64_t ph, pw, oh, ow, B = c[13];
                    int32_t zin = qrand(0, 255);
                    int got, want;
                    d.C = c[0]; d.H = c[1]; d.W = c[2]; d.OC = c[3]; d.KH = c[4]; d.KW = c[5]; d.SH = c[6]; d.SW = c[7];
                    d.PH = c[8]; d.PW = c[9]; d.DH = c[10]; d.DW = c[11]; d.G = c[12]; d.T = 1;
                    CHECK_OK(nn_conv2d_desc_init(&d));
                    w = wbuf + sizeof wbuf - d.OC * d.C * d.KH * d.KW;
                    qlayer_random(&l, w, d.OC * d.C * d.KH * d.KW, bias, mult, shift, d.OC, mode);
                    for (o = 0; o < d.OC; o++) shift[o] = qrand(33, 44);
                    for (k = 0; k < B * d.C * d.H * d.W; k++) xy[k] = x[k] = (uint8_t)(qrand(0, 1) ? 255 : qrand(0, 255));
                    memset(y, 0, sizeof y);
                    got = nn__qconv(&l, &d, mbig ? xy : x, zin, B, y, mbig ? xy : yp, patch);
                    want = QPOOL_TAKEN && QFIT(&l, d.OC, d.C * d.KH * d.KW) && d.OH % 2 == 0 && d.OW % 2 == 0 &&
                           d.C * (d.H + 2 * d.PH) * (d.W + 2 * d.PW) <= QPAD_MAX &&
                           (!mbig || d.OC * (d.OH / 2) * (d.OW / 2) <= d.C * d.H * d.W);
                    CHECK_MSG(got == want, "nn__qconv's pooling: shape %d mode %d in place %d: %s", t, mode, mbig, got ? "taken" : "not taken");
                    pooled += got; inplace += got && mbig; rows += got && QROWS(&l, &d);
                    for (b = 0; b < B; b++)
                        for (o = 0; o < d.OC; o++)
                            for (ph = 0; ph < d.OH / 2 && got; ph++)
                                for (pw = 0; pw < d.OW / 2; pw++) {
                                    uint8_t m = 0, v;
                                    for (k = 0; k < 4; k++)
                                        if ((v = qconv_ref(&d, &l, x, zin, b, o, 2 * ph + k / 2, 2 * pw + k % 2)) > m) m = v;
                                    bad += (mbig ? xy : yp)[((b * d.OC + o) * (d.OH / 2) + ph) * (d.OW / 2) + pw] != m;
                                }
                    for (b = 0; b < B && !got; b++) /* (not taken: y as without yp) */
                        for (o = 0; o < d.OC; o++)
                            for (oh = 0; oh < d.OH; oh++)
                                for (ow = 0; ow < d.OW; ow++) bad += y[((b * d.OC + o) * d.OH + oh) * d.OW + ow] != qconv_ref(&d, &l, x, zin, b, o, oh, ow);
                }
        CHECK_MSG(bad == 0, "int8 convolution with its pooling: %d outputs differ from plain C", bad);
        CHECK_MSG(!QPOOL_TAKEN || (pooled >= 30 && inplace >= 10 && rows >= 12), "pooled %d, in place %d, without im2col %d", pooled, inplace, rows);
    }
    CHECK(cases == 6 * (int)(sizeof dense / sizeof dense[0] + sizeof conv / sizeof conv[0]));
    { /* 2x2 max pooling (its vector paths: 16 and 8 outputs a step, a row's last 8 moved back, rows
         under 8 wide reading on; single ones at the end of the buffers, which they end), odd sizes */
        const int shapes[][3] = {{3, 28, 28}, {2, 10, 75}, {5, 7, 33}, {1, 4, 16}, {16, 10, 10}, {3, 5, 6}, {2, 3, 30}};
        for (t = 0; t < (int)(sizeof shapes / sizeof shapes[0]); t++) {
            nn_pool2d_desc d;
            int64_t pl, oh, ow;
            uint8_t *xs, *ys;
            memset(&d, 0, sizeof d);
            d.kind = NN_POOL_MAX; d.C = shapes[t][0]; d.H = shapes[t][1]; d.W = shapes[t][2];
            d.KH = d.KW = d.SH = d.SW = 2; d.OH = d.H / 2; d.OW = d.W / 2;
            xs = x + sizeof x - 2 * d.C * d.H * d.W; ys = y + sizeof y - 2 * d.C * d.OH * d.OW;
            for (k = 0; k < 2 * d.C * d.H * d.W; k++) xs[k] = (uint8_t)qrand(0, 255);
            nn__qpool(&d, xs, 0, 2, ys);
            for (pl = 0; pl < 2 * d.C; pl++)
                for (oh = 0; oh < d.OH; oh++)
                    for (ow = 0; ow < d.OW; ow++) {
                        const uint8_t *r = xs + (pl * d.H + 2 * oh) * d.W + 2 * ow;
                        int mx = r[0] > r[1] ? r[0] : r[1];
                        mx = r[d.W] > mx ? r[d.W] : mx;
                        mx = r[d.W + 1] > mx ? r[d.W + 1] : mx;
                        bad += ys[(pl * d.OH + oh) * d.OW + ow] != mx;
                    }
        }
        CHECK_MSG(bad == 0, "int8 2x2 max pooling: %d outputs differ from plain C", bad);
    }
}

int main(void) {
    nn_model m;
    int64_t i;
    int h;
    nn_set_threads(2);
    if (nn_csv_load("data/digits.csv", -1, &all) != NN_OK) { fprintf(stderr, "%s\n", nn_error()); return 1; }
    for (i = 0; i < all.n * all.features; i++) ((float *)all.owned)[i] /= 16.0f;
    nn_dataset_shuffle(&all, 7);
    test = nn_dataset_slice(&all, 0, 360);
    train = nn_dataset_slice(&all, 360, -1);
    dot_product();
    dot_tiles();
    int8_kernels();
    requant_paths();
    quantize_input();
    layer_types();
    fused_calibration();
    relu_folding();
    nn_model_init(&m, NULL);
    h = nn_input(&m, 64);
    h = nn_dropout(&m, nn_relu(&m, nn_dense(&m, h, 64)), 0.2f);
    nn_dense(&m, h, 10);
    train_model(&m, 25);
    check_model(&m, "digits MLP 64-64-10");
    nn_model_free(&m);
    nn_model_init(&m, NULL);
    h = nn_input_image(&m, 1, 8, 8);
    h = nn_maxpool2d(&m, nn_relu(&m, nn_batchnorm(&m, nn_conv2d(&m, h, 8, 3, 1, 1), 0.1f, 1e-5f)), 2, 2, 0);
    h = nn_relu(&m, nn_conv2d(&m, h, 16, 3, 1, 1));
    nn_dense(&m, nn_flatten(&m, h), 10);
    train_model(&m, 8);
    check_model(&m, "digits CNN 8-16 conv");
    nn_model_free(&m);
    nn_dataset_free(&all);
    return t_summary("test_quant");
}
