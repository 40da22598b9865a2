/* Keeps a 64-byte pattern in zmm31 and copies zmm31 to memory in a loop, touching no other vector code (no libc
 * string functions in the loop), so a test can change zmm31 through the XSAVE area and see the new value. */
#include <stdio.h>
#include <unistd.h>

static unsigned char pattern[64] __attribute__((aligned(64)));
unsigned char observed[64] __attribute__((aligned(64)));
volatile unsigned long counter;

int main(void)
{
	for (int i = 0; i < 64; i++)
		pattern[i] = (unsigned char)(0xA0 + i);
	__asm__ volatile("vmovdqu64 %0, %%zmm31" : : "m"(pattern));
	__asm__ volatile("vmovdqu64 %%zmm31, %0" : "=m"(observed));
	printf("observed=%p\nready\n", (void *)observed);
	fflush(stdout);
	for (;;) {
		__asm__ volatile("vmovdqu64 %%zmm31, %0" : "=m"(observed));
		counter++;
		usleep(1000);
	}
}
