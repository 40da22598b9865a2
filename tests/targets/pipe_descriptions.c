/*
 * pipe_descriptions OUT: one pipe whose ends are each open in two descriptions with different flags (as zdtm's
 * pipe01/pipe02 do): the read end p[0] blocking and a reopen of it through /proc non-blocking; the write end p[1]
 * non-blocking (with a dup sharing that description) and a reopen of it blocking. Two more pipes get a buffer
 * size: an empty one 1 MiB, one holding a message 256 KiB. SIGTERM appends "r=R r2=R2 w=W wdup=WD w2=W2" (1 where
 * O_NONBLOCK is set), "empty_size=S data_size=T data_ok=0|1" and "done=1", exits 0.
 */
#include "target_common.h"

static const char message[] = "ferry-sized-pipe-data";

static int reopen(int fd, int flags)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	int r = open(path, flags);
	if (r < 0) die("reopen");
	return r;
}

static int nonblocking(int fd) { return (fcntl(fd, F_GETFL) & O_NONBLOCK) != 0; }

int main(int argc, char **argv)
{
	target_init(argc, argv, 1, "OUT");
	int p[2], empty[2], sized[2];
	if (pipe(p) != 0 || pipe(empty) != 0 || pipe(sized) != 0) die("pipe");
	int r2 = reopen(p[0], O_RDONLY | O_NONBLOCK);
	int w2 = reopen(p[1], O_WRONLY);
	if (fcntl(p[1], F_SETFL, O_NONBLOCK) != 0) die("F_SETFL");
	int wdup = dup(p[1]);
	if (fcntl(empty[1], F_SETPIPE_SZ, 1 << 20) < 0 || fcntl(sized[1], F_SETPIPE_SZ, 256 << 10) < 0) die("F_SETPIPE_SZ");
	write_all(sized[1], message, sizeof(message) - 1);
	ready(NULL);
	while (!g_term) pause();
	char buf[64];
	fcntl(sized[0], F_SETFL, O_NONBLOCK);
	ssize_t n = read(sized[0], buf, sizeof(buf));
	report("r=%d r2=%d w=%d wdup=%d w2=%d\nempty_size=%d data_size=%d data_ok=%d\ndone=1\n", nonblocking(p[0]),
		nonblocking(r2), nonblocking(p[1]), nonblocking(wdup), nonblocking(w2), fcntl(empty[1], F_GETPIPE_SZ),
		fcntl(sized[1], F_GETPIPE_SZ), n == (ssize_t)sizeof(message) - 1 && memcmp(buf, message, (size_t)n) == 0);
	return 0;
}
