/*
 * shared_anon OUT: two MAP_SHARED|MAP_ANONYMOUS regions. The first had its first page unmapped (so the VMA starts at
 * offset 4096 of its object), holds a pattern with one untouched page in the middle, and its last page is made
 * read-only (two VMAs of one object); the second is filled and then made read-only. SIGTERM reports "pattern=1|0" (contents intact), "shared=1|0" (maps show both as shared and a
 * forked child's write to the first region is seen by the parent) and "ok=1|0", then exits 0. Ready line: "ok=1".
 */
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include "target_common.h"

#define PAGE 4096
#define PAGES 4 /* of the first region after unmapping its first page; page 1 stays untouched */

static unsigned char value(size_t region, size_t i) { return (unsigned char)(i * 31 + region * 7 + (i >> 12)); }

static int pattern_intact(unsigned char *first, unsigned char *second)
{
	for (size_t i = 0; i < PAGES * PAGE; i++) {
		unsigned char want = i / PAGE == 1 ? 0 : value(1, i);
		if (first[i] != want) return 0;
	}
	for (size_t i = 0; i < 2 * PAGE; i++)
		if (second[i] != value(2, i)) return 0;
	return 1;
}

static int maps_shared(void *address)
{
	char line[512], want[32];
	snprintf(want, sizeof want, "%lx-", (unsigned long)address);
	FILE *maps = fopen("/proc/self/maps", "r");
	if (!maps) return 0;
	int shared = 0;
	while (fgets(line, sizeof line, maps))
		if (strncmp(line, want, strlen(want)) == 0) {
			char *perms = strchr(line, ' ');
			shared = perms && perms[4] == 's';
		}
	fclose(maps);
	return shared;
}

static int child_write_seen(volatile unsigned char *first)
{
	pid_t child = fork();
	if (child < 0) return 0;
	if (child == 0) { first[PAGE + 5] = 0xa5; _exit(0); }
	int status;
	if (waitpid(child, &status, 0) != child) return 0;
	int seen = first[PAGE + 5] == 0xa5;
	first[PAGE + 5] = 0;
	return seen;
}

int main(int argc, char **argv)
{
	target_init(argc, argv, 1, "OUT");
	unsigned char *whole = mmap(NULL, (PAGES + 1) * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	unsigned char *second = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (whole == MAP_FAILED || second == MAP_FAILED) die("mmap");
	unsigned char *first = whole + PAGE;
	if (munmap(whole, PAGE)) die("munmap");
	for (size_t i = 0; i < PAGES * PAGE; i++)
		if (i / PAGE != 1) first[i] = value(1, i);
	for (size_t i = 0; i < 2 * PAGE; i++) second[i] = value(2, i);
	if (mprotect(second, 2 * PAGE, PROT_READ)) die("mprotect");
	if (mprotect(first + (PAGES - 1) * PAGE, PAGE, PROT_READ)) die("mprotect");
	ready("ok=%d\n", pattern_intact(first, second));
	while (!g_term) pause();
	int pattern = pattern_intact(first, second);
	int shared = maps_shared(first) && maps_shared(first + (PAGES - 1) * PAGE) && maps_shared(second) &&
		     child_write_seen(first);
	report("pattern=%d\nshared=%d\nok=%d\n", pattern, shared, pattern && shared);
	return 0;
}
