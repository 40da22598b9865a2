/* MAP_DROPPABLE memory and MADV_WIPEONFORK memory, both written with "data". Prints "ready"; on SIGUSR1 writes to
 * DIR/memory.txt "droppable=<the droppable area still holds data: 0|1> wipeonfork=<the other still does: 0|1>
 * child_sees=<a child forked now sees data in either: 0|1>". Usage: droppable_memory DIR */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef MAP_DROPPABLE
#define MAP_DROPPABLE 0x08
#endif
#ifndef MADV_WIPEONFORK
#define MADV_WIPEONFORK 18
#endif

static volatile sig_atomic_t asked;

static void on_usr1(int sig)
{
    (void)sig;
    asked = 1;
}

int main(int argc, char **argv)
{
    if (argc < 2) return 2;
    char *drop = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_DROPPABLE | MAP_ANONYMOUS, -1, 0);
    char *wipe = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (drop == MAP_FAILED || wipe == MAP_FAILED || madvise(wipe, 4096, MADV_WIPEONFORK)) return 1;
    strcpy(drop, "data");
    strcpy(wipe, "data");
    sigset_t usr1, waiting;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    sigprocmask(SIG_BLOCK, &usr1, &waiting);
    signal(SIGUSR1, on_usr1);
    printf("ready\n");
    fflush(stdout);
    while (!asked) sigsuspend(&waiting);
    pid_t child = fork();
    if (child == 0) _exit(strcmp(drop, "data") == 0 || strcmp(wipe, "data") == 0);
    int status;
    if (waitpid(child, &status, 0) != child || !WIFEXITED(status)) return 1;
    char path[4096];
    snprintf(path, sizeof path, "%s/memory.txt", argv[1]);
    FILE *out = fopen(path, "w");
    if (!out) return 1;
    fprintf(out, "droppable=%d wipeonfork=%d child_sees=%d\n", strcmp(drop, "data") == 0, strcmp(wipe, "data") == 0, WEXITSTATUS(status));
    fclose(out);
    for (;;) pause();
}
