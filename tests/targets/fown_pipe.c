/* A pipe whose read end signals its owner: F_SETOWN to this process (made while the effective uid was 1, so the
 * kernel records uids 0/1 with the owner), F_SETSIG SIGUSR2, O_ASYNC. Prints write=FD and "ready"; each SIGUSR2
 * (data arrived) is reported as "sigio N owner=PID sig=SIG uids=UID,EUID flags=OCTAL" in DIR/sigio.txt, read back
 * from the description. Usage: fown_pipe DIR */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

#ifndef F_GETOWNER_UIDS
#define F_GETOWNER_UIDS 17
#endif

static volatile sig_atomic_t signals;

static void on_io(int sig)
{
    (void)sig;
    signals++;
}

int main(int argc, char **argv)
{
    if (argc < 2) return 2;
    int fds[2];
    if (pipe(fds)) return 1;
    sigset_t io, waiting;
    sigemptyset(&io);
    sigaddset(&io, SIGUSR2);
    sigprocmask(SIG_BLOCK, &io, &waiting);
    signal(SIGUSR2, on_io);
    if (setresuid(-1, 1, -1) || fcntl(fds[0], F_SETOWN, getpid()) || setresuid(-1, 0, -1)) return 1;
    if (fcntl(fds[0], F_SETSIG, SIGUSR2) || fcntl(fds[0], F_SETFL, fcntl(fds[0], F_GETFL) | O_ASYNC)) return 1;
    printf("write=%d\nready\n", fds[1]);
    fflush(stdout);
    for (int reported = 0;;) {
        sigsuspend(&waiting);
        if (signals == reported) continue;
        reported = signals;
        char byte;
        if (read(fds[0], &byte, 1) != 1) return 1;
        unsigned uids[2];
        if (fcntl(fds[0], F_GETOWNER_UIDS, uids)) return 1;
        char path[4096];
        snprintf(path, sizeof path, "%s/sigio.txt", argv[1]);
        FILE *out = fopen(path, "w");
        if (!out) return 1;
        fprintf(out, "sigio %d owner=%d sig=%d uids=%u,%u flags=%o\n", reported, fcntl(fds[0], F_GETOWN), fcntl(fds[0], F_GETSIG),
                uids[0], uids[1], fcntl(fds[0], F_GETFL));
        fclose(out);
    }
}
