/* cc -std=c99 -O2 examples/firmware_int8.c -lm -o firmware_int8 && ./firmware_int8
   Firmware-style inference: the int8 digits model is compiled in (examples/digits_int8_model.h,
   made by tools/nn2c; `make embedded-model` remakes it), the library is built without malloc,
   stdio, training or float layer code (NN_INT8_ONLY), and the model runs in a static arena
   whose size nn2c computed, with its weights read in place from the const array. After the one conversion of each input to the
   model's scale, inference is integers only. `make cross` builds this for a Cortex-M4F and
   prints its size. */
#define NN_NO_MALLOC
#define NN_NO_STDIO
#define NN_INT8_ONLY /* (no float layer code linked; implies NN_NO_TRAINING) */
#define NN_IMPLEMENTATION
#include "../nn.h"
#include "digits_int8_model.h"
#include "digits_samples.h"

static unsigned char arena[digits_int8_model_ARENA_BYTES];
volatile int predicted[10]; /* what a device would act on */

#ifdef NN_EXAMPLE_QUIET /* a bare-metal build: no printf */
#define SAY(...) ((void)0)
#else
#include <stdio.h>
#define SAY(...) printf(__VA_ARGS__)
#endif

int main(void) {
    nn_qmodel q;
    nn_load_config lc = nn_load_defaults();
    uint8_t x[64];
    const uint8_t *out;
    int i, k, right = 0;
    lc.arena = arena;
    lc.arena_bytes = sizeof arena;
    lc.borrow = 1;
    lc.max_batch = 1;
    if (nn_qload_mem(&q, digits_int8_model, digits_int8_model_len, &lc) != NN_OK) {
        SAY("firmware_int8: %s\n", nn_error());
        return 1;
    }
    for (i = 0; i < 10; i++) {
        for (k = 0; k < 64; k++) { /* the sensor's 0..16 to the model's input scale and zero point */
            const float v = digits[i][k] / 16.0f / q.q[0].scale + (float)q.q[0].zero + 0.5f;
            x[k] = (uint8_t)(v < 0.0f ? 0 : v > 255.0f ? 255 : v);
        }
        if (nn_qforward(&q, x, 1, &out) != NN_OK) return 1;
        predicted[i] = (int)nn_qargmax(&q, 0);
        right += predicted[i] == classes[i];
        SAY("digit %d: predicted %d, true %d\n", i, predicted[i], classes[i]);
    }
    SAY("%d of 10 right; static arena %u bytes, model %u bytes in flash\n", right, (unsigned)sizeof arena,
        (unsigned)digits_int8_model_len);
    return right >= 8 ? 0 : 1;
}
