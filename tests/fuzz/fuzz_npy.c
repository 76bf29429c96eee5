/* libFuzzer target: the NumPy reader, and the writer on what it read (which must read back
   equal). */
#define NN_IMPLEMENTATION
#include "../../nn.h"
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    nn_tensor t, u;
    size_t n;
    unsigned char *buf;
    if (nn_npy_load_mem(data, size, &t) != NN_OK) return 0;
    if (nn_npy_save_mem(&t, NULL, 0, &n) != NN_OK) abort();
    buf = (unsigned char *)malloc(n);
    if (nn_npy_save_mem(&t, buf, n, &n) != NN_OK || nn_npy_load_mem(buf, n, &u) != NN_OK) abort();
    if (u.ndim != t.ndim || memcmp(u.shape, t.shape, sizeof t.shape) != 0 ||
        memcmp(u.data, t.data, sizeof(float) * (size_t)nn_tensor_numel(&t)) != 0)
        abort();
    nn_tensor_free(&u);
    nn_tensor_free(&t);
    free(buf);
    return 0;
}
