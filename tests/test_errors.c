/* Every error path: each bad call returns its code, names the problem, crashes nothing and
   leaves its outputs untouched. */
#define NN_IMPLEMENTATION
#include <float.h>
#include "../nn.h"
#include "test.h"
#include <stdlib.h>

static int fail_alloc(void) { return 0; }
#ifndef NN_TEST_TAG /* (tests/cross.sh runs two machines' copies at once: each its own files) */
#define NN_TEST_TAG ""
#endif
#define BAD_CSV "build/test_bad" NN_TEST_TAG ".csv"
static void *null_alloc(size_t n, void *u) { (void)n; (void)u; return NULL; }
static void plain_free(void *p, void *u) { (void)u; free(p); }

static void small_model(nn_model *m, int64_t max_batch) {
    nn_compile_config cc = nn_compile_defaults();
    int h;
    nn_model_init(m, NULL);
    h = nn_input(m, 3);
    h = nn_dense(m, h, 4);
    h = nn_relu(m, h);
    nn_dense(m, h, 2);
    cc.max_batch = max_batch;
    CHECK_OK(nn_model_compile(m, &cc));
}

static void write_file(const char *path, const char *text) {
    FILE *f = fopen(path, "wb");
    fputs(text, f);
    fclose(f);
}

int main(void) {
    nn_model m;
    nn_compile_config cc;
    nn_fit_config fc;
    float x[4 * 3] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 1, 2, 3}, out[8];
    int32_t y[4] = {0, 1, 1, 0};
    nn_dataset d;
    int a, b, h;
    (void)fail_alloc;

    /* --- build time: shapes --- */
    nn_model_init(&m, NULL);
    h = nn_input(&m, 10);
    a = nn_dense(&m, h, 10);
    b = nn_dense(&m, h, 12);
    CHECK(nn_add(&m, a, b) == NN_ERR_SHAPE);
    CHECK_MSG(strstr(nn_error(), "layer 3 (add)") && strstr(nn_error(), "(10)") && strstr(nn_error(), "(12)"),
              "message: %s", nn_error());
    CHECK(nn_relu(&m, b) == NN_ERR_SHAPE); /* sticky: later calls return the first error */
    CHECK(nn_model_compile(&m, NULL) == NN_ERR_SHAPE);
    CHECK(strstr(nn_error(), "layer 3 (add)") != NULL);
    nn_model_free(&m);

    nn_model_init(&m, NULL);
    h = nn_input_image(&m, 3, 8, 8);
    CHECK(nn_dense(&m, h, 5) == NN_ERR_SHAPE);
    CHECK_MSG(strstr(nn_error(), "(3,8,8)") && strstr(nn_error(), "nn_flatten"), "message: %s", nn_error());
    nn_model_free(&m);

    nn_model_init(&m, NULL);
    a = nn_input_image(&m, 3, 8, 8);
    b = nn_flatten(&m, a);
    CHECK_ERR((nn_result)nn_concat(&m, a, b), NN_ERR_SHAPE, "differ in rank");
    nn_model_free(&m);

    nn_model_init(&m, NULL);
    CHECK_ERR((nn_result)nn_dense(&m, 0, 4), NN_ERR_STATE, "first layer must be nn_input");
    nn_model_free(&m);
    nn_model_init(&m, NULL);
    nn_input(&m, 4);
    CHECK_ERR((nn_result)nn_input(&m, 4), NN_ERR_UNSUPPORTED, "one input");
    nn_model_free(&m);
    nn_model_init(&m, NULL);
    nn_input(&m, 4);
    CHECK_ERR((nn_result)nn_dense(&m, 5, 4), NN_ERR_INVALID_ARG, "does not exist");
    nn_model_free(&m);
    nn_model_init(&m, NULL);
    nn_input(&m, 4);
    CHECK_ERR((nn_result)nn_dense(&m, -3, 4), NN_ERR_INVALID_ARG, "not a layer index");
    nn_model_free(&m);
    nn_model_init(&m, NULL);
    h = nn_input(&m, 4);
    CHECK_ERR((nn_result)nn_dense(&m, h, 0), NN_ERR_INVALID_ARG, "units");
    nn_model_free(&m);
    nn_model_init(&m, NULL);
    h = nn_input(&m, 4);
    CHECK_ERR((nn_result)nn_dropout(&m, h, 1.0f), NN_ERR_INVALID_ARG, "dropout");
    nn_model_free(&m);
    nn_model_init(&m, NULL);
    h = nn_input(&m, 4);
    CHECK_ERR((nn_result)nn_dropout(&m, h, -0.5f), NN_ERR_INVALID_ARG, "dropout");
    nn_model_free(&m);
    nn_model_init(&m, NULL);
    h = nn_input(&m, 4);
    CHECK_ERR((nn_result)nn_activation(&m, h, (nn_act)42, 0), NN_ERR_INVALID_ARG, "unknown kind");
    nn_model_free(&m);
    nn_model_init(&m, NULL);
    h = nn_input(&m, 4);
    CHECK_ERR((nn_result)nn_dense_ex(&m, h, 3, 1, (nn_init)9), NN_ERR_INVALID_ARG, "initializer");
    nn_model_free(&m);
    nn_model_init(&m, NULL);
    CHECK_ERR((nn_result)nn_input(&m, 0), NN_ERR_INVALID_ARG, "dimensions");
    nn_model_free(&m);
    nn_model_init(&m, NULL); /* too many layers */
    h = nn_input(&m, 2);
    for (a = 1; a < NN_MAX_LAYERS; a++) h = nn_relu(&m, h);
    CHECK(h == NN_MAX_LAYERS - 1);
    CHECK_ERR((nn_result)nn_relu(&m, h), NN_ERR_OUT_OF_MEMORY, "NN_MAX_LAYERS");
    nn_model_free(&m);
    CHECK_ERR((nn_result)nn_relu(NULL, 0), NN_ERR_INVALID_ARG, "NULL");
    CHECK_ERR(nn_model_init(NULL, NULL), NN_ERR_INVALID_ARG, "NULL");

    /* --- compile --- */
    nn_model_init(&m, NULL);
    CHECK_ERR(nn_model_compile(&m, NULL), NN_ERR_STATE, "needs an input");
    h = nn_input(&m, 3);
    nn_dense(&m, h, 2);
    cc = nn_compile_defaults(); cc.max_batch = 0;
    CHECK_ERR(nn_model_compile(&m, &cc), NN_ERR_INVALID_ARG, "max_batch");
    cc = nn_compile_defaults(); cc.loss = (nn_loss)0;
    CHECK_ERR(nn_model_compile(&m, &cc), NN_ERR_INVALID_ARG, "loss");
    cc = nn_compile_defaults(); cc.optimizer.type = (nn_opt_type)0;
    CHECK_ERR(nn_model_compile(&m, &cc), NN_ERR_INVALID_ARG, "optimizer");
    cc = nn_compile_defaults(); cc.optimizer.lr = -1;
    CHECK_ERR(nn_model_compile(&m, &cc), NN_ERR_INVALID_ARG, "lr");
    cc = nn_compile_defaults(); cc.optimizer.beta2 = 1.0f;
    CHECK_ERR(nn_model_compile(&m, &cc), NN_ERR_INVALID_ARG, "betas");
    cc = nn_compile_defaults(); cc.optimizer = nn_sgd(0.1f, 0, 1);
    CHECK_ERR(nn_model_compile(&m, &cc), NN_ERR_INVALID_ARG, "Nesterov");
    CHECK_OK(nn_model_compile(&m, NULL));
    CHECK_ERR(nn_model_compile(&m, NULL), NN_ERR_STATE, "already compiled");
    CHECK_ERR((nn_result)nn_relu(&m, 1), NN_ERR_STATE, "already compiled");
    /* a builder refused on a compiled model leaves no stale error: compile reports its own */
    CHECK_ERR(nn_model_compile(&m, NULL), NN_ERR_STATE, "nn_model_compile: already compiled");
    CHECK((nn_result)nn_dense_ex(&m, 1, 3, 1, (nn_init)99) == NN_ERR_INVALID_ARG);
    CHECK_ERR(nn_model_compile(&m, NULL), NN_ERR_STATE, "nn_model_compile: already compiled");
    {
        const float x3[3] = {0.5f, -1.0f, 2.0f};
        float out2[2];
        CHECK_OK(nn_predict(&m, x3, 1, out2)); /* and the model still runs */
    }
    nn_model_free(&m);
    {
        nn_allocator al;
        al.alloc = null_alloc; al.free = plain_free; al.user = NULL;
        CHECK_OK(nn_model_init(&m, &al));
        h = nn_input(&m, 3);
        nn_dense(&m, h, 2);
        CHECK_ERR(nn_model_compile(&m, NULL), NN_ERR_OUT_OF_MEMORY, "allocate");
        nn_model_free(&m);
        al.free = NULL;
        CHECK_ERR(nn_model_init(&m, &al), NN_ERR_INVALID_ARG, "both alloc and free");
    }

    /* --- calls before compile --- */
    nn_model_init(&m, NULL);
    h = nn_input(&m, 3);
    nn_dense(&m, h, 2);
    d = nn_dataset_make(x, 4, 3, y);
    fc = nn_fit_defaults(); fc.verbose = 0; fc.batch_size = 2;
    CHECK_ERR(nn_fit(&m, &d, NULL, &fc), NN_ERR_STATE, "not compiled");
    CHECK_ERR(nn_predict(&m, x, 4, out), NN_ERR_STATE, "not compiled");
    CHECK_ERR(nn_evaluate(&m, &d, NULL, NULL), NN_ERR_STATE, "not compiled");
    nn_model_free(&m);

    /* --- the finiteness check of every batch: each position of a 40-float row (two blocks of
       16 and a tail), every kind of non-finite value, the extreme finite ones --- */
    {
        float v[40];
        const float badv[3] = {NAN, INFINITY, -INFINITY};
        int p, k, n, wrong = 0;
        for (p = 0; p < 40; p++) v[p] = p % 4 == 0 ? FLT_MAX : p % 4 == 1 ? -FLT_MAX : p % 4 == 2 ? 1e-40f : -0.0f;
        wrong += !nn__all_finite(v, 40);
        for (p = 0; p < 40; p++)
            for (k = 0; k < 3; k++) {
                const float keep = v[p];
                v[p] = badv[k];
                for (n = 0; n <= 40; n++) wrong += nn__all_finite(v, n) != (n <= p);
                v[p] = keep;
            }
        CHECK_MSG(wrong == 0, "nn__all_finite: %d wrong answers", wrong);
    }

    /* --- bad user data --- */
    small_model(&m, 4);
    fc = nn_fit_defaults(); fc.verbose = 0; fc.batch_size = 2; fc.epochs = 1;
    d = nn_dataset_make(x, 4, 3, y);
    CHECK_OK(nn_fit(&m, &d, NULL, &fc));
    {
        float before[64];
        memcpy(before, m.params, sizeof(float) * (size_t)m.n_params);
        x[7] = NAN;
        CHECK_ERR(nn_fit(&m, &d, NULL, &fc), NN_ERR_DATA, "feature 1 of row 2 is NaN");
        x[7] = INFINITY;
        CHECK_ERR(nn_fit(&m, &d, NULL, &fc), NN_ERR_DATA, "infinite");
        CHECK_ERR(nn_evaluate(&m, &d, NULL, NULL), NN_ERR_DATA, "infinite");
        x[7] = 8;
        y[3] = 2;
        CHECK_ERR(nn_fit(&m, &d, NULL, &fc), NN_ERR_DATA, "label 2 of row 3 is outside [0, 2)");
        y[3] = -1;
        CHECK_ERR(nn_fit(&m, &d, NULL, &fc), NN_ERR_DATA, "label -1");
        y[3] = 0;
        d.features = 4; d.n = 3;
        CHECK_ERR(nn_fit(&m, &d, NULL, &fc), NN_ERR_DATA, "rows have 4 features, the model's input takes 3");
        d = nn_dataset_make(x, 0, 3, y);
        CHECK_ERR(nn_fit(&m, &d, NULL, &fc), NN_ERR_DATA, "empty");
        CHECK_ERR(nn_evaluate(&m, &d, NULL, NULL), NN_ERR_DATA, "empty");
        d = nn_dataset_make(NULL, 4, 3, y);
        CHECK_ERR(nn_fit(&m, &d, NULL, &fc), NN_ERR_INVALID_ARG, "x is NULL");
        d = nn_dataset_make(x, 4, 3, NULL);
        CHECK_ERR(nn_fit(&m, &d, NULL, &fc), NN_ERR_DATA, "labels or one-hot targets");
        d = nn_dataset_make(x, 4, 3, y);
        fc.batch_size = 0;
        CHECK_ERR(nn_fit(&m, &d, NULL, &fc), NN_ERR_INVALID_ARG, "batch size 0");
        fc.batch_size = 5;
        CHECK_ERR(nn_fit(&m, &d, NULL, &fc), NN_ERR_INVALID_ARG, "exceeds max_batch 4");
        fc.batch_size = 2; fc.epochs = -1;
        CHECK_ERR(nn_fit(&m, &d, NULL, &fc), NN_ERR_INVALID_ARG, "epochs");
        fc.epochs = 1; fc.history_cap = 3;
        CHECK_ERR(nn_fit(&m, &d, NULL, &fc), NN_ERR_INVALID_ARG, "history");
        fc.history_cap = 0;
        {
            int32_t yv[4] = {0, 7, 1, 1};
            nn_dataset v = nn_dataset_make(x, 4, 3, yv);
            CHECK_ERR(nn_fit(&m, &d, &v, &fc), NN_ERR_DATA, "validation set): label 7");
            v.features = 2;
            CHECK_ERR(nn_fit(&m, &d, &v, &fc), NN_ERR_DATA, "validation set");
        }
        CHECK_ERR(nn_fit(&m, NULL, NULL, &fc), NN_ERR_INVALID_ARG, "NULL");
        CHECK_MSG(memcmp(before, m.params, sizeof(float) * (size_t)m.n_params) == 0, "a failed fit changed the weights");
        /* step-level calls check their batch too */
        CHECK_ERR(nn_train_step(&m, x, y, NULL, 0, 0.1f, NULL), NN_ERR_INVALID_ARG, "batch size 0");
        CHECK_ERR(nn_train_step(&m, x, y, NULL, 9, 0.1f, NULL), NN_ERR_INVALID_ARG, "max_batch");
        y[0] = 5;
        CHECK_ERR(nn_train_step(&m, x, y, NULL, 2, 0.1f, NULL), NN_ERR_DATA, "label 5");
        y[0] = 0;
        CHECK_ERR(nn_forward(&m, x, 0, NULL), NN_ERR_INVALID_ARG, "batch size 0");
        CHECK_ERR(nn_forward(&m, NULL, 1, NULL), NN_ERR_INVALID_ARG, "x is NULL");
        CHECK_ERR(nn_predict(&m, x, 0, out), NN_ERR_DATA, "n = 0");
        CHECK_ERR(nn_predict(&m, x, 2, NULL), NN_ERR_INVALID_ARG, "NULL");
        /* inference refuses what training refuses: a NaN or an infinity in the input (a ReLU
           would turn it into 0 and the output would look fine) */
        {
            const float keep = x[4];
            nn_qmodel q;
            x[4] = NAN;
            CHECK_ERR(nn_predict(&m, x, 2, out), NN_ERR_DATA, "nn_predict: feature 1 of row 1 is NaN");
            CHECK_ERR(nn_forward(&m, x, 2, NULL), NN_ERR_DATA, "nn_forward: feature 1 of row 1 is NaN");
            x[4] = -INFINITY;
            CHECK_ERR(nn_predict(&m, x, 2, out), NN_ERR_DATA, "is infinite");
            x[4] = keep;
            CHECK_OK(nn_quantize(&m, x, 4, NULL, &q));
            x[4] = NAN;
            CHECK_ERR(nn_qpredict(&q, x, 2, out), NN_ERR_DATA, "nn_qpredict: feature 1 of row 1 is NaN");
            x[4] = keep;
            CHECK_OK(nn_qpredict(&q, x, 2, out));
            nn_qmodel_free(&q);
            { /* (checked as each block of rows is quantized: the bad row in the second block of one) */
                nn_quant_config qc = nn_quant_defaults();
                qc.max_batch = 1;
                CHECK_OK(nn_quantize(&m, x, 4, &qc, &q));
                x[4] = INFINITY;
                CHECK_ERR(nn_qpredict(&q, x, 2, out), NN_ERR_DATA, "nn_qpredict: feature 1 of row 1 is infinite");
                x[4] = keep;
                nn_qmodel_free(&q);
            }
        }
    }
    nn_model_free(&m);

    /* losses that need targets */
    nn_model_init(&m, NULL);
    h = nn_input(&m, 3);
    nn_dense(&m, h, 2);
    cc = nn_compile_defaults(); cc.loss = NN_LOSS_MSE; cc.max_batch = 4;
    CHECK_OK(nn_model_compile(&m, &cc));
    d = nn_dataset_make(x, 4, 3, y);
    CHECK_ERR(nn_fit(&m, &d, NULL, &fc), NN_ERR_DATA, "needs targets");
    {
        float t[8] = {0, 1, 2, NAN, 0, 0, 0, 0};
        d.targets = t; d.n_targets = 3;
        CHECK_ERR(nn_fit(&m, &d, NULL, &fc), NN_ERR_DATA, "3 targets, the model outputs 2");
        d.n_targets = 2;
        CHECK_ERR(nn_fit(&m, &d, NULL, &fc), NN_ERR_DATA, "target 1 of row 1 is not finite");
    }
    nn_model_free(&m);

    /* inference-only models cannot train */
    nn_model_init(&m, NULL);
    h = nn_input(&m, 3);
    nn_dense(&m, h, 2);
    cc = nn_compile_defaults(); cc.inference_only = 1; cc.max_batch = 4;
    CHECK_OK(nn_model_compile(&m, &cc));
    CHECK(m.grads == NULL);
    CHECK_OK(nn_predict(&m, x, 4, out));
    d = nn_dataset_make(x, 4, 3, y);
    CHECK_ERR(nn_fit(&m, &d, NULL, &fc), NN_ERR_STATE, "inference_only");
    nn_model_free(&m);

    /* tensors */
    {
        int64_t s2[2] = {3, 4}, s3[3] = {2, 2, 2}, neg[1] = {-1};
        nn_tensor t = nn_tensor_view(x, 2, s2), v;
        v.ndim = 99;
        CHECK(nn_tensor_numel(&t) == 12);
        CHECK_ERR(nn_tensor_reshape(&t, 3, s3, &v), NN_ERR_SHAPE, "12 elements");
        CHECK(v.ndim == 99); /* untouched on failure */
        CHECK_ERR(nn_tensor_reshape(&t, 5, s3, &v), NN_ERR_INVALID_ARG, "ndim 5");
        CHECK_ERR(nn_tensor_reshape(&t, 1, neg, &v), NN_ERR_SHAPE, "negative");
        s3[2] = 3;
        CHECK_OK(nn_tensor_reshape(&t, 3, s3, &v));
        CHECK(v.data == x && v.shape[2] == 3);
    }

    /* CSV reader */
    {
        nn_dataset c;
        memset(&c, 0x55, sizeof c);
        CHECK_ERR(nn_csv_load("no/such/file.csv", -1, &c), NN_ERR_IO, "cannot open");
        CHECK(c.n == 0x5555555555555555ll); /* untouched */
        static const struct { const char *text; int label_col; nn_result code; const char *says; } bad[] = {
            {"a,b,label\n1,2,0\n3,x,1\n", -1, NN_ERR_FORMAT, ":3: column 1 (from 0, as label_col) is not a number"},
            {"a,b,label\n1,2,0\nnan,4,1\n", -1, NN_ERR_DATA, ":3: column 0 (from 0, as label_col) is NaN"},
            {"a,b,label\n1,-inf,0\n", -1, NN_ERR_DATA, ":2: column 1 (from 0, as label_col) is infinite"},
            {"a,b,label\n1,2,0\n3,4\n", -1, NN_ERR_FORMAT, ":3: expected 3"},
            {"a,b,label\n1,2,0\n3,4,1,5\n", -1, NN_ERR_FORMAT, "expected 3"},
            {"a,b,label\n1,2,0.5\n", -1, NN_ERR_DATA, "not a non-negative integer"},
            {"", -1, NN_ERR_FORMAT, "no header line and rows"},
            {"a,b,label\n", -1, NN_ERR_DATA, "no data rows"},
            {"a,b,label\n\n  \n", -1, NN_ERR_DATA, "no data rows"},
            {"a,b\n1,2\n", 5, NN_ERR_INVALID_ARG, "label column 5"},
        };
        size_t k;
        for (k = 0; k < sizeof bad / sizeof bad[0]; k++) {
            write_file(BAD_CSV, bad[k].text);
            CHECK_ERR(nn_csv_load(BAD_CSV, bad[k].label_col, &c), bad[k].code, bad[k].says);
        }
        write_file(BAD_CSV, "a,b,label\r\n1,2,0\r\n\r\n3,4,1\r\n");
        CHECK_OK(nn_csv_load(BAD_CSV, -1, &c));
        CHECK(c.n == 2 && c.features == 2 && c.x[2] == 3 && c.labels[1] == 1);
        nn_dataset_free(&c);
        CHECK_OK(nn_csv_load(BAD_CSV, -2, &c));
        CHECK(c.features == 3 && c.labels == NULL);
        d = nn_dataset_make(x, 4, 3, y);
        CHECK_ERR(nn_dataset_shuffle(&d, 1), NN_ERR_INVALID_ARG, "does not own");
        nn_dataset_free(&c);
        remove(BAD_CSV);
    }
    CHECK(strcmp(nn_result_string(NN_ERR_SHAPE), "shape mismatch") == 0);
    return t_summary("test_errors");
}
