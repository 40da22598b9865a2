/*
 * ghost_holes OUT: a deleted file (OUT.holes, unlinked while open) of 1 GiB that is all holes except two 4 KiB
 * blocks of a pattern at 4096 and 12288 (a hole at the head, one in the middle and a long one at the tail).
 * SIGTERM appends "size=S data_ok=0|1 allocated=B" and "head_data=D mid_hole=H next_data=N tail_hole=T" (lseek
 * SEEK_DATA/SEEK_HOLE from 0, 4096, 8192 and 12288) and "done=1", exits 0. A restore that writes the holes as
 * zeros shows up in allocated (st_blocks * 512) and in the seek results.
 */
#include "target_common.h"

#define BLOCK 4096
#define SIZE (1L << 30)

static void fill(char *buf, int seed) { for (int i = 0; i < BLOCK; i++) buf[i] = (char)(i * 13 + seed); }

int main(int argc, char **argv)
{
	target_init(argc, argv, 1, "OUT");
	char path[4096], buf[BLOCK], got[BLOCK];
	snprintf(path, sizeof(path), "%s.holes", g_out);
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || unlink(path) != 0) die("open/unlink");
	fill(buf, 1);
	if (pwrite(fd, buf, BLOCK, BLOCK) != BLOCK) die("pwrite 1");
	fill(buf, 2);
	if (pwrite(fd, buf, BLOCK, 3 * BLOCK) != BLOCK) die("pwrite 2");
	if (ftruncate(fd, SIZE) != 0) die("ftruncate");
	ready(NULL);
	while (!g_term) pause();

	struct stat st;
	fstat(fd, &st);
	int ok = 1;
	fill(buf, 1);
	ok &= pread(fd, got, BLOCK, BLOCK) == BLOCK && memcmp(got, buf, BLOCK) == 0;
	fill(buf, 2);
	ok &= pread(fd, got, BLOCK, 3 * BLOCK) == BLOCK && memcmp(got, buf, BLOCK) == 0;
	report("size=%ld data_ok=%d allocated=%ld\nhead_data=%ld mid_hole=%ld next_data=%ld tail_hole=%ld\ndone=1\n",
		(long)st.st_size, ok, (long)st.st_blocks * 512, (long)lseek(fd, 0, SEEK_DATA), (long)lseek(fd, BLOCK, SEEK_HOLE),
		(long)lseek(fd, 2 * BLOCK, SEEK_DATA), (long)lseek(fd, 3 * BLOCK, SEEK_HOLE));
	return 0;
}
