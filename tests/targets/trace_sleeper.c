/* Sleeps 1.5 s in nanosleep(2) (the raw syscall, so it restarts through restart_syscall after an interrupt),
 * then prints how long it slept and the syscall's result. */
#include <stdio.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

int main(void)
{
	struct timespec start, end, req = { 1, 500000000 }, rem;
	clock_gettime(CLOCK_MONOTONIC, &start);
	printf("ready\n");
	fflush(stdout);
	long rc = syscall(SYS_nanosleep, &req, &rem);
	clock_gettime(CLOCK_MONOTONIC, &end);
	long ms = (end.tv_sec - start.tv_sec) * 1000 + (end.tv_nsec - start.tv_nsec) / 1000000;
	printf("slept_ms=%ld\nrc=%ld\n", ms, rc);
	return 0;
}
