/* nn_cuda.h against the CPU backend. Built two ways from this one file:
   - by nvcc (-x cu), test_cuda: a real GPU; without one it checks the CPU fallback and says
     that the GPU checks were skipped;
   - by cc with tests/cuda_emu.h, test_cuda_emu: the same checks on the CPU, where the CUDA
     runtime and cuBLAS are host stand-ins (every kernel's arithmetic and indexing, the arena
     mirror, the data path and cuBLAS's argument order are real; streams are synchronous).
   Each layer type is compared, forward and backward, on odd shapes with batch 3; then the
   optimizers, training runs (resident and streamed data), files across the two backends,
   determinism, and (emulated only) injected device failures. */
#ifndef __CUDACC__
#include "cuda_emu.h"
#define T_NAME "test_cuda_emu"
#else
#define T_NAME "test_cuda"
#endif
#define NN_IMPLEMENTATION
#define NN_CUDA_IMPLEMENTATION
#include "../nn.h"
#include "../nn_cuda.h"
#include "test.h"

#ifndef DATA_DIR
#define DATA_DIR "data/"
#endif

/* GPU sums run in other orders (cuBLAS, per-plane reductions): relative tolerance */
#define T_TOL 2e-4

typedef void (*t_build)(nn_model *m);

static float t_maxrel(const float *a, const float *b, int64_t n) {
    float worst = 0.0f;
    int64_t i;
    for (i = 0; i < n; i++) {
        const float d = fabsf(a[i] - b[i]) / (1.0f + fabsf(b[i]));
        if (!(d <= worst)) worst = d; /* NaN sticks */
    }
    return worst;
}

static void t_fill(float *x, int64_t n, uint64_t seed) {
    int64_t i;
    for (i = 0; i < n; i++) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        x[i] = (float)((double)(seed >> 40) / 16777216.0 * 2.0 - 1.0);
    }
}

/* the host arena of a GPU model is only a staging area: fill it with NaN so that a read of
   state that was not brought back shows */
static void t_poison(nn_model *m) { memset(m->mem, 0xff, m->mem_bytes); }

static nn_result t_compile(nn_model *m, t_build build, nn_loss loss, nn_optimizer opt, int64_t max_batch) {
    nn_compile_config cc = nn_compile_defaults();
    nn_model_init(m, NULL);
    build(m);
    cc.loss = loss;
    cc.optimizer = opt;
    cc.max_batch = max_batch;
    cc.seed = 7;
    return nn_model_compile(m, &cc);
}

/* one forward + backward on both backends; every layer's output and gradient, the loss, the
   parameter gradients and the batchnorm buffers must agree */
static void t_layer_check(const char *name, t_build build, nn_loss loss, int dropout_training) {
    nn_model cpu, gpu;
    const int64_t B = 3;
    float x[3 * 400], tg[3 * 64], lc = 0.0f, lg = 0.0f;
    int32_t lab[3];
    int64_t in, C, i;
    int l, ok = 1;
    CHECK_OK(t_compile(&cpu, build, loss, nn_adam(1e-3f), 4));
    CHECK_OK(t_compile(&gpu, build, loss, nn_adam(1e-3f), 4));
    CHECK_OK(nn_cuda_attach(&gpu, NULL));
    CHECK(nn_cuda_active(&gpu));
    t_poison(&gpu);
    in = nn_model_input_size(&cpu);
    C = nn_model_output_size(&cpu);
    t_fill(x, B * in, 11);
    for (i = 0; i < B; i++) lab[i] = (int32_t)((i * 7 + 1) % C);
    for (i = 0; i < B * C; i++) tg[i] = (loss == NN_LOSS_XENT || loss == NN_LOSS_BCE) ? (float)(lab[i / C] == i % C) : x[i] * 0.5f;
    (void)dropout_training;
    CHECK_OK(nn_model_backward(&cpu, x, lab, loss == NN_LOSS_MSE || loss == NN_LOSS_BCE ? tg : NULL, B, &lc));
    CHECK_OK(nn_model_backward(&gpu, x, lab, loss == NN_LOSS_MSE || loss == NN_LOSS_BCE ? tg : NULL, B, &lg));
    CHECK_OK(nn_model_sync(&gpu, 0));
    CHECK_MSG(fabsf(lc - lg) <= T_TOL * (1.0f + fabsf(lc)), "%s: loss cpu %.7g gpu %.7g", name, (double)lc, (double)lg);
    for (l = 1; l < cpu.n_layers; l++) {
        const nn_layer *a = &cpu.layers[l], *b = &gpu.layers[l];
        const float ey = t_maxrel(b->y, a->y, B * a->size);
        const float edy = a->dy ? t_maxrel(b->dy, a->dy, B * a->size) : 0.0f;
        if (!(ey <= T_TOL && edy <= T_TOL)) {
            ok = 0;
            fprintf(stderr, "%s: layer %d (%s): output rel. error %g, gradient %g\n", name, l, nn__layer_name(a->type),
                    (double)ey, (double)edy);
        }
    }
    CHECK_MSG(ok, "%s: layer outputs / gradients differ", name);
    CHECK_MSG(t_maxrel(gpu.grads, cpu.grads, cpu.n_train) <= T_TOL, "%s: parameter gradients differ by %g", name,
              (double)t_maxrel(gpu.grads, cpu.grads, cpu.n_train));
    CHECK_MSG(t_maxrel(gpu.buffers, cpu.buffers, cpu.n_buffers) <= T_TOL, "%s: buffers differ", name);
    nn_model_free(&cpu);
    nn_model_free(&gpu);
}

static void b_mlp(nn_model *m) {
    int h = nn_input(m, 13);
    h = nn_relu(m, nn_dense(m, h, 7));
    nn_dense(m, h, 5);
}
static void b_acts(nn_model *m) {
    int h = nn_input(m, 9);
    h = nn_leaky_relu(m, nn_dense_ex(m, h, 11, 0, NN_INIT_GLOROT_UNIFORM), 0.1f);
    h = nn_sigmoid(m, nn_dense(m, h, 6));
    h = nn_tanh(m, nn_dense(m, h, 6));
    h = nn_gelu(m, nn_dense(m, h, 5));
    nn_dense(m, h, 3);
}
static void b_softmax(nn_model *m) { nn_softmax(m, nn_dense(m, nn_input(m, 6), 4)); }
static void b_skip(nn_model *m) {
    const int x = nn_input(m, 8);
    const int a = nn_tanh(m, nn_dense(m, x, 6)), b = nn_dense(m, x, 6);
    nn_dense(m, nn_concat(m, nn_add(m, a, b), a), 3);
}
static void b_dropout(nn_model *m) { nn_dense(m, nn_dropout(m, nn_relu(m, nn_dense(m, nn_input(m, 10), 33)), 0.3f), 4); }
static void b_conv(nn_model *m) {
    nn_conv2d_desc d;
    int h = nn_input_image(m, 3, 9, 7);
    memset(&d, 0, sizeof d);
    d.OC = 4; d.KH = d.KW = 3; d.SH = d.SW = 1; d.PH = d.PW = 2; d.DH = d.DW = 2; d.G = 1;
    h = nn_relu(m, nn_conv2d_ex(m, h, &d, 1, NN_INIT_GLOROT_UNIFORM));
    d.OC = 6; d.KH = 2; d.KW = 3; d.SH = 2; d.SW = 1; d.PH = 0; d.PW = 1; d.DH = d.DW = 1; d.G = 2;
    h = nn_conv2d_ex(m, h, &d, 0, NN_INIT_GLOROT_UNIFORM);
    d.OC = 6; d.KH = d.KW = 3; d.SH = d.SW = 1; d.PH = d.PW = 1; d.G = 6; /* depthwise */
    h = nn_conv2d_ex(m, h, &d, 1, NN_INIT_GLOROT_UNIFORM);
    nn_dense(m, nn_flatten(m, h), 4);
}
static void b_pool(nn_model *m) {
    int h = nn_conv2d(m, nn_input_image(m, 2, 11, 9), 2, 1, 1, 0); /* so that the pools' input gradients are needed */
    const int a = nn_maxpool2d(m, h, 3, 2, 1), b = nn_avgpool2d(m, h, 3, 2, 1);
    h = nn_concat(m, a, b);
    h = nn_maxpool2d(m, h, 2, 2, 0);
    nn_dense(m, nn_global_avgpool(m, h), 3);
}
static void b_relu_pool(nn_model *m) { /* conv, ReLU, 2x2 max pooling: fused on the CPU */
    nn_dense(m, nn_flatten(m, nn_maxpool2d(m, nn_relu(m, nn_conv2d(m, nn_input_image(m, 1, 8, 8), 4, 3, 1, 1)), 2, 2, 0)), 3);
}
static void b_seq(nn_model *m) { nn_dense(m, nn_layernorm(m, nn_embedding(m, nn_input_seq(m, 5, 0), 7, 6), 1e-5f), 7); }
static void b_bn(nn_model *m) {
    int h = nn_input_image(m, 2, 5, 5);
    h = nn_relu(m, nn_batchnorm(m, nn_conv2d(m, h, 3, 3, 1, 1), 0.1f, 1e-5f));
    h = nn_batchnorm(m, nn_dense(m, nn_flatten(m, h), 7), 0.2f, 1e-3f);
    nn_dense(m, h, 3);
}
static void b_wide(nn_model *m) { nn_dense(m, nn_relu(m, nn_dense(m, nn_input(m, 37), 9)), 4); }

static void test_layers(void) {
    t_layer_check("mlp xent", b_mlp, NN_LOSS_XENT, 0);
    t_layer_check("activations mse", b_acts, NN_LOSS_MSE, 0);
    t_layer_check("softmax mse", b_softmax, NN_LOSS_MSE, 0);
    t_layer_check("add concat", b_skip, NN_LOSS_XENT, 0);
    t_layer_check("dropout", b_dropout, NN_LOSS_XENT, 1);
    t_layer_check("conv groups dilation", b_conv, NN_LOSS_XENT, 0);
    t_layer_check("pooling", b_pool, NN_LOSS_XENT, 0);
    t_layer_check("batchnorm", b_bn, NN_LOSS_XENT, 0);
    t_layer_check("bce", b_wide, NN_LOSS_BCE, 0);
    t_layer_check("hinge", b_wide, NN_LOSS_HINGE, 0);
}

/* a few steps of each optimizer: parameters and state agree */
static void test_optimizers(void) {
    nn_optimizer opts[6];
    const char *names[6] = {"sgd", "sgd nesterov wd", "adam wd", "adamw", "rmsprop momentum", "adam clipped"};
    int k;
    opts[0] = nn_sgd(0.1f, 0.0f, 0);
    opts[1] = nn_sgd(0.05f, 0.9f, 1); opts[1].weight_decay = 1e-2f;
    opts[2] = nn_adam(1e-2f); opts[2].weight_decay = 1e-3f;
    opts[3] = nn_adamw(1e-2f, 0.1f);
    opts[4] = nn_rmsprop(1e-3f); opts[4].momentum = 0.5f;
    opts[5] = nn_adam(1e-2f); opts[5].clip_norm = 0.05f;
    for (k = 0; k < 6; k++) {
        nn_model cpu, gpu;
        float x[5 * 13];
        int32_t lab[5] = {0, 4, 2, 1, 3};
        int s;
        CHECK_OK(t_compile(&cpu, b_mlp, NN_LOSS_XENT, opts[k], 5));
        CHECK_OK(t_compile(&gpu, b_mlp, NN_LOSS_XENT, opts[k], 5));
        CHECK_OK(nn_cuda_attach(&gpu, NULL));
        t_poison(&gpu);
        for (s = 0; s < 4; s++) {
            t_fill(x, 5 * 13, 100 + (uint64_t)s);
            CHECK_OK(nn_train_step(&cpu, x, lab, NULL, 5, opts[k].lr, NULL));
            CHECK_OK(nn_train_step(&gpu, x, lab, NULL, 5, opts[k].lr, NULL));
        }
        CHECK_OK(nn_model_sync(&gpu, 0));
        CHECK_MSG(t_maxrel(gpu.params, cpu.params, cpu.n_params) <= T_TOL, "%s: parameters differ by %g", names[k],
                  (double)t_maxrel(gpu.params, cpu.params, cpu.n_params));
        CHECK_MSG(t_maxrel(gpu.opt1, cpu.opt1, cpu.n_train) <= T_TOL, "%s: optimizer state differs", names[k]);
        nn_model_free(&cpu);
        nn_model_free(&gpu);
    }
}

static void b_digits_mlp(nn_model *m) { nn_dense(m, nn_relu(m, nn_dense(m, nn_input(m, 64), 32)), 10); }
static void b_digits_cnn(nn_model *m) {
    static const int64_t shape[3] = {1, 8, 8};
    int h = nn_reshape(m, nn_input(m, 64), 3, shape);
    h = nn_maxpool2d(m, nn_relu(m, nn_conv2d(m, h, 8, 3, 1, 1)), 2, 2, 0);
    nn_dense(m, nn_dropout(m, nn_flatten(m, h), 0.1f), 10);
}

/* train on digits; returns the final parameters (malloc'd) and the history's last epoch */
static float *t_fit(t_build build, const nn_dataset *tr, const nn_dataset *va, int on_gpu, size_t resident_max,
                    nn_epoch_stats *last, int poison) {
    nn_model m;
    nn_fit_config fc = nn_fit_defaults();
    nn_epoch_stats hist[3];
    float *w;
    CHECK_OK(t_compile(&m, build, NN_LOSS_XENT, nn_adam(3e-3f), 32));
    if (on_gpu) {
        nn_cuda_config cc = nn_cuda_defaults();
        cc.resident_max = resident_max;
        CHECK_OK(nn_cuda_attach(&m, &cc));
        if (poison) t_poison(&m);
    }
    fc.epochs = 3;
    fc.batch_size = 32;
    fc.verbose = 0;
    fc.history = hist;
    fc.history_cap = 3;
    CHECK_OK(nn_fit(&m, tr, va, &fc));
    *last = hist[2];
    CHECK_OK(nn_model_sync(&m, 0));
    w = (float *)malloc(sizeof(float) * (size_t)m.n_params);
    memcpy(w, m.params, sizeof(float) * (size_t)m.n_params);
    nn_model_free(&m);
    return w;
}

static void test_fit(const nn_dataset *tr, const nn_dataset *va) {
    t_build builds[2];
    const char *names[2] = {"mlp", "cnn"};
    int k;
    builds[0] = b_digits_mlp;
    builds[1] = b_digits_cnn;
    for (k = 0; k < 2; k++) {
        nn_epoch_stats sc, sg, ss, sg2;
        float *wc = t_fit(builds[k], tr, va, 0, 0, &sc, 0);
        float *wg = t_fit(builds[k], tr, va, 1, 0, &sg, 1);         /* resident data */
        float *ws = t_fit(builds[k], tr, va, 1, 1, &ss, 1);         /* streamed batch by batch */
        float *wg2 = t_fit(builds[k], tr, va, 1, 0, &sg2, 0);
        nn_model probe;
        CHECK_OK(t_compile(&probe, builds[k], NN_LOSS_XENT, nn_adam(3e-3f), 32));
        CHECK_MSG(fabsf(sc.val_acc - sg.val_acc) <= 0.02f && sg.val_acc > 0.75f, "%s: val acc cpu %.4f gpu %.4f", names[k],
                  (double)sc.val_acc, (double)sg.val_acc);
        CHECK_MSG(fabsf(sc.loss - sg.loss) <= 0.02f * sc.loss, "%s: train loss cpu %.5f gpu %.5f", names[k],
                  (double)sc.loss, (double)sg.loss);
        /* the same device ops on the same rows: resident and streamed data are bit-identical, and
           so are two runs */
        CHECK_MSG(memcmp(wg, ws, sizeof(float) * (size_t)probe.n_params) == 0, "%s: streamed != resident", names[k]);
        CHECK_MSG(memcmp(wg, wg2, sizeof(float) * (size_t)probe.n_params) == 0, "%s: two GPU runs differ", names[k]);
        CHECK(sg.loss == ss.loss && sg.val_acc == ss.val_acc);
        nn_model_free(&probe);
        free(wc); free(wg); free(ws); free(wg2);
    }
}

/* a model trained on the GPU saves a file the CPU loads, and the reverse */
static void test_files(const nn_dataset *tr) {
    nn_model gpu, cpu, back;
    nn_fit_config fc = nn_fit_defaults();
    nn_load_config lc = nn_load_defaults();
    float pg[20 * 10], pc[20 * 10], pb[20 * 10], og[20 * 10];
    nn_qmodel qg, qc;
    size_t size = 0, size2 = 0;
    unsigned char *file, *file2;
    CHECK_OK(t_compile(&gpu, b_digits_mlp, NN_LOSS_XENT, nn_adam(3e-3f), 32));
    CHECK_OK(nn_cuda_attach(&gpu, NULL));
    t_poison(&gpu);
    fc.epochs = 1; fc.batch_size = 32; fc.verbose = 0;
    CHECK_OK(nn_fit(&gpu, tr, NULL, &fc));
    CHECK_OK(nn_predict(&gpu, tr->x, 20, pg));
    CHECK_OK(nn_quantize(&gpu, tr->x, 64, NULL, &qg)); /* before anything else brings the weights back */
    CHECK_OK(nn_save_mem(&gpu, 1, NULL, 0, &size));
    file = (unsigned char *)malloc(size);
    CHECK_OK(nn_save_mem(&gpu, 1, file, size, &size));
    CHECK_OK(nn_load_mem(&cpu, file, size, &lc));
    CHECK(!nn_cuda_active(&cpu));
    CHECK_OK(nn_predict(&cpu, tr->x, 20, pc));
    CHECK_MSG(t_maxrel(pc, pg, 200) <= T_TOL, "GPU-saved model on the CPU: outputs differ by %g", (double)t_maxrel(pc, pg, 200));
    {   /* int8 from the GPU model equals int8 from its CPU copy */
        float oc[20 * 10];
        CHECK_OK(nn_quantize(&cpu, tr->x, 64, NULL, &qc));
        CHECK_OK(nn_qpredict(&qg, tr->x, 20, og));
        CHECK_OK(nn_qpredict(&qc, tr->x, 20, oc));
        CHECK_MSG(t_maxrel(og, oc, 200) <= 0.05f, "int8 from the GPU model differs by %g", (double)t_maxrel(og, oc, 200));
        nn_qmodel_free(&qg);
        nn_qmodel_free(&qc);
    }
    /* the CPU copy re-saves the same bytes (weights, optimizer state, position) */
    CHECK_OK(nn_save_mem(&cpu, 1, NULL, 0, &size2));
    file2 = (unsigned char *)malloc(size2);
    CHECK_OK(nn_save_mem(&cpu, 1, file2, size2, &size2));
    CHECK(size == size2 && memcmp(file, file2, size) == 0);
    /* and back to a GPU: a loaded checkpoint continues there */
    CHECK_OK(nn_load_mem(&back, file2, size2, &lc));
    CHECK_OK(nn_cuda_attach(&back, NULL));
    CHECK_OK(nn_predict(&back, tr->x, 20, pb));
    CHECK_MSG(t_maxrel(pb, pc, 200) <= T_TOL, "CPU-loaded model on the GPU: outputs differ");
    CHECK_OK(nn_fit(&back, tr, NULL, &fc));
    CHECK_OK(nn_fit(&cpu, tr, NULL, &fc));
    CHECK_OK(nn_predict(&back, tr->x, 20, pb));
    CHECK_OK(nn_predict(&cpu, tr->x, 20, pc));
    CHECK_MSG(t_maxrel(pb, pc, 200) <= 10 * T_TOL, "a resumed epoch: GPU and CPU differ by %g", (double)t_maxrel(pb, pc, 200));
    /* detach: the state comes home and the CPU carries on */
    CHECK_OK(nn_cuda_detach(&back));
    CHECK(!nn_cuda_active(&back));
    CHECK_OK(nn_predict(&back, tr->x, 20, pc));
    CHECK(memcmp(pb, pc, sizeof pb) == 0 || t_maxrel(pb, pc, 200) <= T_TOL);
    free(file); free(file2);
    nn_model_free(&gpu);
    nn_model_free(&cpu);
    nn_model_free(&back);
}

/* The tables: every layer type has a CUDA row; the attached backend (built from a zeroed table)
   has every entry a step calls and the device entries, and none of the CPU's fused-pooling ones
   (so nn.h plans no fused pooling steps on it); a backend that lacks an entry a layer needs is
   refused, naming both. Walks nn.h's layer table and nn_cuda.h's rows. */
static void test_tables(void) {
    nn_model m;
    nn_backend be;
    int t;
    for (t = 0; t < NN_LAYER_COUNT; t++) {
        CHECK_MSG(nn__cu_layers[t].runs || t >= NN_LAYER_EMBEDDING, "layer type %d (%s) does not run on CUDA", t,
                  nn__layer_name(t));
        CHECK_MSG(nn__ops(t)->name && nn__ops(t)->infer, "layer type %d: no name or shape inference", t);
        CHECK_MSG(t == NN_LAYER_INPUT || nn__ops(t)->forward, "layer type %d (%s): no forward", t, nn__layer_name(t));
        CHECK_MSG(nn__ops(t)->get_arch != NULL, "layer type %d (%s): no file line reader", t, nn__layer_name(t));
    }
    CHECK_OK(t_compile(&m, b_relu_pool, NN_LOSS_XENT, nn_adam(1e-3f), 4));
    CHECK(m.layers[3].pool_rec != NULL && m.layers[1].pool_bwd == 3); /* (the CPU fuses the three) */
    CHECK_OK(nn_cuda_attach(&m, NULL));
    {
        const nn_backend *c = m.backend;
        CHECK(c->gemm && c->conv2d_forward && c->conv2d_backward && c->pool2d_forward && c->pool2d_backward &&
              c->batchnorm_forward && c->batchnorm_backward && c->act_forward && c->act_backward && c->softmax_forward &&
              c->softmax_backward && c->dropout && c->copy2d && c->zero && c->sum_rows && c->loss && c->optimizer_step);
        CHECK(c->sync && c->data_begin && c->data_rows && c->data_end && c->status && c->release);
        CHECK(!c->maxpool2x2_relu_forward && !c->maxpool2x2_relu_backward && !c->conv2d_backward_pooled &&
              !c->conv2d_maxpool2x2_relu_forward);
        CHECK(nn__backend_lacks(c, ~0u, 1) == NULL);
    }
    for (t = 1; t < m.n_layers; t++) CHECK(!m.layers[t].pool_rec && !m.layers[t].pool_fwd && !m.layers[t].pool_bwd);
    CHECK_OK(nn_cuda_detach(&m));
    CHECK(m.layers[3].pool_rec != NULL && m.layers[1].pool_bwd == 3);
    be = *nn_backend_cpu();
    be.softmax_backward = NULL;
    CHECK_OK(nn__check_backend(&m, &be, "test")); /* (no softmax here) */
    be.pool2d_backward = NULL;
    CHECK_ERR(nn__check_backend(&m, &be, "test"), NN_ERR_UNSUPPORTED, "pool2d_backward");
    CHECK(strstr(nn_error(), "(pool2d)") != NULL);
    nn_model_free(&m);
    /* the sequence layers have no CUDA rows yet: refused, the model stays on the CPU */
    CHECK_OK(t_compile(&m, b_seq, NN_LOSS_XENT, nn_adam(1e-3f), 4));
    CHECK_ERR(nn_cuda_attach(&m, NULL), NN_ERR_UNSUPPORTED, "layer 1 (embedding) has no CUDA implementation");
    CHECK(!nn_cuda_active(&m) && strcmp(m.backend->name, "cpu") == 0);
    nn_model_free(&m);
}

/* no GPU: attach says so, the model is untouched and trains on the CPU */
static void test_fallback(const nn_dataset *tr) {
    nn_model m;
    nn_fit_config fc = nn_fit_defaults();
    float acc = 0.0f;
    CHECK_OK(t_compile(&m, b_digits_mlp, NN_LOSS_XENT, nn_adam(3e-3f), 32));
    CHECK_ERR(nn_cuda_attach(&m, NULL), NN_ERR_UNSUPPORTED, "no CUDA device");
    CHECK(!nn_cuda_active(&m));
    CHECK(strcmp(m.backend->name, "cpu") == 0);
    fc.epochs = 2; fc.batch_size = 32; fc.verbose = 0;
    CHECK_OK(nn_fit(&m, tr, NULL, &fc));
    CHECK_OK(nn_evaluate(&m, tr, NULL, &acc));
    CHECK(acc > 0.85f);
    nn_model_free(&m);
}

#ifdef NN_CUDA_EMULATED
/* failures a GPU can produce, injected */
static void test_failures(const nn_dataset *tr) {
    nn_model m;
    nn_fit_config fc = nn_fit_defaults();
    nn_load_config lc = nn_load_defaults();
    size_t size = 0;
    unsigned char *file;
    float acc = 0.0f;
    int k;
    fc.epochs = 1; fc.batch_size = 32; fc.verbose = 0;
    /* every allocation of attach failing in turn: a clear error, nothing leaked, CPU still works */
    for (k = 1; k <= 5; k++) { /* device arena, workspace, reductions, two batch buffers */
        CHECK_OK(t_compile(&m, b_digits_cnn, NN_LOSS_XENT, nn_adam(3e-3f), 32));
        nn_emu_fail_malloc = k;
        CHECK_ERR(nn_cuda_attach(&m, NULL), NN_ERR_DEVICE, "cudaMalloc");
        CHECK(strstr(nn_error(), "stays on the CPU") != NULL);
        nn_emu_fail_malloc = 0;
        CHECK(nn__emu_live == 0);
        CHECK(!nn_cuda_active(&m));
        CHECK_OK(nn_fit(&m, tr, NULL, &fc));
        nn_model_free(&m);
    }
    /* a kernel failing in the middle of fit: nn_fit stops with the call named */
    CHECK_OK(t_compile(&m, b_digits_cnn, NN_LOSS_XENT, nn_adam(3e-3f), 32));
    CHECK_OK(nn_cuda_attach(&m, NULL));
    nn_emu_fail_launch = 40;
    CHECK_ERR(nn_fit(&m, tr, NULL, &fc), NN_ERR_DEVICE, "unspecified launch failure");
    CHECK(strstr(nn_error(), "cudaGetLastError") != NULL);
    CHECK_ERR(nn_evaluate(&m, tr, NULL, &acc), NN_ERR_DEVICE, "launch failure"); /* sticky */
    nn_model_free(&m);
    CHECK(nn__emu_live == 0);
    nn_emu_fail_launch = 0;
    /* a model reading its weights in place from a buffer cannot move */
    CHECK_OK(t_compile(&m, b_digits_mlp, NN_LOSS_XENT, nn_adam(3e-3f), 32));
    CHECK_OK(nn_save_mem(&m, 0, NULL, 0, &size));
    file = (unsigned char *)malloc(size);
    CHECK_OK(nn_save_mem(&m, 0, file, size, &size));
    nn_model_free(&m);
    lc.borrow = 1;
    lc.inference_only = 1;
    CHECK_OK(nn_load_mem(&m, file, size, &lc));
    CHECK_ERR(nn_cuda_attach(&m, NULL), NN_ERR_UNSUPPORTED, "borrow");
    nn_model_free(&m);
    free(file);
    /* no driver */
    nn_emu_devices = 0;
    CHECK(nn_cuda_device_count() == 0);
    CHECK(strstr(nn_error(), "CUDA driver version is insufficient") != NULL);
    test_fallback(tr);
    nn_emu_devices = 1;
}
#endif

int main(void) {
    nn_dataset all, tr, va;
    if (nn_csv_load(DATA_DIR "digits.csv", -1, &all) != NN_OK) {
        fprintf(stderr, "%s: %s\n", T_NAME, nn_error());
        return 1;
    }
    {   /* pixels 0..16 -> 0..1 */
        int64_t i;
        float *x = (float *)(uintptr_t)all.x;
        for (i = 0; i < all.n * all.features; i++) x[i] /= 16.0f;
    }
    tr = nn_dataset_slice(&all, 0, 1400);
    va = nn_dataset_slice(&all, 1400, all.n - 1400);
    if (nn_cuda_device_count() < 1) {
        /* a machine without a GPU: the CPU path is what runs; say so */
        printf("%s: skipped the GPU checks: %s\n", T_NAME, nn_error());
        test_fallback(&tr);
    } else {
        test_tables();
        test_layers();
        test_optimizers();
        test_fit(&tr, &va);
        test_files(&tr);
#ifdef NN_CUDA_EMULATED
        test_failures(&tr);
        CHECK(nn__emu_live == 0);
#endif
    }
    nn_dataset_free(&all);
    return t_summary(T_NAME);
}
