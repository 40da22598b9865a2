/*
 * sleeper OUT [MS=2000]: one nanosleep(MS) system call (raw SYS_nanosleep, restarted with the remainder on EINTR).
 * Ready before sleeping. When done: appends "requested_ms=MS slept_ms=E eintr=K" and "done=1", exits 0.
 * slept_ms is CLOCK_MONOTONIC elapsed time, so a restore that loses or restarts the sleep shows up.
 */
#include <sys/syscall.h>
#include "target_common.h"

int main(int argc, char **argv)
{
	target_init(argc, argv, 1, "OUT [MS]");
	long ms = argc > 2 ? strtol(argv[2], NULL, 10) : 2000;
	struct timespec req = { ms / 1000, (ms % 1000) * 1000000L }, rem;
	int eintr = 0;
	ready("requested_ms=%ld\n", ms);
	long long start = now_ms();
	while (syscall(SYS_nanosleep, &req, &rem) != 0) {
		if (errno != EINTR) die("nanosleep");
		eintr++;
		req = rem;
	}
	report("requested_ms=%ld slept_ms=%lld eintr=%d\ndone=1\n", ms, now_ms() - start, eintr);
	return 0;
}
