/*
 * zmm_check OUT: loads known values into zmm0-31 and k2-k7, then loops checking them in assembly
 * (the registers are never reloaded, so a restore that loses AVX-512 state is caught).
 * Ready before the loop, with "pattern=0xADDR": the 32x64 bytes the registers are compared with (writing
 * there through /proc/PID/mem must be reported as corruption, which proves the check is live).
 * On corruption: appends "corrupt=1 reg=zmmN|kN", exits 1.
 * SIGUSR1 is caught and ignored (signal delivery must preserve the registers too).
 * SIGTERM: appends "corrupt=0 iterations=N", exits 0. Without AVX-512: appends "skip=no-avx512", exits 0.
 */
#include <stdint.h>
#include "target_common.h"

static uint64_t pattern[32 * 8] __attribute__((aligned(64)));
static void on_usr1(int sig) { (void)sig; }

static uint16_t masks[8] = { 0, 0, 0xa5a5, 0x5a5a, 0x1234, 0x8001, 0xfff0, 0x0f0f };

/* Returns -1 when g_term stopped the loop, 0..31 for a corrupt zmm, 100+i for a corrupt k register. */
__attribute__((target("avx512f"), noinline)) static long check_loop(unsigned long *iterations)
{
	long bad;
	unsigned long count = 0;
	__asm__ volatile(
#define LOAD(i) "vmovdqa64 " #i "*64(%[p]), %%zmm" #i "\n\t"
		LOAD(0) LOAD(1) LOAD(2) LOAD(3) LOAD(4) LOAD(5) LOAD(6) LOAD(7)
		LOAD(8) LOAD(9) LOAD(10) LOAD(11) LOAD(12) LOAD(13) LOAD(14) LOAD(15)
		LOAD(16) LOAD(17) LOAD(18) LOAD(19) LOAD(20) LOAD(21) LOAD(22) LOAD(23)
		LOAD(24) LOAD(25) LOAD(26) LOAD(27) LOAD(28) LOAD(29) LOAD(30) LOAD(31)
#define KLOAD(i) "kmovw " #i "*2(%[m]), %%k" #i "\n\t"
		KLOAD(2) KLOAD(3) KLOAD(4) KLOAD(5) KLOAD(6) KLOAD(7)
		"1:\n\t"
#define CHECK(i) "vpcmpq $4, " #i "*64(%[p]), %%zmm" #i ", %%k1\n\t" \
		"kortestw %%k1, %%k1\n\t" "mov $" #i ", %[bad]\n\t" "jnz 2f\n\t"
		CHECK(0) CHECK(1) CHECK(2) CHECK(3) CHECK(4) CHECK(5) CHECK(6) CHECK(7)
		CHECK(8) CHECK(9) CHECK(10) CHECK(11) CHECK(12) CHECK(13) CHECK(14) CHECK(15)
		CHECK(16) CHECK(17) CHECK(18) CHECK(19) CHECK(20) CHECK(21) CHECK(22) CHECK(23)
		CHECK(24) CHECK(25) CHECK(26) CHECK(27) CHECK(28) CHECK(29) CHECK(30) CHECK(31)
#define KCHECK(i) "kmovw %%k" #i ", %%eax\n\t" "cmpw " #i "*2(%[m]), %%ax\n\t" \
		"mov $(100+" #i "), %[bad]\n\t" "jne 2f\n\t"
		KCHECK(2) KCHECK(3) KCHECK(4) KCHECK(5) KCHECK(6) KCHECK(7)
		"inc %[count]\n\t"
		"cmpl $0, %[term]\n\t"
		"je 1b\n\t"
		"mov $-1, %[bad]\n\t"
		"2:\n\t"
		: [bad] "=&r"(bad), [count] "+r"(count)
		: [p] "r"(pattern), [m] "r"(masks), [term] "m"(g_term)
		: "rax", "cc", "memory",
		  "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11",
		  "xmm12", "xmm13", "xmm14", "xmm15", "xmm16", "xmm17", "xmm18", "xmm19", "xmm20", "xmm21", "xmm22",
		  "xmm23", "xmm24", "xmm25", "xmm26", "xmm27", "xmm28", "xmm29", "xmm30", "xmm31",
		  "k1", "k2", "k3", "k4", "k5", "k6", "k7");
	*iterations = count;
	return bad;
}

int main(int argc, char **argv)
{
	target_init(argc, argv, 1, "OUT");
	handle(SIGUSR1, on_usr1);
	if (!__builtin_cpu_supports("avx512f")) { report("skip=no-avx512\n"); return 0; }
	for (int i = 0; i < 32 * 8; i++) pattern[i] = 0x0123456789abcdefULL * (uint64_t)(i + 1) ^ ((uint64_t)i << 56);
	ready("pattern=%p\n", (void *)pattern);
	unsigned long iterations;
	long bad = check_loop(&iterations);
	if (bad >= 100) { report("corrupt=1 reg=k%ld\n", bad - 100); return 1; }
	if (bad >= 0) { report("corrupt=1 reg=zmm%ld\n", bad); return 1; }
	report("corrupt=0 iterations=%lu\n", iterations);
	return 0;
}
