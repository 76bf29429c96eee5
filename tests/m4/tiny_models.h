/* The four MLPerf Tiny v1 reference architectures as nn.h models (tests/m4.sh quantizes and
   runs them on an emulated Cortex-M4). Differences from the TensorFlow reference models: "same"
   padding is symmetric here (TF pads the bottom/right more when the total is odd), so DS-CNN's
   first 10x4 stride-2 convolution pads 5 rows and 1 column each side (the same 25 x 5 output);
   no trained weights (the data sets are not installable here): tests/m4.sh uses seeded random
   weights and calibration data, which exercise every kernel and give the sizes and counts. */
#ifndef NN_TINY_MODELS_H
#define NN_TINY_MODELS_H

static int tiny_conv(nn_model *m, int in, int64_t oc, int64_t kh, int64_t kw, int64_t s, int64_t ph, int64_t pw, int64_t g) {
    nn_conv2d_desc d;
    memset(&d, 0, sizeof d);
    d.OC = oc; d.KH = kh; d.KW = kw; d.SH = d.SW = s; d.PH = ph; d.PW = pw; d.DH = d.DW = 1; d.G = g;
    return nn_conv2d_ex(m, in, &d, 1, NN_INIT_HE_UNIFORM);
}
/* convolution, batchnorm, ReLU */
static int tiny_cbr(nn_model *m, int in, int64_t oc, int64_t k, int64_t s, int64_t g) {
    return nn_relu(m, nn_batchnorm(m, tiny_conv(m, in, oc, k, k, s, k / 2, k / 2, g), 0.1f, 1e-3f));
}
/* a depthwise-separable block: depthwise 3x3, BN, ReLU, pointwise 1x1, BN, ReLU */
static int tiny_dws(nn_model *m, int in, int64_t c, int64_t oc, int64_t s) {
    return tiny_cbr(m, tiny_cbr(m, in, c, 3, s, c), oc, 1, 1, 1);
}

/* Keyword spotting: DS-CNN (small) on 49 x 10 MFCC features, 12 classes */
static int tiny_kws(nn_model *m) {
    int x = nn_input_image(m, 1, 49, 10), i;
    x = nn_relu(m, nn_batchnorm(m, tiny_conv(m, x, 64, 10, 4, 2, 5, 1, 1), 0.1f, 1e-3f));
    for (i = 0; i < 4; i++) x = tiny_dws(m, x, 64, 64, 1);
    x = nn_global_avgpool(m, x);
    return nn_softmax(m, nn_dense(m, x, 12));
}
/* Image classification: ResNet-8 on 32 x 32 x 3 (CIFAR-10), 16/32/64 filters */
static int tiny_resnet8(nn_model *m) {
    int x = nn_input_image(m, 3, 32, 32), f, y, s;
    x = tiny_cbr(m, x, 16, 3, 1, 1);
    for (f = 16; f <= 64; f *= 2) {
        const int st = f == 16 ? 1 : 2;
        y = tiny_cbr(m, x, f, 3, st, 1);
        y = nn_batchnorm(m, tiny_conv(m, y, f, 3, 3, 1, 1, 1, 1), 0.1f, 1e-3f);
        s = f == 16 ? x : tiny_conv(m, x, f, 1, 1, 2, 0, 0, 1); /* the 1x1 stride-2 shortcut */
        x = nn_relu(m, nn_add(m, y, s));
    }
    x = nn_global_avgpool(m, x);
    return nn_softmax(m, nn_dense(m, x, 10));
}
/* Anomaly detection: the ToyADMOS autoencoder 640-128x4-8-128x4-640 (dense, BN, ReLU) */
static int tiny_ad(nn_model *m) {
    int x = nn_input(m, 640), i;
    for (i = 0; i < 9; i++) x = nn_relu(m, nn_batchnorm(m, nn_dense(m, x, i == 4 ? 8 : 128), 0.01f, 1e-3f));
    return nn_dense(m, x, 640);
}
/* Visual wake words: MobileNetV1 alpha 0.25 on 96 x 96 x 3, 2 classes */
static int tiny_vww(nn_model *m) {
    static const int ch[13] = {16, 32, 32, 64, 64, 128, 128, 128, 128, 128, 128, 256, 256};
    static const int st[13] = {1, 2, 1, 2, 1, 2, 1, 1, 1, 1, 1, 2, 1};
    int x = nn_input_image(m, 3, 96, 96), i, c = 8;
    x = tiny_cbr(m, x, 8, 3, 2, 1);
    for (i = 0; i < 13; i++) { x = tiny_dws(m, x, c, ch[i], st[i]); c = ch[i]; }
    x = nn_global_avgpool(m, x);
    return nn_softmax(m, nn_dense(m, x, 2));
}

typedef struct tiny_model { const char *name, *task; int (*build)(nn_model *); } tiny_model;
static const tiny_model tiny_models[4] = {
    {"kws", "keyword spotting, DS-CNN", tiny_kws},
    {"ic", "image classification, ResNet-8", tiny_resnet8},
    {"ad", "anomaly detection, FC autoencoder", tiny_ad},
    {"vww", "visual wake words, MobileNetV1 0.25", tiny_vww},
};
#endif
