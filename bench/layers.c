/* bench/layers NET [steps]: where one training step's time goes, layer by layer (white box:
   it calls the header's internal per-layer functions). Batch 64, Adam, synthetic input; the
   means over the steps (and the median step), so run it on a quiet machine and repeat:
     layer I type T size S fwd_us= bwd_us=
     step NET check_us= zero_us= loss_us= optimizer_us= total_us= median_us= epoch_s= (60000 images) */
#include "common.h" /* first: it sets _POSIX_C_SOURCE */
#define NN_IMPLEMENTATION
#include "../nn.h"
#include "models.h"

int main(int argc, char **argv) {
    const char *name = argc > 1 ? argv[1] : "lenet5";
    const int reps = argc > 2 && atoi(argv[2]) > 0 && atoi(argv[2]) <= 1000 ? atoi(argv[2]) : 300, B = 64;
    nn_model m;
    nn_compile_config cc = nn_compile_defaults();
    float *x = (float *)malloc(sizeof(float) * 784 * B);
    int32_t y[64];
    double tf[64] = {0}, tb[64] = {0}, tc = 0, tz = 0, tl = 0, ts = 0, tot, steps[1000];
    int i, r;
    for (i = 0; i < 784 * B; i++) x[i] = (float)((i * 7919) % 1000) / 1000.0f;
    for (i = 0; i < B; i++) y[i] = i % 10;
    nn_model_init(&m, NULL);
    if (build_net(&m, name) < 0 || m.n_layers > 64) { fprintf(stderr, "unknown network '%s'\n", name); return 2; }
    cc.optimizer = nn_adam(1e-3f);
    cc.max_batch = B;
    if (nn_model_compile(&m, &cc) != NN_OK) { fprintf(stderr, "%s\n", nn_error()); return 1; }
    for (r = 0; r < 20; r++) nn_train_step(&m, x, y, NULL, B, 1e-3f, NULL);
    for (r = 0; r < reps; r++) { /* nn_train_step's parts, timed one by one */
        double t = now_s(), u, st[3] = {0, 0, 0};
        const double t0 = t;
        m.training = 1;
        nn__check_rows(&m, "layers", x, y, NULL, B, 784, 10, 1);
        u = now_s(); tc += u - t; t = u;
        m.layers[0].y = x;
        for (i = 1; i < m.n_layers; i++) { nn__ops(m.layers[i].type)->forward(&m, &m.layers[i], B); u = now_s(); tf[i] += u - t; t = u; }
        for (i = 1; i < m.n_layers; i++) {
            nn_layer *l = &m.layers[i];
            if (l->dy && !nn__is_view(l->type) && !l->assign_dy) m.backend->zero(m.backend->ctx, l->dy, B * l->size);
        }
        u = now_s(); tz += u - t; t = u;
        nn__loss(&m, y, NULL, B, m.layers[m.n_layers - 1].dy, st);
        u = now_s(); tl += u - t; t = u;
        for (i = m.n_layers - 1; i >= 1; i--)
            if (m.layers[i].dy && nn__ops(m.layers[i].type)->backward) { nn__ops(m.layers[i].type)->backward(&m, &m.layers[i], B); u = now_s(); tb[i] += u - t; t = u; }
        nn__clip_and_step(&m, 1e-3f);
        u = now_s(); ts += u - t;
        steps[r] = u - t0;
    }
    tot = tc + tz + tl + ts;
    for (i = 1; i < m.n_layers; i++) {
        tot += tf[i] + tb[i];
        printf("layer %d type %s size %lld fwd_us=%.1f bwd_us=%.1f\n", i, nn__layer_name(m.layers[i].type),
               (long long)m.layers[i].size, 1e6 * tf[i] / reps, 1e6 * tb[i] / reps);
    }
    printf("step %s check_us=%.1f zero_us=%.1f loss_us=%.1f optimizer_us=%.1f total_us=%.1f median_us=%.1f epoch_s=%.3f "
           "threads=%d\n", name, 1e6 * tc / reps, 1e6 * tz / reps, 1e6 * tl / reps, 1e6 * ts / reps, 1e6 * tot / reps,
           1e6 * median(steps, reps), median(steps, reps) * 60000.0 / B, nn_get_threads());
    nn_model_free(&m);
    free(x);
    return 0;
}
