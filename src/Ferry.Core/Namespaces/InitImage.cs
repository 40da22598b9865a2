using System.Buffers.Binary;
using System.Text;
using Ferry.Linux;
using Microsoft.Win32.SafeHandles;

using Ferry.Programs;

namespace Ferry.Namespaces;

/// <summary>
/// ferry-init: the PID 1 of every pid namespace Ferry makes. A static x86-64 ELF of one page (no libc) that
/// Ferry writes itself, like the husk. Why not the ferry binary in a hidden mode: a NativeAOT process as PID 1
/// would carry a runtime (GC and finalizer threads, several MB of RSS, its own SIGCHLD/SIGTERM handling) into
/// every namespace for the whole life of the program, and could only create the namespace through a spawned
/// helper anyway (managed code must not fork, and clone3 flags are out of reach of posix_spawn). This init
/// has one thread and an RSS of about 12 KiB (measured), keeps no state but a few registers and is trivially recreated
/// by a restore, so dumps never contain it.
/// <para><b>Start.</b> Ferry posix_spawns it (from a memfd, so /proc/PID/exe reads "/memfd:ferry-init
/// (deleted)") with fd 3 = report pipe (write end) and fd 4 = a pipe from Ferry (read end); in session mode
/// also fd 5 = the husk image. The started process is only the launcher: it calls clone3(CLONE_NEWPID |
/// CLONE_NEWNS | CLONE_PARENT), with CLONE_NEWIPC in run mode (an IPC namespace of its own, so the SysV objects of a
/// tree Ferry started are dumped with it and come back under their ids anywhere: Resources/Ipc) and in session mode
/// when the dump holds an IPC namespace (a tree that shared the dumper's shares Ferry's again, as with CRIU). It
/// writes the new process's PID (as seen by Ferry: a 4-byte int) to fd 3 and exits 0, or exits with the errno of
/// clone3. The clone is the init, a child of Ferry thanks to CLONE_PARENT.
/// </para>
/// <para><b>Init.</b> It names itself <see cref="Comm"/> (prctl PR_SET_NAME: the marker a dump looks for, with
/// the exe link), makes every mount private (MS_REC | MS_PRIVATE on /: nothing propagates back to the host) and
/// mounts a fresh proc on /proc, so the namespace's processes see their own PIDs there; any failure so far exits
/// with <see cref="SetupFailedExitCode"/>. It blocks every signal and reads them from a signalfd: SIGCHLD reaps
/// every child (orphans included: wait4(-1, WNOHANG | __WALL) until none is left), any other signal is passed
/// on to the main process with kill() (dropped while there is none). When the main process is reaped the init exits with its status (exit code,
/// or 128 + signal), and the kernel kills whatever is left in the namespace. Blocked signals are queued even for
/// a namespace init (which otherwise drops signals it has no handler for), so SIGTERM from inside works too.</para>
/// <para><b>Run mode</b> (argv = ferry-init PROGRAM ARGS..., envp = the program's environment): the init forks
/// the main process, then closes every descriptor it has. The main process waits until fd 4 reaches EOF or
/// yields a byte (so Ferry can learn its PID first), closes every descriptor from 3 up, unblocks signals and
/// execs PROGRAM (an absolute path) with ARGS; if exec fails it says so on stderr and exits 127.</para>
/// <para><b>Session mode</b> (argv = ferry-init only): there is no main process until Ferry names one. The init
/// reads 8-byte requests { int op, int arg } from fd 4 and answers each with a 4-byte int on fd 3:
/// <list type="bullet">
/// <item><see cref="SpawnHusk"/>: clone3 with set_tid { arg } (exit signal SIGCHLD), so the child has PID arg
/// inside the namespace and is the init's own child; it closes fds 3-4, marks fd 5 close-on-exec, unblocks
/// signals and execs the husk from fd 5 (execveat AT_EMPTY_PATH) with no environment; the husk, finding no
/// request on fd 3, stops itself. Answer: the inner PID, or -errno (-17 EEXIST: PID in use).</item>
/// <item><see cref="Adopt"/>: the init's child with inner PID arg becomes the main process. Answer: 0, or -errno
/// of kill(arg, 0) when there is no such process.</item>
/// </list>
/// Unknown ops are answered with -EINVAL. When fd 4 reaches EOF (Ferry closed it or died) before any main
/// process was adopted, the init exits with <see cref="AbandonedExitCode"/>, which ends the namespace: a failed
/// restore leaves nothing behind. After an adoption EOF just closes the channel and the namespace lives on.</para>
/// </summary>
public static class InitImage
{
    /// <summary>The init's comm (also argv[0] and the memfd name): a dump's marker of "a Ferry-made namespace".</summary>
    public const string Comm = "ferry-init";
    /// <summary>The init's exe link, as readlink(/proc/PID/exe) shows it.</summary>
    public const string ExeLink = "/memfd:ferry-init (deleted)";

    public const int ReportFd = 3, FromFerryFd = 4, HuskImageFd = 5;
    public const int SpawnHusk = 1, Adopt = 2;
    /// <summary>The init could not make its mounts private or mount /proc.</summary>
    public const int SetupFailedExitCode = 125;
    /// <summary>Session mode: Ferry closed the request pipe before adopting a main process.</summary>
    public const int AbandonedExitCode = 124;

    const ulong BaseAddress = 0x0040_0000;
    const int CodeOffset = OnePageElf.CodeOffset;
    const int CloneArgsSize = 88;

    // Data (in the file) and buffers (zero-filled by the loader) at fixed offsets in the page.
    const int NameAt = 0x800, RootAt = 0x810, ProcAt = 0x818, ProcPathAt = 0x820, AllSignalsAt = 0x828,
        NoSignalsAt = 0x830, HuskArgvAt = 0x840, HuskNameAt = 0x858, LaunchArgsAt = 0x868, HuskArgsAt = 0x8c8,
        ExecFailedAt = 0x920, FileEnd = 0x960;
    const int BufferAt = 0xa00, RequestAt = 0xa08, StatusAt = 0xa10, PollFdsAt = 0xa18, SigInfoAt = 0xa80;
    const string ExecFailed = "ferry-init: execve of the program failed\n";

    static ulong At(int offset) => BaseAddress + (ulong)offset;

    /// <summary>The complete ELF file.</summary>
    /// <param name="newIpcNamespace">The init gets an IPC namespace of its own too (CLONE_NEWIPC).</param>
    public static byte[] Build(bool newIpcNamespace = true)
    {
        var file = new byte[FileEnd];
        var s = file.AsSpan();
        OnePageElf.WriteHeaders(s, BaseAddress);

        byte[] code = Assemble();
        if (CodeOffset + code.Length > NameAt) throw new InvalidOperationException("ferry-init code overflows into its data");
        code.CopyTo(s[CodeOffset..]);
        Text(s[NameAt..], Comm);
        Text(s[RootAt..], "/");
        Text(s[ProcAt..], "proc");
        Text(s[ProcPathAt..], "/proc");
        BinaryPrimitives.WriteUInt64LittleEndian(s[AllSignalsAt..], ulong.MaxValue); // the kernel skips SIGKILL/SIGSTOP
        BinaryPrimitives.WriteUInt64LittleEndian(s[HuskArgvAt..], At(HuskNameAt));  // argv { "ferry-husk", NULL }, envp { NULL }
        Text(s[HuskNameAt..], "ferry-husk");
        CloneArgs(s[LaunchArgsAt..], CloneFlags.CLONE_NEWPID | CloneFlags.CLONE_NEWNS | CloneFlags.CLONE_PARENT
            | (newIpcNamespace ? CloneFlags.CLONE_NEWIPC : 0), exitSignal: 0, setTid: 0, setTidSize: 0);
        CloneArgs(s[HuskArgsAt..], 0, Signals.SIGCHLD, setTid: At(RequestAt + 4), setTidSize: 1);
        Text(s[ExecFailedAt..], ExecFailed);
        return file;
    }

    /// <summary>A memfd (close-on-exec, mode 0700) named <see cref="Comm"/> holding the init.</summary>
    public static SafeFileHandle CreateMemfd(bool newIpcNamespace)
    {
        var handle = NamespaceNative.CreateExecutableMemfd(Comm);
        RandomAccess.Write(handle, Build(newIpcNamespace), 0);
        return handle;
    }

    static byte[] Assemble()
    {
        var a = new X86Assembler();
        void Call(long nr)
        {
            a.MovImm32(Reg.Rax, (uint)nr);
            a.Syscall();
        }
        const uint MinusOne = uint.MaxValue;

        // Entry: argc at [rsp], argv after it, envp after argv's NULL. r12 = argc, r13 = argv, r14 = envp.
        a.Load(Reg.R12, Reg.Rsp, 0);
        a.Lea(Reg.R13, Reg.Rsp, 8);
        a.Mov(Reg.R14, Reg.R12);
        a.Shl(Reg.R14, 3);
        a.Add(Reg.R14, Reg.R13);
        a.AddImm(Reg.R14, 8);

        // The launcher: clone the init and report its PID.
        a.MovImm64(Reg.Rdi, At(LaunchArgsAt));
        a.MovImm32(Reg.Rsi, CloneArgsSize);
        Call(Sys.clone3);
        a.Test(Reg.Rax, Reg.Rax);
        a.Jz("init");
        a.Js("launch-failed");
        a.MovImm64(Reg.Rsi, At(BufferAt));
        a.Store32(Reg.Rsi, 0, Reg.Rax);
        a.MovImm32(Reg.Rdi, ReportFd);
        a.MovImm32(Reg.Rdx, 4);
        Call(Sys.write);
        a.Zero(Reg.Rdi);
        a.Jmp("exit");
        a.Label("launch-failed");
        a.Mov(Reg.Rdi, Reg.Rax);
        a.Neg(Reg.Rdi);
        a.Label("exit");                                   // exit_group(rdi)
        Call(Sys.exit_group);

        a.Label("die");
        a.MovImm32(Reg.Rdi, SetupFailedExitCode);
        a.Jmp("exit");

        // The init (PID 1 of the new namespace, in a new mount namespace).
        a.Label("init");
        a.MovImm32(Reg.Rdi, Prctl.PR_SET_NAME);
        a.MovImm64(Reg.Rsi, At(NameAt));
        Call(Sys.prctl);
        a.Zero(Reg.Rdi);                                   // mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL)
        a.MovImm64(Reg.Rsi, At(RootAt));
        a.Zero(Reg.Rdx);
        a.MovImm32(Reg.R10, Mounts.MS_REC | Mounts.MS_PRIVATE);
        a.Zero(Reg.R8);
        Call(Sys.mount);
        a.Test(Reg.Rax, Reg.Rax);
        a.Js("die");
        a.MovImm64(Reg.Rdi, At(ProcAt));                   // mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL)
        a.MovImm64(Reg.Rsi, At(ProcPathAt));
        a.Mov(Reg.Rdx, Reg.Rdi);
        a.MovImm32(Reg.R10, Mounts.MS_NOSUID | Mounts.MS_NODEV | Mounts.MS_NOEXEC);
        a.Zero(Reg.R8);
        Call(Sys.mount);
        a.Test(Reg.Rax, Reg.Rax);
        a.Js("die");
        a.Zero(Reg.Rdi);                                   // rt_sigprocmask(SIG_BLOCK, all, NULL, 8)
        a.MovImm64(Reg.Rsi, At(AllSignalsAt));
        a.Zero(Reg.Rdx);
        a.MovImm32(Reg.R10, Signals.KernelSigSetSize);
        Call(Sys.rt_sigprocmask);
        a.Zero(Reg.Rbx);                                   // rbx = inner PID of the main process (0: none yet)
        a.MovImm32(Reg.Rbp, FromFerryFd);                  // rbp = request fd (-1: none)
        a.CmpImm32(Reg.R12, 1);
        a.Jle("signals");                                  // session mode

        // Run mode: fork the main process, then hold on to nothing Ferry handed over.
        Call(Sys.fork);
        a.Test(Reg.Rax, Reg.Rax);
        a.Jz("program");
        a.Js("die");
        a.Mov32(Reg.Rbx, Reg.Rax);
        a.Zero(Reg.Rdi);                                   // close_range(0, ~0, 0)
        a.MovImm32(Reg.Rsi, MinusOne);
        a.Zero(Reg.Rdx);
        Call(Sys.close_range);
        a.MovImm32(Reg.Rbp, MinusOne);

        a.Label("signals");                                // r15 = signalfd4(-1, all, 8, SFD_CLOEXEC | SFD_NONBLOCK)
        a.MovImm32(Reg.Rdi, MinusOne);
        a.MovImm64(Reg.Rsi, At(AllSignalsAt));
        a.MovImm32(Reg.Rdx, Signals.KernelSigSetSize);
        a.MovImm32(Reg.R10, OpenFlags.O_CLOEXEC | OpenFlags.O_NONBLOCK);
        Call(Sys.signalfd4);
        a.Test(Reg.Rax, Reg.Rax);
        a.Js("die");
        a.Mov(Reg.R15, Reg.Rax);

        a.Label("loop");                                   // poll({signalfd, POLLIN}, {rbp, POLLIN}), forever
        a.MovImm64(Reg.Rdi, At(PollFdsAt));
        a.Store32(Reg.Rdi, 0, Reg.R15);
        a.Store32Imm(Reg.Rdi, 4, 1);                       // events = POLLIN, revents = 0
        a.Store32(Reg.Rdi, 8, Reg.Rbp);                    // a negative fd is skipped by poll
        a.Store32Imm(Reg.Rdi, 12, 1);
        a.MovImm32(Reg.Rsi, 2);
        a.MovImm32(Reg.Rdx, MinusOne);
        Call(Sys.poll);

        a.Label("next-signal");                            // drain the signalfd
        a.Mov32(Reg.Rdi, Reg.R15);
        a.MovImm64(Reg.Rsi, At(SigInfoAt));
        a.MovImm32(Reg.Rdx, 128);
        Call(Sys.read);
        a.Test(Reg.Rax, Reg.Rax);
        a.Jle("request");                                  // EAGAIN: no more signals
        a.MovImm64(Reg.Rsi, At(SigInfoAt));
        a.Load32(Reg.Rsi, Reg.Rsi, 0);                     // ssi_signo
        a.CmpImm32(Reg.Rsi, Signals.SIGCHLD);
        a.Jz("reap");
        a.Test32(Reg.Rbx, Reg.Rbx);
        a.Jz("next-signal");                               // no main process to pass it to
        a.Mov32(Reg.Rdi, Reg.Rbx);
        Call(Sys.kill);
        a.Jmp("next-signal");

        a.Label("reap");                                   // wait4(-1, &status, WNOHANG | __WALL, NULL) until none left
        a.MovImm32(Reg.Rdi, MinusOne);
        a.MovImm64(Reg.Rsi, At(StatusAt));
        a.MovImm32(Reg.Rdx, Wait.WNOHANG | Wait.__WALL);
        a.Zero(Reg.R10);
        Call(Sys.wait4);
        a.Test(Reg.Rax, Reg.Rax);
        a.Jle("next-signal");
        a.Cmp32(Reg.Rax, Reg.Rbx);
        a.Jnz("reap");
        a.MovImm64(Reg.Rsi, At(StatusAt));                 // the main process ended: so does the init
        a.Load32(Reg.Rdi, Reg.Rsi, 0);
        a.Mov32(Reg.Rdx, Reg.Rdi);
        a.AndImm32(Reg.Rdx, 0x7f);
        a.Jz("exited");
        a.Lea(Reg.Rdi, Reg.Rdx, 128);                      // killed: 128 + signal
        a.Jmp("exit");
        a.Label("exited");
        a.Shr32(Reg.Rdi, 8);                               // exit code (exit_group keeps the low 8 bits)
        a.Jmp("exit");

        a.Label("request");
        a.Test32(Reg.Rbp, Reg.Rbp);
        a.Js("loop");                                      // no request channel
        a.MovImm64(Reg.Rdi, At(PollFdsAt));
        a.Load32(Reg.Rax, Reg.Rdi, 12);
        a.Shr32(Reg.Rax, 16);                              // revents of the request fd
        a.Jz("loop");
        a.Mov32(Reg.Rdi, Reg.Rbp);
        a.MovImm64(Reg.Rsi, At(RequestAt));
        a.MovImm32(Reg.Rdx, 8);
        Call(Sys.read);
        a.CmpImm32(Reg.Rax, 8);
        a.Jz("handle");
        a.Test32(Reg.Rbx, Reg.Rbx);                        // EOF: Ferry is gone
        a.Jnz("keep-running");
        a.MovImm32(Reg.Rdi, AbandonedExitCode);
        a.Jmp("exit");
        a.Label("keep-running");
        a.Mov32(Reg.Rdi, Reg.Rbp);
        Call(Sys.close);
        a.MovImm32(Reg.Rbp, MinusOne);
        a.Jmp("loop");

        a.Label("handle");
        a.MovImm64(Reg.Rsi, At(RequestAt));
        a.Load32(Reg.Rdx, Reg.Rsi, 0);                     // op
        a.Load32(Reg.Rdi, Reg.Rsi, 4);                     // arg
        a.CmpImm32(Reg.Rdx, SpawnHusk);
        a.Jz("spawn");
        a.CmpImm32(Reg.Rdx, Adopt);
        a.Jz("adopt");
        a.MovImm32(Reg.Rax, unchecked((uint)-Errno.EINVAL));
        a.Jmp("reply");
        a.Label("adopt");
        a.Zero(Reg.Rsi);                                   // kill(arg, 0): does it exist?
        Call(Sys.kill);
        a.Test(Reg.Rax, Reg.Rax);
        a.Js("reply");
        a.MovImm64(Reg.Rsi, At(RequestAt));
        a.Load32(Reg.Rbx, Reg.Rsi, 4);
        a.Jmp("reply");
        a.Label("spawn");
        a.MovImm64(Reg.Rdi, At(HuskArgsAt));
        a.MovImm32(Reg.Rsi, CloneArgsSize);
        Call(Sys.clone3);
        a.Test(Reg.Rax, Reg.Rax);
        a.Jz("husk");
        a.Label("reply");                                  // write(3, &eax, 4)
        a.MovImm64(Reg.Rsi, At(BufferAt));
        a.Store32(Reg.Rsi, 0, Reg.Rax);
        a.MovImm32(Reg.Rdi, ReportFd);
        a.MovImm32(Reg.Rdx, 4);
        Call(Sys.write);
        a.Jmp("loop");

        a.Label("husk");                                   // the child: become a husk
        a.MovImm32(Reg.Rdi, ReportFd);                     // close_range(3, 4, 0)
        a.MovImm32(Reg.Rsi, FromFerryFd);
        a.Zero(Reg.Rdx);
        Call(Sys.close_range);
        a.MovImm32(Reg.Rdi, HuskImageFd);                  // close_range(5, 5, CLOSE_RANGE_CLOEXEC)
        a.MovImm32(Reg.Rsi, HuskImageFd);
        a.MovImm32(Reg.Rdx, 4);
        Call(Sys.close_range);
        EmptySignalMask(a, Call);
        a.MovImm32(Reg.Rdi, HuskImageFd);                  // execveat(5, "", argv, envp, AT_EMPTY_PATH)
        a.MovImm64(Reg.Rsi, At(NoSignalsAt));              // eight zero bytes: ""
        a.MovImm64(Reg.Rdx, At(HuskArgvAt));
        a.MovImm64(Reg.R10, At(HuskArgvAt + 8));
        a.MovImm32(Reg.R8, 0x1000);
        Call(Sys.execveat);
        a.MovImm32(Reg.Rdi, 127);
        a.Jmp("exit");

        a.Label("program");                                // the main process of run mode
        a.MovImm32(Reg.Rdi, FromFerryFd);                  // read(4, buffer, 1): the gate
        a.MovImm64(Reg.Rsi, At(BufferAt));
        a.MovImm32(Reg.Rdx, 1);
        Call(Sys.read);
        a.MovImm32(Reg.Rdi, ReportFd);                     // close_range(3, ~0, 0)
        a.MovImm32(Reg.Rsi, MinusOne);
        a.Zero(Reg.Rdx);
        Call(Sys.close_range);
        EmptySignalMask(a, Call);
        a.Load(Reg.Rdi, Reg.R13, 8);                       // execve(argv[1], &argv[1], envp)
        a.Lea(Reg.Rsi, Reg.R13, 8);
        a.Mov(Reg.Rdx, Reg.R14);
        Call(Sys.execve);
        a.MovImm32(Reg.Rdi, 2);
        a.MovImm64(Reg.Rsi, At(ExecFailedAt));
        a.MovImm32(Reg.Rdx, (uint)ExecFailed.Length);
        Call(Sys.write);
        a.MovImm32(Reg.Rdi, 127);
        a.Jmp("exit");
        return a.ToArray();
    }

    /// <summary>rt_sigprocmask(SIG_SETMASK, {}, NULL, 8): children start with no blocked signal.</summary>
    static void EmptySignalMask(X86Assembler a, Action<long> call)
    {
        a.MovImm32(Reg.Rdi, Signals.SIG_SETMASK);
        a.MovImm64(Reg.Rsi, At(NoSignalsAt));
        a.Zero(Reg.Rdx);
        a.MovImm32(Reg.R10, Signals.KernelSigSetSize);
        call(Sys.rt_sigprocmask);
    }

    static void Text(Span<byte> at, string text) => Encoding.ASCII.GetBytes(text, at);

    /// <summary>struct clone_args { flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid, set_tid_size, cgroup }.</summary>
    static void CloneArgs(Span<byte> s, ulong flags, int exitSignal, ulong setTid, ulong setTidSize)
    {
        BinaryPrimitives.WriteUInt64LittleEndian(s, flags);
        BinaryPrimitives.WriteUInt64LittleEndian(s[32..], (ulong)exitSignal);
        BinaryPrimitives.WriteUInt64LittleEndian(s[64..], setTid);
        BinaryPrimitives.WriteUInt64LittleEndian(s[72..], setTidSize);
    }
}
