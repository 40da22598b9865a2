/* Memory a parent and its child share copy-on-write since a fork. The parent fills MIB MiB of private anonymous
 * memory, page i with the byte (i % 251) + 1, makes the 16 pages right after it (page i: byte (i % 251) + 101)
 * read-only, and forks. The child writes 0xC0 | (i & 0x3f) over every 4th page of the big area (i % 4 == 0), drops
 * every page with i % 8 == 1 (MADV_DONTNEED: zero for it, still the pattern for the parent) and waits; the parent
 * waits too. Prints child=PID, area=0xHEX, readonly=0xHEX and "ready". On SIGUSR1 the parent writes 0xEE over page 2
 * of the big area and creates DIR/written. The child dies with the parent (PR_SET_PDEATHSIG). Usage: cow_memory DIR MIB */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <unistd.h>

#define PAGE 4096
#define READONLY_PAGES 16

static volatile sig_atomic_t asked;

static void on_usr1(int sig)
{
    (void)sig;
    asked = 1;
}

int main(int argc, char **argv)
{
    if (argc < 3) return 2;
    size_t pages = (size_t)atoi(argv[2]) * 256;
    /* One mapping, its end then made read-only: two neighbouring VMAs whose shared pages meet at the border. */
    unsigned char *area = mmap(NULL, (pages + READONLY_PAGES) * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (area == MAP_FAILED) return 1;
    unsigned char *readonly = area + pages * PAGE;
    for (size_t i = 0; i < pages; i++) memset(area + i * PAGE, (int)(i % 251) + 1, PAGE);
    for (size_t i = 0; i < READONLY_PAGES; i++) memset(readonly + i * PAGE, (int)(i % 251) + 101, PAGE);
    if (mprotect(readonly, READONLY_PAGES * PAGE, PROT_READ)) return 1;

    sigset_t usr1, waiting;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    sigprocmask(SIG_BLOCK, &usr1, &waiting);
    signal(SIGUSR1, on_usr1);
    int ready[2];
    if (pipe(ready)) return 1;
    pid_t child = fork();
    if (child == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        for (size_t i = 0; i < pages; i += 4) memset(area + i * PAGE, 0xC0 | (int)(i & 0x3f), PAGE);
        for (size_t i = 1; i < pages; i += 8)
            if (madvise(area + i * PAGE, PAGE, MADV_DONTNEED)) _exit(1);
        if (write(ready[1], "x", 1) != 1) _exit(1);
        for (;;) pause();
    }
    char byte;
    if (read(ready[0], &byte, 1) != 1) return 1;
    printf("child=%d\narea=0x%lx\nreadonly=0x%lx\nready\n", child, (unsigned long)area, (unsigned long)readonly);
    fflush(stdout);
    while (!asked) sigsuspend(&waiting);
    memset(area + 2 * PAGE, 0xEE, PAGE);
    char path[4096];
    snprintf(path, sizeof path, "%s/written", argv[1]);
    int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return 1;
    close(fd);
    for (;;) pause();
}
