/* Catches SIGTRAP: each one appends "trap" to DIR/trap.txt. Prints "ready", then waits. Usage: sigtrap_handler DIR */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

static int log_fd;

static void on_trap(int sig)
{
    (void)sig;
    if (write(log_fd, "trap\n", 5) != 5) _exit(1);
}

int main(int argc, char **argv)
{
    if (argc < 2) return 2;
    char path[4096];
    snprintf(path, sizeof path, "%s/trap.txt", argv[1]);
    log_fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (log_fd < 0) return 1;
    signal(SIGTRAP, on_trap);
    printf("ready\n");
    fflush(stdout);
    for (;;) pause();
}
