/* A thread under SCHED_DEADLINE (runtime 1 ms in every 100 ms), which has parameters no image can hold. Prints
 * "ready" once it runs so, then waits. Usage: sched_deadline */
#define _GNU_SOURCE
#include <stdint.h>
#include <pthread.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef SCHED_DEADLINE
#define SCHED_DEADLINE 6
#endif

/* The kernel's struct sched_attr (linux/sched/types.h clashes with glibc's sched.h). */
struct deadline_attr {
    uint32_t size, sched_policy;
    uint64_t sched_flags;
    int32_t sched_nice;
    uint32_t sched_priority;
    uint64_t sched_runtime, sched_deadline, sched_period;
};

static volatile int ready;

static void *deadline_main(void *arg)
{
    (void)arg;
    struct deadline_attr attr = {
        .size = sizeof attr, .sched_policy = SCHED_DEADLINE,
        .sched_runtime = 1000000, .sched_deadline = 100000000, .sched_period = 100000000,
    };
    if (syscall(SYS_sched_setattr, 0, &attr, 0)) _exit(1);
    ready = 1;
    for (;;) pause();
}

int main(void)
{
    pthread_t thread;
    if (pthread_create(&thread, NULL, deadline_main, NULL)) return 1;
    while (!ready) usleep(1000);
    printf("ready\n");
    fflush(stdout);
    for (;;) pause();
}
