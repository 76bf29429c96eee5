/* End-to-end training: XOR, iris held-out accuracy, every loss learning a task, determinism
   (same seed => same bits, for 1 and 2 threads), callbacks, early stopping and history. */
#define NN_IMPLEMENTATION
#include "../nn.h"
#include "test.h"
#include <stdlib.h>

#ifndef DATA_DIR
#define DATA_DIR "data/"
#endif

static int stop_at_epoch(const nn_progress *p, void *user) {
    int *count = (int *)user;
    if (!p->epoch_end) { count[0]++; return 0; }
    count[1]++;
    return p->epoch == 3;
}

/* standardize columns with the first n_fit rows' mean and std */
static void standardize(float *x, int64_t n, int64_t n_fit, int64_t f) {
    int64_t i, j;
    for (j = 0; j < f; j++) {
        double s = 0, ss = 0, mean, sd;
        for (i = 0; i < n_fit; i++) { s += x[i * f + j]; ss += (double)x[i * f + j] * x[i * f + j]; }
        mean = s / n_fit;
        sd = sqrt(ss / n_fit - mean * mean) + 1e-6;
        for (i = 0; i < n; i++) x[i * f + j] = (float)((x[i * f + j] - mean) / sd);
    }
}

/* Trains a digits MLP with dropout for 2 epochs; returns a malloc'd copy of the weights. */
static float *train_digits(const nn_dataset *d, uint64_t seed, int threads, int64_t *np) {
    nn_model m;
    nn_compile_config cc = nn_compile_defaults();
    nn_fit_config fc = nn_fit_defaults();
    float *w;
    int h;
    nn_set_threads(threads);
    nn_model_init(&m, NULL);
    h = nn_input(&m, 64);
    h = nn_dense(&m, h, 300); /* big enough that the GEMMs and element-wise loops run threaded */
    h = nn_gelu(&m, h);
    h = nn_dropout(&m, h, 0.2f);
    nn_dense(&m, h, 10);
    cc.optimizer = nn_adamw(1e-3f, 0.01f);
    cc.optimizer.clip_norm = 1.0f;
    cc.max_batch = 256;
    cc.seed = seed;
    CHECK_OK(nn_model_compile(&m, &cc));
    fc.epochs = 2; fc.batch_size = 256; fc.verbose = 0;
    CHECK_OK(nn_fit(&m, d, NULL, &fc));
    w = (float *)malloc(sizeof(float) * (size_t)m.n_params);
    memcpy(w, m.params, sizeof(float) * (size_t)m.n_params);
    *np = m.n_params;
    nn_model_free(&m);
    return w;
}

/* A ReLU that only reads a dense layer is computed in that layer's GEMM (nn__plan_fuse): loss,
   every gradient and every activation (the dense layer's own output and the ReLU's, both written
   by the GEMM) equal a twin whose leaky ReLU of slope 0 is not fused, after three steps of
   training; a dense output read by two layers, and a ReLU that is the model's output. */
static void build_dense_relu(nn_model *m, int leaky) {
    nn_compile_config cc = nn_compile_defaults();
    int h, d;
    nn_model_init(m, NULL);
    h = nn_input(m, 37);
    h = leaky ? nn_leaky_relu(m, nn_dense(m, h, 45), 0.0f) : nn_relu(m, nn_dense(m, h, 45));
    d = nn_dense(m, h, 19);                     /* read by the ReLU and the add: not fused */
    h = nn_add(m, leaky ? nn_leaky_relu(m, d, 0.0f) : nn_relu(m, d), d);
    h = leaky ? nn_leaky_relu(m, nn_dense(m, h, 6), 0.0f) : nn_relu(m, nn_dense(m, h, 6)); /* the output */
    (void)h;
    cc.max_batch = 5;
    cc.loss = NN_LOSS_MSE;
    cc.optimizer = nn_adam(0.01f);
    CHECK_OK(nn_model_compile(m, &cc));
}
static void fused_dense_relu(void) {
    nn_model a, b;
    nn_tensor ta, tb;
    float x[5 * 37], t[5 * 6], la, lb;
    int64_t i, bad = 0;
    int layer, step;
    uint64_t r = 99;
    for (i = 0; i < 5 * 37; i++) { r = r * 6364136223846793005ull + 1442695040888963407ull; x[i] = (float)(r >> 40) / 8388608.0f - 1.0f; }
    for (i = 0; i < 5 * 6; i++) t[i] = (float)(i % 4) * 0.5f;
    build_dense_relu(&a, 0);
    build_dense_relu(&b, 1);
    CHECK(a.layers[2].fused == 2 && a.layers[1].fused == 2 && !a.layers[3].fused && !a.layers[4].fused &&
          a.layers[7].fused == 2 && a.layers[6].fused == 7);
    for (layer = 0; layer < b.n_layers; layer++) CHECK(!b.layers[layer].fused);
    for (step = 0; step < 3; step++) {
        CHECK_OK(nn_train_step(&a, x, NULL, t, 5, 0.01f, &la));
        CHECK_OK(nn_train_step(&b, x, NULL, t, 5, 0.01f, &lb));
        CHECK_MSG(la == lb, "step %d: fused loss %.9g, unfused %.9g", step, la, lb);
    }
    CHECK_OK(nn_model_backward(&a, x, NULL, t, 5, &la));
    CHECK_OK(nn_model_backward(&b, x, NULL, t, 5, &lb));
    CHECK_MSG(la == lb && la > 0.0f, "fused loss %.9g, unfused %.9g", la, lb);
    for (i = 0, bad = 0; i < a.n_train; i++) bad += a.grads[i] != b.grads[i];
    CHECK_MSG(bad == 0, "%lld of %lld gradients differ fused", (long long)bad, (long long)a.n_train);
    CHECK_OK(nn_forward(&a, x, 5, NULL));
    CHECK_OK(nn_forward(&b, x, 5, NULL));
    for (layer = 1; layer < a.n_layers; layer++) {
        const int64_t n = 5 * a.layers[layer].size;
        CHECK_OK(nn_model_activation(&a, layer, 5, &ta));
        CHECK_OK(nn_model_activation(&b, layer, 5, &tb));
        for (i = 0, bad = 0; i < n; i++) bad += ta.data[i] != tb.data[i];
        CHECK_MSG(bad == 0, "layer %d: %lld of %lld activations differ fused", layer, (long long)bad, (long long)n);
    }
    nn_model_free(&a);
    nn_model_free(&b);
}

/* The determinism rule of the manual (section 6): the same batch size gives the same bits; a
   row run alone (batch 1: another kernel) differs from the batched row only in the last bits */
static void batch1_vs_batched(void) {
    nn_model m;
    float x[5 * 37], all[5 * 6], again[5 * 6], one[6], worst = 0.0f, big = 0.0f;
    int64_t i, k;
    uint64_t r = 7;
    for (i = 0; i < 5 * 37; i++) { r = r * 6364136223846793005ull + 1442695040888963407ull; x[i] = (float)(r >> 40) / 8388608.0f - 1.0f; }
    build_dense_relu(&m, 1);
    CHECK_OK(nn_predict(&m, x, 5, all));
    CHECK_OK(nn_predict(&m, x, 5, again));
    CHECK(memcmp(all, again, sizeof all) == 0);
    for (i = 0; i < 5; i++) {
        CHECK_OK(nn_predict(&m, x + i * 37, 1, one));
        for (k = 0; k < 6; k++) {
            worst = fabsf(one[k] - all[i * 6 + k]) > worst ? fabsf(one[k] - all[i * 6 + k]) : worst;
            big = fabsf(all[i * 6 + k]) > big ? fabsf(all[i * 6 + k]) : big;
        }
    }
    CHECK_MSG(worst <= 1e-5f * (1.0f + big), "batch 1 and batch 5 differ by %g (largest output %g)", (double)worst, (double)big);
    printf("  batch 1 against batch 5: outputs within %.2g (largest %.3g); the same batch twice: the same bits\n",
           (double)worst, (double)big);
    nn_model_free(&m);
}

int main(void) {
    nn_model m;
    nn_compile_config cc;
    nn_fit_config fc;
    float acc, loss;
    int h;

    batch1_vs_batched();
    /* XOR to 100% */
    {
        float x[8] = {0, 0, 0, 1, 1, 0, 1, 1};
        int32_t y[4] = {0, 1, 1, 0};
        nn_dataset d = nn_dataset_make(x, 4, 2, y);
        nn_model_init(&m, NULL);
        h = nn_input(&m, 2);
        h = nn_dense(&m, h, 8);
        h = nn_tanh(&m, h);
        nn_dense(&m, h, 2);
        cc = nn_compile_defaults();
        cc.optimizer = nn_adam(0.05f);
        cc.max_batch = 4;
        CHECK_OK(nn_model_compile(&m, &cc));
        fc = nn_fit_defaults(); fc.epochs = 300; fc.batch_size = 4; fc.verbose = 0;
        CHECK_OK(nn_fit(&m, &d, NULL, &fc));
        CHECK_OK(nn_evaluate(&m, &d, &loss, &acc));
        CHECK_MSG(acc == 1.0f, "xor accuracy %.2f", acc);
        printf("  xor: accuracy %.0f%%, loss %.4f\n", 100 * acc, loss);
        nn_model_free(&m);
    }

    /* iris: 105 training rows, 45 held out, >= 93% */
    {
        nn_dataset all, train, test;
        nn_epoch_stats hist[150];
        CHECK_OK(nn_csv_load(DATA_DIR "iris.csv", -1, &all));
        CHECK(all.n == 150 && all.features == 4);
        CHECK_OK(nn_dataset_shuffle(&all, 3));
        standardize((float *)all.owned, all.n, 105, 4);
        train = nn_dataset_slice(&all, 0, 105);
        test = nn_dataset_slice(&all, 105, 45);
        nn_model_init(&m, NULL);
        h = nn_input(&m, 4);
        h = nn_dense_ex(&m, h, 16, 1, NN_INIT_HE_UNIFORM);
        h = nn_relu(&m, h);
        nn_dense(&m, h, 3);
        cc = nn_compile_defaults();
        cc.optimizer = nn_sgd(0.05f, 0.9f, 1);
        cc.max_batch = 16;
        CHECK_OK(nn_model_compile(&m, &cc));
        fc = nn_fit_defaults(); fc.epochs = 150; fc.batch_size = 16; fc.verbose = 0;
        fc.history = hist; fc.history_cap = 150;
        CHECK_OK(nn_fit(&m, &train, &test, &fc));
        CHECK_OK(nn_evaluate(&m, &test, &loss, &acc));
        CHECK_MSG(acc >= 0.93f, "iris held-out accuracy %.3f", acc);
        CHECK(hist[149].loss < hist[0].loss && hist[149].epoch == 150);
        CHECK(hist[149].val_acc == acc);
        printf("  iris: held-out accuracy %.1f%% (45 rows), loss %.4f\n", 100 * acc, loss);

        /* predict == forward, and predict handles n > max_batch */
        {
            float out[45 * 3];
            nn_tensor t;
            int64_t i;
            CHECK_OK(nn_predict(&m, test.x, 45, out));
            CHECK_OK(nn_forward(&m, test.x + 40 * 4, 5, &t));
            CHECK(memcmp(t.data, out + 40 * 3, sizeof(float) * 15) == 0);
            for (i = 0, h = 0; i < 45; i++) h += nn_argmax(out + 3 * i, 3) == test.labels[i];
            CHECK_NEAR(h / 45.0, acc, 1e-6);
        }
        nn_model_free(&m);

        /* the hinge loss learns iris too */
        nn_model_init(&m, NULL);
        h = nn_input(&m, 4);
        h = nn_dense(&m, h, 16);
        h = nn_leaky_relu(&m, h, 0.01f);
        nn_dense(&m, h, 3);
        cc = nn_compile_defaults();
        cc.loss = NN_LOSS_HINGE;
        cc.optimizer = nn_rmsprop(0.01f);
        cc.optimizer.schedule = NN_SCHED_STEP; cc.optimizer.step_size = 30; cc.optimizer.gamma = 0.5f;
        cc.max_batch = 16;
        CHECK_OK(nn_model_compile(&m, &cc));
        fc = nn_fit_defaults(); fc.epochs = 100; fc.batch_size = 16; fc.verbose = 0;
        fc.history = hist; fc.history_cap = 150;
        CHECK_OK(nn_fit(&m, &train, NULL, &fc));
        CHECK_OK(nn_evaluate(&m, &test, &loss, &acc));
        CHECK_MSG(acc >= 0.9f, "iris (hinge) accuracy %.3f", acc);
        CHECK_NEAR(hist[0].lr, 0.01, 1e-9);
        CHECK_NEAR(hist[30].lr, 0.005, 1e-9);
        CHECK_NEAR(hist[99].lr, 0.00125, 1e-9);
        CHECK(hist[0].val_acc != hist[0].val_acc); /* NaN without a validation set */
        printf("  iris (multi-class hinge, RMSprop, step schedule): accuracy %.1f%%\n", 100 * acc);
        nn_model_free(&m);
        nn_dataset_free(&all);
    }

    /* MSE regression and BCE multi-label on synthetic data */
    {
        static float x[256 * 3], t[256 * 2];
        uint64_t s = 5;
        int i;
        nn_dataset d;
        for (i = 0; i < 256 * 3; i++) x[i] = (float)((s = s * 6364136223846793005ull + 1) >> 40) / 16777216.0f * 2 - 1;
        for (i = 0; i < 256; i++) { t[2 * i] = 2 * x[3 * i] - x[3 * i + 1]; t[2 * i + 1] = x[3 * i + 2] * x[3 * i]; }
        d = nn_dataset_make(x, 256, 3, NULL);
        d.targets = t; d.n_targets = 2;
        nn_model_init(&m, NULL);
        h = nn_input(&m, 3);
        h = nn_dense(&m, h, 32);
        h = nn_tanh(&m, h);
        nn_dense(&m, h, 2);
        cc = nn_compile_defaults();
        cc.loss = NN_LOSS_MSE;
        cc.optimizer = nn_adam(0.01f);
        cc.optimizer.warmup_steps = 20;
        cc.max_batch = 32;
        CHECK_OK(nn_model_compile(&m, &cc));
        fc = nn_fit_defaults(); fc.epochs = 200; fc.batch_size = 32; fc.verbose = 0;
        CHECK_OK(nn_fit(&m, &d, NULL, &fc));
        CHECK_OK(nn_evaluate(&m, &d, &loss, &acc));
        CHECK_MSG(loss < 0.01f, "mse regression loss %.4f", loss);
        CHECK(acc != acc); /* accuracy undefined for regression without labels */
        printf("  mse regression: loss %.5f\n", loss);
        nn_model_free(&m);

        for (i = 0; i < 256 * 2; i++) t[i] = t[i] > 0 ? 1.0f : 0.0f; /* two independent binary labels */
        nn_model_init(&m, NULL);
        h = nn_input(&m, 3);
        h = nn_dense(&m, h, 32);
        h = nn_relu(&m, h);
        nn_dense(&m, h, 2);
        cc.loss = NN_LOSS_BCE;
        CHECK_OK(nn_model_compile(&m, &cc));
        CHECK_OK(nn_fit(&m, &d, NULL, &fc));
        CHECK_OK(nn_evaluate(&m, &d, &loss, &acc));
        CHECK_MSG(acc > 0.95f, "bce multi-label accuracy %.3f", acc);
        printf("  bce multi-label: accuracy %.1f%%\n", 100 * acc);
        nn_model_free(&m);
    }

    /* callbacks: per batch and per epoch; returning nonzero stops after epoch 3 */
    {
        float x[10 * 2] = {0};
        int32_t y[10] = {0, 1, 0, 1, 0, 1, 0, 1, 0, 1};
        int counts[2] = {0, 0};
        nn_epoch_stats hist[2];
        nn_dataset d = nn_dataset_make(x, 10, 2, y);
        nn_model_init(&m, NULL);
        h = nn_input(&m, 2);
        nn_dense(&m, h, 2);
        cc = nn_compile_defaults();
        cc.max_batch = 4;
        CHECK_OK(nn_model_compile(&m, &cc));
        fc = nn_fit_defaults(); fc.epochs = 10; fc.batch_size = 4; fc.verbose = 0;
        fc.callback = stop_at_epoch; fc.user = counts;
        fc.history = hist; fc.history_cap = 2; /* shorter than the run: the rest is not written */
        CHECK_OK(nn_fit(&m, &d, NULL, &fc));
        CHECK(fc.epochs_run == 3 && m.epoch == 3);
        CHECK(counts[0] == 9 && counts[1] == 3); /* 3 batches (4+4+2) per epoch */
        CHECK(m.step == 9);
        CHECK(hist[0].epoch == 1 && hist[1].epoch == 2);
        nn_model_free(&m);
    }

    /* fit without shuffling reads batches in place: the same bits as nn_train_step in order */
    {
        static float x[37 * 5];
        int32_t y[37];
        nn_model a, b;
        nn_dataset d;
        float *w;
        int i, e;
        for (i = 0; i < 37 * 5; i++) x[i] = (float)((i * 7919) % 101) / 50.0f - 1.0f;
        for (i = 0; i < 37; i++) y[i] = i % 3;
        d = nn_dataset_make(x, 37, 5, y);
        for (i = 0; i < 2; i++) {
            nn_model *mm = i ? &b : &a;
            nn_model_init(mm, NULL);
            h = nn_input(mm, 5);
            h = nn_relu(mm, nn_dense(mm, h, 7));
            nn_dense(mm, h, 3);
            cc = nn_compile_defaults();
            cc.optimizer = nn_sgd(0.1f, 0.9f, 0);
            cc.max_batch = 8;
            CHECK_OK(nn_model_compile(mm, &cc));
        }
        fc = nn_fit_defaults(); fc.epochs = 3; fc.batch_size = 8; fc.shuffle = 0; fc.verbose = 0;
        CHECK_OK(nn_fit(&a, &d, NULL, &fc));
        for (e = 0; e < 3; e++)
            for (i = 0; i < 37; i += 8)
                CHECK_OK(nn_train_step(&b, x + i * 5, y + i, NULL, 37 - i < 8 ? 37 - i : 8, 0.1f, NULL));
        w = b.params;
        CHECK_MSG(memcmp(a.params, w, sizeof(float) * (size_t)a.n_params) == 0, "fit(shuffle=0) != train_step loop");
        CHECK(a.step == b.step && a.step == 15);
        nn_model_free(&a);
        nn_model_free(&b);
    }

    /* determinism: same seed => identical weights, also across thread counts */
    {
        nn_dataset all;
        float *a, *b, *c, *e;
        int64_t np;
        int i;
        CHECK_OK(nn_csv_load(DATA_DIR "digits.csv", -1, &all));
        for (i = 0; i < all.n * all.features; i++) ((float *)all.owned)[i] /= 16.0f;
        a = train_digits(&all, 11, 1, &np);
        b = train_digits(&all, 11, 1, &np);
        c = train_digits(&all, 11, 2, &np);
        e = train_digits(&all, 12, 2, &np);
        CHECK_MSG(memcmp(a, b, sizeof(float) * (size_t)np) == 0, "two runs, same seed, 1 thread: weights differ");
        CHECK_MSG(memcmp(a, c, sizeof(float) * (size_t)np) == 0, "1 thread vs %d threads: weights differ", nn_get_threads());
        CHECK(memcmp(a, e, sizeof(float) * (size_t)np) != 0); /* and the seed matters */
        printf("  determinism: %lld weights bit-identical over 2 runs and 1 vs %d threads\n", (long long)np, nn_get_threads());
        free(a); free(b); free(c); free(e);
        nn_dataset_free(&all);
    }
    fused_dense_relu();
    return t_summary("test_train");
}
