/*
 * sysv_ipc OUT [host]: System V IPC objects shared by a parent and its child.
 *
 * Default (run under `ferry run`, an IPC namespace of its own):
 * - segment A (key 0x46525259, SEG_SIZE bytes: not a whole number of pages, mode 0640) holds a pattern; the parent
 *   attaches it twice (read-write, with its last page then made read-only, and read-only), the child attaches it by
 *   key and echoes byte 0 into byte 1 (so each sees the other's writes);
 * - segment B (IPC_PRIVATE, two pages) holds another pattern and was removed (IPC_RMID) while the parent keeps it attached;
 * - a message queue (key 0x46525260) holds three messages; a semaphore set (key 0x46525261) of three has values 5 7 2.
 * Ready line: "ok=1 child=PID". SIGTERM checks everything and reports "pattern=1|0", "echo=1|0" (a new byte written
 * by the parent is echoed by the child), "destroyed=1|0", "queue=1|0" (messages received in order, intact),
 * "sems=1|0", "ok=1|0", then kills the child and exits 0.
 *
 * host: only attaches an IPC_PRIVATE segment and removes it at once (it vanishes with the process); ready "ok=1".
 */
#include <stdint.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include "target_common.h"

#define PAGE 4096
#define SEG_SIZE (3 * PAGE + 100)
#define KEY_SHM 0x46525259
#define KEY_MSG 0x46525260
#define KEY_SEM 0x46525261
#define DATA 16 /* bytes 0 and 1 of segment A are the echo channel */

static unsigned char value(int seg, size_t i) { return (unsigned char)(i * 13 + seg * 101 + (i >> 9)); }

static int pattern_ok(const volatile unsigned char *p, int seg, size_t from, size_t size)
{
	for (size_t i = from; i < size; i++)
		if (p[i] != value(seg, i)) return 0;
	return 1;
}

struct message { long type; char text[1024]; };
static const long types[3] = { 1, 7, 3 };
static const size_t sizes[3] = { 5, 14, 1000 };

static void message_text(int n, char *text)
{
	if (n == 0) memcpy(text, "first", 5);
	else if (n == 1) memcpy(text, "second message", 14);
	else for (size_t i = 0; i < sizes[2]; i++) text[i] = (char)value(3, i);
}

static int echo(volatile unsigned char *a, unsigned char token)
{
	a[0] = token;
	for (int i = 0; i < 5000; i++) {
		if (a[1] == token) return 1;
		usleep(1000);
	}
	return 0;
}

static void child_loop(void)
{
	int id = shmget(KEY_SHM, 0, 0);
	if (id < 0) die("child shmget");
	volatile unsigned char *a = shmat(id, NULL, 0);
	if (a == (void *)-1) die("child shmat");
	for (;;) {
		if (a[1] != a[0]) a[1] = a[0];
		usleep(1000);
	}
}

int main(int argc, char **argv)
{
	target_init(argc, argv, 1, "OUT [host]");
	if (argc > 2 && strcmp(argv[2], "host") == 0) {
		int id = shmget(IPC_PRIVATE, PAGE, IPC_CREAT | 0600);
		if (id < 0) die("shmget");
		unsigned char *p = shmat(id, NULL, 0);
		if (p == (void *)-1) die("shmat");
		if (shmctl(id, IPC_RMID, NULL)) die("shmctl");
		p[0] = 1;
		ready("ok=1\n");
		while (!g_term) pause();
		report("ok=1\n");
		return 0;
	}

	int a_id = shmget(KEY_SHM, SEG_SIZE, IPC_CREAT | IPC_EXCL | 0640);
	if (a_id < 0) die("shmget A");
	volatile unsigned char *a = shmat(a_id, NULL, 0);
	const volatile unsigned char *a_ro = shmat(a_id, NULL, SHM_RDONLY);
	if (a == (void *)-1 || a_ro == (void *)-1) die("shmat A");
	for (size_t i = DATA; i < SEG_SIZE; i++) a[i] = value(1, i);
	if (mprotect((void *)(a + 3 * PAGE), PAGE, PROT_READ)) die("mprotect");

	int b_id = shmget(IPC_PRIVATE, 2 * PAGE, IPC_CREAT | 0600);
	if (b_id < 0) die("shmget B");
	volatile unsigned char *b = shmat(b_id, NULL, 0);
	if (b == (void *)-1) die("shmat B");
	for (size_t i = 0; i < 2 * PAGE; i++) b[i] = value(2, i);
	if (shmctl(b_id, IPC_RMID, NULL)) die("shmctl B");

	int q = msgget(KEY_MSG, IPC_CREAT | IPC_EXCL | 0600);
	if (q < 0) die("msgget");
	for (int n = 0; n < 3; n++) {
		struct message m = { .type = types[n] };
		message_text(n, m.text);
		if (msgsnd(q, &m, sizes[n], IPC_NOWAIT)) die("msgsnd");
	}
	int s = semget(KEY_SEM, 3, IPC_CREAT | IPC_EXCL | 0600);
	if (s < 0) die("semget");
	unsigned short init[3] = { 5, 7, 0 };
	if (semctl(s, 0, SETALL, init)) die("semctl");
	struct sembuf up = { .sem_num = 2, .sem_op = 2 };
	if (semop(s, &up, 1)) die("semop");

	pid_t child = fork();
	if (child < 0) die("fork");
	if (child == 0) child_loop();
	if (!echo(a, 0x11)) die("the child never echoed");
	ready("ok=1\nchild=%d\n", child);

	while (!g_term) pause();
	int pattern = pattern_ok(a, 1, DATA, SEG_SIZE) && pattern_ok(a_ro, 1, DATA, SEG_SIZE);
	int echoed = echo(a, 0x22);
	int destroyed = pattern_ok(b, 2, 0, 2 * PAGE);
	int queue = 1;
	for (int n = 0; n < 3; n++) {
		struct message m, want = { 0 };
		message_text(n, want.text);
		ssize_t got = msgrcv(q, &m, sizeof m.text, 0, IPC_NOWAIT);
		queue = queue && got == (ssize_t)sizes[n] && m.type == types[n] && memcmp(m.text, want.text, sizes[n]) == 0;
	}
	unsigned short values[3];
	int sems = semctl(s, 0, GETALL, values) == 0 && values[0] == 5 && values[1] == 7 && values[2] == 2;
	report("pattern=%d\necho=%d\ndestroyed=%d\nqueue=%d\nsems=%d\nok=%d\n", pattern, echoed, destroyed, queue, sems,
	       pattern && echoed && destroyed && queue && sems);
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	return 0;
}
