/* Compiled in every configuration by tests/compile.sh: as C99 and C++, with and without
   OpenMP, NN_STATIC in two files (also at -O2, where the library inlines into its caller),
   NN_NO_STDIO, NN_NO_MALLOC, and linked as two files where only one defines NN_IMPLEMENTATION. */
#ifdef USE_IMPL
#define NN_IMPLEMENTATION
#endif
#include "../nn.h"

int tu_other(void);

#ifdef WITH_MAIN
/* (inlined here at -O2 with NN_STATIC, the compiler must see the planner's results set) */
int tu_compile(nn_model *m);
int tu_compile(nn_model *m) {
    nn_compile_config c = nn_compile_defaults();
    c.max_batch = 3;
    return nn_model_compile(m, &c) == NN_OK ? 0 : -1;
}
int main(void) {
    nn_model m;
    int h;
    nn_model_init(&m, NULL); /* fails cleanly under NN_NO_MALLOC: no allocator given */
    h = nn_input(&m, 3);
    nn_dense(&m, h, 2);
    if (tu_compile(&m) < 0) return 1;
    nn_model_free(&m);
    return tu_other();
}
#else
int tu_other(void) {
    nn_compile_config c = nn_compile_defaults();
    return c.max_batch > 0 && nn_result_string(NN_OK)[0] == 'o' ? 0 : 1;
}
#endif
