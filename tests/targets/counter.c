/*
 * counter OUT: every 10 ms appends the next number ("1\n", "2\n", ...) to OUT through one plain fd
 * (not O_APPEND: the fd offset must survive restore). A correct restore leaves no gaps or repeats.
 * Ready: OUT.ready after the first number. SIGTERM: exits 0 (the numbers are the result).
 */
#include "target_common.h"

int main(int argc, char **argv)
{
	target_init(argc, argv, 1, "OUT");
	int fd = open(g_out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) die(g_out);
	for (long n = 1; !g_term; n++) {
		char line[32];
		int len = snprintf(line, sizeof(line), "%ld\n", n);
		write_all(fd, line, (size_t)len);
		if (n == 1) ready(NULL);
		sleep_ms(10);
	}
	return 0;
}
