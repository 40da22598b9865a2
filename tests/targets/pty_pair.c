/*
 * pty_pair WORK: opens a pty pair (posix_openpt), makes the slave its controlling terminal (it runs in a session of
 * its own) and puts it in raw mode with a 33x111 window of 7x9 pixels, then leaves bytes queued at both ends:
 * "queued-in" for the slave to read, "queued-out" for the master. Prints "index=N master=M slave=S" and "ready".
 * On SIGUSR1 it reads both queues, talks through the pair both ways, checks termios, window, index and that the
 * slave still controls its session with its group in the foreground, and writes WORK/pty.txt:
 *   in=queued-in out=queued-out ping=ping pong=pong raw=1 window=33x111+7+9 index=N ctty=1
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

static volatile sig_atomic_t go;
static void on_usr1(int sig) { (void)sig; go = 1; }

static void die(const char *what) { perror(what); exit(1); }

/* Reads what is there now (the fd is O_NONBLOCK for this), as a string. */
static void drain(int fd, char *buf, size_t size)
{
	int flags = fcntl(fd, F_GETFL);
	fcntl(fd, F_SETFL, flags | O_NONBLOCK);
	size_t got = 0;
	for (;;) {
		ssize_t n = read(fd, buf + got, size - 1 - got);
		if (n > 0) { got += (size_t)n; continue; }
		if (n < 0 && errno == EINTR) continue;
		break;
	}
	buf[got] = 0;
	fcntl(fd, F_SETFL, flags);
}

static void read_exact(int fd, char *buf, size_t len)
{
	size_t got = 0;
	while (got < len) {
		ssize_t n = read(fd, buf + got, len - got);
		if (n < 0 && errno == EINTR) continue;
		if (n <= 0) die("read");
		got += (size_t)n;
	}
	buf[got] = 0;
}

int main(int argc, char **argv)
{
	if (argc < 2) { fprintf(stderr, "usage: pty_pair WORK\n"); return 2; }
	struct sigaction sa = { .sa_handler = on_usr1 };
	sigaction(SIGUSR1, &sa, NULL);

	int master = posix_openpt(O_RDWR | O_NOCTTY);
	if (master < 0) die("posix_openpt");
	if (grantpt(master) || unlockpt(master)) die("unlockpt");
	int index;
	if (ioctl(master, TIOCGPTN, &index)) die("TIOCGPTN");
	/* Without O_NOCTTY: a session leader with no terminal takes this one as its controlling terminal. */
	int slave = open(ptsname(master), O_RDWR);
	if (slave < 0) die("open slave");

	struct termios raw;
	if (tcgetattr(slave, &raw)) die("tcgetattr");
	cfmakeraw(&raw);
	if (tcsetattr(slave, TCSANOW, &raw)) die("tcsetattr");
	struct winsize window = { .ws_row = 33, .ws_col = 111, .ws_xpixel = 7, .ws_ypixel = 9 };
	if (ioctl(slave, TIOCSWINSZ, &window)) die("TIOCSWINSZ");

	if (write(master, "queued-in", 9) != 9) die("write master");
	if (write(slave, "queued-out", 10) != 10) die("write slave");

	printf("index=%d\nmaster=%d\nslave=%d\nready\n", index, master, slave);
	fflush(stdout);
	while (!go)
		pause();

	char in[64], out[64], ping[8], pong[8];
	/* Both ends' queues: the bytes were in the kernel's buffers at dump time. */
	drain(slave, in, sizeof(in));
	drain(master, out, sizeof(out));
	if (write(master, "ping", 4) != 4) die("write ping");
	read_exact(slave, ping, 4);
	if (write(slave, "pong", 4) != 4) die("write pong");
	read_exact(master, pong, 4);

	struct termios now;
	if (tcgetattr(slave, &now)) die("tcgetattr");
	struct winsize w;
	if (ioctl(slave, TIOCGWINSZ, &w)) die("TIOCGWINSZ");
	int now_index;
	if (ioctl(master, TIOCGPTN, &now_index)) die("TIOCGPTN");
	int raw_same = now.c_iflag == raw.c_iflag && now.c_oflag == raw.c_oflag && now.c_lflag == raw.c_lflag
		&& now.c_cflag == raw.c_cflag && memcmp(now.c_cc, raw.c_cc, NCCS) == 0;
	int ctty = tcgetsid(slave) == getpid() && tcgetpgrp(slave) == getpgrp();

	char path[4096], report[512];
	snprintf(path, sizeof(path), "%s/pty.txt", argv[1]);
	int n = snprintf(report, sizeof(report), "in=%s out=%s ping=%s pong=%s raw=%d window=%dx%d+%d+%d index=%d ctty=%d\n",
		in, out, ping, pong, raw_same, w.ws_row, w.ws_col, w.ws_xpixel, w.ws_ypixel, now_index, ctty);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || write(fd, report, (size_t)n) != n) die(path);
	close(fd);
	for (;;)
		pause();
}
