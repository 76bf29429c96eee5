/* The two networks of the PyTorch interop check (tools/interop.py defines the same ones as
   nn.Sequential, so nn.h layer i holds the weights PyTorch names "<i-1>.weight"). */
#ifndef NN_INTEROP_MODELS_H
#define NN_INTEROP_MODELS_H
#if defined(__GNUC__) || defined(__clang__)
#define NN_TEST_UNUSED __attribute__((unused))
#else
#define NN_TEST_UNUSED
#endif

NN_TEST_UNUSED static void interop_mlp(nn_model *m) {
    int h;
    nn_model_init(m, NULL);
    h = nn_input(m, 64);
    h = nn_relu(m, nn_dense(m, h, 32));
    h = nn_relu(m, nn_dense(m, h, 16));
    nn_dense(m, h, 10);
}

/* sequence models: a one-block GPT with a tied head, and an LSTM language model (6 ids in) */
NN_TEST_UNUSED static void interop_gpt(nn_model *m) {
    int e, h;
    nn_model_init(m, NULL);
    e = nn_embedding(m, nn_input_seq(m, 6, 0), 11, 8);
    h = nn_pos_embedding(m, e, 0.1f);
    h = nn_add(m, h, nn_attention(m, nn_layernorm(m, h, 1e-5f), 2));
    h = nn_add(m, h, nn_dense(m, nn_gelu(m, nn_dense(m, nn_layernorm(m, h, 1e-5f), 16)), 8));
    nn_dense_tied(m, nn_layernorm(m, h, 1e-5f), e);
}
NN_TEST_UNUSED static void interop_lstm(nn_model *m) {
    nn_model_init(m, NULL);
    nn_dense(m, nn_lstm(m, nn_embedding(m, nn_input_seq(m, 6, 0), 11, 6), 8, 1), 11);
}

NN_TEST_UNUSED static void interop_cnn(nn_model *m) {
    int h;
    nn_model_init(m, NULL);
    h = nn_input_image(m, 1, 8, 8);
    h = nn_conv2d(m, h, 4, 3, 1, 1);
    h = nn_batchnorm(m, h, 0.1f, 1e-5f);
    h = nn_maxpool2d(m, nn_relu(m, h), 2, 2, 0);
    h = nn_relu(m, nn_conv2d(m, h, 6, 3, 1, 1));
    nn_dense(m, nn_flatten(m, h), 10);
}
#endif
