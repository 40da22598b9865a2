/*
 * memory_pattern OUT [MIB=256]: fills MIB MiB of anonymous memory with a position-dependent pattern.
 * SIGUSR2: recomputes the checksum and appends "checksum=HEX expected=HEX ok=1|0".
 * SIGTERM: the same report, then "done=1", exit 0. Ready line: "mib=N".
 */
#include <stdint.h>
#include <sys/mman.h>
#include "target_common.h"

static volatile sig_atomic_t g_check;
static void on_usr2(int sig) { (void)sig; g_check = 1; }

static uint64_t checksum(const uint64_t *words, size_t count)
{
	uint64_t sum = 0;
	for (size_t i = 0; i < count; i++) {
		sum = (sum ^ words[i]) * 0x100000001b3ULL;
		sum ^= sum >> 29;
	}
	return sum;
}

int main(int argc, char **argv)
{
	target_init(argc, argv, 1, "OUT [MIB]");
	handle(SIGUSR2, on_usr2);
	size_t mib = argc > 2 ? strtoul(argv[2], NULL, 10) : 256;
	size_t count = mib * 1024 * 1024 / sizeof(uint64_t);
	uint64_t *words = mmap(NULL, count * sizeof(uint64_t), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (words == MAP_FAILED) die("mmap");
	for (size_t i = 0; i < count; i++) words[i] = (i * 0x9e3779b97f4a7c15ULL) ^ (i >> 7);
	uint64_t expected = checksum(words, count);
	ready("mib=%zu\n", mib);
	while (1) {
		if (g_check || g_term) {
			g_check = 0;
			uint64_t sum = checksum(words, count);
			report("checksum=%016llx expected=%016llx ok=%d\n", (unsigned long long)sum,
			       (unsigned long long)expected, sum == expected);
			if (g_term) { report("done=1\n"); return 0; }
		}
		pause();
	}
}
