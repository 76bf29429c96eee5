/* cc -std=c99 -O2 examples/embedded_digits.c -lm -o embedded_digits && ./embedded_digits
   A model compiled into the program: examples/digits_model.h holds the demo's trained digits
   MLP as a const byte array (made by tools/nn2c; `make embedded-model` remakes it). The
   program loads it from memory with the weights used in place (borrowed, no copy), and
   classifies ten held-out digits that are also compiled in. With NN_NO_STDIO the library
   has no file code at all; this program touches no file. */
#define NN_NO_STDIO
#define NN_IMPLEMENTATION
#include "../nn.h"
#include "digits_model.h"
#include "digits_samples.h"

#ifdef NN_EXAMPLE_QUIET /* a bare-metal build: no printf */
#define SAY(...) ((void)0)
#else
#include <stdio.h>
#define SAY(...) printf(__VA_ARGS__)
#endif

int main(void) {
    nn_model m;
    nn_load_config lc = nn_load_defaults();
    int i, k, right = 0;
    lc.borrow = 1;    /* weights stay in digits_model[] */
    lc.max_batch = 1; /* one image at a time */
    if (nn_load_mem(&m, digits_model, digits_model_len, &lc) != NN_OK) {
        SAY("embedded_digits: %s\n", nn_error());
        return 1;
    }
    SAY("model: %d layers, %lld-byte file, weights %s, arena %lu bytes\n", m.n_layers, (long long)digits_model_len,
           m.borrowed ? "used in place" : "copied", (unsigned long)m.mem_bytes);
    for (i = 0; i < 10; i++) {
        float x[64];
        nn_tensor out;
        for (k = 0; k < 64; k++) x[k] = digits[i][k] / 16.0f; /* the demo's scaling */
        if (nn_forward(&m, x, 1, &out) != NN_OK) { SAY("embedded_digits: %s\n", nn_error()); return 1; }
        k = (int)nn_argmax(out.data, 10);
        right += k == classes[i];
        SAY("digit %d: predicted %d, true %d\n", i, k, classes[i]);
    }
    SAY("%d of 10 right\n", right);
    nn_model_free(&m);
    return right >= 8 ? 0 : 1;
}
