/* A freestanding arm64 program (no libc) with two threads that kills itself
 * with SIGABRT. Build: aarch64-linux-gnu-gcc -O1 -static -nostdlib -o tiny tiny.c */
#define SYS_nanosleep 101
#define SYS_tgkill 131
#define SYS_getpid 172
#define SYS_gettid 178
#define SYS_clone 220

static long sys3(long n, long a, long b, long c) {
    register long x8 __asm__("x8") = n;
    register long x0 __asm__("x0") = a;
    register long x1 __asm__("x1") = b;
    register long x2 __asm__("x2") = c;
    __asm__ volatile("svc 0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2) : "memory");
    return x0;
}

/* spawn(stack_top, fn): clone(CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|
 * CLONE_THREAD|CLONE_SYSVSEM); the child calls fn on its own stack. */
long spawn(void *stack_top, void (*fn)(void));
__asm__(".global spawn\n"
        "spawn:\n"
        "  mov x9, x1\n"
        "  mov x1, x0\n"
        "  ldr x0, =0x50f00\n"
        "  mov x2, #0\n  mov x3, #0\n  mov x4, #0\n"
        "  mov x8, #220\n"
        "  svc 0\n"
        "  cbnz x0, 1f\n"
        "  blr x9\n"
        "1: ret\n");

char marker[32] = "arm64 data marker";
static char bss[20000];
static char child_stack[16384] __attribute__((aligned(16)));
static volatile int child_ready;

static void sleep_ms(long ms) {
    long ts[2] = {ms / 1000, (ms % 1000) * 1000000};
    sys3(SYS_nanosleep, (long)ts, 0, 0);
}

static void child(void) {
    child_ready = 1;
    for (;;) sleep_ms(1000);
}

void _start(void) {
    for (int i = 0; i < 11; i++) bss[i] = "bss marker"[i];
    spawn(child_stack + sizeof child_stack, child);
    while (!child_ready) sleep_ms(1);
    sleep_ms(20);
    sys3(SYS_tgkill, sys3(SYS_getpid, 0, 0, 0), sys3(SYS_gettid, 0, 0, 0), 6);
    for (;;) ;
}
