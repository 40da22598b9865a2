/*
 * shmem_private_map OUT: shared anonymous memory of 5 pages (1, 11, 111 at the start of pages 0-2), mapped again
 * through /proc/self/map_files privately from page 1 (22 written into its page 1: copied on write) and shared from
 * page 2 (zdtm's shmemfd-priv). SIGTERM: appends "cow=1|0 unchanged=1|0 shared=1|0 backed=1|0"
 * and "done=1", exits 0. cow: the private copy keeps 22; unchanged: the private page not written still reads the
 * object (11); shared: the second shared mapping is the same object; backed: a write to the object after the restore
 * is seen through a private page never written (it is still the object's page, not a copy).
 */
#include "target_common.h"
#include <sys/mman.h>

#define PAGE 4096L

int main(int argc, char **argv)
{
	target_init(argc, argv, 1, "OUT");
	char *addr = mmap(NULL, 5 * PAGE, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_SHARED, -1, 0);
	if (addr == MAP_FAILED) die("mmap");
	*(int *)addr = 1;
	*(int *)(addr + PAGE) = 11;
	*(int *)(addr + 2 * PAGE) = 111;
	char path[128];
	snprintf(path, sizeof path, "/proc/self/map_files/%lx-%lx", (long)addr, (long)addr + 5 * PAGE);
	int fd = open(path, O_RDWR);
	if (fd < 0) die("open map_files");
	char *priv = mmap(NULL, 5 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, PAGE);
	char *addr2 = mmap(NULL, 5 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 2 * PAGE);
	if (priv == MAP_FAILED || addr2 == MAP_FAILED) die("mmap map_files");
	close(fd);
	*(int *)(priv + PAGE) = 22;
	ready(NULL);
	while (!g_term) pause();

	int cow = *(int *)(priv + PAGE) == 22;
	int unchanged = *(int *)priv == 11;
	int shared = *(int *)addr2 == 111;
	*(int *)addr2 = 333;
	shared = shared && *(int *)(addr + 2 * PAGE) == 333;
	*(int *)(addr + 3 * PAGE) = 444;
	int backed = *(int *)(priv + 2 * PAGE) == 444;
	report("cow=%d unchanged=%d shared=%d backed=%d\ndone=1\n", cow, unchanged, shared, backed);
	return 0;
}
