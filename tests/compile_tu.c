/* Compiled in every configuration by tests/compile.sh: as C99 and C++, with and without
   OpenMP, NN_STATIC in two files, NN_NO_STDIO, NN_NO_MALLOC, and linked as two files where
   only one defines NN_IMPLEMENTATION. */
#ifdef USE_IMPL
#define NN_IMPLEMENTATION
#endif
#include "../nn.h"

int tu_other(void);

#ifdef WITH_MAIN
int main(void) {
    nn_model m;
    int h;
    nn_model_init(&m, NULL); /* fails cleanly under NN_NO_MALLOC: no allocator given */
    h = nn_input(&m, 3);
    nn_dense(&m, h, 2);
    nn_model_free(&m);
    return tu_other();
}
#else
int tu_other(void) {
    nn_compile_config c = nn_compile_defaults();
    return c.max_batch > 0 && nn_result_string(NN_OK)[0] == 'o' ? 0 : 1;
}
#endif
