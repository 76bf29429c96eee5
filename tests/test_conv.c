/* Convolution and pooling against direct loops (every geometry: stride, padding, dilation,
   groups, depthwise, 1x1), forward and backward, and the conv/pool/batchnorm/reshape layers
   against central finite differences. */
#define NN_IMPLEMENTATION
#include "../nn.h"
#include "test.h"
#include "gradcheck.h"

static uint64_t rs = 4242;
static float frand(void) { rs = rs * 6364136223846793005ull + 1442695040888963407ull; return (float)((rs >> 40) / 16777216.0) * 2.0f - 1.0f; }
static float *rnd(int64_t n) { float *p = (float *)malloc(sizeof(float) * (size_t)(n + 1)); int64_t i; for (i = 0; i < n; i++) p[i] = frand(); return p; }

/* y[n][o][oh][ow] = b[o] + sum_{c in group, i, j} w[o][c][i][j] x[n][g*Cg + c][oh*S - P + i*D][ow*S - P + j*D] */
static double ref_conv_at(const nn_conv2d_desc *d, const float *x, const float *w, const float *b, int64_t n, int64_t o,
                          int64_t oh, int64_t ow) {
    const int64_t cg = d->C / d->G, g = o / (d->OC / d->G);
    double s = b ? b[o] : 0.0;
    int64_t c, i, j;
    for (c = 0; c < cg; c++)
        for (i = 0; i < d->KH; i++)
            for (j = 0; j < d->KW; j++) {
                const int64_t ih = oh * d->SH - d->PH + i * d->DH, iw = ow * d->SW - d->PW + j * d->DW;
                if (ih < 0 || ih >= d->H || iw < 0 || iw >= d->W) continue;
                s += (double)w[((o * cg + c) * d->KH + i) * d->KW + j] * x[((n * d->C + g * cg + c) * d->H + ih) * d->W + iw];
            }
    return s;
}

static int square; /* conv_case's kernels are K x (K + 1) unless this is set */
static void conv_case(int64_t N, int64_t C, int64_t H, int64_t W, int64_t OC, int64_t K, int64_t S, int64_t P,
                      int64_t D, int64_t G) {
    nn_conv2d_desc d;
    float *x, *w, *b, *y, *dy, *dx, *dw, *db, *ws;
    int64_t ny, nw, nx, n, o, oh, ow, i;
    double worst = 0, worst_dw = 0, worst_dx = 0, worst_db = 0;
    memset(&d, 0, sizeof d);
    d.C = C; d.H = H; d.W = W; d.OC = OC; d.KH = K; d.KW = K + (K > 1 && !square); /* non-square kernels too */
    d.SH = S; d.SW = S; d.PH = P; d.PW = P; d.DH = D; d.DW = 1; d.G = G;
    if (nn_conv2d_desc_init(&d) != NN_OK) { CHECK_OK(NN_ERR_SHAPE); return; }
    nx = N * C * H * W; nw = OC * (C / G) * d.KH * d.KW; ny = N * OC * d.OH * d.OW;
    x = rnd(nx); w = rnd(nw); b = rnd(OC); dy = rnd(ny);
    y = (float *)calloc((size_t)ny, sizeof(float)); dx = (float *)calloc((size_t)nx, sizeof(float));
    dw = (float *)calloc((size_t)nw, sizeof(float)); db = (float *)calloc((size_t)OC, sizeof(float));
    ws = (float *)malloc(sizeof(float) * (size_t)(nn_conv2d_workspace_floats(&d) + 1));
    for (i = 0; i < nx; i++) dx[i] = 0.25f * (float)(i % 5); /* the input gradient is added to dx */
    nn_conv2d_forward(&d, N, y, x, w, b, ws);
    for (n = 0; n < N; n++) for (o = 0; o < OC; o++) for (oh = 0; oh < d.OH; oh++) for (ow = 0; ow < d.OW; ow++) {
        double e = fabs(y[((n * OC + o) * d.OH + oh) * d.OW + ow] - ref_conv_at(&d, x, w, b, n, o, oh, ow));
        if (e > worst) worst = e;
    }
    nn_conv2d_backward(&d, N, dx, dw, db, dy, x, w, ws);
    /* backward by the adjoint: dW = sum dy * x-window, dx = sum dy * w, db = sum dy */
    {
        const int64_t cg = C / G;
        double *rdx = (double *)calloc((size_t)nx, sizeof(double)), *rdw = (double *)calloc((size_t)nw, sizeof(double));
        double *adw = (double *)calloc((size_t)nw, sizeof(double)); /* sum of |terms| of each dw */
        int64_t c, j;
        for (i = 0; i < nx; i++) rdx[i] = 0.25 * (double)(i % 5);
        for (n = 0; n < N; n++) for (o = 0; o < OC; o++) for (oh = 0; oh < d.OH; oh++) for (ow = 0; ow < d.OW; ow++) {
            const double g = dy[((n * OC + o) * d.OH + oh) * d.OW + ow];
            const int64_t gi = o / (OC / G);
            for (c = 0; c < cg; c++) for (i = 0; i < d.KH; i++) for (j = 0; j < d.KW; j++) {
                const int64_t ih = oh * d.SH - d.PH + i * d.DH, iw = ow * d.SW - d.PW + j * d.DW;
                const int64_t wi = ((o * cg + c) * d.KH + i) * d.KW + j, xi = ((n * C + gi * cg + c) * H + ih) * W + iw;
                if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
                rdw[wi] += g * x[xi];
                adw[wi] += fabs(g * x[xi]);
                rdx[xi] += g * w[wi];
            }
        }
        for (i = 0; i < nw; i++) { /* a float sum of N*OH*OW terms, as db below */
            const double e = fabs(dw[i] - rdw[i]) / (adw[i] > 1 ? adw[i] / 100 : 1);
            if (e > worst_dw) worst_dw = e;
        }
        for (i = 0; i < nx; i++) if (fabs(dx[i] - rdx[i]) > worst_dx) worst_dx = fabs(dx[i] - rdx[i]);
        for (o = 0; o < OC; o++) { /* a float sum of N*OH*OW terms: its error relative to sum |dy| */
            double s = 0, sa = 0;
            for (n = 0; n < N; n++) for (i = 0; i < d.OH * d.OW; i++) {
                s += dy[(n * OC + o) * d.OH * d.OW + i];
                sa += fabs(dy[(n * OC + o) * d.OH * d.OW + i]);
            }
            if (fabs(db[o] - s) / (sa > 1 ? sa / 100 : 1) > worst_db) worst_db = fabs(db[o] - s) / (sa > 1 ? sa / 100 : 1);
        }
        free(rdx); free(rdw); free(adw);
    }
    CHECK_MSG(worst < 1e-4 && worst_dw < 1e-4 && worst_dx < 1e-4 && worst_db < 1e-4,
              "conv N%lld C%lld %lldx%lld OC%lld K%lld S%lld P%lld D%lld G%lld: max err y %.2g dw %.2g dx %.2g db %.2g",
              (long long)N, (long long)C, (long long)H, (long long)W, (long long)OC, (long long)K, (long long)S,
              (long long)P, (long long)D, (long long)G, worst, worst_dw, worst_dx, worst_db);
    free(x); free(w); free(b); free(y); free(dy); free(dx); free(dw); free(db); free(ws);
}

static void pool_case(nn_pool_kind kind, int64_t N, int64_t C, int64_t H, int64_t W, int64_t K, int64_t S, int64_t P) {
    nn_pool2d_desc d;
    float *x, *y, *dy, *dx;
    double *rdx, worst = 0, worst_dx = 0;
    int64_t n, c, oh, ow, i, j, nx, ny;
    memset(&d, 0, sizeof d);
    d.kind = kind; d.C = C; d.H = H; d.W = W; d.KH = K; d.KW = K; d.SH = S; d.SW = S; d.PH = P; d.PW = P;
    if (nn_pool2d_desc_init(&d) != NN_OK) { CHECK_OK(NN_ERR_SHAPE); return; }
    nx = N * C * H * W; ny = N * C * d.OH * d.OW;
    x = rnd(nx); dy = rnd(ny);
    y = (float *)calloc((size_t)ny, sizeof(float)); dx = (float *)calloc((size_t)nx, sizeof(float));
    rdx = (double *)calloc((size_t)nx, sizeof(double));
    nn_pool2d_forward(&d, N, y, x);
    nn_pool2d_backward(&d, N, dx, x, dy);
    for (n = 0; n < N; n++) for (c = 0; c < C; c++) for (oh = 0; oh < d.OH; oh++) for (ow = 0; ow < d.OW; ow++) {
        const float *xc = x + (n * C + c) * H * W;
        const double g = dy[((n * C + c) * d.OH + oh) * d.OW + ow];
        double v = kind == NN_POOL_MAX ? -1e30 : 0.0;
        int64_t arg = -1;
        for (i = 0; i < K; i++) for (j = 0; j < K; j++) {
            const int64_t ih = oh * S - P + i, iw = ow * S - P + j;
            if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
            if (kind == NN_POOL_MAX) { if (xc[ih * W + iw] > v) { v = xc[ih * W + iw]; arg = ih * W + iw; } }
            else v += xc[ih * W + iw];
        }
        if (kind == NN_POOL_AVG) { /* torch count_include_pad: the window size (padding inside the kernel counts) */
            v /= (double)(K * K);
            for (i = 0; i < K; i++) for (j = 0; j < K; j++) {
                const int64_t ih = oh * S - P + i, iw = ow * S - P + j;
                if (ih >= 0 && ih < H && iw >= 0 && iw < W) rdx[(n * C + c) * H * W + ih * W + iw] += g / (double)(K * K);
            }
        } else rdx[(n * C + c) * H * W + arg] += g;
        if (fabs(v - y[((n * C + c) * d.OH + oh) * d.OW + ow]) > worst) worst = fabs(v - y[((n * C + c) * d.OH + oh) * d.OW + ow]);
    }
    for (i = 0; i < nx; i++) if (fabs(dx[i] - rdx[i]) > worst_dx) worst_dx = fabs(dx[i] - rdx[i]);
    CHECK_MSG(worst < 1e-5 && worst_dx < 1e-5, "%s pool N%lld C%lld %lldx%lld K%lld S%lld P%lld: max err y %.2g dx %.2g",
              kind == NN_POOL_MAX ? "max" : "avg", (long long)N, (long long)C, (long long)H, (long long)W, (long long)K,
              (long long)S, (long long)P, worst, worst_dx);
    free(x); free(y); free(dy); free(dx); free(rdx);
}

/* 2x2 stride-2 max pooling (its own fast path) bit for bit against a plain loop, on rows of
   several 16-output blocks plus tails, rows of 8 or fewer outputs (two to a vector), odd sides,
   many ties, signed zeros and NaNs: the first maximum wins, a NaN counts as the largest,
   gradients land only there. The gradient both added to dx and assigned over garbage (the
   model's path when dx has one writer). And the pooling of relu(x) that keeps a record of its
   windows for a backward pass that reads neither x nor y (a fused ReLU's). */
static int same_bits(float a, float b) { return memcmp(&a, &b, sizeof a) == 0; }
static void pool2x2_exact(int64_t H, int64_t W) {
    const int64_t N = 2, C = 3, OH = H / 2, OW = W / 2, nx = N * C * H * W, ny = N * C * OH * OW;
    nn_pool2d_desc d;
    float *x = rnd(nx), *dy = rnd(ny), *y = (float *)calloc((size_t)ny, sizeof(float));
    float *dx = (float *)calloc((size_t)nx, sizeof(float)), *rdx = (float *)calloc((size_t)nx, sizeof(float));
    float *adx = (float *)calloc((size_t)nx, sizeof(float)), *ardx = (float *)calloc((size_t)nx, sizeof(float));
    float *ry = (float *)calloc((size_t)ny, sizeof(float)), *rrdx = (float *)calloc((size_t)nx, sizeof(float));
    float *rdx2 = (float *)calloc((size_t)nx, sizeof(float)), *radx = (float *)calloc((size_t)nx, sizeof(float));
    float *rardx = (float *)calloc((size_t)nx, sizeof(float));
    uint8_t *rec = (uint8_t *)calloc((size_t)ny, 1);
    const float levels[5] = {-1.0f, 0.0f, -0.0f, 0.5f, 0.5f};
    int64_t i, t, oh, ow, bad_y = 0, bad_dx = 0, bad_adx = 0, bad_ry = 0, bad_rdx = 0;
    volatile float zero = 0.0f;
    for (i = 0; i < nx; i++) /* (hashed levels: ties between every pair of a window's places) */
        x[i] = i % 97 == 5 ? zero / zero : levels[((uint32_t)i * 2654435761u >> 20) % 5];
    for (i = 0; i < nx; i++) dx[i] = rdx[i] = rdx2[i] = rrdx[i] = i % 11 == 0 ? -0.0f : 0.25f;
    memset(&d, 0, sizeof d);
    d.kind = NN_POOL_MAX; d.C = C; d.H = H; d.W = W; d.KH = d.KW = 2; d.SH = d.SW = 2;
    CHECK_OK(nn_pool2d_desc_init(&d));
    nn_pool2d_forward(&d, N, y, x);
    nn_pool2d_backward(&d, N, dx, x, dy);
    for (i = 0; i < nx; i++) adx[i] = zero / zero;
    nn__pool2d_backward(0, &d, N, adx, x, dy);
    /* the pooling of relu(x) keeping its record, and the gradients from the record alone */
    nn__pool2x2_forward(&d, N, ry, rec, x);
    nn__pool2x2_backward(1, &d, N, rdx2, NULL, rec, dy);
    for (i = 0; i < nx; i++) radx[i] = zero / zero;
    nn__pool2x2_backward(0, &d, N, radx, NULL, rec, dy);
    for (t = 0; t < N * C; t++)
        for (oh = 0; oh < OH; oh++)
            for (ow = 0; ow < OW; ow++) {
                const int64_t base = t * H * W + 2 * oh * W + 2 * ow;
                const int64_t at[4] = {base, base + 1, base + W, base + W + 1};
                int q, best = 0;
                for (q = 1; q < 4; q++)
                    if (x[at[q]] > x[at[best]] || (x[at[q]] != x[at[q]] && x[at[best]] == x[at[best]])) best = q;
                const int pos = x[at[best]] > 0.0f; /* (the ReLU's gradient: 0 where not positive) */
                bad_y += !same_bits(y[(t * OH + oh) * OW + ow], x[at[best]]);
                bad_ry += !same_bits(ry[(t * OH + oh) * OW + ow], pos ? x[at[best]] : 0.0f);
                rdx[at[best]] += dy[(t * OH + oh) * OW + ow];
                ardx[at[best]] += dy[(t * OH + oh) * OW + ow];
                rrdx[at[best]] += pos ? dy[(t * OH + oh) * OW + ow] : 0.0f;
                rardx[at[best]] += pos ? dy[(t * OH + oh) * OW + ow] : 0.0f;
            }
    for (i = 0; i < nx; i++) bad_dx += !same_bits(dx[i], rdx[i]);
    for (i = 0; i < nx; i++) bad_adx += !same_bits(adx[i], ardx[i]);
    for (i = 0; i < nx; i++) bad_rdx += !same_bits(rdx2[i], rrdx[i]) + !same_bits(radx[i], rardx[i]);
    CHECK_MSG(bad_y == 0 && bad_dx == 0 && bad_adx == 0,
              "maxpool 2x2 on %lldx%lld: %lld outputs, %lld added and %lld assigned gradients differ", (long long)H,
              (long long)W, (long long)bad_y, (long long)bad_dx, (long long)bad_adx);
    CHECK_MSG(bad_ry == 0 && bad_rdx == 0, "maxpool 2x2 of relu on %lldx%lld with its record: %lld outputs, %lld gradients differ",
              (long long)H, (long long)W, (long long)bad_ry, (long long)bad_rdx);
    free(x); free(dy); free(y); free(dx); free(rdx); free(adx); free(ardx);
    free(ry); free(rrdx); free(rdx2); free(radx); free(rardx); free(rec);
}

/* gradient check of a whole model on random inputs; biases get nonzero values first */
static float fd_step = 2e-3f; /* grad_check's central-difference step */
static void grad_check(nn_model *m, int64_t B, const char *name) {
    static float x[3 * 3 * 11 * 11];
    int32_t lab[3] = {1, 4, 2};
    int64_t i, nin = B * nn_model_input_size(m);
    for (i = 0; i < nin; i++) x[i] = frand();
    for (i = 0; i < m->n_params; i++) if (m->params[i] == 0.0f) m->params[i] = 0.1f * frand();
    t_grad_check(m, x, lab, NULL, B, fd_step, name);
}

/* d(sum(r * pool(x)))/dx by central differences against nn_pool2d_backward */
static void pool_fd(nn_pool_kind kind, int64_t K, int64_t S) {
    enum { N = 2, C = 2, H = 7, W = 6, NX = N * C * H * W };
    nn_pool2d_desc d;
    float x[NX], dx[NX], y[NX], r[NX];
    int64_t i, j, ny;
    double num = 0, den = 0;
    memset(&d, 0, sizeof d);
    d.kind = kind; d.C = C; d.H = H; d.W = W; d.KH = d.KW = K; d.SH = d.SW = S; d.PH = d.PW = K / 2;
    CHECK_OK(nn_pool2d_desc_init(&d));
    ny = N * C * d.OH * d.OW;
    for (i = 0; i < NX; i++) x[i] = 0.01f * (float)((i * 37) % NX) - 1.0f; /* distinct, 0.01 apart */
    for (i = 0; i < ny; i++) r[i] = frand();
    memset(dx, 0, sizeof dx);
    nn_pool2d_backward(&d, N, dx, x, r);
    for (i = 0; i < NX; i++) {
        const float v = x[i], e = 1e-3f;
        double lp = 0, lm = 0, g;
        x[i] = v + e; nn_pool2d_forward(&d, N, y, x); for (j = 0; j < ny; j++) lp += (double)r[j] * y[j];
        x[i] = v - e; nn_pool2d_forward(&d, N, y, x); for (j = 0; j < ny; j++) lm += (double)r[j] * y[j];
        x[i] = v;
        g = (lp - lm) / (2.0 * e);
        num += (dx[i] - g) * (dx[i] - g);
        den += g * g;
    }
    CHECK_MSG(sqrt(num) / (sqrt(den) + 1e-12) < 1e-3 && den > 0, "%s pool %lldx%lld stride %lld: input gradient off by %.3g",
              kind == NN_POOL_MAX ? "max" : "avg", (long long)K, (long long)K, (long long)S, sqrt(num) / (sqrt(den) + 1e-12));
}

static nn_model *start(nn_model *m, int64_t C, int64_t H, int64_t W) {
    nn_model_init(m, NULL);
    nn_input_image(m, C, H, W);
    return m;
}
static void finish(nn_model *m, int h, const char *name) {
    nn_compile_config cc = nn_compile_defaults();
    h = nn_flatten(m, h);
    nn_dense(m, h, 5);
    cc.max_batch = 3;
    if (nn_model_compile(m, &cc) != NN_OK) { CHECK_MSG(0, "%s: %s", name, nn_error()); return; }
    grad_check(m, 3, name);
    nn_model_free(m);
}

/* A ReLU read only by a max pooling is computed by the pooling (nn__plan_fuse): outputs, loss,
   every gradient and the ReLU's activation equal a twin whose leaky ReLU of slope 0 is not fused
   (== : a slope of 0 gives -0 where the ReLU gives 0). Variant 0: 2x2 pooling of an odd side and
   a 3x3 stride-2 padded one (the generic kernel), batch 3. Variant 1: 2x2 pooling of even sides
   wider than a vector (36x34: 17 outputs a row), of a convolution that a second branch also
   reads, so that the pooling adds to its gradient. Variant 2: the CNN's kind, 5x5 convolutions
   of 32 and 16 channels on 13x11 images. The first convolution of every variant but 1, needing no
   input gradient, takes its weight gradient from its pooling's (conv2d_backward_pooled), and its
   pooling computes it (conv2d_maxpool2x2_relu_forward), the convolution's output never written:
   through the row kernel's tiles in variants 3 (12 channels 5x5 on 21x40: an odd height, 20
   outputs a row) and 4 (8 channels 3x3 of 2 on 28x30), through Winograd's in variant 5 (32
   channels 5x5 of 16 on 11x14), through the lanes kernel's outputs in variants 2, 6 (LeNet-5's
   second layer) and 7 (32 channels 3x3 on 11x12, an odd height); variant 0's through the
   entry's fallback. */
static int conv_relu_pool(nn_model *m, int h, int leaky, int64_t oc, int64_t k, int64_t pad, int64_t pk, int64_t ps,
                          int64_t pp) {
    h = nn_conv2d(m, h, oc, k, 1, pad);
    h = leaky ? nn_leaky_relu(m, h, 0.0f) : nn_relu(m, h);
    return nn_maxpool2d(m, h, pk, ps, pp);
}
static void build_fused(nn_model *m, int leaky, int variant) {
    int h, c;
    nn_compile_config cc = nn_compile_defaults();
    nn_model_init(m, NULL);
    if (variant == 1) {
        h = nn_input_image(m, 2, 36, 34);
        c = nn_conv2d(m, h, 3, 3, 1, 1);
        h = leaky ? nn_leaky_relu(m, c, 0.0f) : nn_relu(m, c);
        h = nn_maxpool2d(m, h, 2, 2, 0);
        h = nn_concat(m, nn_flatten(m, h), nn_flatten(m, c));
    } else if (variant == 2) {
        h = conv_relu_pool(m, nn_input_image(m, 1, 13, 11), leaky, 32, 5, 2, 2, 2, 0);
        h = nn_flatten(m, conv_relu_pool(m, h, leaky, 16, 5, 2, 2, 2, 0));
    } else if (variant == 3) {
        h = nn_flatten(m, conv_relu_pool(m, nn_input_image(m, 1, 21, 40), leaky, 12, 5, 2, 2, 2, 0));
    } else if (variant == 4) {
        h = nn_flatten(m, conv_relu_pool(m, nn_input_image(m, 2, 28, 30), leaky, 8, 3, 1, 2, 2, 0));
    } else if (variant == 5) {
        h = nn_flatten(m, conv_relu_pool(m, nn_input_image(m, 16, 11, 14), leaky, 32, 5, 2, 2, 2, 0));
    } else if (variant == 6) {
        h = nn_flatten(m, conv_relu_pool(m, nn_input_image(m, 6, 14, 14), leaky, 16, 5, 0, 2, 2, 0));
    } else if (variant == 7) {
        h = nn_flatten(m, conv_relu_pool(m, nn_input_image(m, 3, 11, 12), leaky, 32, 3, 0, 2, 2, 0));
    } else {
        h = conv_relu_pool(m, nn_input_image(m, 2, 9, 9), leaky, 4, 3, 1, 2, 2, 0);
        h = nn_flatten(m, conv_relu_pool(m, h, leaky, 3, 3, 1, 3, 2, 1));
    }
    nn_dense(m, h, 5);
    cc.max_batch = 3;
    CHECK_OK(nn_model_compile(m, &cc));
    for (c = 1; c < m->n_layers; c++) /* biases that are not zero, the same in both twins */
        if (m->layers[c].type == NN_LAYER_CONV2D) {
            const nn_conv2d_desc *d = &m->layers[c].cfg.conv.d;
            int64_t o;
            for (o = 0; o < d->OC; o++) m->layers[c].w[d->OC * (d->C / d->G) * d->KH * d->KW + o] = 0.05f * (float)(o % 5 - 2);
        }
}
static void fused_relu_pool(int variant) {
    nn_model a, b;
    nn_tensor ta, tb;
    float x[3 * 16 * 11 * 14], la, lb;
    int32_t lab[3] = {0, 3, 4};
    int64_t i, bad = 0;
    int layer;
    for (i = 0; i < 3 * 16 * 11 * 14; i++) x[i] = frand();
    build_fused(&a, 0, variant);
    build_fused(&b, 1, variant);
    CHECK(a.layers[2].fused && !b.layers[2].fused);
    CHECK(variant == 1 || variant >= 3 || (a.layers[5].fused && !b.layers[5].fused));
    /* variant 0's 3x3 convolution through the entry's fallback (the gradient rebuilt, then the
       usual kernel); variant 1's output has a second reader */
    CHECK((nn__conv_pooled(&a, &a.layers[1]) != NULL) == (variant != 1) && !nn__conv_pooled(&b, &b.layers[1]));
    CHECK(variant != 2 || !nn__conv_pooled(&a, &a.layers[4])); /* (it needs its input's gradient) */
    CHECK((nn__conv_pool_fwd(&a, &a.layers[1]) != NULL) == (variant != 1) && !nn__conv_pool_fwd(&b, &b.layers[1]));
#ifdef NN__CONV_DIRECT
    CHECK_MSG(variant == 1 || nn__conv_pool_ok(&a.layers[1].cfg.conv.d, &a.layers[3].cfg.pool.d) ==
                                  (variant >= 6 || variant == 2 ? 3 : variant == 5 ? 2 : variant >= 3), "variant %d", variant);
#endif
    CHECK_OK(nn_model_backward(&a, x, lab, NULL, 3, &la)); /* twice: nothing may build on the first */
    CHECK_OK(nn_model_backward(&a, x, lab, NULL, 3, &la));
    CHECK_OK(nn_model_backward(&b, x, lab, NULL, 3, &lb));
    CHECK_MSG(la == lb, "variant %d: fused loss %.9g, unfused %.9g", variant, la, lb);
    CHECK(a.n_train == b.n_train && a.n_train > 0);
    for (i = 0; i < a.n_train; i++) bad += a.grads[i] != b.grads[i];
    CHECK_MSG(bad == 0, "variant %d: %lld of %lld gradients differ fused", variant, (long long)bad, (long long)a.n_train);
    for (layer = 1; layer < a.n_layers; layer++) {
        int64_t n = 3 * a.layers[layer].size;
        bad = 0;
        CHECK_OK(nn_model_activation(&a, layer, 3, &ta));
        CHECK_OK(nn_model_activation(&b, layer, 3, &tb));
        for (i = 0; i < n; i++) bad += ta.data[i] != tb.data[i];
        CHECK_MSG(bad == 0, "variant %d, layer %d: %lld of %lld activations differ fused", variant, layer,
                  (long long)bad, (long long)n);
    }
    nn_model_free(&a);
    nn_model_free(&b);
}

int main(void) {
    nn_model m;
    nn_conv2d_desc d;
    int h;

    /* kernels against direct loops */
    conv_case(2, 3, 7, 9, 4, 3, 1, 1, 1, 1);
    conv_case(3, 3, 11, 10, 5, 3, 2, 1, 1, 1);   /* stride 2 */
    conv_case(2, 4, 9, 9, 6, 3, 1, 2, 2, 2);     /* dilation 2, groups 2 */
    conv_case(2, 6, 8, 7, 6, 3, 1, 1, 1, 3);     /* groups 3 */
    conv_case(2, 5, 7, 7, 5, 3, 2, 1, 1, 5);     /* depthwise */
    conv_case(2, 3, 7, 6, 6, 3, 1, 1, 2, 3);     /* depthwise, multiplier 2, dilation 2 */
    conv_case(3, 7, 5, 6, 9, 1, 1, 0, 1, 1);     /* 1x1 */
    conv_case(2, 16, 12, 12, 24, 5, 1, 2, 1, 1); /* big enough for the packed GEMM and threads */
    conv_case(3, 20, 9, 10, 24, 5, 1, 2, 1, 1);  /* forward and input gradient direct, weight gradient GEMM */
    conv_case(2, 30, 8, 8, 32, 3, 1, 1, 1, 1);   /* 7-wide rows of 32 channels: every pass by GEMM */
    conv_case(1, 2, 5, 6, 3, 5, 3, 0, 1, 1);     /* kernel as large as the input */
    /* square 5x5 kernels: the direct convolution; with 16k output channels its weight
       gradient has the channels in the vector lanes */
    square = 1;
    conv_case(3, 3, 9, 11, 6, 5, 1, 2, 1, 1);
    conv_case(2, 5, 9, 11, 13, 5, 1, 2, 1, 1);   /* a last block of 5 channels (6 accumulators) */
    conv_case(2, 2, 7, 8, 5, 5, 1, 2, 1, 1);     /* 5-wide weight gradient: blocks of 3 and 2 channels */
    conv_case(3, 3, 9, 11, 16, 5, 1, 2, 1, 1);
    conv_case(2, 2, 13, 7, 32, 5, 1, 0, 1, 1);
    conv_case(9, 4, 60, 60, 16, 5, 1, 2, 1, 1);  /* images in two chunks */
    conv_case(2, 11, 9, 11, 32, 5, 1, 2, 1, 1);  /* 275 taps: direct for its 16k channels alone */
    /* 16k input and 32+ output channels: Winograd F(2x2, 5x5) (the input gradient where 32+ input
       channels); odd output sizes (a last row and column of tiles half outside), every padding,
       2 to 5 vectors of channels; forward only, input gradient only, both */
    conv_case(3, 16, 9, 11, 32, 5, 1, 2, 1, 1);
    conv_case(2, 32, 14, 14, 64, 5, 1, 2, 1, 1);
    conv_case(11, 16, 7, 8, 48, 5, 1, 0, 1, 1);
    conv_case(1, 48, 6, 5, 16, 5, 1, 4, 1, 1);
    conv_case(2, 16, 10, 7, 80, 5, 1, 1, 1, 1);
    conv_case(2, 32, 5, 9, 16, 5, 1, 3, 1, 1);
    conv_case(3, 48, 7, 6, 32, 5, 1, 1, 1, 1);
    square = 0;
    /* 16k channels in the vector lanes (forward: output channels; input gradient: input
       channels), rows of 1, 4, 6, 24 (runs of 12, 12) and 21 (11, 10) pixels; 28 keeps 8 per vector */
    conv_case(2, 3, 8, 9, 7, 4, 1, 1, 1, 1);     /* a 4x5 kernel: 5-wide weight gradient, 4 rows */
    conv_case(2, 16, 9, 7, 16, 3, 1, 1, 1, 1);
    conv_case(2, 3, 6, 25, 32, 3, 1, 1, 1, 1);
    conv_case(2, 3, 6, 29, 32, 3, 1, 1, 1, 1);
    conv_case(3, 2, 5, 4, 16, 3, 1, 0, 1, 1);
    conv_case(2, 2, 5, 7, 16, 3, 1, 0, 1, 1);    /* a run of 4 */
    conv_case(2, 16, 5, 21, 4, 3, 1, 1, 1, 1);
    /* many output channels and long rows: the GEMM packs B even untransposed; its workspace
       must be planned for that (before 0.3.0 it was written past the thread's slot) */
    conv_case(3, 1, 40, 40, 136, 3, 1, 1, 1, 1);
    conv_case(2, 2, 36, 36, 72, 3, 1, 1, 1, 1);
    pool_case(NN_POOL_MAX, 2, 3, 8, 8, 2, 2, 0);
    pool2x2_exact(6, 70);
    pool2x2_exact(5, 37);
    pool2x2_exact(4, 2);
    pool2x2_exact(28, 28);
    pool2x2_exact(10, 10);
    pool2x2_exact(14, 14);
    pool2x2_exact(8, 4);
    pool2x2_exact(2, 2);
    pool2x2_exact(6, 34);
    pool2x2_exact(7, 13);
    pool2x2_exact(9, 17);
    pool_case(NN_POOL_MAX, 2, 3, 9, 7, 3, 2, 1);
    pool_case(NN_POOL_AVG, 2, 3, 8, 8, 2, 2, 0);
    pool_case(NN_POOL_AVG, 2, 3, 9, 7, 3, 2, 1);
    pool_case(NN_POOL_AVG, 3, 2, 5, 6, 3, 1, 1);
    pool_case(NN_POOL_MAX, 1, 1, 4, 4, 4, 1, 0);

    fused_relu_pool(0);
    fused_relu_pool(1);
    fused_relu_pool(2);
    fused_relu_pool(3);
    fused_relu_pool(4);
    fused_relu_pool(5);
    fused_relu_pool(6);
    fused_relu_pool(7);
    /* layers, gradient-checked through a model (batch 3, odd sizes) */
    printf("gradient checks (central differences, relative error < 1e-3)\n");
    h = nn_conv2d(start(&m, 2, 7, 7), 0, 3, 3, 1, 1); finish(&m, nn_tanh(&m, h), "conv2d 3x3 pad 1");
    h = nn_conv2d(start(&m, 2, 9, 8), 0, 3, 3, 2, 0); finish(&m, h, "conv2d stride 2");
    h = nn_conv2d(start(&m, 2, 9, 7), 0, 16, 5, 1, 2); finish(&m, nn_tanh(&m, h), "conv2d 5x5, 16 channels");
    memset(&d, 0, sizeof d);
    d.OC = 4; d.KH = 3; d.KW = 2; d.SH = 1; d.SW = 2; d.PH = 2; d.PW = 1; d.DH = 2; d.DW = 1; d.G = 2;
    h = nn_conv2d_ex(start(&m, 2, 7, 7), 0, &d, 1, NN_INIT_HE_NORMAL); finish(&m, h, "conv2d dilated, grouped");
    d.OC = 4; d.G = 4; d.KH = d.KW = 3; d.SH = d.SW = 1; d.PH = d.PW = 1; d.DH = d.DW = 1;
    h = nn_conv2d(start(&m, 4, 6, 6), 0, 4, 1, 1, 0);
    h = nn_conv2d_ex(&m, h, &d, 0, NN_INIT_GLOROT_NORMAL); finish(&m, h, "conv2d 1x1 + depthwise (no bias)");
    /* max pooling: through a model a weight step moves every pooled value at once, so some
       window crosses a tie; check the kernel's input gradient instead, on inputs spaced 0.01
       apart so that a 1e-3 step can never change a window's maximum */
    pool_fd(NN_POOL_MAX, 2, 2); pool_fd(NN_POOL_MAX, 3, 2); pool_fd(NN_POOL_MAX, 3, 1);
    pool_fd(NN_POOL_AVG, 3, 2);
    h = nn_maxpool2d(start(&m, 2, 8, 8), 0, 2, 2, 0); finish(&m, h, "maxpool 2x2 after the input");
    h = nn_conv2d(start(&m, 2, 9, 9), 0, 3, 3, 1, 1); finish(&m, nn_avgpool2d(&m, h, 3, 2, 1), "avgpool 3x3 stride 2 pad 1");
    h = nn_conv2d(start(&m, 2, 7, 5), 0, 3, 3, 1, 1); finish(&m, nn_global_avgpool(&m, h), "global avgpool");
    h = nn_conv2d(start(&m, 2, 5, 5), 0, 3, 3, 1, 1);
    h = nn_batchnorm(&m, h, 0.1f, 1e-5f); finish(&m, nn_tanh(&m, h), "batchnorm 2d");
    nn_model_init(&m, NULL);
    h = nn_input(&m, 7);
    h = nn_dense(&m, h, 6);
    h = nn_batchnorm(&m, h, 0.1f, 1e-5f);
    h = nn_tanh(&m, h);
    {
        int64_t shape[3] = {2, 3, 1};
        h = nn_reshape(&m, h, 3, shape);
        h = nn_conv2d(&m, h, 2, 1, 1, 0);
    }
    /* BatchNorm over a batch of 3 is curved where a feature's 3 values nearly agree: on such
       draws (5% of 200 seeds) the O(step^2) difference error at 2e-3 reached 0.006 and fell 4x
       per halving (the gradient is right); 5e-4 kept all 200 below 6.3e-4, while the 16-channel
       conv's float rounding needs the larger step */
    fd_step = 5e-4f;
    finish(&m, h, "batchnorm 1d + reshape");
    fd_step = 2e-3f;

    /* NN_INIT_TORCH: weights and bias uniform in +-1/sqrt(fan_in), fan_in = C/G*KH*KW for conv */
    {
        nn_compile_config cc = nn_compile_defaults();
        int dl, cl;
        int64_t i, nw;
        float wmax = 0, bmax = 0;
        int bias_nonzero = 0;
        memset(&d, 0, sizeof d);
        d.OC = 6; d.KH = d.KW = 3; d.SH = d.SW = d.DH = d.DW = 1; d.PH = d.PW = 1; d.G = 2;
        start(&m, 4, 6, 6);
        cl = nn_conv2d_ex(&m, 0, &d, 1, NN_INIT_TORCH);
        dl = nn_dense_ex(&m, nn_flatten(&m, cl), 50, 1, NN_INIT_TORCH);
        CHECK_OK(nn_model_compile(&m, &cc));
        nw = 6 * 2 * 9; /* conv: fan_in 2*3*3 = 18 */
        for (i = 0; i < m.layers[cl].n_params; i++) {
            const float v = fabsf(m.layers[cl].w[i]);
            if (i < nw) { if (v > wmax) wmax = v; } else { if (v > bmax) bmax = v; bias_nonzero += v != 0.0f; }
        }
        CHECK_MSG(wmax <= 1.0f / sqrtf(18.0f) && wmax > 0.8f / sqrtf(18.0f), "conv weights max %g", wmax);
        CHECK_MSG(bmax <= 1.0f / sqrtf(18.0f) && bias_nonzero == 6, "conv bias max %g, %d nonzero", bmax, bias_nonzero);
        wmax = bmax = 0; bias_nonzero = 0;
        nw = 50 * 216; /* dense: fan_in 6*6*6 = 216 */
        for (i = 0; i < m.layers[dl].n_params; i++) {
            const float v = fabsf(m.layers[dl].w[i]);
            if (i < nw) { if (v > wmax) wmax = v; } else { if (v > bmax) bmax = v; bias_nonzero += v != 0.0f; }
        }
        CHECK_MSG(wmax <= 1.0f / sqrtf(216.0f) && wmax > 0.95f / sqrtf(216.0f), "dense weights max %g", wmax);
        CHECK_MSG(bmax <= 1.0f / sqrtf(216.0f) && bias_nonzero == 50, "dense bias max %g, %d nonzero", bmax, bias_nonzero);
        nn_model_free(&m);
    }

    /* shape errors name the layer and the shapes */
    start(&m, 3, 4, 4);
    CHECK_ERR((nn_result)nn_conv2d(&m, 0, 2, 7, 1, 0), NN_ERR_SHAPE, "layer 1 (conv2d: the 7x7 kernel");
    CHECK(strstr(nn_error(), "(3,4,4)") != NULL);
    nn_model_free(&m);
    start(&m, 3, 4, 4);
    memset(&d, 0, sizeof d);
    d.OC = 4; d.KH = d.KW = 3; d.SH = d.SW = d.DH = d.DW = 1; d.G = 2;
    CHECK_ERR((nn_result)nn_conv2d_ex(&m, 0, &d, 1, NN_INIT_HE_UNIFORM), NN_ERR_SHAPE, "not divisible by 2 groups");
    nn_model_free(&m);
    nn_model_init(&m, NULL);
    h = nn_input(&m, 12);
    CHECK_ERR((nn_result)nn_conv2d(&m, h, 2, 3, 1, 1), NN_ERR_SHAPE, "is not (C, H, W)");
    nn_model_free(&m);
    nn_model_init(&m, NULL);
    h = nn_input(&m, 12);
    {
        int64_t shape[2] = {5, 2};
        CHECK_ERR((nn_result)nn_reshape(&m, h, 2, shape), NN_ERR_SHAPE, "has 12 elements, the new shape (5,2) has 10");
    }
    nn_model_free(&m);
    start(&m, 3, 4, 4);
    CHECK_ERR((nn_result)nn_maxpool2d(&m, 0, 2, 0, 0), NN_ERR_INVALID_ARG, "strides must be >= 1");
    nn_model_free(&m);
    start(&m, 3, 4, 4);
    CHECK_ERR((nn_result)nn_maxpool2d(&m, 0, 2, 2, 2), NN_ERR_INVALID_ARG, "more than half");
    nn_model_free(&m);
    start(&m, 3, 4, 4);
    CHECK_ERR((nn_result)nn_batchnorm(&m, 0, 0.1f, 0.0f), NN_ERR_INVALID_ARG, "eps > 0");
    nn_model_free(&m);
    return t_summary("test_conv");
}
