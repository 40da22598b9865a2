/* A process group whose leader is gone: the parent (a child subreaper) forks "leader", which makes its own process
 * group, forks "member" into it and exits; the parent reaps the leader and adopts the member, which lives on in the
 * leader's group. The member counts every 10 ms into DIR/member.log (one number a line from 1); it outlives the parent
 * (a death signal would fire when the leader exits), so whoever starts it kills it. Prints group=PGID, member=PID and
 * "ready" once the member counts. Usage: tree_orphan_group DIR */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc != 2) { fprintf(stderr, "usage: tree_orphan_group DIR\n"); return 2; }
    prctl(PR_SET_CHILD_SUBREAPER, 1);
    int report[2];
    if (pipe(report) != 0) { perror("pipe"); return 1; }
    pid_t leader = fork();
    if (leader == 0)
    {
        setpgid(0, 0);
        if (fork() == 0)
        {
            char path[4096], line[32];
            snprintf(path, sizeof path, "%s/member.log", argv[1]);
            int log = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
            for (long n = 1;; n++)
            {
                int length = snprintf(line, sizeof line, "%ld\n", n);
                if (write(log, line, (size_t)length) != length) _exit(1);
                if (n == 1)
                {
                    pid_t self = getpid(); /* reported once it has counted: the parent's "ready" means counting */
                    if (write(report[1], &self, sizeof self) != sizeof self) _exit(1);
                }
                struct timespec pause = { 0, 10 * 1000 * 1000 };
                nanosleep(&pause, NULL);
            }
        }
        _exit(0);
    }
    pid_t member;
    if (read(report[0], &member, sizeof member) != sizeof member) { perror("read"); return 1; }
    waitpid(leader, NULL, 0);
    printf("group=%d\nmember=%d\nready\n", leader, member);
    fflush(stdout);
    for (;;) pause();
}
