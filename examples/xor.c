/* cc -std=c99 -O2 examples/xor.c -lm -o xor && ./xor
   XOR, the smallest problem a linear model cannot solve: a 2-8-2 MLP learns it. */
#define NN_IMPLEMENTATION
#include "../nn.h"
#include <stdio.h>

int main(void) {
    float x[8] = {0, 0, 0, 1, 1, 0, 1, 1};
    int32_t y[4] = {0, 1, 1, 0};
    nn_model m;
    nn_compile_config cc;
    nn_fit_config fc;
    nn_dataset d;
    float out[8], acc;
    int h, i;

    nn_model_init(&m, NULL);
    h = nn_input(&m, 2);
    h = nn_dense(&m, h, 8);
    h = nn_tanh(&m, h);
    nn_dense(&m, h, 2); /* logits for 2 classes */
    cc = nn_compile_defaults();
    cc.loss = NN_LOSS_XENT;
    cc.optimizer = nn_adam(0.05f);
    cc.max_batch = 4;
    if (nn_model_compile(&m, &cc) != NN_OK) { fprintf(stderr, "%s\n", nn_error()); return 1; }

    d = nn_dataset_make(x, 4, 2, y);
    fc = nn_fit_defaults();
    fc.epochs = 300;
    fc.batch_size = 4;
    fc.verbose = 0;
    if (nn_fit(&m, &d, NULL, &fc) != NN_OK) { fprintf(stderr, "%s\n", nn_error()); return 1; }

    nn_predict(&m, x, 4, out);
    for (i = 0; i < 4; i++)
        printf("%g xor %g -> %d\n", x[2 * i], x[2 * i + 1], (int)nn_argmax(out + 2 * i, 2));
    nn_evaluate(&m, &d, NULL, &acc);
    printf("accuracy %.0f%%\n", 100 * acc);
    nn_model_free(&m);
    return acc == 1.0f ? 0 : 1;
}
