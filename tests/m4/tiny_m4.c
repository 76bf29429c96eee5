/* tests/m4: one MLPerf Tiny model (the header tests/m4/tiny_gen.c wrote) run
   int8 on the emulated Cortex-M4: loaded in place from flash into a static arena (NN_NO_MALLOC,
   NN_NO_STDIO, NN_INT8_ONLY, as firmware builds it), one inference timed, its uint8 output
   compared byte for byte with the host's. Prints "NAME match ticks T" or the first mismatch. */
#define NN_NO_MALLOC
#define NN_NO_STDIO
#define NN_INT8_ONLY
#define NN_IMPLEMENTATION
#include "../../nn.h"
#include TINY_HEADER /* (-DTINY_HEADER='"build/tiny/NAME.h"') */

void m4_puts(const char *s);
void m4_timer_start(void);
uint32_t m4_timer_ticks(void);

static unsigned char arena[TINY_ARENA_BYTES] __attribute__((aligned(16)));

#ifndef TINY_SIZE_ONLY /* (tests/m4.sh's size build: the library's code alone) */
/* The same inference with the multiply-accumulate loops written plainly (one output at a time,
   every tap bounds-checked), the rest nn.h's own layer code: the baseline the library's
   kernels are measured against, and a second computation of the output */
static void naive_conv(const nn_qlayer *l, const nn_conv2d_desc *d, const uint8_t *x, int32_t zin, uint8_t *y) {
    const int C = (int)d->C, H = (int)d->H, W = (int)d->W, OC = (int)d->OC, OH = (int)d->OH, OW = (int)d->OW;
    const int KH = (int)d->KH, KW = (int)d->KW, cg = C / (int)d->G, ocg = OC / (int)d->G;
    int o, oh, ow, c, i, j;
    for (o = 0; o < OC; o++)
        for (oh = 0; oh < OH; oh++)
            for (ow = 0; ow < OW; ow++) {
                int32_t acc = 0;
                for (c = 0; c < cg; c++)
                    for (i = 0; i < KH; i++)
                        for (j = 0; j < KW; j++) {
                            const int ih = oh * (int)d->SH - (int)d->PH + i * (int)d->DH, iw = ow * (int)d->SW - (int)d->PW + j * (int)d->DW;
                            const int32_t v = ih < 0 || ih >= H || iw < 0 || iw >= W ? zin : x[((o / ocg) * cg + c) * H * W + ih * W + iw];
                            acc += v * l->w[((o * cg + c) * KH + i) * KW + j];
                        }
                y[(o * OH + oh) * OW + ow] = nn__qout(l, o, acc);
            }
}
static void naive_forward(nn_qmodel *q, const uint8_t *x) {
    int i;
    q->q[0].y = (uint8_t *)(uintptr_t)x;
    for (i = 1; i < q->g.n_layers; i++) {
        const nn_layer *l = &q->g.layers[i];
        nn_qlayer *ql = &q->q[i];
        const uint8_t *in = q->q[l->inputs[0]].y;
        if (ql->view) ql->y = q->q[l->inputs[0]].y;
        else if (l->type == NN_LAYER_CONV2D) naive_conv(ql, &l->cfg.conv.d, in, q->q[l->inputs[0]].zero, ql->y);
        else if (l->type == NN_LAYER_DENSE) {
            const int n = (int)q->g.layers[l->inputs[0]].size;
            int o, k;
            for (o = 0; o < ql->n_ch; o++) {
                int32_t acc = 0;
                for (k = 0; k < n; k++) acc += (int32_t)in[k] * ql->w[o * n + k];
                ql->y[o] = nn__qout(ql, o, acc);
            }
        } else nn__ops(l->type)->qforward(q, i, 1);
    }
}
#endif

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
#ifndef TINY_SIZE_ONLY
    {   /* where the instructions go: nn.h's layers one at a time, ticks per layer type
           (depthwise convolutions apart) */
        uint32_t per[NN_LAYER_COUNT + 1] = {0}, t3;
        int k;
        q.q[0].y = (uint8_t *)(uintptr_t)tiny_input;
        for (k = 1; k < q.g.n_layers; k++) {
            const nn_layer *l = &q.g.layers[k];
            const int dw = l->type == NN_LAYER_CONV2D && l->cfg.conv.d.G > 1;
            t3 = m4_timer_ticks();
            if (q.q[k].view) q.q[k].y = q.q[l->inputs[0]].y;
            else nn__ops(l->type)->qforward(&q, k, 1);
            per[dw ? NN_LAYER_COUNT : l->type] += m4_timer_ticks() - t3;
        }
        line[0] = 0;
        strcat(line, "profile");
        for (k = 0; k <= NN_LAYER_COUNT; k++)
            if (per[k]) {
                strcat(line, " ");
                strcat(line, k == NN_LAYER_COUNT ? "depthwise" : nn__layer_name(k));
                put_num(num, " ", per[k]);
                strcat(line, num);
            }
        strcat(line, "\n");
        m4_puts(line);
    }
    {   /* the plain loops: same output, and their time */
        uint32_t t3, t4, k;
        t3 = m4_timer_ticks();
        naive_forward(&q, tiny_input);
        t4 = m4_timer_ticks();
        out = q.q[q.g.n_layers - 1].y;
        for (k = 0; k < n; k++) if (out[k] != tiny_expect[k]) break;
        if (k != n) { m4_puts("naive loops: MISMATCH\n"); return 1; }
        put_num(line, "naive_ticks ", t4 - t3);
        strcat(line, "\n");
        m4_puts(line);
    }
#endif
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
