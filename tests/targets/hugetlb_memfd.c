/*
 * hugetlb_memfd OUT [mapped]: a memfd of two 2 MiB huge pages (memfd_create MFD_HUGETLB | MFD_HUGE_2MB) holding a
 * pattern in its first 8 KiB and "second" at 2 MiB + 12 KiB (written through a mapping unmapped again: hugetlbfs
 * has no write()), held by one fd only. With "mapped", MAP_HUGETLB anonymous memory is mapped too (dump refuses it).
 * Ready line: "fd=N". SIGTERM: appends "hugetlb=1|0 page_kib=K size=S content_ok=0|1" (hugetlb: the fd is on
 * hugetlbfs; page_kib: its page size) and "done=1", exits 0.
 */
#include "target_common.h"
#include <sys/mman.h>
#include <sys/vfs.h>

#define HUGE (2L << 20)
#define HUGETLBFS_MAGIC 0x958458f6
#ifndef MFD_HUGE_2MB
#define MFD_HUGE_2MB (21U << 26)
#endif

static char pattern(long i) { return (char)('A' + (i * 11) % 26); }

int main(int argc, char **argv)
{
	target_init(argc, argv, 1, "OUT [mapped]");
	int fd = memfd_create("ferry-huge", MFD_HUGETLB | MFD_HUGE_2MB);
	if (fd < 0) die("memfd_create(MFD_HUGETLB)");
	if (ftruncate(fd, 2 * HUGE) != 0) die("ftruncate");
	char *map = mmap(NULL, 2 * HUGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED) die("mmap");
	for (long i = 0; i < 8192; i++) map[i] = pattern(i);
	memcpy(map + HUGE + 12288, "second", 6);
	munmap(map, 2 * HUGE);
	if (argc > 2) {
		char *anon = mmap(NULL, HUGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
		if (anon == MAP_FAILED) die("mmap(MAP_HUGETLB)");
		anon[0] = 1;
	}
	ready("fd=%d\n", fd);
	while (!g_term) pause();

	struct statfs fs;
	struct stat st;
	if (fstatfs(fd, &fs) != 0 || fstat(fd, &st) != 0) die("fstatfs");
	char buf[8192], second[6];
	int content_ok = pread(fd, buf, sizeof buf, 0) == (ssize_t)sizeof buf
		&& pread(fd, second, 6, HUGE + 12288) == 6 && memcmp(second, "second", 6) == 0;
	for (long i = 0; i < 8192 && content_ok; i++) content_ok = buf[i] == pattern(i);
	report("hugetlb=%d page_kib=%ld size=%ld content_ok=%d\ndone=1\n", fs.f_type == HUGETLBFS_MAGIC, (long)fs.f_bsize / 1024,
		(long)st.st_size, content_ok);
	return 0;
}
