/* Prints the sizes and field offsets of the kernel/libc structs Ferry declares in C#, as name=value lines, so a
 * test can compare them with the blittable C# structs. */
#define _GNU_SOURCE
#include <linux/filter.h>
#include <linux/prctl.h>
#include <linux/ptrace.h>
#include <linux/sched.h>
#include <linux/userfaultfd.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <time.h>

#define SIZE(type, name) printf("%s=%zu\n", name, sizeof(type))
#define OFFSET(type, field, name) printf("%s=%zu\n", name, offsetof(type, field))

int main(void)
{
	SIZE(struct user_regs_struct, "UserRegs");
	OFFSET(struct user_regs_struct, orig_rax, "UserRegs.orig_rax");
	OFFSET(struct user_regs_struct, rip, "UserRegs.rip");
	OFFSET(struct user_regs_struct, fs_base, "UserRegs.fs_base");
	OFFSET(struct user_regs_struct, gs, "UserRegs.gs");
	SIZE(struct iovec, "IoVec");
	SIZE(struct clone_args, "CloneArgs");
	OFFSET(struct clone_args, set_tid, "CloneArgs.set_tid");
	OFFSET(struct clone_args, cgroup, "CloneArgs.cgroup");
	SIZE(siginfo_t, "SigInfo");
	OFFSET(siginfo_t, si_pid, "SigInfo.Pid");
	OFFSET(siginfo_t, si_uid, "SigInfo.Uid");
	OFFSET(siginfo_t, si_status, "SigInfo.Status");
	OFFSET(siginfo_t, si_value, "SigInfo.Value");
	OFFSET(siginfo_t, si_addr, "SigInfo.Address");
	SIZE(stack_t, "StackT");
	OFFSET(stack_t, ss_size, "StackT.ss_size");
	SIZE(struct itimerval, "ITimerVal");
	SIZE(struct timespec, "TimeSpec");
	SIZE(struct itimerspec, "ITimerSpec");
	SIZE(struct sigevent, "SigEvent");
	OFFSET(struct sigevent, sigev_notify, "SigEvent.sigev_notify");
	OFFSET(struct sigevent, _sigev_un._tid, "SigEvent.sigev_notify_thread_id");
	SIZE(struct rlimit, "RLimit");
	SIZE(struct prctl_mm_map, "PrctlMmMap");
	OFFSET(struct prctl_mm_map, auxv_size, "PrctlMmMap.auxv_size");
	SIZE(struct ptrace_syscall_info, "PtraceSyscallInfo");
	OFFSET(struct ptrace_syscall_info, entry.nr, "PtraceSyscallInfo.Nr");
	OFFSET(struct ptrace_syscall_info, entry.args, "PtraceSyscallInfo.Args");
	SIZE(struct ptrace_peeksiginfo_args, "PtracePeekSigInfoArgs");
	SIZE(struct ptrace_rseq_configuration, "PtraceRseqConfiguration");
	SIZE(struct sock_filter, "SockFilter");
	SIZE(struct uffdio_api, "UffdioApi");
	SIZE(struct uffdio_register, "UffdioRegister");
	printf("UFFDIO_API=%lu\nUFFDIO_REGISTER=%lu\nUFFDIO_UNREGISTER=%lu\n", (unsigned long)UFFDIO_API,
	       (unsigned long)UFFDIO_REGISTER, (unsigned long)UFFDIO_UNREGISTER);
	return 0;
}
