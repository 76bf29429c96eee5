/* Shared by the benchmarks: a wall clock, medians, peak RSS, and a note on the environment. */
#ifndef NN_BENCH_COMMON_H
#define NN_BENCH_COMMON_H
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/resource.h>

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}
static double median(double *v, int n) {
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static double peak_rss_mb(void) __attribute__((unused));
static double peak_rss_mb(void) {
    struct rusage u;
    getrusage(RUSAGE_SELF, &u);
    return (double)u.ru_maxrss / 1024.0; /* Linux: kilobytes */
}

/* OpenBLAS (and PyTorch on it) run at half speed when these are set: say so. */
static void note_env(const char *who) __attribute__((unused));
static void note_env(const char *who) {
    const char *a = getenv("OPENBLAS_CORETYPE"), *b = getenv("OPENBLAS_L2_SIZE");
#ifdef __AVX512F__
    printf("# %s: OPENBLAS_CORETYPE=%s OPENBLAS_L2_SIZE=%s%s\n", who, a ? a : "(unset)", b ? b : "(unset)",
           a || b ? "  WARNING: OpenBLAS is held to its AVX2 kernels" : "");
#else /* make bench's AVX2 build holds the references to AVX2 on purpose */
    const char *c = getenv("ONEDNN_MAX_CPU_ISA");
    printf("# %s: nn.h built without AVX-512; OPENBLAS_CORETYPE=%s OPENBLAS_L2_SIZE=%s ONEDNN_MAX_CPU_ISA=%s\n", who,
           a ? a : "(unset)", b ? b : "(unset)", c ? c : "(unset)");
#endif
}
#endif
