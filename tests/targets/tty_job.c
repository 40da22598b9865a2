/*
 * tty_job WORK: a program run from a shell on a terminal (stdin, stdout, stderr), not a session leader. Creates
 * WORK/ready holding its pid once set up. On each SIGUSR1 it prints "hello from PID" on stdout, reads one line from
 * stdin and appends it to WORK/typed.txt.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t go;
static void on_usr1(int sig) { (void)sig; go = 1; }

int main(int argc, char **argv)
{
	if (argc < 2) { fprintf(stderr, "usage: tty_job WORK\n"); return 2; }
	struct sigaction sa = { .sa_handler = on_usr1 };
	sigaction(SIGUSR1, &sa, NULL);
	char path[4096], tmp[4200], text[64];
	snprintf(path, sizeof(path), "%s/ready", argv[1]);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	int n = snprintf(text, sizeof(text), "%d\n", getpid());
	if (fd < 0 || write(fd, text, (size_t)n) != n || close(fd) || rename(tmp, path)) { perror(path); return 1; }
	for (;;) {
		while (!go)
			pause();
		go = 0;
		n = snprintf(text, sizeof(text), "hello from %d\n", getpid());
		if (write(1, text, (size_t)n) != n) { perror("write stdout"); return 1; }
		char line[256];
		ssize_t got;
		do got = read(0, line, sizeof(line)); while (got < 0 && errno == EINTR);
		if (got <= 0) { perror("read stdin"); return 1; }
		snprintf(path, sizeof(path), "%s/typed.txt", argv[1]);
		fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0644);
		if (fd < 0 || write(fd, line, (size_t)got) != got) { perror(path); return 1; }
		close(fd);
	}
}
