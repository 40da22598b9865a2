using System.Runtime.InteropServices;
using Ferry.IntegrationTests.Support;
using Ferry.Linux;
using Ferry.Tracing;
using Xunit;

namespace Ferry.IntegrationTests.Tracing;

/// <summary>Whole processes: every thread, job-control stops, resuming and killing.</summary>
public sealed class TracedProcessTests
{
    [RootFact]
    public void SeizeProcess_stops_every_thread_and_each_runs_its_own_remote_gettid()
    {
        using var target = RunningTarget.Start("trace_threads");
        using var tracer = new Tracer();
        var tasks = tracer.SeizeProcess(target.Pid);

        var tids = Directory.GetDirectories($"/proc/{target.Pid}/task").Select(d => int.Parse(Path.GetFileName(d))).Order();
        Assert.Equal(tids, tasks.Select(t => t.Tid).Order());
        Assert.Equal(target.Pid, tasks[0].Tid);
        Assert.All(tasks, t =>
        {
            Assert.True(t.IsStopped);
            Assert.Equal(target.Pid, t.Pid);
            Assert.Equal(t.Tid, t.Syscall(Sys.gettid));
            Assert.Equal('t', State(t.Tid)); // tracing stop
        });

        var counters = target.Address("counters");
        var before = ReadCounters(tasks[0].Memory, counters);
        foreach (var task in tasks) task.Detach();
        Assert.Empty(tracer.Tasks);
        using var memory = new RemoteMemory(target.Pid);
        Poll.Until(() =>
        {
            var now = ReadCounters(memory, counters);
            return now.Zip(before).All(c => c.First > c.Second);
        }, "every thread to count on");
    }

    [RootFact]
    public void SeizeTree_stops_every_process_of_the_tree_and_lists_zombies()
    {
        using var target = RunningTarget.Start("trace_tree");
        var a = int.Parse(target.Value("a"));
        var b = int.Parse(target.Value("b"));
        var c = int.Parse(File.ReadAllText($"/proc/{a}/task/{a}/children").Trim());
        using var tracer = new Tracer();
        var tree = tracer.SeizeTree(target.Pid);

        Assert.Equal([target.Pid, a, c], tree.Tasks.Select(t => t.Pid));
        Assert.Equal([b], tree.Zombies);
        Assert.All(tree.Tasks, t =>
        {
            Assert.True(t.IsStopped);
            Assert.Equal('t', State(t.Tid));
            Assert.Equal(t.Pid, t.Syscall(Sys.getpid));
        });
        foreach (var task in tree.Tasks) task.Detach();
        Assert.All(new[] { target.Pid, a, c }, pid => Assert.NotEqual('t', State(pid)));
    }

    [RootFact]
    public void Continue_then_Interrupt_stops_it_again()
    {
        using var target = RunningTarget.Start("trace_counter");
        using var tracer = new Tracer();
        var task = tracer.Seize(target.Pid);
        var counter = target.Address("counter");
        var before = task.Memory.Read<ulong>(counter);

        task.Continue();
        Assert.False(task.IsStopped);
        Assert.Throws<InvalidOperationException>(() => task.GetRegisters());
        Poll.Until(() => task.Memory.Read<ulong>(counter) > before + 5, "the counter to run while continued");

        task.Interrupt();
        Assert.True(task.IsStopped);
        var stopped = task.Memory.Read<ulong>(counter);
        Thread.Sleep(20);
        Assert.Equal(stopped, task.Memory.Read<ulong>(counter));
        Assert.Equal(target.Pid, task.Syscall(Sys.getpid));
        task.Detach();
    }

    [RootFact]
    public void A_job_control_stopped_process_reports_SIGSTOP_and_stays_stopped_after_detach()
    {
        using var target = RunningTarget.Start("trace_counter");
        target.Process.Signal(Signals.SIGSTOP);
        Poll.Until(() => State(target.Pid) == 'T', "the target to stop");
        using var tracer = new Tracer();
        var task = tracer.Seize(target.Pid);
        Assert.Equal(Signals.SIGSTOP, task.JobStopSignal);
        Assert.Equal(target.Pid, task.Syscall(Sys.getpid));
        task.Detach();
        Thread.Sleep(20);
        Assert.Equal('T', State(target.Pid));
        target.Process.Signal(Signals.SIGCONT);
        Poll.Until(() => State(target.Pid) != 'T', "SIGCONT to resume it");
    }

    [RootFact]
    public void Detach_with_a_signal_delivers_it()
    {
        using var target = RunningTarget.Start("trace_counter");
        using var tracer = new Tracer();
        var task = tracer.Seize(target.Pid);
        Assert.Throws<InvalidOperationException>(() => task.Continue(Signals.SIGUSR1)); // ignored in an event stop
        task.Detach(Signals.SIGUSR1);
        using var memory = new RemoteMemory(target.Pid);
        Poll.Until(() => memory.Read<ulong>(target.Address("usr1_count")) == 1, "the SIGUSR1 handler to run once");
    }

    [RootFact]
    public void A_signal_stop_seen_by_WaitForStop_is_suppressed_or_passed_on()
    {
        using var target = RunningTarget.Start("trace_counter");
        using var tracer = new Tracer();
        var task = tracer.Seize(target.Pid);
        var usr1 = target.Address("usr1_count");

        task.Continue();
        target.Process.Signal(Signals.SIGUSR1);
        Assert.Equal(Signals.SIGUSR1, task.WaitForStop().StopSignal);
        Assert.Equal(Signals.SIGUSR1, task.GetSigInfo().si_signo);
        task.Continue(); // suppressed
        target.Process.Signal(Signals.SIGUSR1);
        Assert.Equal(Signals.SIGUSR1, task.WaitForStop().StopSignal);
        task.Continue(Signals.SIGUSR1); // delivered
        Poll.Until(() => task.Memory.Read<ulong>(usr1) >= 1, "the handler to run");
        Thread.Sleep(20);
        Assert.Equal(1UL, task.Memory.Read<ulong>(usr1)); // once: the first SIGUSR1 was suppressed
        task.Detach();
    }

    [RootFreezerFact]
    public void A_task_in_a_frozen_cgroup_is_seized_and_stops_once_thawed()
    {
        using var target = RunningTarget.Start("trace_counter");
        var cgroup = Path.Combine(RootFreezerFactAttribute.Hierarchy, $"ferry-test-{Environment.ProcessId}-{target.Pid}");
        Directory.CreateDirectory(cgroup);
        try
        {
            File.WriteAllText(Path.Combine(cgroup, "cgroup.procs"), target.Pid.ToString());
            File.WriteAllText(Path.Combine(cgroup, "freezer.state"), "FROZEN");
            Poll.Until(() => File.ReadAllText(Path.Combine(cgroup, "freezer.state")).Trim() == "FROZEN", "the cgroup to freeze");

            using var tracer = new Tracer();
            var task = tracer.Seize(target.Pid, waitForStop: false); // waiting now would wait for ever
            Assert.False(task.IsStopped);
            File.WriteAllText(Path.Combine(cgroup, "freezer.state"), "THAWED");
            task.Interrupt();
            Assert.True(task.IsStopped);
            Assert.Equal(target.Pid, task.Syscall(Sys.getpid));

            var counter = target.Address("counter");
            var before = task.Memory.Read<ulong>(counter);
            task.Detach();
            Poll.Until(() => task.Memory.Read<ulong>(counter) > before + 5, "the counter to go on after thaw and detach");
        }
        finally
        {
            File.WriteAllText(Path.Combine(cgroup, "freezer.state"), "THAWED");
            File.WriteAllText(Path.Combine(RootFreezerFactAttribute.Hierarchy, "cgroup.procs"), target.Pid.ToString());
            Directory.Delete(cgroup);
        }
    }

    [RootFact]
    public void Kill_ends_the_traced_process()
    {
        using var target = RunningTarget.Start("trace_counter");
        using var tracer = new Tracer();
        var task = tracer.Seize(target.Pid);
        task.Kill();
        Assert.False(task.IsAttached);
        Assert.Empty(tracer.Tasks);
        // The tracer's waitpid has reaped our own child, so the process is gone entirely.
        Assert.False(Directory.Exists($"/proc/{target.Pid}"));
        Assert.True(target.Process.HasExited);
    }

    [RootFact]
    public void Disposing_the_tracer_releases_tasks_left_seized_even_running_ones()
    {
        using var target = RunningTarget.Start("trace_threads");
        var counters = target.Address("counters");
        using (var tracer = new Tracer())
        {
            var tasks = tracer.SeizeProcess(target.Pid);
            tasks[1].Continue();
        }
        Assert.Equal(0, TracerPid(target.Pid));
        using var memory = new RemoteMemory(target.Pid);
        var before = ReadCounters(memory, counters);
        Poll.Until(() => ReadCounters(memory, counters)[0] > before[0], "the process to run after the tracer is gone");
    }

    [RootFact]
    public void A_child_cloned_with_CLONE_PTRACE_is_adopted_stopped_before_it_runs()
    {
        using var target = RunningTarget.Start("trace_counter");
        using var tracer = new Tracer();
        var parent = tracer.Seize(target.Pid);
        long child;
        using (var scratch = parent.MapScratch())
        {
            // CLONE_PARENT makes the copy our child (so Kill reaps it); CLONE_PTRACE makes it born traced.
            scratch.Write(0, new CloneArgs { flags = CloneFlags.CLONE_PARENT | CloneFlags.CLONE_PTRACE });
            child = parent.SyscallOrThrow(Sys.clone3, scratch.At(), Marshal.SizeOf<CloneArgs>());
        }
        var task = tracer.Adopt((int)child);
        Assert.True(task.IsStopped);
        Assert.Equal((int)child, task.Pid);
        var regs = task.GetRegisters();
        Assert.Equal(0UL, regs.rax); // clone3 returns 0 in the child
        Assert.Equal(parent.SyscallInstruction + 2, regs.rip);
        Assert.Equal(child, task.Syscall(Sys.getpid));
        Assert.Equal(LibC.getpid(), task.Syscall(Sys.getppid)); // CLONE_PARENT: the target's parent, us

        task.Kill();
        Assert.False(Directory.Exists($"/proc/{child}"));
        parent.Detach();
    }

    [RootFact]
    public void A_thread_created_by_a_remote_clone3_is_adopted_and_can_run_its_own_syscalls()
    {
        using var target = RunningTarget.Start("trace_counter");
        using var tracer = new Tracer();
        var main = tracer.Seize(target.Pid);
        const long stackSize = 64 * 1024;
        var stack = main.SyscallOrThrow(Sys.mmap, 0, stackSize, Mman.PROT_READ | Mman.PROT_WRITE, Mman.MAP_PRIVATE | Mman.MAP_ANONYMOUS, -1, 0);
        long tid;
        using (var scratch = main.MapScratch())
        {
            scratch.Write(0, new CloneArgs
            {
                flags = CloneFlags.CLONE_VM | CloneFlags.CLONE_FS | CloneFlags.CLONE_FILES | CloneFlags.CLONE_SIGHAND |
                        CloneFlags.CLONE_THREAD | CloneFlags.CLONE_SYSVSEM | CloneFlags.CLONE_PTRACE,
                stack = (ulong)stack,
                stack_size = stackSize,
            });
            tid = main.SyscallOrThrow(Sys.clone3, scratch.At(), Marshal.SizeOf<CloneArgs>());
        }
        var thread = tracer.Adopt((int)tid);
        Assert.Equal(target.Pid, thread.Pid);
        Assert.Contains(tid.ToString(), Directory.GetDirectories($"/proc/{target.Pid}/task").Select(Path.GetFileName));
        var regs = thread.GetRegisters();
        Assert.Equal(0UL, regs.rax);
        Assert.Equal((ulong)(stack + stackSize), regs.rsp);
        Assert.Equal(tid, thread.Syscall(Sys.gettid));

        // End the thread with an exit(0) of its own; the tracer sees it go.
        regs.rip = thread.SyscallInstruction;
        regs.rax = (ulong)Sys.exit;
        regs.orig_rax = ulong.MaxValue;
        regs.rdi = 0;
        thread.SetRegisters(regs);
        thread.Continue();
        var end = Assert.Throws<TracingException>(() => thread.WaitForStop());
        Assert.Contains("exited with code 0", end.Message);
        Assert.False(thread.IsAttached);
        Poll.Until(() => !Directory.Exists($"/proc/{target.Pid}/task/{tid}"), "the thread to be gone");

        main.SyscallOrThrow(Sys.munmap, stack, stackSize);
        var counter = target.Address("counter");
        var before = main.Memory.Read<ulong>(counter);
        main.Detach();
        Poll.Until(() => main.Memory.Read<ulong>(counter) > before + 5, "the process to go on");
    }

    [RootFact]
    public void Continue_runs_injected_code_until_its_breakpoint()
    {
        using var target = RunningTarget.Start("trace_counter");
        using var tracer = new Tracer();
        var task = tracer.Seize(target.Pid);
        var saved = task.GetRegisters();
        var code = (ulong)task.SyscallOrThrow(Sys.mmap, 0, 4096, Mman.PROT_READ | Mman.PROT_EXEC, Mman.MAP_PRIVATE | Mman.MAP_ANONYMOUS, -1, 0);
        task.Memory.Write(code, [0x48, 0xc7, 0xc3, 0x2a, 0x00, 0x00, 0x00, 0xcc]); // mov rbx, 42; int3

        var regs = saved;
        regs.rip = code;
        regs.orig_rax = ulong.MaxValue;
        task.SetRegisters(regs);
        task.Continue();
        var stop = task.WaitForStop();
        Assert.Equal(Signals.SIGTRAP, stop.StopSignal);
        Assert.Equal(0, stop.Event);
        var after = task.GetRegisters();
        Assert.Equal(42UL, after.rbx);
        Assert.Equal(code + 8, after.rip);

        task.SetRegisters(saved);
        task.SyscallOrThrow(Sys.munmap, (long)code, 4096);
        var counter = target.Address("counter");
        var before = task.Memory.Read<ulong>(counter);
        task.Detach();
        using var memory = new RemoteMemory(target.Pid);
        Poll.Until(() => memory.Read<ulong>(counter) > before + 5, "the counter to go on");
    }

    [RootFact]
    public void Remote_memory_reads_and_writes_without_a_stop()
    {
        using var target = RunningTarget.Start("trace_counter");
        using var memory = new RemoteMemory(target.Pid);
        var counter = target.Address("counter");
        memory.Write(counter, 1_000_000UL);
        Poll.Until(() => memory.Read<ulong>(counter) > 1_000_000UL, "the counter to go on from the written value");
    }

    /// <summary>trace_threads' four counters: main thread first.</summary>
    static ulong[] ReadCounters(RemoteMemory memory, ulong address)
    {
        var counters = new ulong[4];
        memory.Read(address, MemoryMarshal.AsBytes(counters.AsSpan()));
        return counters;
    }

    static char State(int tid) => File.ReadAllText($"/proc/{tid}/stat").Split(") ")[1][0];

    static int TracerPid(int pid) => int.Parse(File.ReadLines($"/proc/{pid}/status").First(l => l.StartsWith("TracerPid:"))["TracerPid:".Length..].Trim());

}
