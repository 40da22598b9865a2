/*
 * locked_memory OUT: 16 pages of MAP_PRIVATE|MAP_ANONYMOUS|MAP_LOCKED memory holding a pattern (as zdtm's maps02).
 * SIGTERM appends "pattern=0|1 locked_kb=N" (VmLck of /proc/self/status) and "done=1", exits 0.
 */
#include "target_common.h"
#include <sys/mman.h>

#define SIZE (16 * 4096)

int main(int argc, char **argv)
{
	target_init(argc, argv, 1, "OUT");
	unsigned char *m = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_LOCKED, -1, 0);
	if (m == MAP_FAILED) die("mmap");
	for (int i = 0; i < SIZE; i++) m[i] = (unsigned char)(i * 7 + i / 4096);
	ready(NULL);
	while (!g_term) pause();
	int ok = 1;
	for (int i = 0; i < SIZE; i++) ok &= m[i] == (unsigned char)(i * 7 + i / 4096);
	long locked = -1;
	char line[256];
	FILE *status = fopen("/proc/self/status", "r");
	while (status && fgets(line, sizeof(line), status))
		if (sscanf(line, "VmLck: %ld", &locked) == 1) break;
	report("pattern=%d locked_kb=%ld\ndone=1\n", ok, locked);
	return 0;
}
