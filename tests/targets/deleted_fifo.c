/*
 * deleted_fifo OUT: makes the FIFO OUT.fifo, opens it read-only (O_NONBLOCK) and write-only, writes a message it
 * does not read, and unlinks the FIFO (zdtm's fifo-ghost, unlink_fifo_wronly). SIGTERM writes "+after" through
 * the write end, reads everything through the read end and appends "data=<what it read>", "gone=0|1" (the path
 * is still absent) and "done=1", exits 0.
 */
#include "target_common.h"

static const char message[] = "deleted-fifo-data";

int main(int argc, char **argv)
{
	target_init(argc, argv, 1, "OUT");
	char path[4096];
	snprintf(path, sizeof(path), "%s.fifo", g_out);
	unlink(path);
	if (mkfifo(path, 0640) != 0) die("mkfifo");
	int r = open(path, O_RDONLY | O_NONBLOCK);
	int w = open(path, O_WRONLY);
	if (r < 0 || w < 0) die("open fifo");
	write_all(w, message, sizeof(message) - 1);
	if (unlink(path) != 0) die("unlink");
	ready(NULL);
	while (!g_term) pause();
	write_all(w, "+after", 6);
	char buf[256];
	ssize_t n = read(r, buf, sizeof(buf) - 1);
	buf[n > 0 ? n : 0] = 0;
	report("data=%s\ngone=%d\ndone=1\n", buf, access(path, F_OK) != 0);
	return 0;
}
