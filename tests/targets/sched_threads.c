/* Threads with their own scheduling. The main thread runs with nice 7; a second thread with SCHED_RR |
 * SCHED_RESET_ON_FORK priority 3 (its nice -5 kept underneath); a third with SCHED_BATCH and nice -20. Prints
 * rr=TID, batch=TID and "ready", then all three sleep. Usage: sched_threads */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

static volatile pid_t rr_tid, batch_tid;

static void *rr_main(void *arg)
{
    (void)arg;
    struct sched_param param = {.sched_priority = 3};
    if (setpriority(PRIO_PROCESS, 0, -5) || sched_setscheduler(0, SCHED_RR | SCHED_RESET_ON_FORK, &param)) _exit(1);
    rr_tid = (pid_t)syscall(SYS_gettid);
    for (;;) pause();
}

static void *batch_main(void *arg)
{
    (void)arg;
    struct sched_param param = {.sched_priority = 0};
    if (sched_setscheduler(0, SCHED_BATCH, &param) || setpriority(PRIO_PROCESS, 0, -20)) _exit(1);
    batch_tid = (pid_t)syscall(SYS_gettid);
    for (;;) pause();
}

int main(void)
{
    if (setpriority(PRIO_PROCESS, 0, 7)) return 1;
    pthread_t rr, batch;
    if (pthread_create(&rr, NULL, rr_main, NULL) || pthread_create(&batch, NULL, batch_main, NULL)) return 1;
    while (!rr_tid || !batch_tid) usleep(1000);
    printf("rr=%d\nbatch=%d\nready\n", rr_tid, batch_tid);
    fflush(stdout);
    for (;;) pause();
}
