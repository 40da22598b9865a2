/* Holds one of each resource the dump saves, then sleeps in nanosleep (or, with "read", blocks in read()):
 *   fd 3  DIR/data.txt, read-only, offset 5
 *   fd 4  DIR/append.log, O_WRONLY|O_APPEND
 *   fd 5/6 a pipe with 11 unread bytes "pipe-bytes\n" (both ends kept)
 *   fd 7  a deleted file DIR/ghost.txt ("ghost content\n"), O_RDWR
 *   fd 8  /dev/null, fd 9 /dev/zero, fd 10 /dev/urandom (O_CLOEXEC)
 *   fd 11 a FIFO DIR/fifo (O_RDWR) with 6 unread bytes "fifo!\n"
 *   SIGUSR1 handler (SA_RESTART), SIGUSR2 blocked and pending, ITIMER_REAL 5 s interval with a SIGALRM handler,
 *   a POSIX timer (CLOCK_MONOTONIC, SIGUSR1, 7 s interval), an alternate signal stack of 64 KiB, umask 027,
 *   16 MiB of anonymous memory filled with a pattern, and 2 pages of 0xab made PROT_NONE afterwards.
 * Prints memory=ADDRESS, protnone=ADDRESS and "ready" when set up. With "read" it blocks in read() of an empty pipe (fds 12, 13) instead.
 * Usage: dump_resources DIR [read]. */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static volatile unsigned long usr1_count, alarm_count;
static void on_usr1(int sig) { (void)sig; usr1_count++; }
static void on_alarm(int sig) { (void)sig; alarm_count++; }

static void expect_fd(int fd, int want)
{
    if (fd != want) { fprintf(stderr, "got fd %d, expected %d\n", fd, want); exit(1); }
}

int main(int argc, char **argv)
{
    char path[4096];
    if (argc < 2) return 2;
    const char *dir = argv[1];
    for (int fd = 3; fd < 64; fd++) close(fd);

    snprintf(path, sizeof path, "%s/data.txt", dir);
    int f = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (write(f, "0123456789", 10) != 10) return 1;
    close(f);
    expect_fd(open(path, O_RDONLY), 3);
    lseek(3, 5, SEEK_SET);
    snprintf(path, sizeof path, "%s/append.log", dir);
    expect_fd(open(path, O_WRONLY | O_CREAT | O_APPEND | O_TRUNC, 0644), 4);
    if (write(4, "first\n", 6) != 6) return 1;
    int p[2];
    if (pipe(p) || p[0] != 5 || p[1] != 6) return 1;
    if (write(6, "pipe-bytes\n", 11) != 11) return 1;
    snprintf(path, sizeof path, "%s/ghost.txt", dir);
    expect_fd(open(path, O_RDWR | O_CREAT | O_TRUNC, 0600), 7);
    if (write(7, "ghost content\n", 14) != 14) return 1;
    unlink(path);
    expect_fd(open("/dev/null", O_RDWR), 8);
    expect_fd(open("/dev/zero", O_RDONLY), 9);
    expect_fd(open("/dev/urandom", O_RDONLY | O_CLOEXEC), 10);
    snprintf(path, sizeof path, "%s/fifo", dir);
    unlink(path);
    if (mkfifo(path, 0600)) return 1;
    expect_fd(open(path, O_RDWR), 11);
    if (write(11, "fifo!\n", 6) != 6) return 1;

    struct sigaction sa = {0};
    sa.sa_handler = on_usr1;
    sa.sa_flags = SA_RESTART;
    sigaddset(&sa.sa_mask, SIGUSR2);
    sigaction(SIGUSR1, &sa, NULL);
    struct sigaction alarm = {0};
    alarm.sa_handler = on_alarm;
    sigaction(SIGALRM, &alarm, NULL);
    sigset_t block;
    sigemptyset(&block);
    sigaddset(&block, SIGUSR2);
    sigprocmask(SIG_BLOCK, &block, NULL);
    raise(SIGUSR2);
    struct itimerval timer = {{5, 0}, {5, 0}};
    setitimer(ITIMER_REAL, &timer, NULL);
    struct sigevent event = {.sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGUSR1, .sigev_value.sival_ptr = (void *)0x1234};
    timer_t posix_timer;
    if (timer_create(CLOCK_MONOTONIC, &event, &posix_timer)) return 1;
    struct itimerspec every7 = {{7, 0}, {7, 0}};
    if (timer_settime(posix_timer, 0, &every7, NULL)) return 1;
    stack_t ss = {.ss_sp = malloc(65536), .ss_size = 65536, .ss_flags = 0};
    sigaltstack(&ss, NULL);
    umask(027);

    size_t size = 16 << 20;
    unsigned char *memory = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    for (size_t i = 0; i < size; i += 4096) memset(memory + i, (int)((i >> 12) * 7 + 1) & 0xff, 4096);

    unsigned char *hidden = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    memset(hidden, 0xab, 8192);
    if (mprotect(hidden, 8192, PROT_NONE)) return 1;

    printf("memory=%p\nprotnone=%p\nready\n", (void *)memory, (void *)hidden);
    fflush(stdout);
    if (argc > 2 && strcmp(argv[2], "read") == 0) {
        int empty[2];
        char c;
        if (pipe(empty)) return 1;
        for (;;) if (read(empty[0], &c, 1) < 0) return 1; /* blocks: nobody writes */
    }
    for (;;) {
        struct timespec ts = {1, 0};
        nanosleep(&ts, NULL);
    }
}
