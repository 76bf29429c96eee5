/* bench/ab NET [STEPS]: two versions of nn.h (sides a and b, bench/ab_side.c) train the same
   network on the same Fashion-MNIST batches in one process, a step of one next to a step of the
   other (which goes first alternates), and it prints
     ab NET steps=S a_us=<median step> b_us=<median step> b_over_a=<median of the pairs' ratios>
   On a shared machine whose speed drifts by 20% from minute to minute, epochs timed one after
   the other cannot show a few percent; pairs of steps can. Placement in memory alone reads
   about 0.99 (the same nn.h on both sides): run both orders (make ab does) and take the
   geometric mean. */
#include "common.h"
#include <stdint.h>

void *ab_make_a(const char *net, int batch);
void *ab_make_b(const char *net, int batch);
double ab_step_a(void *m, const float *x, const int32_t *y, int batch);
double ab_step_b(void *m, const float *x, const int32_t *y, int batch);
long ab_data_a(float **x, int32_t **y);

int main(int argc, char **argv) {
    const char *net = argc > 1 ? argv[1] : "cnn-32-64";
    const int steps = argc > 2 ? atoi(argv[2]) : 300, batch = 64;
    double *ta = (double *)malloc(sizeof(double) * (size_t)steps), *tb = (double *)malloc(sizeof(double) * (size_t)steps);
    double *q = (double *)malloc(sizeof(double) * (size_t)steps);
    float *x;
    int32_t *y;
    const long n = ab_data_a(&x, &y);
    void *a = ab_make_a(net, batch), *b = ab_make_b(net, batch);
    int i;
    (void)now_s; /* (common.h's, which the sides use) */
    if (n < batch || steps < 1 || !ta || !tb || !q || !a || !b) { fprintf(stderr, "ab: no data or memory\n"); return 1; }
    for (i = 0; i < steps; i++) {
        const long k = (long)i * batch % (n / batch * batch);
        if (i & 1) {
            tb[i] = ab_step_b(b, x + k * 784, y + k, batch);
            ta[i] = ab_step_a(a, x + k * 784, y + k, batch);
        } else {
            ta[i] = ab_step_a(a, x + k * 784, y + k, batch);
            tb[i] = ab_step_b(b, x + k * 784, y + k, batch);
        }
        q[i] = tb[i] / ta[i];
    }
    printf("ab %s steps=%d a_us=%.1f b_us=%.1f b_over_a=%.3f\n", net, steps, 1e6 * median(ta, steps),
           1e6 * median(tb, steps), median(q, steps));
    return 0;
}
