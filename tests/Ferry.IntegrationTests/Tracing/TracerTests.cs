using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;
using Ferry.IntegrationTests.Support;
using Ferry.Linux;
using Ferry.Tracing;
using Xunit;
using Xunit.Abstractions;

namespace Ferry.IntegrationTests.Tracing;

public sealed class TracerTests(ITestOutputHelper output)
{
    [RootFact]
    public void Seize_stops_the_task_and_remote_getpid_returns_its_pid_then_detach_lets_it_run_on()
    {
        using var target = RunningTarget.Start("trace_counter");
        using var tracer = new Tracer();
        var task = tracer.Seize(target.Pid);
        Assert.True(task.IsStopped);
        Assert.Equal(0, task.JobStopSignal);
        Assert.Equal(target.Pid, task.Pid);

        var regs = task.GetRegisters();
        Assert.NotEqual(0UL, regs.rip);
        Assert.NotEqual(0UL, regs.rsp);

        var counterAddress = target.Address("counter");
        var before = task.Memory.Read<ulong>(counterAddress);
        Thread.Sleep(30);
        Assert.Equal(before, task.Memory.Read<ulong>(counterAddress)); // stopped: no counting

        Assert.Equal(target.Pid, task.Syscall(Sys.getpid));
        Assert.Equal(regs, task.GetRegisters()); // the injected call left no trace in the registers

        task.Detach();
        Assert.False(task.IsAttached);
        using var memory = new RemoteMemory(target.Pid);
        Poll.Until(() => memory.Read<ulong>(counterAddress) > before + 5, "the counter to go on after detach");
        Assert.False(target.Process.HasExited);
    }

    [RootFact]
    public void Remote_mmap_then_write_and_read_back_then_munmap()
    {
        using var target = RunningTarget.Start("trace_counter");
        using var tracer = new Tracer();
        var task = tracer.Seize(target.Pid);

        var address = task.SyscallOrThrow(Sys.mmap, 0, 8192, Mman.PROT_READ | Mman.PROT_WRITE, Mman.MAP_PRIVATE | Mman.MAP_ANONYMOUS, -1, 0);
        Assert.Equal("rw-p", MappingPermissions(target.Pid, (ulong)address)); // (it may merge with a neighbour)

        var data = new byte[8192];
        Random.Shared.NextBytes(data);
        task.Memory.Write((ulong)address, data);
        var back = new byte[8192];
        task.Memory.Read((ulong)address, back);
        Assert.Equal(data, back);

        Assert.Equal(0, task.Syscall(Sys.munmap, address, 8192));
        Assert.Null(MappingPermissions(target.Pid, (ulong)address));
        task.Detach();
    }

    [RootFact]
    public void Memory_writes_reach_read_only_pages_through_proc_pid_mem()
    {
        using var target = RunningTarget.Start("trace_counter");
        using var tracer = new Tracer();
        var task = tracer.Seize(target.Pid);
        var address = (ulong)task.SyscallOrThrow(Sys.mmap, 0, 4096, Mman.PROT_READ, Mman.MAP_PRIVATE | Mman.MAP_ANONYMOUS, -1, 0);

        task.Memory.Write(address + 100, "read-only"u8);
        var back = new byte[9];
        task.Memory.Read(address + 100, back);
        Assert.Equal("read-only"u8.ToArray(), back);

        task.SyscallOrThrow(Sys.munmap, (long)address, 4096);
        var error = Assert.Throws<LinuxException>(() => task.Memory.Read(address, back));
        Assert.Contains($"{address:x}", error.Message);
        Assert.Contains("EIO", error.Message);
        task.Detach();
    }

    [RootFact]
    public void ReadRanges_gathers_many_ranges_including_unreadable_pages()
    {
        using var target = RunningTarget.Start("trace_counter");
        using var tracer = new Tracer();
        var task = tracer.Seize(target.Pid);
        const int pages = 1100; // more ranges than one process_vm_readv takes
        var area = (ulong)task.SyscallOrThrow(Sys.mmap, 0, pages * 4096, Mman.PROT_READ | Mman.PROT_WRITE, Mman.MAP_PRIVATE | Mman.MAP_ANONYMOUS, -1, 0);
        for (var i = 0; i < pages; i++) task.Memory.Write(area + (ulong)i * 4096 + 8, i);
        task.SyscallOrThrow(Sys.mprotect, (long)area + 4096 * 7, 4096, Mman.PROT_NONE); // process_vm_readv cannot read this one

        var ranges = Enumerable.Range(0, pages).Select(i => new RemoteRange(area + (ulong)i * 4096 + 8, 4)).ToArray();
        var values = new int[pages];
        task.Memory.ReadRanges(ranges, MemoryMarshal.AsBytes(values.AsSpan()));
        Assert.Equal(Enumerable.Range(0, pages), values);

        Assert.Throws<ArgumentException>(() => task.Memory.ReadRanges(ranges, new byte[3]));
        task.SyscallOrThrow(Sys.munmap, (long)area, pages * 4096);
        task.Detach();
    }

    [RootFact]
    public void Remote_rt_sigaction_reads_the_handler_the_target_installed()
    {
        using var target = RunningTarget.Start("trace_counter");
        using var tracer = new Tracer();
        var task = tracer.Seize(target.Pid);

        KernelSigAction action;
        using (var scratch = task.MapScratch())
        {
            Assert.Equal(0, task.Syscall(Sys.rt_sigaction, Signals.SIGUSR1, 0, scratch.At(), Signals.KernelSigSetSize));
            action = scratch.Read<KernelSigAction>(0);
            Assert.Equal("rw-p", MappingPermissions(target.Pid, scratch.Address));
        }
        Assert.Equal(target.Address("handler"), action.handler);
        Assert.NotEqual(0UL, action.flags & Signals.SA_RESTART);
        Assert.NotEqual(0UL, action.flags & Signals.SA_RESTORER); // glibc always supplies its restorer
        Assert.Equal(Signals.Bit(Signals.SIGUSR2), action.mask);
        Assert.Equal(-Errno.EINVAL, task.Syscall(Sys.rt_sigaction, Signals.SIGUSR1, 0, 0, 3)); // bad sigsetsize

        var error = Assert.Throws<LinuxException>(() => task.SyscallOrThrow(Sys.rt_sigaction, Signals.SIGUSR1, 0, 0, 3));
        Assert.Equal($"remote rt_sigaction for pid {target.Pid} failed: EINVAL (Invalid argument)", error.Message);
        task.Detach();

        // The handler still works after detach: SIGUSR1 is counted.
        target.Process.Signal(Signals.SIGUSR1);
        using var memory = new RemoteMemory(target.Pid);
        Poll.Until(() => memory.Read<ulong>(target.Address("usr1_count")) == 1, "the SIGUSR1 handler to run");
    }

    [RootAvx512Fact]
    public void XState_round_trip_changes_a_zmm_register_the_target_then_sees()
    {
        using var target = RunningTarget.Start("trace_zmm");
        using var tracer = new Tracer();
        var task = tracer.Seize(target.Pid);

        var xstate = task.GetXState();
        output.WriteLine($"XSAVE area: {xstate.Length} bytes");
        var hi16Zmm = X86Base.CpuId(0xD, 7).Ebx; // standard-format offset of ZMM16..31
        var zmm31 = hi16Zmm + 15 * 64;
        Assert.True(xstate.Length >= zmm31 + 64, $"XSAVE area of {xstate.Length} bytes has no ZMM31 at {zmm31}");
        var expected = Enumerable.Range(0, 64).Select(i => (byte)(0xA0 + i)).ToArray();
        Assert.Equal(expected, xstate.AsSpan(zmm31, 64).ToArray());

        var changed = expected.Select(b => (byte)~b).ToArray();
        changed.CopyTo(xstate, zmm31);
        task.SetXState(xstate);
        Assert.Equal(changed, task.GetXState().AsSpan(zmm31, 64).ToArray());
        task.Detach();

        using var memory = new RemoteMemory(target.Pid);
        var observed = new byte[64];
        Poll.Until(() =>
        {
            memory.Read(target.Address("observed"), observed);
            return observed.SequenceEqual(changed);
        }, "the target to see the new ZMM31");
    }

    [RootFact]
    public void A_read_blocked_on_a_pipe_restarts_after_remote_syscalls_and_gets_the_data()
    {
        using var pipe = Pipe.Create();
        using var target = RunningTarget.Start("trace_reader", stdin: Stdio.Descriptor(pipe.ReadFd));
        pipe.CloseRead();
        target.WaitUntilInSyscall(Sys.read, Poll.Patience);
        using var tracer = new Tracer();
        var task = tracer.Seize(target.Pid);

        var regs = task.GetRegisters();
        Assert.Equal((ulong)Sys.read, regs.orig_rax);
        Assert.Equal(-Errno.ERESTARTSYS, (long)regs.rax);
        Assert.Equal(target.Pid, task.Syscall(Sys.getpid));
        using (var scratch = task.MapScratch()) scratch.Write(0, "scribble"u8);
        Assert.Equal(regs, task.GetRegisters());

        task.Detach();
        pipe.Write("hello ferry");
        Assert.Equal(new ExitStatus(true, 0, 0), target.Process.WaitForExit(Poll.Patience));
        Assert.Contains("got=hello ferry", target.Output);
    }

    [RootFact]
    public void A_nanosleep_interrupted_by_remote_syscalls_completes()
    {
        using var target = RunningTarget.Start("trace_sleeper");
        target.WaitUntilInSyscall(Sys.nanosleep, Poll.Patience);
        using var tracer = new Tracer();
        var task = tracer.Seize(target.Pid);
        var regs = task.GetRegisters();
        Assert.Equal((ulong)Sys.nanosleep, regs.orig_rax);
        Assert.Equal(-Errno.ERESTART_RESTARTBLOCK, (long)regs.rax);
        Assert.Equal(target.Pid, task.Syscall(Sys.getpid));
        task.Detach();

        Assert.Equal(new ExitStatus(true, 0, 0), target.Process.WaitForExit(Poll.Patience));
        Assert.Equal("0", target.Value("rc"));
        Assert.InRange(int.Parse(target.Value("slept_ms")), 1490, 5000);
    }

    /// <summary>
    /// Measures remote getpid (GETSIGMASK is cached; SETSIGMASK, SETREGS, SINGLESTEP, waitpid, GETREGS, SETREGS,
    /// SETSIGMASK per call). Best batch and median batch go to the test output: about 25-35 µs best on the shared
    /// 2-vCPU machine under other helpers' builds, where the bare C probe (SETREGS+SINGLESTEP+wait+GETREGS) gave 15 µs.
    /// </summary>
    [RootFact]
    public void One_remote_syscall_costs_microseconds()
    {
        using var target = RunningTarget.Start("trace_counter");
        using var tracer = new Tracer();
        var task = tracer.Seize(target.Pid);
        const int batches = 20, perBatch = 100;
        var perCall = tracer.Run(() =>
        {
            task.Syscall(Sys.getpid); // warm up: finds the vdso syscall instruction
            var timings = new double[batches];
            for (var b = 0; b < batches; b++)
            {
                var clock = Stopwatch.StartNew();
                for (var i = 0; i < perBatch; i++)
                    if (task.Syscall(Sys.getpid) != target.Pid) throw new InvalidOperationException("wrong getpid result");
                timings[b] = clock.Elapsed.TotalMicroseconds / perBatch;
            }
            return timings.Order().ToArray();
        });
        output.WriteLine($"one remote getpid: best {perCall[0]:0.0} µs, median {perCall[batches / 2]:0.0} µs ({batches} batches of {perBatch})");
        Assert.InRange(perCall[0], 0.5, 1000); // generous: the machine is shared; the figure is in the output
        task.Detach();
    }

    [RootFact]
    public void Calls_from_many_threads_all_run_on_the_tracer_thread()
    {
        using var target = RunningTarget.Start("trace_counter");
        using var tracer = new Tracer();
        var task = tracer.Seize(target.Pid);
        var results = Enumerable.Range(0, 8).AsParallel().WithDegreeOfParallelism(4)
            .Select(_ => task.Syscall(Sys.getpid)).ToArray();
        Assert.All(results, r => Assert.Equal(target.Pid, r));
        task.Detach();
    }

    [RootFact]
    public void Signal_mask_and_pending_signals_are_readable()
    {
        using var target = RunningTarget.Start("trace_counter");
        using var tracer = new Tracer();
        var task = tracer.Seize(target.Pid);
        var mask = task.GetSigMask();
        task.SetSigMask(mask | Signals.Bit(Signals.SIGUSR2) | Signals.Bit(Signals.SIGKILL));
        Assert.Equal(mask | Signals.Bit(Signals.SIGUSR2), task.GetSigMask()); // SIGKILL cannot be blocked
        Assert.Contains($"SigBlk:\t{mask | Signals.Bit(Signals.SIGUSR2):x16}", File.ReadAllText($"/proc/{target.Pid}/status"));
        // A blocked signal stays pending in the shared queue (kill) and is seen without being dequeued.
        target.Process.Signal(Signals.SIGUSR2);
        Poll.Until(() => task.PeekPendingSignals(shared: true).Length == 1, "SIGUSR2 to be pending");
        var pending = task.PeekPendingSignals(shared: true)[0];
        Assert.Equal(Signals.SIGUSR2, pending.si_signo);
        Assert.Equal(LibC.getpid(), pending.Pid);
        Assert.Empty(task.PeekPendingSignals(shared: false));
        Assert.Equal(target.Pid, task.Syscall(Sys.getpid)); // the pending signal does not disturb injection
        task.SetSigMask(mask); // unblocked now: delivered on detach, and counted by nobody, so it kills the target
        Assert.Equal(Ptrace.SYSCALL_INFO_NONE, task.GetSyscallInfo().op);
        task.Detach();
        Assert.Equal(new ExitStatus(false, 0, Signals.SIGUSR2), target.Process.WaitForExit(Poll.Patience));
    }

    [RootFact]
    public void Seccomp_filters_are_read_back_and_do_not_judge_remote_syscalls()
    {
        using var target = RunningTarget.Start("trace_seccomp");
        Assert.Equal("-1", target.Value("getppid")); // the filter works in the target itself
        using var tracer = new Tracer();
        var task = tracer.Seize(target.Pid); // suspends seccomp for injected calls, as the target has a filter

        var filter = task.GetSeccompFilter(0);
        Assert.NotNull(filter);
        Assert.Equal(4, filter.Length);
        Assert.Equal((ushort)0x15, filter[1].code); // BPF_JMP|BPF_JEQ|BPF_K
        Assert.Equal((uint)Sys.getppid, filter[1].k);
        Assert.Equal(0x00050000u | Errno.EPERM, filter[2].k); // SECCOMP_RET_ERRNO|EPERM
        Assert.Null(task.GetSeccompFilter(1));
        Assert.Equal(LibC.getpid(), task.Syscall(Sys.getppid));
        task.Detach();

        var strict = tracer.Seize(target.Pid, suspendSeccomp: false); // then the filter applies to injected calls too
        Assert.Equal(-Errno.EPERM, strict.Syscall(Sys.getppid));
        strict.Detach();
    }

    [RootFact]
    public void Rseq_registration_and_the_legacy_fp_area_are_readable()
    {
        using var target = RunningTarget.Start("trace_counter");
        using var tracer = new Tracer();
        var task = tracer.Seize(target.Pid);
        var rseq = task.GetRseqConfiguration();
        Assert.NotEqual(0UL, rseq.rseq_abi_pointer); // glibc registers rseq in every thread
        Assert.Equal(0x53053053u, rseq.signature);
        Assert.Equal(512, task.GetFpRegs().Length);
        task.Detach();
    }

    [RootFact]
    public void A_syscall_instruction_supplied_by_the_caller_is_used()
    {
        using var target = RunningTarget.Start("trace_counter");
        using var tracer = new Tracer();
        var task = tracer.Seize(target.Pid);
        var code = task.SyscallOrThrow(Sys.mmap, 0, 4096, Mman.PROT_READ | Mman.PROT_EXEC, Mman.MAP_PRIVATE | Mman.MAP_ANONYMOUS, -1, 0);
        task.Memory.Write((ulong)code + 16, [0x0f, 0x05, 0xcc]); // syscall; int3 (written through /proc/PID/mem: r-x)
        Assert.Equal(target.Pid, task.SyscallAt((ulong)code + 16, Sys.getpid));

        var error = Assert.Throws<TracingException>(() => task.SyscallAt((ulong)code, Sys.getpid)); // zeros: not a syscall
        Assert.Contains("expected", error.Message);
        task.Detach();
    }

    /// <summary>
    /// Consecutive remote syscalls leave their registers and signal mask in the kernel until something needs the
    /// task's own: here a remote syscall that fails midway (no code at address 0: the step faults). /proc/PID/syscall
    /// (orig_rax, arguments, stack and instruction pointers) and SigBlk show what the kernel holds.
    /// </summary>
    [RootFact]
    public void A_remote_syscall_that_fails_midway_puts_the_tasks_own_registers_and_mask_back()
    {
        using var target = RunningTarget.Start("trace_counter");
        using var tracer = new Tracer();
        var task = tracer.Seize(target.Pid);
        var ownSyscall = File.ReadAllText($"/proc/{target.Pid}/syscall");
        var ownMask = BlockedSignals(target.Pid);

        Assert.Equal(target.Pid, task.Syscall(Sys.getpid));
        Assert.Equal(target.Pid, task.Syscall(Sys.getpid));
        Assert.NotEqual(ownSyscall, File.ReadAllText($"/proc/{target.Pid}/syscall")); // the injected registers, still
        Assert.NotEqual(ownMask, BlockedSignals(target.Pid));

        var error = Assert.Throws<TracingException>(() => task.SyscallAt(0, Sys.getpid));
        Assert.Contains("expected a SIGTRAP stop, got stopped by signal 11", error.Message);
        Assert.Equal(ownSyscall, File.ReadAllText($"/proc/{target.Pid}/syscall"));
        Assert.Equal(ownMask, BlockedSignals(target.Pid));

        Assert.Equal(target.Pid, task.Syscall(Sys.getpid)); // the task is still usable
        var counterAddress = target.Address("counter");
        var before = task.Memory.Read<ulong>(counterAddress);
        task.Detach();
        Assert.Equal(ownMask, BlockedSignals(target.Pid));
        using var memory = new RemoteMemory(target.Pid);
        Poll.Until(() => memory.Read<ulong>(counterAddress) > before + 5, "the counter to go on after detach");
    }

    /// <summary>
    /// A batch runs every call in order in one resume (a failing one included) and returns each raw result; the
    /// task's own registers and mask come back, and a second batch reuses the scratch's code area.
    /// </summary>
    [RootFact]
    public void A_syscall_batch_returns_each_result_and_leaves_the_task_as_it_was()
    {
        const int SIGUSR1 = 10;
        using var target = RunningTarget.Start("trace_counter");
        using var tracer = new Tracer();
        var task = tracer.Seize(target.Pid);
        var ownMask = BlockedSignals(target.Pid);
        var parent = Environment.ProcessId;
        long[] results;
        using (var scratch = task.MapScratch())
        {
            results = task.SyscallBatch(scratch, [
                new RemoteCall(Sys.getpid),
                new RemoteCall(Sys.rt_sigaction, SIGUSR1, 0, scratch.At(64), Signals.KernelSigSetSize),
                new RemoteCall(Sys.close, -1),
                new RemoteCall(Sys.getppid),
            ]);
            Assert.Equal(target.Address("handler"), scratch.Read<KernelSigAction>(64).handler);
            Assert.Equal([target.Pid, target.Pid], task.SyscallBatch(scratch, [new RemoteCall(Sys.gettid), new RemoteCall(Sys.getpid)]));
        }
        Assert.Equal([target.Pid, 0, -Errno.EBADF, parent], results);

        var counterAddress = target.Address("counter");
        var before = task.Memory.Read<ulong>(counterAddress);
        task.Detach();
        Assert.Equal(ownMask, BlockedSignals(target.Pid));
        using var memory = new RemoteMemory(target.Pid);
        Poll.Until(() => memory.Read<ulong>(counterAddress) > before + 5, "the counter to go on after detach");
    }

    /// <summary>
    /// A batch whose program faults midway (its second call unmaps the program itself) throws, and the task's own
    /// registers and signal mask are back in the kernel at once; the task stays usable.
    /// </summary>
    [RootFact]
    public void A_syscall_batch_that_fails_midway_puts_the_tasks_own_registers_and_mask_back()
    {
        using var target = RunningTarget.Start("trace_counter");
        using var tracer = new Tracer();
        var task = tracer.Seize(target.Pid);
        var ownSyscall = File.ReadAllText($"/proc/{target.Pid}/syscall");
        var ownMask = BlockedSignals(target.Pid);
        using (var scratch = task.MapScratch())
        {
            var code = (long)scratch.BatchArea(3, out _).Code;
            var error = Assert.Throws<TracingException>(() => task.SyscallBatch(scratch, [
                new RemoteCall(Sys.getpid),
                new RemoteCall(Sys.munmap, code, RemoteScratch.BatchCodeSize),
                new RemoteCall(Sys.getpid),
            ]));
            Assert.Contains("batch of 3 remote syscalls", error.Message);
            Assert.Equal(ownSyscall, File.ReadAllText($"/proc/{target.Pid}/syscall"));
            Assert.Equal(ownMask, BlockedSignals(target.Pid));
        }
        Assert.Equal(target.Pid, task.Syscall(Sys.getpid));
        task.Detach();
        Assert.Equal(ownMask, BlockedSignals(target.Pid));
    }

    /// <summary>
    /// A batch scratch is one read-execute mapping (code, results, scratch) until its first batch, whose own first call
    /// makes results and scratch writable: the kernel writes a call's pointed-to result into the scratch in that same
    /// batch. Dispose unmaps all of it at once.
    /// </summary>
    [RootFact]
    public void A_batch_scratch_is_one_mapping_made_writable_by_its_first_batch()
    {
        const int SIGUSR1 = 10;
        using var target = RunningTarget.Start("trace_counter");
        using var tracer = new Tracer();
        var task = tracer.Seize(target.Pid);
        ulong code, scratchAddress;
        using (var scratch = task.MapBatchScratch())
        {
            scratchAddress = scratch.Address;
            code = scratch.BatchArea(1, out var unlock).Code;
            Assert.NotNull(unlock);
            Assert.Equal("r-xp", MappingPermissions(target.Pid, scratchAddress));
            Assert.Equal([0], task.SyscallBatch(scratch, [new RemoteCall(Sys.rt_sigaction, SIGUSR1, 0, scratch.At(64), Signals.KernelSigSetSize)]));
            Assert.Equal(target.Address("handler"), scratch.Read<KernelSigAction>(64).handler);
            Assert.Equal("rw-p", MappingPermissions(target.Pid, scratchAddress));
            Assert.Equal("r-xp", MappingPermissions(target.Pid, code));
            scratch.BatchArea(1, out unlock);
            Assert.Null(unlock);
        }
        Assert.Null(MappingPermissions(target.Pid, code));
        Assert.Null(MappingPermissions(target.Pid, scratchAddress));
        task.Detach();
    }

    static string BlockedSignals(int pid) =>
        File.ReadLines($"/proc/{pid}/status").Single(l => l.StartsWith("SigBlk:", StringComparison.Ordinal));

    [RootFact]
    public void Errors_name_the_call_the_pid_and_the_errno()
    {
        using var target = RunningTarget.Start("trace_counter");
        var pid = target.Pid;
        target.Process.Kill();
        using var tracer = new Tracer();
        var error = Assert.Throws<LinuxException>(() => tracer.Seize(pid));
        Assert.Equal($"ptrace(PTRACE_SEIZE) for pid {pid} failed: ESRCH (No such process)", error.Message);
    }

    /// <summary>The permissions of the mapping holding <paramref name="address"/>, null when unmapped.</summary>
    static string? MappingPermissions(int pid, ulong address)
    {
        foreach (var line in File.ReadLines($"/proc/{pid}/maps"))
        {
            var fields = line.Split(' ', 3);
            var bounds = fields[0].Split('-');
            if (address >= Convert.ToUInt64(bounds[0], 16) && address < Convert.ToUInt64(bounds[1], 16)) return fields[1];
        }
        return null;
    }

}
