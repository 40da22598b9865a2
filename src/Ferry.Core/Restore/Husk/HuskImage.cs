using System.Buffers.Binary;
using System.Runtime.InteropServices;
using Ferry.Programs;
using Microsoft.Win32.SafeHandles;

namespace Ferry.Restore.Husk;

/// <summary>
/// The husk: a tiny static x86-64 ELF (no libc, one page) that Ferry writes itself. Restore starts it, gives it
/// the dumped PID, PTRACE_SEIZEs it and rebuilds the whole process inside it with remote syscalls.
/// <para><b>Layout.</b> One RWX PT_LOAD of one page at <see cref="BaseAddress"/> (0x6ffe00000000: above PIE
/// executables and brk at 0x55…/0x56…, far below the mmap area at 0x7f… and the stack, so ordinary processes
/// never have a VMA there; the restorer maps the dumped VMAs around it and unmaps it last) plus a PT_GNU_STACK
/// (non-executable stack). After exec the process has only: the husk page, [stack], [vvar], [vvar_vclock],
/// [vdso] (and [vsyscall] where the kernel shows it).</para>
/// <para><b>Gadget.</b> <see cref="SyscallAddress"/> holds <c>syscall; int3</c>. A tracer sets rip there,
/// orig_rax = -1 and the syscall registers, then either single-steps once or PTRACE_CONTs and catches the
/// SIGTRAP of the int3; rax holds the result. The husk is already group-stopped when handed over, so
/// PTRACE_SEIZE alone makes it report a PTRACE_EVENT_STOP (SIGSTOP); an extra PTRACE_INTERRUPT would queue a
/// second stop. The gadget cannot serve the munmap of its own page (the int3 would fault): do that last
/// through another <c>syscall</c> (the restored vdso has one at +0x927; single-step it).</para>
/// <para><b>Protocol.</b> At start the husk does <c>read(3, request, RequestSize)</c> and <c>close(3)</c>.
/// <list type="bullet">
/// <item>Nothing to read (fd 3 not open, or empty): it stops itself with <c>kill(getpid(), SIGSTOP)</c>, then
/// sits in <c>pause()</c> (in a loop) if continued. The parent sees it stopped (waitpid WUNTRACED). The init of a
/// new pid namespace ignores its own SIGSTOP, so it waits in pause() until the launcher stops it from outside.</item>
/// <item>A request (see <see cref="BuildRequest"/>: a struct clone_args of 88 bytes, whose set_tid points at
/// the pid array that follows it inside the husk page): the husk calls <c>clone3(request, 88)</c>. The child
/// (normally with CLONE_PARENT, so it becomes the child of whoever spawned the husk; with CLONE_NEWPID and
/// set_tid {1, outer} it is the init of a fresh pid namespace) stops itself as above. The
/// launching half exits at once: status 0 = the child exists with the requested PID; status = errno when clone3
/// failed (17 EEXIST: PID in use, 22 EINVAL: PID above pid_max or bad set_tid_size, 1 EPERM: no privilege);
/// status <see cref="BadRequestExitCode"/> when the request was shorter than clone_args.</item>
/// </list></para>
/// </summary>
public static class HuskImage
{
    public const ulong BaseAddress = 0x6ffe_0000_0000;
    public const int PageSize = 4096;
    /// <summary>The descriptor the husk reads its launch request from.</summary>
    public const int RequestFd = 3;
    public const int CloneArgsSize = 88;
    /// <summary>At most this many set_tid entries (the kernel's MAX_PID_NS_LEVEL is 32).</summary>
    public const int MaxSetTid = 32;
    public const int RequestSize = CloneArgsSize + MaxSetTid * sizeof(int);
    /// <summary>Exit status of the launching half when the request was too short to be a clone_args.</summary>
    public const int BadRequestExitCode = 125;

    public const ulong CLONE_PARENT = 0x8000, CLONE_NEWPID = 0x20000000;

    const int CodeOffset = OnePageElf.CodeOffset;
    /// <summary>Where, inside the page, the request buffer is (beyond the file bytes: zero-filled by the loader).</summary>
    const int RequestOffset = 0x800;

    public static ulong RequestAddress => BaseAddress + RequestOffset;
    public static ulong EntryAddress => BaseAddress + CodeOffset;
    public static ulong SyscallAddress { get; }
    static readonly byte[] Code;

    static HuskImage()
    {
        (Code, int gadget) = AssembleCode();
        SyscallAddress = BaseAddress + CodeOffset + (ulong)gadget;
    }

    /// <summary>The husk's code; returns the bytes and the offset of the <c>syscall; int3</c> gadget.</summary>
    static (byte[] Code, int Gadget) AssembleCode()
    {
        const uint SysRead = 0, SysClose = 3, SysPause = 34, SysGetpid = 39, SysKill = 62, SysExitGroup = 231, SysClone3 = 435, SigStop = 19;
        var a = new X86Assembler();
        a.MovImm32(Reg.Rax, SysRead);
        a.MovImm32(Reg.Rdi, RequestFd);
        a.MovImm64(Reg.Rsi, RequestAddress);
        a.MovImm32(Reg.Rdx, RequestSize);
        a.Syscall();
        a.Mov(Reg.R12, Reg.Rax);
        a.MovImm32(Reg.Rax, SysClose);
        a.MovImm32(Reg.Rdi, RequestFd);
        a.Syscall();
        a.Test(Reg.R12, Reg.R12);
        a.Jle("stop");                     // no request: just stop
        a.CmpImm(Reg.R12, CloneArgsSize);
        a.Jl("bad");
        a.MovImm32(Reg.Rax, SysClone3);
        a.MovImm64(Reg.Rdi, RequestAddress);
        a.MovImm32(Reg.Rsi, CloneArgsSize);
        a.Syscall();
        a.Test(Reg.Rax, Reg.Rax);
        a.Jz("stop");                      // the child
        a.Js("failed");
        a.MovImm32(Reg.Rdi, 0);            // the launching half: success
        a.Jmp("exit");
        a.Label("failed");
        a.Mov(Reg.Rdi, Reg.Rax);           // exit status = errno
        a.Neg(Reg.Rdi);
        a.Jmp("exit");
        a.Label("bad");
        a.MovImm32(Reg.Rdi, BadRequestExitCode);
        a.Label("exit");
        a.MovImm32(Reg.Rax, SysExitGroup);
        a.Syscall();
        a.Label("stop");
        a.MovImm32(Reg.Rax, SysGetpid);
        a.Syscall();
        a.Mov32(Reg.Rdi, Reg.Rax);
        a.MovImm32(Reg.Rsi, SigStop);
        a.MovImm32(Reg.Rax, SysKill);
        a.Syscall();                       // a pid-namespace init ignores its own SIGSTOP: it waits in pause()
        a.MovImm32(Reg.Rax, SysPause);
        a.Syscall();
        a.Jmp("stop");
        int gadget = a.Offset;
        a.Syscall();
        a.Int3();
        return (a.ToArray(), gadget);
    }

    /// <summary>The complete ELF file.</summary>
    public static byte[] Build()
    {
        var file = new byte[CodeOffset + Code.Length];
        var s = file.AsSpan();
        OnePageElf.WriteHeaders(s, BaseAddress);
        Code.CopyTo(s[CodeOffset..]);
        return file;
    }

    /// <summary>
    /// The launch request: struct clone_args { flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size,
    /// tls, set_tid, set_tid_size, cgroup } followed by the pid_t array. <paramref name="setTid"/> is innermost
    /// pid namespace first (the kernel's order). exit_signal is SIGCHLD, or 0 under CLONE_PARENT (the kernel
    /// requires 0 there and gives the child the launcher's own exit signal, SIGCHLD from posix_spawn).
    /// </summary>
    public static byte[] BuildRequest(ReadOnlySpan<int> setTid, ulong cloneFlags = CLONE_PARENT)
    {
        if (setTid.Length is 0 or > MaxSetTid)
            throw new ArgumentException($"set_tid needs 1..{MaxSetTid} pids, got {setTid.Length}", nameof(setTid));
        var request = new byte[CloneArgsSize + setTid.Length * sizeof(int)];
        var s = request.AsSpan();
        BinaryPrimitives.WriteUInt64LittleEndian(s, cloneFlags);
        // clone3 rejects an exit_signal with CLONE_PARENT (the child then inherits the launcher's, SIGCHLD).
        BinaryPrimitives.WriteUInt64LittleEndian(s[32..], (cloneFlags & CLONE_PARENT) != 0 ? 0UL : 17);
        BinaryPrimitives.WriteUInt64LittleEndian(s[64..], RequestAddress + CloneArgsSize); // set_tid
        BinaryPrimitives.WriteUInt64LittleEndian(s[72..], (ulong)setTid.Length);         // set_tid_size
        MemoryMarshal.AsBytes(setTid).CopyTo(s[CloneArgsSize..]);
        return request;
    }

    /// <summary>Writes the husk to <paramref name="path"/> with mode 0700.</summary>
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public static void WriteToFile(string path)
    {
        using var stream = new FileStream(path, new FileStreamOptions
        {
            Mode = FileMode.Create, Access = FileAccess.Write,
            UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute,
        });
        stream.Write(Build());
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
    }

    /// <summary>A memfd (close-on-exec, mode 0700) holding the husk; exec it through /proc/self/fd/N.</summary>
    public static SafeFileHandle CreateMemfd()
    {
        var handle = HuskNative.CreateMemfd("ferry-husk");
        RandomAccess.Write(handle, Build(), 0);
        return handle;
    }
}
