/* A parent with two children joined by pipes with data in flight: parent -> child1 (pipe A, 100 unread bytes) and
 * child1 -> child2 (pipe B, 200 unread bytes). Before forking, the parent opens DIR/shared.log (no O_APPEND): all
 * three hold that one open file description (one offset) and each writes "ROLE started" to it before "ready".
 * Every process counts every 10 ms into its own DIR/ROLE.log (ROLE = parent, child1, child2), one number a line from 1.
 * SIGUSR1 makes a child read its pipe's pending bytes into DIR/ROLE-pipe.txt (to check the data after a restore).
 * Children die with the parent (PR_SET_PDEATHSIG). With "socket" as second argument child2 also holds a socketpair
 * (a descriptor kind a dump refuses). child2 also opens DIR/shared.log four more times on its own (fds 20-23, four
 * descriptions) and holds a dup of fd 21 at fd 24. Prints child1=PID, child2=PID and "ready" once all is in place.
 * Usage: tree_pipes DIR [socket] */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static const char *dir;
static int shared_log;
static volatile sig_atomic_t drain;

static void on_usr1(int sig) { (void)sig; drain = 1; }

static int open_in_dir(const char *name, int flags)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return open(path, flags | O_CLOEXEC, 0644);
}

static void fill(int fd, char letter, int bytes)
{
    char data[256];
    memset(data, letter, sizeof data);
    if (write(fd, data, bytes) != bytes) _exit(1);
}

/* Writes "ROLE started" to the shared log; every process does so before "ready" is printed. */
static void announce(const char *role)
{
    char line[64];
    int n = snprintf(line, sizeof line, "%s started\n", role);
    if (write(shared_log, line, n) != n) _exit(1);
}

/* Counts forever; a child with a pipe to read drains it into ROLE-pipe.txt on SIGUSR1. */
static void count(const char *role, int started, int pipe_in)
{
    char name[64], line[64];
    snprintf(name, sizeof name, "%s.log", role);
    int log = open_in_dir(name, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND);
    if (log < 0) _exit(1);
    int n;
    if (started >= 0) {
        announce(role);
        if (write(started, "x", 1) != 1) _exit(1);
        close(started);
    }
    for (unsigned long counter = 1;; counter++) {
        n = snprintf(line, sizeof line, "%lu\n", counter);
        if (write(log, line, n) != n) _exit(1);
        if (drain && pipe_in >= 0) {
            drain = 0;
            char data[4096];
            fcntl(pipe_in, F_SETFL, O_NONBLOCK);
            ssize_t got = read(pipe_in, data, sizeof data);
            snprintf(name, sizeof name, "%s-pipe.txt", role);
            int out = open_in_dir(name, O_WRONLY | O_CREAT | O_TRUNC);
            if (out < 0 || (got > 0 && write(out, data, got) != got)) _exit(1);
            close(out);
        }
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
}

int main(int argc, char **argv)
{
    if (argc < 2) return 2;
    dir = argv[1];
    int with_socket = argc > 2 && strcmp(argv[2], "socket") == 0;
    signal(SIGUSR1, on_usr1);
    shared_log = open_in_dir("shared.log", O_WRONLY | O_CREAT | O_TRUNC);
    int a[2], b[2], started[2];
    if (shared_log < 0 || pipe(a) || pipe(started)) return 1;

    pid_t child1 = fork();
    if (child1 == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        close(a[1]);
        close(started[0]);
        if (pipe(b)) _exit(1);
        pid_t child2 = fork();
        if (child2 == 0) {
            prctl(PR_SET_PDEATHSIG, SIGKILL);
            close(b[1]);
            close(a[0]);
            int pair[2];
            if (with_socket && socketpair(AF_UNIX, SOCK_STREAM, 0, pair)) _exit(1);
            /* Separate opens of the shared log (each its own description) at fds 20-23, and fd 24 a dup of fd 21. */
            for (int fd = 20; fd < 24; fd++) {
                int opened = open_in_dir("shared.log", O_RDONLY);
                if (opened < 0 || dup2(opened, fd) != fd) _exit(1);
                close(opened);
            }
            if (dup2(21, 24) != 24) _exit(1);
            count("child2", started[1], b[0]);
        }
        close(b[0]);
        fill(b[1], 'B', 200);
        count("child1", started[1], a[0]);
    }
    close(a[0]);
    close(started[1]);
    fill(a[1], 'A', 100);
    char c;
    for (int i = 0; i < 2; i++)
        if (read(started[0], &c, 1) != 1) return 1;
    close(started[0]);
    char path[64];
    int child2 = 0;
    snprintf(path, sizeof path, "/proc/%d/task/%d/children", child1, child1);
    FILE *children = fopen(path, "r");
    if (!children || fscanf(children, "%d", &child2) != 1) return 1;
    fclose(children);
    announce("parent");
    printf("child1=%d\nchild2=%d\nready\n", child1, child2);
    fflush(stdout);
    count("parent", -1, -1);
}
