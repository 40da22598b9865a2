/*
 * fifo_holder OUT: makes the FIFO OUT.fifo, opens it read-only (O_NONBLOCK) and write-only, and writes a known
 * message it does not read. A second FIFO, OUT.wfifo, is held write-only only (its reader is gone), with data.
 * Ready lines: "fifo=PATH read_fd=R write_fd=W wfifo=PATH2". SIGUSR1: reads OUT.fifo (non-blocking) and appends
 * "data=<what it read>". SIGTERM: appends "read_flags=F write_flags=G" (fcntl F_GETFL), "wfifo_ok=0|1" (the
 * write-only FIFO still holds its message: read back through a new read-only open) and "done=1", exits 0.
 */
#include "target_common.h"

static const char message[] = "ferry-fifo-data-0123456789";
static const char wmessage[] = "write-only-fifo-data";
static volatile sig_atomic_t g_usr1;
static void on_usr1(int sig) { (void)sig; g_usr1 = 1; }

int main(int argc, char **argv)
{
	target_init(argc, argv, 1, "OUT");
	handle(SIGUSR1, on_usr1);
	char path[4096], wpath[4096];
	snprintf(path, sizeof(path), "%s.fifo", g_out);
	snprintf(wpath, sizeof(wpath), "%s.wfifo", g_out);
	unlink(path);
	unlink(wpath);
	if (mkfifo(path, 0600) != 0 || mkfifo(wpath, 0600) != 0) die("mkfifo");
	int r = open(path, O_RDONLY | O_NONBLOCK);
	int w = open(path, O_WRONLY);
	if (r < 0 || w < 0) die("open fifo");
	write_all(w, message, sizeof(message) - 1);

	int wr = open(wpath, O_RDONLY | O_NONBLOCK);
	int ww = open(wpath, O_WRONLY);
	if (wr < 0 || ww < 0) die("open wfifo");
	write_all(ww, wmessage, sizeof(wmessage) - 1);
	close(wr);

	ready("fifo=%s\nread_fd=%d\nwrite_fd=%d\nwfifo=%s\n", path, r, w, wpath);
	while (1) {
		if (g_usr1) {
			g_usr1 = 0;
			char buf[256];
			ssize_t n = read(r, buf, sizeof(buf) - 1);
			if (n < 0) n = 0;
			buf[n] = 0;
			report("data=%s\n", buf);
		}
		if (g_term) {
			char buf[256];
			int check = open(wpath, O_RDONLY | O_NONBLOCK);
			ssize_t n = check < 0 ? -1 : read(check, buf, sizeof(buf));
			report("read_flags=%x write_flags=%x\nwfifo_ok=%d\ndone=1\n", fcntl(r, F_GETFL), fcntl(w, F_GETFL),
				n == (ssize_t)sizeof(wmessage) - 1 && memcmp(buf, wmessage, (size_t)n) == 0);
			return 0;
		}
		pause();
	}
}
