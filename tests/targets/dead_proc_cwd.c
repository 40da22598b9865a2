/*
 * dead_proc_cwd OUT: forks a child, chdir()s into /proc/CHILD, kills and reaps the child (as zdtm's unhashed_proc),
 * so its working directory is the /proc entry of a process that is gone. Ready line: child=PID. On SIGTERM reports
 * cwd_enoent=1 when getcwd() fails with ENOENT, cwd (readlink of /proc/self/cwd up to its first space), then
 * "done=1", exits 0.
 */
#include "target_common.h"
#include <sys/wait.h>

int main(int argc, char **argv)
{
	target_init(argc, argv, 1, "OUT");
	pid_t child = fork();
	if (child < 0) die("fork");
	if (child == 0) { for (;;) pause(); }
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d", child);
	if (chdir(path) != 0) die("chdir");
	kill(child, SIGKILL);
	if (waitpid(child, NULL, 0) != child) die("waitpid");
	ready("child=%d\n", child);
	while (!g_term) pause();
	char buf[4096];
	int enoent = getcwd(buf, sizeof(buf)) == NULL && errno == ENOENT;
	ssize_t n = readlink("/proc/self/cwd", buf, sizeof(buf) - 1);
	buf[n < 0 ? 0 : n] = 0;
	char *space = strchr(buf, ' ');
	if (space) *space = 0;
	report("cwd_enoent=%d\ncwd=%s\ndone=1\n", enoent, buf);
	return 0;
}
