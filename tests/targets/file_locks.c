/* A process tree holding every kind of file lock Ferry saves, on files in DIR: flock.txt with an exclusive flock
 * (taken by the parent, its description inherited by the child), posix.txt with a POSIX write lock on bytes 10..19
 * and a read lock from byte 100 to the end of the file (parent), ofd.txt with an OFD read lock on the whole file
 * (parent), child.txt with a POSIX write lock of the child's own. Prints child=PID and "ready", then both wait.
 * Usage: file_locks DIR */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <unistd.h>

static const char *dir;

static int open_file(const char *name)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    int fd = open(path, O_RDWR | O_CREAT, 0644);
    if (fd < 0) _exit(1);
    return fd;
}

static void lock(int fd, int cmd, short type, off_t start, off_t len)
{
    struct flock fl = {.l_type = type, .l_whence = SEEK_SET, .l_start = start, .l_len = len};
    if (fcntl(fd, cmd, &fl)) _exit(1);
}

int main(int argc, char **argv)
{
    if (argc < 2) return 2;
    dir = argv[1];
    int shared = open_file("flock.txt");
    if (flock(shared, LOCK_EX)) return 1;
    int started[2];
    if (pipe(started)) return 1;
    pid_t child = fork();
    if (child == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        lock(open_file("child.txt"), F_SETLK, F_WRLCK, 0, 0);
        if (write(started[1], "x", 1) != 1) _exit(1);
        for (;;) pause();
    }
    char c;
    if (read(started[0], &c, 1) != 1) return 1;
    int posix = open_file("posix.txt");
    lock(posix, F_SETLK, F_WRLCK, 10, 10);
    lock(posix, F_SETLK, F_RDLCK, 100, 0);
    lock(open_file("ofd.txt"), F_OFD_SETLK, F_RDLCK, 0, 0);
    printf("child=%d\nready\n", child);
    fflush(stdout);
    for (;;) pause();
}
