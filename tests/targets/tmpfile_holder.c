/*
 * tmpfile_holder OUT: an O_TMPFILE file (never named) in the target's directory holding a message, as zdtm's
 * unlink_fstat041. SIGTERM appends "data=<the file's contents>" and "done=1", exits 0.
 */
#include "target_common.h"

static const char message[] = "tmpfile-data";

int main(int argc, char **argv)
{
	target_init(argc, argv, 1, "OUT");
	char dir[4096];
	snprintf(dir, sizeof(dir), "%s", g_out);
	*strrchr(dir, '/') = 0;
	int fd = open(dir, O_RDWR | O_TMPFILE, 0600);
	if (fd < 0) die("open O_TMPFILE");
	write_all(fd, message, sizeof(message) - 1);
	ready(NULL);
	while (!g_term) pause();
	char buf[64];
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
	buf[n > 0 ? n : 0] = 0;
	report("data=%s\ndone=1\n", buf);
	return 0;
}
