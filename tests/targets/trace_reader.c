/* Blocks in read() on stdin (a pipe in the tests), then prints what it got. A read that was not restarted after
 * ptrace syscall injection would show up as "error=". */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(void)
{
	char buf[256];
	printf("ready\n");
	fflush(stdout);
	ssize_t n = read(0, buf, sizeof buf - 1);
	if (n < 0) {
		printf("error=%s\n", strerror(errno));
		return 1;
	}
	buf[n] = 0;
	printf("got=%s\n", buf);
	return 0;
}
