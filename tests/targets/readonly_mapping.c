/*
 * readonly_mapping OUT: a file (OUT.prot) opened read-write and mapped MAP_SHARED with PROT_READ only, then closed
 * (as zdtm's maps_file_prot). SIGTERM appends "mprotect_ok=0|1" (the mapping can still be made writable, which
 * needs the file opened for writing behind it) and "done=1", exits 0.
 */
#include "target_common.h"
#include <sys/mman.h>

int main(int argc, char **argv)
{
	target_init(argc, argv, 1, "OUT");
	char path[4096];
	snprintf(path, sizeof(path), "%s.prot", g_out);
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || ftruncate(fd, 2 * 4096) != 0) die("open/ftruncate");
	char *map = mmap(NULL, 2 * 4096, PROT_READ, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED) die("mmap");
	close(fd);
	ready(NULL);
	while (!g_term) pause();
	int ok = mprotect(map, 2 * 4096, PROT_READ | PROT_WRITE) == 0;
	if (ok) map[0] = 1;
	report("mprotect_ok=%d\ndone=1\n", ok);
	return 0;
}
