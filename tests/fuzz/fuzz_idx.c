/* libFuzzer target: the IDX reader. */
#define NN_IMPLEMENTATION
#include "../../nn.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    nn_tensor t;
    if (nn_idx_load_mem(data, size, &t) == NN_OK) {
        volatile float s = 0;
        int64_t i, n = nn_tensor_numel(&t);
        for (i = 0; i < n; i++) s += t.data[i];
        nn_tensor_free(&t);
    }
    return 0;
}
