/* Counts forever in memory and installs a SIGUSR1 handler; the tracing tests seize it, inject syscalls and
 * check that it keeps counting after detach. Prints key=value lines, then "ready". */
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

volatile unsigned long counter;
volatile unsigned long usr1_count;

static void on_usr1(int sig)
{
	(void)sig;
	usr1_count++;
}

int main(void)
{
	struct sigaction sa = { 0 };
	sa.sa_handler = on_usr1;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaddset(&sa.sa_mask, SIGUSR2);
	if (sigaction(SIGUSR1, &sa, NULL) != 0)
		return 1;
	printf("counter=%p\nusr1_count=%p\nhandler=%p\nready\n", (void *)&counter, (void *)&usr1_count, (void *)on_usr1);
	fflush(stdout);
	for (;;) {
		counter++;
		usleep(1000);
	}
}
