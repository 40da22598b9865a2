/* A parent and a child made by clone() sharing one kernel object: with "files" their descriptor table
 * (CLONE_FILES), with "fs" their cwd, root and umask (CLONE_FS). Each counts every 10 ms into its own DIR/ROLE.log
 * (ROLE = parent, child; one number a line from 1), both opened before the clone. On SIGUSR1 the child moves into
 * DIR/moved and sets umask 027 (with "fs" the parent then has them too). The child dies with the parent
 * (PR_SET_PDEATHSIG). Prints child=PID and "ready" once both have counted. Usage: tree_clone DIR files|fs */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int logs[2];
static char moved[4096];

static void count(int fd)
{
    char line[32];
    for (long n = 1;; n++)
    {
        int length = snprintf(line, sizeof line, "%ld\n", n);
        if (write(fd, line, (size_t)length) != length) _exit(1);
        struct timespec pause = { 0, 10 * 1000 * 1000 };
        nanosleep(&pause, NULL);
    }
}

static void move(int signal)
{
    (void)signal;
    if (chdir(moved) != 0) _exit(1);
    umask(027);
}

static int child_main(void *arg)
{
    (void)arg;
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    signal(SIGUSR1, move);
    count(logs[1]);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 3 || (strcmp(argv[2], "files") != 0 && strcmp(argv[2], "fs") != 0))
    {
        fprintf(stderr, "usage: tree_clone DIR files|fs\n");
        return 2;
    }
    int shared = strcmp(argv[2], "files") == 0 ? CLONE_FILES : CLONE_FS;
    char path[4096];
    const char *roles[2] = { "parent", "child" };
    for (int i = 0; i < 2; i++)
    {
        snprintf(path, sizeof path, "%s/%s.log", argv[1], roles[i]);
        logs[i] = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
        if (logs[i] < 0) { perror("open"); return 1; }
    }
    snprintf(moved, sizeof moved, "%s/moved", argv[1]);
    if (mkdir(moved, 0755) != 0) { perror("mkdir"); return 1; }
    size_t stack_size = 256 * 1024;
    char *stack = malloc(stack_size);
    pid_t child = clone(child_main, stack + stack_size, shared | SIGCHLD, NULL);
    if (child < 0) { perror("clone"); return 1; }
    printf("child=%d\n", child);
    struct timespec settle = { 0, 50 * 1000 * 1000 };
    nanosleep(&settle, NULL);
    printf("ready\n");
    fflush(stdout);
    count(logs[0]);
}
