/*
 * deleted_attrs OUT: a file (OUT.attrs) with mode 06604 (set-user-ID and set-group-ID) and mtime 1234567890, held
 * open and unlinked (as zdtm's file_attr). SIGTERM appends "mode=<octal> mtime=<seconds>" of the open file and
 * "done=1", exits 0.
 */
#include "target_common.h"
#include <utime.h>

int main(int argc, char **argv)
{
	target_init(argc, argv, 1, "OUT");
	char path[4096];
	snprintf(path, sizeof(path), "%s.attrs", g_out);
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0) die("open");
	write_all(fd, "attrs", 5);
	struct utimbuf ut = { 1234567890, 1234567890 };
	if (utime(path, &ut) != 0 || fchmod(fd, 06604) != 0 || unlink(path) != 0) die("utime/fchmod/unlink");
	ready(NULL);
	while (!g_term) pause();
	struct stat st;
	fstat(fd, &st);
	report("mode=%o mtime=%ld\ndone=1\n", st.st_mode & 07777, (long)st.st_mtime);
	return 0;
}
