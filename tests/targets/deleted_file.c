/*
 * deleted_file OUT: creates OUT.victim with 1 MiB of known content, keeps it open, unlinks it, and every
 * 10 ms pread()s and compares the whole content. Ready lines: "fd=N size=S".
 * On a mismatch: appends "corrupt=1 offset=X", exits 1. SIGTERM: appends "ok=1 checks=N nlink=L size=S", exits 0.
 */
#include "target_common.h"

#define SIZE (1 << 20)
static unsigned char expected[SIZE], actual[SIZE];

int main(int argc, char **argv)
{
	target_init(argc, argv, 1, "OUT");
	char path[4096];
	snprintf(path, sizeof(path), "%s.victim", g_out);
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) die(path);
	for (int i = 0; i < SIZE; i++) expected[i] = (unsigned char)(i * 31 + (i >> 12));
	write_all(fd, (const char *)expected, SIZE);
	if (unlink(path) != 0) die("unlink");
	ready("fd=%d\nsize=%d\n", fd, SIZE);
	long checks = 0;
	while (!g_term) {
		ssize_t n = pread(fd, actual, SIZE, 0);
		if (n != SIZE || memcmp(actual, expected, SIZE) != 0) {
			long offset = 0;
			while (offset < n && actual[offset] == expected[offset]) offset++;
			report("corrupt=1 offset=%ld\n", offset);
			return 1;
		}
		checks++;
		sleep_ms(10);
	}
	struct stat st;
	if (fstat(fd, &st) != 0) die("fstat");
	report("ok=1 checks=%ld nlink=%ld size=%lld\n", checks, (long)st.st_nlink, (long long)st.st_size);
	return 0;
}
