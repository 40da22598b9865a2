/* Three threads besides main, each counting in its own thread-local counter and sleeping 5 ms per step, each
 * with its own blocked-signal mask (thread i blocks signal SIGRTMIN + i). Prints "ready" once all run.
 * Usage: dump_threads. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

static __thread unsigned long counter;
static volatile int started;

static void *count(void *arg)
{
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGRTMIN + (int)(long)arg);
    pthread_sigmask(SIG_BLOCK, &mask, NULL);
    __atomic_add_fetch(&started, 1, __ATOMIC_SEQ_CST);
    for (;;) {
        counter++;
        struct timespec ts = {0, 5 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    return NULL;
}

int main(void)
{
    pthread_t threads[3];
    for (long i = 0; i < 3; i++) pthread_create(&threads[i], NULL, count, (void *)(i + 1));
    while (__atomic_load_n(&started, __ATOMIC_SEQ_CST) < 3) usleep(1000);
    printf("ready\n");
    fflush(stdout);
    for (;;) pause();
}
