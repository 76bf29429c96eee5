/* Gradient checks: every layer and every loss against central finite differences, on odd
   sizes with batch > 1. The analytic gradient of the loss with respect to every parameter
   (which, through the chain rule, also checks each layer's input gradient) must match
   (L(p+e) - L(p-e)) / 2e in relative norm (< 1e-3). */
#define NN_IMPLEMENTATION
#include "../nn.h"
#include "test.h"
#include "gradcheck.h"

static uint64_t rs = 12345;
static float frand(void) { rs = rs * 6364136223846793005ull + 1442695040888963407ull; return (float)((rs >> 40) / 16777216.0) * 2.0f - 1.0f; }

typedef struct { nn_model m; float x[5 * 12]; int32_t lab[5]; float tg[5 * 5]; } fixture;

/* input(features) ... the test adds layers ... then compile with the loss */
static void begin(fixture *f, int features, int64_t B) {
    int64_t i;
    nn_model_init(&f->m, NULL);
    nn_input(&f->m, features);
    for (i = 0; i < B * features; i++) f->x[i] = frand();
    for (i = 0; i < B; i++) f->lab[i] = (int32_t)((unsigned)(frand() * 1000 + 1000) % 5);
    for (i = 0; i < B * 5; i++) f->tg[i] = frand();
}
static void run(fixture *f, nn_loss loss, int64_t B, const char *name) {
    nn_compile_config cc = nn_compile_defaults();
    int64_t i, j;
    cc.loss = loss;
    cc.max_batch = B;
    cc.seed = 99;
    if (nn_model_compile(&f->m, &cc) != NN_OK) { CHECK_OK(NN_ERR_STATE); return; }
    /* biases start at zero: give them values so that their gradients are exercised generally */
    for (i = 0; i < f->m.n_params; i++) if (f->m.params[i] == 0.0f) f->m.params[i] = 0.1f * frand();
    if (loss == NN_LOSS_BCE) for (i = 0; i < B * 5; i++) f->tg[i] = f->tg[i] > 0 ? 1.0f : 0.0f;
    if (loss == NN_LOSS_XENT && name[0] == '1') /* one-hot targets instead of labels */
        for (i = 0; i < B; i++) for (j = 0; j < 5; j++) f->tg[i * 5 + j] = j == f->lab[i];
    t_grad_check(&f->m, f->x, (loss == NN_LOSS_XENT && name[0] == '1') ? NULL : f->lab,
                 (loss == NN_LOSS_MSE || loss == NN_LOSS_BCE || name[0] == '1') ? f->tg : NULL, B, 5e-3f, name);
    nn_model_free(&f->m);
}

int main(void) {
    static fixture f;
    static const struct { nn_act kind; float alpha; const char *name; } acts[] = {
        {NN_ACT_RELU, 0, "dense+relu"}, {NN_ACT_LEAKY_RELU, 0.1f, "dense+leaky_relu"},
        {NN_ACT_SIGMOID, 0, "dense+sigmoid"}, {NN_ACT_TANH, 0, "dense+tanh"}, {NN_ACT_GELU, 0, "dense+gelu"}};
    int h, a, b, k;

    printf("gradient checks (central differences, eps 5e-3, relative error < 1e-3)\n");
    begin(&f, 7, 3);
    h = nn_dense(&f.m, 0, 5);
    run(&f, NN_LOSS_XENT, 3, "dense (bias) + xent labels");

    begin(&f, 7, 3);
    h = nn_dense_ex(&f.m, 0, 6, 0, NN_INIT_GLOROT_NORMAL);
    h = nn_tanh(&f.m, h);
    nn_dense_ex(&f.m, h, 5, 0, NN_INIT_HE_NORMAL);
    run(&f, NN_LOSS_XENT, 3, "dense (no bias)");

    for (k = 0; k < 5; k++) {
        begin(&f, 7, 5);
        h = nn_dense(&f.m, 0, 9);
        h = nn_activation(&f.m, h, acts[k].kind, acts[k].alpha);
        nn_dense(&f.m, h, 5);
        run(&f, NN_LOSS_XENT, 5, acts[k].name);
    }

    begin(&f, 7, 3);
    h = nn_dense(&f.m, 0, 6);
    h = nn_softmax(&f.m, h);
    nn_dense(&f.m, h, 5);
    run(&f, NN_LOSS_MSE, 3, "softmax");

    begin(&f, 7, 5);
    h = nn_dense(&f.m, 0, 11);
    h = nn_dropout(&f.m, h, 0.3f);
    nn_dense(&f.m, h, 5);
    run(&f, NN_LOSS_XENT, 5, "dropout p=0.3");

    begin(&f, 7, 3); /* residual: h feeds both the branch and the add */
    h = nn_dense(&f.m, 0, 6);
    a = nn_tanh(&f.m, h);
    a = nn_dense(&f.m, a, 6);
    h = nn_add(&f.m, h, a);
    nn_dense(&f.m, h, 5);
    run(&f, NN_LOSS_XENT, 3, "add (skip connection)");

    begin(&f, 7, 3); /* h read by two layers that could each assign its gradient: they must add */
    h = nn_dense(&f.m, 0, 6);
    a = nn_relu(&f.m, h);
    b = nn_tanh(&f.m, h);
    h = nn_concat(&f.m, a, b);
    h = nn_dense(&f.m, h, 6);
    a = nn_dense(&f.m, h, 4);
    b = nn_sigmoid(&f.m, h);
    nn_dense(&f.m, nn_concat(&f.m, a, b), 5);
    run(&f, NN_LOSS_XENT, 3, "one output, two readers (activations, dense)");

    begin(&f, 7, 3);
    a = nn_dense(&f.m, 0, 4);
    a = nn_sigmoid(&f.m, a);
    b = nn_dense(&f.m, 0, 3);
    h = nn_concat(&f.m, a, b);
    nn_dense(&f.m, h, 5);
    run(&f, NN_LOSS_XENT, 3, "concat");

    nn_model_init(&f.m, NULL); /* flatten of an image input */
    {
        int i;
        for (i = 0; i < 3 * 12; i++) f.x[i] = frand();
    }
    h = nn_input_image(&f.m, 2, 3, 2);
    h = nn_flatten(&f.m, h);
    h = nn_dense(&f.m, h, 6);
    h = nn_gelu(&f.m, h);
    nn_dense(&f.m, h, 5);
    run(&f, NN_LOSS_XENT, 3, "flatten");

    /* each loss as the model's loss */
    begin(&f, 7, 3); h = nn_dense(&f.m, 0, 6); h = nn_tanh(&f.m, h); nn_dense(&f.m, h, 5);
    run(&f, NN_LOSS_MSE, 3, "loss mse");
    begin(&f, 7, 3); h = nn_dense(&f.m, 0, 6); h = nn_tanh(&f.m, h); nn_dense(&f.m, h, 5);
    run(&f, NN_LOSS_XENT, 3, "1-hot xent");
    begin(&f, 7, 3); h = nn_dense(&f.m, 0, 6); h = nn_tanh(&f.m, h); nn_dense(&f.m, h, 5);
    run(&f, NN_LOSS_BCE, 3, "loss bce");
    begin(&f, 7, 5); h = nn_dense(&f.m, 0, 6); h = nn_tanh(&f.m, h); nn_dense(&f.m, h, 5);
    run(&f, NN_LOSS_HINGE, 5, "loss hinge");

    /* the loss functions themselves, w.r.t. the logits */
    {
        static const nn_loss losses[] = {NN_LOSS_MSE, NN_LOSS_XENT, NN_LOSS_BCE, NN_LOSS_HINGE};
        static const char *names[] = {"mse", "xent", "bce", "hinge"};
        float out[3 * 5], tg[3 * 5], d[3 * 5];
        int32_t lab[3] = {4, 0, 2};
        int i, li;
        for (li = 0; li < 4; li++) {
            double num = 0, den = 0;
            for (i = 0; i < 15; i++) { out[i] = 2.0f * frand(); tg[i] = li == 2 ? (frand() > 0) : frand(); }
            nn_loss_compute(losses[li], out, lab, li == 1 ? NULL : tg, 3, 5, d);
            for (i = 0; i < 15; i++) {
                const float o = out[i], e = 1e-2f;
                double g;
                float lp, lm;
                out[i] = o + e; lp = nn_loss_compute(losses[li], out, lab, li == 1 ? NULL : tg, 3, 5, NULL);
                out[i] = o - e; lm = nn_loss_compute(losses[li], out, lab, li == 1 ? NULL : tg, 3, 5, NULL);
                out[i] = o;
                g = ((double)lp - lm) / (2.0 * e);
                num += (d[i] - g) * (d[i] - g);
                den += fabs(g);
            }
            CHECK_MSG(sqrt(num) < 1e-3 && den > 0, "loss %s: |analytic - numeric| = %.3g", names[li], sqrt(num));
        }
    }
    return t_summary("test_grad");
}
