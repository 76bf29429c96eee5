/* cc -std=c99 -O2 -march=native -fopenmp examples/digits.c -lm -o digits && ./digits
   The demo (make demo): an MLP learns the UCI handwritten digits (8x8, data/digits.csv),
   prints the held-out accuracy, draws a few test digits beside their predicted class and
   writes the training history to digits_history.csv and digits_history.svg. Given a second
   path, it saves the trained model there (examples/embedded_digits.c embeds that file); given
   a third, an int8 version of it, calibrated on 500 training images (examples/firmware_int8.c).
   Usage: ./digits [path/to/digits.csv [model.safetensors [model_int8.safetensors]]] */
#define NN_IMPLEMENTATION
#include "../nn.h"
#include <stdio.h>
#include <stdlib.h>

#define EPOCHS 40

/* One chart panel: two series (train, validation) over epochs, as SVG polylines. */
static void svg_panel(FILE *f, double x0, double y0, double w, double h, const char *title,
                      const float *a, const float *b, int n, double lo, double hi) {
    int i, k;
    fprintf(f, "<g font-family='sans-serif' font-size='12'>\n");
    fprintf(f, "<text x='%.0f' y='%.0f' font-size='14'>%s</text>\n", x0, y0 - 8, title);
    fprintf(f, "<rect x='%.0f' y='%.0f' width='%.0f' height='%.0f' fill='none' stroke='#888'/>\n", x0, y0, w, h);
    for (k = 0; k <= 4; k++) { /* horizontal grid and y labels */
        double v = lo + (hi - lo) * k / 4, y = y0 + h - h * k / 4;
        fprintf(f, "<line x1='%.0f' y1='%.1f' x2='%.0f' y2='%.1f' stroke='#ddd'/>\n", x0, y, x0 + w, y);
        fprintf(f, "<text x='%.0f' y='%.1f' text-anchor='end'>%.2f</text>\n", x0 - 4, y + 4, v);
    }
    fprintf(f, "<text x='%.0f' y='%.0f' text-anchor='middle'>epoch</text>\n", x0 + w / 2, y0 + h + 30);
    fprintf(f, "<text x='%.0f' y='%.0f' text-anchor='middle'>1</text>\n", x0, y0 + h + 15);
    fprintf(f, "<text x='%.0f' y='%.0f' text-anchor='middle'>%d</text>\n", x0 + w, y0 + h + 15, n);
    for (k = 0; k < 2; k++) {
        const float *s = k ? b : a;
        fprintf(f, "<polyline fill='none' stroke='%s' stroke-width='2' points='", k ? "#d62728" : "#1f77b4");
        for (i = 0; i < n; i++) {
            double v = s[i] < lo ? lo : s[i] > hi ? hi : s[i];
            fprintf(f, "%.1f,%.1f ", x0 + (n > 1 ? w * i / (n - 1) : 0), y0 + h - h * (v - lo) / (hi - lo));
        }
        fprintf(f, "'/>\n");
    }
    /* legend at mid-height: loss curves sit low, accuracy curves high */
    fprintf(f, "<text x='%.0f' y='%.0f' fill='#1f77b4'>train</text>\n", x0 + w - 90, y0 + h / 2 - 8);
    fprintf(f, "<text x='%.0f' y='%.0f' fill='#d62728'>validation</text>\n", x0 + w - 90, y0 + h / 2 + 8);
    fprintf(f, "</g>\n");
}

static int write_history(const nn_epoch_stats *h, int n) {
    float tl[EPOCHS], vl[EPOCHS], ta[EPOCHS], va[EPOCHS], hi = 0, lo_acc = 0.5f;
    FILE *f = fopen("digits_history.csv", "w");
    int i;
    if (!f) return 1;
    fprintf(f, "epoch,loss,acc,val_loss,val_acc,lr,seconds\n");
    for (i = 0; i < n; i++) {
        fprintf(f, "%d,%.6f,%.6f,%.6f,%.6f,%g,%.4f\n", h[i].epoch, h[i].loss, h[i].acc, h[i].val_loss, h[i].val_acc,
                h[i].lr, h[i].seconds);
        tl[i] = h[i].loss; vl[i] = h[i].val_loss; ta[i] = h[i].acc; va[i] = h[i].val_acc;
        if (tl[i] > hi) hi = tl[i];
        if (vl[i] > hi) hi = vl[i];
        while (ta[i] < lo_acc || va[i] < lo_acc) lo_acc -= 0.1f;
    }
    fclose(f);
    f = fopen("digits_history.svg", "w");
    if (!f) return 1;
    fprintf(f, "<svg xmlns='http://www.w3.org/2000/svg' width='900' height='360' viewBox='0 0 900 360'>\n");
    fprintf(f, "<rect width='900' height='360' fill='white'/>\n");
    svg_panel(f, 60, 40, 360, 260, "loss (cross-entropy)", tl, vl, n, 0.0, hi);
    svg_panel(f, 510, 40, 360, 260, "accuracy", ta, va, n, lo_acc, 1.0);
    fprintf(f, "</svg>\n");
    fclose(f);
    return 0;
}

/* An 8x8 digit (values 0..1) as ASCII art, one row per call. */
static void art_row(const float *img, int r) {
    static const char ramp[] = " .:-=+*#%@";
    int c;
    for (c = 0; c < 8; c++) {
        int k = (int)(img[r * 8 + c] * 9.0f + 0.5f);
        putchar(ramp[k < 0 ? 0 : k > 9 ? 9 : k]);
        putchar(ramp[k < 0 ? 0 : k > 9 ? 9 : k]);
    }
}

int main(int argc, char **argv) {
    const char *path = argc > 1 ? argv[1] : "data/digits.csv";
    nn_dataset all, train, val, test;
    nn_model m;
    nn_compile_config cc;
    nn_fit_config fc;
    nn_epoch_stats hist[EPOCHS];
    float acc, loss, *x, out[6 * 10];
    int h, i, r, k;

    if (nn_csv_load(path, -1, &all) != NN_OK) {
        fprintf(stderr, "digits: %s\n(run from the repository root, or give the path to digits.csv)\n", nn_error());
        return 1;
    }
    x = (float *)all.owned; /* the loader's block starts with the features: scale 0..16 to 0..1 */
    for (i = 0; i < all.n * all.features; i++) x[i] /= 16.0f;
    nn_dataset_shuffle(&all, 7);
    test = nn_dataset_slice(&all, 0, 360);
    val = nn_dataset_slice(&all, 360, 180);
    train = nn_dataset_slice(&all, 540, -1);
    printf("digits: %lld training, %lld validation, %lld test images (8x8)\n", (long long)train.n, (long long)val.n,
           (long long)test.n);

    nn_model_init(&m, NULL);
    h = nn_input(&m, 64);
    h = nn_dense_ex(&m, h, 64, 1, NN_INIT_HE_UNIFORM);
    h = nn_relu(&m, h);
    h = nn_dropout(&m, h, 0.25f);
    nn_dense(&m, h, 10);
    cc = nn_compile_defaults();
    cc.loss = NN_LOSS_XENT;
    cc.optimizer = nn_adam(2e-3f);
    cc.optimizer.schedule = NN_SCHED_COSINE;
    cc.optimizer.t_max = EPOCHS;
    cc.max_batch = 32;
    cc.seed = 1;
    if (nn_model_compile(&m, &cc) != NN_OK) { fprintf(stderr, "digits: %s\n", nn_error()); return 1; }

    fc = nn_fit_defaults();
    fc.epochs = EPOCHS;
    fc.batch_size = 32;
    fc.history = hist;
    fc.history_cap = EPOCHS;
    if (nn_fit(&m, &train, &val, &fc) != NN_OK) { fprintf(stderr, "digits: %s\n", nn_error()); return 1; }

    nn_evaluate(&m, &test, &loss, &acc);
    printf("test loss: %.4f\n", loss);
    printf("test accuracy: %.1f%%\n", 100.0 * acc);

    /* six test digits side by side, with the predicted and true class */
    nn_predict(&m, test.x, 6, out);
    printf("\n");
    for (k = 0; k < 6; k++) printf("pred %d (true %d)   ", (int)nn_argmax(out + 10 * k, 10), test.labels[k]);
    printf("\n");
    for (r = 0; r < 8; r++) {
        for (k = 0; k < 6; k++) { art_row(test.x + 64 * k, r); printf("   "); }
        printf("\n");
    }
    if (write_history(hist, fc.epochs_run) == 0)
        printf("\nhistory written to digits_history.csv and digits_history.svg\n");
    if (argc > 2) {
        if (nn_save(&m, argv[2]) != NN_OK) { fprintf(stderr, "digits: %s\n", nn_error()); return 1; }
        printf("model saved to %s\n", argv[2]);
    }
    if (argc > 3) {
        nn_qmodel q;
        float *qout = (float *)malloc(sizeof(float) * 10 * (size_t)test.n);
        int64_t right = 0;
        if (!qout || nn_quantize(&m, train.x, 500, NULL, &q) != NN_OK || nn_qpredict(&q, test.x, test.n, qout) != NN_OK ||
            nn_qsave(&q, argv[3]) != NN_OK) {
            fprintf(stderr, "digits: %s\n", nn_error());
            return 1;
        }
        for (k = 0; k < test.n; k++) right += nn_argmax(qout + 10 * k, 10) == test.labels[k];
        printf("int8 model saved to %s: test accuracy %.1f%%\n", argv[3], 100.0 * (double)right / (double)test.n);
        nn_qmodel_free(&q);
        free(qout);
    }
    nn_model_free(&m);
    nn_dataset_free(&all);
    return 0;
}
