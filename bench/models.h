/* The benchmark networks, built identically by bench/train and bench/infer (and defined the
   same way in bench/torch_ref.py). Returns the output layer index. */
#ifndef NN_BENCH_MODELS_H
#define NN_BENCH_MODELS_H
static int build_net(nn_model *m, const char *name) {
    int h;
    if (!strcmp(name, "mlp-784-128-10")) {
        h = nn_input(m, 784);
        h = nn_relu(m, nn_dense(m, h, 128));
        return nn_dense(m, h, 10);
    }
    if (!strcmp(name, "mlp-784-256-128-10")) {
        h = nn_input(m, 784);
        h = nn_relu(m, nn_dense(m, h, 256));
        h = nn_relu(m, nn_dense(m, h, 128));
        return nn_dense(m, h, 10);
    }
    if (!strcmp(name, "cnn-32-64")) {
        h = nn_input_image(m, 1, 28, 28);
        h = nn_maxpool2d(m, nn_relu(m, nn_conv2d(m, h, 32, 5, 1, 2)), 2, 2, 0);
        h = nn_maxpool2d(m, nn_relu(m, nn_conv2d(m, h, 64, 5, 1, 2)), 2, 2, 0);
        h = nn_relu(m, nn_dense(m, nn_flatten(m, h), 1024));
        return nn_dense(m, h, 10);
    }
    if (!strcmp(name, "lenet5")) {
        h = nn_input_image(m, 1, 28, 28);
        h = nn_maxpool2d(m, nn_relu(m, nn_conv2d(m, h, 6, 5, 1, 2)), 2, 2, 0);
        h = nn_maxpool2d(m, nn_relu(m, nn_conv2d(m, h, 16, 5, 1, 0)), 2, 2, 0);
        h = nn_relu(m, nn_dense(m, nn_flatten(m, h), 120));
        h = nn_relu(m, nn_dense(m, h, 84));
        return nn_dense(m, h, 10);
    }
    return -1;
}
#endif
