using System.Diagnostics;
using System.Runtime.InteropServices;
using Ferry.Linux;
using Ferry.Procfs;

namespace Ferry.Tracing;

/// <summary>
/// One seized thread. Every method runs on its tracer's thread, so it may be called from any thread. Register,
/// signal and syscall operations need the task to be stopped (it is after Seize and Interrupt).
/// </summary>
public sealed unsafe class TracedTask
{
    readonly Tracer _tracer;
    // The task's own registers and signal mask while stopped (saves a ptrace call per remote syscall); dropped
    // whenever the task runs. After remote syscalls the kernel holds their registers (_regsInjected) and signal mask
    // (_maskInjected) instead, and these are what PutBackOwnState writes back.
    UserRegs? _regs;
    ulong? _sigMask;
    bool _regsInjected, _maskInjected;
    ulong? _syscallInstruction;
    bool _interruptSent;

    internal TracedTask(Tracer tracer, int tid, int pid)
    {
        _tracer = tracer;
        Tid = tid;
        Pid = pid;
        Memory = new RemoteMemory(tid);
    }

    public Tracer Tracer => _tracer;

    /// <summary>The thread id.</summary>
    public int Tid { get; }

    /// <summary>The thread group (process) id.</summary>
    public int Pid { get; }

    public bool IsAttached { get; private set; } = true;

    /// <summary>Whether the task is in a ptrace stop (so registers, memory and remote syscalls are usable).</summary>
    public bool IsStopped { get; private set; }

    /// <summary>
    /// 0 when the task was running when stopped; SIGSTOP/SIGTSTP/SIGTTIN/SIGTTOU when its process was job-control
    /// stopped (or had such a stop pending). Such a task goes back into that stop by itself on Detach.
    /// </summary>
    public int JobStopSignal { get; private set; }

    /// <summary>The status of the stop the task is in (or was last in).</summary>
    public WaitStatus LastStop { get; private set; }

    /// <summary>
    /// Whether the current stop is a signal-delivery stop: only there does the kernel honour a signal passed to
    /// PTRACE_CONT or PTRACE_DETACH (in PTRACE_EVENT_STOPs it is ignored).
    /// </summary>
    bool InSignalDeliveryStop => IsStopped && LastStop.Stopped && LastStop.Event == 0 && LastStop.StopSignal != (Signals.SIGTRAP | 0x80);

    /// <summary>The task's memory (process_vm_readv/writev with a /proc/PID/mem fallback). Usable from any thread.</summary>
    public RemoteMemory Memory { get; }

    /// <summary>
    /// The address of a `syscall` instruction (0f 05) in the task, used for remote syscalls. Found on first use by
    /// <see cref="FindSyscallInstruction"/>; set it again when the code holding it moves or goes.
    /// </summary>
    public ulong SyscallInstruction
    {
        get => _syscallInstruction ??= FindSyscallInstruction();
        set => _syscallInstruction = value;
    }

    /// <summary>The task's own registers (never those of a remote syscall in progress).</summary>
    public UserRegs GetRegisters() => OnThread(() =>
    {
        RequireStopped();
        if (_regs is { } cached) return cached;
        var regs = ReadKernelRegisters();
        _regs = regs;
        return regs;
    });

    public void SetRegisters(UserRegs regs) => OnThread(() =>
    {
        RequireStopped();
        // Written at once (a remote syscall's signal mask may stay), so the kernel's checks fail here, not at a later resume.
        _regsInjected = false;
        _regs = null;
        WriteKernelRegisters(regs);
        _regs = regs;
    });

    /// <summary>The XSAVE area (NT_X86_XSTATE) in the kernel's standard (non-compacted) layout; its size comes from the kernel.</summary>
    public byte[] GetXState() => GetRegSet(Ptrace.NT_X86_XSTATE, "NT_X86_XSTATE");

    public void SetXState(ReadOnlySpan<byte> xstate) => SetRegSet(Ptrace.NT_X86_XSTATE, xstate.ToArray(), "NT_X86_XSTATE");

    /// <summary>The legacy FXSAVE area (NT_PRFPREG, 512 bytes).</summary>
    public byte[] GetFpRegs() => GetRegSet(Ptrace.NT_PRFPREG, "NT_PRFPREG");

    public void SetFpRegs(ReadOnlySpan<byte> fxsave) => SetRegSet(Ptrace.NT_PRFPREG, fxsave.ToArray(), "NT_PRFPREG");

    /// <summary>The task's own blocked-signal mask (kernel sigset: bit N-1 is signal N).</summary>
    public ulong GetSigMask() => OnThread(() =>
    {
        RequireStopped();
        if (_sigMask is { } cached) return cached;
        ulong mask;
        Call(Ptrace.GETSIGMASK, Signals.KernelSigSetSize, (nint)(&mask), "PTRACE_GETSIGMASK");
        _sigMask = mask;
        return mask;
    });

    public void SetSigMask(ulong mask) => OnThread(() =>
    {
        RequireStopped();
        _maskInjected = false;
        _sigMask = null;
        WriteKernelSigMask(mask);
        _sigMask = mask & ~(Signals.Bit(Signals.SIGKILL) | Signals.Bit(Signals.SIGSTOP)); // the kernel never blocks these
    });

    /// <summary>The siginfo of the signal that caused the current stop.</summary>
    public SigInfo GetSigInfo() => OnThread(() =>
    {
        RequireStopped();
        SigInfo info;
        Call(Ptrace.GETSIGINFO, 0, (nint)(&info), "PTRACE_GETSIGINFO");
        return info;
    });

    /// <summary>
    /// The pending signals of this thread's queue, or of the process-wide (shared) queue, without dequeuing them.
    /// </summary>
    public SigInfo[] PeekPendingSignals(bool shared) => OnThread(() =>
    {
        RequireStopped();
        var result = new List<SigInfo>();
        const int batch = 32;
        var buffer = stackalloc SigInfo[batch];
        while (true)
        {
            var args = new PtracePeekSigInfoArgs
            {
                off = (ulong)result.Count, flags = shared ? Ptrace.PEEKSIGINFO_SHARED : 0, nr = batch,
            };
            var n = (int)Call(Ptrace.PEEKSIGINFO, (nint)(&args), (nint)buffer,
                shared ? "PTRACE_PEEKSIGINFO(SHARED)" : "PTRACE_PEEKSIGINFO");
            for (var i = 0; i < n; i++) result.Add(buffer[i]);
            if (n < batch) return result.ToArray();
        }
    });

    /// <summary>PTRACE_GET_SYSCALL_INFO: op NONE in an interrupt stop; ENTRY/EXIT in syscall stops.</summary>
    public PtraceSyscallInfo GetSyscallInfo() => OnThread(() =>
    {
        RequireStopped();
        PutBackOwnState(); // its instruction and stack pointers are read from the registers the kernel holds
        PtraceSyscallInfo info;
        Call(Ptrace.GET_SYSCALL_INFO, sizeof(PtraceSyscallInfo), (nint)(&info), "PTRACE_GET_SYSCALL_INFO");
        return info;
    });

    /// <summary>The thread's registered rseq area (pointer 0 when none).</summary>
    public PtraceRseqConfiguration GetRseqConfiguration() => OnThread(() =>
    {
        RequireStopped();
        PtraceRseqConfiguration conf;
        Call(Ptrace.GET_RSEQ_CONFIGURATION, sizeof(PtraceRseqConfiguration), (nint)(&conf), "PTRACE_GET_RSEQ_CONFIGURATION");
        return conf;
    });

    /// <summary>
    /// The classic-BPF program of the seccomp filter at <paramref name="index"/> (0 = most recently installed),
    /// or null when there is no filter at that index.
    /// </summary>
    public SockFilter[]? GetSeccompFilter(int index) => OnThread(() =>
    {
        RequireStopped();
        var count = LibC.ptrace(Ptrace.SECCOMP_GET_FILTER, Tid, index, 0);
        if (count < 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            if (errno == Errno.ENOENT) return null;
            throw new LinuxException("ptrace(PTRACE_SECCOMP_GET_FILTER)", Tid, errno);
        }
        var program = new SockFilter[count];
        fixed (SockFilter* p = program)
            Call(Ptrace.SECCOMP_GET_FILTER, index, (nint)p, "PTRACE_SECCOMP_GET_FILTER");
        return program;
    });

    /// <summary>Executes one instruction and waits for the trap.</summary>
    public void SingleStep() => OnThread(() =>
    {
        RequireStopped();
        PutBackOwnState();
        RunToTrap(Ptrace.SINGLESTEP, "single-step");
    });

    /// <summary>
    /// Lets the task run; Interrupt or WaitForStop stop it again. A signal can be passed only from a signal-delivery
    /// stop (one WaitForStop returned), where it replaces the signal that stopped the task (0 suppresses it).
    /// </summary>
    public void Continue(int signal = 0) => OnThread(() =>
    {
        RequireStopped();
        if (signal != 0 && !InSignalDeliveryStop)
            throw new InvalidOperationException($"{this} is in {LastStop}, not a signal-delivery stop: the kernel would ignore signal {signal}");
        PutBackOwnState();
        Resume(Ptrace.CONT, signal, "PTRACE_CONT");
    });

    /// <summary>
    /// PTRACE_INTERRUPT and wait for the PTRACE_EVENT_STOP. Signal-delivery stops seen on the way are passed on to
    /// the task (the interrupt stays pending, so it stops right after). In a job-control stopped process the stop
    /// reports the stop signal, kept in JobStopSignal.
    /// </summary>
    public void Interrupt() => OnThread(() =>
    {
        RequireAttached();
        if (IsStopped) return;
        SendInterrupt();
        WaitForEventStop();
    });

    /// <summary>PTRACE_INTERRUPT, unless one is already on its way (Seize without waiting sends it).</summary>
    internal void SendInterrupt()
    {
        if (_interruptSent) return;
        Call(Ptrace.INTERRUPT, 0, 0, "PTRACE_INTERRUPT");
        _interruptSent = true;
    }

    /// <summary>
    /// After Continue: waits for the task's next stop of any kind (a breakpoint's SIGTRAP, a fault, a signal) and
    /// returns it. A signal stop suppresses its signal unless it is passed to the next Continue or Detach.
    /// </summary>
    public WaitStatus WaitForStop() => OnThread(() =>
    {
        RequireAttached();
        if (IsStopped) throw new InvalidOperationException($"{this} is stopped already; Continue it first");
        var status = Tracer.WaitFor(Tid);
        if (status.IsGone) throw Gone(status, "while running");
        IsStopped = true;
        LastStop = status;
        return status;
    });

    /// <summary>
    /// After Seize without waiting: waits for the interrupt stop until the deadline, then gives up with
    /// <see cref="StopTimeoutException"/> and forgets the task, still traced but running: no ptrace request can
    /// detach it, and the kernel does when the tracer thread ends (dropping the pending interrupt).
    /// </summary>
    internal void WaitForInterruptStop(StopDeadline deadline)
    {
        RequireAttached();
        if (IsStopped) return;
        WaitForEventStop(deadline);
    }

    /// <summary>Waits for a PTRACE_EVENT_STOP, passing signal-delivery stops seen on the way on to the task.</summary>
    internal void WaitForEventStop() => WaitForEventStop(StopDeadline.None);

    void WaitForEventStop(StopDeadline deadline)
    {
        for (var stops = 0; ; stops++)
        {
            if (Tracer.WaitFor(Tid, deadline) is not { } status)
            {
                Forget();
                throw new StopTimeoutException(Tid, Pid, deadline.Timeout);
            }
            if (status.IsGone) throw Gone(status, "while stopping it");
            if (status.IsEventStop)
            {
                IsStopped = true;
                _interruptSent = false;
                LastStop = status;
                JobStopSignal = status.StopSignal == Signals.SIGTRAP ? 0 : status.StopSignal;
                return;
            }
            if (stops == MaxSignalsWhileInterrupting)
                throw new TracingException($"{this} did not reach an interrupt stop after {stops} other stops (last: {status})");
            var pass = status.Event == 0 && status.StopSignal != (Signals.SIGTRAP | 0x80) ? status.StopSignal : 0;
            Call(Ptrace.CONT, 0, pass, "PTRACE_CONT");
        }
    }

    /// <summary>Bounds the signal-delivery stops Interrupt passes through before giving up.</summary>
    const int MaxSignalsWhileInterrupting = 64;

    /// <summary>
    /// Releases the task, optionally sending it a signal: passed to PTRACE_DETACH in a signal-delivery stop, sent
    /// with tgkill after the detach otherwise (the kernel ignores it in PTRACE_EVENT_STOPs). A task found
    /// job-control stopped goes back into that stop.
    /// </summary>
    public void Detach(int signal = 0) => OnThread(() =>
    {
        RequireAttached();
        if (!IsStopped) Interrupt();
        PutBackOwnState();
        var passNow = signal != 0 && InSignalDeliveryStop;
        Call(Ptrace.DETACH, 0, passNow ? signal : 0, "PTRACE_DETACH");
        Forget();
        if (signal != 0 && !passNow && LibC.tgkill(Pid, Tid, signal) < 0)
            throw LinuxException.FromLastError($"tgkill({signal}) after detach", Tid);
    });

    /// <summary>
    /// Lets go of a task whose process was SIGKILLed without another ptrace request or waiting for it to go: the
    /// kernel ends the tracing as it exits. Its registers are not written back (a request on a dying task fails,
    /// and an exception costs more than the rest of a tiny dump's release).
    /// </summary>
    public void Abandon() => OnThread(Forget);

    /// <summary>SIGKILLs the task's process and waits until this thread is gone.</summary>
    public void Kill() => OnThread(() =>
    {
        RequireAttached();
        if (LibC.kill(Pid, Signals.SIGKILL) < 0 && Marshal.GetLastPInvokeError() != Errno.ESRCH)
            throw LinuxException.FromLastError("kill(SIGKILL)", Pid);
        WaitGone();
    });

    /// <summary>
    /// After its process was SIGKILLed: waits until this thread is gone (reaping its ptrace exit report). Kill the
    /// process once and call this on every thread of it, the leader last.
    /// </summary>
    public void WaitGone() => OnThread(() =>
    {
        RequireAttached();
        while (true)
        {
            var status = Tracer.WaitFor(Tid);
            if (status.IsGone) break;
            LibC.ptrace(Ptrace.CONT, Tid, 0, 0); // a stop that raced the kill; it dies on resume
        }
        Forget();
    });

    /// <summary>
    /// Runs a system call in the task and returns its raw result (a negative errno on failure). Uses
    /// <see cref="SyscallInstruction"/>. All signals but SIGTRAP are blocked while the call runs, so a pending signal
    /// cannot be delivered into the injected context; hence changing the signal mask must be done with SetSigMask, not
    /// with a remote rt_sigprocmask. The task's own registers (including orig_rax and a pending -ERESTART* rax, so an
    /// interrupted syscall still restarts) and signal mask are written back lazily: consecutive remote syscalls share
    /// one save and one write-back, which comes before anything that lets the task run (Continue, SingleStep,
    /// Detach), with SetRegisters/SetSigMask, and at once when a remote syscall fails to complete. GetRegisters and
    /// GetSigMask always give the task's own.
    /// </summary>
    public long Syscall(long nr, long a1 = 0, long a2 = 0, long a3 = 0, long a4 = 0, long a5 = 0, long a6 = 0) =>
        OnThread(() => Inject(SyscallInstruction, nr, a1, a2, a3, a4, a5, a6));

    /// <summary>Like Syscall, using the `syscall` instruction at <paramref name="instruction"/>.</summary>
    public long SyscallAt(ulong instruction, long nr, long a1 = 0, long a2 = 0, long a3 = 0, long a4 = 0, long a5 = 0, long a6 = 0) =>
        OnThread(() => Inject(instruction, nr, a1, a2, a3, a4, a5, a6));

    /// <summary>Like Syscall, but a negative result throws LinuxException ("remote NAME for pid N failed: EXXX").</summary>
    public long SyscallOrThrow(long nr, long a1 = 0, long a2 = 0, long a3 = 0, long a4 = 0, long a5 = 0, long a6 = 0)
    {
        var result = Syscall(nr, a1, a2, a3, a4, a5, a6);
        if (result < 0 && result >= -4095) throw new LinuxException($"remote {Sys.Name(nr)}", Tid, (int)-result);
        return result;
    }

    /// <summary>
    /// Runs <paramref name="calls"/> one after another in a single resume of the task and returns their raw results
    /// (each a negative errno on failure; every call runs, whatever the ones before returned). For many calls whose
    /// arguments are known beforehand: one round trip instead of one per call. The program runs in an executable
    /// area of <paramref name="scratch"/> (mapped on its first batch; the scratch must belong to this task's process);
    /// as with <see cref="Syscall"/>, all signals but SIGTRAP are blocked meanwhile and the task's own registers and
    /// mask are written back lazily, at once when the batch fails to complete.
    /// </summary>
    public long[] SyscallBatch(RemoteScratch scratch, IReadOnlyList<RemoteCall> calls) => OnThread(() =>
    {
        RequireStopped();
        if (calls.Count == 0) return [];
        var (code, results) = scratch.BatchArea(calls.Count, out var unlock);
        var (bytes, end) = SyscallProgram.Build(unlock is { } first ? [first, .. calls] : calls, results);
        if (bytes.Length > RemoteScratch.BatchCodeSize)
            throw new ArgumentException($"{calls.Count} remote syscalls make {bytes.Length} bytes of code; a batch holds {RemoteScratch.BatchCodeSize}", nameof(calls));
        Memory.Write(code, bytes);
        var what = $"a batch of {calls.Count} remote syscalls ({Sys.Name(calls[0].Nr)}, ...)";
        try
        {
            WriteKernelRegisters(InjectedRegisters(code));
            RunToTrap(Ptrace.CONT, what);
            var after = ReadKernelRegisters();
            if (after.rip != code + (ulong)end)
                throw new TracingException($"{what} in {this}: stopped at rip 0x{after.rip:x}, expected 0x{code + (ulong)end:x}");
        }
        catch
        {
            if (IsStopped) PutBackOwnState();
            throw;
        }
        var skip = unlock is null ? 0 : 1;
        var values = new long[skip + calls.Count];
        Memory.Read(results, MemoryMarshal.AsBytes(values.AsSpan()));
        if (skip == 1)
        {
            if (values[0] < 0)
                throw new LinuxException("remote mprotect of the batch results", Tid, (int)-values[0]);
            scratch.Unlocked();
        }
        return values[skip..];
    });

    /// <summary>
    /// Like SyscallBatch, but the first call with a negative result throws LinuxException ("remote NAME for pid N
    /// failed: EXXX"); the calls after it have run too.
    /// </summary>
    public long[] SyscallBatchOrThrow(RemoteScratch scratch, IReadOnlyList<RemoteCall> calls)
    {
        var results = SyscallBatch(scratch, calls);
        for (var i = 0; i < results.Length; i++)
            if (results[i] < 0 && results[i] >= -4095)
                throw new LinuxException($"remote {Sys.Name(calls[i].Nr)}", Tid, (int)-results[i]);
        return results;
    }

    /// <summary>Maps an anonymous read-write area in the task for syscall arguments; dispose it to unmap.</summary>
    public RemoteScratch MapScratch(int size = (int)Mman.PageSize) => new(this, size, forBatches: false);

    /// <summary>
    /// A scratch for <see cref="SyscallBatch"/>: one mapping with the batch's code, unmapped by one munmap. Until its
    /// first batch has run it is read-only for the task (a batch's pointer arguments may point into it; writes to it
    /// beforehand go through /proc/PID/mem).
    /// </summary>
    public RemoteScratch MapBatchScratch(int size = (int)Mman.PageSize) => new(this, size, forBatches: true);

    public override string ToString() => Tid == Pid ? $"pid {Pid}" : $"thread {Tid} of pid {Pid}";

    long Inject(ulong instruction, long nr, long a1, long a2, long a3, long a4, long a5, long a6)
    {
        RequireStopped();
        var injected = InjectedRegisters(instruction);
        injected.rax = (ulong)nr;
        injected.rdi = (ulong)a1;
        injected.rsi = (ulong)a2;
        injected.rdx = (ulong)a3;
        injected.r10 = (ulong)a4;
        injected.r8 = (ulong)a5;
        injected.r9 = (ulong)a6;
        try
        {
            WriteKernelRegisters(injected);
            RunToTrap(Ptrace.SINGLESTEP, $"remote {Sys.Name(nr)}");
            var after = ReadKernelRegisters();
            if (after.rip != instruction + 2)
                throw new TracingException(
                    $"remote {Sys.Name(nr)} in {this}: rip 0x{after.rip:x} after the step, expected 0x{instruction + 2:x} (is there a syscall instruction at 0x{instruction:x}?)");
            return (long)after.rax;
        }
        catch
        {
            if (IsStopped) PutBackOwnState();
            throw;
        }
    }

    /// <summary>
    /// The task's own registers (saved, to be written back) with rip at <paramref name="rip"/> and orig_rax -1 (no
    /// syscall-restart processing of injected registers), once the signal mask of remote syscalls is in place. The
    /// caller writes them into the kernel.
    /// </summary>
    UserRegs InjectedRegisters(ulong rip)
    {
        var injected = GetRegisters();
        if (!_maskInjected)
        {
            GetSigMask(); // cached, to be written back
            // Everything but SIGTRAP: the run ends with a forced SIGTRAP, and the kernel resets the handler of a
            // forced signal that is blocked to SIG_DFL, which would take the task's own SIGTRAP handler away.
            WriteKernelSigMask(~Signals.Bit(Signals.SIGTRAP));
            _maskInjected = true;
        }
        _regsInjected = true;
        injected.rip = rip;
        injected.orig_rax = ulong.MaxValue;
        return injected;
    }

    /// <summary>After remote syscalls: writes the task's own registers and signal mask back into the kernel.</summary>
    void PutBackOwnState()
    {
        if (_regsInjected)
        {
            _regsInjected = false;
            WriteKernelRegisters(_regs!.Value);
        }
        if (_maskInjected)
        {
            _maskInjected = false;
            WriteKernelSigMask(_sigMask!.Value);
        }
    }

    UserRegs ReadKernelRegisters()
    {
        UserRegs regs;
        Call(Ptrace.GETREGS, 0, (nint)(&regs), "PTRACE_GETREGS");
        return regs;
    }

    void WriteKernelRegisters(UserRegs regs) => Call(Ptrace.SETREGS, 0, (nint)(&regs), "PTRACE_SETREGS");

    void WriteKernelSigMask(ulong mask) => Call(Ptrace.SETSIGMASK, Signals.KernelSigSetSize, (nint)(&mask), "PTRACE_SETSIGMASK");

    /// <summary>
    /// The address of a `syscall` instruction (0f 05) in the task: in its [vdso] when it has one (unless
    /// <paramref name="skipVdso"/>), else in another readable executable mapping, e.g. libc's text. Executing at any
    /// address holding 0f 05 runs `syscall`, and a process may have unmapped its vdso (zdtm's vdso02 does).
    /// </summary>
    /// <param name="skipVdso">Leave the [vdso] out (a restore that is about to unmap the husk's vdso).</param>
    /// <param name="mappings">The task's /proc/PID/maps when the caller has read it already (the task stopped since).</param>
    public ulong FindSyscallInstruction(bool skipVdso = false, IReadOnlyList<MapsEntry>? mappings = null)
    {
        mappings ??= ProcMaps.Read(Tid);
        // [vsyscall] is left out: its page is execute-only and, emulated, faults on anything but its three entries.
        var candidates = mappings.Where(m => !skipVdso && m.Kind == MapKind.Vdso)
            .Concat(mappings.Where(m => m.Kind is not (MapKind.Vdso or MapKind.Vsyscall) && m.IsReadable && m.IsExecutable));
        var chunk = new byte[64 * 1024];
        foreach (var mapping in candidates)
        {
            // Chunks overlap by one byte so an instruction across a chunk boundary is found too.
            for (var at = mapping.Start; at + 1 < mapping.End; at += (ulong)chunk.Length - 1)
            {
                var code = chunk.AsSpan(0, (int)Math.Min((ulong)chunk.Length, mapping.End - at));
                Memory.Read(at, code);
                var i = code.IndexOf([(byte)0x0f, (byte)0x05]);
                if (i >= 0)
                    return at + (ulong)i;
            }
        }
        throw new TracingException($"{this} has no {(skipVdso ? "" : "[vdso] or ")}readable executable mapping holding a syscall instruction (0f 05)");
    }

    void Resume(int request, int signal, string name)
    {
        if (!(_regsInjected || _maskInjected)) // else a remote syscall's step: the task's own state is still to be written back
        {
            _regs = null;
            _sigMask = null;
        }
        IsStopped = false;
        Call(request, 0, signal, name);
    }

    /// <summary>
    /// PTRACE_SINGLESTEP (or PTRACE_CONT, to an int3) and wait for its SIGTRAP. A task seized while job-control
    /// stopped may have one more PTRACE_EVENT_STOP trap queued (the seize and the interrupt each ask for one), or a
    /// stop signal sent to it again while it was stopped; either comes before the step executes anything (or stops
    /// the run in the middle, where resuming goes on), so the task is resumed again. A stop signal swallowed this
    /// way is kept in JobStopSignal, so the task goes back into its stop on Detach.
    /// </summary>
    void RunToTrap(int request, string what)
    {
        for (var attempt = 0; ; attempt++)
        {
            Resume(request, 0, request == Ptrace.CONT ? "PTRACE_CONT" : "PTRACE_SINGLESTEP");
            var status = Tracer.WaitFor(Tid);
            if (status.IsGone) throw Gone(status, $"during {what}");
            IsStopped = status.Stopped;
            LastStop = status;
            if (status.Stopped && status.StopSignal == Signals.SIGTRAP && status.Event == 0) return;
            bool stopSignal = status.Stopped && status.Event == 0 && IsStopSignal(status.StopSignal);
            if (stopSignal)
                JobStopSignal = status.StopSignal;
            if (!(status.IsEventStop || stopSignal) || attempt > 3)
                throw new TracingException($"{what} in {this}: expected a SIGTRAP stop, got {status}");
        }
    }

    static bool IsStopSignal(int signal) =>
        signal is Signals.SIGSTOP or Signals.SIGTSTP or Signals.SIGTTIN or Signals.SIGTTOU;

    TracingException Gone(WaitStatus status, string when)
    {
        Forget();
        return new TracingException($"{this} {status} {when}");
    }

    void Forget()
    {
        IsAttached = false;
        IsStopped = false;
        _regs = null;
        _sigMask = null;
        _regsInjected = _maskInjected = false;
        Memory.Dispose(); // closes /proc/PID/mem; it reopens if read again later
        _tracer.Forget(this);
    }

    long Call(int request, nint addr, nint data, string name) => Tracer.PtraceCall(request, Tid, addr, data, name);

    byte[] GetRegSet(int type, string name) => OnThread(() =>
    {
        RequireStopped();
        var buffer = new byte[16384]; // larger than any XSAVE layout; the kernel reports the real size in iov_len
        fixed (byte* p = buffer)
        {
            var iov = new IoVec { Base = (nint)p, Length = (nuint)buffer.Length };
            Call(Ptrace.GETREGSET, type, (nint)(&iov), $"PTRACE_GETREGSET {name}");
            return buffer.AsSpan(0, (int)iov.Length).ToArray();
        }
    });

    void SetRegSet(int type, byte[] data, string name) => OnThread(() =>
    {
        RequireStopped();
        fixed (byte* p = data)
        {
            var iov = new IoVec { Base = (nint)p, Length = (nuint)data.Length };
            Call(Ptrace.SETREGSET, type, (nint)(&iov), $"PTRACE_SETREGSET {name}");
        }
    });

    void RequireAttached()
    {
        Debug.Assert(_tracer.IsTracerThread);
        if (!IsAttached) throw new InvalidOperationException($"{this} is no longer traced");
    }

    void RequireStopped()
    {
        RequireAttached();
        if (!IsStopped) throw new InvalidOperationException($"{this} is running; Interrupt it first");
    }

    T OnThread<T>(Func<T> work) => _tracer.Run(work);

    void OnThread(Action work) => _tracer.Run(work);
}
