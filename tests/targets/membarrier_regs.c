/* Registers for private expedited membarriers (plain and SYNC_CORE), prints "ready", then on each SIGUSR1 writes
 * "registrations=0xMASK barrier=RESULT" to DIR/membarrier.txt (the kernel's MEMBARRIER_CMD_GET_REGISTRATIONS and
 * the result of issuing a private expedited barrier, -1 when not registered). Usage: membarrier_regs DIR */
#define _GNU_SOURCE
#include <linux/membarrier.h>
#include <signal.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

static volatile sig_atomic_t asked;

static void on_usr1(int sig)
{
    (void)sig;
    asked = 1;
}

static long membarrier(int cmd) { return syscall(SYS_membarrier, cmd, 0, 0); }

int main(int argc, char **argv)
{
    if (argc < 2) return 2;
    if (membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED) || membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_SYNC_CORE))
        return 1;
    /* SIGUSR1 stays blocked except inside sigsuspend, so it cannot slip in between the check and the wait. */
    sigset_t usr1, waiting;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    sigprocmask(SIG_BLOCK, &usr1, &waiting);
    signal(SIGUSR1, on_usr1);
    printf("ready\n");
    fflush(stdout);
    for (;;) {
        sigsuspend(&waiting);
        if (!asked) continue;
        asked = 0;
        char path[4096];
        snprintf(path, sizeof path, "%s/membarrier.txt", argv[1]);
        FILE *out = fopen(path, "w");
        if (!out) return 1;
        fprintf(out, "registrations=0x%lx barrier=%ld\n", membarrier(1 << 9 /* GET_REGISTRATIONS */),
                membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED));
        fclose(out);
    }
}
