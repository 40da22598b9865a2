/* Processes and threads with different credentials. The parent (run as root) starts a thread that switches only its
 * own ids to uid/gid 2000 (raw setresgid/setresuid act on the calling thread alone), and forks a child that becomes
 * uid/gid 1000 with supplementary group 1001. Each counts every 10 ms into its own DIR/ROLE.log (ROLE = parent, thread,
 * child; opened before the ids change). The child dies with the parent (PR_SET_PDEATHSIG). Prints child=PID,
 * thread=TID and "ready" once all three run with their ids. Usage: tree_creds DIR */
#define _GNU_SOURCE
#include <fcntl.h>
#include <grp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static const char *dir;
static volatile int thread_ready;
static volatile pid_t thread_tid;

static int open_log(const char *role)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s.log", dir, role);
    int log = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
    if (log < 0) _exit(1);
    return log;
}

static void count(int log)
{
    char line[32];
    for (unsigned long counter = 1;; counter++) {
        int n = snprintf(line, sizeof line, "%lu\n", counter);
        if (write(log, line, n) != n) _exit(1);
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
}

static void *thread_main(void *arg)
{
    (void)arg;
    int log = open_log("thread");
    if (syscall(SYS_setresgid, 2000, 2000, 2000) || syscall(SYS_setresuid, 2000, 2000, 2000)) _exit(1);
    thread_tid = (pid_t)syscall(SYS_gettid);
    thread_ready = 1;
    count(log);
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc < 2) return 2;
    dir = argv[1];
    int started[2];
    if (pipe(started)) return 1;
    pid_t child = fork();
    if (child == 0) {
        pid_t parent = getppid();
        int log = open_log("child");
        gid_t groups[] = {1001};
        if (setgroups(1, groups) || setresgid(1000, 1000, 1000) || setresuid(1000, 1000, 1000)) _exit(1);
        /* After the ids change: changing credentials clears the parent-death signal. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent) _exit(1);
        if (write(started[1], "x", 1) != 1) _exit(1);
        close(started[0]);
        close(started[1]);
        count(log);
    }
    close(started[1]);
    char c;
    if (read(started[0], &c, 1) != 1) return 1;
    close(started[0]);
    pthread_t thread;
    if (pthread_create(&thread, NULL, thread_main, NULL)) return 1;
    while (!thread_ready) usleep(1000);
    printf("child=%d\nthread=%d\nready\n", child, thread_tid);
    fflush(stdout);
    count(open_log("parent"));
}
