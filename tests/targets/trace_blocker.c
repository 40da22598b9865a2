/* Blocks in one kind of syscall (argv[1]: read, poll, epoll, select, futex, pause, wait), then prints its result,
 * errno name and how long it blocked. Tests inject syscalls while it blocks and check that the call restarts and
 * ends the way it would have without them. SIGUSR1 has a handler without SA_RESTART (it ends pause). */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/futex.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void on_usr1(int sig)
{
	(void)sig;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return 2;
	const char *mode = argv[1];
	struct sigaction sa = { 0 };
	sa.sa_handler = on_usr1;
	sigaction(SIGUSR1, &sa, NULL);
	char buf[64];
	struct timespec start, end;
	pid_t child = 0;
	if (strcmp(mode, "wait") == 0) {
		child = fork();
		if (child == 0) {
			usleep(1500000);
			_exit(7);
		}
	}
	printf("ready\n");
	fflush(stdout);
	clock_gettime(CLOCK_MONOTONIC, &start);
	long r = -2;
	int status = 0;
	if (strcmp(mode, "read") == 0) {
		r = read(0, buf, sizeof buf);
	} else if (strcmp(mode, "poll") == 0) {
		struct pollfd p = { .fd = 0, .events = POLLIN };
		r = poll(&p, 1, -1);
	} else if (strcmp(mode, "epoll") == 0) {
		int ep = epoll_create1(0);
		struct epoll_event ev = { .events = EPOLLIN }, out;
		epoll_ctl(ep, EPOLL_CTL_ADD, 0, &ev);
		r = epoll_wait(ep, &out, 1, -1);
	} else if (strcmp(mode, "select") == 0) {
		fd_set set;
		FD_ZERO(&set);
		FD_SET(0, &set);
		struct timeval tv = { 1, 500000 };
		r = select(1, &set, NULL, NULL, &tv);
	} else if (strcmp(mode, "futex") == 0) {
		static int word;
		struct timespec ts = { 1, 500000000 };
		r = syscall(SYS_futex, &word, FUTEX_WAIT_PRIVATE, 0, &ts, NULL, 0);
	} else if (strcmp(mode, "pause") == 0) {
		r = pause();
	} else if (strcmp(mode, "wait") == 0) {
		r = waitpid(child, &status, 0);
		r = r == child ? WEXITSTATUS(status) : -1;
	}
	int e = errno;
	clock_gettime(CLOCK_MONOTONIC, &end);
	long ms = (end.tv_sec - start.tv_sec) * 1000 + (end.tv_nsec - start.tv_nsec) / 1000000;
	printf("result=%ld\nerrno=%s\nelapsed_ms=%ld\n", r, r < 0 ? strerrorname_np(e) : "0", ms);
	return 0;
}
