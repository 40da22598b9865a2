/*
 * posix_timer OUT: two POSIX timers with ids that do not start at 0 (a first timer is created and deleted):
 *   "tick": CLOCK_MONOTONIC, SIGEV_SIGNAL SIGRTMIN+2, sival_int 0x5eed1234, every 10 ms;
 *   "late": CLOCK_BOOTTIME, SIGEV_THREAD_ID (this thread) SIGUSR1, sival_ptr 0x7e57, fires once after 600 s.
 * The handler counts ticks and checks si_value and si_timerid of every signal against the timer that sent it.
 * Ready: "tick_id=I late_id=J". SIGUSR2 appends "ticks=N"; SIGTERM appends "ticks=N bad=B late_left_s=S
 * tick_interval_ns=T late_fired=F" and "done=1", exits 0. A correct restore keeps the ids, values and times.
 */
#include <sys/syscall.h>
#include "target_common.h"

static timer_t g_tick, g_late;
static volatile sig_atomic_t g_ticks, g_bad, g_late_fired, g_usr2;

static void on_tick(int sig, siginfo_t *si, void *uc)
{
	(void)sig; (void)uc;
	if (si->si_code != SI_TIMER || si->si_value.sival_int != 0x5eed1234 || si->si_timerid != (int)(long)g_tick)
		g_bad++;
	else
		g_ticks++;
}

static void on_late(int sig, siginfo_t *si, void *uc)
{
	(void)sig; (void)uc;
	if (si->si_code == SI_TIMER)
		g_late_fired++;
}

static void on_usr2(int sig) { (void)sig; g_usr2 = 1; }

static void handle_info(int sig, void (*fn)(int, siginfo_t *, void *))
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = fn;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	if (sigaction(sig, &sa, NULL) != 0) die("sigaction");
}

int main(int argc, char **argv)
{
	target_init(argc, argv, 1, "OUT");
	handle_info(SIGRTMIN + 2, on_tick);
	handle_info(SIGUSR1, on_late);
	handle(SIGUSR2, on_usr2);

	timer_t first;
	struct sigevent sev = { .sigev_notify = SIGEV_NONE };
	if (timer_create(CLOCK_MONOTONIC, &sev, &first) != 0) die("timer_create first");

	memset(&sev, 0, sizeof(sev));
	sev.sigev_notify = SIGEV_SIGNAL;
	sev.sigev_signo = SIGRTMIN + 2;
	sev.sigev_value.sival_int = 0x5eed1234;
	if (timer_create(CLOCK_MONOTONIC, &sev, &g_tick) != 0) die("timer_create tick");

	memset(&sev, 0, sizeof(sev));
	sev.sigev_notify = SIGEV_THREAD_ID;
	sev.sigev_signo = SIGUSR1;
	sev.sigev_value.sival_ptr = (void *)0x7e57;
	sev._sigev_un._tid = (int)syscall(SYS_gettid);
	if (timer_create(CLOCK_BOOTTIME, &sev, &g_late) != 0) die("timer_create late");
	if (timer_delete(first) != 0) die("timer_delete");

	struct itimerspec tick = { { 0, 10000000 }, { 0, 10000000 } }, late = { { 0, 0 }, { 600, 0 } };
	if (timer_settime(g_tick, 0, &tick, NULL) != 0 || timer_settime(g_late, 0, &late, NULL) != 0) die("timer_settime");
	ready("tick_id=%d\nlate_id=%d\n", (int)(long)g_tick, (int)(long)g_late);
	while (1) {
		if (g_usr2) {
			g_usr2 = 0;
			report("ticks=%d\n", (int)g_ticks);
		}
		if (g_term) {
			struct itimerspec t, l;
			if (timer_gettime(g_tick, &t) != 0 || timer_gettime(g_late, &l) != 0) die("timer_gettime");
			report("ticks=%d bad=%d late_left_s=%ld tick_interval_ns=%ld late_fired=%d\ndone=1\n", (int)g_ticks,
				(int)g_bad, (long)l.it_value.tv_sec, t.it_interval.tv_nsec, (int)g_late_fired);
			return 0;
		}
		pause();
	}
}
