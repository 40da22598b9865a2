/*
 * signal_counter OUT: counts SIGUSR1 deliveries (handler stays installed across restore).
 * SIGUSR2: appends "usr1=N". SIGTERM: appends "usr1=N" and "done=1", exits 0.
 */
#include "target_common.h"

static volatile sig_atomic_t g_usr1, g_usr2;
static void on_usr1(int sig) { (void)sig; g_usr1++; }
static void on_usr2(int sig) { (void)sig; g_usr2 = 1; }

int main(int argc, char **argv)
{
	target_init(argc, argv, 1, "OUT");
	handle(SIGUSR1, on_usr1);
	handle(SIGUSR2, on_usr2);
	ready(NULL);
	while (1) {
		if (g_usr2 || g_term) {
			g_usr2 = 0;
			report("usr1=%d\n", (int)g_usr1);
			if (g_term) { report("done=1\n"); return 0; }
		}
		pause();
	}
}
