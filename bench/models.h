/* The benchmark networks, built identically by bench/train and bench/infer (and defined the
   same way in bench/torch_ref.py), with PyTorch's default initialization so that accuracies
   compare. Returns the output layer index. */
#ifndef NN_BENCH_MODELS_H
#define NN_BENCH_MODELS_H
#define dense(m, h, n) nn_dense_ex(m, h, n, 1, NN_INIT_TORCH)
static int conv(nn_model *m, int h, int64_t oc, int64_t k, int64_t pad) {
    nn_conv2d_desc d;
    memset(&d, 0, sizeof d);
    d.OC = oc; d.KH = d.KW = k; d.SH = d.SW = 1; d.PH = d.PW = pad; d.DH = d.DW = 1; d.G = 1;
    return nn_conv2d_ex(m, h, &d, 1, NN_INIT_TORCH);
}
static int build_net(nn_model *m, const char *name) {
    int h;
    if (!strcmp(name, "mlp-784-128-10")) {
        h = nn_input(m, 784);
        h = nn_relu(m, dense(m, h, 128));
        return dense(m, h, 10);
    }
    if (!strcmp(name, "mlp-784-256-128-10")) {
        h = nn_input(m, 784);
        h = nn_relu(m, dense(m, h, 256));
        h = nn_relu(m, dense(m, h, 128));
        return dense(m, h, 10);
    }
    if (!strcmp(name, "cnn-32-64")) {
        h = nn_input_image(m, 1, 28, 28);
        h = nn_maxpool2d(m, nn_relu(m, conv(m, h, 32, 5, 2)), 2, 2, 0);
        h = nn_maxpool2d(m, nn_relu(m, conv(m, h, 64, 5, 2)), 2, 2, 0);
        h = nn_relu(m, dense(m, nn_flatten(m, h), 1024));
        return dense(m, h, 10);
    }
    if (!strcmp(name, "lenet5")) {
        h = nn_input_image(m, 1, 28, 28);
        h = nn_maxpool2d(m, nn_relu(m, conv(m, h, 6, 5, 2)), 2, 2, 0);
        h = nn_maxpool2d(m, nn_relu(m, conv(m, h, 16, 5, 0)), 2, 2, 0);
        h = nn_relu(m, dense(m, nn_flatten(m, h), 120));
        h = nn_relu(m, dense(m, h, 84));
        return dense(m, h, 10);
    }
    return -1;
}
/* the compile settings of the benchmark runs: SGD 0.1 for the small MLP, Adam 1e-3 for the rest */
static nn_compile_config bench_config(const char *net, int64_t batch) __attribute__((unused));
static nn_compile_config bench_config(const char *net, int64_t batch) {
    nn_compile_config cc = nn_compile_defaults();
    cc.optimizer = !strcmp(net, "mlp-784-128-10") ? nn_sgd(0.1f, 0.0f, 0) : nn_adam(1e-3f);
    cc.max_batch = batch;
    return cc;
}
/* nn_fit's callback for the benchmarks: the seconds of each epoch into times[] */
static double t_last, times[64];
static int n_times;
static int on_epoch(const nn_progress *p, void *user) __attribute__((unused));
static int on_epoch(const nn_progress *p, void *user) {
    (void)user;
    if (p->epoch_end) { double t = now_s(); if (n_times < 64) times[n_times++] = t - t_last; t_last = t; }
    return 0;
}
/* the fit of the benchmark runs: batch 64 in file order, silent, epochs timed by on_epoch */
static nn_fit_config bench_fit_config(int epochs) __attribute__((unused));
static nn_fit_config bench_fit_config(int epochs) {
    nn_fit_config fc = nn_fit_defaults();
    fc.epochs = epochs;
    fc.batch_size = 64;
    fc.shuffle = 0;
    fc.verbose = 0;
    fc.callback = on_epoch;
    t_last = now_s();
    return fc;
}
#endif
