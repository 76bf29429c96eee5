/* The model file: save/load round trips (file and memory, copied and borrowed), checkpoints
   that resume bit-identically (between epochs and inside one), atomic saves under a full
   disk, hand-made bad files (every truncation, bad lengths, ranges, dtypes, shapes, NaN,
   hostile JSON), weights-only loading, and the IDX, NumPy and CSV readers. */
#define _POSIX_C_SOURCE 200809L
#define NN_IMPLEMENTATION
#include "../nn.h"
#include "test.h"
#include <stdlib.h>
#include <signal.h>
#include <sys/resource.h>

#ifndef NN_TEST_TAG /* (tests/cross.sh runs two machines' copies at once: each its own files) */
#define NN_TEST_TAG ""
#endif
#define TMP "build/test_file_tmp" NN_TEST_TAG

/* A model with every layer type that has state or options: conv, batchnorm, pooling,
   concat, add, reshape, dropout, activations with parameters. */
static int build_cnn(nn_model *m) {
    int x, a, b, h;
    nn_conv2d_desc d;
    nn_model_init(m, NULL);
    x = nn_input_image(m, 2, 7, 6);
    a = nn_conv2d(m, x, 4, 3, 1, 1);
    a = nn_batchnorm(m, a, 0.1f, 1e-5f);
    a = nn_leaky_relu(m, a, 0.07f);
    memset(&d, 0, sizeof d);
    d.OC = 4; d.KH = 3; d.KW = 1; d.SH = d.SW = 1; d.PH = 1; d.PW = 0; d.DH = d.DW = 1; d.G = 2;
    b = nn_conv2d_ex(m, x, &d, 0, NN_INIT_HE_NORMAL);
    h = nn_add(m, a, b);
    h = nn_concat(m, h, a);
    h = nn_maxpool2d(m, h, 2, 2, 0);
    h = nn_avgpool2d(m, h, 3, 1, 1);
    {
        int64_t shape[3] = {8, 3, 3};
        h = nn_reshape(m, h, 3, shape);
    }
    a = nn_global_avgpool(m, h);
    h = nn_flatten(m, h);
    h = nn_concat(m, h, a);
    h = nn_dense(m, h, 9);
    h = nn_batchnorm(m, h, 0.2f, 1e-3f);
    h = nn_gelu(m, h);
    h = nn_dropout(m, h, 0.25f);
    return nn_dense_ex(m, h, 3, 1, NN_INIT_TORCH);
}

static nn_compile_config train_config(void) {
    nn_compile_config cc = nn_compile_defaults();
    cc.optimizer = nn_adamw(3e-3f, 0.013f);
    cc.optimizer.schedule = NN_SCHED_COSINE;
    cc.optimizer.t_max = 5;
    cc.optimizer.lr_min = 1e-5f;
    cc.optimizer.warmup_steps = 3;
    cc.optimizer.clip_norm = 2.5f;
    cc.max_batch = 8;
    cc.seed = 0x123456789abcdefull;
    return cc;
}

/* deterministic inputs and labels */
static void make_data(float *x, int32_t *y, int n, int f, uint64_t seed) {
    int i;
    for (i = 0; i < n * f; i++) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        x[i] = (float)((double)(seed >> 11) / 9007199254740992.0 * 2.0 - 1.0);
    }
    for (i = 0; i < n; i++) y[i] = (int32_t)((x[i * f] + x[i * f + 1] > 0) + (x[i * f + 2] > 0.5f));
}

static void write_all(const char *path, const void *p, size_t n) {
    FILE *f = fopen(path, "wb");
    fwrite(p, 1, n, f);
    fclose(f);
}

static unsigned char *save_to_mem(const nn_model *m, int checkpoint, size_t *size) {
    unsigned char *buf;
    CHECK_OK(nn_save_mem(m, checkpoint, NULL, 0, size));
    buf = (unsigned char *)malloc(*size);
    CHECK_OK(nn_save_mem(m, checkpoint, buf, *size, size));
    return buf;
}

static int same_outputs(nn_model *a, nn_model *b, const float *x, int n) {
    float oa[64 * 3], ob[64 * 3];
    if (nn_predict(a, x, n, oa) != NN_OK || nn_predict(b, x, n, ob) != NN_OK) return 0;
    return memcmp(oa, ob, sizeof(float) * (size_t)(n * nn_model_output_size(a))) == 0;
}

/* every parameter and buffer tensor equal, bit for bit */
static int same_weights(const nn_model *a, const nn_model *b) {
    int i;
    for (i = 0; i < a->n_layers; i++) {
        const nn_layer *la = &a->layers[i], *lb = &b->layers[i];
        if (la->n_params != lb->n_params || la->n_buffers != lb->n_buffers) return 0;
        if (la->n_params && memcmp(la->w, lb->w, sizeof(float) * (size_t)la->n_params)) return 0;
        if (la->n_buffers && memcmp(la->buf, lb->buf, sizeof(float) * (size_t)la->n_buffers)) return 0;
    }
    return 1;
}

static void test_round_trip(void) {
    nn_model m, l, bm;
    nn_compile_config cc = train_config();
    nn_load_config lc = nn_load_defaults();
    float x[64 * 84];
    int32_t y[64];
    unsigned char *buf, *buf2, *disk;
    size_t size, size2, dsize;
    float loss;
    int i;
    make_data(x, y, 64, 84, 7);
    build_cnn(&m);
    CHECK_OK(nn_model_compile(&m, &cc));
    for (i = 0; i < 5; i++) CHECK_OK(nn_train_step(&m, x + 8 * 84 * i, y + 8 * i, NULL, 8, 0.01f, &loss));
    buf = save_to_mem(&m, 0, &size);
    CHECK(size % 4 == 0 && size > 8);
    CHECK(nn__rd_le(buf, 8) % 8 == 0); /* the data starts 8-aligned */
    /* a too-small buffer is an error that still reports the size */
    CHECK_ERR(nn_save_mem(&m, 0, buf, size - 1, &size2), NN_ERR_INVALID_ARG, "buffer");
    CHECK(size2 == size);

    CHECK_OK(nn_load_mem(&l, buf, size, NULL));
    CHECK(l.n_layers == m.n_layers && !l.borrowed);
    CHECK(same_weights(&m, &l));
    CHECK(same_outputs(&m, &l, x, 13));
    CHECK(l.config.loss == m.config.loss && l.config.max_batch == 8 && l.config.seed == cc.seed);
    CHECK(memcmp(&l.config.optimizer, &m.config.optimizer, sizeof m.config.optimizer) == 0);
    /* saving what was loaded gives the same bytes */
    buf2 = save_to_mem(&l, 0, &size2);
    CHECK(size2 == size && memcmp(buf, buf2, size) == 0);
    free(buf2);
    nn_model_free(&l);

    /* through a file */
    CHECK_OK(nn_save(&m, TMP ".nn"));
    disk = t_read_file(TMP ".nn", &dsize);
    CHECK(disk && dsize == size && memcmp(disk, buf, size) == 0);
    free(disk);
    lc.max_batch = 64;
    CHECK_OK(nn_load(&l, TMP ".nn", &lc));
    CHECK(l.config.max_batch == 64);
    CHECK(same_outputs(&m, &l, x, 8));
    /* loaded models train on */
    CHECK_OK(nn_train_step(&l, x, y, NULL, 40, 0.01f, &loss));
    nn_model_free(&l);

    /* borrowed: the weights stay in the buffer, the arena has no parameter section */
    lc = nn_load_defaults();
    lc.borrow = 1;
    CHECK_OK(nn_load_mem(&bm, buf, size, &lc));
    /* (a big-endian host cannot use little-endian floats in place: it copies) */
    CHECK(bm.borrowed == nn__host_le() && (bm.params == NULL) == nn__host_le() && bm.grads == NULL);
    CHECK(!nn__host_le() || (bm.layers[1].w >= (float *)(void *)buf && bm.layers[1].w < (float *)(void *)(buf + size)));
    CHECK(same_outputs(&m, &bm, x, 8));
    lc.borrow = 0; lc.inference_only = 1;
    CHECK_OK(nn_load_mem(&l, buf, size, &lc));
    CHECK_MSG(!nn__host_le() || bm.mem_bytes + sizeof(float) * (size_t)l.n_params <= l.mem_bytes + 64 * 128,
              "borrowed arena %zu, copied %zu", bm.mem_bytes, l.mem_bytes);
    CHECK_ERR(nn_save_checkpoint(&bm, TMP ".ck"), NN_ERR_STATE, "inference_only");
    if (nn__host_le()) CHECK_ERR(nn_load_weights_mem(&bm, buf, size), NN_ERR_STATE, "borrowed");
    /* a borrowed model saves what it reads */
    buf2 = save_to_mem(&bm, 0, &size2);
    CHECK(size2 == size && memcmp(buf, buf2, size) == 0);
    free(buf2);
    nn_model_free(&l);
    nn_model_free(&bm);
    /* misaligned bytes cannot be borrowed: copied instead, same outputs */
    buf2 = (unsigned char *)malloc(size + 1);
    memcpy(buf2 + 1, buf, size);
    lc = nn_load_defaults();
    lc.borrow = 1;
    CHECK_OK(nn_load_mem(&bm, buf2 + 1, size, &lc));
    CHECK(bm.borrowed == 0);
    CHECK(same_outputs(&m, &bm, x, 8));
    nn_model_free(&bm);
    free(buf2);
    free(buf);
    nn_model_free(&m);
}

/* Train epochs [0, total) in one go, or stop, save, free, load and go on: same bits. */
static void fit_epochs(nn_model *m, const nn_dataset *d, int epochs, const char *ck, int ck_epochs, int64_t ck_steps,
                       int (*cb)(const nn_progress *, void *), void *user, nn_result want) {
    nn_fit_config fc = nn_fit_defaults();
    fc.epochs = epochs; fc.batch_size = 6; fc.verbose = 0;
    fc.checkpoint_path = ck; fc.checkpoint_epochs = ck_epochs; fc.checkpoint_steps = ck_steps;
    fc.callback = cb; fc.user = user;
    CHECK(nn_fit(m, d, NULL, &fc) == want);
}
static int crash_at_step(const nn_progress *p, void *user) {
    (void)p;
    return --*(int *)user == 0;
}

static void test_resume(void) {
    nn_model a, b;
    nn_compile_config cc = train_config();
    float x[50 * 84];
    int32_t y[50];
    nn_dataset d;
    int countdown;
    make_data(x, y, 50, 84, 11);
    d = nn_dataset_make(x, 50, 84, y);
    build_cnn(&a);
    CHECK_OK(nn_model_compile(&a, &cc));
    fit_epochs(&a, &d, 4, NULL, 0, 0, NULL, NULL, NN_OK);
    CHECK(a.epoch == 4 && a.step == 4 * 9);

    /* between epochs: train 2, checkpoint, "exit", load, train 2 */
    build_cnn(&b);
    CHECK_OK(nn_model_compile(&b, &cc));
    fit_epochs(&b, &d, 2, TMP ".ck", 2, 0, NULL, NULL, NN_OK);
    nn_model_free(&b);
    memset(&b, 0xAB, sizeof b);
    CHECK_OK(nn_load(&b, TMP ".ck", NULL));
    CHECK(b.epoch == 2 && b.step == 18 && b.epoch_batch == 0);
    fit_epochs(&b, &d, 2, NULL, 0, 0, NULL, NULL, NN_OK);
    CHECK_MSG(same_weights(&a, &b), "resumed weights differ from uninterrupted ones");
    CHECK(b.rng == a.rng && b.step == a.step && b.epoch == a.epoch);
    CHECK(memcmp(a.opt1, b.opt1, sizeof(float) * (size_t)a.n_params) == 0);
    nn_model_free(&b);

    /* inside an epoch: checkpoints every 4 steps, a "crash" after step 15 (epoch 2, batch 6) */
    build_cnn(&b);
    CHECK_OK(nn_model_compile(&b, &cc));
    countdown = 15;
    fit_epochs(&b, &d, 4, TMP ".ck", 0, 4, crash_at_step, &countdown, NN_OK);
    nn_model_free(&b);
    CHECK_OK(nn_load(&b, TMP ".ck", NULL));
    CHECK(b.step == 12 && b.epoch == 1 && b.epoch_batch == 3);
    /* a different batch size cannot resume that epoch */
    {
        nn_fit_config fc = nn_fit_defaults();
        fc.epochs = 1; fc.batch_size = 5; fc.verbose = 0;
        CHECK_ERR(nn_fit(&b, &d, NULL, &fc), NN_ERR_STATE, "resuming");
    }
    fit_epochs(&b, &d, 4 - b.epoch, NULL, 0, 0, NULL, NULL, NN_OK);
    CHECK_MSG(same_weights(&a, &b), "weights resumed mid-epoch differ from uninterrupted ones");
    CHECK(b.step == a.step && b.epoch == 4);
    nn_model_free(&b);

    /* a stop from the callback inside an epoch (epoch 2, batch 4: the 14th call) keeps that position: a
       checkpoint saved then, resumed with the README's epochs - m.epoch, gives the same bits */
    build_cnn(&b);
    CHECK_OK(nn_model_compile(&b, &cc));
    countdown = 14;
    fit_epochs(&b, &d, 4, NULL, 0, 0, crash_at_step, &countdown, NN_OK);
    CHECK_MSG(b.step == 13 && b.epoch == 1 && b.epoch_batch == 4, "step %ld epoch %d batch %ld", (long)b.step, b.epoch, (long)b.epoch_batch);
    CHECK_OK(nn_save_checkpoint(&b, TMP ".ck"));
    nn_model_free(&b);
    CHECK_OK(nn_load(&b, TMP ".ck", NULL));
    CHECK_MSG(b.step == 13 && b.epoch == 1 && b.epoch_batch == 4, "step %ld epoch %d batch %ld", (long)b.step, b.epoch, (long)b.epoch_batch);
    fit_epochs(&b, &d, 4 - b.epoch, NULL, 0, 0, NULL, NULL, NN_OK);
    CHECK_MSG(same_weights(&a, &b), "weights resumed after a stop inside an epoch differ from uninterrupted ones");
    CHECK(b.step == a.step && b.epoch == 4);
    nn_model_free(&b);

    /* a checkpoint loaded for inference skips the optimizer state */
    {
        nn_load_config lc = nn_load_defaults();
        lc.inference_only = 1;
        CHECK_OK(nn_load(&b, TMP ".ck", &lc));
        CHECK(b.grads == NULL);
        nn_model_free(&b);
    }
    /* a checkpoint path that cannot be written stops fit with the error */
    build_cnn(&b);
    CHECK_OK(nn_model_compile(&b, &cc));
    fit_epochs(&b, &d, 2, "build/no/such/dir/x.ck", 1, 0, NULL, NULL, NN_ERR_IO);
    CHECK(b.epoch == 1);
    nn_model_free(&b);
    nn_model_free(&a);
}

/* A full disk (here: a file size limit) during a save leaves the old file intact. */
static void test_atomic(void) {
    nn_model m;
    nn_compile_config cc = train_config();
    unsigned char *before, *after;
    size_t nb, na;
    struct rlimit old, lim;
    FILE *f;
    build_cnn(&m);
    CHECK_OK(nn_model_compile(&m, &cc));
    CHECK_OK(nn_save(&m, TMP ".atomic"));
    before = t_read_file(TMP ".atomic", &nb);
    m.layers[1].w[0] += 1.0f;
    signal(SIGXFSZ, SIG_IGN);
    getrlimit(RLIMIT_FSIZE, &old);
    lim = old;
    lim.rlim_cur = 1000;
    setrlimit(RLIMIT_FSIZE, &lim);
    CHECK_ERR(nn_save(&m, TMP ".atomic"), NN_ERR_IO, "unchanged");
    setrlimit(RLIMIT_FSIZE, &old);
    after = t_read_file(TMP ".atomic", &na);
    CHECK(after && na == nb && memcmp(before, after, nb) == 0);
    f = fopen(TMP ".atomic.tmp", "rb");
    CHECK(f == NULL); /* the temporary file is gone */
    if (f) fclose(f);
    CHECK_ERR(nn_save(&m, "build/no/such/dir/m.nn"), NN_ERR_IO, "cannot create");
    CHECK_OK(nn_save(&m, TMP ".atomic"));
    free(after);
    after = t_read_file(TMP ".atomic", &na);
    CHECK(na == nb && memcmp(before, after, nb) != 0);
    free(before);
    free(after);
    nn_model_free(&m);
}

/* ---- hand-made files ---- */
typedef struct { unsigned char b[4096]; size_t n; } blob;
/* a safetensors file from a JSON header (padded as given) and data bytes */
static blob make_st(const char *json, const void *data, size_t dn) {
    blob f;
    const size_t hl = strlen(json);
    nn__wr_le(f.b, hl, 8);
    memcpy(f.b + 8, json, hl);
    memcpy(f.b + 8 + hl, data, dn);
    f.n = 8 + hl + dn;
    return f;
}
/* n floats as little-endian bytes (files are little-endian on every host) */
static void *le_floats(unsigned char *dst, const float *src, int n) {
    int i;
    for (i = 0; i < n; i++) nn__wr_le(dst + 4 * i, nn__bits_f32(src[i]), 4);
    return dst;
}

#define TINY_ARCH "{\"__metadata__\": {\"nn.arch\": \"input shape=3\\ndense in=0 units=2 bias=1 init=zeros\"}, "
static void expect_bad(const char *json, const void *data, size_t dn, nn_result code, const char *text) {
    blob f = make_st(json, data, dn);
    nn_model m;
    nn_result r = nn_load_mem(&m, f.b, f.n, NULL);
    CHECK_MSG(r == code && strstr(nn_error(), text), "%s\n    got %d '%s', want %d '%s'", json, (int)r, nn_error(),
              (int)code, text);
    CHECK(m.mem == NULL);
}

static void test_bad_files(void) {
    float w[16] = {1, 2, 3, 4, 5, 6, 0.5f, -0.5f};
    float nanw[16] = {1, 2, 3, 4, 5, 6, 0.5f, -0.5f};
    char deep[3000];
    nn_model m, ok;
    nn_compile_config cc = train_config();
    unsigned char *buf;
    size_t size, cut;
    int i, crashes = 0;
    volatile float zero = 0.0f;
    nanw[4] = zero / zero;
    le_floats((unsigned char *)w, w, 16);
    le_floats((unsigned char *)nanw, nanw, 16);

    /* the good one first, so that the failures below are about what they change */
    {
        blob f = make_st(TINY_ARCH "\"0.weight\": {\"dtype\": \"F32\", \"shape\": [2, 3], \"data_offsets\": [0, 24]}, "
                         "\"0.bias\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [24, 32]}}", w, 32);
        float o[2], in[3] = {1, 0, -1};
        CHECK_OK(nn_load_mem(&ok, f.b, f.n, NULL));
        CHECK_OK(nn_predict(&ok, in, 1, o));
        CHECK(o[0] == 1 - 3 + 0.5f && o[1] == 4 - 6 - 0.5f);
        nn_model_free(&ok);
    }
    expect_bad(TINY_ARCH "\"0.weight\": {\"dtype\": \"F32\", \"shape\": [2, 3], \"data_offsets\": [0, 24]}, "
               "\"0.bias\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [20, 28]}}", w, 28, NN_ERR_FORMAT, "overlap");
    expect_bad(TINY_ARCH "\"0.weight\": {\"dtype\": \"F32\", \"shape\": [2, 3], \"data_offsets\": [0, 24]}, "
               "\"0.bias\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [28, 36]}}", w, 36, NN_ERR_FORMAT, "gap");
    expect_bad(TINY_ARCH "\"0.weight\": {\"dtype\": \"F32\", \"shape\": [2, 3], \"data_offsets\": [0, 24]}, "
               "\"0.bias\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [24, 32]}}", w, 28, NN_ERR_FORMAT, "outside");
    expect_bad(TINY_ARCH "\"0.weight\": {\"dtype\": \"F32\", \"shape\": [2, 3], \"data_offsets\": [0, 24]}, "
               "\"0.bias\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [24, 32]}}", w, 36, NN_ERR_FORMAT, "cover");
    expect_bad(TINY_ARCH "\"0.weight\": {\"dtype\": \"I32\", \"shape\": [2, 3], \"data_offsets\": [0, 24]}, "
               "\"0.bias\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [24, 32]}}", w, 32, NN_ERR_FORMAT, "I32");
    expect_bad(TINY_ARCH "\"0.weight\": {\"dtype\": \"Q7\", \"shape\": [2, 3], \"data_offsets\": [0, 24]}, "
               "\"0.bias\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [24, 32]}}", w, 32, NN_ERR_FORMAT, "unknown dtype");
    expect_bad(TINY_ARCH "\"0.weight\": {\"dtype\": \"F32\", \"shape\": [3, 2], \"data_offsets\": [0, 24]}, "
               "\"0.bias\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [24, 32]}}", w, 32, NN_ERR_SHAPE, "(3, 2)");
    expect_bad(TINY_ARCH "\"0.weight\": {\"dtype\": \"F32\", \"shape\": [2, 3], \"data_offsets\": [0, 20]}, "
               "\"0.bias\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [20, 28]}}", w, 28, NN_ERR_FORMAT, "bytes for");
    expect_bad(TINY_ARCH "\"0.weight\": {\"dtype\": \"F32\", \"shape\": [2, 3], \"data_offsets\": [0, 24]}, "
               "\"0.bias\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [24, 32]}}", nanw, 32, NN_ERR_DATA, "element 4 is not finite");
    expect_bad(TINY_ARCH "\"0.weight\": {\"dtype\": \"F32\", \"shape\": [2, 3], \"data_offsets\": [0, 24]}}", w, 24,
               NN_ERR_FORMAT, "'0.bias' is missing");
    expect_bad(TINY_ARCH "\"0.weight\": {\"dtype\": \"F32\", \"shape\": [2, 3], \"data_offsets\": [0, 24]}, "
               "\"9.bias\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [24, 32]}, "
               "\"0.bias\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [32, 40]}}", w, 40, NN_ERR_FORMAT, "not part of the model");
    expect_bad(TINY_ARCH "\"0.weight\": {\"dtype\": \"F32\", \"shape\": [2, 3], \"data_offsets\": [0, 24]}, "
               "\"0.weight\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [24, 32]}}", w, 32, NN_ERR_FORMAT, "twice");
    expect_bad(TINY_ARCH "\"0.weight\": {\"dtype\": \"F32\", \"shape\": [99999999999999999999, 3], \"data_offsets\": [0, 24]}}",
               w, 24, NN_ERR_FORMAT, "shape");
    expect_bad(TINY_ARCH "\"0.weight\": {\"dtype\": \"F32\", \"shape\": [2, 3], \"data_offsets\": [0, 1e400]}}", w, 24,
               NN_ERR_FORMAT, "data_offsets");
    expect_bad(TINY_ARCH "\"0.weight\": {\"dtype\": \"F32\", \"shape\": [1099511627776, 1099511627776], \"data_offsets\": [0, 24]}}",
               w, 24, NN_ERR_FORMAT, "too large");
    expect_bad(TINY_ARCH "\"0.weight\": {\"dtype\": \"F32\", \"shape\": [-2, 3], \"data_offsets\": [0, 24]}}", w, 24,
               NN_ERR_FORMAT, "shape");
    expect_bad(TINY_ARCH "\"0.weight\": {\"dtype\": \"F32\", \"shape\": [2, 3], \"data_offsets\": [0, 24], \"x\": 1}}", w, 24,
               NN_ERR_FORMAT, "unexpected");
    expect_bad("[1, 2]", w, 0, NN_ERR_FORMAT, "not a JSON object");
    expect_bad("{\"a\": {\"dtype\": \"F32\", \"shape\": [], \"data_offsets\": [0, 4]}} x", w, 4, NN_ERR_FORMAT, "after the JSON");
    expect_bad("{\"__metadata__\": {\"nn.arch\": 5}}", w, 0, NN_ERR_FORMAT, "strings to strings");
    expect_bad("{\"__metadata__\": {\"nn.arch\": \"input shape=3\\nwarp in=0\"}}", w, 0, NN_ERR_FORMAT, "unknown layer type");
    expect_bad("{\"__metadata__\": {\"nn.arch\": \"input shape=3\\ndense in=5 units=2 bias=1 init=zeros\"}}", w, 0,
               NN_ERR_FORMAT, "earlier layer");
    expect_bad("{\"__metadata__\": {\"nn.arch\": \"input shape=3\\ndense in=0 units=-2 bias=1 init=zeros\"}}", w, 0,
               NN_ERR_FORMAT, "units");
    expect_bad("{\"__metadata__\": {\"nn.arch\": \"input shape=3\\ndense in=0 bias=1 init=zeros\"}}", w, 0,
               NN_ERR_FORMAT, "missing or malformed");
    expect_bad("{\"__metadata__\": {\"nn.arch\": \"input shape=3\\ndense in=0 units=2 bias=1 init=zeros\", "
               "\"nn.version\": \"7\"}}", w, 0, NN_ERR_UNSUPPORTED, "version");
    expect_bad("{\"__metadata__\": {\"nn.x\": \"1\"}}", w, 0, NN_ERR_FORMAT, "not an nn.h model");
    expect_bad("{\"a\": \"\\ud800\"}", w, 0, NN_ERR_FORMAT, "expected an object");
    expect_bad("{\"\\u0000\": {}}", w, 0, NN_ERR_FORMAT, "string key");
    /* deep nesting is refused at once, without recursion */
    strcpy(deep, "{\"a\": {\"dtype\": ");
    for (i = 0; i < 1000; i++) strcat(deep, "[");
    strcat(deep, "}");
    expect_bad(deep, w, 0, NN_ERR_FORMAT, "dtype is not a string");
    strcpy(deep, "{\"a\": ");
    for (i = 0; i < 400; i++) strcat(deep, "{\"b\": ");
    expect_bad(deep, w, 0, NN_ERR_FORMAT, "unexpected or repeated field 'b'");
    /* header length past the end, too short, absurd */
    {
        blob f = make_st("{}", w, 0);
        nn_model m2;
        nn__wr_le(f.b, 100, 8);
        CHECK_ERR(nn_load_mem(&m2, f.b, f.n, NULL), NN_ERR_FORMAT, "header length of 100, which runs past the end");
        nn__wr_le(f.b, ~(uint64_t)0, 8); /* (the real value, not a clamp) */
        CHECK_ERR(nn_load_mem(&m2, f.b, f.n, NULL), NN_ERR_FORMAT, "header length of 18446744073709551615, which is over 100 MB");
        f.b[0] = 0x1f; f.b[1] = 0x8b;
        CHECK_ERR(nn_load_mem(&m2, f.b, f.n, NULL), NN_ERR_FORMAT, "gzip-compressed data");
        CHECK_ERR(nn_idx_load_mem(f.b, f.n, &(nn_tensor){0}), NN_ERR_FORMAT, "gunzip");
        CHECK_ERR(nn_load(&m2, "build", NULL), NN_ERR_IO, "'build' is a directory");
        CHECK_ERR(nn_load_mem(&m2, f.b, 5, NULL), NN_ERR_FORMAT, "too short");
        CHECK_ERR(nn_load(&m2, "build/no/such/file.nn", NULL), NN_ERR_IO, "cannot open");
    }
    /* a real checkpoint truncated at every length, and with every header byte flipped: an
       error each time, never a crash (the sanitizer build checks the reads) */
    build_cnn(&m);
    CHECK_OK(nn_model_compile(&m, &cc));
    buf = save_to_mem(&m, 1, &size);
    for (cut = 0; cut < size; cut++) {
        nn_model t;
        if (nn_load_mem(&t, buf, cut, NULL) == NN_OK) { crashes++; nn_model_free(&t); }
    }
    CHECK_MSG(crashes == 0, "%d truncations loaded", crashes);
    {
        const size_t hl = (size_t)nn__rd_le(buf, 8);
        int loaded_ok = 0;
        for (cut = 8; cut < 8 + hl; cut++) {
            nn_model t;
            const unsigned char keep = buf[cut];
            buf[cut] ^= 0x5A;
            if (nn_load_mem(&t, buf, size, NULL) == NN_OK) { loaded_ok++; nn_model_free(&t); }
            buf[cut] = keep;
        }
        /* some flips are harmless (inside a float's digits, a name's letter that stays
           unused...), most are not; the point is that none crashed */
        CHECK(loaded_ok < (int)hl / 2);
    }
    free(buf);
    nn_model_free(&m);
}

/* Weights alone by name, as PyTorch writes them (no metadata, extra num_batches_tracked). */
static void test_weights_only(void) {
    nn_model m;
    float w[8] = {1, 2, 3, 4, 5, 6, 0.5f, -0.5f}, o[2], in[3] = {1, 1, 1};
    unsigned char d[48];
    const char *j = "{\"0.bias\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [24, 32]}, "
                    "\"0.weight\": {\"dtype\": \"F32\", \"shape\": [2, 3], \"data_offsets\": [0, 24]}, "
                    "\"1.num_batches_tracked\": {\"dtype\": \"I64\", \"shape\": [], \"data_offsets\": [32, 40]}}";
    blob f;
    int h;
    le_floats(d, w, 8);
    memset(d + 32, 0, 8);
    f = make_st(j, d, 40);
    nn_model_init(&m, NULL);
    h = nn_input(&m, 3);
    nn_dense(&m, h, 2);
    CHECK_OK(nn_model_compile(&m, NULL));
    CHECK_OK(nn_load_weights_mem(&m, f.b, f.n));
    CHECK_OK(nn_predict(&m, in, 1, o));
    CHECK(o[0] == 6.5f && o[1] == 14.5f);
    /* a wrong shape changes nothing */
    {
        const char *j2 = "{\"0.bias\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [24, 32]}, "
                         "\"0.weight\": {\"dtype\": \"F32\", \"shape\": [3, 2], \"data_offsets\": [0, 24]}}";
        float o2[2];
        for (h = 0; h < 8; h++) w[h] = 9;
        f = make_st(j2, le_floats(d, w, 8), 32);
        CHECK_ERR(nn_load_weights_mem(&m, f.b, f.n), NN_ERR_SHAPE, "0.weight");
        CHECK_OK(nn_predict(&m, in, 1, o2));
        CHECK(o2[0] == 6.5f && o2[1] == 14.5f);
    }
    /* F16, BF16 and F64 convert */
    {
        const char *j3 = "{\"0.bias\": {\"dtype\": \"F64\", \"shape\": [2], \"data_offsets\": [24, 40]}, "
                         "\"0.weight\": {\"dtype\": \"F16\", \"shape\": [2, 3], \"data_offsets\": [0, 12]}, "
                         "\"x\": {\"dtype\": \"BF16\", \"shape\": [6], \"data_offsets\": [12, 24]}}";
        unsigned char b[40];
        const uint16_t h16[6] = {0x3C00, 0xC000, 0x3800, 0x0001, 0x7BFF, 0x0000}; /* 1 -2 .5 2^-24 65504 0 */
        const double bias[2] = {0.25, -1e-3};
        for (h = 0; h < 6; h++) nn__wr_le(b + 2 * h, h16[h], 2);
        for (h = 0; h < 6; h++) nn__wr_le(b + 12 + 2 * h, 0x3F80, 2); /* bf16 1.0 */
        for (h = 0; h < 2; h++) {
            uint64_t u;
            memcpy(&u, &bias[h], 8);
            nn__wr_le(b + 24 + 8 * h, u, 8);
        }
        f = make_st(j3, b, 40);
        CHECK_ERR(nn_load_weights_mem(&m, f.b, f.n), NN_ERR_FORMAT, "'x' is not part");
        nn_model_free(&m);
        nn_model_init(&m, NULL);
        h = nn_input(&m, 3);
        nn_dense(&m, h, 2);
        CHECK_OK(nn_model_compile(&m, NULL));
        {
            const char *j4 = "{\"0.bias\": {\"dtype\": \"F64\", \"shape\": [2], \"data_offsets\": [24, 40]}, "
                             "\"0.weight\": {\"dtype\": \"F16\", \"shape\": [2, 3], \"data_offsets\": [0, 12]}, "
                             "\"1.num_batches_tracked\": {\"dtype\": \"BF16\", \"shape\": [6], \"data_offsets\": [12, 24]}}";
            f = make_st(j4, b, 40);
            CHECK_OK(nn_load_weights_mem(&m, f.b, f.n));
            CHECK(m.layers[1].w[0] == 1 && m.layers[1].w[1] == -2 && m.layers[1].w[2] == 0.5f);
            CHECK(m.layers[1].w[3] == 1.0f / 16777216.0f && m.layers[1].w[4] == 65504.0f);
            CHECK(m.layers[1].w[6] == 0.25f && m.layers[1].w[7] == (float)-1e-3);
        }
    }
    nn_model_free(&m);
}

static void test_numbers(void) {
    const float v[] = {0.1f, 3e-4f, 1e-8f, 0.999f, 1.0f, 123456.789f, 1e30f, 1.17549435e-38f, 0.0f, -2.5f, 16777217.0f};
    unsigned i;
    for (i = 0; i < sizeof v / sizeof v[0]; i++) {
        char t[64];
        double d;
        t[0] = 0;
        nn__cat_float(t, sizeof t, v[i]);
        CHECK_MSG(nn__parse_float(t, t + strlen(t), &d) && (float)d == v[i], "%s -> %.9g, want %.9g", t, d, (double)v[i]);
    }
    {
        double d;
        const char *bad[] = {"", "-", "1e", "1.2.3", "0x10", "1e-999999", "nan"};
        for (i = 0; i < sizeof bad / sizeof bad[0]; i++)
            CHECK_MSG(!nn__parse_float(bad[i], bad[i] + strlen(bad[i]), &d) || bad[i][0] == 0, "'%s' parsed", bad[i]);
        CHECK(nn__parse_float("0.000123", "0.000123" + 8, &d) && d == 0.000123);
        CHECK(nn__parse_float("-12.5e2", "-12.5e2" + 7, &d) && d == -1250.0);
    }
}

static void test_idx(void) {
    unsigned char f[4 + 12 + 12];
    nn_tensor t;
    int i;
    memcpy(f, "\0\0\x08\x03", 4);
    nn__wr_le(f + 4, 0, 4);
    f[7] = 3; f[11] = 2; f[15] = 2;
    f[4] = f[5] = f[6] = 0; f[8] = f[9] = f[10] = 0; f[12] = f[13] = f[14] = 0;
    for (i = 0; i < 12; i++) f[16 + i] = (unsigned char)(i * 20);
    CHECK_OK(nn_idx_load_mem(f, sizeof f, &t));
    CHECK(t.ndim == 3 && t.shape[0] == 3 && t.shape[1] == 2 && t.shape[2] == 2 && t.owned);
    CHECK(t.data[0] == 0 && t.data[11] == 220);
    nn_tensor_free(&t);
    CHECK(t.data == NULL);
    CHECK_ERR(nn_idx_load_mem(f, sizeof f - 1, &t), NN_ERR_FORMAT, "11 data bytes for 12");
    CHECK_ERR(nn_idx_load_mem(f, 10, &t), NN_ERR_FORMAT, "truncated");
    f[2] = 0x07;
    CHECK_ERR(nn_idx_load_mem(f, sizeof f, &t), NN_ERR_FORMAT, "element type");
    f[2] = 0x0D; f[3] = 1; f[7] = 3; /* 3 big-endian floats */
    {
        unsigned char g[8 + 12] = {0, 0, 0x0D, 1, 0, 0, 0, 3, 0x3F, 0x80, 0, 0, 0xC0, 0x20, 0, 0, 0x7F, 0x80, 0, 0};
        CHECK_OK(nn_idx_load_mem(g, sizeof g, &t));
        CHECK(t.ndim == 1 && t.data[0] == 1.0f && t.data[1] == -2.5f && t.data[2] > 1e38f);
        nn_tensor_free(&t);
        g[3] = 9;
        CHECK_ERR(nn_idx_load_mem(g, sizeof g, &t), NN_ERR_FORMAT, "dimensions");
    }
    write_all(TMP ".idx", f, 4);
    CHECK_ERR(nn_idx_load(TMP ".idx", &t), NN_ERR_FORMAT, "IDX");
}

/* a version 1.0 header around dict, 80 bytes in all */
static void npy_header(unsigned char *f, const char *dict) {
    memset(f, ' ', 80);
    memcpy(f, "\x93NUMPY\x01\x00", 8);
    f[8] = 70; f[9] = 0;
    memcpy(f + 10, dict, strlen(dict));
    f[79] = '\n';
}

static void test_npy(void) {
    float v[6] = {1, -2, 3.5f, 4, 5, 6e-7f};
    int64_t shape[2] = {2, 3};
    nn_tensor t = nn_tensor_view(v, 2, shape), r;
    unsigned char buf[256];
    size_t n;
    CHECK_OK(nn_npy_save_mem(&t, buf, sizeof buf, &n));
    CHECK(n == 128 + 24 && buf[127] == '\n' && (n - 24) % 64 == 0);
    CHECK(memcmp(buf + 10, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", 59) == 0);
    CHECK_OK(nn_npy_load_mem(buf, n, &r));
    CHECK(r.ndim == 2 && r.shape[0] == 2 && r.shape[1] == 3 && memcmp(r.data, v, sizeof v) == 0);
    nn_tensor_free(&r);
    CHECK_OK(nn_npy_save(TMP ".npy", &t));
    CHECK_OK(nn_npy_load(TMP ".npy", &r));
    CHECK(memcmp(r.data, v, sizeof v) == 0);
    nn_tensor_free(&r);
    t.ndim = 1; t.shape[0] = 6;
    CHECK_OK(nn_npy_save_mem(&t, buf, sizeof buf, &n));
    CHECK(memcmp(buf + 10, "{'descr': '<f4', 'fortran_order': False, 'shape': (6,), }", 57) == 0);
    CHECK_ERR(nn_npy_load_mem(buf, n - 1, &r), NN_ERR_FORMAT, "data bytes");
    {   /* other dtypes and byte orders, written by hand */
        const char *h1 = "{'descr': '|u1', 'fortran_order': False, 'shape': (3,), }";
        const char *h2 = "{'descr': '<i8', 'fortran_order': False, 'shape': (2,), }";
        const char *h3 = "{'descr': '>f8', 'fortran_order': False, 'shape': (1,), }";
        const char *h4 = "{'descr': '<f4', 'fortran_order': True, 'shape': (1, 1), }";
        const char *h5 = "{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }";
        unsigned char f[128];
        npy_header(f, h1); f[80] = 7; f[81] = 0; f[82] = 255;
        CHECK_OK(nn_npy_load_mem(f, 83, &r));
        CHECK(r.shape[0] == 3 && r.data[0] == 7 && r.data[2] == 255);
        nn_tensor_free(&r);
        npy_header(f, h2); nn__wr_le(f + 80, (uint64_t)-3, 8); nn__wr_le(f + 88, 9, 8);
        CHECK_OK(nn_npy_load_mem(f, 96, &r));
        CHECK(r.data[0] == -3 && r.data[1] == 9);
        nn_tensor_free(&r);
        npy_header(f, h3);
        {
            const unsigned char be[8] = {0x40, 0x09, 0x21, 0xFB, 0x54, 0x44, 0x2D, 0x18}; /* pi */
            memcpy(f + 80, be, 8);
        }
        CHECK_OK(nn_npy_load_mem(f, 88, &r));
        CHECK(r.data[0] == (float)3.141592653589793);
        nn_tensor_free(&r);
        npy_header(f, h4);
        CHECK_ERR(nn_npy_load_mem(f, 84, &r), NN_ERR_UNSUPPORTED, "Fortran");
        npy_header(f, h5);
        CHECK_ERR(nn_npy_load_mem(f, 88, &r), NN_ERR_UNSUPPORTED, "dtype");
        npy_header(f, h1); f[8] = 0xFF;
        CHECK_ERR(nn_npy_load_mem(f, 83, &r), NN_ERR_FORMAT, "header length");
        CHECK_ERR(nn_npy_load_mem("\x93NUMPX", 6, &r), NN_ERR_FORMAT, "magic");
    }
    {   /* a data set from a features array and a labels array */
        float lab[2] = {1, 0}, bad[2] = {1, 0.5f};
        int64_t s1[1] = {2};
        nn_tensor y = nn_tensor_view(lab, 1, s1);
        nn_dataset d;
        t = nn_tensor_view(v, 2, shape);
        CHECK_OK(nn_dataset_from_tensors(&t, &y, &d));
        CHECK(d.n == 2 && d.features == 3 && d.labels[0] == 1 && d.x[5] == v[5]);
        nn_dataset_free(&d);
        y.data = bad;
        CHECK_ERR(nn_dataset_from_tensors(&t, &y, &d), NN_ERR_DATA, "label 1");
    }
}

static void test_csv_mem(void) {
    const char *text = "a,b,label\n1,2,0\n3.5,-4,1\n\n";
    nn_dataset d;
    CHECK_OK(nn_csv_load_mem(text, strlen(text), 2, &d));
    CHECK(d.n == 2 && d.features == 2 && d.x[2] == 3.5f && d.labels[1] == 1);
    nn_dataset_free(&d);
    CHECK_ERR(nn_csv_load_mem("a,b\n1,x\n", 8, -1, &d), NN_ERR_FORMAT, "CSV text:2: column 1 (from 0");
    CHECK_ERR(nn_csv_load_mem("a,b\n1\0002\n", 8, -1, &d), NN_ERR_FORMAT, "NUL");
}

int main(void) {
    nn_set_threads(2);
    test_numbers();
    test_round_trip();
    test_resume();
    test_atomic();
    test_bad_files();
    test_weights_only();
    test_idx();
    test_npy();
    test_csv_mem();
    remove(TMP ".nn"); remove(TMP ".ck"); remove(TMP ".atomic"); remove(TMP ".idx"); remove(TMP ".npy");
    return t_summary("test_file");
}
