/*
 * lease_holder OUT: creates OUT.leased and OUT.shared and takes a write lease on the first (an O_RDWR descriptor)
 * and a read lease on the second (O_RDONLY). Counts SIGIO (a lease break notice). On SIGTERM reports sigio (how
 * many arrived), lease (F_GETLEASE of the write-leased descriptor: 0 read, 1 write, 2 none, i.e. being broken to
 * none) and shared_lease (of the read lease), then "done=1", exits 0.
 */
#include "target_common.h"

static volatile sig_atomic_t g_sigio;
static void on_sigio(int sig) { (void)sig; g_sigio++; }

int main(int argc, char **argv)
{
	target_init(argc, argv, 1, "OUT");
	handle(SIGIO, on_sigio);
	char leased[4096], shared[4096];
	snprintf(leased, sizeof(leased), "%s.leased", g_out);
	snprintf(shared, sizeof(shared), "%s.shared", g_out);
	int fd = open(leased, O_RDWR | O_CREAT | O_TRUNC, 0644);
	int rd = open(shared, O_RDONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || rd < 0) die("open");
	if (fcntl(fd, F_SETLEASE, F_WRLCK) != 0 || fcntl(rd, F_SETLEASE, F_RDLCK) != 0) die("F_SETLEASE");
	ready(NULL);
	while (!g_term) pause();
	report("sigio=%d\nlease=%d\nshared_lease=%d\ndone=1\n", (int)g_sigio, fcntl(fd, F_GETLEASE), fcntl(rd, F_GETLEASE));
	return 0;
}
