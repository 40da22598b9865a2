/* Two things a restore must not trip over: an unnamed file made with O_TMPFILE in DIR (its open flags carry
 * O_DIRECTORY) holding "tmpfile contents\n", and a MAP_LOCKED anonymous area of 16 pages whose byte i is
 * (i * 13 + 5) & 0xff (mmap populates a locked area at once). Prints fd=N, locked=0xADDR and "ready", then sleeps.
 * Usage: tmpfile_locked DIR */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc != 2) { fprintf(stderr, "usage: tmpfile_locked DIR\n"); return 2; }
    int fd = open(argv[1], O_TMPFILE | O_RDWR, 0600);
    if (fd < 0) { perror("open O_TMPFILE"); return 1; }
    const char *text = "tmpfile contents\n";
    if (write(fd, text, strlen(text)) != (ssize_t)strlen(text)) { perror("write"); return 1; }
    size_t size = 16 * 4096;
    unsigned char *locked = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_LOCKED, -1, 0);
    if (locked == MAP_FAILED) { perror("mmap MAP_LOCKED"); return 1; }
    for (size_t i = 0; i < size; i++) locked[i] = (unsigned char)((i * 13 + 5) & 0xff);
    printf("fd=%d\nlocked=%p\nready\n", fd, (void *)locked);
    fflush(stdout);
    for (;;) pause();
}
