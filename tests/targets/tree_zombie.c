/* A parent with two zombie children it does not reap: "exited" ended with exit(7), "killed" was killed by SIGUSR2
 * (or by the signal number given as second argument).
 * The parent counts every 10 ms into DIR/parent.log. SIGUSR1 makes it reap both and write
 * "exited=exit:7 killed=signal:12" (what waitpid reported) to DIR/reaped.txt. Prints exited=PID, killed=PID and
 * "ready" once both are zombies. Usage: tree_zombie DIR [SIGNAL] */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t reap;

static void on_usr1(int sig) { (void)sig; reap = 1; }

static void describe(char *out, size_t size, int status)
{
    if (WIFEXITED(status)) snprintf(out, size, "exit:%d", WEXITSTATUS(status));
    else if (WIFSIGNALED(status)) snprintf(out, size, "signal:%d", WTERMSIG(status));
    else snprintf(out, size, "other:%d", status);
}

int main(int argc, char **argv)
{
    if (argc < 2) return 2;
    signal(SIGUSR1, on_usr1);
    pid_t exited = fork();
    if (exited == 0) _exit(7);
    pid_t killed = fork();
    if (killed == 0) {
        for (;;) pause();
    }
    kill(killed, argc > 2 ? atoi(argv[2]) : SIGUSR2);
    siginfo_t info;
    if (waitid(P_PID, exited, &info, WEXITED | WNOWAIT) || waitid(P_PID, killed, &info, WEXITED | WNOWAIT)) return 1;
    printf("exited=%d\nkilled=%d\nready\n", exited, killed);
    fflush(stdout);

    char path[4096], line[128];
    snprintf(path, sizeof path, "%s/parent.log", argv[1]);
    int log = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
    if (log < 0) return 1;
    for (unsigned long counter = 1;; counter++) {
        int n = snprintf(line, sizeof line, "%lu\n", counter);
        if (write(log, line, n) != n) return 1;
        if (reap) {
            reap = 0;
            int first, second;
            char a[32], b[32];
            if (waitpid(exited, &first, 0) != exited || waitpid(killed, &second, 0) != killed) return 1;
            describe(a, sizeof a, first);
            describe(b, sizeof b, second);
            snprintf(path, sizeof path, "%s/reaped.txt", argv[1]);
            int out = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
            n = snprintf(line, sizeof line, "exited=%s killed=%s\n", a, b);
            if (out < 0 || write(out, line, n) != n) return 1;
            close(out);
        }
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
}
