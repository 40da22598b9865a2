/*
 * pidfd_holder OUT [parent]: holds pidfds of its own: of a child that sleeps (fd "live"), of itself (fd "self") and of a
 * child that has exited and was reaped (fd "dead"). Ready line: child=PID. On SIGTERM: polls the dead child's
 * pidfd (dead_poll=1 when it reports the exit), sends SIGKILL to the sleeping child through its pidfd and reaps it
 * (live_killed=1 when it died of SIGKILL), checks the pidfd of itself still names it (self_ok=1: pidfd_send_signal
 * with signal 0 works and its fdinfo shows this pid), signal through the dead pidfd fails with ESRCH (dead_esrch=1),
 * then "done=1", exits 0. With "parent" it also holds a pidfd of its parent (a process outside its tree).
 */
#include "target_common.h"
#include <poll.h>
#include <sys/syscall.h>
#include <sys/wait.h>

static int pidfd_open(pid_t pid) { return (int)syscall(SYS_pidfd_open, pid, 0); }
static int pidfd_send_signal(int fd, int sig) { return (int)syscall(SYS_pidfd_send_signal, fd, sig, NULL, 0); }

static int fdinfo_pid(int fd)
{
	char path[64], line[256];
	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	FILE *f = fopen(path, "r");
	if (!f) return -2;
	int pid = -2;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Pid: %d", &pid) == 1) break;
	fclose(f);
	return pid;
}

int main(int argc, char **argv)
{
	target_init(argc, argv, 1, "OUT");
	pid_t live = fork();
	if (live < 0) die("fork");
	if (live == 0) { for (;;) pause(); }
	pid_t dead = fork();
	if (dead < 0) die("fork");
	if (dead == 0) _exit(0);
	int live_fd = pidfd_open(live), self_fd = pidfd_open(getpid()), dead_fd = pidfd_open(dead);
	if (live_fd < 0 || self_fd < 0 || dead_fd < 0) die("pidfd_open");
	if (waitpid(dead, NULL, 0) != dead) die("waitpid");
	if (argc > 2 && strcmp(argv[2], "parent") == 0 && pidfd_open(getppid()) < 0) die("pidfd_open(parent)");
	ready("child=%d\n", live);
	while (!g_term) pause();

	struct pollfd p = { .fd = dead_fd, .events = POLLIN };
	int dead_poll = poll(&p, 1, 0) == 1 && (p.revents & POLLIN);
	int dead_esrch = pidfd_send_signal(dead_fd, 0) < 0 && errno == ESRCH;
	int self_ok = pidfd_send_signal(self_fd, 0) == 0 && fdinfo_pid(self_fd) == getpid();
	int status = 0, live_killed = 0;
	if (pidfd_send_signal(live_fd, SIGKILL) == 0 && waitpid(live, &status, 0) == live)
		live_killed = WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
	report("dead_poll=%d\ndead_esrch=%d\nself_ok=%d\nlive_killed=%d\ndone=1\n", dead_poll, dead_esrch, self_ok, live_killed);
	return 0;
}
