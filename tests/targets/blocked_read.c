/*
 * blocked_read OUT: blocks in read() on its own pipe. Ready lines: "read_fd=R write_fd=W".
 * Feed it by writing into /proc/PID/fd/W. When data arrives it appends "read=<data>" and "done=1", exits 0.
 * SIGTERM while blocked: appends "interrupted=1", exits 0.
 */
#include "target_common.h"

int main(int argc, char **argv)
{
	target_init(argc, argv, 1, "OUT");
	int fds[2];
	if (pipe(fds) != 0) die("pipe");
	ready("read_fd=%d\nwrite_fd=%d\n", fds[0], fds[1]);
	char buf[256];
	ssize_t n = read(fds[0], buf, sizeof(buf) - 1);
	if (n < 0 && errno == EINTR) { report("interrupted=1\n"); return 0; }
	if (n < 0) die("read");
	buf[n] = 0;
	report("read=%s\ndone=1\n", buf);
	return 0;
}
