/*
 * removed_dirs OUT: makes OUT.cwd and chdir()s into it, opens OUT.dir/sub with O_DIRECTORY, makes OUT.null (a
 * character device like /dev/null, 1:3, mode 0600) and opens it read-write, opens OUT.dir/sub/file holding
 * "inside"; then removes all of them (the file, the directories and the device node). On SIGTERM reports: cwd (readlink of /proc/self/cwd without its " (deleted)"),
 * cwd_deleted=1 when the kernel marks it so, cwd_nlink (links of
 * the working directory), dir_isdir and dir_nlink of the open directory, dev_rdev (major:minor of the open device),
 * dev_write=1 when writing to it works, dev_absent=1 when OUT.null is still gone, file (the removed file's
 * contents); then "done=1", exits 0.
 */
#include "target_common.h"
#include <sys/sysmacros.h>

int main(int argc, char **argv)
{
	target_init(argc, argv, 1, "OUT");
	char cwd[4096], dir[4096], sub[4096], dev[4096];
	snprintf(cwd, sizeof(cwd), "%s.cwd", g_out);
	snprintf(dir, sizeof(dir), "%s.dir", g_out);
	snprintf(sub, sizeof(sub), "%s.dir/sub", g_out);
	snprintf(dev, sizeof(dev), "%s.null", g_out);
	if (mkdir(cwd, 0700) != 0 || mkdir(dir, 0755) != 0 || mkdir(sub, 0750) != 0) die("mkdir");
	if (mknod(dev, S_IFCHR | 0600, makedev(1, 3)) != 0) die("mknod");
	char file[4200];
	snprintf(file, sizeof(file), "%s/file", sub);
	int dir_fd = open(sub, O_RDONLY | O_DIRECTORY), dev_fd = open(dev, O_RDWR);
	int file_fd = open(file, O_RDWR | O_CREAT, 0600);
	if (dir_fd < 0 || dev_fd < 0 || file_fd < 0) die("open");
	write_all(file_fd, "inside", 6);
	if (chdir(cwd) != 0) die("chdir");
	if (unlink(file) != 0 || rmdir(cwd) != 0 || rmdir(sub) != 0 || rmdir(dir) != 0 || unlink(dev) != 0) die("remove");
	ready(NULL);
	while (!g_term) pause();
	char link[4096];
	ssize_t n = readlink("/proc/self/cwd", link, sizeof(link) - 1);
	link[n < 0 ? 0 : n] = 0;
	const char *mark = " (deleted)";
	size_t len = strlen(link), mark_len = strlen(mark);
	int cwd_deleted = len > mark_len && strcmp(link + len - mark_len, mark) == 0;
	if (cwd_deleted) link[len - mark_len] = 0;
	struct stat here, d, v;
	stat(".", &here);
	fstat(dir_fd, &d);
	fstat(dev_fd, &v);
	report("cwd=%s\ncwd_deleted=%d\ncwd_nlink=%ld\ndir_isdir=%d\ndir_nlink=%ld\ndir_mode=%o\ndev_rdev=%u:%u\ndev_write=%d\ndev_absent=%d\n",
	       link, cwd_deleted, (long)here.st_nlink, S_ISDIR(d.st_mode), (long)d.st_nlink, d.st_mode & 07777,
	       major(v.st_rdev), minor(v.st_rdev), write(dev_fd, "x", 1) == 1, access(dev, F_OK) != 0);
	char contents[16] = "";
	ssize_t got = pread(file_fd, contents, sizeof(contents) - 1, 0);
	contents[got < 0 ? 0 : got] = 0;
	report("file=%s\ndone=1\n", contents);
	return 0;
}
