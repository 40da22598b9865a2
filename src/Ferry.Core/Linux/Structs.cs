using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace Ferry.Linux;

/// <summary>x86-64 struct user_regs_struct (27 × 8 = 216 bytes), in the kernel's order.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct UserRegs
{
    public ulong r15, r14, r13, r12, rbp, rbx, r11, r10, r9, r8, rax, rcx, rdx, rsi, rdi, orig_rax, rip, cs, eflags, rsp,
        ss, fs_base, gs_base, ds, es, fs, gs;
}

/// <summary>struct iovec.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct IoVec
{
    public nint Base;
    public nuint Length;
}

/// <summary>struct msghdr (sendmsg/recvmsg).</summary>
public struct MsgHdr
{
    public nint Name;
    public int NameLength;
    public nint Iov;
    public ulong IovLength;
    public nint Control;
    public ulong ControlLength;
    public int Flags;
}

/// <summary>struct clone_args for clone3 (88 bytes, CLONE_ARGS_SIZE_VER2).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct CloneArgs
{
    public ulong flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid, set_tid_size, cgroup;
}

/// <summary>siginfo_t (128 bytes). The union after the first three ints is kept raw; accessors read the common layouts.</summary>
[StructLayout(LayoutKind.Sequential, Size = 128)]
public unsafe struct SigInfo
{
    public int si_signo;
    public int si_errno;
    public int si_code;
    int _pad;
    public fixed byte Fields[112];

    /// <summary>si_pid (kill, sigqueue, SIGCHLD) or si_tid (POSIX timers).</summary>
    public readonly int Pid => Read32(0);
    /// <summary>si_uid (kill, sigqueue, SIGCHLD) or si_overrun (POSIX timers).</summary>
    public readonly int Uid => Read32(4);
    /// <summary>si_status for SIGCHLD.</summary>
    public readonly int Status => Read32(8);
    /// <summary>si_value (sigqueue, POSIX timers; at the same place as SIGCHLD's si_status).</summary>
    public readonly ulong Value => Read64(8);
    /// <summary>si_addr for faults.</summary>
    public readonly ulong Address => Read64(0);

    public readonly byte[] ToArray()
    {
        fixed (SigInfo* p = &this) return new ReadOnlySpan<byte>(p, 128).ToArray();
    }

    readonly int Read32(int offset)
    {
        fixed (byte* f = Fields) return BinaryPrimitives.ReadInt32LittleEndian(new ReadOnlySpan<byte>(f + offset, 4));
    }

    readonly ulong Read64(int offset)
    {
        fixed (byte* f = Fields) return BinaryPrimitives.ReadUInt64LittleEndian(new ReadOnlySpan<byte>(f + offset, 8));
    }
}

/// <summary>The kernel's struct sigaction for rt_sigaction on x86-64 (not glibc's): 32 bytes.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct KernelSigAction
{
    public ulong handler, flags, restorer, mask;
}

/// <summary>stack_t for sigaltstack (24 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct StackT
{
    public ulong ss_sp;
    public int ss_flags;
    int _pad;
    public ulong ss_size;
}

[StructLayout(LayoutKind.Sequential)]
public struct TimeVal
{
    public long tv_sec, tv_usec;
}

[StructLayout(LayoutKind.Sequential)]
public struct ITimerVal
{
    public TimeVal it_interval, it_value;
}

[StructLayout(LayoutKind.Sequential)]
public struct TimeSpec
{
    public long tv_sec, tv_nsec;
}

[StructLayout(LayoutKind.Sequential)]
public struct ITimerSpec
{
    public TimeSpec it_interval, it_value;
}

/// <summary>struct sigevent for timer_create (64 bytes).</summary>
[StructLayout(LayoutKind.Sequential, Size = 64)]
public struct SigEvent
{
    public ulong sigev_value;
    public int sigev_signo;
    public int sigev_notify;
    /// <summary>sigev_notify_thread_id when sigev_notify is SIGEV_THREAD_ID.</summary>
    public int sigev_notify_thread_id;
}

[StructLayout(LayoutKind.Sequential)]
public struct RLimit
{
    public ulong rlim_cur, rlim_max;
}

/// <summary>struct prctl_mm_map for PR_SET_MM_MAP (104 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct PrctlMmMap
{
    public ulong start_code, end_code, start_data, end_data, start_brk, brk, start_stack, arg_start, arg_end,
        env_start, env_end, auxv;
    public uint auxv_size, exe_fd;
}

/// <summary>struct ptrace_syscall_info (88 bytes). Entry: Nr + Args; exit: RVal + IsError; seccomp: Nr + Args + RetData.</summary>
[StructLayout(LayoutKind.Sequential)]
public unsafe struct PtraceSyscallInfo
{
    public byte op;
    byte _pad0, _pad1, _pad2;
    public uint arch;
    public ulong instruction_pointer, stack_pointer;
    public ulong Nr;
    public fixed ulong Args[6];
    uint _retData;

    /// <summary>exit.rval shares the slot of entry.nr.</summary>
    public readonly long RVal => (long)Nr;
    /// <summary>exit.is_error is the first byte after rval.</summary>
    public readonly bool IsError => (Args[0] & 0xff) != 0;
    public readonly uint RetData => _retData;
}

/// <summary>struct ptrace_peeksiginfo_args.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct PtracePeekSigInfoArgs
{
    public ulong off;
    public uint flags;
    public int nr;
}

/// <summary>struct ptrace_rseq_configuration (24 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct PtraceRseqConfiguration
{
    public ulong rseq_abi_pointer;
    public uint rseq_abi_size, signature, flags, pad;
}

/// <summary>struct seccomp_metadata for PTRACE_SECCOMP_GET_METADATA.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct SeccompMetadata
{
    public ulong filter_off, flags;
}

/// <summary>struct sock_filter: one classic BPF instruction (8 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct SockFilter
{
    public ushort code;
    public byte jt, jf;
    public uint k;
}
