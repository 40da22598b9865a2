/* An open file deleted under its name while another link to it (DIR/file.link) remains, then written 1000 bytes.
 * Prints "ready"; on SIGUSR1 writes "same_inode=<the descriptor is still DIR/file.link's inode: 0|1> size=N" to
 * DIR/result.txt. Usage: deleted_linked DIR */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static volatile sig_atomic_t asked;

static void on_usr1(int sig)
{
    (void)sig;
    asked = 1;
}

int main(int argc, char **argv)
{
    if (argc < 2) return 2;
    char path[4096], link_path[4096 + 8];
    snprintf(path, sizeof path, "%s/file", argv[1]);
    snprintf(link_path, sizeof link_path, "%s.link", path);
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (fd < 0 || link(path, link_path) || unlink(path)) return 1;
    char data[1000];
    memset(data, 'd', sizeof data);
    if (write(fd, data, sizeof data) != sizeof data) return 1;
    sigset_t usr1, waiting;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    sigprocmask(SIG_BLOCK, &usr1, &waiting);
    signal(SIGUSR1, on_usr1);
    printf("ready\n");
    fflush(stdout);
    while (!asked) sigsuspend(&waiting);
    struct stat own, linked;
    if (fstat(fd, &own) || stat(link_path, &linked)) return 1;
    snprintf(path, sizeof path, "%s/result.txt", argv[1]);
    FILE *out = fopen(path, "w");
    if (!out) return 1;
    fprintf(out, "same_inode=%d size=%lld\n", own.st_ino == linked.st_ino && own.st_dev == linked.st_dev, (long long)own.st_size);
    fclose(out);
    for (;;) pause();
}
