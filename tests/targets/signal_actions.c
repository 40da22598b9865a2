/* Signal actions and properties a restore must bring back exactly: SIGUSR2 default but with SA_RESTART and a mask,
 * SIGURG ignored, SIGPIPE default (Ferry's own runtime ignores it), two lowered soft limits, umask 027 and the
 * ADDR_NO_RANDOMIZE personality flag. Each SIGUSR1
 * (re)writes DIR/actions.txt with "signal handler flags mask" of those three as the kernel reports them.
 * Prints "ready", then waits. Usage: signal_actions DIR */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <sys/personality.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

static volatile sig_atomic_t asked;

static void on_usr1(int sig)
{
    (void)sig;
    asked = 1;
}

static int write_actions(const char *dir)
{
    char path[4096], tmp[4096];
    snprintf(path, sizeof path, "%s/actions.txt", dir);
    snprintf(tmp, sizeof tmp, "%s/actions.tmp", dir);
    FILE *f = fopen(tmp, "w");
    if (!f) return -1;
    const int signals[] = { SIGUSR2, SIGURG, SIGPIPE };
    for (unsigned i = 0; i < sizeof signals / sizeof signals[0]; i++) {
        struct sigaction sa;
        if (sigaction(signals[i], NULL, &sa) != 0) return -1;
        unsigned long mask = 0;
        for (int s = 1; s < 64; s++)
            if (sigismember(&sa.sa_mask, s) == 1) mask |= 1UL << (s - 1);
        fprintf(f, "%d %lu 0x%x 0x%lx\n", signals[i], (unsigned long)sa.sa_handler, (unsigned)sa.sa_flags & ~0x04000000u /* SA_RESTORER */, mask);
    }
    if (fclose(f) != 0) return -1;
    return rename(tmp, path);
}

int main(int argc, char **argv)
{
    if (argc < 2) return 2;
    struct sigaction usr1 = { .sa_handler = on_usr1, .sa_flags = SA_RESTART };
    struct sigaction usr2 = { .sa_handler = SIG_DFL, .sa_flags = SA_RESTART | SA_NODEFER };
    sigaddset(&usr2.sa_mask, SIGINT);
    sigaddset(&usr2.sa_mask, SIGTERM);
    struct sigaction urg = { .sa_handler = SIG_IGN };
    struct sigaction pipe = { .sa_handler = SIG_DFL };
    if (sigaction(SIGUSR1, &usr1, NULL) || sigaction(SIGUSR2, &usr2, NULL) || sigaction(SIGURG, &urg, NULL) || sigaction(SIGPIPE, &pipe, NULL))
        return 1;
    struct rlimit files, core;
    if (getrlimit(RLIMIT_NOFILE, &files) || getrlimit(RLIMIT_CORE, &core)) return 1;
    files.rlim_cur = 200;
    core.rlim_cur = 12345;
    if (setrlimit(RLIMIT_NOFILE, &files) || setrlimit(RLIMIT_CORE, &core)) return 1;
    umask(027);
    if (personality(ADDR_NO_RANDOMIZE) == -1) return 1;
    /* SIGUSR1 is let in only inside sigsuspend, so none can slip in between the check and the wait. */
    sigset_t usr1_only, open;
    sigemptyset(&usr1_only);
    sigaddset(&usr1_only, SIGUSR1);
    if (sigprocmask(SIG_BLOCK, &usr1_only, &open) != 0) return 1;
    sigdelset(&open, SIGUSR1);
    printf("ready\n");
    fflush(stdout);
    for (;;) {
        sigsuspend(&open);
        if (asked) {
            asked = 0;
            if (write_actions(argv[1]) != 0) return 1;
        }
    }
}
