/* A tree for the tree and thread benchmarks: the root forks PROCS-1 children (all its own), every process writes
 * MIB MiB of anonymous memory and runs THREADS-1 extra threads, and all of them sleep. Children die with the root
 * (PR_SET_PDEATHSIG). Prints "ready" once every process and thread is in place. Usage: bench_tree PROCS THREADS MIB */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <unistd.h>

static void *sleeper(void *arg)
{
    (void)arg;
    for (;;) pause();
    return NULL;
}

/* Memory, threads, then one byte on the ready pipe. */
static void populate(int threads, size_t mib, int ready)
{
    size_t size = mib << 20;
    char *memory = mmap(NULL, size ? size : 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (memory == MAP_FAILED) { perror("mmap"); exit(1); }
    for (size_t i = 0; i < size; i += 4096) memory[i] = (char)(i >> 12);
    for (int t = 1; t < threads; t++)
    {
        pthread_t thread;
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setstacksize(&attr, 64 * 1024);
        if (pthread_create(&thread, &attr, sleeper, NULL) != 0) { perror("pthread_create"); exit(1); }
    }
    if (write(ready, "r", 1) != 1) exit(1);
}

int main(int argc, char **argv)
{
    if (argc != 4) { fprintf(stderr, "usage: bench_tree PROCS THREADS MIB\n"); return 2; }
    int procs = atoi(argv[1]), threads = atoi(argv[2]);
    size_t mib = (size_t)atol(argv[3]);
    int ready[2];
    if (pipe(ready) != 0) { perror("pipe"); return 1; }
    for (int p = 1; p < procs; p++)
    {
        pid_t child = fork();
        if (child < 0) { perror("fork"); return 1; }
        if (child == 0)
        {
            prctl(PR_SET_PDEATHSIG, SIGKILL);
            close(ready[0]);
            populate(threads, mib, ready[1]);
            close(ready[1]);
            for (;;) pause();
        }
    }
    populate(threads, mib, ready[1]);
    for (int seen = 0; seen < procs; seen++)
    {
        char byte;
        if (read(ready[0], &byte, 1) != 1) { perror("read"); return 1; }
    }
    close(ready[0]);
    close(ready[1]);
    printf("ready\n");
    fflush(stdout);
    for (;;) pause();
}
