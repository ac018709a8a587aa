#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <stdio.h>
static char bss_buf[100000];
char data_buf[64] = "hello data segment";
static pthread_barrier_t bar;
static void *worker(void *arg) {
    volatile long x = (long)arg * 0x1111;
    (void)x;
    pthread_barrier_wait(&bar);
    for (;;) pause();
    return NULL;
}
int main(int argc, char **argv) {
    char *heap = malloc(1 << 20);
    memset(heap, 0x5a, 1 << 20);
    strcpy(bss_buf, "bss marker");
    pthread_t t[2];
    pthread_barrier_init(&bar, NULL, 3);
    for (long i = 0; i < 2; i++) pthread_create(&t[i], NULL, worker, (void *)(i + 1));
    pthread_barrier_wait(&bar);
    usleep(10000);
    printf("%p %p %p\n", (void*)heap, (void*)bss_buf, (void*)data_buf);
    fflush(stdout);
    abort();
}
