/*
 * file_writer OUT DATA [append]: every 10 ms writes record N as "%08d\n" (9 bytes) to DATA, through an fd
 * opened O_TRUNC (plain) or O_APPEND ("append"). A restored fd must continue at offset 9*N.
 * SIGTERM: appends "records=N offset=X size=S ok=1|0 append=0|1" (ok: offset and size are 9*N), exits 0.
 */
#include "target_common.h"

int main(int argc, char **argv)
{
	target_init(argc, argv, 2, "OUT DATA [append]");
	int append = argc > 3 && strcmp(argv[3], "append") == 0;
	int fd = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | (append ? O_APPEND : 0), 0644);
	if (fd < 0) die(argv[2]);
	long n = 0;
	while (!g_term) {
		char record[24];
		snprintf(record, sizeof(record), "%08ld\n", n);
		write_all(fd, record, 9);
		if (++n == 1) ready("append=%d\n", append);
		sleep_ms(10);
	}
	off_t offset = lseek(fd, 0, SEEK_CUR);
	struct stat st;
	if (fstat(fd, &st) != 0) die("fstat");
	int ok = offset == 9 * n && st.st_size == 9 * n;
	report("records=%ld offset=%lld size=%lld ok=%d append=%d\n", n, (long long)offset, (long long)st.st_size, ok, append);
	return 0;
}
