/*
 * novdso_counter OUT [crowd]: unmaps its [vdso], [vvar] and [vvar_vclock] (as zdtm's vdso02 does), then counts like counter:
 * every 10 ms appends the next number to OUT through one plain fd. Nothing may call into the vdso afterwards, so
 * only real syscalls are used (nanosleep, write; no clock_gettime or time).
 * Ready: OUT.ready after the first number, with "vdso_left=N" (mappings still named vdso/vvar; 0 when all went).
 * crowd: first fills every free range between 0x7e0000000000 and its stack with PROT_NONE reservations, so wherever
 * a restoring husk's own vdso lands (the kernel places it top-down below the stack, within 1 TB), a dumped area is there.
 * SIGTERM: exits 0.
 */
#include "target_common.h"
#include <sys/mman.h>
#include <sys/syscall.h>

/* Unmaps every vdso/vvar area listed in /proc/self/maps; returns how many are left. */
static int unmap_kernel_areas(void)
{
	char buf[4096];
	unsigned long starts[8], ends[8];
	int n = 0;
	FILE *maps = fopen("/proc/self/maps", "r");
	if (!maps) die("/proc/self/maps");
	while (fgets(buf, sizeof(buf), maps) && n < 8)
		if (strstr(buf, "[vdso]") || strstr(buf, "[vvar]") || strstr(buf, "[vvar_vclock]"))
			if (sscanf(buf, "%lx-%lx", &starts[n], &ends[n]) == 2) n++;
	fclose(maps);
	for (int i = 0; i < n; i++)
		if (syscall(SYS_munmap, starts[i], ends[i] - starts[i]) != 0) die("munmap");
	int left = 0;
	maps = fopen("/proc/self/maps", "r");
	if (!maps) die("/proc/self/maps");
	while (fgets(buf, sizeof(buf), maps))
		if (strstr(buf, "[vdso]") || strstr(buf, "[vvar")) left++;
	fclose(maps);
	return left;
}

/* Reserves (PROT_NONE, no memory) every gap of the upper address space below the stack; returns how many. */
static int crowd_upper_space(void)
{
	char buf[4096];
	unsigned long starts[512], ends[512];
	int n = 0, stack = -1, made = 0;
	FILE *maps = fopen("/proc/self/maps", "r");
	if (!maps) die("/proc/self/maps");
	while (fgets(buf, sizeof(buf), maps) && n < 512)
		if (sscanf(buf, "%lx-%lx", &starts[n], &ends[n]) == 2) {
			if (strstr(buf, "[stack]")) stack = n;
			n++;
		}
	fclose(maps);
	unsigned long floor = 0x7e0000000000UL;
	for (int i = 0; i <= stack; i++) {
		unsigned long from = i > 0 && ends[i - 1] > floor ? ends[i - 1] : floor;
		/* 16 MB below the stack stay free for it to grow (the kernel keeps a guard gap there). */
		unsigned long to = i == stack ? starts[i] - (16UL << 20) : starts[i];
		if (to <= from) continue;
		void *p = mmap((void *)from, to - from, PROT_NONE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE, -1, 0);
		if (p != (void *)from) die("mmap reservation");
		made++;
	}
	return made;
}

int main(int argc, char **argv)
{
	target_init(argc, argv, 1, "OUT [crowd]");
	int left = unmap_kernel_areas();
	if (argc > 2 && strcmp(argv[2], "crowd") == 0 && crowd_upper_space() == 0) die("nothing to crowd");
	int fd = open(g_out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) die(g_out);
	for (long n = 1; !g_term; n++) {
		char line[32];
		int len = snprintf(line, sizeof(line), "%ld\n", n);
		write_all(fd, line, (size_t)len);
		if (n == 1) ready("vdso_left=%d\n", left);
		sleep_ms(10);
	}
	return 0;
}
