/* Holds a UNIX socket pair (fds 3, 4) and sleeps: a resource the dump refuses. Writes DIR/ready.
 * Usage: dump_socket DIR. */
#include <fcntl.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    char path[4096];
    int sv[2];
    if (argc < 2 || socketpair(AF_UNIX, SOCK_STREAM, 0, sv)) return 2;
    snprintf(path, sizeof path, "%s/ready", argv[1]);
    close(open(path, O_WRONLY | O_CREAT, 0644));
    for (;;) pause();
}
