/* tests/m4: bare-metal start for the emulated Cortex-M4 (qemu-system-arm -M mps2-an386): the
   vector table, the copy of .data and clearing of .bss, the FPU enabled, main, and exit through
   semihosting (QEMU's -semihosting); plus the two semihosting calls the programs use and the
   cycle-free clock: a CMSDK timer that counts QEMU's virtual time, which with -icount shift=0
   advances 1 ns per executed instruction (25 MHz: one tick per 40 instructions). */
#include <stdint.h>
#include <string.h>

extern uint32_t _data_start, _data_end, _data_load, _bss_start, _bss_end, _stack_top;
int main(void);
void reset_handler(void);

static int semihost(int op, const void *arg) {
    register int r0 __asm__("r0") = op;
    register const void *r1 __asm__("r1") = arg;
    __asm__ volatile("bkpt 0xab" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}
void m4_puts(const char *s) { semihost(0x04, s); } /* SYS_WRITE0 */
void m4_exit(int code) {
    const uint32_t args[2] = {0x20026u /* ADP_Stopped_ApplicationExit */, (uint32_t)code};
    semihost(0x20, args); /* SYS_EXIT_EXTENDED: the status reaches QEMU's exit code */
    for (;;) {}
}

#define TIMER0 ((volatile uint32_t *)0x40000000u) /* CMSDK APB timer 0: CTRL, VALUE, RELOAD */
void m4_timer_start(void) { TIMER0[2] = 0xffffffffu; TIMER0[1] = 0xffffffffu; TIMER0[0] = 1u; }
uint32_t m4_timer_ticks(void) { return 0xffffffffu - TIMER0[1]; }

static void fault(void) { m4_puts("m4: fault\n"); m4_exit(3); }

void reset_handler(void) {
    uint32_t *s = &_data_load, *d = &_data_start;
    while (d < &_data_end) *d++ = *s++;
    for (d = &_bss_start; d < &_bss_end; d++) *d = 0;
    *(volatile uint32_t *)0xE000ED88u |= 0xFu << 20; /* CPACR: CP10, CP11 full access (the FPU) */
    __asm__ volatile("dsb\n isb");
    m4_exit(main());
}

__attribute__((section(".vectors"), used)) static void (*const vectors[16])(void) = {
    (void (*)(void))(uintptr_t)&_stack_top, reset_handler, fault, fault, fault, fault, fault, 0, 0, 0, 0,
    fault, fault, 0, fault, fault,
};

/* newlib's sbrk (malloc is not used by nn.h here: NN_NO_MALLOC; libm may ask) */
void *_sbrk(int n) { (void)n; return (void *)-1; }
