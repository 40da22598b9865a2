/* Holds a UNIX socket pair (fds 3, 4) and sleeps: a resource the dump refuses. Prints "ready".
 * Usage: dump_socket. */
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

int main(void)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv)) return 2;
    printf("ready\n");
    fflush(stdout);
    for (;;) pause();
}
