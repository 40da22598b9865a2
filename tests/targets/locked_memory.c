/*
 * locked_memory OUT: 16 pages of MAP_PRIVATE|MAP_ANONYMOUS|MAP_LOCKED memory holding a pattern, and 4 pages of
 * MAP_DROPPABLE memory (as zdtm's maps02). SIGTERM appends "pattern=0|1 locked_kb=N" (VmLck of /proc/self/status),
 * "droppable=0|1" (smaps still shows VmFlags "dp" for the second area) and "done=1", exits 0.
 */
#include "target_common.h"
#include <sys/mman.h>

#ifndef MAP_DROPPABLE
#define MAP_DROPPABLE 0x08
#endif

#define SIZE (16 * 4096)

int main(int argc, char **argv)
{
	target_init(argc, argv, 1, "OUT");
	unsigned char *m = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_LOCKED, -1, 0);
	if (m == MAP_FAILED) die("mmap");
	for (int i = 0; i < SIZE; i++) m[i] = (unsigned char)(i * 7 + i / 4096);
	char *drop = mmap(NULL, 4 * 4096, PROT_READ | PROT_WRITE, MAP_DROPPABLE | MAP_ANONYMOUS, -1, 0);
	if (drop == MAP_FAILED) die("mmap droppable");
	drop[0] = 1;
	ready(NULL);
	while (!g_term) pause();
	int ok = 1;
	for (int i = 0; i < SIZE; i++) ok &= m[i] == (unsigned char)(i * 7 + i / 4096);
	long locked = -1;
	char line[256];
	FILE *status = fopen("/proc/self/status", "r");
	while (status && fgets(line, sizeof(line), status))
		if (sscanf(line, "VmLck: %ld", &locked) == 1) break;
	int droppable = 0, in_area = 0;
	FILE *smaps = fopen("/proc/self/smaps", "r");
	while (smaps && fgets(line, sizeof(line), smaps)) {
		unsigned long start;
		if (sscanf(line, "%lx-", &start) == 1 && strchr(line, '-') && strchr(line, ' ') > strchr(line, '-'))
			in_area = start == (unsigned long)drop;
		else if (in_area && strncmp(line, "VmFlags:", 8) == 0)
			droppable = strstr(line, " dp") != NULL;
	}
	report("pattern=%d locked_kb=%ld\ndroppable=%d\ndone=1\n", ok, locked, droppable);
	return 0;
}
