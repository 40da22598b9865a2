/* Two threads blocked in the futex calls of pthread: "locker" in pthread_mutex_lock on a mutex main holds, "waiter" in
 * pthread_cond_wait. Main counts every 10 ms into DIR/main.log. SIGUSR1 makes main unlock the mutex and signal the
 * condition; each thread then appends "locker unblocked" / "waiter unblocked" to DIR/unblocked.log. Prints
 * locker=TID, waiter=TID and "ready" once both are asleep in futex_wait. Usage: threads_blocked DIR */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static const char *dir;
static pthread_mutex_t held = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t guard = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake = PTHREAD_COND_INITIALIZER;
static int woken;
static pid_t tids[2];
static volatile sig_atomic_t release;

static void on_usr1(int sig) { (void)sig; release = 1; }

static void unblocked(const char *who)
{
    char path[4096], line[64];
    snprintf(path, sizeof path, "%s/unblocked.log", dir);
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    int n = snprintf(line, sizeof line, "%s unblocked\n", who);
    if (fd < 0 || write(fd, line, n) != n) _exit(1);
    close(fd);
}

static void *locker(void *arg)
{
    (void)arg;
    tids[0] = (pid_t)syscall(SYS_gettid);
    pthread_mutex_lock(&held);
    pthread_mutex_unlock(&held);
    unblocked("locker");
    return NULL;
}

static void *waiter(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&guard);
    tids[1] = (pid_t)syscall(SYS_gettid);
    while (!woken) pthread_cond_wait(&wake, &guard);
    pthread_mutex_unlock(&guard);
    unblocked("waiter");
    return NULL;
}

/* Whether thread TID sleeps in a futex wait (its syscall is futex(2), nr 202). */
static int in_futex(pid_t tid)
{
    char path[64], text[64] = "";
    snprintf(path, sizeof path, "/proc/self/task/%d/syscall", tid);
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    int ok = fgets(text, sizeof text, f) && strncmp(text, "202 ", 4) == 0;
    fclose(f);
    return ok;
}

int main(int argc, char **argv)
{
    if (argc < 2) return 2;
    dir = argv[1];
    signal(SIGUSR1, on_usr1);
    pthread_mutex_lock(&held);
    pthread_t a, b;
    if (pthread_create(&a, NULL, locker, NULL) || pthread_create(&b, NULL, waiter, NULL)) return 1;
    while (!__atomic_load_n(&tids[0], __ATOMIC_SEQ_CST) || !__atomic_load_n(&tids[1], __ATOMIC_SEQ_CST)
           || !in_futex(tids[0]) || !in_futex(tids[1]))
        usleep(1000);
    printf("locker=%d\nwaiter=%d\nready\n", tids[0], tids[1]);
    fflush(stdout);

    char path[4096], line[32];
    snprintf(path, sizeof path, "%s/main.log", dir);
    int log = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
    if (log < 0) return 1;
    for (unsigned long counter = 1;; counter++) {
        int n = snprintf(line, sizeof line, "%lu\n", counter);
        if (write(log, line, n) != n) return 1;
        if (release) {
            release = 0;
            pthread_mutex_unlock(&held);
            pthread_mutex_lock(&guard);
            woken = 1;
            pthread_cond_signal(&wake);
            pthread_mutex_unlock(&guard);
        }
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
}
