/* Sequence layers: nn_input_seq (token ids, or T x D floats), embedding, layernorm, dense on every
   step, and losses per step. Gradient checks against central differences (odd sizes, batch > 1),
   PyTorch references (tests/ref/seq_ref.h, from tools/make_seq_ref.py), bad token ids refused by
   every entry point, the model file's round trip, bit-identical results at 1 and 3 threads. */
#define NN_IMPLEMENTATION
#include "../nn.h"
#include "test.h"
#include "gradcheck.h"
#include "ref/seq_ref.h"

static uint64_t rs = 777;
static float frand(void) { rs = rs * 6364136223846793005ull + 1442695040888963407ull; return (float)((rs >> 40) / 16777216.0) * 2.0f - 1.0f; }
static int32_t irand(int n) { return (int32_t)((unsigned)((frand() + 1.0f) * 1000.0f) % (unsigned)n); }

static nn_result compile(nn_model *m, nn_loss loss, int64_t B) {
    nn_compile_config cc = nn_compile_defaults();
    cc.loss = loss;
    cc.max_batch = B;
    cc.seed = 5;
    return nn_model_compile(m, &cc);
}
/* biases and layernorm gains start at 0 and 1: give every parameter a generic value */
static void jiggle(nn_model *m) {
    int64_t i;
    for (i = 0; i < m->n_params; i++) m->params[i] += 0.2f * frand();
}

/* tokens (B=3, T=5, vocab 11) -> embedding 6 -> layernorm -> dense 9 (each step) -> tanh -> add
   (skip) -> layernorm -> dense 11 logits per step, cross-entropy over every step */
static void build_tok(nn_model *m) {
    int h, e;
    nn_model_init(m, NULL);
    h = nn_input_seq(m, 5, 0);
    e = nn_pos_embedding(m, nn_embedding(m, h, 11, 6), 0.5f);
    h = nn_layernorm(m, e, 1e-5f);
    h = nn_tanh(m, nn_dense(m, h, 6));
    h = nn_add(m, h, e);
    h = nn_layernorm(m, h, 1e-5f);
    nn_dense(m, h, 11);
}

static void test_grads(void) {
    nn_model m;
    float ids[3 * 5], x[3 * 7 * 4], tg[3 * 7 * 3];
    int32_t lab[3 * 5];
    int i, h;
    printf("gradient checks (central differences, eps 5e-3, relative error < 1e-3)\n");
    for (i = 0; i < 15; i++) { ids[i] = (float)irand(11); lab[i] = irand(11); }
    build_tok(&m);
    CHECK_OK(compile(&m, NN_LOSS_XENT, 3));
    CHECK(m.layers[0].seq && m.layers[2].seq && m.layers[m.n_layers - 1].seq && m.layers[0].cfg.input.vocab == 11);
    CHECK(m.layers[3].ndim == 2 && m.layers[3].shape[0] == 5 && m.layers[3].shape[1] == 6);
    CHECK(m.layers[2].type == NN_LAYER_POSEMB && m.layers[2].n_params == 30);
    jiggle(&m);
    t_grad_check(&m, ids, lab, NULL, 3, 5e-3f, "embedding+layernorm+dense/step xent");
    nn_model_free(&m);
    /* float steps (T=7, 4 features) -> dense 5 -> layernorm -> gelu -> dense 3, MSE per step */
    for (i = 0; i < 3 * 7 * 4; i++) x[i] = frand();
    for (i = 0; i < 3 * 7 * 3; i++) tg[i] = frand();
    nn_model_init(&m, NULL);
    nn_dense(&m, nn_gelu(&m, nn_layernorm(&m, nn_dense(&m, nn_input_seq(&m, 7, 4), 5), 1e-3f)), 3);
    CHECK_OK(compile(&m, NN_LOSS_MSE, 3));
    jiggle(&m);
    t_grad_check(&m, x, NULL, tg, 3, 5e-3f, "float steps+layernorm mse");
    nn_model_free(&m);
    /* a small GPT: tokens, embedding + positions, pre-norm attention block with skips, MLP block,
       final layernorm, logits tied to the embedding; and variants of the attention */
    {
        static const struct { int causal, bias; float p; const char *name; } v[] = {
            {1, 1, 0.0f, "gpt block (causal, bias) + tied head"}, {0, 0, 0.0f, "attention (not causal, no bias)"},
            {1, 1, 0.3f, "attention with dropout 0.3"}};
        int k;
        for (i = 0; i < 15; i++) { ids[i] = (float)irand(11); lab[i] = irand(11); }
        for (k = 0; k < 3; k++) {
            int h, e;
            nn_model_init(&m, NULL);
            e = nn_embedding(&m, nn_input_seq(&m, 5, 0), 11, 6);
            h = nn_pos_embedding(&m, e, 0.5f);
            h = nn_add(&m, h, nn_attention_ex(&m, nn_layernorm(&m, h, 1e-5f), 2, v[k].causal, v[k].bias, v[k].p,
                                               NN_INIT_GLOROT_UNIFORM));
            h = nn_add(&m, h, nn_dense(&m, nn_gelu(&m, nn_dense(&m, nn_layernorm(&m, h, 1e-5f), 9)), 6));
            nn_dense_tied(&m, nn_layernorm(&m, h, 1e-5f), e);
            CHECK_OK(compile(&m, NN_LOSS_XENT, 3));
            jiggle(&m);
            t_grad_check(&m, ids, lab, NULL, 3, 5e-3f, v[k].name);
            nn_model_free(&m);
        }
    }
    /* LSTMs: two stacked (all steps), and one returning its last step; a product of two paths */
    for (i = 0; i < 3 * 7 * 4; i++) x[i] = frand();
    for (i = 0; i < 3 * 7; i++) lab[i % 15] = irand(5);
    nn_model_init(&m, NULL);
    h = nn_lstm(&m, nn_lstm(&m, nn_input_seq(&m, 7, 4), 5, 1), 3, 1);
    nn_dense(&m, nn_mul(&m, h, nn_tanh(&m, h)), 5);
    {
        int32_t lab7[3 * 7];
        for (i = 0; i < 21; i++) lab7[i] = irand(5);
        CHECK_OK(compile(&m, NN_LOSS_XENT, 3));
        jiggle(&m);
        t_grad_check(&m, x, lab7, NULL, 3, 5e-3f, "lstm x2 + mul, xent per step");
    }
    nn_model_free(&m);
    nn_model_init(&m, NULL);
    nn_dense(&m, nn_lstm(&m, nn_input_seq(&m, 7, 4), 6, 0), 3);
    CHECK_OK(compile(&m, NN_LOSS_MSE, 3));
    jiggle(&m);
    t_grad_check(&m, x, NULL, tg, 3, 5e-3f, "lstm (last step) mse");
    nn_model_free(&m);
    nn_model_init(&m, NULL);
    h = nn_gru(&m, nn_gru(&m, nn_input_seq(&m, 7, 4), 5, 1), 4, 0);
    nn_dense(&m, h, 3);
    CHECK_OK(compile(&m, NN_LOSS_MSE, 3));
    jiggle(&m);
    t_grad_check(&m, x, NULL, tg, 3, 5e-3f, "gru x2 (last step) mse");
    nn_model_free(&m);
    /* layernorm of a flat input (a plain MLP), BCE */
    nn_model_init(&m, NULL);
    nn_dense(&m, nn_layernorm(&m, nn_dense(&m, nn_input(&m, 4), 9), 1e-5f), 3);
    CHECK_OK(compile(&m, NN_LOSS_BCE, 3));
    jiggle(&m);
    for (i = 0; i < 9; i++) tg[i] = tg[i] > 0.0f;
    t_grad_check(&m, x, NULL, tg, 3, 5e-3f, "layernorm (flat) bce");
    nn_model_free(&m);
}

/* GELU's forward and gradient (8 lanes at a time on AVX2) against the scalar formulas, bit for
   bit, over every length to 40 (the lanes and the tails), on ordinary values, +-4 and +-87
   boundaries, huge values, infinities and NaN; and the gates' sigmoid and tanh likewise */
static void test_gelu_lanes(void) {
    float x[40], y[40], dy[40], dx[40], dx2[40];
    int n, k, bad = 0;
    for (k = 0; k < 40; k++) { x[k] = 9.0f * frand(); dy[k] = frand(); }
    x[3] = 4.0f; x[4] = -4.0f; x[5] = 5.6f; x[6] = -13.2f; x[7] = 1e30f; x[8] = -1e30f; x[9] = INFINITY;
    x[10] = -INFINITY; x[11] = NAN; x[12] = 0.0f; x[13] = -0.0f; x[14] = 1e-30f; x[20] = 13.19f; x[33] = NAN;
    for (n = 0; n <= 40; n++) {
        for (k = 0; k < 40; k++) { dx[k] = dx2[k] = 0.25f * (float)k; y[k] = -1.0f; }
        nn_act_forward(NN_ACT_GELU, 0.0f, y, x, n);
        nn_act_backward(NN_ACT_GELU, 0.0f, dx, x, y, dy, n);
        for (k = 0; k < 40; k++) {
            const float want = k < n ? 0.5f * x[k] * (1.0f + nn__erf(x[k] * 0.70710678118654752f)) : -1.0f;
            const float g = dy[k] * (0.5f * (1.0f + nn__erf(x[k] * 0.70710678118654752f)) +
                                     x[k] * 0.39894228040143268f * nn__exp_neg(-0.5f * x[k] * x[k]));
            if (k < n) dx2[k] += g;
            bad += memcmp(&y[k], &want, 4) != 0 || memcmp(&dx[k], &dx2[k], 4) != 0;
        }
    }
    CHECK_MSG(bad == 0, "%d GELU values or gradients differ from the scalar formulas", bad);
#ifdef NN__ACT8 /* the recurrent gates' sigmoid and tanh, 8 lanes at a time (x + dy: a bias added) */
    for (n = 0, bad = 0; n < 2; n++) {
        CHECK(nn__gate8(n, y, x, dy, 0, 40) == 40);
        for (k = 0; k < 40; k++) {
            const float want = n ? nn__tanh(x[k] + dy[k]) : nn__sigmoid(x[k] + dy[k]);
            bad += memcmp(&y[k], &want, 4) != 0;
        }
    }
    CHECK_MSG(bad == 0, "%d vector sigmoid or tanh values differ from the scalar ones", bad);
#endif
}

/* GELUs that only the next dense layer reads keep their outputs in one shared buffer when the
   model trains, recomputed before that layer's backward (>>layer-act): two of them share it, a
   gradient check runs through both, nn_model_activation recomputes each exactly, a GELU read by
   two layers and an inference model keep their own */
static void test_recompute(void) {
    nn_model m;
    nn_compile_config cc = nn_compile_defaults();
    nn_compile_config rc = cc;
    float x[3 * 7 * 4], tg[3 * 7 * 3], want[3 * 7 * 9];
    nn_tensor a, d;
    int i, h, g1, g2, k;
    for (i = 0; i < 3 * 7 * 4; i++) x[i] = frand();
    for (i = 0; i < 3 * 7 * 3; i++) tg[i] = frand();
    nn_model_init(&m, NULL);
    h = nn_input_seq(&m, 7, 4);
    g1 = nn_gelu(&m, nn_dense(&m, h, 9));
    h = nn_dense(&m, g1, 5);
    g2 = nn_gelu(&m, nn_dense(&m, h, 9));
    nn_dense(&m, g2, 3);
    rc.loss = NN_LOSS_MSE; rc.max_batch = 3; rc.recompute = 1;
    CHECK_OK(nn_model_compile(&m, &rc));
    CHECK(m.layers[g1].recomp && m.layers[g2].recomp && m.layers[g1].y == m.layers[g2].y);
    jiggle(&m);
    t_grad_check(&m, x, NULL, tg, 3, 5e-3f, "two GELUs recomputed for backward, mse");
    CHECK_OK(nn_forward(&m, x, 3, NULL));
    for (k = 0; k < 2; k++) {
        const int g = k ? g2 : g1;
        CHECK_OK(nn_model_activation(&m, g - 1, 3, &d));
        nn_act_forward(NN_ACT_GELU, 0.0f, want, d.data, 3 * 7 * 9);
        CHECK_OK(nn_model_activation(&m, g, 3, &a));
        CHECK(memcmp(a.data, want, sizeof(float) * 3 * 7 * 9) == 0);
    }
    nn_model_free(&m);
    nn_model_init(&m, NULL);
    g1 = nn_gelu(&m, nn_dense(&m, nn_input_seq(&m, 7, 4), 9));
    nn_dense(&m, nn_add(&m, nn_dense(&m, g1, 9), g1), 3);
    CHECK_OK(nn_model_compile(&m, &rc));
    CHECK(!m.layers[g1].recomp);
    nn_model_free(&m);
    nn_model_init(&m, NULL);
    nn_dense(&m, nn_gelu(&m, nn_dense(&m, nn_dense(&m, nn_gelu(&m, nn_dense(&m, nn_input_seq(&m, 7, 4), 9)), 5), 9)), 3);
    rc.inference_only = 1;
    CHECK_OK(nn_model_compile(&m, &rc));
    CHECK(!m.layers[2].recomp && !m.layers[5].recomp && m.layers[2].y != m.layers[5].y);
    nn_model_free(&m);
    /* a GPT with dropout on attention: 3 AdamW steps with and without recompute, the same bits,
       with a smaller arena; the attention's and the MLP's outputs (read only by the residual adds)
       share a buffer, and nn_model_activation recomputes them */
    {
        float ids[3 * 8], p[2][4000], act[2][2][3 * 8 * 8];
        nn_tensor t;
        int32_t lab[3 * 8];
        size_t bytes[2];
        int64_t np = 0;
        for (i = 0; i < 24; i++) { ids[i] = (float)irand(11); lab[i] = irand(11); }
        for (k = 0; k < 2; k++) {
            int e, s, at, mlp;
            nn_model_init(&m, NULL);
            e = nn_embedding(&m, nn_input_seq(&m, 8, 0), 11, 8);
            h = nn_pos_embedding(&m, e, 0.5f);
            at = nn_attention_ex(&m, nn_layernorm(&m, h, 1e-5f), 2, 1, 1, 0.2f, NN_INIT_GLOROT_UNIFORM);
            h = nn_add(&m, h, at);
            mlp = nn_dense(&m, nn_gelu(&m, nn_dense(&m, nn_layernorm(&m, h, 1e-5f), 16)), 8);
            h = nn_add(&m, h, mlp);
            nn_dense_tied(&m, nn_layernorm(&m, h, 1e-5f), e);
            rc = nn_compile_defaults();
            rc.loss = NN_LOSS_XENT; rc.max_batch = 3; rc.seed = 9; rc.optimizer = nn_adamw(1e-2f, 0.1f); rc.recompute = k;
            CHECK_OK(nn_model_arena_bytes(&m, &rc, &bytes[k]));
            CHECK_OK(nn_model_compile(&m, &rc));
            CHECK(k ? m.layers[at].recomp == 2 && m.layers[mlp].recomp == 2 && m.layers[at].y == m.layers[mlp].y &&
                      m.layers[mlp - 1].recomp == 1
                    : !m.layers[at].recomp && !m.layers[mlp].recomp && !m.layers[mlp - 1].recomp);
            for (s = 0; s < 3; s++) CHECK_OK(nn_train_step(&m, ids, lab, NULL, 3, 1e-2f, NULL));
            CHECK_OK(nn_forward(&m, ids, 3, NULL));
            CHECK_OK(nn_model_activation(&m, at, 3, &t));
            memcpy(act[k][0], t.data, sizeof act[k][0]);
            CHECK_OK(nn_model_activation(&m, mlp, 3, &t));
            memcpy(act[k][1], t.data, sizeof act[k][1]);
            np = m.n_params;
            CHECK(np <= 4000);
            memcpy(p[k], m.params, sizeof(float) * (size_t)(np <= 4000 ? np : 4000));
            nn_model_free(&m);
        }
        CHECK_MSG(memcmp(p[0], p[1], sizeof(float) * (size_t)(np <= 4000 ? np : 4000)) == 0,
                  "recompute changed the parameters after 3 steps");
        CHECK_MSG(memcmp(act[0], act[1], sizeof act[0]) == 0, "recomputed activations differ");
        CHECK_MSG(bytes[1] + sizeof(float) * 3 * 2 * 8 * 8 <= bytes[0], "arena %lu with recompute, %lu without",
                  (unsigned long)bytes[1], (unsigned long)bytes[0]);
    }
}

static float maxdiff(const float *a, const float *b, int64_t n) {
    float d = 0.0f;
    int64_t i;
    for (i = 0; i < n; i++) if (fabsf(a[i] - b[i]) > d || a[i] != a[i]) d = a[i] != a[i] ? 1e30f : fabsf(a[i] - b[i]);
    return d;
}
static void set(nn_model *m, int layer, const float *w, int64_t off, int64_t n) {
    memcpy(m->layers[layer].w + off, w, sizeof(float) * (size_t)n);
}

static void test_torch(void) {
    nn_model m;
    nn_tensor out;
    float loss;
    const nn_layer *l;
    /* tokens: embedding 7x6, layernorm, linear 6 -> 7, cross-entropy per step */
    nn_model_init(&m, NULL);
    nn_dense(&m, nn_layernorm(&m, nn_embedding(&m, nn_input_seq(&m, 5, 0), 7, 6), 1e-5f), 7);
    CHECK_OK(compile(&m, NN_LOSS_XENT, 3));
    set(&m, 1, tok_emb, 0, 42);
    set(&m, 2, tok_ln_w, 0, 6); set(&m, 2, tok_ln_b, 6, 6);
    set(&m, 3, tok_lin_w, 0, 42); set(&m, 3, tok_lin_b, 42, 7);
    CHECK_OK(nn_forward(&m, tok_ids, 3, &out));
    CHECK(out.ndim == 3 && out.shape[1] == 5 && out.shape[2] == 7);
    CHECK_MSG(maxdiff(out.data, tok_logits, 105) < 1e-5f, "logits differ by %g", maxdiff(out.data, tok_logits, 105));
    CHECK_OK(nn_model_backward(&m, tok_ids, tok_tgt, NULL, 3, &loss));
    CHECK_NEAR(loss, tok_loss[0], 1e-5);
    l = m.layers;
    CHECK_MSG(maxdiff(l[1].dw, tok_g_emb, 42) < 1e-6f, "embedding grad %g", maxdiff(l[1].dw, tok_g_emb, 42));
    CHECK_MSG(maxdiff(l[2].dw, tok_g_ln_w, 6) < 1e-6f && maxdiff(l[2].dw + 6, tok_g_ln_b, 6) < 1e-6f, "layernorm grads %g %g",
              maxdiff(l[2].dw, tok_g_ln_w, 6), maxdiff(l[2].dw + 6, tok_g_ln_b, 6));
    CHECK_MSG(maxdiff(l[3].dw, tok_g_lin_w, 42) < 1e-6f && maxdiff(l[3].dw + 42, tok_g_lin_b, 7) < 1e-6f, "linear grads");
    nn_model_free(&m);
    /* two stacked LSTMs (torch.nn.LSTM(3, 4, num_layers=2)) and a linear head, cross-entropy per step */
    {
        int64_t k = 0;
        int li;
        float worst = 0.0f;
        nn_model_init(&m, NULL);
        nn_dense(&m, nn_lstm(&m, nn_lstm(&m, nn_input_seq(&m, 5, 3), 4, 1), 4, 1), 3);
        CHECK_OK(compile(&m, NN_LOSS_XENT, 2));
        for (li = 1; li < 4; li++) { set(&m, li, lstm_params + k, 0, m.layers[li].n_params); k += m.layers[li].n_params; }
        CHECK(k == 319); /* 144 + 160 + 15 */
        CHECK_OK(nn_forward(&m, lstm_x, 2, &out));
        CHECK_MSG(maxdiff(out.data, lstm_logits, 30) < 1e-5f, "LSTM logits differ by %g", maxdiff(out.data, lstm_logits, 30));
        CHECK_OK(nn_model_backward(&m, lstm_x, lstm_tgt, NULL, 2, &loss));
        CHECK_NEAR(loss, lstm_loss[0], 1e-5);
        for (li = 1, k = 0; li < 4; li++) {
            const float d = maxdiff(m.layers[li].dw, lstm_grads + k, m.layers[li].n_params);
            if (d > worst) worst = d;
            k += m.layers[li].n_params;
        }
        CHECK_MSG(worst < 1e-5f, "LSTM gradients differ by %g", worst);
        nn_model_free(&m);
    }
    /* a GRU's last step (torch.nn.GRU(3, 4)) under a linear head, MSE */
    {
        nn_model_init(&m, NULL);
        nn_dense(&m, nn_gru(&m, nn_input_seq(&m, 5, 3), 4, 0), 2);
        CHECK_OK(compile(&m, NN_LOSS_MSE, 2));
        CHECK(m.layers[1].n_params == 108); /* 3 x 4 x (3 + 4) + 2 x 12 */
        set(&m, 1, gru_params, 0, 108);
        set(&m, 2, gru_params + 108, 0, 10);
        CHECK_OK(nn_forward(&m, gru_x, 2, &out));
        CHECK_MSG(maxdiff(out.data, gru_out, 4) < 1e-5f, "GRU outputs differ by %g", maxdiff(out.data, gru_out, 4));
        CHECK_OK(nn_model_backward(&m, gru_x, NULL, gru_y, 2, &loss));
        CHECK_NEAR(loss, gru_loss[0], 1e-5);
        CHECK_MSG(maxdiff(m.layers[1].dw, gru_grads, 108) < 1e-5f && maxdiff(m.layers[2].dw, gru_grads + 108, 10) < 1e-5f,
                  "GRU gradients differ by %g", maxdiff(m.layers[1].dw, gru_grads, 108));
        nn_model_free(&m);
    }
    /* pos_embedding: x + the table's row of each step */
    {
        float x[2 * 3 * 2];
        int i, bad = 0;
        nn_model_init(&m, NULL);
        nn_pos_embedding(&m, nn_input_seq(&m, 3, 2), 1.0f);
        CHECK_OK(compile(&m, NN_LOSS_MSE, 2));
        for (i = 0; i < 12; i++) x[i] = frand();
        CHECK_OK(nn_forward(&m, x, 2, &out));
        for (i = 0; i < 12; i++) bad += out.data[i] != (float)(x[i] + m.layers[1].w[i % 6]); /* (rounded: s390x evaluates in double) */
        CHECK(bad == 0 && m.layers[1].w[0] != 0.0f);
        nn_model_free(&m);
    }
    /* causal attention (C 6, 2 heads, biases) under a linear head, cross-entropy per step */
    nn_model_init(&m, NULL);
    nn_dense(&m, nn_attention(&m, nn_input_seq(&m, 5, 6), 2), 4);
    CHECK_OK(compile(&m, NN_LOSS_XENT, 2));
    set(&m, 1, att_ca_w, 0, 108); set(&m, 1, att_ca_b, 108, 18); set(&m, 1, att_cp_w, 126, 36); set(&m, 1, att_cp_b, 162, 6);
    set(&m, 2, att_hd_w, 0, 24); set(&m, 2, att_hd_b, 24, 4);
    CHECK_OK(nn_model_backward(&m, att_x, att_tgt, NULL, 2, &loss));
    CHECK_NEAR(loss, att_loss[0], 1e-5);
    CHECK_OK(nn_model_activation(&m, 1, 2, &out));
    CHECK_MSG(maxdiff(out.data, att_out, 60) < 1e-5f, "attention output differs by %g", maxdiff(out.data, att_out, 60));
    l = m.layers;
    CHECK_MSG(maxdiff(l[1].dw, att_g_ca_w, 108) < 1e-5f && maxdiff(l[1].dw + 108, att_g_ca_b, 18) < 1e-5f &&
              maxdiff(l[1].dw + 126, att_g_cp_w, 36) < 1e-5f && maxdiff(l[1].dw + 162, att_g_cp_b, 6) < 1e-5f,
              "attention grads %g %g %g %g", maxdiff(l[1].dw, att_g_ca_w, 108), maxdiff(l[1].dw + 108, att_g_ca_b, 18),
              maxdiff(l[1].dw + 126, att_g_cp_w, 36), maxdiff(l[1].dw + 162, att_g_cp_b, 6));
    nn_model_free(&m);
    /* float steps: linear 4 -> 5, layernorm (eps 1e-3), gelu, linear 5 -> 3, MSE per step */
    nn_model_init(&m, NULL);
    nn_dense(&m, nn_gelu(&m, nn_layernorm(&m, nn_dense(&m, nn_input_seq(&m, 3, 4), 5), 1e-3f)), 3);
    CHECK_OK(compile(&m, NN_LOSS_MSE, 2));
    set(&m, 1, flt_l1_w, 0, 20); set(&m, 1, flt_l1_b, 20, 5);
    set(&m, 2, flt_ln_w, 0, 5); set(&m, 2, flt_ln_b, 5, 5);
    set(&m, 4, flt_l2_w, 0, 15); set(&m, 4, flt_l2_b, 15, 3);
    CHECK_OK(nn_forward(&m, flt_x, 2, &out));
    CHECK_MSG(maxdiff(out.data, flt_out, 18) < 1e-5f, "outputs differ by %g", maxdiff(out.data, flt_out, 18));
    CHECK_OK(nn_model_backward(&m, flt_x, NULL, flt_y, 2, &loss));
    CHECK_NEAR(loss, flt_loss[0], 1e-5);
    l = m.layers;
    CHECK(maxdiff(l[1].dw, flt_g_l1_w, 20) < 1e-5f && maxdiff(l[1].dw + 20, flt_g_l1_b, 5) < 1e-5f);
    CHECK(maxdiff(l[2].dw, flt_g_ln_w, 5) < 1e-5f && maxdiff(l[2].dw + 5, flt_g_ln_b, 5) < 1e-5f);
    CHECK(maxdiff(l[4].dw, flt_g_l2_w, 15) < 1e-5f && maxdiff(l[4].dw + 15, flt_g_l2_b, 3) < 1e-5f);
    nn_model_free(&m);
}

/* bad ids refused by every entry point (never read out of the table), builder misuse */
static void test_errors(void) {
    nn_model m;
    float ids[2 * 5], y[2 * 5 * 11], loss;
    int32_t lab[2 * 5];
    nn_dataset d;
    int i;
    static const float bad[4] = {-1.0f, 11.0f, 2.5f, 0.0f};
    for (i = 0; i < 10; i++) { ids[i] = (float)irand(11); lab[i] = irand(11); }
    build_tok(&m);
    CHECK_OK(compile(&m, NN_LOSS_XENT, 2));
    for (i = 0; i < 4; i++) {
        const float keep = ids[7];
        ids[7] = i == 3 ? nn__nan() : bad[i];
        CHECK_ERR(nn_forward(&m, ids, 2, NULL), NN_ERR_DATA, "2 of row 1"); /* (NaN: "feature 2 of row 1 is NaN") */
        CHECK_ERR(nn_predict(&m, ids, 2, y), NN_ERR_DATA, i == 3 ? "is NaN" : "not a token id in [0, 11)");
        CHECK_ERR(nn_model_backward(&m, ids, lab, NULL, 2, &loss), NN_ERR_DATA, "row 1");
        ids[7] = keep;
    }
    lab[9] = 11;
    CHECK_ERR(nn_model_backward(&m, ids, lab, NULL, 2, &loss), NN_ERR_DATA, "label 11 of row 1 is outside [0, 11)");
    lab[9] = 0;
    CHECK_OK(nn_model_backward(&m, ids, lab, NULL, 2, &loss));
    d = nn_dataset_make(ids, 2, 5, lab);
    CHECK_ERR(nn_evaluate(&m, &d, NULL, NULL), NN_ERR_UNSUPPORTED, "a label per step");
    {
        nn_fit_config fc = nn_fit_defaults();
        fc.verbose = 0; fc.batch_size = 2;
        CHECK_ERR(nn_fit(&m, &d, NULL, &fc), NN_ERR_UNSUPPORTED, "nn_train_step");
    }
    nn_model_free(&m);
    /* an embedding needs token ids; layernorm takes (D) or (T, D) */
    nn_model_init(&m, NULL);
    CHECK(nn_embedding(&m, nn_input(&m, 4), 5, 3) == NN_ERR_SHAPE);
    CHECK(strstr(nn_error(), "not the token ids") != NULL);
    nn_model_free(&m);
    nn_model_init(&m, NULL);
    CHECK(nn_embedding(&m, nn_input_seq(&m, 4, 0), 0, 3) == NN_ERR_INVALID_ARG);
    nn_model_free(&m);
    nn_model_init(&m, NULL);
    CHECK(nn_pos_embedding(&m, nn_input(&m, 6), 1.0f) == NN_ERR_SHAPE); /* not a sequence */
    nn_model_free(&m);
    nn_model_init(&m, NULL);
    CHECK(nn_layernorm(&m, nn_input_image(&m, 2, 3, 3), 1e-5f) == NN_ERR_SHAPE);
    nn_model_free(&m);
    nn_model_init(&m, NULL);
    CHECK(nn_layernorm(&m, nn_input(&m, 3), 0.0f) == NN_ERR_INVALID_ARG);
    nn_model_free(&m);
    /* sizes whose parameter counts would overflow: refused before any product is formed */
    nn_model_init(&m, NULL);
    CHECK(nn_lstm(&m, nn_input_seq(&m, 4, 3), (int64_t)1 << 40, 1) == NN_ERR_INVALID_ARG);
    CHECK(strstr(nn_error(), "too large") != NULL);
    nn_model_free(&m);
    nn_model_init(&m, NULL);
    CHECK(nn_gru(&m, nn_input_seq(&m, 4, 3), (int64_t)1 << 25, 0) == NN_ERR_INVALID_ARG);
    nn_model_free(&m);
    nn_model_init(&m, NULL);
    CHECK(nn_embedding(&m, nn_input_seq(&m, 4, 0), 100, (int64_t)1 << 45) == NN_ERR_INVALID_ARG);
    nn_model_free(&m);
    nn_model_init(&m, NULL);
    CHECK(nn_attention(&m, nn_input_seq(&m, 4, (int64_t)1 << 22), 1) == NN_ERR_INVALID_ARG);
    nn_model_free(&m);
    /* the smallest vocab of two embeddings bounds the ids */
    nn_model_init(&m, NULL);
    i = nn_input_seq(&m, 3, 0);
    nn_add(&m, nn_embedding(&m, i, 9, 4), nn_embedding(&m, i, 6, 4));
    CHECK(m.layers[0].cfg.input.vocab == 6);
    CHECK_OK(compile(&m, NN_LOSS_MSE, 1));
    ids[0] = 7.0f; ids[1] = ids[2] = 0.0f;
    CHECK_ERR(nn_forward(&m, ids, 1, NULL), NN_ERR_DATA, "[0, 6)");
    nn_model_free(&m);
}

/* the model file: save, load, same outputs; a checkpoint's training resumes with the same bits */
static void test_file(void) {
    nn_model a, b;
    float ids[4 * 5], ya[4 * 5 * 11], yb[4 * 5 * 11], la, lb;
    int32_t lab[4 * 5];
    size_t size = 0;
    unsigned char *buf;
    int i;
    for (i = 0; i < 20; i++) { ids[i] = (float)irand(11); lab[i] = irand(11); }
    build_tok(&a);
    CHECK_OK(compile(&a, NN_LOSS_XENT, 4));
    for (i = 0; i < 3; i++) CHECK_OK(nn_train_step(&a, ids, lab, NULL, 4, 1e-2f, &la));
    CHECK_OK(nn_save_mem(&a, 1, NULL, 0, &size));
    buf = (unsigned char *)malloc(size);
    CHECK_OK(nn_save_mem(&a, 1, buf, size, &size));
    CHECK(strstr((const char *)buf + 8, "input shape=5 tokens=1") != NULL);
    CHECK(strstr((const char *)buf + 8, "embedding in=0 vocab=11 dim=6 std=1") != NULL);
    CHECK(strstr((const char *)buf + 8, "pos_embedding in=1 std=5e-1") != NULL);
    CHECK(strstr((const char *)buf + 8, "layernorm in=2 eps=") != NULL);
    CHECK(strstr((const char *)buf + 8, "\"0.weight\": {\"dtype\": \"F32\", \"shape\": [11, 6]") != NULL);
    CHECK_OK(nn_load_mem(&b, buf, size, NULL));
    CHECK(b.layers[0].seq && b.layers[0].cfg.input.tokens && b.layers[0].cfg.input.vocab == 11);
    CHECK_OK(nn_predict(&a, ids, 4, ya));
    CHECK_OK(nn_predict(&b, ids, 4, yb));
    CHECK(memcmp(ya, yb, sizeof ya) == 0);
    for (i = 0; i < 3; i++) {
        CHECK_OK(nn_train_step(&a, ids, lab, NULL, 4, 1e-2f, &la));
        CHECK_OK(nn_train_step(&b, ids, lab, NULL, 4, 1e-2f, &lb));
    }
    CHECK(la == lb && memcmp(a.params, b.params, sizeof(float) * (size_t)a.n_params) == 0);
    nn_model_free(&a);
    nn_model_free(&b);
    free(buf);
    /* attention and a tied head: their lines and tensors */
    nn_model_init(&a, NULL);
    i = nn_embedding(&a, nn_input_seq(&a, 5, 0), 11, 6);
    nn_dense_tied(&a, nn_attention_ex(&a, nn_pos_embedding(&a, i, 0.02f), 3, 1, 0, 0.0f, NN_INIT_TORCH), i);
    CHECK_OK(compile(&a, NN_LOSS_XENT, 4));
    CHECK_OK(nn_save_mem(&a, 0, NULL, 0, &size));
    buf = (unsigned char *)malloc(size);
    CHECK_OK(nn_save_mem(&a, 0, buf, size, &size));
    CHECK(strstr((const char *)buf + 8, "attention in=2 heads=3 causal=1 bias=0 dropout=0 init=torch") != NULL);
    CHECK(strstr((const char *)buf + 8, "tied_dense in=3 src=1") != NULL);
    CHECK(strstr((const char *)buf + 8, "\"2.c_attn.weight\": {\"dtype\": \"F32\", \"shape\": [18, 6]") != NULL);
    CHECK(strstr((const char *)buf + 8, "\"2.c_proj.weight\"") != NULL && strstr((const char *)buf + 8, "c_attn.bias") == NULL);
    CHECK_OK(nn_load_mem(&b, buf, size, NULL));
    CHECK_OK(nn_predict(&a, ids, 4, ya));
    CHECK_OK(nn_predict(&b, ids, 4, yb));
    CHECK(memcmp(ya, yb, sizeof ya) == 0);
    nn_model_free(&a);
    nn_model_free(&b);
    free(buf);
    /* misuse: a tied head on a non-embedding, or on one tied already, or of the wrong width */
    nn_model_init(&a, NULL);
    i = nn_embedding(&a, nn_input_seq(&a, 5, 0), 11, 6);
    CHECK(nn_dense_tied(&a, nn_dense(&a, i, 4), i) == NN_ERR_SHAPE);
    nn_model_free(&a);
    nn_model_init(&a, NULL);
    i = nn_embedding(&a, nn_input_seq(&a, 5, 0), 11, 6);
    CHECK(nn_dense_tied(&a, nn_dense(&a, i, 6), 2) == NN_ERR_INVALID_ARG);
    nn_model_free(&a);
    nn_model_init(&a, NULL);
    i = nn_embedding(&a, nn_input_seq(&a, 5, 0), 11, 6);
    nn_dense_tied(&a, i, i);
    CHECK(nn_dense_tied(&a, i, i) == NN_ERR_UNSUPPORTED);
    nn_model_free(&a);
    nn_model_init(&a, NULL);
    CHECK(nn_attention(&a, nn_input_seq(&a, 5, 6), 4) == NN_ERR_INVALID_ARG); /* 4 heads do not divide 6 */
    nn_model_free(&a);
}

/* the same bits at 1 and 3 threads (the embedding's and layernorm's parameter sums are in row
   order; attention's heads write disjoint columns), with rows enough that the loops go parallel */
static void test_threads(void) {
    enum { B = 16, T = 64 };
    static float ids[B * T];
    static int32_t lab[B * T];
    float *p[2];
    int t, i, k;
    for (i = 0; i < B * T; i++) { ids[i] = (float)irand(50); lab[i] = irand(50); }
    for (t = 0; t < 2; t++) {
        nn_model m;
        int h, e;
        nn_set_threads(t ? 3 : 1);
        nn_model_init(&m, NULL);
        e = nn_embedding(&m, nn_input_seq(&m, T, 0), 50, 96);
        h = nn_add(&m, e, nn_attention_ex(&m, nn_layernorm(&m, e, 1e-5f), 4, 1, 0, 0.1f, NN_INIT_GLOROT_UNIFORM));
        h = nn_layernorm(&m, h, 1e-5f);
        nn_dense_tied(&m, nn_gelu(&m, nn_dense(&m, h, 96)), e);
        CHECK_OK(compile(&m, NN_LOSS_XENT, B));
        for (k = 0; k < 3; k++) CHECK_OK(nn_train_step(&m, ids, lab, NULL, B, 1e-3f, NULL));
        p[t] = (float *)malloc(sizeof(float) * (size_t)m.n_params);
        memcpy(p[t], m.params, sizeof(float) * (size_t)m.n_params);
        k = (int)m.n_params;
        nn_model_free(&m);
    }
    CHECK(memcmp(p[0], p[1], sizeof(float) * (size_t)k) == 0);
    free(p[0]);
    free(p[1]);
    nn_set_threads(1);
}

/* nn_generate against the whole model run on each window: greedy ids equal (the window slides
   by halves once full, as nn_generate's does), draws repeat with a seed, misuse refused */
static void build_gpt(nn_model *m, int causal) {
    int e, h;
    nn_model_init(m, NULL);
    e = nn_embedding(m, nn_input_seq(m, 8, 0), 11, 8);
    h = nn_pos_embedding(m, e, 0.5f);
    h = nn_add(m, h, nn_attention_ex(m, nn_layernorm(m, h, 1e-5f), 2, causal, 1, 0.0f, NN_INIT_GLOROT_UNIFORM));
    h = nn_add(m, h, nn_dense(m, nn_gelu(m, nn_dense(m, nn_layernorm(m, h, 1e-5f), 16)), 8));
    nn_dense_tied(m, nn_layernorm(m, h, 1e-5f), e);
}
static void for_window(float *x, const int32_t *ids, int64_t from, int64_t to) {
    int64_t i;
    for (i = from; i < to; i++) x[i - from] = (float)ids[i];
}
static void build_rnn(nn_model *m, int causal) { /* an LSTM and a GRU language model */
    (void)causal;
    nn_model_init(m, NULL);
    nn_dense(m, nn_gru(m, nn_lstm(m, nn_embedding(m, nn_input_seq(m, 8, 0), 11, 6), 8, 1), 8, 1), 11);
}
static void test_generate_model(void (*build)(nn_model *, int), const char *name) {
    nn_model m;
    int32_t ids[40], ref[40], ids2[40];
    float x[8];
    nn_tensor out;
    int64_t len, s, i;
    int bad = 0;
    rs = 2024; /* (its own draws: a model whose greedy ids vary, whatever the tests before drew) */
    build(&m, 1);
    CHECK_OK(compile(&m, NN_LOSS_XENT, 2));
    for (i = 0; i < m.n_params; i++) m.params[i] = (build == build_gpt ? 1.0f : 3.0f) * frand(); /* (larger: an RNN whose greedy ids vary) */
    ids[0] = ref[0] = 3; ids[1] = ref[1] = 7; ids[2] = ref[2] = 1;
    CHECK_OK(nn_generate(&m, ids, 3, 30, 0.0f, 0, 1));
    for (len = 3, s = 0; len < 33; len++) { /* the reference: the window ref[s..len) through nn_forward */
        const int64_t n = len - s;
        for (i = 0; i < 8; i++) x[i] = (float)ref[s + (i < n ? i : n - 1)];
        CHECK_OK(nn_forward(&m, x, 1, &out));
        ref[len] = (int32_t)nn_argmax(out.data + (n - 1) * 11, 11);
        if (len + 1 - s > 8) s = len + 1 - 4;
    }
    for (i = 0; i < 33; i++) bad += ids[i] != ref[i];
    CHECK_MSG(bad == 0, "%s: %d of 33 greedy ids differ from the windows' forward passes", name, bad);
    for (i = 3; i < 33 && ids[i] == ids[3]; i++) {}
    CHECK_MSG(i < 33, "%s: one id repeated (a weak test)", name);
    memcpy(ids2, ids, sizeof ids2);
    CHECK_OK(nn_generate(&m, ids2, 3, 30, 1.0f, 1, 99)); /* top_k 1: greedy whatever the draw */
    CHECK(memcmp(ids, ids2, sizeof(int32_t) * 33) == 0);
    CHECK_OK(nn_generate(&m, ids, 3, 30, 1.0f, 5, 42));
    CHECK_OK(nn_generate(&m, ids2, 3, 30, 1.0f, 5, 42));
    CHECK(memcmp(ids, ids2, sizeof(int32_t) * 33) == 0);
    for (i = 3; i < 33; i++) bad += ids[i] < 0 || ids[i] >= 11;
    CHECK(bad == 0);
    ids[1] = 11;
    CHECK_ERR(nn_generate(&m, ids, 3, 5, 1.0f, 0, 1), NN_ERR_DATA, "prompt id 1 is 11");
    ids[1] = 2;
    CHECK_ERR(nn_generate(&m, ids, 0, 5, 1.0f, 0, 1), NN_ERR_INVALID_ARG, "empty prompt");
    for (i = 0; i < 40; i++) ids[i] = (int32_t)(i % 11);
    CHECK_OK(nn_generate(&m, ids, 40, 0, 1.0f, 0, 1)); /* nothing to add */
    CHECK_OK(nn_generate(&m, ids, 20, 20, 0.0f, 0, 1)); /* a prompt longer than the window */
    CHECK_OK(nn_forward(&m, (for_window(x, ids, 12, 20), x), 1, &out));
    CHECK(ids[20] == (int32_t)nn_argmax(out.data + 7 * 11, 11));
    nn_model_free(&m);
    if (build != build_gpt) return;
    build_gpt(&m, 0);
    CHECK_OK(compile(&m, NN_LOSS_XENT, 2));
    CHECK_ERR(nn_generate(&m, ids, 3, 5, 1.0f, 0, 1), NN_ERR_UNSUPPORTED, "(attention) does not run step by step");
    nn_model_free(&m);
    nn_model_init(&m, NULL);
    nn_dense(&m, nn_input_seq(&m, 4, 3), 5);
    CHECK_OK(compile(&m, NN_LOSS_XENT, 2));
    CHECK_ERR(nn_generate(&m, ids, 3, 5, 1.0f, 0, 1), NN_ERR_UNSUPPORTED, "not token ids");
    nn_model_free(&m);
}

/* llm.c's test_gpt2, on a small GPT: logits, loss, every parameter gradient and the loss of 10 AdamW
   steps against PyTorch (tools/make_seq_ref.py); llm.c's tolerances are 1e-2 (logits, loss) and
   2e-2 (gradients): these are 1e-5 and 1e-5 (relative to the largest), then 1e-4 after the steps */
static void copy_params(nn_model *m, const float *src, int grads, float *dst) {
    int i;
    int64_t k = 0;
    for (i = 1; i < m->n_layers; i++) {
        nn_layer *l = &m->layers[i];
        if (!l->n_params) continue;
        if (dst) memcpy(dst + k, grads ? l->dw : l->w, sizeof(float) * (size_t)l->n_params);
        else memcpy(l->w, src + k, sizeof(float) * (size_t)l->n_params);
        k += l->n_params;
    }
}
static void test_gpt_parity(void) {
    nn_model m;
    nn_compile_config cc = nn_compile_defaults();
    nn_tensor out;
    static float got[1752];
    float loss = 0.0f, loss0 = 0.0f, big = 0.0f;
    int e, h, k, i, worst = 0;
    nn_model_init(&m, NULL);
    e = nn_embedding(&m, nn_input_seq(&m, 6, 0), 11, 8);
    h = nn_pos_embedding(&m, e, 1.0f);
    for (k = 0; k < 2; k++) {
        h = nn_add(&m, h, nn_attention_ex(&m, nn_layernorm(&m, h, 1e-5f), 2, 1, 0, 0.0f, NN_INIT_TORCH));
        h = nn_add(&m, h, nn_dense_ex(&m, nn_gelu(&m, nn_dense_ex(&m, nn_layernorm(&m, h, 1e-5f), 32, 0, NN_INIT_TORCH)), 8, 0,
                                      NN_INIT_TORCH));
    }
    nn_dense_tied(&m, nn_layernorm(&m, h, 1e-5f), e);
    cc.loss = NN_LOSS_XENT;
    cc.max_batch = 3;
    cc.optimizer = nn_adamw(1e-2f, 0.1f);
    cc.optimizer.beta2 = 0.99f;
    CHECK_OK(nn_model_compile(&m, &cc));
    CHECK(m.n_train == 1752 || m.n_params >= 1752);
    { /* the output gradients share slots (nn__plan_dy): fewer distinct buffers than layers that have one */
        int n_dy = 0, distinct = 0, j;
        for (i = 1; i < m.n_layers; i++) {
            if (!m.layers[i].dy || m.layers[i].type == NN_LAYER_FLATTEN || m.layers[i].type == NN_LAYER_RESHAPE) continue;
            n_dy++;
            for (j = 1; j < i && m.layers[j].dy != m.layers[i].dy; j++) {}
            distinct += j == i;
        }
        CHECK_MSG(distinct < n_dy / 2, "%d distinct gradient buffers for %d layers", distinct, n_dy);
    }
    copy_params(&m, gpt_params, 0, NULL);
    CHECK_OK(nn_forward(&m, gpt_ids, 3, &out));
    CHECK_MSG(maxdiff(out.data, gpt_logits, 198) < 1e-5f, "logits differ by %g", maxdiff(out.data, gpt_logits, 198));
    CHECK_OK(nn_model_backward(&m, gpt_ids, gpt_tgt, NULL, 3, &loss0));
    CHECK_NEAR(loss0, gpt_loss[0], 1e-5);
    copy_params(&m, NULL, 1, got);
    { /* keep_layer_grads: a buffer each, the same parameter gradients bit for bit */
        nn_model k2 = m;
        static float got2[1752];
        int n_dy = 0, distinct = 0, j;
        nn_model_init(&k2, NULL);
        memcpy(k2.layers, m.layers, sizeof(nn_layer) * (size_t)m.n_layers);
        k2.n_layers = m.n_layers;
        cc.keep_layer_grads = 1;
        CHECK_OK(nn_model_compile(&k2, &cc));
        cc.keep_layer_grads = 0;
        copy_params(&k2, gpt_params, 0, NULL);
        CHECK_OK(nn_model_backward(&k2, gpt_ids, gpt_tgt, NULL, 3, &loss));
        copy_params(&k2, NULL, 1, got2);
        CHECK(memcmp(got, got2, sizeof got2) == 0 && loss == loss0);
        for (i = 1; i < k2.n_layers; i++) {
            if (!k2.layers[i].dy) continue;
            n_dy++;
            for (j = 1; j < i && k2.layers[j].dy != k2.layers[i].dy; j++) {}
            distinct += j == i;
        }
        CHECK_MSG(distinct == n_dy, "%d distinct gradient buffers for %d layers", distinct, n_dy);
        nn_model_free(&k2);
    }
    for (i = 0; i < 1752; i++) if (fabsf(gpt_grads[i]) > big) big = fabsf(gpt_grads[i]);
    for (i = 0; i < 1752; i++) if (fabsf(got[i] - gpt_grads[i]) > fabsf(got[worst] - gpt_grads[worst])) worst = i;
    CHECK_MSG(fabsf(got[worst] - gpt_grads[worst]) <= 1e-5f * big, "gradient %d: %g, PyTorch %g (largest %g)", worst,
              (double)got[worst], (double)gpt_grads[worst], (double)big);
    for (k = 0; k < 10; k++) {
        CHECK_OK(nn_train_step(&m, gpt_ids, gpt_tgt, NULL, 3, 1e-2f, &loss));
        CHECK_MSG(fabsf(loss - gpt_step_losses[k]) < 1e-4f, "step %d: loss %.7f, PyTorch %.7f", k, (double)loss,
                  (double)gpt_step_losses[k]);
    }
    copy_params(&m, NULL, 0, got);
    CHECK_MSG(maxdiff(got, gpt_params_after, 1752) < 1e-4f, "parameters after 10 steps differ by %g",
              maxdiff(got, gpt_params_after, 1752));
    printf("  gpt parity: loss %.6f (PyTorch %.6f), step-10 loss %.6f (%.6f)\n", (double)loss0, (double)gpt_loss[0],
           (double)loss, (double)gpt_step_losses[9]);
    nn_model_free(&m);
}

static void test_generate(void) {
    test_generate_model(build_gpt, "gpt");
    test_generate_model(build_rnn, "lstm+gru");
}

/* int8 of sequence models (nn_quantize's mixed form): the dynamic int8 dense against float within
   the bound its roundings allow (odd sizes, a partial channel tile); the GPT and the LSTM+GRU
   models' int8 logits near the float ones, most argmaxes equal, different from float (the int8
   code ran), the same bits on 1 and 2 threads and in an arena; misuse refused */
static void test_quant_dense_dyn(void) {
    enum { R = 7, IN = 13, NO = 70 };
    float x[R * IN], w[NO * IN], b[NO], y[R * NO], ws[NO];
    int8_t wq[NO * IN];
    int32_t sw[NO];
    uint8_t xq[R * IN];
    int64_t r, o, k;
    int bad = 0, exact = 1;
    for (k = 0; k < R * IN; k++) x[k] = 3.0f * frand();
    for (k = 0; k < NO * IN; k++) w[k] = frand();
    for (o = 0; o < NO; o++) {
        double s;
        b[o] = frand();
        sw[o] = (int32_t)nn__qchannel(w + o * IN, IN, 1.0, 127, wq + o * IN, &s);
        ws[o] = (float)s;
    }
    nn__qdense_dyn(wq, ws, sw, b, NO, x, IN, R, xq, y);
    for (r = 0; r < R; r++) {
        float lo = 0, hi = 0, sx;
        int32_t zx;
        for (k = 0; k < IN; k++) { lo = x[r * IN + k] < lo ? x[r * IN + k] : lo; hi = x[r * IN + k] > hi ? x[r * IN + k] : hi; }
        nn__qparams(lo, hi, &sx, &zx);
        for (o = 0; o < NO; o++) {
            double ref = b[o], bound = 1e-5;
            for (k = 0; k < IN; k++) {
                ref += (double)x[r * IN + k] * w[o * IN + k];
                bound += 0.5 * (sx * fabs(w[o * IN + k]) + ws[o] * fabs(x[r * IN + k])) + 0.25 * sx * ws[o];
            }
            bad += fabs(y[r * NO + o] - ref) > bound;
            exact &= y[r * NO + o] == (float)ref;
        }
    }
    CHECK_MSG(bad == 0, "%d of %d outputs outside the rounding bound", bad, R * NO);
    CHECK(!exact);
}
static void test_quant_model(void (*build)(nn_model *, int), const char *name) {
    enum { N = 6, T = 8, V = 11 };
    nn_model m;
    nn_qmodel q, q2;
    nn_quant_config qc = nn_quant_defaults();
    float x[N * T], yf[N * T * V], yq[N * T * V], y2[N * T * V], big = 0, diff = 0;
    static unsigned char arena[1 << 20];
    size_t sz;
    int64_t i;
    int agree = 0;
    rs = 99;
    build(&m, 1);
    CHECK_OK(compile(&m, NN_LOSS_XENT, 4));
    for (i = 0; i < m.n_params; i++) m.params[i] = 0.5f * frand();
    for (i = 0; i < N * T; i++) x[i] = (float)irand(V);
    CHECK_OK(nn_predict(&m, x, N, yf));
    CHECK_OK(nn_quantize(&m, NULL, 0, NULL, &q));
    CHECK(q.mixed == 1);
    CHECK_OK(nn_qpredict(&q, x, N, yq)); /* (N > max_batch 4: two chunks) */
    for (i = 0; i < N * T * V; i++) {
        big = fabsf(yf[i]) > big ? fabsf(yf[i]) : big;
        diff = fabsf(yf[i] - yq[i]) > diff ? fabsf(yf[i] - yq[i]) : diff;
    }
    for (i = 0; i < N * T; i++) agree += nn_argmax(yf + i * V, V) == nn_argmax(yq + i * V, V);
    CHECK_MSG(diff > 0 && diff < 0.03f * big, "%s: int8 logits differ from float by %g (largest %g)", name, diff, big);
    CHECK_MSG(agree >= N * T * 9 / 10, "%s: %d of %d argmaxes agree", name, agree, N * T);
    printf("  int8 %-9s logits within %.2g of float (largest %.3g), %d of %d argmaxes agree, %lu bytes (float params %lu)\n",
           name, diff, big, agree, N * T, (unsigned long)q.mem_bytes, (unsigned long)(sizeof(float) * (size_t)m.n_params));
    CHECK(nn_qargmax(&q, 1) == nn_argmax(yq + 5 * T * V, T * V)); /* the last chunk's row 1 is row 5 */
    nn_set_threads(1);
    CHECK_OK(nn_qpredict(&q, x, N, y2));
    CHECK(memcmp(yq, y2, sizeof yq) == 0);
    nn_set_threads(2);
    qc.arena = arena; qc.arena_bytes = 64;
    CHECK_ERR(nn_quantize(&m, NULL, 0, &qc, &q2), NN_ERR_OUT_OF_MEMORY, "the arena has 64 bytes");
    qc.arena_bytes = sizeof arena;
    CHECK_OK(nn_quantize(&m, NULL, 0, &qc, &q2));
    CHECK_OK(nn_qpredict(&q2, x, N, y2));
    CHECK(memcmp(yq, y2, sizeof yq) == 0);
    CHECK_ERR(nn_qforward(&q, (const uint8_t *)arena, 1, NULL), NN_ERR_UNSUPPORTED, "use nn_qpredict");
    CHECK_ERR(nn_qsave_mem(&q, NULL, 0, &sz), NN_ERR_UNSUPPORTED, "no file form");
    x[9] = 11.0f;
    CHECK_ERR(nn_qpredict(&q, x, N, y2), NN_ERR_DATA, "step 1 of row 1 is 11");
    nn_qmodel_free(&q);
    nn_qmodel_free(&q2);
    nn_model_free(&m);
}
static void test_quant(void) {
    test_quant_dense_dyn();
    test_quant_model(build_gpt, "gpt");
    test_quant_model(build_rnn, "lstm+gru");
}

int main(void) {
    test_grads();
    test_recompute();
    test_gelu_lanes();
    test_torch();
    test_errors();
    test_file();
    test_threads();
    test_generate();
    test_gpt_parity();
    test_quant();
    return t_summary("test_seq");
}
