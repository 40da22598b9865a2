/*
 * Shared protocol of the checkpoint/restore test targets.
 *
 *   target OUT [args...]
 *
 * - OUT is the result file: the target appends "key=value" lines to it (one write() per report).
 * - When set up, the target atomically creates OUT.ready containing "pid=N" plus target-specific lines.
 * - SIGTERM asks the target to write its final report and exit 0 (handled in the main loop, not in the handler).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const char *g_out;
static volatile sig_atomic_t g_term;

static inline void on_term(int sig) { (void)sig; g_term = 1; }

/* Installs a handler without SA_RESTART, so a blocking call returns EINTR and the loop can notice. */
static inline void handle(int sig, void (*fn)(int))
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = fn;
	sigemptyset(&sa.sa_mask);
	if (sigaction(sig, &sa, NULL) != 0) { perror("sigaction"); exit(2); }
}

static inline void target_init(int argc, char **argv, int min_args, const char *usage)
{
	if (argc < min_args + 1) { fprintf(stderr, "usage: %s %s\n", argv[0], usage); exit(2); }
	g_out = argv[1];
	handle(SIGTERM, on_term);
}

static inline void die(const char *what) { perror(what); exit(1); }

static inline void write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);
		if (n < 0 && errno == EINTR) continue;
		if (n <= 0) die("write");
		buf += n; len -= (size_t)n;
	}
}

/* Appends one formatted report to OUT with a single write(). */
static inline void report(const char *fmt, ...)
{
	char buf[4096];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	int fd = open(g_out, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (fd < 0) die(g_out);
	write_all(fd, buf, (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
	close(fd);
}

/* Creates OUT.ready atomically: "pid=N\n" followed by the formatted extra lines. */
static inline void ready(const char *fmt, ...)
{
	char path[4096], tmp[4200], buf[4096];
	int n = snprintf(buf, sizeof(buf), "pid=%d\n", getpid());
	if (fmt) {
		va_list ap;
		va_start(ap, fmt);
		n += vsnprintf(buf + n, sizeof(buf) - (size_t)n, fmt, ap);
		va_end(ap);
	}
	snprintf(path, sizeof(path), "%s.ready", g_out);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) die(tmp);
	write_all(fd, buf, (size_t)n);
	close(fd);
	if (rename(tmp, path) != 0) die("rename");
}

static inline long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static inline void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL); /* EINTR is fine: every loop re-checks its flags */
}
