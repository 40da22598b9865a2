/*
 * deleted_mapping OUT: a file (OUT.mapped) of 3 pages with a pattern, mapped MAP_SHARED read-write and MAP_PRIVATE
 * (whose first page was then written: "private"), then unlinked, as zdtm's unlink_mmap tests do; the fd stays
 * open. SIGTERM appends "shared_ok=0|1 private_ok=0|1" (the mappings show the pattern and the private write),
 * "one_file=0|1" (a write through the fd shows in the shared mapping) and "done=1", exits 0.
 */
#include "target_common.h"
#include <sys/mman.h>

#define SIZE (3 * 4096)

static char value(int i) { return (char)('A' + (i * 5 + i / 4096) % 26); }

int main(int argc, char **argv)
{
	target_init(argc, argv, 1, "OUT");
	char path[4096], buf[SIZE];
	snprintf(path, sizeof(path), "%s.mapped", g_out);
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0) die("open");
	for (int i = 0; i < SIZE; i++) buf[i] = value(i);
	write_all(fd, buf, SIZE);
	char *shared = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	char *private = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	if (shared == MAP_FAILED || private == MAP_FAILED) die("mmap");
	memcpy(private, "private", 7);
	if (unlink(path) != 0) die("unlink");
	ready(NULL);
	while (!g_term) pause();
	int shared_ok = 1, private_ok = memcmp(private, "private", 7) == 0;
	for (int i = 0; i < SIZE; i++) {
		shared_ok &= shared[i] == value(i);
		if (i >= 7) private_ok &= private[i] == value(i);
	}
	int one_file = pwrite(fd, "fd-write", 8, 4096) == 8 && memcmp(shared + 4096, "fd-write", 8) == 0;
	report("shared_ok=%d private_ok=%d one_file=%d\ndone=1\n", shared_ok, private_ok, one_file);
	return 0;
}
