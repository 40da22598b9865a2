/* Puts known values into general registers (r12-r15) and vector registers (xmm/ymm/zmm, opmask k1 when the
 * CPU has AVX-512) and then spins without system calls, so they hold those values whenever it is stopped.
 * Prints avx512=0|1 and "ready" first. Usage: dump_registers. */
#include <cpuid.h>
#include <stdio.h>
#include <unistd.h>

static int has_avx512f(void)
{
    unsigned a, b, c, d;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return 0;
    return (b >> 16) & 1;
}

int main(void)
{
    static unsigned long long pattern[8] = {
        0x1111222233334444ULL, 0x5555666677778888ULL, 0x99990000aaaabbbbULL, 0xccccddddeeeeffffULL,
        0x0123456789abcdefULL, 0xfedcba9876543210ULL, 0x0f1e2d3c4b5a6978ULL, 0x8796a5b4c3d2e1f0ULL,
    };
    int avx512 = has_avx512f();
    printf("avx512=%d\nready\n", avx512);
    fflush(stdout);
    if (avx512) {
        __asm__ volatile(
            "vmovdqu64 (%0), %%zmm7\n\t"
            "vmovdqu64 (%0), %%zmm23\n\t"
            "movq $0x5a5a5a5a5a5a5a5a, %%rax\n\t"
            "kmovq %%rax, %%k1\n\t"
            :: "r"(pattern) : "rax", "memory");
    } else {
        __asm__ volatile("vmovdqu (%0), %%ymm7\n\t" :: "r"(pattern) : "memory");
    }
    __asm__ volatile(
        "movabs $0x1122334455667788, %%r12\n\t"
        "movabs $0x0badc0ffee0ddf00, %%r13\n\t"
        "movabs $0x7766554433221100, %%r14\n\t"
        "movabs $0xfeedfacecafebeef, %%r15\n\t"
        "1: pause\n\t"
        "jmp 1b\n\t"
        ::: "r12", "r13", "r14", "r15");
    return 0;
}
