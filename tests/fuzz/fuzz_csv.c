/* libFuzzer target: the CSV reader (last column as labels, and no labels). */
#define NN_IMPLEMENTATION
#include "../../nn.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    nn_dataset d;
    if (nn_csv_load_mem((const char *)data, size, -1, &d) == NN_OK) nn_dataset_free(&d);
    if (nn_csv_load_mem((const char *)data, size, -2, &d) == NN_OK) nn_dataset_free(&d);
    if (nn_csv_load_mem((const char *)data, size, 1, &d) == NN_OK) nn_dataset_free(&d);
    return 0;
}
