/*
 * pipe_holder OUT: writes a known message into a pipe it never reads until told to.
 * Ready lines: "read_fd=R write_fd=W bytes=N". SIGTERM: reads the pipe back (non-blocking) and appends
 * "data=<what it read>" and "ok=1|0" (ok: exactly the message), exits 0.
 */
#include "target_common.h"

static const char message[] = "ferry-pipe-data-0123456789";

int main(int argc, char **argv)
{
	target_init(argc, argv, 1, "OUT");
	int fds[2];
	if (pipe2(fds, O_NONBLOCK) != 0) die("pipe2");
	write_all(fds[1], message, sizeof(message) - 1);
	ready("read_fd=%d\nwrite_fd=%d\nbytes=%zu\n", fds[0], fds[1], sizeof(message) - 1);
	while (!g_term) pause();
	char buf[256];
	ssize_t n = read(fds[0], buf, sizeof(buf) - 1);
	if (n < 0) n = 0;
	buf[n] = 0;
	report("data=%s\nok=%d\n", buf, n == (ssize_t)sizeof(message) - 1 && memcmp(buf, message, (size_t)n) == 0);
	return 0;
}
