/* A parent and a child sharing two pages of MAP_SHARED|MAP_ANONYMOUS memory. Page 0 holds two counters: slot 0 is
 * the parent's, slot 1 the child's; every 10 ms each process increments its own and appends "OWN OTHER" (its counter
 * and the other's, as it sees it) to DIR/ROLE.log (ROLE = parent, child). Page 1 holds a pattern the parent wrote
 * before forking: byte i = (i * 7 + 3) & 0xff. The child dies with the parent (PR_SET_PDEATHSIG). Prints child=PID,
 * address=0xHEX and "ready" once each has seen the other's counter move. With "memfd" as second argument the pages
 * are a MAP_SHARED mapping of a memfd (which both also hold open) instead. Usage: tree_shmem DIR [memfd] */
#define _GNU_SOURCE
#include <string.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

static volatile uint64_t *counters;

static void count(const char *dir, const char *role, int own, int ready_fd)
{
    char path[4096], line[64];
    snprintf(path, sizeof path, "%s/%s.log", dir, role);
    int log = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
    if (log < 0) _exit(1);
    for (;;) {
        uint64_t mine = __atomic_add_fetch(&counters[own], 1, __ATOMIC_SEQ_CST);
        uint64_t other = __atomic_load_n(&counters[1 - own], __ATOMIC_SEQ_CST);
        int n = snprintf(line, sizeof line, "%llu %llu\n", (unsigned long long)mine, (unsigned long long)other);
        if (write(log, line, n) != n) _exit(1);
        if (ready_fd >= 0 && mine > 3 && other > 3) {
            printf("ready\n");
            fflush(stdout);
            ready_fd = -1;
        }
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
}

int main(int argc, char **argv)
{
    if (argc < 2) return 2;
    int memfd = -1;
    if (argc > 2 && strcmp(argv[2], "memfd") == 0)
    {
        memfd = memfd_create("tree_shmem", 0);
        if (memfd < 0 || ftruncate(memfd, 8192) != 0) { perror("memfd"); return 1; }
    }
    unsigned char *shared = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED | (memfd < 0 ? MAP_ANONYMOUS : 0), memfd, 0);
    if (shared == MAP_FAILED) return 1;
    counters = (volatile uint64_t *)shared;
    for (int i = 0; i < 4096; i++) shared[4096 + i] = (unsigned char)((i * 7 + 3) & 0xff);
    pid_t child = fork();
    if (child == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        count(argv[1], "child", 1, -1);
    }
    printf("child=%d\naddress=0x%lx\n", child, (unsigned long)shared);
    fflush(stdout);
    count(argv[1], "parent", 0, 1);
}
