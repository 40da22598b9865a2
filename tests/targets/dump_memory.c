/* Fills MIB MiB of anonymous memory with a pattern (page i holds byte (i * 7 + 1) & 0xff), prints memory=ADDRESS
 * and "ready", and sleeps. Usage: dump_memory MIB. For dump benchmarks and page-content checks. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc < 2) return 2;
    size_t size = strtoull(argv[1], NULL, 10) << 20;
    unsigned char *memory = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (memory == MAP_FAILED) return 1;
    for (size_t i = 0; i < size; i += 4096) memset(memory + i, (int)((i >> 12) * 7 + 1) & 0xff, 4096);
    printf("memory=%p\nready\n", (void *)memory);
    fflush(stdout);
    for (;;) pause();
}
