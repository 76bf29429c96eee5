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
#include <stdio.h>

/* ten digits (8x8, values 0..16) from the demo's held-out test split, and their classes */
static const unsigned char digits[10][64] = {
    {0,0,7,16,5,0,0,0,0,0,16,16,11,0,0,0,0,0,10,13,16,1,0,0,0,0,0,13,15,0,0,0,0,0,0,14,13,0,0,0,0,0,12,16,6,4,8,1,0,0,14,16,16,16,16,4,0,0,7,16,15,7,3,0},
    {0,0,5,14,12,5,0,0,0,0,13,16,16,9,0,0,0,0,11,16,16,9,0,0,0,0,11,16,16,7,0,0,0,0,10,16,16,2,0,0,0,0,13,16,15,0,0,0,0,0,14,16,13,0,0,0,0,0,7,13,16,8,0,0},
    {0,0,10,14,0,0,0,0,0,1,16,7,1,7,0,0,0,0,15,7,12,16,2,0,0,0,10,16,16,4,0,0,0,0,0,9,14,0,0,0,0,0,0,14,10,0,0,0,0,0,5,16,2,0,0,0,0,0,11,12,0,0,0,0},
    {0,0,0,7,12,16,16,15,0,0,9,16,10,4,16,10,0,0,14,16,13,14,12,1,0,0,4,16,16,16,12,0,0,0,0,0,0,16,10,0,0,0,0,0,7,15,0,0,0,0,0,1,15,7,0,0,0,0,0,12,6,0,0,0},
    {0,0,15,13,13,13,0,0,0,0,16,16,11,3,0,0,0,0,12,13,0,0,0,0,0,0,5,16,3,0,0,0,0,0,0,11,10,0,0,0,0,0,0,10,14,0,0,0,0,0,9,16,10,0,0,0,0,0,11,15,1,0,0,0},
    {0,0,5,12,12,9,3,0,0,0,8,16,16,16,4,0,0,0,9,16,16,14,1,0,0,0,11,16,16,12,0,0,0,0,12,16,16,12,0,0,0,0,11,16,16,12,0,0,0,0,4,16,16,12,0,0,0,0,6,12,12,6,0,0},
    {0,1,8,12,16,16,3,0,0,5,14,8,10,15,0,0,0,0,2,5,14,12,2,0,0,3,15,16,15,12,8,0,0,3,6,14,7,0,0,0,0,0,2,15,1,0,0,0,0,0,10,8,0,0,0,0,0,0,14,4,0,0,0,0},
    {0,0,14,10,0,0,0,0,0,0,15,13,0,0,0,0,0,11,16,16,2,0,0,0,0,3,10,16,5,0,0,0,0,0,0,14,10,0,0,0,0,0,0,10,14,0,0,0,0,0,9,14,16,11,6,0,0,0,12,16,16,16,16,9},
    {0,0,10,16,8,0,0,0,0,4,16,13,16,3,0,0,0,0,12,1,11,6,0,0,0,0,0,0,12,8,0,0,0,0,0,0,14,5,0,0,0,0,0,7,16,6,4,0,0,0,5,16,16,16,16,4,0,0,11,15,9,8,6,0},
    {0,0,0,14,11,0,0,0,0,0,0,12,16,2,0,0,0,0,0,12,16,2,0,0,0,0,0,15,16,1,0,0,0,0,0,16,16,1,0,0,0,0,3,16,15,0,0,0,0,0,4,16,14,0,0,0,0,0,1,14,16,4,0,0},
};
static const int classes[10] = {2, 1, 4, 9, 5, 1, 7, 1, 2, 1};

int main(void) {
    nn_model m;
    nn_load_config lc = nn_load_defaults();
    int i, k, right = 0;
    lc.borrow = 1;    /* weights stay in digits_model[] */
    lc.max_batch = 1; /* one image at a time */
    if (nn_load_mem(&m, digits_model, digits_model_len, &lc) != NN_OK) {
        fprintf(stderr, "embedded_digits: %s\n", nn_error());
        return 1;
    }
    printf("model: %d layers, %lld-byte file, weights %s, arena %lu bytes\n", m.n_layers, (long long)digits_model_len,
           m.borrowed ? "used in place" : "copied", (unsigned long)m.mem_bytes);
    for (i = 0; i < 10; i++) {
        float x[64];
        nn_tensor out;
        for (k = 0; k < 64; k++) x[k] = digits[i][k] / 16.0f; /* the demo's scaling */
        if (nn_forward(&m, x, 1, &out) != NN_OK) { fprintf(stderr, "embedded_digits: %s\n", nn_error()); return 1; }
        k = (int)nn_argmax(out.data, 10);
        right += k == classes[i];
        printf("digit %d: predicted %d, true %d\n", i, k, classes[i]);
    }
    printf("%d of 10 right\n", right);
    nn_model_free(&m);
    return right >= 8 ? 0 : 1;
}
