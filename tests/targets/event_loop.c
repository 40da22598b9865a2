/* The event descriptors of an event loop, for the eventfd/timerfd/signalfd/epoll/inotify round trips.
 * Usage: event_loop DIR. Prints ctl=, efd=, tfd=, sfd=, ifd=, ep=, spare= and "ready" once all is set up:
 * - efd: eventfd with EFD_SEMAPHORE | EFD_NONBLOCK and count 3.
 * - tfd: monotonic timerfd (nonblocking) expiring every 20 ms, not read until asked: its expirations pile up.
 * - sfd: signalfd of SIGUSR1 and SIGUSR2 (both blocked); a SIGUSR2 is pending from the start.
 * - ifd: inotify watching DIR/watched for IN_CREATE as wd 2 (a first watch, wd 1, was added and removed).
 * - ffd: fanotify group with a FAN_OPEN mark on the file DIR/marked and, on the mount of DIR, an ignored-only mark.
 * - ep: epoll of efd (data 111), sfd (222), tfd (333, edge-triggered), ifd (444) and an idle eventfd spare (555).
 * - A thread blocks in read() on a blocking timerfd every 50 ms and counts its expirations, one a line, in DIR/timer.log.
 * - A thread blocks in epoll_wait() on a second epoll of the eventfd wake; woken, it writes "woke N" to DIR/woke.txt.
 * The main thread blocks reading one-letter commands from the pipe ctl (the test writes them to /proc/PID/fd/CTL)
 * and answers each in DIR/LETTER.txt (written whole, then renamed):
 *   w  "ready D D ...": the data of ep's ready fds (epoll_wait, timeout 0), sorted
 *   m  "mod R del R": EPOLL_CTL_MOD of efd to EPOLLOUT with data 112 and EPOLL_CTL_DEL of spare, by fd number (R: 0 or errno)
 *   e  "read N": one read of efd (a semaphore reads 1)
 *   s  "signals S S ...": what sfd reads until it is empty
 *   i  "inotify WD NAME ...": what ifd reads
 *   t  "ticks N": one read of tfd
 *   f  "fanotify opens N": how many FAN_OPEN events ffd reads
 *   k  "kicked": writes 1 to wake */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/fanotify.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <unistd.h>

static const char *dir;
static int wake, wake_ep, blocking_timer;

static void answer(char letter, const char *text)
{
	char path[4096], tmp[4200];
	snprintf(path, sizeof path, "%s/%c.txt", dir, letter);
	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	FILE *out = fopen(tmp, "w");
	if (!out || fprintf(out, "%s\n", text) < 0 || fclose(out) || rename(tmp, path)) exit(1);
}

static void *count_timer(void *unused)
{
	(void)unused;
	char path[4096];
	snprintf(path, sizeof path, "%s/timer.log", dir);
	uint64_t total = 0;
	for (;;) {
		uint64_t ticks;
		if (read(blocking_timer, &ticks, sizeof ticks) != sizeof ticks) {
			if (errno == EINTR) continue;
			exit(1);
		}
		FILE *log = fopen(path, "a");
		if (!log) exit(1);
		for (uint64_t i = 0; i < ticks; i++) fprintf(log, "%llu\n", (unsigned long long)++total);
		fclose(log);
	}
	return NULL;
}

static void *wait_for_wake(void *unused)
{
	(void)unused;
	for (int woken = 0;;) {
		struct epoll_event ev;
		int n = epoll_wait(wake_ep, &ev, 1, -1);
		if (n < 0 && errno == EINTR) continue;
		uint64_t value;
		if (n != 1 || ev.data.u64 != 777 || read(wake, &value, sizeof value) != sizeof value) exit(1);
		char text[64];
		snprintf(text, sizeof text, "woke %d", ++woken);
		answer('k', "kicked");
		char path[4096];
		snprintf(path, sizeof path, "%s/woke.txt", dir);
		FILE *out = fopen(path, "w");
		if (!out) exit(1);
		fprintf(out, "%s\n", text);
		fclose(out);
	}
	return NULL;
}

static void ready_list(int ep, char *text, size_t size)
{
	struct epoll_event ev[16];
	int n = epoll_wait(ep, ev, 16, 0);
	uint64_t data[16];
	for (int i = 0; i < n; i++) data[i] = ev[i].data.u64;
	for (int i = 1; i < n; i++)
		for (int j = i; j > 0 && data[j - 1] > data[j]; j--) { uint64_t t = data[j]; data[j] = data[j - 1]; data[j - 1] = t; }
	size_t used = strlen(text);
	used += snprintf(text + used, size - used, "ready");
	for (int i = 0; i < n; i++) used += snprintf(text + used, size - used, " %llu", (unsigned long long)data[i]);
}

static void watch(int ep, int fd, uint32_t events, uint64_t data)
{
	struct epoll_event ev = { .events = events, .data.u64 = data };
	if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev)) { perror("epoll_ctl"); exit(1); }
}

int main(int argc, char **argv)
{
	if (argc < 2) return 2;
	dir = argv[1];
	sigset_t signals;
	sigemptyset(&signals);
	sigaddset(&signals, SIGUSR1);
	sigaddset(&signals, SIGUSR2);
	if (sigprocmask(SIG_BLOCK, &signals, NULL)) return 1;

	int ctl[2];
	if (pipe(ctl)) return 1;
	int efd = eventfd(3, EFD_SEMAPHORE | EFD_NONBLOCK), spare = eventfd(0, 0);
	wake = eventfd(0, 0);
	int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
	blocking_timer = timerfd_create(CLOCK_MONOTONIC, 0);
	struct itimerspec every20 = { { 0, 20000000 }, { 0, 20000000 } }, every50 = { { 0, 50000000 }, { 0, 50000000 } };
	int sfd = signalfd(-1, &signals, SFD_NONBLOCK);
	int ifd = inotify_init1(IN_NONBLOCK);
	if (efd < 0 || spare < 0 || wake < 0 || tfd < 0 || blocking_timer < 0 || sfd < 0 || ifd < 0) return 1;
	if (timerfd_settime(tfd, 0, &every20, NULL) || timerfd_settime(blocking_timer, 0, &every50, NULL)) return 1;
	char watched[4096];
	snprintf(watched, sizeof watched, "%s/watched", dir);
	if (mkdir(watched, 0755)) return 1;
	int first = inotify_add_watch(ifd, dir, IN_CREATE);
	if (first != 1 || inotify_rm_watch(ifd, first) || inotify_add_watch(ifd, watched, IN_CREATE) != 2) return 1;
	char marked[4096];
	snprintf(marked, sizeof marked, "%s/marked", dir);
	int ffd = fanotify_init(FAN_CLASS_NOTIF | FAN_NONBLOCK, O_RDONLY);
	if (ffd < 0 || close(open(marked, O_CREAT | O_WRONLY, 0644))) return 1;
	if (fanotify_mark(ffd, FAN_MARK_ADD, FAN_OPEN, AT_FDCWD, marked)
	    || fanotify_mark(ffd, FAN_MARK_ADD | FAN_MARK_MOUNT | FAN_MARK_IGNORED_MASK | FAN_MARK_IGNORED_SURV_MODIFY, FAN_CLOSE_NOWRITE, AT_FDCWD, dir))
		return 1;
	char ignored[sizeof(struct inotify_event) + 256];
	if (read(ifd, ignored, sizeof ignored) <= 0) return 1; /* the IN_IGNORED of wd 1 */

	int ep = epoll_create1(0);
	wake_ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0 || wake_ep < 0) return 1;
	watch(ep, efd, EPOLLIN, 111);
	watch(ep, sfd, EPOLLIN, 222);
	watch(ep, tfd, EPOLLIN | EPOLLET, 333);
	watch(ep, ifd, EPOLLIN, 444);
	watch(ep, spare, EPOLLIN, 555);
	watch(wake_ep, wake, EPOLLIN, 777);
	kill(getpid(), SIGUSR2);

	pthread_t timer_thread, wake_thread;
	if (pthread_create(&timer_thread, NULL, count_timer, NULL) || pthread_create(&wake_thread, NULL, wait_for_wake, NULL)) return 1;
	printf("ctl=%d\nefd=%d\ntfd=%d\nsfd=%d\nifd=%d\nffd=%d\nep=%d\nspare=%d\nready\n", ctl[1], efd, tfd, sfd, ifd, ffd, ep, spare);
	fflush(stdout);

	for (;;) {
		char command;
		ssize_t got = read(ctl[0], &command, 1);
		if (got < 0 && errno == EINTR) continue;
		if (got != 1) return 1;
		char text[1024] = "";
		uint64_t value = 1;
		switch (command) {
		case 'w':
			ready_list(ep, text, sizeof text);
			break;
		case 'm': {
			struct epoll_event out = { .events = EPOLLOUT, .data.u64 = 112 };
			int mod = epoll_ctl(ep, EPOLL_CTL_MOD, efd, &out) ? errno : 0;
			int del = epoll_ctl(ep, EPOLL_CTL_DEL, spare, NULL) ? errno : 0;
			snprintf(text, sizeof text, "mod %d del %d ", mod, del);
			ready_list(ep, text, sizeof text);
			break;
		}
		case 'e':
			if (read(efd, &value, sizeof value) != sizeof value) return 1;
			snprintf(text, sizeof text, "read %llu", (unsigned long long)value);
			break;
		case 's': {
			size_t used = snprintf(text, sizeof text, "signals");
			struct signalfd_siginfo info;
			while (read(sfd, &info, sizeof info) == sizeof info)
				used += snprintf(text + used, sizeof text - used, " %u", info.ssi_signo);
			break;
		}
		case 'i': {
			char buffer[4096] __attribute__((aligned(8)));
			ssize_t n = read(ifd, buffer, sizeof buffer);
			size_t used = snprintf(text, sizeof text, "inotify");
			for (ssize_t at = 0; at < n;) {
				struct inotify_event *event = (struct inotify_event *)(buffer + at);
				used += snprintf(text + used, sizeof text - used, " %d %s", event->wd, event->len ? event->name : "-");
				at += sizeof *event + event->len;
			}
			break;
		}
		case 't':
			if (read(tfd, &value, sizeof value) != sizeof value) return 1;
			snprintf(text, sizeof text, "ticks %llu", (unsigned long long)value);
			break;
		case 'f': {
			struct fanotify_event_metadata events[16];
			int opens = 0;
			ssize_t n;
			while ((n = read(ffd, events, sizeof events)) > 0)
				for (struct fanotify_event_metadata *e = events; FAN_EVENT_OK(e, n); e = FAN_EVENT_NEXT(e, n)) {
					if (e->mask & FAN_OPEN) opens++;
					if (e->fd >= 0) close(e->fd);
				}
			snprintf(text, sizeof text, "fanotify opens %d", opens);
			break;
		}
		case 'k':
			if (write(wake, &value, sizeof value) != sizeof value) return 1;
			continue; /* the woken thread answers */
		default:
			return 1;
		}
		answer(command, text);
	}
}
