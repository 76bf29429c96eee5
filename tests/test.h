/* Minimal test harness: CHECK counts, main() returns nonzero on any failure and every test
   binary ends with the line "NAME: N passed, N failed" that tests/run.sh adds up. */
#ifndef NN_TEST_H
#define NN_TEST_H
#include <stdio.h>
#include <string.h>
#include <math.h>
#include <stdlib.h>

static int t_pass, t_fail;

#define CHECK(cond) do { if (cond) t_pass++; else { t_fail++; \
    fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond); } } while (0)
#define CHECK_MSG(cond, ...) do { if (cond) t_pass++; else { t_fail++; \
    fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond); fprintf(stderr, __VA_ARGS__); \
    fputc('\n', stderr); } } while (0)
#define CHECK_NEAR(a, b, tol) do { double a_ = (a), b_ = (b); if (fabs(a_ - b_) <= (tol)) t_pass++; \
    else { t_fail++; fprintf(stderr, "FAIL %s:%d: %s = %.9g, %s = %.9g (tol %g)\n", __FILE__, __LINE__, \
    #a, a_, #b, b_, (double)(tol)); } } while (0)
#define CHECK_OK(r) CHECK_MSG((r) == NN_OK, "%s", nn_error())
/* a call must fail with this code, and its message must mention the given text */
#define CHECK_ERR(call, code, text) do { nn_result r_ = (call); \
    CHECK_MSG(r_ == (code) && strstr(nn_error(), (text)) != NULL, "got %d '%s', want %d mentioning '%s'", \
              (int)r_, nn_error(), (int)(code), (text)); } while (0)

/* a whole file (malloc'd, NUL after it), or NULL */
#if defined(__GNUC__) || defined(__clang__)
__attribute__((unused))
#endif
static unsigned char *t_read_file(const char *path, size_t *size) {
    FILE *f = fopen(path, "rb");
    unsigned char *b;
    long n;
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    b = (unsigned char *)malloc((size_t)n + 1);
    *size = b ? fread(b, 1, (size_t)n, f) : 0;
    if (b) b[*size] = 0;
    fclose(f);
    return b;
}

static int t_summary(const char *name) {
    printf("%s: %d passed, %d failed\n", name, t_pass, t_fail);
    return t_fail != 0;
}
#endif
