/* Eight threads besides main, each counting every 10 ms into its own DIR/thread-N.log (N = 1..8, one number a line
 * from 1, O_APPEND). Prints "ready" once every thread has written its first line. Usage: threads_counters DIR */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#define THREADS 8

static const char *dir;
static int started;

static void *count(void *arg)
{
    char path[4096], line[32];
    snprintf(path, sizeof path, "%s/thread-%ld.log", dir, (long)arg);
    int log = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
    if (log < 0) _exit(1);
    for (unsigned long counter = 1;; counter++) {
        int n = snprintf(line, sizeof line, "%lu\n", counter);
        if (write(log, line, n) != n) _exit(1);
        if (counter == 1) __atomic_add_fetch(&started, 1, __ATOMIC_SEQ_CST);
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc < 2) return 2;
    dir = argv[1];
    pthread_t threads[THREADS];
    for (long i = 0; i < THREADS; i++)
        if (pthread_create(&threads[i], NULL, count, (void *)(i + 1))) return 1;
    while (__atomic_load_n(&started, __ATOMIC_SEQ_CST) < THREADS) usleep(1000);
    printf("ready\n");
    fflush(stdout);
    for (;;) pause();
}
