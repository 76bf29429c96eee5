/* tests/m4: one MLPerf Tiny model (the header tests/m4/tiny_gen.c wrote) run
   int8 on the emulated Cortex-M4: loaded in place from flash into a static arena (NN_NO_MALLOC,
   NN_NO_STDIO, NN_NO_TRAINING, as firmware builds it), one inference timed, its uint8 output
   compared byte for byte with the host's. Prints "NAME match ticks T" or the first mismatch. */
#define NN_NO_MALLOC
#define NN_NO_STDIO
#define NN_NO_TRAINING
#define NN_IMPLEMENTATION
#include "../../nn.h"
#include TINY_HEADER /* (-DTINY_HEADER='"build/tiny/NAME.h"') */

void m4_puts(const char *s);
void m4_timer_start(void);
uint32_t m4_timer_ticks(void);

static unsigned char arena[TINY_ARENA_BYTES] __attribute__((aligned(16)));

static void put_num(char *buf, const char *pre, uint32_t v) {
    char d[12];
    int n = 0, k = 0;
    while (*pre) buf[k++] = *pre++;
    do { d[n++] = (char)('0' + v % 10); v /= 10; } while (v);
    while (n) buf[k++] = d[--n];
    buf[k] = 0;
}

int main(void) {
    nn_qmodel q;
    nn_load_config lc = nn_load_defaults();
    const uint8_t *out;
    uint32_t t0, t1, t2, i, n;
    char line[160], num[40];
    lc.arena = arena; lc.arena_bytes = sizeof arena; lc.borrow = 1; lc.max_batch = 1;
    m4_timer_start();
    {   /* calibration: 2 x 2^20 instructions (subs, bne) */
        uint32_t c0 = m4_timer_ticks(), c1;
        register uint32_t k __asm__("r4") = 1u << 20;
        __asm__ volatile("1: subs %0, %0, #1\n bne 1b" : "+r"(k) : : "cc");
        c1 = m4_timer_ticks();
        put_num(line, "calibration: 2097152 instructions in ticks ", c1 - c0);
        strcat(line, "\n");
        m4_puts(line);
    }
    t0 = m4_timer_ticks();
    if (nn_qload_mem(&q, tiny_model, tiny_model_len, &lc) != NN_OK) { m4_puts("m4: "); m4_puts(nn_error()); m4_puts("\n"); return 1; }
    t1 = m4_timer_ticks();
    if (nn_qforward(&q, tiny_input, 1, &out) != NN_OK) { m4_puts("m4: "); m4_puts(nn_error()); m4_puts("\n"); return 1; }
    t2 = m4_timer_ticks();
    n = (uint32_t)sizeof tiny_expect;
    for (i = 0; i < n; i++) if (out[i] != tiny_expect[i]) break;
    line[0] = 0;
    strcat(line, TINY_NAME);
    strcat(line, i == n ? " match" : " MISMATCH at byte");
    if (i != n) { put_num(num, " ", i); strcat(line, num); }
    put_num(num, " load_ticks ", t1 - t0); strcat(line, num);
    put_num(num, " ticks ", t2 - t1); strcat(line, num);
    strcat(line, "\n");
    m4_puts(line);
    return i == n ? 0 : 1;
}
