/* A small process tree: root -> A -> C, and root -> B, where B exits at once and stays a zombie (root never reaps
 * it). Every descendant dies with its parent (PR_SET_PDEATHSIG), so killing root cleans up. Prints root's direct
 * children as a=, b= and then "ready" once A and C run and B is a zombie. */
#include <signal.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

static int started[2];

static void count_forever(void)
{
	char one = 1;
	if (write(started[1], &one, 1) != 1)
		_exit(1);
	for (;;)
		usleep(1000);
}

int main(void)
{
	if (pipe(started) != 0)
		return 1;
	pid_t a = fork();
	if (a == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (fork() == 0) {
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			count_forever();
		}
		count_forever();
	}
	pid_t b = fork();
	if (b == 0)
		_exit(3);
	char c;
	for (int i = 0; i < 2; i++)
		if (read(started[0], &c, 1) != 1)
			return 1;
	siginfo_t info;
	waitid(P_PID, b, &info, WEXITED | WNOWAIT); /* B is a zombie now */
	printf("a=%d\nb=%d\nready\n", a, b);
	fflush(stdout);
	for (;;)
		pause();
}
