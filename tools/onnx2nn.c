/* cc -std=c99 -O2 tools/onnx2nn.c -lm -o onnx2nn
   Converts an ONNX model (torch.onnx.export's, or any that nn_onnx.h reads) into nn.h's model
   file, and lists the layers it became:
       ./onnx2nn model.onnx model.safetensors
   The result loads with nn_load, quantizes (nn_quantize), and embeds with tools/nn2c like a
   model trained in nn.h. A graph nn.h cannot express is refused with the node that stops it. */
#define NN_IMPLEMENTATION
#include "../nn.h"
#include "../nn_onnx.h"
#include <stdio.h>

int main(int argc, char **argv) {
    nn_model m;
    int i;
    if (argc != 3) { fprintf(stderr, "usage: %s model.onnx model.safetensors\n", argv[0]); return 2; }
    if (nn_onnx_load(&m, argv[1], NULL) != NN_OK) { fprintf(stderr, "onnx2nn: %s\n", nn_error()); return 1; }
    for (i = 0; i < m.n_layers; i++) {
        const nn_layer *l = &m.layers[i];
        int d;
        printf("%3d %-12s (", i, nn__layer_name(l->type));
        for (d = 0; d < l->ndim; d++) printf(d ? ", %lld" : "%lld", (long long)l->shape[d]);
        printf(")  %lld parameters\n", (long long)l->n_params);
    }
    printf("%lld parameters\n", (long long)m.n_params);
    if (nn_save(&m, argv[2]) != NN_OK) { fprintf(stderr, "onnx2nn: %s\n", nn_error()); nn_model_free(&m); return 1; }
    nn_model_free(&m);
    return 0;
}
