/* A parent blocked in vfork() while its child, sharing the parent's address space (CLONE_VM), sleeps in pause():
 * a tree a dump must refuse, since no restore can rebuild two processes in one address space. The child prints
 * "ready" and dies with the parent. Usage: tree_vfork */
#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

int main(void)
{
    static const char ready[] = "ready\n";
    if (vfork() == 0) {
        /* Only plain system calls here: the parent's memory is ours until we exit. It dies with the parent. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (write(1, ready, sizeof ready - 1) != (ssize_t)(sizeof ready - 1)) _exit(1);
        for (;;) pause();
    }
    return 0;
}
