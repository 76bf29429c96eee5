/* The gradient check shared by the test files (include after nn.h and test.h): the analytic
   gradient of the model's loss with respect to every parameter, from nn_model_backward,
   against central differences (L(p+e) - L(p-e)) / 2e. It fails above a relative error
   ||a - n|| / (||a|| + ||n||) of 1e-3, or when the gradient is zero (a backward that does
   nothing must not pass). Returns the relative error. */
#ifndef NN_TEST_GRADCHECK_H
#define NN_TEST_GRADCHECK_H
#include <stdlib.h>

static double t_grad_check(nn_model *m, const float *x, const int32_t *lab, const float *tg, int64_t B, float eps,
                           const char *name) {
    const int64_t n = m->n_params;
    float *ga = (float *)malloc(sizeof(float) * (size_t)(n + 1)), loss, lp, lm;
    double num = 0, den_a = 0, den_n = 0, rel;
    int64_t i;
    CHECK_OK(nn_model_backward(m, x, lab, tg, B, &loss));
    memcpy(ga, m->grads, sizeof(float) * (size_t)n);
    for (i = 0; i < n; i++) {
        const float p = m->params[i];
        double g;
        m->params[i] = p + eps; nn_model_backward(m, x, lab, tg, B, &lp);
        m->params[i] = p - eps; nn_model_backward(m, x, lab, tg, B, &lm);
        m->params[i] = p;
        g = ((double)lp - (double)lm) / (2.0 * eps);
        num += (ga[i] - g) * (ga[i] - g);
        den_a += (double)ga[i] * ga[i];
        den_n += g * g;
    }
    free(ga);
    rel = sqrt(num) / (sqrt(den_a) + sqrt(den_n) + 1e-12);
    CHECK_MSG(rel < 1e-3 && den_a > 0, "%s: relative error %.3g, |grad| %.3g", name, rel, sqrt(den_a));
    printf("  %-34s rel err %.2e  (%lld params, loss %.4f)\n", name, rel, (long long)n, loss);
    return rel;
}
#endif
