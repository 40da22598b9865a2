/*
 * itimer OUT: ITIMER_REAL fires every 10 ms; SIGALRM counts ticks.
 * SIGUSR2: appends "ticks=N interval_us=I" (I from getitimer: 10000 while the timer is armed).
 * SIGTERM: the same line, then "done=1", exits 0. A restored timer keeps ticks growing.
 */
#include <sys/time.h>
#include "target_common.h"

static volatile sig_atomic_t g_ticks, g_usr2;
static void on_alarm(int sig) { (void)sig; g_ticks++; }
static void on_usr2(int sig) { (void)sig; g_usr2 = 1; }

int main(int argc, char **argv)
{
	target_init(argc, argv, 1, "OUT");
	handle(SIGALRM, on_alarm);
	handle(SIGUSR2, on_usr2);
	struct itimerval it = { { 0, 10000 }, { 0, 10000 } };
	if (setitimer(ITIMER_REAL, &it, NULL) != 0) die("setitimer");
	ready(NULL);
	while (1) {
		if (g_usr2 || g_term) {
			g_usr2 = 0;
			struct itimerval cur;
			getitimer(ITIMER_REAL, &cur);
			report("ticks=%d interval_us=%ld\n", (int)g_ticks, (long)cur.it_interval.tv_usec);
			if (g_term) { report("done=1\n"); return 0; }
		}
		pause();
	}
}
