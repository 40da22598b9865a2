/* A counter: increments every 10 ms and appends it to DIR/counter.log (O_APPEND); prints "ready" after the
 * third line. Usage: dump_counter DIR. Used to see that a dump with --leave-running lets it go on counting. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    char path[4096];
    if (argc < 2) return 2;
    snprintf(path, sizeof path, "%s/counter.log", argv[1]);
    int log = open(path, O_WRONLY | O_CREAT | O_APPEND | O_TRUNC, 0644);
    if (log < 0) return 1;
    for (unsigned long counter = 1;; counter++) {
        char line[32];
        int n = snprintf(line, sizeof line, "%lu\n", counter);
        if (write(log, line, n) != n) return 1;
        if (counter == 3) { printf("ready\n"); fflush(stdout); }
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
}
