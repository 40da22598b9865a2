/* Three threads besides main, each counting in its own slot; prints the slots' address, then "ready" once every
 * thread runs. Tests seize the whole process and check that each thread is stopped and then runs on. */
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

#define THREADS 3
volatile unsigned long counters[THREADS + 1];
static volatile int started;

static void *count(void *arg)
{
	long slot = (long)arg;
	__atomic_add_fetch(&started, 1, __ATOMIC_SEQ_CST);
	for (;;) {
		counters[slot]++;
		usleep(1000);
	}
	return NULL;
}

int main(void)
{
	pthread_t t;
	for (long i = 1; i <= THREADS; i++)
		if (pthread_create(&t, NULL, count, (void *)i) != 0)
			return 1;
	while (__atomic_load_n(&started, __ATOMIC_SEQ_CST) < THREADS)
		usleep(1000);
	printf("counters=%p\nready\n", (void *)counters);
	fflush(stdout);
	count((void *)0);
}
