/*
 * memfd_holder OUT: a memfd "ferry-memfd" of 3 pages + 100 bytes holding a known pattern, sealed against shrinking,
 * held by one fd at offset 5000 and mapped MAP_SHARED read-write (the mapping wrote "mapped" at offset 8192).
 * Ready lines: "fd=N". SIGTERM: appends "name=<fd link> size=S pos=P seals=X content_ok=0|1 shared=0|1" and
 * "done=1", exits 0. content_ok: the pattern and the mapping's write are all there; shared: a write through the
 * mapping is read through the fd and a write through the fd is seen in the mapping. A second memfd "ferry-exec"
 * holds "#!/bin/true" and is kept open read-write: "exec_ok=0|1" says whether a child can still execveat() it
 * (the kernel refuses with ETXTBSY when another read-write description of it exists).
 */
#include "target_common.h"
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#define SIZE (3 * 4096 + 100)

static char pattern(long i) { return (char)('a' + (i * 7) % 26); }

int main(int argc, char **argv)
{
	target_init(argc, argv, 1, "OUT");
	int fd = memfd_create("ferry-memfd", MFD_ALLOW_SEALING);
	if (fd < 0) die("memfd_create");
	char buf[SIZE];
	for (long i = 0; i < SIZE; i++) buf[i] = pattern(i);
	write_all(fd, buf, SIZE);
	if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK) != 0) die("F_ADD_SEALS");
	char *map = mmap(NULL, 4 * 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED) die("mmap");
	memcpy(map + 8192, "mapped", 6);
	if (lseek(fd, 5000, SEEK_SET) != 5000) die("lseek");
	int exec_fd = memfd_create("ferry-exec", 0);
	if (exec_fd < 0) die("memfd_create exec");
	write_all(exec_fd, "#!/bin/true\n", 12);
	ready("fd=%d\n", fd);
	while (!g_term) pause();

	char link[256] = "";
	char path[64];
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	ssize_t n = readlink(path, link, sizeof(link) - 1);
	link[n > 0 ? n : 0] = 0;
	for (char *c = link; *c; c++) if (*c == ' ') *c = '_';
	struct stat st;
	fstat(fd, &st);
	long pos = lseek(fd, 0, SEEK_CUR);
	int content_ok = pread(fd, buf, SIZE, 0) == SIZE;
	for (long i = 0; i < SIZE && content_ok; i++)
		content_ok = buf[i] == (i >= 8192 && i < 8198 ? "mapped"[i - 8192] : pattern(i));
	content_ok = content_ok && memcmp(map, buf, SIZE) == 0;
	memcpy(map + 100, "via-map", 7);
	int shared = pread(fd, buf, 7, 100) == 7 && memcmp(buf, "via-map", 7) == 0;
	shared = shared && pwrite(fd, "via-fd", 6, 200) == 6 && memcmp(map + 200, "via-fd", 6) == 0;
	pid_t child = fork();
	if (child == 0) {
		char *const args[] = { "true", NULL }, *const env[] = { NULL };
		syscall(SYS_execveat, exec_fd, "", args, env, AT_EMPTY_PATH);
		_exit(errno);
	}
	int status = -1;
	waitpid(child, &status, 0);
	report("name=%s size=%ld pos=%ld seals=%x content_ok=%d shared=%d exec_ok=%d\ndone=1\n", link, (long)st.st_size,
		pos, fcntl(fd, F_GET_SEALS), content_ok, shared, status == 0);
	return 0;
}
