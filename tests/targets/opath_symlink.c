/*
 * opath_symlink OUT: makes OUT.link (a symlink to OUT.target) and OUT.gone (a symlink to OUT.elsewhere), holds each
 * open with O_PATH|O_NOFOLLOW and removes OUT.gone. On SIGTERM reports, for both descriptors, whether fstat still
 * shows a symlink (link_lnk, gone_lnk) and what readlinkat(fd, "") reads (link_target, gone_target), whether
 * OUT.gone is still absent (gone_absent=1), then "done=1", exits 0.
 */
#include "target_common.h"

static void describe(const char *key, int fd)
{
	struct stat st;
	char target[4096];
	int is_link = fstat(fd, &st) == 0 && S_ISLNK(st.st_mode);
	ssize_t n = readlinkat(fd, "", target, sizeof(target) - 1);
	target[n < 0 ? 0 : n] = 0;
	report("%s_lnk=%d\n%s_target=%s\n", key, is_link, key, n < 0 ? "(error)" : target);
}

int main(int argc, char **argv)
{
	target_init(argc, argv, 1, "OUT");
	char link[4096], gone[4096], target[4096], elsewhere[4096];
	snprintf(link, sizeof(link), "%s.link", g_out);
	snprintf(gone, sizeof(gone), "%s.gone", g_out);
	snprintf(target, sizeof(target), "%s.target", g_out);
	snprintf(elsewhere, sizeof(elsewhere), "%s.elsewhere", g_out);
	if (symlink(target, link) != 0 || symlink(elsewhere, gone) != 0) die("symlink");
	int link_fd = open(link, O_PATH | O_NOFOLLOW), gone_fd = open(gone, O_PATH | O_NOFOLLOW);
	if (link_fd < 0 || gone_fd < 0) die("open");
	if (unlink(gone) != 0) die("unlink");
	ready(NULL);
	while (!g_term) pause();
	describe("link", link_fd);
	describe("gone", gone_fd);
	struct stat st;
	report("gone_absent=%d\ndone=1\n", lstat(gone, &st) != 0 && errno == ENOENT);
	return 0;
}
